#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "trace_mmu.h"

START_TEST(test_constant) {
  struct trace_mmu m;
  trace_mmu_init(&m);
  ck_assert_int_eq(trace_mmu_add(&m, 0, 1.0), 0);
  ck_assert_double_eq_tol(trace_mmu_compute(&m, 1000, 100), 1.0, 1e-12);
  trace_mmu_done(&m);
}
END_TEST

START_TEST(test_pause) {
  /* u = 1 on [0,100), 0 on [100,110), 0.5 on [110,200), 1 after. */
  struct trace_mmu m;
  trace_mmu_init(&m);
  trace_mmu_add(&m, 0, 1.0);
  trace_mmu_add(&m, 100, 0.0);
  trace_mmu_add(&m, 110, 0.5);
  trace_mmu_add(&m, 200, 1.0);
  /* A 10-unit window fits inside the pause. */
  ck_assert_double_eq_tol(trace_mmu_compute(&m, 1000, 10), 0.0, 1e-12);
  /* 20 units: best placement covers the 10 pause units + 10 at 0.5. */
  ck_assert_double_eq_tol(trace_mmu_compute(&m, 1000, 20), 0.25, 1e-12);
  /* 100 units: [100,200) = 0*10 + 0.5*90 = 45 -> 0.45. */
  ck_assert_double_eq_tol(trace_mmu_compute(&m, 1000, 100), 0.45, 1e-12);
  /* Whole range (clamped): (100 + 0 + 45 + 800) / 1000. */
  ck_assert_double_eq_tol(trace_mmu_compute(&m, 1000, 5000), 0.945, 1e-12);
  trace_mmu_done(&m);
}
END_TEST

START_TEST(test_rules) {
  struct trace_mmu m;
  trace_mmu_init(&m);
  ck_assert_double_eq(trace_mmu_compute(&m, 10, 1), -1);
  trace_mmu_add(&m, 5, 1.0);
  trace_mmu_add(&m, 5, 0.25); /* same time: lower wins */
  trace_mmu_add(&m, 6, 0.25); /* unchanged: ignored */
  ck_assert_uint_eq(m.n, 1);
  ck_assert_int_lt(trace_mmu_add(&m, 4, 0.5), 0);
  ck_assert_double_eq_tol(trace_mmu_compute(&m, 15, 2), 0.25, 1e-12);
  trace_mmu_done(&m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("trace_mmu");
  TCase *tc = tcase_create("mmu");
  SRunner *sr;
  int failed;
  tcase_add_test(tc, test_constant);
  tcase_add_test(tc, test_pause);
  tcase_add_test(tc, test_rules);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
