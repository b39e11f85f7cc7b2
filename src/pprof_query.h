/* Questions across captures, answered from the stored pprof rows without
 * reading raw profiles: the top functions of every capture a filter
 * selects (optionally per target), and per-function means of a selection,
 * which diffs of time windows compare. */
#ifndef PPROFD_PPROF_QUERY_H
#define PPROFD_PPROF_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct pprof_agg_row {
  int64_t function_id;
  char *name;
  char *file;
  int64_t flat;
  int64_t cum;
};

struct pprof_agg_group {
  char *target; /* NULL unless grouped by target */
  int64_t total;
  size_t n_captures;
  int64_t first_ms, last_ms; /* started_at of the oldest and newest capture */
  size_t n_functions;        /* distinct functions before the limit */
  size_t n_rows;
  struct pprof_agg_row *rows; /* sorted by |flat| (or |cum|), then name */
  bool merge_needed;          /* internal */
};

struct pprof_agg {
  char *sample_type;
  char *unit;
  size_t n_captures;  /* captures that had the sample type */
  size_t n_skipped;   /* matching captures without pprof rows or that type */
  size_t n_rolled_up; /* of n_captures + n_skipped, read from rollups */
  size_t n_groups;
  struct pprof_agg_group *groups;
};

struct pprof_agg_opts {
  const char *sample_type; /* type name or index; NULL = each capture's default */
  bool by_target;
  bool cum_sort;
  size_t limit;   /* rows per group; 0 = all */
  bool no_rollup; /* read every capture's own rows (tests, comparisons) */
};

/* Sums flat, cum and totals over the captures f selects (only ok captures
 * with pprof rows count). Whole days and hours come from the rollups
 * (pprof_rollup.h) unless o->no_rollup or f->limit is set; the result is
 * the same either way. -ENOENT with a message when nothing matched,
 * -EINVAL when the captures disagree on the unit of the sample type. */
int pprof_query_aggregate(struct store *s, const struct store_filter *f,
                          const struct pprof_agg_opts *o, struct pprof_agg **ret, char **ret_err);
struct pprof_agg *pprof_agg_free(struct pprof_agg *a);

#endif
