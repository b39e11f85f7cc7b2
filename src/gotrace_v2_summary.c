/* Go 1.22+ traces: results of the analysis. Goroutines are folded into
 * their group when final (v2_an_retire); at the end the accumulators of
 * gotrace_v2_an.c become the struct trace_summary. User annotations
 * (runtime/trace tasks, regions, logs) are counted here too. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gotrace_v2.h"
#include "util.h"

/* ---- annotations ---- */

static struct v2_ann_row *ann_row(struct v2_an *a, int kind, uint32_t name) {
  uint64_t key = (uint64_t)kind << 32 | name;
  uint32_t i = v2_map_get(&a->row_map, key);
  if (i != V2_IDX_NONE)
    return &a->rows[i];
  if (a->n_rows == a->cap_rows) {
    a->cap_rows = a->cap_rows ? a->cap_rows * 2 : 16;
    a->rows = xreallocarray(a->rows, a->cap_rows, sizeof(*a->rows));
  }
  a->rows[a->n_rows] = (struct v2_ann_row){kind, name, 0, 0, 0};
  v2_map_put(&a->row_map, key, (uint32_t)a->n_rows);
  return &a->rows[a->n_rows++];
}

static void ann_done(struct v2_ann_row *r, int64_t d) {
  r->total_ns += d;
  if (d > r->max_ns)
    r->max_ns = d;
}

void v2_an_annotation(struct v2_state *s, const struct v2_out *o) {
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
  v2_intern_seal(s->in);
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    const struct v2_prof *pr = &a->prof[k];
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
    const struct v2_ann_row *r = &a->rows[i];
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
    if (g->id == V2_NONE) /* a freed slot */
      continue;
    if (g->bg_running)
      a->gc_cpu += t - g->bg_since;
    if (g->assist_since)
      a->gc_cpu += t - g->assist_since;
    v2_an_finalize(s, g, t, false);
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
  s->st.interned_stacks = (int64_t)v2_intern_stacks(s->in);
  s->st.interned_strings = (int64_t)v2_intern_strings(s->in);
  s->st.stw_all_count = a->stw_all;
  ret->frame_strings = v2_intern_take_strings(s->in);
  return 0;
}
