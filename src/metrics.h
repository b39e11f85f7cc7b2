/* Process metrics in the Prometheus data model: counters, gauges and
 * histograms, each series identified by a metric name and label pairs.
 * Thread-safe: the fetch loop, the workers and the writer update it; the
 * HTTP endpoint renders it in the text exposition format. */
#ifndef PPROFD_METRICS_H
#define PPROFD_METRICS_H

#include <stddef.h>

#include "buf.h"

struct metrics;

enum metric_type {
  METRIC_COUNTER,
  METRIC_GAUGE,
  METRIC_HISTOGRAM,
};

struct metrics *metrics_new(void);
struct metrics *metrics_free(struct metrics *m);

/* Declares a metric family (type and help text); call once before use.
 * Histograms take their bucket upper bounds (ascending, +Inf implied). */
void metrics_declare(struct metrics *m, const char *name, enum metric_type type,
                     const char *help, const double *buckets, size_t n_buckets);

/* labels: NULL-terminated list of alternating keys and values, or NULL. */
void metrics_add(struct metrics *m, const char *name, const char *const *labels, double v);
void metrics_set(struct metrics *m, const char *name, const char *const *labels, double v);
void metrics_observe(struct metrics *m, const char *name, const char *const *labels, double v);
/* Removes every series of name whose label key equals value (e.g. a target
 * removed by a reload). */
void metrics_forget(struct metrics *m, const char *name, const char *key, const char *value);

/* Appends the text exposition format (version 0.0.4) to out. */
int metrics_render(struct metrics *m, struct buf *out);

#endif
