/* The HTTP endpoint's query API and profefe compatibility against a
 * database of real captures (tests/http_seed.c): lists and filters, raw
 * bytes and their headers, summaries, merges, flame graphs, the latest
 * capture per series, and the 4xx answers to bad requests. */
#include "config.h"

#include <check.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "http_client.h"
#include "http_seed.h"
#include "http_server.h"
#include "pprof.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

#define MIN_MS (60 * 1000)

static char *tmpdir;
static char *db_path;
static int64_t seed_now;
static struct http_server *srv;
static int port;

static void suite_setup(void) {
  char *err = NULL;
  tmpdir = test_tmpdir();
  db_path = xasprintf("%s/pprofd.db", tmpdir);
  seed_now = time_wall_ms();
  ck_assert_msg(http_seed(db_path, seed_now, NULL, &err) == 0, "seed: %s", err);
}

static void suite_teardown(void) {
  test_rm_rf(tmpdir);
  freep(&tmpdir);
  freep(&db_path);
}

static void setup(void) {
  struct http_server_opts o = {0};
  char *err = NULL;
  o.listen = "127.0.0.1:0";
  o.db_path = db_path;
  o.max_merge_captures = 2;
  ck_assert_msg(http_server_start(&o, &srv, &err) == 0, "start: %s", err);
  port = http_server_port(srv);
}

static void teardown(void) {
  srv = http_server_stop(srv);
}

/* GET path; asserts the status and returns the JSON body. */
static json_t *get_json(const char *path, long status) {
  struct hc_resp r;
  json_t *j;
  hc_get(port, path, &r);
  ck_assert_msg(r.status == status, "%s: status %ld, want %ld: %s", path, r.status, status, r.body);
  j = hc_json(&r);
  hc_resp_done(&r);
  return j;
}

static void assert_error(const char *path, long status, const char *needle) {
  json_t *j = get_json(path, status);
  const char *e = json_string_value(json_object_get(j, "error"));
  ck_assert_msg(e && strstr(e, needle), "%s: error '%s' lacks '%s'", path, e ? e : "(none)",
                needle);
  json_decref(j);
}

static const uint8_t *file_bytes(const char *name, size_t *len) {
  static uint8_t *data;
  char rel[128];
  free(data);
  snprintf(rel, sizeof(rel), "http/%s", name);
  data = test_read_file(test_data_path(rel), len);
  return data;
}

/* The ids of a list, in order, as "1,2,3". */
static char *ids_of(json_t *arr) {
  struct buf b;
  size_t i;
  json_t *v;
  buf_init(&b, 1 << 20);
  json_array_foreach(arr, i, v) {
    buf_printf(&b, "%s%" JSON_INTEGER_FORMAT, i ? "," : "",
               json_integer_value(json_object_get(v, "id")));
  }
  buf_terminate(&b);
  return b.data ? (char *)buf_steal(&b, NULL) : xstrdup("");
}

static void assert_ids(const char *path, const char *want) {
  json_t *j = get_json(path, 200);
  char *ids;
  ck_assert_msg(json_is_array(j), "%s: not an array", path);
  ids = ids_of(j);
  ck_assert_msg(strcmp(ids, want) == 0, "%s: ids %s, want %s", path, ids, want);
  free(ids);
  json_decref(j);
}

START_TEST(test_list) {
  json_t *j, *o, *ref;
  struct store *st = NULL;
  struct capture_row row;
  char *err = NULL, path[256], t[32];

  /* Newest first, every capture. */
  assert_ids("/api/v1/captures", "8,6,5,4,3,2,1,7");
  assert_ids("/api/v1/captures/", "8,6,5,4,3,2,1,7");
  assert_ids("/api/v1/captures?target=api", "6,5,4,3,2,1");
  assert_ids("/api/v1/captures?target=api&type=cpu", "2,1");
  assert_ids("/api/v1/captures?instance=10.0.0.2:6060", "2");
  assert_ids("/api/v1/captures?status=failed", "8,6");
  assert_ids("/api/v1/captures?status=ok&type=heap", "3");
  assert_ids("/api/v1/captures?label=env=staging", "8,7");
  assert_ids("/api/v1/captures?label=env%3Dprod&label=team=core&type=cpu", "2,1");
  assert_ids("/api/v1/captures?label=env=prod&label=team=other", "");
  assert_ids("/api/v1/captures?label=target=web", "8,7");
  assert_ids("/api/v1/captures?since=45m", "8,6,5,4,3,2");
  assert_ids("/api/v1/captures?since=45m&until=15m", "4,3,2");
  assert_ids("/api/v1/captures?limit=2", "8,6");
  assert_ids("/api/v1/captures?target=nope", "");
  /* Absolute times: since is inclusive. */
  format_rfc3339(seed_now - 180 * MIN_MS, t, sizeof(t));
  snprintf(path, sizeof(path), "/api/v1/captures?since=%s&until=%s", t, t);
  assert_ids(path, "");
  snprintf(path, sizeof(path), "/api/v1/captures?since=%s&target=web&type=cpu", t);
  assert_ids(path, "7");

  /* The objects are exactly pprofctl's. */
  ck_assert_int_eq(store_open(db_path, STORE_READONLY, &st, &err), 0);
  ck_assert_int_eq(store_get(st, 5, &row), 0);
  ref = capture_row_to_json(&row);
  capture_row_done(&row);
  store_close(st);
  j = get_json("/api/v1/captures?type=trace", 200);
  ck_assert_int_eq(json_array_size(j), 1);
  o = json_array_get(j, 0);
  ck_assert_msg(json_equal(o, ref), "list object differs from capture_row_to_json()");
  ck_assert_str_eq(json_string_value(json_object_get(o, "format")), "go-trace");
  ck_assert_str_eq(json_string_value(json_object_get(o, "target")), "api");
  ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "labels"), "env")), "prod");
  json_decref(ref);
  json_decref(j);
}
END_TEST

START_TEST(test_bad_requests) {
  assert_error("/api/v1/captures?since=yesterday", 400, "bad since 'yesterday'");
  assert_error("/api/v1/captures?since=%FF", 400, "bad since '\xef\xbf\xbd'");
  assert_error("/api/v1/captures?until=2026-13-01", 400, "bad until");
  assert_error("/api/v1/captures?since=1h&until=2h", 400, "since is after until");
  assert_error("/api/v1/captures?label=env", 400, "bad label 'env': expected KEY=VALUE");
  assert_error("/api/v1/captures?label==x", 400, "bad label");
  assert_error("/api/v1/captures?status=maybe", 400, "bad status 'maybe'");
  assert_error("/api/v1/captures?limit=0", 400, "bad limit");
  assert_error("/api/v1/captures?limit=ten", 400, "bad limit");
  assert_error("/api/v1/captures?limit=100001", 400, "at most");
  assert_error("/api/v1/captures?tagret=api", 400, "unknown query parameter 'tagret'");
  assert_error("/api/v1/captures?target=a&target=b", 400, "more than once");
  assert_error("/api/v1/captures/999", 404, "no capture 999");
  assert_error("/api/v1/captures/0", 404, "no capture");
  assert_error("/api/v1/captures/abc", 404, "no capture 'abc'");
  assert_error("/api/v1/captures/-1/summary", 404, "no capture");
  assert_error("/api/v1/captures/99999999999999999999999", 404, "no capture");
  assert_error("/api/v1/captures/999999999999999999999999999999999", 404, "no such path");
  assert_error("/api/v1/captures/1/nope", 404, "no such path");
  assert_error("/api/v1/captures/999/summary", 404, "no capture 999");
  assert_error("/api/v1/captures/1?x=1", 400, "unknown query parameter 'x'");
  /* A failed fetch has no body. */
  assert_error("/api/v1/captures/6", 404, "the fetch failed (connect to 10.0.0.1:6060");
  assert_error("/api/v1/merge", 400, "missing type");
  assert_error("/api/v1/merge?type=cpu&since=soon", 400, "bad since");
  assert_error("/api/v1/merge?type=cpu&target=nope", 404, "no stored profile matches");
  assert_error("/api/v1/merge?type=trace", 400, "not pprof profiles");
  assert_error("/api/v1/merge?type=cpu&status=failed", 400, "failed captures");
  assert_error("/api/v1/captures/5/flamegraph.svg", 400, "not a pprof profile (go-trace)");
  assert_error("/api/v1/captures/1/flamegraph.svg?sample_index=bytes", 400,
               "no sample type 'bytes'");
  assert_error("/api/v1/flamegraph.svg?target=api", 400, "missing type");
}
END_TEST

START_TEST(test_raw) {
  static const struct {
    int64_t id;
    const char *file, *disposition;
  } cases[] = {
      {1, "workload-cpu.pprof", "attachment; filename=\"api-cpu-1.pb.gz\""},
      {2, "prometheus-cpu.pprof", "attachment; filename=\"api-cpu-2.pb.gz\""},
      {5, "workload-trace-2s.trace", "attachment; filename=\"api-trace-5.trace\""},
      {7, "workload-cpu.pprof", "attachment; filename=\"web-cpu-7.pb.gz\""},
  };
  struct hc_opts head = {.method = "HEAD"};
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct hc_resp r;
    char path[64], *h;
    size_t len;
    const uint8_t *want = file_bytes(cases[i].file, &len);

    snprintf(path, sizeof(path), "/api/v1/captures/%" PRId64, cases[i].id);
    hc_get(port, path, &r);
    ck_assert_int_eq(r.status, 200);
    /* Byte for byte what the target sent. */
    ck_assert_uint_eq(r.len, len);
    ck_assert(memcmp(r.body, want, len) == 0);
    h = hc_header(&r, "Content-Type");
    ck_assert_str_eq(h, "application/octet-stream");
    free(h);
    h = hc_header(&r, "Content-Disposition");
    ck_assert_str_eq(h, cases[i].disposition);
    free(h);
    hc_resp_done(&r);
    /* What `go tool pprof -seconds N URL` sends. */
    snprintf(path, sizeof(path), "/api/v1/captures/%" PRId64 "?seconds=30", cases[i].id);
    hc_get(port, path, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, len);
    hc_resp_done(&r);
    snprintf(path, sizeof(path), "/api/v1/captures/%" PRId64, cases[i].id);
    hc_request(port, path, &head, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_int_eq(r.len, 0);
    h = hc_header(&r, "Content-Length");
    ck_assert_uint_eq(strtoull(h, NULL, 10), len);
    free(h);
    hc_resp_done(&r);
  }
}
END_TEST

START_TEST(test_summary) {
  json_t *j, *a;
  struct store *st = NULL;
  char *err = NULL, *stored = NULL;
  json_t *ref;

  /* The stored analysis, as stored. */
  ck_assert_int_eq(store_open(db_path, STORE_READONLY, &st, &err), 0);
  ck_assert_int_eq(store_get_analysis_json(st, 1, &stored), 0);
  store_close(st);
  ref = json_loads(stored, 0, NULL);
  free(stored);
  ck_assert_ptr_nonnull(ref);
  j = get_json("/api/v1/captures/1/summary", 200);
  ck_assert(json_equal(j, ref));
  ck_assert(json_object_size(j) > 0);
  json_decref(j);
  /* info: the list object plus the analysis */
  j = get_json("/api/v1/captures/1/info", 200);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), 1);
  ck_assert_str_eq(json_string_value(json_object_get(j, "type")), "cpu");
  a = json_object_get(j, "analysis");
  ck_assert(json_equal(a, ref));
  json_decref(j);
  json_decref(ref);
  /* A failed capture has an empty analysis. */
  j = get_json("/api/v1/captures/8/summary", 200);
  ck_assert(json_is_object(j));
  json_decref(j);
  /* The trace's analysis is there too. */
  j = get_json("/api/v1/captures/5/summary", 200);
  ck_assert(json_is_object(j));
  ck_assert_int_gt(json_object_size(j), 0);
  json_decref(j);
}
END_TEST

/* Decodes a pprof body and returns the total of sample type si ("cpu"). */
static int64_t pprof_total(const struct hc_resp *r) {
  const int si = 1;
  struct pprof_profile *p = NULL;
  char *err = NULL;
  int64_t total = 0;
  ck_assert_msg(pprof_decode((const uint8_t *)r->body, r->len, 1 << 30, &p, &err) == 0, "%s", err);
  ck_assert_uint_eq(p->n_sample_types, 2);
  ck_assert_str_eq(p->sample_types[si].type, "cpu");
  for (size_t i = 0; i < p->n_samples; i++)
    total += p->samples[i].values[si];
  pprof_profile_free(p);
  return total;
}

START_TEST(test_merge) {
  struct hc_resp r;
  char *h;

  /* 6.72 s (workload) + 3.71 s (prometheus) of CPU. */
  hc_get(port, "/api/v1/merge?type=cpu&target=api&since=1h&seconds=10", &r);
  ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
  ck_assert_int_eq(pprof_total(&r), 6720000000LL + 3710000000LL);
  h = hc_header(&r, "Content-Disposition");
  ck_assert_str_eq(h, "attachment; filename=\"api-cpu-merged.pb.gz\"");
  free(h);
  hc_resp_done(&r);
  hc_get(port, "/api/v1/merge?type=cpu&limit=2", &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(pprof_total(&r), 6720000000LL + 3710000000LL);
  hc_resp_done(&r);
  hc_get(port, "/api/v1/merge?type=cpu&label=env=staging", &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(pprof_total(&r), 6720000000LL);
  hc_resp_done(&r);
  /* limit takes the newest N. */
  hc_get(port, "/api/v1/merge?type=cpu&limit=1", &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(pprof_total(&r), 3710000000LL);
  hc_resp_done(&r);
  /* This server merges at most 2 captures: a larger selection is refused,
   * not silently sampled. */
  assert_error("/api/v1/merge?type=cpu", 400, "more than 2 captures match");
  assert_error("/api/v1/merge?type=cpu&limit=3", 400, "more than 2 captures match");
}
END_TEST

START_TEST(test_flamegraph) {
  struct hc_resp r;
  char *h;
  hc_get(port, "/api/v1/captures/1/flamegraph.svg", &r);
  ck_assert_int_eq(r.status, 200);
  h = hc_header(&r, "Content-Type");
  ck_assert_str_eq(h, "image/svg+xml");
  free(h);
  ck_assert_ptr_nonnull(strstr(r.body, "<svg"));
  ck_assert_ptr_nonnull(strstr(r.body, "main.spin"));
  ck_assert_ptr_nonnull(strstr(r.body, "class=\"f\""));
  hc_resp_done(&r);
  hc_get(port, "/api/v1/captures/1/flamegraph.svg?sample_index=samples", &r);
  ck_assert_int_eq(r.status, 200);
  hc_resp_done(&r);
  hc_get(port, "/api/v1/flamegraph.svg?type=cpu&target=api", &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_ptr_nonnull(strstr(r.body, "2 profiles"));
  hc_resp_done(&r);
}
END_TEST

START_TEST(test_targets) {
  json_t *j = get_json("/api/v1/targets", 200), *v;
  size_t i;
  bool seen_failing = false, seen_never = false;

  /* One entry per (target, instance, type): 5 for api, 2 for web. */
  ck_assert_int_eq(json_array_size(j), 7);
  json_array_foreach(j, i, v) {
    const char *t = json_string_value(json_object_get(v, "target"));
    const char *ty = json_string_value(json_object_get(v, "type"));
    json_t *last = json_object_get(v, "last");
    ck_assert_ptr_nonnull(t);
    ck_assert(json_is_object(last));
    if (strcmp(t, "api") == 0 && strcmp(ty, "heap") == 0) {
      /* The last heap capture failed; the one before was ok. */
      ck_assert_int_eq(json_integer_value(json_object_get(last, "id")), 6);
      ck_assert(json_is_string(json_object_get(v, "last_ok_at")));
      seen_failing = true;
    }
    if (strcmp(t, "web") == 0 && strcmp(ty, "mutex") == 0) {
      ck_assert(json_is_null(json_object_get(v, "last_ok_at")));
      seen_never = true;
    }
  }
  ck_assert(seen_failing && seen_never);
  json_decref(j);
}
END_TEST

static void profefe_window(char *from, char *to, size_t size, int64_t from_ago, int64_t to_ago) {
  /* profefe's format: 2006-01-02T15:04:05, UTC */
  char buf[32];
  format_rfc3339(seed_now - from_ago - (seed_now - from_ago) % 1000, buf, sizeof(buf));
  snprintf(from, size, "%.19s", buf);
  format_rfc3339(seed_now - to_ago - (seed_now - to_ago) % 1000 + 1000, buf, sizeof(buf));
  snprintf(to, size, "%.19s", buf);
}

START_TEST(test_profefe) {
  char from[32], to[32], path[512];
  json_t *j, *p, *labels;
  struct hc_resp r;
  size_t len;
  const uint8_t *want;

  profefe_window(from, to, sizeof(from), 60 * MIN_MS, 0);
  snprintf(path, sizeof(path), "/api/0/profiles?service=api&type=cpu&from=%s&to=%s", from, to);
  j = get_json(path, 200);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "code")), 200);
  ck_assert_int_eq(json_array_size(json_object_get(j, "body")), 2);
  /* Oldest first, ids as strings, labels as a list. */
  p = json_array_get(json_object_get(j, "body"), 0);
  ck_assert_str_eq(json_string_value(json_object_get(p, "id")), "1");
  ck_assert_str_eq(json_string_value(json_object_get(p, "type")), "cpu");
  ck_assert_str_eq(json_string_value(json_object_get(p, "service")), "api");
  ck_assert_int_eq(strlen(json_string_value(json_object_get(p, "created_at"))), 20);
  labels = json_object_get(p, "labels");
  ck_assert(json_is_array(labels));
  ck_assert_str_eq(json_string_value(json_object_get(json_array_get(labels, 0), "key")),
                   "instance");
  json_decref(j);
  /* labels=k=v,k2=v2; type omitted = every type; limit */
  snprintf(path, sizeof(path),
           "/api/0/profiles?service=api&from=%s&to=%s&labels=env=prod,team=core&limit=3", from, to);
  j = get_json(path, 200);
  ck_assert_int_eq(json_array_size(json_object_get(j, "body")), 3);
  json_decref(j);
  /* profefe's type names: goroutine is a profefe type, other is the rest */
  snprintf(path, sizeof(path), "/api/0/profiles?service=api&type=goroutine&from=%s&to=%s", from,
           to);
  j = get_json(path, 200);
  ck_assert_int_eq(json_array_size(json_object_get(j, "body")), 1);
  json_decref(j);
  /* Nothing found is profefe's 404. */
  snprintf(path, sizeof(path), "/api/0/profiles?service=api&type=other&from=%s&to=%s", from, to);
  j = get_json(path, 404);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "code")), 404);
  ck_assert_str_eq(json_string_value(json_object_get(j, "error")), "nothing found");
  json_decref(j);
  j = get_json("/api/0/profiles?type=cpu", 400);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "code")), 400);
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")), "service"));
  json_decref(j);
  j = get_json("/api/0/profiles?service=api&from=31/12/2026", 400);
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")), "from"));
  json_decref(j);
  j = get_json("/api/0/profiles?service=api&labels=novalue", 400);
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")), "labels"));
  json_decref(j);

  /* Merges: profefe's 405 for traces, a pprof for the rest. */
  snprintf(path, sizeof(path), "/api/0/profiles/merge?service=api&type=trace&from=%s&to=%s", from,
           to);
  j = get_json(path, 405);
  ck_assert_str_eq(json_string_value(json_object_get(j, "error")),
                   "can't merge profiles of trace type");
  json_decref(j);
  snprintf(path, sizeof(path), "/api/0/profiles/merge?service=api&type=cpu&from=%s&to=%s", from,
           to);
  hc_get(port, path, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(pprof_total(&r), 6720000000LL + 3710000000LL);
  hc_resp_done(&r);
  snprintf(path, sizeof(path), "/api/0/profiles/merge?service=nope&type=cpu&from=%s&to=%s", from,
           to);
  j = get_json(path, 404);
  json_decref(j);

  /* One profile by id, and several merged with '+'. */
  want = file_bytes("workload-cpu.pprof", &len);
  hc_get(port, "/api/0/profiles/1", &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_uint_eq(r.len, len);
  ck_assert(memcmp(r.body, want, len) == 0);
  hc_resp_done(&r);
  hc_get(port, "/api/0/profiles/1+2", &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(pprof_total(&r), 6720000000LL + 3710000000LL);
  hc_resp_done(&r);
  j = get_json("/api/0/profiles/1+3", 422); /* cpu and heap do not merge */
  ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")), "merge"));
  json_decref(j);
  j = get_json("/api/0/profiles/999", 404);
  ck_assert_int_eq(json_integer_value(json_object_get(j, "code")), 404);
  json_decref(j);

  j = get_json("/api/0/services", 200);
  ck_assert_int_eq(json_array_size(json_object_get(j, "body")), 2);
  ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "body"), 0)), "api");
  ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "body"), 1)), "web");
  json_decref(j);
  j = get_json("/api/0/version", 200);
  ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "body"), "version")),
                   PACKAGE_VERSION);
  json_decref(j);
  j = get_json("/api/0/nothing", 404);
  json_decref(j);
}
END_TEST

int main(void) {
  Suite *su = suite_create("http_api");
  TCase *tc = tcase_create("api");
  SRunner *sr;
  int failed;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_list);
  tcase_add_test(tc, test_bad_requests);
  tcase_add_test(tc, test_raw);
  tcase_add_test(tc, test_summary);
  tcase_add_test(tc, test_merge);
  tcase_add_test(tc, test_flamegraph);
  tcase_add_test(tc, test_targets);
  tcase_add_test(tc, test_profefe);
  suite_add_tcase(su, tc);
  sr = srunner_create(su);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  curl_global_cleanup();
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
