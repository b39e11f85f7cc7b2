/* pprofctl show: one capture with its stored analysis. */
#include "config.h"

#include "ctl.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void field(FILE *out, const char *name, const char *value) {
  fprintf(out, "%-18s %s\n", name, value && *value ? value : "-");
}

static void print_text(FILE *out, const struct capture_row *r, json_t *analysis) {
  char buf[64], when[32], size[32], *s;

  snprintf(buf, sizeof(buf), "%" PRId64, r->id);
  field(out, "id:", buf);
  field(out, "target:", r->target);
  field(out, "instance:", r->instance);
  field(out, "type:", r->type);
  field(out, "url:", r->url);
  field(out, "started_at:", ctl_time(r->started_at_ms, when, sizeof(when)));
  field(out, "duration:", format_duration_ms(r->duration_ms, buf, sizeof(buf)));
  snprintf(buf, sizeof(buf), "%g", r->requested_seconds);
  field(out, "requested_seconds:", r->requested_seconds > 0 ? buf : NULL);
  field(out, "status:", capture_status_name(r->status));
  snprintf(buf, sizeof(buf), "%ld", r->http_status);
  field(out, "http_status:", r->http_status > 0 ? buf : NULL);
  field(out, "error:", r->error);
  field(out, "content_type:", r->content_type);
  s = xasprintf("%" PRId64 " bytes (%s)", r->size_bytes,
                format_size((uint64_t)r->size_bytes, size, sizeof(size)));
  field(out, "size:", s);
  free(s);
  field(out, "sha256:", r->sha256);
  field(out, "format:", r->format);
  field(out, "analysis_status:", r->analysis_status);
  field(out, "analysis_error:", r->analysis_error);
  fprintf(out, "%-18s", "labels:");
  for (size_t i = 0; i < r->n_labels; i++)
    fprintf(out, " %s=%s", r->labels[i].key, r->labels[i].value);
  fputs(r->n_labels ? "\n" : " -\n", out);
  if (json_is_object(analysis) && json_object_size(analysis) > 0) {
    fputs("analysis:\n", out);
    ctl_render_json_text(out, analysis, 2);
  }
}

static int run(struct ctl *ctl, int argc, char **argv) {
  static const struct option opts[] = {
      {"json", no_argument, NULL, CTL_OPT_JSON},
      {NULL, 0, NULL, 0},
  };
  struct capture_row row;
  json_t *analysis = NULL, *doc;
  json_error_t jerr;
  struct store *s;
  char *text = NULL;
  int64_t id;
  int opt, r;

  for (;;) {
    opt = getopt_long(argc, argv, ":", opts, NULL);
    if (opt == -1)
      break;
    if (opt != CTL_OPT_JSON)
      return ctl_bad_option(ctl, opt, argv);
    ctl->json = true;
  }
  if (optind != argc - 1)
    return ctl_usage_error(ctl->cmd, optind >= argc ? "missing capture ID" : "too many arguments");
  r = ctl_parse_id(ctl, argv[optind], &id);
  if (r != 0)
    return r;
  s = ctl_store(ctl);
  if (!s)
    return CTL_EXIT_NOTFOUND;
  r = store_get(s, id, &row);
  if (r < 0)
    return ctl_error("%s", store_errmsg(s));
  r = store_get_analysis_json(s, id, &text);
  if (r < 0) {
    r = ctl_error("%s", store_errmsg(s));
    goto out;
  }
  analysis = json_loads(text, 0, &jerr);
  if (!analysis) /* not expected: we stored it; show it rather than fail */
    analysis = json_pack("{s:s, s:s}", "unparsable_analysis", text, "error", jerr.text);
  if (ctl->json) {
    doc = capture_row_to_json(&row);
    json_object_set(doc, "analysis", analysis);
    r = ctl_print_json(ctl, doc);
  } else {
    print_text(ctl->out, &row, analysis);
    r = CTL_EXIT_OK;
  }
out:
  json_decref(analysis);
  free(text);
  capture_row_done(&row);
  return r;
}

const struct ctl_command ctl_cmd_show = {
    .name = "show",
    .usage = "show ID [--json]",
    .summary = "show one capture: its fields, labels and stored analysis",
    .run = run,
};
