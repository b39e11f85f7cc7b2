/* pprofctl stats: what the store holds and what it costs on disk. */
#include "config.h"

#include "ctl.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static uint64_t saved(uint64_t from, uint64_t to) {
  return from > to ? from - to : 0;
}

static json_t *time_or_null(int64_t ms) {
  char buf[32];
  return ms == INT64_MIN ? json_null() : json_string(ctl_time(ms, buf, sizeof(buf)));
}

static int print_json(struct ctl *ctl, const char *path, const struct store_stats *st) {
  json_t *types = json_object();

  for (size_t i = 0; i < st->n_types; i++)
    json_object_set_new(types, st->types[i].type,
                        json_pack("{s:I, s:I, s:I, s:I}", "total",
                                  (json_int_t)(st->types[i].ok + st->types[i].failed), "ok",
                                  (json_int_t)st->types[i].ok, "failed",
                                  (json_int_t)st->types[i].failed, "received_bytes",
                                  (json_int_t)st->types[i].received_bytes));
  return ctl_print_json(
      ctl,
      json_pack("{s:{s:o, s:I, s:I}, s:{s:I, s:I, s:I, s:o}, s:{s:I, s:I, s:I, s:I, s:I},"
                " s:{s:I, s:I}, s:I, s:o, s:o}",
                "database", "path", ctl_json_string(path), "used_bytes",
                (json_int_t)st->db_used_bytes, "file_bytes", (json_int_t)st->db_file_bytes,
                "captures", "total", (json_int_t)st->captures, "ok", (json_int_t)st->captures_ok,
                "failed", (json_int_t)st->captures_failed, "by_type", types, "bytes", "received",
                (json_int_t)st->received_bytes, "distinct", (json_int_t)st->blob_raw_bytes,
                "stored", (json_int_t)st->blob_stored_bytes, "dedup_saved",
                (json_int_t)saved(st->received_bytes, st->blob_raw_bytes), "compression_saved",
                (json_int_t)saved(st->blob_raw_bytes, st->blob_stored_bytes), "blobs", "total",
                (json_int_t)st->blobs, "zstd", (json_int_t)st->blobs_zstd, "labelsets",
                (json_int_t)st->labelsets, "oldest", time_or_null(st->oldest_ms), "newest",
                time_or_null(st->newest_ms)));
}

static void print_text(struct ctl *ctl, const char *path, const struct store_stats *st) {
  static const char *const headers[] = {"TYPE", "CAPTURES", "OK", "FAILED", "RECEIVED"};
  char a[32], b[32], c[32], d[32], e[32];
  FILE *out = ctl->out;
  struct table *t;

  fprintf(out, "database:   %s (%s in use, %s file)\n", path,
          format_size(st->db_used_bytes, a, sizeof(a)),
          format_size(st->db_file_bytes, b, sizeof(b)));
  fprintf(out, "captures:   %" PRId64 " (%" PRId64 " ok, %" PRId64 " failed)\n", st->captures,
          st->captures_ok, st->captures_failed);
  if (st->oldest_ms != INT64_MIN)
    fprintf(out, "time span:  %s .. %s\n", ctl_time(st->oldest_ms, a, sizeof(a)),
            ctl_time(st->newest_ms, b, sizeof(b)));
  fprintf(out, "bodies:     %s received, %s distinct (dedup saved %s), %s stored (zstd saved %s)\n",
          format_size(st->received_bytes, a, sizeof(a)),
          format_size(st->blob_raw_bytes, b, sizeof(b)),
          format_size(saved(st->received_bytes, st->blob_raw_bytes), c, sizeof(c)),
          format_size(st->blob_stored_bytes, d, sizeof(d)),
          format_size(saved(st->blob_raw_bytes, st->blob_stored_bytes), e, sizeof(e)));
  fprintf(out, "blobs:      %" PRId64 " (%" PRId64 " zstd)\n", st->blobs, st->blobs_zstd);
  fprintf(out, "labelsets:  %" PRId64 "\n", st->labelsets);
  if (st->n_types == 0)
    return;
  fputc('\n', out);
  t = table_new(ARRAY_SIZE(headers), headers);
  for (size_t i = 1; i < ARRAY_SIZE(headers); i++)
    table_align_right(t, i);
  for (size_t i = 0; i < st->n_types; i++) {
    const char *cells[5];
    snprintf(a, sizeof(a), "%" PRId64, st->types[i].ok + st->types[i].failed);
    snprintf(b, sizeof(b), "%" PRId64, st->types[i].ok);
    snprintf(c, sizeof(c), "%" PRId64, st->types[i].failed);
    cells[0] = st->types[i].type;
    cells[1] = a;
    cells[2] = b;
    cells[3] = c;
    cells[4] = format_size(st->types[i].received_bytes, d, sizeof(d));
    table_add_row(t, cells);
  }
  table_print(t, out);
  table_free(t);
}

static int run(struct ctl *ctl, int argc, char **argv) {
  static const struct option opts[] = {
      {"json", no_argument, NULL, CTL_OPT_JSON},
      {NULL, 0, NULL, 0},
  };
  struct store_stats st;
  struct store *s;
  const char *path;
  int opt, r;

  for (;;) {
    opt = getopt_long(argc, argv, ":", opts, NULL);
    if (opt == -1)
      break;
    if (opt != CTL_OPT_JSON)
      return ctl_bad_option(ctl, opt, argv);
    ctl->json = true;
  }
  if (optind < argc)
    return ctl_usage_error(ctl->cmd, "unexpected argument '%s'", argv[optind]);
  s = ctl_store(ctl);
  if (!s)
    return CTL_EXIT_NOTFOUND;
  if (store_stats(s, &st) < 0)
    return ctl_error("%s", store_errmsg(s));
  path = sqlite3_db_filename(store_db(s), "main");
  if (ctl->json) {
    r = print_json(ctl, path ? path : "", &st);
  } else {
    print_text(ctl, path ? path : "", &st);
    r = CTL_EXIT_OK;
  }
  store_stats_done(&st);
  return r;
}

const struct ctl_command ctl_cmd_stats = {
    .name = "stats",
    .usage = "stats [--json]",
    .summary = "captures by type and status, bytes received vs stored, database size",
    .run = run,
};
