/* Old-format traces, pass 3: state of the streaming analysis, shared by
 * gotrace_v1_check.c (consistency + links + profiles + annotations),
 * gotrace_v1_stats.c (goroutine analysis, GC, MMU, counts) and
 * gotrace_v1_summary.c (building the struct trace_summary). Internal. */
#ifndef PPROFD_GOTRACE_V1_AN_H
#define PPROFD_GOTRACE_V1_AN_H

#include "gotrace_v1.h"

/* Per goroutine; indexed like struct v1_order's goroutines. */
struct v1_gst {
  /* consistency state machine (2.7) */
  uint8_t state;
  bool known;        /* present in Go's consistency map (any event named it) */
  uint8_t pend_type; /* the goroutine's pending event ("g.ev"), 0 = none */
  int64_t pend_ts;
  uint64_t pend_stk;
  bool started; /* evStart: running since start_ts */
  int64_t start_ts;
  bool has_create; /* evCreate: first GoStart takes create_stk */
  uint64_t create_stk;
  bool assist;
  int64_t assist_ts;
  int64_t last_sys_block; /* ticks, for the syscall-exit fix-up */
  uint32_t region_top;    /* open user regions (index into regions) */
  /* goroutine analysis (5.1); zero means "unset" exactly as in Go */
  bool stats;    /* created by GoCreate */
  bool closed;   /* finalized by GoEnd/GoStop */
  bool prologue; /* alive when tracing started */
  uint64_t pc;
  uint64_t fn; /* string id of the start function */
  int64_t creation, start_time, end_time;
  int64_t exec, sched, io, block, syscall, gc, sweep, total;
  int64_t last_start, block_net, block_sync, block_syscall, block_sweep, block_sched;
  int64_t gc_d0;     /* completed GC time when created */
  uint64_t gc_n0;    /* completed cycles when created */
  int64_t gc_corr;   /* part of the cycle running at creation that predates it */
  bool gc_accounted; /* completed-cycle GC time already added */
  /* MMU and GC CPU time */
  bool mmu_span; /* MMU saw the GoStart of the current running span */
  bool mmu_assist, mmu_bgmark;
  bool worker; /* running as a dedicated/fractional mark worker */
  int64_t worker_ts;
};

struct v1_pst {
  bool running;
  uint64_t g;
  bool stw_open; /* per-P STW before 1.10 */
  int64_t stw_ts;
  bool sweep_open;
  int64_t sweep_ts;
};

struct v1_prof_acc {
  uint64_t stk;
  int64_t n;
  int64_t ns;
};

struct v1_prof {
  struct idmap ids; /* stack id -> index */
  struct v1_prof_acc *acc;
  size_t n, cap;
};

enum { V1_ANN_TASK, V1_ANN_REGION, V1_ANN_LOG };

struct v1_ann {
  int kind;
  uint64_t name; /* string id */
  int64_t count, total_ns, max_ns;
};

struct v1_task {
  uint64_t name;
  int64_t ts;
  bool live;
};

struct v1_region {
  uint64_t task, name;
  int64_t ts;
  uint32_t prev;
};

struct v1_an {
  struct v1_trace *t;
  struct v1_order *o;
  double ns_per_tick;
  int64_t min_ticks;
  bool have_min;
  struct v1_gst *gs;
  size_t n_gs, cap_gs;
  struct v1_pst *ps; /* per stream */
  /* consistency: global GC and STW */
  bool gc_open;
  int64_t gc_open_ts;
  bool stw_open;
  int64_t stw_ts;
  uint64_t stw_kind;
  /* goroutine analysis */
  int64_t last_ts;  /* largest time seen */
  int64_t gc_start; /* gcStartTime: 0 = no cycle (Go's convention) */
  int64_t gc_sum;   /* sum of completed cycles' durations */
  uint64_t gc_done; /* completed cycles */
  /* blocking profiles */
  struct v1_prof prof[TRACE_PROFILE_COUNT];
  /* MMU (5.5) */
  struct trace_mmu mmu;
  int *mmu_ps;
  size_t n_mmu_ps, cap_mmu_ps;
  size_t mmu_gcps; /* Ps with positive count */
  int mmu_stw;
  bool mmu_on;
  /* GC and heap (5.4) */
  int64_t gc_cycles;
  int64_t *stw_durs;
  size_t n_stw, cap_stw;
  int64_t gc_cpu_ns;
  int64_t heap_min, heap_max, goal_max;
  int64_t procs_cur, procs_max;
  /* counts */
  uint64_t counts[V1_COUNT];
  int64_t events;
  struct idmap threads;
  int64_t created, ended, alive, max_alive;
  bool in_prologue;
  /* annotations */
  struct idmap ann_ids;
  struct v1_ann *anns;
  size_t n_anns, cap_anns;
  struct idmap task_ids;
  struct v1_task *tasks;
  size_t n_tasks, cap_tasks;
  struct v1_region *regions;
  size_t n_regions, cap_regions;
  uint32_t free_region;
};

/* gotrace_v1_check.c: consistency checks and links for one event (times
 * already in ns). Sets *ret_ends_span when the event ends the running span
 * begun by the goroutine's last GoStart (the GoStart's link in Go). */
int v1_check_event(struct v1_an *a, struct v1_event *ev, bool *ret_ends_span, char **ret_err);
/* Records a blocking-profile sample linked from a pending event. */
int v1_prof_add(struct v1_an *a, int kind, uint64_t stk, int64_t ns);
int v1_ann_add(struct v1_an *a, int kind, uint64_t name, int64_t count, int64_t ns, bool timed);

/* gotrace_v1_stats.c */
int v1_stats_event(struct v1_an *a, const struct v1_event *ev, bool ends_span);
void v1_stats_finish(struct v1_an *a);

/* gotrace_v1_summary.c */
int v1_summary_fill(struct v1_an *a, struct trace_summary *s, char **ret_err);

#endif
