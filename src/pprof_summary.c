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

/* ---- the graph walk ---- */

struct node_acc {
  int64_t flat, cum;
  size_t seen; /* sample index + 1 that last added cum */
  bool kept;
};

/* Walks every sample's frames from the root, as pprof's graph builder
 * does, adding cum once per node per sample and flat to the leaf. */
static void accumulate(const struct pprof_profile *p, const struct pprof_nodes *nodes, int si,
                       struct node_acc *acc) {
  for (size_t s = 0; s < p->n_samples; s++) {
    const struct pprof_sample *smp = &p->samples[s];
    int64_t w = smp->values[si];
    uint32_t leaf = PPROF_NONE;

    if (w == 0)
      continue;
    for (uint32_t i = smp->n_locations; i-- > 0;) {
      uint32_t loc = smp->locations[i];
      for (uint32_t k = nodes->loc_first[loc + 1]; k-- > nodes->loc_first[loc];) {
        uint32_t nd = nodes->loc_nodes[k];
        if (acc[nd].seen != s + 1) {
          acc[nd].seen = s + 1;
          acc[nd].cum = pp_add(acc[nd].cum, w);
        }
        leaf = nd;
      }
    }
    if (leaf != PPROF_NONE)
      acc[leaf].flat = pp_add(acc[leaf].flat, w);
  }
}

/* Incoming edges of the kept nodes, for pprof's "(inline)" marks: an edge
 * is inline when every call along it was inlined; edges lighter than the
 * edge cutoff do not count. */
struct edge {
  uint64_t key; /* parent << 32 | child */
  int64_t weight;
  size_t seen;
  bool inl;
};

/* Edges by key: open addressing on the 64-bit key (slot = edge index + 1),
 * much cheaper than interning bytes, as every frame of every sample looks
 * one up. */
struct edge_table {
  uint32_t *slots;
  size_t mask;
  struct edge *edges;
  size_t n, cap;
};

static uint32_t edge_intern(struct edge_table *t, uint64_t key, bool *ret_new) {
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
    if (t->edges[t->slots[i] - 1].key == key) {
      *ret_new = false;
      return t->slots[i] - 1;
    }
  }
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 256;
    t->edges = xreallocarray(t->edges, t->cap, sizeof(*t->edges));
  }
  t->edges[t->n].key = key;
  t->slots[i] = (uint32_t)++t->n;
  *ret_new = true;
  return (uint32_t)(t->n - 1);
}

static void inline_marks(const struct pprof_profile *p, const struct pprof_nodes *nodes, int si,
                         const struct node_acc *acc, int64_t edge_cutoff, struct pprof_top *t) {
  struct edge_table map = {0};
  struct edge *edges;
  uint8_t *marks = xcalloc(nodes->n_nodes, 1); /* bit 0: inline in-edge, bit 1: other */

  for (size_t s = 0; s < p->n_samples; s++) {
    const struct pprof_sample *smp = &p->samples[s];
    int64_t w = smp->values[si];
    uint32_t parent = PPROF_NONE;

    if (w == 0)
      continue;
    for (uint32_t i = smp->n_locations; i-- > 0;) {
      uint32_t loc = smp->locations[i], first = nodes->loc_first[loc];
      uint32_t last = nodes->loc_first[loc + 1] - 1;
      for (uint32_t k = last + 1; k-- > first;) {
        uint32_t nd = nodes->loc_nodes[k];
        uint64_t key;
        uint32_t e;
        bool is_new;

        if (!acc[nd].kept)
          continue;
        if (parent != PPROF_NONE && parent != nd) {
          key = (uint64_t)parent << 32 | nd;
          e = edge_intern(&map, key, &is_new);
          edges = map.edges;
          if (is_new) {
            edges[e].weight = 0;
            edges[e].seen = 0;
            edges[e].inl = k != last;
          }
          if (edges[e].seen != s + 1) {
            edges[e].seen = s + 1;
            edges[e].weight = pp_add(edges[e].weight, w);
            if (k == last)
              edges[e].inl = false;
          }
        }
        parent = nd;
      }
    }
  }
  edges = map.edges;
  for (size_t e = 0; e < map.n; e++) {
    if (abs64(edges[e].weight) < edge_cutoff)
      continue;
    marks[(uint32_t)edges[e].key] |= edges[e].inl ? 1 : 2;
  }
  for (size_t i = 0; i < t->n_rows; i++) {
    uint8_t m = marks[t->rows[i].node];
    t->rows[i].inl = !(m & 1)  ? PPROF_INLINE_NONE
                     : (m & 2) ? PPROF_INLINE_PARTIAL
                               : PPROF_INLINE_FULL;
  }
  free(marks);
  free(map.edges);
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

struct pprof_top *pprof_top_compute(const struct pprof_profile *p, const struct pprof_nodes *nodes,
                                    int si, const struct pprof_top_opts *o) {
  struct pprof_top *t = xcalloc(1, sizeof(*t));
  struct node_acc *acc = xcalloc(nodes->n_nodes + 1, sizeof(*acc));
  size_t n = 0;
  int64_t edge_cutoff;

  t->sample_index = si;
  t->total = pprof_total(p, si);
  accumulate(p, nodes, si, acc);
  for (size_t i = 0; i < nodes->n_nodes; i++) {
    if (acc[i].flat == 0 && acc[i].cum == 0)
      continue;
    t->n_nodes_all++;
    t->flat_sum = pp_add(t->flat_sum, acc[i].flat);
  }
  /* pprof truncates total*fraction toward zero before taking |.|. */
  t->node_cutoff = abs64(pp_d2i((double)t->flat_sum * o->node_fraction));
  edge_cutoff = abs64(pp_d2i((double)t->flat_sum * o->edge_fraction));
  t->rows = xcalloc(t->n_nodes_all + 1, sizeof(*t->rows));
  for (size_t i = 0; i < nodes->n_nodes; i++) {
    if (acc[i].flat == 0 && acc[i].cum == 0)
      continue;
    if (abs64(acc[i].cum) < t->node_cutoff)
      continue;
    t->rows[n].node = (uint32_t)i;
    t->rows[n].flat = acc[i].flat;
    t->rows[n].cum = acc[i].cum;
    n++;
  }
  t->dropped_nodes = t->node_cutoff > 0 ? t->n_nodes_all - n : 0;
  t->orig_count = n;
  pprof_rows_sort(t->rows, n, nodes, o->cum_sort);
  if (o->node_count > 0 && n > o->node_count)
    n = o->node_count;
  t->n_rows = n;
  /* pprof rebuilds its graph from the kept nodes only when it dropped
   * some; otherwise every node, even one whose values cancel out to zero,
   * still contributes the edges that decide the "(inline)" marks. */
  if (t->dropped_nodes > 0 || n < t->orig_count) {
    for (size_t i = 0; i < n; i++)
      acc[t->rows[i].node].kept = true;
  } else {
    for (size_t i = 0; i < nodes->n_nodes; i++)
      acc[i].kept = true;
  }
  inline_marks(p, nodes, si, acc, edge_cutoff, t);
  free(acc);
  return t;
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
