/* pprofctl trace --target NAME: one line per analysed trace capture of a
 * target, oldest first, so that a scheduler-latency or GC-pause
 * regression shows at a glance. Reads trace_summaries only. */
#include "config.h"

#include "ctl.h"
#include "gotrace.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

int ctl_trace_series(struct ctl *ctl, struct ctl_filter *cf);

static const char series_head[] =
    "SELECT c.id, c.started_at_ms, c.instance, t.duration_ns, t.procs, t.goroutines_max_alive,"
    " t.goroutines_total, t.gc_cycles, t.stw_count, t.stw_total_ns, t.stw_max_ns, t.stw_p99_ns,"
    " t.gc_cpu_ns, t.heap_live_max, t.scheduler_wait_ns, t.prof_net_count, t.prof_net_ns,"
    " t.prof_sync_count, t.prof_sync_ns, t.prof_syscall_count, t.prof_syscall_ns,"
    " t.prof_sched_count, t.prof_sched_ns, t.mmu_1ms, t.mmu_10ms, t.mmu_100ms, t.mmu_1s"
    " FROM captures c JOIN trace_summaries t ON t.capture_id = c.id";

enum {
  C_ID,
  C_STARTED,
  C_INSTANCE,
  C_DURATION,
  C_PROCS,
  C_MAX_ALIVE,
  C_GOROUTINES,
  C_GC,
  C_STW,
  C_STW_TOTAL,
  C_STW_MAX,
  C_STW_P99,
  C_GC_CPU,
  C_HEAP_MAX,
  C_SCHED_WAIT,
  C_PROF, /* count, ns for net, sync, syscall, sched */
  C_MMU = C_PROF + 2 * TRACE_PROFILE_COUNT,
};

static const char *const prof_names[TRACE_PROFILE_COUNT] = {"net", "sync", "syscall", "sched"};
static const char *const mmu_names[TRACE_MMU_WINDOWS] = {"1ms", "10ms", "100ms", "1s"};

static json_t *row_json(sqlite3_stmt *st) {
  json_t *o = json_object(), *g = json_object(), *gc = json_object(), *p = json_object();
  json_t *m = json_object();
  char when[32];

  json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, C_ID)));
  json_object_set_new(
      o, "started_at",
      json_string(ctl_time(sqlite3_column_int64(st, C_STARTED), when, sizeof(when))));
  json_object_set_new(o, "instance",
                      ctl_json_string((const char *)sqlite3_column_text(st, C_INSTANCE)));
  json_object_set_new(o, "duration_ns", json_integer(sqlite3_column_int64(st, C_DURATION)));
  json_object_set_new(o, "procs", json_integer(sqlite3_column_int64(st, C_PROCS)));
  json_object_set_new(g, "max_alive", json_integer(sqlite3_column_int64(st, C_MAX_ALIVE)));
  json_object_set_new(g, "total", json_integer(sqlite3_column_int64(st, C_GOROUTINES)));
  json_object_set_new(o, "goroutines", g);
  json_object_set_new(gc, "cycles", json_integer(sqlite3_column_int64(st, C_GC)));
  json_object_set_new(gc, "stw_count", json_integer(sqlite3_column_int64(st, C_STW)));
  json_object_set_new(gc, "stw_total_ns", json_integer(sqlite3_column_int64(st, C_STW_TOTAL)));
  json_object_set_new(gc, "stw_max_ns", json_integer(sqlite3_column_int64(st, C_STW_MAX)));
  json_object_set_new(gc, "stw_p99_ns", json_integer(sqlite3_column_int64(st, C_STW_P99)));
  json_object_set_new(gc, "gc_cpu_ns", json_integer(sqlite3_column_int64(st, C_GC_CPU)));
  json_object_set_new(gc, "heap_live_max", json_integer(sqlite3_column_int64(st, C_HEAP_MAX)));
  json_object_set_new(o, "gc", gc);
  json_object_set_new(o, "scheduler_wait_ns", json_integer(sqlite3_column_int64(st, C_SCHED_WAIT)));
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    json_t *x = json_object();
    json_object_set_new(x, "count", json_integer(sqlite3_column_int64(st, C_PROF + 2 * k)));
    json_object_set_new(x, "total_ns", json_integer(sqlite3_column_int64(st, C_PROF + 2 * k + 1)));
    json_object_set_new(p, prof_names[k], x);
  }
  json_object_set_new(o, "profiles", p);
  for (int w = 0; w < TRACE_MMU_WINDOWS; w++) {
    int col = C_MMU + w;
    json_object_set_new(m, mmu_names[w],
                        sqlite3_column_type(st, col) == SQLITE_NULL
                            ? json_null()
                            : json_real(sqlite3_column_double(st, col)));
  }
  json_object_set_new(o, "mmu", m);
  return o;
}

static int64_t jint(json_t *o, const char *a, const char *b) {
  json_t *v = json_object_get(o, a);
  if (b)
    v = json_object_get(v, b);
  return json_integer_value(v);
}

static const char *ns_text(int64_t ns, char *buf, size_t size) {
  double v = (double)ns;
  if (v < 1e3)
    snprintf(buf, size, "%.0fns", v);
  else if (v < 1e6)
    snprintf(buf, size, "%.4gus", v / 1e3);
  else if (v < 1e9)
    snprintf(buf, size, "%.4gms", v / 1e6);
  else
    snprintf(buf, size, "%.4gs", v / 1e9);
  return buf;
}

static void row_text(struct table *t, json_t *o) {
  char id[24], dur[24], alive[24], gc[24], stw[24], stw_max[24], stw_tot[24];
  char sched[24], net[24], sync[24], sys[24], mmu[24];
  json_t *prof = json_object_get(o, "profiles"),
         *m10 = json_object_get(json_object_get(o, "mmu"), "10ms");
  const char *cells[14];

  snprintf(id, sizeof(id), "%" PRId64, jint(o, "id", NULL));
  snprintf(alive, sizeof(alive), "%" PRId64, jint(o, "goroutines", "max_alive"));
  snprintf(gc, sizeof(gc), "%" PRId64, jint(o, "gc", "cycles"));
  snprintf(stw, sizeof(stw), "%" PRId64, jint(o, "gc", "stw_count"));
  if (json_is_real(m10))
    snprintf(mmu, sizeof(mmu), "%.3f", json_real_value(m10));
  else
    snprintf(mmu, sizeof(mmu), "-");
  cells[0] = id;
  cells[1] = json_string_value(json_object_get(o, "started_at"));
  cells[2] = json_string_value(json_object_get(o, "instance"));
  cells[3] = ns_text(jint(o, "duration_ns", NULL), dur, sizeof(dur));
  cells[4] = alive;
  cells[5] = gc;
  cells[6] = stw;
  cells[7] = ns_text(jint(o, "gc", "stw_max_ns"), stw_max, sizeof(stw_max));
  cells[8] = ns_text(jint(o, "gc", "stw_total_ns"), stw_tot, sizeof(stw_tot));
  cells[9] = ns_text(jint(prof, "sched", "total_ns"), sched, sizeof(sched));
  cells[10] = ns_text(jint(prof, "net", "total_ns"), net, sizeof(net));
  cells[11] = ns_text(jint(prof, "sync", "total_ns"), sync, sizeof(sync));
  cells[12] = ns_text(jint(prof, "syscall", "total_ns"), sys, sizeof(sys));
  cells[13] = mmu;
  table_add_row(t, cells);
}

int ctl_trace_series(struct ctl *ctl, struct ctl_filter *cf) {
  static const char *const headers[] = {"ID",  "STARTED", "INSTANCE", "DURATION",  "GOROUTINES",
                                        "GC",  "STW",     "STW MAX",  "STW TOTAL", "SCHED",
                                        "NET", "SYNC",    "SYSCALL",  "MMU 10MS"};
  struct store *s = ctl_store(ctl);
  sqlite3_stmt *st = NULL;
  json_t *rows = json_array();
  bool newest_first;
  int rc, r;

  if (!s) {
    r = CTL_EXIT_NOTFOUND;
    goto out;
  }
  /* A trend reads oldest to newest; --limit N keeps the newest N. */
  newest_first = cf->f.limit > 0;
  cf->f.oldest_first = !newest_first;
  if (cf->f.limit < 0)
    cf->f.limit = 0;
  r = store_filter_prepare(s, &cf->f, series_head, NULL, &st);
  if (r < 0) {
    r = ctl_error("%s", store_errmsg(s));
    goto out;
  }
  for (;;) {
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
      break;
    if (newest_first)
      json_array_insert_new(rows, 0, row_json(st));
    else
      json_array_append_new(rows, row_json(st));
  }
  if (rc != SQLITE_DONE) {
    r = ctl_error("reading trace summaries: %s", sqlite3_errmsg(store_db(s)));
    goto out;
  }
  if (ctl->json) {
    size_t n = json_array_size(rows);
    r = ctl_print_json(ctl, rows);
    rows = NULL;
    if (r == CTL_EXIT_OK && n == 0)
      r = CTL_EXIT_NOTFOUND;
    goto out;
  }
  if (json_array_size(rows) == 0) {
    r = ctl_error("no analysed trace captures of target '%s' match", cf->f.target);
    goto out;
  }
  {
    struct table *t = table_new(ARRAY_SIZE(headers), headers);
    size_t i;
    json_t *o;
    table_align_right(t, 0);
    for (size_t c = 3; c < ARRAY_SIZE(headers); c++)
      table_align_right(t, c);
    json_array_foreach(rows, i, o) row_text(t, o);
    table_print(t, ctl->out);
    table_free(t);
  }
  r = CTL_EXIT_OK;
out:
  sqlite3_finalize(st);
  json_decref(rows);
  return r;
}
