/* Internals shared by collector.c (jobs, reload) and collector_run.c
 * (starting jobs, turning finished fetches into captures). */
#ifndef PPROFD_COLLECTOR_INTERNAL_H
#define PPROFD_COLLECTOR_INTERNAL_H

#include "collector.h"
#include "fetch.h"
#include "hashmap.h"
#include "job.h"

struct collector {
  struct cfg *cfg;
  struct pipeline *pipeline;
  struct metrics *metrics;
  struct fetcher *fetcher;
  struct hashmap *jobs;      /* key -> struct job (live jobs only) */
  struct hashmap *instances; /* base URL -> struct instance */
  struct hashmap *type_bytes; /* profile name -> size of its last good body (uintptr_t) */
  struct job_heap heap;      /* scheduled jobs by due time */
  struct job **orphans;      /* retired jobs whose fetch is still in flight */
  size_t n_orphans;
  struct job **parked;       /* waiting for an instance's CPU/trace slot */
  size_t n_parked;
  bool stopping;
  bool blocked_on_capacity;  /* a due job waits for the cap or the pipeline */
  bool logged_backlog;        /* this backlog episode was logged */
  int64_t backlog_log_mono_ms; /* last backlog message */
  uint64_t backlogs_unlogged;  /* episodes since that message */
  struct collector_stats stats;
};

void collector_retire_job(struct collector *c, struct job *j);
void collector_free_finished_job(struct collector *c, struct job *j);
void collector_unpark(struct collector *c, struct job *j);
void collector_apply_discovery(struct collector *c, struct job *dj, char **names);
/* Turns a finished fetch into a capture (or a discovery result). */
void collector_finish_fetch(struct collector *c, struct fetch *x);

#endif
