/* Internals shared by the store_*.c files (and the store tests): the
 * connection object, error helpers and the migration list. Not for other
 * modules: they use store.h. */
#ifndef PPROFD_STORE_INT_H
#define PPROFD_STORE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"

struct store_stmt_entry {
  const char *sql; /* key: the address of a static string */
  sqlite3_stmt *stmt;
};

struct store {
  sqlite3 *db;
  char *path;
  bool readonly;
  char *errmsg;
  struct store_stmt_entry *stmts;
  size_t n_stmts;
  size_t cap_stmts;
  int64_t max_pages; /* store_set_size_limit(); 0 = none */
};

/* A migration brings the schema from version `version - 1` to `version`.
 * statements is NULL-terminated; each entry may hold several SQL statements
 * separated by semicolons. */
struct store_migration {
  int version;
  const char *const *statements;
};

/* The built-in migration list (store_schema.c), in version order. */
extern const struct store_migration store_migrations[];
extern const size_t store_n_migrations;

/* store_open() with an explicit migration list: the tests use it to check
 * that an older database is migrated forward. */
int store_open_with(const char *path, unsigned flags, const struct store_migration *migrations,
                    size_t n_migrations, struct store **ret, char **ret_err);

/* store_filter_prepare() inside "outer_head (filtered query) outer_tail"
 * (outer_head NULL: no wrapping). */
int store_filter_prepare_wrapped(struct store *s, const struct store_filter *f, const char *head,
                                 const char *tail, const char *outer_head, const char *outer_tail,
                                 sqlite3_stmt **ret);

/* Sets the connection's error message (printf-style) and returns r. */
int store_fail(struct store *s, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Maps an SQLite result code to -errno and sets the message to
 * "what: sqlite message". Returns the negative errno. */
int store_fail_sqlite(struct store *s, int rc, const char *what);
/* SQLite result code -> negative errno. */
int store_errno_from_sqlite(int rc);

/* Runs one statement that returns no rows (prepared each time; for schema
 * and PRAGMA statements that are not in the hot path). */
int store_exec(struct store *s, const char *sql);
/* Runs a single-value query (e.g. PRAGMA page_count). */
int store_query_int64(struct store *s, const char *sql, int64_t *ret);

/* Rolls back the open transaction, keeping the message of the error that
 * made us roll back. */
void store_abort(struct store *s);

/* Steps a cached statement that returns no rows to completion and resets it. */
int store_step_done(struct store *s, sqlite3_stmt *st, const char *what);

#endif
