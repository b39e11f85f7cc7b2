/* Go execution traces: the analysis result shared by both wire formats
 * (old: "go 1.11".."go 1.21 trace", src/gotrace_v1*.c; new: "go 1.22"..
 * "go 1.26 trace", src/gotrace_v2*.c). Each format's parser fills a
 * struct trace_summary; gotrace.c turns it into the analysis JSON and the
 * stored rows. All durations are nanoseconds. */
#ifndef PPROFD_GOTRACE_H
#define PPROFD_GOTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct trace_frame {
  char *function;
  char *file;
  int64_t line;
  uint64_t pc;
};

struct trace_stack {
  struct trace_frame *frames; /* leaf first */
  size_t n_frames;
};

/* The goroutine-analysis columns of `go tool trace` (doc section 5.1/5.2). */
struct trace_gstats {
  int64_t total_ns;
  int64_t execution_ns;
  int64_t network_wait_ns;
  int64_t sync_block_ns;
  int64_t syscall_ns;        /* blocking syscall */
  int64_t scheduler_wait_ns;
  int64_t gc_sweep_ns;
  int64_t gc_pause_ns;
  int64_t unknown_ns;        /* total minus the attributed columns, if positive */
};

struct trace_goroutine {
  uint64_t id;
  int64_t created_ns;        /* relative to the trace start; 0 if alive at start */
  int64_t ended_ns;          /* -1 when still alive at trace end */
  struct trace_gstats s;
};

struct trace_group {
  char *function;            /* start function; "" = never started / no stack seen */
  uint64_t pc;               /* old format: start PC (0 for the "" group) */
  int64_t count;
  struct trace_gstats s;     /* sums over the group */
  struct trace_goroutine *worst; /* up to TRACE_WORST_PER_GROUP, most non-execution time first */
  size_t n_worst;
};
#define TRACE_WORST_PER_GROUP 5

enum trace_profile_kind {
  TRACE_PROFILE_NET,
  TRACE_PROFILE_SYNC,
  TRACE_PROFILE_SYSCALL,
  TRACE_PROFILE_SCHED,
  TRACE_PROFILE_COUNT,
};

struct trace_profile_sample {
  struct trace_stack stack;
  int64_t count;
  int64_t ns;
};

/* Blocking profile as `go tool trace -pprof=KIND` computes it. */
struct trace_profile {
  struct trace_profile_sample *samples;
  size_t n_samples;
  int64_t total_count;
  int64_t total_ns;
};

struct trace_gc {
  int64_t cycles;
  int64_t stw_count;         /* GC stop-the-world pauses */
  int64_t stw_total_ns;
  int64_t stw_max_ns;
  int64_t stw_p99_ns;
  int64_t gc_cpu_ns;         /* mark workers + assists + STW x procs (estimate of GC CPU time) */
  int64_t heap_live_min;     /* bytes, from HeapAlloc; -1 when absent */
  int64_t heap_live_max;
  int64_t heap_goal_max;
};

/* User annotations (runtime/trace): one row per (kind, name). */
struct trace_annotation {
  char *kind;                /* "task", "region", "log" */
  char *name;                /* task/region name or log category */
  int64_t count;
  int64_t total_ns;          /* tasks/regions: summed durations of completed ones */
  int64_t max_ns;
};

struct trace_event_count {
  char *name;                /* event type name as in the format doc */
  int64_t count;
};

#define TRACE_MMU_WINDOWS 4      /* 1ms, 10ms, 100ms, 1s */
extern const int64_t trace_mmu_window_ns[TRACE_MMU_WINDOWS];

struct trace_summary {
  int go_minor;              /* N of "go 1.N trace" */
  char go_version[16];       /* "1.19" */
  int64_t bytes;             /* bytes consumed (== input length on success) */
  int64_t duration_ns;       /* first to last event */
  int procs;                 /* GOMAXPROCS (largest seen) */
  int64_t threads;           /* distinct OS threads (Ms) seen */
  int64_t goroutines_created; /* GoCreate events inside the window (not those alive at start) */
  int64_t goroutines_ended;
  int64_t goroutines_max_alive;
  int64_t goroutines_total;  /* distinct goroutines seen */
  int64_t events;            /* ordered events */
  struct trace_event_count *event_counts;
  size_t n_event_counts;
  struct trace_group *groups; /* sorted by execution time, largest first */
  size_t n_groups;
  struct trace_profile profiles[TRACE_PROFILE_COUNT];
  struct trace_gc gc;
  double mmu[TRACE_MMU_WINDOWS]; /* -1 when not computable */
  char *mmu_error;           /* why, when not computable (NULL otherwise) */
  struct trace_annotation *annotations;
  size_t n_annotations;
  /* NULL: every profile frame owns its function and file strings. Else
   * they all point into this one block (a parser's string table), freed
   * with it by trace_summary_done: no allocation per frame. */
  char *frame_strings;
};

void trace_summary_init(struct trace_summary *s);
void trace_summary_done(struct trace_summary *s);
void trace_stack_done(struct trace_stack *st);

/* Parsers. Return 0 and fill *ret, or a negative errno and a message in
 * *ret_err: -EPROTO for a corrupt/truncated trace ("offset 1234: ..."),
 * -ENOTSUP for an unsupported version ("unsupported trace version go 1.27").
 * They must never crash, hang, or allocate without bound on any input. */
int gotrace_v1_parse(const uint8_t *data, size_t len, struct trace_summary *ret, char **ret_err);
int gotrace_v2_parse(const uint8_t *data, size_t len, struct trace_summary *ret, char **ret_err);

#endif
