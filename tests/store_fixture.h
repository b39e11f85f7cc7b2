/* Helpers shared by the store test suites: temporary databases and
 * captures built in memory. */
#ifndef PPROFD_STORE_FIXTURE_H
#define PPROFD_STORE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "store.h"

struct fx {
  char *dir;
  char *path; /* dir/pprofd.db */
  struct store *s;
};

/* A fresh database in a temporary directory (asserts on failure). */
void fx_setup(struct fx *fx);
void fx_teardown(struct fx *fx);
/* Opens another connection to the fixture's database. */
struct store *fx_open(struct fx *fx, unsigned flags);

/* An ok capture with a copy of body; labels as "k=v" strings (NULL-terminated). */
struct capture *fx_capture(const char *target, const char *instance, const char *type,
                           int64_t started_at_ms, const void *body, size_t len,
                           const char *const *labels);
/* Stores c (asserts success), frees it and returns the id. */
int64_t fx_put(struct store *s, struct capture *c);
/* count(*) of a table, or of a query returning one number. */
int64_t fx_count(struct store *s, const char *table);
int64_t fx_query_int(struct store *s, const char *sql);
/* Fills buf with n pseudo-random (incompressible) bytes from seed. */
void fx_random_bytes(uint8_t *buf, size_t n, uint32_t seed);

#endif
