/* A database with a known set of captures for the HTTP tests: real
 * profiles and a trace from the corpus, analysed as the daemon would,
 * plus failed fetches, across two targets and several hours. */
#ifndef PPROFD_HTTP_SEED_H
#define PPROFD_HTTP_SEED_H

#include <stddef.h>
#include <stdint.h>

struct http_seed_capture {
  const char *target;
  const char *instance;
  const char *type;
  int64_t age_ms;     /* started this long before the seed's now */
  const char *file;   /* under tests/data/http, NULL for a failed fetch */
  const char *labels; /* "k=v,k2=v2" or NULL */
};

/* The standard set, in insertion order (ids are 1..n in a new database). */
extern const struct http_seed_capture http_seed_set[];
extern const size_t http_seed_n;

struct metrics;

/* Creates db_path and stores the standard set relative to now_ms, counting
 * each capture in m (may be NULL) as the daemon would. Returns 0 or a
 * negative errno with a message in *ret_err. */
int http_seed(const char *db_path, int64_t now_ms, struct metrics *m, char **ret_err);

#endif
