/* Helpers for the Go trace tests: gzip'd fixtures, the compact reference
 * files of tests/data/gotrace (see tests/gen/mkref.py) and a writer for
 * hand-made old-format traces. */
#ifndef PPROFD_GOTRACE_TESTUTIL_H
#define PPROFD_GOTRACE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "gotrace.h"

/* Reads tests/data/gotrace/NAME, gunzipping when NAME ends in ".gz".
 * Aborts the test on error. Caller frees. */
uint8_t *gt_load(const char *name, size_t *ret_len);

struct gt_ref_group {
  uint64_t pc;
  char name[256];
  int64_t v[9]; /* n total exec io block syscall sched sweep gc */
};

struct gt_ref {
  struct gt_ref_group groups[128];
  size_t n_groups;
  uint64_t order[128];
  size_t n_order;
  int64_t prof[TRACE_PROFILE_COUNT][2]; /* count, ns */
  char keys[128][64];
  char vals[128][128];
  size_t n_summary;
  char ev_names[64][32];
  int64_t ev_counts[64];
  size_t n_events;
  char ann_kind[32][16];
  char ann_name[32][64];
  int64_t ann_v[32][3];
  size_t n_ann;
};

/* Loads tests/data/gotrace/NAME (a .ref.tsv). Aborts the test on error. */
void gt_ref_load(const char *name, struct gt_ref *ret);
/* A summary value, or NULL. */
const char *gt_ref_summary(const struct gt_ref *r, const char *key);

/* Parses data and checks every figure of ref against the summary. */
void gt_check_against_ref(const struct trace_summary *s, const struct gt_ref *ref,
                          const char *what);

/* A writer for old-format traces. */
void tw_init(struct buf *b, int minor);
void tw_varint(struct buf *b, uint64_t v);
/* An event record of type with n arguments (timestamp and stack included):
 * inline for n <= 3, length-prefixed otherwise. */
void tw_event(struct buf *b, int type, int n, const uint64_t *args);
void tw_ev(struct buf *b, int type, int n, ...);
void tw_string(struct buf *b, uint64_t id, const char *s);
/* One-frame stack id -> (pc, fn string, file string, line). */
void tw_stack1(struct buf *b, uint64_t id, uint64_t pc, uint64_t fn, uint64_t file, uint64_t line);

/* Rewrites a go 1.19 trace into the go 1.21 layout (doc 2.9): header,
 * Frequency as the first record of the stack-table batch, padded Stack
 * lengths, STW kinds of 1.21 (+1); with inject_stw also a zero-length
 * non-GC stop-the-world ("read mem stats") right after the first STW. */
void tw_rewrite_go121(const uint8_t *in, size_t len, struct buf *out, int inject_stw);

#endif
