#include "config.h"

#include <check.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pprof.h"
#include "pprof_format.h"
#include "pprof_report.h"
#include "pprof_summary.h"
#include "pprof_testlib.h"
#include "testutil.h"
#include "util.h"

static struct pprof_profile *decode_file(const char *name) {
  size_t len;
  uint8_t *data = test_read_file(test_data_path(name), &len);
  struct pprof_profile *p = NULL;
  char *err = NULL;
  ck_assert_msg(pprof_decode(data, len, 1u << 30, &p, &err) == 0, "%s: %s", name, err);
  free(data);
  return p;
}

static struct pprof_profile *decode_tprof(struct tprof *t) {
  size_t len;
  uint8_t *data = tprof_pack(t, false, &len);
  struct pprof_profile *p = NULL;
  char *err = NULL;
  ck_assert_msg(pprof_decode(data, len, 1u << 30, &p, &err) == 0, "%s", err);
  free(data);
  return p;
}

/* The -top text of every corpus profile, for every sample type, sorted by
 * flat and by cum, equals `go tool pprof -top -nodecount=30` (Go 1.19)
 * byte for byte. */
START_TEST(test_corpus_top_text_matches_go) {
  glob_t g;
  char pattern[4096];
  size_t compared = 0, mismatches = 0;

  setenv("TZ", "UTC", 1);
  tzset();
  snprintf(pattern, sizeof(pattern), "%s", test_data_path("pprof/*/*.pprof.top*.txt"));
  ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
  snprintf(pattern, sizeof(pattern), "%s", test_data_path("pprof/*/*/*.pprof.top*.txt"));
  glob(pattern, GLOB_APPEND, NULL, &g);
  for (size_t gi = 0; gi < g.gl_pathc; gi++) {
    const char *ref = g.gl_pathv[gi];
    const char *rel = strstr(ref, "/tests/data/pprof/") + strlen("/tests/data/pprof/");
    const char *dot = strstr(rel, ".pprof.top");
    bool cum = strncmp(dot, ".pprof.topcum", 13) == 0;
    int si = atoi(strstr(dot, ".si") + 3);
    char *prof_name = xasprintf("pprof/%.*s.pprof", (int)(dot - rel), rel);
    struct pprof_profile *p = decode_file(prof_name);
    struct pprof_nodes *nodes = pprof_nodes_new(p);
    struct pprof_top_opts o;
    struct pprof_top *t;
    struct buf out;
    size_t rlen;
    char *expect = (char *)test_read_file(ref, &rlen);

    pprof_top_opts_default(&o);
    o.node_count = 30;
    o.cum_sort = cum;
    t = pprof_top_compute(p, nodes, si, &o);
    buf_init(&out, 1u << 20);
    ck_assert_int_eq(pprof_report_text(p, nodes, t, o.node_fraction, &out), 0);
    buf_terminate(&out);
    if (strcmp((char *)out.data, expect) != 0) {
      fprintf(stderr, "%s differs:\n--- got\n%s--- want\n%s", ref, (char *)out.data, expect);
      mismatches++;
    }
    compared++;
    buf_done(&out);
    free(expect);
    pprof_top_free(t);
    pprof_nodes_free(nodes);
    pprof_profile_free(p);
    free(prof_name);
  }
  globfree(&g);
  ck_assert_uint_ge(compared, 150);
  ck_assert_msg(mismatches == 0, "%zu of %zu reports differ (see the log)", mismatches, compared);
}
END_TEST

static const struct pprof_top_row *row_named(const struct pprof_top *t, const struct pprof_nodes *n,
                                             const char *name) {
  for (size_t i = 0; i < t->n_rows; i++)
    if (strcmp(n->nodes[t->rows[i].node].name, name) == 0)
      return &t->rows[i];
  return NULL;
}

static struct pprof_top *top_all(const struct pprof_profile *p, const struct pprof_nodes *n,
                                 int si) {
  struct pprof_top_opts o;
  pprof_top_opts_default(&o);
  o.node_fraction = 0;
  return pprof_top_compute(p, n, si, &o);
}

/* Recursion counts cum once per sample; flat goes to the leaf only. */
START_TEST(test_recursion) {
  struct tprof *t = tprof_new();
  /* main -> fib -> fib -> fib (leaf), value 10; main -> fib (leaf), 5 */
  uint64_t s1[] = {2, 2, 2, 1};
  uint64_t s2[] = {2, 1};
  struct pprof_profile *p;
  struct pprof_nodes *n;
  struct pprof_top *top;
  const struct pprof_top_row *r;

  tprof_sample_type(t, "samples", "count");
  tprof_function(t, 1, "main.main", "m.go");
  tprof_function(t, 2, "main.fib", "m.go");
  tprof_simple_location(t, 1, 1);
  tprof_simple_location(t, 2, 2);
  tprof_sample(t, 4, s1, (int64_t[]){10});
  tprof_sample(t, 2, s2, (int64_t[]){5});
  p = decode_tprof(t);
  n = pprof_nodes_new(p);
  top = top_all(p, n, 0);
  ck_assert_int_eq(top->total, 15);
  r = row_named(top, n, "main.fib");
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(r->flat, 15);
  ck_assert_int_eq(r->cum, 15);
  r = row_named(top, n, "main.main");
  ck_assert_int_eq(r->flat, 0);
  ck_assert_int_eq(r->cum, 15);
  ck_assert_uint_eq(top->n_rows, 2);
  /* Sorted by flat: fib first. */
  ck_assert_str_eq(n->nodes[top->rows[0].node].name, "main.fib");
  pprof_top_free(top);
  pprof_nodes_free(n);
  pprof_profile_free(p);
  tprof_free(t);
}
END_TEST

/* Inlined frames are functions of their own: the innermost line gets the
 * flat value; a function reached only through inlining is "(inline)". */
START_TEST(test_inlined_frames) {
  struct tprof *t = tprof_new();
  uint64_t inl[] = {3, 2}; /* bytes.Equal inlined into main.cmp */
  uint64_t s1[] = {10, 1};
  uint64_t s2[] = {11, 1};
  struct pprof_profile *p;
  struct pprof_nodes *n;
  struct pprof_top *top;
  const struct pprof_top_row *r;

  tprof_sample_type(t, "cpu", "nanoseconds");
  tprof_function(t, 1, "main.main", "m.go");
  tprof_function(t, 2, "main.cmp", "m.go");
  tprof_function(t, 3, "bytes.Equal", "bytes.go");
  tprof_simple_location(t, 1, 1);
  tprof_location(t, 10, 0, 0x10, 2, inl, NULL);
  tprof_simple_location(t, 11, 2);
  tprof_sample(t, 2, s1, (int64_t[]){30});
  tprof_sample(t, 2, s2, (int64_t[]){20});
  p = decode_tprof(t);
  n = pprof_nodes_new(p);
  top = top_all(p, n, 0);
  r = row_named(top, n, "bytes.Equal");
  ck_assert_int_eq(r->flat, 30);
  ck_assert_int_eq(r->cum, 30);
  ck_assert_int_eq(r->inl, PPROF_INLINE_FULL);
  r = row_named(top, n, "main.cmp");
  ck_assert_int_eq(r->flat, 20);
  ck_assert_int_eq(r->cum, 50);
  ck_assert_int_eq(r->inl, PPROF_INLINE_NONE);
  r = row_named(top, n, "main.main");
  ck_assert_int_eq(r->cum, 50);
  pprof_top_free(top);
  pprof_nodes_free(n);
  pprof_profile_free(p);
  tprof_free(t);
}
END_TEST

/* Several sample types are independent; stack-less samples count in the
 * total but belong to no function; the default type is the last unless
 * default_sample_type names another. */
START_TEST(test_multiple_types_and_stackless) {
  struct tprof *t = tprof_new();
  uint64_t s1[] = {1};
  struct pprof_profile *p;
  struct pprof_nodes *n;
  struct pprof_top *top;

  tprof_sample_type(t, "alloc_objects", "count");
  tprof_sample_type(t, "alloc_space", "bytes");
  tprof_function(t, 1, "main.alloc", "m.go");
  tprof_simple_location(t, 1, 1);
  tprof_sample(t, 1, s1, (int64_t[]){3, 3000});
  tprof_sample(t, 0, NULL, (int64_t[]){7, 700});
  t->m.default_sample_type = tprof_str(t, "alloc_objects");
  p = decode_tprof(t);
  ck_assert_int_eq(pprof_default_sample_index(p), 0);
  n = pprof_nodes_new(p);
  top = top_all(p, n, 1);
  ck_assert_int_eq(top->total, 3700);
  ck_assert_int_eq(top->flat_sum, 3000);
  ck_assert_uint_eq(top->n_rows, 1);
  ck_assert_int_eq(top->rows[0].flat, 3000);
  pprof_top_free(top);
  top = top_all(p, n, 0);
  ck_assert_int_eq(top->total, 10);
  ck_assert_int_eq(top->rows[0].cum, 3);
  pprof_top_free(top);
  pprof_nodes_free(n);
  pprof_profile_free(p);
  tprof_free(t);
}
END_TEST

/* Zero period, zero values, no samples: nothing divides by zero and the
 * report says "0 of 0 total". */
START_TEST(test_zero_everything) {
  struct tprof *t = tprof_new();
  uint64_t s1[] = {1};
  struct pprof_profile *p;
  struct pprof_nodes *n;
  struct pprof_top *top;
  struct buf out;

  tprof_sample_type(t, "delay", "nanoseconds");
  tprof_period(t, "contentions", "count", 0);
  tprof_function(t, 1, "f", "f.go");
  tprof_simple_location(t, 1, 1);
  tprof_sample(t, 1, s1, (int64_t[]){0});
  p = decode_tprof(t);
  n = pprof_nodes_new(p);
  top = top_all(p, n, 0);
  ck_assert_int_eq(top->total, 0);
  ck_assert_uint_eq(top->n_rows, 0);
  buf_init(&out, 1u << 20);
  ck_assert_int_eq(pprof_report_text(p, n, top, 0.005, &out), 0);
  buf_terminate(&out);
  ck_assert_str_eq((char *)out.data, "Type: delay\n"
                                     "Showing nodes accounting for 0, 0% of 0 total\n"
                                     "      flat  flat%   sum%        cum   cum%\n");
  buf_done(&out);
  pprof_top_free(top);
  pprof_nodes_free(n);
  pprof_profile_free(p);
  tprof_free(t);
}
END_TEST

/* Goroutine profiles: stacks grouped by function sequence and counted. */
START_TEST(test_goroutine_stacks) {
  struct pprof_profile *p = decode_file("pprof/work/goroutine.pprof");
  struct pprof_nodes *n = pprof_nodes_new(p);
  struct pprof_stacks *st;
  int64_t sum = 0;

  ck_assert(pprof_is_goroutine_profile(p));
  st = pprof_stacks_compute(p, n);
  for (size_t i = 0; i < st->n_stacks; i++) {
    sum += st->stacks[i].count;
    if (i > 0)
      ck_assert_int_ge(st->stacks[i - 1].count, st->stacks[i].count);
  }
  ck_assert_int_eq(sum, st->total);
  /* The corpus README: 50 goroutines parked in main.chanParked. */
  ck_assert_int_ge(st->stacks[0].count, 50);
  {
    bool found = false;
    for (size_t k = 0; k < st->stacks[0].n_frames; k++)
      if (strcmp(n->nodes[st->stacks[0].frames[k]].name, "main.chanParked") == 0)
        found = true;
    ck_assert(found);
  }
  pprof_stacks_free(st);
  pprof_nodes_free(n);
  pprof_profile_free(p);
}
END_TEST

/* Hostile values: sums wrap like Go's int64 instead of being undefined
 * (run under UBSan), and nothing crashes on the way to text, merge and
 * flame graph. */
START_TEST(test_extreme_values) {
  struct tprof *t = tprof_new();
  struct pprof_profile *p;
  struct pprof_nodes *n;
  struct pprof_top *top;
  struct buf out;
  struct pprof_top_opts o;

  tprof_sample_type(t, "space", "bytes");
  tprof_function(t, 1, "a", "a.go");
  tprof_function(t, 2, "b", "b.go");
  tprof_simple_location(t, 1, 1);
  tprof_simple_location(t, 2, 2);
  tprof_sample(t, 2, (uint64_t[]){1, 2}, (int64_t[]){INT64_MAX});
  tprof_sample(t, 2, (uint64_t[]){1, 2}, (int64_t[]){INT64_MAX});
  tprof_sample(t, 1, (uint64_t[]){2}, (int64_t[]){INT64_MIN});
  tprof_sample(t, 1, (uint64_t[]){1}, (int64_t[]){-5});
  p = decode_tprof(t);
  n = pprof_nodes_new(p);
  pprof_top_opts_default(&o);
  o.node_fraction = 1;
  o.edge_fraction = 1;
  top = pprof_top_compute(p, n, 0, &o);
  buf_init(&out, 1u << 20);
  ck_assert_int_eq(pprof_report_text(p, n, top, 1, &out), 0);
  pprof_top_free(top);
  top = top_all(p, n, 0);
  ck_assert_uint_eq(top->n_rows, 2);
  buf_reset(&out);
  ck_assert_int_eq(pprof_report_text(p, n, top, 0, &out), 0);
  pprof_top_free(top);
  buf_done(&out);
  pprof_nodes_free(n);
  pprof_profile_free(p);
  tprof_free(t);
}
END_TEST

START_TEST(test_units) {
  char b[PPROF_LABEL_SIZE];
  ck_assert_str_eq(pprof_scaled_label(6720000000, "nanoseconds", "s", b, sizeof(b)), "6.72s");
  ck_assert_str_eq(pprof_scaled_label(0, "nanoseconds", "s", b, sizeof(b)), "0");
  ck_assert_str_eq(pprof_scaled_label(22, "count", "count", b, sizeof(b)), "22");
  ck_assert_str_eq(pprof_scaled_label(-6340730, "bytes", "kB", b, sizeof(b)), "-6192.12kB");
  ck_assert_str_eq(pprof_scaled_label(5187773415, "nanoseconds", "auto", b, sizeof(b)), "5.19s");
  ck_assert_str_eq(pprof_scaled_label(3 * 3600000000000LL, "nanoseconds", "auto", b, sizeof(b)),
                   "3hrs");
  ck_assert_str_eq(pprof_scaled_label(1536, "bytes", "auto", b, sizeof(b)), "1.50kB");
  ck_assert_str_eq(pprof_scaled_label(7, "widgets", "widgets", b, sizeof(b)), "7widgets");
  ck_assert_str_eq(pprof_percentage(1, 3, b, sizeof(b)), "33.33%");
  ck_assert_str_eq(pprof_percentage(1, 200, b, sizeof(b)), "  0.5%");
  ck_assert_str_eq(pprof_percentage(999, 1000, b, sizeof(b)), "99.90%");
  ck_assert_str_eq(pprof_percentage(9996, 10000, b, sizeof(b)), "  100%");
  ck_assert_str_eq(pprof_percentage(1, 0, b, sizeof(b)), "    0%");
  ck_assert_str_eq(pprof_percentage(1, 1000000, b, sizeof(b)), "0.0001%");
  ck_assert_str_eq(pprof_output_unit(30000000, 6720000000, "nanoseconds"), "s");
  ck_assert_str_eq(pprof_output_unit(10, 10, "count"), "count");
}
END_TEST

static Suite *pprof_summary_suite(void) {
  Suite *s = suite_create("pprof_summary");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_corpus_top_text_matches_go);
  tcase_add_test(tc, test_recursion);
  tcase_add_test(tc, test_inlined_frames);
  tcase_add_test(tc, test_multiple_types_and_stackless);
  tcase_add_test(tc, test_zero_everything);
  tcase_add_test(tc, test_goroutine_stacks);
  tcase_add_test(tc, test_units);
  tcase_add_test(tc, test_extreme_values);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(pprof_summary_suite());
  int failed;
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
