#include "config.h"

#include "collector.h"
#include "collector_internal.h"
#include "daemon_metrics.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct instance *instance_get(struct collector *c, const char *base_url) {
  struct instance *in = hashmap_get(c->instances, base_url);
  if (!in) {
    in = xcalloc(1, sizeof(*in));
    in->key = xstrdup(base_url);
    hashmap_put(c->instances, in->key, in);
  }
  in->refs++;
  return in;
}

static void instance_put(struct collector *c, struct instance *in) {
  if (!in || --in->refs > 0)
    return;
  hashmap_remove(c->instances, in->key);
  free(in->key);
  free(in);
}

/* Adds a job to the collector's tables and schedules it. */
static struct job *add_job(struct collector *c, const char *key, enum job_kind kind,
                           const struct cfg_target *t, struct job_origin *o,
                           const struct cfg_profile *p, bool borrow, int64_t now_mono,
                           int64_t now_wall) {
  struct job *j = job_new(key, kind, t, o, p, borrow);
  j->inst = instance_get(c, j->base_url);
  if (kind == JOB_DISCOVERY) {
    /* Discovery runs right away; it retries at the target's interval. */
    j->timing.interval_ms = t->interval_ms;
    j->timing.offset_ms = 0;
    j->timing.next_due_ms = now_mono;
  } else {
    sched_init(&j->timing, key, p->interval_ms, now_mono, now_wall);
  }
  hashmap_put(c->jobs, j->key, j);
  job_heap_push(&c->heap, j);
  return j;
}

/* Removes a job: freed now, or when its fetch ends. */
void collector_retire_job(struct collector *c, struct job *j) {
  hashmap_remove(c->jobs, j->key);
  job_heap_remove(&c->heap, j);
  if (j->waiting)
    collector_unpark(c, j);
  j->target = NULL;
  j->retired = true;
  if (!j->fetch) {
    instance_put(c, j->inst);
    job_free(j);
    return;
  }
  /* It outlives the config it may borrow its profile from. */
  job_own_profile(j);
  c->orphans = xreallocarray(c->orphans, c->n_orphans + 1, sizeof(*c->orphans));
  c->orphans[c->n_orphans++] = j;
}

/* A retired job's fetch ended: drop it from the orphans and free it. */
void collector_free_finished_job(struct collector *c, struct job *j) {
  for (size_t i = 0; i < c->n_orphans; i++) {
    if (c->orphans[i] == j) {
      c->orphans[i] = c->orphans[--c->n_orphans];
      break;
    }
  }
  instance_put(c, j->inst);
  job_free(j);
}

static char keep_marker;

/* A target that is no longer configured should not keep reporting stale
 * last-success times (it would look like a failing target). */
static void forget_target_metrics(struct collector *c, const char *target) {
  for (size_t i = 0; i < c->cfg->n_targets; i++)
    if (strcmp(c->cfg->targets[i].name, target) == 0)
      return;
  metrics_forget(c->metrics, M_LAST_SUCCESS, "target", target);
  metrics_forget(c->metrics, M_LAST_ATTEMPT, "target", target);
}

static struct cfg_profile discovery_profile(const struct cfg_target *t) {
  struct cfg_profile p;
  memset(&p, 0, sizeof(p));
  p.name = (char *)"index";
  p.kind = PROFILE_CUSTOM;
  p.path = xasprintf("%s/", t->path_prefix);
  p.interval_ms = t->interval_ms;
  p.timeout_ms = t->timeout_ms;
  p.max_response_size = 1024 * 1024;
  return p;
}

/* Brings the job set in line with c->cfg. Jobs whose key survives keep
 * their schedule; discovered jobs of auto targets are kept until their
 * target's discovery runs again. */
static void sync_jobs(struct collector *c) {
  int64_t now_mono = time_mono_ms(), now_wall = time_wall_ms();
  struct hashmap *keep = hashmap_new();
  size_t pos = 0;
  const char *key;
  void *value;
  struct job **stale = NULL;
  size_t n_stale = 0;

  for (size_t ti = 0; ti < c->cfg->n_targets; ti++) {
    const struct cfg_target *t = &c->cfg->targets[ti];
    for (size_t ii = 0; ii < t->n_instances; ii++) {
      const struct cfg_instance *in = &t->instances[ii];
      struct job_origin *o = job_origin_new(t, in);
      if (t->profiles_auto) {
        char *k = job_key(t->name, in->name, "\x1d" "discovery");
        struct cfg_profile p = discovery_profile(t);
        struct job *j = hashmap_get(c->jobs, k);
        if (j) {
          job_update(j, t, o, &p, false);
          j->discovered = false;
          j->timing.interval_ms = t->interval_ms;
          j->timing.next_due_ms = now_mono;
          job_heap_push(&c->heap, j);
          job_heap_fix(&c->heap, j);
        } else {
          add_job(c, k, JOB_DISCOVERY, t, o, &p, false, now_mono, now_wall);
        }
        hashmap_put(keep, k, &keep_marker);
        free(p.path);
        free(k);
        /* Keep previously discovered profiles with updated settings. */
        pos = 0;
        while (hashmap_next(c->jobs, &pos, &key, &value)) {
          struct job *dj = value;
          if (dj->auto_discovered && strcmp(dj->target_name, t->name) == 0 &&
              strcmp(dj->instance_name, in->name) == 0) {
            struct cfg_profile np;
            if (cfg_profile_for_discovered(t, dj->profile.name, &np) == 0) {
              job_update(dj, t, o, &np, false);
              sched_set_interval(&dj->timing, dj->key, np.interval_ms, now_mono, now_wall);
              job_heap_fix(&c->heap, dj);
              cfg_profile_done(&np);
              hashmap_put(keep, dj->key, &keep_marker);
            }
          }
        }
        job_origin_unref(o);
        continue;
      }
      for (size_t pi = 0; pi < t->n_profiles; pi++) {
        const struct cfg_profile *p = &t->profiles[pi];
        char *k = job_key(t->name, in->name, p->name);
        struct job *j = hashmap_get(c->jobs, k);
        if (j && !j->auto_discovered) {
          job_update(j, t, o, p, true);
          sched_set_interval(&j->timing, k, p->interval_ms, now_mono, now_wall);
          job_heap_fix(&c->heap, j);
        } else {
          if (j)
            collector_retire_job(c, j);
          add_job(c, k, JOB_PROFILE, t, o, p, true, now_mono, now_wall);
        }
        hashmap_put(keep, k, &keep_marker);
        free(k);
      }
      job_origin_unref(o);
    }
  }
  /* Retire jobs that are no longer configured. */
  pos = 0;
  while (hashmap_next(c->jobs, &pos, &key, &value)) {
    if (!hashmap_get(keep, key)) {
      stale = xreallocarray(stale, n_stale + 1, sizeof(*stale));
      stale[n_stale++] = value;
    }
  }
  for (size_t i = 0; i < n_stale; i++) {
    if (c->metrics)
      forget_target_metrics(c, stale[i]->target_name);
    log_info("target '%s' instance '%s' %s: removed by configuration", stale[i]->target_name,
             stale[i]->instance_name,
             stale[i]->kind == JOB_DISCOVERY ? "discovery" : stale[i]->profile.name);
    collector_retire_job(c, stale[i]);
  }
  free(stale);
  hashmap_free(keep);
}

/* Applies a discovery result: jobs for the listed profiles of one
 * (target, instance), retiring discovered jobs that are gone. */
void collector_apply_discovery(struct collector *c, struct job *dj, char **names) {
  const struct cfg_target *t = dj->target;
  const struct cfg_instance *in = NULL;
  int64_t now_mono = time_mono_ms(), now_wall = time_wall_ms();
  struct hashmap *seen = hashmap_new();
  struct job_origin *o = NULL;
  struct job **stale = NULL;
  size_t n_stale = 0, pos = 0, added = 0;
  const char *key;
  void *value;

  for (size_t i = 0; t && i < t->n_instances; i++)
    if (strcmp(t->instances[i].name, dj->instance_name) == 0)
      in = &t->instances[i];
  if (!in)
    goto out;
  o = job_origin_new(t, in);
  for (size_t i = 0; names[i]; i++) {
    struct cfg_profile p;
    char *k;
    struct job *j;
    if (cfg_profile_for_discovered(t, names[i], &p) < 0)
      continue;
    k = job_key(t->name, in->name, p.name);
    j = hashmap_get(c->jobs, k);
    if (!j) {
      j = add_job(c, k, JOB_PROFILE, t, o, &p, false, now_mono, now_wall);
      j->auto_discovered = true;
      added++;
    }
    hashmap_put(seen, k, j);
    free(k);
    cfg_profile_done(&p);
  }
  while (hashmap_next(c->jobs, &pos, &key, &value)) {
    struct job *j = value;
    if (j->auto_discovered && strcmp(j->target_name, t->name) == 0 &&
        strcmp(j->instance_name, in->name) == 0 && !hashmap_get(seen, key)) {
      stale = xreallocarray(stale, n_stale + 1, sizeof(*stale));
      stale[n_stale++] = j;
    }
  }
  for (size_t i = 0; i < n_stale; i++)
    collector_retire_job(c, stale[i]);
  log_info("target '%s' instance '%s': discovered %zu profiles (%zu new, %zu gone)", t->name,
           in->name, hashmap_size(seen), added, n_stale);
  free(stale);
out:
  job_origin_unref(o);
  hashmap_free(seen);
}

int collector_new(struct cfg *cfg, struct pipeline *p, struct metrics *m, struct collector **ret) {
  struct collector *c = xcalloc(1, sizeof(*c));
  c->fetcher = fetcher_new();
  if (!c->fetcher) {
    free(c);
    return -ENOMEM;
  }
  c->cfg = cfg;
  c->pipeline = p;
  c->metrics = m;
  /* Keys are the jobs' and instances' own strings (tens of thousands of
   * jobs at scale). */
  c->jobs = hashmap_new_borrowed();
  c->instances = hashmap_new_borrowed();
  c->type_bytes = hashmap_new();
  sync_jobs(c);
  *ret = c;
  return 0;
}

struct collector *collector_free(struct collector *c) {
  size_t pos = 0;
  void *value;
  struct job **all = NULL;
  size_t n = 0;

  if (!c)
    return NULL;
  /* Normally nothing is in flight here (pprofd drains first); if something
   * is, it is dropped with the fetcher. */
  while (hashmap_next(c->jobs, &pos, NULL, &value)) {
    all = xreallocarray(all, n + 1, sizeof(*all));
    all[n++] = value;
  }
  for (size_t i = 0; i < n; i++) {
    all[i]->fetch = NULL;
    collector_retire_job(c, all[i]);
  }
  free(all);
  while (c->n_orphans)
    collector_free_finished_job(c, c->orphans[0]);
  free(c->orphans);
  free(c->parked);
  c->fetcher = fetcher_free(c->fetcher);
  job_heap_done(&c->heap);
  hashmap_free(c->jobs);
  hashmap_free(c->instances);
  hashmap_free(c->type_bytes);
  cfg_free(c->cfg);
  free(c);
  return NULL;
}

void collector_reload(struct collector *c, struct cfg *cfg) {
  struct cfg *old = c->cfg;
  c->cfg = cfg;
  sync_jobs(c);
  /* No job points into the old config any more. */
  cfg_free(old);
}

const struct cfg *collector_cfg(const struct collector *c) {
  return c->cfg;
}

int collector_timeout(struct collector *c, int64_t now_mono, int max_ms) {
  struct job *j = job_heap_peek(&c->heap);
  int64_t t;
  if (c->stopping || !j)
    return max_ms;
  if (c->blocked_on_capacity)
    return MIN(max_ms, 100); /* re-check the pipeline backlog / cap soon */
  t = j->timing.next_due_ms - now_mono;
  if (t < 0)
    t = 0;
  return (int)MIN((int64_t)max_ms, t);
}

int collector_poll(struct collector *c, struct curl_waitfd *extra, unsigned n_extra,
                   int timeout_ms) {
  return fetcher_poll(c->fetcher, extra, n_extra, timeout_ms);
}

void collector_stop(struct collector *c) {
  c->stopping = true;
}

unsigned collector_in_flight(const struct collector *c) {
  return fetcher_in_flight(c->fetcher);
}

void collector_get_stats(struct collector *c, struct collector_stats *ret) {
  *ret = c->stats;
  ret->targets = c->cfg->n_targets;
  ret->instances = hashmap_size(c->instances);
  ret->jobs = hashmap_size(c->jobs);
  ret->in_flight = fetcher_in_flight(c->fetcher);
  c->stats.max_lag_ms = 0;
  if (c->metrics) {
    metrics_set(c->metrics, M_TARGETS, NULL, (double)ret->targets);
    metrics_set(c->metrics, M_JOBS, NULL, (double)ret->jobs);
    metrics_set(c->metrics, M_IN_FLIGHT, NULL, (double)ret->in_flight);
    metrics_set(c->metrics, M_FETCH_BYTES, NULL, (double)fetcher_in_flight_bytes(c->fetcher));
  }
}
