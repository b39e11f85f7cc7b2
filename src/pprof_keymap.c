#include "config.h"

#include "pprof_keymap.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Keys are copied into chunks that never move, so key pointers stay valid
 * while the index arrays grow. */
struct keymap_chunk {
  struct keymap_chunk *next;
  size_t used, size;
  uint8_t data[];
};

#define CHUNK_SIZE (64 * 1024)

void keymap_init(struct keymap *m) {
  memset(m, 0, sizeof(*m));
}

void keymap_done(struct keymap *m) {
  struct keymap_chunk *c = m->chunks;
  while (c) {
    struct keymap_chunk *next = c->next;
    free(c);
    c = next;
  }
  free(m->slots);
  free(m->keys);
  free(m->lens);
  free(m->hashes);
  memset(m, 0, sizeof(*m));
}

/* FNV-1a over 8-byte words with a final avalanche: fast enough for short
 * keys, and the mix step keeps linear probing well distributed. */
uint64_t keymap_hash(const void *key, size_t len) {
  const uint8_t *p = key;
  uint64_t h = 0xcbf29ce484222325ULL ^ len;
  while (len >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0x100000001b3ULL;
    h ^= h >> 29;
    p += 8;
    len -= 8;
  }
  while (len--) {
    h = (h ^ *p++) * 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

static const uint8_t *store_key(struct keymap *m, const void *key, size_t len) {
  struct keymap_chunk *c = m->chunks;
  uint8_t *p;

  if (!c || c->size - c->used < len) {
    size_t size = len > CHUNK_SIZE / 4 ? len : CHUNK_SIZE;
    struct keymap_chunk *n = xmalloc(sizeof(*n) + size);
    n->used = 0;
    n->size = size;
    if (len > CHUNK_SIZE / 4 && c) {
      /* Big keys get their own chunk behind the current one. */
      n->next = c->next;
      c->next = n;
    } else {
      n->next = c;
      m->chunks = n;
    }
    c = n;
  }
  p = c->data + c->used;
  if (len)
    memcpy(p, key, len);
  c->used += len;
  return p;
}

static void grow_slots(struct keymap *m) {
  size_t n = m->n_slots ? m->n_slots * 2 : 64;
  uint32_t *slots = xcalloc(n, sizeof(*slots));
  for (size_t i = 0; i < m->count; i++) {
    size_t j = m->hashes[i] & (n - 1);
    while (slots[j])
      j = (j + 1) & (n - 1);
    slots[j] = (uint32_t)i + 1;
  }
  free(m->slots);
  m->slots = slots;
  m->n_slots = n;
}

static int64_t lookup(const struct keymap *m, const void *key, size_t len, uint64_t h,
                      size_t *ret_slot) {
  size_t j;

  if (!m->n_slots) {
    *ret_slot = 0;
    return -1;
  }
  j = h & (m->n_slots - 1);
  while (m->slots[j]) {
    uint32_t i = m->slots[j] - 1;
    if (m->hashes[i] == h && m->lens[i] == len && (len == 0 || memcmp(m->keys[i], key, len) == 0))
      return i;
    j = (j + 1) & (m->n_slots - 1);
  }
  *ret_slot = j;
  return -1;
}

uint32_t keymap_intern(struct keymap *m, const void *key, size_t len, bool *ret_new) {
  uint64_t h = keymap_hash(key, len);
  size_t slot;
  int64_t i;

  i = lookup(m, key, len, h, &slot);
  if (i >= 0) {
    if (ret_new)
      *ret_new = false;
    return (uint32_t)i;
  }
  if ((m->count + 1) * 4 > m->n_slots * 3) {
    grow_slots(m);
    lookup(m, key, len, h, &slot);
  }
  if (m->count == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 64;
    m->keys = xreallocarray(m->keys, m->cap, sizeof(*m->keys));
    m->lens = xreallocarray(m->lens, m->cap, sizeof(*m->lens));
    m->hashes = xreallocarray(m->hashes, m->cap, sizeof(*m->hashes));
  }
  m->keys[m->count] = store_key(m, key, len);
  m->lens[m->count] = (uint32_t)len;
  m->hashes[m->count] = h;
  m->slots[slot] = (uint32_t)m->count + 1;
  if (ret_new)
    *ret_new = true;
  return (uint32_t)m->count++;
}

int64_t keymap_find(const struct keymap *m, const void *key, size_t len) {
  size_t slot;
  return lookup(m, key, len, keymap_hash(key, len), &slot);
}

const void *keymap_key(const struct keymap *m, uint32_t idx, size_t *ret_len) {
  if (idx >= m->count)
    return NULL;
  if (ret_len)
    *ret_len = m->lens[idx];
  return m->keys[idx];
}
