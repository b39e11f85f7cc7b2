/* Old-format traces: turning the analysis state into struct trace_summary
 * (groups by start PC as `go tool trace` shows them, the worst goroutines,
 * blocking profiles with resolved stacks, GC, MMU, annotations). */
#include "config.h"

#include "gotrace_v1_an.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fill_gstats(const struct v1_gst *g, struct trace_gstats *s) {
  int64_t known;

  s->total_ns = g->total;
  s->execution_ns = g->exec;
  s->network_wait_ns = g->io;
  s->sync_block_ns = g->block;
  s->syscall_ns = g->syscall;
  s->scheduler_wait_ns = g->sched;
  s->gc_sweep_ns = g->sweep;
  s->gc_pause_ns = g->gc;
  known = g->exec + g->io + g->block + g->syscall + g->sched;
  s->unknown_ns = g->total > known ? g->total - known : 0;
}

static void add_gstats(struct trace_gstats *sum, const struct trace_gstats *s) {
  sum->total_ns = gotrace_sat_add(sum->total_ns, s->total_ns);
  sum->execution_ns = gotrace_sat_add(sum->execution_ns, s->execution_ns);
  sum->network_wait_ns = gotrace_sat_add(sum->network_wait_ns, s->network_wait_ns);
  sum->sync_block_ns = gotrace_sat_add(sum->sync_block_ns, s->sync_block_ns);
  sum->syscall_ns = gotrace_sat_add(sum->syscall_ns, s->syscall_ns);
  sum->scheduler_wait_ns = gotrace_sat_add(sum->scheduler_wait_ns, s->scheduler_wait_ns);
  sum->gc_sweep_ns = gotrace_sat_add(sum->gc_sweep_ns, s->gc_sweep_ns);
  sum->gc_pause_ns = gotrace_sat_add(sum->gc_pause_ns, s->gc_pause_ns);
  sum->unknown_ns = gotrace_sat_add(sum->unknown_ns, s->unknown_ns);
}

struct gref {
  uint64_t pc;
  uint64_t fn;
  struct trace_goroutine g;
};

static int cmp_gref(const void *x, const void *y) {
  const struct gref *a = x, *b = y;
  if (a->pc != b->pc)
    return a->pc < b->pc ? -1 : 1;
  return a->g.id < b->g.id ? -1 : a->g.id > b->g.id;
}

static int64_t non_exec(const struct trace_goroutine *g) {
  return g->s.total_ns - g->s.execution_ns;
}

static int cmp_worst(const void *x, const void *y) {
  const struct trace_goroutine *a = x, *b = y;
  if (non_exec(a) != non_exec(b))
    return non_exec(a) > non_exec(b) ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

static int cmp_group(const void *x, const void *y) {
  const struct trace_group *a = x, *b = y;
  if (a->s.execution_ns != b->s.execution_ns)
    return a->s.execution_ns > b->s.execution_ns ? -1 : 1;
  return a->pc < b->pc ? -1 : a->pc > b->pc;
}

/* Groups by start PC, sorted by execution time; each keeps the
 * TRACE_WORST_PER_GROUP goroutines with the most non-execution time. */
static int build_groups(struct v1_an *a, struct trace_summary *s) {
  struct gref *refs;
  size_t n = 0, i, j;

  for (i = 0; i < a->n_gs; i++)
    n += a->gs[i].stats;
  s->goroutines_total = (int64_t)n;
  if (!n)
    return 0;
  refs = calloc(n, sizeof(*refs));
  s->groups = calloc(n, sizeof(*s->groups));
  if (!refs || !s->groups) {
    free(refs);
    return -ENOMEM;
  }
  for (i = 0, j = 0; i < a->n_gs; i++) {
    const struct v1_gst *g = &a->gs[i];
    struct gref *r;
    if (!g->stats)
      continue;
    r = &refs[j++];
    r->pc = g->pc;
    r->fn = g->fn;
    r->g.id = a->o->gs[i].id;
    r->g.created_ns = g->prologue ? 0 : g->creation;
    r->g.ended_ns = g->closed ? g->end_time : -1;
    fill_gstats(g, &r->g.s);
  }
  qsort(refs, n, sizeof(*refs), cmp_gref);
  for (i = 0; i < n; i = j) {
    struct trace_group *gr = &s->groups[s->n_groups++];
    size_t m, k;

    for (j = i; j < n && refs[j].pc == refs[i].pc; j++)
      ;
    m = j - i;
    gr->pc = refs[i].pc;
    gr->function = xstrdup(refs[i].pc ? v1_string(a->t, refs[i].fn) : "");
    gr->count = (int64_t)m;
    gr->worst = calloc(m, sizeof(*gr->worst));
    if (!gr->worst) {
      free(refs);
      return -ENOMEM;
    }
    for (k = 0; k < m; k++) {
      add_gstats(&gr->s, &refs[i + k].g.s);
      gr->worst[k] = refs[i + k].g;
    }
    qsort(gr->worst, m, sizeof(*gr->worst), cmp_worst);
    gr->n_worst = m < TRACE_WORST_PER_GROUP ? m : TRACE_WORST_PER_GROUP;
    if (m > gr->n_worst) {
      struct trace_goroutine *w = realloc(gr->worst, gr->n_worst * sizeof(*w));
      if (w)
        gr->worst = w;
    }
  }
  free(refs);
  qsort(s->groups, s->n_groups, sizeof(*s->groups), cmp_group);
  return 0;
}

static int cmp_sample(const void *x, const void *y) {
  const struct trace_profile_sample *a = x, *b = y;
  if (a->ns != b->ns)
    return a->ns > b->ns ? -1 : 1;
  if (a->count != b->count)
    return a->count > b->count ? -1 : 1;
  return 0;
}

static int build_profiles(struct v1_an *a, struct trace_summary *s) {
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    const struct v1_prof *pr = &a->prof[k];
    struct trace_profile *out = &s->profiles[k];

    if (!pr->n)
      continue;
    out->samples = calloc(pr->n, sizeof(*out->samples));
    if (!out->samples)
      return -ENOMEM;
    for (size_t i = 0; i < pr->n; i++) {
      const struct v1_stack *st = v1_stack_get(a->t, pr->acc[i].stk);
      struct trace_profile_sample *smp = &out->samples[out->n_samples++];
      smp->count = pr->acc[i].n;
      smp->ns = pr->acc[i].ns;
      out->total_count = gotrace_sat_add(out->total_count, smp->count);
      out->total_ns = gotrace_sat_add(out->total_ns, smp->ns);
      if (!st)
        continue; /* not reached: samples need a stack */
      smp->stack.frames = calloc(st->n, sizeof(*smp->stack.frames));
      if (!smp->stack.frames)
        return -ENOMEM;
      smp->stack.n_frames = st->n;
      for (uint32_t f = 0; f < st->n; f++) {
        const struct v1_frame *fr = &a->t->frames[st->first + f];
        smp->stack.frames[f].function = xstrdup(v1_string(a->t, fr->fn));
        smp->stack.frames[f].file = xstrdup(v1_string(a->t, fr->file));
        smp->stack.frames[f].line = fr->line > INT64_MAX ? INT64_MAX : (int64_t)fr->line;
        smp->stack.frames[f].pc = fr->pc;
      }
    }
    qsort(out->samples, out->n_samples, sizeof(*out->samples), cmp_sample);
  }
  return 0;
}

static int cmp_i64(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return a < b ? -1 : a > b;
}

static void build_gc(struct v1_an *a, struct trace_summary *s) {
  struct trace_gc *gc = &s->gc;

  gc->cycles = a->gc_cycles;
  gc->stw_count = (int64_t)a->n_stw;
  for (size_t i = 0; i < a->n_stw; i++) {
    gc->stw_total_ns = gotrace_sat_add(gc->stw_total_ns, a->stw_durs[i]);
    if (a->stw_durs[i] > gc->stw_max_ns)
      gc->stw_max_ns = a->stw_durs[i];
  }
  if (a->n_stw) {
    /* Nearest-rank 99th percentile. */
    size_t rank = (a->n_stw * 99 + 99) / 100;
    qsort(a->stw_durs, a->n_stw, sizeof(*a->stw_durs), cmp_i64);
    gc->stw_p99_ns = a->stw_durs[rank - 1];
  }
  gc->gc_cpu_ns = a->gc_cpu_ns;
  gc->heap_live_min = a->heap_min;
  gc->heap_live_max = a->heap_max;
  gc->heap_goal_max = a->goal_max;
}

static void build_mmu(struct v1_an *a, struct trace_summary *s) {
  int64_t end;

  if (!a->mmu.n) {
    s->mmu_error = xstrdup("no GOMAXPROCS event in the trace");
    return;
  }
  end = a->mmu.t[a->mmu.n - 1];
  for (int i = 0; i < TRACE_MMU_WINDOWS; i++)
    s->mmu[i] = trace_mmu_compute(&a->mmu, end, trace_mmu_window_ns[i]);
  if (s->mmu[0] < 0)
    s->mmu_error = xstrdup("trace too short for MMU");
}

static const char *ann_kind_name(int kind) {
  return kind == V1_ANN_TASK ? "task" : kind == V1_ANN_REGION ? "region" : "log";
}

static int cmp_ann(const void *x, const void *y) {
  const struct trace_annotation *a = x, *b = y;
  int c = strcmp(a->kind, b->kind);
  return c ? c : strcmp(a->name, b->name);
}

static int build_annotations(struct v1_an *a, struct trace_summary *s) {
  if (!a->n_anns)
    return 0;
  s->annotations = calloc(a->n_anns, sizeof(*s->annotations));
  if (!s->annotations)
    return -ENOMEM;
  for (size_t i = 0; i < a->n_anns; i++) {
    struct trace_annotation *an = &s->annotations[s->n_annotations++];
    an->kind = xstrdup(ann_kind_name(a->anns[i].kind));
    an->name = xstrdup(v1_string(a->t, a->anns[i].name));
    an->count = a->anns[i].count;
    an->total_ns = a->anns[i].total_ns;
    an->max_ns = a->anns[i].max_ns;
  }
  qsort(s->annotations, s->n_annotations, sizeof(*s->annotations), cmp_ann);
  return 0;
}

static int build_counts(struct v1_an *a, struct trace_summary *s) {
  size_t n = 0;

  for (int k = 0; k < V1_COUNT; k++)
    n += a->counts[k] != 0;
  if (!n)
    return 0;
  s->event_counts = calloc(n, sizeof(*s->event_counts));
  if (!s->event_counts)
    return -ENOMEM;
  for (int k = 0; k < V1_COUNT; k++) {
    if (!a->counts[k])
      continue;
    s->event_counts[s->n_event_counts].name = xstrdup(v1_type_name(k, a->t->minor));
    s->event_counts[s->n_event_counts].count = (int64_t)a->counts[k];
    s->n_event_counts++;
  }
  return 0;
}

int v1_summary_fill(struct v1_an *a, struct trace_summary *s, char **ret_err) {
  int r;

  (void)ret_err;
  s->go_minor = a->t->minor;
  snprintf(s->go_version, sizeof(s->go_version), "1.%d", a->t->minor);
  s->duration_ns = a->last_ts;
  s->procs = a->procs_max > INT32_MAX ? INT32_MAX : (int)a->procs_max;
  s->threads = (int64_t)a->threads.n;
  s->goroutines_created = a->created;
  s->goroutines_ended = a->ended;
  s->goroutines_max_alive = a->max_alive;
  s->events = a->events;
  r = build_counts(a, s);
  if (r == 0)
    r = build_groups(a, s);
  if (r == 0)
    r = build_profiles(a, s);
  if (r == 0)
    r = build_annotations(a, s);
  if (r < 0)
    return r;
  build_gc(a, s);
  build_mmu(a, s);
  return 0;
}
