/* Store: opening, migrations, writing and reading captures, atomicity,
 * disk full, corruption and concurrent read-only access. Filters,
 * retention and statistics are in check_store_query.c. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis.h"
#include "store.h"
#include "store_fixture.h"
#include "store_int.h"
#include "testutil.h"
#include "util.h"

START_TEST(test_sha256) {
  uint8_t out[32];
  char hex[65];

  ck_assert_int_eq(store_sha256("abc", 3, out), 0);
  hex_encode(out, 32, hex);
  ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ck_assert_int_eq(store_sha256(NULL, 0, out), 0);
  hex_encode(out, 32, hex);
  ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

START_TEST(test_open_creates) {
  char *dir = test_tmpdir();
  char *path = xasprintf("%s/a/b/pprofd.db", dir);
  char *sub = xasprintf("%s/a/b", dir);
  char *wal = xasprintf("%s-wal", path);
  struct store *s = NULL;
  char *err = NULL;
  struct stat st;
  mode_t old = umask(022);

  ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
  umask(old);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0640);
  ck_assert_int_eq(stat(sub, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0750);
  /* The WAL inherits the database file's mode. */
  fx_put(s, fx_capture("t", "i", "cpu", 1000, "x", 1, NULL));
  ck_assert_int_eq(stat(wal, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0640);
  ck_assert_int_eq(fx_query_int(s, "PRAGMA auto_vacuum"), 2);
  ck_assert_int_eq(fx_query_int(s, "PRAGMA foreign_keys"), 1);
  ck_assert_int_eq(fx_query_int(s, "PRAGMA synchronous"), 1);
  ck_assert_int_eq(fx_query_int(s, "PRAGMA user_version"),
                   store_migrations[store_n_migrations - 1].version);
  ck_assert_int_eq(fx_query_int(s, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
  s = store_close(s);

  /* Reopening keeps the data. */
  ck_assert_int_eq(store_open(path, STORE_READONLY, &s, &err), 0);
  ck_assert_int_eq(fx_count(s, "captures"), 1);
  s = store_close(s);
  test_rm_rf(dir);
  free(wal);
  free(sub);
  free(path);
  free(dir);
}
END_TEST

START_TEST(test_open_errors) {
  char *dir = test_tmpdir();
  char *missing = xasprintf("%s/missing.db", dir);
  char *junk = xasprintf("%s/junk.db", dir);
  struct store *s = NULL;
  char *err = NULL;
  FILE *f;

  ck_assert_int_eq(store_open(missing, STORE_READONLY, &s, &err), -ENOENT);
  ck_assert_ptr_nonnull(strstr(err, missing));
  ck_assert_ptr_null(s);
  free(err);
  ck_assert_int_eq(access(missing, F_OK), -1); /* read-only never creates */

  f = fopen(junk, "w");
  for (int i = 0; i < 200; i++)
    fputs("this is not a database\n", f);
  fclose(f);
  ck_assert_int_lt(store_open(junk, 0, &s, &err), 0);
  ck_assert_msg(strstr(err, junk) && strstr(err, "not a database"), "%s", err);
  free(err);
  ck_assert_int_lt(store_open(junk, STORE_READONLY, &s, &err), 0);
  ck_assert_msg(strstr(err, "not a database"), "%s", err);
  free(err);
  test_rm_rf(dir);
  free(missing);
  free(junk);
  free(dir);
}
END_TEST

/* A later schema version, as a release after 1.0 would add one. */
static const char *const test_v2[] = {
    "ALTER TABLE captures ADD COLUMN note TEXT;"
    "CREATE TABLE notes (capture_id INTEGER REFERENCES captures(id) ON DELETE CASCADE)",
    NULL,
};
static const char *const bad_v2[] = {
    "CREATE TABLE half_done (a INTEGER)",
    "INSERT INTO no_such_table VALUES (1)",
    NULL,
};

START_TEST(test_migrations) {
  struct store_migration list[8];
  size_t n = store_n_migrations;
  struct fx fx;
  struct store *s = NULL;
  char *err = NULL;
  int64_t id;
  char *want;
  int r;

  memcpy(list, store_migrations, n * sizeof(*list));
  list[n].version = (int)n + 1;
  fx_setup(&fx);
  id = fx_put(fx.s, fx_capture("t", "i", "heap", 5000, "body", 4, NULL));
  fx.s = store_close(fx.s);

  /* A failing migration leaves the database at the old version, with
   * nothing of the migration applied. */
  list[n].statements = bad_v2;
  r = store_open_with(fx.path, 0, list, n + 1, &s, &err);
  ck_assert_int_lt(r, 0);
  want = xasprintf("migration to schema version %zu failed", n + 1);
  ck_assert_msg(strstr(err, want) && strstr(err, "no_such_table"), "%s", err);
  free(want);
  free(err);
  fx.s = fx_open(&fx, 0);
  ck_assert_int_eq(fx_query_int(fx.s, "PRAGMA user_version"), (int64_t)n);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT count(*) FROM sqlite_master WHERE name='half_done'"),
                   0);
  fx.s = store_close(fx.s);

  /* Read-only connections refuse to migrate. */
  list[n].statements = test_v2;
  r = store_open_with(fx.path, STORE_READONLY, list, n + 1, &s, &err);
  ck_assert_int_lt(r, 0);
  want = xasprintf("has schema version %zu, expected %zu; run pprofd to migrate it", n, n + 1);
  ck_assert_msg(strstr(err, want) && strstr(err, fx.path), "%s", err);
  free(want);
  free(err);

  /* A read-write open migrates and keeps the data. */
  r = store_open_with(fx.path, 0, list, n + 1, &s, &err);
  ck_assert_msg(r == 0, "%s", err);
  ck_assert_int_eq(fx_query_int(s, "PRAGMA user_version"), (int64_t)n + 1);
  ck_assert_int_eq(fx_query_int(s, "SELECT count(*) FROM captures WHERE note IS NULL"), 1);
  ck_assert_int_eq(fx_query_int(s, "SELECT count(*) FROM notes"), 0);
  s = store_close(s);

  /* This binary only knows version n: a newer database is refused. */
  r = store_open(fx.path, 0, &s, &err);
  ck_assert_int_lt(r, 0);
  want = xasprintf("schema version %zu, newer than", n + 1);
  ck_assert_msg(strstr(err, want) && strstr(err, "upgrade pprofd"), "%s", err);
  free(want);
  free(err);
  r = store_open(fx.path, STORE_READONLY, &s, &err);
  ck_assert_int_lt(r, 0);
  free(err);
  (void)id;
  test_rm_rf(fx.dir);
  free(fx.dir);
  free(fx.path);
}
END_TEST

START_TEST(test_migrate_from_zero) {
  char *dir = test_tmpdir();
  char *path = xasprintf("%s/old.db", dir);
  struct store *s = NULL;
  char *err = NULL, *want;
  sqlite3 *db;

  /* An existing database that has never been migrated (version 0). */
  ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE unrelated (x)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  ck_assert_int_lt(store_open(path, STORE_READONLY, &s, &err), 0);
  want =
      xasprintf("has schema version 0, expected %zu; run pprofd to migrate it", store_n_migrations);
  ck_assert_msg(strstr(err, want), "%s", err);
  free(want);
  free(err);
  ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
  ck_assert_int_eq(fx_query_int(s, "PRAGMA user_version"), (int64_t)store_n_migrations);
  ck_assert_int_eq(fx_count(s, "captures"), 0);
  s = store_close(s);
  test_rm_rf(dir);
  free(path);
  free(dir);
}
END_TEST

/* An analysis result built by hand, independent of the analysers. */
static struct analysis *test_analysis(const struct capture *c) {
  struct analysis *a = xcalloc(1, sizeof(*a));
  a->json = json_object();
  format_detect(c->body.data, c->body.len, &a->format);
  json_object_set_new(a->json, "format", json_string(format_name(a->format.format)));
  return a;
}

START_TEST(test_roundtrip) {
  static const char *const labels[] = {"env=prod", "team=core", "zone=eu-1", NULL};
  struct fx fx;
  struct capture *c;
  struct capture_row row;
  struct buf b;
  uint8_t sha[32];
  char hex[65], *json = NULL;
  int64_t id;

  fx_setup(&fx);
  c = fx_capture("api", "10.0.0.1:6060", "cpu", 1763769542123, "profile bytes\n", 14, labels);
  c->requested_seconds = 10.5;
  c->duration_ms = 10234;
  c->http_status = 200;
  c->content_type = xstrdup("application/octet-stream");
  c->analysis = test_analysis(c);
  json_object_set_new(c->analysis->json, "answer", json_integer(42));
  analysis_set_error(c->analysis, ANALYSIS_ERROR, "bad varint at offset %d", 3);
  c->analysis->elapsed_us = 77;
  id = fx_put(fx.s, c);

  ck_assert_int_eq(store_get(fx.s, id, &row), 0);
  ck_assert_int_eq(row.id, id);
  ck_assert_str_eq(row.target, "api");
  ck_assert_str_eq(row.instance, "10.0.0.1:6060");
  ck_assert_str_eq(row.type, "cpu");
  ck_assert_str_eq(row.url, "http://10.0.0.1:6060/debug/pprof/cpu");
  ck_assert_int_eq(row.started_at_ms, 1763769542123);
  ck_assert_double_eq(row.requested_seconds, 10.5);
  ck_assert_int_eq(row.duration_ms, 10234);
  ck_assert_int_eq(row.status, CAPTURE_OK);
  ck_assert_int_eq(row.http_status, 200);
  ck_assert_ptr_null(row.error);
  ck_assert_str_eq(row.content_type, "application/octet-stream");
  ck_assert_int_eq(row.size_bytes, 14);
  store_sha256("profile bytes\n", 14, sha);
  hex_encode(sha, 32, hex);
  ck_assert_str_eq(row.sha256, hex);
  ck_assert_str_eq(row.format, "text");
  ck_assert_str_eq(row.analysis_status, "error");
  ck_assert_str_eq(row.analysis_error, "bad varint at offset 3");
  ck_assert_uint_eq(row.n_labels, 3);
  ck_assert_str_eq(row.labels[0].key, "env");
  ck_assert_str_eq(row.labels[0].value, "prod");
  ck_assert_str_eq(row.labels[2].key, "zone");
  ck_assert_str_eq(row.labels[2].value, "eu-1");
  capture_row_done(&row);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT analysis_elapsed_us FROM captures"), 77);

  ck_assert_int_eq(store_get_analysis_json(fx.s, id, &json), 0);
  ck_assert_str_eq(json, "{\"format\":\"text\",\"answer\":42}");
  free(json);
  ck_assert_int_eq(store_read_blob(fx.s, id, &b), 0);
  ck_assert_uint_eq(b.len, 14);
  ck_assert_mem_eq(b.data, "profile bytes\n", 14);
  buf_done(&b);

  ck_assert_int_eq(store_get(fx.s, id + 1, &row), -ENOENT);
  ck_assert_ptr_nonnull(strstr(store_errmsg(fx.s), "no capture with id"));
  ck_assert_int_eq(store_get_analysis_json(fx.s, id + 1, &json), -ENOENT);
  ck_assert_int_eq(store_read_blob(fx.s, id + 1, &b), -ENOENT);
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_failed_and_empty) {
  struct fx fx;
  struct capture *c;
  struct capture_row row;
  struct buf b;
  char *json = NULL;
  int64_t failed, empty;

  fx_setup(&fx);
  c = fx_capture("api", "i:1", "heap", 1000, "404 page not found\n", 19, NULL);
  c->http_status = 404;
  capture_set_error(c, "HTTP 404: '404 page not found'");
  failed = fx_put(fx.s, c);
  ck_assert_int_eq(fx_count(fx.s, "blobs"), 0);
  ck_assert_int_eq(store_get(fx.s, failed, &row), 0);
  ck_assert_int_eq(row.status, CAPTURE_FAILED);
  ck_assert_int_eq(row.http_status, 404);
  ck_assert_str_eq(row.error, "HTTP 404: '404 page not found'");
  ck_assert_str_eq(row.sha256, "");
  ck_assert_int_eq(row.size_bytes, 19);
  ck_assert_str_eq(row.analysis_status, "none");
  capture_row_done(&row);
  ck_assert_int_eq(store_read_blob(fx.s, failed, &b), -ENOENT);
  ck_assert_msg(strstr(store_errmsg(fx.s), "has no body") && strstr(store_errmsg(fx.s), "HTTP 404"),
                "%s", store_errmsg(fx.s));
  ck_assert_int_eq(store_get_analysis_json(fx.s, failed, &json), 0);
  ck_assert_str_eq(json, "{}");
  free(json);

  /* A connection that never answered: no HTTP status. */
  c = fx_capture("api", "i:1", "heap", 2000, "", 0, NULL);
  c->http_status = 0;
  capture_set_error(c, "connection refused");
  failed = fx_put(fx.s, c);
  ck_assert_int_eq(store_get(fx.s, failed, &row), 0);
  ck_assert_int_eq(row.http_status, 0);
  capture_row_done(&row);

  /* An ok capture with an empty body still has a (zero-length) body. */
  empty = fx_put(fx.s, fx_capture("api", "i:1", "goroutine", 3000, "", 0, NULL));
  ck_assert_int_eq(store_read_blob(fx.s, empty, &b), 0);
  ck_assert_uint_eq(b.len, 0);
  buf_done(&b);
  ck_assert_int_eq(store_get(fx.s, empty, &row), 0);
  ck_assert_str_eq(row.format, "empty");
  ck_assert_str_eq(row.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  capture_row_done(&row);
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_bad_input) {
  static const char *const reserved[] = {"target=x", NULL};
  static const char *const dup[] = {"a=1", "a=2", NULL};
  static const char *const utf8[] = {"a=\xff\xfe", NULL};
  struct fx fx;
  struct capture *c;
  int64_t id;

  fx_setup(&fx);
  c = fx_capture("api", "i", "cpu", 1, "x", 1, reserved);
  ck_assert_int_eq(store_put_capture(fx.s, c, &id), -EINVAL);
  ck_assert_ptr_nonnull(strstr(store_errmsg(fx.s), "'target' is reserved"));
  capture_free(c);
  c = fx_capture("api", "i", "cpu", 1, "x", 1, dup);
  ck_assert_int_eq(store_put_capture(fx.s, c, &id), -EINVAL);
  ck_assert_ptr_nonnull(strstr(store_errmsg(fx.s), "appears twice"));
  capture_free(c);
  c = fx_capture("api", "i", "cpu", 1, "x", 1, utf8);
  ck_assert_int_eq(store_put_capture(fx.s, c, &id), -EINVAL);
  ck_assert_ptr_nonnull(strstr(store_errmsg(fx.s), "UTF-8"));
  capture_free(c);
  c = fx_capture("api", "i", "", 1, "x", 1, NULL);
  ck_assert_int_eq(store_put_capture(fx.s, c, &id), -EINVAL);
  capture_free(c);
  ck_assert_int_eq(fx_count(fx.s, "captures"), 0);
  ck_assert_int_eq(fx_count(fx.s, "labelsets"), 0);
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_dedup) {
  static const char *const la[] = {"env=prod", NULL};
  struct fx fx;
  struct store_prune_result pr;
  struct buf b;
  int64_t a, c2;

  fx_setup(&fx);
  a = fx_put(fx.s, fx_capture("api", "i:1", "heap", 1000, "same body", 9, la));
  c2 = fx_put(fx.s, fx_capture("api", "i:2", "heap", 2000, "same body", 9, la));
  ck_assert_int_eq(fx_count(fx.s, "captures"), 2);
  ck_assert_int_eq(fx_count(fx.s, "blobs"), 1);
  ck_assert_int_eq(fx_count(fx.s, "labelsets"), 1);
  ck_assert_int_eq(
      fx_query_int(fx.s, "SELECT count(DISTINCT blob_id) FROM captures WHERE blob_id IS NOT NULL"),
      1);

  /* Pruning the older capture keeps the blob the newer one still uses. */
  ck_assert_int_eq(store_prune(fx.s, 3000, 1500, 0, &pr), 0);
  ck_assert_int_eq(pr.captures_deleted, 1);
  ck_assert_int_eq(pr.blobs_deleted, 0);
  ck_assert_int_eq(fx_count(fx.s, "blobs"), 1);
  ck_assert_int_eq(store_read_blob(fx.s, a, &b), -ENOENT);
  ck_assert_int_eq(store_read_blob(fx.s, c2, &b), 0);
  ck_assert_mem_eq(b.data, "same body", 9);
  buf_done(&b);

  ck_assert_int_eq(store_prune(fx.s, 10000, 1000, 0, &pr), 0);
  ck_assert_int_eq(pr.captures_deleted, 1);
  ck_assert_int_eq(pr.blobs_deleted, 1);
  ck_assert_int_eq(fx_count(fx.s, "blobs"), 0);
  ck_assert_int_eq(fx_count(fx.s, "labelsets"), 0);
  ck_assert_int_eq(fx_count(fx.s, "labelset_pairs"), 0);
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_zstd_trace) {
  struct fx fx;
  size_t len, gzlen;
  uint8_t *trace = test_read_file(test_data_path("workload-trace-2s.trace"), &len);
  uint8_t *gz = test_read_file(test_data_path("workload-cpu-5s.pprof"), &gzlen);
  struct capture_row row;
  struct buf b;
  int64_t id, gid;

  fx_setup(&fx);
  id = fx_put(fx.s, fx_capture("api", "i", "trace", 1000, trace, len, NULL));
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT encoding = 'zstd' AND raw_size = 309143 FROM blobs"),
                   1);
  ck_assert_int_lt(fx_query_int(fx.s, "SELECT length(data) FROM blobs"), (int64_t)len * 3 / 4);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT stored_size = length(data) FROM blobs"), 1);
  ck_assert_int_eq(store_read_blob(fx.s, id, &b), 0);
  ck_assert_uint_eq(b.len, len);
  ck_assert_int_eq(memcmp(b.data, trace, len), 0);
  buf_done(&b);
  ck_assert_int_eq(store_get(fx.s, id, &row), 0);
  ck_assert_str_eq(row.format, "go-trace");
  ck_assert_int_eq(row.trace_minor, 19);
  ck_assert_str_eq(row.sha256, "771fe241a1bdbd1fffc271566c200cf61a339e7723192aa8b767b2fe58347006");
  capture_row_done(&row);

  /* gzip bodies (net/http/pprof's profiles) are kept as they are. */
  gid = fx_put(fx.s, fx_capture("api", "i", "cpu", 2000, gz, gzlen, NULL));
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT encoding = 'raw' FROM blobs b JOIN captures c ON "
                                      "c.blob_id = b.id WHERE c.type = 'cpu'"),
                   1);
  ck_assert_int_eq(store_read_blob(fx.s, gid, &b), 0);
  ck_assert_uint_eq(b.len, gzlen);
  ck_assert_int_eq(memcmp(b.data, gz, gzlen), 0);
  buf_done(&b);
  free(trace);
  free(gz);
  fx_teardown(&fx);
}
END_TEST

static int rows_fail(struct store *s, int64_t capture_id, const void *detail) {
  sqlite3_stmt *st = store_stmt(s, "INSERT INTO test_rows (capture_id, v) VALUES (?1, 1)");
  (void)detail;
  ck_assert_ptr_nonnull(st);
  sqlite3_bind_int64(st, 1, capture_id);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
  sqlite3_reset(st);
  return store_fail(s, -EINVAL, "function table overflow");
}

static int rows_ok(struct store *s, int64_t capture_id, const void *detail) {
  sqlite3_stmt *st = store_stmt(s, "INSERT INTO test_rows (capture_id, v) VALUES (?1, ?2)");
  ck_assert_ptr_nonnull(st);
  sqlite3_bind_int64(st, 1, capture_id);
  sqlite3_bind_int64(st, 2, *(const int *)detail);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
  sqlite3_reset(st);
  return 0;
}

static const struct analysis_ops ops_fail = {.name = "test", .store_rows = rows_fail};
static const struct analysis_ops ops_ok = {.name = "test", .store_rows = rows_ok};

START_TEST(test_atomicity) {
  static const char *const labels[] = {"env=prod", NULL};
  static int value = 7;
  struct fx fx;
  struct capture *c;
  struct store_prune_result pr;
  int64_t id = 0;

  fx_setup(&fx);
  ck_assert_int_eq(sqlite3_exec(store_db(fx.s),
                                "CREATE TABLE test_rows (capture_id INTEGER NOT NULL REFERENCES "
                                "captures(id) ON DELETE CASCADE, v INTEGER)",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  c = fx_capture("api", "i", "cpu", 1000, "body", 4, labels);
  c->analysis = test_analysis(c);
  c->analysis->ops = &ops_fail;
  ck_assert_int_eq(store_put_capture(fx.s, c, &id), -EINVAL);
  ck_assert_msg(strstr(store_errmsg(fx.s), "storing test analysis rows: function table overflow"),
                "%s", store_errmsg(fx.s));
  c->analysis->ops = NULL;
  capture_free(c);
  ck_assert_int_eq(fx_count(fx.s, "captures"), 0);
  ck_assert_int_eq(fx_count(fx.s, "blobs"), 0);
  ck_assert_int_eq(fx_count(fx.s, "labelsets"), 0);
  ck_assert_int_eq(fx_count(fx.s, "labelset_pairs"), 0);
  ck_assert_int_eq(fx_count(fx.s, "capture_analysis"), 0);
  ck_assert_int_eq(fx_count(fx.s, "test_rows"), 0);

  /* The connection is still usable, and rows land with the capture. */
  c = fx_capture("api", "i", "cpu", 1000, "body", 4, labels);
  c->analysis = test_analysis(c);
  c->analysis->ops = &ops_ok;
  c->analysis->detail = &value;
  ck_assert_int_eq(store_put_capture(fx.s, c, &id), 0);
  c->analysis->ops = NULL;
  capture_free(c);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT v FROM test_rows"), 7);
  ck_assert_int_eq(fx_count(fx.s, "capture_analysis"), 1);

  /* Pruning the capture removes its analysis rows (ON DELETE CASCADE). */
  ck_assert_int_eq(store_prune(fx.s, 5000, 1000, 0, &pr), 0);
  ck_assert_int_eq(fx_count(fx.s, "test_rows"), 0);
  ck_assert_int_eq(fx_count(fx.s, "capture_analysis"), 0);
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_disk_full) {
  enum { BIG = 512 * 1024 };
  uint8_t *body = xmalloc(BIG);
  struct fx fx;
  struct capture *c;
  int64_t pages, id = 0;
  char sql[64];
  struct buf b;

  fx_random_bytes(body, BIG, 99);
  fx_setup(&fx);
  fx_put(fx.s, fx_capture("api", "i", "cpu", 1000, "small", 5, NULL));
  pages = fx_query_int(fx.s, "PRAGMA page_count");
  /* Simulates a full disk: SQLite cannot grow the file past this. */
  snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld", (long long)pages + 10);
  fx_query_int(fx.s, sql);
  c = fx_capture("api", "i", "trace", 2000, body, BIG, NULL);
  ck_assert_int_eq(store_put_capture(fx.s, c, &id), -ENOSPC);
  ck_assert_msg(strstr(store_errmsg(fx.s), "disk full"), "%s", store_errmsg(fx.s));
  ck_assert_int_eq(fx_count(fx.s, "captures"), 1);
  ck_assert_int_eq(fx_count(fx.s, "blobs"), 1);

  /* Space comes back: the same connection stores the capture. */
  fx_query_int(fx.s, "PRAGMA max_page_count=1073741823");
  ck_assert_int_eq(store_put_capture(fx.s, c, &id), 0);
  capture_free(c);
  ck_assert_int_eq(store_read_blob(fx.s, id, &b), 0);
  ck_assert_uint_eq(b.len, BIG);
  ck_assert_int_eq(memcmp(b.data, body, BIG), 0);
  buf_done(&b);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT count(*) FROM pragma_integrity_check WHERE "
                                      "integrity_check <> 'ok'"),
                   0);
  free(body);
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_corrupt_blob) {
  struct fx fx;
  size_t len;
  uint8_t *trace = test_read_file(test_data_path("workload-trace-2s.trace"), &len);
  struct buf b;
  int64_t raw, packed;

  fx_setup(&fx);
  raw = fx_put(fx.s, fx_capture("api", "i", "heap", 1000, "\x1f\x8b gzip-ish body", 16, NULL));
  packed = fx_put(fx.s, fx_capture("api", "i", "trace", 2000, trace, len, NULL));
  /* Flip one byte in the middle of each stored blob. */
  ck_assert_int_eq(sqlite3_exec(store_db(fx.s),
                                "UPDATE blobs SET data = substr(data, 1, 7) || x'00' || "
                                "substr(data, 9) WHERE encoding = 'raw';"
                                "UPDATE blobs SET data = substr(data, 1, 5000) || x'5a' || "
                                "substr(data, 5002) WHERE encoding = 'zstd'",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  ck_assert_int_eq(store_read_blob(fx.s, raw, &b), -EBADMSG);
  ck_assert_msg(strstr(store_errmsg(fx.s), "corrupt") && strstr(store_errmsg(fx.s), "SHA-256"),
                "%s", store_errmsg(fx.s));
  ck_assert_int_eq(store_read_blob(fx.s, packed, &b), -EBADMSG);
  ck_assert_msg(strstr(store_errmsg(fx.s), "corrupt"), "%s", store_errmsg(fx.s));
  free(trace);
  fx_teardown(&fx);
}
END_TEST

struct writer_arg {
  const char *path;
  int n;
};

static void *writer_thread(void *p) {
  struct writer_arg *w = p;
  struct store *s = NULL;
  char *err = NULL;

  ck_assert_int_eq(store_open(w->path, 0, &s, &err), 0);
  for (int i = 0; i < w->n; i++) {
    char body[64];
    int len = snprintf(body, sizeof(body), "body %d", i);
    fx_put(s, fx_capture("api", "i", "heap", 10000 + i, body, (size_t)len, NULL));
  }
  store_close(s);
  return NULL;
}

static int count_cb(const struct capture_row *row, void *ud) {
  (void)row;
  (*(int *)ud)++;
  return 0;
}

START_TEST(test_readonly_concurrent) {
  struct fx fx;
  struct store *ro;
  struct store_filter f;
  struct writer_arg w;
  pthread_t th;
  struct capture *c;
  int64_t id;
  int seen = 0, last = 0, r;

  fx_setup(&fx);
  fx_put(fx.s, fx_capture("api", "i", "heap", 1000, "first", 5, NULL));
  ro = fx_open(&fx, STORE_READONLY);
  store_filter_init(&f);

  /* The writer holds its write lock; the reader still reads. */
  ck_assert_int_eq(store_begin(fx.s), 0);
  ck_assert_int_eq(store_list(ro, &f, count_cb, &seen), 1);
  ck_assert_int_eq(store_commit(fx.s), 0);

  /* Writes are refused on a read-only connection. */
  c = fx_capture("api", "i", "heap", 2000, "x", 1, NULL);
  ck_assert_int_eq(store_put_capture(ro, c, &id), -EROFS);
  capture_free(c);

  /* Another connection writes while this one keeps reading. */
  w.path = fx.path;
  w.n = 200;
  ck_assert_int_eq(pthread_create(&th, NULL, writer_thread, &w), 0);
  for (int i = 0; i < 400 && last < 201; i++) {
    seen = 0;
    r = store_list(ro, &f, count_cb, &seen);
    ck_assert_msg(r >= 0, "list while writing: %s", store_errmsg(ro));
    ck_assert_int_ge(seen, last);
    last = seen;
  }
  pthread_join(th, NULL);
  seen = 0;
  ck_assert_int_eq(store_list(ro, &f, count_cb, &seen), 201);
  store_close(ro);
  fx_teardown(&fx);
}
END_TEST

int main(void) {
  Suite *s = suite_create("store");
  TCase *tc = tcase_create("store");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_sha256);
  tcase_add_test(tc, test_open_creates);
  tcase_add_test(tc, test_open_errors);
  tcase_add_test(tc, test_migrations);
  tcase_add_test(tc, test_migrate_from_zero);
  tcase_add_test(tc, test_roundtrip);
  tcase_add_test(tc, test_failed_and_empty);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_dedup);
  tcase_add_test(tc, test_zstd_trace);
  tcase_add_test(tc, test_atomicity);
  tcase_add_test(tc, test_disk_full);
  tcase_add_test(tc, test_corrupt_blob);
  tcase_add_test(tc, test_readonly_concurrent);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
