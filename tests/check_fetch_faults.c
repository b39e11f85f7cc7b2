/* fetch.c under misbehaving servers: the error messages an SRE reads in
 * `pprofctl list`, and a keep-alive connection left dirty by a response
 * longer than its Content-Length. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fetch.h"
#include "minihttpd.h"
#include "testfetch.h"
#include "util.h"

static struct minihttpd *srv;

static void setup(void) {
  static const uint8_t file[] = "not a profile";
  curl_global_init(CURL_GLOBAL_DEFAULT);
  srv = minihttpd_start(file, sizeof(file) - 1);
  ck_assert_ptr_nonnull(srv);
}

static void teardown(void) {
  minihttpd_stop(srv);
  curl_global_cleanup();
}

static struct fetch *run_path(const char *path, int64_t timeout_ms, uint64_t max_size) {
  struct fetcher *f = fetcher_new();
  char *u = xasprintf("http://127.0.0.1:%d%s", minihttpd_port(srv), path);
  struct fetch *x = test_fetch_run(f, u, timeout_ms, max_size, NULL);
  fetcher_free(f);
  free(u);
  return x;
}

#define ck_assert_has(s, sub) ck_assert_msg(strstr((s), (sub)), "'%s' lacks '%s'", (s), (sub))

START_TEST(test_timeout_message) {
  struct fetch *x = run_path("/slow", 500, 1024);
  ck_assert_int_eq(x->error, FETCH_ERR_TIMEOUT);
  ck_assert_has(x->error_text, "timed out after 500ms");
  ck_assert_has(x->error_text, "0 bytes of the response received");
  fetch_free(x);
}
END_TEST

START_TEST(test_too_large_messages) {
  struct fetch *x = run_path("/biglen", 5000, 1 << 20);
  ck_assert_int_eq(x->error, FETCH_ERR_TOO_LARGE);
  ck_assert_str_eq(x->error_text,
                   "response of 100.0 MiB (Content-Length) exceeds max_response_size (1.0 MiB)");
  fetch_free(x);
  x = run_path("/big", 5000, 100000);
  ck_assert_int_eq(x->error, FETCH_ERR_TOO_LARGE);
  ck_assert_has(x->error_text, "response exceeds max_response_size (97.7 KiB)");
  fetch_free(x);
}
END_TEST

START_TEST(test_dropped_message) {
  struct fetch *x = run_path("/drop", 5000, 1 << 20);
  ck_assert_int_eq(x->error, FETCH_ERR_TRANSFER);
  ck_assert_str_eq(x->error_text,
                   "connection closed by the target after 10 of 1000 bytes (Content-Length)");
  fetch_free(x);
}
END_TEST

START_TEST(test_refused_message) {
  struct fetcher *f = fetcher_new();
  struct fetch *x = test_fetch_run(f, "http://127.0.0.1:9/debug/pprof/heap", 2000, 1024, NULL);
  ck_assert_int_eq(x->error, FETCH_ERR_CONNECT);
  ck_assert_has(x->error_text, "127.0.0.1 port 9");
  ck_assert_has(x->error_text, ": Connection refused");
  ck_assert_ptr_null(strstr(x->error_text, "Couldn't connect"));
  fetch_free(x);
  fetcher_free(f);
}
END_TEST

/* A server that answers its first request with bytes beyond the
 * Content-Length and keeps the connection open; a request that comes on
 * that connection again gets no answer, one on a new connection "fresh". */
struct dirty_server {
  int fd, port;
  bool second_on_first_conn;
  pthread_t thread;
};

static bool read_request(int fd) {
  char buf[4096];
  size_t n = 0;
  while (n < sizeof(buf) - 1) {
    ssize_t r = read(fd, buf + n, sizeof(buf) - 1 - n);
    if (r <= 0)
      return false;
    n += (size_t)r;
    buf[n] = '\0';
    if (strstr(buf, "\r\n\r\n"))
      return true;
  }
  return false;
}

static void write_str(int fd, const char *s) {
  size_t len = strlen(s);
  while (len > 0) {
    ssize_t r = write(fd, s, len);
    if (r <= 0)
      return;
    s += r;
    len -= (size_t)r;
  }
}

static void *dirty_serve(void *arg) {
  struct dirty_server *d = arg;
  int c = accept(d->fd, NULL, NULL);

  if (c < 0)
    return NULL;
  if (read_request(c)) {
    /* Headers and body apart, as a server's two writes often arrive: curl
     * then reads exactly Content-Length bytes of body and never sees the
     * excess (read together with the body, curl would drop the
     * connection). The pause is what makes the two reads; nothing to wait
     * for. */
    write_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n");
    usleep(200 * 1000);
    write_str(c, "okLEFTOVER BYTES\r\n\r\n");
  }
  d->second_on_first_conn = read_request(c);
  close(c);
  c = accept(d->fd, NULL, NULL);
  if (c < 0)
    return NULL;
  if (read_request(c))
    write_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfresh");
  close(c);
  return NULL;
}

START_TEST(test_stale_connection_retried) {
  struct dirty_server d = {0};
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t sl = sizeof(sa);
  struct fetcher *f = fetcher_new();
  struct fetch *x;
  char *u;

  d.fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(d.fd, 0);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(d.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  ck_assert_int_eq(listen(d.fd, 4), 0);
  ck_assert_int_eq(getsockname(d.fd, (struct sockaddr *)&sa, &sl), 0);
  ck_assert_int_eq(pthread_create(&d.thread, NULL, dirty_serve, &d), 0);
  u = xasprintf("http://127.0.0.1:%d/debug/pprof/heap", ntohs(sa.sin_port));

  x = test_fetch_run(f, u, 5000, 1024, NULL);
  ck_assert_int_eq(x->error, FETCH_OK);
  ck_assert_uint_eq(x->body.len, 2);
  fetch_free(x);
  /* The next request goes out on the same connection, reads the leftover
   * bytes as its reply, and is retried once on a new connection. */
  x = test_fetch_run(f, u, 5000, 1024, NULL);
  ck_assert_msg(x->error == FETCH_OK, "%s", x->error_text);
  ck_assert_int_eq(x->http_status, 200);
  ck_assert_uint_eq(x->body.len, 5);
  ck_assert_mem_eq(x->body.data, "fresh", 5);
  fetch_free(x);
  fetcher_free(f);
  pthread_join(d.thread, NULL);
  ck_assert_msg(d.second_on_first_conn, "curl did not reuse the connection: nothing was tested");
  close(d.fd);
  free(u);
}
END_TEST

int main(void) {
  Suite *s = suite_create("fetch_faults");
  TCase *tc = tcase_create("loopback");
  SRunner *sr;
  int failed;
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_timeout_message);
  tcase_add_test(tc, test_too_large_messages);
  tcase_add_test(tc, test_dropped_message);
  tcase_add_test(tc, test_refused_message);
  tcase_add_test(tc, test_stale_connection_retried);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
