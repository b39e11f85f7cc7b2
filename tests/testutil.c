#include "config.h"

#include "testutil.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

const char *test_data_path(const char *name) {
  static char path[4096];
  const char *top = getenv("top_srcdir");
  snprintf(path, sizeof(path), "%s/tests/data/%s", top ? top : ".", name);
  return path;
}

uint8_t *test_read_file(const char *path, size_t *ret_len) {
  FILE *f = fopen(path, "rb");
  uint8_t *data;
  long n;

  ck_assert_msg(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  data = xmalloc((size_t)n + 1);
  ck_assert_int_eq(fread(data, 1, (size_t)n, f), (size_t)n);
  data[n] = 0;
  fclose(f);
  *ret_len = (size_t)n;
  return data;
}

char *test_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  char *tmpl = xasprintf("%s/pprofd-test-XXXXXX", base ? base : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(tmpl));
  return tmpl;
}

void test_rm_rf(const char *path) {
  char *cmd = xasprintf("rm -rf '%s'", path);
  ck_assert_int_eq(system(cmd), 0);
  free(cmd);
}
