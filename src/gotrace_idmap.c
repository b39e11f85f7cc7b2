#include "config.h"

#include "gotrace_idmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void idmap_init(struct idmap *m) {
  m->slots = NULL;
  m->cap = 0;
  m->n = 0;
}

void idmap_done(struct idmap *m) {
  free(m->slots);
  idmap_init(m);
}

/* splitmix64 finalizer: ids are often small and sequential. */
static size_t hash_id(uint64_t k) {
  k ^= k >> 30;
  k *= 0xbf58476d1ce4e5b9ULL;
  k ^= k >> 27;
  k *= 0x94d049bb133111ebULL;
  k ^= k >> 31;
  return (size_t)k;
}

bool idmap_get(const struct idmap *m, uint64_t key, uint32_t *ret_val) {
  size_t mask, i;

  if (!m->cap)
    return false;
  mask = m->cap - 1;
  for (i = hash_id(key) & mask; m->slots[i].used; i = (i + 1) & mask) {
    if (m->slots[i].key == key) {
      *ret_val = m->slots[i].val;
      return true;
    }
  }
  return false;
}

static void insert_slot(struct idmap_slot *slots, size_t cap, uint64_t key, uint32_t val) {
  size_t mask = cap - 1, i;

  for (i = hash_id(key) & mask; slots[i].used; i = (i + 1) & mask)
    if (slots[i].key == key)
      break;
  slots[i].key = key;
  slots[i].val = val;
  slots[i].used = true;
}

static int rehash(struct idmap *m, size_t ncap) {
  struct idmap_slot *ns = calloc(ncap, sizeof(*ns));

  if (!ns)
    return -ENOMEM;
  for (size_t i = 0; i < m->cap; i++)
    if (m->slots[i].used)
      insert_slot(ns, ncap, m->slots[i].key, m->slots[i].val);
  free(m->slots);
  m->slots = ns;
  m->cap = ncap;
  return 0;
}

int idmap_put(struct idmap *m, uint64_t key, uint32_t val) {
  uint32_t old;

  if (idmap_get(m, key, &old)) {
    insert_slot(m->slots, m->cap, key, val);
    return 0;
  }
  if ((m->n + 1) * 2 > m->cap) {
    size_t ncap = m->cap ? m->cap * 2 : 64;
    int r;
    if (ncap > SIZE_MAX / sizeof(struct idmap_slot))
      return -ENOMEM;
    r = rehash(m, ncap);
    if (r < 0)
      return r;
  }
  insert_slot(m->slots, m->cap, key, val);
  m->n++;
  return 0;
}

int gotrace_grow(void *p, size_t *cap, size_t need, size_t elem) {
  void **pp = p;
  size_t ncap;
  void *np;

  if (need <= *cap)
    return 0;
  ncap = *cap ? *cap : 16;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2)
      return -ENOMEM;
    ncap *= 2;
  }
  if (ncap > SIZE_MAX / elem)
    return -ENOMEM;
  np = realloc(*pp, ncap * elem);
  if (!np)
    return -ENOMEM;
  *pp = np;
  *cap = ncap;
  return 0;
}
