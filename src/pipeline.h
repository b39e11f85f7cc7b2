/* The capture pipeline behind the fetch loop:
 *
 *   fetch loop --(analysis queue)--> N workers --(store queue)--> writer
 *
 * Workers hash the body, run the analysis (decompression, protobuf and
 * trace parsing) and hand the capture on; the writer thread owns the SQLite
 * connection, commits each capture in one transaction and runs retention.
 * The fetch loop never blocks: it submits with pipeline_submit() (always
 * accepted) and checks pipeline_backlogged() before starting new fetches,
 * so the number of captures waiting is bounded by queue_size plus the
 * fetches in flight, and the bytes they hold by queue_max_bytes plus what
 * the fetches in flight bring in beyond what was expected of them (the
 * collector passes their expected bytes as extra_bytes; the bound is
 * checked before a fetch starts; a capture already fetched is never
 * dropped, so one body larger than the bound still goes through).
 *
 * A capture's bytes (capture_bytes(), taken at submit) count against the
 * analysis queue from pipeline_submit() until a worker has analysed it,
 * then against the store queue until the writer has stored and freed it. */
#ifndef PPROFD_PIPELINE_H
#define PPROFD_PIPELINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "analysis.h"
#include "capture.h"
#include "store.h"

struct metrics;

struct pipeline;

struct pipeline_opts {
  unsigned workers;
  size_t queue_size;
  uint64_t queue_max_bytes; /* 0: no byte bound */
  struct analysis_opts analysis;
  int64_t retention_ms;
  uint64_t max_size;
  int64_t prune_interval_ms;
  /* Called on the writer thread after each capture: err is 0 or the
   * store's negative errno, id the new capture id (0 on error). */
  void (*on_stored)(const struct capture *c, int64_t id, int err, void *userdata);
  void *userdata;
  struct metrics *metrics; /* may be NULL */
};

struct pipeline_counters {
  atomic_uint_least64_t submitted;
  atomic_uint_least64_t analysed;
  atomic_uint_least64_t stored;
  atomic_uint_least64_t store_errors;
  atomic_uint_least64_t dropped;        /* could not be stored (disk full...) */
  atomic_uint_least64_t backlog_events; /* times the analysis queue hit its bound */
  atomic_uint_least64_t pruned;
  atomic_uint_least64_t analysis_us;    /* total analysis time */
};

/* Takes ownership of store (the writer thread uses it from now on). */
int pipeline_start(struct store *store, const struct pipeline_opts *o, struct pipeline **ret);
/* Takes ownership of c. Never blocks. */
void pipeline_submit(struct pipeline *p, struct capture *c);
/* True while the analysis queue is at its bound (queue_size captures), or
 * the captures in both queues plus extra_bytes (the bodies of fetches in
 * flight) reach queue_max_bytes: do not start fetches. Fetch loop only. */
bool pipeline_backlogged(struct pipeline *p, uint64_t extra_bytes);
size_t pipeline_queued(struct pipeline *p);
/* Bytes held by captures between submit and store, in both queues; and
 * the most there ever were at once. */
uint64_t pipeline_queued_bytes(struct pipeline *p);
uint64_t pipeline_peak_bytes(struct pipeline *p);
uint64_t pipeline_max_bytes(struct pipeline *p);
/* On reload: a new queue_max_bytes (0: none). */
void pipeline_set_max_bytes(struct pipeline *p, uint64_t max_bytes);
void pipeline_set_retention(struct pipeline *p, int64_t retention_ms, uint64_t max_size,
                            int64_t prune_interval_ms);
struct pipeline_counters *pipeline_counters(struct pipeline *p);
/* Drains both queues (every submitted capture is analysed and stored),
 * joins the threads and closes the store. */
struct pipeline *pipeline_stop(struct pipeline *p);

#endif
