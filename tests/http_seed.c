#include "config.h"

#include "http_seed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "capture.h"
#include "daemon_metrics.h"
#include "store.h"
#include "util.h"

#define MIN_MS (60 * 1000)

const struct http_seed_capture http_seed_set[] = {
    {"api", "10.0.0.1:6060", "cpu", 50 * MIN_MS, "workload-cpu.pprof", "env=prod,team=core"},
    {"api", "10.0.0.2:6060", "cpu", 40 * MIN_MS, "prometheus-cpu.pprof", "env=prod,team=core"},
    {"api", "10.0.0.1:6060", "heap", 30 * MIN_MS, "workload-heap.pprof", "env=prod,team=core"},
    {"api", "10.0.0.1:6060", "goroutine", 20 * MIN_MS, "workload-goroutine.pprof",
     "env=prod,team=core"},
    {"api", "10.0.0.1:6060", "trace", 10 * MIN_MS, "workload-trace-2s.trace", "env=prod,team=core"},
    {"api", "10.0.0.1:6060", "heap", 5 * MIN_MS, NULL, "env=prod,team=core"},
    {"web", "10.0.1.1:6060", "cpu", 180 * MIN_MS, "workload-cpu.pprof", "env=staging"},
    {"web", "10.0.1.1:6060", "mutex", 1 * MIN_MS, NULL, "env=staging"},
};
const size_t http_seed_n = sizeof(http_seed_set) / sizeof(http_seed_set[0]);

static void set_labels(struct capture *c, const char *spec) {
  struct cfg_pair pairs[8];
  size_t n = 0;
  while (spec && *spec && n < 8) {
    size_t len = strcspn(spec, ",");
    const char *eq = memchr(spec, '=', len);
    pairs[n].key = xstrndup(spec, (size_t)(eq - spec));
    pairs[n].value = xstrndup(eq + 1, (size_t)(spec + len - eq - 1));
    n++;
    spec += len + (spec[len] == ',');
  }
  capture_set_labels(c, pairs, n);
  for (size_t i = 0; i < n; i++) {
    free(pairs[i].key);
    free(pairs[i].value);
  }
}

static int read_body(const char *name, struct buf *out) {
  char *path =
      xasprintf("%s/tests/data/http/%s", getenv("top_srcdir") ? getenv("top_srcdir") : ".", name);
  FILE *f = fopen(path, "rb");
  char chunk[65536];
  size_t n;
  int r = 0;

  free(path);
  if (!f)
    return -errno;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    if (buf_append(out, chunk, n) < 0)
      r = -EFBIG;
  if (ferror(f))
    r = -EIO;
  fclose(f);
  return r;
}

static struct capture *make_capture(const struct http_seed_capture *sc, int64_t now_ms,
                                    const struct analysis_opts *ao) {
  struct capture *c = capture_new();
  c->target = xstrdup(sc->target);
  c->instance = xstrdup(sc->instance);
  c->type = xstrdup(sc->type);
  c->url = xasprintf("http://%s/debug/pprof/%s", sc->instance,
                     strcmp(sc->type, "cpu") == 0 ? "profile?seconds=5" : sc->type);
  c->started_at_ms = now_ms - sc->age_ms;
  c->duration_ms = 120;
  set_labels(c, sc->labels);
  if (!sc->file) {
    c->status = CAPTURE_FAILED;
    capture_set_error(c, "connect to %s: Connection refused", sc->instance);
    return c;
  }
  buf_init(&c->body, 16 * 1024 * 1024);
  if (read_body(sc->file, &c->body) < 0) {
    capture_free(c);
    return NULL;
  }
  c->status = CAPTURE_OK;
  c->http_status = 200;
  c->content_type = xstrdup("application/octet-stream");
  c->analysis = analysis_run(c->type, c->body.data, c->body.len, ao);
  return c;
}

int http_seed(const char *db_path, int64_t now_ms, struct metrics *m, char **ret_err) {
  struct analysis_opts ao;
  struct store *s = NULL;
  int r;

  analysis_opts_default(&ao);
  r = store_open(db_path, 0, &s, ret_err);
  if (r < 0)
    return r;
  for (size_t i = 0; i < http_seed_n; i++) {
    struct capture *c = make_capture(&http_seed_set[i], now_ms, &ao);
    int64_t id;
    if (!c) {
      *ret_err =
          xasprintf("cannot read tests/data/http/%s (is $top_srcdir set?)", http_seed_set[i].file);
      r = -ENOENT;
      break;
    }
    daemon_metrics_capture(m, c);
    r = store_put_capture(s, c, &id);
    capture_free(c);
    if (r < 0) {
      *ret_err = xasprintf("storing seed capture %zu: %s", i, store_errmsg(s));
      break;
    }
  }
  store_close(s);
  return r;
}
