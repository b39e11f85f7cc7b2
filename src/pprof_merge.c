#include "config.h"

#include "pprof_build.h"
#include "pprof_keymap.h"
#include "pprof_math.h"
#include "pprof_merge.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct seen_mapping {
  uint64_t id;    /* in the output */
  uint64_t start; /* memory_start of the first mapping with this key */
};

struct pprof_merge {
  struct pprof_builder *b;
  size_t count;
  /* header of the first profile, to check the others against */
  char **types; /* type, unit pairs */
  size_t n_types;
  char *period_type, *period_unit;
  char *default_sample_type;
  int64_t time_nanos, duration_nanos, period;
  char *drop_frames, *keep_frames;
  struct keymap comments;
  /* mappings are merged by (size, offset, build id or file) */
  struct keymap mapping_keys;
  struct seen_mapping *mappings;
  bool header_written;
};

struct pprof_merge *pprof_merge_new(void) {
  struct pprof_merge *m = xcalloc(1, sizeof(*m));
  m->b = pprof_builder_new();
  pprof_builder_drop_zero_samples(m->b, true);
  keymap_init(&m->comments);
  keymap_init(&m->mapping_keys);
  return m;
}

struct pprof_merge *pprof_merge_free(struct pprof_merge *m) {
  if (!m)
    return NULL;
  pprof_builder_free(m->b);
  for (size_t i = 0; i < 2 * m->n_types; i++)
    free(m->types[i]);
  free(m->types);
  free(m->period_type);
  free(m->period_unit);
  free(m->default_sample_type);
  free(m->drop_frames);
  free(m->keep_frames);
  keymap_done(&m->comments);
  keymap_done(&m->mapping_keys);
  free(m->mappings);
  free(m);
  return NULL;
}

size_t pprof_merge_count(const struct pprof_merge *m) {
  return m->count;
}

static char *types_str(const struct pprof_value_type *t, size_t n) {
  struct buf b;
  uint8_t *s;
  buf_init(&b, SIZE_MAX);
  buf_printf(&b, "[");
  for (size_t i = 0; i < n; i++)
    buf_printf(&b, "%s%s/%s", i ? " " : "", t[i].type, t[i].unit);
  buf_printf(&b, "]");
  buf_terminate(&b);
  s = buf_steal(&b, NULL);
  return (char *)s;
}

static int check_compatible(struct pprof_merge *m, const struct pprof_profile *p, const char *name,
                            char **ret_err) {
  bool same = p->n_sample_types == m->n_types && strcmp(p->period_type.type, m->period_type) == 0 &&
              strcmp(p->period_type.unit, m->period_unit) == 0;
  for (size_t i = 0; same && i < m->n_types; i++)
    same = strcmp(p->sample_types[i].type, m->types[2 * i]) == 0 &&
           strcmp(p->sample_types[i].unit, m->types[2 * i + 1]) == 0;
  if (!same) {
    char *theirs = types_str(p->sample_types, p->n_sample_types);
    struct buf ours;
    buf_init(&ours, SIZE_MAX);
    buf_printf(&ours, "[");
    for (size_t i = 0; i < m->n_types; i++)
      buf_printf(&ours, "%s%s/%s", i ? " " : "", m->types[2 * i], m->types[2 * i + 1]);
    buf_printf(&ours, "]");
    buf_terminate(&ours);
    *ret_err = xasprintf("%s is not compatible with the profiles before it: sample types %s "
                         "period %s/%s, expected %s period %s/%s",
                         name, theirs, p->period_type.type, p->period_type.unit, (char *)ours.data,
                         m->period_type, m->period_unit);
    free(theirs);
    buf_done(&ours);
    return -EINVAL;
  }
  return 0;
}

static void first_header(struct pprof_merge *m, const struct pprof_profile *p) {
  m->n_types = p->n_sample_types;
  m->types = xcalloc(2 * m->n_types + 1, sizeof(char *));
  for (size_t i = 0; i < m->n_types; i++) {
    m->types[2 * i] = xstrdup(p->sample_types[i].type);
    m->types[2 * i + 1] = xstrdup(p->sample_types[i].unit);
    pprof_builder_add_sample_type(m->b, p->sample_types[i].type, p->sample_types[i].unit);
  }
  m->period_type = xstrdup(p->period_type.type);
  m->period_unit = xstrdup(p->period_type.unit);
  m->default_sample_type = xstrdup(p->default_sample_type);
}

static void combine_header(struct pprof_merge *m, const struct pprof_profile *p) {
  if (m->time_nanos == 0 || p->time_nanos < m->time_nanos)
    m->time_nanos = p->time_nanos;
  m->duration_nanos = pp_add(m->duration_nanos, p->duration_nanos);
  if (m->period == 0 || m->period < p->period)
    m->period = p->period;
  for (size_t i = 0; i < p->n_comments; i++) {
    bool is_new;
    keymap_intern(&m->comments, p->comments[i], strlen(p->comments[i]), &is_new);
  }
  if ((!m->drop_frames || !*m->drop_frames) && *p->drop_frames) {
    free(m->drop_frames);
    m->drop_frames = xstrdup(p->drop_frames);
  }
  if ((!m->keep_frames || !*m->keep_frames) && *p->keep_frames) {
    free(m->keep_frames);
    m->keep_frames = xstrdup(p->keep_frames);
  }
}

/* pprof merges mappings of the same binary even when they were loaded at
 * different addresses, and moves the addresses into the first one. */
static uint64_t map_mapping(struct pprof_merge *m, const struct pprof_mapping *pm,
                            int64_t *ret_delta) {
  const char *ident = *pm->build_id ? pm->build_id : pm->file;
  struct buf key;
  uint64_t size = pm->memory_limit - pm->memory_start;
  uint32_t idx;
  bool is_new;

  buf_init(&key, SIZE_MAX);
  buf_append(&key, &size, sizeof(size));
  buf_append(&key, &pm->file_offset, sizeof(pm->file_offset));
  buf_append(&key, *pm->build_id ? "b" : "f", 1);
  buf_append(&key, ident, strlen(ident));
  idx = keymap_intern(&m->mapping_keys, key.data, key.len, &is_new);
  buf_done(&key);
  if (is_new) {
    m->mappings = xreallocarray(m->mappings, idx + 1, sizeof(*m->mappings));
    m->mappings[idx].id = pprof_builder_mapping(m->b, pm);
    m->mappings[idx].start = pm->memory_start;
  }
  *ret_delta = (int64_t)(m->mappings[idx].start - pm->memory_start);
  return m->mappings[idx].id;
}

static int add(struct pprof_merge *m, const struct pprof_profile *p, const char *name, bool base,
               char **ret_err) {
  uint64_t *map_ids = xcalloc(p->n_mappings + 1, sizeof(uint64_t));
  int64_t *deltas = xcalloc(p->n_mappings + 1, sizeof(int64_t));
  uint64_t *func_ids = xcalloc(p->n_functions + 1, sizeof(uint64_t));
  uint64_t *loc_ids = xcalloc(p->n_locations + 1, sizeof(uint64_t));
  uint64_t *stack = NULL, *lf = NULL;
  int64_t *ll = NULL, *values = xcalloc(p->n_sample_types + 1, sizeof(int64_t));
  struct pprof_builder_label *labels = NULL;
  size_t stack_cap = 0, line_cap = 0, label_cap = 0;
  int r = 0;

  if (m->count == 0) {
    first_header(m, p);
  } else {
    r = check_compatible(m, p, name, ret_err);
    if (r < 0)
      goto out;
  }
  combine_header(m, p);
  for (size_t i = 0; i < p->n_mappings; i++)
    map_ids[i] = map_mapping(m, &p->mappings[i], &deltas[i]);
  for (size_t i = 0; i < p->n_functions; i++) {
    const struct pprof_function *f = &p->functions[i];
    func_ids[i] = pprof_builder_function(m->b, f->name, f->system_name, f->filename, f->start_line);
  }
  for (size_t i = 0; i < p->n_locations; i++) {
    const struct pprof_location *l = &p->locations[i];
    uint64_t addr = l->address;
    if (l->n_lines > line_cap) {
      line_cap = l->n_lines * 2;
      lf = xreallocarray(lf, line_cap, sizeof(*lf));
      ll = xreallocarray(ll, line_cap, sizeof(*ll));
    }
    for (uint32_t j = 0; j < l->n_lines; j++) {
      lf[j] = func_ids[l->lines[j].function];
      ll[j] = l->lines[j].line;
    }
    if (l->mapping != PPROF_NONE && addr)
      addr += (uint64_t)deltas[l->mapping];
    loc_ids[i] = pprof_builder_location(m->b, l->mapping == PPROF_NONE ? 0 : map_ids[l->mapping],
                                        addr, l->n_lines, lf, ll);
  }
  for (size_t s = 0; s < p->n_samples; s++) {
    const struct pprof_sample *smp = &p->samples[s];
    bool zero = true;
    size_t n_labels = 0;

    for (size_t i = 0; i < p->n_sample_types; i++) {
      values[i] = base ? pp_neg(smp->values[i]) : smp->values[i];
      zero = zero && values[i] == 0;
    }
    if (zero)
      continue;
    if (smp->n_locations > stack_cap) {
      stack_cap = smp->n_locations * 2;
      stack = xreallocarray(stack, stack_cap, sizeof(*stack));
    }
    for (uint32_t i = 0; i < smp->n_locations; i++)
      stack[i] = loc_ids[smp->locations[i]];
    if (smp->n_labels + 1 > label_cap) {
      label_cap = (smp->n_labels + 1) * 2;
      labels = xreallocarray(labels, label_cap, sizeof(*labels));
    }
    for (uint32_t i = 0; i < smp->n_labels; i++) {
      labels[n_labels].key = smp->labels[i].key;
      labels[n_labels].str = smp->labels[i].str;
      labels[n_labels].num = smp->labels[i].num;
      labels[n_labels].num_unit = smp->labels[i].num_unit;
      n_labels++;
    }
    if (base) {
      labels[n_labels].key = "pprof::base";
      labels[n_labels].str = "true";
      labels[n_labels].num = 0;
      labels[n_labels].num_unit = NULL;
      n_labels++;
    }
    r = pprof_builder_add_sample_ids(m->b, stack, smp->n_locations, values, labels, n_labels);
    if (r < 0) {
      *ret_err = xasprintf("%s: cannot add sample %zu", name, s);
      goto out;
    }
  }
  m->count++;
out:
  free(map_ids);
  free(deltas);
  free(func_ids);
  free(loc_ids);
  free(stack);
  free(lf);
  free(ll);
  free(values);
  free(labels);
  return r;
}

int pprof_merge_add(struct pprof_merge *m, const struct pprof_profile *p, const char *name,
                    char **ret_err) {
  return add(m, p, name, false, ret_err);
}

int pprof_merge_add_base(struct pprof_merge *m, const struct pprof_profile *p, const char *name,
                         char **ret_err) {
  return add(m, p, name, true, ret_err);
}

int pprof_merge_write(struct pprof_merge *m, struct buf *out) {
  if (m->count == 0)
    return -ENODATA;
  pprof_builder_set_period(m->b, m->period_type, m->period_unit, m->period);
  pprof_builder_set_time(m->b, m->time_nanos, m->duration_nanos);
  pprof_builder_set_default_sample_type(m->b, m->default_sample_type);
  pprof_builder_set_frames(m->b, m->drop_frames, m->keep_frames);
  for (uint32_t i = 0; !m->header_written && i < keymap_count(&m->comments); i++) {
    size_t len;
    const char *c = keymap_key(&m->comments, i, &len);
    char *s = xstrndup(c, len);
    pprof_builder_add_comment(m->b, s);
    free(s);
  }
  m->header_written = true;
  return pprof_builder_write(m->b, out);
}
