/* Retention: deleting captures by age and by database size, with the
 * blobs and labelsets nothing references any more, then giving the freed
 * pages back to the filesystem. */
#include "config.h"

#include "pprof_rollup.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Small batches keep each write transaction (and the WAL) short, so the
 * daemon's writer is never blocked for long. */
#define PRUNE_BATCH 500

static const char sql_oldest[] =
    "SELECT id, blob_id, labelset_id FROM captures WHERE started_at_ms < ?1"
    " ORDER BY started_at_ms, id LIMIT ?2";
static const char sql_delete_capture[] = "DELETE FROM captures WHERE id = ?1";
static const char sql_delete_blob[] =
    "DELETE FROM blobs WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM captures WHERE blob_id = ?1)";
static const char sql_delete_labelset[] =
    "DELETE FROM labelsets WHERE id = ?1"
    " AND NOT EXISTS (SELECT 1 FROM captures WHERE labelset_id = ?1)";
static const char sql_count[] = "SELECT count(*) FROM captures";

int store_size(struct store *s, uint64_t *ret_bytes) {
  int64_t pages, freelist, page_size;
  int r;

  r = store_query_int64(s, "PRAGMA page_count", &pages);
  if (r == 0)
    r = store_query_int64(s, "PRAGMA freelist_count", &freelist);
  if (r == 0)
    r = store_query_int64(s, "PRAGMA page_size", &page_size);
  if (r < 0)
    return r;
  *ret_bytes = (uint64_t)(pages - freelist) * (uint64_t)page_size;
  return 0;
}

struct batch {
  int64_t id[PRUNE_BATCH];
  int64_t blob[PRUNE_BATCH]; /* 0 = none */
  int64_t labelset[PRUNE_BATCH];
  size_t n;
};

static int select_oldest(struct store *s, int64_t before_ms, int64_t limit, struct batch *b) {
  sqlite3_stmt *st = store_stmt(s, sql_oldest);
  int rc;

  if (!st)
    return -EIO;
  b->n = 0;
  sqlite3_bind_int64(st, 1, before_ms);
  sqlite3_bind_int64(st, 2, MIN(limit, (int64_t)PRUNE_BATCH));
  for (;;) {
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW || b->n == PRUNE_BATCH)
      break;
    b->id[b->n] = sqlite3_column_int64(st, 0);
    b->blob[b->n] = sqlite3_column_int64(st, 1); /* NULL reads as 0 */
    b->labelset[b->n] = sqlite3_column_int64(st, 2);
    b->n++;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return store_fail_sqlite(s, rc, "selecting captures to prune");
  return 0;
}

static int delete_by_id(struct store *s, const char *sql, int64_t id, const char *what,
                        int64_t *count) {
  sqlite3_stmt *st = store_stmt(s, sql);
  int r;

  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, id);
  r = store_step_done(s, st, what);
  if (r < 0)
    return r;
  *count += sqlite3_changes(s->db);
  return 0;
}

/* Deletes up to `limit` of the oldest captures started before before_ms,
 * then the blobs and labelsets they alone referenced. Analysis rows go
 * with the captures (ON DELETE CASCADE). Returns the number of captures
 * deleted. */
static int delete_batch(struct store *s, int64_t before_ms, int64_t limit, bool in_outer_txn,
                        struct store_prune_result *res) {
  struct batch *b = xmalloc(sizeof(*b));
  int64_t unused = 0;
  int r;

  if (!in_outer_txn) {
    r = store_begin(s);
    if (r < 0)
      goto out;
  }
  r = select_oldest(s, before_ms, limit, b);
  for (size_t i = 0; r == 0 && i < b->n; i++)
    r = delete_by_id(s, sql_delete_capture, b->id[i], "deleting a capture", &res->captures_deleted);
  for (size_t i = 0; r == 0 && i < b->n; i++)
    if (b->blob[i] > 0)
      r = delete_by_id(s, sql_delete_blob, b->blob[i], "deleting a blob", &res->blobs_deleted);
  for (size_t i = 0; r == 0 && i < b->n; i++)
    if (i == 0 || b->labelset[i] != b->labelset[i - 1])
      r = delete_by_id(s, sql_delete_labelset, b->labelset[i], "deleting labels", &unused);
  /* The deletes marked their rollup cells stale: rebuild the hours from
   * the captures left, in the same transaction (a stale day is read
   * through its hours; rebuilding it would read a whole day of captures
   * per series at every run). A failed rebuild (say, a full
   * disk) leaves the cells stale, which queries read raw; the deletes
   * still count, unless SQLite rolled the whole transaction back. */
  if (r == 0 && b->n > 0 && pprof_rollup_repair(s, PPROF_ROLLUP_HOUR_MS) < 0 &&
      sqlite3_get_autocommit(s->db))
    r = store_fail(s, -EIO, "rebuilding pprof rollups: the transaction was rolled back");
  if (!in_outer_txn) {
    if (r == 0)
      r = store_commit(s);
    else
      store_abort(s);
  }
  if (r == 0)
    r = (int)b->n;
out:
  free(b);
  return r;
}

static int prune_by_age(struct store *s, int64_t cutoff_ms, bool dry,
                        struct store_prune_result *res) {
  int n;

  do {
    n = delete_batch(s, cutoff_ms, PRUNE_BATCH, dry, res);
    if (n < 0)
      return n;
  } while (n == PRUNE_BATCH);
  return 0;
}

static int prune_by_size(struct store *s, uint64_t max_size, bool dry,
                         struct store_prune_result *res) {
  sqlite3_stmt *st = store_stmt(s, sql_count);
  int64_t remaining = 0;
  uint64_t size;
  int n, r;

  if (!st)
    return -EIO;
  if (sqlite3_step(st) == SQLITE_ROW)
    remaining = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  for (;;) {
    uint64_t per_capture, excess;
    int64_t want;

    r = store_size(s, &size);
    if (r < 0)
      return r;
    if (size <= max_size || remaining <= 0)
      return 0;
    /* Estimate how many of the oldest captures hold the excess; deleted
     * rows do not always free whole pages, so the loop re-measures. */
    per_capture = MAX(size / (uint64_t)remaining, (uint64_t)1);
    excess = size - max_size;
    want = (int64_t)MIN(excess / per_capture + 1, (uint64_t)PRUNE_BATCH);
    n = delete_batch(s, INT64_MAX, want, dry, res);
    if (n < 0)
      return n;
    if (n == 0)
      return 0;
    remaining -= n;
  }
}

int store_prune_ex(struct store *s, int64_t now_ms, int64_t max_age_ms, uint64_t max_size,
                   unsigned flags, struct store_prune_result *ret) {
  struct store_prune_result res;
  bool dry = (flags & STORE_PRUNE_DRY_RUN) != 0;
  int r;

  memset(&res, 0, sizeof(res));
  if (s->readonly)
    return store_fail(s, -EROFS, "database %s is open read-only", s->path);
  r = store_size(s, &res.size_before);
  if (r < 0)
    return r;
  if (dry) {
    r = store_begin(s);
    if (r < 0)
      return r;
  }
  if (max_age_ms > 0 && now_ms > INT64_MIN + max_age_ms) {
    r = prune_by_age(s, now_ms - max_age_ms, dry, &res);
    if (r < 0)
      goto fail;
  }
  if (max_size > 0) {
    r = prune_by_size(s, max_size, dry, &res);
    if (r < 0)
      goto fail;
  }
  if (!dry && res.captures_deleted > 0) {
    /* auto_vacuum=INCREMENTAL: move the free pages to the end and truncate
     * (the file shrinks once the WAL is checkpointed). */
    r = store_exec(s, "PRAGMA incremental_vacuum");
    if (r < 0)
      goto fail;
    (void)store_exec(s, "PRAGMA wal_checkpoint(PASSIVE)");
  }
  r = store_size(s, &res.size_after);
  if (r < 0)
    goto fail;
  if (dry)
    store_rollback(s);
  *ret = res;
  return 0;
fail:
  if (dry)
    store_abort(s);
  return r;
}

int store_prune(struct store *s, int64_t now_ms, int64_t max_age_ms, uint64_t max_size,
                struct store_prune_result *ret) {
  return store_prune_ex(s, now_ms, max_age_ms, max_size, 0, ret);
}
