/* Flat and cumulative values per function, computed exactly as
 * `go tool pprof -top` (Go 1.19) computes them at its default "functions"
 * granularity:
 *   - a sample's value is the flat value of its leaf frame, where inlined
 *     frames are frames of their own;
 *   - its cumulative value counts once for every function on the stack,
 *     even when the function recurses;
 *   - the total is the sum of the absolute sample values (stack-less
 *     samples included), or of the diff base when there is one;
 *   - nodes whose |cum| is below node_fraction of the summed flat values
 *     are dropped, then the rest is sorted (by |flat| or |cum|, ties by
 *     name) and cut to node_count.
 * Goroutine profiles also get their stacks grouped and counted. */
#ifndef PPROFD_PPROF_SUMMARY_H
#define PPROFD_PPROF_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pprof.h"

struct pprof_top_opts {
  double node_fraction; /* pprof's -nodefraction, default 0.005 */
  double edge_fraction; /* pprof's -edgefraction, default 0.001 */
  size_t node_count;    /* pprof's -nodecount; 0 = all */
  bool cum_sort;        /* -cum */
  bool inline_marks;    /* compute rows' "(inline)" marks (an extra walk over
                           every sample); default true */
};

void pprof_top_opts_default(struct pprof_top_opts *o);

enum pprof_inline {
  PPROF_INLINE_NONE = 0,
  PPROF_INLINE_FULL,    /* "(inline)": only ever reached through inlining */
  PPROF_INLINE_PARTIAL, /* "(partial-inline)" */
};

struct pprof_top_row {
  uint32_t node; /* index into pprof_nodes */
  int64_t flat;
  int64_t cum;
  enum pprof_inline inl;
};

struct pprof_top {
  int sample_index;
  int64_t total;        /* what percentages are relative to */
  int64_t flat_sum;     /* sum of the flat values of all nodes */
  int64_t node_cutoff;  /* nodes with |cum| below this were dropped */
  size_t n_nodes_all;   /* nodes with a nonzero value before dropping */
  size_t dropped_nodes; /* dropped by node_fraction */
  size_t orig_count;    /* nodes left after dropping (before node_count) */
  size_t n_rows;
  struct pprof_top_row *rows;
};

/* Computes the -top report of one sample type. */
struct pprof_top *pprof_top_compute(const struct pprof_profile *p, const struct pprof_nodes *nodes,
                                    int sample_index, const struct pprof_top_opts *o);
/* The same for every sample type at once, into tops[0..n_sample_types):
 * the walks over the samples are shared, so this costs about as much as
 * one pprof_top_compute(). */
void pprof_tops_compute(const struct pprof_profile *p, const struct pprof_nodes *nodes,
                        const struct pprof_top_opts *o, struct pprof_top **tops);
struct pprof_top *pprof_top_free(struct pprof_top *t);
const char *pprof_inline_label(enum pprof_inline inl);

/* pprof's total: sum of |value| over all samples, or over the samples
 * labelled pprof::base when some are. */
int64_t pprof_total(const struct pprof_profile *p, int sample_index);

/* Sorts rows like pprof: by |flat| (or |cum| when cum_sort), then name,
 * then the other value. */
void pprof_rows_sort(struct pprof_top_row *rows, size_t n, const struct pprof_nodes *nodes,
                     bool cum_sort);

/* A goroutine profile's stacks, grouped by their function sequence. */
struct pprof_stack {
  int64_t count;
  size_t n_frames;
  uint32_t *frames; /* node indexes, leaf first */
};

struct pprof_stacks {
  int64_t total;              /* sum of counts = the number of goroutines */
  size_t n_stacks;            /* distinct stacks */
  struct pprof_stack *stacks; /* sorted by count, descending */
};

/* True for a profile whose only sample type is ("goroutine", "count"). */
bool pprof_is_goroutine_profile(const struct pprof_profile *p);
/* Groups the samples of sample type 0 by stack. */
struct pprof_stacks *pprof_stacks_compute(const struct pprof_profile *p,
                                          const struct pprof_nodes *nodes);
struct pprof_stacks *pprof_stacks_free(struct pprof_stacks *s);

#endif
