/* Writing a capture: blob (deduplicated, zstd at rest when it helps),
 * labelset, capture row, analysis JSON and the analyser's rows, all in one
 * transaction. */
#include "config.h"

#include "analysis.h"
#include "format.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define ZSTD_LEVEL 3

static const char sql_blob_find[] = "SELECT id, raw_size FROM blobs WHERE sha256 = ?1";
static const char sql_blob_insert[] =
    "INSERT INTO blobs (sha256, encoding, raw_size, stored_size, data) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_labelset_find[] = "SELECT id FROM labelsets WHERE canonical = ?1";
static const char sql_labelset_insert[] = "INSERT INTO labelsets (canonical) VALUES (?1)";
static const char sql_pair_insert[] =
    "INSERT INTO labelset_pairs (labelset_id, key, value) VALUES (?1, ?2, ?3)";
static const char sql_capture_insert[] =
    "INSERT INTO captures (target, instance, type, url, started_at_ms, requested_seconds,"
    " duration_ms, status, http_status, error, content_type, size_bytes, blob_id, format,"
    " trace_minor, analysis_status, analysis_error, analysis_elapsed_us, labelset_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
    "?19)";
static const char sql_analysis_insert[] =
    "INSERT INTO capture_analysis (capture_id, json) VALUES (?1, ?2)";

/* A body prepared for the blobs table outside the transaction. */
struct blob_plan {
  uint8_t sha256[32];
  bool exists;          /* already stored: nothing to compress */
  const char *encoding; /* "raw" or "zstd" */
  struct buf packed;    /* the zstd frame when encoding is zstd */
};

static bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i])
      return false;
  return true;
}

static int find_blob(struct store *s, const uint8_t sha[32], size_t raw_size, int64_t *ret_id) {
  sqlite3_stmt *st = store_stmt(s, sql_blob_find);
  int rc, r = 0;

  if (!st)
    return -EIO;
  sqlite3_bind_blob(st, 1, sha, 32, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    /* Same hash, different length: a collision or a corrupt row. Either
     * way, sharing that blob would return the wrong bytes. */
    if ((uint64_t)sqlite3_column_int64(st, 1) != (uint64_t)raw_size)
      r = store_fail(s, -EBADMSG,
                     "database %s: stored blob with the same SHA-256 has a different size",
                     s->path);
    else
      *ret_id = sqlite3_column_int64(st, 0);
  } else if (rc == SQLITE_DONE) {
    r = -ENOENT;
  } else {
    r = store_fail_sqlite(s, rc, "looking up a blob");
  }
  sqlite3_reset(st);
  return r;
}

/* Execution traces and other uncompressed bodies are stored as zstd when
 * that saves space; gzip bodies (what net/http/pprof sends) would not
 * shrink and are kept as they are. */
static int pack_body(struct store *s, const struct buf *body, const struct format_info *fi,
                     struct blob_plan *p) {
  size_t n;
  int r;

  p->encoding = "raw";
  if (body->len < 2 || fi->format == FORMAT_PPROF_GZIP || fi->format == FORMAT_GZIP)
    return 0;
  /* Only a frame smaller than the body is worth keeping, so the output
   * buffer never needs more than len - 1 bytes. */
  buf_init(&p->packed, body->len - 1);
  r = buf_reserve(&p->packed, body->len - 1);
  if (r < 0)
    return store_fail(s, r, "compressing a body of %zu bytes: %s", body->len, strerror(-r));
  n = ZSTD_compress(p->packed.data, body->len - 1, body->data, body->len, ZSTD_LEVEL);
  if (ZSTD_isError(n)) {
    buf_done(&p->packed); /* incompressible (dstSize_tooSmall): store raw */
    return 0;
  }
  p->packed.len = n;
  p->encoding = "zstd";
  return 0;
}

/* Runs before the transaction, so that a body already stored costs no
 * compression and a new one is compressed without holding the write lock. */
static int plan_blob(struct store *s, const struct buf *body, const struct format_info *fi,
                     struct blob_plan *p) {
  int64_t id;
  int r = find_blob(s, p->sha256, body->len, &id);

  if (r == 0) {
    p->exists = true;
    return 0;
  }
  if (r != -ENOENT)
    return r;
  return pack_body(s, body, fi, p);
}

static int put_blob(struct store *s, struct blob_plan *p, const struct buf *body,
                    const struct format_info *fi, int64_t *ret_id) {
  static const uint8_t empty = 0;
  const struct buf *data;
  sqlite3_stmt *st;
  int r;

  /* We hold the write lock now: this lookup and the insert cannot race. */
  r = find_blob(s, p->sha256, body->len, ret_id);
  if (r != -ENOENT)
    return r;
  if (p->exists) {
    /* Pruned by another connection since plan_blob(). */
    p->exists = false;
    r = pack_body(s, body, fi, p);
    if (r < 0)
      return r;
  }
  data = strcmp(p->encoding, "zstd") == 0 ? &p->packed : body;
  st = store_stmt(s, sql_blob_insert);
  if (!st)
    return -EIO;
  sqlite3_bind_blob(st, 1, p->sha256, 32, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, p->encoding, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, (sqlite3_int64)body->len);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)data->len);
  /* A zero-length body must still be a blob, not NULL. */
  sqlite3_bind_blob64(st, 5, data->len ? (const void *)data->data : &empty, data->len,
                      SQLITE_STATIC);
  r = store_step_done(s, st, "storing a blob");
  if (r < 0)
    return r;
  *ret_id = sqlite3_last_insert_rowid(s->db);
  return 0;
}

static int check_labels(struct store *s, const struct cfg_pair *labels, size_t n) {
  static const char *const reserved[] = {"target", "instance", "type"};

  for (size_t i = 0; i < n; i++) {
    if (!labels[i].key || !*labels[i].key || !labels[i].value)
      return store_fail(s, -EINVAL, "label %zu has an empty key or no value", i + 1);
    for (size_t j = 0; j < ARRAY_SIZE(reserved); j++)
      if (strcmp(labels[i].key, reserved[j]) == 0)
        return store_fail(s, -EINVAL, "label key '%s' is reserved", labels[i].key);
    for (size_t j = 0; j < i; j++)
      if (strcmp(labels[i].key, labels[j].key) == 0)
        return store_fail(s, -EINVAL, "label key '%s' appears twice", labels[i].key);
  }
  return 0;
}

/* The canonical form of a label set: compact JSON with sorted keys. */
static int canonical_labels(struct store *s, const struct cfg_pair *labels, size_t n, char **ret) {
  json_t *o = json_object();
  char *text;

  for (size_t i = 0; i < n; i++) {
    json_t *v = json_string(labels[i].value);
    if (!v || json_object_set_new(o, labels[i].key, v) < 0) {
      json_decref(o);
      return store_fail(s, -EINVAL, "label '%s' is not valid UTF-8", labels[i].key);
    }
  }
  text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(o);
  if (!text)
    return store_fail(s, -ENOMEM, "encoding labels: out of memory");
  *ret = text;
  return 0;
}

static int put_labelset(struct store *s, const char *canonical, const struct cfg_pair *labels,
                        size_t n, int64_t *ret_id) {
  sqlite3_stmt *st = store_stmt(s, sql_labelset_find);
  int64_t id;
  int rc, r;

  if (!st)
    return -EIO;
  sqlite3_bind_text(st, 1, canonical, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *ret_id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return store_fail_sqlite(s, rc, "looking up labels");

  st = store_stmt(s, sql_labelset_insert);
  if (!st)
    return -EIO;
  sqlite3_bind_text(st, 1, canonical, -1, SQLITE_STATIC);
  r = store_step_done(s, st, "storing labels");
  if (r < 0)
    return r;
  id = sqlite3_last_insert_rowid(s->db);
  for (size_t i = 0; i < n; i++) {
    st = store_stmt(s, sql_pair_insert);
    if (!st)
      return -EIO;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_text(st, 2, labels[i].key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, labels[i].value, -1, SQLITE_STATIC);
    r = store_step_done(s, st, "storing labels");
    if (r < 0)
      return r;
  }
  *ret_id = id;
  return 0;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v) {
  if (v)
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, i);
}

static int put_row(struct store *s, const struct capture *c, const struct format_info *fi,
                   int64_t blob_id, int64_t labelset_id, int64_t *ret_id) {
  const struct analysis *a = c->analysis;
  sqlite3_stmt *st = store_stmt(s, sql_capture_insert);
  int r;

  if (!st)
    return -EIO;
  sqlite3_bind_text(st, 1, c->target, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, c->instance, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, c->type, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, c->url ? c->url : "", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 5, c->started_at_ms);
  sqlite3_bind_double(st, 6, c->requested_seconds);
  sqlite3_bind_int64(st, 7, c->duration_ms);
  sqlite3_bind_text(st, 8, capture_status_name(c->status), -1, SQLITE_STATIC);
  if (c->http_status > 0)
    sqlite3_bind_int64(st, 9, c->http_status);
  else
    sqlite3_bind_null(st, 9);
  bind_text_or_null(st, 10, c->status == CAPTURE_OK ? NULL : (c->error ? c->error : "failed"));
  bind_text_or_null(st, 11, c->content_type);
  sqlite3_bind_int64(st, 12, (sqlite3_int64)c->body.len);
  if (blob_id > 0)
    sqlite3_bind_int64(st, 13, blob_id);
  else
    sqlite3_bind_null(st, 13);
  sqlite3_bind_text(st, 14, format_name(fi->format), -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 15, fi->format == FORMAT_GO_TRACE ? fi->trace_minor : 0);
  sqlite3_bind_text(st, 16, analysis_status_name(a ? a->status : ANALYSIS_NONE), -1, SQLITE_STATIC);
  bind_text_or_null(st, 17, a ? a->error : NULL);
  sqlite3_bind_int64(st, 18, a ? a->elapsed_us : 0);
  sqlite3_bind_int64(st, 19, labelset_id);
  r = store_step_done(s, st, "storing the capture");
  if (r < 0)
    return r;
  *ret_id = sqlite3_last_insert_rowid(s->db);
  return 0;
}

static int put_analysis(struct store *s, int64_t id, const char *json) {
  sqlite3_stmt *st = store_stmt(s, sql_analysis_insert);

  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, id);
  sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
  return store_step_done(s, st, "storing the analysis");
}

static int check_capture(struct store *s, const struct capture *c) {
  if (s->readonly)
    return store_fail(s, -EROFS, "database %s is open read-only", s->path);
  if (!c->target || !*c->target || !c->instance || !*c->instance || !c->type || !*c->type)
    return store_fail(s, -EINVAL, "capture without target, instance or type");
  return check_labels(s, c->labels, c->n_labels);
}

int store_put_capture(struct store *s, const struct capture *c, int64_t *ret_id) {
  struct blob_plan plan = {.encoding = "raw"};
  struct format_info fi;
  char *canonical = NULL, *json = NULL;
  int64_t blob_id = 0, labelset_id = 0, id = 0;
  bool in_txn = false;
  int r;

  buf_init(&plan.packed, 0);
  r = check_capture(s, c);
  if (r < 0)
    goto fail;
  if (c->analysis)
    fi = c->analysis->format;
  else
    format_detect(c->body.data, c->body.len, &fi);
  r = canonical_labels(s, c->labels, c->n_labels, &canonical);
  if (r < 0)
    goto fail;
  if (c->analysis && c->analysis->json) {
    json = json_dumps(c->analysis->json, JSON_COMPACT);
    if (!json) {
      r = store_fail(s, -EINVAL, "analysis JSON cannot be encoded");
      goto fail;
    }
  }
  /* Hashing and compressing happen before the write lock is taken. */
  if (c->status == CAPTURE_OK) {
    memcpy(plan.sha256, c->sha256, 32);
    if (all_zero(plan.sha256, 32)) {
      r = store_sha256(c->body.data, c->body.len, plan.sha256);
      if (r < 0) {
        store_fail(s, r, "computing SHA-256 failed");
        goto fail;
      }
    }
    r = plan_blob(s, &c->body, &fi, &plan);
    if (r < 0)
      goto fail;
  }

  r = store_begin(s);
  if (r < 0)
    goto fail;
  in_txn = true;
  if (c->status == CAPTURE_OK) {
    r = put_blob(s, &plan, &c->body, &fi, &blob_id);
    if (r < 0)
      goto fail;
  }
  r = put_labelset(s, canonical, c->labels, c->n_labels, &labelset_id);
  if (r < 0)
    goto fail;
  r = put_row(s, c, &fi, blob_id, labelset_id, &id);
  if (r < 0)
    goto fail;
  if (json) {
    r = put_analysis(s, id, json);
    if (r < 0)
      goto fail;
  }
  if (c->analysis && c->analysis->ops && c->analysis->ops->store_rows) {
    free(s->errmsg);
    s->errmsg = NULL;
    r = c->analysis->ops->store_rows(s, id, c->analysis->detail);
    if (r < 0) {
      char *msg = s->errmsg;
      s->errmsg = NULL;
      store_fail(s, r, "storing %s analysis rows: %s", c->analysis->ops->name,
                 msg ? msg : strerror(-r));
      free(msg);
      goto fail;
    }
  }
  r = store_commit(s);
  in_txn = false;
  if (r < 0)
    goto fail;
  buf_done(&plan.packed);
  free(canonical);
  free(json);
  *ret_id = id;
  return 0;
fail:
  if (in_txn)
    store_abort(s);
  buf_done(&plan.packed);
  free(canonical);
  free(json);
  return r;
}
