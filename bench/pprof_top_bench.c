/* How fast is `pprofctl top --type` over many captures?
 *
 *   bench/pprof_top_bench DB [N_CAPTURES]
 *
 * Fills DB (when it has fewer captures) with N synthetic CPU profiles
 * (default 100,000) through the real path: profiles written with the pprof
 * builder, analysed by analysis_run() and stored with store_put_capture(),
 * spread over 50 targets and 10 days. Then times the aggregations that
 * `pprofctl top --type cpu` runs: everything, one target, the last 24 h,
 * grouped by target. Not a unit test: it takes minutes to fill. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analysis.h"
#include "capture.h"
#include "pprof_build.h"
#include "pprof_query.h"
#include "store.h"
#include "util.h"

#define N_TARGETS 50
#define N_FUNCS 3000
#define N_BODIES 64
#define DAY_MS (24LL * 3600 * 1000)

static uint32_t rnd(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

/* A CPU profile of one service: 300 samples whose stacks walk a fixed
 * random call tree, so a few hundred functions recur with skewed weights
 * like in real services. */
static void make_body(int variant, struct buf *out) {
  struct pprof_builder *b = pprof_builder_new();
  uint32_t seed = 1234567u + (uint32_t)variant * 7919u;
  char names[N_FUNCS][48];

  for (int i = 0; i < N_FUNCS; i++)
    snprintf(names[i], sizeof(names[i]), "github.com/acme/svc%d/pkg%d.Func%d", i % 7, i % 31, i);
  pprof_builder_add_sample_type(b, "samples", "count");
  pprof_builder_add_sample_type(b, "cpu", "nanoseconds");
  pprof_builder_set_period(b, "cpu", "nanoseconds", 10000000);
  pprof_builder_set_time(b, 1700000000000000000LL, 10000000000LL);
  for (int s = 0; s < 300; s++) {
    struct pprof_frame frames[40];
    int depth = 8 + (int)(rnd(&seed) % 24), f = variant % 50;
    int64_t v = 1 + (int64_t)(rnd(&seed) % 5);
    int64_t values[2] = {v, v * 10000000};
    for (int d = depth - 1; d >= 0; d--) {
      /* Children depend on the parent, with a bias to few hot paths. */
      f = (f * 31 + 7 + (int)(rnd(&seed) % (d > depth - 4 ? 3 : 40))) % N_FUNCS;
      frames[d].function = names[f];
      frames[d].file = "svc.go";
      frames[d].line = 10 + d;
      frames[d].address = 0x400000 + (uint64_t)f * 16;
    }
    pprof_builder_add_sample(b, frames, (size_t)depth, values);
  }
  pprof_builder_write(b, out);
  pprof_builder_free(b);
}

static int64_t count_captures(struct store *s) {
  sqlite3_stmt *st = NULL;
  int64_t n = 0;
  if (sqlite3_prepare_v2(store_db(s), "SELECT count(*) FROM captures", -1, &st, NULL) ==
          SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

static void fill(struct store *s, int64_t have, int64_t want, int64_t now_ms) {
  struct buf bodies[N_BODIES];
  struct analysis_opts o;
  int64_t t0 = time_mono_ms();

  analysis_opts_default(&o);
  for (int i = 0; i < N_BODIES; i++) {
    buf_init(&bodies[i], 64u << 20);
    make_body(i, &bodies[i]);
  }
  for (int64_t i = have; i < want; i++) {
    struct capture *c = capture_new();
    int t = (int)(i % N_TARGETS), v = (int)((i * 7 + t) % N_BODIES);
    int64_t id;

    c->target = xasprintf("svc-%02d", t);
    c->instance = xstrdup("10.0.0.1:6060");
    c->type = xstrdup("cpu");
    c->url = xstrdup("http://10.0.0.1:6060/debug/pprof/profile?seconds=10");
    c->started_at_ms = now_ms - 10 * DAY_MS + i * (10 * DAY_MS / want);
    c->status = CAPTURE_OK;
    c->http_status = 200;
    buf_init(&c->body, bodies[v].len);
    buf_append(&c->body, bodies[v].data, bodies[v].len);
    c->analysis = analysis_run("cpu", c->body.data, c->body.len, &o);
    if (store_put_capture(s, c, &id) < 0) {
      fprintf(stderr, "store_put_capture: %s\n", store_errmsg(s));
      exit(1);
    }
    capture_free(c);
    if (i % 5000 == 0)
      fprintf(stderr, "\rfilling: %" PRId64 "/%" PRId64 " (%.0f/s)", i, want,
              (double)(i - have) * 1000.0 / (double)(time_mono_ms() - t0 + 1));
  }
  fprintf(stderr, "\n");
  for (int i = 0; i < N_BODIES; i++)
    buf_done(&bodies[i]);
}

static void timed(struct store *s, const char *what, const struct store_filter *f, bool by_target) {
  struct pprof_agg_opts o = {.limit = 10, .by_target = by_target};
  struct pprof_agg *agg = NULL;
  char *err = NULL;
  int64_t t0 = time_mono_ns();
  int r = pprof_query_aggregate(s, f, &o, &agg, &err);
  double ms = (double)(time_mono_ns() - t0) / 1e6;

  if (r < 0) {
    printf("%-28s error: %s\n", what, err);
    free(err);
    return;
  }
  printf("%-28s %8.1f ms  %7zu captures  %3zu groups  top: %s\n", what, ms, agg->n_captures,
         agg->n_groups, agg->groups[0].n_rows ? agg->groups[0].rows[0].name : "-");
  pprof_agg_free(agg);
}

int main(int argc, char **argv) {
  struct store *s = NULL;
  struct store_filter f;
  char *err = NULL;
  int64_t want = argc > 2 ? strtoll(argv[2], NULL, 10) : 100000, have, now = time_wall_ms();

  if (argc < 2) {
    fprintf(stderr, "usage: %s DB [N_CAPTURES]\n", argv[0]);
    return 2;
  }
  if (store_open(argv[1], 0, &s, &err) < 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  /* Filling is the slow part; the bench does not need durability. */
  sqlite3_exec(store_db(s), "PRAGMA synchronous=OFF", NULL, NULL, NULL);
  have = count_captures(s);
  if (have < want)
    fill(s, have, want, now);
  store_close(s);
  if (store_open(argv[1], STORE_READONLY, &s, &err) < 0) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  for (int pass = 0; pass < 2; pass++) {
    printf("pass %d (%s cache)\n", pass + 1, pass ? "warm" : "cold-ish");
    store_filter_init(&f);
    f.type = "cpu";
    timed(s, "top --type cpu", &f, false);
    timed(s, "top --type cpu --by target", &f, true);
    f.target = "svc-07";
    timed(s, "top --type cpu --target", &f, false);
    f.target = NULL;
    f.since_ms = now - DAY_MS;
    timed(s, "top --type cpu --since 24h", &f, false);
  }
  store_close(s);
  return 0;
}
