#include "config.h"

#include "pprof.h"
#include "pprof_keymap.h"
#include "pprof_pbcheck.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* profile.proto read straight from the wire into the model.
 *
 * The schema is small and flat (varints, length-delimited messages and
 * bytes), and the model wants ids turned into indexes and strings
 * resolved, so the message is read in a few passes over the top-level
 * fields instead of being unpacked into a generic message tree first:
 * a first pass checks the wire format and counts every array, so each
 * is allocated once at its size; the following passes fill them in the
 * order the checks need (strings, then mappings and functions, then
 * locations, which refer to both, then samples, which refer to
 * locations: Go writes samples first). A large CPU profile decodes in
 * about a sixth of the instructions protobuf-c's unpack and a copy into
 * the model took, and without the tree (7-10 bytes per input byte).
 * protobuf-c still writes profiles (pprof_build.c) and checks this
 * decoder in the tests (check_pprof_wire).
 *
 * The wire rules are those of pprof_pbcheck.c, which explains any wire
 * error with its byte offset and field path: a varint of at most 10
 * bytes, no field number 0, no group or unknown wire types, lengths
 * within the enclosing message, and the schema's wire type for every
 * known field (repeated varints packed or not). Unknown fields are
 * skipped. A message field given twice is merged, scalars last-wins. */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

struct decoded {
  char *string_next; /* where build_strings() copies the next string */
  void *blocks[16];
  size_t n_blocks;
  uint8_t *inflated; /* when the input was gzip'd */
};

/* ---- wire reading ---- */

struct rd {
  const uint8_t *p, *end;
};

static inline bool rd_varint(struct rd *r, uint64_t *ret) {
  const uint8_t *p = r->p;
  uint64_t v = 0;

  if (p < r->end && *p < 0x80) {
    *ret = *p;
    r->p = p + 1;
    return true;
  }
  if (r->end - p >= 2 && p[1] < 0x80) { /* ids up to 16383 */
    *ret = (uint64_t)(p[0] & 0x7f) | (uint64_t)p[1] << 7;
    r->p = p + 2;
    return true;
  }
  for (unsigned shift = 0; shift < 70 && p < r->end; shift += 7) {
    uint8_t b = *p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *ret = v;
      r->p = p;
      return true;
    }
  }
  return false;
}

/* A bool as protobuf-c reads one: true when any payload bit is set, also
 * those past the 64th (bits 1-6 of a tenth byte). */
static bool rd_bool(struct rd *r, bool *ret) {
  const uint8_t *start = r->p;
  uint64_t v;

  if (!rd_varint(r, &v))
    return false;
  *ret = v != 0 || (r->p - start == 10 && (start[9] & 0x7e));
  return true;
}

/* A tag or a length: a varint of at most 5 bytes (protobuf-c's limit; a
 * tag is 32 bits), a length's value kept to 32 bits as protobuf-c does. */
static bool rd_varint5(struct rd *r, uint64_t *ret) {
  const uint8_t *start = r->p;
  if (!rd_varint(r, ret))
    return false;
  if (r->p - start > 5) {
    r->p = start;
    return false;
  }
  return true;
}

static bool rd_field_slow(struct rd *r, uint32_t *number, int *wt, struct rd *sub) {
  uint64_t tag, n;

  if (!rd_varint5(r, &tag) || tag >> 3 == 0)
    return false;
  *number = (uint32_t)(tag >> 3);
  *wt = (int)(tag & 7);
  switch (*wt) {
  case WT_VARINT:
    return true;
  case WT_I64:
  case WT_I32:
    n = *wt == WT_I64 ? 8 : 4;
    if ((uint64_t)(r->end - r->p) < n)
      return false;
    r->p += n;
    return true;
  case WT_LEN:
    if (!rd_varint5(r, &n) || (n &= UINT32_MAX) > (uint64_t)(r->end - r->p))
      return false;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return true;
  default:
    return false;
  }
}

/* The next field: its number, wire type and, for WT_LEN, its payload in
 * *sub. Fixed-size values are skipped here, varints are left to read.
 * Inline for the common case of a one-byte tag and length. */
static inline bool rd_field(struct rd *r, uint32_t *number, int *wt, struct rd *sub) {
  const uint8_t *p = r->p;

  if (r->end - p >= 2 && p[0] < 0x80 && p[0] >= 8) {
    *number = p[0] >> 3;
    *wt = p[0] & 7;
    if (*wt == WT_VARINT) {
      r->p = p + 1;
      return true;
    }
    if (*wt == WT_LEN && p[1] < 0x80 && p[1] <= r->end - p - 2) {
      sub->p = p + 2;
      sub->end = p + 2 + p[1];
      r->p = sub->end;
      return true;
    }
  }
  return rd_field_slow(r, number, wt, sub);
}

/* Skips a varint field's value. */
static inline bool rd_skip_varint(struct rd *r) {
  uint64_t v;
  return rd_varint(r, &v);
}

/* A repeated varint field, packed (WT_LEN, payload in sub) or one value
 * (WT_VARINT, read from r): runs body with each value in v; ok turns false
 * on a wire error. */
#define FOR_EACH_VARINT(r, wt, sub, v, ok, body)                                                    \
  do {                                                                                              \
    if ((wt) == WT_VARINT) {                                                                        \
      if (!((ok) = rd_varint((r), &(v))))                                                           \
        break;                                                                                      \
      body;                                                                                         \
    } else {                                                                                        \
      while ((sub)->p < (sub)->end) {                                                               \
        if (!((ok) = rd_varint((sub), &(v))))                                                       \
          break;                                                                                    \
        body;                                                                                       \
      }                                                                                             \
    }                                                                                               \
  } while (0)

/* The number of varints in a packed payload (bytes without the
 * continuation bit, summed eight at a time); false when the last one is cut.
 * An overlong varint is counted here and rejected when it is read. */
static bool packed_count(const struct rd *sub, size_t *n) {
  const uint8_t *p = sub->p;
  size_t len = (size_t)(sub->end - p), c = 0, i = 0;

  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    w = (~w & 0x8080808080808080ULL) >> 7; /* 1 in each byte that ends a varint */
    c += (size_t)((w * 0x0101010101010101ULL) >> 56);
  }
  for (; i < len; i++)
    c += !(p[i] & 0x80);
  if (len && (p[len - 1] & 0x80))
    return false;
  *n += c;
  return true;
}

/* Reads a message whose fields 1..n are varints (but for field `skip`, a
 * message read by the caller, whose first occurrence goes to *skip_at when
 * skip_at is given) into v, unknown fields skipped; bools (fields
 * bool_from..n) read the way protobuf-c reads them. False on a wire error,
 * a known field of another wire type included. */
static inline __attribute__((always_inline)) bool rd_varints(struct rd m, uint64_t *v, uint32_t n,
                                                             uint32_t bool_from, uint32_t skip,
                                                             const uint8_t **skip_at) {
  while (m.p < m.end) {
    const uint8_t *at = m.p;
    struct rd sub;
    uint32_t f;
    int wt;
    bool ok;
    if (!rd_field(&m, &f, &wt, &sub))
      return false;
    if (f == skip && skip_at && !*skip_at)
      *skip_at = at;
    if (f >= 1 && f <= n && f != skip && wt != WT_VARINT)
      return false;
    if (wt != WT_VARINT)
      continue;
    if (f >= bool_from && f <= n) {
      bool b = false;
      ok = rd_bool(&m, &b);
      v[f - 1] = b;
    } else if (f >= 1 && f <= n) {
      ok = rd_varint(&m, &v[f - 1]);
    } else {
      ok = rd_skip_varint(&m);
    }
    if (!ok)
      return false;
  }
  return true;
}

/* ---- errors and strings ---- */

struct ctx {
  struct decoded *d;
  struct pprof_profile *p;
  struct rd msg; /* the whole Profile */
  struct tables *tables;
  const struct counts *counts;
  char *err;
  bool wire; /* err is about the wire format */
};

static int bad(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct ctx *c, const char *fmt, ...) {
  va_list ap;
  char *msg;

  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  free(c->err);
  c->err = xasprintf("malformed profile: %s", msg ? msg : "(out of memory)");
  free(msg);
  return -EBADMSG;
}

static int wire_error(struct ctx *c) {
  c->wire = true;
  return -EBADMSG;
}

static void *block(struct ctx *c, size_t n, size_t size) {
  void *p;
  if (c->d->n_blocks == ARRAY_SIZE(c->d->blocks))
    abort(); /* our bug: more blocks than slots */
  if (size && n > SIZE_MAX / size)
    return NULL;
  p = calloc(n ? n : 1, size ? size : 1);
  if (p)
    c->d->blocks[c->d->n_blocks++] = p;
  return p;
}

static int str(struct ctx *c, int64_t idx, const char **ret, const char *what_fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int str(struct ctx *c, int64_t idx, const char **ret, const char *what_fmt, ...) {
  va_list ap;
  char *what;

  if (idx >= 0 && (uint64_t)idx < c->p->n_strings) {
    *ret = c->p->strings[idx];
    return 0;
  }
  va_start(ap, what_fmt);
  if (vasprintf(&what, what_fmt, ap) < 0)
    what = NULL;
  va_end(ap);
  bad(c, "%s: string index %" PRId64 " out of range (the string table has %zu entries)",
      what ? what : "?", idx, c->p->n_strings);
  free(what);
  return -EBADMSG;
}

/* ---- pass 1: the wire format, and the size of every array ----
 *
 * The records that are read field by field later (mappings, functions,
 * lines, labels) are only counted here; the reading checks their fields.
 * A wire error found late still comes first: pprof_decode() asks
 * pprof_pbcheck() about any failure. */

struct counts {
  size_t sample_types, samples, mappings, locations, functions, strings, string_bytes, comments;
  size_t lines, location_ids, values, labels;
  /* where the fields 1..6 of Profile start and end: Go writes each kind
   * in one run, so the later passes read only their run */
  const uint8_t *first[7], *last_end[7];
};

static bool count_sample(struct rd m, struct counts *n) {
  while (m.p < m.end) {
    struct rd sub;
    uint32_t f;
    int wt;
    if (!rd_field(&m, &f, &wt, &sub))
      return false;
    if (f == 1 || f == 2) {
      size_t *k = f == 1 ? &n->location_ids : &n->values;
      if (wt == WT_VARINT) {
        if (!rd_skip_varint(&m))
          return false;
        (*k)++;
      } else if (wt != WT_LEN || !packed_count(&sub, k)) {
        return false;
      }
    } else if (f == 3) {
      if (wt != WT_LEN) /* its fields are checked when it is read */
        return false;
      n->labels++;
    } else if (wt == WT_VARINT && !rd_skip_varint(&m)) {
      return false;
    }
  }
  return true;
}

static bool count_location(struct rd m, struct counts *n) {
  while (m.p < m.end) {
    struct rd sub;
    uint32_t f;
    int wt;
    if (!rd_field(&m, &f, &wt, &sub))
      return false;
    if (f == 4) {
      if (wt != WT_LEN) /* its fields are checked when it is read */
        return false;
      n->lines++;
    } else if (f >= 1 && f <= 5) {
      if (wt != WT_VARINT || !rd_skip_varint(&m))
        return false;
    } else if (wt == WT_VARINT && !rd_skip_varint(&m)) {
      return false;
    }
  }
  return true;
}

static bool count_all(struct rd m, struct counts *n) {
  while (m.p < m.end) {
    const uint8_t *at = m.p;
    struct rd sub;
    uint32_t f;
    int wt;
    uint64_t v[10];
    bool ok = true;

    if (!rd_field(&m, &f, &wt, &sub))
      return false;
    if (f < ARRAY_SIZE(n->first)) {
      if (!n->first[f])
        n->first[f] = at;
      n->last_end[f] = m.p; /* all of 1..6 are WT_LEN: nothing left to read */
    }
    switch (f) {
    case 1:
    case 11:
      ok = wt == WT_LEN && rd_varints(sub, v, 2, 3, 0, NULL);
      n->sample_types += f == 1;
      break;
    case 2:
      ok = wt == WT_LEN && count_sample(sub, n);
      n->samples++;
      break;
    case 3: /* mappings and functions: their fields are checked when read */
      ok = wt == WT_LEN;
      n->mappings++;
      break;
    case 4:
      ok = wt == WT_LEN && count_location(sub, n);
      n->locations++;
      break;
    case 5:
      ok = wt == WT_LEN;
      n->functions++;
      break;
    case 6:
      ok = wt == WT_LEN;
      n->strings++;
      n->string_bytes += ok ? (size_t)(sub.end - sub.p) + 1 : 0;
      break;
    case 13:
      if (wt == WT_VARINT) {
        ok = rd_skip_varint(&m);
        n->comments++;
      } else {
        ok = wt == WT_LEN && packed_count(&sub, &n->comments);
      }
      break;
    case 7:
    case 8:
    case 9:
    case 10:
    case 12:
    case 14:
      ok = wt == WT_VARINT && rd_skip_varint(&m);
      break;
    default:
      ok = wt != WT_VARINT || rd_skip_varint(&m);
    }
    if (!ok)
      return false;
  }
  return true;
}

/* ---- the following passes ---- */

/* Calls each(c, payload, index) for every top-level field `number` (all
 * are WT_LEN: pass 1 checked). */
static int for_each(struct ctx *c, uint32_t number,
                    int (*each)(struct ctx *c, struct rd m, size_t i)) {
  struct rd m = {c->counts->first[number], c->counts->last_end[number]};
  size_t i = 0;

  while (m.p < m.end) {
    struct rd sub;
    uint32_t f;
    int wt, r;
    if (!rd_field(&m, &f, &wt, &sub))
      return wire_error(c);
    if (wt == WT_VARINT && !rd_skip_varint(&m))
      return wire_error(c);
    if (f != number)
      continue;
    r = each(c, sub, i++);
    if (r < 0)
      return r;
  }
  return 0;
}

static int each_string(struct ctx *c, struct rd m, size_t i) {
  size_t len = (size_t)(m.end - m.p);
  char *s = c->d->string_next;

  if (len)
    memcpy(s, m.p, len);
  s[len] = '\0';
  c->p->strings[i] = s;
  c->d->string_next += len + 1;
  return 0;
}

static int build_strings(struct ctx *c, const struct counts *n) {
  char *arena;
  int r;

  if (n->strings == 0)
    return bad(c, "the string table is empty (entry 0 must be \"\")");
  c->p->strings = block(c, n->strings, sizeof(char *));
  arena = block(c, n->string_bytes, 1);
  if (!c->p->strings || !arena)
    return -ENOMEM;
  c->d->string_next = arena;
  r = for_each(c, 6, each_string);
  c->d->string_next = NULL; /* the arena is a block, freed with the others */
  if (r < 0)
    return r;
  c->p->n_strings = n->strings;
  if (*c->p->strings[0])
    return bad(c, "string table entry 0 must be \"\", not %zu bytes", strlen(c->p->strings[0]));
  return 0;
}

/* The scalar fields of Profile and its value types, as found. */
struct header {
  uint64_t (*sample_types)[2];
  size_t n_sample_types;
  uint64_t period_type[2];
  bool has_period_type;
  int64_t *comments;
  size_t n_comments;
  int64_t drop_frames, keep_frames, time_nanos, duration_nanos, period, default_sample_type;
};

static int read_header(struct ctx *c, struct header *h) {
  struct rd m = c->msg;

  while (m.p < m.end) {
    struct rd sub;
    uint32_t f;
    int wt;
    uint64_t v = 0;
    bool ok = true;

    if (!rd_field(&m, &f, &wt, &sub))
      return wire_error(c);
    if (wt == WT_VARINT && !rd_varint(&m, &v))
      return wire_error(c);
    switch (f) {
    case 1: /* a ValueType; given twice, the second merges into the first */
      ok = rd_varints(sub, h->sample_types[h->n_sample_types++], 2, 3, 0, NULL);
      break;
    case 11:
      h->has_period_type = true;
      ok = rd_varints(sub, h->period_type, 2, 3, 0, NULL);
      break;
    case 13:
      if (wt == WT_VARINT)
        h->comments[h->n_comments++] = (int64_t)v;
      else
        while (sub.p < sub.end && (ok = rd_varint(&sub, &v)))
          h->comments[h->n_comments++] = (int64_t)v;
      break;
    case 7:
      h->drop_frames = (int64_t)v;
      break;
    case 8:
      h->keep_frames = (int64_t)v;
      break;
    case 9:
      h->time_nanos = (int64_t)v;
      break;
    case 10:
      h->duration_nanos = (int64_t)v;
      break;
    case 12:
      h->period = (int64_t)v;
      break;
    case 14:
      h->default_sample_type = (int64_t)v;
      break;
    }
    if (!ok)
      return wire_error(c);
  }
  return 0;
}

static int value_type(struct ctx *c, const uint64_t *vt, struct pprof_value_type *ret,
                      const char *what, size_t i) {
  if (!vt) {
    ret->type = ret->unit = c->p->strings[0];
    return 0;
  }
  if (str(c, (int64_t)vt[0], &ret->type, "%s %zu type", what, i) < 0 ||
      str(c, (int64_t)vt[1], &ret->unit, "%s %zu unit", what, i) < 0)
    return -EBADMSG;
  return 0;
}

static int build_header(struct ctx *c, const struct counts *n) {
  struct pprof_profile *p = c->p;
  struct header h = {0};
  int r;

  h.sample_types = calloc(n->sample_types + 1, sizeof(*h.sample_types));
  h.comments = calloc(n->comments + 1, sizeof(*h.comments));
  p->sample_types = block(c, n->sample_types, sizeof(*p->sample_types));
  p->comments = block(c, n->comments, sizeof(char *));
  r = !h.sample_types || !h.comments || !p->sample_types || !p->comments ? -ENOMEM
                                                                          : read_header(c, &h);
  if (r < 0)
    goto done;
  r = -EBADMSG;
  p->n_sample_types = h.n_sample_types;
  for (size_t i = 0; i < h.n_sample_types; i++)
    if (value_type(c, h.sample_types[i], &p->sample_types[i], "sample type", i) < 0)
      goto done;
  if (value_type(c, h.has_period_type ? h.period_type : NULL, &p->period_type, "period type", 0) <
      0)
    goto done;
  p->n_comments = h.n_comments;
  for (size_t i = 0; i < h.n_comments; i++)
    if (str(c, h.comments[i], &p->comments[i], "comment %zu", i) < 0)
      goto done;
  if (str(c, h.drop_frames, &p->drop_frames, "drop_frames") < 0 ||
      str(c, h.keep_frames, &p->keep_frames, "keep_frames") < 0 ||
      str(c, h.default_sample_type, &p->default_sample_type, "default_sample_type") < 0)
    goto done;
  p->time_nanos = h.time_nanos;
  p->duration_nanos = h.duration_nanos;
  p->period = h.period;
  if (n->sample_types == 0 && n->samples > 0) {
    bad(c, "%zu samples but no sample types", n->samples);
    goto done;
  }
  if (n->samples >= UINT32_MAX || n->locations >= UINT32_MAX || n->functions >= UINT32_MAX ||
      n->mappings >= UINT32_MAX) {
    bad(c, "absurd number of samples, locations, functions or mappings");
    goto done;
  }
  r = 0;
done:
  free(h.sample_types);
  free(h.comments);
  return r;
}

/* Ids map to array positions: directly when they are dense (Go writes
 * 1..n), through a hash map otherwise. */
struct idindex {
  uint32_t *dense; /* id -> position + 1, for id <= n */
  size_t n;
  struct keymap sparse;
  uint32_t *sparse_pos;
};

static int idindex_add(struct idindex *x, uint64_t id, uint32_t pos) {
  bool is_new;
  uint32_t k;
  if (id <= x->n) {
    if (x->dense[id])
      return -EEXIST;
    x->dense[id] = pos + 1;
    return 0;
  }
  k = keymap_intern(&x->sparse, &id, sizeof(id), &is_new);
  if (!is_new)
    return -EEXIST;
  x->sparse_pos = xreallocarray(x->sparse_pos, k + 1, sizeof(uint32_t));
  x->sparse_pos[k] = pos;
  return 0;
}

static inline uint32_t idindex_find(const struct idindex *x, uint64_t id) {
  int64_t k;
  if (id <= x->n)
    return x->dense[id] ? x->dense[id] - 1 : PPROF_NONE;
  k = keymap_find(&x->sparse, &id, sizeof(id));
  return k < 0 ? PPROF_NONE : x->sparse_pos[k];
}

static void idindex_init(struct idindex *x, size_t n) {
  x->n = n;
  x->dense = xcalloc(n + 1, sizeof(uint32_t));
  keymap_init(&x->sparse);
  x->sparse_pos = NULL;
}

static void idindex_done(struct idindex *x) {
  free(x->dense);
  keymap_done(&x->sparse);
  free(x->sparse_pos);
}

/* What the passes after the header share. */
struct tables {
  struct idindex mappings, functions, locations;
  struct pprof_line *lines;   /* next free line */
  uint32_t *locs;             /* next free location index of samples */
  int64_t *values;            /* next free sample value */
  struct pprof_label *labels; /* next free label */
};

static inline __attribute__((always_inline)) int read_varints(struct ctx *c, struct rd m,
                                                             uint64_t *v, uint32_t n,
                                                             uint32_t bool_from, uint32_t skip) {
  return rd_varints(m, v, n, bool_from, skip, NULL) ? 0 : wire_error(c);
}

static int each_mapping(struct ctx *c, struct rd m, size_t i) {
  struct tables *t = c->tables;
  struct pprof_mapping *pm = &c->p->mappings[i];
  uint64_t v[10] = {0};

  if (read_varints(c, m, v, 10, 7, 0) < 0)
    return -EBADMSG;
  if (v[0] == 0)
    return bad(c, "mapping %zu has the reserved id 0", i);
  if (idindex_add(&t->mappings, v[0], (uint32_t)i) < 0)
    return bad(c, "two mappings have id %" PRIu64, v[0]);
  pm->id = v[0];
  pm->memory_start = v[1];
  pm->memory_limit = v[2];
  pm->file_offset = v[3];
  if (str(c, (int64_t)v[4], &pm->file, "mapping id %" PRIu64 " filename", pm->id) < 0 ||
      str(c, (int64_t)v[5], &pm->build_id, "mapping id %" PRIu64 " build_id", pm->id) < 0)
    return -EBADMSG;
  pm->has_functions = v[6];
  pm->has_filenames = v[7];
  pm->has_line_numbers = v[8];
  pm->has_inline_frames = v[9];
  return 0;
}

static int each_function(struct ctx *c, struct rd m, size_t i) {
  struct tables *t = c->tables;
  struct pprof_function *pf = &c->p->functions[i];
  uint64_t v[5] = {0};

  if (read_varints(c, m, v, 5, 6, 0) < 0)
    return -EBADMSG;
  if (v[0] == 0)
    return bad(c, "function %zu has the reserved id 0", i);
  if (idindex_add(&t->functions, v[0], (uint32_t)i) < 0)
    return bad(c, "two functions have id %" PRIu64, v[0]);
  pf->id = v[0];
  if (str(c, (int64_t)v[1], &pf->name, "function id %" PRIu64 " name", pf->id) < 0 ||
      str(c, (int64_t)v[2], &pf->system_name, "function id %" PRIu64 " system_name", pf->id) <
          0 ||
      str(c, (int64_t)v[3], &pf->filename, "function id %" PRIu64 " filename", pf->id) < 0)
    return -EBADMSG;
  pf->start_line = (int64_t)v[4];
  return 0;
}

static int each_location(struct ctx *c, struct rd m, size_t i) {
  struct tables *t = c->tables;
  struct pprof_location *pl = &c->p->locations[i];
  uint64_t v[5] = {0};
  size_t n_lines = 0;
  const uint8_t *lines_from = NULL;

  /* its own fields first, then its lines (field 4, read from where the
   * first is): a location's id is checked before what its lines refer to */
  if (!rd_varints(m, v, 5, 5, 4, &lines_from))
    return wire_error(c);
  if (v[0] == 0)
    return bad(c, "location %zu has the reserved id 0", i);
  if (idindex_add(&t->locations, v[0], (uint32_t)i) < 0)
    return bad(c, "two locations have id %" PRIu64, v[0]);
  pl->id = v[0];
  pl->address = v[2];
  pl->is_folded = v[4];
  pl->mapping = PPROF_NONE;
  if (v[1]) {
    pl->mapping = idindex_find(&t->mappings, v[1]);
    if (pl->mapping == PPROF_NONE)
      return bad(c,
                 "location id %" PRIu64 " refers to mapping id %" PRIu64 ", which does not exist",
                 pl->id, v[1]);
  }
  pl->lines = t->lines;
  m.p = lines_from ? lines_from : m.end;
  while (m.p < m.end) {
    struct pprof_line *line = &t->lines[n_lines];
    uint64_t lv[3] = {0};
    struct rd sub;
    uint32_t f;
    int wt;
    if (!rd_field(&m, &f, &wt, &sub) || (wt == WT_VARINT && !rd_skip_varint(&m)))
      return wire_error(c);
    if (f != 4 || wt != WT_LEN)
      continue;
    if (read_varints(c, sub, lv, 3, 4, 0) < 0)
      return -EBADMSG;
    if (lv[0] == 0)
      return bad(c, "location id %" PRIu64 " line %zu has no function (function_id 0)", pl->id,
                 n_lines);
    line->function = idindex_find(&t->functions, lv[0]);
    if (line->function == PPROF_NONE)
      return bad(c,
                 "location id %" PRIu64 " line %zu refers to function id %" PRIu64
                 ", which does not exist",
                 pl->id, n_lines, lv[0]);
    line->line = (int64_t)lv[1];
    line->column = (int64_t)lv[2];
    n_lines++;
  }
  pl->n_lines = (uint32_t)n_lines;
  t->lines += n_lines;
  return 0;
}

/* A sample's values; all samples are checked for the number of values
 * before any refers to a location. */
static int each_sample_values(struct ctx *c, struct rd m, size_t i) {
  struct tables *t = c->tables;
  struct pprof_profile *p = c->p;
  int64_t *values = t->values;
  size_t n = 0;

  while (m.p < m.end) {
    struct rd sub;
    uint32_t f;
    int wt;
    uint64_t v;
    bool ok = true;
    if (!rd_field(&m, &f, &wt, &sub))
      return wire_error(c);
    if (f == 2)
      FOR_EACH_VARINT(&m, wt, &sub, v, ok, values[n++] = (int64_t)v);
    else if (wt == WT_VARINT)
      ok = rd_skip_varint(&m);
    if (!ok)
      return wire_error(c);
  }
  if (n != p->n_sample_types)
    return bad(c, "sample %zu has %zu values, but there are %zu sample types", i, n,
               p->n_sample_types);
  p->samples[i].values = values;
  t->values += n;
  return 0;
}

static int no_location(struct ctx *c, size_t sample, uint64_t id) {
  return bad(c, "sample %zu refers to location id %" PRIu64 ", which does not exist", sample, id);
}

/* A sample's locations (packed, as Go writes them, in a loop of their own:
 * every frame of every sample goes through it), then its labels. */
static int each_sample_refs(struct ctx *c, struct rd m, size_t i) {
  struct tables *t = c->tables;
  struct pprof_profile *p = c->p;
  struct pprof_sample *ps = &p->samples[i];
  uint32_t *locs = t->locs;
  struct pprof_label *labels = t->labels;
  size_t n_locs = 0, n_labels = 0, j = 0;
  struct rd first_label = {NULL, NULL};

  for (struct rd r = m; r.p < r.end;) {
    const uint8_t *at = r.p;
    struct rd sub;
    uint32_t f;
    int wt;
    uint64_t v;
    bool ok = true;
    if (!rd_field(&r, &f, &wt, &sub))
      return wire_error(c);
    if (f == 1 && wt == WT_LEN) {
      /* the hot loop of the decoder (every frame of every sample): ids of
       * one or two bytes looked up in the dense index inline */
      const uint32_t *dense = t->locations.dense;
      uint64_t dense_n = t->locations.n;
      const uint8_t *q = sub.p, *e = sub.end;
      while (q < e) {
        uint32_t loc;
        if (q[0] < 0x80) {
          v = *q++;
        } else if (e - q >= 2 && q[1] < 0x80) {
          v = (uint64_t)(q[0] & 0x7f) | (uint64_t)q[1] << 7;
          q += 2;
        } else {
          struct rd slow = {q, e};
          if (!rd_varint(&slow, &v))
            return wire_error(c);
          q = slow.p;
        }
        loc = v <= dense_n ? dense[v] - 1 : idindex_find(&t->locations, v);
        if (loc == PPROF_NONE)
          return no_location(c, i, v);
        locs[n_locs++] = loc;
      }
    } else if (f == 1) {
      FOR_EACH_VARINT(&r, wt, &sub, v, ok, {
        uint32_t loc = idindex_find(&t->locations, v);
        if (loc == PPROF_NONE)
          return no_location(c, i, v);
        locs[n_locs++] = loc;
      });
    } else if (f == 3 && !first_label.p) {
      first_label.p = at;
      first_label.end = m.end;
    } else if (wt == WT_VARINT) {
      ok = rd_skip_varint(&r);
    }
    if (!ok)
      return wire_error(c);
  }
  for (struct rd r = first_label; r.p < r.end; j++) {
    struct pprof_label *l = &labels[n_labels];
    uint64_t lv[4] = {0};
    struct rd sub;
    uint32_t f;
    int wt;
    if (!rd_field(&r, &f, &wt, &sub) || (wt == WT_VARINT && !rd_skip_varint(&r)))
      return wire_error(c);
    if (f != 3 || wt != WT_LEN) {
      j--;
      continue;
    }
    if (read_varints(c, sub, lv, 4, 5, 0) < 0)
      return -EBADMSG;
    memset(l, 0, sizeof(*l));
    if (str(c, (int64_t)lv[0], &l->key, "sample %zu label %zu key", i, j) < 0)
      return -EBADMSG;
    if (lv[1] != 0) {
      if (str(c, (int64_t)lv[1], &l->str, "sample %zu label %zu value", i, j) < 0)
        return -EBADMSG;
      l->num_unit = p->strings[0];
    } else if (lv[2] != 0 || lv[3] != 0) {
      l->num = (int64_t)lv[2];
      if (str(c, (int64_t)lv[3], &l->num_unit, "sample %zu label %zu unit", i, j) < 0)
        return -EBADMSG;
    } else {
      continue; /* neither a string nor a number: pprof ignores it */
    }
    n_labels++;
  }
  ps->n_locations = (uint32_t)n_locs;
  ps->locations = locs;
  t->locs += n_locs;
  ps->n_labels = (uint32_t)n_labels;
  ps->labels = labels;
  t->labels += n_labels;
  return 0;
}

/* The model takes at most ~34 bytes per input byte (a 2-byte mapping
 * becomes a 64-byte record and an id slot), real profiles 5-8: this
 * budget refuses a hostile message of empty records before anything is
 * allocated for it, and nothing real. */
#define MODEL_BUDGET_BASE ((size_t)16 << 20)
#define MODEL_BUDGET_PER_BYTE 40
#define MODEL_BUDGET_MAX ((size_t)1 << 30)

static size_t model_bytes(const struct counts *n) {
  return n->strings * sizeof(char *) + n->string_bytes +
         n->sample_types * (sizeof(struct pprof_value_type) + 2 * sizeof(int64_t)) +
         n->comments * (sizeof(char *) + sizeof(int64_t)) +
         n->mappings * (sizeof(struct pprof_mapping) + sizeof(uint32_t)) +
         n->functions * (sizeof(struct pprof_function) + sizeof(uint32_t)) +
         n->locations * (sizeof(struct pprof_location) + sizeof(uint32_t)) +
         n->samples * sizeof(struct pprof_sample) + n->lines * sizeof(struct pprof_line) +
         n->location_ids * sizeof(uint32_t) + n->values * sizeof(int64_t) +
         n->labels * sizeof(struct pprof_label);
}

static int build(struct ctx *c, const struct counts *n) {
  struct pprof_profile *p = c->p;
  size_t len = (size_t)(c->msg.end - c->msg.p), budget;
  struct tables t;
  int r;

  budget = len > (MODEL_BUDGET_MAX - MODEL_BUDGET_BASE) / MODEL_BUDGET_PER_BYTE
               ? MODEL_BUDGET_MAX
               : MODEL_BUDGET_BASE + len * MODEL_BUDGET_PER_BYTE;
  if (model_bytes(n) > budget) {
    c->err = xasprintf("profile of %zu bytes needs more than %zu MiB to decode", len,
                       budget >> 20);
    return -EFBIG;
  }
  r = build_strings(c, n);
  if (r >= 0)
    r = build_header(c, n);
  if (r < 0)
    return r;
  p->mappings = block(c, n->mappings, sizeof(*p->mappings));
  p->functions = block(c, n->functions, sizeof(*p->functions));
  p->locations = block(c, n->locations, sizeof(*p->locations));
  p->samples = block(c, n->samples, sizeof(*p->samples));
  t.lines = block(c, n->lines, sizeof(*t.lines));
  t.locs = block(c, n->location_ids, sizeof(*t.locs));
  t.values = block(c, n->values, sizeof(*t.values));
  t.labels = block(c, n->labels, sizeof(*t.labels));
  if (!p->mappings || !p->functions || !p->locations || !p->samples || !t.lines || !t.locs ||
      !t.values || !t.labels)
    return -ENOMEM;
  p->n_mappings = n->mappings;
  p->n_functions = n->functions;
  p->n_locations = n->locations;
  p->n_samples = n->samples;
  idindex_init(&t.mappings, n->mappings);
  idindex_init(&t.functions, n->functions);
  idindex_init(&t.locations, n->locations);
  c->tables = &t;
  r = for_each(c, 3, each_mapping);
  if (r >= 0)
    r = for_each(c, 5, each_function);
  if (r >= 0)
    r = for_each(c, 4, each_location);
  if (r >= 0)
    r = for_each(c, 2, each_sample_values);
  if (r >= 0)
    r = for_each(c, 2, each_sample_refs);
  c->tables = NULL;
  idindex_done(&t.mappings);
  idindex_done(&t.functions);
  idindex_done(&t.locations);
  return r;
}

static void decoded_free(struct decoded *d) {
  if (!d)
    return;
  for (size_t i = 0; i < d->n_blocks; i++)
    free(d->blocks[i]);
  free(d->inflated);
  free(d);
}

int pprof_decode(const uint8_t *data, size_t len, size_t max_decompressed,
                 struct pprof_profile **ret, char **ret_err) {
  struct decoded *d = xcalloc(1, sizeof(*d));
  struct pprof_profile *p = xcalloc(1, sizeof(*p));
  struct ctx c = {.d = d, .p = p};
  struct counts n = {0};
  const uint8_t *pb = data;
  size_t pb_len = len;
  int r;

  p->priv = d;
  if (len >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
    struct buf out;
    buf_init(&out, max_decompressed);
    r = pprof_gunzip(data, len, &out, &c.err);
    if (r < 0) {
      buf_done(&out);
      goto fail;
    }
    d->inflated = buf_steal(&out, &pb_len);
    pb = d->inflated;
    p->gzipped = true;
  }
  if (pb_len == 0) {
    c.err = xstrdup(p->gzipped ? "empty profile (the gzip stream decompresses to 0 bytes)"
                               : "empty profile (0 bytes)");
    r = -EBADMSG;
    goto fail;
  }
  p->decoded_bytes = pb_len;
  c.msg.p = pb;
  c.msg.end = pb + pb_len;
  c.counts = &n;
  r = count_all(c.msg, &n) ? build(&c, &n) : wire_error(&c);
  if (r < 0) {
    /* A wire error anywhere comes first, as when the whole message was
     * unpacked before any check: pbcheck names it and where it is. */
    char *wire_err = NULL;
    if (r == -EFBIG) {
      /* over the budget: said as it is */
    } else if (pprof_pbcheck(pb, pb_len, &wire_err) < 0) {
      free(c.err);
      c.err = wire_err;
      r = -EBADMSG;
    } else if (c.wire) {
      free(c.err);
      c.err = xstrdup("malformed protobuf: not a valid profile.proto message");
      r = -EBADMSG;
    } else if (!c.err) {
      c.err = xstrdup("out of memory while decoding the profile");
    }
    goto fail;
  }
  free(d->inflated); /* the model holds its own copies */
  d->inflated = NULL;
  *ret = p;
  return 0;
fail:
  pprof_profile_free(p);
  *ret_err = c.err;
  return r;
}

struct pprof_profile *pprof_profile_free(struct pprof_profile *p) {
  if (!p)
    return NULL;
  decoded_free(p->priv);
  free(p);
  return NULL;
}

int pprof_default_sample_index(const struct pprof_profile *p) {
  if (p->n_sample_types == 0)
    return -1;
  if (p->default_sample_type && *p->default_sample_type)
    for (size_t i = 0; i < p->n_sample_types; i++)
      if (strcmp(p->sample_types[i].type, p->default_sample_type) == 0)
        return (int)i;
  return (int)p->n_sample_types - 1;
}

int pprof_find_sample_index(const struct pprof_profile *p, const char *name_or_index) {
  int64_t idx;

  const char *no_inuse = name_or_index;

  if (parse_int64(name_or_index, &idx) == 0)
    return idx >= 0 && (uint64_t)idx < p->n_sample_types ? (int)idx : -1;
  /* Like pprof, accept the legacy "inuse_space" for a type named "space". */
  if (str_has_prefix(no_inuse, "inuse_"))
    no_inuse += strlen("inuse_");
  for (size_t i = 0; i < p->n_sample_types; i++)
    if (strcmp(p->sample_types[i].type, name_or_index) == 0 ||
        strcmp(p->sample_types[i].type, no_inuse) == 0)
      return (int)i;
  return -1;
}
