/* Old-format trace analysis against Go 1.19's own numbers: every Go 1.19
 * trace of the corpus we keep (goroutine groups, blocking profiles, GC,
 * STW, heap, MMU, event counts), a generated trace with CPU samples and
 * annotations, the 1.21 layout, and version handling. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "gotrace_analysis.h"
#include "gotrace_testutil.h"
#include "util.h"

static const char *const corpus[] = {
    "workload-2s",     "workload-0.5s", "workload-writetimeout-2s", "workload-concurrent-3s",
    "prometheus-0.5s", "prometheus-2s",
};

static void parse_ok(const uint8_t *data, size_t len, struct trace_summary *s) {
  char *err = NULL;
  int r;

  trace_summary_init(s);
  r = gotrace_parse(data, len, s, &err);
  ck_assert_msg(r == 0, "parse failed: %s", err ? err : "?");
  ck_assert_ptr_null(err);
}

static void check_named(const char *base) {
  char trace_name[128], ref_name[128];
  struct trace_summary s;
  struct gt_ref *ref = xcalloc(1, sizeof(*ref));
  uint8_t *data;
  size_t len;

  snprintf(trace_name, sizeof(trace_name), "%s.trace.gz", base);
  snprintf(ref_name, sizeof(ref_name), "%s.ref.tsv", base);
  data = gt_load(trace_name, &len);
  gt_ref_load(ref_name, ref);
  parse_ok(data, len, &s);
  ck_assert_int_eq(s.bytes, (int64_t)len);
  ck_assert_str_eq(s.go_version, "1.19");
  gt_check_against_ref(&s, ref, base);
  trace_summary_done(&s);
  free(ref);
  free(data);
}

START_TEST(test_corpus) {
  check_named(corpus[_i]);
}
END_TEST

/* workload-0.5s: Go 1.19 cannot compute MMU (an assist before the first
 * GOMAXPROCS event); we skip such events, as tracecheck.py does. */
START_TEST(test_mmu_where_go_panics) {
  struct trace_summary s;
  struct gt_ref ref;
  uint8_t *data;
  size_t len;

  data = gt_load("workload-0.5s.trace.gz", &len);
  gt_ref_load("workload-0.5s.ref.tsv", &ref);
  ck_assert_ptr_nonnull(gt_ref_summary(&ref, "mmu_error"));
  parse_ok(data, len, &s);
  ck_assert_ptr_null(s.mmu_error);
  ck_assert_double_eq_tol(s.mmu[0], 0.0, 1e-9);
  ck_assert_double_eq_tol(s.mmu[1], 0.6646009, 1e-7);
  ck_assert_double_eq_tol(s.mmu[2], 0.96384114, 1e-7);
  ck_assert_double_eq_tol(s.mmu[3], 0.9909075285, 1e-7);
  trace_summary_done(&s);
  free(data);
}
END_TEST

/* Generated with tests/gen/tracegen.go -cpuprofile -annotate (Go 1.19):
 * CPU samples from a concurrent CPU profile, tasks, regions and logs. */
START_TEST(test_tracegen_annotated) {
  struct trace_summary s;
  struct gt_ref *ref = xcalloc(1, sizeof(*ref));
  uint8_t *data;
  size_t len;
  bool cpu = false;

  data = gt_load("tracegen-annotated.trace.gz", &len);
  gt_ref_load("tracegen-annotated.ref.tsv", ref);
  parse_ok(data, len, &s);
  gt_check_against_ref(&s, ref, "tracegen-annotated");
  for (size_t i = 0; i < s.n_event_counts; i++)
    if (strcmp(s.event_counts[i].name, "CPUSample") == 0 && s.event_counts[i].count > 0)
      cpu = true;
  ck_assert(cpu);
  ck_assert_uint_ge(s.n_annotations, 4);
  /* Every group's goroutines are listed worst first. */
  for (size_t i = 0; i < s.n_groups; i++) {
    const struct trace_group *g = &s.groups[i];
    ck_assert_uint_le(g->n_worst, TRACE_WORST_PER_GROUP);
    ck_assert_uint_eq(g->n_worst, (size_t)MIN(g->count, TRACE_WORST_PER_GROUP));
    for (size_t k = 1; k < g->n_worst; k++)
      ck_assert_int_ge(g->worst[k - 1].s.total_ns - g->worst[k - 1].s.execution_ns,
                       g->worst[k].s.total_ns - g->worst[k].s.execution_ns);
    if (i > 0)
      ck_assert_int_ge(s.groups[i - 1].s.execution_ns, g->s.execution_ns);
  }
  trace_summary_done(&s);
  free(ref);
  free(data);
}
END_TEST

static int64_t count_of(const struct trace_summary *s, const char *name) {
  for (size_t i = 0; i < s->n_event_counts; i++)
    if (strcmp(s->event_counts[i].name, name) == 0)
      return s->event_counts[i].count;
  return 0;
}

/* The 1.21 layout (Frequency inside a batch, padded stack lengths, STW
 * kinds of 1.21) gives the same analysis; a non-GC STW is traced but is
 * not a GC pause. */
START_TEST(test_go121_layout) {
  struct trace_summary s19, s21;
  struct buf b;
  uint8_t *data;
  size_t len;

  data = gt_load("workload-2s.trace.gz", &len);
  parse_ok(data, len, &s19);
  tw_rewrite_go121(data, len, &b, 1);
  ck_assert_uint_gt(b.len, len); /* padded varints */
  parse_ok(b.data, b.len, &s21);
  ck_assert_str_eq(s21.go_version, "1.21");
  ck_assert_int_eq(s21.go_minor, 21);
  ck_assert_int_eq(s21.events, s19.events + 2);
  ck_assert_int_eq(count_of(&s21, "STWStart"), count_of(&s19, "GCSTWStart") + 1);
  ck_assert_int_eq(count_of(&s21, "GCSTWStart"), 0);
  ck_assert_int_eq(s21.gc.stw_count, s19.gc.stw_count);
  ck_assert_int_eq(s21.gc.stw_total_ns, s19.gc.stw_total_ns);
  ck_assert_int_eq(s21.gc.gc_cpu_ns, s19.gc.gc_cpu_ns);
  ck_assert_int_eq(s21.gc.cycles, s19.gc.cycles);
  ck_assert_uint_eq(s21.n_groups, s19.n_groups);
  for (size_t i = 0; i < s19.n_groups; i++) {
    ck_assert_uint_eq(s21.groups[i].pc, s19.groups[i].pc);
    ck_assert_int_eq(s21.groups[i].s.execution_ns, s19.groups[i].s.execution_ns);
    ck_assert_int_eq(s21.groups[i].s.scheduler_wait_ns, s19.groups[i].s.scheduler_wait_ns);
    ck_assert_int_eq(s21.groups[i].s.total_ns, s19.groups[i].s.total_ns);
  }
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    ck_assert_int_eq(s21.profiles[k].total_ns, s19.profiles[k].total_ns);
    ck_assert_int_eq(s21.profiles[k].total_count, s19.profiles[k].total_count);
  }
  trace_summary_done(&s19);
  trace_summary_done(&s21);
  buf_done(&b);

  /* Without the extra STW, everything including MMU is identical. */
  tw_rewrite_go121(data, len, &b, 0);
  parse_ok(data, len, &s19);
  parse_ok(b.data, b.len, &s21);
  ck_assert_int_eq(s21.events, s19.events);
  for (int w = 0; w < TRACE_MMU_WINDOWS; w++)
    ck_assert_double_eq(s21.mmu[w], s19.mmu[w]);
  trace_summary_done(&s19);
  trace_summary_done(&s21);
  buf_done(&b);
  free(data);
}
END_TEST

static void expect_unsupported(const char *header, const char *msg) {
  uint8_t data[64] = {0};
  struct trace_summary s;
  struct analysis *a;
  char *err = NULL;
  int r;

  memcpy(data, header, strlen(header));
  trace_summary_init(&s);
  r = gotrace_parse(data, sizeof(data), &s, &err);
  ck_assert_int_eq(r, -ENOTSUP);
  ck_assert_str_eq(err, msg);
  free(err);
  a = analysis_run("trace", data, sizeof(data), NULL);
  ck_assert_int_eq(a->status, ANALYSIS_UNSUPPORTED);
  ck_assert_str_eq(a->error, msg);
  ck_assert_ptr_null(a->ops);
  analysis_free(a);
}

START_TEST(test_versions) {
  expect_unsupported("go 1.27 trace", "unsupported trace version go 1.27");
  expect_unsupported("go 1.20 trace", "unsupported trace version go 1.20");
  expect_unsupported("go 1.5 trace", "unsupported trace version go 1.5");
  expect_unsupported("go 1.99 trace", "unsupported trace version go 1.99");
}
END_TEST

/* analysis_run() dispatches traces here: status, JSON and row detail. */
START_TEST(test_analysis_run) {
  struct analysis *a;
  uint8_t *data;
  size_t len;
  json_t *groups, *g0;

  data = gt_load("workload-2s.trace.gz", &len);
  a = analysis_run("trace", data, len, NULL);
  ck_assert_int_eq(a->status, ANALYSIS_OK);
  ck_assert_ptr_null(a->error);
  ck_assert_ptr_nonnull(a->ops);
  ck_assert_ptr_nonnull(a->detail);
  ck_assert_str_eq(json_string_value(json_object_get(a->json, "format")), "go-trace");
  ck_assert_str_eq(json_string_value(json_object_get(a->json, "go_version")), "1.19");
  ck_assert_int_eq(json_integer_value(json_object_get(a->json, "duration_ns")), 2017932101);
  ck_assert_int_eq(json_integer_value(json_object_get(a->json, "procs")), 2);
  ck_assert_int_eq(
      json_integer_value(json_object_get(json_object_get(a->json, "goroutines"), "total")), 86);
  groups = json_object_get(a->json, "groups");
  ck_assert_uint_eq(json_array_size(groups), 18);
  g0 = json_array_get(groups, 0);
  ck_assert_str_eq(json_string_value(json_object_get(g0, "function")), "main.cpuHotLoop");
  ck_assert_int_eq(json_integer_value(json_object_get(g0, "execution_ns")), 1360765965);
  ck_assert_int_eq(json_integer_value(json_object_get(g0, "scheduler_wait_ns")), 657112666);
  ck_assert_int_eq(json_integer_value(json_object_get(
                       json_object_get(json_object_get(a->json, "profiles"), "sync"), "total_ns")),
                   14096545768LL);
  ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(a->json, "gc"), "stw_count")),
                   18);
  ck_assert(json_is_real(json_object_get(json_object_get(a->json, "mmu"), "10ms")));
  analysis_free(a);

  /* A corrupt trace is an analysis error naming the offset. */
  data[len / 2] ^= 0xff;
  data[len / 2 + 1] ^= 0xff;
  a = analysis_run("trace", data, len - 100, NULL);
  ck_assert_int_eq(a->status, ANALYSIS_ERROR);
  ck_assert_ptr_nonnull(strstr(a->error, "corrupt go 1.19 trace: offset "));
  analysis_free(a);
  free(data);
}
END_TEST

int main(void) {
  Suite *s = suite_create("gotrace_v1");
  TCase *tc = tcase_create("reference");
  SRunner *sr;
  int failed;

  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, test_corpus, 0, (int)ARRAY_SIZE(corpus));
  tcase_add_test(tc, test_mmu_where_go_panics);
  tcase_add_test(tc, test_tracegen_annotated);
  tcase_add_test(tc, test_go121_layout);
  tcase_add_test(tc, test_versions);
  tcase_add_test(tc, test_analysis_run);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
