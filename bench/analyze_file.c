/* analyze_file: the analysis pprofd runs on every capture, as one process
 * per file, for the benchmarks (bench/run) to time against Go's tools:
 *
 *   bench/analyze_file [-q] TYPE FILE
 *
 * Reads FILE, runs analysis_run() on it (format detection, decompression,
 * decoding and the summary: for a profile its top functions per sample
 * type, for an execution trace the goroutine, GC and blocking analysis)
 * and prints the summary JSON, or with -q only a status line that ends in
 * the CPU time of the analysis alone in microseconds (wall time would
 * count the waits of a loaded machine). Exits 1 when the file cannot be
 * read or the analysis fails. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis.h"
#include "buf.h"

static int read_file(const char *path, struct buf *b) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  ssize_t n;
  int r = 0;

  if (fd < 0)
    return -errno;
  /* One allocation of the right size, as when the daemon knows the body's
   * length, filled by read() directly: the benchmark times the analysis,
   * not buffer growth or stdio copies. */
  if (fstat(fd, &st) == 0 && st.st_size > 0)
    r = buf_reserve(b, (size_t)st.st_size);
  while (r == 0) {
    if (b->cap - b->len <= 1 && (r = buf_reserve(b, 65536)) < 0)
      break;
    n = read(fd, b->data + b->len, b->cap - b->len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      r = -errno;
    if (n <= 0)
      break;
    b->len += (size_t)n;
  }
  close(fd);
  return r;
}

int main(int argc, char **argv) {
  struct analysis_opts o;
  struct timespec t0, t1;
  struct analysis *a;
  struct buf b;
  bool quiet = argc > 1 && strcmp(argv[1], "-q") == 0;
  int r, status = 0;

  if (argc != 3 + quiet) {
    fprintf(stderr, "usage: %s [-q] TYPE FILE\n", argv[0]);
    return 2;
  }
  buf_init(&b, (size_t)1 << 32);
  r = read_file(argv[2 + quiet], &b);
  if (r < 0) {
    fprintf(stderr, "%s: %s\n", argv[2 + quiet], strerror(-r));
    buf_done(&b);
    return 1;
  }
  analysis_opts_default(&o);
  /* jansson seeds its hash function from /dev/urandom on first use; the
   * daemon pays that once in its life, a process per file would pay it
   * per file */
  json_object_seed((size_t)getpid() * 2654435761u);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  a = analysis_run(argv[1 + quiet], b.data, b.len, &o);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
  if (a->status != ANALYSIS_OK) {
    fprintf(stderr, "%s: analysis %s: %s\n", argv[2 + quiet], analysis_status_name(a->status),
            a->error ? a->error : "not a profile or trace");
    status = 1;
  } else if (quiet) {
    printf("%s: ok, %zu bytes, cpu %.0f us\n", argv[2 + quiet], b.len,
           (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
  } else {
    /* compact, as the daemon stores it (store_put.c), in one write */
    char *text = json_dumps(a->json, JSON_COMPACT);
    if (text)
      fputs(text, stdout);
    free(text);
    putchar('\n');
  }
  analysis_free(a);
  buf_done(&b);
  return status;
}
