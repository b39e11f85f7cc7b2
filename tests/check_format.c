#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "analysis.h"
#include "format.h"
#include "testutil.h"
#include "util.h"

static enum capture_format detect_file(const char *name, int *ret_minor) {
  size_t len;
  uint8_t *data = test_read_file(test_data_path(name), &len);
  struct format_info fi;
  format_detect(data, len, &fi);
  free(data);
  if (ret_minor)
    *ret_minor = fi.trace_minor;
  return fi.format;
}

/* The whole of a gzip stream, inflated into out; returns its length. */
static size_t inflate_all(const uint8_t *gz, size_t len, uint8_t *out, size_t cap) {
  z_stream zs;
  size_t n;

  memset(&zs, 0, sizeof(zs));
  ck_assert_int_eq(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  zs.next_in = (Bytef *)(uintptr_t)gz;
  zs.avail_in = (uInt)len;
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
  n = cap - zs.avail_out;
  inflateEnd(&zs);
  return n;
}

static uint8_t *test_gzip_bytes(const uint8_t *data, size_t len, size_t *ret_len) {
  z_stream zs;
  uLong cap = compressBound((uLong)len) + 64;
  uint8_t *out = xmalloc(cap);

  memset(&zs, 0, sizeof(zs));
  ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = (Bytef *)(uintptr_t)data;
  zs.avail_in = (uInt)len;
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
  *ret_len = zs.total_out;
  deflateEnd(&zs);
  return out;
}

START_TEST(test_corpus_formats) {
  int minor = 0;
  ck_assert_int_eq(detect_file("workload-heap.pprof", NULL), FORMAT_PPROF_GZIP);
  ck_assert_int_eq(detect_file("workload-index.html", NULL), FORMAT_HTML);
  ck_assert_int_eq(detect_file("unknown-profile.txt", NULL), FORMAT_TEXT);
  ck_assert_int_eq(detect_file("trace-head-go119.bin", &minor), FORMAT_GO_TRACE);
  ck_assert_int_eq(minor, 19);
  ck_assert_int_eq(detect_file("trace-head-go126.bin", &minor), FORMAT_GO_TRACE);
  ck_assert_int_eq(minor, 26);
}
END_TEST

START_TEST(test_plain_protobuf) {
  size_t len;
  uint8_t *gz = test_read_file(test_data_path("workload-heap.pprof"), &len);
  uint8_t out[65536];
  struct format_info fi;

  format_detect(out, inflate_all(gz, len, out, sizeof(out)), &fi);
  ck_assert_int_eq(fi.format, FORMAT_PPROF);
  /* A truncated prefix is still recognised (the decoder reports the rest). */
  format_detect(out, 100, &fi);
  ck_assert_int_eq(fi.format, FORMAT_PPROF);
  free(gz);
}
END_TEST

/* analysis_run() inflates a gzip'd body once and tells its format from the
 * inflated bytes: the same format, status and analysis as the general
 * path, which still classifies what is not a profile and names errors. */
START_TEST(test_analysis_of_gzip) {
  size_t len, tlen;
  uint8_t *gz = test_read_file(test_data_path("workload-heap.pprof"), &len);
  uint8_t out[65536], *text_gz;
  const char text[] = "this is not a profile\n";
  struct analysis_opts o;
  struct analysis *a, *b;
  json_t *plain_json;

  analysis_opts_default(&o);
  a = analysis_run("heap", gz, len, &o);
  ck_assert_int_eq(a->status, ANALYSIS_OK);
  ck_assert_int_eq(a->format.format, FORMAT_PPROF_GZIP);
  ck_assert(json_is_true(json_object_get(a->json, "compressed")));
  ck_assert_str_eq(json_string_value(json_object_get(a->json, "format")), "pprof-gzip");
  /* the same analysis as of the inflated bytes, but for those two keys */
  b = analysis_run("heap", out, inflate_all(gz, len, out, sizeof(out)), &o);
  ck_assert_int_eq(b->format.format, FORMAT_PPROF);
  plain_json = json_deep_copy(b->json);
  json_object_set_new(plain_json, "compressed", json_true());
  json_object_set_new(plain_json, "format", json_string("pprof-gzip"));
  ck_assert(json_equal(plain_json, a->json));
  json_decref(plain_json);
  analysis_free(a);
  analysis_free(b);
  /* cut short: still a gzip'd profile, and the error says what is wrong */
  a = analysis_run("heap", gz, len - 20, &o);
  ck_assert_int_eq(a->format.format, FORMAT_PPROF_GZIP);
  ck_assert_int_eq(a->status, ANALYSIS_ERROR);
  ck_assert_msg(strstr(a->error, "gzip: truncated"), "%s", a->error);
  analysis_free(a);
  /* gzip'd text is gzip, not analysed */
  text_gz = test_gzip_bytes((const uint8_t *)text, sizeof(text) - 1, &tlen);
  a = analysis_run("heap", text_gz, tlen, &o);
  ck_assert_int_eq(a->format.format, FORMAT_GZIP);
  ck_assert_int_eq(a->status, ANALYSIS_NONE);
  analysis_free(a);
  free(text_gz);
  free(gz);
}
END_TEST

START_TEST(test_edge_cases) {
  struct format_info fi;
  static const uint8_t gz_text[] = {/* gzip of "hello\n" */
                                    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,
                                    0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7, 0x02, 0x00, 0x20, 0x30,
                                    0x3a, 0x36, 0x06, 0x00, 0x00, 0x00};
  static const uint8_t junk[] = {0xff, 0x00, 0x13, 0x37, 0x80, 0x81};
  format_detect((const uint8_t *)"", 0, &fi);
  ck_assert_int_eq(fi.format, FORMAT_EMPTY);
  format_detect(gz_text, sizeof(gz_text), &fi);
  ck_assert_int_eq(fi.format, FORMAT_GZIP);
  format_detect(junk, sizeof(junk), &fi);
  ck_assert_int_eq(fi.format, FORMAT_UNKNOWN);
  format_detect((const uint8_t *)"  <!DOCTYPE html><p>", 20, &fi);
  ck_assert_int_eq(fi.format, FORMAT_HTML);
  format_detect((const uint8_t *)"{\"a\":1}", 7, &fi);
  ck_assert_int_eq(fi.format, FORMAT_JSON);
  /* An unknown future version is still a trace: the analyser decides. */
  format_detect((const uint8_t *)"go 1.27 trace\0\0\0\x01\x02", 18, &fi);
  ck_assert_int_eq(fi.format, FORMAT_GO_TRACE);
  ck_assert_int_eq(fi.trace_minor, 27);
  /* Header without NUL padding is not a trace. */
  format_detect((const uint8_t *)"go 1.19 trace xyz", 17, &fi);
  ck_assert_int_ne(fi.format, FORMAT_GO_TRACE);
}
END_TEST

START_TEST(test_excerpt) {
  char *e = format_excerpt((const uint8_t *)"Unknown profile\n", 16, 64);
  ck_assert_str_eq(e, "Unknown profile");
  free(e);
  e = format_excerpt((const uint8_t *)"\x1f\x8b\x08" "abcdef", 9, 5);
  ck_assert_str_eq(e, "\\x1f\\x8b\\x08ab...");
  free(e);
}
END_TEST

static Suite *format_suite(void) {
  Suite *s = suite_create("format");
  TCase *tc = tcase_create("detect");
  tcase_add_test(tc, test_corpus_formats);
  tcase_add_test(tc, test_plain_protobuf);
  tcase_add_test(tc, test_edge_cases);
  tcase_add_test(tc, test_analysis_of_gzip);
  tcase_add_test(tc, test_excerpt);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(format_suite());
  int failed;
  srunner_run_all(sr, CK_ENV);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
