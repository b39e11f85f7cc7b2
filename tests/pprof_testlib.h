/* Hand-made profile.proto messages for the pprof tests: edge cases that
 * real profiles never contain (bad ids, recursion, inlining...). Built on
 * the generated protobuf-c structs, so tests can also break them on
 * purpose through tp->m. */
#ifndef PPROFD_TESTS_PPROF_TESTLIB_H
#define PPROFD_TESTS_PPROF_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.pb-c.h"

struct tprof {
  Perftools__Profiles__Profile m;
};

struct tprof *tprof_new(void);
void tprof_free(struct tprof *t);
int64_t tprof_str(struct tprof *t, const char *s);
void tprof_sample_type(struct tprof *t, const char *type, const char *unit);
void tprof_period(struct tprof *t, const char *type, const char *unit, int64_t period);
void tprof_mapping(struct tprof *t, uint64_t id, const char *file);
void tprof_function(struct tprof *t, uint64_t id, const char *name, const char *file);
/* function_ids/lines: innermost first; n_lines may be 0. */
void tprof_location(struct tprof *t, uint64_t id, uint64_t mapping_id, uint64_t address,
                    size_t n_lines, const uint64_t *function_ids, const int64_t *lines);
/* A location with a single line of function id fid (id = fid). */
void tprof_simple_location(struct tprof *t, uint64_t id, uint64_t fid);
/* Returns the sample so labels can be added. */
Perftools__Profiles__Sample *tprof_sample(struct tprof *t, size_t n_locs, const uint64_t *loc_ids,
                                          const int64_t *values);
void tprof_label(struct tprof *t, Perftools__Profiles__Sample *s, const char *key, const char *str,
                 int64_t num, const char *unit);
void tprof_comment(struct tprof *t, const char *comment);
/* Serialises, gzip'd when gzip is set. Caller frees. */
uint8_t *tprof_pack(struct tprof *t, bool gzip, size_t *ret_len);
/* gzip of arbitrary bytes. */
uint8_t *test_gzip(const uint8_t *data, size_t len, size_t *ret_len);

#endif
