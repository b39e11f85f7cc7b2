/* The text exposition format (version 0.0.4), rendered a few series at a
 * time: with one series per target instance and type the page is
 * megabytes, and the HTTP endpoint streams it instead of holding it. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics_int.h"
#include "util.h"

/* Bytes rendered per lock hold. */
#define CHUNK_BYTES (16 * 1024)
/* The largest chunk: a series over CHUNK_BYTES still fits (labels are
 * capped at 1 MiB when rendered). */
#define CHUNK_MAX (64 * 1024 * 1024)

struct metrics_cursor {
  struct metrics *m;
  struct family *f; /* current family; NULL before the first */
  bool started;     /* f's HELP/TYPE lines are out */
  struct series *s; /* last series rendered of f, or NULL */
  struct group *g;  /* grouped: current group, or NULL before the first */
  uint32_t i;       /* grouped: next member of g */
  bool done;
  struct buf chunk; /* rendered, not yet read */
  size_t off;       /* read so far from chunk */
};

static void print_value(struct buf *b, double v) {
  if (isinf(v))
    buf_printf(b, v > 0 ? "+Inf" : "-Inf");
  else if (isnan(v))
    buf_printf(b, "NaN");
  else if (v == (double)(int64_t)v && fabs(v) < 1e15)
    buf_printf(b, "%lld", (long long)v);
  else
    buf_printf(b, "%.17g", v);
}

static void print_series(struct buf *b, const char *name, const char *suffix, const char *labels,
                         const char *extra, double v) {
  bool any = labels[0] || extra;
  buf_printf(b, "%s%s", name, suffix);
  if (any)
    buf_printf(b, "{%s%s%s}", labels, labels[0] && extra ? "," : "", extra ? extra : "");
  buf_append(b, " ", 1);
  print_value(b, v);
  buf_append(b, "\n", 1);
}

static void print_histogram(struct buf *b, const struct family *f, const struct series *s) {
  uint64_t cum = 0;
  for (size_t i = 0; i <= f->n_buckets; i++) {
    char le[64];
    cum += s->bucket_counts[i];
    if (i < f->n_buckets)
      snprintf(le, sizeof(le), "le=\"%g\"", f->buckets[i]);
    else
      snprintf(le, sizeof(le), "le=\"+Inf\"");
    print_series(b, f->name, "_bucket", s->labels, le, (double)cum);
  }
  print_series(b, f->name, "_sum", s->labels, NULL, s->value);
  print_series(b, f->name, "_count", s->labels, NULL, (double)s->count);
}

/* Renders the next series of c->f into c->chunk; false when f has no more. */
static bool render_next(struct metrics_cursor *c) {
  struct family *f = c->f;
  struct buf *b = &c->chunk;

  if (f->n_group_labels) {
    for (;;) {
      struct group *g = c->g ? c->g : f->ghead;
      if (!g)
        return false;
      c->g = g;
      if (g->dead || c->i >= g->n) {
        if (!g->next)
          return false;
        c->g = g->next;
        c->i = 0;
        continue;
      }
      {
        const struct member *mb = &g->v[c->i++];
        if (!mb->rest)
          continue;
        print_series(b, f->name, "", g->prefix, mb->rest[0] ? mb->rest : NULL, mb->value);
        return true;
      }
    }
  }
  for (;;) {
    struct series *s = c->s ? c->s->next : f->head;
    if (!s)
      return false;
    c->s = s;
    if (s->dead)
      continue;
    if (f->type == METRIC_HISTOGRAM)
      print_histogram(b, f, s);
    else
      print_series(b, f->name, "", s->labels, NULL, s->value);
    return true;
  }
}

/* Renders about CHUNK_BYTES more of the page; called with the lock held. */
static void render_chunk(struct metrics_cursor *c) {
  static const char *const types[] = {"counter", "gauge", "histogram"};
  struct metrics *m = c->m;

  while (!c->done && c->chunk.len < CHUNK_BYTES) {
    if (!c->f || !c->started) {
      if (!c->f)
        c->f = m->head;
      if (!c->f) {
        c->done = true;
        break;
      }
      buf_printf(&c->chunk, "# HELP %s %s\n# TYPE %s %s\n", c->f->name, c->f->help, c->f->name,
                 types[c->f->type]);
      c->started = true;
      continue;
    }
    if (render_next(c))
      continue;
    /* A family declared later is appended; the page picks it up. */
    c->f = c->f->next;
    c->started = false;
    c->s = NULL;
    c->g = NULL;
    c->i = 0;
    if (!c->f)
      c->done = true;
  }
}

struct metrics_cursor *metrics_cursor_new(struct metrics *m) {
  struct metrics_cursor *c = xcalloc(1, sizeof(*c));
  c->m = m;
  buf_init(&c->chunk, CHUNK_MAX);
  pthread_mutex_lock(&m->lock);
  m->readers++;
  pthread_mutex_unlock(&m->lock);
  return c;
}

ssize_t metrics_cursor_read(struct metrics_cursor *c, char *dst, size_t max) {
  size_t n;
  if (c->off == c->chunk.len) {
    buf_reset(&c->chunk);
    c->off = 0;
    if (c->done)
      return 0;
    pthread_mutex_lock(&c->m->lock);
    render_chunk(c);
    pthread_mutex_unlock(&c->m->lock);
    if (buf_terminate(&c->chunk) < 0)
      return -EFBIG;
  }
  n = MIN(max, c->chunk.len - c->off);
  memcpy(dst, c->chunk.data + c->off, n);
  c->off += n;
  return (ssize_t)n;
}

struct metrics_cursor *metrics_cursor_free(struct metrics_cursor *c) {
  struct metrics *m;
  if (!c)
    return NULL;
  m = c->m;
  pthread_mutex_lock(&m->lock);
  if (--m->readers == 0 && m->need_sweep)
    metrics_sweep(m);
  pthread_mutex_unlock(&m->lock);
  buf_done(&c->chunk);
  free(c);
  return NULL;
}

int metrics_render(struct metrics *m, struct buf *out) {
  struct metrics_cursor *c = metrics_cursor_new(m);
  char piece[CHUNK_BYTES];
  ssize_t n;
  int r = 0;

  for (;;) {
    n = metrics_cursor_read(c, piece, sizeof(piece));
    if (n <= 0) {
      r = (int)n;
      break;
    }
    if (buf_append(out, piece, (size_t)n) < 0) {
      r = -EFBIG;
      break;
    }
  }
  if (r == 0 && buf_terminate(out) < 0)
    r = -EFBIG;
  metrics_cursor_free(c);
  return r;
}
