/* Process metrics in the Prometheus data model: counters, gauges and
 * histograms, each series identified by a metric name and label pairs.
 * Thread-safe: the fetch loop, the workers and the writer update it; the
 * HTTP endpoint renders it in the text exposition format. */
#ifndef PPROFD_METRICS_H
#define PPROFD_METRICS_H

#include <stddef.h>
#include <sys/types.h>

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
void metrics_declare(struct metrics *m, const char *name, enum metric_type type, const char *help,
                     const double *buckets, size_t n_buckets);

/* A counter or gauge family with many series that share their first
 * n_group_labels label pairs (e.g. target and instance, with one series per
 * type): stored per group, far smaller per series. Renders exactly as a
 * plain family, grouped by the leading labels. */
void metrics_declare_grouped(struct metrics *m, const char *name, enum metric_type type,
                             const char *help, size_t n_group_labels);

/* labels: NULL-terminated list of alternating keys and values, or NULL. */
void metrics_add(struct metrics *m, const char *name, const char *const *labels, double v);
void metrics_set(struct metrics *m, const char *name, const char *const *labels, double v);
void metrics_observe(struct metrics *m, const char *name, const char *const *labels, double v);
/* Removes every series of name whose label key equals value (e.g. a target
 * removed by a reload). */
void metrics_forget(struct metrics *m, const char *name, const char *key, const char *value);

/* Appends the text exposition format (version 0.0.4) to out. */
int metrics_render(struct metrics *m, struct buf *out);

/* Reads the page in pieces without holding it all: each read renders the
 * next few series under the lock, so updates are never held up for long
 * by a slow reader. Every series that exists for the whole read is in the
 * page exactly once; one created or forgotten during it may or may not be. */
struct metrics_cursor;
struct metrics_cursor *metrics_cursor_new(struct metrics *m);
/* Copies up to max bytes into dst; returns the count, 0 at the end, or
 * -EFBIG when a series is too large to render. */
ssize_t metrics_cursor_read(struct metrics_cursor *c, char *dst, size_t max);
struct metrics_cursor *metrics_cursor_free(struct metrics_cursor *c);

#endif
