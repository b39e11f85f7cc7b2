/* Flame graphs as self-contained SVG: one rectangle per function on a
 * call path, as wide as its cumulative value; titles on hover, click to
 * zoom into a frame, search by regular expression (with the matched share
 * of the total), reset with Escape. No external resources: it opens from
 * a file in any browser, offline.
 *
 * Frames are pprof's function-level nodes (inlined calls are frames of
 * their own), siblings are ordered by name so graphs of different
 * captures line up, and several profiles can be added to one graph. */
#ifndef PPROFD_FLAMEGRAPH_H
#define PPROFD_FLAMEGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "pprof.h"

struct flamegraph;

struct flamegraph_opts {
  const char *title;    /* default "Flame Graph" */
  const char *subtitle; /* may be NULL */
  int width;            /* pixels; default 1200 */
  bool icicle;          /* root at the top instead of the bottom */
  double min_width_px;  /* frames narrower than this are left out (0.1) */
};

void flamegraph_opts_default(struct flamegraph_opts *o);
struct flamegraph *flamegraph_new(void);
struct flamegraph *flamegraph_free(struct flamegraph *fg);
/* Adds the samples of one sample type. The first profile fixes the sample
 * type and unit; a later one with another unit is -EINVAL. Samples with
 * negative values (in diffs and deltas) are skipped and counted. */
int flamegraph_add(struct flamegraph *fg, const struct pprof_profile *p, int sample_index);
int64_t flamegraph_total(const struct flamegraph *fg);
size_t flamegraph_skipped_negative(const struct flamegraph *fg);
/* Appends the SVG document to out. */
int flamegraph_render(struct flamegraph *fg, const struct flamegraph_opts *o, struct buf *out);

/* XML text with &<>"' escaped and invalid UTF-8 replaced by U+FFFD. */
int xml_escape_append(struct buf *out, const char *s);

#endif
