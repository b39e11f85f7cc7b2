/* Go 1.22+ traces: the parse driver. Generation by generation, one lazy
 * cursor per thread decodes its event batches; a min-heap by time picks the
 * next event, falling back to later ones when the state machine says an
 * event cannot happen yet (doc 3.6). CPU samples are interleaved by time. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gotrace_v2.h"
#include "util.h"

struct cursor {
  uint64_t m;
  uint32_t mi;              /* index of the thread's state, V2_IDX_NONE for no thread */
  uint32_t batch;           /* current event batch */
  const uint8_t *pos, *end; /* into the input */
  bool fresh;               /* at the start of a batch */
  int64_t t;
  uint64_t raw;
  struct v2_event ev;
}; /* 128 bytes: indexing by cursor number is a shift */

struct merge {
  struct v2_state *s;
  struct cursor *cur;
  size_t n_cur, cap_cur;
  struct hent {
    int64_t time;
    uint64_t tie;
    uint32_t idx; /* cursor */
  } * heap;
  size_t n_heap;
  struct hent *popped; /* entries taken off while the top event waits */
  uint64_t tie;
  /* v2_spec_table for this trace's version, 4 bytes per type: one load
   * per event instead of a check of the name and version. */
  struct kind {
    uint8_t nargs; /* KIND_BAD: not an event of this version */
    uint8_t ids;   /* str | stk */
    uint8_t str, stk;
  } kind[V2_EV_TYPES];
  bool clock64; /* the generation's clock is 64 ns per unit (the usual one) */
};
#define KIND_BAD 0xff

/* Loads the cursor's next event: 1, 0 when the thread has no more, <0. */
static inline __attribute__((always_inline)) int cursor_next(struct merge *mg, struct cursor *c) {
  struct v2_state *s = mg->s;
  const struct v2_gen *g = s->gen;
  const uint8_t *p, *end;
  struct kind k;
  uint64_t dt;
  int64_t dns;
  size_t off;

  while (c->pos == c->end) {
    uint32_t next = g->ev_batches[c->batch].next;
    if (next == V2_IDX_NONE)
      return 0;
    c->batch = next;
    c->pos = s->data + g->ev_batches[next].off;
    c->end = c->pos + g->ev_batches[next].len;
    c->fresh = true;
  }
  if (c->fresh) {
    const struct v2_batch *b = &g->ev_batches[c->batch];
    /* A thread's batches are in time order; a later batch that starts
     * before the previous one ended means a corrupt or spliced trace. */
    if (b->ts < c->raw)
      return v2_fail(s->err, b->off, "timestamps going backwards on thread %llu",
                     (unsigned long long)c->m);
    c->raw = b->ts;
    if (!v2_units_to_ns((double)b->ts, g->ns_per_unit, &c->t))
      return v2_fail(s->err, b->off, "batch timestamp out of range");
    c->fresh = false;
  }
  p = c->pos;
  end = c->end;
  off = (size_t)(p - s->data);
  k = mg->kind[*p];
  if (k.nargs == KIND_BAD)
    return v2_fail(s->err, off, "unknown event type %u for go 1.%d", *p, s->minor);
  c->ev.type = *p++;
  c->ev.off = off;
  /* dt and the arguments: varints, mostly one or two bytes */
  const uint8_t *q = end - p >= 11 * (V2_MAX_ARGS + 1) ? v2_uvarint10(p, &dt) : NULL;
  /* unrolled (at most V2_MAX_ARGS = 4) */
  if (q && k.nargs > 0)
    q = v2_uvarint10(q, &c->ev.args[0]);
  if (q && k.nargs > 1)
    q = v2_uvarint10(q, &c->ev.args[1]);
  if (q && k.nargs > 2)
    q = v2_uvarint10(q, &c->ev.args[2]);
  if (q && k.nargs > 3)
    q = v2_uvarint10(q, &c->ev.args[3]);
  if (q) {
    p = q;
  } else { /* near the end of the batch, or malformed: the careful way */
    const char *name = v2_spec_table[c->ev.type].name;
    for (unsigned i = 0; i <= k.nargs; i++) {
      uint64_t v;
      size_t n;
      if (!(n = v2_uvarint(p, end, &v))) {
        if (!i)
          return v2_fail(s->err, off, "%s %s timestamp", v2_varint_problem(p, end), name);
        return v2_fail(s->err, off, "%s %s argument %u", v2_varint_problem(p, end), name, i);
      }
      p += n;
      if (i)
        c->ev.args[i - 1] = v;
      else
        dt = v;
    }
  }
  if (dt > UINT64_MAX - c->raw)
    return v2_fail(s->err, off, "timestamp out of range");
  if (mg->clock64 && dt < (1ULL << 40)) {
    dns = (int64_t)dt * 64; /* the usual clock: exact, no float needed */
  } else if (!v2_units_to_ns((double)dt, g->ns_per_unit, &dns)) {
    return v2_fail(s->err, off, "timestamp out of range");
  }
  if (dns > INT64_MAX - c->t)
    return v2_fail(s->err, off, "timestamp out of range");
  c->raw += dt;
  c->t += dns;
  c->ev.time = c->t;
  /* Every string and stack id must exist in this generation. */
  for (unsigned ids = k.ids; ids; ids &= ids - 1) { /* in argument order */
    unsigned i = (unsigned)__builtin_ctz(ids);
    bool ok = true;
    if (k.str & (1u << i))
      c->ev.idx[i] = v2_gen_string(g, c->ev.args[i], &ok);
    else
      c->ev.idx[i] = v2_gen_stack(g, c->ev.args[i], &ok);
    if (!ok)
      return v2_fail(s->err, off, "%s: unknown %s id %llu", v2_spec_table[c->ev.type].name,
                     (k.str & (1u << i)) ? "string" : "stack", (unsigned long long)c->ev.args[i]);
  }
  c->pos = p;
  s->st.wire_events++;
  return 1;
}

static inline bool less(const struct hent *x, const struct hent *y) {
  return x->time < y->time || (x->time == y->time && x->tie < y->tie);
}

static void heap_push(struct merge *mg, struct hent e) {
  size_t i = mg->n_heap++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!less(&e, &mg->heap[parent]))
      break;
    mg->heap[i] = mg->heap[parent];
    i = parent;
  }
  mg->heap[i] = e;
}

static void sift_down(struct merge *mg, size_t i) {
  struct hent e = mg->heap[i];
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m;
    if (l >= mg->n_heap)
      break;
    m = r < mg->n_heap && less(&mg->heap[r], &mg->heap[l]) ? r : l;
    if (!less(&mg->heap[m], &e))
      break;
    mg->heap[i] = mg->heap[m];
    i = m;
  }
  mg->heap[i] = e;
}

static struct hent heap_pop(struct merge *mg) {
  struct hent top = mg->heap[0];
  mg->heap[0] = mg->heap[--mg->n_heap];
  if (mg->n_heap)
    sift_down(mg, 0);
  return top;
}

/* After an advance: load the thread's next event and requeue it. */
static inline __attribute__((always_inline)) int requeue(struct merge *mg, struct cursor *c,
                                                         uint32_t idx, bool at_top) {
  int rc = cursor_next(mg, c);
  if (rc < 0)
    return rc;
  if (rc > 0) {
    uint64_t tie = ++mg->tie;
    if (at_top) {
      struct hent *h = mg->heap;
      h[0].time = c->ev.time;
      h[0].tie = tie;
      /* Usually the thread stays the earliest: no sift needed. Its tie
       * is the largest so far, so less(child, top) is child.time <= time. */
      if (mg->n_heap > 1 && (h[1].time <= h[0].time || (mg->n_heap > 2 && h[2].time <= h[0].time)))
        sift_down(mg, 0);
    } else {
      heap_push(mg, (struct hent){c->ev.time, tie, idx});
    }
    return 0;
  }
  if (c->mi != V2_IDX_NONE)
    mg->s->ms[c->mi].raw_last = c->raw;
  if (at_top)
    heap_pop(mg);
  return 0;
}

static int cmp_cpu(const void *a, const void *b) {
  const struct v2_cpu_sample *x = a, *y = b;
  if (x->time != y->time)
    return x->time < y->time ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

/* One generation: emit its Sync point, then merge the threads' streams. */
static int merge_generation(struct merge *mg) {
  struct v2_state *s = mg->s;
  struct v2_gen *g = s->gen;
  size_t ci = 0;
  int64_t sync_t;
  int rc;

  if (!v2_units_to_ns((double)g->min_ts, g->ns_per_unit, &sync_t))
    return v2_fail(s->err, g->n_ev_batches ? g->ev_batches[0].off : 0,
                   "generation %llu: timestamp out of range", (unsigned long long)g->num);
  v2_an_sync(s, sync_t);
  mg->clock64 = g->ns_per_unit == 64.0;
  if (g->n_threads > mg->cap_cur) {
    mg->cap_cur = g->n_threads;
    mg->cur = xreallocarray(mg->cur, mg->cap_cur, sizeof(*mg->cur));
    mg->heap = xreallocarray(mg->heap, mg->cap_cur, sizeof(*mg->heap));
    mg->popped = xreallocarray(mg->popped, mg->cap_cur, sizeof(*mg->popped));
  }
  mg->n_cur = mg->n_heap = 0;
  for (size_t i = 0; i < g->n_threads; i++) {
    struct cursor *c = &mg->cur[mg->n_cur];
    const struct v2_batch *b = &g->ev_batches[g->threads[i].first];
    memset(c, 0, sizeof(*c));
    c->m = g->threads[i].m;
    c->batch = g->threads[i].first;
    c->pos = s->data + b->off;
    c->end = c->pos + b->len;
    c->fresh = true;
    c->mi = V2_IDX_NONE;
    if (c->m != V2_NONE) {
      /* Also across generations for real threads. */
      struct v2_m *ms = v2_m_get(s, c->m);
      if (!ms)
        return v2_fail(s->err, b->off, "more than %d threads", V2_MAX_THREADS);
      c->raw = ms->raw_last;
      c->mi = (uint32_t)(ms - s->ms);
    }
    rc = cursor_next(mg, c);
    if (rc < 0)
      return rc;
    if (rc == 0)
      continue;
    heap_push(mg, (struct hent){c->ev.time, ++mg->tie, (uint32_t)mg->n_cur++});
  }
  if (g->n_cpu > 1)
    qsort(g->cpu, g->n_cpu, sizeof(*g->cpu), cmp_cpu);
  /* The first generation with events: the state machine treats what it
   * sees there as present since the start. */
  if (!s->initial_gen && mg->n_heap)
    s->initial_gen = g->num;

  /* Time of the next CPU sample, INT64_MAX when there is none. */
  int64_t cpu_t = g->n_cpu ? g->cpu[0].time : INT64_MAX;
  for (;;) {
    size_t n_popped = 0;
    bool done = false;
    if (!mg->n_heap || cpu_t < mg->heap[0].time) {
      if (ci >= g->n_cpu)
        break;
      v2_an_cpu_sample(s, g->cpu[ci++].time);
      cpu_t = ci < g->n_cpu ? g->cpu[ci].time : INT64_MAX;
      continue;
    }
    /* Almost always the earliest event can happen right away. */
    {
      struct cursor *c = &mg->cur[mg->heap[0].idx];
      uint8_t t = c->ev.type;
      if (c->mi == V2_IDX_NONE) {
        rc = v2_order_advance(s, &c->ev, c->m, c->mi);
      } else if ((t == V2_EV_HEAP_ALLOC || t == V2_EV_HEAP_GOAL) && s->ms[c->mi].p != V2_NONE &&
                 s->initial_gen) {
        /* A fifth of all events: what v2_order_advance would do for it
         * (a thread with a proc is all it needs; nothing changes). */
        v2_an_heap(s, t, c->ev.time, c->ev.args[0]);
        rc = 1;
      } else {
        rc = v2_order_thread(s, &c->ev, c->mi);
      }
      if (rc < 0)
        return rc;
      if (rc > 0) {
        rc = requeue(mg, c, mg->heap[0].idx, true);
        if (rc < 0)
          return rc;
        continue;
      }
      mg->popped[n_popped++] = heap_pop(mg);
      s->st.ordering_stalls++;
    }
    while (mg->n_heap) {
      struct hent e = heap_pop(mg);
      uint32_t idx = e.idx;
      struct cursor *c = &mg->cur[idx];
      rc = v2_order_advance(s, &c->ev, c->m, c->mi);
      if (rc < 0)
        return rc;
      if (rc > 0) {
        rc = requeue(mg, c, idx, false);
        if (rc < 0)
          return rc;
        done = true;
        break;
      }
      mg->popped[n_popped++] = e;
      s->st.ordering_stalls++;
    }
    for (size_t i = 0; i < n_popped; i++)
      heap_push(mg, mg->popped[i]);
    /* Real traces almost never need the fallback; bound the work a
     * crafted one can cause (each stall costs a heap operation). */
    if (s->st.ordering_stalls > 16 * s->st.wire_events + 1000000)
      return v2_fail(s->err, mg->cur[mg->heap[0].idx].ev.off,
                     "events arrive in an order that needs too much reordering");
    if (!done) {
      const struct cursor *c = &mg->cur[mg->popped[0].idx];
      return v2_fail(s->err, c->ev.off,
                     "no event can happen next in generation %llu (first waiting: %s on thread "
                     "%llu): inconsistent or missing data",
                     (unsigned long long)g->num, v2_type_name(c->ev.type),
                     (unsigned long long)c->m);
    }
  }
  return 0;
}

static size_t gen_bytes(const struct v2_gen *g) {
  return g->cap_ev_batches * sizeof(*g->ev_batches) + g->cap_threads * sizeof(*g->threads) +
         g->cap_strs * sizeof(*g->strs) + g->cap_stacks * sizeof(*g->stacks) +
         g->cap_frames * (sizeof(*g->frames) + 2 * sizeof(uint64_t)) +
         g->cap_cpu * sizeof(*g->cpu) +
         (g->thread_map.cap + g->str_map.cap + g->stack_map.cap) * sizeof(struct v2_map_slot);
}

int gotrace_v2_parse_ex(const uint8_t *data, size_t len, const struct gotrace_v2_opts *opts,
                        struct trace_summary *ret, char **ret_err) {
  struct v2_state s;
  struct v2_reader r;
  struct v2_gen gen;
  struct merge mg;
  struct trace_summary sum;
  char *err = NULL;
  int rc, minor = 0;

  memset(&s, 0, sizeof(s));
  memset(&mg, 0, sizeof(mg));
  v2_gen_init(&gen);
  trace_summary_init(&sum);
  rc = v2_header(data, len, &minor, &err);
  if (rc < 0)
    goto fail;
  s.data = data;
  s.len = len;
  s.minor = minor;
  s.opts = opts;
  s.err = &err;
  s.gen = &gen;
  s.in = v2_intern_new();
  s.an = v2_an_new();
  v2_map_init(&s.gmap);
  v2_map_init(&s.pmap);
  v2_map_init(&s.mmap);
  v2_map_init(&s.tasks);
  mg.s = &s;
  for (unsigned t = 0; t < V2_EV_TYPES; t++) {
    const struct v2_spec *sp = v2_spec_get(t, minor);
    struct kind *k = &mg.kind[t];
    k->nargs = sp ? sp->nargs : KIND_BAD;
    k->str = sp ? sp->str_args : 0;
    k->stk = sp ? sp->stk_args : 0;
    k->ids = k->str | k->stk;
  }
  r = (struct v2_reader){data, len, 16, minor, 0};
  for (;;) {
    rc = v2_gen_read(&r, &gen, &err);
    if (rc < 0)
      goto fail;
    if (rc == 0)
      break;
    if (!s.st.generations)
      s.st.first_gen = (int64_t)gen.num;
    s.st.generations++;
    s.st.batches += (int64_t)gen.n_batches;
    s.st.event_batches += (int64_t)gen.n_ev_batches;
    s.st.experimental_batches += (int64_t)gen.n_exp_batches;
    s.st.strings += (int64_t)gen.n_strs;
    s.st.stacks += (int64_t)gen.n_stacks;
    s.st.cpu_samples += (int64_t)gen.n_cpu;
    rc = merge_generation(&mg);
    if (rc < 0)
      goto fail;
    if (gen_bytes(&gen) > s.st.peak_gen_bytes)
      s.st.peak_gen_bytes = gen_bytes(&gen);
  }
  if (!s.st.generations) {
    rc = v2_fail(&err, r.pos, "trace has no generations");
    goto fail;
  }
  sum.go_minor = minor;
  snprintf(sum.go_version, sizeof(sum.go_version), "1.%d", minor);
  sum.bytes = (int64_t)r.pos;
  rc = v2_an_finish(&s, &sum);
  if (rc < 0)
    goto fail;
  if (opts && opts->stats)
    *opts->stats = s.st;
  *ret = sum;
  rc = 0;
  goto out;
fail:
  trace_summary_done(&sum);
  if (ret_err)
    *ret_err = err ? err : xstrdup("trace analysis failed");
  else
    free(err);
  err = NULL;
out:
  free(mg.cur);
  free(mg.heap);
  free(mg.popped);
  v2_gen_done(&gen);
  v2_state_done(&s);
  return rc;
}

int gotrace_v2_parse(const uint8_t *data, size_t len, struct trace_summary *ret, char **ret_err) {
  return gotrace_v2_parse_ex(data, len, NULL, ret, ret_err);
}

int gotrace_v2_fuzz_one(const uint8_t *data, size_t len) {
  struct trace_summary s;
  char *err = NULL;
  if (gotrace_v2_parse(data, len, &s, &err) == 0)
    trace_summary_done(&s);
  free(err);
  return 0;
}
