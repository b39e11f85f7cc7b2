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

struct prof {
  int64_t *count, *ns; /* by interned stack */
  size_t cap;
  int64_t total_count, total_ns;
};

struct ann_row {
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
  struct prof prof[TRACE_PROFILE_COUNT];
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
  bool held;
  int64_t *pp_t;
  int *pp_n;
  size_t n_pp, cap_pp;
  /* annotations */
  struct ann_row *rows;
  size_t n_rows, cap_rows;
  struct v2_map row_map;
};

struct v2_an *v2_an_new(void) {
  struct v2_an *a = xcalloc(1, sizeof(*a));
  a->groups = v2_groups_new();
  a->mmu = v2_mmu_new();
  a->heap_min = a->heap_max = a->goal_max = -1;
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
  free(a->pp_t);
  free(a->pp_n);
  free(a->rows);
  v2_map_done(&a->row_map);
  free(a);
  return NULL;
}

static int64_t gc_time(const struct v2_an *a, int64_t t) {
  return a->gc_acc + (a->gc_running && t > a->gc_since ? t - a->gc_since : 0);
}

static bool executing(int st) { return st == GS_RUNNING || st == GS_SYSCALL; }

/* ---- MMU credits ---- */

static void credit(struct v2_an *a, int64_t p, int d) {
  if (p < 0 || (size_t)p >= a->n_mps)
    return;
  int before = a->mps[p];
  a->mps[p] += d;
  if (a->mps[p] < 0)
    a->mps[p] = 0;
  a->busy_ps += (a->mps[p] > 0) - (before > 0);
}

static int64_t p_index(uint64_t p) { return p == V2_NONE || p > INT32_MAX ? -1 : (int64_t)p; }

/* A goroutine doing GC work (assist, background worker) occupies the P it
 * executes on; the credited P is remembered so it is released exactly. */
static void g_credit(struct v2_an *a, struct v2_g *g, uint64_t p) {
  int64_t i = p_index(p);
  if (g->mmu_p >= 0 || i < 0 || (size_t)i >= a->n_mps)
    return;
  g->mmu_p = (int32_t)i;
  credit(a, i, +1);
}

static void g_release(struct v2_an *a, struct v2_g *g) {
  if (g->mmu_p < 0)
    return;
  credit(a, g->mmu_p, -1);
  g->mmu_p = -1;
}

static void retro_subtract(struct v2_an *a) {
  if (a->held && a->n_mps)
    v2_mmu_retro_subtract(a->mmu, a->pp_t, a->pp_n, a->n_pp);
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

static void finalize(struct v2_state *s, struct v2_g *g, int64_t t, bool trig) {
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
  g->finalized = true;
}

static void prof_track(struct v2_state *s, const struct v2_out *o, struct v2_g *g, int new_state,
                       int cls) {
  static const int want[TRACE_PROFILE_COUNT] = {GS_WAITING, GS_WAITING, GS_SYSCALL, GS_RUNNABLE};
  struct v2_an *a = s->an;
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    if (!(g->prof_on & (1u << k))) {
      bool match = new_state == want[k];
      if (k == TRACE_PROFILE_NET)
        match = match && (cls & V2_CLS_NETWORK);
      else if (k == TRACE_PROFILE_SYNC)
        match = match && (cls & V2_CLS_SYNC_PROF);
      if (match) {
        const struct v2_spec *sp = v2_spec_get(o->type, 26);
        uint32_t st = V2_STACK_EMPTY;
        if (sp && sp->stack_arg >= 0 && o->idx[sp->stack_arg] != V2_IDX_NONE &&
            o->args[sp->stack_arg] != 0)
          st = v2_gen_global_stack(s->in, s->gen, o->idx[sp->stack_arg]);
        g->prof_on |= (uint8_t)(1u << k);
        g->prof_t[k] = o->time;
        g->prof_stack[k] = st;
      }
      continue;
    }
    if (new_state == want[k])
      continue;
    g->prof_on &= (uint8_t) ~(1u << k);
    struct prof *pr = &a->prof[k];
    uint32_t st = g->prof_stack[k];
    if (st >= pr->cap) {
      size_t cap = pr->cap ? pr->cap : 256;
      while (cap <= st)
        cap *= 2;
      pr->count = xreallocarray(pr->count, cap, sizeof(*pr->count));
      pr->ns = xreallocarray(pr->ns, cap, sizeof(*pr->ns));
      memset(pr->count + pr->cap, 0, (cap - pr->cap) * sizeof(*pr->count));
      memset(pr->ns + pr->cap, 0, (cap - pr->cap) * sizeof(*pr->ns));
      pr->cap = cap;
    }
    pr->count[st]++;
    pr->ns[st] += o->time - g->prof_t[k];
    pr->total_count++;
    pr->total_ns += o->time - g->prof_t[k];
  }
}

static void set_name(struct v2_state *s, struct v2_g *g, uint32_t stack_idx) {
  const struct v2_stack *st;
  const struct v2_frame *outer;
  const struct v2_str *fn;
  if (g->name || stack_idx == V2_IDX_NONE)
    return;
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

/* One goroutine state transition (summary.go's Event for goroutines). */
static void gtrans(struct v2_state *s, const struct v2_out *o, struct v2_g *g, int old, int nw,
                   int cls, uint32_t tstack) {
  struct v2_an *a = s->an;
  int64_t t = o->time, from;
  bool was = executing(old), is = executing(nw);

  prof_track(s, o, g, nw, cls);
  /* MMU: goroutines doing GC work occupy their P while they execute. */
  if (g->in_assist_mmu && !was && is)
    g_credit(a, g, o->p);
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
        struct v2_p *p = v2_p_lookup(s, g->sys_p);
        if (p)
          p->sys_g = V2_NONE;
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
    finalize(s, g, t, true);
    break;
  case GS_SYSCALL: {
    struct v2_p *p = o->p == V2_NONE ? NULL : v2_p_lookup(s, o->p);
    if (p)
      p->sys_g = g->id;
    g->sys_p = o->p;
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

static int reason_class(struct v2_state *s, const struct v2_out *o) {
  uint32_t i = o->idx[0];
  return i == V2_IDX_NONE ? 0 : v2_str_class(&s->gen->strs[i]);
}

static uint32_t stack_idx(const struct v2_out *o, int arg) {
  return o->args[arg] ? o->idx[arg] : V2_IDX_NONE;
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

static void assist_event(struct v2_state *s, const struct v2_out *o) {
  struct v2_an *a = s->an;
  struct v2_g *g = o->subj;
  bool first = a->held;
  if (o->type == V2_EV_GC_ASSIST_END) {
    range_close(&g->lr_assist, &g->assist, o->time);
    if (g->assist_since)
      a->gc_cpu += o->time - g->assist_since;
    g->assist_since = 0;
    g->in_assist_mmu = false;
    if (!g->bg_running)
      g_release(a, g);
    return;
  }
  bool active = o->type == V2_EV_GC_ASSIST_ACTIVE;
  range_open(a, &g->lr_assist, &g->assist, active, o->time);
  if (active && !first)
    return;
  if (executing(g->astate)) {
    g->assist_since = active ? a->sync_ts : o->time;
    if (active)
      retro_subtract(a);
    g_credit(a, g, o->p);
  }
  g->in_assist_mmu = true;
}

/* ---- annotations ---- */

static struct ann_row *ann_row(struct v2_an *a, int kind, uint32_t name) {
  uint64_t key = (uint64_t)kind << 32 | name;
  uint32_t i = v2_map_get(&a->row_map, key);
  if (i != V2_IDX_NONE)
    return &a->rows[i];
  if (a->n_rows == a->cap_rows) {
    a->cap_rows = a->cap_rows ? a->cap_rows * 2 : 16;
    a->rows = xreallocarray(a->rows, a->cap_rows, sizeof(*a->rows));
  }
  a->rows[a->n_rows] = (struct ann_row){kind, name, 0, 0, 0};
  v2_map_put(&a->row_map, key, (uint32_t)a->n_rows);
  return &a->rows[a->n_rows++];
}

static void ann_done(struct ann_row *r, int64_t d) {
  r->total_ns += d;
  if (d > r->max_ns)
    r->max_ns = d;
}

static void annotation(struct v2_state *s, const struct v2_out *o) {
  struct v2_an *a = s->an;
  uint32_t name;
  switch (o->type) {
  case V2_EV_TASK_BEGIN: {
    uint32_t slot = v2_map_get(&s->tasks, o->args[0]);
    if (slot != V2_IDX_NONE)
      s->task_slots[slot].begin = o->time;
    name = o->idx[2] == V2_IDX_NONE ? 0 : 1 + v2_gen_global_string(s->in, s->gen, o->idx[2]);
    ann_row(a, 0, name)->count++;
    break;
  }
  case V2_EV_TASK_END:
    if (o->ann_begin)
      ann_done(ann_row(a, 0, o->ann_name), o->time - o->ann_begin);
    break;
  case V2_EV_REGION_BEGIN:
    if (o->subj->n_regions)
      o->subj->regions[o->subj->n_regions - 1].begin = o->time;
    ann_row(a, 1, o->ann_name)->count++;
    break;
  case V2_EV_REGION_END:
    if (o->ann_begin)
      ann_done(ann_row(a, 1, o->ann_name), o->time - o->ann_begin);
    break;
  case V2_EV_USER_LOG:
    name = o->idx[1] == V2_IDX_NONE ? 0 : 1 + v2_gen_global_string(s->in, s->gen, o->idx[1]);
    ann_row(a, 2, name)->count++;
    break;
  }
}

/* ---- per event ---- */

static void procs_change(struct v2_an *a, int64_t t, uint64_t n64) {
  int n = n64 > 1 << 20 ? 1 << 20 : (int)n64;
  if (n > a->procs_max)
    a->procs_max = n;
  a->procs_cur = n;
  if ((size_t)n < a->n_mps) {
    for (size_t i = (size_t)n; i < a->n_mps; i++)
      a->busy_ps -= a->mps[i] > 0;
    a->n_mps = (size_t)n;
  } else if ((size_t)n > a->n_mps) {
    if (!a->n_mps)
      v2_mmu_add(a->mmu, t, 1.0);
    a->mps = xreallocarray(a->mps, (size_t)n, sizeof(*a->mps));
    memset(a->mps + a->n_mps, 0, ((size_t)n - a->n_mps) * sizeof(*a->mps));
    a->n_mps = (size_t)n;
  }
  if (a->held && (!a->n_pp || a->pp_n[a->n_pp - 1] != n)) {
    if (a->n_pp == a->cap_pp) {
      a->cap_pp = a->cap_pp ? a->cap_pp * 2 : 8;
      a->pp_t = xreallocarray(a->pp_t, a->cap_pp, sizeof(*a->pp_t));
      a->pp_n = xreallocarray(a->pp_n, a->cap_pp, sizeof(*a->pp_n));
    }
    a->pp_t[a->n_pp] = t;
    a->pp_n[a->n_pp++] = n;
  }
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

/* The utilization after every event (doc 5.5). */
static void util_point(struct v2_state *s, int64_t t) {
  struct v2_an *a = s->an;
  double u;
  if (!a->n_mps)
    return;
  u = 1.0 - (double)(a->mstw > 0 ? (int)a->n_mps : a->busy_ps) / (double)a->n_mps;
  if (s->opts && s->opts->on_util)
    s->opts->on_util(s->opts->ctx, t, u);
  v2_mmu_add(a->mmu, t, u);
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
  case V2_EV_GO_CREATE:
  case V2_EV_GO_CREATE_BLOCKED:
    gtrans(s, o, g, o->old_state, o->new_state, 0, stack_idx(o, 1));
    break;
  case V2_EV_GO_STOP:
  case V2_EV_GO_BLOCK:
    gtrans(s, o, g, o->old_state, o->new_state, reason_class(s, o),
           o->idx == NULL ? V2_IDX_NONE : stack_idx(o, 1));
    break;
  case V2_EV_GO_SYSCALL_BEGIN:
    gtrans(s, o, g, o->old_state, o->new_state, 0, stack_idx(o, 1));
    break;
  case V2_EV_GO_STATUS_STACK:
    gtrans(s, o, g, o->old_state, o->new_state, 0, stack_idx(o, 3));
    break;
  case V2_EV_GO_CREATE_SYSCALL:
  case V2_EV_GO_START:
  case V2_EV_GO_DESTROY:
  case V2_EV_GO_DESTROY_SYSCALL:
  case V2_EV_GO_UNBLOCK:
  case V2_EV_GO_SWITCH:
  case V2_EV_GO_SWITCH_DESTROY:
  case V2_EV_GO_SYSCALL_END:
  case V2_EV_GO_SYSCALL_END_BLOCKED:
  case V2_EV_GO_STATUS:
    gtrans(s, o, g, o->old_state, o->new_state, 0, V2_IDX_NONE);
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
      g->mmu_stw = true;
    }
    break;
  case V2_EV_STW_END:
    stw_end(a, g, o);
    if (g->mmu_stw)
      a->mstw--;
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
  case V2_EV_GC_ASSIST_ACTIVE:
  case V2_EV_GC_ASSIST_BEGIN:
  case V2_EV_GC_ASSIST_END:
    assist_event(s, o);
    break;
  case V2_EV_HEAP_ALLOC:
    if (a->heap_min < 0 || (int64_t)(x[0] & INT64_MAX) < a->heap_min)
      a->heap_min = (int64_t)(x[0] & INT64_MAX);
    if ((int64_t)(x[0] & INT64_MAX) > a->heap_max)
      a->heap_max = (int64_t)(x[0] & INT64_MAX);
    break;
  case V2_EV_HEAP_GOAL:
    if ((int64_t)(x[0] & INT64_MAX) > a->goal_max)
      a->goal_max = (int64_t)(x[0] & INT64_MAX);
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
    annotation(s, o);
    break;
  }
  util_point(s, o->time);
  return 0;
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
  util_point(s, time);
}

/* ---- results ---- */

void v2_an_retire(struct v2_state *s, struct v2_g *g) {
  struct v2_an *a = s->an;
  struct trace_goroutine tg;
  int64_t attributed;
  memset(&tg, 0, sizeof(tg));
  tg.id = g->id;
  tg.created_ns = g->create - a->first_ts;
  tg.ended_ns = g->ended ? g->end - a->first_ts : -1;
  tg.s.total_ns = g->total;
  tg.s.execution_ns = g->exec;
  tg.s.network_wait_ns = g->block_net;
  tg.s.sync_block_ns = g->block_sync;
  tg.s.syscall_ns = g->sysblock;
  tg.s.scheduler_wait_ns = g->sched;
  tg.s.gc_sweep_ns = g->sweep;
  tg.s.gc_pause_ns = g->gc_pause;
  attributed = g->exec + g->block_net + g->block_sync + g->sysblock + g->sched;
  tg.s.unknown_ns = g->total > attributed ? g->total - attributed : 0;
  v2_groups_add(a->groups, g->name, &tg);
  if (s->opts && s->opts->on_goroutine) {
    struct gotrace_v2_goroutine r = {
        .id = g->id,
        .name = g->name ? v2_intern_string_get(s->in, g->name - 1) : "",
        .create_ns = tg.created_ns,
        .start_ns = g->start ? g->start - a->first_ts : -1,
        .end_ns = tg.ended_ns,
        .total_ns = g->total,
        .exec_ns = g->exec,
        .sched_ns = g->sched,
        .syscall_ns = g->syscall,
        .syscall_block_ns = g->sysblock,
        .block_network_ns = g->block_net,
        .block_sync_ns = g->block_sync,
        .block_other_ns = g->block_other,
        .sweep_ns = g->sweep,
        .assist_ns = g->assist,
        .gc_pause_ns = g->gc_pause,
    };
    s->opts->on_goroutine(s->opts->ctx, &r);
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_sample(const void *a, const void *b) {
  const struct trace_profile_sample *x = a, *y = b;
  if (x->ns != y->ns)
    return x->ns > y->ns ? -1 : 1;
  return x->count > y->count ? -1 : x->count < y->count;
}

static void build_profiles(struct v2_state *s, struct trace_summary *ret) {
  struct v2_an *a = s->an;
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    const struct prof *pr = &a->prof[k];
    struct trace_profile *out = &ret->profiles[k];
    size_t n = 0;
    for (size_t i = 0; i < pr->cap; i++)
      n += pr->count[i] > 0;
    out->samples = n ? xcalloc(n, sizeof(*out->samples)) : NULL;
    for (size_t i = 0; i < pr->cap; i++) {
      if (pr->count[i] <= 0)
        continue;
      struct trace_profile_sample *sm = &out->samples[out->n_samples++];
      v2_intern_stack_to_trace(s->in, (uint32_t)i, &sm->stack);
      sm->count = pr->count[i];
      sm->ns = pr->ns[i];
    }
    if (out->n_samples > 1)
      qsort(out->samples, out->n_samples, sizeof(*out->samples), cmp_sample);
    out->total_count = pr->total_count;
    out->total_ns = pr->total_ns;
  }
}

static void build_counts(struct v2_an *a, struct trace_summary *ret) {
  size_t n = 0;
  for (int t = 0; t < V2_EV_TYPES; t++)
    n += a->counts[t] > 0;
  ret->event_counts = n ? xcalloc(n, sizeof(*ret->event_counts)) : NULL;
  for (int t = 0; t < V2_EV_TYPES; t++) {
    if (!a->counts[t])
      continue;
    ret->event_counts[ret->n_event_counts].name = xstrdup(v2_type_name((unsigned)t));
    ret->event_counts[ret->n_event_counts++].count = a->counts[t];
  }
}

static void build_annotations(struct v2_state *s, struct trace_summary *ret) {
  static const char *const kinds[] = {"task", "region", "log"};
  struct v2_an *a = s->an;
  ret->n_annotations = a->n_rows;
  ret->annotations = a->n_rows ? xcalloc(a->n_rows, sizeof(*ret->annotations)) : NULL;
  for (size_t i = 0; i < a->n_rows; i++) {
    const struct ann_row *r = &a->rows[i];
    struct trace_annotation *o = &ret->annotations[i];
    o->kind = xstrdup(kinds[r->kind]);
    o->name = xstrdup(r->name ? v2_intern_string_get(s->in, r->name - 1) : "");
    o->count = r->count;
    o->total_ns = r->total_ns;
    o->max_ns = r->max_ns;
  }
}

int v2_an_finish(struct v2_state *s, struct trace_summary *ret) {
  struct v2_an *a = s->an;
  int64_t t;
  bool any_mmu = false;

  /* The final Sync point, 1 ns after the last event; everything still
   * alive is finalized there. */
  v2_an_sync(s, s->last_time + 1);
  t = a->last_ts;
  for (size_t i = 0; i < s->n_gslots; i++) {
    struct v2_g *g = v2_g_at(s, i);
    if (g->id == V2_NONE && !g->slot && !g->create)
      continue;
    if (v2_map_get(&s->gmap, g->id) != g->slot)
      continue;
    if (g->bg_running)
      a->gc_cpu += t - g->bg_since;
    if (g->assist_since)
      a->gc_cpu += t - g->assist_since;
    finalize(s, g, t, false);
    v2_an_retire(s, g);
  }
  for (size_t i = 0; i < s->n_ps; i++)
    if (s->ps[i].sweep_since)
      a->gc_cpu += t - s->ps[i].sweep_since;

  ret->duration_ns = a->last_ts - a->first_ts;
  ret->procs = a->procs_max;
  ret->threads = (int64_t)s->n_ms;
  ret->goroutines_created = a->created;
  ret->goroutines_ended = a->ended;
  ret->goroutines_max_alive = s->live_g_max;
  ret->goroutines_total = a->seen;
  ret->events = a->events;
  build_counts(a, ret);
  v2_groups_build(a->groups, s->in, ret);
  build_profiles(s, ret);

  ret->gc.cycles = a->gc_cycles;
  ret->gc.stw_count = (int64_t)a->n_stw;
  if (a->n_stw) {
    /* p99 by nearest rank */
    size_t rank = (a->n_stw * 99 + 99) / 100;
    qsort(a->stw, a->n_stw, sizeof(*a->stw), cmp_i64);
    for (size_t i = 0; i < a->n_stw; i++)
      ret->gc.stw_total_ns += a->stw[i];
    ret->gc.stw_max_ns = a->stw[a->n_stw - 1];
    ret->gc.stw_p99_ns = a->stw[rank - 1];
  }
  ret->gc.gc_cpu_ns = a->gc_cpu;
  ret->gc.heap_live_min = a->heap_min;
  ret->gc.heap_live_max = a->heap_max;
  ret->gc.heap_goal_max = a->goal_max;

  if (a->n_mps)
    v2_mmu_add(a->mmu, a->last_ts, 0.0);
  s->st.mmu_points = (int64_t)v2_mmu_finish(a->mmu, a->last_ts, ret->mmu);
  for (int i = 0; i < TRACE_MMU_WINDOWS; i++)
    any_mmu = any_mmu || ret->mmu[i] >= 0;
  if (!any_mmu)
    ret->mmu_error = xstrdup(a->procs_max ? "trace too short for a utilization function"
                                          : "no GOMAXPROCS (ProcsChange) event in the trace");
  build_annotations(s, ret);
  s->st.gc_active_at_start = a->gc_active_first;
  s->st.stw_all_count = a->stw_all;
  return 0;
}
