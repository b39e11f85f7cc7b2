/* Trace analysis rows: a trace capture stored through store_put_capture()
 * gets its rows in the same transaction, they read back into the same
 * summary (and the same JSON) as the analysis produced, captures that
 * cannot be analysed get no rows, and deleting a capture removes them. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "gotrace_analysis.h"
#include "gotrace_store.h"
#include "gotrace_testutil.h"
#include "store_fixture.h"
#include "testutil.h"
#include "util.h"

static int64_t put_trace(struct fx *fx, const char *target, int64_t at_ms, const uint8_t *data,
                         size_t len) {
  struct capture *c = fx_capture(target, "127.0.0.1:6060", "trace", at_ms, data, len, NULL);
  c->analysis = analysis_run("trace", data, len, NULL);
  return fx_put(fx->s, c);
}

static const char *const trace_tables[] = {"trace_summaries",       "trace_event_counts",
                                           "trace_groups",          "trace_goroutines",
                                           "trace_profile_samples", "trace_annotations"};

/* The old format (generated trace with annotations and CPU samples) and
 * the new one (Go 1.26 esbuild trace, trace2's test data). */
static const char *const roundtrip_files[] = {"gotrace/tracegen-annotated.trace.gz",
                                              "gotrace2-nogc.trace"};

START_TEST(test_roundtrip) {
  struct fx fx;
  struct trace_summary orig, back;
  uint8_t *data;
  size_t len;
  char *err = NULL;
  json_t *j1, *j2;
  int64_t id;

  fx_setup(&fx);
  if (_i == 0)
    data = gt_load("tracegen-annotated.trace.gz", &len);
  else
    data = test_read_file(test_data_path(roundtrip_files[_i]), &len);
  id = put_trace(&fx, "api", 1000, data, len);
  trace_summary_init(&orig);
  ck_assert_int_eq(gotrace_parse(data, len, &orig, &err), 0);

  ck_assert_int_eq(fx_count(fx.s, "trace_summaries"), 1);
  ck_assert_int_eq(fx_count(fx.s, "trace_groups"), (int64_t)orig.n_groups);
  ck_assert_int_eq(fx_count(fx.s, "trace_annotations"), (int64_t)orig.n_annotations);
  ck_assert_int_gt(fx_count(fx.s, "trace_functions"), 0);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT prof_sync_ns FROM trace_summaries"),
                   orig.profiles[TRACE_PROFILE_SYNC].total_ns);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT sum(ns) FROM trace_profile_samples"
                                      " WHERE kind = 'net'"),
                   orig.profiles[TRACE_PROFILE_NET].total_ns);
  if (_i == 0)
    ck_assert_int_eq(fx_query_int(fx.s, "SELECT count(*) FROM trace_groups g JOIN"
                                        " trace_goroutines w ON w.capture_id = g.capture_id AND"
                                        " w.group_rank = g.rank WHERE g.function ="
                                        " 'main.mutexWorker'"),
                     4);
  else
    ck_assert_str_eq(orig.go_version, "1.26");

  ck_assert_int_eq(gotrace_store_load(fx.s, id, &back), 0);
  j1 = gotrace_summary_to_json(&orig);
  j2 = gotrace_summary_to_json(&back);
  ck_assert_msg(json_equal(j1, j2), "rows do not read back into the analysed summary");
  /* Every stored sample, not only the JSON's top ones. */
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    ck_assert_uint_eq(back.profiles[k].n_samples, orig.profiles[k].n_samples);
    for (size_t i = 0; i < orig.profiles[k].n_samples; i++) {
      const struct trace_stack *a = &orig.profiles[k].samples[i].stack;
      const struct trace_stack *b = &back.profiles[k].samples[i].stack;
      ck_assert_uint_eq(a->n_frames, b->n_frames);
      for (size_t f = 0; f < a->n_frames; f++) {
        ck_assert_str_eq(a->frames[f].function, b->frames[f].function);
        ck_assert_str_eq(a->frames[f].file, b->frames[f].file);
        ck_assert_int_eq(a->frames[f].line, b->frames[f].line);
        ck_assert_uint_eq(a->frames[f].pc, b->frames[f].pc);
      }
    }
  }
  json_decref(j1);
  json_decref(j2);
  trace_summary_done(&back);
  ck_assert_int_eq(gotrace_store_load(fx.s, id + 1, &back), -ENOENT);

  /* A second capture of the same program shares the interned functions. */
  {
    int64_t fns = fx_count(fx.s, "trace_functions");
    put_trace(&fx, "api", 2000, data, len);
    ck_assert_int_eq(fx_count(fx.s, "trace_functions"), fns);
    ck_assert_int_eq(fx_count(fx.s, "trace_summaries"), 2);
  }

  /* Pruning deletes the captures and, by cascade, their rows. */
  {
    struct store_prune_result res;
    ck_assert_int_eq(store_prune(fx.s, 10000000, 1, 0, &res), 0);
    ck_assert_int_eq(res.captures_deleted, 2);
    for (size_t i = 0; i < ARRAY_SIZE(trace_tables); i++)
      ck_assert_int_eq(fx_count(fx.s, trace_tables[i]), 0);
  }
  trace_summary_done(&orig);
  free(data);
  fx_teardown(&fx);
}
END_TEST

START_TEST(test_no_rows_without_analysis) {
  struct fx fx;
  uint8_t bad[64] = "go 1.27 trace";
  struct trace_summary s;
  size_t len;
  uint8_t *data;
  int64_t id;

  fx_setup(&fx);
  id = put_trace(&fx, "api", 1000, bad, sizeof(bad));
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT count(*) FROM captures WHERE analysis_status ="
                                      " 'unsupported' AND analysis_error = 'unsupported trace"
                                      " version go 1.27'"),
                   1);
  data = gt_load("tracegen-tiny.trace", &len);
  len -= 100; /* truncated: an analysis error, the capture is still stored */
  put_trace(&fx, "api", 2000, data, len);
  ck_assert_int_eq(fx_count(fx.s, "captures"), 2);
  ck_assert_int_eq(fx_query_int(fx.s, "SELECT count(*) FROM captures WHERE analysis_status ="
                                      " 'error'"),
                   1);
  for (size_t i = 0; i < ARRAY_SIZE(trace_tables); i++)
    ck_assert_int_eq(fx_count(fx.s, trace_tables[i]), 0);
  ck_assert_int_eq(gotrace_store_load(fx.s, id, &s), -ENOENT);
  free(data);
  fx_teardown(&fx);
}
END_TEST

int main(void) {
  Suite *s = suite_create("gotrace_store");
  TCase *tc = tcase_create("rows");
  SRunner *sr;
  int failed;

  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_roundtrip, 0, (int)ARRAY_SIZE(roundtrip_files));
  tcase_add_test(tc, test_no_rows_without_analysis);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
