/* Scheduling math for collection jobs: pure functions of the clocks passed
 * in, so they are tested with a fake clock.
 *
 * Every (target instance, profile) job runs once per interval at a stable
 * phase: t_wall = k * interval + offset, where offset is a hash of the job's
 * key. Phases are therefore the same after a restart and spread evenly, so
 * a thousand targets do not fire in the same second. Runs are fixed-rate:
 * a late run does not shift later ones, and missed slots are skipped, never
 * made up in a burst. Failures back off exponentially (interval x 2^n, at
 * most max_backoff); success resets. */
#ifndef PPROFD_SCHED_H
#define PPROFD_SCHED_H

#include <stdbool.h>
#include <stdint.h>

struct sched_timing {
  int64_t interval_ms;
  int64_t offset_ms;   /* phase within the interval, in [0, interval) */
  int64_t next_due_ms; /* monotonic ms */
  unsigned failures;   /* consecutive failed runs */
  int64_t missed;      /* slots skipped because the previous run was still going, or late */
};

/* Stable phase for key within interval_ms (FNV-1a of the key). */
int64_t sched_offset(const char *key, int64_t interval_ms);

/* Initialises t and sets the first due time: the next slot at or after
 * now (wall clock phase), converted to the monotonic clock. */
void sched_init(struct sched_timing *t, const char *key, int64_t interval_ms, int64_t now_mono,
                int64_t now_wall);

/* Called when a run starts at now_mono: advances next_due to the slot after
 * the current one (fixed rate), skipping (and counting) slots that are
 * already in the past. */
void sched_started(struct sched_timing *t, int64_t now_mono);

/* Called when a run ends. On failure the next due time is pushed out to
 * start + interval * 2^(failures-1), capped at max_backoff_ms; returns the
 * delay applied in ms (0 on success). retry_next_interval: a transient
 * failure that should not back off (e.g. the target is busy profiling). */
int64_t sched_finished(struct sched_timing *t, bool ok, bool retry_next_interval,
                       int64_t started_mono, int64_t max_backoff_ms);

/* Changes the interval (reload), keeping the phase rule. */
void sched_set_interval(struct sched_timing *t, const char *key, int64_t interval_ms,
                        int64_t now_mono, int64_t now_wall);

/* The next slot at or after now_wall for (interval, offset), as wall ms. */
int64_t sched_next_slot_wall(int64_t now_wall, int64_t interval_ms, int64_t offset_ms);

#endif
