/* Store: filters, the latest capture per series, retention by age and by
 * size, and statistics. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"
#include "store_fixture.h"
#include "testutil.h"
#include "util.h"

static const char *const l_prod_core[] = {"env=prod", "team=core", NULL};
static const char *const l_staging_core[] = {"env=staging", "team=core", NULL};
static const char *const l_staging_edge[] = {"env=staging", "team=edge", NULL};

/* Ids 1..7 in insertion order. */
static void add_dataset(struct store *s) {
  struct capture *c;

  fx_put(s, fx_capture("api", "a:1", "cpu", 1000, "b1", 2, l_prod_core));
  fx_put(s, fx_capture("api", "a:2", "cpu", 2000, "b2", 2, l_prod_core));
  c = fx_capture("api", "a:1", "heap", 3000, "oops", 4, l_prod_core);
  c->http_status = 500;
  capture_set_error(c, "HTTP 500");
  fx_put(s, c);
  fx_put(s, fx_capture("web", "w:1", "cpu", 4000, "b4", 2, l_staging_core));
  fx_put(s, fx_capture("web", "w:1", "heap", 5000, "b5", 2, l_staging_edge));
  fx_put(s, fx_capture("db", "d:1", "trace", 6000, "b6", 2, NULL));
  fx_put(s, fx_capture("api", "a:1", "cpu", 6000, "b7", 2, l_prod_core));
}

struct ids {
  char s[256];
};

static int ids_cb(const struct capture_row *row, void *ud) {
  struct ids *ids = ud;
  size_t n = strlen(ids->s);
  snprintf(ids->s + n, sizeof(ids->s) - n, "%s%lld", n ? "," : "", (long long)row->id);
  return 0;
}

static const char *list(struct store *s, const struct store_filter *f, struct ids *ids) {
  int r;
  ids->s[0] = '\0';
  r = store_list(s, f, ids_cb, ids);
  ck_assert_msg(r >= 0, "store_list: %s", store_errmsg(s));
  return ids->s;
}

START_TEST(test_filters) {
  struct fx fx;
  struct store_filter f;
  struct cfg_pair labels[3];
  struct ids ids;

  fx_setup(&fx);
  add_dataset(fx.s);
  store_filter_init(&f);
  ck_assert_str_eq(list(fx.s, &f, &ids), "7,6,5,4,3,2,1");
  f.oldest_first = true;
  ck_assert_str_eq(list(fx.s, &f, &ids), "1,2,3,4,5,6,7");
  f.limit = 3;
  ck_assert_str_eq(list(fx.s, &f, &ids), "1,2,3");
  store_filter_init(&f);
  f.limit = 2;
  ck_assert_str_eq(list(fx.s, &f, &ids), "7,6");

  store_filter_init(&f);
  f.target = "api";
  ck_assert_str_eq(list(fx.s, &f, &ids), "7,3,2,1");
  f.type = "cpu";
  ck_assert_str_eq(list(fx.s, &f, &ids), "7,2,1");
  f.instance = "a:1";
  ck_assert_str_eq(list(fx.s, &f, &ids), "7,1");
  store_filter_init(&f);
  f.instance = "a:1";
  ck_assert_str_eq(list(fx.s, &f, &ids), "7,3,1");
  store_filter_init(&f);
  f.type = "heap";
  ck_assert_str_eq(list(fx.s, &f, &ids), "5,3");

  /* Time range: since inclusive, until exclusive. */
  store_filter_init(&f);
  f.since_ms = 2000;
  f.until_ms = 5000;
  ck_assert_str_eq(list(fx.s, &f, &ids), "4,3,2");
  f.until_ms = 5001;
  ck_assert_str_eq(list(fx.s, &f, &ids), "5,4,3,2");

  store_filter_init(&f);
  f.status = CAPTURE_FAILED;
  ck_assert_str_eq(list(fx.s, &f, &ids), "3");
  f.status = CAPTURE_OK;
  ck_assert_str_eq(list(fx.s, &f, &ids), "7,6,5,4,2,1");

  /* Labels: every pair must match. */
  store_filter_init(&f);
  f.labels = labels;
  labels[0] = (struct cfg_pair){"env", "prod"};
  f.n_labels = 1;
  ck_assert_str_eq(list(fx.s, &f, &ids), "7,3,2,1");
  labels[0] = (struct cfg_pair){"team", "core"};
  ck_assert_str_eq(list(fx.s, &f, &ids), "7,4,3,2,1");
  labels[1] = (struct cfg_pair){"env", "staging"};
  f.n_labels = 2;
  ck_assert_str_eq(list(fx.s, &f, &ids), "4");
  labels[1] = (struct cfg_pair){"env", "nope"};
  ck_assert_str_eq(list(fx.s, &f, &ids), "");
  /* Bound parameters, not SQL text. */
  labels[0] = (struct cfg_pair){"env", "x' OR 1=1 --"};
  f.n_labels = 1;
  ck_assert_str_eq(list(fx.s, &f, &ids), "");
  /* target, instance and type as label keys select the columns. */
  labels[0] = (struct cfg_pair){"target", "web"};
  ck_assert_str_eq(list(fx.s, &f, &ids), "5,4");
  labels[1] = (struct cfg_pair){"type", "heap"};
  f.n_labels = 2;
  ck_assert_str_eq(list(fx.s, &f, &ids), "5");
  labels[1] = (struct cfg_pair){"instance", "a:1"};
  ck_assert_str_eq(list(fx.s, &f, &ids), "");

  /* Everything at once. */
  store_filter_init(&f);
  f.target = "api";
  f.labels = labels;
  labels[0] = (struct cfg_pair){"env", "prod"};
  f.n_labels = 1;
  f.since_ms = 1500;
  f.status = CAPTURE_OK;
  ck_assert_str_eq(list(fx.s, &f, &ids), "7,2");
  f.limit = 1;
  ck_assert_str_eq(list(fx.s, &f, &ids), "7");
  fx_teardown(&fx);
}
END_TEST

static int stop_cb(const struct capture_row *row, void *ud) {
  (void)row;
  return ++*(int *)ud == 2 ? -ECANCELED : 0;
}

static int labels_cb(const struct capture_row *row, void *ud) {
  struct ids *ids = ud;
  size_t n = strlen(ids->s);
  snprintf(ids->s + n, sizeof(ids->s) - n, "%lld:", (long long)row->id);
  for (size_t i = 0; i < row->n_labels; i++) {
    n = strlen(ids->s);
    snprintf(ids->s + n, sizeof(ids->s) - n, "%s=%s;", row->labels[i].key, row->labels[i].value);
  }
  return 0;
}

START_TEST(test_list_rows) {
  struct fx fx;
  struct store_filter f;
  struct ids ids;
  int n = 0;

  fx_setup(&fx);
  add_dataset(fx.s);
  store_filter_init(&f);
  /* A negative callback result stops the walk and is returned. */
  ck_assert_int_eq(store_list(fx.s, &f, stop_cb, &n), -ECANCELED);
  ck_assert_int_eq(n, 2);
  f.oldest_first = true;
  f.since_ms = 4000;
  ids.s[0] = '\0';
  ck_assert_int_eq(store_list(fx.s, &f, labels_cb, &ids), 4);
  ck_assert_str_eq(ids.s,
                   "4:env=staging;team=core;5:env=staging;team=edge;6:7:env=prod;team=core;");
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_filter_prepare) {
  struct fx fx;
  struct store_filter f;
  sqlite3_stmt *st = NULL;
  char out[128] = "";

  fx_setup(&fx);
  add_dataset(fx.s);
  store_filter_init(&f);
  f.target = "api";
  ck_assert_int_eq(store_filter_prepare(fx.s, &f, "SELECT c.type, count(*) FROM captures c",
                                        "GROUP BY c.type ORDER BY c.type", &st),
                   0);
  while (sqlite3_step(st) == SQLITE_ROW) {
    size_t n = strlen(out);
    snprintf(out + n, sizeof(out) - n, "%s=%d;", (const char *)sqlite3_column_text(st, 0),
             sqlite3_column_int(st, 1));
  }
  sqlite3_finalize(st);
  ck_assert_str_eq(out, "cpu=3;heap=1;");
  fx_teardown(&fx);
}
END_TEST

static int latest_cb(const struct capture_row *row, int64_t last_ok_ms, void *ud) {
  struct ids *ids = ud;
  size_t n = strlen(ids->s);
  snprintf(ids->s + n, sizeof(ids->s) - n, "%s/%s/%s=%lld@%lld;", row->target, row->instance,
           row->type, (long long)row->id,
           last_ok_ms == INT64_MIN ? -1LL : (long long)(last_ok_ms / 1000));
  return 0;
}

START_TEST(test_latest) {
  struct fx fx;
  struct ids ids;
  struct capture *c;

  fx_setup(&fx);
  ids.s[0] = '\0';
  ck_assert_int_eq(store_latest(fx.s, latest_cb, &ids), 0);
  ck_assert_str_eq(ids.s, "");
  add_dataset(fx.s);
  /* Newest cpu capture of api/a:2 fails: last ok stays at 2 s. */
  c = fx_capture("api", "a:2", "cpu", 9000, "x", 1, l_prod_core);
  capture_set_error(c, "timeout");
  fx_put(fx.s, c);
  ck_assert_int_eq(store_latest(fx.s, latest_cb, &ids), 0);
  ck_assert_str_eq(ids.s, "api/a:1/cpu=7@6;api/a:1/heap=3@-1;api/a:2/cpu=8@2;"
                          "db/d:1/trace=6@6;web/w:1/cpu=4@4;web/w:1/heap=5@5;");
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_prune_age) {
  struct fx fx;
  struct store_filter f;
  struct store_prune_result pr;
  struct ids ids;

  fx_setup(&fx);
  for (int i = 0; i < 1200; i++) {
    char body[32];
    int len = snprintf(body, sizeof(body), "body-%d", i % 700);
    fx_put(fx.s,
           fx_capture(i % 2 ? "a" : "b", "i", "heap", (int64_t)i * 1000, body, (size_t)len, NULL));
  }
  ck_assert_int_eq(fx_count(fx.s, "blobs"), 700);
  /* A dry run reports without deleting. */
  ck_assert_int_eq(store_prune_ex(fx.s, 1200000, 150000, 0, STORE_PRUNE_DRY_RUN, &pr), 0);
  ck_assert_int_eq(pr.captures_deleted, 1050);
  ck_assert_int_eq(fx_count(fx.s, "captures"), 1200);
  ck_assert_int_eq(fx_count(fx.s, "blobs"), 700);

  /* More than one batch: everything older than 150 s before now. */
  ck_assert_int_eq(store_prune(fx.s, 1200000, 150000, 0, &pr), 0);
  ck_assert_int_eq(pr.captures_deleted, 1050);
  ck_assert_int_eq(fx_count(fx.s, "captures"), 150);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT min(started_at_ms) FROM captures"), 1050000);
  /* Bodies 350..499 are still used by captures 1050..1199. */
  ck_assert_int_eq(fx_count(fx.s, "blobs"), 150);
  ck_assert_int_eq(pr.blobs_deleted, 550);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT count(*) FROM captures c LEFT JOIN blobs b ON "
                                      "b.id = c.blob_id WHERE b.id IS NULL"),
                   0);
  store_filter_init(&f);
  f.limit = 1;
  f.oldest_first = true;
  ck_assert_str_eq(list(fx.s, &f, &ids), "1051");
  /* Nothing old enough: a no-op. */
  ck_assert_int_eq(store_prune(fx.s, 1200000, 150000, 0, &pr), 0);
  ck_assert_int_eq(pr.captures_deleted, 0);
  fx_teardown(&fx);
}
END_TEST

static off_t file_size(const char *path) {
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  return st.st_size;
}

START_TEST(test_prune_size) {
  enum { N = 200, BODY = 16 * 1024 };
  uint8_t *body = xmalloc(BODY);
  struct fx fx;
  struct store_prune_result pr;
  uint64_t size;
  off_t file_before, file_after;

  fx_setup(&fx);
  for (int i = 0; i < N; i++) {
    fx_random_bytes(body, BODY, (uint32_t)i + 1);
    fx_put(fx.s, fx_capture("api", "i", "cpu", 100000 + i, body, BODY, NULL));
  }
  ck_assert_int_eq(store_size(fx.s, &size), 0);
  ck_assert_uint_gt(size, (uint64_t)N * BODY);
  fx.s = store_close(fx.s); /* checkpoint: the file holds everything */
  file_before = file_size(fx.path);
  fx.s = fx_open(&fx, 0);

  ck_assert_int_eq(store_prune_ex(fx.s, 0, 0, 1024 * 1024, STORE_PRUNE_DRY_RUN, &pr), 0);
  ck_assert_int_gt(pr.captures_deleted, 100);
  ck_assert_uint_le(pr.size_after, 1024 * 1024);
  ck_assert_int_eq(fx_count(fx.s, "captures"), N);

  ck_assert_int_eq(store_prune(fx.s, 0, 0, 1024 * 1024, &pr), 0);
  ck_assert_uint_gt(pr.size_before, 3 * 1024 * 1024);
  ck_assert_uint_le(pr.size_after, 1024 * 1024);
  ck_assert_int_eq(pr.blobs_deleted, pr.captures_deleted);
  ck_assert_int_eq(fx_count(fx.s, "captures"), N - pr.captures_deleted);
  /* Not much more than needed, and the oldest went first. */
  ck_assert_int_lt(pr.captures_deleted, N - 40);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT max(started_at_ms) FROM captures"), 100000 + N - 1);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT min(started_at_ms) FROM captures"),
                   100000 + pr.captures_deleted);
  ck_assert_int_eq(store_size(fx.s, &size), 0);
  ck_assert_uint_le(size, 1024 * 1024);
  /* The pages went back to the filesystem. */
  ck_assert_int_eq(fx_query_int(fx.s, "PRAGMA freelist_count"), 0);
  fx.s = store_close(fx.s);
  file_after = file_size(fx.path);
  ck_assert_msg(file_after <= 1024 * 1024 + 64 * 1024 && file_after < file_before / 2,
                "file %lld -> %lld bytes", (long long)file_before, (long long)file_after);
  fx.s = fx_open(&fx, 0);
  free(body);
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_stats) {
  struct fx fx;
  struct store_stats st;
  size_t len;
  uint8_t *trace = test_read_file(test_data_path("workload-trace-2s.trace"), &len);

  fx_setup(&fx);
  ck_assert_int_eq(store_stats(fx.s, &st), 0);
  ck_assert_int_eq(st.captures, 0);
  ck_assert_int_eq(st.oldest_ms, INT64_MIN);
  store_stats_done(&st);
  add_dataset(fx.s);
  fx_put(fx.s, fx_capture("db", "d:1", "trace", 7000, trace, len, NULL));
  fx_put(fx.s, fx_capture("db", "d:2", "trace", 8000, trace, len, NULL));
  ck_assert_int_eq(store_stats(fx.s, &st), 0);
  ck_assert_int_eq(st.captures, 9);
  ck_assert_int_eq(st.captures_ok, 8);
  ck_assert_int_eq(st.captures_failed, 1);
  ck_assert_uint_eq(st.n_types, 3);
  ck_assert_str_eq(st.types[0].type, "cpu");
  ck_assert_int_eq(st.types[0].ok, 4);
  ck_assert_str_eq(st.types[1].type, "heap");
  ck_assert_int_eq(st.types[1].ok, 1);
  ck_assert_int_eq(st.types[1].failed, 1);
  ck_assert_str_eq(st.types[2].type, "trace");
  ck_assert_int_eq(st.types[2].ok, 3);
  ck_assert_uint_eq(st.received_bytes, 2 * 6 + 2 * len);
  ck_assert_int_eq(st.blobs, 7);
  ck_assert_int_eq(st.blobs_zstd, 1);
  ck_assert_uint_eq(st.blob_raw_bytes, 2 * 6 + len);
  ck_assert_uint_lt(st.blob_stored_bytes, st.blob_raw_bytes);
  ck_assert_int_eq(st.labelsets, 4);
  ck_assert_int_eq(st.oldest_ms, 1000);
  ck_assert_int_eq(st.newest_ms, 8000);
  ck_assert_uint_gt(st.db_used_bytes, 0);
  ck_assert_uint_ge(st.db_file_bytes, st.db_used_bytes);
  store_stats_done(&st);
  free(trace);
  fx_teardown(&fx);
}
END_TEST

int main(void) {
  Suite *s = suite_create("store_query");
  TCase *tc = tcase_create("store_query");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_filters);
  tcase_add_test(tc, test_list_rows);
  tcase_add_test(tc, test_filter_prepare);
  tcase_add_test(tc, test_latest);
  tcase_add_test(tc, test_prune_age);
  tcase_add_test(tc, test_prune_size);
  tcase_add_test(tc, test_stats);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
