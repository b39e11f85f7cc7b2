#include "config.h"

#include "store_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "util.h"

void fx_setup(struct fx *fx) {
  char *err = NULL;
  int r;

  fx->dir = test_tmpdir();
  fx->path = xasprintf("%s/pprofd.db", fx->dir);
  r = store_open(fx->path, 0, &fx->s, &err);
  ck_assert_msg(r == 0, "store_open: %s", err ? err : "?");
}

void fx_teardown(struct fx *fx) {
  fx->s = store_close(fx->s);
  test_rm_rf(fx->dir);
  free(fx->dir);
  free(fx->path);
}

struct store *fx_open(struct fx *fx, unsigned flags) {
  struct store *s = NULL;
  char *err = NULL;
  int r = store_open(fx->path, flags, &s, &err);
  ck_assert_msg(r == 0, "store_open: %s", err ? err : "?");
  return s;
}

struct capture *fx_capture(const char *target, const char *instance, const char *type,
                           int64_t started_at_ms, const void *body, size_t len,
                           const char *const *labels) {
  struct capture *c = capture_new();
  size_t n = 0;

  c->target = xstrdup(target);
  c->instance = xstrdup(instance);
  c->type = xstrdup(type);
  c->url = xasprintf("http://%s/debug/pprof/%s", instance, type);
  c->started_at_ms = started_at_ms;
  c->duration_ms = 42;
  c->http_status = 200;
  c->status = CAPTURE_OK;
  buf_init(&c->body, len + 1);
  ck_assert_int_eq(buf_append(&c->body, body, len), 0);
  while (labels && labels[n])
    n++;
  c->labels = xcalloc(n, sizeof(*c->labels));
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(labels[i], '=');
    ck_assert_ptr_nonnull(eq);
    c->labels[i].key = xstrndup(labels[i], (size_t)(eq - labels[i]));
    c->labels[i].value = xstrdup(eq + 1);
  }
  c->n_labels = n;
  return c;
}

int64_t fx_put(struct store *s, struct capture *c) {
  int64_t id = 0;
  int r = store_put_capture(s, c, &id);
  ck_assert_msg(r == 0, "store_put_capture: %s", store_errmsg(s));
  ck_assert_int_gt(id, 0);
  capture_free(c);
  return id;
}

int64_t fx_query_int(struct store *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  int64_t v;

  ck_assert_int_eq(sqlite3_prepare_v2(store_db(s), sql, -1, &st, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

int64_t fx_count(struct store *s, const char *table) {
  char sql[128];
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
  return fx_query_int(s, sql);
}

void fx_random_bytes(uint8_t *buf, size_t n, uint32_t seed) {
  uint32_t x = seed ? seed : 1;
  for (size_t i = 0; i < n; i++) {
    /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buf[i] = (uint8_t)(x >> 24);
  }
}
