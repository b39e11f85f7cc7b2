#include "config.h"

#include "format.h"
#include "util.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define SNIFF_BYTES 4096

/* Walks protobuf fields over a prefix; true if every complete field has a
 * field number in profile.proto's range (1..14) and a wire type it uses. */
static bool looks_like_profile_proto(const uint8_t *p, size_t len) {
  size_t off = 0;
  int fields = 0;

  while (off < len) {
    uint64_t tag = 0, v = 0;
    int shift = 0;
    size_t start = off;

    for (;;) {
      if (off >= len)
        return start > 0; /* the prefix ends inside a tag */
      if (shift > 63)
        return false;
      tag |= (uint64_t)(p[off] & 0x7f) << shift;
      shift += 7;
      if (!(p[off++] & 0x80))
        break;
    }
    uint64_t field = tag >> 3, wt = tag & 7;
    if (field < 1 || field > 14)
      return false;
    if (wt == 0) {
      shift = 0;
      for (;;) {
        if (off >= len)
          return true;
        if (shift > 63)
          return false;
        shift += 7;
        if (!(p[off++] & 0x80))
          break;
      }
    } else if (wt == 2) {
      shift = 0;
      for (;;) {
        if (off >= len)
          return true;
        if (shift > 63)
          return false;
        v |= (uint64_t)(p[off] & 0x7f) << shift;
        shift += 7;
        if (!(p[off++] & 0x80))
          break;
      }
      if (v > len - off)
        return true; /* the prefix ends inside this field */
      off += v;
    } else {
      return false;
    }
    fields++;
  }
  return fields > 0;
}

static bool is_text(const uint8_t *p, size_t len) {
  size_t n = MIN(len, (size_t)SNIFF_BYTES);
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t')
      return false;
    if (c == 0x7f)
      return false;
  }
  return true;
}

static bool is_html(const uint8_t *p, size_t len) {
  size_t i = 0, n = MIN(len, (size_t)512);
  while (i < n && isspace(p[i]))
    i++;
  if (n - i >= 5 && strncasecmp((const char *)p + i, "<html", 5) == 0)
    return true;
  if (n - i >= 9 && strncasecmp((const char *)p + i, "<!doctype", 9) == 0)
    return true;
  return false;
}

static int parse_trace_header(const uint8_t *p, size_t len) {
  int minor = 0, digits = 0;
  size_t i;

  if (len < 16 || memcmp(p, "go 1.", 5) != 0)
    return -1;
  for (i = 5; i < 16 && isdigit(p[i]) && digits < 4; i++, digits++)
    minor = minor * 10 + (p[i] - '0');
  if (!digits || i + 6 > 16 || memcmp(p + i, " trace", 6) != 0)
    return -1;
  for (i += 6; i < 16; i++)
    if (p[i] != 0)
      return -1;
  return minor;
}

/* Inflates up to SNIFF_BYTES of a gzip stream; returns bytes produced. */
static size_t gunzip_prefix(const uint8_t *p, size_t len, uint8_t *out, size_t out_len) {
  z_stream zs;
  size_t produced;

  memset(&zs, 0, sizeof(zs));
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
    return 0;
  zs.next_in = (Bytef *)(uintptr_t)p;
  zs.avail_in = (uInt)MIN(len, (size_t)UINT32_MAX);
  zs.next_out = out;
  zs.avail_out = (uInt)out_len;
  (void)inflate(&zs, Z_SYNC_FLUSH);
  produced = out_len - zs.avail_out;
  inflateEnd(&zs);
  return produced;
}

bool format_inflated_is_pprof(const uint8_t *plain, size_t len) {
  return len > 0 && looks_like_profile_proto(plain, MIN(len, (size_t)SNIFF_BYTES));
}

void format_detect(const uint8_t *data, size_t len, struct format_info *ret) {
  int minor;

  ret->format = FORMAT_UNKNOWN;
  ret->trace_minor = 0;
  if (len == 0) {
    ret->format = FORMAT_EMPTY;
    return;
  }
  minor = parse_trace_header(data, len);
  if (minor >= 0) {
    ret->format = FORMAT_GO_TRACE;
    ret->trace_minor = minor;
    return;
  }
  if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
    uint8_t head[SNIFF_BYTES];
    size_t n = gunzip_prefix(data, len, head, sizeof(head));
    ret->format = format_inflated_is_pprof(head, n) ? FORMAT_PPROF_GZIP : FORMAT_GZIP;
    return;
  }
  if (is_text(data, len)) {
    size_t i = 0;
    while (i < len && isspace(data[i]))
      i++;
    if (is_html(data, len))
      ret->format = FORMAT_HTML;
    else if (i < len && (data[i] == '{' || data[i] == '['))
      ret->format = FORMAT_JSON;
    else
      ret->format = FORMAT_TEXT;
    return;
  }
  if (looks_like_profile_proto(data, MIN(len, (size_t)SNIFF_BYTES)))
    ret->format = FORMAT_PPROF;
}

const char *format_name(enum capture_format f) {
  switch (f) {
  case FORMAT_EMPTY:
    return "empty";
  case FORMAT_PPROF_GZIP:
    return "pprof-gzip";
  case FORMAT_PPROF:
    return "pprof";
  case FORMAT_GO_TRACE:
    return "go-trace";
  case FORMAT_GZIP:
    return "gzip";
  case FORMAT_HTML:
    return "html";
  case FORMAT_TEXT:
    return "text";
  case FORMAT_JSON:
    return "json";
  case FORMAT_UNKNOWN:
    break;
  }
  return "unknown";
}

const char *format_description(enum capture_format f) {
  switch (f) {
  case FORMAT_EMPTY:
    return "an empty body";
  case FORMAT_PPROF_GZIP:
    return "a gzip'd pprof profile";
  case FORMAT_PPROF:
    return "an uncompressed pprof profile";
  case FORMAT_GO_TRACE:
    return "a Go execution trace";
  case FORMAT_GZIP:
    return "gzip'd data that is not a profile";
  case FORMAT_HTML:
    return "an HTML page";
  case FORMAT_TEXT:
    return "text";
  case FORMAT_JSON:
    return "JSON";
  case FORMAT_UNKNOWN:
    break;
  }
  return "unrecognised binary data";
}

char *format_excerpt(const uint8_t *data, size_t len, size_t max) {
  size_t cap = max * 4 + 4, o = 0;
  char *out = xmalloc(cap);

  for (size_t i = 0; i < len && i < max; i++) {
    uint8_t c = data[i];
    if (c == '\n' || c == '\r' || c == '\t') {
      out[o++] = ' ';
    } else if (c >= 0x20 && c < 0x7f) {
      out[o++] = (char)c;
    } else {
      static const char hex[] = "0123456789abcdef";
      out[o++] = '\\';
      out[o++] = 'x';
      out[o++] = hex[c >> 4];
      out[o++] = hex[c & 15];
    }
  }
  if (len > max) {
    out[o++] = '.';
    out[o++] = '.';
    out[o++] = '.';
  }
  out[o] = '\0';
  /* Trim trailing spaces left by a final newline. */
  while (o > 0 && out[o - 1] == ' ')
    out[--o] = '\0';
  return out;
}
