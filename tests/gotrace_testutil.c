#include "config.h"

#include "gotrace_testutil.h"

#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "testutil.h"
#include "util.h"

uint8_t *gt_load(const char *name, size_t *ret_len) {
  char rel[512];
  const char *path;
  uint8_t *data = NULL;
  size_t len = 0, cap = 0;
  gzFile gz;
  int n;

  snprintf(rel, sizeof(rel), "gotrace/%s", name);
  path = test_data_path(rel);
  if (!str_has_suffix(name, ".gz"))
    return test_read_file(path, ret_len);
  gz = gzopen(path, "rb");
  ck_assert_msg(gz != NULL, "cannot open %s", path);
  do {
    if (len == cap) {
      cap = cap ? cap * 2 : 1 << 20;
      data = xrealloc(data, cap);
    }
    n = gzread(gz, data + len, (unsigned)(cap - len));
    ck_assert_msg(n >= 0, "gunzip %s failed", path);
    len += (size_t)n;
  } while (n > 0);
  gzclose(gz);
  *ret_len = len;
  return data;
}

static size_t split_tabs(char *line, char **f, size_t max) {
  size_t n = 0;
  char *p = line;
  while (n < max) {
    f[n++] = p;
    p = strchr(p, '\t');
    if (!p)
      break;
    *p++ = '\0';
  }
  return n;
}

static int64_t num(const char *s) {
  return strtoll(s, NULL, 10);
}

void gt_ref_load(const char *name, struct gt_ref *r) {
  size_t len;
  char *text = (char *)gt_load(name, &len), *line, *save = NULL;

  memset(r, 0, sizeof(*r));
  text = xrealloc(text, len + 1);
  text[len] = '\0';
  for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *f[140];
    size_t n;
    if (line[0] == '#')
      continue;
    n = split_tabs(line, f, ARRAY_SIZE(f));
    if (strcmp(f[0], "group") == 0 && n == 12 && r->n_groups < ARRAY_SIZE(r->groups)) {
      struct gt_ref_group *g = &r->groups[r->n_groups++];
      g->pc = strtoull(f[1], NULL, 10);
      snprintf(g->name, sizeof(g->name), "%s", f[2]);
      for (int k = 0; k < 9; k++)
        g->v[k] = num(f[3 + k]);
    } else if (strcmp(f[0], "order") == 0) {
      for (size_t k = 1; k < n && r->n_order < ARRAY_SIZE(r->order); k++)
        r->order[r->n_order++] = strtoull(f[k], NULL, 10);
    } else if (strcmp(f[0], "profile") == 0 && n == 4) {
      int kind = strcmp(f[1], "net") == 0       ? TRACE_PROFILE_NET
                 : strcmp(f[1], "sync") == 0    ? TRACE_PROFILE_SYNC
                 : strcmp(f[1], "syscall") == 0 ? TRACE_PROFILE_SYSCALL
                                                : TRACE_PROFILE_SCHED;
      r->prof[kind][0] = num(f[2]);
      r->prof[kind][1] = num(f[3]);
    } else if (strcmp(f[0], "summary") == 0 && n == 3 && r->n_summary < ARRAY_SIZE(r->keys)) {
      snprintf(r->keys[r->n_summary], sizeof(r->keys[0]), "%s", f[1]);
      snprintf(r->vals[r->n_summary], sizeof(r->vals[0]), "%s", f[2]);
      r->n_summary++;
    } else if (strcmp(f[0], "event") == 0 && n == 3 && r->n_events < ARRAY_SIZE(r->ev_names)) {
      snprintf(r->ev_names[r->n_events], sizeof(r->ev_names[0]), "%s", f[1]);
      r->ev_counts[r->n_events++] = num(f[2]);
    } else if (strcmp(f[0], "annotation") == 0 && n == 6 && r->n_ann < ARRAY_SIZE(r->ann_kind)) {
      snprintf(r->ann_kind[r->n_ann], sizeof(r->ann_kind[0]), "%s", f[1]);
      snprintf(r->ann_name[r->n_ann], sizeof(r->ann_name[0]), "%s", f[2]);
      for (int k = 0; k < 3; k++)
        r->ann_v[r->n_ann][k] = num(f[3 + k]);
      r->n_ann++;
    }
  }
  free(text);
}

const char *gt_ref_summary(const struct gt_ref *r, const char *key) {
  for (size_t i = 0; i < r->n_summary; i++)
    if (strcmp(r->keys[i], key) == 0)
      return r->vals[i];
  return NULL;
}

static const struct trace_group *find_group(const struct trace_summary *s, uint64_t pc) {
  for (size_t i = 0; i < s->n_groups; i++)
    if (s->groups[i].pc == pc)
      return &s->groups[i];
  return NULL;
}

static void check_summary_key(const struct gt_ref *ref, const char *key, int64_t mine,
                              const char *what) {
  const char *v = gt_ref_summary(ref, key);
  if (v)
    ck_assert_msg(num(v) == mine, "%s: %s: reference %s, got %lld", what, key, v, (long long)mine);
}

void gt_check_against_ref(const struct trace_summary *s, const struct gt_ref *ref,
                          const char *what) {
  static const char *const mmu_keys[TRACE_MMU_WINDOWS] = {"mmu_1ms", "mmu_10ms", "mmu_100ms",
                                                          "mmu_1s"};
  ck_assert_msg(ref->n_groups > 0, "%s: empty reference", what);
  ck_assert_msg(s->n_groups == ref->n_groups, "%s: %zu groups, reference %zu", what, s->n_groups,
                ref->n_groups);
  for (size_t i = 0; i < ref->n_groups; i++) {
    const struct gt_ref_group *rg = &ref->groups[i];
    const struct trace_group *g = find_group(s, rg->pc);
    int64_t mine[9];
    ck_assert_msg(g != NULL, "%s: group %s (pc %llu) missing", what, rg->name,
                  (unsigned long long)rg->pc);
    ck_assert_str_eq(g->function, rg->name);
    mine[0] = g->count;
    mine[1] = g->s.total_ns;
    mine[2] = g->s.execution_ns;
    mine[3] = g->s.network_wait_ns;
    mine[4] = g->s.sync_block_ns;
    mine[5] = g->s.syscall_ns;
    mine[6] = g->s.scheduler_wait_ns;
    mine[7] = g->s.gc_sweep_ns;
    mine[8] = g->s.gc_pause_ns;
    for (int k = 0; k < 9; k++)
      ck_assert_msg(mine[k] == rg->v[k], "%s: group %s column %d: reference %lld, got %lld", what,
                    rg->name, k, (long long)rg->v[k], (long long)mine[k]);
  }
  /* Page order is by execution time; equal times may come in any order. */
  for (size_t i = 0; i < ref->n_order && i < s->n_groups; i++) {
    const struct trace_group *rg = find_group(s, ref->order[i]);
    ck_assert_msg(s->groups[i].pc == ref->order[i] ||
                      (rg && rg->s.execution_ns == s->groups[i].s.execution_ns),
                  "%s: group %zu out of order", what, i);
  }
  for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
    ck_assert_msg(s->profiles[k].total_count == ref->prof[k][0] &&
                      s->profiles[k].total_ns == ref->prof[k][1],
                  "%s: profile %d: reference %lld/%lld, got %lld/%lld", what, k,
                  (long long)ref->prof[k][0], (long long)ref->prof[k][1],
                  (long long)s->profiles[k].total_count, (long long)s->profiles[k].total_ns);
  }
  check_summary_key(ref, "events_total", s->events, what);
  check_summary_key(ref, "duration_ns", s->duration_ns, what);
  check_summary_key(ref, "gc_count", s->gc.cycles, what);
  check_summary_key(ref, "gc_stw_count", s->gc.stw_count, what);
  check_summary_key(ref, "gc_stw_total_ns", s->gc.stw_total_ns, what);
  check_summary_key(ref, "gc_stw_max_ns", s->gc.stw_max_ns, what);
  check_summary_key(ref, "heap_live_min_bytes", s->gc.heap_live_min, what);
  check_summary_key(ref, "heap_live_max_bytes", s->gc.heap_live_max, what);
  check_summary_key(ref, "heap_goal_max_bytes", s->gc.heap_goal_max, what);
  check_summary_key(ref, "goroutines_total", s->goroutines_total, what);
  check_summary_key(ref, "goroutines_ended", s->goroutines_ended, what);
  for (int w = 0; w < TRACE_MMU_WINDOWS; w++) {
    const char *v = gt_ref_summary(ref, mmu_keys[w]);
    if (v)
      ck_assert_msg(fabs(strtod(v, NULL) - s->mmu[w]) < 1e-6, "%s: %s: reference %s, got %.9f",
                    what, mmu_keys[w], v, s->mmu[w]);
  }
  for (size_t i = 0; i < ref->n_events; i++) {
    int64_t mine = 0;
    for (size_t k = 0; k < s->n_event_counts; k++)
      if (strcmp(s->event_counts[k].name, ref->ev_names[i]) == 0)
        mine = s->event_counts[k].count;
    ck_assert_msg(mine == ref->ev_counts[i], "%s: %s events: reference %lld, got %lld", what,
                  ref->ev_names[i], (long long)ref->ev_counts[i], (long long)mine);
  }
  for (size_t i = 0; i < ref->n_ann; i++) {
    const struct trace_annotation *an = NULL;
    for (size_t k = 0; k < s->n_annotations; k++)
      if (strcmp(s->annotations[k].kind, ref->ann_kind[i]) == 0 &&
          strcmp(s->annotations[k].name, ref->ann_name[i]) == 0)
        an = &s->annotations[k];
    ck_assert_msg(an != NULL, "%s: annotation %s %s missing", what, ref->ann_kind[i],
                  ref->ann_name[i]);
    ck_assert_int_eq(an->count, ref->ann_v[i][0]);
    ck_assert_int_eq(an->total_ns, ref->ann_v[i][1]);
    ck_assert_int_eq(an->max_ns, ref->ann_v[i][2]);
  }
}

void tw_init(struct buf *b, int minor) {
  char hdr[16] = {0};
  buf_init(b, (size_t)1 << 30);
  snprintf(hdr, sizeof(hdr), "go 1.%d trace", minor);
  ck_assert_int_eq(buf_append(b, hdr, 16), 0);
}

void tw_varint(struct buf *b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  do {
    tmp[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v)
      tmp[n] |= 0x80;
    n++;
  } while (v);
  ck_assert_int_eq(buf_append(b, tmp, n), 0);
}

void tw_event(struct buf *b, int type, int n, const uint64_t *args) {
  if (n <= 3) {
    uint8_t t = (uint8_t)(type | ((n - 1) << 6));
    ck_assert_int_eq(buf_append(b, &t, 1), 0);
    for (int k = 0; k < n; k++)
      tw_varint(b, args[k]);
  } else {
    struct buf area;
    uint8_t t = (uint8_t)(type | (3 << 6));
    buf_init(&area, 1 << 20);
    for (int k = 0; k < n; k++)
      tw_varint(&area, args[k]);
    ck_assert_int_eq(buf_append(b, &t, 1), 0);
    tw_varint(b, area.len);
    ck_assert_int_eq(buf_append(b, area.data, area.len), 0);
    buf_done(&area);
  }
}

void tw_ev(struct buf *b, int type, int n, ...) {
  uint64_t args[16];
  va_list ap;
  va_start(ap, n);
  for (int k = 0; k < n && k < 16; k++)
    args[k] = va_arg(ap, uint64_t);
  va_end(ap);
  tw_event(b, type, n, args);
}

void tw_string(struct buf *b, uint64_t id, const char *s) {
  uint8_t t = 37;
  ck_assert_int_eq(buf_append(b, &t, 1), 0);
  tw_varint(b, id);
  tw_varint(b, strlen(s));
  ck_assert_int_eq(buf_append(b, s, strlen(s)), 0);
}

void tw_stack1(struct buf *b, uint64_t id, uint64_t pc, uint64_t fn, uint64_t file, uint64_t line) {
  uint64_t args[6] = {id, 1, pc, fn, file, line};
  tw_event(b, 3, 6, args);
}

/* A minimal record walker, independent of the parser under test. */
static uint64_t rd(const uint8_t *p, size_t *i) {
  uint64_t v = 0;
  for (int s = 0;; s += 7) {
    uint8_t c = p[(*i)++];
    v |= (uint64_t)(c & 0x7f) << s;
    if (!(c & 0x80))
      return v;
  }
}

static void padded_varint(struct buf *b, uint64_t v) {
  uint8_t tmp[10];
  for (int k = 0; k < 9; k++)
    tmp[k] = (uint8_t)(((v >> (7 * k)) & 0x7f) | 0x80);
  tmp[9] = (uint8_t)((v >> 63) & 1);
  ck_assert_int_eq(buf_append(b, tmp, 10), 0);
}

void tw_rewrite_go121(const uint8_t *p, size_t len, struct buf *out, int inject_stw) {
  uint8_t freq[16];
  size_t freq_len = 0, i = 16;
  int injected = !inject_stw;

  tw_init(out, 21);
  while (i < len) {
    size_t off = i, area_start = 0, area_len = 0;
    uint8_t b = p[i++];
    int type = b & 0x3f, narg = (b >> 6) + 1;
    uint64_t args[8];

    if (type == 37) {
      rd(p, &i);
      i += rd(p, &i);
    } else if (narg < 4) {
      for (int k = 0; k < narg; k++)
        args[k] = rd(p, &i);
    } else {
      area_len = rd(p, &i);
      area_start = i;
      i += area_len;
    }
    if (type == 48)
      i += rd(p, &i);
    switch (type) {
    case 2: /* bare Frequency after the last buffer in 1.19 */
      ck_assert_uint_le(i - off, sizeof(freq));
      memcpy(freq, p + off, i - off);
      freq_len = i - off;
      break;
    case 1:
      ck_assert_int_eq(buf_append(out, p + off, i - off), 0);
      if (freq_len) { /* 1.21: first record of the stack-table batch */
        ck_assert_int_eq(buf_append(out, freq, freq_len), 0);
        freq_len = 0;
      }
      break;
    case 9:
      tw_ev(out, 9, 2, args[0], args[1] + 1);
      break;
    case 10:
      ck_assert_int_eq(buf_append(out, p + off, i - off), 0);
      if (!injected) {
        tw_ev(out, 9, 2, (uint64_t)0, (uint64_t)7); /* "read mem stats" */
        tw_ev(out, 10, 1, (uint64_t)0);
        injected = 1;
      }
      break;
    case 3: {
      uint8_t t = 3 | (3 << 6);
      ck_assert_int_eq(buf_append(out, &t, 1), 0);
      padded_varint(out, area_len);
      ck_assert_int_eq(buf_append(out, p + area_start, area_len), 0);
      break;
    }
    default:
      ck_assert_int_eq(buf_append(out, p + off, i - off), 0);
      break;
    }
  }
  ck_assert_uint_eq(freq_len, 0);
}
