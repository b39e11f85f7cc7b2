/* Go 1.22+ traces: analysis of the ordered event stream.
 *
 * Goroutine analysis follows `go tool trace` (internal/trace/summary.go,
 * doc 5.2) with two deliberate differences, both so that a goroutine's
 * non-overlapping stats add up exactly to its time in the trace window:
 *  - a goroutine first seen through a status at a generation start is in
 *    that state since the generation's Sync point (upstream starts the
 *    pending interval at the status event, leaving a small gap);
 *  - a syscall still blocked at trace end is closed like a transition out
 *    of the syscall (upstream adds the blocked part to the scheduler wait
 *    *and* to the syscall time, counting it twice).
 * Blocking profiles use the Go 1.26 rule (doc 5.3): every transition
 * counts, stackless openers give an empty stack.
 *
 * The utilization function for the MMU follows doc 5.5, except that a GC
 * worker occupies its P only while it runs as one (upstream never forgets a
 * worker and its per-P counters drift), an assist found active at trace
 * start counts only while it runs, and every credit is given back to the P
 * it was given to. bench/compare-tracecheck.py applies the same rules to
 * tracecheck.py, and the results agree exactly on every trace tried.
 *
 * GC CPU time (same definition for both trace formats): STW time x procs +
 * running time of dedicated/fractional mark workers + mark assist time +
 * sweep time (idle-priority mark workers excluded). Here mark assist time
 * is the part of assist ranges during which the goroutine was running. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gotrace_v2.h"
#include "trace_mmu.h"
#include "util.h"

struct v2_an *v2_an_new(void) {
  struct v2_an *a = xcalloc(1, sizeof(*a));
  a->groups = v2_groups_new();
  a->mmu = v2_mmu_new();
  a->heap_min = a->heap_max = a->goal_max = -1;
  a->last_busy = a->last_nps = -1;
  a->held = true;
  v2_mmu_hold(a->mmu, true);
  v2_map_init(&a->row_map);
  return a;
}

struct v2_an *v2_an_free(struct v2_an *a) {
  if (!a)
    return NULL;
  v2_groups_free(a->groups);
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    free(a->prof[k].count);
    free(a->prof[k].ns);
  }
  free(a->stw);
  v2_mmu_free(a->mmu);
  free(a->mps);
  free(a->rows);
  v2_map_done(&a->row_map);
  free(a);
  return NULL;
}

static int64_t gc_time(const struct v2_an *a, int64_t t) {
  return a->gc_acc + (a->gc_running && t > a->gc_since ? t - a->gc_since : 0);
}

static bool executing(int st) {
  return st == GS_RUNNING || st == GS_SYSCALL;
}

/* ---- MMU credits ---- */

static inline void credit(struct v2_an *a, int64_t p, int d) {
  if (p < 0 || (size_t)p >= a->n_mps)
    return;
  int before = a->mps[p];
  a->util_dirty = true;
  a->mps[p] += d;
  if (a->mps[p] < 0)
    a->mps[p] = 0;
  a->busy_ps += (a->mps[p] > 0) - (before > 0);
}

static int64_t p_index(uint64_t p) {
  return p == V2_NONE || p > INT32_MAX ? -1 : (int64_t)p;
}

/* A goroutine doing GC work (assist, background worker) occupies the P it
 * executes on; the credited P is remembered so it is released exactly. */
static inline void g_credit(struct v2_an *a, struct v2_g *g, uint64_t p) {
  int64_t i = p_index(p);
  if (g->mmu_p >= 0 || i < 0 || (size_t)i >= a->n_mps)
    return;
  g->mmu_p = (int32_t)i;
  credit(a, i, +1);
}

static inline void g_release(struct v2_an *a, struct v2_g *g) {
  if (g->mmu_p < 0)
    return;
  credit(a, g->mmu_p, -1);
  g->mmu_p = -1;
}

static void retro_subtract(struct v2_an *a) {
  if (a->held && a->n_mps) {
    v2_mmu_retro_subtract(a->mmu);
    a->last_busy = -1; /* the next point is new even if u did not change */
    a->util_dirty = true;
  }
}

/* ---- goroutine analysis ---- */

static void add_block(struct v2_g *g, int cls, int64_t d) {
  if (cls & V2_CLS_NETWORK)
    g->block_net += d;
  else if (cls & V2_CLS_SYNC)
    g->block_sync += d;
  else
    g->block_other += d;
}

void v2_an_finalize(struct v2_state *s, struct v2_g *g, int64_t t, bool trig) {
  struct v2_an *a = s->an;
  if (!g->ended || trig)
    g->gc_pause = gc_time(a, t) - g->gc_at_create;
  if (trig) {
    g->end = t;
    g->ended = true;
  }
  if (g->total == 0)
    g->total = t - g->create;
  if (g->ls)
    g->exec += t - g->ls;
  if (g->lr)
    g->sched += t - g->lr;
  if (g->lb)
    add_block(g, g->lb_cls, t - g->lb);
  if (g->lsc) {
    if (g->lscb) {
      g->syscall += g->lscb - g->lsc;
      g->sysblock += t - g->lscb;
    } else {
      g->syscall += t - g->lsc;
    }
  }
  if (g->lr_sweep)
    g->sweep += t - g->lr_sweep;
  if (g->lr_assist)
    g->assist += t - g->lr_assist;
  g->ls = g->lr = g->lb = g->lsc = g->lscb = g->lr_sweep = g->lr_assist = 0;
  g->lb_cls = 0;
}

static __attribute__((noinline)) void prof_grow(struct v2_prof *pr, uint32_t st) {
  size_t cap = pr->cap ? pr->cap : 256;
  while (cap <= st)
    cap *= 2;
  pr->count = xreallocarray(pr->count, cap, sizeof(*pr->count));
  pr->ns = xreallocarray(pr->ns, cap, sizeof(*pr->ns));
  memset(pr->count + pr->cap, 0, (cap - pr->cap) * sizeof(*pr->count));
  memset(pr->ns + pr->cap, 0, (cap - pr->cap) * sizeof(*pr->ns));
  pr->cap = cap;
}

/* Inline (with the growth out of line): a goroutine transition closes a
 * profile interval more often than not. */
static inline __attribute__((always_inline)) void prof_close(struct v2_an *a, struct v2_g *g, int k,
                                                             int64_t t) {
  struct v2_prof *pr = &a->prof[k];
  uint32_t st = g->prof_stack[k];
  if (st >= pr->cap)
    prof_grow(pr, st);
  pr->count[st]++;
  pr->ns[st] += t - g->prof_t[k];
  pr->total_count++;
  pr->total_ns += t - g->prof_t[k];
}

/* Blocking profiles (doc 5.3, Go 1.26 rule): an interval opens at the first
 * transition into the profile's state (with the reason it wants) and
 * closes at the next transition into another state. Inline: with the new
 * state a constant most of it folds away. */
static inline __attribute__((always_inline)) void
prof_track(struct v2_state *s, int64_t t, uint32_t stack, struct v2_g *g, int new_state, int cls) {
  enum {
    NET = 1 << TRACE_PROFILE_NET,
    SYNC = 1 << TRACE_PROFILE_SYNC,
    SYSCALL = 1 << TRACE_PROFILE_SYSCALL,
    SCHED = 1 << TRACE_PROFILE_SCHED,
  };
  /* Profiles that stay open in each state (GS_*); a table, not a switch:
   * this runs for every goroutine transition. */
  static const uint8_t same_in[GS_SYSCALL + 1] = {
      [GS_WAITING] = NET | SYNC, [GS_SYSCALL] = SYSCALL, [GS_RUNNABLE] = SCHED};
  unsigned same, open, close;
  same = (unsigned)new_state <= GS_SYSCALL ? same_in[new_state] : 0;
  if (new_state == GS_WAITING)
    open = ((cls & V2_CLS_NETWORK) ? NET : 0) | ((cls & V2_CLS_SYNC_PROF) ? SYNC : 0);
  else
    open = same;
  close = g->prof_on & ~same;
  open &= ~g->prof_on;
  for (; close; close &= close - 1) /* in profile order */
    prof_close(s->an, g, __builtin_ctz(close), t);
  g->prof_on &= (uint8_t)same;
  if (open) {
    uint32_t st = stack != V2_IDX_NONE ? v2_gen_global_stack(s->in, s->gen, stack) : V2_STACK_EMPTY;
    g->prof_on |= (uint8_t)open;
    for (; open; open &= open - 1) {
      int k = __builtin_ctz(open);
      g->prof_t[k] = t;
      g->prof_stack[k] = st;
    }
  }
}

static __attribute__((noinline)) void set_name_from(struct v2_state *s, struct v2_g *g,
                                                    uint32_t stack_idx) {
  const struct v2_stack *st;
  const struct v2_frame *outer;
  const struct v2_str *fn;
  st = &s->gen->stacks[stack_idx];
  if (!st->n)
    return;
  outer = &s->gen->frames[st->first + st->n - 1];
  if (outer->func == V2_IDX_NONE)
    return;
  fn = &s->gen->strs[outer->func];
  if (!fn->len)
    return;
  g->name = 1 + v2_gen_global_string(s->in, s->gen, outer->func);
}

/* Names the goroutine's group after its first stack's outermost function;
 * most goroutines have their name already. */
static inline void set_name(struct v2_state *s, struct v2_g *g, uint32_t stack_idx) {
  if (!g->name && stack_idx != V2_IDX_NONE)
    set_name_from(s, g, stack_idx);
}

/* One goroutine state transition (summary.go's Event for goroutines) at t
 * on proc p; stack is the event's own stack. Inlined into its one caller:
 * it runs for two thirds of all events. */
static inline __attribute__((always_inline)) void gtrans(struct v2_state *s, int64_t t, uint64_t p,
                                                         uint32_t stack, struct v2_g *g, int old,
                                                         int nw, int cls, uint32_t tstack) {
  struct v2_an *a = s->an;
  int64_t from;
  bool was = executing(old), is = executing(nw);

  prof_track(s, t, stack, g, nw, cls);
  /* MMU: goroutines doing GC work occupy their P while they execute. */
  if (g->in_assist_mmu && !was && is)
    g_credit(a, g, p);
  else if (was && !is)
    g_release(a, g);
  /* GC CPU: close the running parts of worker spans and assists. */
  if (was && !is) {
    if (g->bg_running)
      a->gc_cpu += t - g->bg_since;
    g->bg_running = false;
    if (g->assist_since)
      a->gc_cpu += t - g->assist_since;
    g->assist_since = 0;
  } else if (!was && is && g->assist_open) {
    g->assist_since = t;
  }
  g->astate = (uint8_t)nw;
  if (old == nw)
    return;

  if (old == GS_UNDET || old == GS_NOTEXIST) {
    g->create = old == GS_UNDET ? a->sync_ts : t;
    g->gc_at_create = gc_time(a, g->create);
    a->seen++;
    s->live_g++;
    if (s->live_g > s->live_g_max)
      s->live_g_max = s->live_g;
    if (old == GS_NOTEXIST)
      a->created++;
  } else if (old == GS_RUNNING) {
    g->exec += t - g->ls;
    g->ls = 0;
  } else if (old == GS_WAITING) {
    if (g->lb)
      add_block(g, g->lb_cls, t - g->lb);
    g->lb = 0;
  } else if (old == GS_RUNNABLE) {
    if (g->lr)
      g->sched += t - g->lr;
    g->lr = 0;
  } else if (old == GS_SYSCALL) {
    if (g->lsc) {
      if (g->lscb) {
        g->sysblock += t - g->lscb;
        g->syscall += g->lscb - g->lsc;
      } else {
        g->syscall += t - g->lsc;
      }
      g->lsc = g->lscb = 0;
      if (g->sys_p != V2_NONE) {
        struct v2_p *sp = v2_p_lookup(s, g->sys_p);
        if (sp)
          sp->sys_g = V2_NONE;
      }
      g->sys_p = V2_NONE;
    }
  }
  if (nw == GS_NOTEXIST)
    s->live_g--;
  set_name(s, g, tstack);

  /* A status at a generation start means "in this state since then". */
  from = old == GS_UNDET ? g->create : t;
  switch (nw) {
  case GS_RUNNING:
    g->ls = from;
    if (!g->start)
      g->start = from;
    break;
  case GS_RUNNABLE:
    g->lr = from;
    break;
  case GS_WAITING:
    if (!(cls & V2_CLS_FOREVER)) {
      g->lb = from;
      g->lb_cls = (uint8_t)cls;
      break;
    }
    /* blocked forever is like goroutine death */
    /* fallthrough */
  case GS_NOTEXIST:
    if (!g->ended)
      a->ended++;
    v2_an_finalize(s, g, t, true);
    break;
  case GS_SYSCALL: {
    struct v2_p *pr = p == V2_NONE ? NULL : v2_p_lookup(s, p);
    if (pr)
      pr->sys_g = g->id;
    g->sys_p = p;
    g->lsc = from;
    break;
  }
  }
}

/* A proc going idle while bound to a goroutine in a syscall means that
 * syscall blocked (summary.go). */
static void ptrans(struct v2_state *s, const struct v2_out *o, struct v2_p *p) {
  if (!p || o->old_state == o->new_state || o->new_state != PS_IDLE || p->sys_g == V2_NONE)
    return;
  struct v2_g *g = v2_g_lookup(s, p->sys_g);
  if (g)
    g->lscb = o->time;
  p->sys_g = V2_NONE;
}

/* ---- ranges (sweep per P, mark assist per goroutine) ---- */

static void range_open(struct v2_an *a, int64_t *lr, int64_t *acc, bool active, int64_t t) {
  if (active) {
    if (*lr)
      *acc += a->sync_ts - *lr;
    *lr = a->sync_ts;
  } else {
    *lr = t;
  }
}

static void range_close(int64_t *lr, int64_t *acc, int64_t t) {
  if (*lr)
    *acc += t - *lr;
  *lr = 0;
}

static void sweep_event(struct v2_state *s, const struct v2_out *o) {
  struct v2_an *a = s->an;
  struct v2_p *p = o->psubj;
  bool first = a->held;
  struct v2_g *g;
  if (o->type == V2_EV_GC_SWEEP_END) {
    g = NULL;
    if (p->range_g != V2_NONE) {
      if (p->range_g == o->g)
        g = v2_g_lookup(s, o->g);
      p->range_g = V2_NONE;
    }
    if (g)
      range_close(&g->lr_sweep, &g->sweep, o->time);
    if (p->sweep_since)
      a->gc_cpu += o->time - p->sweep_since;
    p->sweep_since = 0;
    if (p->mmu_sweep)
      credit(a, p_index(p->id), -1);
    p->mmu_sweep = false;
    return;
  }
  bool active = o->type == V2_EV_GC_SWEEP_ACTIVE;
  g = o->g == V2_NONE ? NULL : v2_g_lookup(s, o->g);
  if (g) {
    p->range_g = o->g;
    range_open(a, &g->lr_sweep, &g->sweep, active, o->time);
  }
  if (active && !first)
    return;
  p->sweep_since = active ? a->sync_ts : o->time;
  if (active)
    retro_subtract(a);
  if (!p->mmu_sweep && p_index(p->id) >= 0 && (size_t)p_index(p->id) < a->n_mps) {
    p->mmu_sweep = true;
    credit(a, p_index(p->id), +1);
  }
}

static inline void assist_event(struct v2_state *s, uint8_t type, int64_t time, uint64_t p,
                                struct v2_g *g) {
  struct v2_an *a = s->an;
  bool first = a->held;
  if (type == V2_EV_GC_ASSIST_END) {
    range_close(&g->lr_assist, &g->assist, time);
    if (g->assist_since)
      a->gc_cpu += time - g->assist_since;
    g->assist_since = 0;
    g->in_assist_mmu = false;
    if (!g->bg_running)
      g_release(a, g);
    return;
  }
  bool active = type == V2_EV_GC_ASSIST_ACTIVE;
  range_open(a, &g->lr_assist, &g->assist, active, time);
  if (active && !first)
    return;
  if (executing(g->astate)) {
    g->assist_since = active ? a->sync_ts : time;
    if (active)
      retro_subtract(a);
    g_credit(a, g, p);
  }
  g->in_assist_mmu = true;
}

/* ---- per event ---- */

static void procs_change(struct v2_an *a, int64_t t, uint64_t n64) {
  int n = (int)n64; /* at most V2_MAX_GOMAXPROCS (checked by the ordering) */
  if (n > a->procs_max)
    a->procs_max = n;
  a->procs_cur = n;
  a->util_dirty = true;
  if ((size_t)n < a->n_mps) {
    for (size_t i = (size_t)n; i < a->n_mps; i++)
      a->busy_ps -= a->mps[i] > 0;
    a->n_mps = (size_t)n;
  } else if ((size_t)n > a->n_mps) {
    if (!a->n_mps) {
      v2_mmu_add(a->mmu, t, 1.0);
      a->last_busy = 0;
      a->last_nps = n;
    }
    a->mps = xreallocarray(a->mps, (size_t)n, sizeof(*a->mps));
    memset(a->mps + a->n_mps, 0, ((size_t)n - a->n_mps) * sizeof(*a->mps));
    a->n_mps = (size_t)n;
  }
  if (a->held)
    v2_mmu_procs(a->mmu, t, n);
}

static void stw_end(struct v2_an *a, struct v2_g *g, const struct v2_out *o) {
  int64_t d = o->time - g->stw_begin;
  a->stw_all++;
  if (!o->stw_gc)
    return;
  if (a->n_stw == a->cap_stw) {
    a->cap_stw = a->cap_stw ? a->cap_stw * 2 : 64;
    a->stw = xreallocarray(a->stw, a->cap_stw, sizeof(*a->stw));
  }
  a->stw[a->n_stw++] = d;
  a->gc_cpu += d * (a->procs_cur > 0 ? a->procs_cur : 1);
}

/* A new utilization value (doc 5.5): out of line, a fifth of the events. */
static void util_new(struct v2_state *s, int64_t t, int64_t busy) {
  struct v2_an *a = s->an;
  double u;
  a->last_busy = busy;
  a->last_nps = (int64_t)a->n_mps;
  u = 1.0 - (double)busy / (double)a->n_mps;
  if (s->opts && s->opts->on_util)
    s->opts->on_util(s->opts->ctx, t, u);
  v2_mmu_add(a->mmu, t, u);
}

/* The utilization after every event. Everything it depends on changes
 * only in v2_an_event, which calls it last: after a call, either there
 * are no Ps or last_busy/last_nps are current. Whatever changes them
 * sets util_dirty, so most events skip the check. */
static inline void util_point(struct v2_state *s, int64_t t) {
  struct v2_an *a = s->an;
  int64_t busy;
  if (!a->util_dirty)
    return;
  a->util_dirty = false;
  if (!a->n_mps)
    return;
  busy = a->mstw > 0 ? (int64_t)a->n_mps : a->busy_ps;
  /* An unchanged utilization adds nothing (v2_mmu_add would drop it). */
  if (busy == a->last_busy && (int64_t)a->n_mps == a->last_nps)
    return;
  util_new(s, t, busy);
}

int v2_an_event(struct v2_state *s, struct v2_out *o) {
  struct v2_an *a = s->an;
  struct v2_g *g = o->subj;
  const uint64_t *x = o->args;

  if (o->time <= s->last_time)
    o->time = s->last_time + 1;
  s->last_time = o->time;
  a->last_ts = o->time;
  a->counts[o->type]++;
  a->events++;

  switch (o->type) {
  case V2_EV_PROCS_CHANGE:
    procs_change(a, o->time, x[0]);
    break;
  case V2_EV_PROC_START:
  case V2_EV_PROC_STOP:
  case V2_EV_PROC_STEAL:
  case V2_EV_PROC_STATUS:
    ptrans(s, o, o->psubj);
    break;
  case V2_EV_STW_BEGIN:
    g->stw_begin = o->time;
    if (g->stw_gc && a->n_mps) {
      a->mstw++;
      a->util_dirty = true;
      g->mmu_stw = true;
    }
    break;
  case V2_EV_STW_END:
    stw_end(a, g, o);
    if (g->mmu_stw) {
      a->mstw--;
      a->util_dirty = true;
    }
    g->mmu_stw = false;
    break;
  case V2_EV_GC_ACTIVE:
    if (a->held) {
      a->gc_cycles++;
      a->gc_active_first++;
      a->gc_running = true;
      a->gc_since = a->sync_ts;
    }
    break;
  case V2_EV_GC_BEGIN:
    a->gc_cycles++;
    if (!a->gc_running) {
      a->gc_running = true;
      a->gc_since = o->time;
    }
    break;
  case V2_EV_GC_END:
    if (a->gc_running)
      a->gc_acc += o->time - a->gc_since;
    a->gc_running = false;
    break;
  case V2_EV_GC_SWEEP_ACTIVE:
  case V2_EV_GC_SWEEP_BEGIN:
  case V2_EV_GC_SWEEP_END:
    sweep_event(s, o);
    break;
  case V2_EV_GO_LABEL:
    if (o->idx[0] != V2_IDX_NONE && (v2_str_class(&s->gen->strs[o->idx[0]]) & V2_CLS_GC_LABEL)) {
      g = v2_g_lookup(s, o->g);
      if (g && !g->bg_running) {
        g->bg_running = true;
        g->bg_since = o->time;
        g_credit(a, g, o->p);
      }
    }
    break;
  case V2_EV_TASK_BEGIN:
  case V2_EV_TASK_END:
  case V2_EV_REGION_BEGIN:
  case V2_EV_REGION_END:
  case V2_EV_USER_LOG:
    v2_an_annotation(s, o);
    break;
  }
  util_point(s, o->time);
  return 0;
}

/* v2_an_go's body; old and nw are constants in the specialised copies
 * below, which lets the compiler drop most of gtrans' tests. */
static inline __attribute__((always_inline)) void go_event(struct v2_state *s, int64_t time,
                                                           uint64_t p, struct v2_g *g,
                                                           struct v2_go x, int old, int nw) {
  struct v2_an *a = s->an;
  int cls = 0;
  if (x.reason != V2_IDX_NONE) {
    struct v2_str *r = &s->gen->strs[x.reason];
    cls = r->cls >= 0 ? r->cls : v2_str_class(r);
  }
  if (time <= s->last_time)
    time = s->last_time + 1;
  s->last_time = time;
  a->last_ts = time;
  a->counts[x.type]++;
  a->events++;
  gtrans(s, time, p, x.stack, g, old, nw, cls, x.tstack);
  util_point(s, time);
}

void v2_an_go(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x) {
  go_event(s, time, p, g, x, x.old, x.nw);
}

void v2_an_go_start(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x) {
  go_event(s, time, p, g, x, GS_RUNNABLE, GS_RUNNING);
}

void v2_an_go_stop(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x) {
  go_event(s, time, p, g, x, GS_RUNNING, GS_RUNNABLE);
}

void v2_an_go_block(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x) {
  go_event(s, time, p, g, x, GS_RUNNING, GS_WAITING);
}

void v2_an_go_unblock(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g,
                      struct v2_go x) {
  go_event(s, time, p, g, x, GS_WAITING, GS_RUNNABLE);
}

void v2_an_go_syscall(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g,
                      struct v2_go x) {
  go_event(s, time, p, g, x, GS_RUNNING, GS_SYSCALL);
}

void v2_an_go_sysret(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x) {
  go_event(s, time, p, g, x, GS_SYSCALL, GS_RUNNING);
}

void v2_an_go_create(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g, struct v2_go x) {
  go_event(s, time, p, g, x, GS_NOTEXIST, GS_RUNNABLE);
}

void v2_an_go_destroy(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g,
                      struct v2_go x) {
  go_event(s, time, p, g, x, GS_RUNNING, GS_NOTEXIST);
}

/* v2_an_assist's body; type is a constant in the copies for begin and end. */
static inline __attribute__((always_inline)) void assist(struct v2_state *s, uint8_t type,
                                                         int64_t time, uint64_t p, struct v2_g *g) {
  struct v2_an *a = s->an;
  if (time <= s->last_time)
    time = s->last_time + 1;
  s->last_time = time;
  a->last_ts = time;
  a->counts[type]++;
  a->events++;
  assist_event(s, type, time, p, g);
  util_point(s, time);
}

void v2_an_assist(struct v2_state *s, uint8_t type, int64_t time, uint64_t p, struct v2_g *g) {
  assist(s, type, time, p, g);
}

void v2_an_assist_begin(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g) {
  assist(s, V2_EV_GC_ASSIST_BEGIN, time, p, g);
}

void v2_an_assist_end(struct v2_state *s, int64_t time, uint64_t p, struct v2_g *g) {
  assist(s, V2_EV_GC_ASSIST_END, time, p, g);
}

void v2_an_heap(struct v2_state *s, uint8_t type, int64_t time, uint64_t bytes) {
  struct v2_an *a = s->an;
  int64_t v = (int64_t)(bytes & INT64_MAX);
  if (time <= s->last_time)
    time = s->last_time + 1;
  s->last_time = time;
  a->last_ts = time;
  a->counts[type]++;
  a->events++;
  if (type == V2_EV_HEAP_ALLOC) {
    if (a->heap_min < 0 || v < a->heap_min)
      a->heap_min = v;
    if (v > a->heap_max)
      a->heap_max = v;
  } else if (v > a->goal_max) {
    a->goal_max = v;
  }
  /* No util_point: what the utilization depends on (P credits, STW,
   * GOMAXPROCS) only changes inside v2_an_event, which ends with one, so
   * here it would find nothing new. */
}

void v2_an_sync(struct v2_state *s, int64_t time) {
  struct v2_an *a = s->an;
  if (time <= s->last_time)
    time = s->last_time + 1;
  s->last_time = time;
  if (!s->nsync)
    a->first_ts = time;
  a->sync_ts = time;
  a->last_ts = time;
  s->nsync++;
  /* After a full generation the state is complete: no more retroactive
   * fixes of the utilization function. */
  if (s->nsync == 2 && a->held) {
    a->held = false;
    v2_mmu_hold(a->mmu, false);
  }
}

void v2_an_cpu_sample(struct v2_state *s, int64_t time) {
  struct v2_an *a = s->an;
  if (time <= s->last_time)
    time = s->last_time + 1;
  s->last_time = time;
  a->last_ts = time;
  a->counts[V2_EV_CPU_SAMPLE]++;
  a->events++;
  /* No util_point: nothing it depends on changed (see v2_an_heap). */
}
