/* pprofctl diff: what changed between two captures (from their raw
 * profiles, every function) or two time windows of a target's captures
 * (from the stored rows, as means per capture): the N largest increases
 * first, then the N largest decreases; unchanged functions are left out.
 * --pprof -o FILE also writes the diff as a profile: the base negated and
 * labelled pprof::base=true plus the new one, what go tool pprof
 * -diff_base builds, so `go tool pprof -top FILE` shows the change. */
#include "config.h"

#include "ctl.h"
#include "ctl_pprof.h"
#include "pprof_format.h"
#include "pprof_keymap.h"
#include "pprof_math.h"
#include "pprof_merge.h"
#include "pprof_query.h"
#include "pprof_summary.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIFF_DEFAULT_ROWS 20

enum {
  OPT_SAMPLE_INDEX = CTL_OPT_FIRST_FREE,
  OPT_CUM,
  OPT_PPROF,
};

struct drow {
  char *name, *file;
  int64_t base_flat, new_flat, base_cum, new_cum;
};

struct side {
  struct ctl_selection sel;
  char *desc;    /* "capture 12 (api heap, 2026-...)" */
  int64_t total; /* (mean) total */
  size_t n_captures;
};

struct diff {
  char *type, *unit;
  struct side base, new;
  struct keymap keys; /* function name + file -> row */
  struct drow *rows;
  size_t n_rows;
};

static struct drow *row_for(struct diff *d, const char *name, const char *file) {
  size_t nl = strlen(name), fl = strlen(file);
  char *key = xmalloc(nl + fl + 2);
  bool is_new;
  uint32_t i;

  memcpy(key, name, nl + 1);
  memcpy(key + nl + 1, file, fl + 1);
  i = keymap_intern(&d->keys, key, nl + fl + 2, &is_new);
  free(key);
  if (is_new) {
    d->rows = xreallocarray(d->rows, i + 1, sizeof(*d->rows));
    memset(&d->rows[i], 0, sizeof(d->rows[i]));
    d->rows[i].name = xstrdup(name);
    d->rows[i].file = xstrdup(file);
    d->n_rows = i + 1;
  }
  return &d->rows[i];
}

static void diff_done(struct diff *d) {
  for (size_t i = 0; i < d->n_rows; i++) {
    free(d->rows[i].name);
    free(d->rows[i].file);
  }
  free(d->rows);
  keymap_done(&d->keys);
  free(d->type);
  free(d->unit);
  free(d->base.desc);
  free(d->new.desc);
}

static char *capture_desc(struct store *s, int64_t id) {
  struct capture_row row;
  char t[32];
  char *d;
  if (store_get(s, id, &row) < 0)
    return xasprintf("capture %" PRId64, id);
  d = xasprintf("capture %" PRId64 " (%s %s %s, %s)", id, row.target, row.instance, row.type,
                ctl_time(row.started_at_ms, t, sizeof(t)));
  capture_row_done(&row);
  return d;
}

/* One capture, every function, exactly as pprof computes them. */
static int add_capture(struct diff *d, struct store *s, struct side *side, bool is_new,
                       const char *want) {
  struct pprof_profile *p = NULL;
  struct pprof_nodes *nodes;
  struct pprof_top_opts o;
  struct pprof_top *t;
  int si, r;

  r = ctl_pprof_load(s, side->sel.id, &p);
  if (r != CTL_EXIT_OK)
    return r;
  r = ctl_pprof_sample_index(p, want ? want : d->type, side->sel.id, &si);
  if (r != CTL_EXIT_OK)
    goto out;
  if (!d->type) {
    d->type = xstrdup(p->sample_types[si].type);
    d->unit = xstrdup(p->sample_types[si].unit);
  } else if (strcmp(d->unit, p->sample_types[si].unit) != 0) {
    r = ctl_error("capture %" PRId64 " measures %s in %s, the base in %s", side->sel.id, d->type,
                  p->sample_types[si].unit, d->unit);
    goto out;
  }
  nodes = pprof_nodes_new(p);
  pprof_top_opts_default(&o);
  o.node_fraction = 0;
  t = pprof_top_compute(p, nodes, si, &o);
  side->total = t->total;
  side->n_captures = 1;
  side->desc = capture_desc(s, side->sel.id);
  for (size_t i = 0; i < t->n_rows; i++) {
    const struct pprof_node *n = &nodes->nodes[t->rows[i].node];
    struct drow *row = row_for(d, n->name, n->file);
    int64_t *flat = is_new ? &row->new_flat : &row->base_flat;
    int64_t *cum = is_new ? &row->new_cum : &row->base_cum;
    *flat = pp_add(*flat, t->rows[i].flat);
    *cum = pp_add(*cum, t->rows[i].cum);
  }
  pprof_top_free(t);
  pprof_nodes_free(nodes);
out:
  pprof_profile_free(p);
  return r;
}

static int64_t mean(int64_t sum, size_t n) {
  return n ? (int64_t)llround((double)sum / (double)n) : 0;
}

/* A time window: the stored rows of its captures, averaged per capture
 * so windows with different numbers of captures compare. */
static int add_window(struct diff *d, struct store *s, const struct ctl_filter *cf,
                      struct side *side, bool is_new, const char *want) {
  struct store_filter f = cf->f;
  struct pprof_agg_opts o = {.sample_type = want ? want : d->type};
  struct pprof_agg *agg = NULL;
  const struct pprof_agg_group *g;
  char *err = NULL, t1[32], t2[32];
  int r;

  f.since_ms = side->sel.since_ms;
  f.until_ms = side->sel.until_ms;
  r = pprof_query_aggregate(s, &f, &o, &agg, &err);
  if (r < 0) {
    r = ctl_error("%s window: %s", is_new ? "new" : "base", err);
    free(err);
    return r;
  }
  if (!d->type) {
    d->type = xstrdup(agg->sample_type);
    d->unit = xstrdup(agg->unit);
  } else if (strcmp(d->unit, agg->unit) != 0) {
    r = ctl_error("the new window measures %s in %s, the base in %s", d->type, agg->unit, d->unit);
    pprof_agg_free(agg);
    return r;
  }
  g = &agg->groups[0];
  side->n_captures = g->n_captures;
  side->total = mean(g->total, g->n_captures);
  side->desc = xasprintf("%zu capture%s from %s to %s (means per capture)", g->n_captures,
                         g->n_captures == 1 ? "" : "s", ctl_time(g->first_ms, t1, sizeof(t1)),
                         ctl_time(g->last_ms, t2, sizeof(t2)));
  for (size_t i = 0; i < g->n_rows; i++) {
    struct drow *row = row_for(d, g->rows[i].name, g->rows[i].file);
    int64_t *flat = is_new ? &row->new_flat : &row->base_flat;
    int64_t *cum = is_new ? &row->new_cum : &row->base_cum;
    *flat = pp_add(*flat, mean(g->rows[i].flat, g->n_captures));
    *cum = pp_add(*cum, mean(g->rows[i].cum, g->n_captures));
  }
  pprof_agg_free(agg);
  return CTL_EXIT_OK;
}

static int cmp_drow(const void *a, const void *b, void *ud) {
  const struct drow *l = a, *r = b;
  bool cum = *(const bool *)ud;
  int64_t ld = cum ? pp_sub(l->new_cum, l->base_cum) : pp_sub(l->new_flat, l->base_flat);
  int64_t rd = cum ? pp_sub(r->new_cum, r->base_cum) : pp_sub(r->new_flat, r->base_flat);
  if (ld != rd)
    return ld > rd ? -1 : 1;
  ld = cum ? pp_sub(l->new_flat, l->base_flat) : pp_sub(l->new_cum, l->base_cum);
  rd = cum ? pp_sub(r->new_flat, r->base_flat) : pp_sub(r->new_cum, r->base_cum);
  if (ld != rd)
    return ld > rd ? -1 : 1;
  return strcmp(l->name, r->name);
}

static const char *signed_label(int64_t v, const char *unit, const char *out_unit, char *buf,
                                size_t size) {
  char tmp[PPROF_LABEL_SIZE];
  pprof_scaled_label(v, unit, out_unit, tmp, sizeof(tmp));
  snprintf(buf, size, "%s%s", v > 0 ? "+" : "", tmp);
  return buf;
}

static int64_t delta(const struct drow *r, bool cum) {
  return cum ? pp_sub(r->new_cum, r->base_cum) : pp_sub(r->new_flat, r->base_flat);
}

/* rows[0..n_inc) are the largest increases, rows[dec..n_rows) the largest
 * decreases (sorted by change, descending, like all rows). */
struct cut {
  size_t n_inc, dec;
};

static void print_rows(struct ctl *ctl, const struct diff *d, const char *unit, size_t from,
                       size_t to) {
  char a[PPROF_LABEL_SIZE + 2], b[PPROF_LABEL_SIZE], c[PPROF_LABEL_SIZE], e[PPROF_LABEL_SIZE + 2],
      f[PPROF_LABEL_SIZE], g[PPROF_LABEL_SIZE];
  for (size_t i = from; i < to; i++) {
    const struct drow *r = &d->rows[i];
    fprintf(ctl->out, "%11s %10s %10s %11s %10s %10s  %s\n",
            signed_label(pp_sub(r->new_flat, r->base_flat), d->unit, unit, a, sizeof(a)),
            pprof_scaled_label(r->base_flat, d->unit, unit, b, sizeof(b)),
            pprof_scaled_label(r->new_flat, d->unit, unit, c, sizeof(c)),
            signed_label(pp_sub(r->new_cum, r->base_cum), d->unit, unit, e, sizeof(e)),
            pprof_scaled_label(r->base_cum, d->unit, unit, f, sizeof(f)),
            pprof_scaled_label(r->new_cum, d->unit, unit, g, sizeof(g)), r->name);
  }
}

static void print_text(struct ctl *ctl, const struct diff *d, const struct cut *cut, bool cum) {
  char a[PPROF_LABEL_SIZE], b[PPROF_LABEL_SIZE], c[PPROF_LABEL_SIZE + 2];
  int64_t min_value = 0, max_value = MAX(pp_abs(d->base.total), pp_abs(d->new.total));
  const char *unit;

  for (size_t i = 0; i < d->n_rows; i++) {
    int64_t v = pp_abs(pp_sub(d->rows[i].new_flat, d->rows[i].base_flat));
    if (i >= cut->n_inc && i < cut->dec)
      continue;
    if (v > 0 && (min_value == 0 || v < min_value))
      min_value = v;
  }
  unit = pprof_output_unit(min_value, max_value, d->unit);
  fprintf(ctl->out, "Base: %s\nNew:  %s\n", d->base.desc, d->new.desc);
  fprintf(ctl->out, "Type: %s; total %s -> %s (%s", d->type,
          pprof_scaled_label(d->base.total, d->unit, unit, a, sizeof(a)),
          pprof_scaled_label(d->new.total, d->unit, unit, b, sizeof(b)),
          signed_label(pp_sub(d->new.total, d->base.total), d->unit, unit, c, sizeof(c)));
  if (d->base.total)
    fprintf(ctl->out, ", %+.1f%%",
            100.0 * ((double)d->new.total - (double)d->base.total) / fabs((double)d->base.total));
  fprintf(ctl->out, ")\n");
  if (cut->n_inc == 0 && cut->dec == d->n_rows) {
    fprintf(ctl->out, "No function changed.\n");
    return;
  }
  fprintf(ctl->out, "%11s %10s %10s %11s %10s %10s  %s\n", "flat diff", "base flat", "new flat",
          "cum diff", "base cum", "new cum", "function");
  print_rows(ctl, d, unit, 0, cut->n_inc);
  if (cut->n_inc > 0 && cut->dec < d->n_rows)
    fprintf(ctl->out, "%11s\n", "...");
  print_rows(ctl, d, unit, cut->dec, d->n_rows);
  (void)cum;
}

static json_t *side_json(const struct side *s) {
  json_t *o = json_pack("{s:o, s:I, s:I}", "description", ctl_json_string(s->desc), "total",
                        (json_int_t)s->total, "captures", (json_int_t)s->n_captures);
  char t[32];
  if (s->sel.id > 0) {
    json_object_set_new(o, "capture_id", json_integer(s->sel.id));
  } else {
    json_object_set_new(o, "since",
                        s->sel.since_ms == INT64_MIN
                            ? json_null()
                            : json_string(ctl_time(s->sel.since_ms, t, sizeof(t))));
    json_object_set_new(o, "until",
                        s->sel.until_ms == INT64_MAX
                            ? json_null()
                            : json_string(ctl_time(s->sel.until_ms, t, sizeof(t))));
  }
  return o;
}

static json_t *diff_json(const struct diff *d, const struct cut *cut) {
  json_t *rows = json_array();
  for (size_t i = 0; i < d->n_rows; i++) {
    const struct drow *r = &d->rows[i];
    if (i >= cut->n_inc && i < cut->dec)
      continue;
    json_array_append_new(
        rows, json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:I}", "function",
                        ctl_json_string(r->name), "file", ctl_json_string(r->file), "base_flat",
                        (json_int_t)r->base_flat, "new_flat", (json_int_t)r->new_flat, "flat_diff",
                        (json_int_t)pp_sub(r->new_flat, r->base_flat), "base_cum",
                        (json_int_t)r->base_cum, "new_cum", (json_int_t)r->new_cum, "cum_diff",
                        (json_int_t)pp_sub(r->new_cum, r->base_cum)));
  }
  return json_pack("{s:o, s:o, s:o, s:o, s:o}", "sample_type", ctl_json_string(d->type), "unit",
                   ctl_json_string(d->unit), "base", side_json(&d->base), "new", side_json(&d->new),
                   "rows", rows);
}

/* The ids of one side, for --pprof. */
static int side_ids(struct store *s, const struct ctl_filter *cf, const struct side *side,
                    int64_t **ret, size_t *ret_n) {
  struct store_filter f = cf->f;
  size_t skipped;

  if (side->sel.id > 0) {
    *ret = xmalloc(sizeof(int64_t));
    (*ret)[0] = side->sel.id;
    *ret_n = 1;
    return CTL_EXIT_OK;
  }
  f.since_ms = side->sel.since_ms;
  f.until_ms = side->sel.until_ms;
  return ctl_pprof_select(s, &f, ret, ret_n, &skipped);
}

static int write_pprof(struct ctl *ctl, struct store *s, const struct ctl_filter *cf,
                       const struct diff *d, const char *output) {
  struct pprof_merge *m = pprof_merge_new();
  int64_t *ids = NULL;
  size_t n = 0;
  struct buf out;
  int r;

  buf_init(&out, SIZE_MAX);
  r = side_ids(s, cf, &d->base, &ids, &n);
  if (r == CTL_EXIT_OK)
    r = ctl_pprof_merge_ids(s, m, ids, n, true, "base");
  free(ids);
  ids = NULL;
  if (r == CTL_EXIT_OK)
    r = side_ids(s, cf, &d->new, &ids, &n);
  if (r == CTL_EXIT_OK)
    r = ctl_pprof_merge_ids(s, m, ids, n, false, "new");
  free(ids);
  if (r == CTL_EXIT_OK && pprof_merge_write(m, &out) < 0)
    r = ctl_error("cannot serialise the diff profile");
  if (r == CTL_EXIT_OK)
    r = ctl_pprof_write_file(ctl, output, &out);
  if (r == CTL_EXIT_OK && strcmp(output, "-") != 0)
    fprintf(stderr, "wrote the diff profile to %s (see it with: go tool pprof -top %s)\n", output,
            output);
  buf_done(&out);
  pprof_merge_free(m);
  return r;
}

static int run(struct ctl *ctl, int argc, char **argv) {
  static const struct option mine[] = {
      {"sample-index", required_argument, NULL, OPT_SAMPLE_INDEX},
      {"cum", no_argument, NULL, OPT_CUM},
      {"pprof", no_argument, NULL, OPT_PPROF},
      {"output", required_argument, NULL, 'o'},
      {NULL, 0, NULL, 0},
  };
  struct option *opts = ctl_options_merge(mine, ctl_filter_longopts);
  const char *want = NULL, *output = NULL;
  bool cum = false, pprof_out = false;
  struct diff d;
  struct cut cut = {0, 0};
  struct ctl_filter cf;
  struct store *s;
  int64_t n_rows = DIFF_DEFAULT_ROWS;
  size_t n;
  int opt, r = CTL_EXIT_OK;

  memset(&d, 0, sizeof(d));
  keymap_init(&d.keys);
  ctl_filter_init(&cf);
  for (;;) {
    opt = getopt_long(argc, argv, ":n:o:l:", opts, NULL);
    if (opt == -1)
      break;
    r = ctl_filter_option(ctl, &cf, opt, optarg);
    if (r < 0) {
      r = CTL_EXIT_USAGE;
      goto out;
    }
    if (r == 1) {
      r = CTL_EXIT_OK;
      continue;
    }
    switch (opt) {
    case 'n':
      if (parse_int64(optarg, &n_rows) < 0 || n_rows <= 0) {
        r = ctl_usage_error(ctl->cmd, "-n needs a positive number, got '%s'", optarg);
        goto out;
      }
      break;
    case 'o':
      output = optarg;
      break;
    case OPT_SAMPLE_INDEX:
      want = optarg;
      break;
    case OPT_CUM:
      cum = true;
      break;
    case OPT_PPROF:
      pprof_out = true;
      break;
    default:
      r = ctl_bad_option(ctl, opt, argv);
      goto out;
    }
  }
  if (argc - optind != 2) {
    r = ctl_usage_error(ctl->cmd, "give two selections: BASE NEW (capture ids, or time windows "
                                  "SINCE..UNTIL)");
    goto out;
  }
  if (pprof_out != (output != NULL)) {
    r = ctl_usage_error(ctl->cmd, "--pprof and -o FILE go together");
    goto out;
  }
  if (cf.f.since_ms != INT64_MIN || cf.f.until_ms != INT64_MAX) {
    r = ctl_usage_error(ctl->cmd, "--since/--until do not apply; the selections are the windows");
    goto out;
  }
  r = ctl_parse_selection(ctl, argv[optind], &d.base.sel);
  if (r == 0)
    r = ctl_parse_selection(ctl, argv[optind + 1], &d.new.sel);
  if (r != 0)
    goto out;
  if ((d.base.sel.id > 0) != (d.new.sel.id > 0)) {
    r = ctl_usage_error(ctl->cmd, "compare two capture ids or two time windows, not one of each");
    goto out;
  }
  if (d.base.sel.id == 0 && !cf.f.type) {
    r = ctl_usage_error(ctl->cmd, "time windows need --type TYPE (and usually --target NAME)");
    goto out;
  }
  s = ctl_store(ctl);
  if (!s) {
    r = CTL_EXIT_NOTFOUND;
    goto out;
  }
  if (d.base.sel.id > 0) {
    r = add_capture(&d, s, &d.base, false, want);
    if (r == CTL_EXIT_OK)
      r = add_capture(&d, s, &d.new, true, want);
  } else {
    r = add_window(&d, s, &cf, &d.base, false, want);
    if (r == CTL_EXIT_OK)
      r = add_window(&d, s, &cf, &d.new, true, want);
  }
  if (r != CTL_EXIT_OK)
    goto out;
  /* Unchanged functions say nothing; the rest sorted by change. */
  n = 0;
  for (size_t i = 0; i < d.n_rows; i++) {
    if (d.rows[i].new_flat == d.rows[i].base_flat && d.rows[i].new_cum == d.rows[i].base_cum) {
      free(d.rows[i].name);
      free(d.rows[i].file);
      continue;
    }
    d.rows[n++] = d.rows[i];
  }
  d.n_rows = n;
  if (d.n_rows > 1)
    qsort_r(d.rows, d.n_rows, sizeof(*d.rows), cmp_drow, &cum);
  /* The N largest increases and the N largest decreases. */
  while (cut.n_inc < d.n_rows && cut.n_inc < (size_t)n_rows && delta(&d.rows[cut.n_inc], cum) > 0)
    cut.n_inc++;
  cut.dec = d.n_rows;
  while (cut.dec > cut.n_inc && d.n_rows - cut.dec < (size_t)n_rows &&
         delta(&d.rows[cut.dec - 1], cum) < 0)
    cut.dec--;
  if (pprof_out) {
    r = write_pprof(ctl, s, &cf, &d, output);
    if (r != CTL_EXIT_OK)
      goto out;
  }
  if (ctl->json) {
    r = ctl_print_json(ctl, diff_json(&d, &cut));
  } else if (!pprof_out || strcmp(output, "-") != 0) {
    print_text(ctl, &d, &cut, cum);
  }
out:
  diff_done(&d);
  ctl_filter_done(&cf);
  free(opts);
  return r;
}

const struct ctl_command ctl_cmd_diff = {
    .name = "diff",
    .usage = "diff BASE NEW [--type TYPE] [--target NAME] [--instance NAME] [-l KEY=VALUE]... "
             "[--sample-index NAME|N] [--cum] [-n N] [--json] [--pprof -o FILE]\n"
             "       (BASE and NEW: capture ids, or time windows SINCE..UNTIL such as 2d..1d "
             "and 1d..now)",
    .summary = "per-function change between two captures or two time windows",
    .run = run,
};
