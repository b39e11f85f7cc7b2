/* Old-format traces: the consistency state machine of doc 2.7 (Go's
 * postProcessTrace) run on the merged stream, and what its event links
 * feed: the four blocking profiles (5.3), STW/sweep/assist durations and
 * user annotations. Links always point forward, so every linked quantity
 * is complete when the link target arrives. */
#include "config.h"

#include "gotrace_v1_an.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

int v1_prof_add(struct v1_an *a, int kind, uint64_t stk, int64_t ns) {
  struct v1_prof *pr = &a->prof[kind];
  uint32_t idx;
  int r;

  if (!idmap_get(&pr->ids, stk, &idx)) {
    if (gotrace_grow(&pr->acc, &pr->cap, pr->n + 1, sizeof(*pr->acc)) < 0)
      return -ENOMEM;
    idx = (uint32_t)pr->n;
    r = idmap_put(&pr->ids, stk, idx);
    if (r < 0)
      return r;
    pr->acc[idx].stk = stk;
    pr->acc[idx].n = 0;
    pr->acc[idx].ns = 0;
    pr->n++;
  }
  pr->acc[idx].n++;
  pr->acc[idx].ns = gotrace_sat_add(pr->acc[idx].ns, ns);
  return 0;
}

int v1_ann_add(struct v1_an *a, int kind, uint64_t name, int64_t count, int64_t ns, bool timed) {
  uint64_t key = ((uint64_t)kind << 62) | (name & ((UINT64_C(1) << 62) - 1));
  struct v1_ann *an;
  uint32_t idx;
  int r;

  if (!idmap_get(&a->ann_ids, key, &idx)) {
    if (gotrace_grow(&a->anns, &a->cap_anns, a->n_anns + 1, sizeof(*a->anns)) < 0)
      return -ENOMEM;
    idx = (uint32_t)a->n_anns;
    r = idmap_put(&a->ann_ids, key, idx);
    if (r < 0)
      return r;
    memset(&a->anns[idx], 0, sizeof(a->anns[idx]));
    a->anns[idx].kind = kind;
    a->anns[idx].name = name;
    a->n_anns++;
  }
  an = &a->anns[idx];
  an->count += count;
  if (timed) {
    an->total_ns = gotrace_sat_add(an->total_ns, ns);
    if (ns > an->max_ns)
      an->max_ns = ns;
  }
  return 0;
}

/* The blocking profile a pending event feeds when it gets linked. */
static int profile_kind(int type) {
  switch (type) {
  case V1_GO_BLOCK_NET:
    return TRACE_PROFILE_NET;
  case V1_GO_BLOCK_SEND:
  case V1_GO_BLOCK_RECV:
  case V1_GO_BLOCK_SELECT:
  case V1_GO_BLOCK_SYNC:
  case V1_GO_BLOCK_COND:
  case V1_GO_BLOCK_GC:
    return TRACE_PROFILE_SYNC;
  case V1_GO_SYSCALL:
    return TRACE_PROFILE_SYSCALL;
  case V1_GO_UNBLOCK:
  case V1_GO_CREATE:
    return TRACE_PROFILE_SCHED;
  default:
    return -1;
  }
}

/* g's pending event gets linked to an event at time ts. Like `go tool
 * trace -pprof`, only events with a known stack and a positive duration
 * count. */
static int link_pending(struct v1_an *a, struct v1_gst *g, int64_t ts) {
  int kind = profile_kind(g->pend_type);
  int64_t d = ts - g->pend_ts;

  if (kind < 0 || d <= 0 || !v1_stack_get(a->t, g->pend_stk))
    return 0;
  return v1_prof_add(a, kind, g->pend_stk, d);
}

static void set_pending(struct v1_gst *g, const struct v1_event *ev) {
  g->pend_type = ev->type;
  g->pend_ts = ev->ts;
  g->pend_stk = ev->stk;
}

static int check_running(struct v1_an *a, const struct v1_pst *p, const struct v1_gst *g,
                         const struct v1_event *ev, bool allow_g0, char **ret_err) {
  if (g->state != V1_G_RUNNING)
    return v1_errf(ret_err, ev->off, "g %" PRIu64 " is not running while %s", ev->g,
                   v1_type_name(ev->type, a->t->minor));
  if (!p || p->g != ev->g)
    return v1_errf(ret_err, ev->off, "p %" PRId64 " is not running g %" PRIu64 " while %s", ev->p,
                   ev->g, v1_type_name(ev->type, a->t->minor));
  if (!allow_g0 && ev->g == 0)
    return v1_errf(ret_err, ev->off, "g 0 did %s", v1_type_name(ev->type, a->t->minor));
  return 0;
}

/* GC CPU time (doc: "gc.gc_cpu_ns"): STW time x GOMAXPROCS + running time
 * of dedicated/fractional mark workers + mark assist time + sweep time;
 * idle-priority mark workers are excluded, and intervals still open when
 * the trace ends count up to its end. */
static void add_stw(struct v1_an *a, int64_t start, uint64_t kind, int64_t end) {
  int64_t d = end - start;
  bool gc;

  /* 1.21 traces every stop-the-world; only kinds 1 and 2 are GC pauses. */
  gc = a->t->minor < 21 || kind == 1 || kind == 2;
  if (!gc)
    return;
  if (gotrace_grow(&a->stw_durs, &a->cap_stw, a->n_stw + 1, sizeof(*a->stw_durs)) == 0)
    a->stw_durs[a->n_stw++] = d;
  a->gc_cpu_ns = gotrace_sat_add(a->gc_cpu_ns, gotrace_sat_mul(d, MAX(a->procs_cur, 1)));
}

static void region_flush(struct v1_an *a, struct v1_gst *g, int64_t ts) {
  while (g->region_top != V1_NO_INDEX) {
    struct v1_region *rg = &a->regions[g->region_top];
    uint32_t prev = rg->prev;
    (void)v1_ann_add(a, V1_ANN_REGION, rg->name, 0, ts - rg->ts, true);
    rg->prev = a->free_region;
    a->free_region = g->region_top;
    g->region_top = prev;
  }
}

static int user_task(struct v1_an *a, const struct v1_event *ev, char **ret_err) {
  struct v1_task *tk;
  uint32_t idx;
  int r;

  if (ev->type == V1_USER_TASK_END) {
    if (idmap_get(&a->task_ids, ev->args[0], &idx) && a->tasks[idx].live) {
      tk = &a->tasks[idx];
      tk->live = false;
      return v1_ann_add(a, V1_ANN_TASK, tk->name, 0, ev->ts - tk->ts, true);
    }
    return 0;
  }
  if (idmap_get(&a->task_ids, ev->args[0], &idx) && a->tasks[idx].live)
    return v1_errf(ret_err, ev->off, "task id %" PRIu64 " conflicts", ev->args[0]);
  if (gotrace_grow(&a->tasks, &a->cap_tasks, a->n_tasks + 1, sizeof(*a->tasks)) < 0)
    return -ENOMEM;
  idx = (uint32_t)a->n_tasks++;
  tk = &a->tasks[idx];
  tk->name = ev->args[2];
  tk->ts = ev->ts;
  tk->live = true;
  r = idmap_put(&a->task_ids, ev->args[0], idx);
  if (r < 0)
    return r;
  return v1_ann_add(a, V1_ANN_TASK, tk->name, 1, 0, false);
}

static int user_region(struct v1_an *a, struct v1_gst *g, const struct v1_event *ev,
                       char **ret_err) {
  struct v1_region *rg;
  uint32_t idx;

  if (ev->args[1] == 0) {
    if (a->free_region != V1_NO_INDEX) {
      idx = a->free_region;
      a->free_region = a->regions[idx].prev;
    } else {
      if (a->n_regions >= UINT32_MAX - 1 ||
          gotrace_grow(&a->regions, &a->cap_regions, a->n_regions + 1, sizeof(*a->regions)) < 0)
        return -ENOMEM;
      idx = (uint32_t)a->n_regions++;
    }
    rg = &a->regions[idx];
    rg->task = ev->args[0];
    rg->name = ev->args[2];
    rg->ts = ev->ts;
    rg->prev = g->region_top;
    g->region_top = idx;
    return v1_ann_add(a, V1_ANN_REGION, rg->name, 1, 0, false);
  }
  if (ev->args[1] != 1)
    return v1_errf(ret_err, ev->off, "invalid user region mode %" PRIu64, ev->args[1]);
  if (g->region_top == V1_NO_INDEX)
    return 0; /* began before the trace */
  rg = &a->regions[g->region_top];
  if (rg->task != ev->args[0] ||
      strcmp(v1_string(a->t, rg->name), v1_string(a->t, ev->args[2])) != 0)
    return v1_errf(ret_err, ev->off,
                   "misuse of region in goroutine %" PRIu64
                   ": end of '%s' while '%s' is the innermost open region",
                   ev->g, v1_string(a->t, ev->args[2]), v1_string(a->t, rg->name));
  idx = g->region_top;
  g->region_top = rg->prev;
  rg->prev = a->free_region;
  a->free_region = idx;
  return v1_ann_add(a, V1_ANN_REGION, rg->name, 0, ev->ts - rg->ts, true);
}

static bool timer_goroutine(const struct v1_an *a, uint64_t g) {
  uint32_t v;
  return a->t->timer_gs.n && idmap_get(&a->t->timer_gs, g, &v);
}

int v1_check_event(struct v1_an *a, struct v1_event *ev, bool *ret_ends_span, char **ret_err) {
  struct v1_gst *g = &a->gs[ev->gi], *tg;
  struct v1_pst *p = ev->si != V1_NO_INDEX ? &a->ps[ev->si] : NULL;
  int r = 0;

  *ret_ends_span = false;
  switch (ev->type) {
  case V1_PROC_START:
    if (p->running)
      return v1_errf(ret_err, ev->off, "p %" PRId64 " is running before start", ev->p);
    p->running = true;
    break;
  case V1_PROC_STOP:
    if (!p->running)
      return v1_errf(ret_err, ev->off, "p %" PRId64 " is not running before stop", ev->p);
    if (p->g != 0)
      return v1_errf(ret_err, ev->off, "p %" PRId64 " is running goroutine %" PRIu64 " during stop",
                     ev->p, p->g);
    p->running = false;
    break;
  case V1_GC_START:
    if (a->gc_open)
      return v1_errf(ret_err, ev->off, "previous GC is not ended before a new one");
    a->gc_open = true;
    a->gc_open_ts = ev->ts;
    break;
  case V1_GC_DONE:
    if (!a->gc_open)
      return v1_errf(ret_err, ev->off, "bogus GC end");
    a->gc_open = false;
    break;
  case V1_STW_START: {
    bool *open = a->t->minor < 10 ? &p->stw_open : &a->stw_open;
    int64_t *ts = a->t->minor < 10 ? &p->stw_ts : &a->stw_ts;
    if (*open)
      return v1_errf(ret_err, ev->off, "previous STW is not ended before a new one");
    *open = true;
    *ts = ev->ts;
    a->stw_kind = ev->args[0];
    break;
  }
  case V1_STW_DONE: {
    bool *open = a->t->minor < 10 ? &p->stw_open : &a->stw_open;
    int64_t *ts = a->t->minor < 10 ? &p->stw_ts : &a->stw_ts;
    if (!*open)
      return v1_errf(ret_err, ev->off, "bogus STW end");
    *open = false;
    add_stw(a, *ts, a->stw_kind, ev->ts);
    break;
  }
  case V1_SWEEP_START:
    if (p->sweep_open)
      return v1_errf(ret_err, ev->off, "previous sweeping is not ended before a new one");
    p->sweep_open = true;
    p->sweep_ts = ev->ts;
    break;
  case V1_SWEEP_DONE:
    if (!p->sweep_open)
      return v1_errf(ret_err, ev->off, "bogus sweeping end");
    p->sweep_open = false;
    a->gc_cpu_ns = gotrace_sat_add(a->gc_cpu_ns, ev->ts - p->sweep_ts);
    break;
  case V1_ASSIST_START:
    if (g->assist)
      return v1_errf(ret_err, ev->off, "previous mark assist is not ended before a new one");
    g->assist = true;
    g->assist_ts = ev->ts;
    break;
  case V1_ASSIST_DONE:
    /* Assists may be in progress when tracing starts. */
    if (g->assist) {
      g->assist = false;
      a->gc_cpu_ns = gotrace_sat_add(a->gc_cpu_ns, ev->ts - g->assist_ts);
    }
    break;
  case V1_GO_WAITING:
  case V1_GO_IN_SYSCALL:
    if (g->state != V1_G_RUNNABLE)
      return v1_errf(ret_err, ev->off, "g %" PRIu64 " is not runnable before %s", ev->g,
                     v1_type_name(ev->type, a->t->minor));
    g->state = V1_G_WAITING;
    set_pending(g, ev);
    break;
  case V1_GO_CREATE:
    r = check_running(a, p, g, ev, true, ret_err);
    if (r < 0)
      return r;
    tg = &a->gs[ev->ti];
    if (tg->known)
      return v1_errf(ret_err, ev->off, "g %" PRIu64 " already exists", ev->args[0]);
    tg->known = true;
    tg->state = V1_G_RUNNABLE;
    set_pending(tg, ev);
    tg->has_create = true;
    tg->create_stk = ev->args[1];
    break;
  case V1_GO_START:
  case V1_GO_START_LABEL:
    if (g->state != V1_G_RUNNABLE)
      return v1_errf(ret_err, ev->off, "g %" PRIu64 " is not runnable before start", ev->g);
    if (p->g != 0)
      return v1_errf(ret_err, ev->off,
                     "p %" PRId64 " is already running g %" PRIu64 " while start g %" PRIu64, ev->p,
                     p->g, ev->g);
    g->state = V1_G_RUNNING;
    g->started = true;
    g->start_ts = ev->ts;
    p->g = ev->g;
    if (g->has_create) {
      ev->stk = g->create_stk;
      g->has_create = false;
    }
    if (g->pend_type) {
      r = link_pending(a, g, ev->ts);
      g->pend_type = 0;
    }
    break;
  case V1_GO_END:
  case V1_GO_STOP:
    r = check_running(a, p, g, ev, false, ret_err);
    if (r < 0)
      return r;
    *ret_ends_span = g->started;
    g->started = false;
    g->state = V1_G_DEAD;
    p->g = 0;
    if (ev->type == V1_GO_END)
      region_flush(a, g, ev->ts);
    break;
  case V1_GO_SCHED:
  case V1_GO_PREEMPT:
    r = check_running(a, p, g, ev, false, ret_err);
    if (r < 0)
      return r;
    g->state = V1_G_RUNNABLE;
    *ret_ends_span = g->started;
    g->started = false;
    p->g = 0;
    set_pending(g, ev);
    break;
  case V1_GO_UNBLOCK: {
    bool timer = timer_goroutine(a, ev->g);
    if (g->state != V1_G_RUNNING)
      return v1_errf(ret_err, ev->off, "g %" PRIu64 " is not running while unpark", ev->g);
    if (!timer && (!p || p->g != ev->g))
      return v1_errf(ret_err, ev->off, "p %" PRId64 " is not running g %" PRIu64 " while unpark",
                     ev->p, ev->g);
    tg = &a->gs[ev->ti];
    if (tg->state != V1_G_WAITING)
      return v1_errf(ret_err, ev->off, "g %" PRIu64 " is not waiting before unpark", ev->args[0]);
    if (tg->pend_type)
      r = link_pending(a, tg, ev->ts);
    tg->state = V1_G_RUNNABLE;
    set_pending(tg, ev);
    break;
  }
  case V1_GO_SYSCALL:
    r = check_running(a, p, g, ev, false, ret_err);
    if (r < 0)
      return r;
    set_pending(g, ev);
    break;
  case V1_GO_SYS_BLOCK:
    r = check_running(a, p, g, ev, false, ret_err);
    if (r < 0)
      return r;
    g->state = V1_G_WAITING;
    *ret_ends_span = g->started;
    g->started = false;
    p->g = 0;
    break;
  case V1_GO_SYS_EXIT:
    if (g->state != V1_G_WAITING)
      return v1_errf(ret_err, ev->off, "g %" PRIu64 " is not waiting during syscall exit", ev->g);
    if (g->pend_type == V1_GO_SYSCALL)
      r = link_pending(a, g, ev->ts);
    g->state = V1_G_RUNNABLE;
    set_pending(g, ev);
    break;
  case V1_GO_SLEEP:
  case V1_GO_BLOCK:
  case V1_GO_BLOCK_SEND:
  case V1_GO_BLOCK_RECV:
  case V1_GO_BLOCK_SELECT:
  case V1_GO_BLOCK_SYNC:
  case V1_GO_BLOCK_COND:
  case V1_GO_BLOCK_NET:
  case V1_GO_BLOCK_GC:
    r = check_running(a, p, g, ev, false, ret_err);
    if (r < 0)
      return r;
    g->state = V1_G_WAITING;
    set_pending(g, ev);
    *ret_ends_span = g->started;
    g->started = false;
    p->g = 0;
    break;
  case V1_USER_TASK_CREATE:
  case V1_USER_TASK_END:
    r = user_task(a, ev, ret_err);
    break;
  case V1_USER_REGION:
    r = user_region(a, g, ev, ret_err);
    break;
  case V1_USER_LOG:
    r = v1_ann_add(a, V1_ANN_LOG, ev->args[1], 1, 0, false);
    break;
  default:
    break;
  }
  g->known = true;
  return r;
}
