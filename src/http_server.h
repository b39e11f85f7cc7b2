/* The built-in HTTP endpoint: Prometheus metrics, health checks, a JSON
 * query API over the stored captures (that `go tool pprof` can read), the
 * profefe-compatible API and a small web view. It runs on libmicrohttpd's
 * own threads with read-only store connections, so a slow or abusive client
 * never blocks collection: connections are capped (in total and per client
 * address), idle ones time out, and heavy requests (downloads, merges,
 * flame graphs) run a few at a time.
 *
 * Every path but /healthz needs the bearer token when one is configured:
 * "Authorization: Bearer TOKEN", or HTTP Basic auth with TOKEN as the
 * password (any user name), which browsers and Go's HTTP client (a URL
 * such as http://u:TOKEN@host:7070/...) send by themselves. */
#ifndef PPROFD_HTTP_SERVER_H
#define PPROFD_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>

struct metrics;
struct http_server;

#define HTTP_DEFAULT_LISTEN "127.0.0.1:7070"
#define HTTP_DEFAULT_MAX_CONNECTIONS 64
#define HTTP_DEFAULT_TIMEOUT_S 30

struct http_server_opts {
  const char *listen;            /* "127.0.0.1:7070", "[::1]:7070", ":7070"; port 0 = any free */
  const char *token;             /* bearer token required for all but /healthz; NULL = none */
  const char *db_path;           /* the server opens its own read-only store connection(s) */
  struct metrics *metrics;       /* rendered at /metrics; may be NULL */
  bool (*ready)(void *userdata); /* /readyz: config loaded and store writable */
  void *userdata;
  unsigned max_connections; /* default 64 */
  unsigned timeout_s;       /* per connection, default 30 */
  /* Additions (0 = default): */
  unsigned max_connections_per_ip; /* default max_connections / 2 */
  unsigned heavy_slots;            /* concurrent downloads/merges/flame graphs, default 2 */
  unsigned max_merge_captures;     /* captures one merge may combine, default 1000 */
};

/* Starts listening and serving on internal threads. On failure returns a
 * negative errno and sets *ret_err (caller frees) to a message naming the
 * address ("cannot listen on 127.0.0.1:7070: Address already in use"). */
int http_server_start(const struct http_server_opts *o, struct http_server **ret, char **ret_err);
/* Stops accepting, waits for requests being handled, closes everything. */
struct http_server *http_server_stop(struct http_server *s);
/* The bound TCP port (useful with port 0). */
int http_server_port(const struct http_server *s);

/* Parses a listen address into host and port. host is "" for all
 * addresses (":7070"); IPv6 literals are given without brackets. */
int http_parse_listen(const char *listen, char **ret_host, int *ret_port, char **ret_err);

#endif
