#include "config.h"

#include "pprof.h"
#include "pprof_build.h"
#include "pprof_keymap.h"
#include "pprof_math.h"
#include "profile.pb-c.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Everything is interned in keymaps whose index is the output id - 1 (or
 * the string table index). Keys are fixed-layout structs of int64, so
 * equal inputs give equal keys. */

struct mapping_key {
  uint64_t start, limit, offset;
  int64_t file, build_id;
  uint64_t flags;
};

struct function_key {
  int64_t name, system_name, filename, start_line;
};

/* A location key is {mapping, address, n_lines} then (function, line)
 * pairs; a sample key is {n_locations, n_labels}, the location ids, then
 * labels as {key, str, num, unit} sorted. */

struct value_type_idx {
  int64_t type, unit;
};

struct pprof_builder {
  struct keymap strings;
  struct keymap mappings;
  struct keymap functions;
  struct keymap locations;
  struct keymap samples;
  struct value_type_idx *sample_types;
  size_t n_sample_types;
  struct value_type_idx period_type;
  int64_t period;
  int64_t time_nanos, duration_nanos;
  int64_t *comments;
  size_t n_comments;
  int64_t default_sample_type;
  int64_t *values; /* n_samples * n_sample_types */
  size_t values_cap;
  bool types_frozen; /* a sample was added: no more sample types */
  bool drop_zero;
  int64_t drop_frames, keep_frames;
  bool misused;
  uint64_t *scratch;
  size_t scratch_cap;
};

static int64_t intern_str(struct pprof_builder *b, const char *s) {
  return keymap_intern(&b->strings, s ? s : "", s ? strlen(s) : 0, NULL);
}

struct pprof_builder *pprof_builder_new(void) {
  struct pprof_builder *b = xcalloc(1, sizeof(*b));
  keymap_init(&b->strings);
  keymap_init(&b->mappings);
  keymap_init(&b->functions);
  keymap_init(&b->locations);
  keymap_init(&b->samples);
  intern_str(b, ""); /* index 0 must be "" */
  return b;
}

struct pprof_builder *pprof_builder_free(struct pprof_builder *b) {
  if (!b)
    return NULL;
  keymap_done(&b->strings);
  keymap_done(&b->mappings);
  keymap_done(&b->functions);
  keymap_done(&b->locations);
  keymap_done(&b->samples);
  free(b->sample_types);
  free(b->comments);
  free(b->values);
  free(b->scratch);
  free(b);
  return NULL;
}

void pprof_builder_add_sample_type(struct pprof_builder *b, const char *type, const char *unit) {
  if (b->types_frozen) {
    b->misused = true;
    return;
  }
  b->sample_types = xreallocarray(b->sample_types, b->n_sample_types + 1, sizeof(*b->sample_types));
  b->sample_types[b->n_sample_types].type = intern_str(b, type);
  b->sample_types[b->n_sample_types].unit = intern_str(b, unit);
  b->n_sample_types++;
}

void pprof_builder_set_period(struct pprof_builder *b, const char *type, const char *unit,
                              int64_t period) {
  b->period_type.type = intern_str(b, type);
  b->period_type.unit = intern_str(b, unit);
  b->period = period;
}

void pprof_builder_set_time(struct pprof_builder *b, int64_t time_nanos, int64_t duration_nanos) {
  b->time_nanos = time_nanos;
  b->duration_nanos = duration_nanos;
}

void pprof_builder_add_comment(struct pprof_builder *b, const char *comment) {
  b->comments = xreallocarray(b->comments, b->n_comments + 1, sizeof(*b->comments));
  b->comments[b->n_comments++] = intern_str(b, comment);
}

void pprof_builder_set_default_sample_type(struct pprof_builder *b, const char *type) {
  b->default_sample_type = type && *type ? intern_str(b, type) : 0;
}

size_t pprof_builder_sample_count(const struct pprof_builder *b) {
  return keymap_count(&b->samples);
}

void pprof_builder_drop_zero_samples(struct pprof_builder *b, bool drop) {
  b->drop_zero = drop;
}

void pprof_builder_set_frames(struct pprof_builder *b, const char *drop_frames,
                              const char *keep_frames) {
  b->drop_frames = intern_str(b, drop_frames);
  b->keep_frames = intern_str(b, keep_frames);
}

size_t pprof_builder_sample_type_count(const struct pprof_builder *b) {
  return b->n_sample_types;
}

uint64_t pprof_builder_mapping(struct pprof_builder *b, const struct pprof_mapping *m) {
  struct mapping_key k;
  memset(&k, 0, sizeof(k));
  k.start = m->memory_start;
  k.limit = m->memory_limit;
  k.offset = m->file_offset;
  k.file = intern_str(b, m->file);
  k.build_id = intern_str(b, m->build_id);
  k.flags = (uint64_t)m->has_functions | (uint64_t)m->has_filenames << 1 |
            (uint64_t)m->has_line_numbers << 2 | (uint64_t)m->has_inline_frames << 3;
  return keymap_intern(&b->mappings, &k, sizeof(k), NULL) + 1;
}

uint64_t pprof_builder_function(struct pprof_builder *b, const char *name, const char *system_name,
                                const char *filename, int64_t start_line) {
  struct function_key k;
  memset(&k, 0, sizeof(k));
  k.name = intern_str(b, name);
  k.system_name = intern_str(b, system_name);
  k.filename = intern_str(b, filename);
  k.start_line = start_line;
  return keymap_intern(&b->functions, &k, sizeof(k), NULL) + 1;
}

static uint64_t *scratch(struct pprof_builder *b, size_t n) {
  if (n > b->scratch_cap) {
    b->scratch_cap = n * 2;
    b->scratch = xreallocarray(b->scratch, b->scratch_cap, sizeof(uint64_t));
  }
  return b->scratch;
}

uint64_t pprof_builder_location(struct pprof_builder *b, uint64_t mapping_id, uint64_t address,
                                size_t n_lines, const uint64_t *function_ids,
                                const int64_t *lines) {
  uint64_t *k = scratch(b, 3 + 2 * n_lines);
  k[0] = mapping_id;
  k[1] = address;
  k[2] = n_lines;
  for (size_t i = 0; i < n_lines; i++) {
    k[3 + 2 * i] = function_ids[i];
    k[4 + 2 * i] = (uint64_t)lines[i];
  }
  return keymap_intern(&b->locations, k, (3 + 2 * n_lines) * sizeof(uint64_t), NULL) + 1;
}

static int cmp_label(const void *a, const void *b) {
  const uint64_t *l = a, *r = b;
  for (int i = 0; i < 4; i++)
    if (l[i] != r[i])
      return l[i] < r[i] ? -1 : 1;
  return 0;
}

int pprof_builder_add_sample_ids(struct pprof_builder *b, const uint64_t *location_ids,
                                 size_t n_locations, const int64_t *values,
                                 const struct pprof_builder_label *labels, size_t n_labels) {
  size_t n_words = 2 + n_locations + 4 * n_labels;
  uint64_t *k;
  uint32_t idx;
  bool is_new;

  if (b->n_sample_types == 0 || b->misused)
    return -EINVAL;
  if (n_locations > UINT32_MAX || n_labels > UINT32_MAX)
    return -E2BIG;
  b->types_frozen = true;
  /* Interning label strings may grow the string map, not the scratch. */
  k = scratch(b, n_words);
  k[0] = n_locations;
  k[1] = n_labels;
  for (size_t i = 0; i < n_locations; i++)
    k[2 + i] = location_ids[i];
  for (size_t i = 0; i < n_labels; i++) {
    uint64_t *l = &k[2 + n_locations + 4 * i];
    l[0] = (uint64_t)intern_str(b, labels[i].key);
    l[1] = labels[i].str ? (uint64_t)intern_str(b, labels[i].str) : 0;
    l[2] = labels[i].str ? 0 : (uint64_t)labels[i].num;
    l[3] = labels[i].str ? 0 : (uint64_t)intern_str(b, labels[i].num_unit);
  }
  if (n_labels > 1)
    qsort(&k[2 + n_locations], n_labels, 4 * sizeof(uint64_t), cmp_label);
  idx = keymap_intern(&b->samples, k, n_words * sizeof(uint64_t), &is_new);
  if (is_new) {
    if ((size_t)idx + 1 > b->values_cap) {
      b->values_cap = b->values_cap ? b->values_cap * 2 : 64;
      b->values = xreallocarray(b->values, b->values_cap * b->n_sample_types, sizeof(int64_t));
    }
    memset(&b->values[idx * b->n_sample_types], 0, b->n_sample_types * sizeof(int64_t));
  }
  for (size_t i = 0; i < b->n_sample_types; i++)
    b->values[idx * b->n_sample_types + i] =
        pp_add(b->values[idx * b->n_sample_types + i], values[i]);
  return 0;
}

int pprof_builder_add_sample_labels(struct pprof_builder *b, const struct pprof_frame *frames,
                                    size_t n_frames, const int64_t *values,
                                    const struct pprof_builder_label *labels, size_t n_labels) {
  uint64_t *ids;
  int r;

  if (b->n_sample_types == 0 || b->misused)
    return -EINVAL;
  ids = xcalloc(n_frames + 1, sizeof(*ids));
  for (size_t i = 0; i < n_frames; i++) {
    uint64_t fid =
        pprof_builder_function(b, frames[i].function, frames[i].function, frames[i].file, 0);
    ids[i] = pprof_builder_location(b, 0, frames[i].address, 1, &fid, &frames[i].line);
  }
  r = pprof_builder_add_sample_ids(b, ids, n_frames, values, labels, n_labels);
  free(ids);
  return r;
}

int pprof_builder_add_sample(struct pprof_builder *b, const struct pprof_frame *frames,
                             size_t n_frames, const int64_t *values) {
  return pprof_builder_add_sample_labels(b, frames, n_frames, values, NULL, 0);
}

/* ---- serialisation ---- */

static int gzip_into(const uint8_t *data, size_t len, struct buf *out) {
  z_stream zs;
  int zr, r = 0;

  memset(&zs, 0, sizeof(zs));
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK)
    return -ENOMEM;
  zs.next_in = (Bytef *)(uintptr_t)data;
  zs.avail_in = (uInt)len; /* profiles we write stay far below 4 GiB */
  do {
    r = buf_reserve(out, 65536);
    if (r < 0)
      break;
    zs.next_out = out->data + out->len;
    zs.avail_out = 65536;
    zr = deflate(&zs, Z_FINISH);
    out->len += 65536 - zs.avail_out;
    if (zr == Z_STREAM_ERROR) {
      r = -EIO;
      break;
    }
  } while (zr != Z_STREAM_END);
  deflateEnd(&zs);
  return r;
}

struct pack {
  Perftools__Profiles__Profile prof;
  Perftools__Profiles__ValueType *types, period_type;
  Perftools__Profiles__ValueType **type_ptrs;
  Perftools__Profiles__Mapping *maps, **map_ptrs;
  Perftools__Profiles__Function *funcs, **func_ptrs;
  Perftools__Profiles__Location *locs, **loc_ptrs;
  Perftools__Profiles__Line *lines, **line_ptrs;
  Perftools__Profiles__Sample *samples, **sample_ptrs;
  Perftools__Profiles__Label *labels, **label_ptrs;
  ProtobufCBinaryData *strings;
  uint64_t *loc_ids;
};

static void pack_done(struct pack *p) {
  free(p->types);
  free(p->type_ptrs);
  free(p->maps);
  free(p->map_ptrs);
  free(p->funcs);
  free(p->func_ptrs);
  free(p->locs);
  free(p->loc_ptrs);
  free(p->lines);
  free(p->line_ptrs);
  free(p->samples);
  free(p->sample_ptrs);
  free(p->labels);
  free(p->label_ptrs);
  free(p->strings);
  free(p->loc_ids);
}

static void pack_tables(struct pprof_builder *b, struct pack *p) {
  size_t n_lines = 0, li = 0;

  p->strings = xcalloc(keymap_count(&b->strings) + 1, sizeof(*p->strings));
  for (uint32_t i = 0; i < keymap_count(&b->strings); i++) {
    size_t len;
    p->strings[i].data = (uint8_t *)(uintptr_t)keymap_key(&b->strings, i, &len);
    p->strings[i].len = len;
  }
  p->maps = xcalloc(keymap_count(&b->mappings) + 1, sizeof(*p->maps));
  p->map_ptrs = xcalloc(keymap_count(&b->mappings) + 1, sizeof(*p->map_ptrs));
  for (uint32_t i = 0; i < keymap_count(&b->mappings); i++) {
    const struct mapping_key *k = keymap_key(&b->mappings, i, NULL);
    Perftools__Profiles__Mapping *m = &p->maps[i];
    perftools__profiles__mapping__init(m);
    m->id = i + 1;
    m->memory_start = k->start;
    m->memory_limit = k->limit;
    m->file_offset = k->offset;
    m->filename = k->file;
    m->build_id = k->build_id;
    m->has_functions = k->flags & 1;
    m->has_filenames = (k->flags >> 1) & 1;
    m->has_line_numbers = (k->flags >> 2) & 1;
    m->has_inline_frames = (k->flags >> 3) & 1;
    p->map_ptrs[i] = m;
  }
  p->funcs = xcalloc(keymap_count(&b->functions) + 1, sizeof(*p->funcs));
  p->func_ptrs = xcalloc(keymap_count(&b->functions) + 1, sizeof(*p->func_ptrs));
  for (uint32_t i = 0; i < keymap_count(&b->functions); i++) {
    const struct function_key *k = keymap_key(&b->functions, i, NULL);
    Perftools__Profiles__Function *f = &p->funcs[i];
    perftools__profiles__function__init(f);
    f->id = i + 1;
    f->name = k->name;
    f->system_name = k->system_name;
    f->filename = k->filename;
    f->start_line = k->start_line;
    p->func_ptrs[i] = f;
  }
  for (uint32_t i = 0; i < keymap_count(&b->locations); i++) {
    const uint64_t *k = keymap_key(&b->locations, i, NULL);
    n_lines += k[2];
  }
  p->locs = xcalloc(keymap_count(&b->locations) + 1, sizeof(*p->locs));
  p->loc_ptrs = xcalloc(keymap_count(&b->locations) + 1, sizeof(*p->loc_ptrs));
  p->lines = xcalloc(n_lines + 1, sizeof(*p->lines));
  p->line_ptrs = xcalloc(n_lines + 1, sizeof(*p->line_ptrs));
  for (uint32_t i = 0; i < keymap_count(&b->locations); i++) {
    uint64_t k[3];
    const uint64_t *key = keymap_key(&b->locations, i, NULL);
    Perftools__Profiles__Location *l = &p->locs[i];
    memcpy(k, key, sizeof(k));
    perftools__profiles__location__init(l);
    l->id = i + 1;
    l->mapping_id = k[0];
    l->address = k[1];
    l->n_line = k[2];
    l->line = &p->line_ptrs[li];
    for (size_t j = 0; j < k[2]; j++, li++) {
      Perftools__Profiles__Line *ln = &p->lines[li];
      uint64_t fl[2];
      memcpy(fl, key + 3 + 2 * j, sizeof(fl));
      perftools__profiles__line__init(ln);
      ln->function_id = fl[0];
      ln->line = (int64_t)fl[1];
      p->line_ptrs[li] = ln;
    }
    p->loc_ptrs[i] = l;
  }
}

static bool is_zero(const int64_t *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (v[i] != 0)
      return false;
  return true;
}

static void pack_samples(struct pprof_builder *b, struct pack *p) {
  size_t n = keymap_count(&b->samples), n_locs = 0, n_labels = 0, loc_i = 0, lab_i = 0;

  for (uint32_t i = 0; i < n; i++) {
    uint64_t h[2];
    memcpy(h, keymap_key(&b->samples, i, NULL), sizeof(h));
    n_locs += h[0];
    n_labels += h[1];
  }
  p->samples = xcalloc(n + 1, sizeof(*p->samples));
  p->sample_ptrs = xcalloc(n + 1, sizeof(*p->sample_ptrs));
  p->loc_ids = xcalloc(n_locs + 1, sizeof(*p->loc_ids));
  p->labels = xcalloc(n_labels + 1, sizeof(*p->labels));
  p->label_ptrs = xcalloc(n_labels + 1, sizeof(*p->label_ptrs));
  p->prof.n_sample = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint64_t *k = keymap_key(&b->samples, i, NULL);
    Perftools__Profiles__Sample *s = &p->samples[p->prof.n_sample];
    uint64_t h[2];
    if (b->drop_zero && is_zero(&b->values[i * b->n_sample_types], b->n_sample_types))
      continue;
    memcpy(h, k, sizeof(h));
    perftools__profiles__sample__init(s);
    s->n_location_id = h[0];
    s->location_id = &p->loc_ids[loc_i];
    memcpy(s->location_id, k + 2, h[0] * sizeof(uint64_t));
    loc_i += h[0];
    s->n_value = b->n_sample_types;
    s->value = &b->values[i * b->n_sample_types];
    s->n_label = h[1];
    s->label = &p->label_ptrs[lab_i];
    for (size_t j = 0; j < h[1]; j++, lab_i++) {
      Perftools__Profiles__Label *l = &p->labels[lab_i];
      uint64_t lk[4];
      memcpy(lk, k + 2 + h[0] + 4 * j, sizeof(lk));
      perftools__profiles__label__init(l);
      l->key = (int64_t)lk[0];
      l->str = (int64_t)lk[1];
      l->num = (int64_t)lk[2];
      l->num_unit = (int64_t)lk[3];
      p->label_ptrs[lab_i] = l;
    }
    p->sample_ptrs[p->prof.n_sample++] = s;
  }
}

int pprof_builder_write(struct pprof_builder *b, struct buf *out) {
  struct pack p;
  uint8_t *raw;
  size_t n;
  int r;

  if (b->misused)
    return -EINVAL;
  memset(&p, 0, sizeof(p));
  perftools__profiles__profile__init(&p.prof);
  p.types = xcalloc(b->n_sample_types + 1, sizeof(*p.types));
  p.type_ptrs = xcalloc(b->n_sample_types + 1, sizeof(*p.type_ptrs));
  for (size_t i = 0; i < b->n_sample_types; i++) {
    perftools__profiles__value_type__init(&p.types[i]);
    p.types[i].type = b->sample_types[i].type;
    p.types[i].unit = b->sample_types[i].unit;
    p.type_ptrs[i] = &p.types[i];
  }
  perftools__profiles__value_type__init(&p.period_type);
  p.period_type.type = b->period_type.type;
  p.period_type.unit = b->period_type.unit;
  pack_tables(b, &p);
  pack_samples(b, &p);
  p.prof.n_sample_type = b->n_sample_types;
  p.prof.sample_type = p.type_ptrs;
  p.prof.sample = p.sample_ptrs;
  p.prof.n_mapping = keymap_count(&b->mappings);
  p.prof.mapping = p.map_ptrs;
  p.prof.n_location = keymap_count(&b->locations);
  p.prof.location = p.loc_ptrs;
  p.prof.n_function = keymap_count(&b->functions);
  p.prof.function = p.func_ptrs;
  p.prof.n_string_table = keymap_count(&b->strings);
  p.prof.string_table = p.strings;
  p.prof.time_nanos = b->time_nanos;
  p.prof.duration_nanos = b->duration_nanos;
  p.prof.period_type = &p.period_type;
  p.prof.period = b->period;
  p.prof.n_comment = b->n_comments;
  p.prof.comment = b->comments;
  p.prof.default_sample_type = b->default_sample_type;
  p.prof.drop_frames = b->drop_frames;
  p.prof.keep_frames = b->keep_frames;

  n = perftools__profiles__profile__get_packed_size(&p.prof);
  raw = malloc(n ? n : 1);
  if (!raw) {
    pack_done(&p);
    return -ENOMEM;
  }
  perftools__profiles__profile__pack(&p.prof, raw);
  pack_done(&p);
  r = n > UINT32_MAX ? -EFBIG : gzip_into(raw, n, out);
  free(raw);
  return r;
}
