#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"
#include "pprof_build.h"
#include "pprof_merge.h"
#include "pprof_summary.h"
#include "testutil.h"
#include "util.h"

static struct pprof_profile *decode_buf(const struct buf *b) {
  struct pprof_profile *p = NULL;
  char *err = NULL;
  ck_assert_msg(pprof_decode(b->data, b->len, 1u << 30, &p, &err) == 0, "%s", err);
  return p;
}

static struct pprof_profile *decode_file(const char *name) {
  size_t len;
  uint8_t *data = test_read_file(test_data_path(name), &len);
  struct pprof_profile *p = NULL;
  char *err = NULL;
  ck_assert_msg(pprof_decode(data, len, 1u << 30, &p, &err) == 0, "%s: %s", name, err);
  free(data);
  return p;
}

static int64_t cum_of(const struct pprof_profile *p, int si, const char *name, int64_t *ret_flat) {
  struct pprof_nodes *n = pprof_nodes_new(p);
  struct pprof_top_opts o;
  struct pprof_top *t;
  int64_t cum = 0;

  pprof_top_opts_default(&o);
  o.node_fraction = 0;
  t = pprof_top_compute(p, n, si, &o);
  if (ret_flat)
    *ret_flat = 0;
  for (size_t i = 0; i < t->n_rows; i++) {
    if (strcmp(n->nodes[t->rows[i].node].name, name) == 0) {
      cum = t->rows[i].cum;
      if (ret_flat)
        *ret_flat = t->rows[i].flat;
    }
  }
  pprof_top_free(t);
  pprof_nodes_free(n);
  return cum;
}

/* The writer contract: frames leaf first, identical stacks summed, output
 * is a gzip'd profile our decoder (and Go's) reads back. */
START_TEST(test_builder_roundtrip) {
  struct pprof_builder *b = pprof_builder_new();
  struct pprof_frame s1[] = {{"runtime.chanrecv1", "chan.go", 10, 0x100},
                             {"main.consumer", "main.go", 42, 0x200},
                             {"runtime.goexit", "asm.s", 1, 0x300}};
  struct pprof_frame s2[] = {{"sync.(*Mutex).Lock", "mutex.go", 81, 0x400},
                             {"main.consumer", "main.go", 44, 0x210}};
  struct pprof_builder_label lab[] = {{"span", "a", 0, NULL}};
  struct buf out;
  struct pprof_profile *p;
  int64_t flat;

  pprof_builder_add_sample_type(b, "contentions", "count");
  pprof_builder_add_sample_type(b, "delay", "nanoseconds");
  pprof_builder_set_period(b, "contentions", "count", 1);
  pprof_builder_set_time(b, 1700000000000000000, 5000000000);
  ck_assert_int_eq(pprof_builder_add_sample(b, s1, 3, (int64_t[]){1, 100}), 0);
  ck_assert_int_eq(pprof_builder_add_sample(b, s1, 3, (int64_t[]){2, 250}), 0);
  ck_assert_int_eq(pprof_builder_add_sample(b, s2, 2, (int64_t[]){5, 1000}), 0);
  ck_assert_int_eq(pprof_builder_add_sample_labels(b, s2, 2, (int64_t[]){1, 1}, lab, 1), 0);
  ck_assert_uint_eq(pprof_builder_sample_count(b), 3);
  /* Sample types are fixed once samples exist. */
  pprof_builder_add_sample_type(b, "late", "count");
  buf_init(&out, 1u << 20);
  ck_assert_int_eq(pprof_builder_write(b, &out), -EINVAL);
  pprof_builder_free(b);

  b = pprof_builder_new();
  pprof_builder_add_sample_type(b, "contentions", "count");
  pprof_builder_add_sample_type(b, "delay", "nanoseconds");
  pprof_builder_set_period(b, "contentions", "count", 1);
  pprof_builder_set_time(b, 1700000000000000000, 5000000000);
  pprof_builder_add_sample(b, s1, 3, (int64_t[]){1, 100});
  pprof_builder_add_sample(b, s1, 3, (int64_t[]){2, 250});
  pprof_builder_add_sample(b, s2, 2, (int64_t[]){5, 1000});
  pprof_builder_add_sample_labels(b, s2, 2, (int64_t[]){1, 1}, lab, 1);
  buf_reset(&out);
  ck_assert_int_eq(pprof_builder_write(b, &out), 0);
  ck_assert_uint_gt(out.len, 20);
  ck_assert_int_eq(out.data[0], 0x1f);
  p = decode_buf(&out);
  ck_assert_uint_eq(p->n_samples, 3);
  ck_assert_uint_eq(p->n_functions, 4);
  ck_assert_uint_eq(p->n_locations, 5);
  ck_assert_str_eq(p->sample_types[1].unit, "nanoseconds");
  ck_assert_str_eq(p->period_type.type, "contentions");
  ck_assert_int_eq(p->time_nanos, 1700000000000000000);
  ck_assert_int_eq(p->duration_nanos, 5000000000);
  ck_assert_int_eq(cum_of(p, 1, "main.consumer", &flat), 1351);
  ck_assert_int_eq(flat, 0);
  ck_assert_int_eq(cum_of(p, 1, "runtime.chanrecv1", &flat), 350);
  ck_assert_int_eq(flat, 350);
  ck_assert_int_eq(cum_of(p, 0, "sync.(*Mutex).Lock", NULL), 6);
  /* Line numbers and addresses survive. */
  {
    bool found = false;
    for (size_t i = 0; i < p->n_locations; i++)
      if (p->locations[i].address == 0x200 && p->locations[i].lines[0].line == 42)
        found = true;
    ck_assert(found);
  }
  pprof_profile_free(p);
  buf_done(&out);
  pprof_builder_free(b);
}
END_TEST

START_TEST(test_builder_limits) {
  struct pprof_builder *b = pprof_builder_new();
  struct pprof_frame f = {"f", "f.go", 1, 1};
  struct buf out;

  /* No sample types: adding samples is a usage error. */
  ck_assert_int_eq(pprof_builder_add_sample(b, &f, 1, (int64_t[]){1}), -EINVAL);
  pprof_builder_add_sample_type(b, "samples", "count");
  for (int i = 0; i < 5000; i++) {
    char name[32];
    struct pprof_frame g = {name, "gen.go", i, (uint64_t)i};
    snprintf(name, sizeof(name), "gen.f%d", i);
    ck_assert_int_eq(pprof_builder_add_sample(b, &g, 1, (int64_t[]){i}), 0);
  }
  /* The output cap is honoured. */
  buf_init(&out, 100);
  ck_assert_int_eq(pprof_builder_write(b, &out), -EFBIG);
  buf_done(&out);
  pprof_builder_free(b);
  ck_assert_ptr_null(pprof_builder_free(NULL));
}
END_TEST

/* Merging the same profile twice doubles every value and keeps the
 * number of distinct samples; locations and functions are not
 * duplicated. */
START_TEST(test_merge_self) {
  struct pprof_profile *a = decode_file("pprof/work/heap.pprof");
  struct pprof_merge *m = pprof_merge_new();
  struct pprof_profile *r;
  struct buf out;
  char *err = NULL;
  int64_t ca, cr, fa, fr;

  ck_assert_int_eq(pprof_merge_add(m, a, "a", &err), 0);
  ck_assert_int_eq(pprof_merge_add(m, a, "a again", &err), 0);
  ck_assert_uint_eq(pprof_merge_count(m), 2);
  buf_init(&out, 64u << 20);
  ck_assert_int_eq(pprof_merge_write(m, &out), 0);
  r = decode_buf(&out);
  for (size_t si = 0; si < a->n_sample_types; si++) {
    int64_t ta = 0, tr = 0;
    for (size_t i = 0; i < a->n_samples; i++)
      ta += a->samples[i].values[si];
    for (size_t i = 0; i < r->n_samples; i++)
      tr += r->samples[i].values[si];
    ck_assert_int_eq(tr, 2 * ta);
  }
  ca = cum_of(a, 3, "main.retainBig", &fa);
  cr = cum_of(r, 3, "main.retainBig", &fr);
  ck_assert_int_gt(ca, 0);
  ck_assert_int_eq(cr, 2 * ca);
  ck_assert_int_eq(fr, 2 * fa);
  ck_assert_uint_le(r->n_samples, a->n_samples);
  ck_assert_uint_le(r->n_functions, a->n_functions);
  ck_assert_uint_le(r->n_locations, a->n_locations);
  ck_assert_str_eq(r->mappings[0].file, a->mappings[0].file);
  ck_assert_int_eq(r->duration_nanos, 2 * a->duration_nanos);
  ck_assert_int_eq(r->time_nanos, a->time_nanos);
  pprof_profile_free(r);
  buf_done(&out);
  pprof_merge_free(m);
  pprof_profile_free(a);
}
END_TEST

START_TEST(test_merge_incompatible) {
  struct pprof_profile *a = decode_file("pprof/work/heap.pprof");
  struct pprof_profile *c = decode_file("pprof/work/cpu-5s.pprof");
  struct pprof_merge *m = pprof_merge_new();
  struct buf out;
  char *err = NULL;

  buf_init(&out, 1u << 20);
  ck_assert_int_eq(pprof_merge_write(m, &out), -ENODATA);
  ck_assert_int_eq(pprof_merge_add(m, a, "capture 1", &err), 0);
  ck_assert_int_eq(pprof_merge_add(m, c, "capture 2", &err), -EINVAL);
  ck_assert_msg(strstr(err, "capture 2") && strstr(err, "cpu/nanoseconds"), "%s", err);
  free(err);
  ck_assert_uint_eq(pprof_merge_count(m), 1);
  buf_done(&out);
  pprof_merge_free(m);
  pprof_profile_free(a);
  pprof_profile_free(c);
}
END_TEST

/* A diff of a profile against itself cancels out: every sample is kept
 * (base samples are labelled), pprof's total is the base's, and every
 * function's net value is zero. */
START_TEST(test_diff_profile) {
  struct pprof_profile *a = decode_file("pprof/work/cpu-5s.pprof");
  struct pprof_profile *b = decode_file("pprof/work/errors/cpu-concurrent-first-3s.pprof");
  struct pprof_merge *m = pprof_merge_new();
  struct pprof_profile *r;
  struct buf out;
  char *err = NULL;
  int64_t flat;

  ck_assert_int_eq(pprof_merge_add_base(m, a, "base", &err), 0);
  ck_assert_int_eq(pprof_merge_add(m, b, "new", &err), 0);
  buf_init(&out, 64u << 20);
  ck_assert_int_eq(pprof_merge_write(m, &out), 0);
  r = decode_buf(&out);
  ck_assert_int_eq(pprof_total(r, 1), pprof_total(a, 1));
  ck_assert_int_eq(cum_of(r, 1, "main.spin", &flat),
                   cum_of(b, 1, "main.spin", NULL) - cum_of(a, 1, "main.spin", NULL));
  pprof_profile_free(r);
  buf_done(&out);
  pprof_merge_free(m);

  m = pprof_merge_new();
  pprof_merge_add_base(m, a, "base", &err);
  pprof_merge_add(m, a, "same", &err);
  buf_init(&out, 64u << 20);
  ck_assert_int_eq(pprof_merge_write(m, &out), 0);
  r = decode_buf(&out);
  ck_assert_uint_eq(r->n_samples, 2 * a->n_samples);
  ck_assert_int_eq(cum_of(r, 1, "main.spin", NULL), 0);
  pprof_profile_free(r);
  buf_done(&out);
  pprof_merge_free(m);
  pprof_profile_free(a);
  pprof_profile_free(b);
}
END_TEST

/* Extreme values through merge (negated base) and the builder's sums. */
START_TEST(test_merge_extremes) {
  struct pprof_builder *b = pprof_builder_new();
  struct pprof_frame f = {"f", "f.go", 1, 1};
  struct pprof_merge *m = pprof_merge_new();
  struct pprof_profile *p, *r;
  struct buf out;
  char *err = NULL;

  pprof_builder_add_sample_type(b, "space", "bytes");
  /* Two INT64_MIN sum to 0 (wrapping, as in Go): that sample is zero. */
  pprof_builder_add_sample(b, &f, 1, (int64_t[]){INT64_MIN});
  pprof_builder_add_sample(b, &f, 1, (int64_t[]){INT64_MIN});
  f.line = 2;
  pprof_builder_add_sample(b, &f, 1, (int64_t[]){INT64_MIN});
  buf_init(&out, 1u << 20);
  ck_assert_int_eq(pprof_builder_write(b, &out), 0);
  p = decode_buf(&out);
  ck_assert_int_eq(pprof_merge_add_base(m, p, "base", &err), 0);
  ck_assert_int_eq(pprof_merge_add(m, p, "new", &err), 0);
  buf_reset(&out);
  ck_assert_int_eq(pprof_merge_write(m, &out), 0);
  r = decode_buf(&out);
  /* The labelled base sample and the new one (zero samples dropped). */
  ck_assert_uint_eq(p->n_samples, 2);
  ck_assert_uint_eq(r->n_samples, 2);
  pprof_profile_free(r);
  pprof_profile_free(p);
  pprof_merge_free(m);
  pprof_builder_free(b);
  buf_done(&out);
}
END_TEST

static Suite *pprof_build_suite(void) {
  Suite *s = suite_create("pprof_build");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_builder_roundtrip);
  tcase_add_test(tc, test_builder_limits);
  tcase_add_test(tc, test_merge_self);
  tcase_add_test(tc, test_merge_incompatible);
  tcase_add_test(tc, test_diff_profile);
  tcase_add_test(tc, test_merge_extremes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(pprof_build_suite());
  int failed;
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
