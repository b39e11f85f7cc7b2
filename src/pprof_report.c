#include "config.h"

#include "pprof_format.h"
#include "pprof_math.h"
#include "pprof_report.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

const char *pprof_format_time(int64_t time_nanos, char *buf, size_t size) {
  time_t secs = (time_t)(time_nanos / 1000000000);
  struct tm tm;
  char day[64], clock[32], zone[64];

  if (time_nanos < 0 && time_nanos % 1000000000)
    secs--;
  localtime_r(&secs, &tm);
  strftime(day, sizeof(day), "%b %-d, %Y", &tm);
  strftime(clock, sizeof(clock), "%-I:%M%P", &tm);
  strftime(zone, sizeof(zone), "%Z", &tm);
  snprintf(buf, size, "%s at %s (%s)", day, clock, zone);
  return buf;
}

int pprof_report_text(const struct pprof_profile *p, const struct pprof_nodes *nodes,
                      const struct pprof_top *t, double node_fraction, struct buf *out) {
  const struct pprof_value_type *st = &p->sample_types[t->sample_index];
  const char *unit;
  char a[PPROF_LABEL_SIZE], b[PPROF_LABEL_SIZE], c[PPROF_LABEL_SIZE], d[PPROF_LABEL_SIZE],
      e[PPROF_LABEL_SIZE], tbuf[128];
  int64_t min_value = 0, flat_sum = 0;
  int r = 0;

  for (size_t i = 0; i < t->n_rows; i++) {
    int64_t v = pp_abs(t->rows[i].flat);
    if (v == 0)
      v = pp_abs(t->rows[i].cum);
    if (v > 0 && (min_value == 0 || v < min_value))
      min_value = v;
    flat_sum = pp_add(flat_sum, t->rows[i].flat);
  }
  unit = t->n_rows ? pprof_output_unit(min_value, t->total, st->unit) : "minimum";
#define FMT(v, buf) pprof_scaled_label((v), st->unit, unit, (buf), sizeof(buf))

  if (p->n_mappings > 0 && *p->mappings[0].file)
    r |= buf_printf(out, "File: %s\n", base_name(p->mappings[0].file));
  if (p->n_mappings > 0 && *p->mappings[0].build_id)
    r |= buf_printf(out, "Build ID: %s\n", p->mappings[0].build_id);
  for (size_t i = 0; i < p->n_comments; i++)
    if (p->comments[i][0] != '#')
      r |= buf_printf(out, "%s\n", p->comments[i]);
  if (*st->type)
    r |= buf_printf(out, "Type: %s\n", st->type);
  if (p->time_nanos != 0)
    r |= buf_printf(out, "Time: %s\n", pprof_format_time(p->time_nanos, tbuf, sizeof(tbuf)));
  if (p->duration_nanos != 0) {
    const char *total_unit;
    double total_nanos = pprof_scale(t->total, st->unit, "nanoseconds", &total_unit);
    char ratio[64] = "";
    if (strcmp(total_unit, "ns") == 0 && (int64_t)total_nanos != 0)
      snprintf(ratio, sizeof(ratio), "(%s)",
               pprof_percentage((int64_t)total_nanos, p->duration_nanos, e, sizeof(e)));
    r |= buf_printf(out, "Duration: %s, Total samples = %s %s\n",
                    pprof_scaled_label(p->duration_nanos, "nanoseconds", "auto", a, sizeof(a)),
                    FMT(t->total, b), ratio);
  }
  pprof_percentage(flat_sum, t->total, c, sizeof(c));
  r |= buf_printf(out, "Showing nodes accounting for %s, %s of %s total\n", FMT(flat_sum, a),
                  c + strspn(c, " "), FMT(t->total, b));
  if (t->total != 0) {
    if (t->dropped_nodes > 0)
      r |= buf_printf(out, "Dropped %zu node%s (cum <= %s)\n", t->dropped_nodes,
                      t->dropped_nodes > 1 ? "s" : "",
                      FMT(pp_abs(pp_d2i((double)t->total * node_fraction)), a));
    if (t->n_rows > 0 && t->n_rows < t->orig_count)
      r |= buf_printf(out, "Showing top %zu nodes out of %zu\n", t->n_rows, t->orig_count);
  }
  r |= buf_printf(out, "%10s %5s%% %5s%% %10s %5s%%\n", "flat", "flat", "sum", "cum", "cum");
  flat_sum = 0;
  for (size_t i = 0; i < t->n_rows; i++) {
    const struct pprof_top_row *row = &t->rows[i];
    const char *inl = pprof_inline_label(row->inl);
    flat_sum = pp_add(flat_sum, row->flat);
    r |= buf_printf(out, "%10s %s %s %10s %s  %s%s%s\n", FMT(row->flat, a),
                    pprof_percentage(row->flat, t->total, b, sizeof(b)),
                    pprof_percentage(flat_sum, t->total, c, sizeof(c)), FMT(row->cum, d),
                    pprof_percentage(row->cum, t->total, e, sizeof(e)),
                    nodes->nodes[row->node].name, *inl ? " " : "", inl);
  }
#undef FMT
  return r < 0 ? -EFBIG : 0;
}

json_t *pprof_json_string(const char *s) {
  json_t *j = json_string(s);
  struct buf b;
  const uint8_t *p = (const uint8_t *)s;

  if (j)
    return j;
  buf_init(&b, SIZE_MAX);
  while (*p) {
    uint8_t c = *p;
    size_t n = c < 0x80             ? 1
               : (c & 0xe0) == 0xc0 ? 2
               : (c & 0xf0) == 0xe0 ? 3
               : (c & 0xf8) == 0xf0 ? 4
                                    : 0;
    bool ok = n > 0 && !(n == 2 && c < 0xc2) && !(n == 4 && c > 0xf4);
    for (size_t i = 1; ok && i < n; i++)
      ok = (p[i] & 0xc0) == 0x80;
    if (ok && n == 3) /* no overlong forms or surrogates */
      ok = !(c == 0xe0 && p[1] < 0xa0) && !(c == 0xed && p[1] >= 0xa0);
    if (ok && n == 4)
      ok = !(c == 0xf0 && p[1] < 0x90) && !(c == 0xf4 && p[1] >= 0x90);
    if (ok) {
      buf_append(&b, p, n);
      p += n;
    } else {
      buf_append(&b, "\xef\xbf\xbd", 3);
      p++;
    }
  }
  buf_terminate(&b);
  j = json_string((const char *)b.data);
  buf_done(&b);
  return j ? j : json_string("?");
}

json_t *pprof_report_json(const struct pprof_profile *p, const struct pprof_nodes *nodes,
                          const struct pprof_top *t) {
  const struct pprof_value_type *st = &p->sample_types[t->sample_index];
  json_t *rows = json_array();

  for (size_t i = 0; i < t->n_rows; i++) {
    const struct pprof_top_row *row = &t->rows[i];
    const struct pprof_node *n = &nodes->nodes[row->node];
    json_t *o = json_pack("{s:o, s:o, s:I, s:I}", "function", pprof_json_string(n->name), "file",
                          pprof_json_string(n->file), "flat", (json_int_t)row->flat, "cum",
                          (json_int_t)row->cum);
    if (row->inl != PPROF_INLINE_NONE)
      json_object_set_new(o, "inline",
                          json_string(row->inl == PPROF_INLINE_FULL ? "inline" : "partial"));
    json_array_append_new(rows, o);
  }
  return json_pack("{s:o, s:o, s:i, s:I, s:o}", "sample_type", pprof_json_string(st->type), "unit",
                   pprof_json_string(st->unit), "sample_index", t->sample_index, "total",
                   (json_int_t)t->total, "rows", rows);
}
