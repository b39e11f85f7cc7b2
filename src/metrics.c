#include "config.h"

#include "metrics.h"
#include "hashmap.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct series {
  double value; /* counter/gauge; histogram: sum */
  uint64_t *bucket_counts; /* histogram: per bucket (non-cumulative) + one for +Inf */
  uint64_t count;
  struct series *next;
  char labels[]; /* rendered: k="v",k="v" (escaped), may be ""; one allocation with the
                    series, as there is one per target instance and type */
};

struct family {
  char *name;
  enum metric_type type;
  char *help;
  double *buckets;
  size_t n_buckets;
  struct hashmap *by_labels; /* labels -> struct series */
  struct series *head;       /* in creation order, for stable output */
  struct series **tail;
  struct family *next;
};

struct metrics {
  pthread_mutex_t lock;
  struct hashmap *families;
  struct family *head;
  struct family **tail;
  struct buf scratch; /* label rendering, under lock */
};

struct metrics *metrics_new(void) {
  struct metrics *m = xcalloc(1, sizeof(*m));
  pthread_mutex_init(&m->lock, NULL);
  m->families = hashmap_new();
  m->tail = &m->head;
  buf_init(&m->scratch, 1 << 20);
  return m;
}

static void series_free(struct series *s) {
  free(s->bucket_counts);
  free(s);
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
    hashmap_free(f->by_labels);
    free(f->name);
    free(f->help);
    free(f->buckets);
    free(f);
  }
  hashmap_free(m->families);
  buf_done(&m->scratch);
  pthread_mutex_destroy(&m->lock);
  free(m);
  return NULL;
}

void metrics_declare(struct metrics *m, const char *name, enum metric_type type,
                     const char *help, const double *buckets, size_t n_buckets) {
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
  f->by_labels = hashmap_new_borrowed(); /* keys are the series' labels */
  f->tail = &f->head;
  hashmap_put(m->families, name, f);
  *m->tail = f;
  m->tail = &f->next;
  pthread_mutex_unlock(&m->lock);
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

/* Renders into b (reset first); b->data is "" when there are no labels. */
static void render_labels_into(struct buf *b, const char *const *labels) {
  buf_reset(b);
  for (size_t i = 0; labels && labels[i] && labels[i + 1]; i += 2) {
    buf_printf(b, "%s%s=\"", i ? "," : "", labels[i]);
    escape_value(b, labels[i + 1]);
    buf_append(b, "\"", 1);
  }
  buf_terminate(b);
}

static char *render_labels(const char *const *labels) {
  struct buf b;
  char *s;
  buf_init(&b, 1 << 20);
  render_labels_into(&b, labels);
  s = xstrdup(b.data ? (const char *)b.data : "");
  buf_done(&b);
  return s;
}

/* Called with the lock held. */
static struct series *get_series(struct metrics *m, const char *name, const char *const *labels,
                                 struct family **ret_f) {
  struct family *f = hashmap_get(m->families, name);
  struct series *s;
  const char *key;

  if (!f)
    return NULL;
  /* Looked up in a reused buffer; a new series keeps an exact-size copy
   * (one of these per target instance and type adds up). */
  render_labels_into(&m->scratch, labels);
  key = m->scratch.data ? (const char *)m->scratch.data : "";
  s = hashmap_get(f->by_labels, key);
  if (!s) {
    size_t n = strlen(key) + 1;
    s = xcalloc(1, sizeof(*s) + n);
    memcpy(s->labels, key, n);
    if (f->type == METRIC_HISTOGRAM)
      s->bucket_counts = xcalloc(f->n_buckets + 1, sizeof(*s->bucket_counts));
    hashmap_put(f->by_labels, s->labels, s);
    *f->tail = s;
    f->tail = &s->next;
  }
  *ret_f = f;
  return s;
}

void metrics_add(struct metrics *m, const char *name, const char *const *labels, double v) {
  struct family *f;
  struct series *s;
  pthread_mutex_lock(&m->lock);
  s = get_series(m, name, labels, &f);
  if (s)
    s->value += v;
  pthread_mutex_unlock(&m->lock);
}

void metrics_set(struct metrics *m, const char *name, const char *const *labels, double v) {
  struct family *f;
  struct series *s;
  pthread_mutex_lock(&m->lock);
  s = get_series(m, name, labels, &f);
  if (s)
    s->value = v;
  pthread_mutex_unlock(&m->lock);
}

void metrics_observe(struct metrics *m, const char *name, const char *const *labels, double v) {
  struct family *f;
  struct series *s;
  pthread_mutex_lock(&m->lock);
  s = get_series(m, name, labels, &f);
  if (s && f->type == METRIC_HISTOGRAM) {
    size_t i = 0;
    while (i < f->n_buckets && v > f->buckets[i])
      i++;
    s->bucket_counts[i]++;
    s->count++;
    s->value += v;
  }
  pthread_mutex_unlock(&m->lock);
}

void metrics_forget(struct metrics *m, const char *name, const char *key, const char *value) {
  struct family *f;
  char *needle;
  struct series **pp;

  pthread_mutex_lock(&m->lock);
  f = hashmap_get(m->families, name);
  if (!f) {
    pthread_mutex_unlock(&m->lock);
    return;
  }
  {
    const char *lv[] = {key, value, NULL};
    needle = render_labels(lv);
  }
  for (pp = &f->head; *pp;) {
    struct series *s = *pp;
    /* Match the pair at a label boundary. */
    const char *hit = strstr(s->labels, needle);
    if (hit && (hit == s->labels || hit[-1] == ',') &&
        (hit[strlen(needle)] == '\0' || hit[strlen(needle)] == ',')) {
      *pp = s->next;
      hashmap_remove(f->by_labels, s->labels);
      series_free(s);
      continue;
    }
    pp = &s->next;
  }
  f->tail = pp;
  free(needle);
  pthread_mutex_unlock(&m->lock);
}

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

int metrics_render(struct metrics *m, struct buf *out) {
  static const char *const types[] = {"counter", "gauge", "histogram"};
  int r = 0;

  pthread_mutex_lock(&m->lock);
  /* Reserve about what the page takes: with one series per target
   * instance and type the page is megabytes, and growing by doubling
   * would hold up to twice that at the peak. */
  {
    size_t est = 0;
    for (struct family *f = m->head; f; f = f->next) {
      size_t nl = strlen(f->name);
      est += 2 * nl + strlen(f->help) + 32;
      for (struct series *s = f->head; s; s = s->next)
        est += (f->type == METRIC_HISTOGRAM ? f->n_buckets + 3 : 1) *
               (nl + strlen(s->labels) + (f->type == METRIC_HISTOGRAM ? 48 : 32));
    }
    (void)buf_reserve(out, est); /* a failure shows below as -EFBIG */
  }
  for (struct family *f = m->head; f; f = f->next) {
    buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, types[f->type]);
    for (struct series *s = f->head; s; s = s->next) {
      if (f->type != METRIC_HISTOGRAM) {
        print_series(out, f->name, "", s->labels, NULL, s->value);
        continue;
      }
      {
        uint64_t cum = 0;
        for (size_t i = 0; i <= f->n_buckets; i++) {
          char le[64];
          cum += s->bucket_counts[i];
          if (i < f->n_buckets)
            snprintf(le, sizeof(le), "le=\"%g\"", f->buckets[i]);
          else
            snprintf(le, sizeof(le), "le=\"+Inf\"");
          print_series(out, f->name, "_bucket", s->labels, le, (double)cum);
        }
        print_series(out, f->name, "_sum", s->labels, NULL, s->value);
        print_series(out, f->name, "_count", s->labels, NULL, (double)s->count);
      }
    }
  }
  if (buf_terminate(out) < 0)
    r = -EFBIG;
  pthread_mutex_unlock(&m->lock);
  return r;
}
