#include "config.h"

#include <check.h>
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "capture.h"
#include "pprof.h"
#include "pprof_query.h"
#include "pprof_rows.h"
#include "pprof_summary.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

struct db {
  char *dir;
  struct store *s;
};

static void db_open(struct db *db) {
  char *path, *err = NULL;
  db->dir = test_tmpdir();
  path = xasprintf("%s/pprofd.db", db->dir);
  ck_assert_msg(store_open(path, 0, &db->s, &err) == 0, "store_open: %s", err);
  free(path);
}

static void db_close(struct db *db) {
  db->s = store_close(db->s);
  test_rm_rf(db->dir);
  free(db->dir);
}

static int64_t put_file(struct store *s, const char *name, const char *target, const char *type,
                        int64_t at_ms) {
  struct capture *c = capture_new();
  struct analysis_opts o;
  size_t len;
  uint8_t *data = test_read_file(test_data_path(name), &len);
  int64_t id = 0;

  c->target = xstrdup(target);
  c->instance = xstrdup("127.0.0.1:6060");
  c->type = xstrdup(type);
  c->url = xasprintf("http://127.0.0.1:6060/debug/pprof/%s", type);
  c->started_at_ms = at_ms;
  c->http_status = 200;
  c->status = CAPTURE_OK;
  buf_init(&c->body, len);
  ck_assert_int_eq(buf_append(&c->body, data, len), 0);
  analysis_opts_default(&o);
  c->analysis = analysis_run(type, data, len, &o);
  ck_assert_int_eq(store_put_capture(s, c, &id), 0);
  capture_free(c);
  free(data);
  return id;
}

static int64_t query_int(struct store *s, const char *sql, int64_t a, int64_t b) {
  sqlite3_stmt *st = NULL;
  int64_t v = -1;
  ck_assert_int_eq(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, a);
  sqlite3_bind_int64(st, 2, b);
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* For every corpus profile stored through the store: one row per sample
 * type with pprof's total, and for each kept function the same flat/cum
 * as the in-memory computation (which check_pprof_summary compares with
 * Go's output). */
START_TEST(test_corpus_rows) {
  struct db db;
  glob_t g;
  char pattern[4096];
  size_t n_files = 0;

  db_open(&db);
  snprintf(pattern, sizeof(pattern), "%s", test_data_path("pprof/*/*.pprof"));
  ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
  snprintf(pattern, sizeof(pattern), "%s", test_data_path("pprof/*/*/*.pprof"));
  glob(pattern, GLOB_APPEND, NULL, &g);
  for (size_t gi = 0; gi < g.gl_pathc; gi++) {
    const char *rel = strstr(g.gl_pathv[gi], "/tests/data/") + strlen("/tests/data/");
    size_t len;
    uint8_t *data = test_read_file(g.gl_pathv[gi], &len);
    struct pprof_profile *p = NULL;
    struct pprof_nodes *nodes;
    char *err = NULL;
    int64_t id = put_file(db.s, rel, "t", "x", 1000 + (int64_t)gi);

    ck_assert_int_eq(pprof_decode(data, len, 1u << 30, &p, &err), 0);
    nodes = pprof_nodes_new(p);
    ck_assert_int_eq(
        query_int(db.s, "SELECT count(*) FROM pprof_sample_types WHERE capture_id=?1", id, 0),
        (int64_t)p->n_sample_types);
    ck_assert_int_eq(query_int(db.s,
                               "SELECT default_sample_type FROM pprof_profiles "
                               "WHERE capture_id=?1",
                               id, 0),
                     pprof_default_sample_index(p));
    for (size_t si = 0; si < p->n_sample_types; si++) {
      struct pprof_top_opts o;
      struct pprof_top *t;
      size_t kept = 0;

      pprof_top_opts_default(&o);
      t = pprof_top_compute(p, nodes, (int)si, &o);
      ck_assert_int_eq(query_int(db.s,
                                 "SELECT total FROM pprof_sample_types "
                                 "WHERE capture_id=?1 AND idx=?2",
                                 id, (int64_t)si),
                       t->total);
      for (size_t i = 0; i < t->n_rows; i++) {
        const struct pprof_node *n = &nodes->nodes[t->rows[i].node];
        sqlite3_stmt *st = NULL;
        ck_assert_int_eq(sqlite3_prepare_v2(store_db(db.s),
                                            "SELECT s.flat, s.cum FROM pprof_function_stats s "
                                            "JOIN pprof_functions f ON f.id = s.function_id "
                                            "WHERE s.capture_id=?1 AND s.idx=?2 AND f.name=?3 "
                                            "AND f.file=?4",
                                            -1, &st, NULL),
                         SQLITE_OK);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t)si);
        sqlite3_bind_text(st, 3, n->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, n->file, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
          ck_assert_int_eq(sqlite3_column_int64(st, 0), t->rows[i].flat);
          ck_assert_int_eq(sqlite3_column_int64(st, 1), t->rows[i].cum);
          kept++;
        } else {
          /* Only a capped type leaves functions out, never the top by flat. */
          ck_assert_msg(t->n_rows > 300 && i >= 150, "%s: %s missing", rel, n->name);
        }
        sqlite3_finalize(st);
      }
      ck_assert_uint_eq(kept, MIN(t->n_rows, 300));
      ck_assert_int_eq(query_int(db.s,
                                 "SELECT count(*) FROM pprof_function_stats "
                                 "WHERE capture_id=?1 AND idx=?2",
                                 id, (int64_t)si),
                       (int64_t)kept);
      pprof_top_free(t);
    }
    pprof_nodes_free(nodes);
    pprof_profile_free(p);
    free(data);
    n_files++;
  }
  globfree(&g);
  ck_assert_uint_ge(n_files, 10);
  /* Functions are interned: main.spin appears in several captures once. */
  ck_assert_int_eq(
      query_int(db.s, "SELECT count(*) FROM pprof_functions WHERE name='main.spin'", 0, 0), 1);
  db_close(&db);
}
END_TEST

START_TEST(test_goroutine_rows_and_json) {
  struct db db;
  int64_t id;
  char *json = NULL;
  json_t *j;
  json_error_t e;

  db_open(&db);
  id = put_file(db.s, "pprof/work/goroutine.pprof", "workload", "goroutine", 5000);
  ck_assert_int_ge(
      query_int(db.s, "SELECT goroutines FROM pprof_profiles WHERE capture_id=?1", id, 0), 66);
  ck_assert_int_ge(query_int(db.s,
                             "SELECT count FROM pprof_goroutine_stacks "
                             "WHERE capture_id=?1 AND rank=1",
                             id, 0),
                   50);
  ck_assert_int_eq(store_get_analysis_json(db.s, id, &json), 0);
  j = json_loads(json, 0, &e);
  ck_assert_ptr_nonnull(j);
  ck_assert_int_eq(
      json_integer_value(json_object_get(j, "goroutines")),
      query_int(db.s, "SELECT goroutines FROM pprof_profiles WHERE capture_id=?1", id, 0));
  ck_assert_str_eq(json_string_value(json_object_get(j, "default_sample_type")), "goroutine");
  ck_assert(json_is_array(json_object_get(j, "top_stacks")));
  ck_assert_int_eq(json_integer_value(json_object_get(
                       json_array_get(json_object_get(j, "top_stacks"), 0), "count")),
                   50);
  ck_assert(json_is_array(json_object_get(j, "sample_types")));
  ck_assert_str_eq(json_string_value(json_object_get(
                       json_array_get(json_object_get(j, "sample_types"), 0), "unit")),
                   "count");
  ck_assert(json_is_object(json_object_get(j, "period_type")));
  ck_assert_int_gt(json_integer_value(json_object_get(j, "samples")), 0);
  json_decref(j);
  free(json);
  db_close(&db);
}
END_TEST

/* A corrupt profile is stored (raw bytes intact) with an analysis error,
 * and no rows. */
START_TEST(test_corrupt_capture_kept) {
  struct db db;
  struct capture *c = capture_new();
  struct analysis_opts o;
  struct capture_row row;
  struct buf blob;
  size_t len;
  uint8_t *data = test_read_file(test_data_path("pprof/work/heap.pprof"), &len);
  int64_t id = 0;

  db_open(&db);
  c->target = xstrdup("api");
  c->instance = xstrdup("i");
  c->type = xstrdup("heap");
  c->url = xstrdup("http://i/debug/pprof/heap");
  c->started_at_ms = 1;
  c->status = CAPTURE_OK;
  c->http_status = 200;
  buf_init(&c->body, len);
  buf_append(&c->body, data, len - 100); /* truncated gzip */
  analysis_opts_default(&o);
  c->analysis = analysis_run("heap", c->body.data, c->body.len, &o);
  ck_assert_int_eq(c->analysis->status, ANALYSIS_ERROR);
  ck_assert_ptr_nonnull(strstr(c->analysis->error, "truncated"));
  ck_assert_int_eq(store_put_capture(db.s, c, &id), 0);
  capture_free(c);
  ck_assert_int_eq(store_get(db.s, id, &row), 0);
  ck_assert_str_eq(row.analysis_status, "error");
  ck_assert_ptr_nonnull(strstr(row.analysis_error, "gzip"));
  capture_row_done(&row);
  ck_assert_int_eq(store_read_blob(db.s, id, &blob), 0);
  ck_assert_uint_eq(blob.len, len - 100);
  ck_assert_int_eq(memcmp(blob.data, data, len - 100), 0);
  buf_done(&blob);
  ck_assert_int_eq(query_int(db.s, "SELECT count(*) FROM pprof_sample_types", 0, 0), 0);
  free(data);
  db_close(&db);
}
END_TEST

static const struct pprof_agg_row *agg_find(const struct pprof_agg_group *g, const char *name) {
  for (size_t i = 0; i < g->n_rows; i++)
    if (strcmp(g->rows[i].name, name) == 0)
      return &g->rows[i];
  return NULL;
}

/* top --type: sums of the stored rows over the selected captures, per
 * target when asked, in pprof's order. */
START_TEST(test_aggregate) {
  struct db db;
  struct store_filter f;
  struct pprof_agg_opts o = {0};
  struct pprof_agg *agg = NULL, *agg2 = NULL;
  const struct pprof_agg_row *r;
  char *err = NULL;
  int64_t spin_a, spin_b;

  db_open(&db);
  put_file(db.s, "pprof/work/cpu-5s.pprof", "api", "cpu", 1000);
  put_file(db.s, "pprof/work/errors/cpu-concurrent-first-3s.pprof", "api", "cpu", 2000);
  put_file(db.s, "pprof/prom/cpu-5s.pprof", "prom", "cpu", 3000);
  put_file(db.s, "pprof/work/heap.pprof", "api", "heap", 1500);
  spin_a = query_int(db.s,
                     "SELECT s.cum FROM pprof_function_stats s JOIN pprof_functions f "
                     "ON f.id = s.function_id WHERE s.capture_id = 1 AND s.idx = 1 "
                     "AND f.name = 'main.spin'",
                     0, 0);
  spin_b = query_int(db.s,
                     "SELECT s.cum FROM pprof_function_stats s JOIN pprof_functions f "
                     "ON f.id = s.function_id WHERE s.capture_id = 2 AND s.idx = 1 "
                     "AND f.name = 'main.spin'",
                     0, 0);
  ck_assert_int_gt(spin_a, 0);

  store_filter_init(&f);
  f.type = "cpu";
  o.limit = 10;
  ck_assert_int_eq(pprof_query_aggregate(db.s, &f, &o, &agg, &err), 0);
  ck_assert_str_eq(agg->sample_type, "cpu"); /* the default: the last type */
  ck_assert_str_eq(agg->unit, "nanoseconds");
  ck_assert_uint_eq(agg->n_captures, 3);
  ck_assert_uint_eq(agg->n_groups, 1);
  ck_assert_int_eq(agg->groups[0].total, 6720000000 + 4030000000 + 3710000000);
  ck_assert_uint_eq(agg->groups[0].n_rows, 10);
  r = agg_find(&agg->groups[0], "main.spin");
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(r->cum, spin_a + spin_b);
  ck_assert_str_eq(agg->groups[0].rows[0].name, "main.spin");
  for (size_t i = 1; i < agg->groups[0].n_rows; i++)
    ck_assert_int_ge(llabs(agg->groups[0].rows[i - 1].flat), llabs(agg->groups[0].rows[i].flat));
  agg = pprof_agg_free(agg);

  /* By target, and by sample type name; --limit takes the newest. */
  o.by_target = true;
  o.sample_type = "samples";
  o.cum_sort = true;
  ck_assert_int_eq(pprof_query_aggregate(db.s, &f, &o, &agg, &err), 0);
  ck_assert_uint_eq(agg->n_groups, 2);
  ck_assert_str_eq(agg->groups[0].target, "api");
  ck_assert_str_eq(agg->groups[1].target, "prom");
  ck_assert_int_eq(agg->groups[0].total, 672 + 403);
  ck_assert_uint_eq(agg->groups[0].n_captures, 2);
  ck_assert_int_eq(agg->groups[0].first_ms, 1000);
  ck_assert_int_eq(agg->groups[0].last_ms, 2000);
  for (size_t i = 1; i < agg->groups[1].n_rows; i++)
    ck_assert_int_ge(llabs(agg->groups[1].rows[i - 1].cum), llabs(agg->groups[1].rows[i].cum));
  f.limit = 2;
  ck_assert_int_eq(pprof_query_aggregate(db.s, &f, &o, &agg2, &err), 0);
  ck_assert_uint_eq(agg2->n_captures, 2);
  ck_assert_uint_eq(agg2->groups[0].n_captures, 1); /* api: only the newer one */
  ck_assert_int_eq(agg2->groups[0].total, 403);
  agg = pprof_agg_free(agg);
  agg2 = pprof_agg_free(agg2);
  f.limit = 0;

  /* Index 0 is "samples" too; an unknown type matches nothing. */
  o.sample_type = "0";
  o.by_target = false;
  ck_assert_int_eq(pprof_query_aggregate(db.s, &f, &o, &agg, &err), 0);
  ck_assert_str_eq(agg->sample_type, "samples");
  agg = pprof_agg_free(agg);
  o.sample_type = "alloc_space";
  ck_assert_int_eq(pprof_query_aggregate(db.s, &f, &o, &agg, &err), -ENOENT);
  ck_assert_ptr_nonnull(strstr(err, "alloc_space"));
  free(err);
  /* Mixing profile kinds: the default types differ, which is an error. */
  f.type = NULL;
  o.sample_type = NULL;
  ck_assert_int_eq(pprof_query_aggregate(db.s, &f, &o, &agg, &err), -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "disagree"));
  free(err);
  /* Time filters. */
  f.type = "cpu";
  f.since_ms = 1500;
  ck_assert_int_eq(pprof_query_aggregate(db.s, &f, &o, &agg, &err), 0);
  ck_assert_uint_eq(agg->n_captures, 2);
  agg = pprof_agg_free(agg);
  f.since_ms = 5000;
  ck_assert_int_eq(pprof_query_aggregate(db.s, &f, &o, &agg, &err), -ENOENT);
  free(err);
  db_close(&db);
}
END_TEST

static void collect(int64_t id, int64_t flat, int64_t cum, void *ud) {
  int64_t *out = ud;
  size_t n = (size_t)out[0];
  out[1 + 3 * n] = id;
  out[2 + 3 * n] = flat;
  out[3 + 3 * n] = cum;
  out[0]++;
}

START_TEST(test_funcs_blob) {
  int64_t ids[] = {900, 3, 70000000000, 4};
  int64_t flat[] = {-5, 0, INT64_MAX, INT64_MIN};
  int64_t cum[] = {1, 2, 3, -1};
  int64_t out[1 + 3 * 4] = {0};
  struct buf b;

  buf_init(&b, 1024);
  ck_assert_int_eq(pprof_funcs_encode(ids, flat, cum, 4, &b), 0);
  ck_assert_int_eq(pprof_funcs_encode(ids, flat, cum, 1, &b), 0);
  ck_assert_int_eq(pprof_funcs_decode(b.data, b.len, 0, collect, out), 0);
  ck_assert_int_eq(out[0], 4);
  /* Sorted by id. */
  ck_assert_int_eq(out[1], 3);
  ck_assert_int_eq(out[4], 4);
  ck_assert_int_eq(out[5], INT64_MIN);
  ck_assert_int_eq(out[7], 900);
  ck_assert_int_eq(out[8], -5);
  ck_assert_int_eq(out[10], 70000000000);
  ck_assert_int_eq(out[11], INT64_MAX);
  out[0] = 0;
  ck_assert_int_eq(pprof_funcs_decode(b.data, b.len, 1, collect, out), 0);
  ck_assert_int_eq(out[0], 1);
  ck_assert_int_eq(out[1], 900);
  out[0] = 0;
  ck_assert_int_eq(pprof_funcs_decode(b.data, b.len, 2, collect, out), -ENOENT);
  ck_assert_int_eq(pprof_funcs_decode(b.data, b.len - 1, 1, collect, out), -EBADMSG);
  buf_done(&b);
}
END_TEST

static Suite *pprof_rows_suite(void) {
  Suite *s = suite_create("pprof_rows");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_corpus_rows);
  tcase_add_test(tc, test_goroutine_rows_and_json);
  tcase_add_test(tc, test_corrupt_capture_kept);
  tcase_add_test(tc, test_funcs_blob);
  tcase_add_test(tc, test_aggregate);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(pprof_rows_suite());
  int failed;
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
