/* cfg: the net/http/pprof index page parser (profiles: auto), profiles
 * built for discovered names, and profile kind names. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "testutil.h"
#include "util.h"

static struct cfg *load_ok(const char *yaml) {
  struct cfg *c = NULL;
  char *err = NULL;
  int r = cfg_load_string("t.yaml", yaml, strlen(yaml), 0, &c, &err);
  ck_assert_msg(r == 0, "unexpected error: %s", err ? err : "(none)");
  return c;
}

static char **index_names(const char *html, size_t len) {
  char **names = NULL;
  ck_assert_int_eq(cfg_parse_index_page(html, len, &names), 0);
  ck_assert_ptr_nonnull(names);
  return names;
}

static void free_names(char **names) {
  for (size_t i = 0; names[i]; i++)
    free(names[i]);
  free(names);
}

static void assert_names(char **names, const char *const *want, size_t n) {
  size_t i;
  for (i = 0; names[i] && i < n; i++)
    ck_assert_str_eq(names[i], want[i]);
  ck_assert_uint_eq(i, n);
  ck_assert_ptr_null(names[i]);
}

START_TEST(test_index_corpus_pages) {
  static const char *const workload[] = {"allocs", "block",          "goroutine",
                                         "heap",   "main.openconns", "mutex",
                                         "cpu",    "threadcreate",   "trace"};
  static const char *const prometheus[] = {"allocs", "block", "goroutine",    "heap",
                                           "mutex",  "cpu",   "threadcreate", "trace"};
  size_t len;
  uint8_t *html = test_read_file(test_data_path("workload-index.html"), &len);
  char **names = index_names((const char *)html, len);

  assert_names(names, workload, ARRAY_SIZE(workload));
  free_names(names);
  /* Every prefix of the page parses without reading past it. */
  for (size_t cut = 0; cut < len; cut++) {
    char *copy = xmalloc(cut ? cut : 1);
    memcpy(copy, html, cut);
    names = index_names(copy, cut);
    free_names(names);
    free(copy);
  }
  free(html);

  html = test_read_file(test_data_path("prometheus-index.html"), &len);
  names = index_names((const char *)html, len);
  assert_names(names, prometheus, ARRAY_SIZE(prometheus));
  free_names(names);
  free(html);
}
END_TEST

START_TEST(test_index_other_html) {
  const char *html = "<a href=\"a%20b?debug=1\">x</a>"                 /* percent-encoded */
                     "<A HREF = 'x/y.z?debug=1'>"                      /* case, spaces, slash */
                     "<a href=delta_heap?debug=1>"                     /* unquoted */
                     "<a href='q&#39;uote?debug=1'>"                   /* entity */
                     "<a href='heap?debug=2'><a href='heap'>"          /* not a profile link */
                     "<a href='/abs?debug=1'><a href='../up?debug=1'>" /* absolute, dot-dot */
                     "<a href='bad&bogus;?debug=1'><a href='%zz?debug=1'>"
                     "<a href='sym bol?debug=1'><a href='symbol?debug=1'><a href='cmdline?debug=1'>"
                     "<a href='a%20b?debug=1'>" /* duplicate */
                     "<a href='unterminated?debug=1";
  char **names = index_names(html, strlen(html));
  /* "a b" and "q'uote" are not valid profile names: skipped. */
  ck_assert_str_eq(names[0], "x/y.z");
  ck_assert_str_eq(names[1], "delta_heap");
  ck_assert_ptr_null(names[2]);
  free_names(names);

  names = index_names("", 0);
  ck_assert_ptr_null(names[0]);
  free_names(names);
  names = index_names(NULL, 0);
  ck_assert_ptr_null(names[0]);
  free_names(names);
  ck_assert_int_eq(cfg_parse_index_page(NULL, 5, &names), -EINVAL);
}
END_TEST

START_TEST(test_index_bounded) {
  /* Thousands of links: the list is capped. Megabytes of "href=" and of
   * unterminated quotes: linear time. */
  size_t n = 4000, len = 0, cap = n * 40 + 1;
  char *html = xmalloc(cap), **names;
  size_t count = 0;

  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(html + len, cap - len, "<a href='p%zu?debug=1'>", i);
  names = index_names(html, len);
  while (names[count])
    count++;
  ck_assert_uint_eq(count, 256);
  ck_assert_str_eq(names[0], "p0");
  free_names(names);
  free(html);

  cap = 4 << 20;
  html = xmalloc(cap);
  for (size_t i = 0; i + 6 <= cap; i += 6)
    memcpy(html + i, "href='", 6);
  names = index_names(html, cap);
  ck_assert_ptr_null(names[0]);
  free_names(names);
  memset(html, '\'', cap);
  memcpy(html, "href=", 5);
  names = index_names(html, cap);
  ck_assert_ptr_null(names[0]);
  free_names(names);
  free(html);
}
END_TEST

START_TEST(test_discovered_profiles) {
  struct cfg *c = load_ok("defaults:\n  params: {x: y}\ntargets:\n"
                          "  - name: api\n    url: http://127.0.0.1:6060\n"
                          "    path_prefix: /admin/debug/pprof\n    interval: 30s\n"
                          "    timeout: 4s\n    max_response_size: 1MiB\n"
                          "    seconds: 3\n    profiles: auto\n");
  const struct cfg_target *t = &c->targets[0];
  struct cfg_profile p;

  ck_assert(t->profiles_auto);
  ck_assert_uint_eq(t->n_profiles, 0);
  ck_assert_int_eq(cfg_profile_for_discovered(t, "profile", &p), 0);
  ck_assert_str_eq(p.name, "cpu");
  ck_assert_int_eq(p.kind, PROFILE_CPU);
  ck_assert_str_eq(p.path, "/admin/debug/pprof/profile");
  ck_assert(p.seconds == 3);
  ck_assert(p.expect_pprof && !p.expect_trace);
  ck_assert_int_eq(p.interval_ms, 30000);
  ck_assert_int_eq(p.timeout_ms, 4000);
  ck_assert_uint_eq(p.max_response_size, 1 << 20);
  ck_assert_uint_eq(p.n_params, 1);
  ck_assert_str_eq(p.params[0].key, "x");
  ck_assert_str_eq(p.params[0].value, "y");
  ck_assert_int_eq(p.line, 0);
  cfg_profile_done(&p);

  ck_assert_int_eq(cfg_profile_for_discovered(t, "trace", &p), 0);
  ck_assert_int_eq(p.kind, PROFILE_TRACE);
  ck_assert(p.seconds == 3 && p.expect_trace && !p.expect_pprof);
  cfg_profile_done(&p);

  ck_assert_int_eq(cfg_profile_for_discovered(t, "heap", &p), 0);
  ck_assert_str_eq(p.path, "/admin/debug/pprof/heap");
  ck_assert(p.seconds == 0);
  cfg_profile_done(&p);

  ck_assert_int_eq(cfg_profile_for_discovered(t, "delta_mutex", &p), 0);
  ck_assert_str_eq(p.name, "delta_mutex");
  ck_assert_int_eq(p.kind, PROFILE_MUTEX);
  ck_assert_str_eq(p.path, "/admin/debug/pprof/mutex");
  ck_assert(p.seconds == 3);
  cfg_profile_done(&p);

  ck_assert_int_eq(cfg_profile_for_discovered(t, "main.openconns", &p), 0);
  ck_assert_int_eq(p.kind, PROFILE_CUSTOM);
  ck_assert_str_eq(p.path, "/admin/debug/pprof/main.openconns");
  ck_assert(p.seconds == 0 && !p.expect_pprof && !p.expect_trace);
  cfg_profile_done(&p);

  ck_assert_int_eq(cfg_profile_for_discovered(t, "cmdline", &p), -ENOENT);
  ck_assert_int_eq(cfg_profile_for_discovered(t, "symbol", &p), -ENOENT);
  ck_assert_int_eq(cfg_profile_for_discovered(t, "delta_cpu", &p), -EINVAL);
  ck_assert_int_eq(cfg_profile_for_discovered(t, "a b", &p), -EINVAL);
  ck_assert_int_eq(cfg_profile_for_discovered(t, "", &p), -EINVAL);
  cfg_free(c);

  /* Without seconds: cpu 10, trace 5, delta 10. */
  c = load_ok("targets:\n  - name: api\n    url: http://127.0.0.1:6060\n    profiles: auto\n");
  t = &c->targets[0];
  ck_assert_int_eq(cfg_profile_for_discovered(t, "cpu", &p), 0);
  ck_assert(p.seconds == 10);
  cfg_profile_done(&p);
  ck_assert_int_eq(cfg_profile_for_discovered(t, "trace", &p), 0);
  ck_assert(p.seconds == 5);
  cfg_profile_done(&p);
  ck_assert_int_eq(cfg_profile_for_discovered(t, "delta_heap", &p), 0);
  ck_assert(p.seconds == 10);
  cfg_profile_done(&p);
  cfg_free(c);
}
END_TEST

START_TEST(test_kind_names) {
  static const char *const names[] = {"cpu",   "heap",  "allocs",       "goroutine",
                                      "block", "mutex", "threadcreate", "trace"};
  for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
    enum profile_kind k = profile_kind_from_name(names[i]);
    ck_assert_int_ne(k, PROFILE_CUSTOM);
    ck_assert_str_eq(profile_kind_name(k), names[i]);
  }
  ck_assert_int_eq(profile_kind_from_name("profile"), PROFILE_CPU);
  ck_assert_int_eq(profile_kind_from_name("delta_heap"), PROFILE_HEAP);
  ck_assert_int_eq(profile_kind_from_name("delta_threadcreate"), PROFILE_THREADCREATE);
  ck_assert_int_eq(profile_kind_from_name("delta_cpu"), PROFILE_CUSTOM);
  ck_assert_int_eq(profile_kind_from_name("fgprof"), PROFILE_CUSTOM);
  ck_assert_int_eq(profile_kind_from_name("cmdline"), PROFILE_CUSTOM);
  ck_assert_str_eq(profile_kind_name(PROFILE_CUSTOM), "custom");
}
END_TEST

static Suite *cfg_index_suite(void) {
  Suite *s = suite_create("cfg_index");
  TCase *tc = tcase_create("core");

  tcase_add_test(tc, test_index_corpus_pages);
  tcase_add_test(tc, test_index_other_html);
  tcase_add_test(tc, test_index_bounded);
  tcase_add_test(tc, test_discovered_profiles);
  tcase_add_test(tc, test_kind_names);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(cfg_index_suite());
  int failed;

  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
