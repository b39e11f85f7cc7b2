/* timeit: runs a command N times and prints the median wall time, the
 * median CPU time (user + system, the command and its children) and the
 * largest peak RSS, for bench/run:
 *
 *   bench/timeit [-x STATUS] N COMMAND [ARG...]
 *   -> "WALL_MS CPU_MS MAXRSS_KB\n" on stdout
 *
 * The command's stdout goes to /dev/null, its stderr is kept. Exits 1
 * (after the first failure) when a run does not exit 0 (or STATUS, e.g.
 * 1 for `pprofctl list` finding nothing), so a benchmark never reports the
 * speed of an error message. The peak RSS is wait4()'s,
 * the number `/usr/bin/time -f %M` prints; bench/run takes the memory
 * column from /usr/bin/time itself. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double l = *(const double *)a, r = *(const double *)b;
  return l < r ? -1 : l > r;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(*v), cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double tv_ms(struct timeval tv) {
  return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

int main(int argc, char **argv) {
  double *wall, *cpu;
  long maxrss = 0;
  char *end;
  long n, ok = 0;

  if (argc > 2 && strcmp(argv[1], "-x") == 0) {
    ok = strtol(argv[2], &end, 10);
    if (*end || ok < 0 || ok > 255) {
      fprintf(stderr, "%s: -x needs an exit status, not '%s'\n", argv[0], argv[2]);
      return 2;
    }
    argv += 2;
    argc -= 2;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: timeit [-x STATUS] N COMMAND [ARG...]\n");
    return 2;
  }
  n = strtol(argv[1], &end, 10);
  if (*end || n < 1 || n > 10000) {
    fprintf(stderr, "timeit: N must be 1..10000, not '%s'\n", argv[1]);
    return 2;
  }
  wall = calloc((size_t)n, sizeof(*wall));
  cpu = calloc((size_t)n, sizeof(*cpu));
  if (!wall || !cpu)
    abort();
  for (long i = 0; i < n; i++) {
    struct rusage ru;
    double t0 = now_ms();
    int status;
    pid_t pid = fork();

    if (pid < 0) {
      perror("fork");
      return 1;
    }
    if (pid == 0) {
      int fd = open("/dev/null", O_WRONLY);
      if (fd >= 0)
        dup2(fd, 1);
      execvp(argv[2], argv + 2);
      fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
      _exit(127);
    }
    if (wait4(pid, &status, 0, &ru) < 0) {
      perror("wait4");
      return 1;
    }
    wall[i] = now_ms() - t0;
    if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != ok)) {
      fprintf(stderr, "%s: run %ld failed (status %d)\n", argv[2], i + 1, status);
      return 1;
    }
    cpu[i] = tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime);
    if (ru.ru_maxrss > maxrss)
      maxrss = ru.ru_maxrss;
  }
  printf("%.3f %.3f %ld\n", median(wall, (int)n), median(cpu, (int)n), maxrss);
  free(wall);
  free(cpu);
  return 0;
}
