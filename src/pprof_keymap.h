/* Interning of byte strings: each distinct key gets the next dense index
 * (0, 1, 2, ...). The map keeps its own copy of every key. Used wherever
 * profile data is deduplicated: function names, node keys, stacks,
 * strings of a profile being written. */
#ifndef PPROFD_PPROF_KEYMAP_H
#define PPROFD_PPROF_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct keymap_chunk;

struct keymap {
  uint32_t *slots; /* index + 1, 0 = empty */
  size_t n_slots;  /* power of two */
  size_t count;
  const uint8_t **keys; /* by index, pointing into chunks */
  uint32_t *lens;
  uint64_t *hashes;
  size_t cap;
  struct keymap_chunk *chunks;
};

void keymap_init(struct keymap *m);
void keymap_done(struct keymap *m);
/* Returns the index of key, adding it with the next index when it is new
 * (then *ret_new is set, if given). Keys are at most 4 GiB. */
uint32_t keymap_intern(struct keymap *m, const void *key, size_t len, bool *ret_new);
/* Index of key, or -1. */
int64_t keymap_find(const struct keymap *m, const void *key, size_t len);
const void *keymap_key(const struct keymap *m, uint32_t idx, size_t *ret_len);
static inline size_t keymap_count(const struct keymap *m) {
  return m->count;
}

uint64_t keymap_hash(const void *key, size_t len);

#endif
