/* pprofctl merge: the raw profiles of every capture a filter selects,
 * merged into one gzip'd pprof file that `go tool pprof` opens (samples
 * summed by stack and labels, locations/functions/mappings remapped). */
#include "config.h"

#include "ctl.h"
#include "ctl_pprof.h"
#include "pprof_merge.h"
#include "pprof_summary.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int run(struct ctl *ctl, int argc, char **argv) {
  static const struct option mine[] = {
      {"output", required_argument, NULL, 'o'},
      {NULL, 0, NULL, 0},
  };
  struct option *opts = ctl_options_merge(mine, ctl_filter_longopts);
  const char *output = NULL;
  struct pprof_merge *m = NULL;
  struct ctl_filter cf;
  struct store *s;
  struct buf out;
  int64_t *ids = NULL;
  size_t n = 0, skipped = 0;
  int opt, r = CTL_EXIT_OK;

  ctl_filter_init(&cf);
  buf_init(&out, SIZE_MAX);
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
      r = CTL_EXIT_OK;
      continue;
    }
    if (opt != 'o') {
      r = ctl_bad_option(ctl, opt, argv);
      goto out;
    }
    output = optarg;
  }
  if (optind < argc) {
    r = ctl_usage_error(ctl->cmd, "unexpected argument '%s' (select captures with filters)",
                        argv[optind]);
    goto out;
  }
  if (!cf.f.type) {
    r = ctl_usage_error(ctl->cmd, "--type TYPE is required (profiles of one kind merge)");
    goto out;
  }
  if (!output) {
    r = ctl_usage_error(ctl->cmd, "-o FILE is required (- for stdout)");
    goto out;
  }
  if (strcmp(output, "-") == 0 && isatty(STDOUT_FILENO)) {
    r = ctl_error("refusing to write a gzip'd profile to a terminal; use -o FILE");
    goto out;
  }
  s = ctl_store(ctl);
  if (!s) {
    r = CTL_EXIT_NOTFOUND;
    goto out;
  }
  r = ctl_pprof_select(s, &cf.f, &ids, &n, &skipped);
  if (r != CTL_EXIT_OK)
    goto out;
  if (n == 0) {
    r = ctl_error("no analysed pprof capture matches%s",
                  skipped ? " (the matching captures failed or could not be analysed)" : "");
    goto out;
  }
  m = pprof_merge_new();
  r = ctl_pprof_merge_ids(s, m, ids, n, false, "merging");
  if (r != CTL_EXIT_OK)
    goto out;
  if (pprof_merge_write(m, &out) < 0) {
    r = ctl_error("cannot serialise the merged profile");
    goto out;
  }
  r = ctl_pprof_write_file(ctl, output, &out);
  if (r != CTL_EXIT_OK)
    goto out;
  if (ctl->json) {
    r = ctl_print_json(ctl, json_pack("{s:I, s:I, s:s, s:I}", "captures", (json_int_t)n, "skipped",
                                      (json_int_t)skipped, "output", output, "bytes",
                                      (json_int_t)out.len));
  } else {
    fprintf(stderr, "merged %zu capture%s into %s (%zu bytes)", n, n == 1 ? "" : "s",
            strcmp(output, "-") == 0 ? "stdout" : output, out.len);
    if (skipped)
      fprintf(stderr, "; skipped %zu that failed or could not be analysed", skipped);
    fputc('\n', stderr);
  }
out:
  pprof_merge_free(m);
  buf_done(&out);
  free(ids);
  ctl_filter_done(&cf);
  free(opts);
  return r;
}

const struct ctl_command ctl_cmd_merge = {
    .name = "merge",
    .usage = "merge --type TYPE [--target NAME] [--instance NAME] [--since T] [--until T] "
             "[-l KEY=VALUE]... [--limit N] -o FILE",
    .summary = "merge the profiles of matching captures into one pprof file",
    .run = run,
};
