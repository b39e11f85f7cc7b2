/* Old-format trace parser on bad input: every prefix of a small trace,
 * flipped and random bytes, hand-made adversarial traces (each must give
 * a clear -EPROTO error naming the offset, never a crash or a hang), and a
 * large synthetic trace in bounded memory and time. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "gotrace_analysis.h"
#include "gotrace_testutil.h"
#include "util.h"

/* Parses; returns r and checks the error contract. */
static int try_parse(const uint8_t *data, size_t len, char **ret_err) {
  struct trace_summary s;
  char *err = NULL;
  int r;

  trace_summary_init(&s);
  r = gotrace_parse(data, len, &s, &err);
  if (r == 0) {
    ck_assert_ptr_null(err);
    gotrace_fuzz_one(data, len);
    trace_summary_done(&s);
  } else {
    ck_assert_msg(r == -EPROTO || r == -ENOTSUP, "unexpected error %d", r);
    ck_assert_ptr_nonnull(err);
    ck_assert_uint_gt(strlen(err), 0);
  }
  if (ret_err)
    *ret_err = err;
  else
    free(err);
  return r;
}

START_TEST(test_every_prefix) {
  size_t len, ok = 0;
  uint8_t *data = gt_load("tracegen-tiny.trace", &len);

  for (size_t n = 0; n <= len; n++) {
    uint8_t *copy = xmalloc(n ? n : 1); /* exact size: ASan catches overreads */
    memcpy(copy, data, n);
    if (try_parse(copy, n, NULL) == 0)
      ok++;
    free(copy);
  }
  /* The whole file parses; a prefix lacks the frequency and stacks. */
  ck_assert_uint_ge(ok, 1);
  free(data);
}
END_TEST

START_TEST(test_flipped_bytes) {
  static const uint8_t masks[] = {0xff, 0x80, 0x01, 0x40};
  size_t len, errors = 0;
  uint8_t *data = gt_load("tracegen-tiny.trace", &len);

  for (size_t m = 0; m < ARRAY_SIZE(masks); m++) {
    for (size_t i = 0; i < len; i++) {
      uint8_t *copy = xmalloc(len);
      memcpy(copy, data, len);
      copy[i] ^= masks[m];
      errors += try_parse(copy, len, NULL) < 0;
      free(copy);
    }
  }
  ck_assert_uint_gt(errors, len); /* most flips are detected */
  free(data);
}
END_TEST

START_TEST(test_random_mutations) {
  size_t len;
  uint8_t *data = gt_load("workload-0.5s.trace.gz", &len);
  unsigned seed = 12345;

  for (int iter = 0; iter < 40; iter++) {
    uint8_t *copy = xmalloc(len);
    size_t n = len;
    memcpy(copy, data, len);
    for (int k = 0; k < 1 + iter % 8; k++) {
      size_t at = 16 + (size_t)rand_r(&seed) % (len - 16);
      switch (rand_r(&seed) % 3) {
      case 0:
        copy[at] = (uint8_t)rand_r(&seed);
        break;
      case 1: /* cut a piece out */
        if (at + 64 < n) {
          memmove(copy + at, copy + at + 64, n - at - 64);
          n -= 64;
        }
        break;
      default:
        copy[at] ^= 0x80;
        break;
      }
    }
    try_parse(copy, n, NULL);
    free(copy);
  }
  free(data);
}
END_TEST

/* The start of a minimal trace (1 tick = 1 ns): on P 0, goroutine 1 is
 * created (ts 1001), the P starts (1002), GOMAXPROCS 2 (1003), g1 runs
 * (1004). Cases append their events; epilogue() adds the frequency and
 * the stack table. */
static void prologue(struct buf *b) {
  tw_init(b, 19);
  tw_string(b, 1, "main.main");
  tw_string(b, 2, "main.go");
  tw_ev(b, 1, 2, (uint64_t)0, (uint64_t)1000);                         /* Batch p=0 */
  tw_ev(b, 13, 4, (uint64_t)1, (uint64_t)1, (uint64_t)1, (uint64_t)0); /* GoCreate g1 */
  tw_ev(b, 5, 2, (uint64_t)1, (uint64_t)7);                            /* ProcStart thread 7 */
  tw_ev(b, 4, 3, (uint64_t)1, (uint64_t)2, (uint64_t)0);               /* Gomaxprocs 2 */
  tw_ev(b, 14, 3, (uint64_t)1, (uint64_t)1, (uint64_t)1);              /* GoStart g1 seq 1 */
}

static void epilogue(struct buf *b) {
  tw_ev(b, 2, 1, (uint64_t)1000000000); /* Frequency: 1 tick = 1 ns */
  tw_ev(b, 1, 2, (uint64_t)0, (uint64_t)0);
  tw_stack1(b, 1, 0x401000, 1, 2, 10);
}

static void expect_error(struct buf *b, const char *what) {
  char *err = NULL;
  int r = try_parse(b->data, b->len, &err);
  ck_assert_msg(r == -EPROTO, "expected an error containing '%s', got %d", what, r);
  ck_assert_msg(strstr(err, what) != NULL, "error '%s' does not mention '%s'", err, what);
  ck_assert_msg(strncmp(err, "offset ", 7) == 0, "error '%s' has no offset", err);
  free(err);
  buf_done(b);
}

START_TEST(test_handmade_valid) {
  struct buf b;
  struct trace_summary s;
  char *err = NULL;

  prologue(&b);
  tw_ev(&b, 23, 2, (uint64_t)10, (uint64_t)1);  /* GoBlockRecv */
  tw_ev(&b, 6, 1, (uint64_t)5);                 /* ProcStop */
  tw_ev(&b, 1, 2, (uint64_t)1, (uint64_t)1100); /* Batch p=1 */
  tw_ev(&b, 5, 2, (uint64_t)0, (uint64_t)8);
  tw_ev(&b, 13, 4, (uint64_t)1, (uint64_t)2, (uint64_t)1, (uint64_t)1); /* GoCreate g2 */
  tw_ev(&b, 14, 3, (uint64_t)10, (uint64_t)2, (uint64_t)1);             /* GoStart g2 */
  tw_ev(&b, 21, 4, (uint64_t)5, (uint64_t)1, (uint64_t)2, (uint64_t)1); /* GoUnblock g1 */
  tw_ev(&b, 15, 1, (uint64_t)5);                                        /* GoEnd */
  tw_ev(&b, 14, 3, (uint64_t)5, (uint64_t)1, (uint64_t)3);              /* GoStart g1 */
  epilogue(&b);
  trace_summary_init(&s);
  ck_assert_int_eq(gotrace_parse(b.data, b.len, &s, &err), 0);
  ck_assert_int_eq(s.goroutines_total, 2);
  ck_assert_int_eq(s.goroutines_ended, 1);
  ck_assert_int_eq(s.threads, 2);
  ck_assert_int_eq(s.procs, 2);
  /* g1 blocked at 1014, unblocked at 1116: 102 ns of sync block. */
  ck_assert_int_eq(s.profiles[TRACE_PROFILE_SYNC].total_count, 1);
  ck_assert_int_eq(s.profiles[TRACE_PROFILE_SYNC].total_ns, 102);
  /* Scheduler latency: g2 created 1101, started 1111; g1 unblocked 1116,
   * started 1126 (g1's own creation has no stack, so it is not counted). */
  ck_assert_int_eq(s.profiles[TRACE_PROFILE_SCHED].total_count, 2);
  ck_assert_int_eq(s.profiles[TRACE_PROFILE_SCHED].total_ns, 20);
  ck_assert_int_eq(s.duration_ns, 1126 - 1001);
  ck_assert_uint_eq(s.profiles[TRACE_PROFILE_SYNC].n_samples, 1);
  ck_assert_str_eq(s.profiles[TRACE_PROFILE_SYNC].samples[0].stack.frames[0].function, "main.main");
  ck_assert_int_eq(s.profiles[TRACE_PROFILE_SYNC].samples[0].stack.frames[0].line, 10);
  trace_summary_done(&s);
  buf_done(&b);
}
END_TEST

/* Futile wakeups (old runtimes): the wakeup, the start after it, the
 * FutileWakeup and the next block are dropped, as Go's parser does. */
START_TEST(test_futile_wakeup) {
  struct buf b;
  struct trace_summary s;
  char *err = NULL;

  prologue(&b);
  tw_ev(&b, 13, 4, (uint64_t)1, (uint64_t)2, (uint64_t)1, (uint64_t)1); /* GoCreate g2 */
  tw_ev(&b, 23, 2, (uint64_t)1, (uint64_t)1);                           /* g1 GoBlockRecv */
  tw_ev(&b, 14, 3, (uint64_t)1, (uint64_t)2, (uint64_t)1);              /* GoStart g2 */
  tw_ev(&b, 21, 4, (uint64_t)1, (uint64_t)1, (uint64_t)2, (uint64_t)1); /* GoUnblock g1 */
  tw_ev(&b, 15, 1, (uint64_t)1);                                        /* GoEnd g2 */
  tw_ev(&b, 14, 3, (uint64_t)1, (uint64_t)1, (uint64_t)3);              /* GoStart g1 */
  tw_ev(&b, 36, 1, (uint64_t)1);                                        /* FutileWakeup */
  tw_ev(&b, 25, 2, (uint64_t)1, (uint64_t)1);                           /* GoBlockSync */
  epilogue(&b);
  trace_summary_init(&s);
  ck_assert_int_eq(gotrace_parse(b.data, b.len, &s, &err), 0);
  ck_assert_int_eq(s.events, 12 - 4);
  for (size_t i = 0; i < s.n_event_counts; i++) {
    ck_assert_str_ne(s.event_counts[i].name, "FutileWakeup");
    ck_assert_str_ne(s.event_counts[i].name, "GoBlockSync");
    ck_assert_str_ne(s.event_counts[i].name, "GoUnblock");
  }
  /* The receive is never linked to a wakeup; g2's creation still is. */
  ck_assert_int_eq(s.profiles[TRACE_PROFILE_SYNC].total_count, 0);
  ck_assert_int_eq(s.profiles[TRACE_PROFILE_SCHED].total_count, 1);
  trace_summary_done(&s);
  buf_done(&b);
}
END_TEST

START_TEST(test_adversarial) {
  struct buf b;

  /* A varint with 11 bytes. */
  prologue(&b);
  {
    uint8_t bad[] = {0x57, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    buf_append(&b, bad, sizeof(bad));
  }
  epilogue(&b);
  expect_error(&b, "malformed varint");

  /* Unknown event types, and one newer than the version. */
  prologue(&b);
  buf_append(&b, "\x3f\x00", 2);
  epilogue(&b);
  expect_error(&b, "unknown event type 63");
  tw_init(&b, 11);
  tw_ev(&b, 1, 2, (uint64_t)0, (uint64_t)1);
  tw_ev(&b, 49, 5, (uint64_t)1, (uint64_t)1, (uint64_t)0, (uint64_t)1, (uint64_t)0);
  expect_error(&b, "unknown event type 49");

  /* Wrong argument count. */
  prologue(&b);
  tw_ev(&b, 23, 3, (uint64_t)10, (uint64_t)1, (uint64_t)5);
  epilogue(&b);
  expect_error(&b, "wrong number of arguments");

  /* String ids: 0, duplicate; absurd length. */
  tw_init(&b, 19);
  tw_string(&b, 0, "x");
  expect_error(&b, "invalid id 0");
  tw_init(&b, 19);
  tw_string(&b, 5, "x");
  tw_string(&b, 5, "y");
  expect_error(&b, "duplicate string id 5");
  tw_init(&b, 19);
  buf_append(&b, "\x25\x01\xff\xff\xff\xff\x0f", 7);
  expect_error(&b, "invalid length");

  /* A stack that is too deep or whose length lies. */
  tw_init(&b, 19);
  {
    uint64_t args[2] = {1, 5000};
    tw_event(&b, 3, 2, args);
  }
  expect_error(&b, "Stack");
  tw_init(&b, 19);
  buf_append(&b, "\xc3\x7f\x01", 3);
  expect_error(&b, "truncated Stack");

  /* Events before any batch; no frequency. */
  tw_init(&b, 19);
  tw_ev(&b, 6, 1, (uint64_t)5);
  expect_error(&b, "before the first batch");
  prologue(&b);
  expect_error(&b, "no Frequency");

  /* Impossible state transitions. */
  prologue(&b);
  tw_ev(&b, 14, 3, (uint64_t)1, (uint64_t)9, (uint64_t)0); /* GoStart of a g never created */
  epilogue(&b);
  expect_error(&b, "no consistent ordering");
  prologue(&b);
  tw_ev(&b, 8, 1, (uint64_t)1); /* GCDone without GCStart */
  epilogue(&b);
  expect_error(&b, "bogus GC end");
  prologue(&b);
  tw_ev(&b, 5, 2, (uint64_t)1, (uint64_t)7); /* ProcStart of a running P */
  epilogue(&b);
  expect_error(&b, "running before start");
  prologue(&b);
  tw_ev(&b, 13, 4, (uint64_t)1, (uint64_t)1, (uint64_t)1, (uint64_t)0); /* g1 again */
  epilogue(&b);
  expect_error(&b, "no consistent ordering");
  prologue(&b);
  tw_ev(&b, 10, 1, (uint64_t)1); /* STW end without start */
  epilogue(&b);
  expect_error(&b, "bogus STW end");
  prologue(&b);
  tw_ev(&b, 9, 2, (uint64_t)1, (uint64_t)4); /* STW kind 4 in a 1.19 trace */
  epilogue(&b);
  expect_error(&b, "unknown STW kind 4");
  prologue(&b);
  tw_ev(&b, 15, 1, (uint64_t)1);
  tw_ev(&b, 15, 1, (uint64_t)1); /* GoEnd with no goroutine running */
  epilogue(&b);
  expect_error(&b, "g 0 did GoEnd");
  prologue(&b);
  tw_ev(&b, 47, 5, (uint64_t)1, (uint64_t)0, (uint64_t)9, (uint64_t)1, (uint64_t)0);
  epilogue(&b);
  expect_error(&b, "invalid user region mode");
  prologue(&b);
  tw_ev(&b, 30, 1, (uint64_t)1); /* GoSysBlock */
  tw_ev(&b, 6, 1, (uint64_t)1);
  tw_ev(&b, 29, 4, (uint64_t)1, (uint64_t)1, (uint64_t)2,
        (uint64_t)5); /* exits before it blocked */
  epilogue(&b);
  expect_error(&b, "time stamps out of order");
  prologue(&b);
  tw_ev(&b, 4, 3, (uint64_t)1, (uint64_t)1 << 40, (uint64_t)0);
  epilogue(&b);
  expect_error(&b, "GOMAXPROCS");

  /* Timestamps going backwards across Ps: g2 is created on P 0 at 2000
   * and started on P 1 at 1500. */
  prologue(&b);
  tw_ev(&b, 13, 4, (uint64_t)999, (uint64_t)2, (uint64_t)1, (uint64_t)0);
  tw_ev(&b, 1, 2, (uint64_t)1, (uint64_t)1500);
  tw_ev(&b, 5, 2, (uint64_t)0, (uint64_t)8);
  tw_ev(&b, 14, 3, (uint64_t)0, (uint64_t)2, (uint64_t)1);
  epilogue(&b);
  expect_error(&b, "time stamps out of order");

  /* Timestamp overflow. */
  prologue(&b);
  tw_ev(&b, 33, 2, UINT64_MAX, (uint64_t)5);
  epilogue(&b);
  expect_error(&b, "timestamp");
}
END_TEST

/* Durations near the limit: sums over goroutines saturate instead of
 * overflowing, and times beyond it are rejected. */
START_TEST(test_huge_durations) {
  struct buf b;
  struct trace_summary s;
  char *err = NULL;

  for (int pass = 0; pass < 2; pass++) {
    tw_init(&b, 19);
    tw_string(&b, 1, "main.main");
    tw_ev(&b, 1, 2, (uint64_t)0, (uint64_t)1000);
    for (uint64_t g = 1; g <= 12; g++)
      tw_ev(&b, 13, 4, (uint64_t)0, g, (uint64_t)1, (uint64_t)0);
    tw_ev(&b, 5, 2, (uint64_t)0, (uint64_t)7);
    tw_ev(&b, 4, 3, (uint64_t)0, (uint64_t)2, (uint64_t)0);
    /* With 1 tick per second: 1e9 s, or 2e9 s (beyond 2^60 ns). */
    tw_ev(&b, 33, 2, (uint64_t)1000000000 * (pass + 1), (uint64_t)5);
    tw_ev(&b, 2, 1, (uint64_t)1);
    tw_ev(&b, 1, 2, (uint64_t)0, (uint64_t)0);
    tw_stack1(&b, 1, 0x401000, 1, 1, 10);
    if (pass == 1) {
      expect_error(&b, "timestamp out of range");
      break;
    }
    trace_summary_init(&s);
    ck_assert_int_eq(gotrace_parse(b.data, b.len, &s, &err), 0);
    ck_assert_int_eq(s.duration_ns, 1000000000000000000LL);
    ck_assert_uint_eq(s.n_groups, 1);
    ck_assert_int_eq(s.groups[0].count, 12);
    ck_assert_int_eq(s.groups[0].s.total_ns, INT64_MAX);
    trace_summary_done(&s);
    buf_done(&b);
  }
}
END_TEST

/* A synthetic trace of ~30 MB (P streams with many goroutines blocking and
 * unblocking each other) parses in bounded memory: nothing is kept per
 * event. */
START_TEST(test_large_synthetic) {
  struct buf b;
  struct trace_summary s;
  struct rusage ru0, ru1;
  char *err = NULL;
  const uint64_t ngs = 1000, rounds = 1000;
  uint64_t seq[1000 + 1];
  long grown_kb;

  tw_init(&b, 19);
  b.max = (size_t)1 << 31;
  tw_string(&b, 1, "main.worker");
  tw_string(&b, 2, "main.go");
  tw_ev(&b, 1, 2, (uint64_t)0, (uint64_t)1000);
  for (uint64_t g = 1; g <= ngs; g++) {
    tw_ev(&b, 13, 4, (uint64_t)1, g, (uint64_t)1, (uint64_t)0);
    seq[g] = 1;
  }
  tw_ev(&b, 5, 2, (uint64_t)1, (uint64_t)7);
  tw_ev(&b, 4, 3, (uint64_t)1, (uint64_t)1, (uint64_t)0);
  /* Each round every goroutine runs, allocates and yields. */
  for (uint64_t r = 0; r < rounds; r++) {
    for (uint64_t g = 1; g <= ngs; g++) {
      tw_ev(&b, 14, 3, (uint64_t)3, g, seq[g]++);             /* GoStart */
      tw_ev(&b, 33, 2, (uint64_t)2, (uint64_t)(1000000 + g)); /* HeapAlloc */
      tw_ev(&b, 17, 2, (uint64_t)4, (uint64_t)1);             /* GoSched */
    }
  }
  tw_ev(&b, 2, 1, (uint64_t)1000000000);
  tw_ev(&b, 1, 2, (uint64_t)0, (uint64_t)0);
  tw_stack1(&b, 1, 0x401000, 1, 2, 10);
  ck_assert_uint_gt(b.len, 10 * 1000 * 1000);

  getrusage(RUSAGE_SELF, &ru0);
  trace_summary_init(&s);
  ck_assert_int_eq(gotrace_parse(b.data, b.len, &s, &err), 0);
  getrusage(RUSAGE_SELF, &ru1);
  grown_kb = ru1.ru_maxrss - ru0.ru_maxrss;
  /* The input is ~15 MB of 3 M events; an event array would need more
   * than 100 MB. */
  ck_assert_msg(grown_kb < 64 * 1024, "peak RSS grew by %ld KiB", grown_kb);
  ck_assert_int_eq(s.events, (int64_t)(ngs + 2 + 3 * ngs * rounds));
  ck_assert_uint_eq(s.n_groups, 1);
  ck_assert_int_eq(s.groups[0].count, (int64_t)ngs);
  trace_summary_done(&s);
  buf_done(&b);
}
END_TEST

int main(void) {
  Suite *s = suite_create("gotrace_robust");
  TCase *tc = tcase_create("robust");
  SRunner *sr;
  int failed;

  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_every_prefix);
  tcase_add_test(tc, test_flipped_bytes);
  tcase_add_test(tc, test_random_mutations);
  tcase_add_test(tc, test_handmade_valid);
  tcase_add_test(tc, test_futile_wakeup);
  tcase_add_test(tc, test_adversarial);
  tcase_add_test(tc, test_huge_durations);
  tcase_add_test(tc, test_large_synthetic);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
