#include "config.h"

#include "daemon_metrics.h"
#include "util.h"

void daemon_metrics_declare(struct metrics *m) {
  static const double dur[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  static const double size[] = {1024,    16384,    65536,    262144,   1048576,
                                4194304, 16777216, 67108864, 268435456};
  static const double lag[] = {0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30};
  static const double ana[] = {0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
  const char *build[] = {"version", PACKAGE_VERSION, NULL};

  if (!m)
    return;
  /* One series per target (instance) and type: tens of thousands at scale,
   * so stored grouped by target (and instance), one label string each. */
  metrics_declare_grouped(m, M_CAPTURES, METRIC_COUNTER,
                          "Captures taken, by target, profile type and status (ok or failed).", 1);
  metrics_declare_grouped(m, M_LAST_SUCCESS, METRIC_GAUGE,
                          "Unix time of the last successful capture per target instance and type.",
                          2);
  metrics_declare_grouped(m, M_LAST_ATTEMPT, METRIC_GAUGE,
                          "Unix time of the last capture attempt per target instance and type.", 2);
  metrics_declare(m, M_CAPTURE_DURATION, METRIC_HISTOGRAM,
                  "Duration of fetches (including the profile's seconds), by type.", dur,
                  ARRAY_SIZE(dur));
  metrics_declare(m, M_CAPTURE_SIZE, METRIC_HISTOGRAM, "Size of captured bodies, by type.", size,
                  ARRAY_SIZE(size));
  metrics_declare(m, M_ANALYSIS_DURATION, METRIC_HISTOGRAM,
                  "Time spent analysing a capture at ingest, by format.", ana, ARRAY_SIZE(ana));
  metrics_declare(m, M_ANALYSIS_ERRORS, METRIC_COUNTER,
                  "Captures whose content could not be analysed, by format and status.", NULL, 0);
  metrics_declare(m, M_STORED, METRIC_COUNTER, "Captures committed to the database.", NULL, 0);
  metrics_declare(m, M_STORE_ERRORS, METRIC_COUNTER,
                  "Captures the database refused (disk full, I/O error).", NULL, 0);
  metrics_declare(m, M_DROPPED, METRIC_COUNTER, "Captures dropped, by reason.", NULL, 0);
  metrics_declare(m, M_QUEUE_DEPTH, METRIC_GAUGE,
                  "Captures waiting in the pipeline, by queue (analysis, store).", NULL, 0);
  metrics_declare(m, M_QUEUE_FULL, METRIC_COUNTER,
                  "Times the analysis queue reached its bound (captures or bytes) and new "
                  "fetches were delayed.",
                  NULL, 0);
  metrics_declare(m, M_QUEUE_BYTES, METRIC_GAUGE,
                  "Bytes held by captures waiting in the pipeline, by queue (analysis, store).",
                  NULL, 0);
  metrics_declare(m, M_QUEUE_BYTES_PEAK, METRIC_GAUGE,
                  "The most bytes captures ever held in the pipeline at once.", NULL, 0);
  metrics_declare(m, M_FETCH_BYTES, METRIC_GAUGE,
                  "Bytes of response bodies received so far by fetches in flight.", NULL, 0);
  metrics_declare(m, M_DB_SIZE, METRIC_GAUGE, "Size of the database in bytes.", NULL, 0);
  metrics_declare(m, M_PRUNED, METRIC_COUNTER, "Captures deleted by retention.", NULL, 0);
  metrics_declare(m, M_SCHED_LAG, METRIC_HISTOGRAM,
                  "How late jobs start after their scheduled time.", lag, ARRAY_SIZE(lag));
  metrics_declare_grouped(m, M_MISSED, METRIC_COUNTER,
                          "Scheduled runs skipped because the previous run was still going or "
                          "the loop was late, by target and type.",
                          1);
  metrics_declare(m, M_DEFERRED, METRIC_COUNTER,
                  "Job starts delayed by the concurrency cap or a full pipeline.", NULL, 0);
  metrics_declare(m, M_IN_FLIGHT, METRIC_GAUGE, "Fetches in flight.", NULL, 0);
  metrics_declare(m, M_JOBS, METRIC_GAUGE, "Scheduled jobs (target instance x profile).", NULL, 0);
  metrics_declare(m, M_TARGETS, METRIC_GAUGE, "Configured targets.", NULL, 0);
  metrics_declare(m, M_RELOADS, METRIC_COUNTER, "Configuration reloads, by result.", NULL, 0);
  metrics_declare(m, M_BUILD_INFO, METRIC_GAUGE, "pprofd build information.", NULL, 0);
  metrics_declare(m, M_START_TIME, METRIC_GAUGE, "Unix time pprofd started.", NULL, 0);
  metrics_set(m, M_BUILD_INFO, build, 1);
  metrics_set(m, M_START_TIME, NULL, (double)time_wall_ms() / 1000.0);
}

void daemon_metrics_capture(struct metrics *m, const struct capture *c) {
  const char *st = capture_status_name(c->status);
  const char *l_status[] = {"target", c->target, "type", c->type, "status", st, NULL};
  const char *l_inst[] = {"target", c->target, "instance", c->instance, "type", c->type, NULL};
  const char *l_type[] = {"type", c->type, NULL};
  double when = (double)(c->started_at_ms + c->duration_ms) / 1000.0;

  if (!m)
    return;
  metrics_add(m, M_CAPTURES, l_status, 1);
  metrics_set(m, M_LAST_ATTEMPT, l_inst, when);
  if (c->status == CAPTURE_OK) {
    metrics_set(m, M_LAST_SUCCESS, l_inst, when);
    metrics_observe(m, M_CAPTURE_SIZE, l_type, (double)c->body.len);
  }
  metrics_observe(m, M_CAPTURE_DURATION, l_type, (double)c->duration_ms / 1000.0);
}
