/* The Go execution trace analyser (registered in analysis.c for
 * FORMAT_GO_TRACE): picks the parser by header version, turns the
 * struct trace_summary into the analysis JSON and hands it on as the
 * detail that gotrace_analysis_ops.store_rows writes as rows. */
#ifndef PPROFD_GOTRACE_ANALYSIS_H
#define PPROFD_GOTRACE_ANALYSIS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "analysis.h"
#include "buf.h"
#include "gotrace.h"

extern const struct analysis_ops gotrace_analysis_ops;

/* Parses a trace of any supported version: 0, -EPROTO (corrupt, message
 * names the offset) or -ENOTSUP ("unsupported trace version go 1.27"). */
int gotrace_parse(const uint8_t *data, size_t len, struct trace_summary *ret, char **ret_err);

/* Fills a (status, error, json, ops, detail) for a trace capture. */
void gotrace_analyze(struct analysis *a, const uint8_t *data, size_t len);

/* The analysis JSON of a summary (a new object). */
json_t *gotrace_summary_to_json(const struct trace_summary *s);

/* Profile kind names as used in JSON, rows and `pprofctl trace --pprof`:
 * "net", "sync", "syscall", "sched". Returns -1 for an unknown name. */
const char *gotrace_profile_name(int kind);
int gotrace_profile_kind(const char *name);

/* Writes blocking profile `kind` of s into out as a gzip'd pprof, like
 * `go tool trace -pprof=KIND` (time_ms: the capture's start, as the
 * profile's time). Returns 0 or a negative errno and *ret_err. */
int gotrace_profile_pprof(const struct trace_summary *s, int kind, int64_t time_ms, struct buf *out,
                          char **ret_err);

/* libFuzzer-style entry point: parses anything, never crashes. */
int gotrace_fuzz_one(const uint8_t *data, size_t len);

#endif
