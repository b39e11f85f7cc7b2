/* Go 1.22+ traces: what outlives a generation. String and stack ids are
 * only valid inside their generation, so names and the stacks of blocking
 * profiles are interned by content here; goroutines are folded into their
 * group as soon as they are final, keeping memory to the live ones. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gotrace_v2.h"
#include "util.h"

struct istack {
  uint32_t first, n;
  uint64_t hash;
};

struct iframe {
  uint64_t pc;
  uint64_t line;
  uint32_t func, file;
};

struct v2_intern {
  char *bytes; /* NUL-separated strings */
  size_t n_bytes, cap_bytes;
  size_t *str_off;
  size_t *str_len;
  uint64_t *str_hash;
  size_t n_strs, cap_strs;
  uint32_t *str_tab; /* open addressing: string id + 1, 0 = empty */
  size_t str_tab_cap;
  struct iframe *frames;
  size_t n_frames, cap_frames;
  struct istack *stacks;
  size_t n_stacks, cap_stacks;
  uint32_t *stk_tab;
  size_t stk_tab_cap;
};

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001B3ULL;
  return h;
}

/* Stacks are hashed a word at a time (3 multiplies per frame instead of
 * 24), with a final mix so that the low bits used by the table depend on
 * every bit of the frames. Only lookups depend on it: ids stay in
 * insertion order. */
static uint64_t hash_frames(const struct iframe *f, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h = (h ^ f[i].pc) * 0x9E3779B97F4A7C15ULL;
    h = (h ^ f[i].line) * 0x9E3779B97F4A7C15ULL;
    h = (h ^ ((uint64_t)f[i].func << 32 | f[i].file)) * 0x9E3779B97F4A7C15ULL;
    h ^= h >> 29;
  }
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ULL;
  return h ^ (h >> 32);
}

struct v2_intern *v2_intern_new(void) {
  struct v2_intern *in = xcalloc(1, sizeof(*in));
  /* Stack 0 is the empty stack. */
  in->stacks = xcalloc(16, sizeof(*in->stacks));
  in->cap_stacks = 16;
  in->n_stacks = 1;
  return in;
}

struct v2_intern *v2_intern_free(struct v2_intern *in) {
  if (!in)
    return NULL;
  free(in->bytes);
  free(in->str_off);
  free(in->str_len);
  free(in->str_hash);
  free(in->str_tab);
  free(in->frames);
  free(in->stacks);
  free(in->stk_tab);
  free(in);
  return NULL;
}

static void str_tab_insert(struct v2_intern *in, uint32_t id) {
  size_t mask = in->str_tab_cap - 1;
  for (size_t i = in->str_hash[id] & mask;; i = (i + 1) & mask) {
    if (!in->str_tab[i]) {
      in->str_tab[i] = id + 1;
      return;
    }
  }
}

uint32_t v2_intern_string(struct v2_intern *in, const uint8_t *p, size_t len) {
  uint64_t h = hash_bytes(p, len, 0xcbf29ce484222325ULL);
  size_t mask;
  uint32_t id;
  if ((in->n_strs + 1) * 2 > in->str_tab_cap) {
    free(in->str_tab);
    in->str_tab_cap = in->str_tab_cap ? in->str_tab_cap * 2 : 256;
    in->str_tab = xcalloc(in->str_tab_cap, sizeof(*in->str_tab));
    for (uint32_t i = 0; i < in->n_strs; i++)
      str_tab_insert(in, i);
  }
  mask = in->str_tab_cap - 1;
  for (size_t i = h & mask; in->str_tab[i]; i = (i + 1) & mask) {
    uint32_t c = in->str_tab[i] - 1;
    const char *s = in->bytes + in->str_off[c];
    if (in->str_hash[c] == h && in->str_len[c] == len && memcmp(s, p, len) == 0)
      return c;
  }
  if (in->n_strs == in->cap_strs) {
    in->cap_strs = in->cap_strs ? in->cap_strs * 2 : 256;
    in->str_off = xreallocarray(in->str_off, in->cap_strs, sizeof(*in->str_off));
    in->str_len = xreallocarray(in->str_len, in->cap_strs, sizeof(*in->str_len));
    in->str_hash = xreallocarray(in->str_hash, in->cap_strs, sizeof(*in->str_hash));
  }
  while (in->n_bytes + len + 1 > in->cap_bytes) {
    in->cap_bytes = in->cap_bytes ? in->cap_bytes * 2 : 4096;
    in->bytes = xrealloc(in->bytes, in->cap_bytes);
  }
  /* Embedded NULs cannot be represented in C strings: cut there. */
  memcpy(in->bytes + in->n_bytes, p, len);
  in->bytes[in->n_bytes + len] = 0;
  id = (uint32_t)in->n_strs++;
  in->str_off[id] = in->n_bytes;
  in->str_len[id] = len;
  in->str_hash[id] = h;
  in->n_bytes += len + 1;
  str_tab_insert(in, id);
  return id;
}

const char *v2_intern_string_get(const struct v2_intern *in, uint32_t id) {
  return id < in->n_strs ? in->bytes + in->str_off[id] : "";
}

uint32_t v2_gen_global_string(struct v2_intern *in, struct v2_gen *g, uint32_t idx) {
  struct v2_str *s = &g->strs[idx];
  if (!s->global)
    s->global = 1 + v2_intern_string(in, s->p, s->len);
  return s->global - 1;
}

static bool stack_eq(const struct v2_intern *in, const struct istack *a, const struct iframe *f,
                     size_t n) {
  return a->n == n && memcmp(in->frames + a->first, f, n * sizeof(*f)) == 0;
}

static void stk_tab_insert(struct v2_intern *in, uint32_t id) {
  size_t mask = in->stk_tab_cap - 1;
  for (size_t i = in->stacks[id].hash & mask;; i = (i + 1) & mask) {
    if (!in->stk_tab[i]) {
      in->stk_tab[i] = id;
      return;
    }
  }
}

uint32_t v2_gen_global_stack_slow(struct v2_intern *in, struct v2_gen *g, uint32_t idx) {
  struct v2_stack *st = &g->stacks[idx];
  struct iframe fr[V2_MAX_FRAMES];
  uint64_t h;
  size_t mask, n = st->n;
  uint32_t id;
  if (st->global)
    return st->global - 1;
  if (!n) {
    st->global = 1 + V2_STACK_EMPTY;
    return V2_STACK_EMPTY;
  }
  for (size_t i = 0; i < n; i++) {
    const struct v2_frame *f = &g->frames[st->first + i];
    fr[i].pc = f->pc;
    fr[i].line = f->line;
    fr[i].func = f->func == V2_IDX_NONE ? UINT32_MAX : v2_gen_global_string(in, g, f->func);
    fr[i].file = f->file == V2_IDX_NONE ? UINT32_MAX : v2_gen_global_string(in, g, f->file);
  }
  h = hash_frames(fr, n);
  if ((in->n_stacks + 1) * 2 > in->stk_tab_cap) {
    free(in->stk_tab);
    in->stk_tab_cap = in->stk_tab_cap ? in->stk_tab_cap * 2 : 256;
    in->stk_tab = xcalloc(in->stk_tab_cap, sizeof(*in->stk_tab));
    for (uint32_t i = 1; i < in->n_stacks; i++)
      stk_tab_insert(in, i);
  }
  mask = in->stk_tab_cap - 1;
  for (size_t i = h & mask; in->stk_tab[i]; i = (i + 1) & mask) {
    const struct istack *c = &in->stacks[in->stk_tab[i]];
    if (c->hash == h && stack_eq(in, c, fr, n)) {
      st->global = 1 + in->stk_tab[i];
      return in->stk_tab[i];
    }
  }
  if (in->n_stacks == in->cap_stacks) {
    in->cap_stacks *= 2;
    in->stacks = xreallocarray(in->stacks, in->cap_stacks, sizeof(*in->stacks));
  }
  while (in->n_frames + n > in->cap_frames) {
    in->cap_frames = in->cap_frames ? in->cap_frames * 2 : 1024;
    in->frames = xreallocarray(in->frames, in->cap_frames, sizeof(*in->frames));
  }
  memcpy(in->frames + in->n_frames, fr, n * sizeof(*fr));
  id = (uint32_t)in->n_stacks++;
  in->stacks[id] = (struct istack){(uint32_t)in->n_frames, (uint32_t)n, h};
  in->n_frames += n;
  stk_tab_insert(in, id);
  st->global = 1 + id;
  return id;
}

size_t v2_intern_stacks(const struct v2_intern *in) {
  return in->n_stacks;
}

size_t v2_intern_strings(const struct v2_intern *in) {
  return in->n_strs;
}

/* A copy of an interned string (its length is known: no strlen). */
/* Frames point into the string block (a string id past the table reads
 * the NUL v2_intern_seal put after the last string). */
static char *frame_string(const struct v2_intern *in, uint32_t id) {
  return in->bytes + (id < in->n_strs ? in->str_off[id] : in->n_bytes);
}

void v2_intern_seal(struct v2_intern *in) {
  if (in->n_bytes + 1 > in->cap_bytes) {
    in->cap_bytes = in->n_bytes + 1;
    in->bytes = xrealloc(in->bytes, in->cap_bytes);
  }
  in->bytes[in->n_bytes] = 0;
}

char *v2_intern_take_strings(struct v2_intern *in) {
  char *b = in->bytes;
  in->bytes = NULL;
  in->n_bytes = in->cap_bytes = 0;
  in->n_strs = 0;
  return b;
}

void v2_intern_stack_to_trace(const struct v2_intern *in, uint32_t stack, struct trace_stack *ret) {
  const struct istack *st = &in->stacks[stack];
  ret->n_frames = st->n;
  ret->frames = st->n ? xcalloc(st->n, sizeof(*ret->frames)) : NULL;
  for (size_t i = 0; i < st->n; i++) {
    const struct iframe *f = &in->frames[st->first + i];
    ret->frames[i].function = frame_string(in, f->func);
    ret->frames[i].file = frame_string(in, f->file);
    ret->frames[i].line = (int64_t)(f->line & INT64_MAX);
    ret->frames[i].pc = f->pc;
  }
}

/* ---- groups ---- */

struct group {
  uint32_t name; /* interned + 1, 0 = "" */
  int64_t count;
  struct trace_gstats s;
  struct trace_goroutine worst[TRACE_WORST_PER_GROUP];
  size_t n_worst;
};

struct v2_groups {
  struct group *g;
  size_t n, cap;
  struct v2_map map;
};

struct v2_groups *v2_groups_new(void) {
  struct v2_groups *gs = xcalloc(1, sizeof(*gs));
  v2_map_init(&gs->map);
  return gs;
}

struct v2_groups *v2_groups_free(struct v2_groups *gs) {
  if (!gs)
    return NULL;
  free(gs->g);
  v2_map_done(&gs->map);
  free(gs);
  return NULL;
}

static int64_t waiting(const struct trace_goroutine *g) {
  return g->s.total_ns - g->s.execution_ns;
}

void v2_groups_add(struct v2_groups *gs, uint32_t name, const struct trace_goroutine *tg) {
  uint32_t i = v2_map_get(&gs->map, name);
  struct group *g;
  size_t k;
  if (i == V2_IDX_NONE) {
    if (gs->n == gs->cap) {
      gs->cap = gs->cap ? gs->cap * 2 : 32;
      gs->g = xreallocarray(gs->g, gs->cap, sizeof(*gs->g));
    }
    i = (uint32_t)gs->n++;
    memset(&gs->g[i], 0, sizeof(gs->g[i]));
    gs->g[i].name = name;
    v2_map_put(&gs->map, name, i);
  }
  g = &gs->g[i];
  g->count++;
  g->s.total_ns += tg->s.total_ns;
  g->s.execution_ns += tg->s.execution_ns;
  g->s.network_wait_ns += tg->s.network_wait_ns;
  g->s.sync_block_ns += tg->s.sync_block_ns;
  g->s.syscall_ns += tg->s.syscall_ns;
  g->s.scheduler_wait_ns += tg->s.scheduler_wait_ns;
  g->s.gc_sweep_ns += tg->s.gc_sweep_ns;
  g->s.gc_pause_ns += tg->s.gc_pause_ns;
  g->s.unknown_ns += tg->s.unknown_ns;
  /* Keep the worst few (most time not executing), ties by lower id. */
  for (k = g->n_worst; k > 0; k--) {
    const struct trace_goroutine *w = &g->worst[k - 1];
    if (waiting(w) > waiting(tg) || (waiting(w) == waiting(tg) && w->id < tg->id))
      break;
  }
  if (k >= TRACE_WORST_PER_GROUP)
    return;
  if (g->n_worst < TRACE_WORST_PER_GROUP)
    g->n_worst++;
  memmove(&g->worst[k + 1], &g->worst[k], (g->n_worst - 1 - k) * sizeof(g->worst[0]));
  g->worst[k] = *tg;
}

static int cmp_group(const void *a, const void *b) {
  const struct trace_group *x = a, *y = b;
  if (x->s.execution_ns != y->s.execution_ns)
    return x->s.execution_ns > y->s.execution_ns ? -1 : 1;
  return strcmp(x->function, y->function);
}

void v2_groups_build(struct v2_groups *gs, const struct v2_intern *in, struct trace_summary *ret) {
  ret->n_groups = gs->n;
  ret->groups = gs->n ? xcalloc(gs->n, sizeof(*ret->groups)) : NULL;
  for (size_t i = 0; i < gs->n; i++) {
    struct trace_group *o = &ret->groups[i];
    const struct group *g = &gs->g[i];
    o->function = xstrdup(g->name ? v2_intern_string_get(in, g->name - 1) : "");
    o->pc = 0;
    o->count = g->count;
    o->s = g->s;
    o->n_worst = g->n_worst;
    o->worst = xcalloc(TRACE_WORST_PER_GROUP, sizeof(*o->worst));
    memcpy(o->worst, g->worst, g->n_worst * sizeof(*o->worst));
  }
  if (gs->n > 1)
    qsort(ret->groups, gs->n, sizeof(*ret->groups), cmp_group);
}
