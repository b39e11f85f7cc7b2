/* Old-format traces: gotrace_v1_parse(), driving the three passes (see
 * gotrace_v1.h), plus the futile-wakeup pre-pass for traces of runtimes
 * that still emitted FutileWakeup. */
#include "config.h"

#include "gotrace_v1_an.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct v1_an *v1_an_new(struct v1_trace *t, struct v1_order *o) {
  struct v1_an *a = xcalloc(1, sizeof(*a));

  a->t = t;
  a->o = o;
  a->ns_per_tick = 1e9 / (double)t->freq;
  a->ps = calloc(t->n_streams ? t->n_streams : 1, sizeof(*a->ps));
  if (!a->ps)
    return v1_an_free(a);
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++)
    idmap_init(&a->prof[k].ids);
  trace_mmu_init(&a->mmu);
  idmap_init(&a->threads);
  idmap_init(&a->ann_ids);
  idmap_init(&a->task_ids);
  a->free_region = V1_NO_INDEX;
  a->heap_min = a->heap_max = a->goal_max = -1;
  a->in_prologue = true;
  return a;
}

struct v1_an *v1_an_free(struct v1_an *a) {
  if (!a)
    return NULL;
  free(a->gs);
  free(a->ps);
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    idmap_done(&a->prof[k].ids);
    free(a->prof[k].acc);
  }
  trace_mmu_done(&a->mmu);
  free(a->mmu_ps);
  free(a->stw_durs);
  idmap_done(&a->threads);
  idmap_done(&a->ann_ids);
  free(a->anns);
  idmap_done(&a->task_ids);
  free(a->tasks);
  free(a->regions);
  free(a);
  return NULL;
}

/* Keeps the per-goroutine array as long as the merge's goroutine table. */
static int sync_goroutines(struct v1_an *a) {
  size_t n = a->o->n_g;

  if (n <= a->n_gs)
    return 0;
  if (gotrace_grow(&a->gs, &a->cap_gs, n, sizeof(*a->gs)) < 0)
    return -ENOMEM;
  memset(a->gs + a->n_gs, 0, (n - a->n_gs) * sizeof(*a->gs));
  for (size_t i = a->n_gs; i < n; i++) {
    a->gs[i].region_top = V1_NO_INDEX;
    if (i == 1) { /* goroutine 0 is "running" from the start */
      a->gs[i].known = true;
      a->gs[i].state = V1_G_RUNNING;
    }
  }
  a->n_gs = n;
  return 0;
}

int v1_an_event(struct v1_an *a, struct v1_event *ev, char **ret_err) {
  struct v1_gst *g;
  double ns;
  bool ends_span;
  int r;

  r = sync_goroutines(a);
  if (r < 0)
    return r;
  g = &a->gs[ev->gi];
  /* Syscall exit fix-up (2.6 step 6), in ticks. The exit keeps its place
   * in the stream: only the goroutine's own state depends on it, and the
   * goroutine does nothing between its real exit and this event. */
  switch (ev->type) {
  case V1_GO_SYS_BLOCK:
  case V1_GO_IN_SYSCALL:
    g->last_sys_block = ev->ts;
    break;
  case V1_GO_SYS_EXIT:
    if (ev->args[2] != 0) {
      if (g->last_sys_block == 0)
        return v1_errf(ret_err, ev->off, "stray syscall exit of goroutine %" PRIu64, ev->g);
      if (ev->args[2] < (uint64_t)g->last_sys_block)
        return v1_errf(ret_err, ev->off, "time stamps out of order (syscall exit)");
      if (ev->args[2] > INT64_MAX)
        return v1_errf(ret_err, ev->off, "syscall exit timestamp out of range");
      ev->ts = (int64_t)ev->args[2];
    }
    break;
  default:
    break;
  }
  if (ev->ts < a->min_ticks)
    return v1_errf(ret_err, ev->off, "time stamps out of order");
  ns = (double)(ev->ts - a->min_ticks) * a->ns_per_tick;
  /* Below 2^60 ns (36 years): per-goroutine sums of a few such spans
   * stay within int64. */
  if (!(ns < 1152921504606846976.0))
    return v1_errf(ret_err, ev->off, "timestamp out of range");
  ev->ts = (int64_t)ns;
  if (ev->ts > a->last_ts)
    a->last_ts = ev->ts;
  r = v1_check_event(a, ev, &ends_span, ret_err);
  if (r < 0)
    return r;
  r = v1_stats_event(a, ev, ends_span);
  if (r == -ERANGE)
    return v1_errf(ret_err, ev->off, "GOMAXPROCS %" PRIu64 " out of range", ev->args[0]);
  if (r == -EINVAL)
    return v1_errf(ret_err, ev->off, "time stamps out of order");
  return r;
}

/* Futile wakeups (doc 2.7): a wakeup, the starts/preemptions after it and
 * the next block are dropped when a FutileWakeup came in between. This
 * needs lookahead, so such traces are merged twice: once to mark the
 * events (by position in the merged stream), once to analyse the rest. */
struct futile_g {
  uint64_t *idx;
  size_t n, cap;
  bool futile;
};

static int bitmap_set(uint8_t **bm, size_t *cap, uint64_t bit) {
  size_t need = (size_t)(bit / 8) + 1, old = *cap;
  if (gotrace_grow(bm, cap, need, 1) < 0)
    return -ENOMEM;
  if (*cap > old)
    memset(*bm + old, 0, *cap - old);
  (*bm)[bit / 8] |= (uint8_t)(1u << (bit % 8));
  return 0;
}

static bool bitmap_get(const uint8_t *bm, size_t cap, uint64_t bit) {
  return bit / 8 < cap && (bm[bit / 8] >> (bit % 8)) & 1;
}

static int find_futile(struct v1_trace *t, uint8_t **ret_bm, size_t *ret_cap, char **ret_err) {
  struct v1_order o;
  struct v1_event *ev;
  struct futile_g *fg = NULL;
  size_t n_fg = 0, cap_fg = 0;
  int r;

  r = v1_order_init(&o, t, ret_err);
  while (r >= 0) {
    struct futile_g *g;
    uint32_t gi;
    r = v1_order_next(&o, &ev, ret_err);
    if (r <= 0)
      break;
    if (gotrace_grow(&fg, &cap_fg, o.n_g, sizeof(*fg)) < 0) {
      r = -ENOMEM;
      break;
    }
    memset(fg + n_fg, 0, (o.n_g - n_fg) * sizeof(*fg));
    n_fg = o.n_g;
    gi = ev->type == V1_GO_UNBLOCK ? ev->ti : ev->gi;
    g = &fg[gi];
    switch (ev->type) {
    case V1_GO_UNBLOCK:
      g->n = 0;
      /* fall through */
    case V1_GO_START:
    case V1_GO_PREEMPT:
    case V1_FUTILE_WAKEUP:
      if (gotrace_grow(&g->idx, &g->cap, g->n + 1, sizeof(*g->idx)) < 0) {
        r = -ENOMEM;
        break;
      }
      g->idx[g->n++] = ev->idx;
      if (ev->type == V1_FUTILE_WAKEUP)
        g->futile = true;
      break;
    case V1_GO_BLOCK:
    case V1_GO_BLOCK_SEND:
    case V1_GO_BLOCK_RECV:
    case V1_GO_BLOCK_SELECT:
    case V1_GO_BLOCK_SYNC:
    case V1_GO_BLOCK_COND:
      if (g->futile) {
        r = bitmap_set(ret_bm, ret_cap, ev->idx);
        for (size_t k = 0; k < g->n && r >= 0; k++)
          r = bitmap_set(ret_bm, ret_cap, g->idx[k]);
      }
      g->n = 0;
      g->futile = false;
      break;
    default:
      break;
    }
  }
  for (size_t i = 0; i < n_fg; i++)
    free(fg[i].idx);
  free(fg);
  v1_order_done(&o);
  return r < 0 ? r : 0;
}

int gotrace_v1_parse(const uint8_t *data, size_t len, struct trace_summary *ret, char **ret_err) {
  struct v1_trace t;
  struct v1_order o;
  struct v1_event *ev;
  struct v1_an *a = NULL;
  uint8_t *skip = NULL;
  size_t skip_cap = 0;
  char *err = NULL;
  int r;

  memset(&o, 0, sizeof(o));
  idmap_init(&o.g_ids);
  r = v1_trace_read(&t, data, len, &err);
  if (r < 0)
    goto fail;
  if (t.raw_counts[V1_FUTILE_WAKEUP]) {
    r = find_futile(&t, &skip, &skip_cap, &err);
    if (r < 0)
      goto fail;
  }
  r = v1_order_init(&o, &t, &err);
  if (r < 0)
    goto fail;
  a = v1_an_new(&t, &o);
  if (!a) {
    r = -ENOMEM;
    goto fail;
  }
  for (;;) {
    r = v1_order_next(&o, &ev, &err);
    if (r <= 0)
      break;
    if (!a->have_min) {
      a->min_ticks = ev->ts;
      a->have_min = true;
    }
    if (skip && bitmap_get(skip, skip_cap, ev->idx))
      continue;
    r = v1_an_event(a, ev, &err);
    if (r < 0)
      break;
  }
  if (r < 0)
    goto fail;
  v1_stats_finish(a);
  trace_summary_init(ret);
  r = v1_summary_fill(a, ret, &err);
  if (r < 0) {
    trace_summary_done(ret);
    goto fail;
  }
  ret->bytes = (int64_t)len;
  v1_an_free(a);
  v1_order_done(&o);
  v1_trace_done(&t);
  free(skip);
  free(err);
  return 0;

fail:
  if (r == -ENOMEM && !err)
    err = xstrdup("out of memory while parsing the trace");
  if (!err)
    err = xasprintf("trace parse error (%d)", r);
  free(*ret_err);
  *ret_err = err;
  v1_an_free(a);
  v1_order_done(&o);
  v1_trace_done(&t);
  free(skip);
  return r;
}
