/* profefe's read API (github.com/profefe/profefe, /api/0/), so scripts
 * written for a profefe collector can point at pprofd: a profefe service
 * is a pprofd target, profefe's types map to profile types of the same
 * name ("other" = every other type), times are "2006-01-02T15:04:05" (UTC)
 * or anything the v1 API takes, and replies use profefe's envelope
 * {"code": 200, "body": ...} / {"code": N, "error": "..."}. Nothing here
 * accepts uploads: pprofd collects by itself. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "http_int.h"
#include "util.h"

#define PROFEFE_MAX_IDS 1000

static const char *const profefe_types[] = {"cpu",       "heap",         "block", "mutex",
                                            "goroutine", "threadcreate", "trace", NULL};
static const char *const find_params[] = {"service", "type",  "from",    "to",
                                          "labels",  "limit", "seconds", NULL};

static bool is_profefe_type(const char *t) {
  for (size_t i = 0; profefe_types[i]; i++)
    if (strcmp(profefe_types[i], t) == 0)
      return true;
  return false;
}

/* Rewrites an error reply in profefe's envelope. */
static void envelope_error(struct http_resp *rs) {
  json_t *doc, *msg;
  char *text;
  if (rs->status < 400 || !rs->content_type || strcmp(rs->content_type, "application/json"))
    return;
  buf_terminate(&rs->body);
  doc = json_loads(rs->body.data ? (const char *)rs->body.data : "", 0, NULL);
  msg = doc ? json_object_get(doc, "error") : NULL;
  text = xstrdup(json_is_string(msg) ? json_string_value(msg) : "error");
  json_decref(doc);
  http_reply_json(rs, rs->status, json_pack("{s:i,s:s}", "code", (int)rs->status, "error", text));
  free(text);
}

static void profefe_error(struct http_resp *rs, unsigned status, const char *msg) {
  http_reply_json(rs, status, json_pack("{s:i,s:s}", "code", (int)status, "error", msg));
}

/* profefe's query: service, type, from, to, labels=k=v,k2=v2, limit. */
struct profefe_query {
  struct http_filter hf;
  bool other; /* type=other: every type profefe has no name for */
  bool trace;
  int64_t limit;
};

static int parse_labels(struct profefe_query *q, struct http_resp *rs, const char *s) {
  while (*s) {
    size_t len = strcspn(s, ",");
    char *tok = xstrndup(s, len), *t = tok;
    int r = 0;
    while (*t == ' ')
      t++;
    if (*t)
      r = http_filter_add_label(&q->hf, rs, "labels", t);
    free(tok);
    if (r < 0)
      return r;
    s += len;
    if (*s == ',')
      s++;
  }
  return 0;
}

static int parse_query(struct http_req *rq, struct http_resp *rs, struct profefe_query *q) {
  const char *v;

  if (http_params_check(rq, rs, find_params) < 0)
    return -EINVAL;
  v = http_param(rq, "service");
  if (!v || !*v) {
    http_reply_error(rs, 400, "bad request: missing \"service\"");
    return -EINVAL;
  }
  q->hf.f.target = v;
  v = http_param(rq, "type");
  if (v && strcmp(v, "other") == 0)
    q->other = true;
  else if (v && *v)
    q->hf.f.type = v;
  q->trace = v && strcmp(v, "trace") == 0;
  v = http_param(rq, "from");
  if (v && *v && http_parse_time_param(rq, rs, "from", v, &q->hf.f.since_ms) < 0)
    return -EINVAL;
  v = http_param(rq, "to");
  if (v && *v) {
    if (http_parse_time_param(rq, rs, "to", v, &q->hf.f.until_ms) < 0)
      return -EINVAL;
    q->hf.f.until_ms++; /* profefe's "to" is inclusive */
  }
  if (q->hf.f.since_ms != INT64_MIN && q->hf.f.until_ms != INT64_MAX &&
      q->hf.f.since_ms >= q->hf.f.until_ms) {
    http_reply_error(rs, 400, "bad request: \"from\" is after \"to\"");
    return -EINVAL;
  }
  v = http_param(rq, "labels");
  if (v && *v && parse_labels(q, rs, v) < 0)
    return -EINVAL;
  v = http_param(rq, "limit");
  if (v && *v && (parse_int64(v, &q->limit) < 0 || q->limit < 0)) {
    http_reply_error(rs, 400, "bad request: bad \"limit\" \"%s\"", v);
    return -EINVAL;
  }
  q->hf.f.oldest_first = true; /* profefe lists oldest first */
  q->hf.f.status = CAPTURE_OK; /* profefe only knows stored profiles */
  return 0;
}

struct find_ctx {
  json_t *arr;
  const struct profefe_query *q;
};

static json_t *pair_json(const char *k, const char *v) {
  return json_pack("{s:o,s:o}", "key", ctl_json_string(k), "value", ctl_json_string(v));
}

/* Stored strings may come from imports: ctl_json_string() keeps invalid
 * UTF-8 from breaking the document. */
static json_t *profile_json(const struct capture_row *row) {
  json_t *labels = json_array();
  char id[24], ts[32];
  /* profefe truncates created_at to seconds */
  format_rfc3339(row->started_at_ms - row->started_at_ms % 1000, ts, sizeof(ts));
  snprintf(id, sizeof(id), "%" PRId64, row->id);
  json_array_append_new(labels, pair_json("instance", row->instance));
  for (size_t i = 0; i < row->n_labels; i++)
    json_array_append_new(labels, pair_json(row->labels[i].key, row->labels[i].value));
  return json_pack("{s:s,s:o,s:o,s:o,s:s}", "id", id, "type",
                   ctl_json_string(is_profefe_type(row->type) ? row->type : "other"), "service",
                   ctl_json_string(row->target), "labels", labels, "created_at", ts);
}

static int add_profile(const struct capture_row *row, void *userdata) {
  struct find_ctx *c = userdata;
  if (c->q->other && is_profefe_type(row->type))
    return 0;
  if (c->q->limit > 0 && (int64_t)json_array_size(c->arr) >= c->q->limit)
    return -ECANCELED; /* enough */
  if (json_array_append_new(c->arr, profile_json(row)) < 0)
    return -ENOMEM;
  return 0;
}

static void find_profiles(struct http_req *rq, struct http_resp *rs) {
  struct profefe_query q;
  struct find_ctx c;
  struct store *st = NULL;
  int r;

  memset(&q, 0, sizeof(q));
  http_filter_init(&q.hf);
  rs->handler = "profefe_profiles";
  if (parse_query(rq, rs, &q) < 0)
    goto out;
  /* With type=other the limit is applied while walking. */
  if (!q.other)
    q.hf.f.limit = q.limit;
  st = http_store_get(rq, rs);
  if (!st)
    goto out;
  c.arr = json_array();
  c.q = &q;
  r = store_list(st, &q.hf.f, add_profile, &c);
  if (r < 0 && r != -ECANCELED) {
    json_decref(c.arr);
    http_reply_error(rs, 500, "database error: %s", store_errmsg(st));
    goto out;
  }
  if (json_array_size(c.arr) == 0) {
    json_decref(c.arr);
    profefe_error(rs, 404, "nothing found");
    goto out;
  }
  http_reply_json(rs, 200, json_pack("{s:i,s:o}", "code", 200, "body", c.arr));
out:
  http_store_put(rq, st, false);
  http_filter_done(&q.hf);
}

static void merge_profiles(struct http_req *rq, struct http_resp *rs) {
  struct profefe_query q;

  memset(&q, 0, sizeof(q));
  http_filter_init(&q.hf);
  rs->handler = "profefe_merge";
  if (parse_query(rq, rs, &q) < 0)
    goto out;
  if (q.trace || (!q.hf.f.type && !q.other)) {
    char *msg = xasprintf("can't merge profiles of %s type", q.trace ? "trace" : "unknown");
    profefe_error(rs, 405, msg);
    free(msg);
    goto out;
  }
  if (q.other) {
    profefe_error(rs, 405, "can't merge profiles of other type: give a pprofd type (e.g. allocs)");
    goto out;
  }
  q.hf.f.limit = q.limit;
  http_merge_filter(rq, rs, &q.hf.f, q.hf.f.type);
  if (rs->status == 404)
    profefe_error(rs, 404, "nothing found");
out:
  http_filter_done(&q.hf);
}

/* /api/0/profiles/ID or ID1+ID2+...: one raw profile, or their merge. */
static void get_profiles(struct http_req *rq, struct http_resp *rs, const char *ids_s) {
  static const char *const params[] = {"seconds", NULL};
  int64_t ids[PROFEFE_MAX_IDS];
  size_t n = 0;

  rs->handler = "profefe_profile";
  if (http_params_check(rq, rs, params) < 0)
    return;
  if (!*ids_s) {
    profefe_error(rs, 400, "no profile id");
    return;
  }
  /* '+' separates ids; it may arrive decoded as a space. */
  for (const char *p = ids_s; *p;) {
    size_t len = strcspn(p, "+ ");
    char idbuf[32];
    if (len > 0) {
      if (n == PROFEFE_MAX_IDS) {
        profefe_error(rs, 400, "too many profile ids");
        return;
      }
      if (len >= sizeof(idbuf)) {
        profefe_error(rs, 404, "nothing found");
        return;
      }
      memcpy(idbuf, p, len);
      idbuf[len] = '\0';
      if (http_parse_id(idbuf, rs, &ids[n]) < 0)
        return;
      n++;
    }
    p += len;
    if (*p)
      p++;
  }
  if (n == 0) {
    profefe_error(rs, 400, "no profile id");
    return;
  }
  if (n == 1) {
    struct http_req sub = *rq;
    char path[64];
    /* Same reply as /api/v1/captures/ID. */
    snprintf(path, sizeof(path), "/api/v1/captures/%" PRId64, ids[0]);
    sub.path = path;
    http_api_handle(&sub, rs);
    rs->handler = "profefe_profile";
    return;
  }
  http_merge_ids(rq, rs, ids, n, "pprof.pb.gz");
}

static int add_service(const struct capture_row *last, int64_t last_ok_ms, void *userdata) {
  json_t *arr = userdata;
  size_t n = json_array_size(arr);
  (void)last_ok_ms;
  /* store_latest() orders by target: duplicates are adjacent. */
  if (n > 0 && strcmp(json_string_value(json_array_get(arr, n - 1)), last->target) == 0)
    return 0;
  return json_array_append_new(arr, ctl_json_string(last->target)) < 0 ? -ENOMEM : 0;
}

static void services(struct http_req *rq, struct http_resp *rs) {
  static const char *const none[] = {NULL};
  struct store *st;
  json_t *arr;
  int r;

  rs->handler = "profefe_services";
  if (http_params_check(rq, rs, none) < 0)
    return;
  st = http_store_get(rq, rs);
  if (!st)
    return;
  arr = json_array();
  r = store_latest(st, add_service, arr);
  if (r < 0) {
    json_decref(arr);
    http_reply_error(rs, 500, "database error: %s", store_errmsg(st));
  } else if (json_array_size(arr) == 0) {
    json_decref(arr);
    profefe_error(rs, 404, "nothing found");
  } else {
    http_reply_json(rs, 200, json_pack("{s:i,s:o}", "code", 200, "body", arr));
  }
  http_store_put(rq, st, false);
}

void http_profefe_handle(struct http_req *rq, struct http_resp *rs) {
  const char *p = rq->path + strlen("/api/0/");

  if (strcmp(p, "profiles") == 0 || strcmp(p, "profiles/") == 0)
    find_profiles(rq, rs);
  else if (strcmp(p, "profiles/merge") == 0)
    merge_profiles(rq, rs);
  else if (str_has_prefix(p, "profiles/"))
    get_profiles(rq, rs, p + strlen("profiles/"));
  else if (strcmp(p, "services") == 0)
    services(rq, rs);
  else if (strcmp(p, "version") == 0)
    http_reply_json(rs, 200,
                    json_pack("{s:i,s:{s:s,s:s,s:s,s:s}}", "code", 200, "body", "version",
                              PACKAGE_VERSION, "commit", "", "build_time", "", "go_version", ""));
  else
    profefe_error(rs, 404, "nothing found");
  envelope_error(rs);
}
