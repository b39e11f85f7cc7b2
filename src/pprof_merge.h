/* Merging profiles the way pprof's profile.Merge (and profefe's merge
 * endpoint) does: the inputs must have the same period type and sample
 * types; mappings, functions and locations are remapped into one table;
 * samples with the same stack and labels are summed and zero samples are
 * dropped; the time is the earliest, durations add up, the period is the
 * largest, comments are deduplicated.
 *
 * A diff is a merge where the base enters negated and labelled
 * pprof::base=true, which is what `go tool pprof -diff_base` builds: pprof
 * then shows changes relative to the base. */
#ifndef PPROFD_PPROF_MERGE_H
#define PPROFD_PPROF_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "pprof.h"

struct pprof_merge;

struct pprof_merge *pprof_merge_new(void);
struct pprof_merge *pprof_merge_free(struct pprof_merge *m);
/* Adds one profile. -EINVAL with a message when it is not compatible with
 * the first one added (name is used in the message). */
int pprof_merge_add(struct pprof_merge *m, const struct pprof_profile *p, const char *name,
                    char **ret_err);
/* For diffs: adds p with its values negated and a pprof::base label. */
int pprof_merge_add_base(struct pprof_merge *m, const struct pprof_profile *p, const char *name,
                         char **ret_err);
size_t pprof_merge_count(const struct pprof_merge *m);
/* Writes the merged profile, gzip'd, into out. -ENODATA when nothing was
 * added. */
int pprof_merge_write(struct pprof_merge *m, struct buf *out);

#endif
