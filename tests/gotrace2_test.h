/* Shared by the parts of tests/check_gotrace2 (real traces, synthetic
 * traces, robustness). */
#ifndef PPROFD_TESTS_GOTRACE2_TEST_H
#define PPROFD_TESTS_GOTRACE2_TEST_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "gotrace_v2.h"

/* Goroutine rows collected through gotrace_v2_opts.on_goroutine. */
struct grows {
  struct gotrace_v2_goroutine *g;
  char **names;
  size_t n, cap;
};

void grows_collect(void *ctx, const struct gotrace_v2_goroutine *g);
void grows_free(struct grows *r);
const struct gotrace_v2_goroutine *grows_find(const struct grows *r, uint64_t id);

/* Parses with stats and goroutine rows; asserts success. */
void parse_ok(const uint8_t *data, size_t len, struct trace_summary *s, struct gotrace_v2_stats *st,
              struct grows *rows);
/* Parses and returns the error code; *ret_err is set on failure. */
int parse_err(const uint8_t *data, size_t len, char **ret_err);
const struct trace_group *find_group(const struct trace_summary *s, const char *fn);
int64_t event_count(const struct trace_summary *s, const char *name);

TCase *gotrace2_synth_tcase(void);
TCase *gotrace2_robust_tcase(void);

#endif
