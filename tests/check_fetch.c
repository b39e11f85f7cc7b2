#include "config.h"

#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"
#include "fetch.h"
#include "minihttpd.h"
#include "testfetch.h"
#include "testutil.h"
#include "util.h"

static struct minihttpd *srv;
static uint8_t *heap_pprof;
static size_t heap_len;

static void setup(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  heap_pprof = test_read_file(test_data_path("workload-heap.pprof"), &heap_len);
  srv = minihttpd_start(heap_pprof, heap_len);
  ck_assert_ptr_nonnull(srv);
}

static void teardown(void) {
  minihttpd_stop(srv);
  free(heap_pprof);
  curl_global_cleanup();
}

static char *url(const char *path) {
  return xasprintf("http://127.0.0.1:%d%s", minihttpd_port(srv), path);
}

/* Runs one fetch to completion; nothing is left in flight after it. */
static struct fetch *fetch_one(const char *path, int64_t timeout_ms, uint64_t max_size,
                               const struct cfg_http_client *http) {
  struct fetcher *f = fetcher_new();
  char *u = url(path);
  struct fetch *done = test_fetch_run(f, u, timeout_ms, max_size, http);

  ck_assert_uint_eq(fetcher_in_flight(f), 0);
  ck_assert_uint_eq(fetcher_in_flight_bytes(f), 0);
  fetcher_free(f);
  free(u);
  return done;
}

START_TEST(test_ok_byte_exact) {
  struct fetch *x = fetch_one("/file", 5000, 1 << 20, NULL);
  ck_assert_int_eq(x->error, FETCH_OK);
  ck_assert_int_eq(x->http_status, 200);
  ck_assert_uint_eq(x->body.len, heap_len);
  ck_assert_mem_eq(x->body.data, heap_pprof, heap_len);
  ck_assert_str_eq(x->content_type, "application/octet-stream");
  fetch_free(x);
}
END_TEST

START_TEST(test_http_error) {
  struct fetch *x = fetch_one("/404", 5000, 1 << 20, NULL);
  ck_assert_int_eq(x->error, FETCH_ERR_HTTP);
  ck_assert_int_eq(x->http_status, 404);
  ck_assert_uint_eq(x->body.len, 16);
  fetch_free(x);
}
END_TEST

START_TEST(test_too_large_streaming) {
  struct fetch *x = fetch_one("/big", 5000, 100000, NULL);
  ck_assert_int_eq(x->error, FETCH_ERR_TOO_LARGE);
  ck_assert_uint_le(x->body.len, 100000);
  ck_assert_ptr_nonnull(strstr(x->error_text, "max_response_size"));
  fetch_free(x);
}
END_TEST

START_TEST(test_too_large_content_length) {
  struct fetch *x = fetch_one("/biglen", 5000, 1 << 20, NULL);
  ck_assert_int_eq(x->error, FETCH_ERR_TOO_LARGE);
  ck_assert_uint_eq(x->body.len, 0);
  fetch_free(x);
}
END_TEST

START_TEST(test_timeout) {
  int64_t t0 = time_mono_ms();
  struct fetch *x = fetch_one("/slow", 500, 1 << 20, NULL);
  ck_assert_int_eq(x->error, FETCH_ERR_TIMEOUT);
  ck_assert_int_lt(time_mono_ms() - t0, 2500);
  ck_assert_ptr_nonnull(x->error_text);
  fetch_free(x);
}
END_TEST

START_TEST(test_dropped) {
  struct fetch *x = fetch_one("/drop", 5000, 1 << 20, NULL);
  ck_assert_int_eq(x->error, FETCH_ERR_TRANSFER);
  ck_assert_ptr_nonnull(x->error_text);
  fetch_free(x);
}
END_TEST

START_TEST(test_refused) {
  struct fetcher *f = fetcher_new();
  struct fetch_request req;
  struct fetch *x = NULL, *done = NULL;
  memset(&req, 0, sizeof(req));
  req.url = "http://127.0.0.1:9/debug/pprof/heap"; /* discard port: nothing listens */
  req.timeout_ms = 2000;
  req.max_size = 1024;
  ck_assert_int_eq(fetcher_start(f, &req, &x), 0);
  while (!done) {
    fetcher_poll(f, NULL, 0, 100);
    fetcher_perform(f);
    done = fetcher_next_done(f);
  }
  ck_assert_int_eq(done->error, FETCH_ERR_CONNECT);
  ck_assert_int_eq(done->http_status, 0);
  fetch_free(done);
  fetcher_free(f);
}
END_TEST

START_TEST(test_no_redirects) {
  struct fetch *x = fetch_one("/redirect", 5000, 1 << 20, NULL);
  ck_assert_int_eq(x->error, FETCH_ERR_HTTP);
  ck_assert_int_eq(x->http_status, 302);
  fetch_free(x);
}
END_TEST

START_TEST(test_auth_and_headers) {
  struct cfg_http_client h;
  struct cfg_pair hdr = {(char *)"X-Team", (char *)"payments"};
  struct fetch *x;
  memset(&h, 0, sizeof(h));
  x = fetch_one("/auth", 5000, 1024, &h);
  ck_assert_int_eq(x->http_status, 401);
  fetch_free(x);
  h.bearer_token = (char *)"s3cret";
  h.headers = &hdr;
  h.n_headers = 1;
  x = fetch_one("/auth", 5000, 1024, &h);
  ck_assert_int_eq(x->http_status, 200);
  fetch_free(x);
  x = fetch_one("/headers", 5000, 65536, &h);
  ck_assert_int_eq(x->http_status, 200);
  buf_terminate(&x->body);
  ck_assert_ptr_nonnull(strstr((char *)x->body.data, "X-Team: payments\r\n"));
  ck_assert_ptr_nonnull(strstr((char *)x->body.data, "User-Agent: pprofd/"));
  /* Bodies are kept as sent: we never ask for a content encoding. */
  ck_assert_ptr_null(strstr((char *)x->body.data, "Accept-Encoding"));
  fetch_free(x);
}
END_TEST

START_TEST(test_many_parallel_and_abort) {
  struct fetcher *f = fetcher_new();
  struct fetch *xs[20];
  unsigned done = 0, aborted = 0;
  char *slow = url("/slow"), *ok = url("/ok");
  for (int i = 0; i < 20; i++) {
    struct fetch_request req;
    memset(&req, 0, sizeof(req));
    req.url = i % 2 ? slow : ok;
    req.timeout_ms = 10000;
    req.max_size = 1024;
    ck_assert_int_eq(fetcher_start(f, &req, &xs[i]), 0);
  }
  ck_assert_uint_eq(fetcher_in_flight(f), 20);
  /* The fast half completes while the slow half is still in flight. */
  while (done < 10) {
    struct fetch *x;
    fetcher_poll(f, NULL, 0, 100);
    fetcher_perform(f);
    while ((x = fetcher_next_done(f))) {
      ck_assert_int_eq(x->error, FETCH_OK);
      done++;
      fetch_free(x);
    }
  }
  ck_assert_uint_eq(fetcher_in_flight(f), 10);
  for (int i = 1; i < 20; i += 2)
    fetcher_abort(f, xs[i]);
  ck_assert_uint_eq(fetcher_in_flight(f), 0);
  ck_assert_uint_eq(fetcher_in_flight_bytes(f), 0);
  {
    struct fetch *x;
    while ((x = fetcher_next_done(f))) {
      ck_assert_int_eq(x->error, FETCH_ERR_ABORTED);
      aborted++;
      fetch_free(x);
    }
  }
  ck_assert_uint_eq(aborted, 10);
  free(slow);
  free(ok);
  fetcher_free(f);
}
END_TEST

/* The body of a fetch in flight counts at its announced length as soon as
 * the headers are in (for the pipeline's queue_max_bytes), and stops
 * counting once the fetch is done. */
START_TEST(test_in_flight_bytes) {
  struct fetcher *f = fetcher_new();
  struct fetch_request req;
  struct fetch *x = NULL, *done = NULL;
  char *u = url("/halfslow");
  int64_t deadline = time_mono_ms() + 20000;
  uint64_t mid = 0;

  memset(&req, 0, sizeof(req));
  req.url = u;
  req.timeout_ms = 10000;
  req.max_size = 1 << 20;
  ck_assert_int_eq(fetcher_start(f, &req, &x), 0);
  ck_assert_uint_eq(fetcher_in_flight_bytes(f), 0);
  while (!done && time_mono_ms() < deadline) {
    fetcher_poll(f, NULL, 0, 100);
    fetcher_perform(f);
    done = fetcher_next_done(f);
    if (!done && x->body.len >= 1000 && !mid)
      mid = fetcher_in_flight_bytes(f);
  }
  ck_assert_ptr_eq(done, x);
  ck_assert_int_eq(x->error, FETCH_OK);
  ck_assert_uint_eq(x->body.len, 2000);
  ck_assert_uint_eq(mid, 2001); /* Content-Length + the NUL's byte, more than the 1 KiB buffer */
  ck_assert_uint_eq(fetcher_in_flight_bytes(f), 0);
  fetch_free(x);
  fetcher_free(f);
  free(u);
}
END_TEST

/* A request that expects a size (the job's last body) counts it from the
 * start, before any byte arrives, and no longer once done. */
START_TEST(test_in_flight_expected) {
  struct fetcher *f = fetcher_new();
  struct fetch_request req;
  struct fetch *x = NULL, *done = NULL;
  char *u = url("/halfslow");
  int64_t deadline = time_mono_ms() + 20000;

  memset(&req, 0, sizeof(req));
  req.url = u;
  req.timeout_ms = 10000;
  req.max_size = 1 << 20;
  req.expected_size = 5000;
  ck_assert_int_eq(fetcher_start(f, &req, &x), 0);
  ck_assert_uint_eq(fetcher_in_flight_bytes(f), 5000);
  while (!done && time_mono_ms() < deadline) {
    fetcher_poll(f, NULL, 0, 100);
    fetcher_perform(f);
    done = fetcher_next_done(f);
    if (!done)
      ck_assert_uint_eq(fetcher_in_flight_bytes(f), 5000); /* more than 2000 + 1 */
  }
  ck_assert_ptr_eq(done, x);
  ck_assert_uint_eq(x->body.len, 2000);
  ck_assert_uint_eq(fetcher_in_flight_bytes(f), 0);
  fetch_free(x);
  /* An expectation over the cap counts as the cap. */
  req.expected_size = 10ULL << 30;
  ck_assert_int_eq(fetcher_start(f, &req, &x), 0);
  ck_assert_uint_eq(fetcher_in_flight_bytes(f), 1 << 20);
  fetcher_abort(f, x);
  ck_assert_uint_eq(fetcher_in_flight_bytes(f), 0);
  fetch_free(fetcher_next_done(f));
  fetcher_free(f);
  free(u);
}
END_TEST

START_TEST(test_url_build) {
  struct cfg_pair params[2] = {{(char *)"debug", (char *)"0"}, {(char *)"a b", (char *)"x&y"}};
  char *u = url_build("http://h:1/", "/debug/pprof/profile", 10, NULL, 0);
  ck_assert_str_eq(u, "http://h:1/debug/pprof/profile?seconds=10");
  free(u);
  u = url_build("http://h:1", "/debug/pprof/trace", 0.5, params, 2);
  ck_assert_str_eq(u, "http://h:1/debug/pprof/trace?seconds=0.5&debug=0&a%20b=x%26y");
  free(u);
  u = url_build("http://h:1", "/debug/pprof/heap", 0, NULL, 0);
  ck_assert_str_eq(u, "http://h:1/debug/pprof/heap");
  free(u);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fetch");
  TCase *tc = tcase_create("loopback");
  SRunner *sr;
  int failed;
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_ok_byte_exact);
  tcase_add_test(tc, test_in_flight_bytes);
  tcase_add_test(tc, test_in_flight_expected);
  tcase_add_test(tc, test_http_error);
  tcase_add_test(tc, test_too_large_streaming);
  tcase_add_test(tc, test_too_large_content_length);
  tcase_add_test(tc, test_timeout);
  tcase_add_test(tc, test_dropped);
  tcase_add_test(tc, test_refused);
  tcase_add_test(tc, test_no_redirects);
  tcase_add_test(tc, test_auth_and_headers);
  tcase_add_test(tc, test_many_parallel_and_abort);
  tcase_add_test(tc, test_url_build);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
