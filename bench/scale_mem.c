/* scale_mem CONFIG: where pprofd's memory goes for a configuration, without
 * fetching anything: heap in use (mallinfo2) after loading the config,
 * after building the collector's jobs, after one capture per job has gone
 * through the daemon's metrics, and the most in use while /metrics is
 * read the way the HTTP endpoint streams it (32 KB at a time). Used by
 * bench/scale.md to explain peak RSS at N targets. */
#include "config.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "cfg.h"
#include "collector.h"
#include "daemon_metrics.h"
#include "metrics.h"
#include "util.h"

static size_t in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

static void report(const char *what, size_t before, size_t after, size_t n) {
  printf("%-28s %8.1f MB  (%5.0f bytes per job)\n", what, (double)(after - before) / 1048576.0,
         n ? (double)(after - before) / (double)n : 0.0);
}

int main(int argc, char **argv) {
  struct cfg *cfg = NULL;
  struct collector *col = NULL;
  struct metrics *m;
  char *err = NULL;
  size_t base, a_cfg, a_jobs, a_metrics, n_jobs = 0, page = 0, peak;
  struct metrics_cursor *mc;
  FILE *pf = NULL;
  static char piece[32 * 1024];

  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: scale_mem CONFIG [PAGE]\n");
    return 2;
  }
  base = in_use();
  m = metrics_new();
  daemon_metrics_declare(m);
  if (cfg_load(argv[1], CFG_LOAD_SKIP_SECRETS, &cfg, &err) < 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  a_cfg = in_use();
  for (size_t i = 0; i < cfg->n_targets; i++)
    n_jobs += cfg->targets[i].n_instances * cfg->targets[i].n_profiles;
  if (collector_new(cfg, NULL, m, &col) < 0)
    return 1;
  a_jobs = in_use();
  {
    const struct cfg *c = collector_cfg(col);
    for (size_t i = 0; i < c->n_targets; i++) {
      const struct cfg_target *t = &c->targets[i];
      for (size_t k = 0; k < t->n_instances; k++)
        for (size_t p = 0; p < t->n_profiles; p++) {
          struct capture *cap = capture_new();
          cap->target = xstrdup(t->name);
          cap->instance = xstrdup(t->instances[k].name);
          cap->type = xstrdup(t->profiles[p].name);
          cap->started_at_ms = 1700000000000 + (int64_t)(i * 8 + p) * 1000; /* reproducible */
          /* With PAGE, some failures too, so the page has every kind of series. */
          cap->status = argc == 3 && (i + k + p) % 7 == 0 ? CAPTURE_FAILED : CAPTURE_OK;
          daemon_metrics_capture(m, cap);
          capture_free(cap);
        }
    }
  }
  a_metrics = in_use();
  peak = a_metrics;
  if (argc == 3) {
    pf = fopen(argv[2], "w"); /* the page, for comparing renderings */
    if (!pf) {
      perror(argv[2]);
      return 1;
    }
  }
  mc = metrics_cursor_new(m);
  for (;;) {
    ssize_t n = metrics_cursor_read(mc, piece, sizeof(piece));
    size_t now = in_use();
    if (now > peak)
      peak = now;
    if (n <= 0)
      break;
    page += (size_t)n;
    if (pf)
      fwrite(piece, 1, (size_t)n, pf);
  }
  metrics_cursor_free(mc);
  if (pf && fclose(pf) != 0) {
    perror(argv[2]);
    return 1;
  }
  printf("%zu targets, %zu jobs, /metrics page %.1f MB\n", cfg->n_targets, n_jobs,
         (double)page / 1048576.0);
  report("config", base, a_cfg, n_jobs);
  report("jobs (collector)", a_cfg, a_jobs, n_jobs);
  report("metrics series", a_jobs, a_metrics, n_jobs);
  report("/metrics read (transient)", a_metrics, peak, n_jobs);
  report("total", base, a_metrics, n_jobs);
  collector_free(col);
  metrics_free(m);
  return 0;
}
