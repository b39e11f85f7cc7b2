/* Minimum mutator utilization from a piecewise-constant utilization
 * function u(t) in [0,1] (doc section 5.5). Points are added in time order;
 * u holds from a point's time until the next point. */
#ifndef PPROFD_TRACE_MMU_H
#define PPROFD_TRACE_MMU_H

#include <stddef.h>
#include <stdint.h>

struct trace_mmu {
  int64_t *t;
  double *u;
  size_t n;
  size_t cap;
};

void trace_mmu_init(struct trace_mmu *m);
void trace_mmu_done(struct trace_mmu *m);
/* Records u from time t on. Same u as the last point: ignored. Same time
 * as the last point: the lower value wins. t must not go backwards
 * (returns -EINVAL). */
int trace_mmu_add(struct trace_mmu *m, int64_t t, double u);
/* MMU for a window over [first point, end]: the minimum over all windows
 * [s, s+w] inside that range of the mean utilization. A window longer than
 * the range is clamped to the range. Returns -1 with no points or an empty
 * range. */
double trace_mmu_compute(const struct trace_mmu *m, int64_t end, int64_t window);

#endif
