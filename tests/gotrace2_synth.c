/* Synthetic Go 1.22+ traces with figures computed by hand: goroutine
 * states, blocking profiles, GC/STW/MMU, traces that start in the middle of
 * a GC or a syscall, flight-recorder generation numbers, coroutines, user
 * annotations, CPU samples, and bounded memory over many generations. The
 * encoder writes 1e9 units per second, so timestamps are nanoseconds. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gotrace2_enc.h"
#include "gotrace2_test.h"
#include "util.h"

#define MS 1000000ULL
#define B 1000000ULL /* base time of the synthetic traces */

static void ev0(struct tenc *e, uint8_t t, uint64_t ts) {
  tenc_ev(e, t, ts, 0);
}
static void ev1(struct tenc *e, uint8_t t, uint64_t ts, uint64_t a) {
  tenc_ev(e, t, ts, 1, a);
}
static void ev2(struct tenc *e, uint8_t t, uint64_t ts, uint64_t a, uint64_t b) {
  tenc_ev(e, t, ts, 2, a, b);
}
static void ev3(struct tenc *e, uint8_t t, uint64_t ts, uint64_t a, uint64_t b, uint64_t c) {
  tenc_ev(e, t, ts, 3, a, b, c);
}
static void ev4(struct tenc *e, uint8_t t, uint64_t ts, uint64_t a, uint64_t b, uint64_t c,
                uint64_t d) {
  tenc_ev(e, t, ts, 4, a, b, c, d);
}

static void frame_stack(struct tenc *e, uint64_t id, uint64_t pc, uint64_t func, uint64_t file,
                        uint64_t line) {
  struct tframe f = {pc, func, file, line};
  tenc_stack(e, id, 1, &f);
}

/* One P, two goroutines: g1 running at the start, g2 created, a syscall,
 * a channel wait, a wake-up, an exit and a block "forever". */
static uint8_t *basic_trace(int minor, size_t *len) {
  struct tenc e;
  tenc_init(&e, minor);
  tenc_gen(&e, 1, 1000);
  tenc_string(&e, 1, "chan receive");
  tenc_string(&e, 2, "forever");
  tenc_string(&e, 3, "main.main");
  tenc_string(&e, 4, "main.worker");
  tenc_string(&e, 5, "main.go");
  frame_stack(&e, 1, 0x100, 4, 5, 10);
  frame_stack(&e, 2, 0x200, 3, 5, 20);
  frame_stack(&e, 3, 0x300, 4, 5, 30);
  tenc_batch(&e, 1, 1000);
  ev2(&e, V2_EV_PROC_STATUS, 1000, 0, V2_P_RUNNING);
  ev3(&e, V2_EV_GO_STATUS, 1000, 1, 1, V2_G_RUNNING);
  ev2(&e, V2_EV_PROCS_CHANGE, 1100, 1, 0);
  ev3(&e, V2_EV_GO_CREATE, 1200, 2, 1, 2);
  ev2(&e, V2_EV_GO_BLOCK, 1300, 1, 2);
  ev2(&e, V2_EV_GO_START, 1400, 2, 1);
  ev2(&e, V2_EV_GO_SYSCALL_BEGIN, 1500, 1, 3);
  ev0(&e, V2_EV_GO_SYSCALL_END, 1600);
  ev3(&e, V2_EV_GO_UNBLOCK, 1700, 1, 1, 3);
  ev0(&e, V2_EV_GO_DESTROY, 1800);
  ev2(&e, V2_EV_GO_START, 1900, 1, 2);
  ev2(&e, V2_EV_GO_BLOCK, 2000, 2, 2);
  ev0(&e, V2_EV_PROC_STOP, 2100);
  tenc_gen_end(&e);
  return tenc_done(&e, len);
}

static const struct trace_profile_sample *sample_at(const struct trace_profile *p, uint64_t pc) {
  for (size_t i = 0; i < p->n_samples; i++)
    if (p->samples[i].stack.n_frames && p->samples[i].stack.frames[0].pc == pc)
      return &p->samples[i];
  return NULL;
}

START_TEST(test_basic) {
  static const int minors[] = {22, 23, 24, 25, 26};
  for (size_t v = 0; v < ARRAY_SIZE(minors); v++) {
    size_t len;
    uint8_t *data = basic_trace(minors[v], &len);
    struct trace_summary s;
    struct gotrace_v2_stats st;
    struct grows rows = {0};
    const struct trace_group *g;
    const struct gotrace_v2_goroutine *r;
    const struct trace_profile_sample *sm;
    parse_ok(data, len, &s, &st, &rows);
    ck_assert_int_eq(s.go_minor, minors[v]);
    ck_assert_int_eq(s.duration_ns, 1101); /* 1000 .. final Sync at 2101 */
    ck_assert_int_eq(s.events, 13);
    ck_assert_int_eq(s.threads, 1);
    ck_assert_int_eq(s.procs, 1);
    ck_assert_int_eq(s.goroutines_created, 1);
    ck_assert_int_eq(s.goroutines_ended, 2);
    ck_assert_int_eq(s.goroutines_total, 2);
    ck_assert_int_eq(s.goroutines_max_alive, 2);
    ck_assert_int_eq(event_count(&s, "GoBlock"), 2);
    ck_assert_int_eq(event_count(&s, "GoStart"), 2);
    /* g1: running since the start, 300 ns, chan wait 400, runnable 200,
     * running 100, then blocked forever (its end). */
    r = grows_find(&rows, 1);
    ck_assert_int_eq(r->create_ns, 0);
    ck_assert_int_eq(r->start_ns, 0);
    ck_assert_int_eq(r->end_ns, 1000);
    ck_assert_int_eq(r->total_ns, 1000);
    ck_assert_int_eq(r->exec_ns, 400);
    ck_assert_int_eq(r->block_sync_ns, 400);
    ck_assert_int_eq(r->sched_ns, 200);
    ck_assert_str_eq(r->name, "main.main");
    /* g2: created at 1200, runs at 1400, syscall 1500-1600, exits at 1800. */
    r = grows_find(&rows, 2);
    ck_assert_int_eq(r->create_ns, 200);
    ck_assert_int_eq(r->start_ns, 400);
    ck_assert_int_eq(r->end_ns, 800);
    ck_assert_int_eq(r->total_ns, 600);
    ck_assert_int_eq(r->exec_ns, 300);
    ck_assert_int_eq(r->sched_ns, 200);
    ck_assert_int_eq(r->syscall_ns, 100);
    ck_assert_int_eq(r->syscall_block_ns, 0);
    ck_assert_str_eq(r->name, "main.worker");
    ck_assert_str_eq(s.groups[0].function, "main.main"); /* more execution */
    g = find_group(&s, "main.worker");
    ck_assert_int_eq(g->count, 1);
    ck_assert_int_eq(g->s.execution_ns, 300);
    ck_assert_int_eq(g->s.scheduler_wait_ns, 200);
    ck_assert_int_eq(g->s.unknown_ns, 100); /* the non-blocking syscall */
    ck_assert_uint_eq(g->n_worst, 1);
    ck_assert_int_eq(g->worst[0].id, 2);
    ck_assert_int_eq(g->worst[0].ended_ns, 800);
    /* Blocking profiles (Go 1.26 rule): sched from the creator's and the
     * unblocker's stacks, sync from the blocking stack, syscall. */
    ck_assert_int_eq(s.profiles[TRACE_PROFILE_SCHED].total_count, 2);
    ck_assert_int_eq(s.profiles[TRACE_PROFILE_SCHED].total_ns, 400);
    sm = sample_at(&s.profiles[TRACE_PROFILE_SCHED], 0x200);
    ck_assert_int_eq(sm->ns, 200);
    sm = sample_at(&s.profiles[TRACE_PROFILE_SCHED], 0x300);
    ck_assert_int_eq(sm->ns, 200);
    ck_assert_int_eq(s.profiles[TRACE_PROFILE_SYNC].total_count, 1);
    sm = sample_at(&s.profiles[TRACE_PROFILE_SYNC], 0x200);
    ck_assert_int_eq(sm->ns, 400);
    ck_assert_str_eq(sm->stack.frames[0].function, "main.main");
    ck_assert_str_eq(sm->stack.frames[0].file, "main.go");
    ck_assert_int_eq(sm->stack.frames[0].line, 20);
    ck_assert_int_eq(s.profiles[TRACE_PROFILE_SYSCALL].total_ns, 100);
    ck_assert_int_eq(sample_at(&s.profiles[TRACE_PROFILE_SYSCALL], 0x300)->count, 1);
    ck_assert_int_eq(s.profiles[TRACE_PROFILE_NET].total_count, 0);
    for (int i = 0; i < TRACE_MMU_WINDOWS; i++)
      ck_assert_double_eq_tol(s.mmu[i], 1.0, 1e-12);
    ck_assert_int_eq(s.gc.cycles, 0);
    ck_assert_int_eq(s.gc.heap_live_max, -1);
    trace_summary_done(&s);
    grows_free(&rows);
    free(data);
  }
}
END_TEST

/* A GC cycle: two STW pauses, a dedicated mark worker on the second P, a
 * mark assist and a sweep; utilization and MMU by hand (doc 5.5). */
static uint8_t *gc_trace(size_t *len) {
  struct tenc e;
  tenc_init(&e, 26);
  tenc_gen(&e, 1, B);
  tenc_string(&e, 1, "GC (dedicated)");
  tenc_string(&e, 2, "GC sweep termination");
  tenc_string(&e, 3, "GC mark termination");
  tenc_string(&e, 4, "runtime.gcBgMarkWorker");
  tenc_string(&e, 5, "main.main");
  tenc_string(&e, 6, "x.go");
  tenc_string(&e, 7, "system goroutine wait");
  frame_stack(&e, 1, 0x10, 5, 6, 1);
  frame_stack(&e, 2, 0x20, 4, 6, 2);
  tenc_batch(&e, TE_NONE, B);
  ev3(&e, V2_EV_GO_STATUS, B, 2, TE_NONE, V2_G_RUNNABLE);
  tenc_batch(&e, 1, B);
  ev2(&e, V2_EV_PROC_STATUS, B, 0, V2_P_RUNNING);
  ev4(&e, V2_EV_GO_STATUS_STACK, B, 1, 1, V2_G_RUNNING, 1);
  ev2(&e, V2_EV_PROCS_CHANGE, B + 1000, 2, 0);
  ev2(&e, V2_EV_STW_BEGIN, B + 10 * MS, 2, 1);
  ev0(&e, V2_EV_STW_END, B + 11 * MS);
  ev2(&e, V2_EV_GC_BEGIN, B + 11 * MS + 1000, 1, 1);
  ev1(&e, V2_EV_GC_ASSIST_BEGIN, B + 12 * MS, 1);
  ev0(&e, V2_EV_GC_ASSIST_END, B + 14 * MS);
  ev2(&e, V2_EV_STW_BEGIN, B + 32 * MS, 3, 1);
  ev0(&e, V2_EV_STW_END, B + 32 * MS + MS / 2);
  ev1(&e, V2_EV_GC_END, B + 33 * MS, 2);
  ev1(&e, V2_EV_GC_SWEEP_BEGIN, B + 40 * MS, 1);
  ev2(&e, V2_EV_GC_SWEEP_END, B + 41 * MS, 100, 50);
  ev1(&e, V2_EV_HEAP_ALLOC, B + 200 * MS, 12345);
  tenc_batch(&e, 2, B);
  ev2(&e, V2_EV_PROC_STATUS, B, 1, V2_P_IDLE);
  ev2(&e, V2_EV_PROC_START, B + 11 * MS + 2000, 1, 1);
  ev2(&e, V2_EV_GO_START, B + 11 * MS + 3000, 2, 1);
  ev1(&e, V2_EV_GO_LABEL, B + 11 * MS + 3500, 1);
  ev2(&e, V2_EV_GO_BLOCK, B + 31 * MS, 7, 2);
  ev0(&e, V2_EV_PROC_STOP, B + 31 * MS + 500);
  tenc_gen_end(&e);
  return tenc_done(&e, len);
}

START_TEST(test_gc_cycle) {
  size_t len;
  uint8_t *data = gc_trace(&len);
  struct trace_summary s;
  struct gotrace_v2_stats st;
  struct grows rows = {0};
  const struct gotrace_v2_goroutine *r;
  const struct trace_group *g;
  double range = (double)(200 * MS + 1 - 1000), loss = 12998250.0;
  parse_ok(data, len, &s, &st, &rows);
  ck_assert_int_eq(s.gc.cycles, 1);
  ck_assert_int_eq(s.gc.stw_count, 2);
  ck_assert_int_eq(s.gc.stw_total_ns, 1500000);
  ck_assert_int_eq(s.gc.stw_max_ns, 1000000);
  ck_assert_int_eq(s.gc.stw_p99_ns, 1000000);
  /* STW 1.5 ms x 2 procs + worker 19.9965 ms + assist 2 ms + sweep 1 ms */
  ck_assert_int_eq(s.gc.gc_cpu_ns, 25996500);
  ck_assert_int_eq(s.gc.heap_live_min, 12345);
  ck_assert_int_eq(s.gc.heap_live_max, 12345);
  ck_assert_int_eq(s.gc.heap_goal_max, -1);
  /* u = 0 in STW; 0.5 while the worker runs, 0 with the assist too */
  ck_assert_double_eq_tol(s.mmu[0], 0.0, 1e-12);
  ck_assert_double_eq_tol(s.mmu[1], 0.350175, 1e-9);
  ck_assert_double_eq_tol(s.mmu[2], (100 * MS - loss) / (100.0 * MS), 1e-9);
  ck_assert_double_eq_tol(s.mmu[3], (range - loss) / range, 1e-9); /* whole trace */
  r = grows_find(&rows, 1);
  ck_assert_str_eq(r->name, "main.main");
  ck_assert_int_eq(r->total_ns, 200 * MS + 1);
  ck_assert_int_eq(r->exec_ns, r->total_ns);
  ck_assert_int_eq(r->sweep_ns, 1 * MS);
  ck_assert_int_eq(r->assist_ns, 2 * MS);
  ck_assert_int_eq(r->gc_pause_ns, 33 * MS - (11 * MS + 1000));
  r = grows_find(&rows, 2);
  ck_assert_str_eq(r->name, "runtime.gcBgMarkWorker");
  ck_assert_int_eq(r->sched_ns, 11 * MS + 3000);
  ck_assert_int_eq(r->exec_ns, 31 * MS - (11 * MS + 3000));
  ck_assert_int_eq(r->block_other_ns, 200 * MS + 1 - 31 * MS);
  g = find_group(&s, "main.main");
  ck_assert_int_eq(g->s.gc_sweep_ns, 1 * MS);
  ck_assert_int_eq(g->s.gc_pause_ns, 33 * MS - (11 * MS + 1000));
  trace_summary_done(&s);
  grows_free(&rows);
  free(data);
}
END_TEST

/* Flight-recorder style: generation 5 first, a GC cycle and a mark assist
 * already running (GCActive, GCMarkAssistActive). */
START_TEST(test_starts_during_gc) {
  struct tenc e;
  size_t len;
  uint8_t *data;
  struct trace_summary s;
  struct gotrace_v2_stats st;
  struct grows rows = {0};
  const struct gotrace_v2_goroutine *r;
  double whole;
  tenc_init(&e, 26);
  tenc_gen(&e, 5, B);
  tenc_string(&e, 1, "main.main");
  tenc_string(&e, 2, "x.go");
  frame_stack(&e, 1, 0x10, 1, 2, 1);
  tenc_batch(&e, 1, B);
  ev2(&e, V2_EV_PROC_STATUS, B, 0, V2_P_RUNNING);
  ev4(&e, V2_EV_GO_STATUS_STACK, B, 1, 1, V2_G_RUNNING, 1);
  ev2(&e, V2_EV_PROCS_CHANGE, B + 100, 2, 0);
  ev1(&e, V2_EV_GC_ACTIVE, B + 200, 7);
  ev1(&e, V2_EV_GC_ASSIST_ACTIVE, B + 300, 1);
  ev0(&e, V2_EV_GC_ASSIST_END, B + 2 * MS);
  ev1(&e, V2_EV_GC_END, B + 5 * MS, 8);
  ev1(&e, V2_EV_HEAP_ALLOC, B + 10 * MS, 1);
  tenc_batch(&e, 2, B);
  ev2(&e, V2_EV_PROC_STATUS, B, 1, V2_P_RUNNING);
  ev3(&e, V2_EV_GO_STATUS, B, 3, 2, V2_G_RUNNING);
  ev1(&e, V2_EV_GC_SWEEP_BEGIN, B + 150, 0);
  ev2(&e, V2_EV_GC_SWEEP_END, B + 250, 1, 1);
  tenc_gen_end(&e);
  data = tenc_done(&e, &len);
  parse_ok(data, len, &s, &st, &rows);
  ck_assert_int_eq(st.first_gen, 5);
  ck_assert_int_eq(st.gc_active_at_start, 1);
  ck_assert_int_eq(s.gc.cycles, 1);
  r = grows_find(&rows, 1);
  ck_assert_int_eq(r->assist_ns, 2 * MS); /* active since the start */
  ck_assert_int_eq(r->gc_pause_ns, 5 * MS);
  ck_assert_int_eq(s.gc.gc_cpu_ns, 2 * MS + 100);
  /* The assist was running since the start: the points before it are
   * lowered retroactively (1 -> 0.5, the sweep's 0.5 -> 0), u = 0.5 until
   * the assist ends. */
  whole = (0.5 * 50 + 0.5 * (double)(2 * MS - 250) + (double)(8 * MS + 1)) /
          (double)(10 * MS + 1 - 100);
  ck_assert_double_eq_tol(s.mmu[0], 0.5 - 50.0 / (double)MS, 1e-12);
  ck_assert_double_eq_tol(s.mmu[1], whole, 1e-9);
  ck_assert_double_eq_tol(s.mmu[3], whole, 1e-9);
  trace_summary_done(&s);
  grows_free(&rows);
  free(data);
}
END_TEST

/* A goroutine sits in a syscall on another thread when the trace starts;
 * its P is stolen, the syscall returns without a P. */
START_TEST(test_starts_in_syscall) {
  struct tenc e;
  size_t len;
  uint8_t *data;
  struct trace_summary s;
  struct gotrace_v2_stats st;
  struct grows rows = {0};
  const struct gotrace_v2_goroutine *r;
  const struct trace_profile *p;
  tenc_init(&e, 26);
  tenc_gen(&e, 1, B);
  tenc_batch(&e, 7, B);
  ev2(&e, V2_EV_PROC_STATUS, B, 1, V2_P_SYSCALL);
  ev3(&e, V2_EV_GO_STATUS, B, 3, 7, V2_G_SYSCALL);
  ev0(&e, V2_EV_GO_SYSCALL_END_BLOCKED, B + 3 * MS);
  ev2(&e, V2_EV_PROC_START, B + 3 * MS + MS / 2, 1, 2);
  ev2(&e, V2_EV_GO_START, B + 4 * MS, 3, 1);
  ev0(&e, V2_EV_GO_DESTROY, B + 5 * MS);
  ev0(&e, V2_EV_PROC_STOP, B + 5 * MS + 100);
  tenc_batch(&e, 1, B);
  ev2(&e, V2_EV_PROC_STATUS, B, 0, V2_P_RUNNING);
  ev3(&e, V2_EV_GO_STATUS, B, 1, 1, V2_G_RUNNING);
  ev2(&e, V2_EV_PROCS_CHANGE, B + 100, 2, 0);
  ev3(&e, V2_EV_PROC_STEAL, B + 1 * MS, 1, 1, 7);
  ev1(&e, V2_EV_HEAP_ALLOC, B + 6 * MS, 1);
  tenc_gen_end(&e);
  data = tenc_done(&e, &len);
  parse_ok(data, len, &s, &st, &rows);
  r = grows_find(&rows, 3);
  ck_assert_int_eq(r->create_ns, 0);
  ck_assert_int_eq(r->syscall_ns, 1 * MS);       /* until the P was stolen */
  ck_assert_int_eq(r->syscall_block_ns, 2 * MS); /* blocked without a P */
  ck_assert_int_eq(r->sched_ns, 1 * MS);
  ck_assert_int_eq(r->exec_ns, 1 * MS);
  ck_assert_int_eq(r->total_ns, 5 * MS);
  ck_assert_int_eq(r->end_ns, 5 * MS);
  ck_assert_int_eq(s.threads, 2);
  p = &s.profiles[TRACE_PROFILE_SYSCALL];
  ck_assert_int_eq(p->total_count, 1);
  ck_assert_int_ge(p->total_ns, 3 * MS - 10);
  ck_assert_int_le(p->total_ns, 3 * MS);
  /* GoSyscallEndBlocked has no stack: an empty-stack sample */
  p = &s.profiles[TRACE_PROFILE_SCHED];
  ck_assert_int_eq(p->total_count, 1);
  ck_assert_int_eq(p->total_ns, 1 * MS);
  ck_assert_uint_eq(p->samples[0].stack.n_frames, 0);
  ck_assert_int_eq(find_group(&s, "")->s.syscall_ns, 2 * MS);
  trace_summary_done(&s);
  grows_free(&rows);
  free(data);
}
END_TEST

/* A syscall that spans a generation boundary: the new generation reports
 * the proc as abandoned by the tracer, another thread steals it, and the
 * goroutine returns without a proc. */
START_TEST(test_abandoned_proc) {
  struct tenc e;
  size_t len;
  uint8_t *data;
  struct trace_summary s;
  struct gotrace_v2_stats st;
  struct grows rows = {0};
  const struct gotrace_v2_goroutine *r;
  tenc_init(&e, 26);
  tenc_gen(&e, 1, B);
  tenc_batch(&e, 1, B);
  ev2(&e, V2_EV_PROC_STATUS, B, 0, V2_P_RUNNING);
  ev3(&e, V2_EV_GO_STATUS, B, 1, 1, V2_G_RUNNING);
  ev2(&e, V2_EV_PROCS_CHANGE, B + 10, 1, 0);
  ev2(&e, V2_EV_GO_SYSCALL_BEGIN, B + 1000, 1, 0);
  tenc_gen_end(&e);
  tenc_gen(&e, 2, B + MS);
  tenc_batch(&e, TE_NONE, B + MS);
  ev2(&e, V2_EV_PROC_STATUS, B + MS, 0, V2_P_ABANDONED);
  tenc_batch(&e, 1, B + MS);
  ev3(&e, V2_EV_GO_STATUS, B + MS + 10, 1, 1, V2_G_SYSCALL);
  ev0(&e, V2_EV_GO_SYSCALL_END_BLOCKED, B + MS + 500);
  tenc_batch(&e, 2, B + MS);
  ev3(&e, V2_EV_PROC_STEAL, B + MS + 200, 0, 1, 1);
  tenc_gen_end(&e);
  data = tenc_done(&e, &len);
  parse_ok(data, len, &s, &st, &rows);
  r = grows_find(&rows, 1);
  ck_assert_int_eq(r->exec_ns, 1000);
  ck_assert_int_eq(r->syscall_ns, MS + 200 - 1000);
  ck_assert_int_eq(r->syscall_block_ns, 300);
  ck_assert_int_eq(r->sched_ns, 1);
  ck_assert_int_eq(r->total_ns, MS + 501);
  ck_assert_int_eq(s.threads, 2);
  trace_summary_done(&s);
  grows_free(&rows);
  free(data);
}
END_TEST

static uint8_t *coroutine_trace(int minor, size_t *len) {
  struct tenc e;
  tenc_init(&e, minor);
  tenc_gen(&e, 1, B);
  tenc_string(&e, 1, "main.main");
  tenc_string(&e, 2, "main.gen");
  tenc_string(&e, 3, "x.go");
  frame_stack(&e, 1, 0x10, 1, 3, 1);
  frame_stack(&e, 2, 0x20, 2, 3, 2);
  tenc_batch(&e, 1, B);
  ev2(&e, V2_EV_PROC_STATUS, B, 0, V2_P_RUNNING);
  ev3(&e, V2_EV_GO_STATUS, B, 1, 1, V2_G_RUNNING);
  ev2(&e, V2_EV_PROCS_CHANGE, B + 10, 1, 0);
  ev3(&e, V2_EV_GO_CREATE_BLOCKED, B + 100, 2, 2, 1);
  ev2(&e, V2_EV_GO_SWITCH, B + 200, 2, 1);
  ev2(&e, V2_EV_GO_SWITCH, B + 300, 1, 1);
  ev2(&e, V2_EV_GO_SWITCH, B + 400, 2, 2);
  ev2(&e, V2_EV_GO_SWITCH_DESTROY, B + 500, 1, 2);
  ev1(&e, V2_EV_HEAP_ALLOC, B + 600, 1);
  tenc_gen_end(&e);
  return tenc_done(&e, len);
}

/* iter.Pull style coroutine switches (Go 1.23+): each switch is an unblock,
 * a block (or exit) and a start. */
START_TEST(test_coroutines) {
  size_t len;
  uint8_t *data = coroutine_trace(23, &len);
  struct trace_summary s;
  struct gotrace_v2_stats st;
  struct grows rows = {0};
  const struct gotrace_v2_goroutine *r;
  char *err;
  parse_ok(data, len, &s, &st, &rows);
  ck_assert_int_eq(event_count(&s, "GoSwitch"), 3);
  ck_assert_int_eq(event_count(&s, "GoSwitchDestroy"), 1);
  ck_assert_int_eq(event_count(&s, "GoBlock"), 3);   /* synthesized */
  ck_assert_int_eq(event_count(&s, "GoStart"), 4);   /* synthesized */
  ck_assert_int_eq(event_count(&s, "GoDestroy"), 1); /* synthesized */
  ck_assert_int_eq(s.goroutines_created, 1);
  ck_assert_int_eq(s.goroutines_ended, 1);
  r = grows_find(&rows, 2);
  ck_assert_str_eq(r->name, "main.gen");
  ck_assert_int_ne(r->end_ns, -1);
  ck_assert_int_eq(r->total_ns, r->exec_ns + r->sched_ns + r->block_other_ns);
  ck_assert_int_gt(r->exec_ns, 150);
  r = grows_find(&rows, 1);
  ck_assert_int_eq(r->end_ns, -1);
  ck_assert_int_eq(r->total_ns, r->exec_ns + r->sched_ns + r->block_other_ns);
  trace_summary_done(&s);
  grows_free(&rows);
  free(data);
  /* Go 1.22 has no coroutine events. */
  data = coroutine_trace(22, &len);
  ck_assert_int_eq(parse_err(data, len, &err), -EPROTO);
  ck_assert_ptr_nonnull(strstr(err, "unknown event type 47 for go 1.22"));
  free(err);
  free(data);
}
END_TEST

static const struct trace_annotation *annotation(const struct trace_summary *s, const char *kind,
                                                 const char *name) {
  for (size_t i = 0; i < s->n_annotations; i++)
    if (!strcmp(s->annotations[i].kind, kind) && !strcmp(s->annotations[i].name, name))
      return &s->annotations[i];
  return NULL;
}

/* runtime/trace tasks, regions and logs, across a generation boundary where
 * all string ids change. */
START_TEST(test_annotations) {
  struct tenc e;
  size_t len;
  uint8_t *data;
  struct trace_summary s;
  struct gotrace_v2_stats st;
  const struct trace_annotation *a;
  tenc_init(&e, 26);
  tenc_gen(&e, 1, B);
  tenc_string(&e, 1, "job");
  tenc_string(&e, 2, "phase");
  tenc_string(&e, 3, "cat");
  tenc_string(&e, 4, "msg");
  tenc_string(&e, 5, "main.main");
  tenc_string(&e, 6, "x.go");
  frame_stack(&e, 1, 0x10, 5, 6, 1);
  tenc_batch(&e, 1, B);
  ev2(&e, V2_EV_PROC_STATUS, B, 0, V2_P_RUNNING);
  ev4(&e, V2_EV_GO_STATUS_STACK, B, 1, 1, V2_G_RUNNING, 1);
  ev2(&e, V2_EV_PROCS_CHANGE, B + 10, 1, 0);
  ev4(&e, V2_EV_TASK_BEGIN, B + 100, 7, 0, 1, 1);
  ev3(&e, V2_EV_REGION_BEGIN, B + 200, 7, 2, 1);
  ev3(&e, V2_EV_REGION_END, B + 500, 7, 2, 1);
  ev3(&e, V2_EV_REGION_BEGIN, B + 600, 7, 2, 1);
  ev4(&e, V2_EV_USER_LOG, B + 700, 7, 3, 4, 1);
  tenc_gen_end(&e);
  tenc_gen(&e, 2, B + MS);
  tenc_string(&e, 10, "msg");
  tenc_string(&e, 11, "cat");
  tenc_string(&e, 12, "phase");
  tenc_batch(&e, 1, B + MS);
  ev2(&e, V2_EV_PROC_STATUS, B + MS, 0, V2_P_RUNNING);
  ev3(&e, V2_EV_GO_STATUS, B + MS, 1, 1, V2_G_RUNNING);
  ev3(&e, V2_EV_REGION_END, B + MS + 100, 7, 12, 0);
  ev4(&e, V2_EV_USER_LOG, B + MS + 200, 7, 11, 10, 0);
  ev2(&e, V2_EV_TASK_END, B + MS + 300, 7, 0);
  ev2(&e, V2_EV_TASK_END, B + MS + 400, 99, 0); /* began before the trace */
  tenc_gen_end(&e);
  data = tenc_done(&e, &len);
  parse_ok(data, len, &s, &st, NULL);
  ck_assert_int_eq(st.generations, 2);
  ck_assert_uint_eq(s.n_annotations, 3);
  a = annotation(&s, "task", "job");
  ck_assert_int_eq(a->count, 1);
  ck_assert_int_eq(a->total_ns, MS + 200);
  ck_assert_int_eq(a->max_ns, MS + 200);
  a = annotation(&s, "region", "phase");
  ck_assert_int_eq(a->count, 2);
  ck_assert_int_eq(a->total_ns, 300 + (MS + 100 - 600));
  ck_assert_int_eq(a->max_ns, MS + 100 - 600);
  a = annotation(&s, "log", "cat");
  ck_assert_int_eq(a->count, 2);
  trace_summary_done(&s);
  free(data);
}
END_TEST

START_TEST(test_cpu_samples) {
  struct tenc e;
  size_t len;
  uint8_t *data;
  struct trace_summary s;
  struct gotrace_v2_stats st;
  tenc_init(&e, 25);
  tenc_gen(&e, 1, B);
  tenc_string(&e, 1, "main.main");
  tenc_string(&e, 2, "x.go");
  frame_stack(&e, 1, 0x10, 1, 2, 1);
  tenc_cpu(&e, B + 500, 1, 0, 1, 1);
  tenc_cpu(&e, B + 50, 1, 0, 1, 1); /* samples come in any order */
  tenc_cpu(&e, B + 5000, 1, TE_NONE, 0, 0);
  tenc_batch(&e, 1, B);
  ev2(&e, V2_EV_PROC_STATUS, B, 0, V2_P_RUNNING);
  ev3(&e, V2_EV_GO_STATUS, B, 1, 1, V2_G_RUNNING);
  ev2(&e, V2_EV_PROCS_CHANGE, B + 10, 1, 0);
  ev1(&e, V2_EV_HEAP_ALLOC, B + 1000, 1);
  tenc_gen_end(&e);
  data = tenc_done(&e, &len);
  parse_ok(data, len, &s, &st, NULL);
  ck_assert_int_eq(st.cpu_samples, 3);
  ck_assert_int_eq(event_count(&s, "CPUSample"), 3);
  ck_assert_int_eq(s.events, 7);
  ck_assert_int_eq(s.duration_ns, 5001); /* the last sample is the last event */
  trace_summary_done(&s);
  free(data);
}
END_TEST

/* Many generations, each with its own ids for the same stacks: the working
 * set of a generation does not grow, nor do the interned stacks. */
static uint8_t *many_generations(int n_gens, size_t *len) {
  struct tenc e;
  uint64_t t = B, g = 10;
  tenc_init(&e, 26);
  for (int gen = 1; gen <= n_gens; gen++) {
    uint64_t off = (uint64_t)gen * 100; /* ids differ in every generation */
    tenc_gen(&e, (uint64_t)gen, t);
    tenc_string(&e, off + 1, "main.worker");
    tenc_string(&e, off + 2, "w.go");
    tenc_string(&e, off + 3, "main.main");
    frame_stack(&e, off + 1, 0x100, off + 1, off + 2, 7);
    frame_stack(&e, off + 2, 0x200, off + 3, off + 2, 8);
    tenc_batch(&e, 1, t);
    ev2(&e, V2_EV_PROC_STATUS, t, 0, V2_P_RUNNING);
    ev3(&e, V2_EV_GO_STATUS, t, 1, 1, V2_G_RUNNING);
    if (gen == 1)
      ev2(&e, V2_EV_PROCS_CHANGE, t + 1, 1, 0);
    for (int i = 0; i < 50; i++, g++) {
      t += 100;
      ev3(&e, V2_EV_GO_CREATE, t, g, off + 1, off + 2);
      ev2(&e, V2_EV_GO_STOP, t + 10, 0, off + 2);
      ev2(&e, V2_EV_GO_START, t + 20, g, 1);
      ev0(&e, V2_EV_GO_DESTROY, t + 30);
      ev2(&e, V2_EV_GO_START, t + 40, 1, (uint64_t)i + 1);
    }
    t += 1000;
    tenc_gen_end(&e);
  }
  return tenc_done(&e, len);
}

START_TEST(test_bounded_memory) {
  size_t peak[2], len;
  int64_t stacks[2];
  for (int k = 0; k < 2; k++) {
    uint8_t *data = many_generations(k ? 400 : 20, &len);
    struct trace_summary s;
    struct gotrace_v2_stats st;
    parse_ok(data, len, &s, &st, NULL);
    ck_assert_int_eq(st.generations, k ? 400 : 20);
    ck_assert_int_eq(s.goroutines_created, k ? 20000 : 1000);
    ck_assert_int_eq(find_group(&s, "main.worker")->count, k ? 20000 : 1000);
    ck_assert_int_eq(s.goroutines_max_alive, 2);
    peak[k] = st.peak_gen_bytes;
    stacks[k] = st.interned_stacks;
    trace_summary_done(&s);
    free(data);
  }
  ck_assert_uint_eq(peak[0], peak[1]);
  ck_assert_int_eq(stacks[0], stacks[1]);
  ck_assert_int_le(stacks[1], 3);
}
END_TEST

TCase *gotrace2_synth_tcase(void) {
  TCase *tc = tcase_create("synthetic");
  tcase_add_test(tc, test_basic);
  tcase_add_test(tc, test_gc_cycle);
  tcase_add_test(tc, test_starts_during_gc);
  tcase_add_test(tc, test_starts_in_syscall);
  tcase_add_test(tc, test_abandoned_proc);
  tcase_add_test(tc, test_coroutines);
  tcase_add_test(tc, test_annotations);
  tcase_add_test(tc, test_cpu_samples);
  tcase_add_test(tc, test_bounded_memory);
  return tc;
}
