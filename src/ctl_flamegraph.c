/* pprofctl flamegraph: an interactive SVG flame graph of one capture, or
 * of every capture a filter selects (summed). */
#include "config.h"

#include "ctl.h"
#include "ctl_pprof.h"
#include "flamegraph.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum {
  OPT_SAMPLE_INDEX = CTL_OPT_FIRST_FREE,
  OPT_ICICLE,
  OPT_TITLE,
  OPT_WIDTH,
};

static int add_capture(struct store *s, struct flamegraph *fg, int64_t id, const char *want,
                       char **ret_type) {
  struct pprof_profile *p = NULL;
  int si, r;

  r = ctl_pprof_load(s, id, &p);
  if (r != CTL_EXIT_OK)
    return r;
  /* Every capture contributes the sample type the first one chose. */
  r = ctl_pprof_sample_index(p, want ? want : *ret_type, id, &si);
  if (r == CTL_EXIT_OK && flamegraph_add(fg, p, si) < 0)
    r = ctl_error("capture %" PRId64 ": sample type %s is in %s, unlike the captures before it", id,
                  p->sample_types[si].type, p->sample_types[si].unit);
  if (r == CTL_EXIT_OK && !*ret_type)
    *ret_type = xstrdup(p->sample_types[si].type);
  pprof_profile_free(p);
  return r;
}

static char *default_title(struct store *s, int64_t id, const struct ctl_filter *cf, size_t n) {
  struct capture_row row;
  char t[32];
  char *title;

  if (id > 0) {
    if (store_get(s, id, &row) < 0)
      return xasprintf("capture %" PRId64, id);
    title = xasprintf("%s %s %s \xc2\xb7 %s \xc2\xb7 capture %" PRId64, row.target, row.instance,
                      row.type, ctl_time(row.started_at_ms, t, sizeof(t)), id);
    capture_row_done(&row);
    return title;
  }
  return xasprintf("%s%s%s \xc2\xb7 %zu captures", cf->f.target ? cf->f.target : "all targets",
                   cf->f.type ? " " : "", cf->f.type ? cf->f.type : "", n);
}

static int run(struct ctl *ctl, int argc, char **argv) {
  static const struct option mine[] = {
      {"output", required_argument, NULL, 'o'},
      {"sample-index", required_argument, NULL, OPT_SAMPLE_INDEX},
      {"icicle", no_argument, NULL, OPT_ICICLE},
      {"title", required_argument, NULL, OPT_TITLE},
      {"width", required_argument, NULL, OPT_WIDTH},
      {NULL, 0, NULL, 0},
  };
  struct option *opts = ctl_options_merge(mine, ctl_filter_longopts);
  const char *output = NULL, *want = NULL, *title = NULL;
  struct flamegraph *fg = flamegraph_new();
  struct flamegraph_opts fo;
  struct ctl_progress pr;
  struct ctl_filter cf;
  struct store *s;
  struct buf out;
  char *type = NULL, *auto_title = NULL;
  int64_t id = 0, width = 1200, *ids = NULL;
  size_t n = 0, skipped = 0;
  bool filtered = false;
  int opt, r = CTL_EXIT_OK;

  ctl_filter_init(&cf);
  buf_init(&out, SIZE_MAX);
  flamegraph_opts_default(&fo);
  for (;;) {
    opt = getopt_long(argc, argv, ":o:l:", opts, NULL);
    if (opt == -1)
      break;
    r = ctl_filter_option(ctl, &cf, opt, optarg);
    if (r < 0) {
      r = CTL_EXIT_USAGE;
      goto out;
    }
    if (r == 1) {
      filtered = filtered || opt != CTL_OPT_JSON;
      r = CTL_EXIT_OK;
      continue;
    }
    switch (opt) {
    case 'o':
      output = optarg;
      break;
    case OPT_SAMPLE_INDEX:
      want = optarg;
      break;
    case OPT_ICICLE:
      fo.icicle = true;
      break;
    case OPT_TITLE:
      title = optarg;
      break;
    case OPT_WIDTH:
      if (parse_int64(optarg, &width) < 0 || width < 200 || width > 100000) {
        r = ctl_usage_error(ctl->cmd, "--width needs a number of pixels from 200 to 100000");
        goto out;
      }
      break;
    default:
      r = ctl_bad_option(ctl, opt, argv);
      goto out;
    }
  }
  if (!output) {
    r = ctl_usage_error(ctl->cmd, "-o FILE.svg is required (- for stdout)");
    goto out;
  }
  if (argc - optind > 1) {
    r = ctl_usage_error(ctl->cmd, "too many arguments");
    goto out;
  }
  if (argc - optind == 1) {
    if (filtered) {
      r = ctl_usage_error(ctl->cmd, "a capture ID and filters do not go together");
      goto out;
    }
    r = ctl_parse_id(ctl, argv[optind], &id);
    if (r != 0)
      goto out;
  } else if (!filtered) {
    r = ctl_usage_error(ctl->cmd, "give a capture ID or filters (--type, --target, ...)");
    goto out;
  }
  s = ctl_store(ctl);
  if (!s) {
    r = CTL_EXIT_NOTFOUND;
    goto out;
  }
  if (id > 0) {
    r = add_capture(s, fg, id, want, &type);
    n = 1;
  } else {
    r = ctl_pprof_select(s, &cf.f, &ids, &n, &skipped);
    if (r == CTL_EXIT_OK && n == 0)
      r = ctl_error("no analysed pprof capture matches");
    ctl_progress_init(&pr, "reading", n);
    for (size_t i = 0; i < n && r == CTL_EXIT_OK; i++) {
      ctl_progress_step(&pr, i);
      r = add_capture(s, fg, ids[i], want, &type);
    }
    ctl_progress_end(&pr);
  }
  if (r != CTL_EXIT_OK)
    goto out;
  auto_title = default_title(s, id, &cf, n);
  fo.title = title ? title : auto_title;
  fo.width = (int)width;
  if (flamegraph_render(fg, &fo, &out) < 0) {
    r = ctl_error("cannot render the flame graph");
    goto out;
  }
  r = ctl_pprof_write_file(ctl, output, &out);
  if (r == CTL_EXIT_OK && ctl->json)
    r = ctl_print_json(ctl,
                       json_pack("{s:I, s:s, s:o, s:I, s:I}", "captures", (json_int_t)n, "output",
                                 output, "sample_type", ctl_json_string(type), "total",
                                 (json_int_t)flamegraph_total(fg), "bytes", (json_int_t)out.len));
out:
  free(type);
  free(auto_title);
  free(ids);
  buf_done(&out);
  flamegraph_free(fg);
  ctl_filter_done(&cf);
  free(opts);
  return r;
}

const struct ctl_command ctl_cmd_flamegraph = {
    .name = "flamegraph",
    .usage = "flamegraph ID|FILTERS -o FILE.svg [--sample-index NAME|N] [--icicle] "
             "[--title TEXT] [--width PIXELS]\n"
             "       (FILTERS: --type TYPE --target NAME --instance NAME --since T --until T "
             "-l KEY=VALUE --limit N)",
    .summary = "write an interactive SVG flame graph of a capture or of matching captures",
    .run = run,
};
