/* Internals of the Go 1.22..1.26 execution trace parser (gotrace_v2_*.c).
 * The contract with the rest of pprofd is gotrace.h; this header only
 * connects the parser's own files:
 *   gotrace_v2_util.c    id maps, goroutine pool, errors
 *   gotrace_v2_spec.c    per-version event tables
 *   gotrace_v2_read.c    header, batches, generations, string/stack tables
 *   gotrace_v2_merge.c   per-thread cursors, merge by time, parse driver
 *   gotrace_v2_order.c   scheduler state machine (doc section 3.7)
 *   gotrace_v2_an.c      goroutine analysis, profiles, GC (sections 5.2-5.4)
 *   gotrace_v2_mmu.c     utilization function and streaming MMU (5.5)
 *   gotrace_v2_result.c  interned stacks, groups, annotations, the summary
 * Memory: one generation's tables and batch index (payloads stay in the
 * caller's buffer), the live goroutines/Ps/Ms, and what the results need
 * (interned stacks and names, groups). */
#ifndef PPROFD_GOTRACE_V2_H
#define PPROFD_GOTRACE_V2_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gotrace.h"

#define V2_NONE UINT64_MAX /* no thread / proc / goroutine on the wire */
#define V2_IDX_NONE UINT32_MAX
#define V2_MAX_BATCH (64 * 1024)
#define V2_MAX_STRING 1024
#define V2_MAX_FRAMES 128
#define V2_MAX_REGION_DEPTH 4096
#define V2_MAX_ARGS 4 /* arguments after the timestamp delta */
/* Sanity limits against adversarial input (memory and time stay bounded):
 * the runtime allows at most 1024 Ps (_MaxGomaxprocs) and 10000 threads
 * (debug.SetMaxThreads default); 2M live goroutines is ~700 MB of state. */
#define V2_MAX_GOMAXPROCS 1024
#define V2_MAX_PROC_IDS 65536
#define V2_MAX_THREADS 100000
#define V2_MAX_LIVE_G 2000000

/* Wire types (doc 3.1-3.3). */
enum {
  V2_EV_BATCH = 1,
  V2_EV_STACKS = 2,
  V2_EV_STACK = 3,
  V2_EV_STRINGS = 4,
  V2_EV_STRING = 5,
  V2_EV_CPU_SAMPLES = 6,
  V2_EV_CPU_SAMPLE = 7,
  V2_EV_FREQUENCY = 8,
  V2_EV_PROCS_CHANGE = 9,
  V2_EV_PROC_START = 10,
  V2_EV_PROC_STOP = 11,
  V2_EV_PROC_STEAL = 12,
  V2_EV_PROC_STATUS = 13,
  V2_EV_GO_CREATE = 14,
  V2_EV_GO_CREATE_SYSCALL = 15,
  V2_EV_GO_START = 16,
  V2_EV_GO_DESTROY = 17,
  V2_EV_GO_DESTROY_SYSCALL = 18,
  V2_EV_GO_STOP = 19,
  V2_EV_GO_BLOCK = 20,
  V2_EV_GO_UNBLOCK = 21,
  V2_EV_GO_SYSCALL_BEGIN = 22,
  V2_EV_GO_SYSCALL_END = 23,
  V2_EV_GO_SYSCALL_END_BLOCKED = 24,
  V2_EV_GO_STATUS = 25,
  V2_EV_STW_BEGIN = 26,
  V2_EV_STW_END = 27,
  V2_EV_GC_ACTIVE = 28,
  V2_EV_GC_BEGIN = 29,
  V2_EV_GC_END = 30,
  V2_EV_GC_SWEEP_ACTIVE = 31,
  V2_EV_GC_SWEEP_BEGIN = 32,
  V2_EV_GC_SWEEP_END = 33,
  V2_EV_GC_ASSIST_ACTIVE = 34,
  V2_EV_GC_ASSIST_BEGIN = 35,
  V2_EV_GC_ASSIST_END = 36,
  V2_EV_HEAP_ALLOC = 37,
  V2_EV_HEAP_GOAL = 38,
  V2_EV_GO_LABEL = 39,
  V2_EV_TASK_BEGIN = 40,
  V2_EV_TASK_END = 41,
  V2_EV_REGION_BEGIN = 42,
  V2_EV_REGION_END = 43,
  V2_EV_USER_LOG = 44,
  V2_EV_GO_SWITCH = 45,
  V2_EV_GO_SWITCH_DESTROY = 46,
  V2_EV_GO_CREATE_BLOCKED = 47,
  V2_EV_GO_STATUS_STACK = 48,
  V2_EV_EXPERIMENTAL_BATCH = 49,
  V2_EV_SYNC = 50,
  V2_EV_CLOCK_SNAPSHOT = 51,
  V2_EV_END_OF_GENERATION = 52,
  V2_EV_EXP_FIRST = 128,
  V2_EV_EXP_LAST = 136,
  V2_EV_TYPES = 256,
};

/* Wire statuses (doc 3.3). */
enum { V2_G_RUNNABLE = 1, V2_G_RUNNING, V2_G_SYSCALL, V2_G_WAITING };
enum { V2_P_RUNNING = 1, V2_P_IDLE, V2_P_SYSCALL, V2_P_ABANDONED };
/* States reported to the analysis (doc 5.2). */
enum { GS_UNDET, GS_NOTEXIST, GS_RUNNABLE, GS_RUNNING, GS_WAITING, GS_SYSCALL };
enum { PS_UNDET, PS_NOTEXIST, PS_RUNNING, PS_IDLE };

struct v2_spec {
  const char *name;
  uint8_t nargs;     /* arguments after the timestamp delta */
  int8_t stack_arg;  /* the event's own stack (doc 5.3 "stack"), -1 = none */
  uint8_t str_args;  /* bit i: argument i is a string id */
  uint8_t stk_args;  /* bit i: argument i is a stack id */
  uint8_t min_minor; /* first trace version with this event */
};
extern const struct v2_spec v2_spec_table[V2_EV_TYPES];
/* NULL when type is not a timed event of trace version go 1.<minor>. */
const struct v2_spec *v2_spec_get(unsigned type, int minor);
/* Name of any wire type (for counts and messages); "type N" if unknown. */
const char *v2_type_name(unsigned type);

/* Unsigned LEB128, up to 10 bytes, non-minimal encodings accepted. Returns
 * the number of bytes consumed, 0 when the input ends or overflows. */
static inline size_t v2_uvarint(const uint8_t *p, const uint8_t *end, uint64_t *ret) {
  uint64_t v = 0;
  for (size_t i = 0; i < 10; i++) {
    if (p + i >= end)
      return 0;
    uint8_t b = p[i];
    if (i == 9 && b > 1)
      return 0;
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *ret = v;
      return i + 1;
    }
  }
  return 0;
}

/* A varint with at least 10 readable bytes; NULL when it is malformed.
 * Unrolled: time deltas are mostly 2-3 bytes and heap sizes 4-5, and the
 * generic loop re-checks the end of the input for every byte. Accepts
 * exactly what v2_uvarint accepts. */
#define V2_VB(i)                                                                                   \
  b = p[i];                                                                                        \
  x |= (b & 0x7f) << (7 * (i));                                                                    \
  if (b < 0x80) {                                                                                  \
    *ret = x;                                                                                      \
    return p + (i) + 1;                                                                            \
  }
static inline __attribute__((always_inline)) const uint8_t *v2_uvarint10(const uint8_t *p,
                                                                         uint64_t *ret) {
  uint64_t b = p[0], x;
  if (b < 0x80) {
    *ret = b;
    return p + 1;
  }
  x = b & 0x7f;
  V2_VB(1)
  V2_VB(2)
  V2_VB(3)
  V2_VB(4)
  V2_VB(5)
  V2_VB(6)
  V2_VB(7)
  V2_VB(8)
  b = p[9];
  if (b > 1)
    return NULL;
  *ret = x | b << 63;
  return p + 10;
}
#undef V2_VB

/* Why a varint could not be read: "truncated" when the input ends inside
 * it, "bad varint" otherwise. */
static inline const char *v2_varint_problem(const uint8_t *p, const uint8_t *end) {
  for (size_t i = 0; i < 10 && p + i < end; i++)
    if (p[i] < 0x80)
      return "bad varint in";
  return (end - p) < 10 ? "truncated" : "bad varint in";
}

/* Trace clock units to nanoseconds the way the reference reader does it
 * (double precision, truncated); false when the result does not fit. */
static inline bool v2_units_to_ns(double units, double ns_per_unit, int64_t *ret) {
  double v = units * ns_per_unit;
  if (!(v >= 0 && v < 4.0e18))
    return false;
  *ret = (int64_t)v;
  return true;
}

/* uint64 -> uint32 open-addressing map (linear probing, deletions by
 * backward shift). Key and value share a slot: a lookup touches one
 * cache line, not two. */
struct v2_map_slot {
  uint64_t key;
  uint32_t val; /* V2_IDX_NONE = empty slot */
};
struct v2_map {
  struct v2_map_slot *slots;
  size_t cap; /* power of two */
  size_t n;
};
void v2_map_init(struct v2_map *m);
void v2_map_done(struct v2_map *m);
void v2_map_clear(struct v2_map *m);
static inline size_t v2_map_slot(const struct v2_map *m, uint64_t key) {
  /* Fibonacci hashing: ids are often dense or multiples of a stride. */
  return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 17) & (m->cap - 1);
}
/* Inline: goroutine and proc lookups run for most events. */
static inline uint32_t v2_map_get(const struct v2_map *m, uint64_t key) {
  if (!m->n)
    return V2_IDX_NONE;
  for (size_t i = v2_map_slot(m, key);; i = (i + 1) & (m->cap - 1)) {
    const struct v2_map_slot *e = &m->slots[i];
    if (e->val == V2_IDX_NONE)
      return V2_IDX_NONE;
    if (e->key == key)
      return e->val;
  }
}
void v2_map_put(struct v2_map *m, uint64_t key, uint32_t val);
void v2_map_del(struct v2_map *m, uint64_t key);

/* Sets *err to "offset N: <message>" and returns -EPROTO. */
int v2_fail(char **err, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- one generation (gotrace_v2_read.c) ---- */

struct v2_str {
  const uint8_t *p; /* into the input */
  uint32_t len;
  int16_t cls;     /* lazily computed V2_CLS_* bits, -1 = not yet */
  uint32_t global; /* interned name + 1, 0 = not yet */
};
enum {
  V2_CLS_FOREVER = 1 << 0,   /* block reason "forever" */
  V2_CLS_NETWORK = 1 << 1,   /* "network" */
  V2_CLS_SYNC = 1 << 2,      /* classic sync-block reasons (doc 5.2 last paragraph) */
  V2_CLS_SYNC_PROF = 1 << 3, /* contains chan/sync/select (sync profile, doc 5.3) */
  V2_CLS_GC_STW = 1 << 4,    /* STW kind containing "GC" */
  V2_CLS_GC_LABEL = 1 << 5,  /* "GC " label other than "GC (idle)" (MMU) */
  V2_CLS_GC_WORKER = 1 << 6, /* "GC (dedicated)" / "GC (fractional)" (GC CPU) */
};

struct v2_frame {
  uint64_t pc;
  uint64_t line;
  uint32_t func; /* string index */
  uint32_t file;
};

struct v2_stack {
  uint32_t first; /* into frames */
  uint32_t n;
  uint32_t global; /* interned stack + 1, 0 = not yet */
};

struct v2_batch {
  size_t off; /* payload offset in the input */
  uint32_t len;
  uint32_t next; /* next event batch of the same thread, V2_IDX_NONE */
  uint64_t ts;   /* base timestamp (trace clock units) */
};

struct v2_thread_batches {
  uint64_t m;
  uint32_t first, last;
};

struct v2_cpu_sample {
  int64_t time;
  uint64_t raw_ts;
  uint64_t m, p, g;
  uint64_t stack_id;
  uint32_t stack; /* stack index, V2_IDX_NONE = none */
  uint32_t order;
};

struct v2_gen {
  uint64_t num;
  uint64_t freq;
  double ns_per_unit;
  bool have_clock;
  uint64_t min_ts;
  size_t n_batches; /* all batches, structural ones included */
  size_t n_exp_batches;
  struct v2_batch *ev_batches; /* event batches only */
  size_t n_ev_batches, cap_ev_batches;
  struct v2_thread_batches *threads;
  size_t n_threads, cap_threads;
  struct v2_map thread_map;
  struct v2_str *strs;
  size_t n_strs, cap_strs;
  struct v2_map str_map;
  struct v2_stack *stacks;
  size_t n_stacks, cap_stacks;
  struct v2_map stack_map;
  struct v2_frame *frames;
  size_t n_frames, cap_frames;
  uint64_t *frame_ids; /* func/file string ids, resolved at the end */
  struct v2_cpu_sample *cpu;
  size_t n_cpu, cap_cpu;
  /* Dense ids (the usual case) are looked up directly: index + 1, 0 = none. */
  uint32_t *str_direct, *stack_direct;
  size_t n_str_direct, n_stack_direct, cap_str_direct, cap_stack_direct;
  uint64_t max_str_id, max_stack_id;
};

struct v2_reader {
  const uint8_t *data;
  size_t len;
  size_t pos;
  int minor;
  uint64_t last_gen; /* 0 before the first generation */
};

void v2_gen_init(struct v2_gen *g);
void v2_gen_done(struct v2_gen *g);
/* Parses the 16-byte header: 0 and the minor version, -ENOTSUP for a
 * version this parser does not handle, -EPROTO for something else. */
int v2_header(const uint8_t *data, size_t len, int *ret_minor, char **err);
/* Reads the next generation into g (reset first). Returns 1, 0 at the end
 * of the input, or a negative errno with *err set. */
int v2_gen_read(struct v2_reader *r, struct v2_gen *g, char **err);
/* String / stack index for a wire id; V2_IDX_NONE for id 0 or unknown ids
 * (ok tells them apart). */
static inline uint32_t v2_gen_string(const struct v2_gen *g, uint64_t id, bool *ok) {
  uint32_t i;
  if (id < g->n_str_direct)
    i = g->str_direct[id] - 1;
  else
    i = id ? v2_map_get(&g->str_map, id) : V2_IDX_NONE;
  *ok = !id || i != V2_IDX_NONE;
  return i;
}
static inline uint32_t v2_gen_stack(const struct v2_gen *g, uint64_t id, bool *ok) {
  uint32_t i;
  if (id < g->n_stack_direct)
    i = g->stack_direct[id] - 1;
  else
    i = id ? v2_map_get(&g->stack_map, id) : V2_IDX_NONE;
  *ok = !id || i != V2_IDX_NONE;
  return i;
}
int v2_str_class(struct v2_str *s);
bool v2_str_eq(const struct v2_str *s, const char *lit);

/* ---- interned results (gotrace_v2_result.c) ---- */

struct v2_intern; /* strings and stacks that outlive a generation */
struct v2_intern *v2_intern_new(void);
struct v2_intern *v2_intern_free(struct v2_intern *in);
uint32_t v2_intern_string(struct v2_intern *in, const uint8_t *p, size_t len);
const char *v2_intern_string_get(const struct v2_intern *in, uint32_t id);
/* Global id of a generation string / stack (cached in the generation). */
uint32_t v2_gen_global_string(struct v2_intern *in, struct v2_gen *g, uint32_t idx);
uint32_t v2_gen_global_stack_slow(struct v2_intern *in, struct v2_gen *g, uint32_t idx);
static inline uint32_t v2_gen_global_stack(struct v2_intern *in, struct v2_gen *g, uint32_t idx) {
  uint32_t gl = g->stacks[idx].global;
  return gl ? gl - 1 : v2_gen_global_stack_slow(in, g, idx);
}
#define V2_STACK_EMPTY 0 /* global stack id of "no stack" */

/* ---- scheduler and analysis state (order + an) ---- */

struct v2_region {
  uint64_t task;
  uint32_t name; /* interned */
  int64_t begin;
};

/* One goroutine: ordering state (3.7) and analysis state (5.2) together.
 * Fields are grouped by use: the first cache line has what ordering and
 * every transition touch, the second the open intervals and their sums,
 * the rest is used by fewer events (thousands of records are live).
 * 320 bytes: records in a pool chunk start on a cache line. */
struct v2_g {
  /* line 1: ordering, state, open intervals */
  uint64_t id;
  uint64_t seq_gen, seq;
  uint8_t status; /* V2_G_* */
  uint8_t astate; /* GS_* as last reported */
  uint8_t prof_on;
  uint8_t lb_cls;
  uint8_t stw_open, assist_open;
  uint8_t stw_gc; /* the open STW is a GC pause */
  bool in_assist_mmu, bg_running, ended;
  bool mmu_stw;  /* its open STW counts in the MMU */
  int32_t mmu_p; /* P credited with this goroutine's GC work (MMU), -1 = none */
  uint32_t name; /* interned group name + 1, 0 = none yet */
  uint32_t slot; /* in the pool */
  int64_t ls, lr;
  /* line 2: more open intervals and their sums */
  int64_t lb, lsc, lscb;
  int64_t exec, sched, syscall, sysblock;
  int64_t assist_since;
  /* the rest */
  int64_t block_net, block_sync, block_other;
  uint64_t sys_p; /* P bound while in a syscall, V2_NONE */
  int64_t prof_t[TRACE_PROFILE_COUNT];
  uint32_t prof_stack[TRACE_PROFILE_COUNT];
  uint16_t n_regions, cap_regions; /* at most V2_MAX_REGION_DEPTH */
  struct v2_region *regions;
  int64_t create, start, end, total;
  int64_t sweep, assist;
  int64_t lr_sweep, lr_assist; /* open range times (0 = none) */
  int64_t stw_begin;
  int64_t gc_at_create; /* GC-running time accumulated at creation */
  int64_t gc_pause;
  int64_t bg_since;
};

struct v2_p {
  uint64_t id;
  uint8_t status; /* V2_P_* */
  bool sweep_open;
  uint64_t seq_gen, seq;
  uint64_t sys_g;      /* goroutine in a syscall bound to it (analysis), V2_NONE */
  uint64_t range_g;    /* goroutine credited with the open sweep (analysis) */
  int64_t sweep_since; /* GC CPU accounting, 0 = none */
  bool mmu_sweep;      /* credited in the MMU */
  uint32_t m_hint;     /* thread that last took it (index + 1), 0 = none */
};

struct v2_m {
  uint64_t id;
  uint64_t g, p;
  struct v2_g *gr;   /* record of g when known (checked against g before use) */
  uint64_t raw_last; /* last raw timestamp, for monotonicity */
};

/* Everything one event hands to the analysis. */
struct v2_out {
  uint8_t type;
  int64_t time;
  uint64_t g, p, m;     /* context before the event */
  const uint64_t *args; /* wire arguments after the timestamp */
  const uint32_t *idx;  /* string/stack arguments resolved in the generation */
  uint32_t stack;       /* the event's own stack (generation index), V2_IDX_NONE */
  struct v2_g *subj;    /* goroutine the event is about (transition target) */
  struct v2_p *psubj;   /* proc of a proc transition */
  uint8_t old_state, new_state;
  bool stw_gc;       /* STWEnd: the matching begin was a GC pause */
  uint32_t ann_name; /* TaskEnd: interned task name + 1, 0 = unknown */
  int64_t ann_begin; /* TaskEnd/RegionEnd: begin time, 0 = unknown */
};

struct v2_mmu;
struct v2_groups;

struct v2_prof {
  int64_t *count, *ns; /* by interned stack */
  size_t cap;
  int64_t total_count, total_ns;
};

struct v2_ann_row {
  int kind; /* 0 task, 1 region, 2 log */
  uint32_t name;
  int64_t count, total_ns, max_ns;
};

struct v2_an {
  int64_t first_ts, last_ts, sync_ts;
  int64_t counts[V2_EV_TYPES];
  int64_t events;
  int64_t created, ended, seen;
  struct v2_groups *groups;
  struct v2_prof prof[TRACE_PROFILE_COUNT];
  /* GC */
  int64_t gc_cycles, gc_active_first;
  bool gc_running;
  int64_t gc_since, gc_acc;
  int64_t *stw;
  size_t n_stw, cap_stw;
  int64_t stw_all;
  int64_t gc_cpu;
  int64_t heap_min, heap_max, goal_max;
  int procs_max, procs_cur;
  /* MMU (doc 5.5) */
  struct v2_mmu *mmu;
  int *mps; /* per-P GC credits */
  size_t n_mps;
  int busy_ps; /* Ps with credits > 0 */
  int mstw;
  int64_t last_busy, last_nps; /* the utilization last passed on (-1 = none) */
  bool util_dirty;             /* credits, STW or procs changed since util_point */
  bool held;
  /* annotations */
  struct v2_ann_row *rows;
  size_t n_rows, cap_rows;
  struct v2_map row_map;
};

/* Per-goroutine result for tests and tools (gotrace_v2_parse_ex). */
struct gotrace_v2_goroutine {
  uint64_t id;
  const char *name;
  int64_t create_ns, start_ns, end_ns; /* relative to the trace start; -1 = none */
  int64_t total_ns, exec_ns, sched_ns, syscall_ns, syscall_block_ns;
  int64_t block_network_ns, block_sync_ns, block_other_ns;
  int64_t sweep_ns, assist_ns, gc_pause_ns;
};

struct gotrace_v2_stats {
  int64_t generations;
  int64_t batches;
  int64_t event_batches;
  int64_t experimental_batches;
  int64_t strings, stacks;
  int64_t wire_events;
  int64_t cpu_samples;
  int64_t ordering_stalls;
  int64_t first_gen;
  int64_t gc_active_at_start;
  int64_t stw_all_count; /* every STW, GC or not */
  int64_t mmu_points;
  int64_t interned_stacks, interned_strings;
  size_t peak_gen_bytes; /* largest working set of one generation's tables */
};

struct gotrace_v2_opts {
  /* Called once per goroutine when its record is final. */
  void (*on_goroutine)(void *ctx, const struct gotrace_v2_goroutine *g);
  void *ctx;
  struct gotrace_v2_stats *stats; /* filled when not NULL */
  /* Every utilization sample (t, u) as computed, before deduplication. */
  void (*on_util)(void *ctx, int64_t t, double u);
};

/* gotrace_v2_parse() with per-goroutine results and internal counters. */
int gotrace_v2_parse_ex(const uint8_t *data, size_t len, const struct gotrace_v2_opts *opts,
                        struct trace_summary *ret, char **ret_err);
/* libFuzzer-style entry: parses and discards; never crashes. */
int gotrace_v2_fuzz_one(const uint8_t *data, size_t len);

/* The whole parser state, shared by merge/order/an/result. */
struct v2_state {
  const uint8_t *data;
  size_t len;
  int minor;
  const struct gotrace_v2_opts *opts;
  char **err;
  struct v2_gen *gen; /* current generation */
  uint64_t initial_gen;
  int64_t nsync;
  int64_t last_time; /* last emitted time (strictly increasing) */
  /* ordering */
  struct v2_map gmap, pmap, mmap;
  struct v2_g **gchunks;
  size_t n_gchunks, n_gslots;
  uint32_t *gfree;
  size_t n_gfree, cap_gfree;
  struct v2_p *ps;
  size_t n_ps, cap_ps;
  struct v2_m *ms;
  size_t n_ms, cap_ms;
  int gc_state; /* 0 undetermined, 1 not running, 2 running */
  uint64_t gc_seq;
  struct v2_map tasks; /* active task id -> task slot */
  struct v2_task *task_slots;
  size_t n_task_slots, cap_task_slots;
  uint32_t *task_free;
  size_t n_task_free, cap_task_free;
  int64_t live_g, live_g_max;
  /* results */
  struct v2_intern *in;
  struct v2_an *an;
  struct gotrace_v2_stats st;
};

struct v2_task {
  uint32_t name; /* interned */
  int64_t begin;
};

/* gotrace_v2_util.c: goroutine pool; records live in chunks of
 * V2_G_CHUNK so that pointers stay valid while the pool grows. The
 * lookups are inline: most events make one or two. */
#define V2_G_CHUNK 1024
static inline struct v2_g *v2_g_at(const struct v2_state *s, size_t slot) {
  return &s->gchunks[slot / V2_G_CHUNK][slot % V2_G_CHUNK];
}
static inline struct v2_g *v2_g_lookup(struct v2_state *s, uint64_t id) {
  uint32_t slot = v2_map_get(&s->gmap, id);
  return slot == V2_IDX_NONE ? NULL : v2_g_at(s, slot);
}
static inline struct v2_p *v2_p_lookup(struct v2_state *s, uint64_t id) {
  uint32_t i = v2_map_get(&s->pmap, id);
  return i == V2_IDX_NONE ? NULL : &s->ps[i];
}
struct v2_g *v2_g_new(struct v2_state *s, uint64_t id);
void v2_g_delete(struct v2_state *s, struct v2_g *g);
struct v2_p *v2_p_new(struct v2_state *s, uint64_t id);
struct v2_m *v2_m_get(struct v2_state *s, uint64_t id);
struct v2_m *v2_m_find(struct v2_state *s, uint64_t id);
void v2_state_done(struct v2_state *s);

/* gotrace_v2_order.c: tries to advance ev from thread m. 1 = advanced,
 * 0 = not yet (try another thread), <0 = corrupt trace. */
struct v2_event {
  uint8_t type;
  int64_t time;
  uint64_t args[4];
  uint32_t idx[4]; /* string/stack args as generation indices (V2_IDX_NONE for 0) */
  size_t off;
};
int v2_order_advance(struct v2_state *s, struct v2_event *ev, uint64_t m, uint32_t mi);
/* The same for a known thread (mi != V2_IDX_NONE), faster for the frequent events. */
int v2_order_thread(struct v2_state *s, struct v2_event *ev, uint32_t mi);

/* Scheduling context of an event: the thread's G and P before it. */
struct v2_ctx {
  uint64_t g, p, m;
  struct v2_g *gr; /* record of g, when known */
};
enum { NO = 0, MAY = 1, MUST = 2 };
int v2_need_fail(struct v2_state *s, const struct v2_event *ev, const struct v2_ctx *c, int m,
                 int p, int g);
/* Checks what the context must (not) have; -EPROTO with a message. */
static inline int v2_need(struct v2_state *s, const struct v2_event *ev, const struct v2_ctx *c,
                          int m, int p, int g) {
  if ((m == MUST && c->m == V2_NONE) || (p == MUST && c->p == V2_NONE) ||
      (p == NO && c->p != V2_NONE) || (g == MUST && c->g == V2_NONE) ||
      (g == NO && c->g != V2_NONE))
    return v2_need_fail(s, ev, c, m, p, g);
  return 0;
}
static inline int v2_user_ctx(struct v2_state *s, const struct v2_event *ev,
                              const struct v2_ctx *c) {
  return v2_need(s, ev, c, MUST, MUST, MUST);
}
static inline struct v2_g *v2_cur_g(struct v2_state *s, const struct v2_ctx *c) {
  if (c->gr && c->gr->id == c->g)
    return c->gr;
  return c->g == V2_NONE ? NULL : v2_g_lookup(s, c->g);
}
/* gotrace_v2_ranges.c */
int v2_task_begin(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c);
int v2_task_end(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c);
int v2_region(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c);
int v2_gc_event(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c);
int v2_sweep(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c);
int v2_go_range(struct v2_state *s, struct v2_event *ev, struct v2_ctx *c);

/* gotrace_v2_an.c */
/* Every ordered event but the goroutine transitions (v2_an_go) and mark
 * assists (v2_an_assist), in order. May fail on inconsistent input. */
int v2_an_event(struct v2_state *s, struct v2_out *o);
/* A goroutine transition (two thirds of all events) goes straight to
 * v2_an_go, without a struct v2_out and a second switch on the type; this
 * fits in two registers. Generation indices, V2_IDX_NONE = none. */
struct v2_go {
  uint32_t stack;  /* the event's own stack */
  uint32_t tstack; /* the stack that names the goroutine's group */
  uint32_t reason; /* GoStop/GoBlock reason string */
  uint8_t type, old, nw;
};
void v2_an_go(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x);
/* The same for the frequent (old, new) pairs, with the states as constants:
 * runnable -> running, running -> runnable / waiting / syscall / gone,
 * waiting -> runnable, syscall -> running, created -> runnable. */
void v2_an_go_start(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x);
void v2_an_go_stop(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x);
void v2_an_go_block(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x);
void v2_an_go_unblock(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x);
void v2_an_go_syscall(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x);
void v2_an_go_sysret(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x);
void v2_an_go_create(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x);
void v2_an_go_destroy(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x);
/* GCMarkAssistActive/Begin/End of goroutine g (a tenth of all events). */
void v2_an_assist(struct v2_state *s, uint8_t type, int64_t time, uint64_t p, struct v2_g *g);
/* The same for GCMarkAssistBegin / GCMarkAssistEnd, with the type a constant. */
void v2_an_assist_begin(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g);
void v2_an_assist_end(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g);
static inline bool v2_is_go_transition(uint8_t type) {
  return (type >= V2_EV_GO_CREATE && type <= V2_EV_GO_STATUS) ||
         (type >= V2_EV_GO_SWITCH && type <= V2_EV_GO_STATUS_STACK);
}
/* Argument i's generation index when the argument is not 0. */
static inline uint32_t v2_arg_idx(const uint64_t *args, const uint32_t *idx, int i) {
  return args[i] ? idx[i] : V2_IDX_NONE;
}
/* Hands an event to the analysis; 1 on success. Inline: every event
 * passes here, and the callers' constants fold into the record. */
static inline __attribute__((always_inline)) int
v2_emit(struct v2_state *s, const struct v2_event *ev, uint8_t type, const struct v2_ctx *c,
        const uint64_t *args, struct v2_g *subj, struct v2_p *psubj, int old_state, int new_state,
        const struct v2_out *extra) {
  struct v2_out o;
  int sa = v2_spec_table[type].stack_arg, rc;
  if (v2_is_go_transition(type)) {
    struct v2_go x;
    bool stack1 = type == V2_EV_GO_CREATE || type == V2_EV_GO_CREATE_BLOCKED ||
                  type == V2_EV_GO_SYSCALL_BEGIN || type == V2_EV_GO_STOP || type == V2_EV_GO_BLOCK;
    x.stack = sa >= 0 ? v2_arg_idx(args, ev->idx, sa) : V2_IDX_NONE;
    x.tstack = stack1                          ? v2_arg_idx(args, ev->idx, 1)
               : type == V2_EV_GO_STATUS_STACK ? v2_arg_idx(args, ev->idx, 3)
                                               : V2_IDX_NONE;
    x.reason = type == V2_EV_GO_STOP || type == V2_EV_GO_BLOCK ? v2_arg_idx(args, ev->idx, 0)
                                                               : V2_IDX_NONE;
    x.type = type;
    x.old = (uint8_t)old_state;
    x.nw = (uint8_t)new_state;
    if (old_state == GS_RUNNABLE && new_state == GS_RUNNING)
      v2_an_go_start(s, ev->time, c->p, subj, x);
    else if (old_state == GS_RUNNING && new_state == GS_RUNNABLE)
      v2_an_go_stop(s, ev->time, c->p, subj, x);
    else if (old_state == GS_RUNNING && new_state == GS_WAITING)
      v2_an_go_block(s, ev->time, c->p, subj, x);
    else if (old_state == GS_WAITING && new_state == GS_RUNNABLE)
      v2_an_go_unblock(s, ev->time, c->p, subj, x);
    else if (old_state == GS_RUNNING && new_state == GS_SYSCALL)
      v2_an_go_syscall(s, ev->time, c->p, subj, x);
    else if (old_state == GS_SYSCALL && new_state == GS_RUNNING)
      v2_an_go_sysret(s, ev->time, c->p, subj, x);
    else if (old_state == GS_NOTEXIST && new_state == GS_RUNNABLE)
      v2_an_go_create(s, ev->time, c->p, subj, x);
    else if (old_state == GS_RUNNING && new_state == GS_NOTEXIST)
      v2_an_go_destroy(s, ev->time, c->p, subj, x);
    else
      v2_an_go(s, ev->time, c->p, subj, x);
    return 1;
  }
  if (type >= V2_EV_GC_ASSIST_ACTIVE && type <= V2_EV_GC_ASSIST_END) {
    v2_an_assist(s, type, ev->time, c->p, subj);
    return 1;
  }
  o.type = type;
  o.time = ev->time;
  o.g = c->g;
  o.p = c->p;
  o.m = c->m;
  o.args = args;
  o.idx = ev->idx;
  o.stack = sa >= 0 && args[sa] ? ev->idx[sa] : V2_IDX_NONE;
  o.subj = subj;
  o.psubj = psubj;
  o.old_state = (uint8_t)old_state;
  o.new_state = (uint8_t)new_state;
  o.stw_gc = extra ? extra->stw_gc : false;
  o.ann_name = extra ? extra->ann_name : 0;
  o.ann_begin = extra ? extra->ann_begin : 0;
  rc = v2_an_event(s, &o);
  return rc < 0 ? rc : 1;
}
/* GCMarkAssistBegin/End of the running goroutine (a tenth of all events;
 * type is a constant at each call): inline in v2_go_range and
 * v2_order_thread. */
static inline __attribute__((always_inline)) int v2_assist_range(struct v2_state *s,
                                                                 const struct v2_event *ev,
                                                                 const struct v2_ctx *c,
                                                                 uint8_t type) {
  struct v2_g *g;
  int rc = v2_user_ctx(s, ev, c);
  if (rc < 0)
    return rc;
  g = v2_cur_g(s, c);
  if (!g)
    return v2_fail(s->err, ev->off, "%s for unknown goroutine %llu", v2_type_name(type),
                   (unsigned long long)c->g);
  if (type == V2_EV_GC_ASSIST_BEGIN) {
    if (g->assist_open)
      return v2_fail(s->err, ev->off, "GCMarkAssistBegin while goroutine %llu is assisting",
                     (unsigned long long)g->id);
    g->assist_open = 1;
  } else {
    if (!g->assist_open)
      return v2_fail(s->err, ev->off, "GCMarkAssistEnd without begin on goroutine %llu",
                     (unsigned long long)g->id);
    g->assist_open = 0;
  }
  if (type == V2_EV_GC_ASSIST_BEGIN)
    v2_an_assist_begin(s, ev->time, c->p, g);
  else
    v2_an_assist_end(s, ev->time, c->p, g);
  return 1;
}
struct v2_an *v2_an_new(void);
struct v2_an *v2_an_free(struct v2_an *a);
void v2_an_sync(struct v2_state *s, int64_t time);
/* HeapAlloc / HeapGoal (a fast path: half of all events). */
void v2_an_heap(struct v2_state *s, uint8_t type, int64_t time, uint64_t bytes);
void v2_an_cpu_sample(struct v2_state *s, int64_t time);
/* Called before a goroutine record is freed / at the end for the rest. */
void v2_an_retire(struct v2_state *s, struct v2_g *g);
/* Closes the goroutine's pending intervals at t (trig: it ends at t). */
void v2_an_finalize(struct v2_state *s, struct v2_g *g, int64_t t, bool trig);
void v2_an_annotation(struct v2_state *s, const struct v2_out *o);
int v2_an_finish(struct v2_state *s, struct trace_summary *ret);

/* gotrace_v2_mmu.c: the utilization function (points in time order) and
 * the MMU for the trace_mmu_window_ns windows, in bounded memory. */
struct v2_mmu *v2_mmu_new(void);
struct v2_mmu *v2_mmu_free(struct v2_mmu *m);
/* Adds u from time t on (same rules as trace_mmu_add). */
void v2_mmu_add(struct v2_mmu *m, int64_t t, double u);
/* While held, points are buffered so that v2_mmu_retro_subtract can still
 * change them (first generation); release streams them. */
void v2_mmu_hold(struct v2_mmu *m, bool hold);
/* GOMAXPROCS is n from time t on (recorded while points are held). */
void v2_mmu_procs(struct v2_mmu *m, int64_t t, int n);
/* Subtracts 1/procs(t) from every point held so far (in O(1): applied when
 * the points are released). */
void v2_mmu_retro_subtract(struct v2_mmu *m);
/* Ends the function at t (with u = 0) and computes the MMU for each window
 * (-1 when there is no range). Returns the number of points seen. */
size_t v2_mmu_finish(struct v2_mmu *m, int64_t t, double ret[TRACE_MMU_WINDOWS]);

/* gotrace_v2_result.c */
struct v2_groups;
struct v2_groups *v2_groups_new(void);
struct v2_groups *v2_groups_free(struct v2_groups *gs);
void v2_groups_add(struct v2_groups *gs, uint32_t name, const struct trace_goroutine *g);
void v2_groups_build(struct v2_groups *gs, const struct v2_intern *in, struct trace_summary *ret);
/* The summary's profile stacks share the interned strings: seal (no more
 * strings may be interned), convert the stacks (their frames point into
 * the block), then take the block for trace_summary.frame_strings. */
void v2_intern_seal(struct v2_intern *in);
void v2_intern_stack_to_trace(const struct v2_intern *in, uint32_t stack, struct trace_stack *ret);
char *v2_intern_take_strings(struct v2_intern *in);
size_t v2_intern_stacks(const struct v2_intern *in);
size_t v2_intern_strings(const struct v2_intern *in);

#endif
