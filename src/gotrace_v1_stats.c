/* Old-format traces: goroutine analysis as Go 1.19's GoroutineStats
 * computes it (doc 5.1, zero meaning "unset" included), the mutator
 * utilization function for MMU (5.5), GC/heap facts and counts (5.4). */
#include "config.h"

#include "gotrace_v1_an.h"
#include "util.h"

#include <errno.h>
#include <string.h>

#define MAX_PROCS (1 << 20) /* far above any real GOMAXPROCS */

/* GC pause column: Go adds, at every GCDone, end - max(cycle start,
 * creation) to each goroutine that has not ended. Summing per goroutine at
 * its end instead keeps this linear in goroutines + cycles: completed
 * cycles since creation, minus the part of the cycle running at creation
 * that predates the goroutine. */
static void gc_account(struct v1_an *a, struct v1_gst *g) {
  if (g->gc_accounted)
    return;
  g->gc += a->gc_sum - g->gc_d0;
  if (a->gc_done > g->gc_n0)
    g->gc -= g->gc_corr;
  g->gc_accounted = true;
}

/* Go's GDesc.finalize: closes the pending intervals at t. */
static void finalize(struct v1_an *a, struct v1_gst *g, int64_t t) {
  if (a->gc_start != 0)
    g->gc += t - (g->creation < a->gc_start ? a->gc_start : g->creation);
  if (g->total == 0)
    g->total = t - g->creation;
  if (g->last_start != 0)
    g->exec += t - g->last_start;
  if (g->block_net != 0)
    g->io += t - g->block_net;
  if (g->block_sync != 0)
    g->block += t - g->block_sync;
  if (g->block_syscall != 0)
    g->syscall += t - g->block_syscall;
  if (g->block_sched != 0)
    g->sched += t - g->block_sched;
  if (g->block_sweep != 0)
    g->sweep += t - g->block_sweep;
  g->last_start = g->block_net = g->block_sync = g->block_syscall = 0;
  g->block_sched = g->block_sweep = 0;
}

static void stop_exec(struct v1_gst *g, int64_t t) {
  g->exec += t - g->last_start;
  g->last_start = 0;
}

static void goroutine_stats(struct v1_an *a, const struct v1_event *ev) {
  struct v1_gst *g = &a->gs[ev->gi], *tg;
  const struct v1_stack *st;
  int64_t t = ev->ts;

  switch (ev->type) {
  case V1_GO_CREATE:
    tg = &a->gs[ev->ti];
    tg->stats = true;
    tg->creation = t;
    tg->block_sched = t;
    tg->gc_d0 = a->gc_sum;
    tg->gc_n0 = a->gc_done;
    tg->gc_corr = a->gc_open ? (t > a->gc_start ? t - a->gc_start : 0) : 0;
    tg->prologue = a->in_prologue;
    return;
  case V1_GO_START:
  case V1_GO_START_LABEL:
    if (!g->stats)
      return;
    if (g->pc == 0) {
      /* The first start carries the create's one-frame start stack. */
      st = v1_stack_get(a->t, ev->stk);
      if (st) {
        g->pc = a->t->frames[st->first].pc;
        g->fn = a->t->frames[st->first].fn;
      }
    }
    g->last_start = t;
    if (g->start_time == 0)
      g->start_time = t;
    if (g->block_sched != 0) {
      g->sched += t - g->block_sched;
      g->block_sched = 0;
    }
    return;
  case V1_GO_END:
  case V1_GO_STOP:
    if (!g->stats)
      return;
    g->end_time = t;
    g->closed = true;
    if (t != 0)
      gc_account(a, g);
    finalize(a, g, t);
    return;
  case V1_GO_BLOCK_SEND:
  case V1_GO_BLOCK_RECV:
  case V1_GO_BLOCK_SELECT:
  case V1_GO_BLOCK_SYNC:
  case V1_GO_BLOCK_COND:
    if (g->stats) {
      stop_exec(g, t);
      g->block_sync = t;
    }
    return;
  case V1_GO_SCHED:
  case V1_GO_PREEMPT:
    if (g->stats) {
      stop_exec(g, t);
      g->block_sched = t;
    }
    return;
  case V1_GO_SLEEP:
  case V1_GO_BLOCK:
  case V1_GO_BLOCK_GC:
    if (g->stats)
      stop_exec(g, t);
    return;
  case V1_GO_BLOCK_NET:
    if (g->stats) {
      stop_exec(g, t);
      g->block_net = t;
    }
    return;
  case V1_GO_UNBLOCK:
    tg = &a->gs[ev->ti];
    if (!tg->stats)
      return;
    if (tg->block_net != 0) {
      tg->io += t - tg->block_net;
      tg->block_net = 0;
    }
    if (tg->block_sync != 0) {
      tg->block += t - tg->block_sync;
      tg->block_sync = 0;
    }
    tg->block_sched = t;
    return;
  case V1_GO_SYS_BLOCK:
    if (g->stats) {
      stop_exec(g, t);
      g->block_syscall = t;
    }
    return;
  case V1_GO_SYS_EXIT:
    if (!g->stats)
      return;
    if (g->block_syscall != 0) {
      g->syscall += t - g->block_syscall;
      g->block_syscall = 0;
    }
    g->block_sched = t;
    return;
  case V1_SWEEP_START:
    if (g->stats)
      g->block_sweep = t; /* sweeping can happen on system goroutines during GC */
    return;
  case V1_SWEEP_DONE:
    if (g->stats && g->block_sweep != 0) {
      g->sweep += t - g->block_sweep;
      g->block_sweep = 0;
    }
    return;
  case V1_GC_START:
    a->gc_start = t;
    return;
  case V1_GC_DONE:
    a->gc_sum += t - a->gc_start;
    a->gc_done++;
    a->gc_start = 0;
    return;
  default:
    return;
  }
}

/* Adjusts P p's GC activity count, keeping the number of Ps with a
 * positive count in mmu_gcps. */
static void mmu_bump(struct v1_an *a, int64_t p, int d) {
  int before;

  if (p < 0 || (uint64_t)p >= a->n_mmu_ps)
    return;
  before = a->mmu_ps[p];
  a->mmu_ps[p] += d;
  a->mmu_gcps += (a->mmu_ps[p] > 0) - (before > 0);
}

/* Utilization function of Go's MutatorUtilization with all four flags
 * (STW, background workers, assists, sweeping) in system (not per-P)
 * mode. Events before the first Gomaxprocs are ignored (Go 1.19 crashes on
 * such traces) and out-of-range Ps are skipped. */
static int mmu_event(struct v1_an *a, const struct v1_event *ev, bool ends_span) {
  struct v1_gst *g = &a->gs[ev->gi];
  size_t gcps = 0;

  if (!a->mmu_on && ev->type != V1_GOMAXPROCS)
    return 0;
  switch (ev->type) {
  case V1_GOMAXPROCS: {
    uint64_t n = ev->args[0];
    if (n > MAX_PROCS)
      return -ERANGE;
    if (a->n_mmu_ps > n) {
      a->n_mmu_ps = (size_t)n;
      a->mmu_gcps = 0;
      for (size_t i = 0; i < a->n_mmu_ps; i++)
        a->mmu_gcps += a->mmu_ps[i] > 0;
    }
    if (a->n_mmu_ps < n) {
      if (gotrace_grow(&a->mmu_ps, &a->cap_mmu_ps, (size_t)n, sizeof(*a->mmu_ps)) < 0)
        return -ENOMEM;
      if (!a->mmu_on && trace_mmu_add(&a->mmu, ev->ts, 1.0) < 0)
        return -EINVAL;
      memset(a->mmu_ps + a->n_mmu_ps, 0, ((size_t)n - a->n_mmu_ps) * sizeof(*a->mmu_ps));
      a->n_mmu_ps = (size_t)n;
      a->mmu_on = true;
    }
    break;
  }
  case V1_STW_START:
    a->mmu_stw++;
    break;
  case V1_STW_DONE:
    a->mmu_stw--;
    break;
  case V1_ASSIST_START:
    mmu_bump(a, ev->p, 1);
    g->mmu_assist = true;
    break;
  case V1_ASSIST_DONE:
    mmu_bump(a, ev->p, -1);
    g->mmu_assist = false;
    break;
  case V1_SWEEP_START:
    mmu_bump(a, ev->p, 1);
    break;
  case V1_SWEEP_DONE:
    mmu_bump(a, ev->p, -1);
    break;
  case V1_GO_START_LABEL: {
    const char *label = v1_string(a->t, ev->args[2]);
    if (strncmp(label, "GC ", 3) == 0 && strcmp(label, "GC (idle)") != 0) {
      g->mmu_bgmark = true;
      mmu_bump(a, ev->p, 1);
    }
  }
    /* fall through */
  case V1_GO_START:
    if (g->mmu_assist)
      mmu_bump(a, ev->p, 1); /* unblocked during an assist */
    g->mmu_span = true;
    break;
  default:
    if (!ends_span || !g->mmu_span)
      return 0;
    if (g->mmu_assist)
      mmu_bump(a, ev->p, -1); /* blocked during an assist */
    if (g->mmu_bgmark) {
      mmu_bump(a, ev->p, -1);
      g->mmu_bgmark = false;
    }
    g->mmu_span = false;
    break;
  }
  if (!a->n_mmu_ps)
    return 0;
  gcps = a->mmu_stw > 0 ? a->n_mmu_ps : a->mmu_gcps;
  if (trace_mmu_add(&a->mmu, ev->ts, 1.0 - (double)gcps / (double)a->n_mmu_ps) < 0)
    return -EINVAL;
  return 0;
}

int v1_stats_event(struct v1_an *a, const struct v1_event *ev, bool ends_span) {
  struct v1_gst *g = &a->gs[ev->gi];
  uint32_t v;
  int r;

  a->events++;
  a->counts[ev->type]++;
  /* Tracing starts with a GoCreate (+ GoWaiting/GoInSyscall) for every
   * existing goroutine, then the tracing P starts: those goroutines were
   * alive at the start, not created. CPU samples may be interleaved. */
  if (a->in_prologue && ev->type != V1_GO_CREATE && ev->type != V1_GO_WAITING &&
      ev->type != V1_GO_IN_SYSCALL && ev->type != V1_CPU_SAMPLE)
    a->in_prologue = false;
  switch (ev->type) {
  case V1_GOMAXPROCS:
    a->procs_cur = ev->args[0] > INT64_MAX ? INT64_MAX : (int64_t)ev->args[0];
    if (a->procs_cur > a->procs_max)
      a->procs_max = a->procs_cur;
    break;
  case V1_PROC_START:
    if (!idmap_get(&a->threads, ev->args[0], &v)) {
      r = idmap_put(&a->threads, ev->args[0], 1);
      if (r < 0)
        return r;
    }
    break;
  case V1_HEAP_ALLOC: {
    int64_t b = ev->args[0] > INT64_MAX ? INT64_MAX : (int64_t)ev->args[0];
    if (a->heap_min < 0 || b < a->heap_min)
      a->heap_min = b;
    if (b > a->heap_max)
      a->heap_max = b;
    break;
  }
  case V1_HEAP_GOAL: {
    int64_t b = ev->args[0] > INT64_MAX ? INT64_MAX : (int64_t)ev->args[0];
    if (b > a->goal_max)
      a->goal_max = b;
    break;
  }
  case V1_GC_START:
    a->gc_cycles++;
    break;
  case V1_GO_CREATE:
    if (!a->in_prologue)
      a->created++;
    if (++a->alive > a->max_alive)
      a->max_alive = a->alive;
    break;
  case V1_GO_END:
  case V1_GO_STOP:
    a->ended++;
    a->alive--;
    break;
  case V1_GO_START_LABEL: {
    const char *label = v1_string(a->t, ev->args[2]);
    if (strcmp(label, "GC (dedicated)") == 0 || strcmp(label, "GC (fractional)") == 0) {
      g->worker = true;
      g->worker_ts = ev->ts;
    }
    break;
  }
  default:
    break;
  }
  if (ends_span && g->worker) {
    a->gc_cpu_ns = gotrace_sat_add(a->gc_cpu_ns, ev->ts - g->worker_ts);
    g->worker = false;
  }
  goroutine_stats(a, ev);
  return mmu_event(a, ev, ends_span);
}

void v1_stats_finish(struct v1_an *a) {
  int64_t end = a->last_ts;

  /* Every goroutine is finalized once more at the end of the trace, ended
   * ones included: they get GC time again if a cycle is still running
   * (Go 1.19 does this; reproduced to match its numbers). */
  for (size_t i = 0; i < a->n_gs; i++) {
    struct v1_gst *g = &a->gs[i];
    if (g->stats) {
      gc_account(a, g);
      finalize(a, g, end);
    }
    if (g->worker)
      a->gc_cpu_ns = gotrace_sat_add(a->gc_cpu_ns, end - g->worker_ts);
    if (g->assist)
      a->gc_cpu_ns = gotrace_sat_add(a->gc_cpu_ns, end - g->assist_ts);
  }
  for (size_t i = 0; i < a->t->n_streams; i++)
    if (a->ps[i].sweep_open)
      a->gc_cpu_ns = gotrace_sat_add(a->gc_cpu_ns, end - a->ps[i].sweep_ts);
  if (a->n_mmu_ps)
    (void)trace_mmu_add(&a->mmu, end, 0.0);
}
