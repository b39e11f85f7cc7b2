#include "config.h"

#include "job.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

static void free_pairs(struct cfg_pair *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].key);
    free(v[i].value);
  }
  free(v);
}

struct job_origin *job_origin_new(const struct cfg_target *t, const struct cfg_instance *in) {
  struct job_origin *o = xcalloc(1, sizeof(*o));
  size_t n;

  o->target_name = xstrdup(t->name);
  o->instance_name = xstrdup(in->name);
  o->base_url = xstrdup(in->url);
  /* Base URLs are stored without a trailing slash. */
  n = strlen(o->base_url);
  while (n > 0 && o->base_url[n - 1] == '/')
    o->base_url[--n] = '\0';
  o->labels = xcalloc(t->n_labels, sizeof(*o->labels));
  for (size_t i = 0; i < t->n_labels; i++) {
    o->labels[i].key = xstrdup(t->labels[i].key);
    o->labels[i].value = xstrdup(t->labels[i].value);
  }
  o->n_labels = t->n_labels;
  o->refs = 1;
  return o;
}

struct job_origin *job_origin_unref(struct job_origin *o) {
  if (!o || --o->refs > 0)
    return NULL;
  free(o->target_name);
  free(o->instance_name);
  free(o->base_url);
  free_pairs(o->labels, o->n_labels);
  free(o);
  return NULL;
}

static void job_set_origin(struct job *j, const struct cfg_target *t, struct job_origin *o) {
  o->refs++;
  job_origin_unref(j->origin);
  j->origin = o;
  j->target = t;
  j->target_name = o->target_name;
  j->instance_name = o->instance_name;
  j->base_url = o->base_url;
  j->labels = o->labels;
  j->n_labels = o->n_labels;
}

char *job_key(const char *target, const char *instance, const char *profile) {
  return xasprintf("%s\x1f%s\x1f%s", target, instance, profile);
}

static void release_profile(struct job *j) {
  if (!j->profile_borrowed)
    cfg_profile_done(&j->profile);
  memset(&j->profile, 0, sizeof(j->profile));
  j->profile_borrowed = false;
}

static void set_profile(struct job *j, const struct cfg_profile *p, bool borrow) {
  if (borrow)
    j->profile = *p;
  else
    cfg_profile_copy(&j->profile, p);
  j->profile_borrowed = borrow;
}

struct job *job_new(const char *key, enum job_kind kind, const struct cfg_target *t,
                    struct job_origin *o, const struct cfg_profile *p, bool borrow) {
  struct job *j = xcalloc(1, sizeof(*j));
  j->key = xstrdup(key);
  j->kind = kind;
  job_set_origin(j, t, o);
  set_profile(j, p, borrow);
  j->heap_idx = JOB_NOT_QUEUED;
  return j;
}

void job_update(struct job *j, const struct cfg_target *t, struct job_origin *o,
                const struct cfg_profile *p, bool borrow) {
  /* p may be the very profile the job borrows: set before releasing. */
  struct cfg_profile old = j->profile;
  bool was_borrowed = j->profile_borrowed;
  job_set_origin(j, t, o);
  set_profile(j, p, borrow);
  if (!was_borrowed)
    cfg_profile_done(&old);
}

void job_own_profile(struct job *j) {
  struct cfg_profile copy;
  if (!j->profile_borrowed)
    return;
  cfg_profile_copy(&copy, &j->profile);
  j->profile = copy;
  j->profile_borrowed = false;
}

struct job *job_free(struct job *j) {
  if (!j)
    return NULL;
  free(j->key);
  job_origin_unref(j->origin);
  release_profile(j);
  free(j);
  return NULL;
}

bool job_needs_cpu(const struct job *j) {
  return j->kind == JOB_PROFILE && j->profile.kind == PROFILE_CPU;
}

bool job_needs_trace(const struct job *j) {
  return j->kind == JOB_PROFILE && j->profile.kind == PROFILE_TRACE;
}

static bool less(const struct job *a, const struct job *b) {
  return a->timing.next_due_ms < b->timing.next_due_ms;
}

static void swap(struct job_heap *h, size_t a, size_t b) {
  struct job *t = h->v[a];
  h->v[a] = h->v[b];
  h->v[b] = t;
  h->v[a]->heap_idx = a;
  h->v[b]->heap_idx = b;
}

static void sift_up(struct job_heap *h, size_t i) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!less(h->v[i], h->v[parent]))
      break;
    swap(h, i, parent);
    i = parent;
  }
}

static void sift_down(struct job_heap *h, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->n && less(h->v[l], h->v[m]))
      m = l;
    if (r < h->n && less(h->v[r], h->v[m]))
      m = r;
    if (m == i)
      break;
    swap(h, i, m);
    i = m;
  }
}

void job_heap_push(struct job_heap *h, struct job *j) {
  if (j->heap_idx != JOB_NOT_QUEUED)
    return;
  if (h->n == h->cap) {
    h->cap = h->cap ? h->cap * 2 : 64;
    h->v = xreallocarray(h->v, h->cap, sizeof(*h->v));
  }
  h->v[h->n] = j;
  j->heap_idx = h->n++;
  sift_up(h, j->heap_idx);
}

struct job *job_heap_peek(const struct job_heap *h) {
  return h->n ? h->v[0] : NULL;
}

void job_heap_remove(struct job_heap *h, struct job *j) {
  size_t i = j->heap_idx;
  if (i == JOB_NOT_QUEUED || i >= h->n || h->v[i] != j)
    return;
  h->n--;
  if (i != h->n) {
    h->v[i] = h->v[h->n];
    h->v[i]->heap_idx = i;
    sift_down(h, i);
    sift_up(h, i);
  }
  j->heap_idx = JOB_NOT_QUEUED;
}

struct job *job_heap_pop(struct job_heap *h) {
  struct job *j = job_heap_peek(h);
  if (j)
    job_heap_remove(h, j);
  return j;
}

void job_heap_fix(struct job_heap *h, struct job *j) {
  if (j->heap_idx == JOB_NOT_QUEUED)
    return;
  sift_down(h, j->heap_idx);
  sift_up(h, j->heap_idx);
}

void job_heap_done(struct job_heap *h) {
  free(h->v);
  h->v = NULL;
  h->n = h->cap = 0;
}
