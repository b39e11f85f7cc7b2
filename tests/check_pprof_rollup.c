/* The hourly rollups of pprof rows (pprof_rollup.h): for every filter and
 * option combination, pprof_query_aggregate() must return exactly what it
 * returns from the raw rows alone, over a store whose captures span
 * several hours, targets, instances and labels, also after pruning, after
 * deletions outside pruning (stale cells), after captures added to stale
 * cells, and after the schema migration that backfills the rollups.
 * Ranges cut days and hours at both ends. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "capture.h"
#include "cfg.h"
#include "pprof_query.h"
#include "pprof_rollup.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

#define HOUR_MS INT64_C(3600000)
#define MIN_MS INT64_C(60000)
/* An hour boundary (2025-11-21T00:00:00Z). */
#define T0 INT64_C(1763683200000)
#define N_CAPTURES 150

static const struct {
  const char *file, *type;
} bodies[] = {
    {"pprof/prom/cpu-5s.pprof", "cpu"},
    {"pprof/work/allocs.pprof", "heap"},
    {"pprof/esbuild/heap.pprof", "heap"},
    {"pprof/work/block.pprof", "block"},
};
static const char *const targets[] = {"api", "db", "web"};
static const char *const instances[] = {"10.0.0.1:6060", "10.0.0.2:6060"};

struct fixture {
  char *dir, *path;
  struct store *s;
  uint8_t *data[4];
  size_t len[4];
};

static void put(struct fixture *fx, int i, int64_t at_ms) {
  int b = i % 4; /* with the target, the instance and env: 12 series */
  struct capture *c = capture_new();
  struct analysis_opts o;
  struct cfg_pair labels[2] = {{(char *)"env", (char *)(i % 12 == 0 ? "dev" : "prod")},
                               {(char *)"team", (char *)(i % 3 == 1 ? "red" : "blue")}};
  int64_t id = 0;

  c->target = xstrdup(targets[i % 3]);
  c->instance = xstrdup(instances[i % 12 < 6]);
  c->type = xstrdup(bodies[b].type);
  c->url = xasprintf("http://%s/debug/pprof/%s", c->instance, c->type);
  c->started_at_ms = at_ms;
  c->http_status = 200;
  c->status = CAPTURE_OK;
  capture_set_labels(c, labels, 2);
  buf_init(&c->body, fx->len[b]);
  ck_assert_int_eq(buf_append(&c->body, fx->data[b], fx->len[b]), 0);
  analysis_opts_default(&o);
  c->analysis = analysis_run(c->type, fx->data[b], fx->len[b], &o);
  ck_assert_int_eq(store_put_capture(fx->s, c, &id), 0);
  capture_free(c);
}

/* Blocks of 50 captures, one every 2.5 minutes (two or three per series
 * and hour), 20 hours apart: 150 captures cover parts of four UTC days
 * and one whole day. */
static void fill(struct fixture *fx, int from, int to) {
  for (int i = from; i < to; i++)
    put(fx, i, T0 - 20 * MIN_MS + (i / 50) * 20 * HOUR_MS + i * 150000 + (i % 7) * 1000);
}

static void fx_open(struct fixture *fx) {
  char *err = NULL;
  memset(fx, 0, sizeof(*fx));
  fx->dir = test_tmpdir();
  fx->path = xasprintf("%s/pprofd.db", fx->dir);
  for (size_t i = 0; i < 4; i++)
    fx->data[i] = test_read_file(test_data_path(bodies[i].file), &fx->len[i]);
  ck_assert_msg(store_open(fx->path, 0, &fx->s, &err) == 0, "store_open: %s", err);
}

static void fx_close(struct fixture *fx) {
  fx->s = store_close(fx->s);
  for (size_t i = 0; i < 4; i++)
    free(fx->data[i]);
  test_rm_rf(fx->dir);
  free(fx->dir);
  free(fx->path);
}

static int64_t query_int(struct store *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  int64_t v = -1;
  ck_assert_int_eq(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static void exec_sql(struct store *s, const char *sql) {
  char *err = NULL;
  ck_assert_msg(sqlite3_exec(store_db(s), sql, NULL, NULL, &err) == SQLITE_OK, "%s: %s", sql, err);
}

static bool str_same(const char *a, const char *b) {
  return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void agg_eq(const struct pprof_agg *a, const struct pprof_agg *b, const char *what) {
  ck_assert_msg(str_same(a->sample_type, b->sample_type), "%s: sample type", what);
  ck_assert_msg(str_same(a->unit, b->unit), "%s: unit", what);
  ck_assert_msg(a->n_captures == b->n_captures, "%s: captures %zu vs %zu", what, a->n_captures,
                b->n_captures);
  ck_assert_msg(a->n_skipped == b->n_skipped, "%s: skipped %zu vs %zu", what, a->n_skipped,
                b->n_skipped);
  ck_assert_msg(a->n_groups == b->n_groups, "%s: groups", what);
  for (size_t i = 0; i < a->n_groups; i++) {
    const struct pprof_agg_group *x = &a->groups[i], *y = &b->groups[i];
    ck_assert_msg(str_same(x->target, y->target), "%s: group %zu target", what, i);
    ck_assert_msg(x->total == y->total, "%s: group %zu total", what, i);
    ck_assert_msg(x->n_captures == y->n_captures, "%s: group %zu captures", what, i);
    ck_assert_msg(x->first_ms == y->first_ms && x->last_ms == y->last_ms, "%s: group %zu span",
                  what, i);
    ck_assert_msg(x->n_functions == y->n_functions, "%s: group %zu functions %zu vs %zu", what, i,
                  x->n_functions, y->n_functions);
    ck_assert_msg(x->n_rows == y->n_rows, "%s: group %zu rows", what, i);
    for (size_t j = 0; j < x->n_rows; j++) {
      const struct pprof_agg_row *p = &x->rows[j], *q = &y->rows[j];
      ck_assert_msg(p->function_id == q->function_id && p->flat == q->flat && p->cum == q->cum &&
                        str_same(p->name, q->name) && str_same(p->file, q->file),
                    "%s: group %zu row %zu: %s %" PRId64 "/%" PRId64 " vs %s %" PRId64 "/%" PRId64,
                    what, i, j, p->name, p->flat, p->cum, q->name, q->flat, q->cum);
    }
  }
}

static const char *const sample_types[] = {NULL, "1", "inuse_space", "delay", "nope"};

/* Every option combination on filter f, rollups against raw rows. Returns
 * the number of captures read from rollups over all combinations. */
static size_t compare(struct store *s, const struct store_filter *f, const char *name) {
  size_t rolled = 0;
  for (size_t t = 0; t < ARRAY_SIZE(sample_types); t++) {
    for (int v = 0; v < 8; v++) {
      struct pprof_agg_opts o = {.sample_type = sample_types[t],
                                 .by_target = v & 1,
                                 .cum_sort = (v & 2) != 0,
                                 .limit = (v & 4) ? 5 : 0};
      struct pprof_agg *raw = NULL, *roll = NULL;
      char *raw_err = NULL, *roll_err = NULL;
      char *what =
          xasprintf("%s, type %s, by_target %d, cum %d, limit %zu", name,
                    o.sample_type ? o.sample_type : "default", o.by_target, o.cum_sort, o.limit);
      int r1, r2;

      o.no_rollup = true;
      r1 = pprof_query_aggregate(s, f, &o, &raw, &raw_err);
      o.no_rollup = false;
      r2 = pprof_query_aggregate(s, f, &o, &roll, &roll_err);
      ck_assert_msg(r1 == r2, "%s: %d vs %d (%s / %s)", what, r1, r2, raw_err, roll_err);
      if (r1 == 0) {
        ck_assert_msg(raw->n_rolled_up == 0, "%s: raw read rollups", what);
        agg_eq(raw, roll, what);
        rolled += roll->n_rolled_up;
      } else {
        ck_assert_msg(str_same(raw_err, roll_err), "%s: '%s' vs '%s'", what, raw_err, roll_err);
      }
      pprof_agg_free(raw);
      pprof_agg_free(roll);
      free(raw_err);
      free(roll_err);
      free(what);
    }
  }
  return rolled;
}

/* The filters, with how many captures they must read from rollups (0:
 * none, 1: some). */
static void compare_all(struct store *s, const char *stage) {
  static struct cfg_pair prod[] = {{(char *)"env", (char *)"prod"}};
  static struct cfg_pair dev_red[] = {{(char *)"env", (char *)"dev"},
                                      {(char *)"team", (char *)"red"}};
  static struct cfg_pair tgt[] = {{(char *)"target", (char *)"db"}};
  static struct cfg_pair none[] = {{(char *)"env", (char *)"staging"}};
  struct {
    const char *name;
    const char *target, *instance, *type;
    int64_t since, until;
    struct cfg_pair *labels;
    size_t n_labels;
    int64_t limit;
    bool rolled;
  } cases[] = {
      {"all", NULL, NULL, NULL, INT64_MIN, INT64_MAX, NULL, 0, 0, true},
      {"cpu", NULL, NULL, "cpu", INT64_MIN, INT64_MAX, NULL, 0, 0, true},
      {"heap of db", "db", NULL, "heap", INT64_MIN, INT64_MAX, NULL, 0, 0, true},
      {"instance", NULL, "10.0.0.2:6060", NULL, INT64_MIN, INT64_MAX, NULL, 0, 0, true},
      {"env=prod", NULL, NULL, NULL, INT64_MIN, INT64_MAX, prod, 1, 0, true},
      {"env=dev team=red heap", NULL, NULL, "heap", INT64_MIN, INT64_MAX, dev_red, 2, 0, false},
      {"label target=db", NULL, NULL, NULL, T0 + HOUR_MS, INT64_MAX, tgt, 1, 0, true},
      {"no such label", NULL, NULL, NULL, INT64_MIN, INT64_MAX, none, 1, 0, false},
      {"cut hours", NULL, NULL, NULL, T0 + 5 * MIN_MS, T0 + 125 * MIN_MS, NULL, 0, 0, true},
      {"cut hours cpu api", "api", NULL, "cpu", T0 + 50 * MIN_MS, T0 + 301 * MIN_MS, NULL, 0, 0,
       false},
      {"since aligned", NULL, NULL, NULL, T0 + 2 * HOUR_MS, INT64_MAX, NULL, 0, 0, true},
      {"until only", NULL, NULL, "heap", INT64_MIN, T0 + 210 * MIN_MS, NULL, 0, 0, true},
      {"within an hour", NULL, NULL, NULL, T0 + 65 * MIN_MS, T0 + 110 * MIN_MS, NULL, 0, 0, false},
      {"wide", NULL, NULL, NULL, T0 - 100 * HOUR_MS, T0 + 100 * HOUR_MS, NULL, 0, 0, true},
      {"empty range", NULL, NULL, NULL, T0 + 70 * HOUR_MS, T0 + 80 * HOUR_MS, NULL, 0, 0, false},
      {"one day", NULL, NULL, NULL, T0, T0 + 24 * HOUR_MS, NULL, 0, 0, true},
      {"days and hours", NULL, NULL, "heap", T0 - 150 * MIN_MS, T0 + 2890 * MIN_MS, NULL, 0, 0,
       true},
      {"across midnight", NULL, NULL, NULL, T0 + 20 * HOUR_MS, T0 + 46 * HOUR_MS, prod, 1, 0, true},
      {"limit", NULL, NULL, "cpu", INT64_MIN, INT64_MAX, NULL, 0, 7, false},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct store_filter f;
    char *name = xasprintf("%s: %s", stage, cases[i].name);
    size_t rolled;
    store_filter_init(&f);
    f.target = cases[i].target;
    f.instance = cases[i].instance;
    f.type = cases[i].type;
    f.since_ms = cases[i].since;
    f.until_ms = cases[i].until;
    f.labels = cases[i].labels;
    f.n_labels = cases[i].n_labels;
    f.limit = cases[i].limit;
    rolled = compare(s, &f, name);
    if (cases[i].rolled)
      ck_assert_msg(rolled > 0, "%s: no capture read from rollups", name);
    if (cases[i].limit || strcmp(cases[i].name, "within an hour") == 0)
      ck_assert_msg(rolled == 0, "%s: rollups used", name);
    free(name);
  }
}

static int64_t stale_rows(struct store *s) {
  return query_int(s, "SELECT count(*) FROM pprof_rollups WHERE stale");
}

/* Rollup rows of each span account for every ok capture with pprof rows. */
static void check_counts(struct store *s, bool days) {
  int64_t n = query_int(s, "SELECT count(*) FROM captures c JOIN pprof_profiles p"
                           " ON p.capture_id = c.id WHERE c.status = 'ok'");
  ck_assert_int_eq(query_int(s, "SELECT sum(captures) FROM pprof_rollups WHERE span_ms = 3600000"),
                   n);
  if (days)
    ck_assert_int_eq(
        query_int(s, "SELECT sum(captures) FROM pprof_rollups WHERE span_ms = 86400000"), n);
}

START_TEST(test_rollup_matches_raw) {
  struct fixture fx;
  struct store_prune_result pr;
  char *sql;

  fx_open(&fx);
  fill(&fx, 0, N_CAPTURES);
  ck_assert_int_eq(stale_rows(fx.s), 0);
  /* several captures per hour and series: rows are really summed */
  ck_assert_int_lt(query_int(fx.s, "SELECT count(*) FROM pprof_rollups WHERE span_ms = 3600000"),
                   N_CAPTURES);
  check_counts(fx.s, true);
  compare_all(fx.s, "fresh");

  /* Pruning cuts an hour in two: the batch rebuilds the cut hours, drops
   * the emptied day and leaves the cut day stale (read through its hours). */
  ck_assert_int_eq(store_prune(fx.s, T0 + 75 * MIN_MS + 10 * HOUR_MS, 10 * HOUR_MS, 0, &pr), 0);
  ck_assert_int_gt(pr.captures_deleted, 0);
  ck_assert_int_eq(query_int(fx.s, "SELECT count(*) FROM pprof_rollups WHERE stale"
                                   " AND span_ms = 3600000"),
                   0);
  ck_assert_int_gt(query_int(fx.s, "SELECT count(*) FROM pprof_rollups WHERE stale"
                                   " AND span_ms = 86400000"),
                   0);
  ck_assert_int_eq(query_int(fx.s, "SELECT count(*) FROM pprof_rollups WHERE bucket < 20413"
                                   " AND span_ms = 86400000"),
                   0);
  check_counts(fx.s, false);
  compare_all(fx.s, "pruned");

  /* Deleting outside pruning marks cells stale; queries read them raw. */
  sql = xasprintf("DELETE FROM captures WHERE started_at_ms BETWEEN %" PRId64 " AND %" PRId64,
                  T0 + 60 * MIN_MS, T0 + 70 * MIN_MS);
  exec_sql(fx.s, sql);
  free(sql);
  exec_sql(fx.s, "DELETE FROM pprof_profiles WHERE capture_id ="
                 " (SELECT max(id) FROM captures WHERE type = 'heap')");
  ck_assert_int_gt(stale_rows(fx.s), 0);
  compare_all(fx.s, "stale");
  /* New captures land in stale cells and in new hours and days. */
  for (int i = N_CAPTURES; i < N_CAPTURES + 12; i++)
    put(&fx, i, T0 + 65 * MIN_MS + i * 1000);
  fill(&fx, N_CAPTURES + 12, N_CAPTURES + 30);
  compare_all(fx.s, "stale + new");
  ck_assert_int_eq(store_begin(fx.s), 0);
  ck_assert_int_eq(pprof_rollup_repair(fx.s, INT64_MAX), 0);
  ck_assert_int_eq(store_commit(fx.s), 0);
  ck_assert_int_eq(stale_rows(fx.s), 0);
  check_counts(fx.s, true);
  compare_all(fx.s, "repaired");

  /* A corrupt funcs blob: its cells stay stale through a repair, and both
   * paths report the same error for selections that include it. */
  exec_sql(fx.s, "UPDATE pprof_profiles SET funcs = x'ff' WHERE capture_id ="
                 " (SELECT min(id) FROM captures WHERE type = 'heap')");
  ck_assert_int_eq(store_begin(fx.s), 0);
  ck_assert_int_eq(pprof_rollup_repair(fx.s, INT64_MAX), 0);
  ck_assert_int_eq(store_commit(fx.s), 0);
  ck_assert_int_gt(stale_rows(fx.s), 0);
  {
    struct pprof_agg_opts o = {.sample_type = "inuse_space"};
    struct pprof_agg *agg = NULL;
    struct store_filter f;
    char *err = NULL;
    store_filter_init(&f);
    compare(fx.s, &f, "corrupt: all");
    f.type = "heap";
    ck_assert_int_eq(pprof_query_aggregate(fx.s, &f, &o, &agg, &err), -EBADMSG);
    ck_assert_msg(strstr(err, "corrupt pprof_profiles.funcs"), "%s", err);
    free(err);
    compare(fx.s, &f, "corrupt: heap");
    f.type = "cpu";
    ck_assert_int_gt(compare(fx.s, &f, "corrupt: cpu"), 0);
  }
  /* A corrupt rollup row does not stop captures from being stored: its
   * cell goes stale instead. */
  exec_sql(fx.s, "UPDATE pprof_rollups SET funcs = x'ff' WHERE span_ms = 86400000 AND"
                 " type = 'cpu' AND NOT stale");
  ck_assert_int_eq(query_int(fx.s, "SELECT count(*) FROM pprof_rollups WHERE type = 'cpu' AND"
                                   " span_ms = 86400000 AND stale"),
                   0);
  for (int i = N_CAPTURES + 30; i < N_CAPTURES + 34; i++)
    put(&fx, i, T0 + 50 * HOUR_MS + (i % 4) * 4 * MIN_MS);
  ck_assert_int_gt(query_int(fx.s, "SELECT count(*) FROM pprof_rollups WHERE type = 'cpu' AND"
                                   " span_ms = 86400000 AND stale"),
                   0);
  {
    struct store_filter f;
    store_filter_init(&f);
    f.type = "cpu";
    compare(fx.s, &f, "corrupt rollup: cpu");
  }
  fx_close(&fx);
}
END_TEST

/* A schema version 1 store (no rollups) is migrated and backfilled. */
START_TEST(test_migration_backfill) {
  struct fixture fx;
  char *err = NULL;
  int64_t rows;

  fx_open(&fx);
  fill(&fx, 0, 60);
  rows = query_int(fx.s, "SELECT count(*) FROM pprof_rollups");
  exec_sql(fx.s, "DROP TRIGGER pprof_rollups_capture_delete; DROP TRIGGER"
                 " pprof_rollups_capture_update; DROP TRIGGER pprof_rollups_profile_delete;"
                 " DROP TRIGGER pprof_rollups_profile_update; DROP TRIGGER"
                 " pprof_rollups_types_delete; DROP TRIGGER pprof_rollups_types_update;"
                 " DROP TABLE pprof_rollups; PRAGMA user_version = 1");
  fx.s = store_close(fx.s);
  ck_assert_msg(store_open(fx.path, 0, &fx.s, &err) == 0, "store_open: %s", err);
  ck_assert_int_eq(query_int(fx.s, "PRAGMA user_version"), 2);
  ck_assert_int_eq(stale_rows(fx.s), 0);
  ck_assert_int_eq(query_int(fx.s, "SELECT count(*) FROM pprof_rollups"), rows);
  check_counts(fx.s, true);
  compare_all(fx.s, "migrated");
  fx_close(&fx);
}
END_TEST

START_TEST(test_hour) {
  ck_assert_int_eq(pprof_rollup_bucket(0, HOUR_MS), 0);
  ck_assert_int_eq(pprof_rollup_bucket(HOUR_MS - 1, HOUR_MS), 0);
  ck_assert_int_eq(pprof_rollup_bucket(HOUR_MS, HOUR_MS), 1);
  ck_assert_int_eq(pprof_rollup_bucket(-1, HOUR_MS), -1);
  ck_assert_int_eq(pprof_rollup_bucket(-HOUR_MS, HOUR_MS), -1);
  ck_assert_int_eq(pprof_rollup_bucket(-HOUR_MS - 1, HOUR_MS), -2);
  ck_assert_int_eq(pprof_rollup_bucket(T0 + 24 * HOUR_MS - 1, 24 * HOUR_MS), T0 / 24 / HOUR_MS);
}
END_TEST

static Suite *pprof_rollup_suite(void) {
  Suite *s = suite_create("pprof_rollup");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_hour);
  tcase_add_test(tc, test_rollup_matches_raw);
  tcase_add_test(tc, test_migration_backfill);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(pprof_rollup_suite());
  int failed;
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
