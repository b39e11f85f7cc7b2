#include "config.h"

#include "pprof_pbcheck.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A wire-level walk of profile.proto, used only to explain why the real
 * decoder rejected a message: it finds the first structural problem (a
 * truncated or overlong varint, a length past the end, a wire type the
 * schema does not allow) and names the field path and byte offset. */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

struct pb_field {
  uint32_t number;
  const char *name;
  int wire; /* expected wire type; WT_LEN with sub for messages */
  const struct pb_msg *sub;
  bool repeated;
};

struct pb_msg {
  const char *name;
  const struct pb_field *fields;
  size_t n_fields;
};

static const struct pb_field value_type_fields[] = {
    {1, "type", WT_VARINT, NULL, false},
    {2, "unit", WT_VARINT, NULL, false},
};
static const struct pb_msg value_type_msg = {"ValueType", value_type_fields,
                                             ARRAY_SIZE(value_type_fields)};

static const struct pb_field label_fields[] = {
    {1, "key", WT_VARINT, NULL, false},
    {2, "str", WT_VARINT, NULL, false},
    {3, "num", WT_VARINT, NULL, false},
    {4, "num_unit", WT_VARINT, NULL, false},
};
static const struct pb_msg label_msg = {"Label", label_fields, ARRAY_SIZE(label_fields)};

static const struct pb_field sample_fields[] = {
    {1, "location_id", WT_VARINT, NULL, true},
    {2, "value", WT_VARINT, NULL, true},
    {3, "label", WT_LEN, &label_msg, true},
};
static const struct pb_msg sample_msg = {"Sample", sample_fields, ARRAY_SIZE(sample_fields)};

static const struct pb_field mapping_fields[] = {
    {1, "id", WT_VARINT, NULL, false},
    {2, "memory_start", WT_VARINT, NULL, false},
    {3, "memory_limit", WT_VARINT, NULL, false},
    {4, "file_offset", WT_VARINT, NULL, false},
    {5, "filename", WT_VARINT, NULL, false},
    {6, "build_id", WT_VARINT, NULL, false},
    {7, "has_functions", WT_VARINT, NULL, false},
    {8, "has_filenames", WT_VARINT, NULL, false},
    {9, "has_line_numbers", WT_VARINT, NULL, false},
    {10, "has_inline_frames", WT_VARINT, NULL, false},
};
static const struct pb_msg mapping_msg = {"Mapping", mapping_fields, ARRAY_SIZE(mapping_fields)};

static const struct pb_field line_fields[] = {
    {1, "function_id", WT_VARINT, NULL, false},
    {2, "line", WT_VARINT, NULL, false},
    {3, "column", WT_VARINT, NULL, false},
};
static const struct pb_msg line_msg = {"Line", line_fields, ARRAY_SIZE(line_fields)};

static const struct pb_field location_fields[] = {
    {1, "id", WT_VARINT, NULL, false},        {2, "mapping_id", WT_VARINT, NULL, false},
    {3, "address", WT_VARINT, NULL, false},   {4, "line", WT_LEN, &line_msg, true},
    {5, "is_folded", WT_VARINT, NULL, false},
};
static const struct pb_msg location_msg = {"Location", location_fields,
                                           ARRAY_SIZE(location_fields)};

static const struct pb_field function_fields[] = {
    {1, "id", WT_VARINT, NULL, false},          {2, "name", WT_VARINT, NULL, false},
    {3, "system_name", WT_VARINT, NULL, false}, {4, "filename", WT_VARINT, NULL, false},
    {5, "start_line", WT_VARINT, NULL, false},
};
static const struct pb_msg function_msg = {"Function", function_fields,
                                           ARRAY_SIZE(function_fields)};

static const struct pb_field profile_fields[] = {
    {1, "sample_type", WT_LEN, &value_type_msg, true},
    {2, "sample", WT_LEN, &sample_msg, true},
    {3, "mapping", WT_LEN, &mapping_msg, true},
    {4, "location", WT_LEN, &location_msg, true},
    {5, "function", WT_LEN, &function_msg, true},
    {6, "string_table", WT_LEN, NULL, true},
    {7, "drop_frames", WT_VARINT, NULL, false},
    {8, "keep_frames", WT_VARINT, NULL, false},
    {9, "time_nanos", WT_VARINT, NULL, false},
    {10, "duration_nanos", WT_VARINT, NULL, false},
    {11, "period_type", WT_LEN, &value_type_msg, false},
    {12, "period", WT_VARINT, NULL, false},
    {13, "comment", WT_VARINT, NULL, true},
    {14, "default_sample_type", WT_VARINT, NULL, false},
};
static const struct pb_msg profile_msg = {"Profile", profile_fields, ARRAY_SIZE(profile_fields)};

/* Reads a varint; returns bytes consumed, 0 when truncated, -1 when longer
 * than 10 bytes. */
static int read_varint(const uint8_t *p, size_t len, uint64_t *ret) {
  uint64_t v = 0;
  for (size_t i = 0; i < 10; i++) {
    if (i >= len)
      return 0;
    v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    if (!(p[i] & 0x80)) {
      *ret = v;
      return (int)i + 1;
    }
  }
  return -1;
}

struct walker {
  const uint8_t *base;
  char path[512];
  char *err;
};

static int fail(struct walker *w, size_t off, const char *what) {
  w->err = xasprintf("malformed protobuf at byte %zu in %s: %s", off, w->path, what);
  return -EBADMSG;
}

static int varint_at(struct walker *w, const uint8_t *p, size_t len, uint64_t *ret,
                     const char *what) {
  int n = read_varint(p, len, ret);
  if (n == 0) {
    char *m = xasprintf("truncated varint (%s)", what);
    int r = fail(w, (size_t)(p - w->base), m);
    free(m);
    return r;
  }
  if (n < 0) {
    char *m = xasprintf("varint longer than 10 bytes (%s)", what);
    int r = fail(w, (size_t)(p - w->base), m);
    free(m);
    return r;
  }
  return n;
}

static int walk(struct walker *w, const uint8_t *p, size_t len, const struct pb_msg *m, int depth);

static int walk_field(struct walker *w, const uint8_t *p, size_t len, const struct pb_field *f,
                      int depth) {
  /* A packed repeated scalar: a run of complete varints. */
  if (!f->sub && f->wire == WT_VARINT) {
    size_t off = 0;
    while (off < len) {
      uint64_t v;
      int n = varint_at(w, p + off, len - off, &v, "packed value");
      if (n < 0)
        return n;
      off += (size_t)n;
    }
    return 0;
  }
  if (f->sub)
    return walk(w, p, len, f->sub, depth + 1);
  return 0;
}

static int walk(struct walker *w, const uint8_t *p, size_t len, const struct pb_msg *m, int depth) {
  size_t off = 0, path_len = strlen(w->path);
  size_t counts[16] = {0};

  if (depth > 8)
    return fail(w, (size_t)(p - w->base), "nesting too deep");
  while (off < len) {
    uint64_t tag, v;
    const struct pb_field *f = NULL;
    uint32_t number;
    int wt, n, r;

    n = varint_at(w, p + off, len - off, &tag, "field tag");
    if (n < 0)
      return n;
    if (n > 5)
      return fail(w, (size_t)(p + off - w->base), "field tag longer than 5 bytes");
    number = tag >> 3 > UINT32_MAX ? UINT32_MAX : (uint32_t)(tag >> 3);
    wt = (int)(tag & 7);
    if (number == 0)
      return fail(w, (size_t)(p + off - w->base), "field number 0");
    for (size_t i = 0; i < m->n_fields; i++)
      if (m->fields[i].number == number)
        f = &m->fields[i];
    if (f) {
      size_t k = f - m->fields;
      snprintf(w->path + path_len, sizeof(w->path) - path_len, f->repeated ? ".%s[%zu]" : ".%s",
               f->name, counts[k < 16 ? k : 15]);
      if (k < 16)
        counts[k]++;
    } else {
      snprintf(w->path + path_len, sizeof(w->path) - path_len, ".<field %" PRIu32 ">", number);
    }
    off += (size_t)n;
    if (f && wt != f->wire && !(f->repeated && !f->sub && f->wire == WT_VARINT && wt == WT_LEN)) {
      char *msg = xasprintf("wire type %d where the schema has %d", wt, f->wire);
      r = fail(w, (size_t)(p + off - w->base), msg);
      free(msg);
      return r;
    }
    switch (wt) {
    case WT_VARINT:
      n = varint_at(w, p + off, len - off, &v, "value");
      if (n < 0)
        return n;
      off += (size_t)n;
      break;
    case WT_I64:
    case WT_I32:
      if (len - off < (wt == WT_I64 ? 8u : 4u))
        return fail(w, (size_t)(p + off - w->base), "truncated fixed-size value");
      off += wt == WT_I64 ? 8 : 4;
      break;
    case WT_LEN:
      n = varint_at(w, p + off, len - off, &v, "length");
      if (n < 0)
        return n;
      if (n > 5)
        return fail(w, (size_t)(p + off - w->base), "length longer than 5 bytes");
      v &= UINT32_MAX; /* as protobuf-c reads it */
      off += (size_t)n;
      if (v > len - off) {
        char *msg = xasprintf("length %" PRIu64 " runs past the end of the enclosing message "
                              "(%zu bytes left)",
                              v, len - off);
        r = fail(w, (size_t)(p + off - w->base), msg);
        free(msg);
        return r;
      }
      if (f) {
        r = walk_field(w, p + off, (size_t)v, f, depth);
        if (r < 0)
          return r;
      }
      off += (size_t)v;
      break;
    default: {
      char *msg = xasprintf("unsupported wire type %d", wt);
      r = fail(w, (size_t)(p + off - w->base), msg);
      free(msg);
      return r;
    }
    }
    w->path[path_len] = '\0';
  }
  return 0;
}

int pprof_pbcheck(const uint8_t *data, size_t len, char **ret_err) {
  struct walker w = {.base = data};
  int r;

  snprintf(w.path, sizeof(w.path), "%s", profile_msg.name);
  r = walk(&w, data, len, &profile_msg, 0);
  if (r < 0) {
    *ret_err = w.err;
    return r;
  }
  return 0;
}
