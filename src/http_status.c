/* The monitoring endpoints: /healthz (the process answers), /readyz
 * (configuration loaded, store writable, database readable) and /metrics
 * (the daemon's registry plus the endpoint's own request metrics). */
#include "config.h"

#include <stdio.h>

#include "http_int.h"
#include "metrics.h"

#define M_HTTP_REQUESTS "pprofd_http_requests_total"
#define M_HTTP_DURATION "pprofd_http_request_duration_seconds"
#define M_HTTP_CONNECTIONS "pprofd_http_connections"

void http_status_declare_metrics(struct metrics *m) {
  static const double buckets[] = {0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60};
  metrics_declare(m, M_HTTP_REQUESTS, METRIC_COUNTER,
                  "HTTP requests answered by the built-in endpoint, by handler and status code.",
                  NULL, 0);
  metrics_declare(m, M_HTTP_DURATION, METRIC_HISTOGRAM,
                  "Time to prepare an HTTP response (sending not included), by handler.", buckets,
                  sizeof(buckets) / sizeof(buckets[0]));
  metrics_declare(m, M_HTTP_CONNECTIONS, METRIC_GAUGE, "Open HTTP connections.", NULL, 0);
  metrics_set(m, M_HTTP_CONNECTIONS, NULL, 0);
}

void http_status_count(struct metrics *m, const char *handler, unsigned status, double seconds) {
  char code[8];
  const char *lc[] = {"handler", handler, "code", code, NULL};
  const char *ld[] = {"handler", handler, NULL};
  snprintf(code, sizeof(code), "%u", status);
  metrics_add(m, M_HTTP_REQUESTS, lc, 1);
  metrics_observe(m, M_HTTP_DURATION, ld, seconds);
}

void http_status_healthz(struct http_req *rq, struct http_resp *rs) {
  http_reply_bytes(rs, 200, "text/plain; charset=utf-8", "ok\n", 3);
  (void)rq;
}

void http_status_readyz(struct http_req *rq, struct http_resp *rs) {
  struct store *st;
  if (rq->srv->ready && !rq->srv->ready(rq->srv->userdata)) {
    http_reply_error(rs, 503, "not ready: configuration not loaded or store not writable");
    return;
  }
  st = http_store_get(rq, rs); /* fills a 503 naming the problem */
  if (!st)
    return;
  http_store_put(rq, st, false);
  http_reply_json(rs, 200, json_pack("{s:s}", "status", "ready"));
}

static ssize_t metrics_read(void *cls, char *dst, size_t max) {
  return metrics_cursor_read(cls, dst, max);
}

static void metrics_read_free(void *cls) {
  metrics_cursor_free(cls);
}

/* Streamed: at 40,000 jobs the page is over 10 MB, and it is rendered a
 * few series at a time while it is sent instead of held whole. */
void http_status_metrics(struct http_req *rq, struct http_resp *rs) {
  http_reply_stream(rs, 200, "text/plain; version=0.0.4; charset=utf-8", metrics_read,
                    metrics_read_free, metrics_cursor_new(rq->srv->metrics));
}
