/* A hash map from 64-bit ids (goroutine, string, stack, P ids as they come
 * off the wire) to dense 32-bit indices, for the trace parsers. Open
 * addressing with linear probing; grows at half load. Allocation failures
 * are returned, not fatal, because the number of entries comes from the
 * input. */
#ifndef PPROFD_GOTRACE_IDMAP_H
#define PPROFD_GOTRACE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct idmap_slot {
  uint64_t key;
  uint32_t val;
  bool used;
};

struct idmap {
  struct idmap_slot *slots;
  size_t cap; /* power of two, or 0 */
  size_t n;
};

void idmap_init(struct idmap *m);
void idmap_done(struct idmap *m);
/* Returns true and the value if key is present. */
bool idmap_get(const struct idmap *m, uint64_t key, uint32_t *ret_val);
/* Inserts or replaces. Returns 0 or -ENOMEM. */
int idmap_put(struct idmap *m, uint64_t key, uint32_t val);

/* Grows *p (an array of elem-sized items with capacity *cap) to hold at
 * least need items. Returns 0 or -ENOMEM (the array is left unchanged). */
int gotrace_grow(void *p, size_t *cap, size_t need, size_t elem);

/* Saturating arithmetic for sums of durations over many goroutines or
 * events: adversarial traces must not overflow them. */
static inline int64_t gotrace_sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r))
    return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

static inline int64_t gotrace_sat_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r))
    return (a > 0) == (b > 0) ? INT64_MAX : INT64_MIN;
  return r;
}

#endif
