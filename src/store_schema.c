/* The database schema and its migrations.
 *
 * Migration N brings a database from schema version N-1 to N (PRAGMA
 * user_version) in one transaction. Nothing has been released yet, so
 * every table still goes into version 1; once a release is out, schema
 * changes become new migrations appended to store_migrations[].
 *
 * Modules that store analysis rows (pprof, trace) register their tables in
 * version 1 with one line each, see "Module tables" below. */
#include "config.h"

#include "store_int.h"
#include "util.h"

/* Core tables.
 *
 * blobs: raw bodies, deduplicated by SHA-256 of the bytes as received;
 * encoding 'zstd' means data is the zstd frame of those bytes.
 *
 * labelsets: the static labels of a capture, shared by every capture with
 * the same set (one per target in practice), so label filters resolve to a
 * handful of labelset ids before touching captures. canonical is the
 * compact JSON object with sorted keys.
 *
 * captures: one row per fetch, ok or failed; blob_id is NULL for failed
 * captures. The analysis summary JSON lives in capture_analysis so that
 * capture rows stay small and range scans stay fast.
 *
 * Indexes follow the query patterns of `pprofctl list/targets` and the
 * HTTP API: time range; target+type+time; instance+target+type+time (the
 * latest capture of each series, with status so that the latest ok one is
 * found from the index alone; instance first so that it also serves
 * instance filters); type+time; labelset+time; blob (for
 * dedup reference checks when pruning); failed captures by time (few rows,
 * so "what failed recently" never scans). */
static const char schema_core_v1[] =
    "CREATE TABLE blobs ("
    "  id INTEGER PRIMARY KEY,"
    "  sha256 BLOB NOT NULL UNIQUE CHECK (length(sha256) = 32),"
    "  encoding TEXT NOT NULL CHECK (encoding IN ('raw', 'zstd')),"
    "  raw_size INTEGER NOT NULL CHECK (raw_size >= 0),"
    "  stored_size INTEGER NOT NULL CHECK (stored_size >= 0),"
    "  data BLOB NOT NULL"
    ");"
    "CREATE TABLE labelsets ("
    "  id INTEGER PRIMARY KEY,"
    "  canonical TEXT NOT NULL UNIQUE"
    ");"
    "CREATE TABLE labelset_pairs ("
    "  labelset_id INTEGER NOT NULL REFERENCES labelsets(id) ON DELETE CASCADE,"
    "  key TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (labelset_id, key)"
    ") WITHOUT ROWID;"
    "CREATE INDEX labelset_pairs_by_pair ON labelset_pairs(key, value);"
    "CREATE TABLE captures ("
    "  id INTEGER PRIMARY KEY,"
    "  target TEXT NOT NULL,"
    "  instance TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  started_at_ms INTEGER NOT NULL,"
    "  requested_seconds REAL NOT NULL DEFAULT 0,"
    "  duration_ms INTEGER NOT NULL DEFAULT 0,"
    "  status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),"
    "  http_status INTEGER,"
    "  error TEXT,"
    "  content_type TEXT,"
    "  size_bytes INTEGER NOT NULL DEFAULT 0,"
    "  blob_id INTEGER REFERENCES blobs(id),"
    "  format TEXT NOT NULL,"
    "  trace_minor INTEGER NOT NULL DEFAULT 0,"
    "  analysis_status TEXT NOT NULL DEFAULT 'none',"
    "  analysis_error TEXT,"
    "  analysis_elapsed_us INTEGER NOT NULL DEFAULT 0,"
    "  labelset_id INTEGER NOT NULL REFERENCES labelsets(id),"
    "  CHECK ((status = 'ok') = (blob_id IS NOT NULL))"
    ");"
    "CREATE INDEX captures_by_time ON captures(started_at_ms);"
    "CREATE INDEX captures_by_target_type ON captures(target, type, started_at_ms);"
    "CREATE INDEX captures_by_series ON captures(instance, target, type, started_at_ms, status);"
    "CREATE INDEX captures_by_type ON captures(type, started_at_ms);"
    "CREATE INDEX captures_by_labelset ON captures(labelset_id, started_at_ms);"
    "CREATE INDEX captures_by_blob ON captures(blob_id);"
    "CREATE INDEX captures_failed ON captures(started_at_ms) WHERE status = 'failed';"
    "CREATE TABLE capture_analysis ("
    "  capture_id INTEGER PRIMARY KEY REFERENCES captures(id) ON DELETE CASCADE,"
    "  json TEXT NOT NULL"
    ");";

/* ---- Module tables -------------------------------------------------------
 * To add your module's tables to the schema:
 *   1. define `const char store_schema_<module>[] = "CREATE TABLE ...;
 *      CREATE INDEX ...;";` in your module's source file;
 *   2. declare it below with `extern const char store_schema_<module>[];`;
 *   3. add `store_schema_<module>,` to schema_v1[] below.
 * Rows that belong to a capture must reference captures(id) ON DELETE
 * CASCADE (pruning deletes captures and relies on the cascade) and need an
 * index whose first column is that capture id, or every delete scans the
 * table. */

/* (module declarations go here) */
extern const char store_schema_trace[];
extern const char store_schema_pprof[];
extern const char store_schema_pprof_rollup[];

static const char *const schema_v1[] = {
    schema_core_v1,
    /* (module registrations go here, one line each) */
    store_schema_trace,
    store_schema_pprof,
    NULL,
};

/* Version 2: hourly and daily rollups of the pprof function rows for `pprofctl
 * top` (pprof_rollup.h); existing cells are created stale and filled by
 * pprof_rollup_repair() when the store is opened read-write. */
static const char *const schema_v2[] = {
    store_schema_pprof_rollup,
    NULL,
};

const struct store_migration store_migrations[] = {
    {1, schema_v1},
    {2, schema_v2},
};
const size_t store_n_migrations = ARRAY_SIZE(store_migrations);
