#include "config.h"

#include "hashmap.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct slot {
  char *key; /* NULL = empty; TOMBSTONE = deleted */
  void *value;
  uint64_t hash;
};

static char tombstone_key;
#define TOMBSTONE (&tombstone_key)

struct hashmap {
  struct slot *slots;
  size_t cap; /* power of two */
  size_t used; /* live + tombstones */
  size_t live;
  bool borrowed; /* keys belong to the caller */
};

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h ^ (h >> 29);
}

struct hashmap *hashmap_new(void) {
  struct hashmap *m = xcalloc(1, sizeof(*m));
  m->cap = 16;
  m->slots = xcalloc(m->cap, sizeof(*m->slots));
  return m;
}

struct hashmap *hashmap_new_borrowed(void) {
  struct hashmap *m = hashmap_new();
  m->borrowed = true;
  return m;
}

struct hashmap *hashmap_free(struct hashmap *m) {
  if (!m)
    return NULL;
  for (size_t i = 0; i < m->cap && !m->borrowed; i++)
    if (m->slots[i].key && m->slots[i].key != TOMBSTONE)
      free(m->slots[i].key);
  free(m->slots);
  free(m);
  return NULL;
}

static struct slot *find(const struct hashmap *m, const char *key, uint64_t h) {
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    struct slot *s = &m->slots[i];
    if (!s->key)
      return NULL;
    if (s->key != TOMBSTONE && s->hash == h && strcmp(s->key, key) == 0)
      return s;
  }
}

static void grow(struct hashmap *m) {
  struct slot *old = m->slots;
  size_t old_cap = m->cap;
  m->cap = m->live * 4 > m->cap ? m->cap * 2 : m->cap;
  m->slots = xcalloc(m->cap, sizeof(*m->slots));
  m->used = 0;
  for (size_t i = 0; i < old_cap; i++) {
    if (old[i].key && old[i].key != TOMBSTONE) {
      size_t mask = m->cap - 1, j = old[i].hash & mask;
      while (m->slots[j].key)
        j = (j + 1) & mask;
      m->slots[j] = old[i];
      m->used++;
    }
  }
  free(old);
}

void hashmap_put(struct hashmap *m, const char *key, void *value) {
  uint64_t h = hash_str(key);
  struct slot *s = find(m, key, h);
  size_t mask, i;

  if (s) {
    if (m->borrowed)
      s->key = (char *)(uintptr_t)key;
    s->value = value;
    return;
  }
  if ((m->used + 1) * 4 >= m->cap * 3)
    grow(m);
  mask = m->cap - 1;
  for (i = h & mask; m->slots[i].key && m->slots[i].key != TOMBSTONE; i = (i + 1) & mask)
    ;
  if (!m->slots[i].key)
    m->used++;
  m->slots[i].key = m->borrowed ? (char *)(uintptr_t)key : xstrdup(key);
  m->slots[i].value = value;
  m->slots[i].hash = h;
  m->live++;
}

void *hashmap_get(const struct hashmap *m, const char *key) {
  struct slot *s = find(m, key, hash_str(key));
  return s ? s->value : NULL;
}

void *hashmap_remove(struct hashmap *m, const char *key) {
  struct slot *s = find(m, key, hash_str(key));
  void *v;
  if (!s)
    return NULL;
  v = s->value;
  if (!m->borrowed)
    free(s->key);
  s->key = TOMBSTONE;
  s->value = NULL;
  m->live--;
  return v;
}

size_t hashmap_size(const struct hashmap *m) {
  return m->live;
}

int hashmap_next(const struct hashmap *m, size_t *pos, const char **ret_key, void **ret_value) {
  for (; *pos < m->cap; (*pos)++) {
    struct slot *s = &m->slots[*pos];
    if (s->key && s->key != TOMBSTONE) {
      if (ret_key)
        *ret_key = s->key;
      if (ret_value)
        *ret_value = s->value;
      (*pos)++;
      return 1;
    }
  }
  return 0;
}
