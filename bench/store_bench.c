/* Store benchmark: fills a database with N synthetic captures through the
 * store API (500 targets x 2 instances x 8 types, three labels per target,
 * spread over 14 days, 2% failed), then times `list`-style queries and the
 * latest-per-series query, each on a fresh read-only connection (a fresh
 * pprofctl process sees the same cold SQLite cache).
 *
 *   make bench/store_bench
 *   bench/store_bench /tmp/bench.db 1000000     # fill (about 2 minutes) and query
 *   bench/store_bench /tmp/bench.db 0           # query an existing database
 *
 * Not part of `make check`: timings depend on the machine. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "store.h"
#include "util.h"

#define SPAN_MS (14LL * 86400 * 1000)

static const char *const types[] = {"cpu",   "heap",  "allocs",       "goroutine",
                                    "block", "mutex", "threadcreate", "trace"};
static const char *const envs[] = {"prod", "staging", "dev"};

static int fill(const char *path, long n, int64_t end_ms) {
  struct store *s = NULL;
  char *err = NULL;
  unsigned seed = 1;
  int64_t t0 = time_mono_ms();

  if (store_open(path, 0, &s, &err) < 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  for (long i = 0; i < n; i++) {
    int tg = rand_r(&seed) % 500, inst = rand_r(&seed) % 2, ty = rand_r(&seed) % 8;
    struct capture *c = capture_new();
    char name[32], team[32], env[16], region[8], body[64];
    struct cfg_pair labels[3];
    int64_t id;
    int len;

    snprintf(name, sizeof(name), "svc-%03d", tg);
    snprintf(team, sizeof(team), "team-%02d", tg % 20);
    c->target = xstrdup(name);
    c->instance = xasprintf("10.0.%d.%d:6060", tg, inst);
    c->type = xstrdup(types[ty]);
    c->url = xasprintf("http://%s/debug/pprof/%s", c->instance, types[ty]);
    c->started_at_ms = end_ms - SPAN_MS + SPAN_MS * i / n;
    c->duration_ms = 100;
    c->http_status = 200;
    if (rand_r(&seed) % 50 == 0)
      capture_set_error(c, "timeout");
    buf_init(&c->body, 64);
    len = snprintf(body, sizeof(body), "\x1f\x8b body %d", rand_r(&seed) % 5000);
    buf_append(&c->body, body, (size_t)len);
    snprintf(env, sizeof(env), "%s", envs[tg % 3]);
    snprintf(region, sizeof(region), "%s", tg % 2 ? "eu" : "us");
    labels[0] = (struct cfg_pair){"env", env};
    labels[1] = (struct cfg_pair){"region", region};
    labels[2] = (struct cfg_pair){"team", team};
    capture_set_labels(c, labels, 3);
    if (store_put_capture(s, c, &id) < 0) {
      fprintf(stderr, "%s\n", store_errmsg(s));
      capture_free(c);
      store_close(s);
      return 1;
    }
    capture_free(c);
    if (i && i % 100000 == 0)
      fprintf(stderr, "%ld captures, %.1f s\n", i, (double)(time_mono_ms() - t0) / 1000);
  }
  store_close(s);
  return 0;
}

static int count_row(const struct capture_row *row, void *userdata) {
  (void)row;
  (*(long *)userdata)++;
  return 0;
}

static int count_series(const struct capture_row *row, int64_t last_ok_ms, void *userdata) {
  (void)row;
  (void)last_ok_ms;
  (*(long *)userdata)++;
  return 0;
}

static void run(const char *path, const char *name, const struct store_filter *f) {
  struct store *s = NULL;
  char *err = NULL;
  long rows = 0;
  int64_t t;
  int r;

  if (store_open(path, STORE_READONLY, &s, &err) < 0) {
    fprintf(stderr, "%s\n", err);
    free(err);
    return;
  }
  t = time_mono_ns();
  r = f ? store_list(s, f, count_row, &rows) : store_latest(s, count_series, &rows);
  printf("%-44s %6ld rows %8.2f ms%s\n", name, rows, (double)(time_mono_ns() - t) / 1e6,
         r < 0 ? " (error)" : "");
  store_close(s);
}

int main(int argc, char **argv) {
  struct cfg_pair prod[] = {{"env", "prod"}, {"team", "team-07"}};
  struct cfg_pair eu[] = {{"region", "eu"}};
  int64_t end_ms = 1795237200000; /* 2026-11-21T05:00:00Z */
  struct store_filter f;

  if (argc != 3) {
    fprintf(stderr, "usage: %s DB N\n", argv[0]);
    return 2;
  }
  if (atol(argv[2]) > 0 && fill(argv[1], atol(argv[2]), end_ms) != 0)
    return 1;

  store_filter_init(&f);
  f.limit = 100;
  run(argv[1], "newest 100", &f);
  f.target = "svc-123";
  run(argv[1], "--target", &f);
  f.type = "cpu";
  run(argv[1], "--target --type", &f);
  f.since_ms = end_ms - 3 * 86400000LL;
  f.until_ms = end_ms - 86400000LL;
  run(argv[1], "--target --type --since --until", &f);
  store_filter_init(&f);
  f.limit = 100;
  f.type = "heap";
  f.since_ms = end_ms - 2 * 86400000LL;
  run(argv[1], "--type --since", &f);
  store_filter_init(&f);
  f.limit = 100;
  f.labels = prod;
  f.n_labels = 1;
  run(argv[1], "-l env=prod (a third of all)", &f);
  f.n_labels = 2;
  run(argv[1], "-l env=prod -l team=team-07", &f);
  f.type = "cpu";
  f.since_ms = end_ms - 5 * 86400000LL;
  run(argv[1], "-l env=prod -l team=team-07 --type --since", &f);
  store_filter_init(&f);
  f.limit = 100;
  f.labels = eu;
  f.n_labels = 1;
  f.target = "svc-007";
  f.type = "trace";
  f.since_ms = end_ms - 7 * 86400000LL;
  run(argv[1], "-l region=eu --target --type --since", &f);
  store_filter_init(&f);
  f.limit = 100;
  f.instance = "10.0.5.1:6060";
  run(argv[1], "--instance", &f);
  store_filter_init(&f);
  f.limit = 100;
  f.status = CAPTURE_FAILED;
  run(argv[1], "--status failed", &f);
  store_filter_init(&f);
  f.target = "svc-123";
  f.type = "cpu";
  run(argv[1], "--target --type, no limit", &f);
  run(argv[1], "latest capture of every series (targets)", NULL);
  return 0;
}
