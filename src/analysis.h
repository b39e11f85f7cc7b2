/* Analysis at ingest. analysis_run() detects the format and dispatches to
 * the analyser for it (pprof, Go execution trace); it runs on a worker
 * thread, never on the fetch loop. The result has two faces:
 *   - json: the summary object that `pprofctl show` prints as "analysis";
 *   - detail + ops: typed data that ops->store_rows() writes as rows inside
 *     the capture's transaction, so cross-capture questions are queries.
 * A capture whose content cannot be analysed still gets stored; the
 * analysis then carries status ERROR/UNSUPPORTED and a message. */
#ifndef PPROFD_ANALYSIS_H
#define PPROFD_ANALYSIS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"

struct store;

enum analysis_status {
  ANALYSIS_NONE = 0,      /* nothing to analyse (failed fetch, text body) */
  ANALYSIS_OK,
  ANALYSIS_ERROR,         /* malformed input: error says what and where */
  ANALYSIS_UNSUPPORTED,   /* e.g. "unsupported trace version go 1.27" */
};

struct analysis_ops {
  const char *name; /* "pprof", "trace" */
  /* Writes rows for capture_id inside the caller's open transaction.
   * Returns 0 or a negative errno (details in store_errmsg()). */
  int (*store_rows)(struct store *s, int64_t capture_id, const void *detail);
  void (*free_detail)(void *detail);
};

struct analysis_opts {
  double min_function_share;  /* pprof: keep functions >= this share (0.005) */
  unsigned max_functions;     /* pprof: cap per sample type (300) */
  size_t max_decompressed;    /* gzip inflate cap (256 MiB) */
};

struct analysis {
  struct format_info format;
  enum analysis_status status;
  char *error;
  json_t *json;                   /* always an object (possibly empty) */
  const struct analysis_ops *ops; /* NULL when there are no rows */
  void *detail;
  int64_t elapsed_us;
};

void analysis_opts_default(struct analysis_opts *o);
/* profile_type is the capture's type ("cpu", "trace", ...); it is a hint,
 * the detected format decides. Never returns NULL. */
struct analysis *analysis_run(const char *profile_type, const uint8_t *data, size_t len,
                              const struct analysis_opts *o);
struct analysis *analysis_free(struct analysis *a);
void analysis_set_error(struct analysis *a, enum analysis_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *analysis_status_name(enum analysis_status s);

#endif
