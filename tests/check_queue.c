#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hashmap.h"
#include "queue.h"
#include "util.h"

START_TEST(test_fifo_and_soft_bound) {
  struct queue q;
  queue_init(&q, 2);
  ck_assert_int_eq(queue_push(&q, (void *)1), 0);
  ck_assert_int_eq(queue_push(&q, (void *)2), 0);
  ck_assert(queue_full(&q));
  /* The fetch loop never blocks: nowait goes past the bound. */
  ck_assert_int_eq(queue_push_nowait(&q, (void *)3), 0);
  ck_assert_uint_eq(queue_len(&q), 3);
  ck_assert_ptr_eq(queue_pop(&q), (void *)1);
  ck_assert_ptr_eq(queue_pop(&q), (void *)2);
  ck_assert_ptr_eq(queue_pop(&q), (void *)3);
  queue_close(&q);
  ck_assert_ptr_null(queue_pop(&q));
  ck_assert_int_lt(queue_push(&q, (void *)4), 0);
  queue_done(&q);
}
END_TEST

struct prod_arg {
  struct queue *q;
  int base;
};

static void *producer(void *arg) {
  struct prod_arg *a = arg;
  for (int i = 1; i <= 1000; i++)
    queue_push(a->q, (void *)(intptr_t)(a->base + i));
  return NULL;
}

START_TEST(test_threads_no_loss) {
  struct queue q;
  pthread_t th[4];
  struct prod_arg args[4];
  int64_t sum = 0, expect = 0;
  queue_init(&q, 8);
  for (int i = 0; i < 4; i++) {
    args[i].q = &q;
    args[i].base = i * 10000;
    pthread_create(&th[i], NULL, producer, &args[i]);
    for (int k = 1; k <= 1000; k++)
      expect += i * 10000 + k;
  }
  for (int n = 0; n < 4000; n++)
    sum += (intptr_t)queue_pop(&q);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  ck_assert_int_eq(sum, expect);
  ck_assert_uint_le(q.high_water, 8);
  queue_done(&q);
}
END_TEST

START_TEST(test_pop_timeout) {
  struct queue q;
  bool closed = true;
  int64_t t0;
  queue_init(&q, 4);
  t0 = time_mono_ms();
  ck_assert_ptr_null(queue_pop_timeout(&q, 50, &closed));
  ck_assert(!closed);
  ck_assert_int_ge(time_mono_ms() - t0, 40);
  queue_close(&q);
  ck_assert_ptr_null(queue_pop_timeout(&q, 50, &closed));
  ck_assert(closed);
  queue_done(&q);
}
END_TEST

START_TEST(test_hashmap) {
  struct hashmap *m = hashmap_new();
  char key[32];
  size_t pos = 0, n = 0;
  const char *k;
  void *v;
  for (int i = 0; i < 5000; i++) {
    snprintf(key, sizeof(key), "job-%d", i);
    hashmap_put(m, key, (void *)(intptr_t)(i + 1));
  }
  ck_assert_uint_eq(hashmap_size(m), 5000);
  for (int i = 0; i < 5000; i += 2) {
    snprintf(key, sizeof(key), "job-%d", i);
    ck_assert_ptr_eq(hashmap_remove(m, key), (void *)(intptr_t)(i + 1));
  }
  ck_assert_uint_eq(hashmap_size(m), 2500);
  ck_assert_ptr_null(hashmap_get(m, "job-0"));
  ck_assert_ptr_eq(hashmap_get(m, "job-4999"), (void *)(intptr_t)5000);
  hashmap_put(m, "job-1", (void *)7);
  ck_assert_ptr_eq(hashmap_get(m, "job-1"), (void *)7);
  while (hashmap_next(m, &pos, &k, &v))
    n++;
  ck_assert_uint_eq(n, 2500);
  hashmap_free(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("queue");
  TCase *tc = tcase_create("queue");
  SRunner *sr;
  int failed;
  tcase_add_test(tc, test_fifo_and_soft_bound);
  tcase_add_test(tc, test_threads_no_loss);
  tcase_add_test(tc, test_pop_timeout);
  tcase_add_test(tc, test_hashmap);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
