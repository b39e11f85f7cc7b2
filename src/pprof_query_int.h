/* Internals of pprof_query_aggregate() shared by pprof_query.c (the
 * scan of every capture's rows) and pprof_query_rollup.c (the scan of the
 * rollups, pprof_rollup.h). Not for other modules. */
#ifndef PPROFD_PPROF_QUERY_INT_H
#define PPROFD_PPROF_QUERY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pprof_keymap.h"
#include "pprof_query.h"

/* Sums per function id of the group being scanned. Function ids are
 * dense (an INTEGER PRIMARY KEY), so a flat array indexed by id beats any
 * hash; `touched` remembers which entries to collect and clear when the
 * group changes (rows come ordered by group). */
struct acc {
  int64_t *flat, *cum;
  uint8_t *used;
  uint32_t *pos; /* flush_group's row index + 1 by id, zero between flushes */
  size_t cap;
  int64_t *touched;
  size_t n_touched, touched_cap;
};

struct scan {
  struct store *s;
  const struct pprof_agg_opts *o;
  struct pprof_agg *agg;
  struct keymap groups;
  struct acc acc;
  int64_t acc_group;  /* the group acc holds, -1 for none */
  int64_t want_index; /* -1 when matching by name or default */
  const char *want_name, *want_noinuse;
  struct keymap stale; /* rollup cells read raw: target\0instance\0type\0span:bucket */
  int64_t cur_capture;
  bool cur_matched;
  char *err;
};

/* pprof_funcs_decode() callback: adds a triple to the current group. */
void pprof_query_add_triple(int64_t id, int64_t flat, int64_t cum, void *ud);
/* The group of target (of everything unless grouping by target), made
 * current: the sums of the previous one are flushed into its rows. */
struct pprof_agg_group *pprof_query_group_for(struct scan *sc, const char *target);
/* Every (capture, sample type) row of the captures f selects, in whatever
 * order is cheapest. */
int pprof_query_scan_all(struct scan *sc, const struct store_filter *f);
/* The captures f selects, whole days and hours from the rollups, the rest
 * through pprof_query_scan_all(). -EAGAIN (or any error): the caller
 * starts over from the raw rows alone. */
int pprof_query_rollups(struct scan *sc, const struct store_filter *f);

#endif
