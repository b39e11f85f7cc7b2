/* Reading captures back: filtered lists, single captures, the latest
 * capture of every series, analysis JSON and raw bodies. */
#include "config.h"

#include "store.h"
#include "store_int.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

/* Every reader of struct capture_row selects these columns in this order
 * (fill_row() depends on it). */
#define ROW_COLUMNS                                                                                \
  "c.id, c.target, c.instance, c.type, c.url, c.started_at_ms, c.requested_seconds,"               \
  " c.duration_ms, c.status, c.http_status, c.error, c.content_type, c.size_bytes, c.blob_id,"     \
  " c.format, c.trace_minor, c.analysis_status, c.analysis_error, c.labelset_id"
/* Only captures: a join here would keep SQLite from stopping early on
 * "ORDER BY time LIMIT n" plans; the blob's hash is looked up per row
 * delivered instead (load_sha256()). */
#define ROW_FROM " FROM captures c"

/* Lists select the ids first (from indexes alone where the filter allows)
 * and read the rows of the page only: sorting a few thousand index entries
 * is cheap, reading their table rows is not. */
static const char sql_list_ids[] = "SELECT c.id FROM captures c";
static const char sql_list_outer[] = "SELECT " ROW_COLUMNS " FROM";
static const char sql_list_newest[] =
    " AS k JOIN captures c ON c.id = k.id ORDER BY c.started_at_ms DESC, c.id DESC";
static const char sql_list_oldest[] =
    " AS k JOIN captures c ON c.id = k.id ORDER BY c.started_at_ms, c.id";
static const char sql_get[] = "SELECT " ROW_COLUMNS ROW_FROM " WHERE c.id = ?1";
static const char sql_labels[] =
    "SELECT key, value FROM labelset_pairs WHERE labelset_id = ?1 ORDER BY key";
static const char sql_analysis[] = "SELECT json FROM capture_analysis WHERE capture_id = ?1";
static const char sql_sha256[] = "SELECT sha256 FROM blobs WHERE id = ?1";
static const char sql_exists[] = "SELECT 1 FROM captures WHERE id = ?1";
static const char sql_blob_of[] =
    "SELECT c.blob_id, b.encoding, b.raw_size, b.stored_size, b.sha256, c.error"
    " FROM captures c LEFT JOIN blobs b ON b.id = c.blob_id WHERE c.id = ?1";
/* Walks the series index (instance, target, type, time) backwards: each
 * step jumps to the newest capture of the next series below the current
 * one, so the cost is a few index seeks per series. The three cases (next
 * type of the same target and instance, next target of the same instance,
 * next instance) are separate subqueries because SQLite only uses the
 * first column of an index for a row-value range. */
#define SERIES_DESC                                                                                \
  " ORDER BY c2.instance DESC, c2.target DESC, c2.type DESC, c2.started_at_ms DESC, c2.id DESC"    \
  " LIMIT 1)"
static const char sql_latest[] =
    "WITH RECURSIVE k(id) AS ("
    "  SELECT (SELECT c2.id FROM captures c2" SERIES_DESC "  UNION ALL"
    "  SELECT coalesce("
    "    (SELECT c2.id FROM captures c2 WHERE c2.instance = c1.instance"
    "      AND c2.target = c1.target AND c2.type < c1.type" SERIES_DESC ","
    "    (SELECT c2.id FROM captures c2 WHERE c2.instance = c1.instance"
    "      AND c2.target < c1.target" SERIES_DESC ","
    "    (SELECT c2.id FROM captures c2 WHERE c2.instance < c1.instance" SERIES_DESC ")"
    "  FROM k JOIN captures c1 ON c1.id = k.id"
    ")"
    " SELECT " ROW_COLUMNS ","
    " (SELECT c3.started_at_ms FROM captures c3"
    "   WHERE c3.instance = c.instance AND c3.target = c.target AND c3.type = c.type"
    "     AND c3.status = 'ok'"
    "   ORDER BY c3.started_at_ms DESC LIMIT 1)"
    " FROM k JOIN captures c ON c.id = k.id"
    " ORDER BY c.target, c.instance, c.type";

static void free_labels(struct cfg_pair *labels, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(labels[i].key);
    free(labels[i].value);
  }
  free(labels);
}

static void free_row_strings(struct capture_row *r) {
  free(r->target);
  free(r->instance);
  free(r->type);
  free(r->url);
  free(r->error);
  free(r->content_type);
  free(r->format);
  free(r->analysis_status);
  free(r->analysis_error);
}

void capture_row_done(struct capture_row *r) {
  if (!r)
    return;
  free_row_strings(r);
  free_labels(r->labels, r->n_labels);
  memset(r, 0, sizeof(*r));
}

static char *col_text(sqlite3_stmt *st, int i) {
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? xstrdup((const char *)t) : NULL;
}

static char *col_text_nonnull(sqlite3_stmt *st, int i) {
  char *t = col_text(st, i);
  return t ? t : xstrdup("");
}

/* Fills everything but the labels and the hash. */
static void fill_row(sqlite3_stmt *st, struct capture_row *r, int64_t *ret_blob,
                     int64_t *ret_labelset) {
  const unsigned char *status;

  memset(r, 0, sizeof(*r));
  r->id = sqlite3_column_int64(st, 0);
  r->target = col_text_nonnull(st, 1);
  r->instance = col_text_nonnull(st, 2);
  r->type = col_text_nonnull(st, 3);
  r->url = col_text_nonnull(st, 4);
  r->started_at_ms = sqlite3_column_int64(st, 5);
  r->requested_seconds = sqlite3_column_double(st, 6);
  r->duration_ms = sqlite3_column_int64(st, 7);
  status = sqlite3_column_text(st, 8);
  r->status = status && strcmp((const char *)status, "ok") == 0 ? CAPTURE_OK : CAPTURE_FAILED;
  r->http_status = sqlite3_column_type(st, 9) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 9);
  r->error = col_text(st, 10);
  r->content_type = col_text(st, 11);
  r->size_bytes = sqlite3_column_int64(st, 12);
  *ret_blob = sqlite3_column_int64(st, 13); /* NULL reads as 0 */
  r->format = col_text_nonnull(st, 14);
  r->trace_minor = sqlite3_column_int(st, 15);
  r->analysis_status = col_text_nonnull(st, 16);
  r->analysis_error = col_text(st, 17);
  *ret_labelset = sqlite3_column_int64(st, 18);
}

static int load_sha256(struct store *s, int64_t blob_id, struct capture_row *r) {
  sqlite3_stmt *st;
  int rc;

  r->sha256[0] = '\0';
  if (blob_id <= 0)
    return 0;
  st = store_stmt(s, sql_sha256);
  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, blob_id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == 32)
    hex_encode(sqlite3_column_blob(st, 0), 32, r->sha256);
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return store_fail_sqlite(s, rc, "reading a blob's hash");
  return 0;
}

static int load_labels(struct store *s, int64_t labelset_id, struct cfg_pair **ret, size_t *ret_n) {
  sqlite3_stmt *st = store_stmt(s, sql_labels);
  struct cfg_pair *labels = NULL;
  size_t n = 0;
  int rc;

  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, labelset_id);
  for (;;) {
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
      break;
    labels = xreallocarray(labels, n + 1, sizeof(*labels));
    labels[n].key = col_text_nonnull(st, 0);
    labels[n].value = col_text_nonnull(st, 1);
    n++;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    free_labels(labels, n);
    return store_fail_sqlite(s, rc, "reading labels");
  }
  *ret = labels;
  *ret_n = n;
  return 0;
}

/* Captures of one target share a labelset, so a walk over many captures
 * reads each labelset once. Bounded: cleared when full. */
#define LABEL_CACHE_MAX 256
struct label_cache {
  struct {
    int64_t id;
    struct cfg_pair *labels;
    size_t n;
  } e[LABEL_CACHE_MAX];
  size_t n;
};

static void label_cache_clear(struct label_cache *lc) {
  for (size_t i = 0; i < lc->n; i++)
    free_labels(lc->e[i].labels, lc->e[i].n);
  lc->n = 0;
}

static int label_cache_get(struct store *s, struct label_cache *lc, int64_t id,
                           struct capture_row *r) {
  size_t i;
  int res;

  for (i = 0; i < lc->n; i++)
    if (lc->e[i].id == id)
      goto found;
  if (lc->n == LABEL_CACHE_MAX)
    label_cache_clear(lc);
  i = lc->n;
  res = load_labels(s, id, &lc->e[i].labels, &lc->e[i].n);
  if (res < 0)
    return res;
  lc->e[i].id = id;
  lc->n++;
found:
  r->labels = lc->e[i].labels;
  r->n_labels = lc->e[i].n;
  return 0;
}

int store_list(struct store *s, const struct store_filter *f,
               int (*cb)(const struct capture_row *row, void *userdata), void *userdata) {
  struct label_cache *lc = xcalloc(1, sizeof(*lc));
  sqlite3_stmt *st = NULL;
  int count = 0, rc, r;

  r = store_filter_prepare_wrapped(s, f, sql_list_ids, NULL, sql_list_outer,
                                   f->oldest_first ? sql_list_oldest : sql_list_newest, &st);
  if (r < 0)
    goto out;
  for (;;) {
    struct capture_row row;
    int64_t blob, labelset;

    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
      break;
    fill_row(st, &row, &blob, &labelset);
    r = load_sha256(s, blob, &row);
    if (r == 0)
      r = label_cache_get(s, lc, labelset, &row);
    if (r == 0)
      r = cb(&row, userdata);
    free_row_strings(&row);
    if (r < 0)
      goto out;
    if (count < INT32_MAX)
      count++;
  }
  if (rc != SQLITE_DONE) {
    r = store_fail_sqlite(s, rc, "listing captures");
    goto out;
  }
  r = count;
out:
  sqlite3_finalize(st);
  label_cache_clear(lc);
  free(lc);
  return r;
}

int store_get(struct store *s, int64_t id, struct capture_row *ret) {
  sqlite3_stmt *st = store_stmt(s, sql_get);
  struct capture_row row;
  int64_t blob, labelset;
  int rc, r;

  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(st);
    return store_fail(s, -ENOENT, "no capture with id %" PRId64, id);
  }
  if (rc != SQLITE_ROW) {
    r = store_fail_sqlite(s, rc, "reading a capture");
    sqlite3_reset(st);
    return r;
  }
  fill_row(st, &row, &blob, &labelset);
  sqlite3_reset(st);
  r = load_sha256(s, blob, &row);
  if (r == 0)
    r = load_labels(s, labelset, &row.labels, &row.n_labels);
  if (r < 0) {
    capture_row_done(&row);
    return r;
  }
  *ret = row;
  return 0;
}

int store_latest(struct store *s,
                 int (*cb)(const struct capture_row *last, int64_t last_ok_ms, void *userdata),
                 void *userdata) {
  struct label_cache *lc = xcalloc(1, sizeof(*lc));
  sqlite3_stmt *st = store_stmt(s, sql_latest);
  int rc, r = 0;

  if (!st) {
    r = -EIO;
    goto out;
  }
  for (;;) {
    struct capture_row row;
    int64_t blob, labelset, last_ok;

    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
      break;
    fill_row(st, &row, &blob, &labelset);
    last_ok = sqlite3_column_type(st, 19) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 19);
    r = label_cache_get(s, lc, labelset, &row);
    if (r == 0)
      r = cb(&row, last_ok, userdata);
    free_row_strings(&row);
    if (r < 0)
      goto out;
  }
  if (rc != SQLITE_DONE)
    r = store_fail_sqlite(s, rc, "listing targets");
out:
  if (st)
    sqlite3_reset(st);
  label_cache_clear(lc);
  free(lc);
  return r;
}

static int capture_exists(struct store *s, int64_t id) {
  sqlite3_stmt *st = store_stmt(s, sql_exists);
  int rc;

  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, id);
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc == SQLITE_ROW)
    return 0;
  if (rc == SQLITE_DONE)
    return store_fail(s, -ENOENT, "no capture with id %" PRId64, id);
  return store_fail_sqlite(s, rc, "reading a capture");
}

int store_get_analysis_json(struct store *s, int64_t id, char **ret_json) {
  sqlite3_stmt *st = store_stmt(s, sql_analysis);
  int rc, r;

  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *ret_json = col_text_nonnull(st, 0);
    sqlite3_reset(st);
    return 0;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return store_fail_sqlite(s, rc, "reading the analysis");
  r = capture_exists(s, id);
  if (r < 0)
    return r;
  *ret_json = xstrdup("{}");
  return 0;
}

/* Reads the blob's stored bytes with incremental I/O (no extra copy in
 * SQLite). The caller's statement keeps the read transaction open. */
static int read_stored(struct store *s, int64_t blob_id, int64_t stored_size, struct buf *out) {
  sqlite3_blob *h = NULL;
  int64_t off = 0;
  int rc, r;

  rc = sqlite3_blob_open(s->db, "main", "blobs", "data", blob_id, 0, &h);
  if (rc != SQLITE_OK) {
    r = store_fail_sqlite(s, rc, "opening a blob");
    goto out;
  }
  if (sqlite3_blob_bytes(h) != stored_size) {
    r = store_fail(s, -EBADMSG, "blob %" PRId64 " has %d bytes, expected %" PRId64, blob_id,
                   sqlite3_blob_bytes(h), stored_size);
    goto out;
  }
  buf_init(out, (size_t)stored_size);
  r = buf_reserve(out, (size_t)stored_size);
  if (r < 0) {
    store_fail(s, r, "reading a body of %" PRId64 " bytes: %s", stored_size, strerror(-r));
    goto out;
  }
  while (off < stored_size) {
    int n = (int)MIN(stored_size - off, (int64_t)64 << 20);
    rc = sqlite3_blob_read(h, out->data + off, n, (int)off);
    if (rc != SQLITE_OK) {
      r = store_fail_sqlite(s, rc, "reading a blob");
      goto out;
    }
    off += n;
  }
  out->len = (size_t)stored_size;
out:
  sqlite3_blob_close(h);
  return r;
}

static int unpack(struct store *s, int64_t id, const struct buf *packed, int64_t raw_size,
                  struct buf *out) {
  unsigned long long declared = ZSTD_getFrameContentSize(packed->data, packed->len);
  size_t n;
  int r;

  if (declared != (unsigned long long)raw_size)
    return store_fail(s, -EBADMSG,
                      "capture %" PRId64 ": stored body is corrupt (zstd frame size does not "
                      "match the recorded %" PRId64 " bytes)",
                      id, raw_size);
  buf_init(out, (size_t)raw_size);
  r = buf_reserve(out, (size_t)raw_size);
  if (r < 0)
    return store_fail(s, r, "decompressing a body of %" PRId64 " bytes: %s", raw_size,
                      strerror(-r));
  n = ZSTD_decompress(out->data, (size_t)raw_size, packed->data, packed->len);
  if (ZSTD_isError(n) || n != (size_t)raw_size) {
    buf_done(out);
    return store_fail(s, -EBADMSG, "capture %" PRId64 ": stored body is corrupt (zstd: %s)", id,
                      ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short output");
  }
  out->len = n;
  return 0;
}

int store_read_blob(struct store *s, int64_t capture_id, struct buf *ret) {
  sqlite3_stmt *st = store_stmt(s, sql_blob_of);
  struct buf stored, raw;
  uint8_t want[32], got[32];
  const unsigned char *encoding;
  int64_t blob_id, raw_size, stored_size;
  bool zstd;
  int rc, r;

  buf_init(&stored, 0);
  buf_init(&raw, 0);
  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, capture_id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    r = store_fail(s, -ENOENT, "no capture with id %" PRId64, capture_id);
    goto out;
  }
  if (rc != SQLITE_ROW) {
    r = store_fail_sqlite(s, rc, "reading a capture");
    goto out;
  }
  if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
    const unsigned char *err = sqlite3_column_text(st, 5);
    r = store_fail(s, -ENOENT, "capture %" PRId64 " has no body (the fetch failed: %s)", capture_id,
                   err ? (const char *)err : "no error recorded");
    goto out;
  }
  blob_id = sqlite3_column_int64(st, 0);
  encoding = sqlite3_column_text(st, 1);
  zstd = encoding && strcmp((const char *)encoding, "zstd") == 0;
  raw_size = sqlite3_column_int64(st, 2);
  stored_size = sqlite3_column_int64(st, 3);
  if (sqlite3_column_bytes(st, 4) != 32 || raw_size < 0 || stored_size < 0) {
    r = store_fail(s, -EBADMSG, "capture %" PRId64 ": blob record is corrupt", capture_id);
    goto out;
  }
  memcpy(want, sqlite3_column_blob(st, 4), 32);
  /* st stays on its row until the end: that keeps one read transaction
   * around the lookup and the blob read, so a concurrent prune cannot
   * delete the blob in between. */
  r = read_stored(s, blob_id, stored_size, &stored);
  if (r < 0)
    goto out;
  if (zstd) {
    r = unpack(s, capture_id, &stored, raw_size, &raw);
    if (r < 0)
      goto out;
    buf_done(&stored);
  } else {
    raw = stored;
    buf_init(&stored, 0);
  }
  r = store_sha256(raw.data, raw.len, got);
  if (r < 0) {
    store_fail(s, r, "computing SHA-256 failed");
    goto out;
  }
  if ((int64_t)raw.len != raw_size || memcmp(want, got, 32) != 0) {
    char hw[65], hg[65];
    hex_encode(want, 32, hw);
    hex_encode(got, 32, hg);
    r = store_fail(s, -EBADMSG,
                   "capture %" PRId64 ": stored body is corrupt (SHA-256 %s, expected %s)",
                   capture_id, hg, hw);
    goto out;
  }
  *ret = raw;
  buf_init(&raw, 0);
out:
  sqlite3_reset(st);
  buf_done(&stored);
  buf_done(&raw);
  return r;
}
