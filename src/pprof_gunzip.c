/* gzip'd profiles (Go's pprof handlers send them so): libdeflate for the
 * common case, zlib's streaming inflate for everything else and for the
 * error messages. */
#include "config.h"

#include "pprof.h"
#include "util.h"

#include <errno.h>
#include <libdeflate.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

static char *zmsg(const char *what, z_stream *zs, int zr) {
  return xasprintf("gzip: %s (%s) at compressed byte %lu", what, zs->msg ? zs->msg : zError(zr),
                   (unsigned long)zs->total_in);
}

/* The output size to reserve up front: the gzip trailer's ISIZE (the last
 * member's size mod 2^32) when it is plausible, so that a profile is
 * inflated into one buffer without regrowing and copying it. A lying
 * trailer costs at most a regrowth: the limit is enforced on what is
 * actually written. */
static size_t gunzip_hint(const uint8_t *data, size_t len) {
  uint32_t isize;
  if (len < 18)
    return 0;
  isize = (uint32_t)data[len - 4] | (uint32_t)data[len - 3] << 8 | (uint32_t)data[len - 2] << 16 |
          (uint32_t)data[len - 1] << 24;
  return isize / 16 <= len + 4096 ? isize : 0;
}

/* The common case, one gzip member whose trailer tells its size, in one
 * libdeflate call into a buffer of that size: about twice as fast as
 * zlib's streaming inflate. Returns false, leaving `out` as it was, for
 * anything else (concatenated members, a lying trailer, corrupt or
 * truncated data, the size limit): zlib then does it again and says
 * exactly what is wrong and where. */
static bool gunzip_fast(const uint8_t *data, size_t len, size_t hint, struct buf *out) {
  struct libdeflate_decompressor *z;
  size_t in_n = 0, out_n = 0, start = out->len;
  enum libdeflate_result res;

  if (hint == 0 || hint > out->max - out->len || buf_reserve(out, hint) < 0)
    return false;
  z = libdeflate_alloc_decompressor();
  if (!z)
    return false;
  res = libdeflate_gzip_decompress_ex(z, data, len, out->data + start, hint, &in_n, &out_n);
  libdeflate_free_decompressor(z);
  if (res != LIBDEFLATE_SUCCESS || in_n != len)
    return false;
  out->len = start + out_n;
  return true;
}

int pprof_gunzip(const uint8_t *data, size_t len, struct buf *out, char **ret_err) {
  z_stream zs;
  size_t consumed = 0, hint = gunzip_hint(data, len);
  uint8_t spill;
  int zr, r = 0;

  if (gunzip_fast(data, len, hint, out))
    return 0;
  memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    *ret_err = xstrdup("gzip: cannot initialise zlib");
    return -ENOMEM;
  }
  if (hint > 0)
    (void)buf_reserve(out, hint < out->max - out->len ? hint : out->max - out->len);
  zs.next_in = (Bytef *)(uintptr_t)data;
  for (;;) {
    /* zlib counts avail_in and avail_out in uInt: huge ones go in slices. */
    size_t left = len - consumed, room;
    zs.avail_in = left > (1u << 30) ? (1u << 30) : (uInt)left;
    uInt before_in = zs.avail_in;
    if (out->cap - out->len <= 1 && out->len < out->max) {
      size_t grow = out->len > 65536 ? out->len : 65536;
      if (grow > out->max - out->len)
        grow = out->max - out->len;
      r = buf_reserve(out, grow);
      if (r < 0) {
        *ret_err = xstrdup("gzip: out of memory");
        goto done;
      }
    }
    room = out->cap - out->len - 1; /* buf_reserve() keeps one byte for a terminator */
    if (room > out->max - out->len)
      room = out->max - out->len;
    if (room > (1u << 30))
      room = 1u << 30;
    /* At the limit, one spare byte tells whether more output follows. */
    zs.next_out = room ? out->data + out->len : &spill;
    zs.avail_out = room ? (uInt)room : 1;
    zr = inflate(&zs, Z_NO_FLUSH);
    consumed += before_in - zs.avail_in;
    if (room) {
      out->len += room - zs.avail_out;
    } else if (zs.avail_out == 0) {
      char lim[32];
      *ret_err = xasprintf("gzip: exceeds the decompressed size limit of %s "
                           "(collector.max_decompressed_size) after %zu of %zu compressed "
                           "bytes: a gzip bomb or a profile too large to analyse",
                           format_size(out->max, lim, sizeof(lim)), consumed, len);
      r = -EFBIG;
      goto done;
    }
    if (zr == Z_STREAM_END) {
      if (consumed == len)
        break;
      /* Another member follows (concatenated gzip), as Go's reader allows. */
      if (len - consumed < 2 || data[consumed] != 0x1f || data[consumed + 1] != 0x8b) {
        *ret_err = xasprintf("gzip: %zu bytes of trailing garbage after the compressed data",
                             len - consumed);
        r = -EBADMSG;
        goto done;
      }
      inflateReset(&zs);
      continue;
    }
    if (zr == Z_BUF_ERROR && consumed == len && zs.avail_out > 0) {
      *ret_err = xasprintf("gzip: truncated data (ends after %zu compressed bytes, %zu "
                           "decompressed)",
                           len, out->len);
      r = -EBADMSG;
      goto done;
    }
    if (zr != Z_OK && zr != Z_BUF_ERROR) {
      *ret_err = zmsg(zr == Z_DATA_ERROR ? "corrupt data" : "inflate failed", &zs, zr);
      r = zr == Z_MEM_ERROR ? -ENOMEM : -EBADMSG;
      goto done;
    }
  }
done:
  inflateEnd(&zs);
  return r;
}
