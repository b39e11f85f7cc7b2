#include "config.h"

#include "pprof.h"
#include "pprof_keymap.h"
#include "pprof_pbcheck.h"
#include "profile.pb-c.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <zlib.h>

/* The protobuf decoder may allocate this much per input byte (a sample
 * message is ~72 bytes and can be encoded in 2), plus a constant; past it
 * decoding fails instead of exhausting memory. */
#define PB_BUDGET_PER_BYTE 64
#define PB_BUDGET_BASE (16u << 20)
/* ... and never more than this, whatever the input size. */
#define PB_BUDGET_MAX ((size_t)2 << 30)

struct decoded {
  Perftools__Profiles__Profile *msg;
  uint8_t *inflated; /* when the input was gzip'd */
  char *string_arena;
  void *blocks[16];
  size_t n_blocks;
  /* allocator state for protobuf-c: an arena freed all at once */
  size_t budget, used;
  size_t first_chunk; /* bytes for the first chunk, from the message size */
  bool over_budget;
  struct chunk *chunks;
};

struct chunk {
  struct chunk *next;
  size_t used, cap;
  max_align_t data[];
};

/* ---- gzip ---- */

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

/* ---- protobuf-c allocator with a budget ----
 *
 * The message is unpacked into an arena: one malloc per 1 MiB instead of
 * one per sample, location and line, and no walk over the tree to free it
 * (a third of the analysis of a large CPU profile went to malloc and
 * free). protobuf-c frees only on its error paths, so freeing nothing
 * until the end costs no memory. */

#define CHUNK_BYTES ((size_t)1 << 20)

static void *budget_alloc(void *ud, size_t size) {
  struct decoded *d = ud;
  struct chunk *c = d->chunks;
  size_t need = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  void *p;

  if (size > d->budget - d->used || d->budget - d->used - size < sizeof(size_t) || need < size) {
    d->over_budget = true;
    return NULL;
  }
  if (!c || c->cap - c->used < need) {
    size_t cap = need > CHUNK_BYTES / 4 ? need : CHUNK_BYTES;
    if (!c && d->first_chunk > need)
      cap = d->first_chunk;
    struct chunk *n = malloc(sizeof(*n) + cap);
    if (!n)
      return NULL;
    n->used = 0;
    n->cap = cap;
    if (c && cap != CHUNK_BYTES) {
      /* a big block gets its own chunk behind the current one */
      n->next = c->next;
      c->next = n;
      c = n;
    } else {
      n->next = c;
      d->chunks = c = n;
    }
  }
  p = (char *)c->data + c->used;
  c->used += need;
  d->used += need;
  return p;
}

static void budget_free(void *ud, void *ptr) {
  (void)ud;
  (void)ptr; /* the arena goes at once in decoded_free() */
}

/* ---- validation and model building ---- */

struct ctx {
  struct decoded *d;
  const Perftools__Profiles__Profile *m;
  struct pprof_profile *p;
  char *err;
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

static int build_strings(struct ctx *c) {
  size_t total = 0, n = c->m->n_string_table;
  char *arena;

  if (n == 0)
    return bad(c, "the string table is empty (entry 0 must be \"\")");
  if (c->m->string_table[0].len != 0)
    return bad(c, "string table entry 0 must be \"\", not %zu bytes", c->m->string_table[0].len);
  for (size_t i = 0; i < n; i++)
    total += c->m->string_table[i].len + 1;
  c->p->strings = block(c, n, sizeof(char *));
  arena = malloc(total);
  if (!c->p->strings || !arena) {
    free(arena);
    return -ENOMEM;
  }
  c->d->string_arena = arena;
  for (size_t i = 0; i < n; i++) {
    const ProtobufCBinaryData *s = &c->m->string_table[i];
    if (s->len)
      memcpy(arena, s->data, s->len);
    arena[s->len] = '\0';
    c->p->strings[i] = arena;
    arena += s->len + 1;
  }
  c->p->n_strings = n;
  return 0;
}

static int value_type(struct ctx *c, const Perftools__Profiles__ValueType *vt,
                      struct pprof_value_type *ret, const char *what, size_t i) {
  if (!vt) {
    ret->type = ret->unit = c->p->strings[0];
    return 0;
  }
  if (str(c, vt->type, &ret->type, "%s %zu type", what, i) < 0 ||
      str(c, vt->unit, &ret->unit, "%s %zu unit", what, i) < 0)
    return -EBADMSG;
  return 0;
}

/* Ids map to array positions: directly when they are dense (Go writes
 * 1..n), through a hash map otherwise. */
struct idindex {
  uint32_t *dense; /* id -> position + 1, for id <= n */
  size_t n;
  struct keymap sparse;
  uint32_t *sparse_pos;
  size_t n_sparse;
};

static int idindex_add(struct idindex *x, uint64_t id, uint32_t pos) {
  bool is_new;
  if (id <= x->n) {
    if (x->dense[id])
      return -EEXIST;
    x->dense[id] = pos + 1;
    return 0;
  }
  uint32_t k = keymap_intern(&x->sparse, &id, sizeof(id), &is_new);
  if (!is_new)
    return -EEXIST;
  x->sparse_pos = xreallocarray(x->sparse_pos, k + 1, sizeof(uint32_t));
  x->sparse_pos[k] = pos;
  return 0;
}

static uint32_t idindex_find(const struct idindex *x, uint64_t id) {
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

static int build_mappings(struct ctx *c, struct idindex *ids) {
  const Perftools__Profiles__Profile *m = c->m;
  struct pprof_profile *p = c->p;

  p->mappings = block(c, m->n_mapping, sizeof(*p->mappings));
  if (!p->mappings)
    return -ENOMEM;
  p->n_mappings = m->n_mapping;
  for (size_t i = 0; i < m->n_mapping; i++) {
    const Perftools__Profiles__Mapping *mm = m->mapping[i];
    struct pprof_mapping *pm = &p->mappings[i];
    if (mm->id == 0)
      return bad(c, "mapping %zu has the reserved id 0", i);
    if (idindex_add(ids, mm->id, (uint32_t)i) < 0)
      return bad(c, "two mappings have id %" PRIu64, mm->id);
    pm->id = mm->id;
    pm->memory_start = mm->memory_start;
    pm->memory_limit = mm->memory_limit;
    pm->file_offset = mm->file_offset;
    if (str(c, mm->filename, &pm->file, "mapping id %" PRIu64 " filename", mm->id) < 0 ||
        str(c, mm->build_id, &pm->build_id, "mapping id %" PRIu64 " build_id", mm->id) < 0)
      return -EBADMSG;
    pm->has_functions = mm->has_functions;
    pm->has_filenames = mm->has_filenames;
    pm->has_line_numbers = mm->has_line_numbers;
    pm->has_inline_frames = mm->has_inline_frames;
  }
  return 0;
}

static int build_functions(struct ctx *c, struct idindex *ids) {
  const Perftools__Profiles__Profile *m = c->m;
  struct pprof_profile *p = c->p;

  p->functions = block(c, m->n_function, sizeof(*p->functions));
  if (!p->functions)
    return -ENOMEM;
  p->n_functions = m->n_function;
  for (size_t i = 0; i < m->n_function; i++) {
    const Perftools__Profiles__Function *mf = m->function[i];
    struct pprof_function *pf = &p->functions[i];
    if (mf->id == 0)
      return bad(c, "function %zu has the reserved id 0", i);
    if (idindex_add(ids, mf->id, (uint32_t)i) < 0)
      return bad(c, "two functions have id %" PRIu64, mf->id);
    pf->id = mf->id;
    if (str(c, mf->name, &pf->name, "function id %" PRIu64 " name", mf->id) < 0 ||
        str(c, mf->system_name, &pf->system_name, "function id %" PRIu64 " system_name", mf->id) <
            0 ||
        str(c, mf->filename, &pf->filename, "function id %" PRIu64 " filename", mf->id) < 0)
      return -EBADMSG;
    pf->start_line = mf->start_line;
  }
  return 0;
}

static int build_locations(struct ctx *c, const struct idindex *mapping_ids,
                           const struct idindex *function_ids, struct idindex *ids) {
  const Perftools__Profiles__Profile *m = c->m;
  struct pprof_profile *p = c->p;
  struct pprof_line *lines;
  size_t n_lines = 0;

  for (size_t i = 0; i < m->n_location; i++) {
    n_lines += m->location[i]->n_line;
    if (m->location[i]->n_line >= UINT32_MAX)
      return bad(c, "location %zu has an absurd number of lines", i);
  }
  p->locations = block(c, m->n_location, sizeof(*p->locations));
  lines = block(c, n_lines, sizeof(*lines));
  if (!p->locations || !lines)
    return -ENOMEM;
  p->n_locations = m->n_location;
  for (size_t i = 0; i < m->n_location; i++) {
    const Perftools__Profiles__Location *ml = m->location[i];
    struct pprof_location *pl = &p->locations[i];
    if (ml->id == 0)
      return bad(c, "location %zu has the reserved id 0", i);
    if (idindex_add(ids, ml->id, (uint32_t)i) < 0)
      return bad(c, "two locations have id %" PRIu64, ml->id);
    pl->id = ml->id;
    pl->address = ml->address;
    pl->is_folded = ml->is_folded;
    pl->mapping = PPROF_NONE;
    if (ml->mapping_id) {
      pl->mapping = idindex_find(mapping_ids, ml->mapping_id);
      if (pl->mapping == PPROF_NONE)
        return bad(c,
                   "location id %" PRIu64 " refers to mapping id %" PRIu64 ", which does not exist",
                   ml->id, ml->mapping_id);
    }
    pl->n_lines = (uint32_t)ml->n_line;
    pl->lines = lines;
    for (size_t j = 0; j < ml->n_line; j++) {
      const Perftools__Profiles__Line *mline = ml->line[j];
      if (mline->function_id == 0)
        return bad(c, "location id %" PRIu64 " line %zu has no function (function_id 0)", ml->id,
                   j);
      lines[j].function = idindex_find(function_ids, mline->function_id);
      if (lines[j].function == PPROF_NONE)
        return bad(c,
                   "location id %" PRIu64 " line %zu refers to function id %" PRIu64
                   ", which does not exist",
                   ml->id, j, mline->function_id);
      lines[j].line = mline->line;
      lines[j].column = mline->column;
    }
    lines += ml->n_line;
  }
  return 0;
}

static int build_samples(struct ctx *c, const struct idindex *location_ids) {
  const Perftools__Profiles__Profile *m = c->m;
  struct pprof_profile *p = c->p;
  size_t n_locs = 0, n_labels = 0;
  uint32_t *locs;
  struct pprof_label *labels;

  for (size_t i = 0; i < m->n_sample; i++) {
    const Perftools__Profiles__Sample *ms = m->sample[i];
    if (ms->n_value != m->n_sample_type)
      return bad(c, "sample %zu has %zu values, but there are %zu sample types", i, ms->n_value,
                 m->n_sample_type);
    if (ms->n_location_id >= UINT32_MAX || ms->n_label >= UINT32_MAX)
      return bad(c, "sample %zu has an absurd number of locations or labels", i);
    n_locs += ms->n_location_id;
    n_labels += ms->n_label;
  }
  p->samples = block(c, m->n_sample, sizeof(*p->samples));
  locs = block(c, n_locs, sizeof(*locs));
  labels = block(c, n_labels, sizeof(*labels));
  if (!p->samples || !locs || !labels)
    return -ENOMEM;
  p->n_samples = m->n_sample;
  for (size_t i = 0; i < m->n_sample; i++) {
    const Perftools__Profiles__Sample *ms = m->sample[i];
    struct pprof_sample *ps = &p->samples[i];
    ps->values = ms->value;
    ps->n_locations = (uint32_t)ms->n_location_id;
    ps->locations = locs;
    for (size_t j = 0; j < ms->n_location_id; j++) {
      locs[j] = idindex_find(location_ids, ms->location_id[j]);
      if (locs[j] == PPROF_NONE)
        return bad(c, "sample %zu refers to location id %" PRIu64 ", which does not exist", i,
                   ms->location_id[j]);
    }
    locs += ms->n_location_id;
    ps->labels = labels;
    for (size_t j = 0; j < ms->n_label; j++) {
      const Perftools__Profiles__Label *ml = ms->label[j];
      struct pprof_label *l = &labels[ps->n_labels];
      if (str(c, ml->key, &l->key, "sample %zu label %zu key", i, j) < 0)
        return -EBADMSG;
      if (ml->str != 0) {
        if (str(c, ml->str, &l->str, "sample %zu label %zu value", i, j) < 0)
          return -EBADMSG;
      } else if (ml->num != 0 || ml->num_unit != 0) {
        l->str = NULL;
        l->num = ml->num;
        if (str(c, ml->num_unit, &l->num_unit, "sample %zu label %zu unit", i, j) < 0)
          return -EBADMSG;
      } else {
        continue; /* neither a string nor a number: pprof ignores it */
      }
      if (!l->num_unit)
        l->num_unit = p->strings[0];
      ps->n_labels++;
    }
    labels += ms->n_label;
  }
  return 0;
}

static int build(struct ctx *c) {
  const Perftools__Profiles__Profile *m = c->m;
  struct pprof_profile *p = c->p;
  struct idindex mapping_ids, function_ids, location_ids;
  int r;

  r = build_strings(c);
  if (r < 0)
    return r;
  p->sample_types = block(c, m->n_sample_type, sizeof(*p->sample_types));
  p->comments = block(c, m->n_comment, sizeof(char *));
  if (!p->sample_types || !p->comments)
    return -ENOMEM;
  p->n_sample_types = m->n_sample_type;
  for (size_t i = 0; i < m->n_sample_type; i++)
    if (value_type(c, m->sample_type[i], &p->sample_types[i], "sample type", i) < 0)
      return -EBADMSG;
  if (value_type(c, m->period_type, &p->period_type, "period type", 0) < 0)
    return -EBADMSG;
  p->n_comments = m->n_comment;
  for (size_t i = 0; i < m->n_comment; i++)
    if (str(c, m->comment[i], &p->comments[i], "comment %zu", i) < 0)
      return -EBADMSG;
  if (str(c, m->drop_frames, &p->drop_frames, "drop_frames") < 0 ||
      str(c, m->keep_frames, &p->keep_frames, "keep_frames") < 0 ||
      str(c, m->default_sample_type, &p->default_sample_type, "default_sample_type") < 0)
    return -EBADMSG;
  p->time_nanos = m->time_nanos;
  p->duration_nanos = m->duration_nanos;
  p->period = m->period;
  if (m->n_sample_type == 0 && m->n_sample > 0)
    return bad(c, "%zu samples but no sample types", m->n_sample);
  if (m->n_sample >= UINT32_MAX || m->n_location >= UINT32_MAX || m->n_function >= UINT32_MAX ||
      m->n_mapping >= UINT32_MAX)
    return bad(c, "absurd number of samples, locations, functions or mappings");

  idindex_init(&mapping_ids, m->n_mapping);
  idindex_init(&function_ids, m->n_function);
  idindex_init(&location_ids, m->n_location);
  r = build_mappings(c, &mapping_ids);
  if (r >= 0)
    r = build_functions(c, &function_ids);
  if (r >= 0)
    r = build_locations(c, &mapping_ids, &function_ids, &location_ids);
  if (r >= 0)
    r = build_samples(c, &location_ids);
  idindex_done(&mapping_ids);
  idindex_done(&function_ids);
  idindex_done(&location_ids);
  return r;
}

static void decoded_free(struct decoded *d) {
  if (!d)
    return;
  while (d->chunks) {
    struct chunk *next = d->chunks->next;
    free(d->chunks);
    d->chunks = next;
  }
  for (size_t i = 0; i < d->n_blocks; i++)
    free(d->blocks[i]);
  free(d->string_arena);
  free(d->inflated);
  free(d);
}

int pprof_decode(const uint8_t *data, size_t len, size_t max_decompressed,
                 struct pprof_profile **ret, char **ret_err) {
  struct decoded *d = xcalloc(1, sizeof(*d));
  struct pprof_profile *p = xcalloc(1, sizeof(*p));
  struct ctx c = {.d = d, .p = p};
  ProtobufCAllocator alloc = {budget_alloc, budget_free, d};
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
  d->budget = pb_len > (PB_BUDGET_MAX - PB_BUDGET_BASE) / PB_BUDGET_PER_BYTE
                  ? PB_BUDGET_MAX
                  : PB_BUDGET_BASE + pb_len * PB_BUDGET_PER_BYTE;
  /* Unpacked, a profile takes 7-10 times its encoded size (the corpus):
   * one chunk of that size usually holds all of it. */
  d->first_chunk = pb_len < (CHUNK_BYTES * 64) / 10 ? pb_len * 10 + 1024 : CHUNK_BYTES * 64;
  d->msg = perftools__profiles__profile__unpack(&alloc, pb_len, pb);
  if (!d->msg) {
    if (d->over_budget) {
      c.err = xasprintf("profile of %zu bytes needs more than %zu MiB to decode", pb_len,
                        d->budget >> 20);
      r = -EFBIG;
    } else {
      r = pprof_pbcheck(pb, pb_len, &c.err);
      if (r == 0)
        c.err = xstrdup("malformed protobuf: not a valid profile.proto message");
      r = -EBADMSG;
    }
    goto fail;
  }
  c.m = d->msg;
  r = build(&c);
  if (r < 0) {
    if (!c.err)
      c.err = xstrdup("out of memory while decoding the profile");
    goto fail;
  }
  free(d->inflated); /* the message holds its own copies */
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
