#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "sched.h"
#include "util.h"

#define SEC 1000LL
#define MIN_ (60 * SEC)

START_TEST(test_offset_stable_and_spread) {
  /* Same key, same phase (restarts keep their phase). */
  ck_assert_int_eq(sched_offset("api\x1f" "10.0.0.1:6060\x1f" "heap", MIN_),
                   sched_offset("api\x1f" "10.0.0.1:6060\x1f" "heap", MIN_));
  /* A thousand targets spread over the interval: no second holds more than
   * a small multiple of the mean (1000/60 ~ 17). */
  {
    int buckets[60] = {0};
    char key[64];
    for (int i = 0; i < 1000; i++) {
      int64_t off;
      snprintf(key, sizeof(key), "svc-%d\x1f" "10.0.%d.%d:6060\x1f" "cpu", i, i / 250, i % 250);
      off = sched_offset(key, MIN_);
      ck_assert_int_ge(off, 0);
      ck_assert_int_lt(off, MIN_);
      buckets[off / SEC]++;
    }
    for (int s = 0; s < 60; s++)
      ck_assert_msg(buckets[s] <= 40, "second %d has %d jobs", s, buckets[s]);
  }
}
END_TEST

START_TEST(test_first_slot_on_phase) {
  struct sched_timing t;
  const int64_t wall = 1795305542123LL, mono = 5000;
  sched_init(&t, "k", MIN_, mono, wall);
  /* The first due time maps to a wall time with the job's phase. */
  {
    int64_t due_wall = wall + (t.next_due_ms - mono);
    ck_assert_int_ge(due_wall, wall);
    ck_assert_int_lt(due_wall - wall, MIN_);
    ck_assert_int_eq(due_wall % MIN_, t.offset_ms);
  }
  ck_assert_int_eq(sched_next_slot_wall(120000, MIN_, 0), 120000);
  ck_assert_int_eq(sched_next_slot_wall(120001, MIN_, 0), 180000);
  ck_assert_int_eq(sched_next_slot_wall(120001, MIN_, 5), 120005);
}
END_TEST

START_TEST(test_fixed_rate_and_missed) {
  struct sched_timing t;
  sched_init(&t, "k", 10 * SEC, 0, 0);
  t.next_due_ms = 1000;
  /* Started 200 ms late: the next slot is still 10 s after the due time. */
  sched_started(&t, 1200);
  ck_assert_int_eq(t.next_due_ms, 11000);
  ck_assert_int_eq(t.missed, 0);
  /* The loop was stuck for 35 s: missed slots are skipped, not made up. */
  sched_started(&t, 46000);
  ck_assert_int_eq(t.next_due_ms, 51000);
  ck_assert_int_eq(t.missed, 3);
}
END_TEST

START_TEST(test_backoff) {
  struct sched_timing t;
  int64_t d;
  sched_init(&t, "k", 10 * SEC, 0, 0);
  t.next_due_ms = 0;
  sched_started(&t, 0); /* next 10 s */
  d = sched_finished(&t, false, false, 0, 60 * SEC);
  ck_assert_int_eq(d, 0); /* first failure: retry next interval */
  ck_assert_int_eq(t.next_due_ms, 10 * SEC);
  sched_started(&t, 10 * SEC); /* next 20 s */
  d = sched_finished(&t, false, false, 10 * SEC, 60 * SEC);
  ck_assert_int_eq(d, 20 * SEC); /* 2x */
  ck_assert_int_eq(t.next_due_ms, 30 * SEC);
  sched_started(&t, 30 * SEC); /* next 40 s */
  d = sched_finished(&t, false, false, 30 * SEC, 60 * SEC);
  ck_assert_int_eq(d, 40 * SEC); /* 4x */
  ck_assert_int_eq(t.next_due_ms, 70 * SEC);
  sched_started(&t, 70 * SEC);
  d = sched_finished(&t, false, false, 70 * SEC, 60 * SEC);
  ck_assert_int_eq(d, 60 * SEC); /* capped */
  ck_assert_int_eq(t.next_due_ms, 130 * SEC);
  ck_assert_uint_eq(t.failures, 4);
  /* Success resets; the phase (multiple of 10 s) is kept throughout. */
  sched_started(&t, 130 * SEC);
  d = sched_finished(&t, true, false, 130 * SEC, 60 * SEC);
  ck_assert_int_eq(d, 0);
  ck_assert_uint_eq(t.failures, 0);
  ck_assert_int_eq(t.next_due_ms % (10 * SEC), 0);
}
END_TEST

START_TEST(test_busy_no_backoff) {
  struct sched_timing t;
  sched_init(&t, "k", 10 * SEC, 0, 0);
  t.next_due_ms = 0;
  for (int i = 0; i < 5; i++) {
    sched_started(&t, i * 10 * SEC);
    ck_assert_int_eq(sched_finished(&t, false, true, i * 10 * SEC, 60 * SEC), 0);
    ck_assert_int_eq(t.next_due_ms, (i + 1) * 10 * SEC);
  }
  ck_assert_uint_eq(t.failures, 0);
}
END_TEST

START_TEST(test_set_interval) {
  struct sched_timing t;
  sched_init(&t, "k", 10 * SEC, 0, 0);
  t.failures = 2;
  sched_set_interval(&t, "k", 30 * SEC, 1000, 1000);
  ck_assert_int_eq(t.interval_ms, 30 * SEC);
  ck_assert_uint_eq(t.failures, 2);
  ck_assert_int_ge(t.next_due_ms, 1000);
  ck_assert_int_lt(t.next_due_ms, 1000 + 30 * SEC);
}
END_TEST

int main(void) {
  Suite *s = suite_create("sched");
  TCase *tc = tcase_create("timing");
  SRunner *sr;
  int failed;
  tcase_add_test(tc, test_offset_stable_and_spread);
  tcase_add_test(tc, test_first_slot_on_phase);
  tcase_add_test(tc, test_fixed_rate_and_missed);
  tcase_add_test(tc, test_backoff);
  tcase_add_test(tc, test_busy_no_backoff);
  tcase_add_test(tc, test_set_interval);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
