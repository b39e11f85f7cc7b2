/* Internals shared by the HTTP endpoint's files: the server state, one
 * request and its response, and the helpers handlers use. Handlers run on
 * libmicrohttpd's threads (one per connection); they fill a struct
 * http_resp and never block on anything but their own store connection. */
#ifndef PPROFD_HTTP_INT_H
#define PPROFD_HTTP_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "http_server.h"
#include "store.h"

struct MHD_Connection;
struct MHD_Daemon;

/* Response bodies held in memory: raw captures are capped by the daemon's
 * max_response_size (256 MiB by default), JSON documents much lower. */
#define HTTP_MAX_BODY (1024ULL * 1024 * 1024)
#define HTTP_MAX_JSON (64ULL * 1024 * 1024)
#define HTTP_MAX_PARAMS 64
#define HTTP_MAX_LABELS 32
/* How long a heavy request waits for a free slot before it gets 503. */
#define HTTP_SLOT_WAIT_MS 10000
/* The nice value of threads doing heavy work. */
#define HTTP_HEAVY_NICE 10

/* A counting semaphore with a timed wait: bounds concurrent heavy work. */
struct http_slots {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned used;
  unsigned max;
};

/* Idle read-only store connections, reused across requests. */
struct http_pool {
  pthread_mutex_t lock;
  struct store **idle;
  size_t n_idle;
  size_t max_idle;
};

struct http_server {
  struct MHD_Daemon *daemon;
  int port;
  bool has_token;
  uint8_t token_sha256[32]; /* the token itself is not kept */
  char *db_path;
  struct metrics *metrics;
  bool own_metrics;
  bool (*ready)(void *userdata);
  void *userdata;
  unsigned max_merge_captures;
  int64_t slot_wait_ms; /* HTTP_SLOT_WAIT_MS; shorter in tests */
  struct http_pool pool;
  struct http_slots heavy;
};

struct http_param {
  char *key;
  char *value; /* "" when the argument had no '=' */
};

struct http_req {
  struct http_server *srv;
  struct MHD_Connection *conn;
  const char *method;
  const char *path; /* decoded by libmicrohttpd, without the query */
  struct http_param params[HTTP_MAX_PARAMS];
  size_t n_params;
  int64_t now_ms; /* wall clock when the request arrived */
};

struct http_resp {
  unsigned status;
  const char *handler;      /* metrics label; static string */
  const char *content_type; /* static string */
  struct buf body;
  char *filename; /* Content-Disposition: attachment when set */
  const char *cache_control;
  const char *allow;        /* Allow header for 405 */
  const char *authenticate; /* WWW-Authenticate header for 401 */
  struct http_slots *slot;  /* a heavy slot, released when the body is sent */
  /* A streamed body instead of body (http_reply_stream). */
  ssize_t (*read)(void *cls, char *dst, size_t max);
  void (*read_free)(void *cls);
  void *read_cls;
};

/* Handlers (http_api.c, http_profefe.c, http_ui.c, http_status.c). */
void http_api_handle(struct http_req *rq, struct http_resp *rs);
void http_profefe_handle(struct http_req *rq, struct http_resp *rs);
void http_ui_handle(struct http_req *rq, struct http_resp *rs);
/* Merges and flame graphs (http_merge.c). The merge endpoints reply with a
 * gzip'd profile.proto; 404 when nothing matched. */
void http_merge_handle(struct http_req *rq, struct http_resp *rs);
void http_merge_filter(struct http_req *rq, struct http_resp *rs, const struct store_filter *f,
                       const char *filename);
void http_merge_ids(struct http_req *rq, struct http_resp *rs, const int64_t *ids, size_t n,
                    const char *filename);
void http_flamegraph_handle(struct http_req *rq, struct http_resp *rs, int64_t id);
void http_flamegraph_filter_handle(struct http_req *rq, struct http_resp *rs);
void http_status_healthz(struct http_req *rq, struct http_resp *rs);
void http_status_readyz(struct http_req *rq, struct http_resp *rs);
void http_status_metrics(struct http_req *rq, struct http_resp *rs);
/* Declares the endpoint's own metric families. */
void http_status_declare_metrics(struct metrics *m);
void http_status_count(struct metrics *m, const char *handler, unsigned status, double seconds);

/* Replies (http_reply.c). Every reply replaces what rs held. */
void http_resp_init(struct http_resp *rs);
void http_resp_done(struct http_resp *rs);
/* {"error": "message"} with the status. */
void http_reply_error(struct http_resp *rs, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Serialises doc (steals the reference); 500 when it cannot. */
void http_reply_json(struct http_resp *rs, unsigned status, json_t *doc);
/* Copies len bytes. */
void http_reply_bytes(struct http_resp *rs, unsigned status, const char *content_type,
                      const void *data, size_t len);
/* A body of unknown length produced by read (count, 0 at the end, < 0 on
 * error) while it is sent; read_free(cls) runs when it is done or
 * dropped. */
void http_reply_stream(struct http_resp *rs, unsigned status, const char *content_type,
                       ssize_t (*read)(void *cls, char *dst, size_t max),
                       void (*read_free)(void *cls), void *cls);
/* Takes the bytes of b (left empty). */
void http_reply_buf(struct http_resp *rs, unsigned status, const char *content_type, struct buf *b);

/* Query parameters (http_query.c). */
const char *http_param(const struct http_req *rq, const char *key);
/* 0 when every parameter is in allowed (NULL-terminated); else fills a 400
 * naming the first unknown one and returns -EINVAL. */
int http_params_check(const struct http_req *rq, struct http_resp *rs, const char *const *allowed);

/* A capture selection from query parameters. */
struct http_filter {
  struct store_filter f;
  struct cfg_pair labels[HTTP_MAX_LABELS]; /* owned copies */
  size_t n_labels;
};
void http_filter_init(struct http_filter *hf);
void http_filter_done(struct http_filter *hf);
/* Reads target, instance, type, since, until, label (repeatable, KEY=VALUE),
 * status (ok|failed) and limit into hf. Fills a 400 naming the bad
 * parameter and returns -EINVAL on error. */
int http_filter_parse(const struct http_req *rq, struct http_resp *rs, struct http_filter *hf);
/* Adds one KEY=VALUE label (from "label" or profefe's "labels"). */
int http_filter_add_label(struct http_filter *hf, struct http_resp *rs, const char *param,
                          const char *kv);
/* A time parameter: RFC 3339, a date, "now" or a duration before now. */
int http_parse_time_param(const struct http_req *rq, struct http_resp *rs, const char *name,
                          const char *value, int64_t *ret_ms);
/* A capture id from a path segment: fills a 400/404 and returns -EINVAL
 * when it is not a positive integer. */
int http_parse_id(const char *s, struct http_resp *rs, int64_t *ret_id);

/* Store connections and heavy slots (http_pool.c). */
void http_pool_init(struct http_pool *p, size_t max_idle);
void http_pool_done(struct http_pool *p);
/* A read-only connection to the server's database; on failure fills rs
 * with a 503 and returns NULL. */
struct store *http_store_get(struct http_req *rq, struct http_resp *rs);
/* Returns the connection for reuse (or closes it when broken). */
void http_store_put(struct http_req *rq, struct store *st, bool broken);
void http_slots_init(struct http_slots *sl, unsigned max);
void http_slots_done(struct http_slots *sl);
/* Takes a heavy slot for rs (released with the response), waiting up to
 * slot_wait_ms; on timeout fills a 503 and returns -EBUSY. */
int http_slot_take(struct http_req *rq, struct http_resp *rs);
void http_slot_release(struct http_slots *sl);

/* Authentication (http_auth.c): true when the request carries the token
 * (Bearer, or as the Basic password). Constant time in the token. */
bool http_auth_ok(const struct http_server *s, struct MHD_Connection *conn);
void http_auth_set_token(struct http_server *s, const char *token);

#endif
