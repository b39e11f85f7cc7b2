/* Hourly and daily rollups of the pprof function rows, so that `pprofctl
 * top` over many captures reads one summed row per day (or hour) and
 * series instead of one row per capture.
 *
 * pprof_rollups holds, per (target, instance, type, span, bucket,
 * labelset, sample-type signature), where span is an hour or a UTC day
 * and bucket = floor(started_at_ms / span), the number of captures, their
 * first and last
 * start times, the wrapped sums of their sample-type totals and a funcs
 * blob in the format of pprof_profiles.funcs with the summed (function,
 * flat, cum) triples. Sums wrap like pp_add(), so they do not depend on
 * the order in which captures were added.
 *
 * A "cell" is (target, instance, type, span, bucket). Every ok capture
 * with pprof rows is added to its hour's and its day's rollup in the
 * transaction that stores the
 * rows (pprof_rows_store). Anything else that changes a cell (deleting a
 * capture, or its pprof rows, or updating them) marks all rollup rows of
 * the cell stale through triggers, in the same statement; queries read a
 * stale day through its hours and a stale hour from the raw rows, and
 * pprof_rollup_repair() rebuilds them (pruning, in each batch's
 * transaction, the hours; a read-write open, all). */
#ifndef PPROFD_PPROF_ROLLUP_H
#define PPROFD_PPROF_ROLLUP_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct pprof_detail;

#define PPROF_ROLLUP_HOUR_MS INT64_C(3600000)
#define PPROF_ROLLUP_DAY_MS INT64_C(86400000)
#define PPROF_ROLLUP_N_SPANS 2
/* Longest first. */
extern const int64_t pprof_rollup_spans[PPROF_ROLLUP_N_SPANS];

/* Schema version 2: the table, its triggers, and stale placeholders for
 * every cell that already has pprof rows (pprof_rollup_repair() fills
 * them after the migration). */
extern const char store_schema_pprof_rollup[];

/* floor(ms / span_ms) */
int64_t pprof_rollup_bucket(int64_t ms, int64_t span_ms);

/* Adds capture_id (already in captures, status ok) with its encoded funcs
 * blob to its rollup row. The caller holds the transaction. */
int pprof_rollup_add(struct store *s, int64_t capture_id, const struct pprof_detail *d,
                     const uint8_t *funcs, size_t funcs_len);

/* Rebuilds every stale cell of a span up to max_span_ms from the raw rows;
 * cells without captures lose their rollup rows. Longer stale cells stay
 * stale unless they are empty (queries read them through the shorter
 * spans): pruning, which cuts into the oldest day at every run, rebuilds
 * hours only. The caller holds the transaction. Cells whose raw rows
 * cannot be decoded stay stale (queries then read them raw and report the
 * corruption). */
int pprof_rollup_repair(struct store *s, int64_t max_span_ms);

/* The signature of a capture's sample types: "<default>;" followed by
 * "<len>:<type><len>:<unit>" per type. pprof_rollup_sig_parse() returns
 * the number of types and writes up to max (type, unit) pointer/length
 * pairs into the arrays, or -EBADMSG. */
int pprof_rollup_sig_parse(const char *sig, int64_t *ret_default, size_t max, const char **types,
                           size_t *type_lens, const char **units, size_t *unit_lens);

/* Reads value number idx of a totals blob (zigzag varints). */
int pprof_rollup_total(const uint8_t *p, size_t len, size_t idx, int64_t *ret);

#endif
