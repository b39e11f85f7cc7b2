/* Collection jobs and the instances they share, internal to the collector.
 * A job owns copies of everything it needs to turn a finished fetch into a
 * capture, so it can outlive the config it was made from (reload). */
#ifndef PPROFD_JOB_H
#define PPROFD_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "fetch.h"
#include "sched.h"

/* One Go process, keyed by its base URL: jobs of every target that point at
 * it share its exclusive resources. */
struct instance {
  char *key;          /* base URL */
  bool cpu_busy;      /* a CPU profile is being taken */
  bool trace_busy;    /* an execution trace is being taken */
  bool down;          /* unreachable; logged once */
  uint64_t down_failures;
  unsigned refs;
};

/* What every job of one (target, instance) shares: names, base URL and
 * labels, copied once from the config instead of once per profile (tens of
 * thousands of jobs at scale). Reference counted; immutable. */
struct job_origin {
  char *target_name;
  char *instance_name;
  char *base_url;                  /* without a trailing slash */
  struct cfg_pair *labels;
  size_t n_labels;
  unsigned refs;
};

struct job_origin *job_origin_new(const struct cfg_target *t, const struct cfg_instance *in);
struct job_origin *job_origin_unref(struct job_origin *o);

enum job_kind {
  JOB_PROFILE,
  JOB_DISCOVERY, /* reads the index page for `profiles: auto` */
};

struct job {
  char *key;                       /* target \x1f instance \x1f profile */
  enum job_kind kind;
  const struct cfg_target *target; /* current config's target; NULL when retired */
  struct job_origin *origin;       /* holds a reference; the five below point into it */
  const char *target_name;
  const char *instance_name;
  const char *base_url;
  const struct cfg_pair *labels;
  size_t n_labels;
  struct cfg_profile profile;      /* deep copy, or borrowed from the current config */
  bool profile_borrowed;           /* its strings belong to the config (job_own_profile) */
  bool auto_discovered;
  struct instance *inst;
  struct sched_timing timing;
  size_t heap_idx;                 /* JOB_NOT_QUEUED when not in the heap */
  bool waiting;                    /* parked until its instance's resource frees */
  struct fetch *fetch;             /* in flight */
  int64_t started_wall_ms;
  bool retired;                    /* removed by a reload; freed when its fetch ends */
  bool discovered;                 /* discovery job: done until the next reload */
  uint32_t last_body_bytes;        /* of its last good fetch: expected of the next */
};

#define JOB_NOT_QUEUED ((size_t)-1)

/* The job takes its own reference to o. With borrow, p's strings are
 * used in place: p must belong to the config the collector runs on, and
 * job_own_profile() must be called before that config is freed while the
 * job lives on (a retired job whose fetch is still in flight). Otherwise p
 * is copied. */
struct job *job_new(const char *key, enum job_kind kind, const struct cfg_target *t,
                    struct job_origin *o, const struct cfg_profile *p, bool borrow);
struct job *job_free(struct job *j);
/* Replaces the job's target settings, origin and profile after a reload. */
void job_update(struct job *j, const struct cfg_target *t, struct job_origin *o,
                const struct cfg_profile *p, bool borrow);
/* Makes a borrowed profile the job's own copy. */
void job_own_profile(struct job *j);
char *job_key(const char *target, const char *instance, const char *profile);
/* Does this job need an exclusive per-process resource? */
bool job_needs_cpu(const struct job *j);
bool job_needs_trace(const struct job *j);

/* Binary min-heap of jobs by timing.next_due_ms. */
struct job_heap {
  struct job **v;
  size_t n;
  size_t cap;
};
void job_heap_push(struct job_heap *h, struct job *j);
struct job *job_heap_peek(const struct job_heap *h);
struct job *job_heap_pop(struct job_heap *h);
void job_heap_remove(struct job_heap *h, struct job *j);
/* After j->timing.next_due_ms changed. */
void job_heap_fix(struct job_heap *h, struct job *j);
void job_heap_done(struct job_heap *h);

#endif
