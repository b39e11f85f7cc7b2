#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "buf.h"
#include "util.h"

START_TEST(test_durations) {
  static const struct {
    const char *in;
    int64_t ms;
  } ok[] = {{"500ms", 500},      {"30s", 30000},   {"5m", 300000},     {"1h", 3600000},
            {"14d", 1209600000}, {"1h30m", 5400000}, {"1.5s", 1500},   {"0s", 0},
            {"2w", 1209600000},  {"1m30s", 90000}};
  static const char *const bad[] = {"", "30", "5x", "m", "-5s", "1h-", "s5", "1.2.3s", " 5s"};
  for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
    int64_t v = -1;
    ck_assert_msg(parse_duration_ms(ok[i].in, &v) == 0, "%s rejected", ok[i].in);
    ck_assert_int_eq(v, ok[i].ms);
  }
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    int64_t v = 0;
    ck_assert_msg(parse_duration_ms(bad[i], &v) < 0, "'%s' accepted", bad[i]);
  }
}
END_TEST

START_TEST(test_sizes) {
  static const struct {
    const char *in;
    uint64_t bytes;
  } ok[] = {{"64KiB", 65536},
            {"256MiB", 268435456ULL},
            {"20GiB", 21474836480ULL},
            {"1000", 1000},
            {"1.5KiB", 1536},
            {"10MB", 10000000ULL},
            {"1B", 1}};
  static const char *const bad[] = {"", "KiB", "12 parsecs", "-1MiB", "1XiB", "abc"};
  for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
    uint64_t v = 0;
    ck_assert_msg(parse_size(ok[i].in, &v) == 0, "%s rejected", ok[i].in);
    ck_assert_uint_eq(v, ok[i].bytes);
  }
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    uint64_t v;
    ck_assert_msg(parse_size(bad[i], &v) < 0, "'%s' accepted", bad[i]);
  }
}
END_TEST

START_TEST(test_format_duration) {
  char b[32];
  ck_assert_str_eq(format_duration_ms(90000, b, sizeof(b)), "1m30s");
  ck_assert_str_eq(format_duration_ms(0, b, sizeof(b)), "0s");
  ck_assert_str_eq(format_duration_ms(1209600000, b, sizeof(b)), "14d");
  ck_assert_str_eq(format_duration_ms(1500, b, sizeof(b)), "1s500ms");
}
END_TEST

/* format_rfc3339() computes the calendar itself (no time zone file):
 * the same text as gmtime_r() + strftime() over 1600-2400, day edges,
 * leap days and centuries included. */
START_TEST(test_rfc3339_calendar) {
  char b[40], ref[40];
  unsigned seed = 42;

  for (int i = 0; i < 200000; i++) {
    /* every day boundary +-1 s in 1600..2400, then random instants */
    int64_t secs = i < 100000 ? -11676096000LL + (int64_t)(i / 3) * 86400 * 3 + (i % 3) - 1
                              : -11676096000LL + (int64_t)(((uint64_t)rand_r(&seed) << 20 ^
                                                            (uint64_t)rand_r(&seed)) %
                                                           25246080000ULL);
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(ref, sizeof(ref), "%Y-%m-%dT%H:%M:%SZ", &tm);
    ck_assert_str_eq(format_rfc3339(secs * 1000, b, sizeof(b)), ref);
  }
  ck_assert_str_eq(format_rfc3339(951782400000, b, sizeof(b)), "2000-02-29T00:00:00Z");
  ck_assert_str_eq(format_rfc3339(-1, b, sizeof(b)), "1969-12-31T23:59:59.999Z");
}
END_TEST

START_TEST(test_times) {
  char b[32];
  int64_t v;
  const int64_t now = 1795305542000; /* 2026-11-21T23:59:02Z */

  ck_assert_str_eq(format_rfc3339(now, b, sizeof(b)), "2026-11-21T23:59:02Z");
  ck_assert_str_eq(format_rfc3339(now + 123, b, sizeof(b)), "2026-11-21T23:59:02.123Z");
  ck_assert_int_eq(parse_time("2026-11-21T23:59:02Z", 0, &v), 0);
  ck_assert_int_eq(v, now);
  ck_assert_int_eq(parse_time("2026-11-22T01:59:02.5+02:00", 0, &v), 0);
  ck_assert_int_eq(v, now + 500);
  ck_assert_int_eq(parse_time("2h", now, &v), 0);
  ck_assert_int_eq(v, now - 7200000);
  ck_assert_int_eq(parse_time("now", now, &v), 0);
  ck_assert_int_eq(v, now);
  ck_assert_int_eq(parse_time("2026-11-21", 0, &v), 0);
  ck_assert_int_eq(v, now - (23 * 3600 + 59 * 60 + 2) * 1000LL);
  ck_assert_int_lt(parse_time("yesterday", now, &v), 0);
  ck_assert_int_lt(parse_time("2026-13-01T00:00:00Z", now, &v), 0);
}
END_TEST

START_TEST(test_buf_cap) {
  struct buf b;
  buf_init(&b, 10);
  ck_assert_int_eq(buf_append(&b, "hello", 5), 0);
  ck_assert_int_eq(buf_append(&b, "world", 5), 0);
  ck_assert_int_eq(buf_append(&b, "!", 1), -EFBIG);
  ck_assert_uint_eq(b.len, 10);
  ck_assert_int_eq(buf_terminate(&b), 0);
  ck_assert_str_eq((char *)b.data, "helloworld");
  buf_reset(&b);
  ck_assert_int_eq(buf_printf(&b, "%d-%s", 42, "x"), 0);
  ck_assert_int_eq(buf_printf(&b, "%s", "toolong!"), -EFBIG);
  ck_assert_uint_eq(b.len, 4);
  buf_done(&b);
}
END_TEST

START_TEST(test_ints) {
  int64_t v;
  uint64_t u;
  double d;
  ck_assert_int_eq(parse_int64("-42", &v), 0);
  ck_assert_int_eq(v, -42);
  ck_assert_int_lt(parse_int64("42x", &v), 0);
  ck_assert_int_lt(parse_int64("", &v), 0);
  ck_assert_int_lt(parse_uint64("-1", &u), 0);
  ck_assert_int_lt(parse_uint64("99999999999999999999999", &u), 0);
  ck_assert_int_eq(parse_double("0.5", &d), 0);
  ck_assert_int_lt(parse_double("nan", &d), 0);
}
END_TEST

static Suite *util_suite(void) {
  Suite *s = suite_create("util");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_durations);
  tcase_add_test(tc, test_sizes);
  tcase_add_test(tc, test_format_duration);
  tcase_add_test(tc, test_times);
  tcase_add_test(tc, test_rfc3339_calendar);
  tcase_add_test(tc, test_buf_cap);
  tcase_add_test(tc, test_ints);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(util_suite());
  int failed;
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
