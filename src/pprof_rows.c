#include "config.h"

#include "pprof_math.h"
#include "pprof_rollup.h"
#include "pprof_rows.h"
#include "store.h"
#include "util.h"

#include <endian.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* pprof_functions: every function seen in any capture, interned by
 * (name, file); ids are stable, so rows of different captures join.
 *
 * pprof_profiles: one row per capture analysed as pprof: header fields,
 * goroutines (goroutine profiles only), and in `funcs` the same (function,
 * flat, cum) triples as pprof_function_stats for all sample types in one
 * compact blob: `pprofctl top --type` aggregates over 100,000 captures by
 * reading one row per capture (by rowid) instead of hundreds.
 *
 * pprof_sample_types: per capture and sample type, name, unit and total.
 *
 * pprof_function_stats: per capture, sample type and kept function, flat
 * and cum in the profile's units. No index by function: questions about a
 * function's history select captures first (by target and time, which the
 * captures indexes serve) and then read these rows by capture.
 *
 * pprof_goroutine_stacks: the most common stacks of goroutine profiles,
 * frames leaf first, one per line. */
const char store_schema_pprof[] =
    "CREATE TABLE pprof_functions ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  file TEXT NOT NULL,"
    "  UNIQUE (name, file)"
    ");"
    "CREATE TABLE pprof_profiles ("
    "  capture_id INTEGER PRIMARY KEY REFERENCES captures(id) ON DELETE CASCADE,"
    "  period_type TEXT NOT NULL,"
    "  period_unit TEXT NOT NULL,"
    "  period INTEGER NOT NULL,"
    "  time_nanos INTEGER NOT NULL,"
    "  duration_nanos INTEGER NOT NULL,"
    "  samples INTEGER NOT NULL,"
    "  default_sample_type INTEGER NOT NULL,"
    "  goroutines INTEGER,"
    "  funcs BLOB NOT NULL"
    ");"
    "CREATE TABLE pprof_sample_types ("
    "  capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  unit TEXT NOT NULL,"
    "  total INTEGER NOT NULL,"
    "  PRIMARY KEY (capture_id, idx)"
    ") WITHOUT ROWID;"
    "CREATE TABLE pprof_function_stats ("
    "  capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  function_id INTEGER NOT NULL REFERENCES pprof_functions(id),"
    "  flat INTEGER NOT NULL,"
    "  cum INTEGER NOT NULL,"
    "  PRIMARY KEY (capture_id, idx, function_id)"
    ") WITHOUT ROWID;"
    "CREATE TABLE pprof_goroutine_stacks ("
    "  capture_id INTEGER NOT NULL REFERENCES captures(id) ON DELETE CASCADE,"
    "  rank INTEGER NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  leaf_function_id INTEGER REFERENCES pprof_functions(id),"
    "  frames TEXT NOT NULL,"
    "  PRIMARY KEY (capture_id, rank)"
    ") WITHOUT ROWID;";

static const char sql_fn_find[] = "SELECT id FROM pprof_functions WHERE name = ?1 AND file = ?2";
static const char sql_fn_insert[] = "INSERT INTO pprof_functions (name, file) VALUES (?1, ?2)";
static const char sql_profile[] =
    "INSERT INTO pprof_profiles (capture_id, period_type, period_unit, period, time_nanos,"
    " duration_nanos, samples, default_sample_type, goroutines, funcs)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char sql_type[] = "INSERT INTO pprof_sample_types (capture_id, idx, type, unit, total)"
                               " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_stat[] =
    "INSERT INTO pprof_function_stats (capture_id, idx, function_id, flat, cum)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";
static const char sql_stack[] =
    "INSERT INTO pprof_goroutine_stacks (capture_id, rank, count, leaf_function_id, frames)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";

static int step_done(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc == SQLITE_DONE)
    return 0;
  return rc == SQLITE_FULL ? -ENOSPC : -EIO;
}

static int function_id(struct store *s, const struct pprof_row_fn *fn, int64_t *ret) {
  sqlite3_stmt *st = store_stmt(s, sql_fn_find);
  int rc, r;

  if (!st)
    return -EIO;
  sqlite3_bind_text(st, 1, fn->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, fn->file, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *ret = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return 0;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return -EIO;
  st = store_stmt(s, sql_fn_insert);
  if (!st)
    return -EIO;
  sqlite3_bind_text(st, 1, fn->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, fn->file, -1, SQLITE_TRANSIENT);
  r = step_done(st);
  if (r < 0)
    return r;
  *ret = sqlite3_last_insert_rowid(store_db(s));
  return 0;
}

/* ---- the funcs blob ---- */

int pprof_varint_put(struct buf *out, uint64_t v) {
  uint8_t b[10];
  size_t n = 0;
  do {
    b[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v)
      b[n] |= 0x80;
    n++;
  } while (v);
  return buf_append(out, b, n);
}

static uint64_t zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t unzigzag(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

struct triple {
  int64_t id, flat, cum;
};

static int cmp_triple(const void *a, const void *b) {
  const struct triple *l = a, *r = b;
  return l->id < r->id ? -1 : l->id > r->id;
}

static int encode_section(const struct triple *in, size_t n, struct buf *out) {
  struct triple *t = xcalloc(n + 1, sizeof(*t));
  struct buf sec;
  int64_t prev = 0;
  int r = 0;

  buf_init(&sec, SIZE_MAX);
  if (n)
    memcpy(t, in, n * sizeof(*t));
  qsort(t, n, sizeof(*t), cmp_triple);
  for (size_t i = 0; i < n && r == 0; i++) {
    r = pprof_varint_put(&sec, (uint64_t)(t[i].id - prev));
    if (r == 0)
      r = pprof_varint_put(&sec, zigzag(t[i].flat));
    if (r == 0)
      r = pprof_varint_put(&sec, zigzag(t[i].cum));
    prev = t[i].id;
  }
  if (r == 0)
    r = pprof_varint_put(out, sec.len);
  if (r == 0 && sec.len)
    r = buf_append(out, sec.data, sec.len);
  buf_done(&sec);
  free(t);
  return r;
}

int pprof_varint_get(const uint8_t **p, const uint8_t *end, uint64_t *ret) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t b;
    if (*p >= end)
      return -EBADMSG;
    b = *(*p)++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *ret = v;
      return 0;
    }
  }
  return -EBADMSG;
}

/* `pprofctl top` decodes millions of varints (flat and cum values are
 * mostly 4-5 bytes): with 8 readable bytes, find the last byte of the
 * varint in one word and gather its 7-bit groups with three mask-and-
 * shift steps instead of a loop per byte. Longer varints and the tail of
 * the buffer take the byte loop. */
static inline int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *ret) {
  uint64_t w, stop, x;
  unsigned len;

  if (end - *p < 8)
    return pprof_varint_get(p, end, ret);
  if (**p < 0x80) { /* ids deltas and zero values */
    *ret = *(*p)++;
    return 0;
  }
  memcpy(&w, *p, sizeof(w));
  w = le64toh(w);
  stop = ~w & 0x8080808080808080ULL;
  if (!stop)
    return pprof_varint_get(p, end, ret);
  len = (unsigned)__builtin_ctzll(stop) / 8 + 1;
  x = len == 8 ? w : w & ((1ULL << (len * 8)) - 1);
  x &= 0x7f7f7f7f7f7f7f7fULL;
  x = ((x & 0x7f007f007f007f00ULL) >> 1) | (x & 0x007f007f007f007fULL);
  x = ((x & 0x3fff00003fff0000ULL) >> 2) | (x & 0x00003fff00003fffULL);
  x = ((x & 0x0fffffff00000000ULL) >> 4) | (x & 0x000000000fffffffULL);
  *ret = x;
  *p += len;
  return 0;
}

int pprof_funcs_decode(const uint8_t *p, size_t len, size_t section,
                       void (*cb)(int64_t id, int64_t flat, int64_t cum, void *ud), void *ud) {
  const uint8_t *end = p + len;
  int64_t id = 0;
  uint64_t sec_len;

  for (size_t i = 0;; i++) {
    if (p >= end)
      return -ENOENT;
    if (get_varint(&p, end, &sec_len) < 0 || sec_len > (uint64_t)(end - p))
      return -EBADMSG;
    if (i == section)
      break;
    p += sec_len;
  }
  end = p + sec_len;
  while (p < end) {
    uint64_t d, f, c;
    if (get_varint(&p, end, &d) < 0 || get_varint(&p, end, &f) < 0 || get_varint(&p, end, &c) < 0)
      return -EBADMSG;
    id = pp_add(id, (int64_t)d);
    cb(id, unzigzag(f), unzigzag(c), ud);
  }
  return 0;
}

/* ---- storing ---- */

static int store_type(struct store *s, int64_t capture_id, int idx, const struct pprof_row_type *t,
                      const int64_t *fn_ids, struct buf *funcs) {
  struct triple *tr = xcalloc(t->n_stats + 1, sizeof(*tr));
  sqlite3_stmt *st;
  int r;

  for (size_t i = 0; i < t->n_stats; i++)
    tr[i] = (struct triple){fn_ids[t->stats[i].fn], t->stats[i].flat, t->stats[i].cum};
  r = encode_section(tr, t->n_stats, funcs);
  if (r < 0)
    goto out;
  st = store_stmt(s, sql_type);
  if (!st) {
    r = -EIO;
    goto out;
  }
  sqlite3_bind_int64(st, 1, capture_id);
  sqlite3_bind_int(st, 2, idx);
  sqlite3_bind_text(st, 3, t->type, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 4, t->unit, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 5, t->total);
  r = step_done(st);
  for (size_t i = 0; r == 0 && i < t->n_stats; i++) {
    st = store_stmt(s, sql_stat);
    if (!st) {
      r = -EIO;
      break;
    }
    sqlite3_bind_int64(st, 1, capture_id);
    sqlite3_bind_int(st, 2, idx);
    sqlite3_bind_int64(st, 3, tr[i].id);
    sqlite3_bind_int64(st, 4, tr[i].flat);
    sqlite3_bind_int64(st, 5, tr[i].cum);
    r = step_done(st);
  }
out:
  free(tr);
  return r;
}

int pprof_rows_store(struct store *s, int64_t capture_id, const void *detail) {
  const struct pprof_detail *d = detail;
  int64_t *fn_ids = xcalloc(d->n_fns + 1, sizeof(int64_t));
  sqlite3_stmt *st;
  struct buf funcs;
  int r = 0;

  buf_init(&funcs, SIZE_MAX);
  for (size_t i = 0; i < d->n_fns && r == 0; i++)
    r = function_id(s, &d->fns[i], &fn_ids[i]);
  /* Sample types first: their rows fill the funcs blob of the profile. */
  for (size_t i = 0; i < d->n_types && r == 0; i++)
    r = store_type(s, capture_id, (int)i, &d->types[i], fn_ids, &funcs);
  if (r < 0)
    goto out;
  st = store_stmt(s, sql_profile);
  if (!st) {
    r = -EIO;
    goto out;
  }
  sqlite3_bind_int64(st, 1, capture_id);
  sqlite3_bind_text(st, 2, d->period_type, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, d->period_unit, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 4, d->period);
  sqlite3_bind_int64(st, 5, d->time_nanos);
  sqlite3_bind_int64(st, 6, d->duration_nanos);
  sqlite3_bind_int64(st, 7, d->n_samples);
  sqlite3_bind_int(st, 8, d->default_type);
  if (d->is_goroutine)
    sqlite3_bind_int64(st, 9, d->goroutines);
  else
    sqlite3_bind_null(st, 9);
  sqlite3_bind_blob(st, 10, funcs.len ? (const void *)funcs.data : "", (int)funcs.len,
                    SQLITE_TRANSIENT);
  r = step_done(st);
  /* The hourly rollup, in this same transaction (see pprof_rollup.h). */
  if (r == 0)
    r = pprof_rollup_add(s, capture_id, d, funcs.data, funcs.len);
  for (size_t i = 0; i < d->n_stacks && r == 0; i++) {
    st = store_stmt(s, sql_stack);
    if (!st) {
      r = -EIO;
      break;
    }
    sqlite3_bind_int64(st, 1, capture_id);
    sqlite3_bind_int(st, 2, (int)i + 1);
    sqlite3_bind_int64(st, 3, d->stacks[i].count);
    if (d->stacks[i].leaf_fn == UINT32_MAX)
      sqlite3_bind_null(st, 4);
    else
      sqlite3_bind_int64(st, 4, fn_ids[d->stacks[i].leaf_fn]);
    sqlite3_bind_text(st, 5, d->stacks[i].frames, -1, SQLITE_TRANSIENT);
    r = step_done(st);
  }
out:
  buf_done(&funcs);
  free(fn_ids);
  return r;
}

/* Test hook: the blob of one sample type's triples. */
int pprof_funcs_encode(const int64_t *ids, const int64_t *flat, const int64_t *cum, size_t n,
                       struct buf *out) {
  struct triple *t = xcalloc(n + 1, sizeof(*t));
  int r;
  for (size_t i = 0; i < n; i++)
    t[i] = (struct triple){ids[i], flat[i], cum[i]};
  r = encode_section(t, n, out);
  free(t);
  return r;
}
