#include "config.h"

#include <check.h>
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

int main(void) {
  Suite *s = suite_create("metrics");
  TCase *tc = tcase_create("metrics");
  SRunner *sr;
  int failed;
  tcase_add_test(tc, test_render);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
