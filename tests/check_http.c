/* The HTTP endpoint's server side: listen addresses, health and readiness,
 * methods, authentication, metrics, limits on connections and clients,
 * idle timeouts and the heavy-request slots. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon_metrics.h"
#include "http_client.h"
#include "http_int.h"
#include "http_server.h"
#include "metrics.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

static char *tmpdir;
static char *db_path;

static void setup(void) {
  struct store *s = NULL;
  char *err = NULL;
  tmpdir = test_tmpdir();
  db_path = xasprintf("%s/pprofd.db", tmpdir);
  ck_assert_msg(store_open(db_path, 0, &s, &err) == 0, "store_open: %s", err);
  store_close(s);
}

static void teardown(void) {
  test_rm_rf(tmpdir);
  freep(&tmpdir);
  freep(&db_path);
}

static bool ready_flag;
static bool is_ready(void *userdata) {
  return *(bool *)userdata;
}

static struct http_server *start(const struct http_server_opts *extra) {
  struct http_server_opts o = {0};
  struct http_server *s = NULL;
  char *err = NULL;
  if (extra)
    o = *extra;
  if (!o.listen)
    o.listen = "127.0.0.1:0";
  if (!o.db_path)
    o.db_path = db_path;
  ck_assert_msg(http_server_start(&o, &s, &err) == 0, "http_server_start: %s", err);
  ck_assert_int_gt(http_server_port(s), 0);
  return s;
}

static void assert_json_error(const struct hc_resp *r, long status, const char *needle) {
  json_t *j;
  char *ct = hc_header(r, "Content-Type");
  ck_assert_int_eq(r->status, status);
  ck_assert_msg(ct && strcmp(ct, "application/json") == 0, "content type %s", ct ? ct : "none");
  free(ct);
  j = hc_json(r);
  ck_assert_msg(json_is_string(json_object_get(j, "error")), "no error: %s", r->body);
  ck_assert_msg(strstr(json_string_value(json_object_get(j, "error")), needle),
                "error '%s' lacks '%s'", json_string_value(json_object_get(j, "error")), needle);
  json_decref(j);
}

START_TEST(test_parse_listen) {
  static const struct {
    const char *in, *host;
    int port;
  } ok[] = {{"127.0.0.1:7070", "127.0.0.1", 7070},
            {"[::1]:7070", "::1", 7070},
            {":7070", "", 7070},
            {"localhost:0", "localhost", 0},
            {"[::]:65535", "::", 65535}};
  static const char *const bad[] = {"",       "7070",      "127.0.0.1",  "::1:7070",
                                    "[::1]",  "[::1]7070", "host:70000", "host:-1",
                                    "host:x", "[]:7070",   "host:7070 ", NULL};
  for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
    char *host = NULL, *err = NULL;
    int port = -1;
    ck_assert_msg(http_parse_listen(ok[i].in, &host, &port, &err) == 0, "%s: %s", ok[i].in, err);
    ck_assert_str_eq(host, ok[i].host);
    ck_assert_int_eq(port, ok[i].port);
    free(host);
  }
  for (size_t i = 0; bad[i]; i++) {
    char *host = NULL, *err = NULL;
    int port;
    ck_assert_msg(http_parse_listen(bad[i], &host, &port, &err) == -EINVAL, "accepted '%s'",
                  bad[i]);
    ck_assert_ptr_nonnull(strstr(err, "invalid listen address"));
    free(err);
  }
}
END_TEST

START_TEST(test_listen_errors) {
  struct http_server_opts o = {0};
  struct http_server *a = start(NULL), *b = NULL;
  char addr[64], *err = NULL;

  /* The address in use is named in the message. */
  snprintf(addr, sizeof(addr), "127.0.0.1:%d", http_server_port(a));
  o.listen = addr;
  o.db_path = db_path;
  ck_assert_int_eq(http_server_start(&o, &b, &err), -EADDRINUSE);
  ck_assert_msg(strstr(err, addr) && strstr(err, "in use"), "%s", err);
  freep(&err);
  o.listen = "not an address";
  ck_assert_int_eq(http_server_start(&o, &b, &err), -EINVAL);
  ck_assert_ptr_nonnull(strstr(err, "not an address"));
  freep(&err);
  o.listen = "192.0.2.1:0"; /* TEST-NET: not a local address */
  ck_assert_int_lt(http_server_start(&o, &b, &err), 0);
  ck_assert_ptr_nonnull(strstr(err, "192.0.2.1:0"));
  freep(&err);
  http_server_stop(a);
  ck_assert_ptr_null(http_server_stop(NULL));
}
END_TEST

START_TEST(test_ipv6_and_any) {
  struct http_server_opts o = {0};
  struct http_server *s;
  struct hc_resp r;

  /* ":PORT" listens on every address, IPv4 included. */
  o.listen = ":0";
  s = start(&o);
  hc_get(http_server_port(s), "/healthz", &r);
  ck_assert_int_eq(r.status, 200);
  hc_resp_done(&r);
  http_server_stop(s);
}
END_TEST

START_TEST(test_basics) {
  struct http_server_opts o = {0};
  struct http_server *s;
  struct hc_opts post = {.method = "POST"}, head = {.method = "HEAD"};
  struct hc_resp r;
  char *h;
  int port;

  ready_flag = false;
  o.ready = is_ready;
  o.userdata = &ready_flag;
  s = start(&o);
  port = http_server_port(s);

  hc_get(port, "/healthz", &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_str_eq(r.body, "ok\n");
  hc_resp_done(&r);

  hc_get(port, "/readyz", &r);
  assert_json_error(&r, 503, "not ready");
  hc_resp_done(&r);
  ready_flag = true;
  hc_get(port, "/readyz", &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_ptr_nonnull(strstr(r.body, "\"ready\""));
  hc_resp_done(&r);

  hc_get(port, "/nope", &r);
  assert_json_error(&r, 404, "/nope");
  hc_resp_done(&r);
  hc_get(port, "/api/v1/nothing/here", &r);
  assert_json_error(&r, 404, "no such path");
  hc_resp_done(&r);

  hc_request(port, "/api/v1/captures", &post, &r);
  assert_json_error(&r, 405, "POST");
  h = hc_header(&r, "Allow");
  ck_assert_str_eq(h, "GET, HEAD");
  free(h);
  hc_resp_done(&r);

  hc_request(port, "/healthz", &head, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_int_eq(r.len, 0);
  h = hc_header(&r, "Content-Length");
  ck_assert_str_eq(h, "3");
  free(h);
  hc_resp_done(&r);

  /* The web page: HTML with a policy that forbids loading anything from
   * elsewhere. */
  hc_get(port, "/", &r);
  ck_assert_int_eq(r.status, 200);
  h = hc_header(&r, "Content-Type");
  ck_assert_str_eq(h, "text/html; charset=utf-8");
  free(h);
  h = hc_header(&r, "Content-Security-Policy");
  ck_assert_ptr_nonnull(h);
  ck_assert_ptr_nonnull(strstr(h, "default-src 'none'"));
  free(h);
  ck_assert_ptr_nonnull(strstr(r.body, "<!DOCTYPE html>"));
  ck_assert_ptr_null(strstr(r.body, "http://"));
  ck_assert_ptr_null(strstr(r.body, "https://"));
  hc_resp_done(&r);

  /* Too many query parameters. */
  {
    struct buf p;
    buf_init(&p, 1 << 20);
    buf_printf(&p, "/api/v1/captures?");
    for (int i = 0; i < HTTP_MAX_PARAMS + 1; i++)
      buf_printf(&p, "label=k%d=v&", i);
    buf_terminate(&p);
    hc_get(port, (char *)p.data, &r);
    assert_json_error(&r, 400, "too many query parameters");
    hc_resp_done(&r);
    buf_done(&p);
  }
  http_server_stop(s);
}
END_TEST

START_TEST(test_readyz_without_database) {
  struct http_server_opts o = {0};
  struct http_server *s;
  struct hc_resp r;
  char *missing = xasprintf("%s/missing/pprofd.db", tmpdir);

  o.db_path = missing;
  s = start(&o);
  hc_get(http_server_port(s), "/readyz", &r);
  assert_json_error(&r, 503, "database unavailable");
  hc_resp_done(&r);
  hc_get(http_server_port(s), "/healthz", &r);
  ck_assert_int_eq(r.status, 200);
  hc_resp_done(&r);
  http_server_stop(s);
  free(missing);
}
END_TEST

START_TEST(test_auth) {
  static const char *const paths[] = {
      "/", "/metrics", "/readyz", "/api/v1/captures", "/api/0/version", "/nope", NULL};
  struct http_server_opts o = {0};
  struct http_server *s;
  struct hc_opts good = {.auth = "Bearer s3cr3t token"}, wrong = {.auth = "Bearer s3cr3t"},
                 longer = {.auth = "Bearer s3cr3t token!"}, basic = {.userpwd = "me:s3cr3t token"},
                 basic_wrong = {.userpwd = "s3cr3t token:x"}, other = {.auth = "Digest x"};
  struct hc_resp r;
  int port;

  o.token = "s3cr3t token";
  s = start(&o);
  port = http_server_port(s);
  /* /healthz stays open. */
  hc_get(port, "/healthz", &r);
  ck_assert_int_eq(r.status, 200);
  hc_resp_done(&r);
  for (size_t i = 0; paths[i]; i++) {
    char *h;
    hc_get(port, paths[i], &r);
    assert_json_error(&r, 401, "authentication required");
    h = hc_header(&r, "WWW-Authenticate");
    ck_assert_ptr_nonnull(h);
    /* The page asks browsers for credentials; the API names the scheme. */
    ck_assert_str_eq(h, strcmp(paths[i], "/") == 0 ? "Basic realm=\"pprofd\", charset=\"UTF-8\""
                                                   : "Bearer realm=\"pprofd\"");
    free(h);
    hc_resp_done(&r);
    hc_request(port, paths[i], &wrong, &r);
    ck_assert_int_eq(r.status, 401);
    hc_resp_done(&r);
    hc_request(port, paths[i], &longer, &r);
    ck_assert_int_eq(r.status, 401);
    hc_resp_done(&r);
    hc_request(port, paths[i], &basic_wrong, &r);
    ck_assert_int_eq(r.status, 401);
    hc_resp_done(&r);
    hc_request(port, paths[i], &other, &r);
    ck_assert_int_eq(r.status, 401);
    hc_resp_done(&r);
  }
  hc_request(port, "/metrics", &good, &r);
  ck_assert_int_eq(r.status, 200);
  hc_resp_done(&r);
  hc_request(port, "/metrics", &basic, &r);
  ck_assert_int_eq(r.status, 200);
  hc_resp_done(&r);
  hc_request(port, "/", &basic, &r);
  ck_assert_int_eq(r.status, 200);
  hc_resp_done(&r);
  /* An authenticated request for a missing path is a 404, not a 401. */
  hc_request(port, "/nope", &good, &r);
  ck_assert_int_eq(r.status, 404);
  hc_resp_done(&r);
  http_server_stop(s);
}
END_TEST

START_TEST(test_metrics) {
  struct http_server_opts o = {0};
  struct http_server *s;
  struct metrics *m = metrics_new();
  struct capture *c = capture_new();
  struct hc_resp r;
  char *ct;
  int port;

  daemon_metrics_declare(m);
  c->target = xstrdup("api");
  c->instance = xstrdup("10.0.0.1:6060");
  c->type = xstrdup("heap");
  c->status = CAPTURE_OK;
  c->duration_ms = 250;
  daemon_metrics_capture(m, c);
  capture_free(c);
  o.metrics = m;
  s = start(&o);
  port = http_server_port(s);
  hc_get(port, "/healthz", &r);
  hc_resp_done(&r);
  hc_get(port, "/nope", &r);
  hc_resp_done(&r);
  hc_get(port, "/metrics", &r);
  ck_assert_int_eq(r.status, 200);
  ct = hc_header(&r, "Content-Type");
  ck_assert_str_eq(ct, "text/plain; version=0.0.4; charset=utf-8");
  free(ct);
  /* The daemon's families and the endpoint's own. */
  ck_assert_ptr_nonnull(
      strstr(r.body, "pprofd_captures_total{target=\"api\",type=\"heap\",status=\"ok\"} 1\n"));
  ck_assert_ptr_nonnull(strstr(r.body, "# TYPE pprofd_http_requests_total counter\n"));
  ck_assert_ptr_nonnull(
      strstr(r.body, "pprofd_http_requests_total{handler=\"healthz\",code=\"200\"} 1\n"));
  ck_assert_ptr_nonnull(
      strstr(r.body, "pprofd_http_requests_total{handler=\"other\",code=\"404\"} 1\n"));
  ck_assert_ptr_nonnull(
      strstr(r.body, "pprofd_http_request_duration_seconds_count{handler=\"healthz\"} 1\n"));
  /* This request's own connection is open while the page renders (the
   * earlier ones may not have been noticed as closed yet). */
  {
    const char *g = strstr(r.body, "\npprofd_http_connections ");
    ck_assert_ptr_nonnull(g);
    long n = strtol(g + strlen("\npprofd_http_connections "), NULL, 10);
    ck_assert_int_ge(n, 1);
    ck_assert_int_le(n, 3);
  }
  hc_resp_done(&r);
  http_server_stop(s);
  metrics_free(m);

  /* Without a registry the server keeps its own. */
  s = start(NULL);
  hc_get(http_server_port(s), "/metrics", &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_ptr_nonnull(strstr(r.body, "pprofd_http_connections"));
  ck_assert_ptr_null(strstr(r.body, "pprofd_captures_total"));
  hc_resp_done(&r);
  http_server_stop(s);
}
END_TEST

/* A TCP connection to the server from a given local address. */
static int tcp_connect(int port, const char *from) {
  struct sockaddr_in a = {.sin_family = AF_INET}, local = {.sin_family = AF_INET};
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  if (from) {
    inet_pton(AF_INET, from, &local.sin_addr);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&local, sizeof(local)), 0);
  }
  a.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  return fd;
}

/* True when the server closed fd within timeout_ms. */
static bool closed_within(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  char c;
  int64_t end = time_mono_ms() + timeout_ms;
  for (;;) {
    int64_t left = end - time_mono_ms();
    if (left <= 0)
      return false;
    if (poll(&p, 1, (int)left) > 0) {
      ssize_t n = recv(fd, &c, 1, 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET))
        return true;
    }
  }
}

static void healthz_from(int port, const char *from) {
  struct hc_opts o = {.interface = from, .timeout_ms = 2000};
  struct hc_resp r;
  int64_t t0 = time_mono_ms();
  hc_request(port, "/healthz", &o, &r);
  ck_assert_msg(r.status == 200, "healthz from %s: status %ld", from, r.status);
  ck_assert_int_lt(time_mono_ms() - t0, 1000);
  hc_resp_done(&r);
}

/* Idle connections and a slowloris client from one address cannot take
 * the endpoint away from other clients, and idle ones are closed. */
/* A registry with a page of about 400 KB: many chunks when streamed. */
static struct metrics *big_registry(void) {
  struct metrics *m = metrics_new();
  static const char *const types[] = {"cpu", "heap", "allocs", "goroutine", "trace"};
  daemon_metrics_declare(m);
  for (int i = 0; i < 1000; i++) {
    char t[32];
    snprintf(t, sizeof(t), "svc-%04d", i);
    for (size_t k = 0; k < 5; k++) {
      struct capture *c = capture_new();
      c->target = xstrdup(t);
      c->instance = xstrdup("10.0.0.1:6060");
      c->type = xstrdup(types[k]);
      c->status = (i + (int)k) % 9 ? CAPTURE_OK : CAPTURE_FAILED;
      c->started_at_ms = 1700000000000 + i * 1000 + (int64_t)k;
      c->duration_ms = 10 * (int64_t)k;
      daemon_metrics_capture(m, c);
      capture_free(c);
    }
  }
  return m;
}

/* /metrics is streamed in pieces: the page served equals the page rendered
 * in one go, and HEAD gets the headers only. */
START_TEST(test_metrics_streamed) {
  struct http_server_opts o = {0};
  struct http_server *s;
  struct metrics *m = big_registry(), *ref = big_registry();
  const struct hc_opts head = {.method = "HEAD"};
  struct hc_resp r;
  struct buf want;
  const char *own;
  char *te;

  buf_init(&want, 1 << 24);
  ck_assert_int_eq(metrics_render(ref, &want), 0);
  ck_assert_uint_gt(want.len, 300000);
  o.metrics = m;
  s = start(&o);
  hc_get(http_server_port(s), "/metrics", &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_uint_gt(r.len, want.len);
  /* The daemon's families come first; the endpoint's own follow. The
   * start time differs between the two registries. */
  own = strstr(r.body, "# HELP pprofd_start_time_seconds");
  ck_assert_ptr_nonnull(own);
  ck_assert_int_eq(memcmp(r.body, want.data, (size_t)(own - r.body)), 0);
  ck_assert_ptr_nonnull(strstr(r.body, "\n# TYPE pprofd_http_requests_total counter\n"));
  ck_assert_int_eq(r.body[r.len - 1], '\n');
  te = hc_header(&r, "Transfer-Encoding");
  ck_assert_ptr_nonnull(te);
  ck_assert_str_eq(te, "chunked"); /* streamed, not held whole */
  free(te);
  hc_resp_done(&r);
  hc_request(http_server_port(s), "/metrics", &head, &r);
  ck_assert_int_eq(r.status, 200);
  ck_assert_uint_eq(r.len, 0);
  hc_resp_done(&r);
  http_server_stop(s);
  buf_done(&want);
  metrics_free(m);
  metrics_free(ref);
}
END_TEST

START_TEST(test_abusive_clients) {
  struct http_server_opts o = {0};
  struct http_server *s;
  int port, fds[6], slow;
  const char *partial = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";

  o.max_connections = 12;
  o.max_connections_per_ip = 6;
  o.timeout_s = 2;
  s = start(&o);
  port = http_server_port(s);

  /* Five idle connections and one slowloris from 127.0.0.1 fill its quota. */
  for (int i = 0; i < 5; i++)
    fds[i] = tcp_connect(port, "127.0.0.1");
  slow = tcp_connect(port, "127.0.0.1");
  ck_assert_int_eq(send(slow, partial, strlen(partial), 0), (ssize_t)strlen(partial));
  usleep(200 * 1000);
  /* Over the per-address limit: closed at once. */
  fds[5] = tcp_connect(port, "127.0.0.1");
  ck_assert(closed_within(fds[5], 1000));
  close(fds[5]);
  /* Another client is served while the slowloris drips a byte at a time. */
  for (int i = 0; i < 8; i++) {
    ck_assert_int_eq(send(slow, "a", 1, MSG_NOSIGNAL), 1);
    healthz_from(port, "127.0.0.2");
    usleep(150 * 1000);
  }
  /* Idle connections are closed after the timeout... */
  for (int i = 0; i < 5; i++) {
    ck_assert_msg(closed_within(fds[i], 3000), "idle connection %d still open", i);
    close(fds[i]);
  }
  /* ...and the slowloris too once it stops sending. */
  ck_assert(closed_within(slow, 3500));
  close(slow);
  healthz_from(port, "127.0.0.1");
  http_server_stop(s);
}
END_TEST

/* Connections over the global limit are refused, and service resumes. */
START_TEST(test_connection_limit) {
  struct http_server_opts o = {0};
  struct http_server *s;
  int port, fds[5], extra;

  o.max_connections = 4;
  o.max_connections_per_ip = 4;
  o.timeout_s = 30;
  s = start(&o);
  port = http_server_port(s);
  for (int i = 0; i < 4; i++)
    fds[i] = tcp_connect(port, i % 2 ? "127.0.0.3" : "127.0.0.4");
  usleep(200 * 1000);
  extra = tcp_connect(port, "127.0.0.5");
  ck_assert(closed_within(extra, 1000));
  close(extra);
  for (int i = 0; i < 4; i++)
    close(fds[i]);
  usleep(300 * 1000);
  healthz_from(port, "127.0.0.5");
  http_server_stop(s);
}
END_TEST

/* Heavy work waits for a slot, then gives up with 503. */
START_TEST(test_slots) {
  struct http_server srv;
  struct http_req rq;
  struct http_resp a, b;
  int64_t t0;
  int base;

  memset(&srv, 0, sizeof(srv));
  memset(&rq, 0, sizeof(rq));
  http_slots_init(&srv.heavy, 1);
  srv.slot_wait_ms = 200;
  rq.srv = &srv;
  http_resp_init(&a);
  http_resp_init(&b);
  base = getpriority(PRIO_PROCESS, (id_t)getpid());
  ck_assert_int_eq(http_slot_take(&rq, &a), 0);
  /* Heavy work runs niced. */
  ck_assert_int_eq(getpriority(PRIO_PROCESS, (id_t)gettid()), MIN(base + HTTP_HEAVY_NICE, 19));
  ck_assert_int_eq(http_slot_take(&rq, &a), 0); /* idempotent */
  t0 = time_mono_ms();
  ck_assert_int_eq(http_slot_take(&rq, &b), -EBUSY);
  ck_assert_int_ge(time_mono_ms() - t0, 150);
  ck_assert_int_eq(b.status, 503);
  /* The body is a length-delimited buffer, not a C string. */
  ck_assert_ptr_nonnull(memmem(b.body.data, b.body.len, "busy", 4));
  http_resp_done(&a); /* releases */
  ck_assert_int_eq(http_slot_take(&rq, &b), 0);
  http_resp_done(&b);
  ck_assert_int_eq(srv.heavy.used, 0);
  http_slots_done(&srv.heavy);
}
END_TEST

int main(void) {
  Suite *su = suite_create("http");
  TCase *tc = tcase_create("server");
  SRunner *sr;
  int failed;

  curl_global_init(CURL_GLOBAL_DEFAULT);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_parse_listen);
  tcase_add_test(tc, test_listen_errors);
  tcase_add_test(tc, test_ipv6_and_any);
  tcase_add_test(tc, test_basics);
  tcase_add_test(tc, test_readyz_without_database);
  tcase_add_test(tc, test_auth);
  tcase_add_test(tc, test_metrics);
  tcase_add_test(tc, test_metrics_streamed);
  tcase_add_test(tc, test_abusive_clients);
  tcase_add_test(tc, test_connection_limit);
  tcase_add_test(tc, test_slots);
  suite_add_tcase(su, tc);
  sr = srunner_create(su);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  curl_global_cleanup();
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
