/* A growable byte buffer with a hard cap, for everything whose size comes
 * from input (response bodies, decompressed data). Appending past the cap
 * fails with -EFBIG instead of growing. */
#ifndef PPROFD_BUF_H
#define PPROFD_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
  uint8_t *data;
  size_t len;
  size_t cap;     /* allocated bytes */
  size_t max;     /* hard limit on len */
};

void buf_init(struct buf *b, size_t max);
void buf_done(struct buf *b);
/* Returns 0, or -EFBIG when len would exceed max (nothing is appended). */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_reserve(struct buf *b, size_t extra);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Transfers ownership of the bytes; b is left empty. */
uint8_t *buf_steal(struct buf *b, size_t *ret_len);
void buf_reset(struct buf *b);
/* Gives back the allocation beyond len (plus room for the NUL of
 * buf_terminate()), for buffers that are kept a while but no longer grow. */
void buf_shrink(struct buf *b);
/* NUL-terminates without counting the NUL in len. */
int buf_terminate(struct buf *b);

#endif
