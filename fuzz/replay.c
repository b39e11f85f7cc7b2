/* main() for a fuzz harness built without libFuzzer: runs every file named
 * on the command line, or found in a directory named there, through
 * LLVMFuzzerTestOneInput once, in name order. A crash, a sanitizer report
 * or an abort fails the run; it prints how many inputs it ran. Each input
 * is copied into an allocation of exactly its size, so that ASan sees
 * reads past the end. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX_BYTES (64u << 20)

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  uint8_t *data = NULL;
  size_t len = 0, cap = 0, n;

  if (!f) {
    fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
    return -1;
  }
  for (;;) {
    if (len == cap) {
      uint8_t *p;
      cap = cap ? cap * 2 : 4096;
      if (cap > REPLAY_MAX_BYTES) {
        fprintf(stderr, "replay: %s: larger than %u bytes\n", path, REPLAY_MAX_BYTES);
        goto fail;
      }
      p = realloc(data, cap);
      if (!p)
        goto fail;
      data = p;
    }
    n = fread(data + len, 1, cap - len, f);
    if (n == 0)
      break;
    len += n;
  }
  if (ferror(f)) {
    fprintf(stderr, "replay: %s: read error\n", path);
    goto fail;
  }
  fclose(f);
  {
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
      free(data);
      return -1;
    }
    if (len)
      memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
  }
  return 0;
fail:
  fclose(f);
  free(data);
  return -1;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs a directory's regular files (not recursive); counts them in *n. */
static int run_dir(const char *dir, size_t *n) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char **names = NULL;
  size_t count = 0, cap = 0;
  int r = 0;

  if (!d) {
    fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    if (count == cap) {
      char **p;
      cap = cap ? cap * 2 : 64;
      p = realloc(names, cap * sizeof(*names));
      if (!p) {
        r = -1;
        goto out;
      }
      names = p;
    }
    size_t sz = strlen(dir) + strlen(e->d_name) + 2;
    names[count] = malloc(sz);
    if (!names[count]) {
      r = -1;
      goto out;
    }
    snprintf(names[count], sz, "%s/%s", dir, e->d_name);
    count++;
  }
  qsort(names, count, sizeof(*names), by_name);
  for (size_t i = 0; i < count && r == 0; i++) {
    struct stat st;
    if (stat(names[i], &st) < 0 || !S_ISREG(st.st_mode))
      continue;
    r = run_file(names[i]);
    if (r == 0)
      (*n)++;
  }
out:
  for (size_t i = 0; i < count; i++)
    free(names[i]);
  free(names);
  closedir(d);
  return r;
}

int main(int argc, char **argv) {
  size_t n = 0;

  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    struct stat st;
    int r;
    if (stat(argv[i], &st) < 0) {
      fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
    if (S_ISDIR(st.st_mode)) {
      r = run_dir(argv[i], &n);
    } else {
      r = run_file(argv[i]);
      n += r == 0;
    }
    if (r < 0)
      return 1;
  }
  printf("%zu inputs ran\n", n);
  return 0;
}
