#include "config.h"

#include "pprof_testlib.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util.h"

#define APPEND(arr, n, item)                                                                       \
  do {                                                                                             \
    (arr) = xreallocarray((arr), (n) + 1, sizeof(*(arr)));                                         \
    (arr)[(n)++] = (item);                                                                         \
  } while (0)

struct tprof *tprof_new(void) {
  struct tprof *t = xcalloc(1, sizeof(*t));
  perftools__profiles__profile__init(&t->m);
  tprof_str(t, "");
  return t;
}

int64_t tprof_str(struct tprof *t, const char *s) {
  ProtobufCBinaryData b;
  for (size_t i = 0; i < t->m.n_string_table; i++)
    if (t->m.string_table[i].len == strlen(s) &&
        memcmp(t->m.string_table[i].data, s, strlen(s)) == 0)
      return (int64_t)i;
  b.len = strlen(s);
  b.data = (uint8_t *)xstrdup(s);
  APPEND(t->m.string_table, t->m.n_string_table, b);
  return (int64_t)t->m.n_string_table - 1;
}

static Perftools__Profiles__ValueType *vt(struct tprof *t, const char *type, const char *unit) {
  Perftools__Profiles__ValueType *v = xcalloc(1, sizeof(*v));
  perftools__profiles__value_type__init(v);
  v->type = tprof_str(t, type);
  v->unit = tprof_str(t, unit);
  return v;
}

void tprof_sample_type(struct tprof *t, const char *type, const char *unit) {
  APPEND(t->m.sample_type, t->m.n_sample_type, vt(t, type, unit));
}

void tprof_period(struct tprof *t, const char *type, const char *unit, int64_t period) {
  t->m.period_type = vt(t, type, unit);
  t->m.period = period;
}

void tprof_mapping(struct tprof *t, uint64_t id, const char *file) {
  Perftools__Profiles__Mapping *m = xcalloc(1, sizeof(*m));
  perftools__profiles__mapping__init(m);
  m->id = id;
  m->filename = tprof_str(t, file);
  m->has_functions = true;
  APPEND(t->m.mapping, t->m.n_mapping, m);
}

void tprof_function(struct tprof *t, uint64_t id, const char *name, const char *file) {
  Perftools__Profiles__Function *f = xcalloc(1, sizeof(*f));
  perftools__profiles__function__init(f);
  f->id = id;
  f->name = tprof_str(t, name);
  f->system_name = f->name;
  f->filename = tprof_str(t, file);
  APPEND(t->m.function, t->m.n_function, f);
}

void tprof_location(struct tprof *t, uint64_t id, uint64_t mapping_id, uint64_t address,
                    size_t n_lines, const uint64_t *function_ids, const int64_t *lines) {
  Perftools__Profiles__Location *l = xcalloc(1, sizeof(*l));
  perftools__profiles__location__init(l);
  l->id = id;
  l->mapping_id = mapping_id;
  l->address = address;
  for (size_t i = 0; i < n_lines; i++) {
    Perftools__Profiles__Line *ln = xcalloc(1, sizeof(*ln));
    perftools__profiles__line__init(ln);
    ln->function_id = function_ids[i];
    ln->line = lines ? lines[i] : (int64_t)(10 + i);
    APPEND(l->line, l->n_line, ln);
  }
  APPEND(t->m.location, t->m.n_location, l);
}

void tprof_simple_location(struct tprof *t, uint64_t id, uint64_t fid) {
  tprof_location(t, id, 0, 0x1000 + id, 1, &fid, NULL);
}

Perftools__Profiles__Sample *tprof_sample(struct tprof *t, size_t n_locs, const uint64_t *loc_ids,
                                          const int64_t *values) {
  Perftools__Profiles__Sample *s = xcalloc(1, sizeof(*s));
  perftools__profiles__sample__init(s);
  s->n_location_id = n_locs;
  s->location_id = xcalloc(n_locs + 1, sizeof(uint64_t));
  if (n_locs)
    memcpy(s->location_id, loc_ids, n_locs * sizeof(uint64_t));
  s->n_value = t->m.n_sample_type;
  s->value = xcalloc(s->n_value + 1, sizeof(int64_t));
  if (s->n_value)
    memcpy(s->value, values, s->n_value * sizeof(int64_t));
  APPEND(t->m.sample, t->m.n_sample, s);
  return s;
}

void tprof_label(struct tprof *t, Perftools__Profiles__Sample *s, const char *key, const char *str,
                 int64_t num, const char *unit) {
  Perftools__Profiles__Label *l = xcalloc(1, sizeof(*l));
  perftools__profiles__label__init(l);
  l->key = tprof_str(t, key);
  if (str)
    l->str = tprof_str(t, str);
  l->num = num;
  if (unit)
    l->num_unit = tprof_str(t, unit);
  APPEND(s->label, s->n_label, l);
}

void tprof_comment(struct tprof *t, const char *comment) {
  int64_t idx = tprof_str(t, comment);
  APPEND(t->m.comment, t->m.n_comment, idx);
}

uint8_t *test_gzip(const uint8_t *data, size_t len, size_t *ret_len) {
  z_stream zs;
  size_t cap = compressBound(len) + 64;
  uint8_t *out = xmalloc(cap);

  memset(&zs, 0, sizeof(zs));
  deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  zs.next_in = (Bytef *)(uintptr_t)data;
  zs.avail_in = (uInt)len;
  zs.next_out = out;
  zs.avail_out = (uInt)cap;
  deflate(&zs, Z_FINISH);
  *ret_len = zs.total_out;
  deflateEnd(&zs);
  return out;
}

uint8_t *tprof_pack(struct tprof *t, bool gzip, size_t *ret_len) {
  size_t n = perftools__profiles__profile__get_packed_size(&t->m);
  uint8_t *buf = xmalloc(n + 1);
  perftools__profiles__profile__pack(&t->m, buf);
  if (gzip) {
    uint8_t *gz = test_gzip(buf, n, ret_len);
    free(buf);
    return gz;
  }
  *ret_len = n;
  return buf;
}

static void free_vt(Perftools__Profiles__ValueType *v) {
  free(v);
}

void tprof_free(struct tprof *t) {
  Perftools__Profiles__Profile *m = &t->m;
  for (size_t i = 0; i < m->n_sample_type; i++)
    free_vt(m->sample_type[i]);
  free(m->sample_type);
  free_vt(m->period_type);
  for (size_t i = 0; i < m->n_sample; i++) {
    for (size_t j = 0; j < m->sample[i]->n_label; j++)
      free(m->sample[i]->label[j]);
    free(m->sample[i]->label);
    free(m->sample[i]->location_id);
    free(m->sample[i]->value);
    free(m->sample[i]);
  }
  free(m->sample);
  for (size_t i = 0; i < m->n_mapping; i++)
    free(m->mapping[i]);
  free(m->mapping);
  for (size_t i = 0; i < m->n_location; i++) {
    for (size_t j = 0; j < m->location[i]->n_line; j++)
      free(m->location[i]->line[j]);
    free(m->location[i]->line);
    free(m->location[i]);
  }
  free(m->location);
  for (size_t i = 0; i < m->n_function; i++)
    free(m->function[i]);
  free(m->function);
  for (size_t i = 0; i < m->n_string_table; i++)
    free(m->string_table[i].data);
  free(m->string_table);
  free(m->comment);
  free(t);
}
