/* Storage: one SQLite database in WAL mode. The daemon's writer thread owns
 * a read-write connection; pprofctl and the HTTP endpoint open their own
 * read-only connections. Every statement is prepared with bound parameters
 * and cached (store_stmt()). The schema is versioned with PRAGMA
 * user_version and migrated forward on open (read-write only).
 *
 * Raw bodies live in `blobs`, deduplicated by SHA-256 and kept byte-exact
 * (execution traces compressed with zstd at rest; store_read_blob() returns
 * the original bytes). A capture, its labels, its blob and its analysis are
 * written in one transaction. */
#ifndef PPROFD_STORE_H
#define PPROFD_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "capture.h"
#include "cfg.h"

struct store;

enum {
  STORE_READONLY = 1 << 0, /* open an existing database read-only */
};

/* Opens (creating and migrating unless STORE_READONLY) the database.
 * *ret_err gets a message naming the file on failure. */
int store_open(const char *path, unsigned flags, struct store **ret, char **ret_err);
struct store *store_close(struct store *s);
/* Message of the last failed call on this connection. */
const char *store_errmsg(struct store *s);
sqlite3 *store_db(struct store *s);

/* Returns a cached prepared statement for sql (keyed by the string's
 * address, so pass a static string), reset and with bindings cleared, or
 * NULL (store_errmsg()). */
sqlite3_stmt *store_stmt(struct store *s, const char *sql);

int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);

/* Stores a capture in one transaction: blob (deduplicated), capture row,
 * labels, analysis JSON and the analysis rows (analysis->ops->store_rows).
 * Returns 0 and the new capture id, or -errno (-ENOSPC when the disk is
 * full); on failure nothing of the capture is stored. */
int store_put_capture(struct store *s, const struct capture *c, int64_t *ret_id);

/* SHA-256 of len bytes into out (the blob key). Thread-safe; the analysis
 * workers fill capture.sha256 with it. Returns 0 or -EIO. */
int store_sha256(const void *data, size_t len, uint8_t out[32]);

/* A capture as read back. */
struct capture_row {
  int64_t id;
  char *target;
  char *instance;
  char *type;
  char *url;
  int64_t started_at_ms;
  double requested_seconds;
  int64_t duration_ms;
  enum capture_status status;
  long http_status;        /* 0 = none */
  char *error;             /* NULL when ok */
  char *content_type;
  int64_t size_bytes;      /* raw body size */
  char sha256[65];         /* "" when there is no body */
  char *format;            /* format_name() */
  int trace_minor;         /* for go-trace */
  char *analysis_status;   /* analysis_status_name() */
  char *analysis_error;
  struct cfg_pair *labels; /* sorted by key */
  size_t n_labels;
};
void capture_row_done(struct capture_row *r);

struct store_filter {
  const char *target;
  const char *instance;
  const char *type;
  int64_t since_ms;        /* started_at_ms >= since_ms; INT64_MIN = open */
  int64_t until_ms;        /* started_at_ms < until_ms; INT64_MAX = open */
  int status;              /* -1 = any, else enum capture_status */
  const struct cfg_pair *labels; /* all must match; keys "target", "instance", "type" match the columns */
  size_t n_labels;
  int64_t limit;           /* 0 = unlimited */
  bool oldest_first;       /* default: newest first */
};
void store_filter_init(struct store_filter *f);

/* Calls cb for each matching capture; a negative return from cb stops the
 * walk and is returned. Returns the number of rows visited or -errno. */
int store_list(struct store *s, const struct store_filter *f,
               int (*cb)(const struct capture_row *row, void *userdata), void *userdata);
/* Prepares `head` (static SQL such as "SELECT c.id, r.x FROM captures c
 * JOIN my_rows r ON r.capture_id = c.id": captures must be aliased c, no
 * WHERE clause) followed by the filter's conditions with bound parameters
 * and then `tail` (static SQL, e.g. "GROUP BY r.x") or, when tail is NULL,
 * the filter's order (time, then id) and limit. For modules that aggregate
 * their rows over the captures a filter selects. The caller finalizes the
 * statement. */
int store_filter_prepare(struct store *s, const struct store_filter *f, const char *head,
                         const char *tail, sqlite3_stmt **ret);
/* The newest capture of every (target, instance, type) series, ordered by
 * target, instance, type, with the start time of the series' newest ok
 * capture (INT64_MIN when it never succeeded). Cost grows with the number
 * of series, not of captures. The rows' sha256 is left empty. */
int store_latest(struct store *s,
                 int (*cb)(const struct capture_row *last, int64_t last_ok_ms, void *userdata),
                 void *userdata);
/* -ENOENT when there is no such capture. */
int store_get(struct store *s, int64_t id, struct capture_row *ret);
/* The stored analysis JSON text ("{}" when none); caller frees. -ENOENT
 * when there is no such capture. */
int store_get_analysis_json(struct store *s, int64_t id, char **ret_json);
/* The raw body exactly as received, checked against its SHA-256 (-EBADMSG
 * and a message when the stored data is corrupt). *ret is initialised by
 * the call (do not pass a buffer holding data) and freed with buf_done().
 * -ENOENT when there is no such capture or it has no body (failed). */
int store_read_blob(struct store *s, int64_t capture_id, struct buf *ret);

/* Totals for `pprofctl stats`. */
struct store_type_stats {
  char *type;
  int64_t ok;
  int64_t failed;
  uint64_t received_bytes; /* sum of size_bytes */
};
struct store_stats {
  int64_t captures;
  int64_t captures_ok;
  int64_t captures_failed;
  struct store_type_stats *types; /* sorted by type */
  size_t n_types;
  uint64_t received_bytes;     /* body bytes of all ok captures, duplicates included */
  int64_t blobs;               /* distinct bodies */
  int64_t blobs_zstd;          /* of which stored zstd-compressed */
  uint64_t blob_raw_bytes;     /* size of the distinct bodies */
  uint64_t blob_stored_bytes;  /* what they take at rest */
  int64_t labelsets;
  int64_t oldest_ms;           /* INT64_MIN when there are no captures */
  int64_t newest_ms;
  uint64_t db_used_bytes;      /* store_size() */
  uint64_t db_file_bytes;      /* page_count * page_size (without the WAL) */
};
int store_stats(struct store *s, struct store_stats *ret);
void store_stats_done(struct store_stats *st);

struct store_prune_result {
  int64_t captures_deleted;
  int64_t blobs_deleted;
  uint64_t size_before;
  uint64_t size_after;
};
/* Deletes captures older than now_ms - max_age_ms (max_age_ms 0 = no age
 * limit), then the oldest captures until the database is at most max_size
 * bytes (0 = no limit), with their blobs and analysis rows, and returns
 * freed pages to the filesystem. */
int store_prune(struct store *s, int64_t now_ms, int64_t max_age_ms, uint64_t max_size,
                struct store_prune_result *ret);
enum {
  STORE_PRUNE_DRY_RUN = 1 << 0, /* compute what would go, then roll everything back */
};
/* store_prune() with flags. A dry run holds the write lock for its whole
 * duration and does not vacuum; size_after is the size the database's
 * pages would then have in use. */
int store_prune_ex(struct store *s, int64_t now_ms, int64_t max_age_ms, uint64_t max_size,
                   unsigned flags, struct store_prune_result *ret);
/* Current database size in bytes (pages in use). */
int store_size(struct store *s, uint64_t *ret_bytes);

/* The reserve: disk space allocated in "<database>-reserve", so that
 * retention can still write (WAL frames, a checkpoint) when the disk is
 * full. store_reserve_fill() makes it at least `bytes` long (0, or -errno
 * such as -ENOSPC: try again later; never a partial reserve);
 * store_reserve_release() deletes it and says whether there was one. */
#define STORE_RESERVE_BYTES (4 * 1024 * 1024) /* the most pprofd sets aside */
int store_reserve_fill(struct store *s, uint64_t bytes);
bool store_reserve_release(struct store *s);
/* Space left for us on the database's filesystem. */
int store_free_bytes(struct store *s, uint64_t *ret_bytes);
/* Copies the WAL into the database and truncates it to zero bytes, giving
 * its space back to the filesystem. */
int store_checkpoint_truncate(struct store *s);
/* Makes max_bytes (0 = none) a hard limit on the database file: a write
 * that would grow it further fails with -ENOSPC, like a full disk, and the
 * message says that the limit was reached. */
int store_set_size_limit(struct store *s, uint64_t max_bytes);

#endif
