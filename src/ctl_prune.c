/* pprofctl prune: apply retention by age and size now. */
#include "config.h"

#include "ctl.h"
#include "util.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum {
  OPT_OLDER_THAN = CTL_OPT_FIRST_FREE,
  OPT_MAX_SIZE,
  OPT_DRY_RUN,
};

static int print_result(struct ctl *ctl, const struct store_prune_result *res, bool dry,
                        int64_t age_ms, uint64_t max_size) {
  char before[32], after[32], age[32], size[32];

  if (ctl->json) {
    json_t *o = json_object();
    json_object_set_new(o, "dry_run", json_boolean(dry));
    json_object_set_new(o, "older_than_s",
                        age_ms ? json_real((double)age_ms / 1000.0) : json_null());
    json_object_set_new(o, "max_size_bytes",
                        max_size ? json_integer((json_int_t)max_size) : json_null());
    json_object_set_new(o, "captures_deleted", json_integer(res->captures_deleted));
    json_object_set_new(o, "blobs_deleted", json_integer(res->blobs_deleted));
    json_object_set_new(o, "size_before_bytes", json_integer((json_int_t)res->size_before));
    json_object_set_new(o, "size_after_bytes", json_integer((json_int_t)res->size_after));
    return ctl_print_json(ctl, o);
  }
  fprintf(ctl->out, "%s %" PRId64 " captures and %" PRId64 " blobs (",
          dry ? "would delete" : "deleted", res->captures_deleted, res->blobs_deleted);
  if (age_ms)
    fprintf(ctl->out, "older than %s", format_duration_ms(age_ms, age, sizeof(age)));
  if (age_ms && max_size)
    fputs(", ", ctl->out);
  if (max_size)
    fprintf(ctl->out, "beyond %s", format_size(max_size, size, sizeof(size)));
  fprintf(ctl->out, "); database %s -> %s in use\n",
          format_size(res->size_before, before, sizeof(before)),
          format_size(res->size_after, after, sizeof(after)));
  return CTL_EXIT_OK;
}

static int run(struct ctl *ctl, int argc, char **argv) {
  static const struct option opts[] = {
      {"older-than", required_argument, NULL, OPT_OLDER_THAN},
      {"max-size", required_argument, NULL, OPT_MAX_SIZE},
      {"dry-run", no_argument, NULL, OPT_DRY_RUN},
      {"json", no_argument, NULL, CTL_OPT_JSON},
      {NULL, 0, NULL, 0},
  };
  struct store_prune_result res;
  const struct cfg *cfg = NULL;
  bool dry = false, have_age = false, have_size = false;
  int64_t age_ms = 0;
  uint64_t max_size = 0;
  struct store *s;
  int opt;

  for (;;) {
    opt = getopt_long(argc, argv, ":", opts, NULL);
    if (opt == -1)
      break;
    switch (opt) {
    case OPT_OLDER_THAN:
      if (parse_duration_ms(optarg, &age_ms) < 0)
        return ctl_usage_error(ctl->cmd, "--older-than: invalid duration '%s' (e.g. 14d, 12h)",
                               optarg);
      have_age = true;
      break;
    case OPT_MAX_SIZE:
      if (parse_size(optarg, &max_size) < 0)
        return ctl_usage_error(ctl->cmd, "--max-size: invalid size '%s' (e.g. 20GiB, 500MiB)",
                               optarg);
      have_size = true;
      break;
    case OPT_DRY_RUN:
      dry = true;
      break;
    case CTL_OPT_JSON:
      ctl->json = true;
      break;
    default:
      return ctl_bad_option(ctl, opt, argv);
    }
  }
  if (optind < argc)
    return ctl_usage_error(ctl->cmd, "unexpected argument '%s'", argv[optind]);
  /* Without options, the configured retention applies. */
  if (!have_age && !have_size) {
    if (ctl_config(ctl, &cfg) < 0)
      return CTL_EXIT_NOTFOUND;
    if (cfg) {
      age_ms = cfg->storage.retention_ms;
      max_size = cfg->storage.max_size;
    }
    if (!age_ms && !max_size)
      return ctl_usage_error(ctl->cmd, "nothing to prune by: give --older-than or --max-size%s",
                             cfg ? " (the configuration keeps everything)" : "");
  }
  s = ctl_store_rw(ctl);
  if (!s)
    return CTL_EXIT_NOTFOUND;
  if (store_prune_ex(s, ctl->now_ms, age_ms, max_size, dry ? STORE_PRUNE_DRY_RUN : 0, &res) < 0)
    return ctl_error("%s", store_errmsg(s));
  return print_result(ctl, &res, dry, age_ms, max_size);
}

const struct ctl_command ctl_cmd_prune = {
    .name = "prune",
    .usage = "prune [--older-than DURATION] [--max-size SIZE] [--dry-run] [--json]",
    .summary = "delete old captures now (default: the configured retention)",
    .run = run,
};
