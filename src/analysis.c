#include "config.h"

#include "analysis.h"
#include "gotrace_analysis.h"
#include "buf.h"
#include "pprof.h"
#include "pprof_analyze.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void analysis_opts_default(struct analysis_opts *o) {
  o->min_function_share = 0.005;
  o->max_functions = 300;
  o->max_decompressed = 256ULL << 20;
}

const char *analysis_status_name(enum analysis_status s) {
  switch (s) {
  case ANALYSIS_OK:
    return "ok";
  case ANALYSIS_ERROR:
    return "error";
  case ANALYSIS_UNSUPPORTED:
    return "unsupported";
  case ANALYSIS_NONE:
    break;
  }
  return "none";
}

void analysis_set_error(struct analysis *a, enum analysis_status st, const char *fmt, ...) {
  va_list ap;
  char *msg;

  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = xstrdup("analysis error (message lost: out of memory)");
  va_end(ap);
  free(a->error);
  a->error = msg;
  a->status = st;
}

/* A gzip'd profile is inflated once, here: its format is told from the
 * inflated bytes, which the pprof decoder then reads as they are (telling
 * the format used to inflate a prefix of it a second time, with zlib). A
 * stream that does not inflate, or is not a profile, takes the general
 * path, which classifies it and names any error as before. */
static bool analyse_gzip_pprof(struct analysis *a, const char *profile_type, const uint8_t *data,
                               size_t len, const struct analysis_opts *o) {
  struct buf plain;
  char *err = NULL;
  bool done = false;

  if (!o || len < 2 || data[0] != 0x1f || data[1] != 0x8b)
    return false;
  buf_init(&plain, o->max_decompressed);
  if (pprof_gunzip(data, len, &plain, &err) == 0 && format_inflated_is_pprof(plain.data, plain.len)) {
    a->format.format = FORMAT_PPROF_GZIP;
    a->format.trace_minor = 0;
    pprof_analyze(a, profile_type, plain.data, plain.len, true, o);
    done = true;
  }
  free(err);
  buf_done(&plain);
  return done;
}

struct analysis *analysis_run(const char *profile_type, const uint8_t *data, size_t len,
                              const struct analysis_opts *o) {
  struct analysis *a = xcalloc(1, sizeof(*a));
  int64_t t0 = time_mono_ns();

  (void)profile_type;
  (void)o;
  a->json = json_object();
  if (analyse_gzip_pprof(a, profile_type, data, len, o))
    goto done;
  format_detect(data, len, &a->format);
  switch (a->format.format) {
  /* Analysers register here: pprof (FORMAT_PPROF, FORMAT_PPROF_GZIP) and
   * Go execution traces (FORMAT_GO_TRACE). */
  case FORMAT_GO_TRACE:
    gotrace_analyze(a, data, len);
    break;
  case FORMAT_PPROF:
  case FORMAT_PPROF_GZIP:
    pprof_analyze(a, profile_type, data, len, false, o);
    break;
  default:
    a->status = ANALYSIS_NONE;
    break;
  }
done:
  json_object_set_new(a->json, "format", json_string(format_name(a->format.format)));
  a->elapsed_us = (time_mono_ns() - t0) / 1000;
  return a;
}

struct analysis *analysis_free(struct analysis *a) {
  if (!a)
    return NULL;
  if (a->ops && a->ops->free_detail)
    a->ops->free_detail(a->detail);
  json_decref(a->json);
  free(a->error);
  free(a);
  return NULL;
}
