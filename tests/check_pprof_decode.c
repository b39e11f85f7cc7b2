#include "config.h"

#include <check.h>
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"
#include "pprof_testlib.h"
#include "testutil.h"
#include "util.h"

#define MAX_DECOMPRESSED (64u << 20)

static struct pprof_profile *decode_ok(const uint8_t *data, size_t len) {
  struct pprof_profile *p = NULL;
  char *err = NULL;
  int r = pprof_decode(data, len, MAX_DECOMPRESSED, &p, &err);
  ck_assert_msg(r == 0, "decode failed: %s", err ? err : "?");
  ck_assert_ptr_null(err);
  return p;
}

/* Decodes and expects failure; returns the message (caller frees). */
static char *decode_err(const uint8_t *data, size_t len, int expect) {
  struct pprof_profile *p = NULL;
  char *err = NULL;
  int r = pprof_decode(data, len, MAX_DECOMPRESSED, &p, &err);
  ck_assert_msg(r < 0, "decode unexpectedly succeeded");
  if (expect)
    ck_assert_msg(r == expect, "decode returned %d, expected %d (%s)", r, expect, err);
  ck_assert_ptr_null(p);
  ck_assert_ptr_nonnull(err);
  ck_assert_msg(strlen(err) > 10, "message too short: %s", err);
  return err;
}

static void assert_err_contains(const uint8_t *data, size_t len, const char *needle) {
  char *err = decode_err(data, len, -EBADMSG);
  ck_assert_msg(strstr(err, needle), "error '%s' does not mention '%s'", err, needle);
  free(err);
}

/* Every corpus profile decodes, and its header fields and per-type sums
 * match what Go's decoder found (X.totals.tsv beside each profile). */
START_TEST(test_corpus_totals) {
  glob_t g;
  char pattern[4096];
  size_t checked = 0;

  snprintf(pattern, sizeof(pattern), "%s", test_data_path("pprof/*/*.totals.tsv"));
  ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
  snprintf(pattern, sizeof(pattern), "%s", test_data_path("pprof/*/*/*.totals.tsv"));
  glob(pattern, GLOB_APPEND, NULL, &g);
  for (size_t gi = 0; gi < g.gl_pathc; gi++) {
    const char *ref = g.gl_pathv[gi];
    const char *rel = strstr(ref, "/tests/data/pprof/") + strlen("/tests/data/pprof/");
    char *prof_name = xasprintf("pprof/%.*s", (int)(strlen(rel) - strlen(".totals.tsv")), rel);
    size_t len, tlen;
    uint8_t *data = test_read_file(test_data_path(prof_name), &len);
    char *tsv = (char *)test_read_file(ref, &tlen);
    struct pprof_profile *p = decode_ok(data, len);
    char *save = NULL;

    ck_assert(p->gzipped);
    for (char *line = strtok_r(tsv, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      char key[64], a[256] = "", b[256] = "";
      int idx;
      int64_t total;
      if (sscanf(line, "%d\t%255s\t%255s\t%" SCNd64, &idx, a, b, &total) == 4) {
        int64_t sum = 0;
        ck_assert_uint_lt((size_t)idx, p->n_sample_types);
        ck_assert_str_eq(p->sample_types[idx].type, a);
        ck_assert_str_eq(p->sample_types[idx].unit, b);
        for (size_t s = 0; s < p->n_samples; s++)
          sum += p->samples[s].values[idx];
        ck_assert_msg(sum == total, "%s type %d: sum %" PRId64 " != %" PRId64, prof_name, idx, sum,
                      total);
      } else if (sscanf(line, "#%63s\t%255[^\n]", key, a) >= 1) {
        if (strcmp(key, "PeriodType") == 0) {
          char *both = xasprintf("%s %s", p->period_type.type, p->period_type.unit);
          ck_assert_str_eq(both, a);
          free(both);
        } else if (strcmp(key, "Period") == 0) {
          ck_assert_int_eq(p->period, strtoll(a, NULL, 10));
        } else if (strcmp(key, "TimeNanos") == 0) {
          ck_assert_int_eq(p->time_nanos, strtoll(a, NULL, 10));
        } else if (strcmp(key, "DurationNanos") == 0) {
          ck_assert_int_eq(p->duration_nanos, *a ? strtoll(a, NULL, 10) : 0);
        } else if (strcmp(key, "DefaultSampleType") == 0) {
          ck_assert_str_eq(p->default_sample_type, a);
        }
      }
      (void)b;
    }
    pprof_profile_free(p);
    free(tsv);
    free(data);
    free(prof_name);
    checked++;
  }
  globfree(&g);
  ck_assert_uint_ge(checked, 30);
}
END_TEST

START_TEST(test_plain_and_gzip_agree) {
  size_t len, plain_len;
  uint8_t *gz = test_read_file(test_data_path("pprof/work/cpu-5s.pprof"), &len);
  struct buf out;
  char *err = NULL;
  struct pprof_profile *a, *b;

  buf_init(&out, MAX_DECOMPRESSED);
  ck_assert_int_eq(pprof_gunzip(gz, len, &out, &err), 0);
  plain_len = out.len;
  a = decode_ok(gz, len);
  b = decode_ok(out.data, plain_len);
  ck_assert(a->gzipped);
  ck_assert(!b->gzipped);
  ck_assert_uint_eq(a->n_samples, b->n_samples);
  ck_assert_uint_eq(a->n_locations, b->n_locations);
  ck_assert_uint_eq(a->n_functions, b->n_functions);
  ck_assert_str_eq(a->mappings[0].file, "/usr/local/bin/corpus-workload");
  ck_assert_str_eq(b->mappings[0].file, a->mappings[0].file);
  ck_assert_int_eq(a->period, 10000000);
  ck_assert_str_eq(a->period_type.type, "cpu");
  pprof_profile_free(a);
  pprof_profile_free(b);
  buf_done(&out);
  free(gz);
}
END_TEST

static struct tprof *small_profile(void) {
  struct tprof *t = tprof_new();
  uint64_t inl[] = {3, 2}; /* inlined f3 inside f2 */
  uint64_t stack1[] = {1, 2, 4};
  int64_t v1[] = {1, 10};

  tprof_sample_type(t, "samples", "count");
  tprof_sample_type(t, "cpu", "nanoseconds");
  tprof_period(t, "cpu", "nanoseconds", 10000000);
  tprof_mapping(t, 1, "/bin/app");
  tprof_function(t, 1, "main.leaf", "main.go");
  tprof_function(t, 2, "main.caller", "main.go");
  tprof_function(t, 3, "main.inlined", "util.go");
  tprof_function(t, 4, "main.main", "main.go");
  tprof_location(t, 1, 1, 0x1000, 1, (uint64_t[]){1}, NULL);
  tprof_location(t, 2, 1, 0x2000, 2, inl, NULL);
  tprof_location(t, 4, 1, 0x4000, 1, (uint64_t[]){4}, NULL);
  tprof_label(t, tprof_sample(t, 3, stack1, v1), "span", "abc", 0, NULL);
  tprof_comment(t, "hello");
  t->m.time_nanos = 1700000000000000000;
  t->m.duration_nanos = 1000000000;
  return t;
}

START_TEST(test_handmade_model) {
  struct tprof *t = small_profile();
  size_t len;
  uint8_t *data = tprof_pack(t, true, &len);
  struct pprof_profile *p = decode_ok(data, len);

  ck_assert_uint_eq(p->n_sample_types, 2);
  ck_assert_str_eq(p->sample_types[1].type, "cpu");
  ck_assert_uint_eq(p->n_samples, 1);
  ck_assert_uint_eq(p->samples[0].n_locations, 3);
  ck_assert_uint_eq(p->samples[0].locations[1], 1); /* location id 2 is at index 1 */
  ck_assert_uint_eq(p->locations[1].n_lines, 2);
  ck_assert_str_eq(p->functions[p->locations[1].lines[0].function].name, "main.inlined");
  ck_assert_uint_eq(p->locations[1].mapping, 0);
  ck_assert_uint_eq(p->samples[0].n_labels, 1);
  ck_assert_str_eq(p->samples[0].labels[0].key, "span");
  ck_assert_str_eq(p->samples[0].labels[0].str, "abc");
  ck_assert_uint_eq(p->n_comments, 1);
  ck_assert_str_eq(p->comments[0], "hello");
  ck_assert_int_eq(p->time_nanos, 1700000000000000000);
  ck_assert_int_eq(pprof_default_sample_index(p), 1);
  ck_assert_int_eq(pprof_find_sample_index(p, "samples"), 0);
  ck_assert_int_eq(pprof_find_sample_index(p, "1"), 1);
  ck_assert_int_eq(pprof_find_sample_index(p, "2"), -1);
  ck_assert_int_eq(pprof_find_sample_index(p, "nope"), -1);
  pprof_profile_free(p);
  free(data);
  tprof_free(t);
}
END_TEST

START_TEST(test_sparse_ids_and_numeric_labels) {
  struct tprof *t = tprof_new();
  uint64_t stack[] = {900000000001ULL};
  int64_t v[] = {5};
  size_t len;
  uint8_t *data;
  struct pprof_profile *p;
  Perftools__Profiles__Sample *s;

  tprof_sample_type(t, "alloc_space", "bytes");
  tprof_function(t, 77777, "f", "f.go");
  tprof_location(t, 900000000001ULL, 0, 0, 1, (uint64_t[]){77777}, NULL);
  s = tprof_sample(t, 1, stack, v);
  tprof_label(t, s, "bytes", NULL, 4096, "bytes");
  tprof_label(t, s, "empty", NULL, 0, NULL); /* neither str nor num: ignored */
  data = tprof_pack(t, false, &len);
  p = decode_ok(data, len);
  ck_assert_uint_eq(p->samples[0].n_labels, 1);
  ck_assert_ptr_null(p->samples[0].labels[0].str);
  ck_assert_int_eq(p->samples[0].labels[0].num, 4096);
  ck_assert_str_eq(p->samples[0].labels[0].num_unit, "bytes");
  ck_assert_str_eq(p->functions[p->locations[p->samples[0].locations[0]].lines[0].function].name,
                   "f");
  ck_assert_str_eq(p->period_type.type, "");
  pprof_profile_free(p);
  free(data);
  tprof_free(t);
}
END_TEST

START_TEST(test_empty_profile) {
  struct tprof *t = tprof_new();
  size_t len;
  uint8_t *data;
  struct pprof_profile *p;
  char *err;

  tprof_sample_type(t, "goroutine", "count");
  data = tprof_pack(t, true, &len);
  p = decode_ok(data, len);
  ck_assert_uint_eq(p->n_samples, 0);
  ck_assert_int_eq(pprof_default_sample_index(p), 0);
  pprof_profile_free(p);
  free(data);
  tprof_free(t);

  /* Zero bytes, and gzip of zero bytes. */
  err = decode_err((const uint8_t *)"", 0, -EBADMSG);
  ck_assert(strstr(err, "empty"));
  free(err);
  data = test_gzip((const uint8_t *)"", 0, &len);
  err = decode_err(data, len, -EBADMSG);
  ck_assert(strstr(err, "empty"));
  free(err);
  free(data);
}
END_TEST

/* Each broken variant names the broken thing. */
START_TEST(test_semantic_errors) {
  struct {
    const char *needle;
    void (*breakit)(struct tprof *t);
  } cases[] = {
      {"location id 99", NULL},
      {"function id 42", NULL},
      {"string index 1000", NULL},
      {"values", NULL},
      {"two functions have id 1", NULL},
      {"reserved id 0", NULL},
      {"mapping id 5", NULL},
      {"entry 0", NULL},
      {"no function", NULL},
  };

  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct tprof *t = small_profile();
    size_t len;
    uint8_t *data;

    switch (i) {
    case 0:
      t->m.sample[0]->location_id[1] = 99;
      break;
    case 1:
      t->m.location[0]->line[0]->function_id = 42;
      break;
    case 2:
      t->m.function[2]->name = 1000;
      break;
    case 3:
      t->m.sample[0]->n_value = 1;
      break;
    case 4:
      t->m.function[1]->id = 1;
      break;
    case 5:
      t->m.location[2]->id = 0;
      break;
    case 6:
      t->m.location[0]->mapping_id = 5;
      break;
    case 7:
      free(t->m.string_table[0].data);
      t->m.string_table[0].len = 1;
      t->m.string_table[0].data = (uint8_t *)xstrdup("x");
      break;
    case 8:
      t->m.location[1]->line[1]->function_id = 0;
      break;
    }
    data = tprof_pack(t, i % 2 == 0, &len);
    assert_err_contains(data, len, cases[i].needle);
    free(data);
    tprof_free(t);
  }
}
END_TEST

START_TEST(test_wire_errors) {
  /* A truncated varint: field 9 (time_nanos) whose value never ends. */
  const uint8_t trunc_varint[] = {0x48, 0xff, 0xff};
  /* Field 2 (sample) claims 100 bytes, has 2. */
  const uint8_t long_len[] = {0x12, 0x64, 0x08, 0x01};
  /* A group wire type. */
  const uint8_t group[] = {0x33, 0x00};
  /* An 11-byte varint. */
  const uint8_t overlong[] = {0x48, 0xff, 0xff, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  /* sample (field 2) given as a varint. */
  const uint8_t wrong_wt[] = {0x10, 0x01};
  /* A 6-byte tag and a 6-byte length: protobuf-c's limit is 5 (a tag is 32
   * bits); the fuzzer found the decoder accepting the tag. */
  const uint8_t long_tag[] = {0xb5, 0xb7, 0xb7, 0xb7, 0xb7, 0x32, 0, 0, 0, 0};
  const uint8_t long_length[] = {0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};

  assert_err_contains(trunc_varint, sizeof(trunc_varint), "truncated varint");
  assert_err_contains(long_len, sizeof(long_len), "Profile.sample[0]");
  assert_err_contains(group, sizeof(group), "wire type");
  assert_err_contains(overlong, sizeof(overlong), "longer than 10 bytes");
  assert_err_contains(wrong_wt, sizeof(wrong_wt), "wire type 0");
  assert_err_contains(long_tag, sizeof(long_tag), "field tag longer than 5 bytes");
  assert_err_contains(long_length, sizeof(long_length), "length longer than 5 bytes");
}
END_TEST

START_TEST(test_gzip_errors) {
  size_t len, glen;
  uint8_t *gz = test_read_file(test_data_path("pprof/work/heap.pprof"), &len);
  uint8_t *copy = xmalloc(len + 16);
  char *err;

  /* Truncated gzip. */
  err = decode_err(gz, len / 2, -EBADMSG);
  ck_assert_msg(strstr(err, "truncated"), "%s", err);
  free(err);
  /* Corrupt deflate data. */
  memcpy(copy, gz, len);
  for (size_t i = 20; i < 60; i++)
    copy[i] ^= 0x5a;
  err = decode_err(copy, len, 0);
  ck_assert_msg(strstr(err, "gzip"), "%s", err);
  free(err);
  /* Trailing garbage. */
  memcpy(copy, gz, len);
  memcpy(copy + len, "garbage!", 8);
  err = decode_err(copy, len + 8, -EBADMSG);
  ck_assert_msg(strstr(err, "trailing"), "%s", err);
  free(err);
  /* Two members are one stream (a concatenated gzip of a split message). */
  {
    struct buf plain;
    uint8_t *a, *b, *cat;
    size_t alen, blen;
    struct pprof_profile *p;

    buf_init(&plain, MAX_DECOMPRESSED);
    ck_assert_int_eq(pprof_gunzip(gz, len, &plain, &err), 0);
    a = test_gzip(plain.data, plain.len / 2, &alen);
    b = test_gzip(plain.data + plain.len / 2, plain.len - plain.len / 2, &blen);
    cat = xmalloc(alen + blen);
    memcpy(cat, a, alen);
    memcpy(cat + alen, b, blen);
    p = decode_ok(cat, alen + blen);
    ck_assert_uint_gt(p->n_samples, 0);
    pprof_profile_free(p);
    free(a);
    free(b);
    free(cat);
    buf_done(&plain);
  }
  free(copy);
  free(gz);
  (void)glen;
}
END_TEST

/* The gzip trailer's size (ISIZE) sizes the output buffer of the fast
 * path. A trailer that lies (too small, too large, one off) makes the
 * stream corrupt for both paths: it must fail with zlib's message, never
 * truncate or overrun. The limit is checked on the real output. */
START_TEST(test_gzip_trailer_lies) {
  static const uint32_t sizes[] = {0, 1, 100, 0x7fffffff, 0xffffffff};
  size_t len;
  uint8_t *gz = test_read_file(test_data_path("pprof/work/cpu-5s.pprof"), &len);
  uint8_t *copy = xmalloc(len);
  struct buf ref;
  char *err = NULL;

  buf_init(&ref, MAX_DECOMPRESSED);
  ck_assert_int_eq(pprof_gunzip(gz, len, &ref, &err), 0);
  ck_assert_uint_gt(ref.len, len);
  for (size_t i = 0; i < ARRAY_SIZE(sizes) + 2; i++) {
    struct buf out;
    /* and the honest size +- 1 */
    uint32_t isize = i < ARRAY_SIZE(sizes) ? sizes[i] : (uint32_t)ref.len + (i == 5 ? 1 : -1);
    memcpy(copy, gz, len);
    copy[len - 4] = (uint8_t)isize;
    copy[len - 3] = (uint8_t)(isize >> 8);
    copy[len - 2] = (uint8_t)(isize >> 16);
    copy[len - 1] = (uint8_t)(isize >> 24);
    buf_init(&out, MAX_DECOMPRESSED);
    /* zlib checks ISIZE too: a lying one is a corrupt stream */
    ck_assert_int_eq(pprof_gunzip(copy, len, &out, &err), -EBADMSG);
    ck_assert_msg(strstr(err, "gzip: "), "%s", err);
    free(err);
    err = NULL;
    buf_done(&out);
  }
  /* an honest trailer above a limit the output would fit under: streaming
   * path, and the limit error names it */
  {
    struct buf out;
    buf_init(&out, ref.len - 1);
    ck_assert_int_eq(pprof_gunzip(gz, len, &out, &err), -EFBIG);
    ck_assert_msg(strstr(err, "exceeds the decompressed size limit"), "%s", err);
    free(err);
    err = NULL;
    buf_done(&out);
    buf_init(&out, ref.len);
    ck_assert_int_eq(pprof_gunzip(gz, len, &out, &err), 0);
    ck_assert_uint_eq(out.len, ref.len);
    ck_assert_mem_eq(out.data, ref.data, ref.len);
    buf_done(&out);
  }
  buf_done(&ref);
  free(copy);
  free(gz);
}
END_TEST

/* A message of 20 million empty mappings (2 bytes each) would be a
 * model of over 1 GiB: refused before anything is allocated for it. */
START_TEST(test_model_budget) {
  size_t n = 20u << 20, len = 2 * n;
  uint8_t *pb = xmalloc(len);
  struct pprof_profile *p = NULL;
  char *err = NULL;

  for (size_t i = 0; i < n; i++) {
    pb[2 * i] = 0x1a; /* field 3 (mapping), length-delimited */
    pb[2 * i + 1] = 0x00;
  }
  ck_assert_int_eq(pprof_decode(pb, len, MAX_DECOMPRESSED, &p, &err), -EFBIG);
  ck_assert_ptr_null(p);
  ck_assert_msg(strstr(err, "needs more than 1024 MiB to decode"), "%s", err);
  free(err);
  free(pb);
}
END_TEST

/* A gzip bomb: 64 MiB of zeros compress to ~64 KiB; with a 1 MiB cap the
 * decoder stops early instead of inflating it all. */
START_TEST(test_gzip_bomb) {
  size_t n = 64u << 20, len;
  uint8_t *zeros = xcalloc(n, 1);
  uint8_t *gz = test_gzip(zeros, n, &len);
  struct pprof_profile *p = NULL;
  char *err = NULL;

  free(zeros);
  ck_assert_uint_lt(len, 1u << 20);
  ck_assert_int_eq(pprof_decode(gz, len, 1u << 20, &p, &err), -EFBIG);
  ck_assert_ptr_null(p);
  ck_assert_msg(strstr(err, "exceeds the decompressed size limit of 1.0 MiB"), "%s", err);
  free(err);
  free(gz);
}
END_TEST

/* Every prefix of a real profile, gzip'd and plain, and many corrupted
 * copies, either decode or fail with a message: never crash or hang
 * (run under ASan/valgrind to see memory errors). */
START_TEST(test_truncations_and_corruption) {
  size_t len;
  uint8_t *gz = test_read_file(test_data_path("pprof/work/goroutine.pprof"), &len);
  struct buf plain;
  char *err = NULL;
  unsigned seed = 12345;
  size_t failures = 0;

  buf_init(&plain, MAX_DECOMPRESSED);
  ck_assert_int_eq(pprof_gunzip(gz, len, &plain, &err), 0);
  for (int pass = 0; pass < 2; pass++) {
    const uint8_t *d = pass ? plain.data : gz;
    size_t dlen = pass ? plain.len : len;
    for (size_t cut = 0; cut < dlen; cut++) {
      struct pprof_profile *p = NULL;
      err = NULL;
      if (pprof_decode(d, cut, MAX_DECOMPRESSED, &p, &err) < 0) {
        ck_assert_ptr_nonnull(err);
        failures++;
      }
      free(err);
      pprof_profile_free(p);
    }
  }
  /* Nearly every gzip prefix must fail (no trailer). */
  ck_assert_uint_gt(failures, len - 1);
  for (int iter = 0; iter < 3000; iter++) {
    uint8_t *copy = xmalloc(plain.len);
    struct pprof_profile *p = NULL;
    int flips = 1 + (int)(rand_r(&seed) % 4);
    memcpy(copy, plain.data, plain.len);
    for (int k = 0; k < flips; k++)
      copy[rand_r(&seed) % plain.len] = (uint8_t)rand_r(&seed);
    err = NULL;
    if (pprof_decode(copy, plain.len, MAX_DECOMPRESSED, &p, &err) < 0)
      ck_assert_ptr_nonnull(err);
    free(err);
    pprof_profile_free(p);
    free(copy);
  }
  buf_done(&plain);
  free(gz);
}
END_TEST

static Suite *pprof_decode_suite(void) {
  Suite *s = suite_create("pprof_decode");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_corpus_totals);
  tcase_add_test(tc, test_plain_and_gzip_agree);
  tcase_add_test(tc, test_handmade_model);
  tcase_add_test(tc, test_sparse_ids_and_numeric_labels);
  tcase_add_test(tc, test_empty_profile);
  tcase_add_test(tc, test_semantic_errors);
  tcase_add_test(tc, test_wire_errors);
  tcase_add_test(tc, test_gzip_errors);
  tcase_add_test(tc, test_gzip_trailer_lies);
  tcase_add_test(tc, test_gzip_bomb);
  tcase_add_test(tc, test_model_budget);
  tcase_add_test(tc, test_truncations_and_corruption);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(pprof_decode_suite());
  int failed;
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
