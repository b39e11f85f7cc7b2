/* Capture filters as SQL: fixed condition fragments with bound parameters
 * (filter values never become SQL text), plus the choice of access path
 * for label filters, which SQLite's planner cannot make well without
 * statistics. */
#include "config.h"

#include "store.h"
#include "store_int.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FILTER_MAX_BINDS 80

static const char sql_pair_ids[] =
    "SELECT labelset_id FROM labelset_pairs WHERE key = ?1 AND value = ?2 ORDER BY labelset_id";
static const char sql_labelset_captures[] =
    "SELECT count(*) FROM (SELECT 1 FROM captures WHERE labelset_id = ?1 LIMIT ?2)";
/* A cheap estimate of the number of captures: ids only grow and pruning
 * removes the oldest. (Separate subqueries: SQLite only turns a lone
 * min() or max() into an index seek.) */
static const char sql_id_span[] =
    "SELECT coalesce((SELECT max(id) FROM captures) - (SELECT min(id) FROM captures) + 1, 0)";

void store_filter_init(struct store_filter *f) {
  memset(f, 0, sizeof(*f));
  f->since_ms = INT64_MIN;
  f->until_ms = INT64_MAX;
  f->status = -1;
}

/* Column conditions come from this fixed table; filter values only ever
 * become bound parameters. */
static const char *column_cond(const char *key) {
  if (strcmp(key, "target") == 0)
    return " AND c.target = ?";
  if (strcmp(key, "instance") == 0)
    return " AND c.instance = ?";
  if (strcmp(key, "type") == 0)
    return " AND c.type = ?";
  return NULL;
}

struct id_set {
  int64_t *v;
  size_t n;
};

static int load_pair_ids(struct store *s, const struct cfg_pair *p, struct id_set *out) {
  sqlite3_stmt *st = store_stmt(s, sql_pair_ids);
  int rc;

  out->v = NULL;
  out->n = 0;
  if (!st)
    return -EIO;
  sqlite3_bind_text(st, 1, p->key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, p->value, -1, SQLITE_STATIC);
  for (;;) {
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
      break;
    out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
    out->v[out->n++] = sqlite3_column_int64(st, 0);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    free(out->v);
    return store_fail_sqlite(s, rc, "resolving labels");
  }
  return 0;
}

/* a = a ∩ b (both sorted). */
static void intersect(struct id_set *a, const struct id_set *b) {
  size_t i = 0, j = 0, n = 0;

  while (i < a->n && j < b->n) {
    if (a->v[i] < b->v[j]) {
      i++;
    } else if (a->v[i] > b->v[j]) {
      j++;
    } else {
      a->v[n++] = a->v[i];
      i++;
      j++;
    }
  }
  a->n = n;
}

static int query_count(struct store *s, const char *sql, int64_t *ret) {
  sqlite3_stmt *st = store_stmt(s, sql);
  int rc;

  if (!st)
    return -EIO;
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *ret = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  if (rc != SQLITE_ROW)
    return store_fail_sqlite(s, rc, "counting");
  return 0;
}

enum label_plan {
  LABELS_NONE,  /* no label conditions */
  LABELS_INDEX, /* let the planner use the labelset index */
  LABELS_SCAN,  /* walk captures in time order and test the labelset */
  LABELS_EMPTY, /* no labelset matches: nothing can match */
};

/* Counts the captures of the labelsets in set, stopping at budget. */
static int count_captures(struct store *s, const struct id_set *set, int64_t budget, int64_t *ret) {
  int64_t n = 0;

  for (size_t i = 0; i < set->n && n < budget; i++) {
    sqlite3_stmt *st = store_stmt(s, sql_labelset_captures);
    int rc;

    if (!st)
      return -EIO;
    sqlite3_bind_int64(st, 1, set->v[i]);
    sqlite3_bind_int64(st, 2, budget - n);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
      n += sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
      return store_fail_sqlite(s, rc, "counting captures");
  }
  *ret = n;
  return 0;
}

/* Label pairs match a set of labelsets (one per target, typically). Going
 * through the labelset index and sorting costs about `matched` rows;
 * walking the time index and testing each row costs about
 * limit * total / matched rows. So the walk wins when matched^2 >
 * limit * total, which a count bounded by sqrt(limit * total) decides
 * without ever counting more than that many index entries. */
static int plan_labels(struct store *s, const struct store_filter *f, bool ordered,
                       enum label_plan *ret) {
  struct id_set set = {NULL, 0}, next;
  bool any = false;
  int64_t total = 0, matched = 0, budget;
  int r = 0;

  *ret = LABELS_NONE;
  for (size_t i = 0; i < f->n_labels; i++) {
    if (column_cond(f->labels[i].key))
      continue;
    r = load_pair_ids(s, &f->labels[i], any ? &next : &set);
    if (r < 0)
      goto out;
    if (any) {
      intersect(&set, &next);
      free(next.v);
    }
    any = true;
  }
  if (!any)
    goto out;
  if (set.n == 0) {
    *ret = LABELS_EMPTY;
    goto out;
  }
  *ret = LABELS_INDEX;
  if (!ordered || f->limit <= 0)
    goto out;
  r = query_count(s, sql_id_span, &total);
  if (r < 0 || total <= 0)
    goto out;
  budget = (int64_t)sqrt((double)f->limit * (double)total) + 1;
  r = count_captures(s, &set, budget, &matched);
  if (r == 0 && matched >= budget)
    *ret = LABELS_SCAN;
out:
  free(set.v);
  return r;
}

struct filter_sql {
  struct buf sql;
  struct {
    const char *text; /* NULL: integer */
    int64_t i;
  } binds[FILTER_MAX_BINDS];
  size_t n;
};

static int add_cond(struct filter_sql *q, const char *cond, const char *text, int64_t i) {
  if (q->n == ARRAY_SIZE(q->binds))
    return -E2BIG;
  q->binds[q->n].text = text;
  q->binds[q->n].i = i;
  q->n++;
  return buf_printf(&q->sql, "%s", cond);
}

static int add_labels(struct filter_sql *q, const struct store_filter *f, enum label_plan plan) {
  /* The unary + keeps SQLite from using the labelset index for the term. */
  const char *head = plan == LABELS_SCAN ? " AND +c.labelset_id IN" : " AND c.labelset_id IN";
  int r = 0;

  if (plan == LABELS_EMPTY)
    return buf_printf(&q->sql, " AND 0");
  for (size_t i = 0; r == 0 && i < f->n_labels; i++) {
    const char *cond = column_cond(f->labels[i].key);
    if (cond) {
      r = add_cond(q, cond, f->labels[i].value, 0);
      continue;
    }
    r = buf_printf(&q->sql, "%s", head);
    if (r == 0)
      r = add_cond(q, " (SELECT labelset_id FROM labelset_pairs WHERE key = ?", f->labels[i].key,
                   0);
    if (r == 0)
      r = add_cond(q, " AND value = ?)", f->labels[i].value, 0);
  }
  return r;
}

static int build(struct filter_sql *q, const struct store_filter *f, enum label_plan plan,
                 const char *head, const char *tail) {
  int r = buf_printf(&q->sql, "%s WHERE 1", head);

  if (r == 0 && f->target)
    r = add_cond(q, " AND c.target = ?", f->target, 0);
  if (r == 0 && f->instance)
    r = add_cond(q, " AND c.instance = ?", f->instance, 0);
  if (r == 0 && f->type)
    r = add_cond(q, " AND c.type = ?", f->type, 0);
  if (r == 0)
    r = add_labels(q, f, plan);
  if (r == 0 && f->since_ms != INT64_MIN)
    r = add_cond(q, " AND c.started_at_ms >= ?", NULL, f->since_ms);
  if (r == 0 && f->until_ms != INT64_MAX)
    r = add_cond(q, " AND c.started_at_ms < ?", NULL, f->until_ms);
  /* Literal, not bound: lets SQLite use the partial index of failed
   * captures. */
  if (r == 0 && f->status == CAPTURE_OK)
    r = buf_printf(&q->sql, " AND c.status = 'ok'");
  if (r == 0 && f->status == CAPTURE_FAILED)
    r = buf_printf(&q->sql, " AND c.status = 'failed'");
  if (r == 0 && tail)
    return buf_printf(&q->sql, " %s", tail);
  if (r == 0)
    r = buf_printf(&q->sql, f->oldest_first ? " ORDER BY c.started_at_ms, c.id"
                                            : " ORDER BY c.started_at_ms DESC, c.id DESC");
  if (r == 0 && f->limit > 0)
    r = add_cond(q, " LIMIT ?", NULL, f->limit);
  return r;
}

int store_filter_prepare_wrapped(struct store *s, const struct store_filter *f, const char *head,
                                 const char *tail, const char *outer_head, const char *outer_tail,
                                 sqlite3_stmt **ret) {
  struct filter_sql *q = xcalloc(1, sizeof(*q));
  enum label_plan plan;
  sqlite3_stmt *st = NULL;
  int rc, r;

  buf_init(&q->sql, 64 * 1024);
  if (f->status > CAPTURE_FAILED) {
    r = store_fail(s, -EINVAL, "invalid status filter %d", f->status);
    goto out;
  }
  r = plan_labels(s, f, tail == NULL, &plan);
  if (r < 0)
    goto out;
  if (outer_head)
    r = buf_printf(&q->sql, "%s (", outer_head);
  if (r == 0)
    r = build(q, f, plan, head, tail);
  if (r == 0 && outer_head)
    r = buf_printf(&q->sql, ")%s", outer_tail ? outer_tail : "");
  if (r == 0)
    r = buf_terminate(&q->sql);
  if (r < 0) {
    r = store_fail(s, r, "filter too complex (%zu conditions)", q->n);
    goto out;
  }
  rc = sqlite3_prepare_v2(s->db, (const char *)q->sql.data, (int)q->sql.len, &st, NULL);
  if (rc != SQLITE_OK) {
    r = store_fail_sqlite(s, rc, "preparing a query");
    goto out;
  }
  for (size_t i = 0; i < q->n; i++) {
    if (q->binds[i].text)
      sqlite3_bind_text(st, (int)i + 1, q->binds[i].text, -1, SQLITE_TRANSIENT);
    else
      sqlite3_bind_int64(st, (int)i + 1, q->binds[i].i);
  }
  *ret = st;
  st = NULL;
out:
  sqlite3_finalize(st);
  buf_done(&q->sql);
  free(q);
  return r;
}

int store_filter_prepare(struct store *s, const struct store_filter *f, const char *head,
                         const char *tail, sqlite3_stmt **ret) {
  return store_filter_prepare_wrapped(s, f, head, tail, NULL, NULL, ret);
}
