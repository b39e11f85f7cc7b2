/* pprof_decode() reads profile.proto's wire format itself; protobuf-c,
 * which writes profiles (pprof_build.c), is the reference it is checked
 * against here: on every real profile of tests/data, hand-made ones with
 * sparse ids, labels and unpacked fields, and thousands of truncated and
 * corrupted copies, whatever protobuf-c accepts must decode to exactly
 * the same model (or fail a semantic check: a bad id or string index),
 * and whatever protobuf-c rejects must be rejected. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"
#include "pprof_pbcheck.h"
#include "pprof_testlib.h"
#include "profile.pb-c.h"
#include "testutil.h"
#include "util.h"

#define MAX_DECOMPRESSED (256u << 20)

struct stats {
  size_t same, both_reject, semantic, stricter;
};

static const char *s_at(const struct pprof_profile *p, int64_t i) {
  ck_assert(i >= 0 && (uint64_t)i < p->n_strings);
  return p->strings[i];
}

static void same_value_type(const struct pprof_profile *p, const Perftools__Profiles__ValueType *m,
                            const struct pprof_value_type *v) {
  ck_assert_ptr_eq(v->type, m ? s_at(p, m->type) : p->strings[0]);
  ck_assert_ptr_eq(v->unit, m ? s_at(p, m->unit) : p->strings[0]);
}

/* The model says exactly what the unpacked message says. */
static void same_model(const struct pprof_profile *p, const Perftools__Profiles__Profile *m) {
  ck_assert_uint_eq(p->n_strings, m->n_string_table);
  for (size_t i = 0; i < m->n_string_table; i++) {
    ck_assert_mem_eq(p->strings[i], m->string_table[i].data ? (const char *)m->string_table[i].data
                                                            : "",
                     m->string_table[i].len);
    ck_assert_int_eq(p->strings[i][m->string_table[i].len], 0);
  }
  ck_assert_uint_eq(p->n_sample_types, m->n_sample_type);
  for (size_t i = 0; i < m->n_sample_type; i++)
    same_value_type(p, m->sample_type[i], &p->sample_types[i]);
  same_value_type(p, m->period_type, &p->period_type);
  ck_assert_int_eq(p->period, m->period);
  ck_assert_int_eq(p->time_nanos, m->time_nanos);
  ck_assert_int_eq(p->duration_nanos, m->duration_nanos);
  ck_assert_ptr_eq(p->drop_frames, s_at(p, m->drop_frames));
  ck_assert_ptr_eq(p->keep_frames, s_at(p, m->keep_frames));
  ck_assert_ptr_eq(p->default_sample_type, s_at(p, m->default_sample_type));
  ck_assert_uint_eq(p->n_comments, m->n_comment);
  for (size_t i = 0; i < m->n_comment; i++)
    ck_assert_ptr_eq(p->comments[i], s_at(p, m->comment[i]));

  ck_assert_uint_eq(p->n_mappings, m->n_mapping);
  for (size_t i = 0; i < m->n_mapping; i++) {
    const Perftools__Profiles__Mapping *mm = m->mapping[i];
    const struct pprof_mapping *pm = &p->mappings[i];
    ck_assert_uint_eq(pm->id, mm->id);
    ck_assert_uint_eq(pm->memory_start, mm->memory_start);
    ck_assert_uint_eq(pm->memory_limit, mm->memory_limit);
    ck_assert_uint_eq(pm->file_offset, mm->file_offset);
    ck_assert_ptr_eq(pm->file, s_at(p, mm->filename));
    ck_assert_ptr_eq(pm->build_id, s_at(p, mm->build_id));
    ck_assert_int_eq(pm->has_functions, !!mm->has_functions);
    ck_assert_int_eq(pm->has_filenames, !!mm->has_filenames);
    ck_assert_int_eq(pm->has_line_numbers, !!mm->has_line_numbers);
    ck_assert_int_eq(pm->has_inline_frames, !!mm->has_inline_frames);
  }
  ck_assert_uint_eq(p->n_functions, m->n_function);
  for (size_t i = 0; i < m->n_function; i++) {
    const Perftools__Profiles__Function *mf = m->function[i];
    const struct pprof_function *pf = &p->functions[i];
    ck_assert_uint_eq(pf->id, mf->id);
    ck_assert_ptr_eq(pf->name, s_at(p, mf->name));
    ck_assert_ptr_eq(pf->system_name, s_at(p, mf->system_name));
    ck_assert_ptr_eq(pf->filename, s_at(p, mf->filename));
    ck_assert_int_eq(pf->start_line, mf->start_line);
  }
  ck_assert_uint_eq(p->n_locations, m->n_location);
  for (size_t i = 0; i < m->n_location; i++) {
    const Perftools__Profiles__Location *ml = m->location[i];
    const struct pprof_location *pl = &p->locations[i];
    ck_assert_uint_eq(pl->id, ml->id);
    ck_assert_uint_eq(pl->address, ml->address);
    ck_assert_int_eq(pl->is_folded, !!ml->is_folded);
    if (ml->mapping_id)
      ck_assert_uint_eq(p->mappings[pl->mapping].id, ml->mapping_id);
    else
      ck_assert_uint_eq(pl->mapping, PPROF_NONE);
    ck_assert_uint_eq(pl->n_lines, ml->n_line);
    for (size_t j = 0; j < ml->n_line; j++) {
      ck_assert_uint_eq(p->functions[pl->lines[j].function].id, ml->line[j]->function_id);
      ck_assert_int_eq(pl->lines[j].line, ml->line[j]->line);
      ck_assert_int_eq(pl->lines[j].column, ml->line[j]->column);
    }
  }
  ck_assert_uint_eq(p->n_samples, m->n_sample);
  for (size_t i = 0; i < m->n_sample; i++) {
    const Perftools__Profiles__Sample *ms = m->sample[i];
    const struct pprof_sample *ps = &p->samples[i];
    size_t kept = 0;
    ck_assert_uint_eq(ps->n_locations, ms->n_location_id);
    for (size_t j = 0; j < ms->n_location_id; j++)
      ck_assert_uint_eq(p->locations[ps->locations[j]].id, ms->location_id[j]);
    ck_assert_uint_eq(m->n_sample_type, ms->n_value);
    for (size_t j = 0; j < ms->n_value; j++)
      ck_assert_int_eq(ps->values[j], ms->value[j]);
    for (size_t j = 0; j < ms->n_label; j++) {
      const Perftools__Profiles__Label *ml = ms->label[j];
      const struct pprof_label *l;
      if (ml->str == 0 && ml->num == 0 && ml->num_unit == 0)
        continue; /* pprof ignores it */
      ck_assert_uint_lt(kept, ps->n_labels);
      l = &ps->labels[kept++];
      ck_assert_ptr_eq(l->key, s_at(p, ml->key));
      if (ml->str) {
        ck_assert_ptr_eq(l->str, s_at(p, ml->str));
        ck_assert_int_eq(l->num, 0);
        ck_assert_ptr_eq(l->num_unit, p->strings[0]);
      } else {
        ck_assert_ptr_null(l->str);
        ck_assert_int_eq(l->num, ml->num);
        ck_assert_ptr_eq(l->num_unit, s_at(p, ml->num_unit));
      }
    }
    ck_assert_uint_eq(ps->n_labels, kept);
  }
}

static void compare(const uint8_t *data, size_t len, struct stats *st) {
  Perftools__Profiles__Profile *m = perftools__profiles__profile__unpack(NULL, len, data);
  struct pprof_profile *p = NULL;
  char *err = NULL;
  int r = pprof_decode(data, len, MAX_DECOMPRESSED, &p, &err);

  if (!m) {
    ck_assert_msg(r < 0, "protobuf-c rejects %zu bytes, pprof_decode accepts them", len);
    ck_assert_ptr_nonnull(err);
    st->both_reject++;
  } else if (r < 0) {
    /* Only a check of the model may reject what protobuf-c unpacks, or a
     * wire rule protobuf-c does not enforce (it reads a bool from any wire
     * type): then pprof_pbcheck() names the same rule. */
    char *why = NULL;
    if (strncmp(err, "malformed profile: ", 19) == 0) {
      st->semantic++;
    } else {
      ck_assert_msg(pprof_pbcheck(data, len, &why) < 0,
                    "protobuf-c unpacks %zu bytes, pprof_decode: %s", len, err);
      ck_assert_str_eq(err, why);
      st->stricter++;
    }
    free(why);
  } else {
    same_model(p, m);
    st->same++;
  }
  free(err);
  pprof_profile_free(p);
  if (m)
    perftools__profiles__profile__free_unpacked(m, NULL);
}

/* plain protobuf of a test file (they are gzip'd, as Go serves them) */
static uint8_t *plain_profile(const char *path, size_t *ret_len) {
  size_t len;
  uint8_t *gz = test_read_file(path, &len);
  struct buf out;
  char *err = NULL;

  buf_init(&out, MAX_DECOMPRESSED);
  ck_assert_int_eq(pprof_gunzip(gz, len, &out, &err), 0);
  free(gz);
  return buf_steal(&out, ret_len);
}

START_TEST(test_real_profiles) {
  struct stats st = {0};
  glob_t g;
  char *pattern = xasprintf("%s/pprof/*/*.pprof", test_data_path("."));
  char *pattern2 = xasprintf("%s/pprof/*/*/*.pprof", test_data_path("."));

  ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
  glob(pattern2, GLOB_APPEND, NULL, &g);
  for (size_t i = 0; i < g.gl_pathc; i++) {
    size_t len;
    uint8_t *pb = plain_profile(g.gl_pathv[i], &len);
    compare(pb, len, &st);
    free(pb);
  }
  ck_assert_uint_ge(g.gl_pathc, 20);
  ck_assert_uint_eq(st.same, g.gl_pathc);
  globfree(&g);
  free(pattern);
  free(pattern2);
}
END_TEST

/* What Go never writes but the schema allows: sparse and huge ids,
 * unpacked repeated fields, labels of every kind, several lines per
 * location, fields in any order, unknown fields. */
START_TEST(test_handmade) {
  struct stats st = {0};
  struct tprof *t = tprof_new();
  uint64_t stack[] = {900000000001ULL, 3}, fids[] = {77777, 5};
  int64_t v[] = {5, -7}, lines[] = {10, 20};
  Perftools__Profiles__Sample *s;
  uint8_t *data, *odd;
  size_t len;

  tprof_sample_type(t, "alloc_space", "bytes");
  tprof_sample_type(t, "inuse_space", "bytes");
  tprof_period(t, "space", "bytes", 524288);
  tprof_mapping(t, 1u << 30, "/bin/x");
  tprof_function(t, 77777, "f", "f.go");
  tprof_function(t, 5, "g", "g.go");
  tprof_location(t, 900000000001ULL, 1u << 30, 0x401000, 2, fids, lines);
  tprof_simple_location(t, 3, 5);
  s = tprof_sample(t, 2, stack, v);
  tprof_label(t, s, "bytes", NULL, 4096, "bytes");
  tprof_label(t, s, "empty", NULL, 0, NULL);
  tprof_label(t, s, "handler", "/api", 0, NULL);
  tprof_comment(t, "a comment");
  data = tprof_pack(t, false, &len);
  compare(data, len, &st);
  ck_assert_uint_eq(st.same, 1);

  /* Unknown fields of every wire type, and the sample's location ids
   * unpacked: field 2 (sample) rewritten, and fields 99 added at the end. */
  odd = xmalloc(len + 64);
  memcpy(odd, data, len);
  {
    static const uint8_t tail[] = {
        0x98, 0x06, 0x2a,                         /* field 99 varint 42 */
        0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8,       /* field 99 fixed64 */
        0x9a, 0x06, 0x03, 'a', 'b', 'c',          /* field 99 bytes */
        0x9d, 0x06, 1, 2, 3, 4,                   /* field 99 fixed32 */
        0x12, 0x08, 0x08, 0x03, 0x08, 0x03, 0x10, 0x01, 0x10, 0x02, /* a sample, unpacked */
    };
    memcpy(odd + len, tail, sizeof(tail));
    compare(odd, len + sizeof(tail), &st);
  }
  ck_assert_uint_eq(st.same, 2);
  free(odd);
  free(data);
  tprof_free(t);
}
END_TEST

/* Every prefix, and seeded random corruption, of small real profiles. */
START_TEST(test_truncated_and_corrupted) {
  static const char *files[] = {"pprof/work/goroutine.pprof", "pprof/work/heap.pprof",
                                "pprof/prom/mutex.pprof", "pprof/work/cpu-5s.pprof"};
  struct stats st = {0};
  unsigned seed = 20261122;

  for (size_t f = 0; f < ARRAY_SIZE(files); f++) {
    size_t len;
    uint8_t *pb = plain_profile(test_data_path(files[f]), &len);
    uint8_t *copy = xmalloc(len + 1);

    for (size_t cut = 1; cut < len; cut += f < 2 ? 1 : 7) /* 0 bytes: "empty profile" */
      compare(pb, cut, &st);
    for (int k = 0; k < 1500; k++) {
      int flips = 1 + rand_r(&seed) % 3;
      memcpy(copy, pb, len);
      for (int j = 0; j < flips; j++) {
        size_t at = (size_t)rand_r(&seed) % len;
        switch (rand_r(&seed) % 4) {
        case 0:
          copy[at] ^= (uint8_t)(1u << (rand_r(&seed) % 8));
          break;
        case 1:
          copy[at] = (uint8_t)rand_r(&seed);
          break;
        case 2:
          copy[at] |= 0x80; /* a varint runs on */
          break;
        default:
          copy[at] = (uint8_t)(copy[at] & 0xf8) | (uint8_t)(rand_r(&seed) % 8); /* wire type */
        }
      }
      compare(copy, len, &st);
    }
    free(copy);
    free(pb);
  }
  /* all three outcomes happen, so each branch of compare() ran */
  ck_assert_uint_gt(st.same, 100);
  ck_assert_uint_gt(st.both_reject, 100);
  ck_assert_uint_gt(st.semantic, 100);
}
END_TEST

int main(void) {
  Suite *s = suite_create("pprof_wire");
  TCase *tc = tcase_create("wire");
  SRunner *sr;
  int failed;

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_real_profiles);
  tcase_add_test(tc, test_handmade);
  tcase_add_test(tc, test_truncated_and_corrupted);
  suite_add_tcase(s, tc);
  sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
