/* The JSON query API under /api/v1/: capture lists (the objects `pprofctl
 * list --json` prints), raw captures that `go tool pprof URL` and `go tool
 * trace` open, analysis summaries, and the latest capture of every series
 * for the web view. Merges and flame graphs are in http_merge.c. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "http_int.h"
#include "util.h"

/* Without an explicit limit a list stops here (the JSON stays small enough
 * for a browser); limit may ask for up to HTTP_MAX_LIST. */
#define HTTP_DEFAULT_LIST 1000
#define HTTP_MAX_LIST 100000

static const char *const list_params[] = {"target", "instance", "type",  "since", "until",
                                          "label",  "status",   "limit", NULL};
/* `go tool pprof` adds seconds=N when run with -seconds; it means nothing
 * for a stored capture. */
static const char *const raw_params[] = {"seconds", NULL};
static const char *const no_params[] = {NULL};

/* Replies with the store's error: 404 for missing captures, else 500. */
static void reply_store_error(struct http_resp *rs, struct store *st, int r, int64_t id) {
  if (r == -ENOENT)
    http_reply_error(rs, 404, "no capture %" PRId64, id);
  else
    http_reply_error(rs, 500, "database error: %s", store_errmsg(st));
}

static int add_row(const struct capture_row *row, void *userdata) {
  json_t *o = capture_row_to_json(row);
  if (!o || json_array_append_new(userdata, o) < 0)
    return -ENOMEM;
  return 0;
}

static void list_captures(struct http_req *rq, struct http_resp *rs) {
  struct http_filter hf;
  struct store *st = NULL;
  json_t *arr = NULL;
  int r;

  http_filter_init(&hf);
  rs->handler = "captures";
  if (http_params_check(rq, rs, list_params) < 0 || http_filter_parse(rq, rs, &hf) < 0)
    goto out;
  if (hf.f.limit == 0)
    hf.f.limit = HTTP_DEFAULT_LIST;
  if (hf.f.limit > HTTP_MAX_LIST) {
    http_reply_error(rs, 400, "bad limit '%" PRId64 "': at most %d", hf.f.limit, HTTP_MAX_LIST);
    goto out;
  }
  /* A long list costs memory like a download does. */
  if (hf.f.limit > HTTP_DEFAULT_LIST && http_slot_take(rq, rs) < 0)
    goto out;
  st = http_store_get(rq, rs);
  if (!st)
    goto out;
  arr = json_array();
  r = store_list(st, &hf.f, add_row, arr);
  if (r < 0) {
    http_reply_error(rs, 500, "database error: %s", store_errmsg(st));
    goto out;
  }
  http_reply_json(rs, 200, arr);
  arr = NULL;
out:
  json_decref(arr);
  http_store_put(rq, st, false);
  http_filter_done(&hf);
}

/* File name characters that survive every shell and file system. */
static void sanitize(char *s) {
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
          *s == '.' || *s == '-' || *s == '_'))
      *s = '_';
}

struct body_kind {
  const char *format;
  const char *content_type;
  const char *ext;
};

/* Bodies from targets are never served as HTML or anything a browser
 * would run on our origin. */
static const struct body_kind body_kinds[] = {
    {"pprof-gzip", "application/octet-stream", "pb.gz"},
    {"pprof", "application/octet-stream", "pb"},
    {"go-trace", "application/octet-stream", "trace"},
    {"gzip", "application/gzip", "gz"},
    {"json", "application/json", "json"},
    {"text", "text/plain; charset=utf-8", "txt"},
    {"html", "text/plain; charset=utf-8", "html.txt"},
};

static const struct body_kind *kind_of(const char *format) {
  for (size_t i = 0; format && i < ARRAY_SIZE(body_kinds); i++)
    if (strcmp(body_kinds[i].format, format) == 0)
      return &body_kinds[i];
  return NULL;
}

static void get_raw(struct http_req *rq, struct http_resp *rs, int64_t id) {
  struct capture_row row;
  struct store *st = NULL;
  const struct body_kind *k;
  struct buf b;
  bool have_row = false;
  int r;

  memset(&b, 0, sizeof(b));
  rs->handler = "capture";
  if (http_params_check(rq, rs, raw_params) < 0)
    return;
  /* A body can be hundreds of MiB: bound how many are in memory. */
  if (http_slot_take(rq, rs) < 0)
    return;
  st = http_store_get(rq, rs);
  if (!st)
    return;
  r = store_get(st, id, &row);
  if (r < 0) {
    reply_store_error(rs, st, r, id);
    goto out;
  }
  have_row = true;
  if (row.status != CAPTURE_OK) {
    http_reply_error(rs, 404, "capture %" PRId64 " has no body: the fetch failed (%s)", id,
                     row.error ? row.error : "no error recorded");
    goto out;
  }
  r = store_read_blob(st, id, &b);
  if (r < 0) {
    if (r == -ENOENT)
      http_reply_error(rs, 404, "capture %" PRId64 " has no body", id);
    else
      http_reply_error(rs, 500, "cannot read capture %" PRId64 ": %s", id, store_errmsg(st));
    goto out;
  }
  k = kind_of(row.format);
  http_reply_buf(rs, 200, k ? k->content_type : "application/octet-stream", &b);
  rs->filename = xasprintf("%s-%s-%" PRId64 ".%s", row.target, row.type, id, k ? k->ext : "bin");
  sanitize(rs->filename);
out:
  buf_done(&b);
  if (have_row)
    capture_row_done(&row);
  http_store_put(rq, st, false);
}

/* Parses a stored analysis document; NULL when it is not JSON. */
static json_t *load_analysis(struct store *st, int64_t id, int *ret_r) {
  char *text = NULL;
  json_t *doc;
  *ret_r = store_get_analysis_json(st, id, &text);
  if (*ret_r < 0)
    return NULL;
  doc = json_loads(text, 0, NULL);
  free(text);
  if (!doc)
    *ret_r = -EBADMSG;
  return doc;
}

static void get_summary(struct http_req *rq, struct http_resp *rs, int64_t id, bool with_row) {
  struct store *st;
  struct capture_row row;
  json_t *analysis, *doc;
  int r;

  rs->handler = with_row ? "info" : "summary";
  if (http_params_check(rq, rs, no_params) < 0)
    return;
  st = http_store_get(rq, rs);
  if (!st)
    return;
  r = store_get(st, id, &row);
  if (r < 0) {
    reply_store_error(rs, st, r, id);
    goto out;
  }
  analysis = load_analysis(st, id, &r);
  if (!analysis) {
    capture_row_done(&row);
    if (r == -EBADMSG)
      http_reply_error(rs, 500, "the stored analysis of capture %" PRId64 " is not JSON", id);
    else
      reply_store_error(rs, st, r, id);
    goto out;
  }
  if (with_row) {
    doc = capture_row_to_json(&row);
    json_object_set_new(doc, "analysis", analysis);
  } else {
    doc = analysis;
  }
  capture_row_done(&row);
  http_reply_json(rs, 200, doc);
out:
  http_store_put(rq, st, false);
}

static int add_latest(const struct capture_row *last, int64_t last_ok_ms, void *userdata) {
  json_t *o = json_object(), *c = capture_row_to_json(last);
  char ts[32];
  if (!o || !c) {
    json_decref(o);
    json_decref(c);
    return -ENOMEM;
  }
  json_object_set_new(o, "target", ctl_json_string(last->target));
  json_object_set_new(o, "instance", ctl_json_string(last->instance));
  json_object_set_new(o, "type", ctl_json_string(last->type));
  json_object_set_new(o, "last_ok_at",
                      last_ok_ms == INT64_MIN
                          ? json_null()
                          : json_string(format_rfc3339(last_ok_ms, ts, sizeof(ts))));
  json_object_set_new(o, "last", c);
  return json_array_append_new(userdata, o) < 0 ? -ENOMEM : 0;
}

/* The latest capture of every (target, instance, type): what `pprofctl
 * targets` shows, for the web view's health table. */
static void list_targets(struct http_req *rq, struct http_resp *rs) {
  struct store *st;
  json_t *arr;
  int r;

  rs->handler = "targets";
  if (http_params_check(rq, rs, no_params) < 0)
    return;
  st = http_store_get(rq, rs);
  if (!st)
    return;
  arr = json_array();
  r = store_latest(st, add_latest, arr);
  if (r < 0) {
    json_decref(arr);
    http_reply_error(rs, 500, "database error: %s", store_errmsg(st));
  } else {
    http_reply_json(rs, 200, arr);
  }
  http_store_put(rq, st, false);
}

void http_api_handle(struct http_req *rq, struct http_resp *rs) {
  const char *p = rq->path + strlen("/api/v1/");
  char idbuf[32];
  const char *slash;
  int64_t id;

  if (strcmp(p, "captures") == 0 || strcmp(p, "captures/") == 0) {
    list_captures(rq, rs);
    return;
  }
  if (strcmp(p, "targets") == 0) {
    list_targets(rq, rs);
    return;
  }
  if (strcmp(p, "merge") == 0) {
    http_merge_handle(rq, rs);
    return;
  }
  if (strcmp(p, "flamegraph.svg") == 0) {
    http_flamegraph_filter_handle(rq, rs);
    return;
  }
  if (!str_has_prefix(p, "captures/"))
    goto not_found;
  p += strlen("captures/");
  slash = strchr(p, '/');
  if ((size_t)(slash ? slash - p : (ptrdiff_t)strlen(p)) >= sizeof(idbuf))
    goto not_found;
  snprintf(idbuf, sizeof(idbuf), "%.*s", (int)(slash ? slash - p : (ptrdiff_t)strlen(p)), p);
  if (http_parse_id(idbuf, rs, &id) < 0)
    return;
  if (!slash || strcmp(slash, "/") == 0)
    get_raw(rq, rs, id);
  else if (strcmp(slash, "/summary") == 0)
    get_summary(rq, rs, id, false);
  else if (strcmp(slash, "/info") == 0)
    get_summary(rq, rs, id, true);
  else if (strcmp(slash, "/flamegraph.svg") == 0)
    http_flamegraph_handle(rq, rs, id);
  else
    goto not_found;
  return;
not_found:
  http_reply_error(rs, 404, "no such path '%s'", rq->path);
}
