/* Totals over the whole store for `pprofctl stats`: captures by type and
 * status, bytes received vs stored (compression and deduplication), blobs,
 * database size and the time span covered. */
#include "config.h"

#include "store.h"
#include "store_int.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char sql_by_type[] = "SELECT type, status, count(*), total(size_bytes) FROM captures"
                                  " GROUP BY type, status ORDER BY type, status";
static const char sql_blobs[] =
    "SELECT count(*), total(encoding = 'zstd'), total(raw_size), total(stored_size) FROM blobs";
static const char sql_span[] = "SELECT min(started_at_ms), max(started_at_ms) FROM captures";
static const char sql_labelsets[] = "SELECT count(*) FROM labelsets";

static int by_type(struct store *s, struct store_stats *st) {
  sqlite3_stmt *q = store_stmt(s, sql_by_type);
  int rc;

  if (!q)
    return -EIO;
  for (;;) {
    const char *type, *status;
    struct store_type_stats *t;
    int64_t n;
    uint64_t bytes;

    rc = sqlite3_step(q);
    if (rc != SQLITE_ROW)
      break;
    type = (const char *)sqlite3_column_text(q, 0);
    status = (const char *)sqlite3_column_text(q, 1);
    n = sqlite3_column_int64(q, 2);
    bytes = (uint64_t)sqlite3_column_double(q, 3);
    if (!type || !status)
      continue;
    if (st->n_types == 0 || strcmp(st->types[st->n_types - 1].type, type) != 0) {
      st->types = xreallocarray(st->types, st->n_types + 1, sizeof(*st->types));
      t = &st->types[st->n_types++];
      memset(t, 0, sizeof(*t));
      t->type = xstrdup(type);
    }
    t = &st->types[st->n_types - 1];
    t->received_bytes += bytes;
    st->captures += n;
    if (strcmp(status, "ok") == 0) {
      t->ok += n;
      st->captures_ok += n;
      st->received_bytes += bytes;
    } else {
      t->failed += n;
      st->captures_failed += n;
    }
  }
  sqlite3_reset(q);
  if (rc != SQLITE_DONE)
    return store_fail_sqlite(s, rc, "counting captures");
  return 0;
}

static int blobs_and_span(struct store *s, struct store_stats *st) {
  sqlite3_stmt *q = store_stmt(s, sql_blobs);
  int rc;

  if (!q)
    return -EIO;
  rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) {
    st->blobs = sqlite3_column_int64(q, 0);
    st->blobs_zstd = (int64_t)sqlite3_column_double(q, 1);
    st->blob_raw_bytes = (uint64_t)sqlite3_column_double(q, 2);
    st->blob_stored_bytes = (uint64_t)sqlite3_column_double(q, 3);
  }
  sqlite3_reset(q);
  if (rc != SQLITE_ROW)
    return store_fail_sqlite(s, rc, "counting blobs");

  q = store_stmt(s, sql_span);
  if (!q)
    return -EIO;
  rc = sqlite3_step(q);
  if (rc == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
    st->oldest_ms = sqlite3_column_int64(q, 0);
    st->newest_ms = sqlite3_column_int64(q, 1);
  }
  sqlite3_reset(q);
  if (rc != SQLITE_ROW)
    return store_fail_sqlite(s, rc, "reading the time span");

  q = store_stmt(s, sql_labelsets);
  if (!q)
    return -EIO;
  rc = sqlite3_step(q);
  if (rc == SQLITE_ROW)
    st->labelsets = sqlite3_column_int64(q, 0);
  sqlite3_reset(q);
  if (rc != SQLITE_ROW)
    return store_fail_sqlite(s, rc, "counting labelsets");
  return 0;
}

int store_stats(struct store *s, struct store_stats *ret) {
  struct store_stats st;
  int64_t pages, page_size;
  bool txn = false;
  int r;

  memset(&st, 0, sizeof(st));
  st.oldest_ms = st.newest_ms = INT64_MIN;
  /* One read transaction, so the figures agree with each other while the
   * daemon keeps writing. */
  if (sqlite3_get_autocommit(s->db)) {
    r = store_exec(s, "BEGIN");
    if (r < 0)
      goto fail;
    txn = true;
  }
  r = by_type(s, &st);
  if (r == 0)
    r = blobs_and_span(s, &st);
  if (r == 0)
    r = store_size(s, &st.db_used_bytes);
  if (r == 0)
    r = store_query_int64(s, "PRAGMA page_count", &pages);
  if (r == 0)
    r = store_query_int64(s, "PRAGMA page_size", &page_size);
  if (r < 0)
    goto fail;
  st.db_file_bytes = (uint64_t)pages * (uint64_t)page_size;
  if (txn)
    store_exec(s, "COMMIT");
  *ret = st;
  return 0;
fail:
  if (txn)
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  store_stats_done(&st);
  return r;
}

void store_stats_done(struct store_stats *st) {
  if (!st)
    return;
  for (size_t i = 0; i < st->n_types; i++)
    free(st->types[i].type);
  free(st->types);
  st->types = NULL;
  st->n_types = 0;
}
