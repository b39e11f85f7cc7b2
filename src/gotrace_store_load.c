/* Reading the trace tables back into a struct trace_summary. */
#include "config.h"

#include "gotrace_analysis.h"
#include "gotrace_idmap.h"
#include "gotrace_store.h"
#include "util.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char sql_summary[] =
    "SELECT go_version, duration_ns, procs, threads, goroutines_created, goroutines_ended,"
    " goroutines_max_alive, goroutines_total, events, gc_cycles, stw_count, stw_total_ns,"
    " stw_max_ns, stw_p99_ns, gc_cpu_ns, heap_live_min, heap_live_max, heap_goal_max, mmu_1ms,"
    " mmu_10ms, mmu_100ms, mmu_1s, mmu_error, prof_net_count, prof_net_ns, prof_sync_count,"
    " prof_sync_ns, prof_syscall_count, prof_syscall_ns, prof_sched_count, prof_sched_ns"
    " FROM trace_summaries WHERE capture_id = ?1";
static const char sql_events[] =
    "SELECT name, count FROM trace_event_counts WHERE capture_id = ?1 ORDER BY name";
static const char sql_groups[] =
    "SELECT function, pc, count, total_ns, execution_ns, network_wait_ns, sync_block_ns,"
    " syscall_ns, scheduler_wait_ns, gc_sweep_ns, gc_pause_ns, unknown_ns FROM trace_groups"
    " WHERE capture_id = ?1 ORDER BY rank";
static const char sql_worst[] =
    "SELECT group_rank, goroutine_id, created_ns, ended_ns, total_ns, execution_ns,"
    " network_wait_ns, sync_block_ns, syscall_ns, scheduler_wait_ns, gc_sweep_ns, gc_pause_ns,"
    " unknown_ns FROM trace_goroutines WHERE capture_id = ?1 ORDER BY group_rank, rank";
static const char sql_samples[] =
    "SELECT kind, count, ns, frames FROM trace_profile_samples WHERE capture_id = ?1"
    " ORDER BY kind, rank";
static const char sql_function[] = "SELECT name, file FROM trace_functions WHERE id = ?1";
static const char sql_annotations[] =
    "SELECT kind, name, count, total_ns, max_ns FROM trace_annotations WHERE capture_id = ?1"
    " ORDER BY kind, name";

static char *col_text(sqlite3_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st, col);
  return xstrdup(t ? (const char *)t : "");
}

static void col_gstats(sqlite3_stmt *st, int col, struct trace_gstats *g) {
  g->total_ns = sqlite3_column_int64(st, col++);
  g->execution_ns = sqlite3_column_int64(st, col++);
  g->network_wait_ns = sqlite3_column_int64(st, col++);
  g->sync_block_ns = sqlite3_column_int64(st, col++);
  g->syscall_ns = sqlite3_column_int64(st, col++);
  g->scheduler_wait_ns = sqlite3_column_int64(st, col++);
  g->gc_sweep_ns = sqlite3_column_int64(st, col++);
  g->gc_pause_ns = sqlite3_column_int64(st, col++);
  g->unknown_ns = sqlite3_column_int64(st, col);
}

static int load_summary(sqlite3_stmt *st, struct trace_summary *t) {
  int col = 0;
  const char *v;

  v = (const char *)sqlite3_column_text(st, col++);
  snprintf(t->go_version, sizeof(t->go_version), "%s", v ? v : "");
  if (str_has_prefix(t->go_version, "1."))
    t->go_minor = atoi(t->go_version + 2);
  t->duration_ns = sqlite3_column_int64(st, col++);
  t->procs = sqlite3_column_int(st, col++);
  t->threads = sqlite3_column_int64(st, col++);
  t->goroutines_created = sqlite3_column_int64(st, col++);
  t->goroutines_ended = sqlite3_column_int64(st, col++);
  t->goroutines_max_alive = sqlite3_column_int64(st, col++);
  t->goroutines_total = sqlite3_column_int64(st, col++);
  t->events = sqlite3_column_int64(st, col++);
  t->gc.cycles = sqlite3_column_int64(st, col++);
  t->gc.stw_count = sqlite3_column_int64(st, col++);
  t->gc.stw_total_ns = sqlite3_column_int64(st, col++);
  t->gc.stw_max_ns = sqlite3_column_int64(st, col++);
  t->gc.stw_p99_ns = sqlite3_column_int64(st, col++);
  t->gc.gc_cpu_ns = sqlite3_column_int64(st, col++);
  t->gc.heap_live_min = sqlite3_column_int64(st, col++);
  t->gc.heap_live_max = sqlite3_column_int64(st, col++);
  t->gc.heap_goal_max = sqlite3_column_int64(st, col++);
  for (int w = 0; w < TRACE_MMU_WINDOWS; w++, col++)
    t->mmu[w] = sqlite3_column_type(st, col) == SQLITE_NULL ? -1 : sqlite3_column_double(st, col);
  if (sqlite3_column_type(st, col) != SQLITE_NULL)
    t->mmu_error = col_text(st, col);
  col++;
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    t->profiles[k].total_count = sqlite3_column_int64(st, col++);
    t->profiles[k].total_ns = sqlite3_column_int64(st, col++);
  }
  return 0;
}

/* Runs a per-capture query, calling row() for each row. */
static int each_row(struct store *s, const char *sql, int64_t id,
                    int (*row)(struct store *s, sqlite3_stmt *st, void *u), void *u) {
  sqlite3_stmt *st = store_stmt(s, sql);
  int rc, r = 0;

  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, id);
  for (;;) {
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
      break;
    r = row(s, st, u);
    if (r < 0)
      break;
  }
  sqlite3_reset(st);
  if (r == 0 && rc != SQLITE_DONE)
    r = -EIO;
  return r;
}

static int event_row(struct store *s, sqlite3_stmt *st, void *u) {
  struct trace_summary *t = u;
  (void)s;
  t->event_counts = xreallocarray(t->event_counts, t->n_event_counts + 1, sizeof(*t->event_counts));
  t->event_counts[t->n_event_counts].name = col_text(st, 0);
  t->event_counts[t->n_event_counts].count = sqlite3_column_int64(st, 1);
  t->n_event_counts++;
  return 0;
}

static int group_row(struct store *s, sqlite3_stmt *st, void *u) {
  struct trace_summary *t = u;
  struct trace_group *g;
  (void)s;
  t->groups = xreallocarray(t->groups, t->n_groups + 1, sizeof(*t->groups));
  g = &t->groups[t->n_groups++];
  memset(g, 0, sizeof(*g));
  g->function = col_text(st, 0);
  g->pc = (uint64_t)sqlite3_column_int64(st, 1);
  g->count = sqlite3_column_int64(st, 2);
  col_gstats(st, 3, &g->s);
  return 0;
}

static int worst_row(struct store *s, sqlite3_stmt *st, void *u) {
  struct trace_summary *t = u;
  int64_t gi = sqlite3_column_int64(st, 0);
  struct trace_group *g;
  struct trace_goroutine *w;
  (void)s;
  if (gi < 0 || (uint64_t)gi >= t->n_groups)
    return 0;
  g = &t->groups[gi];
  g->worst = xreallocarray(g->worst, g->n_worst + 1, sizeof(*g->worst));
  w = &g->worst[g->n_worst++];
  w->id = (uint64_t)sqlite3_column_int64(st, 1);
  w->created_ns = sqlite3_column_int64(st, 2);
  w->ended_ns = sqlite3_column_int64(st, 3);
  col_gstats(st, 4, &w->s);
  return 0;
}

struct fn_names {
  struct idmap ids;
  char **name, **file;
  size_t n;
};

static int function_name(struct store *s, struct fn_names *fns, int64_t id, uint32_t *ret) {
  sqlite3_stmt *st;
  int rc;

  if (idmap_get(&fns->ids, (uint64_t)id, ret))
    return 0;
  st = store_stmt(s, sql_function);
  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, id);
  rc = sqlite3_step(st);
  fns->name = xreallocarray(fns->name, fns->n + 1, sizeof(*fns->name));
  fns->file = xreallocarray(fns->file, fns->n + 1, sizeof(*fns->file));
  fns->name[fns->n] = rc == SQLITE_ROW ? col_text(st, 0) : xstrdup("?");
  fns->file[fns->n] = rc == SQLITE_ROW ? col_text(st, 1) : xstrdup("");
  sqlite3_reset(st);
  *ret = (uint32_t)fns->n;
  fns->n++;
  return idmap_put(&fns->ids, (uint64_t)id, *ret);
}

struct sample_ctx {
  struct trace_summary *t;
  struct fn_names fns;
};

/* frames: "function_id line pc" per line, leaf first. */
static int sample_row(struct store *s, sqlite3_stmt *st, void *u) {
  struct sample_ctx *c = u;
  const char *kind = (const char *)sqlite3_column_text(st, 0);
  const char *fr = (const char *)sqlite3_column_text(st, 3);
  int k = gotrace_profile_kind(kind ? kind : "");
  struct trace_profile *p;
  struct trace_profile_sample *smp;

  if (k < 0)
    return 0;
  p = &c->t->profiles[k];
  p->samples = xreallocarray(p->samples, p->n_samples + 1, sizeof(*p->samples));
  smp = &p->samples[p->n_samples++];
  memset(smp, 0, sizeof(*smp));
  smp->count = sqlite3_column_int64(st, 1);
  smp->ns = sqlite3_column_int64(st, 2);
  while (fr && *fr) {
    long long fid, line;
    unsigned long long pc;
    int used = 0;
    uint32_t idx;
    struct trace_frame *f;
    if (sscanf(fr, "%lld %lld %llu%n", &fid, &line, &pc, &used) != 3)
      break;
    fr += used;
    if (*fr == '\n')
      fr++;
    if (function_name(s, &c->fns, fid, &idx) < 0)
      return -ENOMEM;
    smp->stack.frames =
        xreallocarray(smp->stack.frames, smp->stack.n_frames + 1, sizeof(*smp->stack.frames));
    f = &smp->stack.frames[smp->stack.n_frames++];
    f->function = xstrdup(c->fns.name[idx]);
    f->file = xstrdup(c->fns.file[idx]);
    f->line = line;
    f->pc = pc;
  }
  return 0;
}

static int annotation_row(struct store *s, sqlite3_stmt *st, void *u) {
  struct trace_summary *t = u;
  struct trace_annotation *an;
  (void)s;
  t->annotations = xreallocarray(t->annotations, t->n_annotations + 1, sizeof(*t->annotations));
  an = &t->annotations[t->n_annotations++];
  an->kind = col_text(st, 0);
  an->name = col_text(st, 1);
  an->count = sqlite3_column_int64(st, 2);
  an->total_ns = sqlite3_column_int64(st, 3);
  an->max_ns = sqlite3_column_int64(st, 4);
  return 0;
}

int gotrace_store_load(struct store *s, int64_t capture_id, struct trace_summary *ret) {
  sqlite3_stmt *st = store_stmt(s, sql_summary);
  struct sample_ctx sc;
  int rc, r;

  trace_summary_init(ret);
  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, capture_id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    load_summary(st, ret);
  sqlite3_reset(st);
  if (rc == SQLITE_DONE)
    return -ENOENT;
  if (rc != SQLITE_ROW)
    return -EIO;
  r = each_row(s, sql_events, capture_id, event_row, ret);
  if (r == 0)
    r = each_row(s, sql_groups, capture_id, group_row, ret);
  if (r == 0)
    r = each_row(s, sql_worst, capture_id, worst_row, ret);
  memset(&sc, 0, sizeof(sc));
  sc.t = ret;
  idmap_init(&sc.fns.ids);
  if (r == 0)
    r = each_row(s, sql_samples, capture_id, sample_row, &sc);
  for (size_t i = 0; i < sc.fns.n; i++) {
    free(sc.fns.name[i]);
    free(sc.fns.file[i]);
  }
  free(sc.fns.name);
  free(sc.fns.file);
  idmap_done(&sc.fns.ids);
  if (r == 0)
    r = each_row(s, sql_annotations, capture_id, annotation_row, ret);
  if (r < 0)
    trace_summary_done(ret);
  return r;
}
