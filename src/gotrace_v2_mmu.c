/* Go 1.22+ traces: minimum mutator utilization in bounded memory.
 *
 * trace_mmu.c computes the MMU from the whole utilization function; a long
 * new-format trace would need all its points. Here the points stream
 * through a sliding history one window (at most 1 s) long: the minimum over
 * windows [s, s+w] is attained with an edge on a breakpoint (doc 5.5), so
 * each committed point t evaluates the window ending at t, and the windows
 * starting at earlier breakpoints whose end t has now passed. Results equal
 * trace_mmu_compute() on the same points.
 *
 * Points of the first generation are held back: an "...Active" event there
 * can still lower everything recorded so far (v2_mmu_retro_subtract). The
 * subtractions are counted and applied when the points are released:
 * subtracting x then clamping at 0, k times, equals max(0, u - k x). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gotrace_v2.h"
#include "util.h"

struct pt {
  int64_t t;
  double u;
};

struct win {
  int64_t w;
  double best; /* smallest integral of u over a window so far */
  /* indices into the history (struct v2_mmu h), moved down by trim */
  size_t next_start; /* the next breakpoint to try as a start */
  size_t seg_end;    /* segment hint for I(t - w) */
  size_t seg_start;  /* segment hint for I(start + w) */
  /* Bounds that let commit() skip windows that cannot beat best (valid
   * only while mono): */
  size_t end_next;  /* the next point whose ending window is to evaluate */
  int64_t end_wake; /* windows ending at or before it cannot, INT64_MIN = none */
  bool start_ok;
  double start_i; /* I(start + w) of the last start evaluated */
};

struct held {
  int64_t t;
  double u;
  double inv_procs; /* 1 / GOMAXPROCS at t */
  uint64_t retro;   /* subtractions that happened before it was held */
};

struct v2_mmu {
  bool have_pending;
  struct pt pending; /* may still be lowered by a point at the same time */
  bool hold;
  struct held *held;
  size_t n_held, cap_held;
  uint64_t retro;
  int64_t *pp_t; /* GOMAXPROCS history while holding */
  int *pp_n;
  size_t n_pp, cap_pp;
  /* the committed points still needed by some window */
  struct hp {
    int64_t t;
    double u;
    double acc; /* integral of u from t0 to t */
  } * h;
  size_t len, cap;
  size_t n; /* committed so far */
  int64_t t0;
  /* Every committed u is in [0, umax]: I is nondecreasing and grows by at
   * most umax per ns, which bounds windows without evaluating them. */
  bool mono;
  double umax;
  double umax_wake; /* the umax the end_wake deadlines were computed with */
  unsigned active;  /* bit k: win[k].best > 0, the window can still improve */
  struct win win[TRACE_MMU_WINDOWS];
};

struct v2_mmu *v2_mmu_new(void) {
  struct v2_mmu *m = xcalloc(1, sizeof(*m));
  m->mono = true;
  for (int i = 0; i < TRACE_MMU_WINDOWS; i++) {
    m->win[i].w = trace_mmu_window_ns[i];
    m->win[i].best = 2.0 * (double)m->win[i].w;
    m->win[i].end_wake = INT64_MIN;
  }
  m->active = (1u << TRACE_MMU_WINDOWS) - 1;
  return m;
}

struct v2_mmu *v2_mmu_free(struct v2_mmu *m) {
  if (!m)
    return NULL;
  free(m->held);
  free(m->h);
  free(m->pp_t);
  free(m->pp_n);
  free(m);
  return NULL;
}

/* Integral of u from t0 to x, for x at or before last (the last
 * committed point), starting the segment search at *seg (moved forward). */
static inline double integral(const struct v2_mmu *m, int64_t x, size_t *seg,
                              const struct hp *last) {
  const struct hp *p = m->h + *seg;
  while (p < last && p[1].t <= x)
    p++;
  *seg = (size_t)(p - m->h);
  return p->acc + p->u * (double)(x - p->t);
}

/* The end of a run of points a window loop would skip: the first index in
 * [j, n) whose point has t > tmax or (with acc) not acc <= amax. t grows
 * along the history, and so does acc while mono (the only time the start
 * loop skips), so the run is found by galloping and bisecting instead of
 * point by point. */
static inline bool in_run(const struct hp *p, int64_t tmax, bool acc, double amax) {
  return p->t <= tmax && (!acc || p->acc <= amax);
}

static inline __attribute__((always_inline)) size_t skip_run(const struct hp *h, size_t j, size_t n,
                                                             int64_t tmax, bool acc, double amax) {
  size_t lo = j, hi, step = 1;
  if (j >= n || !in_run(&h[j], tmax, acc, amax))
    return j;
  for (;;) { /* h[lo] is in the run */
    hi = lo + step;
    if (hi >= n) {
      hi = n;
      break;
    }
    if (!in_run(&h[hi], tmax, acc, amax))
      break;
    lo = hi;
    step *= 2;
  }
  while (hi - lo > 1) { /* h[lo] in the run, h[hi] (or n) not */
    size_t mid = lo + (hi - lo) / 2;
    if (in_run(&h[mid], tmax, acc, amax))
      lo = mid;
    else
      hi = mid;
  }
  return hi;
}

/* Evaluates the windows over the points committed since the last call:
 * for each point t the window ending at t, and the windows starting at
 * earlier breakpoints that end by the last point. The minimum does not
 * depend on the order of the evaluations, and every evaluation reads only
 * points up to the window's end, so evaluating in batches gives exactly
 * the values one point at a time would. Skipped are only windows that
 * provably cannot go below best: I is nondecreasing (u >= 0) and grows by
 * at most umax per ns. */
static void windows_advance(struct v2_mmu *m) {
  const struct hp *h = m->h, *last;
  if (!m->len)
    return;
  last = &h[m->len - 1];
  if (m->umax != m->umax_wake) { /* the deadlines assumed a smaller umax */
    m->umax_wake = m->umax;
    for (int k = 0; k < TRACE_MMU_WINDOWS; k++)
      m->win[k].end_wake = INT64_MIN;
  }
  for (unsigned act = m->active; act; act &= act - 1) {
    struct win *w = &m->win[__builtin_ctz(act)];
    int64_t wake = w->end_wake, smax = last->t - w->w;
    /* Slack for rounding in the bounds: the values are below last->acc +
     * w, and a few double operations err by far less than 1e-6 of that. */
    double slack = 1e-6 * (last->acc + (double)w->w) + 1.0, best = w->best, i, v, lim;
    size_t j;
    /* Windows ending at points: after an exact evaluation, those ending
     * before the wake time cannot beat best (their acc only grows, and
     * I(start) cannot catch up by more than umax per ns). */
    for (j = w->end_next; j < m->len; j++) {
      int64_t st;
      double gap;
      if (h[j].t <= wake) {
        j = skip_run(h, j, m->len, wake, false, 0) - 1;
        continue;
      }
      st = h[j].t - w->w;
      if (st < m->t0)
        continue;
      i = integral(m, st, &w->seg_end, last);
      v = h[j].acc - i;
      if (v < best)
        best = v;
      gap = v - best - slack;
      wake = h[j].t;
      if (m->mono && m->umax > 0 && gap > 0)
        wake += (int64_t)MIN(gap / m->umax, 1e18);
    }
    w->end_next = j;
    w->end_wake = wake;
    /* Windows starting at breakpoints. A later start has I(start + w) >=
     * start_i, so it cannot beat best while its acc is at most
     * start_i - best - slack. */
    lim = w->start_ok && m->mono ? w->start_i - best - slack : -1.0 / 0.0;
    for (j = w->next_start; j < m->len && h[j].t <= smax; j++) {
      if (h[j].acc <= lim) {
        if (m->mono) /* acc grows */
          j = skip_run(h, j, m->len, smax, true, lim) - 1;
        continue;
      }
      if (w->seg_start < j)
        w->seg_start = j;
      i = integral(m, h[j].t + w->w, &w->seg_start, last);
      v = i - h[j].acc;
      if (v < best)
        best = v;
      w->start_ok = true;
      w->start_i = i;
      lim = m->mono ? i - best - slack : -1.0 / 0.0;
    }
    w->next_start = j;
    w->best = best;
    if (best <= 0)
      m->active &= ~(1u << (w - m->win)); /* nothing can do better than 0 */
  }
}

/* Drops the points no unfinished window needs any more (call after
 * windows_advance). */
static void trim(struct v2_mmu *m) {
  size_t drop = m->len ? m->len - 1 : 0;
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++) {
    struct win *w = &m->win[k];
    if (!(m->active & (1u << k)))
      continue; /* done: no window can do better than 0 */
    /* Skipped windows leave their hints behind; move them up to what the
     * next evaluations can still need (later ends, later starts). */
    if (m->len) {
      int64_t s = m->h[m->len - 1].t - w->w;
      while (w->seg_end + 1 < m->len && m->h[w->seg_end + 1].t <= s)
        w->seg_end++;
      if (w->seg_start < w->next_start && w->next_start < m->len)
        w->seg_start = w->next_start;
    }
    drop = MIN(drop, w->next_start);
    drop = MIN(drop, w->end_next);
    drop = MIN(drop, w->seg_end);
    drop = MIN(drop, w->seg_start);
  }
  /* Move only once at least three quarters are dead (a full history
   * that is not grows instead): a point is then moved a third of a time
   * on average, and the history stays within four times the points the
   * windows still need. */
  if (!drop || drop < m->len - m->len / 4)
    return;
  memmove(m->h, m->h + drop, (m->len - drop) * sizeof(*m->h));
  m->len -= drop;
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++) {
    if (!(m->active & (1u << k)))
      continue; /* never used again */
    m->win[k].next_start -= drop;
    m->win[k].end_next -= drop;
    m->win[k].seg_end -= drop;
    m->win[k].seg_start -= drop;
  }
}

/* The windows over a batch of points, then the history trimmed. Out of
 * line: commit() runs for every point and must stay small. */
static __attribute__((noinline)) void batch(struct v2_mmu *m) {
  windows_advance(m);
  trim(m);
}

/* Appends a point; the windows are evaluated in batches. */
static inline void commit(struct v2_mmu *m, struct pt p) {
  double acc = 0;
  if (m->n) {
    const struct hp *last = &m->h[m->len - 1];
    if (p.t <= last->t)
      return; /* cannot happen: pending points have increasing times */
    acc = last->acc + last->u * (double)(p.t - last->t);
  } else {
    m->t0 = p.t;
  }
  if (m->len == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 1024;
    m->h = xreallocarray(m->h, m->cap, sizeof(*m->h));
  }
  m->h[m->len++] = (struct hp){p.t, p.u, acc};
  m->n++;
  if (!(p.u >= 0))
    m->mono = false;
  else if (p.u > m->umax)
    m->umax = p.u;
  if (m->len == m->cap || !(m->n & 1023))
    batch(m);
}

/* 1/procs(t) as the reference tool has it: the last GOMAXPROCS change
 * strictly before t, or the first one. */
static double inv_procs_at(const struct v2_mmu *m, int64_t t) {
  size_t lo = 0, hi = m->n_pp;
  if (!m->n_pp)
    return 0;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->pp_t[mid] < t)
      lo = mid;
    else
      hi = mid;
  }
  return m->pp_n[lo] > 0 ? 1.0 / m->pp_n[lo] : 0;
}

void v2_mmu_procs(struct v2_mmu *m, int64_t t, int n) {
  if (!m->hold || (m->n_pp && m->pp_n[m->n_pp - 1] == n))
    return;
  if (m->n_pp == m->cap_pp) {
    m->cap_pp = m->cap_pp ? m->cap_pp * 2 : 8;
    m->pp_t = xreallocarray(m->pp_t, m->cap_pp, sizeof(*m->pp_t));
    m->pp_n = xreallocarray(m->pp_n, m->cap_pp, sizeof(*m->pp_n));
  }
  m->pp_t[m->n_pp] = t;
  m->pp_n[m->n_pp++] = n;
}

static void push_final(struct v2_mmu *m, struct pt p) {
  if (m->hold) {
    if (m->n_held == m->cap_held) {
      m->cap_held = m->cap_held ? m->cap_held * 2 : 1024;
      m->held = xreallocarray(m->held, m->cap_held, sizeof(*m->held));
    }
    m->held[m->n_held++] = (struct held){p.t, p.u, inv_procs_at(m, p.t), m->retro};
  } else {
    commit(m, p);
  }
}

void v2_mmu_add(struct v2_mmu *m, int64_t t, double u) {
  if (m->have_pending) {
    if (t < m->pending.t)
      return;
    if (t == m->pending.t) {
      if (u < m->pending.u)
        m->pending.u = u;
      return;
    }
    if (u == m->pending.u)
      return;
    push_final(m, m->pending);
  }
  m->pending = (struct pt){t, u};
  m->have_pending = true;
}

void v2_mmu_hold(struct v2_mmu *m, bool hold) {
  if (m->hold && !hold) {
    for (size_t i = 0; i < m->n_held; i++) {
      const struct held *h = &m->held[i];
      double u = h->u - (double)(m->retro - h->retro) * h->inv_procs;
      commit(m, (struct pt){h->t, u < 0 ? 0 : u});
    }
    free(m->held);
    m->held = NULL;
    m->n_held = m->cap_held = 0;
    free(m->pp_t);
    free(m->pp_n);
    m->pp_t = NULL;
    m->pp_n = NULL;
    m->n_pp = m->cap_pp = 0;
  }
  m->hold = hold;
}

void v2_mmu_retro_subtract(struct v2_mmu *m) {
  if (!m->hold || !m->n_pp)
    return;
  m->retro++;
  if (m->have_pending) {
    m->pending.u -= inv_procs_at(m, m->pending.t);
    if (m->pending.u < 0)
      m->pending.u = 0;
  }
}

size_t v2_mmu_finish(struct v2_mmu *m, int64_t t, double ret[TRACE_MMU_WINDOWS]) {
  int64_t range;
  double total;
  v2_mmu_hold(m, false);
  if (m->have_pending)
    commit(m, m->pending);
  m->have_pending = false;
  /* The function covers the trace up to t even when u did not change at
   * the end (upstream drops such a tail). */
  if (m->n && t > m->h[m->len - 1].t)
    commit(m, (struct pt){t, 0.0});
  windows_advance(m);
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++)
    ret[k] = -1;
  if (!m->n)
    return 0;
  range = m->h[m->len - 1].t - m->t0;
  if (range <= 0)
    return m->n;
  total = m->h[m->len - 1].acc;
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++) {
    /* A window longer than the trace is clamped to the whole trace. */
    double v = m->win[k].w >= range ? total / (double)range : m->win[k].best / (double)m->win[k].w;
    ret[k] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return m->n;
}
