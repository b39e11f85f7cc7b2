/* pprofctl top: the top functions of one capture, computed from its raw
 * profile exactly like `go tool pprof -top`, or of every capture a filter
 * selects, summed from the rows stored at ingest. */
#include "config.h"

#include "ctl.h"
#include "ctl_pprof.h"
#include "pprof_format.h"
#include "pprof_math.h"
#include "pprof_query.h"
#include "pprof_report.h"
#include "pprof_summary.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define TOP_DEFAULT_ROWS 20

enum {
  OPT_SAMPLE_INDEX = CTL_OPT_FIRST_FREE,
  OPT_CUM,
  OPT_BY,
  OPT_NODEFRACTION,
  OPT_NO_ROLLUP,
};

struct top_args {
  int64_t n; /* -n; 0 = default */
  const char *sample_index;
  bool cum;
  bool by_target;
  bool no_rollup;
  double node_fraction; /* < 0: pprof's default */
};

static int top_capture(struct ctl *ctl, int64_t id, const struct top_args *a) {
  struct store *s = ctl_store(ctl);
  struct pprof_profile *p = NULL;
  struct pprof_nodes *nodes;
  struct pprof_top_opts o;
  struct pprof_top *t;
  int si, r;

  if (!s)
    return CTL_EXIT_NOTFOUND;
  r = ctl_pprof_load(s, id, &p);
  if (r != CTL_EXIT_OK)
    return r;
  r = ctl_pprof_sample_index(p, a->sample_index, id, &si);
  if (r != CTL_EXIT_OK) {
    pprof_profile_free(p);
    return r;
  }
  nodes = pprof_nodes_new(p);
  pprof_top_opts_default(&o);
  o.node_count = a->n > 0 ? (size_t)a->n : 0;
  o.cum_sort = a->cum;
  if (a->node_fraction >= 0)
    o.node_fraction = a->node_fraction;
  t = pprof_top_compute(p, nodes, si, &o);
  if (ctl->json) {
    json_t *doc = pprof_report_json(p, nodes, t);
    json_object_set_new(doc, "capture_id", json_integer(id));
    r = ctl_print_json(ctl, doc);
  } else {
    struct buf out;
    buf_init(&out, SIZE_MAX);
    pprof_report_text(p, nodes, t, o.node_fraction, &out);
    fwrite(out.data, 1, out.len, ctl->out);
    buf_done(&out);
    r = CTL_EXIT_OK;
  }
  pprof_top_free(t);
  pprof_nodes_free(nodes);
  pprof_profile_free(p);
  return r;
}

static json_t *group_json(const struct pprof_agg_group *g) {
  json_t *rows = json_array();
  char a[32], b[32];
  for (size_t i = 0; i < g->n_rows; i++)
    json_array_append_new(
        rows, json_pack("{s:o, s:o, s:I, s:I}", "function", ctl_json_string(g->rows[i].name),
                        "file", ctl_json_string(g->rows[i].file), "flat",
                        (json_int_t)g->rows[i].flat, "cum", (json_int_t)g->rows[i].cum));
  return json_pack("{s:I, s:I, s:s, s:s, s:I, s:o}", "total", (json_int_t)g->total, "captures",
                   (json_int_t)g->n_captures, "first", ctl_time(g->first_ms, a, sizeof(a)), "last",
                   ctl_time(g->last_ms, b, sizeof(b)), "functions", (json_int_t)g->n_functions,
                   "rows", rows);
}

static void group_text(struct ctl *ctl, const struct pprof_agg *agg,
                       const struct pprof_agg_group *g) {
  char a[PPROF_LABEL_SIZE], b[PPROF_LABEL_SIZE], c[PPROF_LABEL_SIZE], d[PPROF_LABEL_SIZE],
      e[PPROF_LABEL_SIZE], t1[32], t2[32];
  int64_t min_value = 0, flat_sum = 0;
  const char *unit;

  for (size_t i = 0; i < g->n_rows; i++) {
    int64_t v = g->rows[i].flat ? pp_abs(g->rows[i].flat) : pp_abs(g->rows[i].cum);
    if (v > 0 && (min_value == 0 || v < min_value))
      min_value = v;
    flat_sum = pp_add(flat_sum, g->rows[i].flat);
  }
  unit = pprof_output_unit(min_value, g->total, agg->unit);
  if (g->target)
    fprintf(ctl->out, "Target: %s\n", g->target);
  fprintf(ctl->out, "Captures: %zu, %s .. %s\n", g->n_captures, ctl_time(g->first_ms, t1, 32),
          ctl_time(g->last_ms, t2, 32));
  fprintf(ctl->out, "Showing top %zu of %zu functions, %s (%s) of %s total\n", g->n_rows,
          g->n_functions, pprof_scaled_label(flat_sum, agg->unit, unit, a, sizeof(a)),
          pprof_percentage(flat_sum, g->total, b, sizeof(b)) + strspn(b, " "),
          pprof_scaled_label(g->total, agg->unit, unit, c, sizeof(c)));
  fprintf(ctl->out, "%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum", "cum", "cum");
  flat_sum = 0;
  for (size_t i = 0; i < g->n_rows; i++) {
    const struct pprof_agg_row *r = &g->rows[i];
    flat_sum = pp_add(flat_sum, r->flat);
    fprintf(ctl->out, "%10s %s %s %10s %s  %s\n",
            pprof_scaled_label(r->flat, agg->unit, unit, a, sizeof(a)),
            pprof_percentage(r->flat, g->total, b, sizeof(b)),
            pprof_percentage(flat_sum, g->total, c, sizeof(c)),
            pprof_scaled_label(r->cum, agg->unit, unit, d, sizeof(d)),
            pprof_percentage(r->cum, g->total, e, sizeof(e)), r->name);
  }
}

static int top_selection(struct ctl *ctl, const struct ctl_filter *cf, const struct top_args *a) {
  struct store *s = ctl_store(ctl);
  struct pprof_agg_opts o = {0};
  struct pprof_agg *agg = NULL;
  char *err = NULL;
  int r;

  if (!s)
    return CTL_EXIT_NOTFOUND;
  o.sample_type = a->sample_index;
  o.by_target = a->by_target;
  o.cum_sort = a->cum;
  o.limit = a->n > 0 ? (size_t)a->n : TOP_DEFAULT_ROWS;
  o.no_rollup = a->no_rollup;
  /* The aggregate reads the daily and hourly rollups and, for partial
   * hours, every selected capture's function rows (about 4 KB each).
   * Through mmap the pages are not copied, and on a cold page cache the
   * kernel reads ahead instead of one page per pread (BENCHMARKS.md). Only this read-only
   * process maps the file; SQLite caps the size at its compile-time
   * maximum. Failure only costs speed. */
  (void)sqlite3_exec(store_db(s), "PRAGMA mmap_size=68719476736", NULL, NULL, NULL);
  r = pprof_query_aggregate(s, &cf->f, &o, &agg, &err);
  if (r < 0) {
    r = ctl_error("%s", err ? err : strerror(-r));
    free(err);
    return r;
  }
  if (ctl->json) {
    json_t *doc =
        json_pack("{s:o, s:o, s:I}", "sample_type", ctl_json_string(agg->sample_type), "unit",
                  ctl_json_string(agg->unit), "captures", (json_int_t)agg->n_captures);
    if (a->by_target) {
      json_t *groups = json_array();
      for (size_t i = 0; i < agg->n_groups; i++) {
        json_t *g = group_json(&agg->groups[i]);
        json_object_set_new(g, "target", ctl_json_string(agg->groups[i].target));
        json_array_append_new(groups, g);
      }
      json_object_set_new(doc, "groups", groups);
    } else {
      json_t *g = group_json(&agg->groups[0]);
      json_object_update(doc, g);
      json_decref(g);
    }
    r = ctl_print_json(ctl, doc);
  } else {
    fprintf(ctl->out, "Type: %s (%s), summed over the functions stored for each capture\n",
            agg->sample_type, agg->unit);
    for (size_t i = 0; i < agg->n_groups; i++) {
      if (i > 0)
        fputc('\n', ctl->out);
      group_text(ctl, agg, &agg->groups[i]);
    }
    r = CTL_EXIT_OK;
  }
  pprof_agg_free(agg);
  return r;
}

static int run(struct ctl *ctl, int argc, char **argv) {
  static const struct option mine[] = {
      {"sample-index", required_argument, NULL, OPT_SAMPLE_INDEX},
      {"cum", no_argument, NULL, OPT_CUM},
      {"by", required_argument, NULL, OPT_BY},
      {"nodefraction", required_argument, NULL, OPT_NODEFRACTION},
      {"no-rollup", no_argument, NULL, OPT_NO_ROLLUP},
      {NULL, 0, NULL, 0},
  };
  struct option *opts = ctl_options_merge(mine, ctl_filter_longopts);
  struct top_args a = {.node_fraction = -1};
  struct ctl_filter cf;
  bool filtered = false;
  int64_t id = 0;
  int opt, r = CTL_EXIT_OK;

  ctl_filter_init(&cf);
  for (;;) {
    opt = getopt_long(argc, argv, ":n:l:", opts, NULL);
    if (opt == -1)
      break;
    r = ctl_filter_option(ctl, &cf, opt, optarg);
    if (r < 0) {
      r = CTL_EXIT_USAGE;
      goto out;
    }
    if (r == 1) {
      filtered = filtered || opt != CTL_OPT_JSON;
      r = CTL_EXIT_OK;
      continue;
    }
    switch (opt) {
    case 'n':
      if (parse_int64(optarg, &a.n) < 0 || a.n <= 0) {
        r = ctl_usage_error(ctl->cmd, "-n needs a positive number, got '%s'", optarg);
        goto out;
      }
      break;
    case OPT_SAMPLE_INDEX:
      a.sample_index = optarg;
      break;
    case OPT_CUM:
      a.cum = true;
      break;
    case OPT_NO_ROLLUP:
      a.no_rollup = true;
      break;
    case OPT_BY:
      if (strcmp(optarg, "target") != 0) {
        r = ctl_usage_error(ctl->cmd, "--by only knows 'target', not '%s'", optarg);
        goto out;
      }
      a.by_target = true;
      break;
    case OPT_NODEFRACTION:
      if (parse_double(optarg, &a.node_fraction) < 0 || a.node_fraction < 0 ||
          a.node_fraction > 1) {
        r = ctl_usage_error(ctl->cmd, "--nodefraction needs a number from 0 to 1");
        goto out;
      }
      break;
    default:
      r = ctl_bad_option(ctl, opt, argv);
      goto out;
    }
  }
  if (optind < argc - 1) {
    r = ctl_usage_error(ctl->cmd, "too many arguments");
    goto out;
  }
  if (optind == argc - 1) {
    if (filtered || a.by_target || a.no_rollup) {
      r = ctl_usage_error(ctl->cmd, "a capture ID and filters (--type, --target, ...) do not "
                                    "go together");
      goto out;
    }
    r = ctl_parse_id(ctl, argv[optind], &id);
    if (r == 0)
      r = top_capture(ctl, id, &a);
    goto out;
  }
  if (!cf.f.type) {
    r = ctl_usage_error(ctl->cmd, "give a capture ID, or --type TYPE to sum over captures");
    goto out;
  }
  if (a.node_fraction >= 0) {
    r = ctl_usage_error(ctl->cmd, "--nodefraction applies to one capture (the stored rows keep "
                                  "the functions above the collector's min_function_share)");
    goto out;
  }
  r = top_selection(ctl, &cf, &a);
out:
  ctl_filter_done(&cf);
  free(opts);
  return r;
}

const struct ctl_command ctl_cmd_top = {
    .name = "top",
    .usage = "top ID [-n N] [--sample-index NAME|N] [--cum] [--nodefraction F] [--json]\n"
             "       top --type TYPE [--target NAME] [--instance NAME] [--since T] [--until T] "
             "[-l KEY=VALUE]... [--limit N] [--by target] [--sample-index NAME|N] [--cum] "
             "[-n N] [--no-rollup] [--json]",
    .summary = "top functions of a capture (like go tool pprof -top), or summed over captures",
    .run = run,
};
