/* The HTTP endpoint's lifecycle and request dispatch: one listening
 * socket we bind ourselves (for exact error messages), libmicrohttpd with
 * a thread per connection (so a long merge never delays /healthz), limits
 * on connections in total and per client address, an idle timeout, and a
 * route table that maps paths to handlers. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_int.h"
#include "metrics.h"
#include "util.h"

/* Request headers, the request line and MHD's write buffer live in this
 * much memory per connection; larger requests get 431/414. */
#define CONNECTION_MEMORY_LIMIT (64 * 1024)
/* Idle store connections kept for reuse. */
#define POOL_IDLE 4

enum {
  ROUTE_EXACT = 1 << 0,   /* the path must equal the pattern (else: prefix) */
  ROUTE_NO_AUTH = 1 << 1, /* open even when a token is configured */
  ROUTE_BROWSER = 1 << 2, /* a page: 401 asks the browser for Basic credentials */
};

struct route {
  const char *pattern;
  unsigned flags;
  const char *handler; /* metrics label */
  void (*fn)(struct http_req *rq, struct http_resp *rs);
};

static const struct route routes[] = {
    {"/healthz", ROUTE_EXACT | ROUTE_NO_AUTH, "healthz", http_status_healthz},
    {"/readyz", ROUTE_EXACT, "readyz", http_status_readyz},
    {"/metrics", ROUTE_EXACT, "metrics", http_status_metrics},
    {"/api/v1/", 0, "api", http_api_handle},
    {"/api/0/", 0, "profefe", http_profefe_handle},
    {"/", ROUTE_EXACT | ROUTE_BROWSER, "ui", http_ui_handle},
};

static const struct route *route_find(const char *path) {
  for (size_t i = 0; i < ARRAY_SIZE(routes); i++) {
    const struct route *r = &routes[i];
    if ((r->flags & ROUTE_EXACT) ? strcmp(path, r->pattern) == 0 : str_has_prefix(path, r->pattern))
      return r;
  }
  return NULL;
}

int http_parse_listen(const char *listen, char **ret_host, int *ret_port, char **ret_err) {
  const char *colon, *host_start, *host_end;
  int64_t port;

  if (!listen || !*listen)
    goto bad;
  if (listen[0] == '[') {
    host_start = listen + 1;
    host_end = strchr(host_start, ']');
    if (!host_end || host_end == host_start || host_end[1] != ':')
      goto bad;
    colon = host_end + 1;
  } else {
    colon = strrchr(listen, ':');
    if (!colon || memchr(listen, ':', (size_t)(colon - listen)))
      goto bad; /* no port, or an IPv6 literal without brackets */
    host_start = listen;
    host_end = colon;
  }
  if (parse_int64(colon + 1, &port) < 0 || port < 0 || port > 65535)
    goto bad;
  *ret_host = xstrndup(host_start, (size_t)(host_end - host_start));
  *ret_port = (int)port;
  return 0;
bad:
  *ret_err = xasprintf("invalid listen address '%s': expected HOST:PORT, [IPV6]:PORT or :PORT",
                       listen ? listen : "");
  return -EINVAL;
}

/* Binds and listens; returns the socket or a negative errno. */
static int open_listener(const char *addr, char **ret_err) {
  struct addrinfo hints, *res = NULL;
  char *host = NULL, port_s[8];
  int port, r, fd = -1, one = 1, zero = 0;

  r = http_parse_listen(addr, &host, &port, ret_err);
  if (r < 0)
    return r;
  snprintf(port_s, sizeof(port_s), "%d", port);
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  hints.ai_family = *host ? AF_UNSPEC : AF_INET6;
  r = getaddrinfo(*host ? host : NULL, port_s, &hints, &res);
  if (r != 0 && !*host) {
    hints.ai_family = AF_INET; /* no IPv6 on this host */
    r = getaddrinfo(NULL, port_s, &hints, &res);
  }
  if (r != 0) {
    *ret_err = xasprintf("cannot listen on %s: %s", addr, gai_strerror(r));
    r = -EADDRNOTAVAIL;
    goto out;
  }
  fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 && !*host && res->ai_family == AF_INET6) {
    freeaddrinfo(res);
    res = NULL;
    hints.ai_family = AF_INET;
    r = getaddrinfo(NULL, port_s, &hints, &res);
    if (r != 0) {
      *ret_err = xasprintf("cannot listen on %s: %s", addr, gai_strerror(r));
      r = -EADDRNOTAVAIL;
      goto out;
    }
    fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  }
  if (fd < 0)
    goto fail_errno;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (res->ai_family == AF_INET6 && !*host)
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 128) < 0)
    goto fail_errno;
  r = fd;
  fd = -1;
  goto out;
fail_errno:
  r = -errno;
  *ret_err = xasprintf("cannot listen on %s: %s", addr, strerror(errno));
out:
  if (fd >= 0)
    close(fd);
  if (res)
    freeaddrinfo(res);
  free(host);
  return r;
}

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
  struct http_req *rq = cls;
  if (rq->n_params >= HTTP_MAX_PARAMS) {
    rq->n_params = HTTP_MAX_PARAMS + 1; /* marks the overflow */
    return MHD_NO;
  }
  rq->params[rq->n_params].key = xstrdup(key ? key : "");
  rq->params[rq->n_params].value = xstrdup(value ? value : "");
  rq->n_params++;
  return MHD_YES;
}

struct body_hold {
  uint8_t *data;
  struct http_slots *slot;
  ssize_t (*read)(void *cls, char *dst, size_t max); /* a streamed body */
  void (*read_free)(void *cls);
  void *read_cls;
};

static void body_free(void *cls) {
  struct body_hold *h = cls;
  if (h->slot)
    http_slot_release(h->slot);
  if (h->read_free)
    h->read_free(h->read_cls);
  free(h->data);
  free(h);
}

static ssize_t body_read(void *cls, uint64_t pos, char *dst, size_t max) {
  struct body_hold *h = cls;
  ssize_t n = h->read(h->read_cls, dst, max);
  (void)pos;
  if (n == 0)
    return MHD_CONTENT_READER_END_OF_STREAM;
  return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR : n;
}

/* A header value that cannot break the response: quotes and control
 * characters in file names are replaced. */
static char *disposition_value(const char *filename) {
  char *v = xasprintf("attachment; filename=\"%s\"", filename);
  for (char *p = v + strlen("attachment; filename=\""); p[1]; p++)
    if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\' || *p == 0x7f)
      *p = '_';
  return v;
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct http_resp *rs, bool browser) {
  struct MHD_Response *resp;
  struct body_hold *h;
  enum MHD_Result ret;
  size_t len = 0;

  h = xcalloc(1, sizeof(*h));
  h->slot = rs->slot;
  rs->slot = NULL;
  if (rs->read) {
    /* The body is produced while it is sent; h now owns the reader. */
    h->read = rs->read;
    h->read_free = rs->read_free;
    h->read_cls = rs->read_cls;
    rs->read = NULL;
    rs->read_free = NULL;
    rs->read_cls = NULL;
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, body_read, h, body_free);
  } else {
    h->data = buf_steal(&rs->body, &len);
    resp = MHD_create_response_from_buffer_with_free_callback_cls(
        len, h->data ? h->data : (void *)"", body_free, h);
  }
  if (!resp) {
    body_free(h);
    return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                          rs->content_type ? rs->content_type : "application/octet-stream");
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                          rs->cache_control ? rs->cache_control : "no-store");
  if (browser)
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; script-src 'unsafe-inline'; "
                            "style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
                            "object-src 'self'; frame-src 'self'; base-uri 'none'; "
                            "form-action 'self'");
  if (rs->filename) {
    char *v = disposition_value(rs->filename);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, v);
    free(v);
  }
  if (rs->allow)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rs->allow);
  if (rs->authenticate)
    MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, rs->authenticate);
  ret = MHD_queue_response(conn, rs->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
  struct http_server *s = cls;
  struct http_req *rq;
  struct http_resp rs;
  const struct route *route;
  int64_t t0 = time_mono_ns();
  enum MHD_Result ret;
  bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

  /* libmicrohttpd calls once when the headers are in, then for each piece
   * of a request body, then once more at its end. A GET is answered at the
   * end (answering earlier makes it close the connection); anything else
   * is refused at once, without reading its body. */
  if (!*con_cls && get) {
    *con_cls = s;
    return MHD_YES;
  }
  if (*con_cls && *upload_data_size > 0) {
    *upload_data_size = 0; /* a body on a GET: ignored */
    return MHD_YES;
  }
  *con_cls = s;
  rq = xcalloc(1, sizeof(*rq));
  rq->srv = s;
  rq->conn = conn;
  rq->method = method;
  rq->path = url;
  rq->now_ms = time_wall_ms();
  http_resp_init(&rs);
  route = route_find(url);
  rs.handler = route ? route->handler : "other";

  if (!get) {
    http_reply_error(&rs, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s not allowed: use GET", method);
    rs.allow = "GET, HEAD";
  } else if (!(route && (route->flags & ROUTE_NO_AUTH)) && !http_auth_ok(s, conn)) {
    http_reply_error(&rs, MHD_HTTP_UNAUTHORIZED,
                     "authentication required: send the token as "
                     "'Authorization: Bearer TOKEN' or as the Basic auth password");
    rs.authenticate = (route && (route->flags & ROUTE_BROWSER))
                          ? "Basic realm=\"pprofd\", charset=\"UTF-8\""
                          : "Bearer realm=\"pprofd\"";
  } else if (!route) {
    http_reply_error(&rs, MHD_HTTP_NOT_FOUND, "no such path '%s'", url);
  } else {
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, rq);
    if (rq->n_params > HTTP_MAX_PARAMS) {
      rq->n_params = HTTP_MAX_PARAMS;
      http_reply_error(&rs, MHD_HTTP_BAD_REQUEST, "too many query parameters (at most %d)",
                       HTTP_MAX_PARAMS);
    } else {
      route->fn(rq, &rs);
    }
  }
  ret = send_resp(conn, &rs, route && (route->flags & ROUTE_BROWSER));
  http_status_count(s->metrics, rs.handler, rs.status, (double)(time_mono_ns() - t0) / 1e9);
  http_resp_done(&rs);
  for (size_t i = 0; i < rq->n_params; i++) {
    free(rq->params[i].key);
    free(rq->params[i].value);
  }
  free(rq);
  (void)version;
  (void)upload_data;
  return ret;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe) {
  struct http_server *s = cls;
  metrics_add(s->metrics, "pprofd_http_connections", NULL,
              toe == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
  (void)conn;
  (void)socket_context;
}

int http_server_start(const struct http_server_opts *o, struct http_server **ret, char **ret_err) {
  struct http_server *s;
  struct sockaddr_storage ss;
  socklen_t sslen = sizeof(ss);
  unsigned max_conn = o->max_connections ? o->max_connections : HTTP_DEFAULT_MAX_CONNECTIONS;
  unsigned timeout = o->timeout_s ? o->timeout_s : HTTP_DEFAULT_TIMEOUT_S;
  unsigned per_ip = o->max_connections_per_ip ? o->max_connections_per_ip : max_conn / 2;
  unsigned flags =
      MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC;
  int fd;

  if (!o->db_path) {
    *ret_err = xstrdup("HTTP endpoint: no database path");
    return -EINVAL;
  }
  fd = open_listener(o->listen ? o->listen : HTTP_DEFAULT_LISTEN, ret_err);
  if (fd < 0)
    return fd;
  s = xcalloc(1, sizeof(*s));
  s->db_path = xstrdup(o->db_path);
  s->ready = o->ready;
  s->userdata = o->userdata;
  s->max_merge_captures = o->max_merge_captures ? o->max_merge_captures : 1000;
  s->slot_wait_ms = HTTP_SLOT_WAIT_MS;
  http_auth_set_token(s, o->token);
  s->metrics = o->metrics;
  if (!s->metrics) {
    s->metrics = metrics_new();
    s->own_metrics = true;
  }
  http_status_declare_metrics(s->metrics);
  http_pool_init(&s->pool, POOL_IDLE);
  http_slots_init(&s->heavy, o->heavy_slots ? o->heavy_slots : 2);
  if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
    if (ss.ss_family == AF_INET6) {
      s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
      flags |= MHD_USE_IPv6;
    } else {
      s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
  }
  s->daemon =
      MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_LISTEN_SOCKET, fd,
                       MHD_OPTION_CONNECTION_LIMIT, max_conn, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                       per_ip ? per_ip : 1, MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                       MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY_LIMIT,
                       MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
  if (!s->daemon) {
    close(fd);
    *ret_err = xasprintf("cannot start the HTTP server on %s",
                         o->listen ? o->listen : HTTP_DEFAULT_LISTEN);
    http_server_stop(s);
    return -EIO;
  }
  *ret = s;
  return 0;
}

struct http_server *http_server_stop(struct http_server *s) {
  if (!s)
    return NULL;
  if (s->daemon) {
    /* MHD owns the listening socket once started and closes it here. */
    MHD_stop_daemon(s->daemon);
  }
  http_slots_done(&s->heavy);
  http_pool_done(&s->pool);
  if (s->own_metrics)
    metrics_free(s->metrics);
  free(s->db_path);
  free(s);
  return NULL;
}

int http_server_port(const struct http_server *s) {
  return s->port;
}
