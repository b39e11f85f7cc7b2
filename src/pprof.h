/* pprof profiles (profile.proto) decoded into a validated model with
 * resolved strings and ids turned into array indexes, and the summaries
 * computed from it the way `go tool pprof` computes them.
 *
 * Decoding never trusts the input: gzip is inflated up to a cap, the
 * model's arrays are sized from counts of what the input holds (so memory
 * is proportional to it: at most about 24 bytes per input byte), and every
 * id and string index is checked. Errors come back as a message
 * naming what was wrong and where. */
#ifndef PPROFD_PPROF_H
#define PPROFD_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define PPROF_NONE UINT32_MAX

struct pprof_value_type {
  const char *type;
  const char *unit;
};

struct pprof_mapping {
  uint64_t id;
  uint64_t memory_start, memory_limit, file_offset;
  const char *file;
  const char *build_id;
  bool has_functions, has_filenames, has_line_numbers, has_inline_frames;
};

struct pprof_function {
  uint64_t id;
  const char *name;
  const char *system_name;
  const char *filename;
  int64_t start_line;
};

struct pprof_line {
  uint32_t function; /* index into functions */
  int64_t line;
  int64_t column;
};

struct pprof_location {
  uint64_t id;
  uint32_t mapping; /* index into mappings, or PPROF_NONE */
  uint64_t address;
  bool is_folded;
  uint32_t n_lines;
  const struct pprof_line *lines; /* innermost (inlined) first */
};

struct pprof_label {
  const char *key;
  const char *str; /* NULL for a numeric label */
  int64_t num;
  const char *num_unit; /* "" when none */
};

struct pprof_sample {
  uint32_t n_locations;
  const uint32_t *locations; /* indexes into locations, leaf first */
  const int64_t *values;     /* n_sample_types values */
  uint32_t n_labels;
  const struct pprof_label *labels;
};

struct pprof_profile {
  size_t n_sample_types;
  struct pprof_value_type *sample_types;
  size_t n_samples;
  struct pprof_sample *samples;
  size_t n_mappings;
  struct pprof_mapping *mappings;
  size_t n_locations;
  struct pprof_location *locations;
  size_t n_functions;
  struct pprof_function *functions;
  size_t n_comments;
  const char **comments;
  size_t n_strings;
  const char **strings;
  const char *drop_frames; /* "" when unset */
  const char *keep_frames;
  int64_t time_nanos;
  int64_t duration_nanos;
  struct pprof_value_type period_type; /* "" when unset */
  int64_t period;
  const char *default_sample_type; /* "" when unset */
  bool gzipped;                    /* the input was gzip'd */
  size_t decoded_bytes;            /* size of the protobuf message */
  void *priv;                      /* owned memory */
};

/* Inflates gzip data (one or more members) into out, whose max is the cap:
 * -EFBIG past it. -EBADMSG for corrupt or truncated data. *ret_err gets a
 * message on failure (caller frees). */
int pprof_gunzip(const uint8_t *data, size_t len, struct buf *out, char **ret_err);

/* Decodes a gzip'd or plain profile.proto. Returns 0, -EBADMSG (malformed:
 * the message says what and where), -EFBIG (decompressed size above
 * max_decompressed, or too large to decode) or -ENOMEM. */
int pprof_decode(const uint8_t *data, size_t len, size_t max_decompressed,
                 struct pprof_profile **ret, char **ret_err);
struct pprof_profile *pprof_profile_free(struct pprof_profile *p);

/* The sample type `go tool pprof` shows by default: default_sample_type
 * when it names one, else the last. -1 when there are none. */
int pprof_default_sample_index(const struct pprof_profile *p);
/* A sample type by name or by decimal index; -1 when there is none. */
int pprof_find_sample_index(const struct pprof_profile *p, const char *name_or_index);

/* The pprof "node" each (location, line) of a profile belongs to when
 * reports are made by function (pprof's default granularity): one node
 * per function name; nameless functions and lines without function
 * information collapse per binary. */
struct pprof_node {
  const char *name;  /* printable name, e.g. "main.spin" or "[libc.so.6]" */
  const char *file;  /* source file of the first function seen, "" if none */
  uint32_t function; /* a function index, or PPROF_NONE */
};

struct pprof_nodes {
  size_t n_nodes;
  struct pprof_node *nodes;
  /* For location i, its nodes are loc_nodes[loc_first[i] ...] with
   * max(1, n_lines) entries, innermost first like the lines. */
  uint32_t *loc_first;
  uint32_t *loc_nodes;
  void *priv;
};

struct pprof_nodes *pprof_nodes_new(const struct pprof_profile *p);
struct pprof_nodes *pprof_nodes_free(struct pprof_nodes *n);

#endif
