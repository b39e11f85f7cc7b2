/* pprofctl helpers: text tables, the generic JSON rendering, the capture
 * JSON object and the filter options. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "util.h"

/* Runs fn(out) into a string. */
static char *capture_output(void (*fn)(FILE *out, void *arg), void *arg) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);

  ck_assert_ptr_nonnull(f);
  fn(f, arg);
  fclose(f);
  return text;
}

static void print_table(FILE *out, void *arg) {
  table_print(arg, out);
}

START_TEST(test_table) {
  static const char *const headers[] = {"ID", "NAME", "SIZE", "NOTE"};
  static const char *const r1[] = {"1", "api", "2.9 KiB", "fine"};
  static const char *const r2[] = {"12",
                                   "w\xc3\xa9"
                                   "b",
                                   "16 B", NULL};
  static const char *const r3[] = {"3", "evil\x1b[31m", "0 B", "a\tb"};
  struct table *t = table_new(4, headers);
  char *text;

  table_align_right(t, 0);
  table_align_right(t, 2);
  table_add_row(t, r1);
  table_add_row(t, r2);
  table_add_row(t, r3);
  text = capture_output(print_table, t);
  /* Two spaces between columns, numbers right-aligned, the last column not
   * padded, UTF-8 counted as one column, NULL as "-", control bytes as '?'. */
  ck_assert_str_eq(text, "ID  NAME          SIZE  NOTE\n"
                         " 1  api        2.9 KiB  fine\n"
                         "12  w\xc3\xa9"
                         "b           16 B  -\n"
                         " 3  evil?[31m      0 B  a?b\n");
  free(text);
  table_free(t);
  ck_assert_ptr_null(table_free(NULL));
}
END_TEST

static void render(FILE *out, void *arg) {
  ctl_render_json_text(out, arg, 2);
}

START_TEST(test_render) {
  json_error_t err;
  json_t *v = json_loads("{\"format\": \"pprof-gzip\", \"samples\": 12, \"ratio\": 0.25,"
                         " \"ok\": true, \"none\": null, \"empty\": [], \"tags\": [\"a\", 1],"
                         " \"period_type\": {\"type\": \"cpu\", \"unit\": \"nanoseconds\"},"
                         " \"top\": [{\"function\": \"main.spin\", \"flat\": 930},"
                         "           {\"function\": \"runtime.gc\", \"flat\": 7, \"cum\": 9}],"
                         " \"nested\": [{\"a\": {\"b\": 1}}]}",
                         0, &err);
  char *text;

  ck_assert_msg(v != NULL, "%s", err.text);
  text = capture_output(render, v);
  ck_assert_str_eq(text, "  format: pprof-gzip\n"
                         "  samples: 12\n"
                         "  ratio: 0.25\n"
                         "  ok: true\n"
                         "  none: -\n"
                         "  empty: []\n"
                         "  tags: a, 1\n"
                         "  period_type:\n"
                         "    type: cpu\n"
                         "    unit: nanoseconds\n"
                         "  top:\n"
                         "    function    flat  cum\n"
                         "    main.spin    930    -\n"
                         "    runtime.gc     7    9\n"
                         "  nested:\n"
                         "    [0]:\n"
                         "      a:\n"
                         "        b: 1\n");
  free(text);
  json_decref(v);
}
END_TEST

START_TEST(test_capture_json) {
  struct cfg_pair labels[] = {{"env", "prod"}, {"team", "core"}};
  struct capture_row r;
  json_t *o;
  char *text;

  memset(&r, 0, sizeof(r));
  r.id = 7;
  r.target = "api";
  r.instance = "10.0.0.1:6060";
  r.type = "cpu";
  r.url = "http://10.0.0.1:6060/debug/pprof/profile?seconds=10";
  r.started_at_ms = 1795237200123;
  r.requested_seconds = 10;
  r.duration_ms = 10250;
  r.status = CAPTURE_FAILED;
  r.http_status = 0;
  r.error = "bad \xff byte";
  r.size_bytes = 0;
  r.format = "empty";
  r.analysis_status = "none";
  r.labels = labels;
  r.n_labels = 2;
  o = capture_row_to_json(&r);
  text = json_dumps(o, JSON_COMPACT);
  ck_assert_str_eq(
      text,
      "{\"id\":7,\"target\":\"api\",\"instance\":\"10.0.0.1:6060\",\"type\":\"cpu\","
      "\"started_at\":\"2026-11-21T05:00:00.123Z\",\"duration_s\":10.25,\"status\":\"failed\","
      "\"http_status\":null,\"error\":\"bad \xef\xbf\xbd byte\",\"size_bytes\":0,"
      "\"format\":\"empty\",\"labels\":{\"env\":\"prod\",\"team\":\"core\"},"
      "\"url\":\"http://10.0.0.1:6060/debug/pprof/profile?seconds=10\","
      "\"requested_seconds\":10.0,\"sha256\":null,\"content_type\":null,"
      "\"analysis_status\":\"none\",\"analysis_error\":null}");
  free(text);
  json_decref(o);
}
END_TEST

START_TEST(test_json_string) {
  json_t *j = ctl_json_string("ok \xe2\x82\xac \xed\xa0\x80 \xc0\xaf \xf4\x90\x80\x80 end\xe2\x82");
  ck_assert_str_eq(json_string_value(j), "ok \xe2\x82\xac \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                                         "\xef\xbf\xbd\xef\xbf\xbd "
                                         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                                         "end\xef\xbf\xbd\xef\xbf\xbd");
  json_decref(j);
  ck_assert(json_is_null(j = ctl_json_string(NULL)));
  json_decref(j);
}
END_TEST

START_TEST(test_filter_options) {
  struct ctl ctl;
  struct ctl_filter cf;
  struct option *opts;
  size_t n = 0;

  memset(&ctl, 0, sizeof(ctl));
  ctl.now_ms = 1795237200000;
  ctl_filter_init(&cf);
  ck_assert_int_eq(cf.f.limit, -1);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, CTL_OPT_TARGET, "api"), 1);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, CTL_OPT_SINCE, "2h"), 1);
  ck_assert_int_eq(cf.f.since_ms, 1795237200000 - 7200000);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, CTL_OPT_UNTIL, "2026-11-21T05:00:00+01:00"), 1);
  ck_assert_int_eq(cf.f.until_ms, 1795237200000 - 3600000);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, 'l', "env=prod"), 1);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, 'l', "expr=a=b"), 1);
  ck_assert_uint_eq(cf.f.n_labels, 2);
  ck_assert_str_eq(cf.f.labels[1].key, "expr");
  ck_assert_str_eq(cf.f.labels[1].value, "a=b");
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, CTL_OPT_STATUS, "failed"), 1);
  ck_assert_int_eq(cf.f.status, CAPTURE_FAILED);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, CTL_OPT_LIMIT, "0"), 1);
  ck_assert_int_eq(cf.f.limit, 0);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, CTL_OPT_JSON, NULL), 1);
  ck_assert(ctl.json);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, 'o', "x"), 0);
  /* Bad values: usage errors (message on stderr). */
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, CTL_OPT_SINCE, "last tuesday"), -1);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, CTL_OPT_STATUS, "maybe"), -1);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, CTL_OPT_LIMIT, "-3"), -1);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, 'l', "=x"), -1);
  ck_assert_int_eq(ctl_filter_option(&ctl, &cf, 'l', "novalue"), -1);
  ctl_filter_done(&cf);

  opts = ctl_options_merge(ctl_filter_longopts, (const struct option[]){
                                                    {"output", required_argument, NULL, 'o'},
                                                    {NULL, 0, NULL, 0},
                                                });
  while (opts[n].name)
    n++;
  ck_assert_uint_eq(n, 10);
  ck_assert_str_eq(opts[9].name, "output");
  free(opts);
}
END_TEST

int main(void) {
  Suite *s = suite_create("ctl");
  TCase *tc = tcase_create("ctl");
  SRunner *sr;
  int failed;

  tcase_add_test(tc, test_table);
  tcase_add_test(tc, test_render);
  tcase_add_test(tc, test_capture_json);
  tcase_add_test(tc, test_json_string);
  tcase_add_test(tc, test_filter_options);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
