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
  int64_t since_ms;        /* INT64_MIN = open */
  int64_t until_ms;        /* INT64_MAX = open */
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
/* -ENOENT when there is no such capture. */
int store_get(struct store *s, int64_t id, struct capture_row *ret);
/* The stored analysis JSON text ("{}" when none). */
int store_get_analysis_json(struct store *s, int64_t id, char **ret_json);
/* The raw body exactly as received. -ENOENT when the capture has no body. */
int store_read_blob(struct store *s, int64_t capture_id, struct buf *ret);

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
/* Current database size in bytes (pages in use). */
int store_size(struct store *s, uint64_t *ret_bytes);

#endif
