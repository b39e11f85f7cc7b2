/* Go 1.23+ GoSwitch: the GoBlock it implies for the goroutine switched
 * away from has no reason. It used to take the block reason class from
 * whatever string argument the thread's previous event had (so a
 * coroutine switch after a network block counted as network wait), and
 * with no strings in the generation it read through a NULL table. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "gotrace2_enc.h"
#include "gotrace_v2.h"

#define B 1000000ULL

/* Block times of goroutines 1 and 2 (index = id). */
struct blocks {
  int64_t net[3], other[3];
};

static void on_g(void *ctx, const struct gotrace_v2_goroutine *g) {
  struct blocks *b = ctx;
  if (g->id >= 1 && g->id <= 2) {
    b->net[g->id] = g->block_network_ns;
    b->other[g->id] = g->block_other_ns;
  }
}

static void parse(const uint8_t *data, size_t len, struct blocks *b) {
  struct gotrace_v2_opts o = {0};
  struct trace_summary s;
  char *err = NULL;
  int rc;
  o.on_goroutine = on_g;
  o.ctx = b;
  rc = gotrace_v2_parse_ex(data, len, &o, &s, &err);
  ck_assert_msg(rc == 0, "parse failed (%d): %s", rc, err ? err : "?");
  trace_summary_done(&s);
}

static void ev(struct tenc *e, uint8_t t, uint64_t ts, int n, uint64_t a, uint64_t b, uint64_t c) {
  tenc_ev(e, t, ts, n, a, b, c);
}

/* G1 runs; G2 is created blocked; G1 switches to G2 and back; G1 blocks
 * with reason string 1 (reason 0 when with_strings is false); the trace
 * ends at B + 600. */
static uint8_t *switch_trace(bool with_strings, size_t *len) {
  struct tframe f = {0x10, 2, 3, 1};
  struct tenc e;
  uint64_t st = with_strings ? 1 : 0;
  tenc_init(&e, 23);
  tenc_gen(&e, 1, B);
  if (with_strings) {
    tenc_string(&e, 1, "network");
    tenc_string(&e, 2, "main.main");
    tenc_string(&e, 3, "x.go");
    tenc_stack(&e, 1, 1, &f);
  }
  tenc_batch(&e, 1, B);
  ev(&e, V2_EV_PROC_STATUS, B, 2, 0, V2_P_RUNNING, 0);
  ev(&e, V2_EV_GO_STATUS, B, 3, 1, 1, V2_G_RUNNING);
  ev(&e, V2_EV_PROCS_CHANGE, B + 10, 2, 1, 0, 0);
  ev(&e, V2_EV_GO_CREATE_BLOCKED, B + 100, 3, 2, st, st);
  ev(&e, V2_EV_GO_SWITCH, B + 200, 2, 2, 1, 0);
  ev(&e, V2_EV_GO_SWITCH, B + 300, 2, 1, 1, 0);
  ev(&e, V2_EV_GO_BLOCK, B + 400, 2, st, st, 0);
  tenc_ev(&e, V2_EV_HEAP_ALLOC, B + 600, 1, (uint64_t)1);
  tenc_gen_end(&e);
  return tenc_done(&e, len);
}

START_TEST(test_switch_block_has_no_reason) {
  size_t len;
  uint8_t *data = switch_trace(true, &len);
  struct blocks b = {{0}, {0}};
  parse(data, len, &b);
  /* G1: switched away for ~100 ns (other), then a network block of
   * ~200 ns; the three events a switch implies share one timestamp and
   * are spread by 1 ns each. */
  ck_assert_int_ge(b.net[1], 199);
  ck_assert_int_le(b.net[1], 201);
  ck_assert_int_ge(b.other[1], 98);
  /* G2: created blocked, then switched away until the end: never network. */
  ck_assert_int_eq(b.net[2], 0);
  ck_assert_int_ge(b.other[2], 398);
  free(data);
}
END_TEST

START_TEST(test_switch_without_strings) {
  size_t len;
  uint8_t *data = switch_trace(false, &len);
  struct blocks b = {{0}, {0}};
  parse(data, len, &b);
  ck_assert_int_eq(b.net[1], 0);
  ck_assert_int_eq(b.net[2], 0);
  ck_assert_int_ge(b.other[2], 398);
  free(data);
}
END_TEST

int main(void) {
  Suite *s = suite_create("gotrace2_switch");
  TCase *tc = tcase_create("switch");
  SRunner *sr;
  int failed;
  tcase_add_test(tc, test_switch_block_has_no_reason);
  tcase_add_test(tc, test_switch_without_strings);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
