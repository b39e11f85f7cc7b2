/* Merged profiles and flame graphs over stored captures, with the pprof
 * module's merge (pprof_merge.h) and SVG generator (flamegraph.h): the
 * /api/v1/merge endpoint `go tool pprof URL` reads, profefe's merges, and
 * the flame graphs of the web view. All of it is heavy work: each request
 * holds a heavy slot, reads one body at a time, and refuses selections of
 * more than max_merge_captures captures instead of silently sampling. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "http_int.h"
#include "pprof.h"
#include "pprof_merge.h"
#include "util.h"

static const char *const merge_params[] = {"target", "instance", "type",  "since",   "until",
                                           "label",  "status",   "limit", "seconds", NULL};
static const char *const fg_params[] = {"target", "instance", "type",         "since", "until",
                                        "label",  "limit",    "sample_index", NULL};

static bool is_pprof(const char *format) {
  return format && (strcmp(format, "pprof-gzip") == 0 || strcmp(format, "pprof") == 0);
}

/* The pprof captures of a selection, oldest first. */
struct selection {
  int64_t *ids;
  size_t n, cap;
  size_t max;
  size_t skipped;   /* matched but not a pprof profile (traces, text) */
  char *first_type; /* to tell "trace" from other reasons for skipping */
  bool too_many;
};

static int select_row(const struct capture_row *row, void *userdata) {
  struct selection *sel = userdata;
  if (!sel->first_type)
    sel->first_type = xstrdup(row->type);
  if (!is_pprof(row->format)) {
    sel->skipped++;
    return 0;
  }
  if (sel->n == sel->max) {
    sel->too_many = true;
    return -ECANCELED;
  }
  if (sel->n == sel->cap) {
    sel->cap = sel->cap ? sel->cap * 2 : 64;
    sel->ids = xreallocarray(sel->ids, sel->cap, sizeof(*sel->ids));
  }
  sel->ids[sel->n++] = row->id;
  return 0;
}

static void selection_done(struct selection *sel) {
  free(sel->ids);
  free(sel->first_type);
}

/* Selects the ok pprof captures of f into sel; fills rs on error. */
static int select_captures(struct http_req *rq, struct http_resp *rs, struct store *st,
                           const struct store_filter *f, struct selection *sel) {
  struct store_filter copy = *f;
  int r;

  memset(sel, 0, sizeof(*sel));
  sel->max = rq->srv->max_merge_captures;
  copy.status = CAPTURE_OK;
  r = store_list(st, &copy, select_row, sel);
  if (r < 0 && r != -ECANCELED) {
    http_reply_error(rs, 500, "database error: %s", store_errmsg(st));
    return r;
  }
  if (sel->too_many) {
    http_reply_error(rs, 400,
                     "more than %zu captures match: narrow the selection (since, until, target, "
                     "label) or take the newest with limit=N",
                     sel->max);
    return -E2BIG;
  }
  if (sel->n == 0) {
    if (sel->skipped > 0)
      http_reply_error(rs, 400, "the %zu matching captures of type '%s' are not pprof profiles",
                       sel->skipped, sel->first_type);
    else
      http_reply_error(rs, 404, "no stored profile matches");
    return -ENOENT;
  }
  return 0;
}

/* Reads and decodes capture id. Fills rs on error. */
static int load_profile(struct http_resp *rs, struct store *st, int64_t id,
                        struct pprof_profile **ret) {
  struct buf b;
  char *err = NULL;
  int r;

  r = store_read_blob(st, id, &b);
  if (r < 0) {
    if (r == -ENOENT)
      http_reply_error(rs, 404, "no capture %" PRId64 " with a body", id);
    else
      http_reply_error(rs, 500, "cannot read capture %" PRId64 ": %s", id, store_errmsg(st));
    return r;
  }
  r = pprof_decode(b.data, b.len, HTTP_MAX_BODY, ret, &err);
  buf_done(&b);
  if (r < 0) {
    http_reply_error(rs, 422, "capture %" PRId64 " is not a valid profile: %s", id,
                     err ? err : "cannot decode");
    free(err);
  }
  return r;
}

static void merge_ids(struct http_req *rq, struct http_resp *rs, struct store *st,
                      const int64_t *ids, size_t n, const char *filename) {
  struct pprof_merge *m = pprof_merge_new();
  struct buf out;
  int r;

  buf_init(&out, HTTP_MAX_BODY);
  for (size_t i = 0; i < n; i++) {
    struct pprof_profile *p = NULL;
    char name[32], *err = NULL;
    if (load_profile(rs, st, ids[i], &p) < 0)
      goto out;
    snprintf(name, sizeof(name), "capture %" PRId64, ids[i]);
    r = pprof_merge_add(m, p, name, &err);
    pprof_profile_free(p);
    if (r < 0) {
      http_reply_error(rs, 422, "cannot merge: %s", err ? err : strerror(-r));
      free(err);
      goto out;
    }
  }
  r = pprof_merge_write(m, &out);
  if (r < 0) {
    http_reply_error(rs, 500, "cannot write the merged profile: %s", strerror(-r));
    goto out;
  }
  http_reply_buf(rs, 200, "application/octet-stream", &out);
  rs->filename = xstrdup(filename);
out:
  buf_done(&out);
  pprof_merge_free(m);
  (void)rq;
}

void http_merge_filter(struct http_req *rq, struct http_resp *rs, const struct store_filter *f,
                       const char *filename) {
  struct selection sel;
  struct store *st;
  char *fname;

  if (http_slot_take(rq, rs) < 0)
    return;
  st = http_store_get(rq, rs);
  if (!st)
    return;
  if (select_captures(rq, rs, st, f, &sel) == 0) {
    fname = xasprintf("%s%s%s-merged.pb.gz", f->target ? f->target : "", f->target ? "-" : "",
                      filename);
    for (char *c = fname; *c; c++)
      if (*c == '/' || *c == '"' || *c == '\\' || (unsigned char)*c < 0x20)
        *c = '_';
    merge_ids(rq, rs, st, sel.ids, sel.n, fname);
    free(fname);
  }
  selection_done(&sel);
  http_store_put(rq, st, false);
}

void http_merge_ids(struct http_req *rq, struct http_resp *rs, const int64_t *ids, size_t n,
                    const char *filename) {
  struct store *st;

  if (n > rq->srv->max_merge_captures) {
    http_reply_error(rs, 400, "at most %u captures can be merged", rq->srv->max_merge_captures);
    return;
  }
  if (http_slot_take(rq, rs) < 0)
    return;
  st = http_store_get(rq, rs);
  if (!st)
    return;
  merge_ids(rq, rs, st, ids, n, filename);
  http_store_put(rq, st, false);
}

/* GET /api/v1/merge?type=cpu&target=api&since=1h&label=k=v */
void http_merge_handle(struct http_req *rq, struct http_resp *rs) {
  struct http_filter hf;

  rs->handler = "merge";
  http_filter_init(&hf);
  if (http_params_check(rq, rs, merge_params) < 0 || http_filter_parse(rq, rs, &hf) < 0)
    goto out;
  if (!hf.f.type) {
    http_reply_error(rs, 400, "missing type: profiles of different types cannot be merged");
    goto out;
  }
  if (hf.f.status == CAPTURE_FAILED) {
    http_reply_error(rs, 400, "failed captures have no profile to merge");
    goto out;
  }
  http_merge_filter(rq, rs, &hf.f, hf.f.type);
out:
  http_filter_done(&hf);
}

/* Renders the flame graph of the given profiles. */
static void render_flamegraph(struct http_req *rq, struct http_resp *rs, struct store *st,
                              const int64_t *ids, size_t n, const char *title,
                              const char *subtitle) {
  const char *si = http_param(rq, "sample_index");
  struct flamegraph *fg = flamegraph_new();
  struct flamegraph_opts o;
  struct buf out;
  int r;

  buf_init(&out, HTTP_MAX_BODY);
  for (size_t i = 0; i < n; i++) {
    struct pprof_profile *p = NULL;
    int idx;
    if (load_profile(rs, st, ids[i], &p) < 0)
      goto out;
    idx = si && *si ? pprof_find_sample_index(p, si) : pprof_default_sample_index(p);
    if (idx < 0) {
      pprof_profile_free(p);
      http_reply_error(rs, 400, "capture %" PRId64 " has no sample type '%s'", ids[i],
                       si && *si ? si : "(default)");
      goto out;
    }
    r = flamegraph_add(fg, p, idx);
    pprof_profile_free(p);
    if (r < 0) {
      http_reply_error(rs, 422, "capture %" PRId64 " cannot join this flame graph: %s", ids[i],
                       r == -EINVAL ? "its sample unit differs" : strerror(-r));
      goto out;
    }
  }
  flamegraph_opts_default(&o);
  o.title = title;
  o.subtitle = subtitle;
  r = flamegraph_render(fg, &o, &out);
  if (r < 0) {
    http_reply_error(rs, 500, "cannot render the flame graph: %s", strerror(-r));
    goto out;
  }
  http_reply_buf(rs, 200, "image/svg+xml", &out);
out:
  buf_done(&out);
  flamegraph_free(fg);
}

/* GET /api/v1/captures/ID/flamegraph.svg?sample_index=NAME|N */
void http_flamegraph_handle(struct http_req *rq, struct http_resp *rs, int64_t id) {
  static const char *const params[] = {"sample_index", NULL};
  struct capture_row row;
  struct store *st;
  char ts[32], *title = NULL;
  int r;

  rs->handler = "flamegraph";
  if (http_params_check(rq, rs, params) < 0 || http_slot_take(rq, rs) < 0)
    return;
  st = http_store_get(rq, rs);
  if (!st)
    return;
  r = store_get(st, id, &row);
  if (r < 0) {
    if (r == -ENOENT)
      http_reply_error(rs, 404, "no capture %" PRId64, id);
    else
      http_reply_error(rs, 500, "database error: %s", store_errmsg(st));
    goto out;
  }
  if (row.status != CAPTURE_OK || !is_pprof(row.format)) {
    http_reply_error(rs, 400, "capture %" PRId64 " is not a pprof profile (%s)", id,
                     row.status != CAPTURE_OK ? "the fetch failed" : row.format);
  } else {
    title = xasprintf("%s %s \xc2\xb7 %s \xc2\xb7 %s", row.target, row.type, row.instance,
                      format_rfc3339(row.started_at_ms, ts, sizeof(ts)));
    render_flamegraph(rq, rs, st, &id, 1, title, NULL);
  }
  free(title);
  capture_row_done(&row);
out:
  http_store_put(rq, st, false);
}

/* GET /api/v1/flamegraph.svg?type=cpu&target=api&since=1h: the flame
 * graph of every matching profile together. */
void http_flamegraph_filter_handle(struct http_req *rq, struct http_resp *rs) {
  struct http_filter hf;
  struct selection sel;
  struct store *st = NULL;
  char *title = NULL, *sub = NULL;

  memset(&sel, 0, sizeof(sel));
  rs->handler = "flamegraph";
  http_filter_init(&hf);
  if (http_params_check(rq, rs, fg_params) < 0 || http_filter_parse(rq, rs, &hf) < 0)
    goto out;
  if (!hf.f.type) {
    http_reply_error(rs, 400, "missing type: profiles of different types cannot be combined");
    goto out;
  }
  if (http_slot_take(rq, rs) < 0)
    goto out;
  st = http_store_get(rq, rs);
  if (!st || select_captures(rq, rs, st, &hf.f, &sel) < 0)
    goto out;
  title = xasprintf("%s %s", hf.f.target ? hf.f.target : "all targets", hf.f.type);
  sub = xasprintf("%zu profiles", sel.n);
  render_flamegraph(rq, rs, st, sel.ids, sel.n, title, sub);
out:
  free(title);
  free(sub);
  selection_done(&sel);
  http_store_put(rq, st, false);
  http_filter_done(&hf);
}
