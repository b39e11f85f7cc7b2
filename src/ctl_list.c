/* pprofctl list: captures matching a filter, newest first. */
#include "config.h"

#include "ctl.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT_LIMIT 100
#define ERROR_COLUMN_MAX 60

struct list_ctx {
  json_t *rows;
  struct table *t;
  int64_t max_rows; /* rows to show; one more is fetched to detect truncation */
  int64_t shown;
  bool truncated;
};

/* s cut to at most max display characters, ending in "..." when cut. */
static char *shorten(const char *s, size_t max) {
  size_t chars = 0, cut = 0;

  for (size_t i = 0; s[i]; i++) {
    if (((unsigned char)s[i] & 0xc0) == 0x80)
      continue;
    if (chars == max - 3)
      cut = i;
    chars++;
  }
  if (chars <= max)
    return xstrdup(s);
  return xasprintf("%.*s...", (int)cut, s);
}

static int add_row(const struct capture_row *r, void *userdata) {
  struct list_ctx *x = userdata;
  char id[24], when[32], size[32], dur[32], *err;
  const char *cells[10];

  if (x->shown == x->max_rows) {
    x->truncated = true;
    return -ECANCELED;
  }
  x->shown++;
  if (x->rows) {
    json_array_append_new(x->rows, capture_row_to_json(r));
    return 0;
  }
  snprintf(id, sizeof(id), "%" PRId64, r->id);
  if (r->error) {
    err = shorten(r->error, ERROR_COLUMN_MAX);
  } else if (r->analysis_error) {
    char *full = xasprintf("analysis: %s", r->analysis_error);
    err = shorten(full, ERROR_COLUMN_MAX);
    free(full);
  } else {
    err = NULL;
  }
  cells[0] = id;
  cells[1] = ctl_time(r->started_at_ms, when, sizeof(when));
  cells[2] = r->target;
  cells[3] = r->instance;
  cells[4] = r->type;
  cells[5] = capture_status_name(r->status);
  cells[6] = format_size((uint64_t)r->size_bytes, size, sizeof(size));
  cells[7] = format_duration_ms(r->duration_ms, dur, sizeof(dur));
  cells[8] = r->analysis_status;
  cells[9] = err;
  table_add_row(x->t, cells);
  free(err);
  return 0;
}

static int run(struct ctl *ctl, int argc, char **argv) {
  static const char *const headers[] = {"ID",     "STARTED", "TARGET",   "INSTANCE", "TYPE",
                                        "STATUS", "SIZE",    "DURATION", "ANALYSIS", "ERROR"};
  struct option *opts = ctl_options_merge(ctl_filter_longopts, NULL);
  struct ctl_filter cf;
  struct list_ctx x;
  struct store *s;
  int opt, r;

  memset(&x, 0, sizeof(x));
  ctl_filter_init(&cf);
  for (;;) {
    opt = getopt_long(argc, argv, ":l:", opts, NULL);
    if (opt == -1)
      break;
    r = ctl_filter_option(ctl, &cf, opt, optarg);
    if (r < 0) {
      r = CTL_EXIT_USAGE;
      goto out;
    }
    if (r == 0) {
      r = ctl_bad_option(ctl, opt, argv);
      goto out;
    }
  }
  if (optind < argc) {
    r = ctl_usage_error(ctl->cmd, "unexpected argument '%s'", argv[optind]);
    goto out;
  }
  /* Tables stop at 100 rows unless told otherwise; JSON is complete. */
  x.max_rows =
      cf.f.limit > 0 ? cf.f.limit : (cf.f.limit < 0 && !ctl->json ? LIST_DEFAULT_LIMIT : -1);
  cf.f.limit = x.max_rows > 0 ? x.max_rows + 1 : 0;
  s = ctl_store(ctl);
  if (!s) {
    r = CTL_EXIT_NOTFOUND;
    goto out;
  }
  if (ctl->json) {
    x.rows = json_array();
  } else {
    x.t = table_new(ARRAY_SIZE(headers), headers);
    table_align_right(x.t, 0);
    table_align_right(x.t, 6);
    table_align_right(x.t, 7);
  }
  r = store_list(s, &cf.f, add_row, &x);
  if (r < 0 && r != -ECANCELED) {
    r = ctl_error("%s", store_errmsg(s));
    goto out;
  }
  if (ctl->json) {
    r = ctl_print_json(ctl, x.rows);
    x.rows = NULL;
    if (r == CTL_EXIT_OK && x.shown == 0)
      r = CTL_EXIT_NOTFOUND;
    goto out;
  }
  if (x.shown == 0) {
    r = ctl_error("no captures match");
    goto out;
  }
  table_print(x.t, ctl->out);
  if (x.truncated)
    fprintf(stderr,
            "pprofctl: showing the newest %" PRId64
            " matching captures; use --limit N for more (0 = all)\n",
            x.shown);
  r = CTL_EXIT_OK;
out:
  json_decref(x.rows);
  table_free(x.t);
  ctl_filter_done(&cf);
  free(opts);
  return r;
}

const struct ctl_command ctl_cmd_list = {
    .name = "list",
    .usage = "list [--target NAME] [--instance NAME] [--type TYPE] [--since T] [--until T] "
             "[-l KEY=VALUE]... [--status ok|failed] [--limit N] [--json]",
    .summary = "list captures, newest first",
    .run = run,
};
