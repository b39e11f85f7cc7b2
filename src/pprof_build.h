/* A writer for pprof profiles (gzip'd profile.proto), for code that has
 * stacks and values and wants `go tool pprof` to read them: blocking
 * profiles from execution traces, merged and diff profiles.
 *
 * Samples are given leaf first as (function, file, line, address) frames;
 * functions, locations and strings are interned, and identical stacks with
 * identical labels are summed. The builder owns copies of every string it
 * is given. */
#ifndef PPROFD_PPROF_BUILD_H
#define PPROFD_PPROF_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct pprof_builder;

struct pprof_frame {
  const char *function;
  const char *file;
  int64_t line;
  uint64_t address;
};

struct pprof_builder *pprof_builder_new(void);
struct pprof_builder *pprof_builder_free(struct pprof_builder *b);
/* Sample types in order; values of each sample follow this order. */
void pprof_builder_add_sample_type(struct pprof_builder *b, const char *type, const char *unit);
void pprof_builder_set_period(struct pprof_builder *b, const char *type, const char *unit,
                              int64_t period);
void pprof_builder_set_time(struct pprof_builder *b, int64_t time_nanos, int64_t duration_nanos);
/* frames are leaf first; identical stacks (and labels) are summed. */
int pprof_builder_add_sample(struct pprof_builder *b, const struct pprof_frame *frames,
                             size_t n_frames, const int64_t *values);
/* Serialises as gzip'd profile.proto into out. */
int pprof_builder_write(struct pprof_builder *b, struct buf *out);

#endif
