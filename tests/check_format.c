#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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
  z_stream zs;
  struct format_info fi;

  memset(&zs, 0, sizeof(zs));
  ck_assert_int_eq(inflateInit2(&zs, 16 + MAX_WBITS), Z_OK);
  zs.next_in = gz;
  zs.avail_in = (uInt)len;
  zs.next_out = out;
  zs.avail_out = sizeof(out);
  ck_assert_int_eq(inflate(&zs, Z_FINISH), Z_STREAM_END);
  format_detect(out, sizeof(out) - zs.avail_out, &fi);
  ck_assert_int_eq(fi.format, FORMAT_PPROF);
  /* A truncated prefix is still recognised (the decoder reports the rest). */
  format_detect(out, 100, &fi);
  ck_assert_int_eq(fi.format, FORMAT_PPROF);
  inflateEnd(&zs);
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
