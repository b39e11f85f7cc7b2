/* Old-format Go execution traces ("go 1.7" .. "go 1.21 trace"): internal
 * interfaces shared by src/gotrace_v1_*.c. The public entry point is
 * gotrace_v1_parse() in gotrace.h; see ../shared/docs/go-trace-format.md
 * section 2 for the wire format and section 5 for the analyses.
 *
 * Pipeline, in bounded memory apart from O(batches + goroutines + stacks +
 * strings + CPU samples):
 *   1. v1_trace_read(): one pass over the file decoding every record; keeps
 *      strings, stacks, the frequency, CPU samples and, per P, the list of
 *      its batches (byte ranges). Timed events are not stored.
 *   2. v1_order_*(): one lazy cursor per P over its batches; merges them
 *      into one consistent stream (2.6) and yields events one at a time.
 *   3. v1_an_*(): consumes the stream: syscall fix-up, tick->ns, the
 *      consistency state machine with event links (2.7), goroutine
 *      analysis (5.1), blocking profiles (5.3), GC/STW/heap (5.4), MMU
 *      (5.5), annotations and counts.
 * The syscall-exit fix-up of 2.6 step 6 moves a GoSysExit earlier in time;
 * every analysis that looks at a GoSysExit only uses per-goroutine state,
 * so processing it at its emission position with the fixed time gives the
 * same results as re-sorting the stream (see v1_an_event()). */
#ifndef PPROFD_GOTRACE_V1_H
#define PPROFD_GOTRACE_V1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gotrace.h"
#include "gotrace_idmap.h"
#include "trace_mmu.h"

enum v1_type {
  V1_NONE = 0,
  V1_BATCH,
  V1_FREQUENCY,
  V1_STACK,
  V1_GOMAXPROCS,
  V1_PROC_START,
  V1_PROC_STOP,
  V1_GC_START,
  V1_GC_DONE,
  V1_STW_START,
  V1_STW_DONE,
  V1_SWEEP_START,
  V1_SWEEP_DONE,
  V1_GO_CREATE,
  V1_GO_START,
  V1_GO_END,
  V1_GO_STOP,
  V1_GO_SCHED,
  V1_GO_PREEMPT,
  V1_GO_SLEEP,
  V1_GO_BLOCK,
  V1_GO_UNBLOCK,
  V1_GO_BLOCK_SEND,
  V1_GO_BLOCK_RECV,
  V1_GO_BLOCK_SELECT,
  V1_GO_BLOCK_SYNC,
  V1_GO_BLOCK_COND,
  V1_GO_BLOCK_NET,
  V1_GO_SYSCALL,
  V1_GO_SYS_EXIT,
  V1_GO_SYS_BLOCK,
  V1_GO_WAITING,
  V1_GO_IN_SYSCALL,
  V1_HEAP_ALLOC,
  V1_HEAP_GOAL,
  V1_TIMER_GOROUTINE,
  V1_FUTILE_WAKEUP,
  V1_STRING,
  V1_GO_START_LOCAL,
  V1_GO_UNBLOCK_LOCAL,
  V1_GO_SYS_EXIT_LOCAL,
  V1_GO_START_LABEL,
  V1_GO_BLOCK_GC,
  V1_ASSIST_START,
  V1_ASSIST_DONE,
  V1_USER_TASK_CREATE,
  V1_USER_TASK_END,
  V1_USER_REGION,
  V1_USER_LOG,
  V1_CPU_SAMPLE,
  V1_COUNT,
};

/* Name of an event type as in the format doc (1.21 names for STW events
 * of a 1.21 trace). */
const char *v1_type_name(int type, int minor);

/* Goroutine states of the ordering and consistency state machines. */
enum { V1_G_DEAD = 0, V1_G_RUNNABLE, V1_G_RUNNING, V1_G_WAITING };

#define V1_NO_INDEX UINT32_MAX

/* One timed event as the merge yields it. */
struct v1_event {
  int64_t ts;       /* ticks (absolute) from the merge; ns from trace start in the analysis */
  uint64_t args[4]; /* arguments after the timestamp, stack excluded */
  uint64_t stk;     /* stack id, 0 = none */
  uint64_t g;       /* goroutine of the event (2.5) */
  int64_t p;        /* P of the event (-1 = none) */
  uint64_t idx;     /* position in the merged stream */
  size_t off;       /* file offset of the record */
  uint32_t gi;      /* dense index of g (v1_order_gindex) */
  uint32_t ti;      /* dense index of the goroutine named by args[0], or V1_NO_INDEX */
  uint32_t si;      /* stream (P) index; V1_NO_INDEX for CPU samples */
  uint8_t type;     /* ...Local types are renamed to their plain forms */
};

struct v1_frame {
  uint64_t pc;
  uint64_t fn; /* string ids */
  uint64_t file;
  uint64_t line;
};

struct v1_stack {
  uint32_t first; /* index into frames */
  uint32_t n;
};

struct v1_batch {
  size_t start;  /* first byte after the Batch record */
  size_t end;    /* offset of the next Batch record, or the file length */
  int64_t base;  /* absolute ticks */
  uint32_t next; /* next batch of the same P, or V1_NO_INDEX */
};

/* The ordering precondition and effect of an event (table in 2.6). */
struct v1_trans {
  uint32_t gi; /* subject, V1_NO_INDEX = unordered */
  bool any_seq;
  uint64_t init_seq;
  uint8_t init_st;
  int next_kind;
  uint64_t next_seq;
  uint8_t next_st;
};

/* One P's event stream and the merge cursor over it. */
struct v1_stream {
  int64_t p;
  uint32_t first_batch, last_batch;
  /* cursor */
  uint32_t batch;
  size_t pos, end;
  int64_t ts;
  uint64_t cur_g;
  uint32_t cur_gi;
  struct v1_event head;
  struct v1_trans tr; /* of head */
  bool has_head;
  uint32_t wait_next; /* next stream blocked on the same goroutine */
};

/* Result of pass 1. */
struct v1_trace {
  const uint8_t *data;
  size_t len;
  int minor;
  int64_t freq;
  struct idmap str_ids; /* string id -> index into str_off */
  size_t *str_off;      /* offsets into strbuf (NUL-terminated copies) */
  size_t n_str, cap_str;
  char *strbuf;
  size_t strbuf_len, strbuf_cap;
  struct idmap stack_ids; /* stack id -> index into stacks */
  struct v1_stack *stacks;
  size_t n_stacks, cap_stacks;
  struct v1_frame *frames;
  size_t n_frames, cap_frames;
  struct v1_batch *batches;
  size_t n_batches, cap_batches;
  struct idmap stream_ids; /* P -> index into streams */
  struct v1_stream *streams;
  size_t n_streams, cap_streams;
  struct v1_event *cpu; /* CPU samples, sorted by their real time */
  size_t n_cpu, cap_cpu;
  struct idmap timer_gs; /* TimerGoroutine ids (historic) */
  uint64_t raw_counts[V1_COUNT];
  /* per type, for this version */
  bool valid[64]; /* indexed by the 6-bit wire type */
  uint8_t nargs[V1_COUNT];
  bool stack[V1_COUNT];
  bool skippable[64]; /* timed, not needed in pass 1 */
};

/* Pass 1. Returns 0, -EPROTO (corrupt/truncated: message "offset N: ..."),
 * -ENOTSUP (version) or -ENOMEM, with a message in *ret_err. */
int v1_trace_read(struct v1_trace *t, const uint8_t *data, size_t len, char **ret_err);
void v1_trace_done(struct v1_trace *t);
/* The text of a string id, "" when unknown (ids come from the input). */
const char *v1_string(const struct v1_trace *t, uint64_t id);
/* The stack for an id, or NULL when absent or empty. */
const struct v1_stack *v1_stack_get(const struct v1_trace *t, uint64_t id);

/* Decodes the timed event at *pos (not String/Stack/Frequency/Batch/
 * TimerGoroutine/CPUSample) for the merge cursors; see gotrace_v1_read.c. */
struct v1_record {
  size_t off;
  uint8_t type;
  unsigned nargs;
  uint64_t args[6];
  const uint8_t *area; /* Stack: the argument area */
  size_t area_len;
  const uint8_t *str; /* String text, UserLog message */
  size_t str_len;
};
int v1_record_read(const struct v1_trace *t, size_t *pos, size_t end, struct v1_record *rec,
                   char **ret_err);
/* Number of wire arguments (with timestamp and stack) of a type. */
unsigned v1_type_nargs(int type, int minor);
bool v1_type_has_stack(int type);

/* Pass 2: the merge. Goroutine ids get dense indices shared with the
 * analysis (index V1_GC_PSEUDO is the ordering's "GC" pseudo-goroutine,
 * goroutine 0 is index 1). */
#define V1_GC_PSEUDO 0
struct v1_gord {
  uint64_t id;
  uint64_t seq;
  uint8_t state;
  uint32_t waiters; /* streams blocked on this goroutine */
};

struct v1_heap_ent {
  int64_t ts;
  uint64_t tick;
  uint32_t si;
};

#define V1_DIRECT_IDS (1u << 22) /* goroutine ids below this: direct table */

struct v1_order {
  struct v1_trace *t;
  struct idmap g_ids;
  uint32_t *direct; /* goroutine id -> index for small ids (n_direct = capacity) */
  size_t n_direct;
  struct v1_gord *gs;
  size_t n_g, cap_g;
  struct v1_heap_ent *heap; /* frontier */
  size_t n_heap;
  uint32_t *recheck;
  size_t n_recheck, cap_recheck;
  size_t cpu_next; /* next CPU sample to emit */
  bool cpu_in_frontier;
  struct v1_event cpu_head;
  uint64_t tick;
  uint64_t emitted;
  uint64_t checks; /* readiness checks, bounded to guarantee progress */
  int64_t last_ts;
  uint64_t blocked; /* streams waiting on a goroutine */
  uint32_t refill;  /* stream of the last event returned, to advance */
};

int v1_order_init(struct v1_order *o, struct v1_trace *t, char **ret_err);
void v1_order_done(struct v1_order *o);
/* Returns 1 and the next event, 0 at the end, or -EPROTO/-ENOMEM. The
 * event belongs to the merge and may be modified until the next call. */
int v1_order_next(struct v1_order *o, struct v1_event **ret, char **ret_err);
/* Dense index for a goroutine id (created on first use), or V1_NO_INDEX
 * on allocation failure. */
uint32_t v1_order_gindex(struct v1_order *o, uint64_t id);

/* Error helper: sets *ret_err to "offset N: <fmt>" and returns -EPROTO. */
int v1_errf(char **ret_err, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Pass 3: the analysis. */
struct v1_an;
struct v1_an *v1_an_new(struct v1_trace *t, struct v1_order *o);
struct v1_an *v1_an_free(struct v1_an *a);
/* Consumes one event of the merged stream. Returns 0 or -EPROTO/-ENOMEM. */
int v1_an_event(struct v1_an *a, struct v1_event *ev, char **ret_err);
/* After the last event: fills the summary. */
int v1_an_finish(struct v1_an *a, struct trace_summary *s, char **ret_err);

#endif
