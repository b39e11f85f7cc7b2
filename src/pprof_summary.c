#include "config.h"

#include "pprof_keymap.h"
#include "pprof_math.h"
#include "pprof_summary.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define abs64 pp_abs

/* ---- nodes ---- */

struct nodes_priv {
  struct keymap keys;
  char **names;
  uint32_t *by_function; /* node of each named function, UINT32_MAX = not yet */
};

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* pprof's NodeInfo at function granularity: the function name, or for a
 * nameless frame the binary (and the function's start line). */
static uint32_t node_for(struct pprof_nodes *n, const struct pprof_profile *p,
                         const struct pprof_location *loc, const struct pprof_line *line) {
  struct nodes_priv *np = n->priv;
  const struct pprof_function *f = line ? &p->functions[line->function] : NULL;
  const char *objfile = loc->mapping != PPROF_NONE ? p->mappings[loc->mapping].file : "";
  struct buf key;
  uint32_t idx;
  bool is_new;

  /* A named function is its own node: intern its name once, not once per
   * location line (a CPU profile has many lines per function). */
  if (f && *f->name && np->by_function[line->function] != UINT32_MAX)
    return np->by_function[line->function];
  buf_init(&key, SIZE_MAX);
  if (f && *f->name) {
    buf_append(&key, "n", 1);
    buf_append(&key, f->name, strlen(f->name));
  } else {
    buf_printf(&key, "o%s", objfile);
    buf_append(&key, "", 1);
    buf_printf(&key, "%" PRId64, f ? f->start_line : 0);
  }
  idx = keymap_intern(&np->keys, key.data, key.len, &is_new);
  buf_done(&key);
  if (is_new) {
    if (idx % 256 == 0) {
      n->nodes = xreallocarray(n->nodes, idx + 256, sizeof(*n->nodes));
      np->names = xreallocarray(np->names, idx + 256, sizeof(*np->names));
    }
    if (f && *f->name) {
      np->names[idx] = NULL;
      n->nodes[idx].name = f->name;
    } else {
      np->names[idx] = *objfile ? xasprintf("[%s]", base_name(objfile)) : xstrdup("<unknown>");
      n->nodes[idx].name = np->names[idx];
    }
    n->nodes[idx].file = f ? f->filename : "";
    n->nodes[idx].function = f ? line->function : PPROF_NONE;
    n->n_nodes = idx + 1;
  }
  if (f && *f->name)
    np->by_function[line->function] = idx;
  return idx;
}

struct pprof_nodes *pprof_nodes_new(const struct pprof_profile *p) {
  struct pprof_nodes *n = xcalloc(1, sizeof(*n));
  struct nodes_priv *np = xcalloc(1, sizeof(*np));
  size_t total = 0;

  n->priv = np;
  keymap_init(&np->keys);
  np->by_function = xreallocarray(NULL, p->n_functions + 1, sizeof(*np->by_function));
  memset(np->by_function, 0xff, (p->n_functions + 1) * sizeof(*np->by_function));
  for (size_t i = 0; i < p->n_locations; i++)
    total += p->locations[i].n_lines ? p->locations[i].n_lines : 1;
  n->loc_first = xcalloc(p->n_locations + 1, sizeof(uint32_t));
  n->loc_nodes = xcalloc(total + 1, sizeof(uint32_t));
  total = 0;
  for (size_t i = 0; i < p->n_locations; i++) {
    const struct pprof_location *loc = &p->locations[i];
    n->loc_first[i] = (uint32_t)total;
    if (loc->n_lines == 0)
      n->loc_nodes[total++] = node_for(n, p, loc, NULL);
    for (uint32_t j = 0; j < loc->n_lines; j++)
      n->loc_nodes[total++] = node_for(n, p, loc, &loc->lines[j]);
  }
  n->loc_first[p->n_locations] = (uint32_t)total;
  return n;
}

struct pprof_nodes *pprof_nodes_free(struct pprof_nodes *n) {
  struct nodes_priv *np;
  if (!n)
    return NULL;
  np = n->priv;
  for (size_t i = 0; i < n->n_nodes; i++)
    free(np->names[i]);
  free(np->names);
  free(np->by_function);
  keymap_done(&np->keys);
  free(np);
  free(n->nodes);
  free(n->loc_first);
  free(n->loc_nodes);
  free(n);
  return NULL;
}

/* ---- totals ---- */

static bool is_diff_base(const struct pprof_sample *s) {
  for (uint32_t i = 0; i < s->n_labels; i++)
    if (s->labels[i].str && strcmp(s->labels[i].key, "pprof::base") == 0 &&
        strcmp(s->labels[i].str, "true") == 0)
      return true;
  return false;
}

int64_t pprof_total(const struct pprof_profile *p, int si) {
  int64_t total = 0, diff_total = 0;
  for (size_t i = 0; i < p->n_samples; i++) {
    int64_t v = abs64(p->samples[i].values[si]);
    total = pp_add(total, v);
    if (is_diff_base(&p->samples[i]))
      diff_total = pp_add(diff_total, v);
  }
  return diff_total > 0 ? diff_total : total;
}

/* ---- the graph walk ----
 *
 * The tops of several sample types are computed together: the walks over
 * every sample's frames (the bulk of the work on a large profile) are the
 * same for all types, only the values differ, so one walk accumulates all
 * of them. A CPU profile's two types (samples, nanoseconds) then cost one
 * walk instead of two, a heap profile's four one or two. */

struct walk {
  const struct pprof_profile *p;
  const struct pprof_nodes *nodes;
  size_t k;         /* sample types computed together */
  const int *types; /* their indexes */
  int64_t *w;       /* k values of the current sample */
};

/* The current sample's values of the walked types; false when all are 0
 * (such a sample adds nothing: pprof skips it). */
static bool sample_values(struct walk *wk, const struct pprof_sample *smp) {
  bool any = false;
  for (size_t j = 0; j < wk->k; j++) {
    wk->w[j] = smp->values[wk->types[j]];
    any |= wk->w[j] != 0;
  }
  return any;
}

/* Walks every sample's frames from the root, as pprof's graph builder
 * does, adding cum once per node per sample and flat to the leaf; flat and
 * cum hold k values per node. Compiled for the common k (CPU profiles 2,
 * heap 4, the others 1) so that the adds unroll. */
static inline __attribute__((always_inline)) void accumulate_k(struct walk *wk, int64_t *flat,
                                                              int64_t *cum, size_t *seen,
                                                              const size_t k) {
  const struct pprof_nodes *nodes = wk->nodes;

  for (size_t s = 0; s < wk->p->n_samples; s++) {
    const struct pprof_sample *smp = &wk->p->samples[s];
    uint32_t leaf = PPROF_NONE;

    if (!sample_values(wk, smp))
      continue;
    for (uint32_t i = smp->n_locations; i-- > 0;) {
      uint32_t loc = smp->locations[i];
      for (uint32_t x = nodes->loc_first[loc + 1]; x-- > nodes->loc_first[loc];) {
        uint32_t nd = nodes->loc_nodes[x];
        if (seen[nd] != s + 1) {
          seen[nd] = s + 1;
          for (size_t j = 0; j < k; j++)
            cum[nd * k + j] = pp_add(cum[nd * k + j], wk->w[j]);
        }
        leaf = nd;
      }
    }
    if (leaf != PPROF_NONE)
      for (size_t j = 0; j < k; j++)
        flat[leaf * k + j] = pp_add(flat[leaf * k + j], wk->w[j]);
  }
}

static void accumulate(struct walk *wk, int64_t *flat, int64_t *cum) {
  size_t *seen = xcalloc(wk->nodes->n_nodes + 1, sizeof(*seen)); /* sample index + 1 */

  switch (wk->k) {
  case 1:
    accumulate_k(wk, flat, cum, seen, 1);
    break;
  case 2:
    accumulate_k(wk, flat, cum, seen, 2);
    break;
  case 4:
    accumulate_k(wk, flat, cum, seen, 4);
    break;
  default:
    accumulate_k(wk, flat, cum, seen, wk->k);
  }
  free(seen);
}

/* Incoming edges of the kept nodes, for pprof's "(inline)" marks: an edge
 * is inline when every call along it was inlined; edges lighter than the
 * edge cutoff do not count. Edges are found once for the sample types
 * that keep the same nodes; weights and marks are per type. */
struct edge {
  uint64_t key; /* parent << 32 | child */
  size_t seen;  /* sample index + 1 that last added its weight */
};

#define EDGE_EXISTS 1 /* a sample with a nonzero value of this type used it */
#define EDGE_INLINE 2

/* Edges by key: open addressing on the 64-bit key (slot = edge index + 1),
 * much cheaper than interning bytes, as every frame of every sample looks
 * one up. Each edge has k weights and k flags. */
struct edge_table {
  uint32_t *slots;
  size_t mask;
  struct edge *edges;
  int64_t *weights;
  uint8_t *flags;
  size_t n, cap, k;
};

static uint32_t edge_intern(struct edge_table *t, uint64_t key) {
  size_t i;

  if ((t->n + 1) * 2 > t->mask + 1) {
    size_t n_slots = t->mask ? (t->mask + 1) * 2 : 1024;
    free(t->slots);
    t->slots = xcalloc(n_slots, sizeof(*t->slots));
    t->mask = n_slots - 1;
    for (size_t e = 0; e < t->n; e++) {
      for (i = (t->edges[e].key * 0x9E3779B97F4A7C15ULL) >> 20 & t->mask; t->slots[i];
           i = (i + 1) & t->mask)
        ;
      t->slots[i] = (uint32_t)e + 1;
    }
  }
  for (i = (key * 0x9E3779B97F4A7C15ULL) >> 20 & t->mask; t->slots[i]; i = (i + 1) & t->mask) {
    if (t->edges[t->slots[i] - 1].key == key)
      return t->slots[i] - 1;
  }
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 256;
    t->edges = xreallocarray(t->edges, t->cap, sizeof(*t->edges));
    t->weights = xreallocarray(t->weights, t->cap * t->k, sizeof(*t->weights));
    t->flags = xreallocarray(t->flags, t->cap * t->k, sizeof(*t->flags));
  }
  t->edges[t->n].key = key;
  t->edges[t->n].seen = 0;
  memset(&t->weights[t->n * t->k], 0, t->k * sizeof(*t->weights));
  memset(&t->flags[t->n * t->k], 0, t->k);
  t->slots[i] = (uint32_t)++t->n;
  return (uint32_t)(t->n - 1);
}

/* Marks the rows of tops[0..k) (which keep the same nodes: `kept`). */
static void inline_marks(struct walk *wk, const bool *kept, const int64_t *edge_cutoff,
                         struct pprof_top **tops) {
  const struct pprof_nodes *nodes = wk->nodes;
  struct edge_table map = {.k = wk->k};
  size_t k = wk->k;
  uint8_t *marks = xcalloc(nodes->n_nodes * k + 1, 1); /* bit 0: inline in-edge, bit 1: other */
  /* Per child, the parent and edge of its last lookup: a function is
   * mostly reached from the same caller, so most lookups end here. */
  struct {
    uint32_t parent, edge;
  } *last_in = xcalloc(nodes->n_nodes + 1, sizeof(*last_in));

  for (size_t s = 0; s < wk->p->n_samples; s++) {
    const struct pprof_sample *smp = &wk->p->samples[s];
    uint32_t parent = PPROF_NONE;

    if (!sample_values(wk, smp))
      continue;
    for (uint32_t i = smp->n_locations; i-- > 0;) {
      uint32_t loc = smp->locations[i], first = nodes->loc_first[loc];
      uint32_t last = nodes->loc_first[loc + 1] - 1;
      for (uint32_t x = last + 1; x-- > first;) {
        uint32_t nd = nodes->loc_nodes[x];
        uint32_t e;

        if (!kept[nd])
          continue;
        if (parent != PPROF_NONE && parent != nd) {
          if (last_in[nd].parent == parent + 1) {
            e = last_in[nd].edge;
          } else {
            e = edge_intern(&map, (uint64_t)parent << 32 | nd);
            last_in[nd].parent = parent + 1;
            last_in[nd].edge = e;
          }
          if (map.edges[e].seen != s + 1) {
            map.edges[e].seen = s + 1;
            for (size_t j = 0; j < k; j++) {
              uint8_t *f = &map.flags[e * k + j];
              if (wk->w[j] == 0)
                continue;
              /* pprof: an edge first met at an inlined frame is inline
               * until a sample reaches it through a real call */
              if (!(*f & EDGE_EXISTS))
                *f = EDGE_EXISTS | (x != last ? EDGE_INLINE : 0);
              map.weights[e * k + j] = pp_add(map.weights[e * k + j], wk->w[j]);
              if (x == last)
                *f &= (uint8_t)~EDGE_INLINE;
            }
          }
        }
        parent = nd;
      }
    }
  }
  for (size_t e = 0; e < map.n; e++) {
    uint32_t child = (uint32_t)map.edges[e].key;
    for (size_t j = 0; j < k; j++) {
      uint8_t f = map.flags[e * k + j];
      if (!(f & EDGE_EXISTS) || abs64(map.weights[e * k + j]) < edge_cutoff[j])
        continue;
      marks[child * k + j] |= f & EDGE_INLINE ? 1 : 2;
    }
  }
  for (size_t j = 0; j < k; j++) {
    struct pprof_top *t = tops[j];
    for (size_t i = 0; i < t->n_rows; i++) {
      uint8_t m = marks[t->rows[i].node * k + j];
      t->rows[i].inl = !(m & 1)  ? PPROF_INLINE_NONE
                       : (m & 2) ? PPROF_INLINE_PARTIAL
                                 : PPROF_INLINE_FULL;
    }
  }
  free(last_in);
  free(marks);
  free(map.edges);
  free(map.weights);
  free(map.flags);
  free(map.slots);
}

/* ---- sorting ---- */

struct sort_ctx {
  const struct pprof_nodes *nodes;
  bool cum;
};

static int cmp_rows(const void *a, const void *b, void *ud) {
  const struct pprof_top_row *l = a, *r = b;
  const struct sort_ctx *sc = ud;
  int64_t lv = abs64(sc->cum ? l->cum : l->flat), rv = abs64(sc->cum ? r->cum : r->flat);
  int c;

  if (lv != rv)
    return lv > rv ? -1 : 1;
  c = strcmp(sc->nodes->nodes[l->node].name, sc->nodes->nodes[r->node].name);
  if (c)
    return c;
  lv = abs64(sc->cum ? l->flat : l->cum);
  rv = abs64(sc->cum ? r->flat : r->cum);
  if (lv != rv)
    return lv > rv ? -1 : 1;
  return l->node < r->node ? -1 : l->node > r->node;
}

void pprof_rows_sort(struct pprof_top_row *rows, size_t n, const struct pprof_nodes *nodes,
                     bool cum_sort) {
  struct sort_ctx sc = {nodes, cum_sort};
  if (n > 1)
    qsort_r(rows, n, sizeof(*rows), cmp_rows, &sc);
}

void pprof_top_opts_default(struct pprof_top_opts *o) {
  o->node_fraction = 0.005;
  o->edge_fraction = 0.001;
  o->node_count = 0;
  o->cum_sort = false;
  o->inline_marks = true;
}

const char *pprof_inline_label(enum pprof_inline inl) {
  switch (inl) {
  case PPROF_INLINE_FULL:
    return "(inline)";
  case PPROF_INLINE_PARTIAL:
    return "(partial-inline)";
  case PPROF_INLINE_NONE:
    break;
  }
  return "";
}

/* ---- the top ---- */

/* The rows of type j (of the walk's k), dropped, sorted and cut like
 * pprof's; kept[n] tells which nodes its graph keeps. */
static struct pprof_top *top_rows(struct walk *wk, size_t j, const int64_t *flat,
                                  const int64_t *cum, const struct pprof_top_opts *o,
                                  int64_t *edge_cutoff) {
  const struct pprof_nodes *nodes = wk->nodes;
  struct pprof_top *t = xcalloc(1, sizeof(*t));
  size_t k = wk->k, n = 0;

  t->sample_index = wk->types[j];
  t->total = pprof_total(wk->p, t->sample_index);
  for (size_t i = 0; i < nodes->n_nodes; i++) {
    if (flat[i * k + j] == 0 && cum[i * k + j] == 0)
      continue;
    t->n_nodes_all++;
    t->flat_sum = pp_add(t->flat_sum, flat[i * k + j]);
  }
  /* pprof truncates total*fraction toward zero before taking |.|. */
  t->node_cutoff = abs64(pp_d2i((double)t->flat_sum * o->node_fraction));
  *edge_cutoff = abs64(pp_d2i((double)t->flat_sum * o->edge_fraction));
  t->rows = xcalloc(t->n_nodes_all + 1, sizeof(*t->rows));
  for (size_t i = 0; i < nodes->n_nodes; i++) {
    if (flat[i * k + j] == 0 && cum[i * k + j] == 0)
      continue;
    if (abs64(cum[i * k + j]) < t->node_cutoff)
      continue;
    t->rows[n].node = (uint32_t)i;
    t->rows[n].flat = flat[i * k + j];
    t->rows[n].cum = cum[i * k + j];
    n++;
  }
  t->dropped_nodes = t->node_cutoff > 0 ? t->n_nodes_all - n : 0;
  t->orig_count = n;
  pprof_rows_sort(t->rows, n, nodes, o->cum_sort);
  if (o->node_count > 0 && n > o->node_count)
    n = o->node_count;
  t->n_rows = n;
  return t;
}

/* The nodes of t's graph. pprof rebuilds its graph from the kept nodes
 * only when it dropped some; otherwise every node, even one whose values
 * cancel out to zero, still contributes the edges that decide the
 * "(inline)" marks. */
static void kept_nodes(const struct pprof_top *t, size_t n_nodes, bool *kept) {
  if (t->dropped_nodes > 0 || t->n_rows < t->orig_count) {
    memset(kept, 0, n_nodes);
    for (size_t i = 0; i < t->n_rows; i++)
      kept[t->rows[i].node] = true;
  } else {
    memset(kept, 1, n_nodes);
  }
}

/* The "(inline)" marks of tops[0..k): one edge walk per distinct set of
 * kept nodes. */
static void tops_marks(struct walk *wk, const int64_t *edge_cutoff, struct pprof_top **tops) {
  size_t nn = wk->nodes->n_nodes, k = wk->k;
  bool *kept = xcalloc(nn * k + 1, sizeof(*kept));
  bool *done = xcalloc(k, sizeof(*done));
  int *group = xcalloc(k, sizeof(*group));
  struct pprof_top **gtops = xcalloc(k, sizeof(*gtops));
  int64_t *gcut = xcalloc(k, sizeof(*gcut));

  for (size_t j = 0; j < k; j++)
    kept_nodes(tops[j], nn, &kept[j * nn]);
  for (size_t j = 0; j < k; j++) {
    struct walk gw = {wk->p, wk->nodes, 0, group, wk->w};
    if (done[j])
      continue;
    for (size_t l = j; l < k; l++) {
      if (done[l] || memcmp(&kept[j * nn], &kept[l * nn], nn) != 0)
        continue;
      done[l] = true;
      group[gw.k] = wk->types[l];
      gtops[gw.k] = tops[l];
      gcut[gw.k] = edge_cutoff[l];
      gw.k++;
    }
    inline_marks(&gw, &kept[j * nn], gcut, gtops);
  }
  free(gcut);
  free(gtops);
  free(group);
  free(done);
  free(kept);
}

/* Computes the tops of the k sample types `types` into tops[0..k). */
static void tops_compute(const struct pprof_profile *p, const struct pprof_nodes *nodes,
                         const int *types, size_t k, const struct pprof_top_opts *o,
                         struct pprof_top **tops) {
  size_t nn = nodes->n_nodes;
  int64_t *flat = xcalloc(nn * k + 1, sizeof(*flat));
  int64_t *cum = xcalloc(nn * k + 1, sizeof(*cum));
  int64_t *w = xcalloc(k, sizeof(*w)), *edge_cutoff = xcalloc(k, sizeof(*edge_cutoff));
  struct walk wk = {p, nodes, k, types, w};

  accumulate(&wk, flat, cum);
  for (size_t j = 0; j < k; j++)
    tops[j] = top_rows(&wk, j, flat, cum, o, &edge_cutoff[j]);
  if (o->inline_marks)
    tops_marks(&wk, edge_cutoff, tops);
  free(edge_cutoff);
  free(w);
  free(cum);
  free(flat);
}

struct pprof_top *pprof_top_compute(const struct pprof_profile *p, const struct pprof_nodes *nodes,
                                    int si, const struct pprof_top_opts *o) {
  struct pprof_top *t;
  tops_compute(p, nodes, &si, 1, o, &t);
  return t;
}

void pprof_tops_compute(const struct pprof_profile *p, const struct pprof_nodes *nodes,
                        const struct pprof_top_opts *o, struct pprof_top **tops) {
  int *types = xcalloc(p->n_sample_types + 1, sizeof(*types));
  for (size_t si = 0; si < p->n_sample_types; si++)
    types[si] = (int)si;
  if (p->n_sample_types > 0)
    tops_compute(p, nodes, types, p->n_sample_types, o, tops);
  free(types);
}

struct pprof_top *pprof_top_free(struct pprof_top *t) {
  if (!t)
    return NULL;
  free(t->rows);
  free(t);
  return NULL;
}

/* ---- goroutine stacks ---- */

bool pprof_is_goroutine_profile(const struct pprof_profile *p) {
  return p->n_sample_types == 1 && strcmp(p->sample_types[0].type, "goroutine") == 0 &&
         strcmp(p->sample_types[0].unit, "count") == 0;
}

static int cmp_stacks(const void *a, const void *b) {
  const struct pprof_stack *l = a, *r = b;
  if (l->count != r->count)
    return l->count > r->count ? -1 : 1;
  if (l->n_frames != r->n_frames)
    return l->n_frames < r->n_frames ? -1 : 1;
  return memcmp(l->frames, r->frames, l->n_frames * sizeof(uint32_t));
}

struct pprof_stacks *pprof_stacks_compute(const struct pprof_profile *p,
                                          const struct pprof_nodes *nodes) {
  struct pprof_stacks *st = xcalloc(1, sizeof(*st));
  struct keymap map;
  uint32_t *frames = NULL;
  size_t cap = 0, scap = 0;

  keymap_init(&map);
  for (size_t s = 0; s < p->n_samples && p->n_sample_types > 0; s++) {
    const struct pprof_sample *smp = &p->samples[s];
    size_t n = 0;
    uint32_t idx;
    bool is_new;

    st->total = pp_add(st->total, smp->values[0]);
    for (uint32_t i = 0; i < smp->n_locations; i++) {
      uint32_t loc = smp->locations[i];
      for (uint32_t k = nodes->loc_first[loc]; k < nodes->loc_first[loc + 1]; k++) {
        if (n == cap) {
          cap = cap ? cap * 2 : 64;
          frames = xreallocarray(frames, cap, sizeof(*frames));
        }
        frames[n++] = nodes->loc_nodes[k];
      }
    }
    idx = keymap_intern(&map, frames, n * sizeof(*frames), &is_new);
    if (is_new) {
      if (idx >= scap) {
        scap = scap ? scap * 2 : 64;
        st->stacks = xreallocarray(st->stacks, scap, sizeof(*st->stacks));
      }
      st->stacks[idx].count = 0;
      st->stacks[idx].n_frames = n;
      st->stacks[idx].frames = xmalloc((n ? n : 1) * sizeof(uint32_t));
      if (n)
        memcpy(st->stacks[idx].frames, frames, n * sizeof(uint32_t));
      st->n_stacks = idx + 1;
    }
    st->stacks[idx].count = pp_add(st->stacks[idx].count, smp->values[0]);
  }
  if (st->n_stacks)
    qsort(st->stacks, st->n_stacks, sizeof(*st->stacks), cmp_stacks);
  free(frames);
  keymap_done(&map);
  return st;
}

struct pprof_stacks *pprof_stacks_free(struct pprof_stacks *s) {
  if (!s)
    return NULL;
  for (size_t i = 0; i < s->n_stacks; i++)
    free(s->stacks[i].frames);
  free(s->stacks);
  free(s);
  return NULL;
}
