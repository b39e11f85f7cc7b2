/* int64 arithmetic on values taken from profiles. Go's pprof adds and
 * negates sample values with wrapping int64 arithmetic; in C signed
 * overflow is undefined, so hostile values (INT64_MAX samples) would be
 * undefined behaviour. These wrap like Go, through uint64_t. */
#ifndef PPROFD_PPROF_MATH_H
#define PPROFD_PPROF_MATH_H

#include <stdint.h>

static inline int64_t pp_add(int64_t a, int64_t b) {
  return (int64_t)((uint64_t)a + (uint64_t)b);
}

static inline int64_t pp_sub(int64_t a, int64_t b) {
  return (int64_t)((uint64_t)a - (uint64_t)b);
}

static inline int64_t pp_neg(int64_t a) {
  return (int64_t)(0 - (uint64_t)a);
}

static inline int64_t pp_mul(int64_t a, int64_t b) {
  return (int64_t)((uint64_t)a * (uint64_t)b);
}

/* |a|, with |INT64_MIN| = INT64_MIN as in Go. */
static inline int64_t pp_abs(int64_t a) {
  return a < 0 ? pp_neg(a) : a;
}

/* A double truncated toward zero into int64, clamped to its range (a
 * plain cast of an out-of-range double is undefined). */
static inline int64_t pp_d2i(double d) {
  if (!(d > -9223372036854775808.0))
    return d != d ? 0 : INT64_MIN;
  if (d >= 9223372036854775808.0)
    return INT64_MAX;
  return (int64_t)d;
}

#endif
