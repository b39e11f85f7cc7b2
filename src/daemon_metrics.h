/* The daemon's metric families: names, help texts and buckets in one
 * place, and small helpers the collector and pipeline call. */
#ifndef PPROFD_DAEMON_METRICS_H
#define PPROFD_DAEMON_METRICS_H

#include "capture.h"
#include "metrics.h"

#define M_CAPTURES "pprofd_captures_total"
#define M_LAST_SUCCESS "pprofd_last_success_timestamp_seconds"
#define M_LAST_ATTEMPT "pprofd_last_attempt_timestamp_seconds"
#define M_CAPTURE_DURATION "pprofd_capture_duration_seconds"
#define M_CAPTURE_SIZE "pprofd_capture_size_bytes"
#define M_ANALYSIS_DURATION "pprofd_analysis_duration_seconds"
#define M_ANALYSIS_ERRORS "pprofd_analysis_errors_total"
#define M_STORED "pprofd_stored_captures_total"
#define M_STORE_ERRORS "pprofd_store_errors_total"
#define M_DROPPED "pprofd_dropped_captures_total"
#define M_QUEUE_DEPTH "pprofd_queue_depth"
#define M_QUEUE_FULL "pprofd_queue_full_total"
#define M_QUEUE_BYTES "pprofd_queue_bytes"
#define M_QUEUE_BYTES_PEAK "pprofd_queue_bytes_peak"
#define M_FETCH_BYTES "pprofd_fetch_bytes_in_flight"
#define M_DB_SIZE "pprofd_database_size_bytes"
#define M_PRUNED "pprofd_pruned_captures_total"
#define M_SCHED_LAG "pprofd_schedule_lag_seconds"
#define M_MISSED "pprofd_missed_schedules_total"
#define M_DEFERRED "pprofd_deferred_starts_total"
#define M_IN_FLIGHT "pprofd_fetches_in_flight"
#define M_JOBS "pprofd_jobs"
#define M_TARGETS "pprofd_targets"
#define M_RELOADS "pprofd_config_reloads_total"
#define M_BUILD_INFO "pprofd_build_info"
#define M_START_TIME "pprofd_start_time_seconds"

/* Declares every family. */
void daemon_metrics_declare(struct metrics *m);
/* A fetch finished (on the loop thread). */
void daemon_metrics_capture(struct metrics *m, const struct capture *c);

#endif
