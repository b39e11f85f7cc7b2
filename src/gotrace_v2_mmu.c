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
 * can still lower everything recorded so far (v2_mmu_retro_subtract). */
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
  double best;
  size_t next_start; /* absolute index of the next breakpoint to try as a start */
  size_t seg_end;    /* segment hint for I(t - w) */
  size_t seg_start;  /* segment hint for I(start + w) */
};

struct v2_mmu {
  bool have_pending;
  struct pt pending; /* may still be lowered by a point at the same time */
  bool hold;
  struct pt *held;
  size_t n_held, cap_held;
  /* committed points with absolute index >= base */
  int64_t *t;
  double *u, *acc;
  size_t base, len, cap;
  size_t n; /* committed so far */
  int64_t t0;
  struct win win[TRACE_MMU_WINDOWS];
};

struct v2_mmu *v2_mmu_new(void) {
  struct v2_mmu *m = xcalloc(1, sizeof(*m));
  for (int i = 0; i < TRACE_MMU_WINDOWS; i++) {
    m->win[i].w = trace_mmu_window_ns[i];
    m->win[i].best = 2.0;
  }
  return m;
}

struct v2_mmu *v2_mmu_free(struct v2_mmu *m) {
  if (!m)
    return NULL;
  free(m->held);
  free(m->t);
  free(m->u);
  free(m->acc);
  free(m);
  return NULL;
}

#define AT(m, i) ((i) - (m)->base)

/* Integral of u from t0 to x, for x at or before the last committed point,
 * starting the segment search at *seg (moved forward). */
static double integral(const struct v2_mmu *m, int64_t x, size_t *seg) {
  size_t i = *seg < m->base ? m->base : *seg;
  while (i + 1 < m->n && m->t[AT(m, i + 1)] <= x)
    i++;
  *seg = i;
  return m->acc[AT(m, i)] + m->u[AT(m, i)] * (double)(x - m->t[AT(m, i)]);
}

static void trim(struct v2_mmu *m) {
  size_t keep = m->n ? m->n - 1 : 0, drop;
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++) {
    keep = MIN(keep, m->win[k].next_start);
    keep = MIN(keep, m->win[k].seg_end);
    keep = MIN(keep, m->win[k].seg_start);
  }
  if (keep <= m->base)
    return;
  drop = keep - m->base;
  if (drop * 2 < m->len && m->len < m->cap)
    return; /* compact only now and then */
  memmove(m->t, m->t + drop, (m->len - drop) * sizeof(*m->t));
  memmove(m->u, m->u + drop, (m->len - drop) * sizeof(*m->u));
  memmove(m->acc, m->acc + drop, (m->len - drop) * sizeof(*m->acc));
  m->len -= drop;
  m->base = keep;
}

static void commit(struct v2_mmu *m, struct pt p) {
  double acc = 0;
  if (m->n) {
    size_t last = AT(m, m->n - 1);
    if (p.t <= m->t[last])
      return; /* cannot happen: pending points have increasing times */
    acc = m->acc[last] + m->u[last] * (double)(p.t - m->t[last]);
  } else {
    m->t0 = p.t;
  }
  if (m->len == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 1024;
    m->t = xreallocarray(m->t, m->cap, sizeof(*m->t));
    m->u = xreallocarray(m->u, m->cap, sizeof(*m->u));
    m->acc = xreallocarray(m->acc, m->cap, sizeof(*m->acc));
  }
  m->t[m->len] = p.t;
  m->u[m->len] = p.u;
  m->acc[m->len] = acc;
  m->len++;
  m->n++;
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++) {
    struct win *w = &m->win[k];
    int64_t s = p.t - w->w;
    double v;
    /* The window ending at this point. */
    if (s >= m->t0) {
      v = (acc - integral(m, s, &w->seg_end)) / (double)w->w;
      if (v < w->best)
        w->best = v;
    }
    /* Windows starting at earlier breakpoints that now fit. */
    while (w->next_start < m->n && m->t[AT(m, w->next_start)] + w->w <= p.t) {
      size_t j = w->next_start;
      if (w->seg_start < j)
        w->seg_start = j;
      v = (integral(m, m->t[AT(m, j)] + w->w, &w->seg_start) - m->acc[AT(m, j)]) / (double)w->w;
      if (v < w->best)
        w->best = v;
      w->next_start++;
    }
  }
  trim(m);
}

static void push_final(struct v2_mmu *m, struct pt p) {
  if (m->hold) {
    if (m->n_held == m->cap_held) {
      m->cap_held = m->cap_held ? m->cap_held * 2 : 1024;
      m->held = xreallocarray(m->held, m->cap_held, sizeof(*m->held));
    }
    m->held[m->n_held++] = p;
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
    for (size_t i = 0; i < m->n_held; i++)
      commit(m, m->held[i]);
    free(m->held);
    m->held = NULL;
    m->n_held = m->cap_held = 0;
  }
  m->hold = hold;
}

static void subtract(struct pt *p, const int64_t *pt, const int *pn, size_t n, size_t *pi) {
  while (*pi + 1 < n && pt[*pi + 1] < p->t)
    (*pi)++;
  if (pn[*pi] > 0)
    p->u -= 1.0 / pn[*pi];
  if (p->u < 0)
    p->u = 0;
}

void v2_mmu_retro_subtract(struct v2_mmu *m, const int64_t *ptimes, const int *pprocs, size_t n) {
  size_t pi = 0;
  if (!m->hold || !n)
    return;
  for (size_t i = 0; i < m->n_held; i++)
    subtract(&m->held[i], ptimes, pprocs, n, &pi);
  if (m->have_pending)
    subtract(&m->pending, ptimes, pprocs, n, &pi);
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
  if (m->n && t > m->t[AT(m, m->n - 1)])
    commit(m, (struct pt){t, 0.0});
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++)
    ret[k] = -1;
  if (!m->n)
    return 0;
  range = m->t[AT(m, m->n - 1)] - m->t0;
  if (range <= 0)
    return m->n;
  total = m->acc[AT(m, m->n - 1)];
  for (int k = 0; k < TRACE_MMU_WINDOWS; k++) {
    /* A window longer than the trace is clamped to the whole trace. */
    double v = m->win[k].w >= range ? total / (double)range : m->win[k].best;
    ret[k] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return m->n;
}
