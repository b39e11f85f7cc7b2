/* pprof analysis results as rows (see store_schema_pprof for the tables).
 *
 * At ingest, pprof_analyze() turns a profile into a struct pprof_detail:
 * for each sample type its total and the functions whose |cum| reaches the
 * configured share of it (pprof's -nodefraction rule), with flat and cum in
 * the profile's own units; for goroutine profiles the goroutine count and
 * the most common stacks. pprof_rows_store() writes it inside the
 * capture's transaction, interning functions by (name, file) across
 * captures. */
#ifndef PPROFD_PPROF_ROWS_H
#define PPROFD_PPROF_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct store;

struct pprof_row_fn {
  char *name;
  char *file;
};

struct pprof_row_stat {
  uint32_t fn; /* index into pprof_detail.fns */
  int64_t flat;
  int64_t cum;
};

struct pprof_row_type {
  char *type;
  char *unit;
  int64_t total;
  size_t n_stats;
  struct pprof_row_stat *stats; /* pprof -top order (by |flat|) */
};

struct pprof_row_stack {
  int64_t count;
  uint32_t leaf_fn; /* index into fns, or UINT32_MAX for an empty stack */
  char *frames;     /* function names, leaf first, one per line */
};

struct pprof_detail {
  size_t n_fns;
  struct pprof_row_fn *fns;
  size_t n_types;
  struct pprof_row_type *types;
  int default_type;
  char *period_type, *period_unit;
  int64_t period, time_nanos, duration_nanos;
  int64_t n_samples;
  bool is_goroutine;
  int64_t goroutines;
  size_t n_stacks;
  struct pprof_row_stack *stacks; /* by count, descending */
};

void pprof_detail_free(struct pprof_detail *d);

/* The tables, registered in the store's schema v1. */
extern const char store_schema_pprof[];

/* Writes d for capture_id; the caller holds the transaction. Returns 0 or
 * a negative errno (details in store_errmsg()). */
int pprof_rows_store(struct store *s, int64_t capture_id, const void *detail);

/* The compact column pprof_profiles.funcs: one section per sample type,
 * each a varint byte length followed by (function id, flat, cum) triples
 * as varints, ids ascending and delta-coded, values zigzag-coded.
 * pprof_funcs_encode() appends one section to out. */
/* Base-128 varints (LSB first, as protobuf) of the funcs blobs and the
 * rollup rows; pprof_varint_get() returns -EBADMSG on a truncated or
 * overlong one. */
int pprof_varint_put(struct buf *out, uint64_t v);
int pprof_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *ret);

int pprof_funcs_encode(const int64_t *ids, const int64_t *flat, const int64_t *cum, size_t n,
                       struct buf *out);
/* Calls cb for each triple of the given section; -ENOENT when there is no
 * such section, -EBADMSG when the blob is corrupt. */
int pprof_funcs_decode(const uint8_t *p, size_t len, size_t section,
                       void (*cb)(int64_t id, int64_t flat, int64_t cum, void *ud), void *ud);

#endif
