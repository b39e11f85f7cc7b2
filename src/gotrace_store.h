/* Rows of the Go execution trace analysis (schema in gotrace_store.c):
 * written inside the capture's transaction by gotrace_analysis_ops, read
 * back as a struct trace_summary for `pprofctl trace`. */
#ifndef PPROFD_GOTRACE_STORE_H
#define PPROFD_GOTRACE_STORE_H

#include <stdint.h>

#include "gotrace.h"
#include "store.h"

/* CREATE statements of the trace tables (registered in store_schema.c). */
extern const char store_schema_trace[];

/* Stored profile samples per kind and capture (largest delay first). */
#define GOTRACE_MAX_STORED_SAMPLES 10000

/* Writes the rows of a summary for capture_id (inside the caller's open
 * transaction). detail is a const struct trace_summary *. Returns 0,
 * -ENOSPC or -EIO (sqlite3_errmsg() of the connection has the details). */
int gotrace_store_rows(struct store *s, int64_t capture_id, const void *detail);

/* Reads the rows of capture_id back into *ret (initialised by the call;
 * free with trace_summary_done()). -ENOENT when the capture has no trace
 * analysis rows. */
int gotrace_store_load(struct store *s, int64_t capture_id, struct trace_summary *ret);

#endif
