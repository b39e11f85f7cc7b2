#include "config.h"

#include "analysis.h"
#include "capture.h"
#include "collector_internal.h"
#include "daemon_metrics.h"
#include "url.h"
#include "format.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXCERPT_BYTES 120
#define BINARY_EXCERPT_BYTES 16

static bool resource_busy(const struct job *j) {
  return (job_needs_cpu(j) && j->inst->cpu_busy) || (job_needs_trace(j) && j->inst->trace_busy);
}

static void park(struct collector *c, struct job *j) {
  c->parked = xreallocarray(c->parked, c->n_parked + 1, sizeof(*c->parked));
  c->parked[c->n_parked++] = j;
  j->waiting = true;
}

void collector_unpark(struct collector *c, struct job *j) {
  for (size_t i = 0; i < c->n_parked; i++) {
    if (c->parked[i] == j) {
      memmove(&c->parked[i], &c->parked[i + 1], (c->n_parked - i - 1) * sizeof(*c->parked));
      c->n_parked--;
      break;
    }
  }
  j->waiting = false;
}

/* An instance's CPU or trace slot freed: parked jobs for it become due. */
static void wake_parked(struct collector *c, struct instance *in, int64_t now_mono) {
  for (size_t i = 0; i < c->n_parked;) {
    struct job *j = c->parked[i];
    if (j->inst == in && !resource_busy(j)) {
      collector_unpark(c, j);
      j->timing.next_due_ms = MIN(j->timing.next_due_ms, now_mono);
      job_heap_push(&c->heap, j);
      continue;
    }
    i++;
  }
}

static int start_job(struct collector *c, struct job *j, int64_t now_mono) {
  struct fetch_request req;
  const struct cfg_profile *p = &j->profile;
  char *url;
  int r;

  if (j->kind == JOB_DISCOVERY)
    url = url_build(j->base_url, p->path, 0, NULL, 0);
  else
    url = url_build(j->base_url, p->path, p->seconds, p->params, p->n_params);
  memset(&req, 0, sizeof(req));
  req.url = url;
  req.timeout_ms = (int64_t)(p->seconds * 1000) + p->timeout_ms;
  req.connect_timeout_ms = p->timeout_ms;
  req.max_size = p->max_response_size;
  /* For queue_max_bytes: the body is likely as large as the job's last
   * one, or, before it has one, as the last of its type from any target. */
  req.expected_size = j->last_body_bytes;
  if (!req.expected_size && j->kind == JOB_PROFILE)
    req.expected_size = (uintptr_t)hashmap_get(c->type_bytes, p->name);
  req.http = &j->target->http;
  req.userdata = j;
  r = fetcher_start(c->fetcher, &req, &j->fetch);
  if (r < 0) {
    free(url);
    return r;
  }
  log_debug("target '%s' instance '%s' %s: GET %s", j->target_name, j->instance_name,
            j->kind == JOB_DISCOVERY ? "discovery" : p->name, url);
  free(url);
  j->started_wall_ms = time_wall_ms();
  if (job_needs_cpu(j))
    j->inst->cpu_busy = true;
  if (job_needs_trace(j))
    j->inst->trace_busy = true;
  c->stats.started++;
  if (now_mono - j->timing.next_due_ms > c->stats.max_lag_ms)
    c->stats.max_lag_ms = now_mono - j->timing.next_due_ms;
  if (c->metrics && j->kind == JOB_PROFILE)
    metrics_observe(c->metrics, M_SCHED_LAG, NULL,
                    (double)MAX(now_mono - j->timing.next_due_ms, (int64_t)0) / 1000.0);
  if (j->kind == JOB_PROFILE) {
    int64_t missed = j->timing.missed;
    sched_started(&j->timing, now_mono);
    if (c->metrics && j->timing.missed > missed) {
      const char *l[] = {"target", j->target_name, "type", j->profile.name, NULL};
      metrics_add(c->metrics, M_MISSED, l, (double)(j->timing.missed - missed));
    }
  }
  return 0;
}

/* A pipeline that cannot keep up hits the bound again and again: say so
 * once a minute, with how often it happened meanwhile. */
static void log_backlog(struct collector *c, int64_t now) {
  char queued[32], fetching[32], max[32];
  uint64_t max_bytes = pipeline_max_bytes(c->pipeline);

  c->logged_backlog = true;
  c->backlogs_unlogged++;
  if (c->backlog_log_mono_ms && now - c->backlog_log_mono_ms < 60000)
    return;
  format_size(pipeline_queued_bytes(c->pipeline), queued, sizeof(queued));
  format_size(fetcher_in_flight_bytes(c->fetcher), fetching, sizeof(fetching));
  if (max_bytes)
    format_size(max_bytes, max, sizeof(max));
  else
    snprintf(max, sizeof(max), "none");
  if (c->backlogs_unlogged > 1)
    log_warning("analysis queue full (%zu captures waiting, %s queued + %s being fetched; "
                "queue_max_bytes %s): delaying new fetches (%llu times since the last message)",
                pipeline_queued(c->pipeline), queued, fetching, max,
                (unsigned long long)c->backlogs_unlogged);
  else
    log_warning("analysis queue full (%zu captures waiting, %s queued + %s being fetched; "
                "queue_max_bytes %s): delaying new fetches",
                pipeline_queued(c->pipeline), queued, fetching, max);
  c->backlog_log_mono_ms = now;
  c->backlogs_unlogged = 0;
}

static void start_due(struct collector *c) {
  int64_t now = time_mono_ms();
  const struct cfg_collector *cc = &c->cfg->collector;
  unsigned cap = cc->max_concurrent ? cc->max_concurrent : 256;

  c->blocked_on_capacity = false;
  for (;;) {
    struct job *j = job_heap_peek(&c->heap);
    bool backlogged;
    if (!j || j->timing.next_due_ms > now)
      break;
    /* The bodies still coming in count against queue_max_bytes too. */
    backlogged = pipeline_backlogged(c->pipeline, fetcher_in_flight_bytes(c->fetcher));
    if (fetcher_in_flight(c->fetcher) >= cap || backlogged) {
      c->blocked_on_capacity = true;
      c->stats.deferred++;
      if (c->metrics)
        metrics_add(c->metrics, M_DEFERRED, NULL, 1);
      if (!c->logged_backlog && backlogged)
        log_backlog(c, now);
      break;
    }
    c->logged_backlog = false;
    job_heap_pop(&c->heap);
    if (j->fetch) {
      /* Still running from its last slot: never overlap, skip this one. */
      j->timing.missed++;
      c->stats.missed++;
      if (c->metrics) {
        const char *l[] = {"target", j->target_name, "type", j->profile.name, NULL};
        metrics_add(c->metrics, M_MISSED, l, 1);
      }
      sched_started(&j->timing, now);
      job_heap_push(&c->heap, j);
      continue;
    }
    if (resource_busy(j)) {
      park(c, j);
      continue;
    }
    if (start_job(c, j, now) < 0) {
      log_error("target '%s' instance '%s' %s: cannot start fetch", j->target_name,
                j->instance_name, j->profile.name);
      sched_started(&j->timing, now);
      job_heap_push(&c->heap, j);
      continue;
    }
    if (j->kind == JOB_PROFILE)
      job_heap_push(&c->heap, j);
  }
}

/* Target messages that mean "someone else is profiling this process". */
static bool is_busy_message(long status, const struct buf *body) {
  static const char *const needles[] = {"already in use", "already enabled"};
  if (status != 500 || !body->data)
    return false;
  for (size_t i = 0; i < ARRAY_SIZE(needles); i++)
    if (memmem(body->data, MIN(body->len, (size_t)4096), needles[i], strlen(needles[i])))
      return true;
  return false;
}

/* Checks that a 200 body is what the profile promises. */
static bool body_matches(const struct job *j, const struct fetch *x, char **ret_why) {
  struct format_info fi;
  const struct cfg_profile *p = &j->profile;
  bool binary;
  char *ex;

  format_detect(x->body.data, x->body.len, &fi);
  if (p->expect_trace && fi.format == FORMAT_GO_TRACE)
    return true;
  if (p->expect_pprof && (fi.format == FORMAT_PPROF_GZIP || fi.format == FORMAT_PPROF))
    return true;
  if (!p->expect_trace && !p->expect_pprof && fi.format != FORMAT_HTML && fi.format != FORMAT_EMPTY)
    return true;
  /* Text says what went wrong; of binary data, the first bytes suffice. */
  binary = fi.format == FORMAT_UNKNOWN || fi.format == FORMAT_GZIP || fi.format == FORMAT_PPROF ||
           fi.format == FORMAT_PPROF_GZIP || fi.format == FORMAT_GO_TRACE;
  ex = format_excerpt(x->body.data, x->body.len, binary ? BINARY_EXCERPT_BYTES : EXCERPT_BYTES);
  *ret_why = xasprintf("expected %s, got %s (%zu bytes: \"%s\")",
                       p->expect_trace   ? "a Go execution trace"
                       : p->expect_pprof ? "a pprof profile"
                                         : "a profile",
                       format_description(fi.format), x->body.len, ex);
  free(ex);
  return false;
}

static void log_outcome(struct job *j, const struct capture *cap, unsigned prev_failures,
                        bool connect_class, bool busy, int64_t backoff_ms) {
  struct instance *in = j->inst;
  const char *what = j->kind == JOB_DISCOVERY ? "discovery" : j->profile.name;
  char delay[32];

  if (cap->status == CAPTURE_OK) {
    if (in->down) {
      log_notice("target '%s' instance '%s': recovered after %llu failed fetches", j->target_name,
                 j->instance_name, (unsigned long long)in->down_failures);
      in->down = false;
      in->down_failures = 0;
    } else if (prev_failures > 0) {
      log_notice("target '%s' instance '%s' %s: recovered after %u failures", j->target_name,
                 j->instance_name, what, prev_failures);
    }
    return;
  }
  if (connect_class) {
    in->down_failures++;
    if (!in->down) {
      log_warning("target '%s' instance '%s' %s: %s; backing off", j->target_name,
                  j->instance_name, what, cap->error);
      in->down = true;
    } else {
      log_debug("target '%s' instance '%s' %s: %s", j->target_name, j->instance_name, what,
                cap->error);
    }
    return;
  }
  /* Per job: the 1st, 2nd, 4th, 8th... consecutive failure. */
  {
    unsigned n = j->timing.failures ? j->timing.failures : 1;
    if (busy || (n & (n - 1)) == 0)
      log_warning("target '%s' instance '%s' %s: %s; %s%s", j->target_name, j->instance_name,
                  what, cap->error, backoff_ms ? "retrying in " : "retrying next interval",
                  backoff_ms ? format_duration_ms(backoff_ms, delay, sizeof(delay)) : "");
  }
}

static void finish_discovery(struct collector *c, struct job *j, struct fetch *x) {
  char **names = NULL;
  int64_t now = time_mono_ms();

  if (x->error == FETCH_OK && x->http_status == 200 &&
      cfg_parse_index_page((const char *)x->body.data, x->body.len, &names) == 0 && names &&
      names[0]) {
    collector_apply_discovery(c, j, names);
    j->discovered = true;
    job_heap_remove(&c->heap, j);
  } else {
    char *ex = format_excerpt(x->body.data, x->body.len, EXCERPT_BYTES);
    log_warning("target '%s' instance '%s': profile discovery at %s failed: %s; retrying in %llds",
                j->target_name, j->instance_name, x->url,
                x->error_text ? x->error_text
                : x->http_status != 200
                    ? "unexpected HTTP status"
                    : "no profiles listed on the index page",
                (long long)(j->timing.interval_ms / 1000));
    if (x->http_status && x->http_status != 200)
      log_debug("HTTP %ld: %s", x->http_status, ex);
    free(ex);
    j->timing.next_due_ms = now + j->timing.interval_ms;
    job_heap_push(&c->heap, j);
    job_heap_fix(&c->heap, j);
  }
  if (names) {
    for (size_t i = 0; names[i]; i++)
      free(names[i]);
    free(names);
  }
}

void collector_finish_fetch(struct collector *c, struct fetch *x) {
  struct job *j = x->userdata;
  struct capture *cap;
  bool connect_class = false, busy = false;
  int64_t backoff = 0, now = time_mono_ms();

  j->fetch = NULL;
  if (job_needs_cpu(j))
    j->inst->cpu_busy = false;
  if (job_needs_trace(j))
    j->inst->trace_busy = false;
  wake_parked(c, j->inst, now);

  if (j->kind == JOB_DISCOVERY) {
    if (!j->retired)
      finish_discovery(c, j, x);
    else
      collector_free_finished_job(c, j);
    fetch_free(x);
    return;
  }

  cap = capture_new();
  cap->target = xstrdup(j->target_name);
  cap->instance = xstrdup(j->instance_name);
  cap->type = xstrdup(j->profile.name);
  cap->url = xstrdup(x->url);
  cap->started_at_ms = j->started_wall_ms;
  cap->requested_seconds = j->profile.seconds;
  cap->duration_ms = x->elapsed_ms;
  cap->http_status = x->http_status;
  cap->content_type = x->content_type ? xstrdup(x->content_type) : NULL;
  capture_set_labels(cap, j->labels, j->n_labels);

  switch (x->error) {
  case FETCH_OK: {
    char *why = NULL;
    if (body_matches(j, x, &why)) {
      j->last_body_bytes = (uint32_t)MIN(x->body.len, (size_t)UINT32_MAX);
      hashmap_put(c->type_bytes, j->profile.name, (void *)(uintptr_t)j->last_body_bytes);
      cap->status = CAPTURE_OK;
      cap->body = x->body;
      buf_init(&x->body, 0);
    } else {
      capture_set_error(cap, "%s from %s", why, x->url);
      free(why);
    }
    break;
  }
  case FETCH_ERR_HTTP: {
    char *ex = format_excerpt(x->body.data, x->body.len, EXCERPT_BYTES);
    busy = is_busy_message(x->http_status, &x->body);
    if (busy)
      capture_set_error(cap, "target busy: HTTP %ld from %s: %s", x->http_status, x->url, ex);
    else
      capture_set_error(cap, "HTTP %ld from %s%s%s", x->http_status, x->url, *ex ? ": " : "",
                        ex);
    free(ex);
    break;
  }
  case FETCH_ERR_CONNECT:
    /* Refused, DNS: the whole instance is down, logged once for all of its
     * jobs. Timeouts stay per job (one slow endpoint is not a down
     * process), and so do TLS failures: targets sharing a process may
     * differ in their tls settings. */
    connect_class = true;
    /* fall through */
  default:
    capture_set_error(cap, "%s (GET %s)", x->error_text ? x->error_text : "fetch failed", x->url);
    break;
  }

  /* With the "stored as capture" line of the writer, this lets tests (and
   * an operator with -d) match every received capture to its row. */
  log_debug("target '%s' instance '%s' %s: received %s, %zu bytes, started at %lld", cap->target,
            cap->instance, cap->type, capture_status_name(cap->status), cap->body.len,
            (long long)cap->started_at_ms);
  daemon_metrics_capture(c->metrics, cap);
  if (cap->status == CAPTURE_OK)
    c->stats.succeeded++;
  else
    c->stats.failed++;
  if (!j->retired) {
    unsigned prev_failures = j->timing.failures;
    backoff = sched_finished(&j->timing, cap->status == CAPTURE_OK, busy,
                             now - x->elapsed_ms, c->cfg->collector.max_backoff_ms);
    job_heap_fix(&c->heap, j);
    if (x->error != FETCH_ERR_ABORTED)
      log_outcome(j, cap, prev_failures, connect_class, busy, backoff);
  }
  pipeline_submit(c->pipeline, cap);
  if (j->retired)
    collector_free_finished_job(c, j);
  fetch_free(x);
}

void collector_step(struct collector *c) {
  struct fetch *x;
  fetcher_perform(c->fetcher);
  while ((x = fetcher_next_done(c->fetcher)))
    collector_finish_fetch(c, x);
  if (!c->stopping)
    start_due(c);
}

void collector_abort_all(struct collector *c) {
  size_t pos = 0;
  void *value;
  while (hashmap_next(c->jobs, &pos, NULL, &value)) {
    struct job *j = value;
    if (j->fetch)
      fetcher_abort(c->fetcher, j->fetch);
  }
  for (size_t i = 0; i < c->n_orphans; i++)
    if (c->orphans[i]->fetch)
      fetcher_abort(c->fetcher, c->orphans[i]->fetch);
}
