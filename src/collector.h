/* The collector: every (target instance, profile) is a job with its own
 * schedule (sched.h); due jobs are started on the fetcher (one thread, curl
 * multi), finished fetches become captures handed to the pipeline. It
 * enforces the rules the Go runtime imposes (one CPU profile and one
 * execution trace at a time per process), a global concurrency cap, and
 * back-pressure from the pipeline. Reload swaps in a new config, keeping the
 * schedule of jobs that still exist; in-flight captures of removed jobs are
 * still stored. */
#ifndef PPROFD_COLLECTOR_H
#define PPROFD_COLLECTOR_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "pipeline.h"

struct collector;

struct collector_stats {
  size_t targets;
  size_t instances;
  size_t jobs;
  unsigned in_flight;
  uint64_t started;
  uint64_t succeeded;
  uint64_t failed;
  uint64_t missed;        /* slots skipped (job still running or loop late) */
  uint64_t deferred;      /* starts delayed by the concurrency cap or a busy pipeline */
  int64_t max_lag_ms;     /* worst start delay after the due time since the last call */
};

struct metrics;

/* Takes ownership of cfg. The pipeline and metrics (may be NULL) are
 * borrowed. */
int collector_new(struct cfg *cfg, struct pipeline *p, struct metrics *m, struct collector **ret);
struct collector *collector_free(struct collector *c);
/* Swaps in a new config (ownership taken); never fails. */
void collector_reload(struct collector *c, struct cfg *cfg);
const struct cfg *collector_cfg(const struct collector *c);

/* Milliseconds until the collector needs to run again (0..max_ms). */
int collector_timeout(struct collector *c, int64_t now_mono, int max_ms);
/* Waits on the network and the extra fds for at most timeout_ms. */
int collector_poll(struct collector *c, struct curl_waitfd *extra, unsigned n_extra,
                   int timeout_ms);
/* Drives transfers, hands finished fetches to the pipeline, starts due jobs
 * (unless stopping). */
void collector_step(struct collector *c);
/* Stop starting jobs (shutdown). */
void collector_stop(struct collector *c);
/* Aborts every fetch in flight; they are stored as failed captures. */
void collector_abort_all(struct collector *c);
unsigned collector_in_flight(const struct collector *c);
void collector_get_stats(struct collector *c, struct collector_stats *ret);

#endif
