/* pprofctl import: store a profile or trace file as a capture, analysed
 * exactly as the daemon analyses what it fetches. */
#include "config.h"

#include "analysis.h"
#include "ctl.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMPORT_MAX_BYTES (1024ULL * 1024 * 1024)

enum {
  OPT_TIME = CTL_OPT_FIRST_FREE,
};

static int read_input(const char *path, struct buf *b) {
  uint8_t chunk[65536];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int r = 0;

  if (fd < 0)
    return ctl_error("%s: %s", path, strerror(errno));
  buf_init(b, IMPORT_MAX_BYTES);
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      r = ctl_error("%s: %s", path, strerror(errno));
      break;
    }
    if (n == 0)
      break;
    if (buf_append(b, chunk, (size_t)n) < 0) {
      r = ctl_error("%s: larger than the import limit of 1 GiB", path);
      break;
    }
  }
  close(fd);
  if (r != 0)
    buf_done(b);
  return r;
}

static int cmp_label(const void *a, const void *b) {
  return strcmp(((const struct cfg_pair *)a)->key, ((const struct cfg_pair *)b)->key);
}

static int add_label(struct ctl *ctl, struct capture *c, const char *arg) {
  static const char *const reserved[] = {"target", "instance", "type"};
  const char *eq = strchr(arg, '=');
  char *key;

  if (!eq || eq == arg)
    return ctl_usage_error(ctl->cmd, "-l needs KEY=VALUE, got '%s'", arg);
  key = xstrndup(arg, (size_t)(eq - arg));
  for (size_t i = 0; i < ARRAY_SIZE(reserved); i++) {
    if (strcmp(key, reserved[i]) == 0) {
      free(key);
      return ctl_usage_error(ctl->cmd, "label key '%s' is reserved; use --%s", reserved[i],
                             reserved[i]);
    }
  }
  for (size_t i = 0; i < c->n_labels; i++) {
    if (strcmp(c->labels[i].key, key) == 0) {
      free(key);
      return ctl_usage_error(ctl->cmd, "label '%s' given twice", c->labels[i].key);
    }
  }
  c->labels = xreallocarray(c->labels, c->n_labels + 1, sizeof(*c->labels));
  c->labels[c->n_labels].key = key;
  c->labels[c->n_labels].value = xstrdup(eq + 1);
  c->n_labels++;
  return 0;
}

static void analysis_options(struct ctl *ctl, struct analysis_opts *o) {
  const struct cfg *cfg = NULL;

  analysis_opts_default(o);
  /* The daemon's analysis settings, when a configuration is in use (with
   * -d and no -c, none is). */
  if ((ctl->config_path || ctl->cfg_loaded) && ctl_config(ctl, &cfg) == 0 && cfg) {
    o->min_function_share = cfg->collector.min_function_share;
    o->max_functions = cfg->collector.max_functions;
    o->max_decompressed = (size_t)MIN(cfg->collector.max_decompressed_size, (uint64_t)SIZE_MAX);
  }
}

static int parse_args(struct ctl *ctl, int argc, char **argv, struct capture *c,
                      const char **ret_file) {
  static const struct option opts[] = {
      {"target", required_argument, NULL, CTL_OPT_TARGET},
      {"instance", required_argument, NULL, CTL_OPT_INSTANCE},
      {"type", required_argument, NULL, CTL_OPT_TYPE},
      {"time", required_argument, NULL, OPT_TIME},
      {"label", required_argument, NULL, 'l'},
      {"json", no_argument, NULL, CTL_OPT_JSON},
      {NULL, 0, NULL, 0},
  };
  int opt, r;

  for (;;) {
    opt = getopt_long(argc, argv, ":l:", opts, NULL);
    if (opt == -1)
      break;
    switch (opt) {
    case CTL_OPT_TARGET:
      free(c->target);
      c->target = xstrdup(optarg);
      break;
    case CTL_OPT_INSTANCE:
      free(c->instance);
      c->instance = xstrdup(optarg);
      break;
    case CTL_OPT_TYPE:
      free(c->type);
      c->type = xstrdup(optarg);
      break;
    case OPT_TIME:
      if (parse_time(optarg, ctl->now_ms, &c->started_at_ms) < 0)
        return ctl_usage_error(ctl->cmd,
                               "--time: invalid time '%s' (expected RFC 3339, a date, 'now' or "
                               "a duration before now like 2h)",
                               optarg);
      break;
    case 'l':
      r = add_label(ctl, c, optarg);
      if (r != 0)
        return r;
      break;
    case CTL_OPT_JSON:
      ctl->json = true;
      break;
    default:
      return ctl_bad_option(ctl, opt, argv);
    }
  }
  if (optind != argc - 1)
    return ctl_usage_error(ctl->cmd, optind >= argc ? "missing FILE" : "too many arguments");
  if (!c->target || !*c->target)
    return ctl_usage_error(ctl->cmd, "--target NAME is required");
  if (!c->type || !*c->type)
    return ctl_usage_error(ctl->cmd, "--type TYPE is required");
  if (!*c->instance)
    return ctl_usage_error(ctl->cmd, "--instance must not be empty");
  *ret_file = argv[optind];
  return 0;
}

static int run(struct ctl *ctl, int argc, char **argv) {
  struct capture *c = capture_new();
  struct analysis_opts ao;
  struct capture_row row;
  const char *file = NULL;
  char *abs = NULL;
  struct store *s;
  int64_t id;
  int r;

  c->instance = xstrdup("import");
  c->started_at_ms = ctl->now_ms;
  c->status = CAPTURE_OK;
  r = parse_args(ctl, argc, argv, c, &file);
  if (r != 0)
    goto out;
  if (c->n_labels > 1)
    qsort(c->labels, c->n_labels, sizeof(*c->labels), cmp_label);
  buf_done(&c->body);
  r = read_input(file, &c->body);
  if (r != 0)
    goto out;
  abs = realpath(file, NULL);
  c->url = xasprintf("file://%s", abs ? abs : file);
  if (store_sha256(c->body.data, c->body.len, c->sha256) < 0) {
    r = ctl_error("%s: cannot compute SHA-256", file);
    goto out;
  }
  /* Opening the store first also settles the configuration question. */
  s = ctl_store_rw(ctl);
  if (!s) {
    r = CTL_EXIT_NOTFOUND;
    goto out;
  }
  analysis_options(ctl, &ao);
  c->analysis = analysis_run(c->type, c->body.data, c->body.len, &ao);
  if (store_put_capture(s, c, &id) < 0) {
    r = ctl_error("%s: cannot store: %s", file, store_errmsg(s));
    goto out;
  }
  if (!ctl->json) {
    fprintf(ctl->out, "%" PRId64 "\n", id);
    r = CTL_EXIT_OK;
    goto out;
  }
  if (store_get(s, id, &row) < 0) {
    r = ctl_error("%s", store_errmsg(s));
    goto out;
  }
  r = ctl_print_json(ctl, capture_row_to_json(&row));
  capture_row_done(&row);
out:
  free(abs);
  capture_free(c);
  return r;
}

const struct ctl_command ctl_cmd_import = {
    .name = "import",
    .usage = "import FILE --target NAME --type TYPE [--instance NAME] [--time T] "
             "[-l KEY=VALUE]... [--json]",
    .summary = "store a profile or trace file as a capture (analysed like the daemon does)",
    .run = run,
};
