/* pprofctl targets: every (target, instance) with the last capture of
 * each profile type, i.e. the health of collection at a glance. */
#include "config.h"

#include "ctl.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct targets_ctx {
  struct ctl *ctl;
  json_t *list;    /* --json: one object per (target, instance) */
  json_t *current; /* its "types" object */
  struct table *t;
  size_t n;
};

static json_t *time_or_null(int64_t ms) {
  char buf[32];
  return ms == INT64_MIN ? json_null() : json_string(ctl_time(ms, buf, sizeof(buf)));
}

static void add_json(struct targets_ctx *x, const struct capture_row *r, int64_t last_ok_ms) {
  json_t *last =
      json_array_size(x->list) ? json_array_get(x->list, json_array_size(x->list) - 1) : NULL;
  json_t *type;

  if (!last || strcmp(json_string_value(json_object_get(last, "target")), r->target) != 0 ||
      strcmp(json_string_value(json_object_get(last, "instance")), r->instance) != 0) {
    json_t *labels = json_object();
    for (size_t i = 0; i < r->n_labels; i++)
      json_object_set_new(labels, r->labels[i].key, ctl_json_string(r->labels[i].value));
    last = json_object();
    json_object_set_new(last, "target", ctl_json_string(r->target));
    json_object_set_new(last, "instance", ctl_json_string(r->instance));
    json_object_set_new(last, "labels", labels);
    json_object_set_new(last, "types", json_object());
    json_array_append_new(x->list, last);
  }
  type = json_object();
  json_object_set_new(type, "id", json_integer(r->id));
  json_object_set_new(type, "started_at", time_or_null(r->started_at_ms));
  json_object_set_new(type, "status", json_string(capture_status_name(r->status)));
  json_object_set_new(type, "http_status",
                      r->http_status > 0 ? json_integer(r->http_status) : json_null());
  json_object_set_new(type, "error", ctl_json_string(r->error));
  json_object_set_new(type, "last_ok", time_or_null(last_ok_ms));
  json_object_set_new(json_object_get(last, "types"), r->type, type);
}

static int add_series(const struct capture_row *r, int64_t last_ok_ms, void *userdata) {
  struct targets_ctx *x = userdata;
  char when[32], ok[32];
  const char *cells[7];

  x->n++;
  if (x->list) {
    add_json(x, r, last_ok_ms);
    return 0;
  }
  cells[0] = r->target;
  cells[1] = r->instance;
  cells[2] = r->type;
  cells[3] = ctl_time(r->started_at_ms, when, sizeof(when));
  cells[4] = capture_status_name(r->status);
  cells[5] = last_ok_ms == INT64_MIN ? "never" : ctl_time(last_ok_ms, ok, sizeof(ok));
  cells[6] = r->error;
  table_add_row(x->t, cells);
  return 0;
}

static int run(struct ctl *ctl, int argc, char **argv) {
  static const char *const headers[] = {"TARGET", "INSTANCE", "TYPE", "LAST",
                                        "STATUS", "LAST OK",  "ERROR"};
  static const struct option opts[] = {
      {"json", no_argument, NULL, CTL_OPT_JSON},
      {NULL, 0, NULL, 0},
  };
  struct targets_ctx x;
  struct store *s;
  int opt, r;

  memset(&x, 0, sizeof(x));
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
  x.ctl = ctl;
  if (ctl->json)
    x.list = json_array();
  else
    x.t = table_new(ARRAY_SIZE(headers), headers);
  if (store_latest(s, add_series, &x) < 0) {
    r = ctl_error("%s", store_errmsg(s));
    goto out;
  }
  if (ctl->json) {
    r = ctl_print_json(ctl, x.list);
    x.list = NULL;
    if (r == CTL_EXIT_OK && x.n == 0)
      r = CTL_EXIT_NOTFOUND;
    goto out;
  }
  if (x.n == 0) {
    r = ctl_error("no captures yet");
    goto out;
  }
  table_print(x.t, ctl->out);
  r = CTL_EXIT_OK;
out:
  json_decref(x.list);
  table_free(x.t);
  return r;
}

const struct ctl_command ctl_cmd_targets = {
    .name = "targets",
    .usage = "targets [--json]",
    .summary = "each target and instance with the last capture of every profile type",
    .run = run,
};
