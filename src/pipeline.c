#include "config.h"

#include "pipeline.h"
#include "daemon_metrics.h"
#include "log.h"
#include "queue.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PRUNE_ROUNDS 4 /* on a full disk, at most about 20 % of the captures go */

struct pipeline {
  struct queue analysis_q;
  struct queue store_q;
  pthread_t *workers;
  unsigned n_workers;
  pthread_t writer;
  bool writer_started;
  struct store *store;
  struct analysis_opts analysis;
  void (*on_stored)(const struct capture *c, int64_t id, int err, void *userdata);
  void *userdata;
  struct pipeline_counters counters;
  struct metrics *metrics;
  pthread_mutex_t retention_lock;
  int64_t retention_ms;
  uint64_t max_size;
  int64_t prune_interval_ms;
  bool was_backlogged;
  atomic_uint_least64_t max_bytes;      /* queue_max_bytes, 0: none */
  atomic_uint_least64_t queued_bytes;   /* submitted, not yet stored and freed */
  atomic_uint_least64_t analysis_bytes; /* of which not yet analysed (for the gauges) */
  atomic_uint_least64_t peak_bytes;     /* of queued_bytes */
  int64_t last_prune_error_log; /* writer thread only */
  uint64_t prune_errors_since_log;
  bool reserve_missing; /* the disk-full reserve must be taken again */
  uint64_t size_limit;  /* max_size as applied to the connection */
};

/* storage.max_size is a hard limit on the database file (writes past it
 * fail like a full disk and prune to make room), re-applied after pruning
 * because SQLite keeps it at least at the current size. Writer thread (or
 * before it starts). */
static void apply_size_limit(struct pipeline *p, uint64_t max_size) {
  int r = store_set_size_limit(p->store, max_size);
  if (r < 0)
    log_error("storage.max_size: cannot apply the limit: %s", store_errmsg(p->store));
  p->size_limit = max_size;
}

static void *worker_main(void *arg) {
  struct pipeline *p = arg;
  struct capture *c;

  while ((c = queue_pop(&p->analysis_q))) {
    if (c->status == CAPTURE_OK) {
      store_sha256(c->body.data, c->body.len, c->sha256);
      c->analysis = analysis_run(c->type, c->body.data, c->body.len, &p->analysis);
      atomic_fetch_add(&p->counters.analysis_us, (uint64_t)c->analysis->elapsed_us);
      if (p->metrics) {
        const char *l[] = {"format", format_name(c->analysis->format.format), NULL};
        metrics_observe(p->metrics, M_ANALYSIS_DURATION, l,
                        (double)c->analysis->elapsed_us / 1e6);
      }
      if (c->analysis->status == ANALYSIS_ERROR || c->analysis->status == ANALYSIS_UNSUPPORTED) {
        log_warning("target '%s' instance '%s' %s: analysis: %s", c->target, c->instance, c->type,
                    c->analysis->error);
        if (p->metrics) {
          const char *l[] = {"format", format_name(c->analysis->format.format), "status",
                             analysis_status_name(c->analysis->status), NULL};
          metrics_add(p->metrics, M_ANALYSIS_ERRORS, l, 1);
        }
      }
    }
    atomic_fetch_add(&p->counters.analysed, 1);
    atomic_fetch_sub(&p->analysis_bytes, c->held_bytes);
    if (queue_push(&p->store_q, c) < 0) {
      /* not reached: the store queue closes after the workers end */
      atomic_fetch_sub(&p->queued_bytes, c->held_bytes);
      capture_free(c);
    }
  }
  return NULL;
}

static void get_retention(struct pipeline *p, int64_t *age, uint64_t *size, int64_t *every) {
  pthread_mutex_lock(&p->retention_lock);
  *age = p->retention_ms;
  *size = p->max_size;
  *every = p->prune_interval_ms;
  pthread_mutex_unlock(&p->retention_lock);
}

static void prune(struct pipeline *p, uint64_t max_size_override) {
  struct store_prune_result res;
  int64_t age, every;
  uint64_t size;
  int r;

  get_retention(p, &age, &size, &every);
  if (max_size_override && (!size || max_size_override < size))
    size = max_size_override;
  if (!age && !size)
    return;
  r = store_prune(p->store, time_wall_ms(), age, size, &res);
  if (r < 0) {
    /* On a full disk this runs for every capture: say it once a minute. */
    int64_t now = time_mono_ms();
    p->prune_errors_since_log++;
    if (!p->last_prune_error_log || now - p->last_prune_error_log >= 60000) {
      log_error("retention: pruning failed: %s%s", store_errmsg(p->store),
                p->prune_errors_since_log > 1 ? " (and earlier attempts since the last message)"
                                              : "");
      p->last_prune_error_log = now;
      p->prune_errors_since_log = 0;
    }
    return;
  }
  p->last_prune_error_log = 0;
  p->prune_errors_since_log = 0;
  if (p->size_limit && res.captures_deleted)
    apply_size_limit(p, p->size_limit);
  atomic_fetch_add(&p->counters.pruned, (uint64_t)res.captures_deleted);
  if (p->metrics) {
    metrics_add(p->metrics, M_PRUNED, NULL, (double)res.captures_deleted);
    metrics_set(p->metrics, M_DB_SIZE, NULL, (double)res.size_after);
  }
  if (res.captures_deleted)
    log_info("retention: deleted %lld captures and %lld blobs (database %llu -> %llu bytes)",
             (long long)res.captures_deleted, (long long)res.blobs_deleted,
             (unsigned long long)res.size_before, (unsigned long long)res.size_after);
}

/* Takes the disk-full reserve again once there is room for it. Deleting a
 * twentieth of the captures touches many pages (rows, seven indexes, the
 * analysis tables), so the reserve is not scaled down for small databases:
 * what the WAL takes of it comes back when the WAL is truncated. */
static void refill_reserve(struct pipeline *p) {
  if (p->reserve_missing && store_reserve_fill(p->store, STORE_RESERVE_BYTES) == 0) {
    p->reserve_missing = false;
    log_info("retention: %d bytes set aside for pruning on a full disk", STORE_RESERVE_BYTES);
  }
}

/* Disk full: make room by retention when it is configured, then retry once.
 * Deleting needs room too (WAL frames, a checkpoint that may grow the
 * database), which the reserve provides; the WAL is then truncated so that
 * the space pruning freed is really given back. Pruning goes on (a few
 * rounds at most) until the reserve is back, or the next full disk could
 * not be handled. */
static int store_with_room(struct pipeline *p, struct capture *c, int64_t *id) {
  int64_t age, every;
  uint64_t size, cur = 0, room = 0;
  int r = store_put_capture(p->store, c, id);

  if (r != -ENOSPC)
    return r;
  get_retention(p, &age, &size, &every);
  if (!age && !size)
    return r;
  /* At storage.max_size with room on the disk, the reserve stays. */
  if ((store_free_bytes(p->store, &room) < 0 || room < STORE_RESERVE_BYTES) &&
      store_reserve_release(p->store))
    p->reserve_missing = true;
  for (int round = 0; round < PRUNE_ROUNDS; round++) {
    if (store_size(p->store, &cur) < 0 || cur == 0)
      break;
    prune(p, cur - cur / 20); /* about 5 % beyond the configured limits */
    if (!p->reserve_missing)
      break;
    (void)store_checkpoint_truncate(p->store);
    refill_reserve(p);
    if (!p->reserve_missing)
      break;
  }
  return store_put_capture(p->store, c, id);
}

static void *writer_main(void *arg) {
  struct pipeline *p = arg;
  int64_t next_prune = time_mono_ms() + 10000;
  int64_t last_full_log = 0, next_gauges = 0, next_reserve = 0;
  uint64_t full_since_log = 0;

  for (;;) {
    bool closed = false;
    int64_t now, age, every, wait;
    uint64_t size;
    struct capture *c;

    get_retention(p, &age, &size, &every);
    if (size != p->size_limit)
      apply_size_limit(p, size);
    now = time_mono_ms();
    /* Retention may have been turned on by a reload, or the reserve used. */
    if ((age || size) && p->reserve_missing && now >= next_reserve) {
      refill_reserve(p);
      next_reserve = now + 10000;
    }
    if (now >= next_prune) {
      prune(p, 0);
      next_prune = now + (every > 0 ? every : 300000);
    }
    if (p->metrics && now >= next_gauges) {
      uint64_t bytes = 0;
      const char *la[] = {"queue", "analysis", NULL}, *ls[] = {"queue", "store", NULL};
      if (store_size(p->store, &bytes) == 0)
        metrics_set(p->metrics, M_DB_SIZE, NULL, (double)bytes);
      metrics_set(p->metrics, M_QUEUE_DEPTH, la, (double)queue_len(&p->analysis_q));
      metrics_set(p->metrics, M_QUEUE_DEPTH, ls, (double)queue_len(&p->store_q));
      {
        uint64_t all = atomic_load(&p->queued_bytes), ana = atomic_load(&p->analysis_bytes);
        metrics_set(p->metrics, M_QUEUE_BYTES, la, (double)ana);
        metrics_set(p->metrics, M_QUEUE_BYTES, ls, (double)(all > ana ? all - ana : 0));
      }
      metrics_set(p->metrics, M_QUEUE_BYTES_PEAK, NULL, (double)atomic_load(&p->peak_bytes));
      next_gauges = now + 5000;
    }
    wait = MAX(MIN(next_prune, next_gauges) - time_mono_ms(), (int64_t)1);
    c = queue_pop_timeout(&p->store_q, wait, &closed);
    if (!c) {
      if (closed)
        break;
      continue;
    }
    {
      int64_t id = 0;
      int r = store_with_room(p, c, &id);
      if (r < 0) {
        atomic_fetch_add(&p->counters.store_errors, 1);
        atomic_fetch_add(&p->counters.dropped, 1);
        if (p->metrics) {
          const char *l[] = {"reason", r == -ENOSPC ? "disk_full" : "store_error", NULL};
          metrics_add(p->metrics, M_STORE_ERRORS, NULL, 1);
          metrics_add(p->metrics, M_DROPPED, l, 1);
        }
        full_since_log++;
        now = time_mono_ms();
        if (r != -ENOSPC || now - last_full_log >= 60000) {
          log_error("target '%s' instance '%s' %s: cannot store capture: %s%s", c->target,
                    c->instance, c->type, store_errmsg(p->store),
                    r == -ENOSPC ? " (disk full; captures are dropped until space returns)" : "");
          if (r == -ENOSPC && full_since_log > 1)
            log_error("%llu captures dropped since the last message",
                      (unsigned long long)full_since_log);
          last_full_log = now;
          full_since_log = 0;
        }
      } else {
        atomic_fetch_add(&p->counters.stored, 1);
        log_debug("target '%s' instance '%s' %s: stored as capture %lld, started at %lld",
                  c->target, c->instance, c->type, (long long)id, (long long)c->started_at_ms);
        if (p->metrics)
          metrics_add(p->metrics, M_STORED, NULL, 1);
        /* Captures dropped since the last disk-full message are counted in
         * full_since_log: recovery must be told even then. */
        if (last_full_log) {
          if (full_since_log)
            log_notice("storage recovered: captures are stored again (%llu more dropped since "
                       "the last message)",
                       (unsigned long long)full_since_log);
          else
            log_notice("storage recovered: captures are stored again");
          last_full_log = 0;
          full_since_log = 0;
          if (age || size)
            refill_reserve(p);
          next_reserve = 0;
        }
      }
      if (p->on_stored)
        p->on_stored(c, r < 0 ? 0 : id, r < 0 ? r : 0, p->userdata);
      {
        size_t held = c->held_bytes;
        capture_free(c);
        atomic_fetch_sub(&p->queued_bytes, held);
      }
    }
  }
  return NULL;
}

int pipeline_start(struct store *store, const struct pipeline_opts *o, struct pipeline **ret) {
  struct pipeline *p = xcalloc(1, sizeof(*p));
  int r;

  p->store = store;
  p->analysis = o->analysis;
  p->on_stored = o->on_stored;
  p->userdata = o->userdata;
  p->metrics = o->metrics;
  p->retention_ms = o->retention_ms;
  p->max_size = o->max_size;
  p->prune_interval_ms = o->prune_interval_ms;
  atomic_init(&p->max_bytes, o->queue_max_bytes);
  atomic_init(&p->queued_bytes, 0);
  atomic_init(&p->analysis_bytes, 0);
  atomic_init(&p->peak_bytes, 0);
  /* Taken now, while there is room (the writer retries every 10 s). */
  p->reserve_missing =
      !(p->retention_ms || p->max_size) || store_reserve_fill(store, STORE_RESERVE_BYTES) < 0;
  apply_size_limit(p, p->max_size);
  pthread_mutex_init(&p->retention_lock, NULL);
  queue_init(&p->analysis_q, o->queue_size ? o->queue_size : 64);
  queue_init(&p->store_q, o->queue_size ? o->queue_size : 64);
  p->n_workers = o->workers ? o->workers : 1;
  p->workers = xcalloc(p->n_workers, sizeof(*p->workers));
  r = -pthread_create(&p->writer, NULL, writer_main, p);
  if (r < 0)
    goto fail;
  p->writer_started = true;
  for (unsigned i = 0; i < p->n_workers; i++) {
    r = -pthread_create(&p->workers[i], NULL, worker_main, p);
    if (r < 0) {
      p->n_workers = i;
      goto fail;
    }
  }
  *ret = p;
  return 0;
fail:
  pipeline_stop(p);
  return r;
}

/* Raises the peak to at least total (any thread). */
static void note_peak(struct pipeline *p, uint64_t total) {
  uint64_t peak = atomic_load(&p->peak_bytes);
  while (total > peak && !atomic_compare_exchange_weak(&p->peak_bytes, &peak, total))
    ;
}

void pipeline_submit(struct pipeline *p, struct capture *c) {
  uint64_t total;

  atomic_fetch_add(&p->counters.submitted, 1);
  /* The body grew by doubling while it came in; it waits here a while. */
  buf_shrink(&c->body);
  c->held_bytes = capture_bytes(c);
  atomic_fetch_add(&p->analysis_bytes, c->held_bytes);
  total = atomic_fetch_add(&p->queued_bytes, c->held_bytes) + c->held_bytes;
  note_peak(p, total);
  if (queue_push_nowait(&p->analysis_q, c) < 0) {
    atomic_fetch_sub(&p->queued_bytes, c->held_bytes);
    atomic_fetch_sub(&p->analysis_bytes, c->held_bytes);
    atomic_fetch_add(&p->counters.dropped, 1);
    if (p->metrics) {
      const char *l[] = {"reason", "shutdown", NULL};
      metrics_add(p->metrics, M_DROPPED, l, 1);
    }
    capture_free(c);
  }
}

bool pipeline_backlogged(struct pipeline *p, uint64_t extra_bytes) {
  uint64_t max = atomic_load(&p->max_bytes);
  bool full = queue_full(&p->analysis_q) || (max && pipeline_queued_bytes(p) + extra_bytes >= max);
  if (full && !p->was_backlogged) {
    atomic_fetch_add(&p->counters.backlog_events, 1);
    if (p->metrics)
      metrics_add(p->metrics, M_QUEUE_FULL, NULL, 1);
  }
  p->was_backlogged = full;
  return full;
}

size_t pipeline_queued(struct pipeline *p) {
  return queue_len(&p->analysis_q) + queue_len(&p->store_q);
}

uint64_t pipeline_queued_bytes(struct pipeline *p) {
  return atomic_load(&p->queued_bytes);
}

uint64_t pipeline_peak_bytes(struct pipeline *p) {
  return atomic_load(&p->peak_bytes);
}

uint64_t pipeline_max_bytes(struct pipeline *p) {
  return atomic_load(&p->max_bytes);
}

void pipeline_set_max_bytes(struct pipeline *p, uint64_t max_bytes) {
  atomic_store(&p->max_bytes, max_bytes);
}

void pipeline_set_retention(struct pipeline *p, int64_t retention_ms, uint64_t max_size,
                            int64_t prune_interval_ms) {
  pthread_mutex_lock(&p->retention_lock);
  p->retention_ms = retention_ms;
  p->max_size = max_size;
  p->prune_interval_ms = prune_interval_ms;
  pthread_mutex_unlock(&p->retention_lock);
}

struct pipeline_counters *pipeline_counters(struct pipeline *p) {
  return &p->counters;
}

struct pipeline *pipeline_stop(struct pipeline *p) {
  if (!p)
    return NULL;
  queue_close(&p->analysis_q);
  for (unsigned i = 0; i < p->n_workers; i++)
    pthread_join(p->workers[i], NULL);
  queue_close(&p->store_q);
  if (p->writer_started)
    pthread_join(p->writer, NULL);
  store_close(p->store);
  queue_done(&p->analysis_q);
  queue_done(&p->store_q);
  pthread_mutex_destroy(&p->retention_lock);
  free(p->workers);
  free(p);
  return NULL;
}
