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
  /* The last exact evaluations, for the bounds that let commit() skip
   * windows that cannot beat best (valid only while mono). */
  bool end_ok, start_ok;
  int64_t end_t;  /* point at which I(end_t - w) = end_i was computed */
  double end_i;
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
  struct win win[TRACE_MMU_WINDOWS];
};

struct v2_mmu *v2_mmu_new(void) {
  struct v2_mmu *m = xcalloc(1, sizeof(*m));
  m->mono = true;
  for (int i = 0; i < TRACE_MMU_WINDOWS; i++) {
    m->win[i].w = trace_mmu_window_ns[i];
    m->win[i].best = 2.0 * (double)m->win[i].w;
  }
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

/* Drops the points no unfinished window needs any more. */
static void trim(struct v2_mmu *m) {
  size_t drop = m->len ? m->len - 1 : 0;
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++) {
    struct win *w = &m->win[k];
    if (w->best <= 0)
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
    drop = MIN(drop, m->win[k].next_start);
    drop = MIN(drop, m->win[k].seg_end);
    drop = MIN(drop, m->win[k].seg_start);
  }
  /* Move only once at least half is dead: each point is then moved at
   * most once on average, and the history stays within twice the points
   * the windows still need. */
  if (!drop || (drop * 2 < m->len && m->len < m->cap))
    return;
  memmove(m->h, m->h + drop, (m->len - drop) * sizeof(*m->h));
  m->len -= drop;
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++) {
    if (m->win[k].best <= 0)
      continue; /* never used again */
    m->win[k].next_start -= drop;
    m->win[k].seg_end -= drop;
    m->win[k].seg_start -= drop;
  }
}

static void commit(struct v2_mmu *m, struct pt p) {
  double acc = 0;
  const struct hp *last;
  if (m->n) {
    last = &m->h[m->len - 1];
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
  m->h[m->len] = (struct hp){p.t, p.u, acc};
  last = &m->h[m->len];
  m->len++;
  m->n++;
  if (!(p.u >= 0))
    m->mono = false;
  else if (p.u > m->umax)
    m->umax = p.u;
  /* Slack for rounding in the bounds (the values are at most a few 1e10
   * ns; double rounding errors here are below 1e-4 ns). */
  double slack = (acc + 1e9) * 1e-9;
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++) {
    struct win *w = &m->win[k];
    int64_t s = p.t - w->w;
    double v, i;
    if (w->best <= 0)
      continue; /* already minimal (e.g. a pause longer than the window) */
    /* The window ending at this point: I(s) <= end_i + umax (s - (end_t - w)),
     * so it cannot beat best when acc minus that is clearly above it. */
    if (s >= m->t0 &&
        !(w->end_ok && m->mono &&
          acc - (w->end_i + m->umax * (double)(p.t - w->end_t)) >= w->best + slack)) {
      i = integral(m, s, &w->seg_end, last);
      v = acc - i;
      if (v < w->best)
        w->best = v;
      w->end_ok = true;
      w->end_t = p.t;
      w->end_i = i;
    }
    /* Windows starting at earlier breakpoints that now fit; a later start
     * has I(start + w) >= start_i. */
    while (w->next_start < m->len) {
      const struct hp *st = &m->h[w->next_start];
      if (st->t + w->w > p.t)
        break;
      w->next_start++;
      if (w->start_ok && m->mono && w->start_i - st->acc >= w->best + slack)
        continue;
      if (w->seg_start < w->next_start - 1)
        w->seg_start = w->next_start - 1;
      i = integral(m, st->t + w->w, &w->seg_start, last);
      v = i - st->acc;
      if (v < w->best)
        w->best = v;
      w->start_ok = true;
      w->start_i = i;
    }
  }
  if (m->len == m->cap || !(m->n & 1023))
    trim(m);
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
