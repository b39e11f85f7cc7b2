#include "config.h"

#include "trace_mmu.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>

void trace_mmu_init(struct trace_mmu *m) {
  m->t = NULL;
  m->u = NULL;
  m->n = m->cap = 0;
}

void trace_mmu_done(struct trace_mmu *m) {
  free(m->t);
  free(m->u);
  trace_mmu_init(m);
}

int trace_mmu_add(struct trace_mmu *m, int64_t t, double u) {
  if (m->n) {
    if (t < m->t[m->n - 1])
      return -EINVAL;
    if (t == m->t[m->n - 1]) {
      if (u < m->u[m->n - 1])
        m->u[m->n - 1] = u;
      return 0;
    }
    if (u == m->u[m->n - 1])
      return 0;
  }
  if (m->n == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 1024;
    m->t = xreallocarray(m->t, m->cap, sizeof(*m->t));
    m->u = xreallocarray(m->u, m->cap, sizeof(*m->u));
  }
  m->t[m->n] = t;
  m->u[m->n] = u;
  m->n++;
  return 0;
}

/* Integral of u from t[0] to x, using the prefix sums in acc (acc[i] is the
 * integral up to t[i]). *seg is where the search for the last i with
 * t[i] <= x starts; the callers' x never decrease, so it only moves
 * forward and the whole scan stays linear. */
static double integral_to(const struct trace_mmu *m, const double *acc, int64_t x, size_t *seg) {
  size_t lo = *seg;
  if (x <= m->t[0])
    return 0;
  while (lo + 1 < m->n && m->t[lo + 1] <= x)
    lo++;
  *seg = lo;
  return acc[lo] + m->u[lo] * (double)(x - m->t[lo]);
}

double trace_mmu_compute(const struct trace_mmu *m, int64_t end, int64_t window) {
  double *acc, best = 2.0;
  int64_t start;

  if (!m->n || end <= m->t[0] || window <= 0)
    return -1;
  start = m->t[0];
  if (window > end - start)
    window = end - start;
  acc = xcalloc(m->n, sizeof(*acc));
  for (size_t i = 1; i < m->n; i++)
    acc[i] = acc[i - 1] + m->u[i - 1] * (double)(m->t[i] - m->t[i - 1]);
  /* The minimum is attained with a window edge on a breakpoint. For each
   * kind of candidate, both window edges grow with i (clamping keeps
   * them in order), so each has its own forward-only segment hint. */
  size_t seg[2][2] = {{0, 0}, {0, 0}};
  for (size_t i = 0; i < m->n; i++) {
    int64_t cand[2] = {m->t[i], m->t[i] - window};
    for (int k = 0; k < 2; k++) {
      int64_t s = cand[k];
      double v;
      if (s < start)
        s = start;
      if (s + window > end)
        s = end - window;
      v = (integral_to(m, acc, s + window, &seg[k][1]) - integral_to(m, acc, s, &seg[k][0])) /
          (double)window;
      if (v < best)
        best = v;
    }
  }
  free(acc);
  if (best < 0)
    best = 0;
  return best > 1 ? 1 : best;
}
