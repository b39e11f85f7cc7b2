#include "config.h"

#include "pprof_math.h"
#include "pprof_rollup.h"
#include "pprof_rows.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* floor(x / span) in SQL (% truncates toward zero like C). */
#define BUCKET_OF(x, span) "((" x " - (((" x " % " span ") + " span ") % " span ")) / " span ")"
#define MARK_ONE(row, span)                                                                        \
  "UPDATE pprof_rollups SET stale = 1 WHERE stale = 0 AND target = " row ".target"                 \
  " AND instance = " row ".instance AND type = " row ".type AND span_ms = " span                   \
  " AND bucket = " BUCKET_OF(row ".started_at_ms", span) "; "
#define MARK_STALE(row) MARK_ONE(row, "3600000") MARK_ONE(row, "86400000")
#define MARK_ONE_ID(id, span)                                                                      \
  "UPDATE pprof_rollups SET stale = 1 WHERE stale = 0 AND span_ms = " span " AND"                  \
  " (target, instance, type, bucket) IN (SELECT target, instance, type, " BUCKET_OF(               \
      "started_at_ms", span) " FROM captures WHERE id = " id "); "
#define MARK_STALE_ID(id) MARK_ONE_ID(id, "3600000") MARK_ONE_ID(id, "86400000")
#define PLACEHOLDERS(span)                                                                         \
  "INSERT OR IGNORE INTO pprof_rollups (target, instance, type, span_ms, bucket, labelset_id,"     \
  " signature, stale, captures, first_ms, last_ms, totals, funcs)"                                 \
  " SELECT DISTINCT c.target, c.instance, c.type, " span ", " BUCKET_OF(                           \
      "c.started_at_ms", span) ", 0, '', 1, 0, 0, 0, x'', x''"                                     \
                               " FROM captures c JOIN pprof_profiles p ON p.capture_id = c.id;"

/* The cell index serves the writer's lookup, the triggers and queries by
 * target; the type index queries over all targets; the partial index
 * finds stale cells without reading the table. */
/* clang-format off */
const char store_schema_pprof_rollup[] =
    "CREATE TABLE pprof_rollups ("
    "  id INTEGER PRIMARY KEY,"
    "  target TEXT NOT NULL,"
    "  instance TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  span_ms INTEGER NOT NULL,"
    "  bucket INTEGER NOT NULL,"
    "  labelset_id INTEGER NOT NULL,"
    "  signature TEXT NOT NULL,"
    "  stale INTEGER NOT NULL DEFAULT 0,"
    "  captures INTEGER NOT NULL,"
    "  first_ms INTEGER NOT NULL,"
    "  last_ms INTEGER NOT NULL,"
    "  totals BLOB NOT NULL,"
    "  funcs BLOB NOT NULL"
    ");"
    "CREATE UNIQUE INDEX pprof_rollups_by_cell"
    " ON pprof_rollups(target, instance, type, span_ms, bucket, labelset_id, signature);"
    "CREATE INDEX pprof_rollups_by_type ON pprof_rollups(type, span_ms, bucket);"
    "CREATE INDEX pprof_rollups_stale"
    " ON pprof_rollups(target, instance, type, span_ms, bucket) WHERE stale;"
    "CREATE TRIGGER pprof_rollups_capture_delete BEFORE DELETE ON captures"
    " BEGIN " MARK_STALE("OLD") "END;"
    "CREATE TRIGGER pprof_rollups_capture_update AFTER UPDATE OF target, instance, type,"
    " started_at_ms, status, labelset_id ON captures"
    " BEGIN " MARK_STALE("OLD") MARK_STALE("NEW") "END;"
    "CREATE TRIGGER pprof_rollups_profile_delete AFTER DELETE ON pprof_profiles"
    " BEGIN " MARK_STALE_ID("OLD.capture_id") "END;"
    "CREATE TRIGGER pprof_rollups_profile_update AFTER UPDATE ON pprof_profiles"
    " BEGIN " MARK_STALE_ID("OLD.capture_id") MARK_STALE_ID("NEW.capture_id") "END;"
    "CREATE TRIGGER pprof_rollups_types_delete AFTER DELETE ON pprof_sample_types"
    " BEGIN " MARK_STALE_ID("OLD.capture_id") "END;"
    "CREATE TRIGGER pprof_rollups_types_update AFTER UPDATE ON pprof_sample_types"
    " BEGIN " MARK_STALE_ID("OLD.capture_id") MARK_STALE_ID("NEW.capture_id") "END;"
    /* Existing cells, as stale placeholders for pprof_rollup_repair(). */
    PLACEHOLDERS("3600000") PLACEHOLDERS("86400000");
/* clang-format on */

static const char sql_capture[] =
    "SELECT target, instance, type, labelset_id, started_at_ms, status FROM captures WHERE id = ?1";
static const char sql_find[] =
    "SELECT id, totals, funcs FROM pprof_rollups WHERE target = ?1 AND instance = ?2"
    " AND type = ?3 AND span_ms = ?4 AND bucket = ?5 AND labelset_id = ?6 AND signature = ?7";
static const char sql_update[] =
    "UPDATE pprof_rollups SET captures = captures + ?2, first_ms = min(first_ms, ?3),"
    " last_ms = max(last_ms, ?4), totals = ?5, funcs = ?6 WHERE id = ?1";
static const char sql_insert[] =
    "INSERT INTO pprof_rollups (target, instance, type, span_ms, bucket, labelset_id, signature,"
    " stale, captures, first_ms, last_ms, totals, funcs) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
    " EXISTS (SELECT 1 FROM pprof_rollups WHERE target = ?1 AND instance = ?2 AND type = ?3"
    " AND span_ms = ?4 AND bucket = ?5 AND stale), ?8, ?9, ?10, ?11, ?12)";
static const char sql_cell_stale[] = "UPDATE pprof_rollups SET stale = 1 WHERE target = ?1"
                                     " AND instance = ?2 AND type = ?3 AND span_ms = ?4"
                                     " AND bucket = ?5";
static const char sql_cell_any[] =
    "SELECT EXISTS (SELECT 1 FROM captures WHERE instance = ?2 AND target = ?1 AND type = ?3"
    " AND started_at_ms >= ?4 AND started_at_ms < ?5)";
static const char sql_stale_cells[] =
    "SELECT DISTINCT target, instance, type, span_ms, bucket FROM pprof_rollups WHERE stale";
static const char sql_cell_delete[] = "DELETE FROM pprof_rollups WHERE target = ?1"
                                      " AND instance = ?2 AND type = ?3 AND span_ms = ?4"
                                      " AND bucket = ?5";
static const char sql_cell_captures[] =
    "SELECT c.id, c.labelset_id, c.started_at_ms, p.default_sample_type, p.funcs"
    " FROM captures c JOIN pprof_profiles p ON p.capture_id = c.id"
    " WHERE c.instance = ?2 AND c.target = ?1 AND c.type = ?3 AND c.started_at_ms >= ?4"
    " AND c.started_at_ms < ?5 AND c.status = 'ok'";
static const char sql_types[] =
    "SELECT idx, type, unit, total FROM pprof_sample_types WHERE capture_id = ?1 ORDER BY idx";

const int64_t pprof_rollup_spans[PPROF_ROLLUP_N_SPANS] = {PPROF_ROLLUP_DAY_MS,
                                                          PPROF_ROLLUP_HOUR_MS};

int64_t pprof_rollup_bucket(int64_t ms, int64_t span_ms) {
  int64_t b = ms / span_ms;
  return (ms % span_ms < 0) ? b - 1 : b;
}

static int sql_err(int rc) {
  if (rc == SQLITE_FULL)
    return -ENOSPC;
  return -EIO;
}

static int step_done(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

/* ---- totals: zigzag varints, one per sample type ---- */

static int put_total(struct buf *out, int64_t v) {
  return pprof_varint_put(out, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int pprof_rollup_total(const uint8_t *p, size_t len, size_t idx, int64_t *ret) {
  const uint8_t *end = p + len;
  uint64_t v = 0;
  for (size_t i = 0; i <= idx; i++)
    if (pprof_varint_get(&p, end, &v) < 0)
      return -EBADMSG;
  *ret = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
  return 0;
}

static int merge_totals(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, size_t n,
                        struct buf *out) {
  for (size_t i = 0; i < n; i++) {
    int64_t x, y;
    if (pprof_rollup_total(a, alen, i, &x) < 0 || pprof_rollup_total(b, blen, i, &y) < 0)
      return -EBADMSG;
    if (put_total(out, pp_add(x, y)) < 0)
      return -ENOMEM;
  }
  return 0;
}

/* ---- funcs blobs: section-wise merge of sorted triples ---- */

struct triples {
  int64_t *id, *flat, *cum;
  size_t n, cap;
};

static void collect(int64_t id, int64_t flat, int64_t cum, void *ud) {
  struct triples *t = ud;
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 256;
    t->id = xreallocarray(t->id, t->cap, sizeof(int64_t));
    t->flat = xreallocarray(t->flat, t->cap, sizeof(int64_t));
    t->cum = xreallocarray(t->cum, t->cap, sizeof(int64_t));
  }
  t->id[t->n] = id;
  t->flat[t->n] = flat;
  t->cum[t->n] = cum;
  t->n++;
}

static void triples_done(struct triples *t) {
  free(t->id);
  free(t->flat);
  free(t->cum);
}

/* Sections come out with ids ascending (pprof_funcs_encode sorts them);
 * equal ids, within or across the inputs, are summed into one triple. */
static int merge_funcs(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen, size_t n_sec,
                       struct buf *out) {
  struct triples ta = {0}, tb = {0}, m = {0};
  int r = 0;

  for (size_t s = 0; s < n_sec && r == 0; s++) {
    size_t i = 0, j = 0;
    ta.n = tb.n = m.n = 0;
    if (pprof_funcs_decode(a, alen, s, collect, &ta) < 0 ||
        pprof_funcs_decode(b, blen, s, collect, &tb) < 0) {
      r = -EBADMSG;
      break;
    }
    while (i < ta.n || j < tb.n) {
      bool take_a = j == tb.n || (i < ta.n && ta.id[i] <= tb.id[j]);
      struct triples *src = take_a ? &ta : &tb;
      size_t k = take_a ? i++ : j++;
      if (m.n && m.id[m.n - 1] == src->id[k]) {
        m.flat[m.n - 1] = pp_add(m.flat[m.n - 1], src->flat[k]);
        m.cum[m.n - 1] = pp_add(m.cum[m.n - 1], src->cum[k]);
      } else {
        collect(src->id[k], src->flat[k], src->cum[k], &m);
      }
    }
    r = pprof_funcs_encode(m.id, m.flat, m.cum, m.n, out);
  }
  triples_done(&ta);
  triples_done(&tb);
  triples_done(&m);
  return r;
}

/* ---- rollup rows ---- */

struct cell {
  char *target, *instance, *type;
  int64_t span_ms, bucket;
};

struct unit {
  int64_t labelset_id;
  const char *sig;
  size_t n_sec;
  int64_t count, first_ms, last_ms;
  const uint8_t *totals, *funcs;
  size_t totals_len, funcs_len;
};

static void bind_cell(sqlite3_stmt *st, const struct cell *c) {
  sqlite3_bind_text(st, 1, c->target, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, c->instance, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, c->type, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, c->span_ms);
  sqlite3_bind_int64(st, 5, c->bucket);
}

static int add_unit(struct store *s, const struct cell *c, const struct unit *u) {
  sqlite3_stmt *st = store_stmt(s, sql_find);
  struct buf totals, funcs;
  int64_t row_id;
  int rc, r;

  if (!st)
    return -EIO;
  bind_cell(st, c);
  sqlite3_bind_int64(st, 6, u->labelset_id);
  sqlite3_bind_text(st, 7, u->sig, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    sqlite3_reset(st);
    st = store_stmt(s, sql_insert);
    if (!st)
      return -EIO;
    bind_cell(st, c);
    sqlite3_bind_int64(st, 6, u->labelset_id);
    sqlite3_bind_text(st, 7, u->sig, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, u->count);
    sqlite3_bind_int64(st, 9, u->first_ms);
    sqlite3_bind_int64(st, 10, u->last_ms);
    sqlite3_bind_blob(st, 11, u->totals_len ? (const void *)u->totals : "", (int)u->totals_len,
                      SQLITE_STATIC);
    sqlite3_bind_blob(st, 12, u->funcs_len ? (const void *)u->funcs : "", (int)u->funcs_len,
                      SQLITE_STATIC);
    return step_done(st);
  }
  if (rc != SQLITE_ROW) {
    sqlite3_reset(st);
    return sql_err(rc);
  }
  row_id = sqlite3_column_int64(st, 0);
  buf_init(&totals, SIZE_MAX);
  buf_init(&funcs, SIZE_MAX);
  r = merge_totals(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), u->totals,
                   u->totals_len, u->n_sec, &totals);
  if (r == 0)
    r = merge_funcs(sqlite3_column_blob(st, 2), (size_t)sqlite3_column_bytes(st, 2), u->funcs,
                    u->funcs_len, u->n_sec, &funcs);
  sqlite3_reset(st);
  if (r == -EBADMSG) {
    /* A row we cannot read must not stop the capture from being stored:
     * the cell goes stale (read raw, rebuilt by the next repair). */
    st = store_stmt(s, sql_cell_stale);
    r = st ? 0 : -EIO;
    if (r == 0) {
      bind_cell(st, c);
      r = step_done(st);
    }
    goto out;
  }
  if (r == 0) {
    st = store_stmt(s, sql_update);
    r = st ? 0 : -EIO;
  }
  if (r == 0) {
    sqlite3_bind_int64(st, 1, row_id);
    sqlite3_bind_int64(st, 2, u->count);
    sqlite3_bind_int64(st, 3, u->first_ms);
    sqlite3_bind_int64(st, 4, u->last_ms);
    sqlite3_bind_blob(st, 5, totals.len ? (const void *)totals.data : "", (int)totals.len,
                      SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, funcs.len ? (const void *)funcs.data : "", (int)funcs.len,
                      SQLITE_STATIC);
    r = step_done(st);
  }
out:
  buf_done(&totals);
  buf_done(&funcs);
  return r;
}

static int sig_add(struct buf *sig, const char *type, const char *unit) {
  return buf_printf(sig, "%zu:%s%zu:%s", strlen(type), type, strlen(unit), unit);
}

int pprof_rollup_sig_parse(const char *sig, int64_t *ret_default, size_t max, const char **types,
                           size_t *type_lens, const char **units, size_t *unit_lens) {
  const char *p = sig;
  char *end;
  size_t n = 0;
  long long def;

  errno = 0;
  def = strtoll(p, &end, 10);
  if (end == p || errno || *end != ';')
    return -EBADMSG;
  p = end + 1;
  while (*p) {
    const char *str[2];
    size_t len[2];
    for (int k = 0; k < 2; k++) {
      unsigned long long l;
      if (*p < '0' || *p > '9')
        return -EBADMSG;
      l = strtoull(p, &end, 10);
      if (*end != ':' || l > strlen(end + 1))
        return -EBADMSG;
      str[k] = end + 1;
      len[k] = (size_t)l;
      p = end + 1 + l;
    }
    if (n < max) {
      types[n] = str[0];
      type_lens[n] = len[0];
      units[n] = str[1];
      unit_lens[n] = len[1];
    }
    n++;
  }
  *ret_default = def;
  return (int)MIN(n, (size_t)INT32_MAX);
}

int pprof_rollup_add(struct store *s, int64_t capture_id, const struct pprof_detail *d,
                     const uint8_t *funcs, size_t funcs_len) {
  sqlite3_stmt *st;
  struct buf sig, totals;
  struct cell c;
  struct unit u;
  char *target = NULL, *instance = NULL, *type = NULL;
  int rc, r = 0;

  if (d->n_types == 0)
    return 0; /* no rows for queries to read */
  st = store_stmt(s, sql_capture);
  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, capture_id);
  rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? -ENOENT : sql_err(rc);
  }
  if (strcmp((const char *)sqlite3_column_text(st, 5), "ok") != 0) {
    sqlite3_reset(st);
    return 0; /* queries count ok captures only */
  }
  target = xstrdup((const char *)sqlite3_column_text(st, 0));
  instance = xstrdup((const char *)sqlite3_column_text(st, 1));
  type = xstrdup((const char *)sqlite3_column_text(st, 2));
  memset(&u, 0, sizeof(u));
  u.labelset_id = sqlite3_column_int64(st, 3);
  u.first_ms = u.last_ms = sqlite3_column_int64(st, 4);
  sqlite3_reset(st);

  buf_init(&sig, SIZE_MAX);
  buf_init(&totals, SIZE_MAX);
  r = buf_printf(&sig, "%d;", d->default_type);
  for (size_t i = 0; i < d->n_types && r == 0; i++) {
    r = sig_add(&sig, d->types[i].type, d->types[i].unit);
    if (r == 0)
      r = put_total(&totals, d->types[i].total);
  }
  if (r == 0)
    r = buf_terminate(&sig);
  if (r < 0) {
    r = -ENOMEM;
    goto out;
  }
  u.sig = (const char *)sig.data;
  u.n_sec = d->n_types;
  u.count = 1;
  u.totals = totals.data;
  u.totals_len = totals.len;
  u.funcs = funcs;
  u.funcs_len = funcs_len;
  for (size_t i = 0; i < PPROF_ROLLUP_N_SPANS && r == 0; i++) {
    c = (struct cell){target, instance, type, pprof_rollup_spans[i],
                      pprof_rollup_bucket(u.first_ms, pprof_rollup_spans[i])};
    r = add_unit(s, &c, &u);
  }
out:
  buf_done(&sig);
  buf_done(&totals);
  free(target);
  free(instance);
  free(type);
  return r;
}

/* ---- repair ---- */

/* The rows of one rebuilt cell, summed in memory: one entry per
 * (labelset, signature), with every triple of every capture per section,
 * sorted and summed once at the end. */
struct pending {
  int64_t labelset_id;
  char *sig;
  size_t n_sec;
  int64_t count, first_ms, last_ms;
  int64_t *totals;
  struct triples *sec;
};

struct pending_list {
  struct pending *v;
  size_t n;
};

static void pending_done(struct pending_list *pl) {
  for (size_t i = 0; i < pl->n; i++) {
    for (size_t j = 0; j < pl->v[i].n_sec; j++)
      triples_done(&pl->v[i].sec[j]);
    free(pl->v[i].sec);
    free(pl->v[i].totals);
    free(pl->v[i].sig);
  }
  free(pl->v);
}

static struct pending *pending_for(struct pending_list *pl, int64_t labelset_id, const char *sig,
                                   size_t n_sec) {
  struct pending *p;
  for (size_t i = 0; i < pl->n; i++)
    if (pl->v[i].labelset_id == labelset_id && strcmp(pl->v[i].sig, sig) == 0)
      return pl->v[i].n_sec == n_sec ? &pl->v[i] : NULL;
  pl->v = xreallocarray(pl->v, pl->n + 1, sizeof(*pl->v));
  p = &pl->v[pl->n++];
  memset(p, 0, sizeof(*p));
  p->labelset_id = labelset_id;
  p->sig = xstrdup(sig);
  p->n_sec = n_sec;
  p->first_ms = INT64_MAX;
  p->last_ms = INT64_MIN;
  p->totals = xcalloc(n_sec, sizeof(*p->totals));
  p->sec = xcalloc(n_sec, sizeof(*p->sec));
  return p;
}

/* Adds one ok capture of a cell, read back from its rows. */
static int collect_stored(struct store *s, sqlite3_stmt *cap, struct pending_list *pl) {
  sqlite3_stmt *st = store_stmt(s, sql_types);
  const uint8_t *funcs = sqlite3_column_blob(cap, 4);
  size_t funcs_len = (size_t)sqlite3_column_bytes(cap, 4), n_sec = 0;
  int64_t at_ms = sqlite3_column_int64(cap, 2), *totals = NULL;
  struct pending *p;
  struct buf sig;
  int rc = SQLITE_DONE, r;

  if (!st)
    return -EIO;
  buf_init(&sig, SIZE_MAX);
  r = buf_printf(&sig, "%d;", sqlite3_column_int(cap, 3));
  sqlite3_bind_int64(st, 1, sqlite3_column_int64(cap, 0));
  while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (sqlite3_column_int64(st, 0) != (int64_t)n_sec) {
      r = -EBADMSG; /* sections are numbered by idx */
      break;
    }
    r = sig_add(&sig, (const char *)sqlite3_column_text(st, 1),
                (const char *)sqlite3_column_text(st, 2));
    totals = xreallocarray(totals, n_sec + 1, sizeof(*totals));
    totals[n_sec++] = sqlite3_column_int64(st, 3);
  }
  if (r == 0 && rc != SQLITE_DONE)
    r = sql_err(rc);
  sqlite3_reset(st);
  if (r == 0)
    r = buf_terminate(&sig);
  if (r < 0 || n_sec == 0)
    goto out;
  p = pending_for(pl, sqlite3_column_int64(cap, 1), (const char *)sig.data, n_sec);
  if (!p) {
    r = -EBADMSG;
    goto out;
  }
  for (size_t i = 0; i < n_sec && r == 0; i++) {
    p->totals[i] = pp_add(p->totals[i], totals[i]);
    if (pprof_funcs_decode(funcs, funcs_len, i, collect, &p->sec[i]) < 0)
      r = -EBADMSG;
  }
  p->count++;
  p->first_ms = MIN(p->first_ms, at_ms);
  p->last_ms = MAX(p->last_ms, at_ms);
out:
  free(totals);
  buf_done(&sig);
  return r;
}

struct triple {
  int64_t id, flat, cum;
};

static int cmp_triple(const void *a, const void *b) {
  const struct triple *l = a, *r = b;
  return l->id < r->id ? -1 : l->id > r->id;
}

/* Sorts a section's triples by id and sums equal ids. */
static void sum_section(struct triples *t) {
  struct triple *v = xcalloc(t->n + 1, sizeof(*v));
  size_t n = 0;
  for (size_t i = 0; i < t->n; i++)
    v[i] = (struct triple){t->id[i], t->flat[i], t->cum[i]};
  qsort(v, t->n, sizeof(*v), cmp_triple);
  for (size_t i = 0; i < t->n; i++) {
    if (n && t->id[n - 1] == v[i].id) {
      t->flat[n - 1] = pp_add(t->flat[n - 1], v[i].flat);
      t->cum[n - 1] = pp_add(t->cum[n - 1], v[i].cum);
    } else {
      t->id[n] = v[i].id;
      t->flat[n] = v[i].flat;
      t->cum[n] = v[i].cum;
      n++;
    }
  }
  t->n = n;
  free(v);
}

static int write_pending(struct store *s, const struct cell *c, struct pending *p) {
  struct buf totals, funcs;
  struct unit u;
  int r = 0;

  buf_init(&totals, SIZE_MAX);
  buf_init(&funcs, SIZE_MAX);
  for (size_t i = 0; i < p->n_sec && r == 0; i++) {
    sum_section(&p->sec[i]);
    r = pprof_funcs_encode(p->sec[i].id, p->sec[i].flat, p->sec[i].cum, p->sec[i].n, &funcs);
    if (r == 0)
      r = put_total(&totals, p->totals[i]);
  }
  if (r == 0) {
    memset(&u, 0, sizeof(u));
    u.labelset_id = p->labelset_id;
    u.sig = p->sig;
    u.n_sec = p->n_sec;
    u.count = p->count;
    u.first_ms = p->first_ms;
    u.last_ms = p->last_ms;
    u.totals = totals.data;
    u.totals_len = totals.len;
    u.funcs = funcs.data;
    u.funcs_len = funcs.len;
    r = add_unit(s, c, &u);
  }
  buf_done(&totals);
  buf_done(&funcs);
  return r;
}

static int rebuild_cell(struct store *s, const struct cell *c) {
  sqlite3_stmt *st = store_stmt(s, sql_cell_delete), *cap = NULL;
  struct pending_list pl = {NULL, 0};
  sqlite3 *db = store_db(s);
  int rc, r;

  if (!st)
    return -EIO;
  rc = sqlite3_exec(db, "SAVEPOINT pprof_rollup_cell", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return sql_err(rc);
  bind_cell(st, c);
  r = step_done(st);
  if (r == 0) {
    rc = sqlite3_prepare_v2(db, sql_cell_captures, -1, &cap, NULL);
    r = rc == SQLITE_OK ? 0 : sql_err(rc);
  }
  if (r == 0) {
    sqlite3_bind_text(cap, 1, c->target, -1, SQLITE_STATIC);
    sqlite3_bind_text(cap, 2, c->instance, -1, SQLITE_STATIC);
    sqlite3_bind_text(cap, 3, c->type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(cap, 4, c->bucket * c->span_ms);
    sqlite3_bind_int64(cap, 5, (c->bucket + 1) * c->span_ms);
    while ((rc = sqlite3_step(cap)) == SQLITE_ROW) {
      r = collect_stored(s, cap, &pl);
      if (r < 0)
        break;
    }
    if (r == 0 && rc != SQLITE_DONE)
      r = sql_err(rc);
  }
  sqlite3_finalize(cap);
  for (size_t i = 0; i < pl.n && r == 0; i++)
    r = write_pending(s, c, &pl.v[i]);
  pending_done(&pl);
  if (r == -EBADMSG) {
    /* Leave the cell stale: queries read it raw and report the bad rows. */
    sqlite3_exec(db, "ROLLBACK TO pprof_rollup_cell", NULL, NULL, NULL);
    r = 0;
  }
  if (r < 0) {
    sqlite3_exec(db, "ROLLBACK TO pprof_rollup_cell", NULL, NULL, NULL);
    sqlite3_exec(db, "RELEASE pprof_rollup_cell", NULL, NULL, NULL);
    return r;
  }
  rc = sqlite3_exec(db, "RELEASE pprof_rollup_cell", NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : sql_err(rc);
}

struct cell_list {
  struct cell *v;
  size_t n;
};

/* A cell left stale: its rows go when no capture is left in it. */
static int drop_if_empty(struct store *s, const struct cell *c) {
  sqlite3_stmt *st = store_stmt(s, sql_cell_any);
  int64_t any;
  int rc;

  if (!st)
    return -EIO;
  sqlite3_bind_text(st, 1, c->target, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, c->instance, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, c->type, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, c->bucket * c->span_ms);
  sqlite3_bind_int64(st, 5, (c->bucket + 1) * c->span_ms);
  rc = sqlite3_step(st);
  any = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 1;
  sqlite3_reset(st);
  if (rc != SQLITE_ROW)
    return sql_err(rc);
  if (any)
    return 0;
  st = store_stmt(s, sql_cell_delete);
  if (!st)
    return -EIO;
  bind_cell(st, c);
  return step_done(st);
}

int pprof_rollup_repair(struct store *s, int64_t max_span_ms) {
  sqlite3_stmt *st = store_stmt(s, sql_stale_cells);
  struct cell_list l = {NULL, 0};
  int rc, r = 0;

  if (!st)
    return -EIO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int64_t span = sqlite3_column_int64(st, 3), bucket = sqlite3_column_int64(st, 4);
    if (span != PPROF_ROLLUP_HOUR_MS && span != PPROF_ROLLUP_DAY_MS)
      continue;
    if (bucket <= INT64_MIN / span + 1 || bucket >= INT64_MAX / span - 1)
      continue; /* no time range to read; stays stale */
    l.v = xreallocarray(l.v, l.n + 1, sizeof(*l.v));
    l.v[l.n].target = xstrdup((const char *)sqlite3_column_text(st, 0));
    l.v[l.n].instance = xstrdup((const char *)sqlite3_column_text(st, 1));
    l.v[l.n].type = xstrdup((const char *)sqlite3_column_text(st, 2));
    l.v[l.n].span_ms = span;
    l.v[l.n].bucket = bucket;
    l.n++;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    r = sql_err(rc);
  for (size_t i = 0; i < l.n && r == 0; i++)
    r = l.v[i].span_ms <= max_span_ms ? rebuild_cell(s, &l.v[i]) : drop_if_empty(s, &l.v[i]);
  for (size_t i = 0; i < l.n; i++) {
    free(l.v[i].target);
    free(l.v[i].instance);
    free(l.v[i].type);
  }
  free(l.v);
  return r;
}
