#include "config.h"

#include "analysis.h"
#include "pprof.h"
#include "pprof_analyze.h"
#include "pprof_keymap.h"
#include "pprof_report.h"
#include "pprof_rows.h"
#include "pprof_summary.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define JSON_TOP_FUNCTIONS 20
#define ROW_STACKS 20
#define JSON_STACKS 10

static void free_detail(void *d) {
  pprof_detail_free(d);
}

static const struct analysis_ops pprof_ops = {
    .name = "pprof",
    .store_rows = pprof_rows_store,
    .free_detail = free_detail,
};

void pprof_detail_free(struct pprof_detail *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->n_fns; i++) {
    free(d->fns[i].name);
    free(d->fns[i].file);
  }
  free(d->fns);
  for (size_t i = 0; i < d->n_types; i++) {
    free(d->types[i].type);
    free(d->types[i].unit);
    free(d->types[i].stats);
  }
  free(d->types);
  for (size_t i = 0; i < d->n_stacks; i++)
    free(d->stacks[i].frames);
  free(d->stacks);
  free(d->period_type);
  free(d->period_unit);
  free(d);
}

/* Functions of the detail, interned by (name, file); two nameless nodes
 * of one binary can share them. */
struct detail_fns {
  struct keymap by_key;
  uint32_t *by_node; /* each node's function once looked up, or UINT32_MAX */
};

static uint32_t detail_fn(struct pprof_detail *d, struct detail_fns *fns,
                          const struct pprof_nodes *nodes, uint32_t node) {
  const struct pprof_node *n = &nodes->nodes[node];
  size_t nl, fl;
  char *key;
  bool is_new;
  uint32_t idx;

  if (fns->by_node[node] != UINT32_MAX)
    return fns->by_node[node];
  nl = strlen(n->name);
  fl = strlen(n->file);
  key = xmalloc(nl + fl + 2);
  memcpy(key, n->name, nl + 1);
  memcpy(key + nl + 1, n->file, fl + 1);
  idx = keymap_intern(&fns->by_key, key, nl + fl + 2, &is_new);
  free(key);
  fns->by_node[node] = idx;
  if (is_new) {
    d->fns = xreallocarray(d->fns, idx + 1, sizeof(*d->fns));
    d->fns[idx].name = xstrdup(n->name);
    d->fns[idx].file = xstrdup(n->file);
    d->n_fns = idx + 1;
  }
  return idx;
}

/* The functions kept for one sample type: all above the share, or when
 * there are more than max, the first max/2 by flat and the rest by cum, so
 * both orders of `top --type` stay meaningful. Rows stay in flat order. */
static size_t select_rows(struct pprof_top *t, const struct pprof_nodes *nodes, size_t max) {
  struct pprof_top_row *by_cum;
  uint32_t *pos;
  bool *keep;
  size_t n = 0, kept;

  if (t->n_rows <= max)
    return t->n_rows;
  keep = xcalloc(t->n_rows, sizeof(*keep));
  pos = xcalloc(nodes->n_nodes + 1, sizeof(*pos));
  for (size_t i = 0; i < t->n_rows; i++)
    pos[t->rows[i].node] = (uint32_t)i;
  for (size_t i = 0; i < max / 2; i++)
    keep[i] = true;
  kept = max / 2;
  by_cum = xcalloc(t->n_rows, sizeof(*by_cum));
  memcpy(by_cum, t->rows, t->n_rows * sizeof(*by_cum));
  pprof_rows_sort(by_cum, t->n_rows, nodes, true);
  for (size_t i = 0; i < t->n_rows && kept < max; i++) {
    uint32_t j = pos[by_cum[i].node];
    if (!keep[j]) {
      keep[j] = true;
      kept++;
    }
  }
  for (size_t i = 0; i < t->n_rows; i++)
    if (keep[i])
      t->rows[n++] = t->rows[i];
  free(by_cum);
  free(pos);
  free(keep);
  return n;
}

static json_t *stack_json(const struct pprof_stack *st, const struct pprof_nodes *nodes) {
  json_t *frames = json_array();
  for (size_t k = 0; k < st->n_frames; k++)
    json_array_append_new(frames, pprof_json_string(nodes->nodes[st->frames[k]].name));
  return json_pack("{s:I, s:o}", "count", (json_int_t)st->count, "frames", frames);
}

static void goroutines(struct pprof_detail *d, struct detail_fns *fns, const struct pprof_profile *p,
                       const struct pprof_nodes *nodes, json_t *json) {
  struct pprof_stacks *st = pprof_stacks_compute(p, nodes);
  json_t *top = json_array();

  d->is_goroutine = true;
  d->goroutines = st->total;
  d->n_stacks = MIN(st->n_stacks, (size_t)ROW_STACKS);
  d->stacks = xcalloc(d->n_stacks + 1, sizeof(*d->stacks));
  for (size_t i = 0; i < d->n_stacks; i++) {
    const struct pprof_stack *s = &st->stacks[i];
    struct buf frames;
    buf_init(&frames, SIZE_MAX);
    for (size_t k = 0; k < s->n_frames; k++)
      buf_printf(&frames, "%s%s", k ? "\n" : "", nodes->nodes[s->frames[k]].name);
    buf_terminate(&frames);
    d->stacks[i].count = s->count;
    d->stacks[i].frames = (char *)buf_steal(&frames, NULL);
    d->stacks[i].leaf_fn =
        s->n_frames ? detail_fn(d, fns, nodes, s->frames[0]) : UINT32_MAX;
    if (i < JSON_STACKS)
      json_array_append_new(top, stack_json(s, nodes));
  }
  json_object_set_new(json, "goroutines", json_integer(st->total));
  json_object_set_new(json, "distinct_stacks", json_integer((json_int_t)st->n_stacks));
  json_object_set_new(json, "top_stacks", top);
  pprof_stacks_free(st);
}

static void header_json(const struct pprof_profile *p, json_t *json) {
  json_t *comments = json_array();
  int di = pprof_default_sample_index(p);
  char tbuf[40];

  for (size_t i = 0; i < p->n_comments; i++)
    json_array_append_new(comments, pprof_json_string(p->comments[i]));
  json_object_set_new(json, "default_sample_type",
                      di >= 0 ? pprof_json_string(p->sample_types[di].type) : json_null());
  json_object_set_new(json, "period_type",
                      json_pack("{s:o, s:o}", "type", pprof_json_string(p->period_type.type),
                                "unit", pprof_json_string(p->period_type.unit)));
  json_object_set_new(json, "period", json_integer(p->period));
  json_object_set_new(json, "time_nanos", json_integer(p->time_nanos));
  json_object_set_new(json, "time",
                      p->time_nanos
                          ? json_string(format_rfc3339(p->time_nanos / 1000000, tbuf, sizeof(tbuf)))
                          : json_null());
  json_object_set_new(json, "duration_nanos", json_integer(p->duration_nanos));
  json_object_set_new(json, "samples", json_integer((json_int_t)p->n_samples));
  json_object_set_new(json, "locations", json_integer((json_int_t)p->n_locations));
  json_object_set_new(json, "functions", json_integer((json_int_t)p->n_functions));
  json_object_set_new(json, "mappings", json_integer((json_int_t)p->n_mappings));
  json_object_set_new(json, "comments", comments);
  if (p->n_mappings > 0 && *p->mappings[0].file)
    json_object_set_new(json, "binary", pprof_json_string(p->mappings[0].file));
  if (p->n_mappings > 0 && *p->mappings[0].build_id)
    json_object_set_new(json, "build_id", pprof_json_string(p->mappings[0].build_id));
  json_object_set_new(json, "compressed", json_boolean(p->gzipped));
  json_object_set_new(json, "decoded_bytes", json_integer((json_int_t)p->decoded_bytes));
}

void pprof_analyze(struct analysis *a, const char *profile_type, const uint8_t *data, size_t len,
                   bool gzipped, const struct analysis_opts *o) {
  struct pprof_profile *p = NULL;
  struct pprof_nodes *nodes;
  struct pprof_detail *d;
  struct pprof_top_opts to;
  struct pprof_top **tops;
  struct detail_fns fns;
  json_t *types;
  char *err = NULL;
  int r;

  (void)profile_type; /* the content decides; a goroutine profile is one by its sample type */
  r = pprof_decode(data, len, o->max_decompressed, &p, &err);
  if (r < 0) {
    analysis_set_error(a, ANALYSIS_ERROR, "pprof: %s", err);
    free(err);
    return;
  }
  p->gzipped |= gzipped;
  nodes = pprof_nodes_new(p);
  d = xcalloc(1, sizeof(*d));
  keymap_init(&fns.by_key);
  fns.by_node = xmalloc((nodes->n_nodes + 1) * sizeof(*fns.by_node));
  memset(fns.by_node, 0xff, (nodes->n_nodes + 1) * sizeof(*fns.by_node));
  header_json(p, a->json);
  d->default_type = pprof_default_sample_index(p);
  d->period_type = xstrdup(p->period_type.type);
  d->period_unit = xstrdup(p->period_type.unit);
  d->period = p->period;
  d->time_nanos = p->time_nanos;
  d->duration_nanos = p->duration_nanos;
  d->n_samples = (int64_t)p->n_samples;
  d->n_types = p->n_sample_types;
  d->types = xcalloc(d->n_types + 1, sizeof(*d->types));
  types = json_array();
  pprof_top_opts_default(&to);
  to.node_fraction = o->min_function_share;
  to.inline_marks = false; /* only reports show them; rows and JSON do not */
  tops = xcalloc(p->n_sample_types + 1, sizeof(*tops));
  pprof_tops_compute(p, nodes, &to, tops);
  for (size_t si = 0; si < p->n_sample_types; si++) {
    struct pprof_row_type *rt = &d->types[si];
    struct pprof_top *t = tops[si];
    json_t *top = json_array();
    size_t n;

    rt->type = xstrdup(p->sample_types[si].type);
    rt->unit = xstrdup(p->sample_types[si].unit);
    rt->total = t->total;
    for (size_t i = 0; i < t->n_rows && i < JSON_TOP_FUNCTIONS; i++) {
      const struct pprof_node *nd = &nodes->nodes[t->rows[i].node];
      json_array_append_new(
          top, json_pack("{s:o, s:o, s:I, s:I}", "function", pprof_json_string(nd->name), "file",
                         pprof_json_string(nd->file), "flat", (json_int_t)t->rows[i].flat, "cum",
                         (json_int_t)t->rows[i].cum));
    }
    n = select_rows(t, nodes, o->max_functions ? o->max_functions : 300);
    rt->n_stats = n;
    rt->stats = xcalloc(n + 1, sizeof(*rt->stats));
    for (size_t i = 0; i < n; i++) {
      rt->stats[i].fn = detail_fn(d, &fns, nodes, t->rows[i].node);
      rt->stats[i].flat = t->rows[i].flat;
      rt->stats[i].cum = t->rows[i].cum;
    }
    json_array_append_new(
        types, json_pack("{s:o, s:o, s:I, s:I, s:o}", "type", pprof_json_string(rt->type), "unit",
                         pprof_json_string(rt->unit), "total", (json_int_t)rt->total,
                         "functions_kept", (json_int_t)n, "top", top));
    pprof_top_free(t);
  }
  free(tops);
  json_object_set_new(a->json, "sample_types", types);
  if (pprof_is_goroutine_profile(p))
    goroutines(d, &fns, p, nodes, a->json);
  keymap_done(&fns.by_key);
  free(fns.by_node);
  pprof_nodes_free(nodes);
  pprof_profile_free(p);
  a->status = ANALYSIS_OK;
  a->ops = &pprof_ops;
  a->detail = d;
}

int pprof_fuzz_one(const uint8_t *data, size_t len) {
  struct analysis_opts o;
  struct analysis *a;

  analysis_opts_default(&o);
  o.max_decompressed = 64u << 20;
  a = analysis_run("fuzz", data, len, &o);
  analysis_free(a);
  return 0;
}
