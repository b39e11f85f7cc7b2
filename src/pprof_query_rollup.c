/* pprof_query_aggregate() over the rollups (pprof_rollup.h).
 *
 * Whole days of the selection come from the daily rollups, whole hours
 * of the partial days from the hourly ones, the partial hours at the
 * edges and the stale cells from the captures' own rows. Any surprise
 * (captures disagreeing on the sample type, a corrupt row) returns
 * -EAGAIN: the caller then answers from the raw rows alone, so errors read
 * exactly as without rollups. */
#include "config.h"

#include "pprof_math.h"
#include "pprof_query_int.h"
#include "pprof_rollup.h"
#include "pprof_rows.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLLUP_MAX_TYPES 32

static const char sql_rollups[] =
    "SELECT c.target, c.instance, c.type, c.bucket, c.signature, c.stale, c.captures, c.first_ms,"
    " c.last_ms, c.totals, c.funcs FROM pprof_rollups c";
static const char sql_stale[] =
    "SELECT DISTINCT c.target, c.instance, c.type, c.bucket FROM pprof_rollups c";

struct cells {
  struct store_filter *v; /* target, instance, type and time range */
  int64_t *span;
  size_t n;
};

static char *cell_key(const char *target, const char *instance, const char *type, int64_t span,
                      int64_t bucket, size_t *ret_len) {
  size_t lt = strlen(target), li = strlen(instance), ly = strlen(type);
  char *k = xmalloc(lt + li + ly + 48);
  int n;
  memcpy(k, target, lt + 1);
  memcpy(k + lt + 1, instance, li + 1);
  memcpy(k + lt + li + 2, type, ly + 1);
  n = snprintf(k + lt + li + ly + 3, 45, "%" PRId64 ":%" PRId64, span, bucket);
  *ret_len = lt + li + ly + 3 + (size_t)n;
  return k;
}

static bool str_eq_n(const char *a, const char *b, size_t blen) {
  return strlen(a) == blen && memcmp(a, b, blen) == 0;
}

/* Handles one rollup row like scan_row() handles the same captures. */
static int scan_rollup_row(struct scan *sc, sqlite3_stmt *st) {
  const char *target = (const char *)sqlite3_column_text(st, 0);
  const char *sig = (const char *)sqlite3_column_text(st, 4);
  int64_t count = sqlite3_column_int64(st, 6);
  const char *types[ROLLUP_MAX_TYPES], *units[ROLLUP_MAX_TYPES];
  size_t tlen[ROLLUP_MAX_TYPES], ulen[ROLLUP_MAX_TYPES];
  struct pprof_agg_group *g;
  int64_t def, total;
  int n, idx = -1;

  n = pprof_rollup_sig_parse(sig ? sig : "", &def, ROLLUP_MAX_TYPES, types, tlen, units, ulen);
  if (n < 0 || n > ROLLUP_MAX_TYPES || count <= 0)
    return -EAGAIN;
  for (int i = 0; i < n && idx < 0; i++) {
    bool match;
    if (sc->want_index >= 0)
      match = i == sc->want_index;
    else if (sc->want_name)
      match = str_eq_n(sc->want_name, types[i], tlen[i]) ||
              str_eq_n(sc->want_noinuse, types[i], tlen[i]);
    else
      match = i == def;
    if (match)
      idx = i;
  }
  sc->agg->n_rolled_up += (size_t)count;
  if (idx < 0) {
    sc->agg->n_skipped += (size_t)count;
    return 0;
  }
  if (!sc->agg->unit) {
    sc->agg->sample_type = xstrndup(types[idx], tlen[idx]);
    sc->agg->unit = xstrndup(units[idx], ulen[idx]);
  } else if (!str_eq_n(sc->agg->unit, units[idx], ulen[idx]) ||
             !str_eq_n(sc->agg->sample_type, types[idx], tlen[idx])) {
    return -EAGAIN;
  }
  if (pprof_rollup_total(sqlite3_column_blob(st, 9), (size_t)sqlite3_column_bytes(st, 9),
                         (size_t)idx, &total) < 0)
    return -EAGAIN;
  g = pprof_query_group_for(sc, target ? target : "");
  g->total = pp_add(g->total, total);
  g->n_captures += (size_t)count;
  g->first_ms = MIN(g->first_ms, sqlite3_column_int64(st, 7));
  g->last_ms = MAX(g->last_ms, sqlite3_column_int64(st, 8));
  sc->agg->n_captures += (size_t)count;
  if (pprof_funcs_decode(sqlite3_column_blob(st, 10), (size_t)sqlite3_column_bytes(st, 10),
                         (size_t)idx, pprof_query_add_triple, sc) < 0)
    return -EAGAIN;
  return 0;
}

/* Cells of one span with a stale rollup row in the bucket range,
 * whatever their labels (a stale cell may hold placeholder rows); they
 * are read raw. */
static int load_stale(struct scan *sc, const struct store_filter *fr, int64_t span,
                      const char *range, struct cells *cells) {
  struct store_filter fs = *fr;
  sqlite3_stmt *st = NULL;
  char *tail = xasprintf("AND c.stale%s", range);
  int rc, r;

  fs.labels = NULL;
  fs.n_labels = 0;
  r = store_filter_prepare(sc->s, &fs, sql_stale, tail, &st);
  free(tail);
  if (r < 0)
    return r;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0);
    const char *i = (const char *)sqlite3_column_text(st, 1);
    const char *y = (const char *)sqlite3_column_text(st, 2);
    int64_t bucket = sqlite3_column_int64(st, 3);
    struct store_filter *c;
    size_t klen;
    char *key;
    if (bucket <= INT64_MIN / span + 1 || bucket >= INT64_MAX / span - 1) {
      r = -EAGAIN;
      break;
    }
    key = cell_key(t, i, y, span, bucket, &klen);
    keymap_intern(&sc->stale, key, klen, NULL);
    free(key);
    cells->v = xreallocarray(cells->v, cells->n + 1, sizeof(*cells->v));
    cells->span = xreallocarray(cells->span, cells->n + 1, sizeof(*cells->span));
    cells->span[cells->n] = span;
    c = &cells->v[cells->n++];
    store_filter_init(c);
    c->target = xstrdup(t);
    c->instance = xstrdup(i);
    c->type = xstrdup(y);
    c->since_ms = bucket * span;
    c->until_ms = (bucket + 1) * span;
  }
  if (r == 0 && rc != SQLITE_DONE)
    r = -EIO;
  sqlite3_finalize(st);
  return r;
}

static void cells_done(struct cells *cells) {
  for (size_t i = 0; i < cells->n; i++) {
    free((void *)(uintptr_t)cells->v[i].target);
    free((void *)(uintptr_t)cells->v[i].instance);
    free((void *)(uintptr_t)cells->v[i].type);
  }
  free(cells->v);
  free(cells->span);
}

static int scan_rollups(struct scan *sc, const struct store_filter *fr, int64_t span,
                        const char *range) {
  sqlite3_stmt *st = NULL;
  char *tail =
      xasprintf("AND NOT c.stale%s%s", range, sc->o->by_target ? " ORDER BY c.target" : "");
  int rc, r;

  r = store_filter_prepare(sc->s, fr, sql_rollups, tail, &st);
  free(tail);
  if (r < 0)
    return r;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (keymap_count(&sc->stale)) {
      size_t klen;
      char *key = cell_key(
          (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
          (const char *)sqlite3_column_text(st, 2), span, sqlite3_column_int64(st, 3), &klen);
      bool skip = keymap_find(&sc->stale, key, klen) >= 0;
      free(key);
      if (skip)
        continue;
    }
    r = scan_rollup_row(sc, st);
    if (r < 0)
      break;
  }
  if (r == 0 && rc != SQLITE_DONE)
    r = -EIO;
  sqlite3_finalize(st);
  return r;
}

static int64_t ceil_bucket(int64_t ms, int64_t span) {
  int64_t b = pprof_rollup_bucket(ms, span);
  return b * span == ms ? b : b + 1;
}

static int scan_range(struct scan *sc, const struct store_filter *f, int64_t a, int64_t b) {
  struct store_filter one = *f;
  one.since_ms = a;
  one.until_ms = b;
  return pprof_query_scan_all(sc, &one);
}

/* Captures of f in [a, b) (INT64_MIN, INT64_MAX: open): whole buckets of
 * spans[level] from rollups, the rest from the next level or raw rows. */
static int scan_piece(struct scan *sc, const struct store_filter *f, int64_t a, int64_t b,
                      size_t level, struct cells *cells) {
  int64_t span = pprof_rollup_spans[level];
  bool has_lo = a != INT64_MIN, has_hi = b != INT64_MAX, last = level + 1 == PPROF_ROLLUP_N_SPANS;
  int64_t lo = has_lo ? ceil_bucket(a, span) : 0, hi = has_hi ? pprof_rollup_bucket(b, span) : 0;
  struct store_filter fr = *f;
  char range[128];
  int r;

  if (has_lo && has_hi && lo >= hi)
    return last ? scan_range(sc, f, a, b) : scan_piece(sc, f, a, b, level + 1, cells);
  snprintf(range, sizeof(range), " AND c.span_ms = %" PRId64 "%s%" PRId64 "%s%" PRId64, span,
           has_lo ? " AND c.bucket >= " : " AND 0 = ", has_lo ? lo : INT64_C(0),
           has_hi ? " AND c.bucket < " : " AND 0 = ", has_hi ? hi : INT64_C(0));
  fr.since_ms = INT64_MIN;
  fr.until_ms = INT64_MAX;
  fr.status = -1;
  fr.limit = 0;
  r = load_stale(sc, &fr, span, range, cells);
  if (r == 0)
    r = scan_rollups(sc, &fr, span, range);
  if (r == 0 && has_lo && a < lo * span)
    r = last ? scan_range(sc, f, a, lo * span) : scan_piece(sc, f, a, lo * span, level + 1, cells);
  if (r == 0 && has_hi && hi * span < b)
    r = last ? scan_range(sc, f, hi * span, b) : scan_piece(sc, f, hi * span, b, level + 1, cells);
  return r;
}

int pprof_query_rollups(struct scan *sc, const struct store_filter *f) {
  const int64_t lim = INT64_C(1) << 60, hour = PPROF_ROLLUP_HOUR_MS;
  bool has_lo = f->since_ms != INT64_MIN, has_hi = f->until_ms != INT64_MAX;
  struct cells cells = {NULL, NULL, 0};
  int r;

  if ((has_lo && (f->since_ms < -lim || f->since_ms > lim)) ||
      (has_hi && (f->until_ms < -lim || f->until_ms > lim)))
    return -EAGAIN;
  if (has_lo && has_hi && ceil_bucket(f->since_ms, hour) >= pprof_rollup_bucket(f->until_ms, hour))
    return -EAGAIN; /* not one whole hour */
  r = scan_piece(sc, f, f->since_ms, f->until_ms, 0, &cells);
  /* Stale cells: a day through its hours (which may add stale hours to
   * the list), an hour from the raw rows. */
  for (size_t i = 0; i < cells.n && r == 0; i++) {
    struct store_filter one = *f;
    size_t level = 0;
    one.target = cells.v[i].target;
    one.instance = cells.v[i].instance;
    one.type = cells.v[i].type;
    one.since_ms = cells.v[i].since_ms;
    one.until_ms = cells.v[i].until_ms;
    while (level < PPROF_ROLLUP_N_SPANS && pprof_rollup_spans[level] != cells.span[i])
      level++;
    if (level + 1 < PPROF_ROLLUP_N_SPANS)
      r = scan_piece(sc, &one, one.since_ms, one.until_ms, level + 1, &cells);
    else
      r = pprof_query_scan_all(sc, &one);
  }
  cells_done(&cells);
  return r;
}
