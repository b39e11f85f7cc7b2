#include "config.h"

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flamegraph.h"
#include "pprof.h"
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

/* Checks that tags nest properly (the subset of XML the renderer writes:
 * no comments, CDATA only in style/script). */
static void assert_balanced_xml(const char *s) {
  char stack[64][32];
  int depth = 0;
  const char *p = s;

  while ((p = strchr(p, '<'))) {
    if (strncmp(p, "<?", 2) == 0) {
      p = strstr(p, "?>");
      ck_assert_ptr_nonnull(p);
      continue;
    }
    if (strncmp(p, "<![CDATA[", 9) == 0) {
      p = strstr(p, "]]>");
      ck_assert_ptr_nonnull(p);
      continue;
    }
    const char *end = strchr(p, '>');
    ck_assert_ptr_nonnull(end);
    if (p[1] == '/') {
      size_t n = strcspn(p + 2, " >");
      ck_assert_int_gt(depth, 0);
      depth--;
      ck_assert_msg(strlen(stack[depth]) == n && strncmp(stack[depth], p + 2, n) == 0,
                    "</%.*s> closes <%s>", (int)n, p + 2, stack[depth]);
    } else if (end[-1] != '/') {
      size_t n = strcspn(p + 1, " >");
      ck_assert_int_lt(depth, 64);
      ck_assert_uint_lt(n, 32);
      memcpy(stack[depth], p + 1, n);
      stack[depth][n] = '\0';
      depth++;
    }
    /* Attribute values and text never contain a raw '<'. */
    ck_assert_ptr_null(memchr(p + 1, '<', (size_t)(end - p - 1)));
    p = end;
  }
  ck_assert_int_eq(depth, 0);
}

struct frame {
  int64_t x, v;
  int d;
};

/* Parses every frame's data-x/data-v/data-d, in document order. */
static size_t parse_frames(const char *svg, struct frame *out, size_t max) {
  size_t n = 0;
  const char *p = svg;
  while ((p = strstr(p, "<g class=\"f\"")) && n < max) {
    ck_assert_int_eq(
        sscanf(p, "<g class=\"f\" data-x=\"%" SCNd64 "\" data-v=\"%" SCNd64 "\" data-d=\"%d\"",
               &out[n].x, &out[n].v, &out[n].d),
        3);
    n++;
    p++;
  }
  return n;
}

START_TEST(test_handmade_layout) {
  struct tprof *t = tprof_new();
  struct flamegraph *fg = flamegraph_new();
  struct flamegraph_opts o;
  struct pprof_profile *p;
  struct buf out;
  struct frame fr[16];
  size_t len, n;
  uint8_t *data;
  char *err = NULL;

  tprof_sample_type(t, "cpu", "nanoseconds");
  tprof_function(t, 1, "main.main", "m.go");
  tprof_function(t, 2, "main.b", "m.go");
  tprof_function(t, 3, "main.a", "m.go");
  tprof_function(t, 4, "bad<&>\xff", "m.go");
  for (uint64_t i = 1; i <= 4; i++)
    tprof_simple_location(t, i, i);
  tprof_sample(t, 2, (uint64_t[]){2, 1}, (int64_t[]){30});
  tprof_sample(t, 2, (uint64_t[]){3, 1}, (int64_t[]){10});
  tprof_sample(t, 3, (uint64_t[]){4, 3, 1}, (int64_t[]){5});
  tprof_sample(t, 1, (uint64_t[]){1}, (int64_t[]){-7});
  data = tprof_pack(t, false, &len);
  ck_assert_int_eq(pprof_decode(data, len, 1u << 20, &p, &err), 0);
  ck_assert_int_eq(flamegraph_add(fg, p, 0), 0);
  ck_assert_int_eq(flamegraph_add(fg, p, 1), -EINVAL);
  ck_assert_int_eq(flamegraph_total(fg), 45);
  ck_assert_uint_eq(flamegraph_skipped_negative(fg), 1);
  flamegraph_opts_default(&o);
  o.title = "A & B";
  buf_init(&out, 1u << 24);
  ck_assert_int_eq(flamegraph_render(fg, &o, &out), 0);
  buf_terminate(&out);
  assert_balanced_xml((char *)out.data);
  ck_assert_ptr_nonnull(strstr((char *)out.data, "<title>all (45ns, 100.00%)</title>"));
  ck_assert_ptr_nonnull(strstr((char *)out.data, "A &amp; B"));
  /* The invalid byte became U+FFFD, the markup characters entities. */
  ck_assert_ptr_nonnull(strstr((char *)out.data, "bad&lt;&amp;&gt;\xef\xbf\xbd ("));
  ck_assert_ptr_nonnull(strstr((char *)out.data, "<script"));
  ck_assert_ptr_null(strstr((char *)out.data, "http://www.w3.org/1999/xlink"));
  n = parse_frames((char *)out.data, fr, 16);
  /* all, main.main, main.a (sorted before main.b), bad, main.b */
  ck_assert_uint_eq(n, 5);
  ck_assert(fr[0].d == 0 && fr[0].x == 0 && fr[0].v == 45);
  ck_assert(fr[1].d == 1 && fr[1].x == 0 && fr[1].v == 45);
  ck_assert(fr[2].d == 2 && fr[2].x == 0 && fr[2].v == 15);
  ck_assert(fr[3].d == 3 && fr[3].x == 0 && fr[3].v == 5);
  ck_assert(fr[4].d == 2 && fr[4].x == 15 && fr[4].v == 30);
  ck_assert_ptr_nonnull(strstr((char *)out.data, "negative samples left out"));
  buf_done(&out);
  flamegraph_free(fg);
  pprof_profile_free(p);
  free(data);
  tprof_free(t);
}
END_TEST

/* A real profile: children lie inside their parents, the tree is as deep
 * as the stacks, and two captures add up. */
START_TEST(test_corpus_nesting) {
  struct pprof_profile *p = decode_file("pprof/esbuild/cpu-30s-repeated.pprof");
  struct flamegraph *fg = flamegraph_new();
  struct flamegraph_opts o;
  struct buf out;
  struct frame *fr = xcalloc(200000, sizeof(*fr));
  struct frame stack[4096];
  size_t n;

  ck_assert_int_eq(flamegraph_add(fg, p, 1), 0);
  ck_assert_int_eq(flamegraph_total(fg), 56870000000 - 60000000 + 60000000);
  ck_assert_int_eq(flamegraph_add(fg, p, 1), 0);
  ck_assert_int_eq(flamegraph_total(fg), 2 * 56870000000);
  flamegraph_opts_default(&o);
  o.icicle = true;
  buf_init(&out, 256u << 20);
  ck_assert_int_eq(flamegraph_render(fg, &o, &out), 0);
  buf_terminate(&out);
  assert_balanced_xml((char *)out.data);
  n = parse_frames((char *)out.data, fr, 200000);
  ck_assert_uint_gt(n, 500);
  stack[0] = fr[0];
  for (size_t i = 1; i < n; i++) {
    ck_assert_int_ge(fr[i].d, 1);
    ck_assert_int_lt(fr[i].d, 4096);
    stack[fr[i].d] = fr[i];
    ck_assert_int_ge(fr[i].x, stack[fr[i].d - 1].x);
    ck_assert_int_le(fr[i].x + fr[i].v, stack[fr[i].d - 1].x + stack[fr[i].d - 1].v);
  }
  buf_done(&out);
  free(fr);
  flamegraph_free(fg);
  pprof_profile_free(p);
}
END_TEST

START_TEST(test_huge_values) {
  struct tprof *t = tprof_new();
  struct flamegraph *fg = flamegraph_new();
  struct flamegraph_opts o;
  struct pprof_profile *p;
  struct buf out;
  size_t len;
  uint8_t *data;
  char *err = NULL;

  tprof_sample_type(t, "space", "bytes");
  tprof_function(t, 1, "a", "a.go");
  tprof_function(t, 2, "b", "b.go");
  tprof_simple_location(t, 1, 1);
  tprof_simple_location(t, 2, 2);
  tprof_sample(t, 1, (uint64_t[]){1}, (int64_t[]){INT64_MAX});
  tprof_sample(t, 1, (uint64_t[]){2}, (int64_t[]){INT64_MAX});
  data = tprof_pack(t, false, &len);
  ck_assert_int_eq(pprof_decode(data, len, 1u << 20, &p, &err), 0);
  ck_assert_int_eq(flamegraph_add(fg, p, 0), 0);
  flamegraph_opts_default(&o);
  buf_init(&out, 1u << 24);
  ck_assert_int_eq(flamegraph_render(fg, &o, &out), 0);
  buf_terminate(&out);
  assert_balanced_xml((char *)out.data);
  buf_done(&out);
  flamegraph_free(fg);
  pprof_profile_free(p);
  free(data);
  tprof_free(t);
}
END_TEST

static Suite *flamegraph_suite(void) {
  Suite *s = suite_create("flamegraph");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_handmade_layout);
  tcase_add_test(tc, test_corpus_nesting);
  tcase_add_test(tc, test_huge_values);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(flamegraph_suite());
  int failed;
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
