#include "config.h"

#include "analysis.h"
#include "capture.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct capture *capture_new(void) {
  struct capture *c = xcalloc(1, sizeof(*c));
  buf_init(&c->body, 0);
  return c;
}

struct capture *capture_free(struct capture *c) {
  if (!c)
    return NULL;
  free(c->target);
  free(c->instance);
  free(c->type);
  free(c->url);
  free(c->error);
  free(c->content_type);
  for (size_t i = 0; i < c->n_labels; i++) {
    free(c->labels[i].key);
    free(c->labels[i].value);
  }
  free(c->labels);
  buf_done(&c->body);
  analysis_free(c->analysis);
  free(c);
  return NULL;
}

void capture_set_error(struct capture *c, const char *fmt, ...) {
  va_list ap;
  char *msg;

  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = xstrdup("error (message lost: out of memory)");
  va_end(ap);
  free(c->error);
  c->error = msg;
  c->status = CAPTURE_FAILED;
}

void capture_set_labels(struct capture *c, const struct cfg_pair *labels, size_t n) {
  c->labels = xcalloc(n, sizeof(*c->labels));
  for (size_t i = 0; i < n; i++) {
    c->labels[i].key = xstrdup(labels[i].key);
    c->labels[i].value = xstrdup(labels[i].value);
  }
  c->n_labels = n;
}

const char *capture_status_name(enum capture_status s) {
  return s == CAPTURE_OK ? "ok" : "failed";
}

size_t capture_bytes(const struct capture *c) {
  return sizeof(*c) + c->body.cap;
}
