/* Prints the analysis JSON of each trace file given (or the error), and
 * the parse time on stderr with -t. For tests and benchmarks. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gotrace_analysis.h"
#include "util.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint8_t *slurp(const char *path, size_t *ret_len) {
  FILE *f = fopen(path, "rb");
  uint8_t *data = NULL;
  size_t len = 0, cap = 0, n;

  if (!f)
    return NULL;
  do {
    if (len == cap) {
      cap = cap ? cap * 2 : 1 << 16;
      data = xrealloc(data, cap);
    }
    n = fread(data + len, 1, cap - len, f);
    len += n;
  } while (n > 0);
  fclose(f);
  *ret_len = len;
  return data;
}

int main(int argc, char **argv) {
  int timing = 0, status = 0;

  for (int i = 1; i < argc; i++) {
    struct trace_summary s;
    char *err = NULL;
    size_t len;
    uint8_t *data;
    double t0;
    int r;

    if (strcmp(argv[i], "-t") == 0) {
      timing = 1;
      continue;
    }
    data = slurp(argv[i], &len);
    if (!data) {
      fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
      return 2;
    }
    trace_summary_init(&s);
    t0 = now_s();
    r = gotrace_parse(data, len, &s, &err);
    if (timing)
      fprintf(stderr, "%s: %zu bytes in %.3f s (%.1f MB/s)\n", argv[i], len, now_s() - t0,
              (double)len / 1e6 / (now_s() - t0));
    if (r < 0) {
      printf("{\"file\": \"%s\", \"error\": \"%s\", \"errno\": %d}\n", argv[i], err, -r);
      status = 1;
    } else {
      json_t *j = gotrace_summary_to_json(&s);
      json_dumpf(j, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
      putchar('\n');
      json_decref(j);
      trace_summary_done(&s);
    }
    free(err);
    free(data);
  }
  return status;
}
