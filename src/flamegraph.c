#include "config.h"

#include "flamegraph.h"
#include "flamegraph_script.h"
#include "pprof_format.h"
#include "pprof_keymap.h"
#include "pprof_math.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FRAME_H 16
#define HEADER_H 66
#define FOOTER_H 30
#define XPAD 10
#define MAX_FRAMES 150000

struct fnode {
  uint32_t name;    /* index into names */
  uint32_t parent;  /* UINT32_MAX for the root */
  uint32_t child;   /* first child after sorting, UINT32_MAX if none */
  uint32_t sibling; /* next sibling after sorting */
  uint32_t depth;
  int64_t value; /* cumulative */
};

struct flamegraph {
  struct keymap names;
  struct keymap edges; /* (parent, name) -> node */
  struct fnode *nodes;
  size_t n_nodes, cap;
  char *type, *unit;
  size_t skipped_negative;
  uint32_t max_depth;
};

static uint32_t add_node(struct flamegraph *fg, uint32_t parent, uint32_t name) {
  uint32_t key[2] = {parent, name};
  bool is_new;
  uint32_t idx = keymap_intern(&fg->edges, key, sizeof(key), &is_new);
  if (is_new) {
    if (idx >= fg->cap) {
      fg->cap = fg->cap ? fg->cap * 2 : 1024;
      fg->nodes = xreallocarray(fg->nodes, fg->cap, sizeof(*fg->nodes));
    }
    fg->nodes[idx].name = name;
    fg->nodes[idx].parent = parent;
    fg->nodes[idx].child = fg->nodes[idx].sibling = UINT32_MAX;
    fg->nodes[idx].depth = parent == UINT32_MAX ? 0 : fg->nodes[parent].depth + 1;
    fg->nodes[idx].value = 0;
    fg->n_nodes = idx + 1;
    if (fg->nodes[idx].depth > fg->max_depth)
      fg->max_depth = fg->nodes[idx].depth;
  }
  return idx;
}

struct flamegraph *flamegraph_new(void) {
  struct flamegraph *fg = xcalloc(1, sizeof(*fg));
  keymap_init(&fg->names);
  keymap_init(&fg->edges);
  add_node(fg, UINT32_MAX, keymap_intern(&fg->names, "all", 3, NULL));
  return fg;
}

struct flamegraph *flamegraph_free(struct flamegraph *fg) {
  if (!fg)
    return NULL;
  keymap_done(&fg->names);
  keymap_done(&fg->edges);
  free(fg->nodes);
  free(fg->type);
  free(fg->unit);
  free(fg);
  return NULL;
}

void flamegraph_opts_default(struct flamegraph_opts *o) {
  o->title = "Flame Graph";
  o->subtitle = NULL;
  o->width = 1200;
  o->icicle = false;
  o->min_width_px = 0.1;
}

int64_t flamegraph_total(const struct flamegraph *fg) {
  return fg->nodes[0].value;
}

size_t flamegraph_skipped_negative(const struct flamegraph *fg) {
  return fg->skipped_negative;
}

int flamegraph_add(struct flamegraph *fg, const struct pprof_profile *p, int si) {
  struct pprof_nodes *nodes;
  uint32_t *name_of;

  if (si < 0 || (size_t)si >= p->n_sample_types)
    return -EINVAL;
  if (!fg->unit) {
    fg->type = xstrdup(p->sample_types[si].type);
    fg->unit = xstrdup(p->sample_types[si].unit);
  } else if (strcmp(fg->unit, p->sample_types[si].unit) != 0) {
    return -EINVAL;
  }
  nodes = pprof_nodes_new(p);
  name_of = xcalloc(nodes->n_nodes + 1, sizeof(*name_of));
  for (size_t i = 0; i < nodes->n_nodes; i++)
    name_of[i] =
        keymap_intern(&fg->names, nodes->nodes[i].name, strlen(nodes->nodes[i].name), NULL);
  for (size_t s = 0; s < p->n_samples; s++) {
    const struct pprof_sample *smp = &p->samples[s];
    int64_t v = smp->values[si];
    uint32_t cur = 0;

    if (v < 0)
      fg->skipped_negative++;
    if (v <= 0)
      continue;
    fg->nodes[0].value = pp_add(fg->nodes[0].value, v);
    for (uint32_t i = smp->n_locations; i-- > 0;) {
      uint32_t loc = smp->locations[i];
      for (uint32_t k = nodes->loc_first[loc + 1]; k-- > nodes->loc_first[loc];) {
        cur = add_node(fg, cur, name_of[nodes->loc_nodes[k]]);
        fg->nodes[cur].value = pp_add(fg->nodes[cur].value, v);
      }
    }
  }
  free(name_of);
  pprof_nodes_free(nodes);
  return 0;
}

/* ---- layout ---- */

static const char *name_of(const struct flamegraph *fg, uint32_t node, size_t *ret_len) {
  return keymap_key(&fg->names, fg->nodes[node].name, ret_len);
}

static int cmp_children(const void *a, const void *b, void *ud) {
  const struct flamegraph *fg = ud;
  uint32_t l = *(const uint32_t *)a, r = *(const uint32_t *)b;
  size_t ll, rl;
  const char *ln = name_of(fg, l, &ll), *rn = name_of(fg, r, &rl);
  int c = memcmp(ln, rn, MIN(ll, rl));
  if (c)
    return c;
  return ll < rl ? -1 : ll > rl;
}

/* Links children in name order: sort all nodes by (parent, name). */
static void link_children(struct flamegraph *fg) {
  uint32_t *order = xcalloc(fg->n_nodes, sizeof(*order));
  size_t *count = xcalloc(fg->n_nodes + 1, sizeof(*count));
  size_t *start = xcalloc(fg->n_nodes + 1, sizeof(*start));

  for (size_t i = 1; i < fg->n_nodes; i++)
    count[fg->nodes[i].parent]++;
  for (size_t i = 1; i <= fg->n_nodes; i++)
    start[i] = start[i - 1] + count[i - 1];
  memset(count, 0, (fg->n_nodes + 1) * sizeof(*count));
  for (size_t i = 1; i < fg->n_nodes; i++) {
    uint32_t p = fg->nodes[i].parent;
    order[start[p] + count[p]++] = (uint32_t)i;
  }
  for (size_t p = 0; p < fg->n_nodes; p++) {
    uint32_t *kids = &order[start[p]];
    if (count[p] > 1)
      qsort_r(kids, count[p], sizeof(*kids), cmp_children, fg);
    if (count[p])
      fg->nodes[p].child = kids[0];
    for (size_t k = 0; k + 1 < count[p]; k++)
      fg->nodes[kids[k]].sibling = kids[k + 1];
  }
  free(order);
  free(count);
  free(start);
}

/* Warm colours for application code, orange for the standard library,
 * gold for the Go runtime; the name's hash varies the shade so
 * neighbours stay distinguishable. */
static void frame_color(const char *name, size_t len, char *buf, size_t size) {
  uint64_t h = keymap_hash(name, len);
  double v1 = (double)(h & 0xff) / 255.0, v2 = (double)((h >> 8) & 0xff) / 255.0;
  const char *slash, *dot;
  int r, g, b;
  char first[128];
  size_t n = 0;

  while (n < len && n + 1 < sizeof(first) && name[n] != '.' && name[n] != '/' && name[n] != '(')
    n++;
  memcpy(first, name, n);
  first[n] = '\0';
  slash = memchr(name, '/', len);
  dot = memchr(name, '.', len);
  if (strcmp(first, "runtime") == 0 || strcmp(first, "internal") == 0 ||
      strcmp(first, "syscall") == 0) {
    r = 200 + (int)(40 * v1);
    g = 170 + (int)(50 * v1);
    b = 60 + (int)(40 * v2);
  } else if (strcmp(first, "main") != 0 && n == len) {
    r = 180 + (int)(40 * v1); /* a bare name: no package (C code, [binary]) */
    g = 180 + (int)(40 * v1);
    b = 180 + (int)(40 * v1);
  } else if (strcmp(first, "main") != 0 && !(slash && dot && dot < slash) &&
             !memchr(first, '.', n)) {
    r = 235 + (int)(20 * v1);
    g = 120 + (int)(60 * v2);
    b = 40 + (int)(30 * v1);
  } else {
    r = 220 + (int)(35 * v1);
    g = 60 + (int)(70 * v2);
    b = 50 + (int)(30 * v1);
  }
  snprintf(buf, size, "rgb(%d,%d,%d)", r, g, b);
}

int xml_escape_append(struct buf *out, const char *s) {
  const uint8_t *p = (const uint8_t *)s;
  int r = 0;

  while (*p && r == 0) {
    uint8_t c = *p;
    size_t n = c < 0x80             ? 1
               : (c & 0xe0) == 0xc0 ? 2
               : (c & 0xf0) == 0xe0 ? 3
               : (c & 0xf8) == 0xf0 ? 4
                                    : 0;
    bool ok = n > 0 && !(n == 2 && c < 0xc2) && !(n == 4 && c > 0xf4);
    for (size_t i = 1; ok && i < n; i++)
      ok = (p[i] & 0xc0) == 0x80;
    if (!ok) {
      r = buf_append(out, "\xef\xbf\xbd", 3);
      p++;
      continue;
    }
    if (n > 1) {
      r = buf_append(out, p, n);
    } else if (c == '&') {
      r = buf_append(out, "&amp;", 5);
    } else if (c == '<') {
      r = buf_append(out, "&lt;", 4);
    } else if (c == '>') {
      r = buf_append(out, "&gt;", 4);
    } else if (c == '"') {
      r = buf_append(out, "&quot;", 6);
    } else if (c == '\'') {
      r = buf_append(out, "&apos;", 6);
    } else if (c < 0x20 && c != '\t' && c != '\n') {
      r = buf_append(out, "?", 1); /* control characters are not XML */
    } else {
      r = buf_append(out, p, 1);
    }
    p += n;
  }
  return r;
}

/* Frames show names without the package path, "github.com/a/b.(*T).M"
 * as "b.(*T).M" (titles keep the full name); the script does the same
 * when it refits text after a zoom. */
static size_t short_name_offset(const char *name) {
  size_t stop = strcspn(name, "([");
  size_t off = 0;
  for (size_t i = 0; i < stop; i++)
    if (name[i] == '/')
      off = i + 1;
  return off;
}

struct render {
  const struct flamegraph *fg;
  struct buf *out;
  double scale; /* pixels per unit */
  double min_w;
  int height;
  bool icicle;
  size_t emitted, omitted;
  int r;
};

static void emit_frame(struct render *rd, uint32_t node, int64_t offset) {
  const struct flamegraph *fg = rd->fg;
  const struct fnode *n = &fg->nodes[node];
  double x = XPAD + (double)offset * rd->scale, w = (double)n->value * rd->scale;
  int y = rd->icicle ? HEADER_H + (int)n->depth * FRAME_H
                     : rd->height - FOOTER_H - ((int)n->depth + 1) * FRAME_H;
  int64_t total = fg->nodes[0].value;
  char color[48], label[PPROF_LABEL_SIZE], pct[32];
  size_t len, chars;
  const char *name = name_of(fg, node, &len);
  char *cname = xstrndup(name, len);

  frame_color(name, len, color, sizeof(color));
  pprof_scaled_label(n->value, fg->unit, "auto", label, sizeof(label));
  snprintf(pct, sizeof(pct), "%.2f%%", total ? 100.0 * (double)n->value / (double)total : 0.0);
  rd->r |= buf_printf(rd->out,
                      "<g class=\"f\" data-x=\"%" PRId64 "\" data-v=\"%" PRId64
                      "\" data-d=\"%" PRIu32 "\"><title>",
                      offset, n->value, n->depth);
  rd->r |= xml_escape_append(rd->out, cname);
  rd->r |= buf_printf(rd->out,
                      " (%s, %s)</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
                      "height=\"%d\" fill=\"%s\" rx=\"2\" ry=\"2\"/><text x=\"%.2f\" "
                      "y=\"%.1f\">",
                      label, pct, x, y, w, FRAME_H - 1, color, x + 3, y + 11.5);
  chars = w > 6 ? (size_t)((w - 6) / 7.2) : 0;
  if (chars >= 3) {
    char *shown = cname + short_name_offset(cname);
    if (strlen(shown) > chars) {
      shown[chars - 2] = '\0';
      rd->r |= xml_escape_append(rd->out, shown);
      rd->r |= buf_append(rd->out, "..", 2);
    } else {
      rd->r |= xml_escape_append(rd->out, shown);
    }
  }
  rd->r |= buf_printf(rd->out, "</text></g>\n");
  free(cname);
  rd->emitted++;
}

/* Depth-first, parents before children, without recursion (stacks can be
 * thousands of frames deep). */
static void emit_all(struct render *rd) {
  const struct flamegraph *fg = rd->fg;
  uint32_t *stack = xcalloc(fg->max_depth + 2, sizeof(*stack));
  int64_t *offs = xcalloc(fg->max_depth + 2, sizeof(*offs));
  size_t top = 0;

  uint32_t cur = fg->nodes[0].child;
  int64_t off = 0;

  /* stack[top] is the node whose children are being walked. */
  stack[0] = 0;
  offs[0] = 0;
  emit_frame(rd, 0, 0);
  while (rd->r == 0) {
    if (cur != UINT32_MAX) {
      const struct fnode *n = &fg->nodes[cur];
      if ((double)n->value * rd->scale >= rd->min_w) {
        emit_frame(rd, cur, off);
        if (n->child != UINT32_MAX) {
          stack[++top] = cur;
          offs[top] = off;
          cur = n->child;
          continue;
        }
      } else {
        rd->omitted++;
      }
      off = pp_add(off, n->value);
      cur = n->sibling;
      continue;
    }
    if (top == 0)
      break;
    cur = stack[top];
    off = pp_add(offs[top], fg->nodes[cur].value);
    top--;
    cur = fg->nodes[cur].sibling;
  }
  free(stack);
  free(offs);
}

static uint32_t visible_depth(const struct flamegraph *fg, double scale, double min_w,
                              size_t *ret_count) {
  uint32_t depth = 0;
  size_t count = 0;
  /* Parents come before children in node order, and a frame is visible
   * when it and all its ancestors are wide enough: ancestors are at least
   * as wide, so width alone decides. */
  for (size_t i = 0; i < fg->n_nodes; i++) {
    if ((double)fg->nodes[i].value * scale >= min_w || i == 0) {
      count++;
      if (fg->nodes[i].depth > depth)
        depth = fg->nodes[i].depth;
    }
  }
  *ret_count = count;
  return depth;
}

int flamegraph_render(struct flamegraph *fg, const struct flamegraph_opts *o, struct buf *out) {
  struct render rd = {.fg = fg, .out = out, .icicle = o->icicle};
  int width = o->width >= 200 ? o->width : 200;
  double plot_w = width - 2 * XPAD;
  int64_t total = fg->nodes[0].value;
  char label[PPROF_LABEL_SIZE];
  uint32_t depth;
  size_t count;
  int lx;

  link_children(fg);
  rd.scale = total > 0 ? plot_w / (double)total : 0;
  rd.min_w = o->min_width_px > 0 ? o->min_width_px : 0.1;
  depth = visible_depth(fg, rd.scale, rd.min_w, &count);
  /* Keep the document loadable: raise the cut until it is a size a
   * browser handles well. */
  while (count > MAX_FRAMES) {
    rd.min_w *= 2;
    depth = visible_depth(fg, rd.scale, rd.min_w, &count);
  }
  rd.height = HEADER_H + ((int)depth + 1) * FRAME_H + FOOTER_H;

  rd.r |= buf_printf(out,
                     "<?xml version=\"1.0\" standalone=\"no\"?>\n"
                     "<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                     "xmlns=\"http://www.w3.org/2000/svg\" data-plotw=\"%.2f\" data-xpad=\"%d\" "
                     "data-total=\"%" PRId64 "\" onload=\"init(evt)\">\n",
                     width, rd.height, width, rd.height, plot_w, XPAD, total);
  rd.r |= buf_printf(out, "<style type=\"text/css\"><![CDATA[\n%s]]></style>\n", flamegraph_style);
  rd.r |= buf_printf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n",
                     flamegraph_script);
  rd.r |= buf_printf(
      out, "<defs><linearGradient id=\"bg\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">"
           "<stop stop-color=\"#f8f8f8\" offset=\"5%%\"/>"
           "<stop stop-color=\"#eeeeb0\" offset=\"95%%\"/></linearGradient></defs>\n"
           "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"url(#bg)\"/>\n");
  rd.r |= buf_printf(out, "<text id=\"title\" x=\"%d\" y=\"22\">", width / 2);
  rd.r |= xml_escape_append(out, o->title ? o->title : "Flame Graph");
  rd.r |= buf_printf(out, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"40\">", width / 2);
  {
    struct buf sub;
    buf_init(&sub, SIZE_MAX);
    if (o->subtitle && *o->subtitle)
      buf_printf(&sub, "%s \xc2\xb7 ", o->subtitle);
    buf_printf(
        &sub, "%s, total %s", fg->type ? fg->type : "samples",
        pprof_scaled_label(total, fg->unit ? fg->unit : "count", "auto", label, sizeof(label)));
    if (fg->skipped_negative)
      buf_printf(&sub, " \xc2\xb7 %zu negative samples left out", fg->skipped_negative);
    buf_terminate(&sub);
    rd.r |= xml_escape_append(out, (char *)sub.data);
    buf_done(&sub);
  }
  rd.r |= buf_printf(out, "</text>\n");
  /* Legend, and the controls. */
  lx = XPAD;
  {
    static const struct {
      const char *name;
      const char *sample;
    } legend[] = {
        {"application", "main.x"}, {"standard library", "net/http.x"}, {"Go runtime", "runtime.x"}};
    for (size_t i = 0; i < ARRAY_SIZE(legend); i++) {
      char color[48];
      frame_color(legend[i].sample, strlen(legend[i].sample), color, sizeof(color));
      rd.r |= buf_printf(out,
                         "<rect x=\"%d\" y=\"48\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                         "<text class=\"legend\" x=\"%d\" y=\"57\">%s</text>\n",
                         lx, color, lx + 14, legend[i].name);
      lx += 14 + 8 * (int)strlen(legend[i].name) + 12;
    }
  }
  rd.r |= buf_printf(out,
                     "<text id=\"unzoom\" class=\"btn hide\" x=\"%d\" y=\"22\">Reset Zoom</text>\n"
                     "<text id=\"search\" class=\"btn\" x=\"%d\" y=\"22\" "
                     "text-anchor=\"end\">Search</text>\n",
                     XPAD, width - XPAD);
  rd.r |= buf_printf(out, "<g id=\"frames\">\n");
  if (rd.r == 0)
    emit_all(&rd);
  /* The status line comes last so it paints over frames; the script keeps
   * it at the bottom of the window while the page scrolls. */
  rd.r |= buf_printf(out,
                     "</g>\n<rect id=\"statusbg\" x=\"0\" y=\"%d\" width=\"%d\" height=\"20\" "
                     "fill=\"#fafafa\" fill-opacity=\"0.9\"/>\n"
                     "<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n"
                     "<text id=\"matched\" class=\"btn hide\" x=\"%d\" y=\"%d\" "
                     "text-anchor=\"end\"> </text>\n</svg>\n",
                     rd.height - 24, width, XPAD, rd.height - 10, width - XPAD, rd.height - 10);
  return rd.r < 0 ? -EFBIG : 0;
}
