/* The disk-full reserve and the hard size limit (src/store_reserve.c). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"
#include "store_fixture.h"
#include "util.h"

START_TEST(test_size_limit) {
  enum { BIG = 256 * 1024 };
  uint8_t *body = xmalloc(BIG);
  struct fx fx;
  struct capture *c;
  int64_t pages, page_size, id = 0;

  fx_random_bytes(body, BIG, 7);
  fx_setup(&fx);
  fx_put(fx.s, fx_capture("api", "i", "heap", 1000, "small", 5, NULL));
  pages = fx_query_int(fx.s, "PRAGMA page_count");
  page_size = fx_query_int(fx.s, "PRAGMA page_size");
  ck_assert_int_eq(store_set_size_limit(fx.s, (uint64_t)((pages + 8) * page_size)), 0);
  ck_assert_int_eq(fx_query_int(fx.s, "PRAGMA max_page_count"), pages + 8);

  /* Past the limit: refused like a full disk, saying which limit, and
   * nothing of the capture is stored. */
  c = fx_capture("api", "i", "trace", 2000, body, BIG, NULL);
  ck_assert_int_eq(store_put_capture(fx.s, c, &id), -ENOSPC);
  ck_assert_msg(strstr(store_errmsg(fx.s), "storage.max_size"), "%s", store_errmsg(fx.s));
  ck_assert_int_eq(fx_count(fx.s, "captures"), 1);
  ck_assert_int_le(fx_query_int(fx.s, "PRAGMA page_count"), pages + 8);

  /* Small captures still fit. */
  fx_put(fx.s, fx_capture("api", "i", "heap", 3000, "small2", 6, NULL));

  /* No limit: the same connection stores it. */
  ck_assert_int_eq(store_set_size_limit(fx.s, 0), 0);
  ck_assert_int_eq(store_put_capture(fx.s, c, &id), 0);
  capture_free(c);
  ck_assert_int_eq(fx_count(fx.s, "captures"), 3);

  /* A limit below the current size holds the database where it is. */
  pages = fx_query_int(fx.s, "PRAGMA page_count");
  ck_assert_int_eq(store_set_size_limit(fx.s, 4096), 0);
  ck_assert_int_eq(fx_query_int(fx.s, "PRAGMA max_page_count"), pages);
  free(body);
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_reserve) {
  struct fx fx;
  struct stat st;
  struct store *ro;
  char *path;

  fx_setup(&fx);
  path = xasprintf("%s-reserve", fx.path);
  ck_assert_int_ne(stat(path, &st), 0);
  ck_assert(!store_reserve_release(fx.s));

  ck_assert_int_eq(store_reserve_fill(fx.s, 256 * 1024), 0);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_size, 256 * 1024);
  /* allocated, not a sparse file that would reserve nothing */
  ck_assert_int_ge((long long)st.st_blocks * 512, 256 * 1024);
  /* big enough already: left alone */
  ck_assert_int_eq(store_reserve_fill(fx.s, 4096), 0);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_size, 256 * 1024);

  ro = fx_open(&fx, STORE_READONLY);
  ck_assert_int_eq(store_reserve_fill(ro, 4096), -EROFS);
  store_close(ro);

  ck_assert(store_reserve_release(fx.s));
  ck_assert_int_ne(stat(path, &st), 0);
  ck_assert(!store_reserve_release(fx.s));
  free(path);
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_checkpoint_truncate) {
  struct fx fx;
  struct stat st;
  char *wal;

  fx_setup(&fx);
  fx_put(fx.s, fx_capture("api", "i", "heap", 1000, "small", 5, NULL));
  wal = xasprintf("%s-wal", fx.path);
  ck_assert_int_eq(stat(wal, &st), 0);
  ck_assert_int_gt(st.st_size, 0);
  ck_assert_int_eq(store_checkpoint_truncate(fx.s), 0);
  ck_assert_int_eq(stat(wal, &st), 0);
  ck_assert_int_eq(st.st_size, 0);
  ck_assert_int_eq(fx_count(fx.s, "captures"), 1);
  free(wal);
  fx_teardown(&fx);
}
END_TEST

int main(void) {
  Suite *s = suite_create("store_reserve");
  TCase *tc = tcase_create("store_reserve");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_size_limit);
  tcase_add_test(tc, test_reserve);
  tcase_add_test(tc, test_checkpoint_truncate);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
