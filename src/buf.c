#include "config.h"

#include "buf.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

void buf_done(struct buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void buf_reset(struct buf *b) {
  b->len = 0;
}

void buf_shrink(struct buf *b) {
  uint8_t *p;

  if (!b->data || b->cap <= b->len + 1)
    return;
  p = realloc(b->data, b->len + 1);
  if (!p)
    return; /* the old block stays valid */
  b->data = p;
  b->cap = b->len + 1;
}

int buf_reserve(struct buf *b, size_t extra) {
  size_t need, ncap;
  uint8_t *p;

  if (extra > b->max - b->len)
    return -EFBIG;
  need = b->len + extra + 1; /* room for buf_terminate() */
  if (need <= b->cap)
    return 0;
  ncap = b->cap ? b->cap : 256;
  while (ncap < need)
    ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
  p = realloc(b->data, ncap);
  if (!p)
    return -ENOMEM;
  b->data = p;
  b->cap = ncap;
  return 0;
}

int buf_append(struct buf *b, const void *data, size_t len) {
  int r = buf_reserve(b, len);
  if (r < 0)
    return r;
  if (len)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...) {
  va_list ap;
  int n, r;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -EINVAL;
  r = buf_reserve(b, (size_t)n);
  if (r < 0)
    return r;
  va_start(ap, fmt);
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return 0;
}

int buf_terminate(struct buf *b) {
  int r = buf_reserve(b, 0);
  if (r < 0)
    return r;
  b->data[b->len] = '\0';
  return 0;
}

uint8_t *buf_steal(struct buf *b, size_t *ret_len) {
  uint8_t *p = b->data;
  if (ret_len)
    *ret_len = b->len;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}
