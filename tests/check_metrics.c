#include "config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

START_TEST(test_render) {
  static const double b[] = {0.1, 1, 10};
  struct metrics *m = metrics_new();
  struct buf out;
  const char *l1[] = {"target", "api", "type", "heap", "status", "ok", NULL};
  const char *l2[] = {"target", "we\"ird\\", NULL};
  metrics_declare(m, "pprofd_captures_total", METRIC_COUNTER, "Captures stored.", NULL, 0);
  metrics_declare(m, "pprofd_queue_depth", METRIC_GAUGE, "Queued captures.", NULL, 0);
  metrics_declare(m, "pprofd_fetch_seconds", METRIC_HISTOGRAM, "Fetch duration.", b, 3);
  metrics_add(m, "pprofd_captures_total", l1, 1);
  metrics_add(m, "pprofd_captures_total", l1, 2);
  metrics_add(m, "pprofd_captures_total", l2, 1);
  metrics_set(m, "pprofd_queue_depth", NULL, 7);
  metrics_observe(m, "pprofd_fetch_seconds", NULL, 0.05);
  metrics_observe(m, "pprofd_fetch_seconds", NULL, 5);
  metrics_observe(m, "pprofd_fetch_seconds", NULL, 50);
  metrics_add(m, "undeclared", NULL, 1); /* ignored */
  buf_init(&out, 1 << 20);
  ck_assert_int_eq(metrics_render(m, &out), 0);
  ck_assert_str_eq((char *)out.data,
                   "# HELP pprofd_captures_total Captures stored.\n"
                   "# TYPE pprofd_captures_total counter\n"
                   "pprofd_captures_total{target=\"api\",type=\"heap\",status=\"ok\"} 3\n"
                   "pprofd_captures_total{target=\"we\\\"ird\\\\\"} 1\n"
                   "# HELP pprofd_queue_depth Queued captures.\n"
                   "# TYPE pprofd_queue_depth gauge\n"
                   "pprofd_queue_depth 7\n"
                   "# HELP pprofd_fetch_seconds Fetch duration.\n"
                   "# TYPE pprofd_fetch_seconds histogram\n"
                   "pprofd_fetch_seconds_bucket{le=\"0.1\"} 1\n"
                   "pprofd_fetch_seconds_bucket{le=\"1\"} 1\n"
                   "pprofd_fetch_seconds_bucket{le=\"10\"} 2\n"
                   "pprofd_fetch_seconds_bucket{le=\"+Inf\"} 3\n"
                   "pprofd_fetch_seconds_sum 55.049999999999997\n"
                   "pprofd_fetch_seconds_count 3\n");
  metrics_forget(m, "pprofd_captures_total", "target", "api");
  buf_reset(&out);
  metrics_render(m, &out);
  ck_assert_ptr_null(strstr((char *)out.data, "target=\"api\""));
  ck_assert_ptr_nonnull(strstr((char *)out.data, "we\\\"ird"));
  metrics_add(m, "pprofd_captures_total", l1, 1);
  buf_reset(&out);
  metrics_render(m, &out);
  ck_assert_ptr_nonnull(strstr((char *)out.data, "status=\"ok\"} 1\n"));
  buf_done(&out);
  metrics_free(m);
}
END_TEST

/* Declares the same families plain (g = false) or grouped, and fills them. */
static struct metrics *filled(bool g) {
  struct metrics *m = metrics_new();
  const char *t[] = {"api", "db", "we\"ird"};
  const char *ty[] = {"heap", "cpu", "trace"};
  if (g) {
    metrics_declare_grouped(m, "c_total", METRIC_COUNTER, "C.", 1);
    metrics_declare_grouped(m, "last", METRIC_GAUGE, "L.", 2);
    metrics_declare_grouped(m, "few", METRIC_GAUGE, "Grouped by more labels than it has.", 3);
  } else {
    metrics_declare(m, "c_total", METRIC_COUNTER, "C.", NULL, 0);
    metrics_declare(m, "last", METRIC_GAUGE, "L.", NULL, 0);
    metrics_declare(m, "few", METRIC_GAUGE, "Grouped by more labels than it has.", NULL, 0);
  }
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 3; k++) {
      const char *lc[] = {"target", t[i], "type", ty[k], "status", k == 2 ? "failed" : "ok", NULL};
      const char *ll[] = {"target", t[i], "instance", "i1", "type", ty[k], NULL};
      metrics_add(m, "c_total", lc, 1 + i);
      metrics_add(m, "c_total", lc, 0.5);
      metrics_set(m, "last", ll, 1700000000.25 + k);
    }
  metrics_set(m, "few", NULL, 3);
  {
    const char *l1[] = {"a", "1", NULL};
    metrics_set(m, "few", l1, 4);
  }
  return m;
}

static char *page(struct metrics *m) {
  struct buf out;
  size_t len;
  buf_init(&out, 1 << 20);
  ck_assert_int_eq(metrics_render(m, &out), 0);
  return (char *)buf_steal(&out, &len);
}

START_TEST(test_grouped_same_page) {
  struct metrics *p = filled(false), *g = filled(true);
  char *a = page(p), *b = page(g);
  ck_assert_str_eq(a, b);
  ck_assert_ptr_nonnull(strstr(b, "last{target=\"db\",instance=\"i1\",type=\"cpu\"} "
                                  "1700000001.25\n"));
  ck_assert_ptr_nonnull(strstr(b, "few 3\nfew{a=\"1\"} 4\n"));
  free(a);
  free(b);
  metrics_forget(p, "last", "target", "db");
  metrics_forget(g, "last", "target", "db");
  metrics_forget(p, "c_total", "type", "cpu"); /* a label outside the group */
  metrics_forget(g, "c_total", "type", "cpu");
  a = page(p);
  b = page(g);
  ck_assert_str_eq(a, b);
  ck_assert_ptr_null(strstr(b, "last{target=\"db\""));
  ck_assert_ptr_null(strstr(b, "type=\"cpu\",status"));
  ck_assert_ptr_nonnull(strstr(b, "c_total{target=\"db\",type=\"heap\",status=\"ok\"} 2.5\n"));
  free(a);
  free(b);
  metrics_free(p);
  metrics_free(g);
}
END_TEST

/* Reads a page one byte at a time while series are forgotten and added
 * between the reads: nothing is freed under the cursor (run under
 * valgrind or ASan), no series shows twice, every series that stays shows. */
START_TEST(test_cursor_changes) {
  for (int grouped = 0; grouped < 2; grouped++) {
    struct metrics *m = filled(grouped);
    struct metrics_cursor *c;
    struct buf out;
    char ch, name[16];
    ssize_t n;
    int reads = 0;
    const char *ln[] = {"target", "new", "instance", "i1", "type", "heap", NULL};
    const char *ld[] = {"target", "db", "instance", "i1", "type", "heap", NULL};
    const char *s;
    /* Enough of a page (about 60 KB) that it takes several chunks. */
    for (int i = 0; i < 1000; i++) {
      const char *l[] = {"target", name, "type", "heap", "status", "ok", NULL};
      snprintf(name, sizeof(name), "f%04d", i);
      metrics_add(m, "c_total", l, 1);
    }
    c = metrics_cursor_new(m);
    buf_init(&out, 1 << 20);
    for (;;) {
      n = metrics_cursor_read(c, &ch, 1);
      if (n <= 0)
        break;
      buf_append(&out, &ch, 1);
      if (++reads == 40) { /* the first chunk is out; the rest is not */
        metrics_forget(m, "last", "target", "db");
        metrics_forget(m, "c_total", "target", "f0999");
        metrics_set(m, "last", ln, 5);
        metrics_set(m, "last", ld, 6); /* forgotten, then back */
      }
    }
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(metrics_cursor_read(c, &ch, 1), 0);
    buf_terminate(&out);
    metrics_cursor_free(c);
    s = (const char *)out.data;
    ck_assert_ptr_nonnull(strstr(s, "c_total{target=\"f0998\",type=\"heap\",status=\"ok\"} 1\n"));
    ck_assert_ptr_null(strstr(s, "target=\"f0999\""));
    ck_assert_ptr_null(strstr(s, "last{target=\"db\",instance=\"i1\",type=\"cpu\"}"));
    ck_assert_ptr_nonnull(strstr(s, "last{target=\"db\",instance=\"i1\",type=\"heap\"} 6\n"));
    ck_assert_ptr_nonnull(strstr(s, "last{target=\"new\",instance=\"i1\",type=\"heap\"} 5\n"));
    s = strstr(s, "last{target=\"api\",instance=\"i1\",type=\"trace\"}");
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_null(strstr(s + 1, "last{target=\"api\",instance=\"i1\",type=\"trace\"}"));
    ck_assert_ptr_nonnull(strstr((char *)out.data, "# TYPE few gauge\nfew 3\n"));
    buf_reset(&out);
    ck_assert_int_eq(metrics_render(m, &out), 0);
    ck_assert_ptr_null(
        strstr((char *)out.data, "last{target=\"db\",instance=\"i1\",type=\"cpu\"}"));
    ck_assert_ptr_nonnull(
        strstr((char *)out.data, "last{target=\"db\",instance=\"i1\",type=\"heap\"} 6\n"));
    buf_done(&out);
    metrics_free(m);
  }
}
END_TEST

int main(void) {
  Suite *s = suite_create("metrics");
  TCase *tc = tcase_create("metrics");
  SRunner *sr;
  int failed;
  tcase_add_test(tc, test_render);
  tcase_add_test(tc, test_grouped_same_page);
  tcase_add_test(tc, test_cursor_changes);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
