#include "config.h"

#include "metrics.h"
#include "metrics_int.h"
#include "util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct metrics *metrics_new(void) {
  struct metrics *m = xcalloc(1, sizeof(*m));
  pthread_mutex_init(&m->lock, NULL);
  m->families = hashmap_new();
  m->tail = &m->head;
  m->interned = hashmap_new_borrowed();
  buf_init(&m->scratch, 1 << 20);
  buf_init(&m->scratch_rest, 1 << 20);
  return m;
}

static void series_free(struct series *s) {
  free(s->bucket_counts);
  free(s);
}

static void group_free(struct group *g) {
  free(g->v);
  free(g);
}

struct metrics *metrics_free(struct metrics *m) {
  if (!m)
    return NULL;
  for (struct family *f = m->head, *nf; f; f = nf) {
    nf = f->next;
    for (struct series *s = f->head, *ns; s; s = ns) {
      ns = s->next;
      series_free(s);
    }
    for (struct group *g = f->ghead, *ng; g; g = ng) {
      ng = g->next;
      group_free(g);
    }
    hashmap_free(f->by_labels);
    free(f->name);
    free(f->help);
    free(f->buckets);
    free(f);
  }
  hashmap_free(m->families);
  {
    size_t pos = 0;
    const char *k;
    void *v;
    while (hashmap_next(m->interned, &pos, &k, &v))
      free(v);
  }
  hashmap_free(m->interned);
  buf_done(&m->scratch);
  buf_done(&m->scratch_rest);
  pthread_mutex_destroy(&m->lock);
  free(m);
  return NULL;
}

static void declare(struct metrics *m, const char *name, enum metric_type type, const char *help,
                    const double *buckets, size_t n_buckets, size_t n_group_labels) {
  struct family *f;
  pthread_mutex_lock(&m->lock);
  if (hashmap_get(m->families, name)) {
    pthread_mutex_unlock(&m->lock);
    return;
  }
  f = xcalloc(1, sizeof(*f));
  f->name = xstrdup(name);
  f->type = type;
  f->help = xstrdup(help);
  if (type == METRIC_HISTOGRAM && n_buckets) {
    f->buckets = xcalloc(n_buckets, sizeof(*f->buckets));
    memcpy(f->buckets, buckets, n_buckets * sizeof(*buckets));
    f->n_buckets = n_buckets;
  }
  if (type != METRIC_HISTOGRAM)
    f->n_group_labels = n_group_labels;
  f->by_labels = hashmap_new_borrowed(); /* keys are the series' labels or group prefixes */
  f->tail = &f->head;
  f->gtail = &f->ghead;
  hashmap_put(m->families, name, f);
  *m->tail = f;
  m->tail = &f->next;
  pthread_mutex_unlock(&m->lock);
}

void metrics_declare(struct metrics *m, const char *name, enum metric_type type, const char *help,
                     const double *buckets, size_t n_buckets) {
  declare(m, name, type, help, buckets, n_buckets, 0);
}

void metrics_declare_grouped(struct metrics *m, const char *name, enum metric_type type,
                             const char *help, size_t n_group_labels) {
  declare(m, name, type, help, NULL, 0, n_group_labels);
}

static void escape_value(struct buf *b, const char *v) {
  for (; *v; v++) {
    if (*v == '\\')
      buf_append(b, "\\\\", 2);
    else if (*v == '"')
      buf_append(b, "\\\"", 2);
    else if (*v == '\n')
      buf_append(b, "\\n", 2);
    else
      buf_append(b, v, 1);
  }
}

/* Renders pairs [from, to) into b (reset first); b->data is "" when there
 * are none. Returns the index after the last pair rendered. */
static size_t render_pairs_into(struct buf *b, const char *const *labels, size_t from, size_t to) {
  size_t i = from;
  buf_reset(b);
  for (; labels && i < to && labels[2 * i] && labels[2 * i + 1]; i++) {
    buf_printf(b, "%s%s=\"", i > from ? "," : "", labels[2 * i]);
    escape_value(b, labels[2 * i + 1]);
    buf_append(b, "\"", 1);
  }
  buf_terminate(b);
  return i;
}

static void render_labels_into(struct buf *b, const char *const *labels) {
  render_pairs_into(b, labels, 0, SIZE_MAX);
}

/* Called with the lock held. */
static struct series *get_series(struct family *f, struct metrics *m, const char *const *labels) {
  struct series *s;
  const char *key;

  /* Looked up in a reused buffer; a new series keeps an exact-size copy
   * (one of these per target instance and type adds up). */
  render_labels_into(&m->scratch, labels);
  key = m->scratch.data ? (const char *)m->scratch.data : "";
  s = hashmap_get(f->by_labels, key);
  if (!s) {
    size_t n = strlen(key) + 1;
    s = xcalloc(1, offsetof(struct series, labels) + n);
    memcpy(s->labels, key, n);
    if (f->type == METRIC_HISTOGRAM)
      s->bucket_counts = xcalloc(f->n_buckets + 1, sizeof(*s->bucket_counts));
    hashmap_put(f->by_labels, s->labels, s);
    *f->tail = s;
    f->tail = &s->next;
  }
  return s;
}

static const char *intern(struct metrics *m, const char *text) {
  char *s = hashmap_get(m->interned, text);
  if (!s) {
    s = xstrdup(text);
    hashmap_put(m->interned, s, s);
  }
  return s;
}

/* The value of a grouped family's series; called with the lock held. */
static double *get_member(struct family *f, struct metrics *m, const char *const *labels) {
  struct group *g;
  const char *prefix, *rest;
  size_t k = render_pairs_into(&m->scratch, labels, 0, f->n_group_labels);

  render_pairs_into(&m->scratch_rest, labels, k, SIZE_MAX);
  prefix = m->scratch.data ? (const char *)m->scratch.data : "";
  rest = intern(m, m->scratch_rest.data ? (const char *)m->scratch_rest.data : "");
  g = hashmap_get(f->by_labels, prefix);
  if (!g) {
    size_t n = strlen(prefix) + 1;
    g = xcalloc(1, offsetof(struct group, prefix) + n);
    memcpy(g->prefix, prefix, n);
    hashmap_put(f->by_labels, g->prefix, g);
    *f->gtail = g;
    f->gtail = &g->next;
  }
  for (uint32_t i = 0; i < g->n; i++)
    if (g->v[i].rest == rest)
      return &g->v[i].value;
  if (g->n == g->cap) {
    g->cap = g->cap ? 2 * g->cap : 1;
    g->v = xreallocarray(g->v, g->cap, sizeof(*g->v));
  }
  g->v[g->n].rest = rest;
  g->v[g->n].value = 0;
  return &g->v[g->n++].value;
}

/* The value to update for a counter or gauge; called with the lock held. */
static double *get_value(struct metrics *m, const char *name, const char *const *labels) {
  struct family *f = hashmap_get(m->families, name);
  struct series *s;
  if (!f)
    return NULL;
  if (f->n_group_labels)
    return get_member(f, m, labels);
  s = get_series(f, m, labels);
  return &s->value;
}

void metrics_add(struct metrics *m, const char *name, const char *const *labels, double v) {
  double *p;
  pthread_mutex_lock(&m->lock);
  p = get_value(m, name, labels);
  if (p)
    *p += v;
  pthread_mutex_unlock(&m->lock);
}

void metrics_set(struct metrics *m, const char *name, const char *const *labels, double v) {
  double *p;
  pthread_mutex_lock(&m->lock);
  p = get_value(m, name, labels);
  if (p)
    *p = v;
  pthread_mutex_unlock(&m->lock);
}

void metrics_observe(struct metrics *m, const char *name, const char *const *labels, double v) {
  struct family *f;
  pthread_mutex_lock(&m->lock);
  f = hashmap_get(m->families, name);
  if (f && f->type == METRIC_HISTOGRAM) {
    struct series *s = get_series(f, m, labels);
    size_t i = 0;
    while (i < f->n_buckets && v > f->buckets[i])
      i++;
    s->bucket_counts[i]++;
    s->count++;
    s->value += v;
  }
  pthread_mutex_unlock(&m->lock);
}

/* Does the rendered label text contain the pair needle, at a boundary? */
static bool has_pair(const char *labels, const char *needle) {
  size_t n = strlen(needle);
  for (const char *hit = strstr(labels, needle); hit; hit = strstr(hit + 1, needle))
    if ((hit == labels || hit[-1] == ',') && (hit[n] == '\0' || hit[n] == ','))
      return true;
  return false;
}

/* With readers, entries are only marked, so that their cursors can step
 * past them; metrics_sweep() frees them when the last reader is done. */
static void forget_groups(struct metrics *m, struct family *f, const char *needle) {
  struct group **pp;
  for (pp = &f->ghead; *pp;) {
    struct group *g = *pp;
    if (g->dead) {
      pp = &g->next;
      continue;
    }
    if (has_pair(g->prefix, needle)) {
      hashmap_remove(f->by_labels, g->prefix);
      if (m->readers) {
        g->dead = true;
        m->need_sweep = true;
        pp = &g->next;
        continue;
      }
      *pp = g->next;
      group_free(g);
      continue;
    }
    for (uint32_t i = 0; i < g->n; i++) {
      if (g->v[i].rest && has_pair(g->v[i].rest, needle)) {
        g->v[i].rest = NULL;
        m->need_sweep = true;
      }
    }
    pp = &g->next;
  }
  f->gtail = pp;
}

static void forget_series(struct metrics *m, struct family *f, const char *needle) {
  struct series **pp;
  for (pp = &f->head; *pp;) {
    struct series *s = *pp;
    if (!s->dead && has_pair(s->labels, needle)) {
      hashmap_remove(f->by_labels, s->labels);
      if (m->readers) {
        s->dead = true;
        m->need_sweep = true;
      } else {
        *pp = s->next;
        series_free(s);
        continue;
      }
    }
    pp = &s->next;
  }
  f->tail = pp;
}

void metrics_forget(struct metrics *m, const char *name, const char *key, const char *value) {
  struct family *f;
  const char *lv[] = {key, value, NULL};

  pthread_mutex_lock(&m->lock);
  f = hashmap_get(m->families, name);
  if (f) {
    render_labels_into(&m->scratch, lv);
    if (f->n_group_labels)
      forget_groups(m, f, (const char *)m->scratch.data);
    else
      forget_series(m, f, (const char *)m->scratch.data);
    if (!m->readers && m->need_sweep)
      metrics_sweep(m);
  }
  pthread_mutex_unlock(&m->lock);
}

void metrics_sweep(struct metrics *m) {
  for (struct family *f = m->head; f; f = f->next) {
    struct series **sp;
    struct group **gp;
    for (sp = &f->head; *sp;) {
      struct series *s = *sp;
      if (s->dead) {
        *sp = s->next;
        series_free(s);
        continue;
      }
      sp = &s->next;
    }
    f->tail = sp;
    for (gp = &f->ghead; *gp;) {
      struct group *g = *gp;
      uint32_t k = 0;
      if (g->dead) {
        *gp = g->next;
        group_free(g);
        continue;
      }
      for (uint32_t i = 0; i < g->n; i++)
        if (g->v[i].rest)
          g->v[k++] = g->v[i];
      g->n = k;
      gp = &g->next;
    }
    f->gtail = gp;
  }
  m->need_sweep = false;
}
