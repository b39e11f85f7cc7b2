/* pprofctl plumbing shared by the commands: which database and config to
 * use, the capture filter options, and usage/error reporting. */
#include "config.h"

#include "ctl.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct option ctl_filter_longopts[] = {
    {"target", required_argument, NULL, CTL_OPT_TARGET},
    {"instance", required_argument, NULL, CTL_OPT_INSTANCE},
    {"type", required_argument, NULL, CTL_OPT_TYPE},
    {"since", required_argument, NULL, CTL_OPT_SINCE},
    {"until", required_argument, NULL, CTL_OPT_UNTIL},
    {"status", required_argument, NULL, CTL_OPT_STATUS},
    {"limit", required_argument, NULL, CTL_OPT_LIMIT},
    {"label", required_argument, NULL, 'l'},
    {"json", no_argument, NULL, CTL_OPT_JSON},
    {NULL, 0, NULL, 0},
};

int ctl_error(const char *fmt, ...) {
  va_list ap;

  fputs("pprofctl: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return CTL_EXIT_NOTFOUND;
}

int ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...) {
  va_list ap;

  fprintf(stderr, "pprofctl%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (cmd)
    fprintf(stderr, "usage: pprofctl [GLOBAL OPTIONS] %s\n", cmd->usage);
  else
    fputs("Try 'pprofctl help'.\n", stderr);
  return CTL_EXIT_USAGE;
}

int ctl_bad_option(struct ctl *ctl, int opt, char **argv) {
  const char *arg = optind > 0 ? argv[optind - 1] : "?";

  if (opt == ':')
    return ctl_usage_error(ctl->cmd, "option '%s' needs a value", arg);
  if (optopt && optopt < 256 && arg[0] == '-' && arg[1] != '-')
    return ctl_usage_error(ctl->cmd, "unknown option '-%c'", optopt);
  return ctl_usage_error(ctl->cmd, "unknown option '%s'", arg);
}

struct option *ctl_options_merge(const struct option *a, const struct option *b) {
  size_t na = 0, nb = 0;
  struct option *o;

  while (a && a[na].name)
    na++;
  while (b && b[nb].name)
    nb++;
  o = xcalloc(na + nb + 1, sizeof(*o));
  if (na)
    memcpy(o, a, na * sizeof(*o));
  if (nb)
    memcpy(o + na, b, nb * sizeof(*o));
  return o;
}

int ctl_parse_id(struct ctl *ctl, const char *arg, int64_t *ret) {
  int64_t id;

  if (parse_int64(arg, &id) < 0 || id <= 0)
    return ctl_usage_error(ctl->cmd, "'%s' is not a capture id (a positive number)", arg);
  *ret = id;
  return 0;
}

int ctl_config(struct ctl *ctl, const struct cfg **ret) {
  const char *path = ctl->config_path;
  char *err = NULL;
  int r;

  if (ctl->cfg_loaded) {
    *ret = ctl->cfg;
    return 0;
  }
  if (!path) {
    /* The default file is optional: no file, no defaults. */
    if (access(CONFIGFILE, F_OK) < 0) {
      ctl->cfg_loaded = true;
      *ret = NULL;
      return 0;
    }
    path = CONFIGFILE;
  }
  r = cfg_load(path, CFG_LOAD_SKIP_SECRETS, &ctl->cfg, &err);
  if (r < 0) {
    ctl_error("%s", err ? err : strerror(-r));
    free(err);
    return r;
  }
  ctl->cfg_loaded = true;
  *ret = ctl->cfg;
  return 0;
}

static const char *db_path(struct ctl *ctl, int *ret_r) {
  const struct cfg *cfg = NULL;

  *ret_r = 0;
  if (ctl->db_path)
    return ctl->db_path;
  *ret_r = ctl_config(ctl, &cfg);
  if (*ret_r < 0)
    return NULL;
  if (cfg && cfg->storage.path && *cfg->storage.path)
    return cfg->storage.path;
  return STATEDIR "/pprofd.db";
}

static struct store *open_store(struct ctl *ctl, bool rw) {
  const char *path;
  char *err = NULL;
  int r;

  if (ctl->store && (ctl->store_rw || !rw))
    return ctl->store;
  ctl->store = store_close(ctl->store);
  path = db_path(ctl, &r);
  if (!path)
    return NULL;
  r = store_open(path, rw ? 0 : STORE_READONLY, &ctl->store, &err);
  if (r < 0) {
    ctl_error("%s", err ? err : strerror(-r));
    free(err);
    ctl->store = NULL;
    return NULL;
  }
  ctl->store_rw = rw;
  return ctl->store;
}

void ctl_done(struct ctl *ctl) {
  ctl->store = store_close(ctl->store);
  ctl->cfg = cfg_free(ctl->cfg);
}

struct store *ctl_store(struct ctl *ctl) {
  return open_store(ctl, false);
}

struct store *ctl_store_rw(struct ctl *ctl) {
  return open_store(ctl, true);
}

void ctl_filter_init(struct ctl_filter *cf) {
  memset(cf, 0, sizeof(*cf));
  store_filter_init(&cf->f);
  cf->f.labels = cf->labels;
  cf->f.limit = -1; /* not given: unlimited for the store, commands may pick a default */
}

void ctl_filter_done(struct ctl_filter *cf) {
  for (size_t i = 0; i < cf->n_labels; i++) {
    free(cf->labels[i].key);
    free(cf->labels[i].value);
  }
  cf->n_labels = 0;
  cf->f.n_labels = 0;
}

static int add_label(struct ctl *ctl, struct ctl_filter *cf, const char *arg) {
  const char *eq = strchr(arg, '=');

  if (!eq || eq == arg)
    return ctl_usage_error(ctl->cmd, "-l needs KEY=VALUE, got '%s'", arg);
  if (cf->n_labels == ARRAY_SIZE(cf->labels))
    return ctl_usage_error(ctl->cmd, "too many -l options (at most %zu)", ARRAY_SIZE(cf->labels));
  cf->labels[cf->n_labels].key = xstrndup(arg, (size_t)(eq - arg));
  cf->labels[cf->n_labels].value = xstrdup(eq + 1);
  cf->n_labels++;
  cf->f.n_labels = cf->n_labels;
  return 0;
}

static int parse_when(struct ctl *ctl, const char *opt, const char *arg, int64_t *ret) {
  if (parse_time(arg, ctl->now_ms, ret) < 0)
    return ctl_usage_error(ctl->cmd,
                           "%s: invalid time '%s' (expected RFC 3339 like 2026-11-21T03:12:00Z, "
                           "a date like 2026-11-21, 'now', or a duration before now like 2h)",
                           opt, arg);
  return 0;
}

int ctl_filter_option(struct ctl *ctl, struct ctl_filter *cf, int opt, const char *arg) {
  int64_t v;
  int r = 0;

  switch (opt) {
  case CTL_OPT_TARGET:
    cf->f.target = arg;
    break;
  case CTL_OPT_INSTANCE:
    cf->f.instance = arg;
    break;
  case CTL_OPT_TYPE:
    cf->f.type = arg;
    break;
  case CTL_OPT_SINCE:
    r = parse_when(ctl, "--since", arg, &cf->f.since_ms);
    break;
  case CTL_OPT_UNTIL:
    r = parse_when(ctl, "--until", arg, &cf->f.until_ms);
    break;
  case CTL_OPT_STATUS:
    if (strcmp(arg, "ok") == 0)
      cf->f.status = CAPTURE_OK;
    else if (strcmp(arg, "failed") == 0)
      cf->f.status = CAPTURE_FAILED;
    else
      r = ctl_usage_error(ctl->cmd, "--status: expected ok or failed, got '%s'", arg);
    break;
  case CTL_OPT_LIMIT:
    if (parse_int64(arg, &v) < 0 || v < 0)
      r = ctl_usage_error(ctl->cmd, "--limit: expected a number (0 = no limit), got '%s'", arg);
    else
      cf->f.limit = v;
    break;
  case 'l':
    r = add_label(ctl, cf, arg);
    break;
  case CTL_OPT_JSON:
    ctl->json = true;
    break;
  default:
    return 0;
  }
  return r ? -1 : 1;
}
