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

#include <stdbool.h>
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

/* ---- additions beyond the basic contract ---- */

struct pprof_mapping;

struct pprof_builder_label {
  const char *key;
  const char *str; /* NULL for a numeric label */
  int64_t num;
  const char *num_unit; /* NULL or "" when none */
};

void pprof_builder_add_comment(struct pprof_builder *b, const char *comment);
void pprof_builder_set_default_sample_type(struct pprof_builder *b, const char *type);
/* Like pprof_builder_add_sample, with labels; samples with the same stack
 * and the same labels (in any order) are summed. */
int pprof_builder_add_sample_labels(struct pprof_builder *b, const struct pprof_frame *frames,
                                    size_t n_frames, const int64_t *values,
                                    const struct pprof_builder_label *labels, size_t n_labels);

/* Lower level, for copying whole profiles (merge): interned mappings,
 * functions and locations, identified by the ids they get in the output
 * (equal inputs get equal ids). */
uint64_t pprof_builder_mapping(struct pprof_builder *b, const struct pprof_mapping *m);
uint64_t pprof_builder_function(struct pprof_builder *b, const char *name, const char *system_name,
                                const char *filename, int64_t start_line);
/* function_ids and lines are innermost first; mapping_id 0 = none. */
uint64_t pprof_builder_location(struct pprof_builder *b, uint64_t mapping_id, uint64_t address,
                                size_t n_lines, const uint64_t *function_ids, const int64_t *lines);
int pprof_builder_add_sample_ids(struct pprof_builder *b, const uint64_t *location_ids,
                                 size_t n_locations, const int64_t *values,
                                 const struct pprof_builder_label *labels, size_t n_labels);
size_t pprof_builder_sample_count(const struct pprof_builder *b);
/* Leave samples whose values all sum to zero out of the output (as pprof's
 * merge does). Off by default. */
void pprof_builder_drop_zero_samples(struct pprof_builder *b, bool drop);
void pprof_builder_set_frames(struct pprof_builder *b, const char *drop_frames,
                              const char *keep_frames);
size_t pprof_builder_sample_type_count(const struct pprof_builder *b);

#endif
