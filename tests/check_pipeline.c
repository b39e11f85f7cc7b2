/* pipeline: the bytes captures hold between submit and store are counted
 * (body shrunk to fit, plus the struct), reach queue_max_bytes -> the
 * pipeline says it is backlogged, and are given back once the writer has
 * stored the captures. The writer is held in on_stored() so that the
 * captures stay queued while the test looks. */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline.h"
#include "store_fixture.h"
#include "testutil.h"
#include "util.h"

struct gate {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned allowed; /* captures the writer may finish */
  unsigned stored;
  int errors;
};

static void on_stored(const struct capture *c, int64_t id, int err, void *userdata) {
  struct gate *g = userdata;
  (void)c;
  (void)id;
  pthread_mutex_lock(&g->lock);
  while (g->stored >= g->allowed)
    pthread_cond_wait(&g->cond, &g->lock);
  g->stored++;
  if (err < 0)
    g->errors++;
  pthread_cond_broadcast(&g->cond);
  pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gate *g, unsigned n) {
  pthread_mutex_lock(&g->lock);
  g->allowed += n;
  pthread_cond_broadcast(&g->cond);
  pthread_mutex_unlock(&g->lock);
}

/* Waits until the writer has reached n captures (in on_stored), 10 s at most. */
static bool gate_wait_reached(struct gate *g, unsigned n) {
  struct timespec deadline;
  bool ok = true;

  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 10;
  pthread_mutex_lock(&g->lock);
  while (g->stored < n && ok)
    ok = pthread_cond_timedwait(&g->cond, &g->lock, &deadline) == 0;
  ok = g->stored >= n;
  pthread_mutex_unlock(&g->lock);
  return ok;
}

/* on_stored runs before the capture is freed: wait for its bytes to go. */
static bool wait_bytes(struct pipeline *p, uint64_t want) {
  for (int i = 0; i < 10000; i++) {
    struct timespec ms = {0, 1000000};
    if (pipeline_queued_bytes(p) == want)
      return true;
    nanosleep(&ms, NULL);
  }
  return false;
}

/* A capture with an n-byte body allocated by doubling, as fetch.c does. */
static struct capture *make_capture(size_t n, uint32_t seed) {
  uint8_t *body = xmalloc(n);
  struct capture *c;

  fx_random_bytes(body, n, seed);
  c = fx_capture("t", "127.0.0.1:1", "heap", 1700000000000 + seed, NULL, 0, NULL);
  buf_done(&c->body);
  buf_init(&c->body, SIZE_MAX);
  for (size_t off = 0; off < n; off += 1000)
    ck_assert_int_eq(buf_append(&c->body, body + off, MIN((size_t)1000, n - off)), 0);
  free(body);
  return c;
}

/* What the pipeline charges for an n-byte body: shrunk to n + 1 (room for
 * the NUL of buf_terminate) plus the struct. */
static uint64_t held(size_t n) {
  return sizeof(struct capture) + n + 1;
}

struct env {
  struct fx fx;
  struct gate gate;
  struct pipeline *p;
};

static void env_start(struct env *e, uint64_t max_bytes, size_t queue_size) {
  struct pipeline_opts o;

  memset(e, 0, sizeof(*e));
  fx_setup(&e->fx);
  pthread_mutex_init(&e->gate.lock, NULL);
  pthread_cond_init(&e->gate.cond, NULL);
  memset(&o, 0, sizeof(o));
  o.workers = 1;
  o.queue_size = queue_size;
  o.queue_max_bytes = max_bytes;
  analysis_opts_default(&o.analysis);
  o.on_stored = on_stored;
  o.userdata = &e->gate;
  ck_assert_int_eq(pipeline_start(e->fx.s, &o, &e->p), 0);
  e->fx.s = NULL; /* the pipeline owns it */
}

static void env_stop(struct env *e) {
  gate_open(&e->gate, 1000000);
  e->p = pipeline_stop(e->p);
  pthread_cond_destroy(&e->gate.cond);
  pthread_mutex_destroy(&e->gate.lock);
  fx_teardown(&e->fx);
}

START_TEST(test_bytes_counted_bound_released) {
  struct env e;
  struct pipeline_counters *pc;
  uint64_t want;

  env_start(&e, 20000, 64);
  pc = pipeline_counters(e.p);
  ck_assert_uint_eq(pipeline_queued_bytes(e.p), 0);
  ck_assert(!pipeline_backlogged(e.p, 0));
  ck_assert_uint_eq(pipeline_max_bytes(e.p), 20000);

  /* 5000 bytes grew to an 8192-byte block; 5001 are charged. */
  pipeline_submit(e.p, make_capture(5000, 1));
  want = held(5000);
  ck_assert_uint_eq(pipeline_queued_bytes(e.p), want);
  ck_assert(!pipeline_backlogged(e.p, 0));
  /* Bodies being fetched count against the bound too. */
  ck_assert(pipeline_backlogged(e.p, 20000 - want));
  ck_assert(!pipeline_backlogged(e.p, 20000 - want - 1));
  ck_assert_uint_eq(atomic_load(&pc->backlog_events), 1);

  pipeline_submit(e.p, make_capture(7000, 2));
  want += held(7000);
  ck_assert_uint_eq(pipeline_queued_bytes(e.p), want);
  ck_assert(!pipeline_backlogged(e.p, 0));
  /* The third one crosses the bound: it is accepted all the same. */
  pipeline_submit(e.p, make_capture(9000, 3));
  want += held(9000);
  ck_assert_uint_gt(want, 20000);
  ck_assert_uint_eq(pipeline_queued_bytes(e.p), want);
  ck_assert(pipeline_backlogged(e.p, 0));
  ck_assert(pipeline_backlogged(e.p, 0)); /* one episode, counted once */
  ck_assert_uint_eq(atomic_load(&pc->backlog_events), 2);
  ck_assert_uint_eq(atomic_load(&pc->submitted), 3);
  ck_assert_uint_eq(pipeline_peak_bytes(e.p), want);

  /* The first stored and freed: its bytes are given back. */
  gate_open(&e.gate, 1);
  ck_assert(gate_wait_reached(&e.gate, 1));
  want -= held(5000);
  ck_assert(wait_bytes(e.p, want));
  ck_assert(!pipeline_backlogged(e.p, 0)); /* 16002 + two structs */
  ck_assert(pipeline_backlogged(e.p, 20000 - want));
  gate_open(&e.gate, 1);
  ck_assert(gate_wait_reached(&e.gate, 2));
  want -= held(7000);
  ck_assert(wait_bytes(e.p, want));
  ck_assert_uint_eq(want, held(9000));
  gate_open(&e.gate, 1);
  ck_assert(gate_wait_reached(&e.gate, 3));
  ck_assert(wait_bytes(e.p, 0));
  ck_assert_int_eq(e.gate.errors, 0);
  ck_assert_uint_eq(atomic_load(&pc->stored), 3);
  ck_assert_uint_eq(atomic_load(&pc->dropped), 0);
  /* The peak is kept. */
  ck_assert_uint_eq(pipeline_peak_bytes(e.p), held(5000) + held(7000) + held(9000));
  env_stop(&e);
}
END_TEST

/* One capture larger than the whole bound still goes through, and the
 * bound can be changed (reload) or turned off. */
START_TEST(test_big_capture_and_reload) {
  struct env e;

  env_start(&e, 4096, 64);
  pipeline_submit(e.p, make_capture(100000, 7));
  ck_assert_uint_eq(pipeline_queued_bytes(e.p), held(100000));
  ck_assert(pipeline_backlogged(e.p, 0));
  pipeline_set_max_bytes(e.p, 1 << 20);
  ck_assert(!pipeline_backlogged(e.p, 0));
  ck_assert(pipeline_backlogged(e.p, (1 << 20) - held(100000)));
  pipeline_set_max_bytes(e.p, 0); /* no byte bound */
  ck_assert(!pipeline_backlogged(e.p, UINT64_MAX / 2));
  gate_open(&e.gate, 1);
  ck_assert(gate_wait_reached(&e.gate, 1));
  ck_assert(wait_bytes(e.p, 0));
  ck_assert_uint_eq(atomic_load(&pipeline_counters(e.p)->stored), 1);
  env_stop(&e);
}
END_TEST

/* The count bound still applies with bytes to spare; a capture without a
 * body (failed fetch) holds just the struct. */
START_TEST(test_count_bound_and_failed) {
  struct env e;
  struct capture *c;

  env_start(&e, 32 << 20, 2);
  c = fx_capture("t", "127.0.0.1:1", "heap", 1700000000000, NULL, 0, NULL);
  buf_done(&c->body);
  capture_set_error(c, "HTTP 500");
  pipeline_submit(e.p, c);
  ck_assert_uint_eq(pipeline_queued_bytes(e.p), sizeof(struct capture));
  /* The writer holds the first, the store queue (2) and the worker's
   * hands take three more: at least three stay in the analysis queue. */
  for (uint32_t i = 0; i < 6; i++)
    pipeline_submit(e.p, make_capture(100, 10 + i));
  ck_assert(pipeline_backlogged(e.p, 0));
  ck_assert_uint_eq(pipeline_queued_bytes(e.p), sizeof(struct capture) + 6 * held(100));
  ck_assert_uint_lt(pipeline_queued_bytes(e.p), 32 << 20);
  gate_open(&e.gate, 7);
  ck_assert(gate_wait_reached(&e.gate, 7));
  ck_assert(wait_bytes(e.p, 0));
  ck_assert(!pipeline_backlogged(e.p, 0));
  env_stop(&e);
}
END_TEST

static Suite *pipeline_suite(void) {
  Suite *s = suite_create("pipeline");
  TCase *tc = tcase_create("bytes");
  tcase_add_test(tc, test_bytes_counted_bound_released);
  tcase_add_test(tc, test_big_capture_and_reload);
  tcase_add_test(tc, test_count_bound_and_failed);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(pipeline_suite());
  int failed;
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
