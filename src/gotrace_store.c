/* The trace tables: writing a struct trace_summary as rows and reading it
 * back. */
#include "config.h"

#include "gotrace_store.h"
#include "gotrace_analysis.h"
#include "gotrace_idmap.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* trace_functions: functions of profile stacks, interned by (name, file)
 * so that stacks of different captures share ids.
 *
 * trace_summaries: one row per analysed trace: header facts, GC/STW/heap,
 * MMU (NULL when not computable), the goroutine-analysis columns summed
 * over all goroutines and the totals of the four blocking profiles: the
 * figures `pprofctl trace --target` lists over time.
 *
 * trace_event_counts: ordered events by type name.
 *
 * trace_groups: goroutine groups by start function, rank 0 = most
 * execution time; trace_goroutines: the worst goroutines of each group
 * (most non-execution time first).
 *
 * trace_profile_samples: blocking profiles (kind net/sync/syscall/sched):
 * one row per stack, largest delay first, frames leaf first as
 * "function_id line pc" lines; leaf_function_id for per-function queries.
 *
 * trace_annotations: runtime/trace tasks, regions and logs by name.
 *
 * Every per-capture table starts its primary key with capture_id and
 * cascades on capture deletion. */
const char store_schema_trace[] =
    "CREATE TABLE trace_functions ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  file TEXT NOT NULL,"
    "  UNIQUE (name, file)"
    ");"
    "CREATE TABLE trace_summaries ("
    "  capture_id INTEGER PRIMARY KEY REFERENCES captures(id) ON DELETE CASCADE,"
    "  go_version TEXT NOT NULL,"
    "  duration_ns INTEGER NOT NULL,"
    "  procs INTEGER NOT NULL,"
    "  threads INTEGER NOT NULL,"
    "  goroutines_created INTEGER NOT NULL,"
    "  goroutines_ended INTEGER NOT NULL,"
    "  goroutines_max_alive INTEGER NOT NULL,"
    "  goroutines_total INTEGER NOT NULL,"
    "  events INTEGER NOT NULL,"
    "  gc_cycles INTEGER NOT NULL,"
    "  stw_count INTEGER NOT NULL,"
    "  stw_total_ns INTEGER NOT NULL,"
    "  stw_max_ns INTEGER NOT NULL,"
    "  stw_p99_ns INTEGER NOT NULL,"
    "  gc_cpu_ns INTEGER NOT NULL,"
    "  heap_live_min INTEGER NOT NULL,"
    "  heap_live_max INTEGER NOT NULL,"
    "  heap_goal_max INTEGER NOT NULL,"
    "  mmu_1ms REAL,"
    "  mmu_10ms REAL,"
    "  mmu_100ms REAL,"
    "  mmu_1s REAL,"
    "  mmu_error TEXT,"
    "  execution_ns INTEGER NOT NULL,"
    "  network_wait_ns INTEGER NOT NULL,"
    "  sync_block_ns INTEGER NOT NULL,"
    "  syscall_ns INTEGER NOT NULL,"
    "  scheduler_wait_ns INTEGER NOT NULL,"
    "  gc_sweep_ns INTEGER NOT NULL,"
    "  gc_pause_ns INTEGER NOT NULL,"
    "  unknown_ns INTEGER NOT NULL,"
    "  prof_net_count INTEGER NOT NULL,"
    "  prof_net_ns INTEGER NOT NULL,"
    "  prof_sync_count INTEGER NOT NULL,"
    "  prof_sync_ns INTEGER NOT NULL,"
    "  prof_syscall_count INTEGER NOT NULL,"
    "  prof_syscall_ns INTEGER NOT NULL,"
    "  prof_sched_count INTEGER NOT NULL,"
    "  prof_sched_ns INTEGER NOT NULL"
    ");"
    "CREATE TABLE trace_event_counts ("
    "  capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  PRIMARY KEY (capture_id, name)"
    ") WITHOUT ROWID;"
    "CREATE TABLE trace_groups ("
    "  capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,"
    "  rank INTEGER NOT NULL,"
    "  function TEXT NOT NULL,"
    "  pc INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  total_ns INTEGER NOT NULL,"
    "  execution_ns INTEGER NOT NULL,"
    "  network_wait_ns INTEGER NOT NULL,"
    "  sync_block_ns INTEGER NOT NULL,"
    "  syscall_ns INTEGER NOT NULL,"
    "  scheduler_wait_ns INTEGER NOT NULL,"
    "  gc_sweep_ns INTEGER NOT NULL,"
    "  gc_pause_ns INTEGER NOT NULL,"
    "  unknown_ns INTEGER NOT NULL,"
    "  PRIMARY KEY (capture_id, rank)"
    ") WITHOUT ROWID;"
    "CREATE TABLE trace_goroutines ("
    "  capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,"
    "  group_rank INTEGER NOT NULL,"
    "  rank INTEGER NOT NULL,"
    "  goroutine_id INTEGER NOT NULL,"
    "  created_ns INTEGER NOT NULL,"
    "  ended_ns INTEGER NOT NULL,"
    "  total_ns INTEGER NOT NULL,"
    "  execution_ns INTEGER NOT NULL,"
    "  network_wait_ns INTEGER NOT NULL,"
    "  sync_block_ns INTEGER NOT NULL,"
    "  syscall_ns INTEGER NOT NULL,"
    "  scheduler_wait_ns INTEGER NOT NULL,"
    "  gc_sweep_ns INTEGER NOT NULL,"
    "  gc_pause_ns INTEGER NOT NULL,"
    "  unknown_ns INTEGER NOT NULL,"
    "  PRIMARY KEY (capture_id, group_rank, rank)"
    ") WITHOUT ROWID;"
    "CREATE TABLE trace_profile_samples ("
    "  capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('net', 'sync', 'syscall', 'sched')),"
    "  rank INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  ns INTEGER NOT NULL,"
    "  leaf_function_id INTEGER REFERENCES trace_functions(id),"
    "  frames TEXT NOT NULL,"
    "  PRIMARY KEY (capture_id, kind, rank)"
    ") WITHOUT ROWID;"
    "CREATE TABLE trace_annotations ("
    "  capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  total_ns INTEGER NOT NULL,"
    "  max_ns INTEGER NOT NULL,"
    "  PRIMARY KEY (capture_id, kind, name)"
    ") WITHOUT ROWID;";

static const char sql_summary[] =
    "INSERT INTO trace_summaries (capture_id, go_version, duration_ns, procs, threads,"
    " goroutines_created, goroutines_ended, goroutines_max_alive, goroutines_total, events,"
    " gc_cycles, stw_count, stw_total_ns, stw_max_ns, stw_p99_ns, gc_cpu_ns, heap_live_min,"
    " heap_live_max, heap_goal_max, mmu_1ms, mmu_10ms, mmu_100ms, mmu_1s, mmu_error,"
    " execution_ns, network_wait_ns, sync_block_ns, syscall_ns, scheduler_wait_ns, gc_sweep_ns,"
    " gc_pause_ns, unknown_ns, prof_net_count, prof_net_ns, prof_sync_count, prof_sync_ns,"
    " prof_syscall_count, prof_syscall_ns, prof_sched_count, prof_sched_ns) VALUES (?1, ?2, ?3,"
    " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,"
    " ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40)";
static const char sql_event[] =
    "INSERT INTO trace_event_counts (capture_id, name, count) VALUES (?1, ?2, ?3)";
static const char sql_group[] =
    "INSERT INTO trace_groups (capture_id, rank, function, pc, count, total_ns, execution_ns,"
    " network_wait_ns, sync_block_ns, syscall_ns, scheduler_wait_ns, gc_sweep_ns, gc_pause_ns,"
    " unknown_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
static const char sql_goroutine[] =
    "INSERT INTO trace_goroutines (capture_id, group_rank, rank, goroutine_id, created_ns,"
    " ended_ns, total_ns, execution_ns, network_wait_ns, sync_block_ns, syscall_ns,"
    " scheduler_wait_ns, gc_sweep_ns, gc_pause_ns, unknown_ns) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
    " ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
static const char sql_sample[] =
    "INSERT INTO trace_profile_samples (capture_id, kind, rank, count, ns, leaf_function_id,"
    " frames) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_annotation[] =
    "INSERT INTO trace_annotations (capture_id, kind, name, count, total_ns, max_ns)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_fn_find[] = "SELECT id FROM trace_functions WHERE name = ?1 AND file = ?2";
static const char sql_fn_insert[] = "INSERT INTO trace_functions (name, file) VALUES (?1, ?2)";

static int step_done(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc == SQLITE_DONE)
    return 0;
  return rc == SQLITE_FULL ? -ENOSPC : -EIO;
}

/* Interning with a per-call cache: stacks of one trace share frames. */
struct fn_cache {
  struct idmap ids; /* FNV-1a of name + file -> index into ent */
  struct {
    const char *name, *file;
    int64_t id;
  } * ent;
  size_t n, cap;
};

static uint64_t fnv(const char *a, const char *b) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char *p = a; *p; p++)
    h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
  h = (h ^ 0xff) * 0x100000001b3ULL;
  for (const char *p = b; *p; p++)
    h = (h ^ (uint8_t)*p) * 0x100000001b3ULL;
  return h;
}

static int function_id(struct store *s, struct fn_cache *c, const char *name, const char *file,
                       int64_t *ret) {
  uint64_t h = fnv(name, file);
  sqlite3_stmt *st;
  uint32_t idx;
  int rc, r;

  if (idmap_get(&c->ids, h, &idx) && strcmp(c->ent[idx].name, name) == 0 &&
      strcmp(c->ent[idx].file, file) == 0) {
    *ret = c->ent[idx].id;
    return 0;
  }
  st = store_stmt(s, sql_fn_find);
  if (!st)
    return -EIO;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *ret = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
  } else {
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
      return -EIO;
    st = store_stmt(s, sql_fn_insert);
    if (!st)
      return -EIO;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, file, -1, SQLITE_STATIC);
    r = step_done(st);
    if (r < 0)
      return r;
    *ret = sqlite3_last_insert_rowid(store_db(s));
  }
  if (gotrace_grow(&c->ent, &c->cap, c->n + 1, sizeof(*c->ent)) < 0)
    return -ENOMEM;
  c->ent[c->n].name = name;
  c->ent[c->n].file = file;
  c->ent[c->n].id = *ret;
  r = idmap_put(&c->ids, h, (uint32_t)c->n);
  if (r < 0)
    return r;
  c->n++;
  return 0;
}

static void bind_mmu(sqlite3_stmt *st, int col, double v) {
  if (v < 0)
    sqlite3_bind_null(st, col);
  else
    sqlite3_bind_double(st, col, v);
}

/* Binds the nine goroutine-analysis columns from col on. */
static void bind_gstats(sqlite3_stmt *st, int col, const struct trace_gstats *g) {
  sqlite3_bind_int64(st, col++, g->total_ns);
  sqlite3_bind_int64(st, col++, g->execution_ns);
  sqlite3_bind_int64(st, col++, g->network_wait_ns);
  sqlite3_bind_int64(st, col++, g->sync_block_ns);
  sqlite3_bind_int64(st, col++, g->syscall_ns);
  sqlite3_bind_int64(st, col++, g->scheduler_wait_ns);
  sqlite3_bind_int64(st, col++, g->gc_sweep_ns);
  sqlite3_bind_int64(st, col++, g->gc_pause_ns);
  sqlite3_bind_int64(st, col, g->unknown_ns);
}

static int put_summary(struct store *s, int64_t id, const struct trace_summary *t) {
  sqlite3_stmt *st = store_stmt(s, sql_summary);
  struct trace_gstats sum;
  int col = 1;

  if (!st)
    return -EIO;
  memset(&sum, 0, sizeof(sum));
  for (size_t i = 0; i < t->n_groups; i++) {
    const struct trace_gstats *g = &t->groups[i].s;
    sum.execution_ns = gotrace_sat_add(sum.execution_ns, g->execution_ns);
    sum.network_wait_ns = gotrace_sat_add(sum.network_wait_ns, g->network_wait_ns);
    sum.sync_block_ns = gotrace_sat_add(sum.sync_block_ns, g->sync_block_ns);
    sum.syscall_ns = gotrace_sat_add(sum.syscall_ns, g->syscall_ns);
    sum.scheduler_wait_ns = gotrace_sat_add(sum.scheduler_wait_ns, g->scheduler_wait_ns);
    sum.gc_sweep_ns = gotrace_sat_add(sum.gc_sweep_ns, g->gc_sweep_ns);
    sum.gc_pause_ns = gotrace_sat_add(sum.gc_pause_ns, g->gc_pause_ns);
    sum.unknown_ns = gotrace_sat_add(sum.unknown_ns, g->unknown_ns);
  }
  sqlite3_bind_int64(st, col++, id);
  sqlite3_bind_text(st, col++, t->go_version, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, col++, t->duration_ns);
  sqlite3_bind_int64(st, col++, t->procs);
  sqlite3_bind_int64(st, col++, t->threads);
  sqlite3_bind_int64(st, col++, t->goroutines_created);
  sqlite3_bind_int64(st, col++, t->goroutines_ended);
  sqlite3_bind_int64(st, col++, t->goroutines_max_alive);
  sqlite3_bind_int64(st, col++, t->goroutines_total);
  sqlite3_bind_int64(st, col++, t->events);
  sqlite3_bind_int64(st, col++, t->gc.cycles);
  sqlite3_bind_int64(st, col++, t->gc.stw_count);
  sqlite3_bind_int64(st, col++, t->gc.stw_total_ns);
  sqlite3_bind_int64(st, col++, t->gc.stw_max_ns);
  sqlite3_bind_int64(st, col++, t->gc.stw_p99_ns);
  sqlite3_bind_int64(st, col++, t->gc.gc_cpu_ns);
  sqlite3_bind_int64(st, col++, t->gc.heap_live_min);
  sqlite3_bind_int64(st, col++, t->gc.heap_live_max);
  sqlite3_bind_int64(st, col++, t->gc.heap_goal_max);
  for (int w = 0; w < TRACE_MMU_WINDOWS; w++)
    bind_mmu(st, col++, t->mmu[w]);
  if (t->mmu_error)
    sqlite3_bind_text(st, col, t->mmu_error, -1, SQLITE_STATIC);
  col++;
  sqlite3_bind_int64(st, col++, sum.execution_ns);
  sqlite3_bind_int64(st, col++, sum.network_wait_ns);
  sqlite3_bind_int64(st, col++, sum.sync_block_ns);
  sqlite3_bind_int64(st, col++, sum.syscall_ns);
  sqlite3_bind_int64(st, col++, sum.scheduler_wait_ns);
  sqlite3_bind_int64(st, col++, sum.gc_sweep_ns);
  sqlite3_bind_int64(st, col++, sum.gc_pause_ns);
  sqlite3_bind_int64(st, col++, sum.unknown_ns);
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    sqlite3_bind_int64(st, col++, t->profiles[k].total_count);
    sqlite3_bind_int64(st, col++, t->profiles[k].total_ns);
  }
  return step_done(st);
}

static int put_groups(struct store *s, int64_t id, const struct trace_summary *t) {
  for (size_t i = 0; i < t->n_groups; i++) {
    const struct trace_group *g = &t->groups[i];
    sqlite3_stmt *st = store_stmt(s, sql_group);
    int r;
    if (!st)
      return -EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, (int64_t)i);
    sqlite3_bind_text(st, 3, g->function ? g->function : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)g->pc);
    sqlite3_bind_int64(st, 5, g->count);
    bind_gstats(st, 6, &g->s);
    r = step_done(st);
    if (r < 0)
      return r;
    for (size_t k = 0; k < g->n_worst; k++) {
      const struct trace_goroutine *w = &g->worst[k];
      st = store_stmt(s, sql_goroutine);
      if (!st)
        return -EIO;
      sqlite3_bind_int64(st, 1, id);
      sqlite3_bind_int64(st, 2, (int64_t)i);
      sqlite3_bind_int64(st, 3, (int64_t)k);
      sqlite3_bind_int64(st, 4, (int64_t)w->id);
      sqlite3_bind_int64(st, 5, w->created_ns);
      sqlite3_bind_int64(st, 6, w->ended_ns);
      bind_gstats(st, 7, &w->s);
      r = step_done(st);
      if (r < 0)
        return r;
    }
  }
  return 0;
}

static int put_profiles(struct store *s, int64_t id, const struct trace_summary *t) {
  struct fn_cache cache;
  struct buf frames;
  int r = 0;

  memset(&cache, 0, sizeof(cache));
  idmap_init(&cache.ids);
  buf_init(&frames, (size_t)1 << 24);
  for (int k = 0; k < TRACE_PROFILE_COUNT && r == 0; k++) {
    const struct trace_profile *p = &t->profiles[k];
    for (size_t i = 0; i < p->n_samples && i < GOTRACE_MAX_STORED_SAMPLES && r == 0; i++) {
      const struct trace_profile_sample *smp = &p->samples[i];
      int64_t leaf = 0;
      sqlite3_stmt *st;

      buf_reset(&frames);
      for (size_t f = 0; f < smp->stack.n_frames && r == 0; f++) {
        const struct trace_frame *fr = &smp->stack.frames[f];
        int64_t fid;
        r = function_id(s, &cache, fr->function ? fr->function : "", fr->file ? fr->file : "",
                        &fid);
        if (r == 0 && f == 0)
          leaf = fid;
        if (r == 0)
          r = buf_printf(&frames, "%s%" PRId64 " %" PRId64 " %" PRIu64, f ? "\n" : "", fid,
                         fr->line, fr->pc);
      }
      if (r == 0)
        r = buf_terminate(&frames);
      if (r < 0)
        break;
      st = store_stmt(s, sql_sample);
      if (!st) {
        r = -EIO;
        break;
      }
      sqlite3_bind_int64(st, 1, id);
      sqlite3_bind_text(st, 2, gotrace_profile_name(k), -1, SQLITE_STATIC);
      sqlite3_bind_int64(st, 3, (int64_t)i);
      sqlite3_bind_int64(st, 4, smp->count);
      sqlite3_bind_int64(st, 5, smp->ns);
      if (leaf)
        sqlite3_bind_int64(st, 6, leaf);
      sqlite3_bind_text(st, 7, frames.len ? (const char *)frames.data : "", -1, SQLITE_STATIC);
      r = step_done(st);
    }
  }
  buf_done(&frames);
  idmap_done(&cache.ids);
  free(cache.ent);
  return r;
}

int gotrace_store_rows(struct store *s, int64_t capture_id, const void *detail) {
  const struct trace_summary *t = detail;
  int r;

  r = put_summary(s, capture_id, t);
  for (size_t i = 0; r == 0 && i < t->n_event_counts; i++) {
    sqlite3_stmt *st = store_stmt(s, sql_event);
    if (!st)
      return -EIO;
    sqlite3_bind_int64(st, 1, capture_id);
    sqlite3_bind_text(st, 2, t->event_counts[i].name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, t->event_counts[i].count);
    r = step_done(st);
  }
  if (r == 0)
    r = put_groups(s, capture_id, t);
  if (r == 0)
    r = put_profiles(s, capture_id, t);
  for (size_t i = 0; r == 0 && i < t->n_annotations; i++) {
    const struct trace_annotation *an = &t->annotations[i];
    sqlite3_stmt *st = store_stmt(s, sql_annotation);
    if (!st)
      return -EIO;
    sqlite3_bind_int64(st, 1, capture_id);
    sqlite3_bind_text(st, 2, an->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, an->name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, an->count);
    sqlite3_bind_int64(st, 5, an->total_ns);
    sqlite3_bind_int64(st, 6, an->max_ns);
    r = step_done(st);
  }
  return r;
}
