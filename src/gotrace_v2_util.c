/* Go 1.22+ traces: id maps, the goroutine/P/M tables, error messages. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotrace_v2.h"
#include "util.h"

void v2_map_init(struct v2_map *m) {
  memset(m, 0, sizeof(*m));
}

void v2_map_done(struct v2_map *m) {
  free(m->slots);
  v2_map_init(m);
}

void v2_map_clear(struct v2_map *m) {
  for (size_t i = 0; i < m->cap; i++)
    m->slots[i].val = V2_IDX_NONE;
  m->n = 0;
}

static void map_grow(struct v2_map *m) {
  struct v2_map old = *m;
  m->cap = old.cap ? old.cap * 2 : 64;
  m->slots = xmalloc(m->cap * sizeof(*m->slots));
  m->n = 0;
  v2_map_clear(m);
  for (size_t i = 0; i < old.cap; i++)
    if (old.slots[i].val != V2_IDX_NONE)
      v2_map_put(m, old.slots[i].key, old.slots[i].val);
  free(old.slots);
}

void v2_map_put(struct v2_map *m, uint64_t key, uint32_t val) {
  if ((m->n + 1) * 4 > m->cap * 3)
    map_grow(m);
  for (size_t i = v2_map_slot(m, key);; i = (i + 1) & (m->cap - 1)) {
    struct v2_map_slot *e = &m->slots[i];
    if (e->val == V2_IDX_NONE) {
      e->key = key;
      e->val = val;
      m->n++;
      return;
    }
    if (e->key == key) {
      e->val = val;
      return;
    }
  }
}

void v2_map_del(struct v2_map *m, uint64_t key) {
  size_t mask = m->cap - 1, i, j;
  if (!m->n)
    return;
  for (i = v2_map_slot(m, key);; i = (i + 1) & mask) {
    if (m->slots[i].val == V2_IDX_NONE)
      return;
    if (m->slots[i].key == key)
      break;
  }
  /* Backward-shift deletion keeps probe chains intact without tombstones. */
  m->slots[i].val = V2_IDX_NONE;
  m->n--;
  for (j = (i + 1) & mask; m->slots[j].val != V2_IDX_NONE; j = (j + 1) & mask) {
    size_t home = v2_map_slot(m, m->slots[j].key);
    bool movable = (i <= j) ? (home <= i || home > j) : (home <= i && home > j);
    if (movable) {
      m->slots[i] = m->slots[j];
      m->slots[j].val = V2_IDX_NONE;
      i = j;
    }
  }
}

int v2_fail(char **err, size_t off, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  if (err && !*err)
    *err = xasprintf("offset %zu: %s", off, msg);
  return -EPROTO;
}

/* Records live in fixed-size chunks so pointers stay valid while the
 * table grows; freed slots are reused. */
struct v2_g *v2_g_new(struct v2_state *s, uint64_t id) {
  uint32_t slot;
  struct v2_g *g;
  if (s->n_gslots - s->n_gfree >= V2_MAX_LIVE_G)
    return NULL;
  if (s->n_gfree) {
    slot = s->gfree[--s->n_gfree];
  } else {
    if (s->n_gslots == s->n_gchunks * V2_G_CHUNK) {
      s->gchunks = xreallocarray(s->gchunks, s->n_gchunks + 1, sizeof(*s->gchunks));
      /* Cache-line aligned, so that each record's first line is one line
       * (unaligned still works if that allocation fails). */
      struct v2_g *chunk = aligned_alloc(64, V2_G_CHUNK * sizeof(struct v2_g));
      if (chunk)
        memset(chunk, 0, V2_G_CHUNK * sizeof(struct v2_g));
      else
        chunk = xcalloc(V2_G_CHUNK, sizeof(struct v2_g));
      s->gchunks[s->n_gchunks++] = chunk;
    }
    slot = (uint32_t)s->n_gslots++;
  }
  g = v2_g_at(s, slot);
  memset(g, 0, sizeof(*g));
  g->id = id;
  g->slot = slot;
  g->sys_p = V2_NONE;
  g->mmu_p = -1;
  v2_map_put(&s->gmap, id, slot);
  return g;
}

void v2_g_delete(struct v2_state *s, struct v2_g *g) {
  v2_map_del(&s->gmap, g->id);
  free(g->regions);
  g->regions = NULL;
  if (s->n_gfree == s->cap_gfree) {
    s->cap_gfree = s->cap_gfree ? s->cap_gfree * 2 : 256;
    s->gfree = xreallocarray(s->gfree, s->cap_gfree, sizeof(*s->gfree));
  }
  s->gfree[s->n_gfree++] = g->slot;
  g->id = V2_NONE;
}

struct v2_p *v2_p_new(struct v2_state *s, uint64_t id) {
  struct v2_p *p;
  if (s->n_ps >= V2_MAX_PROC_IDS)
    return NULL;
  if (s->n_ps == s->cap_ps) {
    s->cap_ps = s->cap_ps ? s->cap_ps * 2 : 16;
    s->ps = xreallocarray(s->ps, s->cap_ps, sizeof(*s->ps));
  }
  p = &s->ps[s->n_ps];
  memset(p, 0, sizeof(*p));
  p->id = id;
  p->sys_g = V2_NONE;
  p->range_g = V2_NONE;
  v2_map_put(&s->pmap, id, (uint32_t)s->n_ps++);
  return p;
}

struct v2_m *v2_m_find(struct v2_state *s, uint64_t id) {
  uint32_t i = v2_map_get(&s->mmap, id);
  return i == V2_IDX_NONE ? NULL : &s->ms[i];
}

/* P pointers are only held for the duration of one event: the array may
 * move when a new P appears. M ids are created on first use. */
struct v2_m *v2_m_get(struct v2_state *s, uint64_t id) {
  uint32_t i = v2_map_get(&s->mmap, id);
  struct v2_m *m;
  if (i != V2_IDX_NONE)
    return &s->ms[i];
  if (s->n_ms >= V2_MAX_THREADS)
    return NULL;
  if (s->n_ms == s->cap_ms) {
    s->cap_ms = s->cap_ms ? s->cap_ms * 2 : 16;
    s->ms = xreallocarray(s->ms, s->cap_ms, sizeof(*s->ms));
  }
  m = &s->ms[s->n_ms];
  memset(m, 0, sizeof(*m));
  m->id = id;
  m->g = V2_NONE;
  m->p = V2_NONE;
  v2_map_put(&s->mmap, id, (uint32_t)s->n_ms++);
  return m;
}

void v2_state_done(struct v2_state *s) {
  for (size_t i = 0; i < s->n_gslots; i++) {
    struct v2_g *g = v2_g_at(s, i);
    free(g->regions);
  }
  for (size_t i = 0; i < s->n_gchunks; i++)
    free(s->gchunks[i]);
  free(s->gchunks);
  free(s->gfree);
  free(s->ps);
  free(s->ms);
  free(s->task_slots);
  free(s->task_free);
  v2_map_done(&s->gmap);
  v2_map_done(&s->pmap);
  v2_map_done(&s->mmap);
  v2_map_done(&s->tasks);
  s->an = v2_an_free(s->an);
  s->in = v2_intern_free(s->in);
}
