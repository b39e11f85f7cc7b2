/* Go 1.22+ traces: the file header, batch framing and generations (doc
 * 3.1, 3.2). A generation's structural batches (strings, stacks, CPU
 * samples, frequency/sync) are decoded here; event batches are only
 * indexed (payloads stay in the input) and decoded lazily by the merge. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gotrace_v2.h"
#include "util.h"

#define GROW(arr, n, cap, init)                                                                    \
  do {                                                                                             \
    if ((n) == (cap)) {                                                                            \
      (cap) = (cap) ? (cap)*2 : (init);                                                            \
      (arr) = xreallocarray((arr), (cap), sizeof(*(arr)));                                         \
    }                                                                                              \
  } while (0)

void v2_gen_init(struct v2_gen *g) {
  memset(g, 0, sizeof(*g));
  v2_map_init(&g->thread_map);
  v2_map_init(&g->str_map);
  v2_map_init(&g->stack_map);
}

void v2_gen_done(struct v2_gen *g) {
  free(g->ev_batches);
  free(g->threads);
  free(g->strs);
  free(g->stacks);
  free(g->frames);
  free(g->frame_ids);
  free(g->cpu);
  free(g->str_direct);
  free(g->stack_direct);
  v2_map_done(&g->thread_map);
  v2_map_done(&g->str_map);
  v2_map_done(&g->stack_map);
  v2_gen_init(g);
}

/* Keeps the allocations for the next generation. */
static void gen_reset(struct v2_gen *g, uint64_t num) {
  g->num = num;
  g->freq = 0;
  g->ns_per_unit = 0;
  g->have_clock = false;
  g->min_ts = 0;
  g->n_batches = g->n_exp_batches = 0;
  g->n_ev_batches = g->n_threads = g->n_strs = g->n_stacks = g->n_frames = g->n_cpu = 0;
  g->n_str_direct = g->n_stack_direct = 0;
  g->max_str_id = g->max_stack_id = 0;
  v2_map_clear(&g->thread_map);
  v2_map_clear(&g->str_map);
  v2_map_clear(&g->stack_map);
}

int v2_header(const uint8_t *data, size_t len, int *ret_minor, char **err) {
  size_t i = 5;
  int minor = 0;
  if (len < 16 || memcmp(data, "go 1.", 5) != 0)
    return v2_fail(err, 0, "not a Go execution trace (no \"go 1.N trace\" header)");
  while (i < 16 && data[i] >= '0' && data[i] <= '9' && minor < 1000)
    minor = minor * 10 + (data[i++] - '0');
  if (i == 5 || i + 6 > 16 || memcmp(data + i, " trace", 6) != 0)
    return v2_fail(err, 0, "malformed trace header");
  for (i += 6; i < 16; i++)
    if (data[i] != 0)
      return v2_fail(err, i, "malformed trace header (padding is not NUL)");
  if (minor < 22 || minor > 26) {
    if (err && !*err)
      *err = xasprintf("unsupported trace version go 1.%d", minor);
    return -ENOTSUP;
  }
  *ret_minor = minor;
  return 0;
}

static int strings_batch(struct v2_gen *g, const uint8_t *base, size_t off, size_t len,
                         char **err) {
  const uint8_t *p = base + off + 1, *end = base + off + len;
  while (p < end) {
    uint64_t id, n;
    size_t k, at = (size_t)(p - base);
    if (*p != V2_EV_STRING)
      return v2_fail(err, at, "expected String in strings batch, got %s", v2_type_name(*p));
    p++;
    if (!(k = v2_uvarint(p, end, &id)))
      return v2_fail(err, at, "bad string id varint");
    p += k;
    if (!(k = v2_uvarint(p, end, &n)))
      return v2_fail(err, at, "bad string length varint");
    p += k;
    if (n > V2_MAX_STRING)
      return v2_fail(err, at, "string %llu is %llu bytes long (maximum %d)", (unsigned long long)id,
                     (unsigned long long)n, V2_MAX_STRING);
    if (n > (size_t)(end - p))
      return v2_fail(err, at, "string %llu crosses the end of its batch", (unsigned long long)id);
    if (id == 0 || v2_map_get(&g->str_map, id) != V2_IDX_NONE)
      return v2_fail(err, at, "%s string id %llu", id ? "duplicate" : "reserved",
                     (unsigned long long)id);
    GROW(g->strs, g->n_strs, g->cap_strs, 256);
    g->strs[g->n_strs] = (struct v2_str){p, (uint32_t)n, -1, 0};
    if (id > g->max_str_id)
      g->max_str_id = id;
    v2_map_put(&g->str_map, id, (uint32_t)g->n_strs++);
    p += n;
  }
  return 0;
}

static int stacks_batch(struct v2_gen *g, const uint8_t *base, size_t off, size_t len, char **err) {
  const uint8_t *p = base + off + 1, *end = base + off + len;
  while (p < end) {
    uint64_t id, n, v[4];
    size_t k, at = (size_t)(p - base);
    if (*p != V2_EV_STACK)
      return v2_fail(err, at, "expected Stack in stacks batch, got %s", v2_type_name(*p));
    p++;
    if (!(k = v2_uvarint(p, end, &id)))
      return v2_fail(err, at, "bad stack id varint");
    p += k;
    if (!(k = v2_uvarint(p, end, &n)))
      return v2_fail(err, at, "bad frame count varint");
    p += k;
    if (n > V2_MAX_FRAMES)
      return v2_fail(err, at, "stack %llu has %llu frames (maximum %d)", (unsigned long long)id,
                     (unsigned long long)n, V2_MAX_FRAMES);
    if (id == 0 || v2_map_get(&g->stack_map, id) != V2_IDX_NONE)
      return v2_fail(err, at, "%s stack id %llu", id ? "duplicate" : "reserved",
                     (unsigned long long)id);
    GROW(g->stacks, g->n_stacks, g->cap_stacks, 256);
    g->stacks[g->n_stacks] = (struct v2_stack){(uint32_t)g->n_frames, (uint32_t)n, 0};
    if (id > g->max_stack_id)
      g->max_stack_id = id;
    for (uint64_t f = 0; f < n; f++) {
      const uint8_t *q = end - p >= 40 ? v2_uvarint10(p, &v[0]) : NULL;
      for (int j = 1; q && j < 4; j++)
        q = v2_uvarint10(q, &v[j]);
      if (q) { /* the usual case: far from the end of the batch */
        p = q;
      } else {
        for (int j = 0; j < 4; j++) {
          if (!(k = v2_uvarint(p, end, &v[j])))
            return v2_fail(err, (size_t)(p - base), "bad varint in frame %llu of stack %llu",
                           (unsigned long long)f, (unsigned long long)id);
          p += k;
        }
      }
      if (g->n_frames == g->cap_frames) {
        g->cap_frames = g->cap_frames ? g->cap_frames * 2 : 1024;
        g->frames = xreallocarray(g->frames, g->cap_frames, sizeof(*g->frames));
        g->frame_ids = xreallocarray(g->frame_ids, g->cap_frames, 2 * sizeof(*g->frame_ids));
      }
      g->frames[g->n_frames] = (struct v2_frame){v[0], v[3], 0, 0};
      g->frame_ids[2 * g->n_frames] = v[1];
      g->frame_ids[2 * g->n_frames + 1] = v[2];
      g->n_frames++;
    }
    v2_map_put(&g->stack_map, id, (uint32_t)g->n_stacks++);
  }
  return 0;
}

static int cpu_batch(struct v2_gen *g, const uint8_t *base, size_t off, size_t len, char **err) {
  const uint8_t *p = base + off + 1, *end = base + off + len;
  while (p < end) {
    uint64_t v[5];
    size_t k, at = (size_t)(p - base);
    if (*p != V2_EV_CPU_SAMPLE)
      return v2_fail(err, at, "expected CPUSample in CPU samples batch, got %s", v2_type_name(*p));
    p++;
    for (int j = 0; j < 5; j++) {
      if (!(k = v2_uvarint(p, end, &v[j])))
        return v2_fail(err, at, "bad varint in CPU sample");
      p += k;
    }
    GROW(g->cpu, g->n_cpu, g->cap_cpu, 256);
    /* time and stack are resolved once the frequency and stacks are known */
    g->cpu[g->n_cpu] =
        (struct v2_cpu_sample){0, v[0], v[1], v[2], v[3], v[4], V2_IDX_NONE, (uint32_t)g->n_cpu};
    g->n_cpu++;
  }
  return 0;
}

/* Frequency (and, since Go 1.25, the clock snapshot that maps trace time
 * to wall time; pprofd stores wall time with the capture already, so the
 * snapshot is checked but not used). */
static int sync_batch(struct v2_gen *g, int minor, const uint8_t *base, size_t off, size_t len,
                      char **err) {
  const uint8_t *p = base + off, *end = base + off + len;
  uint64_t v;
  size_t k;
  if (minor >= 25)
    p++; /* the Sync byte */
  while (p < end) {
    size_t at = (size_t)(p - base);
    uint8_t t = *p++;
    if (t == V2_EV_FREQUENCY) {
      if (g->freq)
        return v2_fail(err, at, "generation %llu has more than one frequency",
                       (unsigned long long)g->num);
      if (!(k = v2_uvarint(p, end, &v)))
        return v2_fail(err, at, "bad frequency varint");
      if (!v)
        return v2_fail(err, at, "frequency is zero");
      p += k;
      g->freq = v;
      g->ns_per_unit = 1.0 / ((double)v / 1e9);
    } else if (t == V2_EV_CLOCK_SNAPSHOT && minor >= 25) {
      for (int j = 0; j < 4; j++) {
        if (!(k = v2_uvarint(p, end, &v)))
          return v2_fail(err, at, "bad varint in clock snapshot");
        p += k;
      }
      g->have_clock = true;
    } else {
      return v2_fail(err, at, "unexpected %s in sync batch", v2_type_name(t));
    }
  }
  return 0;
}

/* Event batches of one thread are kept in file order as a linked list. */
static void add_event_batch(struct v2_gen *g, uint64_t m, size_t off, uint32_t len, uint64_t ts) {
  uint32_t ti = v2_map_get(&g->thread_map, m), bi = (uint32_t)g->n_ev_batches;
  GROW(g->ev_batches, g->n_ev_batches, g->cap_ev_batches, 64);
  g->ev_batches[g->n_ev_batches++] = (struct v2_batch){off, len, V2_IDX_NONE, ts};
  if (ti == V2_IDX_NONE) {
    GROW(g->threads, g->n_threads, g->cap_threads, 16);
    g->threads[g->n_threads] = (struct v2_thread_batches){m, bi, bi};
    v2_map_put(&g->thread_map, m, (uint32_t)g->n_threads++);
  } else {
    g->ev_batches[g->threads[ti].last].next = bi;
    g->threads[ti].last = bi;
  }
}

struct batch_hdr {
  size_t start;
  uint8_t kind;
  uint64_t gen, m, ts, size;
  size_t payload;
};

static int read_batch_header(struct v2_reader *r, struct batch_hdr *h, char **err) {
  const uint8_t *p = r->data + r->pos, *end = r->data + r->len;
  uint64_t *fields[4] = {&h->gen, &h->m, &h->ts, &h->size};
  static const char *const names[4] = {"generation", "thread", "timestamp", "size"};
  size_t k;
  h->start = r->pos;
  h->kind = *p++;
  if (h->kind == V2_EV_EXPERIMENTAL_BATCH && r->minor >= 23) {
    if (p >= end)
      return v2_fail(err, h->start, "truncated batch header");
    p++; /* experiment id: the payload is opaque */
  } else if (h->kind != V2_EV_BATCH) {
    return v2_fail(err, h->start, "expected a batch header, got byte %u", h->kind);
  }
  for (int i = 0; i < 4; i++) {
    if (!(k = v2_uvarint(p, end, fields[i])))
      return v2_fail(err, h->start, "%s batch header (%s)", v2_varint_problem(p, end), names[i]);
    p += k;
  }
  if (h->size > V2_MAX_BATCH)
    return v2_fail(err, h->start, "batch of %llu bytes (maximum %d)", (unsigned long long)h->size,
                   V2_MAX_BATCH);
  if (h->size > (uint64_t)(end - p))
    return v2_fail(err, h->start, "truncated batch: %llu bytes announced, %zu left",
                   (unsigned long long)h->size, (size_t)(end - p));
  if (h->gen == 0)
    return v2_fail(err, h->start, "generation number 0");
  h->payload = (size_t)(p - r->data);
  return 0;
}

static int add_batch(struct v2_gen *g, int minor, const uint8_t *data, const struct batch_hdr *h,
                     char **err) {
  size_t off = h->payload, len = (size_t)h->size;
  g->n_batches++;
  if (g->min_ts == 0 || h->ts < g->min_ts)
    g->min_ts = h->ts;
  if (h->kind == V2_EV_EXPERIMENTAL_BATCH) {
    g->n_exp_batches++;
    return 0;
  }
  if (!len)
    return 0;
  switch (data[off]) {
  case V2_EV_STRINGS:
    return strings_batch(g, data, off, len, err);
  case V2_EV_STACKS:
    return stacks_batch(g, data, off, len, err);
  case V2_EV_CPU_SAMPLES:
    return cpu_batch(g, data, off, len, err);
  case V2_EV_FREQUENCY:
    if (minor < 25)
      return sync_batch(g, minor, data, off, len, err);
    break;
  case V2_EV_SYNC:
    if (minor >= 25)
      return sync_batch(g, minor, data, off, len, err);
    break;
  }
  add_event_batch(g, h->m, off, (uint32_t)len, h->ts);
  return 0;
}

/* A direct id -> index table when ids are dense (at most 4 slots per
 * entry), so that lookups during the merge are one load. */
static void build_direct(const struct v2_map *map, size_t n, uint64_t max_id, uint32_t **tab,
                         size_t *n_tab, size_t *cap) {
  *n_tab = 0;
  if (!n || max_id >= 4 * (uint64_t)n + 64)
    return;
  if (max_id + 1 > *cap) {
    *cap = (size_t)max_id + 1;
    free(*tab);
    *tab = xmalloc(*cap * sizeof(**tab));
  }
  memset(*tab, 0, ((size_t)max_id + 1) * sizeof(**tab));
  for (size_t i = 0; i < map->cap; i++)
    if (map->slots[i].val != V2_IDX_NONE)
      (*tab)[map->slots[i].key] = map->slots[i].val + 1;
  *n_tab = (size_t)max_id + 1;
}

/* Resolves frame strings and CPU sample stacks; checks what every
 * generation must have (doc 4, step 3). */
static int gen_finish(struct v2_gen *g, int minor, size_t end_off, char **err) {
  bool ok;
  build_direct(&g->str_map, g->n_strs, g->max_str_id, &g->str_direct, &g->n_str_direct,
               &g->cap_str_direct);
  build_direct(&g->stack_map, g->n_stacks, g->max_stack_id, &g->stack_direct, &g->n_stack_direct,
               &g->cap_stack_direct);
  if (!g->freq)
    return v2_fail(err, end_off, "generation %llu has no frequency", (unsigned long long)g->num);
  if (minor >= 25 && !g->have_clock)
    return v2_fail(err, end_off, "generation %llu has no clock snapshot",
                   (unsigned long long)g->num);
  for (size_t i = 0; i < g->n_frames; i++) {
    uint32_t fn = v2_gen_string(g, g->frame_ids[2 * i], &ok);
    uint32_t fl;
    if (!ok)
      return v2_fail(err, end_off, "generation %llu: stack frame references unknown string %llu",
                     (unsigned long long)g->num, (unsigned long long)g->frame_ids[2 * i]);
    fl = v2_gen_string(g, g->frame_ids[2 * i + 1], &ok);
    if (!ok)
      return v2_fail(err, end_off, "generation %llu: stack frame references unknown string %llu",
                     (unsigned long long)g->num, (unsigned long long)g->frame_ids[2 * i + 1]);
    g->frames[i].func = fn;
    g->frames[i].file = fl;
  }
  for (size_t i = 0; i < g->n_cpu; i++) {
    struct v2_cpu_sample *c = &g->cpu[i];
    c->stack = v2_gen_stack(g, c->stack_id, &ok);
    if (!ok)
      return v2_fail(err, end_off, "generation %llu: CPU sample references unknown stack %llu",
                     (unsigned long long)g->num, (unsigned long long)c->stack_id);
    if (!v2_units_to_ns((double)c->raw_ts, g->ns_per_unit, &c->time))
      return v2_fail(err, end_off, "generation %llu: CPU sample timestamp out of range",
                     (unsigned long long)g->num);
  }
  return 0;
}

int v2_gen_read(struct v2_reader *r, struct v2_gen *g, char **err) {
  struct batch_hdr h;
  bool started = false;
  int rc;

  while (r->pos < r->len) {
    if (r->data[r->pos] == V2_EV_END_OF_GENERATION && r->minor >= 26) {
      if (!started)
        return v2_fail(err, r->pos, "end-of-generation marker outside a generation");
      r->pos++;
      return gen_finish(g, r->minor, r->pos - 1, err) < 0 ? -EPROTO : 1;
    }
    rc = read_batch_header(r, &h, err);
    if (rc < 0)
      return rc;
    if (!started) {
      if (r->last_gen && h.gen != r->last_gen + 1)
        return v2_fail(err, h.start, "generation %llu follows generation %llu",
                       (unsigned long long)h.gen, (unsigned long long)r->last_gen);
      gen_reset(g, h.gen);
      r->last_gen = h.gen;
      started = true;
    } else if (h.gen != g->num) {
      /* Before Go 1.26 the first batch of the next generation ends this one. */
      if (r->minor < 26 && h.gen == g->num + 1)
        return gen_finish(g, r->minor, h.start, err) < 0 ? -EPROTO : 1;
      if (r->minor < 26 && h.gen > g->num)
        return v2_fail(err, h.start, "generation %llu follows generation %llu",
                       (unsigned long long)h.gen, (unsigned long long)g->num);
      return v2_fail(err, h.start, "batch of generation %llu inside generation %llu%s",
                     (unsigned long long)h.gen, (unsigned long long)g->num,
                     r->minor >= 26 ? " (missing end-of-generation marker)" : "");
    }
    rc = add_batch(g, r->minor, r->data, &h, err);
    if (rc < 0)
      return rc;
    r->pos = h.payload + (size_t)h.size;
  }
  if (!started)
    return 0;
  if (r->minor >= 26)
    return v2_fail(err, r->pos, "trace truncated: generation %llu has no end-of-generation marker",
                   (unsigned long long)g->num);
  return gen_finish(g, r->minor, r->pos, err) < 0 ? -EPROTO : 1;
}

/* Block reasons, labels and STW kinds are data, not enums: classify the
 * text once per generation string (doc 3.8). */
static bool has(const struct v2_str *s, const char *lit) {
  size_t n = strlen(lit);
  for (size_t i = 0; i + n <= s->len; i++)
    if (memcmp(s->p + i, lit, n) == 0)
      return true;
  return false;
}

bool v2_str_eq(const struct v2_str *s, const char *lit) {
  return s->len == strlen(lit) && memcmp(s->p, lit, s->len) == 0;
}

int v2_str_class(struct v2_str *s) {
  int c = 0;
  if (s->cls >= 0)
    return s->cls;
  if (v2_str_eq(s, "forever"))
    c |= V2_CLS_FOREVER;
  if (v2_str_eq(s, "network"))
    c |= V2_CLS_NETWORK;
  if (v2_str_eq(s, "sync") || v2_str_eq(s, "sync.(*Cond).Wait") || v2_str_eq(s, "chan send") ||
      v2_str_eq(s, "chan receive") || v2_str_eq(s, "select"))
    c |= V2_CLS_SYNC;
  if (has(s, "chan") || has(s, "sync") || has(s, "select"))
    c |= V2_CLS_SYNC_PROF;
  if (has(s, "GC"))
    c |= V2_CLS_GC_STW;
  if (s->len >= 3 && memcmp(s->p, "GC ", 3) == 0 && !v2_str_eq(s, "GC (idle)"))
    c |= V2_CLS_GC_LABEL;
  if (v2_str_eq(s, "GC (dedicated)") || v2_str_eq(s, "GC (fractional)"))
    c |= V2_CLS_GC_WORKER;
  s->cls = (int16_t)c;
  return c;
}
