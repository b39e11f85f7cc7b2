/* Helpers shared by the pprof commands of pprofctl (top, merge, diff,
 * flamegraph): loading a capture's profile, selecting captures, choosing
 * a sample type, progress on a terminal, writing output files. Functions
 * that return a CTL_EXIT_* code have printed the error already. */
#ifndef PPROFD_CTL_PPROF_H
#define PPROFD_CTL_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "ctl.h"
#include "pprof.h"

/* Largest profile pprofctl inflates: more than the daemon's default
 * collector.max_decompressed_size, so that one command can look at a
 * capture the daemon declined to analyse. */
#define CTL_PPROF_MAX_DECOMPRESSED (1024ULL * 1024 * 1024)

/* Reads and decodes capture id. 0, or CTL_EXIT_NOTFOUND after printing
 * why (no such capture, failed fetch, not a pprof profile, malformed). */
int ctl_pprof_load(struct store *s, int64_t id, struct pprof_profile **ret);

/* The ids (oldest first) of the ok captures f selects that were analysed
 * as pprof profiles; *ret_skipped counts the others. */
int ctl_pprof_select(struct store *s, const struct store_filter *f, int64_t **ret_ids,
                     size_t *ret_n, size_t *ret_skipped);

/* want is NULL (the profile's default), a type name or an index. Prints
 * the available types and returns CTL_EXIT_NOTFOUND when there is none. */
int ctl_pprof_sample_index(const struct pprof_profile *p, const char *want, int64_t id, int *ret);

/* "N/M captures" on stderr, redrawn at most every 100 ms, only when
 * stderr is a terminal and there are enough captures to be worth it. */
struct ctl_progress {
  const char *what;
  size_t total;
  int64_t last_ms;
  bool on;
};
void ctl_progress_init(struct ctl_progress *p, const char *what, size_t total);
void ctl_progress_step(struct ctl_progress *p, size_t done);
void ctl_progress_end(struct ctl_progress *p);

/* Writes b to path through a temporary file renamed into place, so a
 * failure never leaves a truncated file; "-" is stdout. */
int ctl_pprof_write_file(struct ctl *ctl, const char *path, const struct buf *b);

/* A selection for diff: a capture id, or a time window "SINCE..UNTIL"
 * (times as --since takes them; an empty end is open). */
struct ctl_selection {
  int64_t id; /* > 0 for a capture */
  int64_t since_ms, until_ms;
};
int ctl_parse_selection(struct ctl *ctl, const char *arg, struct ctl_selection *ret);

struct pprof_merge;
/* Loads captures ids[0..n) into m (with base: as the base of a diff),
 * showing progress as `what`. */
int ctl_pprof_merge_ids(struct store *s, struct pprof_merge *m, const int64_t *ids, size_t n,
                        bool base, const char *what);

/* Formats value in unit the way pprof prints it in reports. */
const char *ctl_pprof_value(int64_t value, const char *unit, const char *out_unit, char *buf,
                            size_t size);

#endif
