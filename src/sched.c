#include "config.h"

#include "sched.h"

#include <stddef.h>

int64_t sched_offset(const char *key, int64_t interval_ms) {
  uint64_t h = 1469598103934665603ULL;
  if (interval_ms <= 0)
    return 0;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
    h ^= *p;
    h *= 1099511628211ULL;
  }
  /* Final avalanche so similar keys spread over the whole interval. */
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return (int64_t)(h % (uint64_t)interval_ms);
}

int64_t sched_next_slot_wall(int64_t now_wall, int64_t interval_ms, int64_t offset_ms) {
  int64_t base = now_wall - offset_ms;
  int64_t k = base / interval_ms;
  int64_t slot;
  if (base < 0 && base % interval_ms)
    k--;
  slot = k * interval_ms + offset_ms;
  if (slot < now_wall)
    slot += interval_ms;
  return slot;
}

void sched_init(struct sched_timing *t, const char *key, int64_t interval_ms, int64_t now_mono,
                int64_t now_wall) {
  t->interval_ms = interval_ms;
  t->offset_ms = sched_offset(key, interval_ms);
  t->next_due_ms = now_mono + (sched_next_slot_wall(now_wall, interval_ms, t->offset_ms) - now_wall);
  t->failures = 0;
  t->missed = 0;
}

void sched_set_interval(struct sched_timing *t, const char *key, int64_t interval_ms,
                        int64_t now_mono, int64_t now_wall) {
  unsigned failures = t->failures;
  int64_t missed = t->missed;
  if (interval_ms == t->interval_ms)
    return;
  sched_init(t, key, interval_ms, now_mono, now_wall);
  t->failures = failures;
  t->missed = missed;
}

void sched_started(struct sched_timing *t, int64_t now_mono) {
  t->next_due_ms += t->interval_ms;
  if (t->next_due_ms <= now_mono) {
    int64_t behind = now_mono - t->next_due_ms;
    int64_t skip = behind / t->interval_ms + 1;
    t->missed += skip;
    t->next_due_ms += skip * t->interval_ms;
  }
}

int64_t sched_finished(struct sched_timing *t, bool ok, bool retry_next_interval,
                       int64_t started_mono, int64_t max_backoff_ms) {
  int64_t delay, target;
  unsigned shift;

  if (ok) {
    t->failures = 0;
    return 0;
  }
  if (retry_next_interval)
    return 0;
  t->failures++;
  if (t->failures <= 1)
    return 0;
  /* interval * 2^(failures-1), computed without overflow. */
  delay = t->interval_ms;
  shift = t->failures - 1;
  while (shift-- > 0 && delay < max_backoff_ms)
    delay *= 2;
  if (max_backoff_ms > 0 && delay > max_backoff_ms)
    delay = max_backoff_ms;
  if (delay <= t->interval_ms)
    return 0;
  target = started_mono + delay;
  if (target > t->next_due_ms) {
    /* Stay on the job's phase: move by whole intervals. */
    int64_t k = (target - t->next_due_ms + t->interval_ms - 1) / t->interval_ms;
    t->next_due_ms += k * t->interval_ms;
  }
  return delay;
}
