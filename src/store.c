/* Storage: opening, schema migration, the prepared-statement cache,
 * transactions and error mapping. Captures are written by store_put.c,
 * read by store_query.c and pruned by store_prune.c. */
#include "config.h"

#include "pprof_rollup.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_FILE_MODE 0640
#define STORE_DIR_MODE 0750

int store_errno_from_sqlite(int rc) {
  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_ROW:
  case SQLITE_DONE:
    return 0;
  case SQLITE_FULL:
    return -ENOSPC;
  case SQLITE_IOERR:
    return rc == SQLITE_IOERR_NOMEM ? -ENOMEM : -EIO;
  case SQLITE_NOMEM:
    return -ENOMEM;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return -EBUSY;
  case SQLITE_READONLY:
    return -EROFS;
  case SQLITE_PERM:
  case SQLITE_AUTH:
    return -EACCES;
  case SQLITE_CANTOPEN:
    return -ENOENT;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return -EBADMSG;
  case SQLITE_TOOBIG:
    return -EFBIG;
  case SQLITE_INTERRUPT:
    return -EINTR;
  case SQLITE_CONSTRAINT:
  case SQLITE_MISMATCH:
  case SQLITE_RANGE:
  case SQLITE_ERROR:
  case SQLITE_MISUSE:
    return -EINVAL;
  default:
    return -EIO;
  }
}

int store_fail(struct store *s, int r, const char *fmt, ...) {
  va_list ap;
  char *msg;

  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  free(s->errmsg);
  s->errmsg = msg;
  return r;
}

static int64_t pragma_value(struct store *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  int64_t v = 0;

  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static int64_t page_size(struct store *s) {
  return pragma_value(s, "PRAGMA page_size");
}

/* SQLITE_FULL also means "max_page_count reached". The page count does not
 * tell (the failed statement's pages are rolled back by now), so: a limit
 * is set and the filesystem still has room. */
static bool at_size_limit(struct store *s) {
  struct statvfs vfs;

  if (!s->db || s->max_pages <= 0 || statvfs(s->path, &vfs) < 0)
    return false;
  return (uint64_t)vfs.f_bavail * vfs.f_frsize >= 1024 * 1024;
}

int store_fail_sqlite(struct store *s, int rc, const char *what) {
  int r = store_errno_from_sqlite(rc);
  const char *detail = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
  char saved[256];

  if (r == 0)
    r = -EIO;
  /* sqlite3_errmsg() describes the most recent call, which may not be the
   * one that failed (e.g. after an automatic rollback). */
  if (!detail || strcmp(detail, "not an error") == 0)
    detail = sqlite3_errstr(rc);
  snprintf(saved, sizeof(saved), "%s", detail); /* at_size_limit() runs queries */
  detail = saved;
  if (r == -ENOSPC && at_size_limit(s))
    return store_fail(s, r,
                      "database %s: size limit of %lld bytes (storage.max_size) reached while %s",
                      s->path, (long long)(s->max_pages * page_size(s)), what);
  if (r == -ENOSPC)
    return store_fail(s, r, "database %s: disk full while %s: %s", s->path, what, detail);
  if (r == -EIO)
    return store_fail(s, r, "database %s: I/O error while %s: %s", s->path, what, detail);
  return store_fail(s, r, "database %s: %s: %s", s->path, what, detail);
}

const char *store_errmsg(struct store *s) {
  if (!s || !s->errmsg)
    return "no error";
  return s->errmsg;
}

sqlite3 *store_db(struct store *s) {
  return s->db;
}

sqlite3_stmt *store_stmt(struct store *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  int rc;

  for (size_t i = 0; i < s->n_stmts; i++) {
    if (s->stmts[i].sql == sql) {
      st = s->stmts[i].stmt;
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
      return st;
    }
  }
  rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
  if (rc != SQLITE_OK) {
    store_fail_sqlite(s, rc, "preparing a statement");
    sqlite3_finalize(st);
    return NULL;
  }
  if (s->n_stmts == s->cap_stmts) {
    s->cap_stmts = s->cap_stmts ? 2 * s->cap_stmts : 32;
    s->stmts = xreallocarray(s->stmts, s->cap_stmts, sizeof(*s->stmts));
  }
  s->stmts[s->n_stmts].sql = sql;
  s->stmts[s->n_stmts].stmt = st;
  s->n_stmts++;
  return st;
}

static void reset_all(struct store *s) {
  for (size_t i = 0; i < s->n_stmts; i++)
    sqlite3_reset(s->stmts[i].stmt);
}

int store_step_done(struct store *s, sqlite3_stmt *st, const char *what) {
  int rc;

  do
    rc = sqlite3_step(st);
  while (rc == SQLITE_ROW);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return store_fail_sqlite(s, rc, what);
  return 0;
}

int store_exec(struct store *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  int r;

  if (rc != SQLITE_OK) {
    r = store_fail_sqlite(s, rc, sql);
    sqlite3_finalize(st);
    return r;
  }
  r = store_step_done(s, st, sql);
  sqlite3_finalize(st);
  return r;
}

int store_query_int64(struct store *s, const char *sql, int64_t *ret) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  int r = 0;

  if (rc != SQLITE_OK) {
    r = store_fail_sqlite(s, rc, sql);
    goto out;
  }
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *ret = sqlite3_column_int64(st, 0);
  } else if (rc == SQLITE_DONE) {
    r = store_fail(s, -ENODATA, "database %s: %s returned no row", s->path, sql);
  } else {
    r = store_fail_sqlite(s, rc, sql);
  }
out:
  sqlite3_finalize(st);
  return r;
}

int store_begin(struct store *s) {
  /* IMMEDIATE takes the write lock up front, so a transaction never fails
   * half-way with SQLITE_BUSY when another writer got there first; a
   * read-only connection gets a consistent snapshot instead. */
  static const char begin_rw[] = "BEGIN IMMEDIATE";
  static const char begin_ro[] = "BEGIN";
  sqlite3_stmt *st = store_stmt(s, s->readonly ? begin_ro : begin_rw);

  if (!st)
    return -EIO;
  return store_step_done(s, st, "starting a transaction");
}

int store_rollback(struct store *s) {
  static const char sql[] = "ROLLBACK";
  sqlite3_stmt *st;

  reset_all(s);
  if (sqlite3_get_autocommit(s->db))
    return 0; /* SQLite already rolled back (e.g. after SQLITE_FULL) */
  st = store_stmt(s, sql);
  if (!st)
    return -EIO;
  return store_step_done(s, st, "rolling back");
}

void store_abort(struct store *s) {
  char *msg = s->errmsg;

  s->errmsg = NULL;
  store_rollback(s);
  free(s->errmsg);
  s->errmsg = msg;
}

int store_commit(struct store *s) {
  static const char sql[] = "COMMIT";
  sqlite3_stmt *st;
  int r;

  reset_all(s);
  st = store_stmt(s, sql);
  if (!st) {
    r = -EIO;
    goto fail;
  }
  r = store_step_done(s, st, "committing");
  if (r < 0)
    goto fail;
  return 0;
fail:
  /* A failed COMMIT may leave the transaction open (SQLITE_BUSY) or rolled
   * back (SQLITE_FULL, I/O errors); either way the connection must be
   * usable for the next capture. Keep the commit error message. */
  if (!sqlite3_get_autocommit(s->db))
    store_abort(s);
  return r;
}

/* mkdir -p for the database's parent directory; directories we create get
 * STORE_DIR_MODE exactly (not reduced by the umask). */
static int make_parents(const char *path, char **ret_err) {
  char *dir = xstrdup(path);
  char *slash = strrchr(dir, '/');
  int r = 0;

  if (!slash || slash == dir)
    goto out;
  *slash = '\0';
  for (char *p = dir + 1;; p++) {
    bool last = *p == '\0';
    if (*p != '/' && !last)
      continue;
    *p = '\0';
    if (mkdir(dir, STORE_DIR_MODE) == 0) {
      if (chmod(dir, STORE_DIR_MODE) < 0) {
        r = -errno;
        goto fail;
      }
    } else if (errno != EEXIST) {
      r = -errno;
      goto fail;
    }
    if (last)
      break;
    *p = '/';
  }
out:
  free(dir);
  return r;
fail:
  *ret_err = xasprintf("database %s: cannot create directory %s: %s", path, dir, strerror(-r));
  free(dir);
  return r;
}

/* Creates the database file ourselves so that it gets mode 0640: SQLite
 * gives the -wal and -shm files the mode of the database file. */
static int create_file(const char *path, char **ret_err) {
  int fd, r;

  r = make_parents(path, ret_err);
  if (r < 0)
    return r;
  fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, STORE_FILE_MODE);
  if (fd < 0) {
    if (errno == EEXIST)
      return 0;
    r = -errno;
    *ret_err = xasprintf("database %s: cannot create: %s", path, strerror(errno));
    return r;
  }
  if (fchmod(fd, STORE_FILE_MODE) < 0) {
    r = -errno;
    *ret_err = xasprintf("database %s: cannot set mode: %s", path, strerror(errno));
    close(fd);
    unlink(path);
    return r;
  }
  close(fd);
  return 0;
}

static int query_text(struct store *s, const char *sql, char *buf, size_t size) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  int r = 0;

  if (rc != SQLITE_OK) {
    r = store_fail_sqlite(s, rc, sql);
    goto out;
  }
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(buf, size, "%s", t ? (const char *)t : "");
  } else {
    r = store_fail_sqlite(s, rc, sql);
  }
out:
  sqlite3_finalize(st);
  return r;
}

static int configure(struct store *s) {
  char mode[32];
  int64_t pages = 0;
  int r;

  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
  r = store_exec(s, "PRAGMA foreign_keys=ON");
  if (r < 0)
    return r;
  if (s->readonly)
    return 0;
  /* Reading page_count also tells a non-database file apart early. */
  r = store_query_int64(s, "PRAGMA page_count", &pages);
  if (r < 0)
    return r;
  /* auto_vacuum only takes effect before the first table is created. */
  if (pages == 0) {
    r = store_exec(s, "PRAGMA auto_vacuum=INCREMENTAL");
    if (r < 0)
      return r;
  }
  r = query_text(s, "PRAGMA journal_mode=WAL", mode, sizeof(mode));
  if (r < 0)
    return r;
  if (strcmp(mode, "wal") != 0)
    return store_fail(s, -EIO, "database %s: cannot switch to WAL mode (journal mode is %s)",
                      s->path, mode);
  r = store_exec(s, "PRAGMA synchronous=NORMAL");
  if (r < 0)
    return r;
  /* The WAL is reused, not shrunk, after a checkpoint; cap what it keeps
   * so that a burst of writes (or pruning) does not hold disk space. */
  return store_exec(s, "PRAGMA journal_size_limit=67108864");
}

static int exec_script(struct store *s, const char *sql) {
  char *err = NULL;
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
  int r = 0;

  if (rc != SQLITE_OK) {
    r = store_errno_from_sqlite(rc);
    if (r == 0)
      r = -EIO;
    store_fail(s, r, "%s", err ? err : sqlite3_errstr(rc));
  }
  sqlite3_free(err);
  return r;
}

static int migrate_one(struct store *s, const struct store_migration *m) {
  char sql[64];
  int64_t version;
  int r;

  r = store_exec(s, "BEGIN IMMEDIATE");
  if (r < 0)
    return r;
  /* Another process may have migrated while we waited for the lock. */
  r = store_query_int64(s, "PRAGMA user_version", &version);
  if (r < 0 || version >= m->version)
    goto out;
  for (size_t i = 0; m->statements[i]; i++) {
    r = exec_script(s, m->statements[i]);
    if (r < 0)
      goto out;
  }
  snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", m->version);
  r = store_exec(s, sql);
  if (r < 0)
    goto out;
  r = store_exec(s, "COMMIT");
out:
  if (r < 0 && !sqlite3_get_autocommit(s->db))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return r;
}

static int check_version(struct store *s, const struct store_migration *migrations,
                         size_t n_migrations, char **ret_err) {
  int latest = n_migrations ? migrations[n_migrations - 1].version : 0;
  int64_t version;
  int r;

  r = store_query_int64(s, "PRAGMA user_version", &version);
  if (r < 0) {
    *ret_err = xstrdup(store_errmsg(s));
    return r;
  }
  if (version > latest) {
    *ret_err = xasprintf("database %s has schema version %" PRId64
                         ", newer than this version of pprofd supports (%d); upgrade pprofd",
                         s->path, version, latest);
    return -EPROTO;
  }
  if (version == latest)
    return 0;
  if (s->readonly) {
    *ret_err = xasprintf("database %s has schema version %" PRId64
                         ", expected %d; run pprofd to migrate it",
                         s->path, version, latest);
    return -EPROTO;
  }
  for (size_t i = 0; i < n_migrations; i++) {
    if (migrations[i].version <= version)
      continue;
    r = migrate_one(s, &migrations[i]);
    if (r < 0) {
      *ret_err = xasprintf("database %s: migration to schema version %d failed: %s", s->path,
                           migrations[i].version, store_errmsg(s));
      return r;
    }
  }
  return 0;
}

/* Cells of the pprof rollups left stale by a migration or by deletions
 * outside pruning are rebuilt when the store is opened for writing. Not
 * fatal: stale cells are read raw, and the next open or prune retries. */
static void repair_rollups(struct store *s) {
  int64_t stale = 0;

  if (store_query_int64(s, "SELECT EXISTS (SELECT 1 FROM pprof_rollups WHERE stale)", &stale) < 0 ||
      !stale || store_begin(s) < 0)
    return;
  if (pprof_rollup_repair(s, INT64_MAX) < 0 || store_commit(s) < 0) {
    if (!sqlite3_get_autocommit(s->db))
      (void)store_rollback(s);
  }
}

int store_open_with(const char *path, unsigned flags, const struct store_migration *migrations,
                    size_t n_migrations, struct store **ret, char **ret_err) {
  struct store *s = xcalloc(1, sizeof(*s));
  char *err = NULL;
  int rc, r;

  s->path = xstrdup(path);
  s->readonly = (flags & STORE_READONLY) != 0;
  if (s->readonly) {
    struct stat st;
    if (stat(path, &st) < 0) {
      r = -errno;
      if (r == -ENOENT)
        err = xasprintf("database %s does not exist", path);
      else
        err = xasprintf("database %s: %s", path, strerror(errno));
      goto fail;
    }
  } else {
    r = create_file(path, &err);
    if (r < 0)
      goto fail;
  }
  rc = sqlite3_open_v2(path, &s->db, s->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE,
                       NULL);
  if (rc != SQLITE_OK) {
    r = store_errno_from_sqlite(rc);
    err = xasprintf("database %s: cannot open: %s", path,
                    s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    goto fail;
  }
  r = configure(s);
  if (r < 0) {
    err = xstrdup(store_errmsg(s));
    goto fail;
  }
  r = check_version(s, migrations, n_migrations, &err);
  if (r < 0)
    goto fail;
  if (!s->readonly && migrations == store_migrations)
    repair_rollups(s);
  *ret = s;
  return 0;
fail:
  store_close(s);
  if (ret_err)
    *ret_err = err;
  else
    free(err);
  return r < 0 ? r : -EIO;
}

int store_open(const char *path, unsigned flags, struct store **ret, char **ret_err) {
  return store_open_with(path, flags, store_migrations, store_n_migrations, ret, ret_err);
}

struct store *store_close(struct store *s) {
  if (!s)
    return NULL;
  for (size_t i = 0; i < s->n_stmts; i++)
    sqlite3_finalize(s->stmts[i].stmt);
  free(s->stmts);
  /* No ANALYZE/PRAGMA optimize: the queries are written to pick good plans
   * without statistics (see store_filter.c), and analysing a large table
   * at shutdown could take longer than systemd waits. */
  if (s->db)
    sqlite3_close_v2(s->db);
  free(s->errmsg);
  free(s->path);
  free(s);
  return NULL;
}
