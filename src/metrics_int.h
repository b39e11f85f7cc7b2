/* Internals of the metrics registry shared by metrics.c (updates) and
 * metrics_render.c (the text exposition, streamed in chunks). */
#ifndef PPROFD_METRICS_INT_H
#define PPROFD_METRICS_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "hashmap.h"
#include "metrics.h"

struct series {
  double value;            /* counter/gauge; histogram: sum */
  uint64_t *bucket_counts; /* histogram: per bucket (non-cumulative) + one for +Inf */
  uint64_t count;
  struct series *next;
  bool dead;     /* forgotten while a page was being read; freed by the sweep */
  char labels[]; /* rendered: k="v",k="v" (escaped), may be ""; one allocation with the
                    series. Allocated with offsetof(struct series, labels). */
};

/* A grouped family's series share their leading labels: one group per
 * distinct leading labels (e.g. target and instance), holding (rest of
 * the labels, value) pairs whose label text is interned registry-wide
 * (e.g. type="heap"). Per target instance and type this costs 16 bytes
 * instead of a series with its own label string and map entry. */
struct member {
  const char *rest; /* interned; NULL when forgotten while a page was being read */
  double value;
};

struct group {
  struct group *next;
  struct member *v;
  uint32_t n;
  uint32_t cap;
  bool dead;
  char prefix[]; /* the leading labels, rendered; allocated with offsetof */
};

struct family {
  char *name;
  enum metric_type type;
  char *help;
  double *buckets;
  size_t n_buckets;
  size_t n_group_labels;     /* 0: plain series; else grouped by this many leading labels */
  struct hashmap *by_labels; /* labels -> struct series, or prefix -> struct group */
  struct series *head;       /* in creation order, for stable output */
  struct series **tail;
  struct group *ghead; /* grouped families: groups in creation order */
  struct group **gtail;
  struct family *next;
};

struct metrics {
  pthread_mutex_t lock;
  struct hashmap *families;
  struct family *head;
  struct family **tail;
  struct hashmap *interned; /* label text -> itself (owned), for members */
  struct buf scratch;       /* label rendering, under lock */
  struct buf scratch_rest;
  unsigned readers; /* open cursors: forgotten entries are only marked */
  bool need_sweep;  /* some are marked */
};

/* Frees what was marked dead (called with the lock held and no readers). */
void metrics_sweep(struct metrics *m);

#endif
