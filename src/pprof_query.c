#include "config.h"

#include "pprof_keymap.h"
#include "pprof_math.h"
#include "pprof_query.h"
#include "pprof_query_int.h"
#include "pprof_rows.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* One row per (capture, sample type); the capture's rows are adjacent in
 * either join order (both tables are keyed by capture id). */
static const char sql_scan[] =
    "SELECT c.id, c.target, c.started_at_ms, p.default_sample_type, t.idx, t.type, t.unit,"
    " t.total, p.funcs FROM captures c JOIN pprof_profiles p ON p.capture_id = c.id"
    " JOIN pprof_sample_types t ON t.capture_id = c.id";
static const char sql_ids[] =
    "SELECT c.id, c.target FROM captures c JOIN pprof_profiles p ON p.capture_id = c.id";
static const char sql_targets[] = "SELECT DISTINCT c.target FROM captures c";
static const char sql_one[] =
    "SELECT c.id, c.target, c.started_at_ms, p.default_sample_type, t.idx, t.type, t.unit,"
    " t.total, p.funcs FROM captures c JOIN pprof_profiles p ON p.capture_id = c.id"
    " JOIN pprof_sample_types t ON t.capture_id = c.id WHERE c.id = ?1";
static const char sql_fn_name[] = "SELECT name, file FROM pprof_functions WHERE id = ?1";

static void acc_add(struct acc *a, int64_t id, int64_t flat, int64_t cum) {
  if (id <= 0)
    return;
  if ((size_t)id >= a->cap) {
    size_t n = a->cap ? a->cap : 4096;
    while (n <= (size_t)id)
      n *= 2;
    a->flat = xreallocarray(a->flat, n, sizeof(*a->flat));
    a->cum = xreallocarray(a->cum, n, sizeof(*a->cum));
    a->used = xreallocarray(a->used, n, sizeof(*a->used));
    a->pos = xreallocarray(a->pos, n, sizeof(*a->pos));
    memset(a->used + a->cap, 0, n - a->cap);
    memset(a->pos + a->cap, 0, (n - a->cap) * sizeof(*a->pos));
    a->cap = n;
  }
  if (!a->used[id]) {
    a->used[id] = 1;
    a->flat[id] = 0;
    a->cum[id] = 0;
    if (a->n_touched == a->touched_cap) {
      a->touched_cap = a->touched_cap ? a->touched_cap * 2 : 4096;
      a->touched = xreallocarray(a->touched, a->touched_cap, sizeof(*a->touched));
    }
    a->touched[a->n_touched++] = id;
  }
  a->flat[id] = pp_add(a->flat[id], flat);
  a->cum[id] = pp_add(a->cum[id], cum);
}

static void acc_done(struct acc *a) {
  free(a->flat);
  free(a->cum);
  free(a->used);
  free(a->pos);
  free(a->touched);
}

void pprof_query_add_triple(int64_t id, int64_t flat, int64_t cum, void *ud) {
  struct scan *sc = ud;
  acc_add(&sc->acc, id, flat, cum);
}

/* Moves the accumulated sums into the group's rows. A group seen again
 * later (rows not ordered by it) is merged, finding its rows through
 * a->pos (every id in a group's rows is below a->cap). */
static void flush_group(struct scan *sc) {
  struct pprof_agg_group *g;
  struct acc *a = &sc->acc;

  if (sc->acc_group < 0)
    return;
  g = &sc->agg->groups[sc->acc_group];
  if (g->merge_needed)
    for (size_t j = 0; j < g->n_rows; j++)
      a->pos[g->rows[j].function_id] = (uint32_t)(j + 1);
  for (size_t i = 0; i < a->n_touched; i++) {
    int64_t id = a->touched[i];
    size_t j = g->n_rows;
    if (g->merge_needed && a->pos[id])
      j = a->pos[id] - 1;
    else if (g->n_rows % 256 == 0)
      g->rows = xreallocarray(g->rows, g->n_rows + 256, sizeof(*g->rows));
    if (j == g->n_rows) {
      memset(&g->rows[j], 0, sizeof(g->rows[j]));
      g->rows[j].function_id = id;
      g->n_rows++;
    }
    g->rows[j].flat = pp_add(g->rows[j].flat, a->flat[id]);
    g->rows[j].cum = pp_add(g->rows[j].cum, a->cum[id]);
    a->used[id] = 0;
  }
  if (g->merge_needed)
    for (size_t j = 0; j < g->n_rows; j++)
      a->pos[g->rows[j].function_id] = 0;
  a->n_touched = 0;
  g->merge_needed = true;
  sc->acc_group = -1;
}

struct pprof_agg_group *pprof_query_group_for(struct scan *sc, const char *target) {
  const char *key = sc->o->by_target ? target : "";
  bool is_new;
  uint32_t g = keymap_intern(&sc->groups, key, strlen(key), &is_new);
  if (is_new) {
    struct pprof_agg *a = sc->agg;
    a->groups = xreallocarray(a->groups, g + 1, sizeof(*a->groups));
    memset(&a->groups[g], 0, sizeof(a->groups[g]));
    a->groups[g].target = sc->o->by_target ? xstrdup(target) : NULL;
    a->groups[g].first_ms = INT64_MAX;
    a->groups[g].last_ms = INT64_MIN;
    a->n_groups = g + 1;
  }
  if ((int64_t)g != sc->acc_group) {
    flush_group(sc);
    sc->acc_group = g;
  }
  return &sc->agg->groups[g];
}

static void finish_capture(struct scan *sc) {
  if (sc->cur_capture && !sc->cur_matched)
    sc->agg->n_skipped++;
}

/* Handles one (capture, sample type) row. */
static int scan_row(struct scan *sc, sqlite3_stmt *st) {
  int64_t id = sqlite3_column_int64(st, 0);
  const char *target = (const char *)sqlite3_column_text(st, 1);
  int64_t at_ms = sqlite3_column_int64(st, 2);
  int64_t def = sqlite3_column_int64(st, 3), idx = sqlite3_column_int64(st, 4);
  const char *type = (const char *)sqlite3_column_text(st, 5);
  const char *unit = (const char *)sqlite3_column_text(st, 6);
  int64_t total = sqlite3_column_int64(st, 7);
  struct pprof_agg_group *g;
  bool match;

  if (id != sc->cur_capture) {
    finish_capture(sc);
    sc->cur_capture = id;
    sc->cur_matched = false;
  }
  if (sc->cur_matched)
    return 0;
  if (sc->want_index >= 0)
    match = idx == sc->want_index;
  else if (sc->want_name)
    match = strcmp(type, sc->want_name) == 0 || strcmp(type, sc->want_noinuse) == 0;
  else
    match = idx == def;
  if (!match)
    return 0;
  sc->cur_matched = true;
  if (!sc->agg->unit) {
    sc->agg->sample_type = xstrdup(type);
    sc->agg->unit = xstrdup(unit);
  } else if (strcmp(sc->agg->unit, unit) != 0 || strcmp(sc->agg->sample_type, type) != 0) {
    sc->err = xasprintf("the selected captures disagree on the sample type: capture %" PRId64
                        " has %s/%s where others have %s/%s; narrow the selection "
                        "(--target, --type) or choose one with --sample-index",
                        id, type, unit, sc->agg->sample_type, sc->agg->unit);
    return -EINVAL;
  }
  g = pprof_query_group_for(sc, target ? target : "");
  g->total = pp_add(g->total, total);
  g->n_captures++;
  g->first_ms = MIN(g->first_ms, at_ms);
  g->last_ms = MAX(g->last_ms, at_ms);
  sc->agg->n_captures++;
  if (pprof_funcs_decode(sqlite3_column_blob(st, 8), (size_t)sqlite3_column_bytes(st, 8),
                         (size_t)idx, pprof_query_add_triple, sc) < 0) {
    sc->err = xasprintf("capture %" PRId64 ": corrupt pprof_profiles.funcs", id);
    return -EBADMSG;
  }
  return 0;
}

int pprof_query_scan_all(struct scan *sc, const struct store_filter *f) {
  sqlite3_stmt *st = NULL;
  int rc, r;

  r = store_filter_prepare(sc->s, f, sql_scan, "", &st);
  if (r < 0)
    return r;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    r = scan_row(sc, st);
    if (r < 0)
      break;
  }
  if (r == 0 && rc != SQLITE_DONE)
    r = -EIO;
  sqlite3_finalize(st);
  return r;
}

struct id_target {
  int64_t id;
  char *target;
};

static int cmp_id_target(const void *a, const void *b) {
  const struct id_target *l = a, *r = b;
  int c = strcmp(l->target, r->target);
  return c ? c : (l->id < r->id ? -1 : l->id > r->id);
}

static int run_scan(struct scan *sc, const struct store_filter *f) {
  sqlite3_stmt *st = NULL;
  int rc, r;

  if (f->limit > 0) {
    /* The newest N captures first, then their rows one by one. */
    struct id_target *ids = NULL;
    size_t n = 0, cap = 0;
    r = store_filter_prepare(sc->s, f, sql_ids, NULL, &st);
    if (r < 0)
      return r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (n == cap) {
        cap = cap ? cap * 2 : 256;
        ids = xreallocarray(ids, cap, sizeof(*ids));
      }
      ids[n].id = sqlite3_column_int64(st, 0);
      ids[n].target = xstrdup((const char *)sqlite3_column_text(st, 1));
      n++;
    }
    sqlite3_finalize(st);
    r = rc == SQLITE_DONE ? 0 : -EIO;
    if (sc->o->by_target && n > 1)
      qsort(ids, n, sizeof(*ids), cmp_id_target);
    for (size_t i = 0; i < n && r == 0; i++) {
      sqlite3_stmt *one = store_stmt(sc->s, sql_one);
      if (!one) {
        r = -EIO;
        break;
      }
      sqlite3_bind_int64(one, 1, ids[i].id);
      while (r == 0 && (rc = sqlite3_step(one)) == SQLITE_ROW)
        r = scan_row(sc, one);
      sqlite3_reset(one);
    }
    for (size_t i = 0; i < n; i++)
      free(ids[i].target);
    free(ids);
    return r;
  }
  if (sc->o->by_target && !f->target) {
    /* One scan per target (each served by the captures' target index), so
     * groups arrive whole without sorting rows that carry blobs. */
    char **targets = NULL;
    size_t n = 0;
    r = store_filter_prepare(sc->s, f, sql_targets, "", &st);
    if (r < 0)
      return r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      targets = xreallocarray(targets, n + 1, sizeof(*targets));
      targets[n++] = xstrdup((const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    r = rc == SQLITE_DONE ? 0 : -EIO;
    for (size_t i = 0; i < n && r == 0; i++) {
      struct store_filter one = *f;
      one.target = targets[i];
      r = pprof_query_scan_all(sc, &one);
    }
    for (size_t i = 0; i < n; i++)
      free(targets[i]);
    free(targets);
    return r;
  }
  return pprof_query_scan_all(sc, f);
}

struct sort_ctx {
  bool cum;
};

#define abs64 pp_abs

static int cmp_value(const void *a, const void *b, void *ud) {
  const struct pprof_agg_row *l = a, *r = b;
  const struct sort_ctx *c = ud;
  int64_t lv = abs64(c->cum ? l->cum : l->flat), rv = abs64(c->cum ? r->cum : r->flat);
  if (lv != rv)
    return lv > rv ? -1 : 1;
  if (l->name && r->name) {
    int x = strcmp(l->name, r->name);
    if (x)
      return x;
  }
  lv = abs64(c->cum ? l->flat : l->cum);
  rv = abs64(c->cum ? r->flat : r->cum);
  if (lv != rv)
    return lv > rv ? -1 : 1;
  return l->function_id < r->function_id ? -1 : l->function_id > r->function_id;
}

static int fetch_name(struct store *s, struct pprof_agg_row *row) {
  sqlite3_stmt *st = store_stmt(s, sql_fn_name);
  if (!st)
    return -EIO;
  sqlite3_bind_int64(st, 1, row->function_id);
  if (sqlite3_step(st) == SQLITE_ROW) {
    row->name = xstrdup((const char *)sqlite3_column_text(st, 0));
    row->file = xstrdup((const char *)sqlite3_column_text(st, 1));
  } else {
    row->name = xasprintf("<function %" PRId64 ">", row->function_id);
    row->file = xstrdup("");
  }
  sqlite3_reset(st);
  return 0;
}

/* Sorts a group's rows by value, names the ones that make the cut (and
 * those tied with the last), sorts again with names and cuts. */
static int finish_group(struct store *s, struct pprof_agg_group *g,
                        const struct pprof_agg_opts *o) {
  struct sort_ctx c = {o->cum_sort};
  size_t keep = o->limit && o->limit < g->n_rows ? o->limit : g->n_rows;
  int r = 0;

  g->n_functions = g->n_rows;
  if (g->n_rows > 1)
    qsort_r(g->rows, g->n_rows, sizeof(*g->rows), cmp_value, &c);
  if (keep > 0 && keep < g->n_rows) {
    int64_t last = abs64(o->cum_sort ? g->rows[keep - 1].cum : g->rows[keep - 1].flat);
    while (keep < g->n_rows && abs64(o->cum_sort ? g->rows[keep].cum : g->rows[keep].flat) == last)
      keep++;
  }
  for (size_t i = 0; i < keep && r == 0; i++)
    r = fetch_name(s, &g->rows[i]);
  if (r < 0)
    return r;
  g->n_rows = keep;
  if (keep > 1)
    qsort_r(g->rows, keep, sizeof(*g->rows), cmp_value, &c);
  if (o->limit && g->n_rows > o->limit) {
    for (size_t i = o->limit; i < g->n_rows; i++) {
      free(g->rows[i].name);
      free(g->rows[i].file);
    }
    g->n_rows = o->limit;
  }
  return 0;
}

static int cmp_groups(const void *a, const void *b) {
  const struct pprof_agg_group *l = a, *r = b;
  return strcmp(l->target ? l->target : "", r->target ? r->target : "");
}

static void scan_init(struct scan *sc, struct store *s, const struct pprof_agg_opts *o) {
  int64_t n;

  memset(sc, 0, sizeof(*sc));
  sc->s = s;
  sc->o = o;
  sc->agg = xcalloc(1, sizeof(*sc->agg));
  sc->want_index = -1;
  keymap_init(&sc->groups);
  keymap_init(&sc->stale);
  if (o->sample_type && parse_int64(o->sample_type, &n) == 0) {
    sc->want_index = n;
  } else if (o->sample_type) {
    sc->want_name = o->sample_type;
    sc->want_noinuse =
        str_has_prefix(o->sample_type, "inuse_") ? o->sample_type + 6 : o->sample_type;
  }
  sc->acc_group = -1;
}

static void scan_done(struct scan *sc) {
  acc_done(&sc->acc);
  keymap_done(&sc->groups);
  keymap_done(&sc->stale);
}

int pprof_query_aggregate(struct store *s, const struct store_filter *f,
                          const struct pprof_agg_opts *o, struct pprof_agg **ret, char **ret_err) {
  struct scan sc;
  struct store_filter ff = *f;
  int r = -EAGAIN;

  ff.status = CAPTURE_OK;
  scan_init(&sc, s, o);
  if (!o->no_rollup && ff.limit <= 0) {
    r = pprof_query_rollups(&sc, &ff);
    finish_capture(&sc);
    flush_group(&sc);
  }
  if (r < 0) {
    /* No whole hour selected, or something the rollups cannot answer
     * exactly as the raw rows would: read the raw rows alone. */
    scan_done(&sc);
    pprof_agg_free(sc.agg);
    free(sc.err);
    scan_init(&sc, s, o);
    r = run_scan(&sc, &ff);
    finish_capture(&sc);
    flush_group(&sc);
  }
  if (r < 0) {
    if (!sc.err)
      sc.err = xasprintf("querying pprof rows: %s", store_errmsg(s));
    goto fail;
  }
  if (sc.agg->n_captures == 0) {
    sc.err = sc.agg->n_skipped ? xasprintf("none of the %zu matching captures has sample type '%s'",
                                           sc.agg->n_skipped, o->sample_type ? o->sample_type : "?")
                               : xstrdup("no analysed pprof capture matches");
    r = -ENOENT;
    goto fail;
  }
  for (size_t i = 0; i < sc.agg->n_groups && r == 0; i++)
    r = finish_group(s, &sc.agg->groups[i], o);
  if (r < 0) {
    sc.err = xasprintf("reading function names: %s", store_errmsg(s));
    goto fail;
  }
  qsort(sc.agg->groups, sc.agg->n_groups, sizeof(*sc.agg->groups), cmp_groups);
  scan_done(&sc);
  *ret = sc.agg;
  return 0;
fail:
  scan_done(&sc);
  pprof_agg_free(sc.agg);
  *ret_err = sc.err;
  return r;
}

struct pprof_agg *pprof_agg_free(struct pprof_agg *a) {
  if (!a)
    return NULL;
  for (size_t i = 0; i < a->n_groups; i++) {
    for (size_t j = 0; j < a->groups[i].n_rows; j++) {
      free(a->groups[i].rows[j].name);
      free(a->groups[i].rows[j].file);
    }
    free(a->groups[i].rows);
    free(a->groups[i].target);
  }
  free(a->groups);
  free(a->sample_type);
  free(a->unit);
  free(a);
  return NULL;
}
