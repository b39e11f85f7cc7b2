/* pprofd.yaml: loading, the top-level sections (storage, collector, http,
 * log_level) and freeing. Targets and profiles are in cfg_target.c and
 * cfg_profile.c, the YAML tree in cfg_yaml.c, value parsers in
 * cfg_value.c. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "cfg_int.h"
#include "http_server.h"
#include "util.h"

#ifndef STATEDIR
#define STATEDIR "/var/lib/pprofd"
#endif

#define MS_SECOND 1000LL
#define MS_DAY (86400LL * MS_SECOND)

/* What the top level holds while it is parsed; targets need defaults,
 * which may come after them in the file. */
struct top {
  struct cfg *c;
  const struct ynode *storage, *collector, *http, *defaults, *targets;
};

static int parse_log_level(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                           const struct ynode *val, void *obj) {
  static const char *const levels[] = {"error", "warning", "notice", "info", "debug"};
  struct top *top = obj;
  int r = cfg_want_scalar(ctx, val, key->name);

  if (r < 0)
    return r;
  for (size_t i = 0; i < ARRAY_SIZE(levels); i++) {
    if (strcasecmp(val->str, levels[i]) == 0) {
      free(top->c->log_level);
      top->c->log_level = xstrdup(levels[i]);
      return 0;
    }
  }
  return cfg_error(ctx, val,
                   "invalid log_level '%s' (expected error, warning, notice, info or debug)",
                   val->str);
}

const struct cfg_key cfg_top_keys[] = {
    {"storage", cfg_parse_node, offsetof(struct top, storage), CFG_NODE_MAP, 0, CFG_LEVEL_ANY},
    {"collector", cfg_parse_node, offsetof(struct top, collector), CFG_NODE_MAP, 0, CFG_LEVEL_ANY},
    {"http", cfg_parse_node, offsetof(struct top, http), CFG_NODE_MAP, 0, CFG_LEVEL_ANY},
    {"log_level", parse_log_level, 0, 0, 0, CFG_LEVEL_ANY},
    {"defaults", cfg_parse_node, offsetof(struct top, defaults), CFG_NODE_MAP, 0, CFG_LEVEL_ANY},
    {"targets", cfg_parse_node, offsetof(struct top, targets), CFG_NODE_SEQ, 0, CFG_LEVEL_ANY},
};
const size_t cfg_n_top_keys = ARRAY_SIZE(cfg_top_keys);

const struct cfg_key cfg_storage_keys[] = {
    {"path", cfg_parse_path, offsetof(struct cfg_storage, path), 0, 0, CFG_LEVEL_ANY},
    {"retention", cfg_parse_duration, offsetof(struct cfg_storage, retention_ms), 0, 0,
     CFG_LEVEL_ANY},
    {"max_size", cfg_parse_size, offsetof(struct cfg_storage, max_size), 0, 0, CFG_LEVEL_ANY},
    {"prune_interval", cfg_parse_duration, offsetof(struct cfg_storage, prune_interval_ms),
     MS_SECOND, 0, CFG_LEVEL_ANY},
};
const size_t cfg_n_storage_keys = ARRAY_SIZE(cfg_storage_keys);

const struct cfg_key cfg_collector_keys[] = {
    {"max_concurrent", cfg_parse_unsigned, offsetof(struct cfg_collector, max_concurrent), 1, 65536,
     CFG_LEVEL_ANY},
    {"workers", cfg_parse_unsigned, offsetof(struct cfg_collector, workers), 1, 64, CFG_LEVEL_ANY},
    {"queue_size", cfg_parse_unsigned, offsetof(struct cfg_collector, queue_size), 1, 65536,
     CFG_LEVEL_ANY},
    {"queue_max_bytes", cfg_parse_size, offsetof(struct cfg_collector, queue_max_bytes), 0, 0,
     CFG_LEVEL_ANY},
    {"shutdown_grace", cfg_parse_duration, offsetof(struct cfg_collector, shutdown_grace_ms), 0,
     MS_DAY, CFG_LEVEL_ANY},
    {"max_backoff", cfg_parse_duration, offsetof(struct cfg_collector, max_backoff_ms), MS_SECOND,
     0, CFG_LEVEL_ANY},
    {"min_function_share", cfg_parse_share, offsetof(struct cfg_collector, min_function_share), 0,
     0, CFG_LEVEL_ANY},
    {"max_functions", cfg_parse_unsigned, offsetof(struct cfg_collector, max_functions), 1, 100000,
     CFG_LEVEL_ANY},
    {"max_decompressed_size", cfg_parse_size, offsetof(struct cfg_collector, max_decompressed_size),
     1, 0, CFG_LEVEL_ANY},
};
const size_t cfg_n_collector_keys = ARRAY_SIZE(cfg_collector_keys);

static int parse_listen(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                        const struct ynode *val, void *obj) {
  struct cfg_http_server *h = obj;
  int r;

  /* A quoted "" is a deliberate "disable"; a bare `listen:` is a mistake. */
  if (val && val->type == YNODE_SCALAR && !val->plain && !val->str[0]) {
    free(h->listen);
    h->listen = xstrdup("off");
    return 0;
  }
  r = cfg_want_scalar(ctx, val, key->name);
  if (r < 0)
    return r;
  if (strcmp(val->str, "off") != 0) {
    /* The same parser the endpoint uses, so what passes here binds there. */
    char *host = NULL, *why = NULL;
    int port;
    if (http_parse_listen(val->str, &host, &port, &why) < 0) {
      free(why);
      return cfg_error(ctx, val,
                       "invalid listen address '%s' (expected HOST:PORT like 127.0.0.1:7070, "
                       "[::1]:7070, :7070 for every address, or off)",
                       val->str);
    }
    free(host);
  }
  free(h->listen);
  h->listen = xstrdup(val->str);
  return 0;
}

static int parse_token_file(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                            const struct ynode *val, void *obj) {
  struct cfg_http_server *h = obj;
  int r = cfg_parse_path(ctx, key, k, val, obj);

  if (r < 0 || (ctx->flags & CFG_LOAD_SKIP_SECRETS))
    return r;
  free(h->token);
  h->token = NULL;
  return cfg_read_secret(ctx, k, "token_file", h->token_file, &h->token);
}

const struct cfg_key cfg_http_keys[] = {
    {"listen", parse_listen, 0, 0, 0, CFG_LEVEL_ANY},
    {"token_file", parse_token_file, offsetof(struct cfg_http_server, token_file), 0, 0,
     CFG_LEVEL_ANY},
};
const size_t cfg_n_http_keys = ARRAY_SIZE(cfg_http_keys);

static void cfg_set_defaults(struct cfg *c) {
  c->storage.path = xstrdup(STATEDIR "/pprofd.db");
  c->storage.retention_ms = 14 * MS_DAY;
  c->storage.max_size = 0;
  c->storage.prune_interval_ms = 5 * 60 * MS_SECOND;
  c->collector.max_concurrent = 256;
  c->collector.workers = 2;
  c->collector.queue_size = 64;
  c->collector.queue_max_bytes = 32ULL << 20;
  c->collector.shutdown_grace_ms = 10 * MS_SECOND;
  c->collector.max_backoff_ms = 10 * 60 * MS_SECOND;
  c->collector.min_function_share = 0.005;
  c->collector.max_functions = 300;
  c->collector.max_decompressed_size = 256ULL << 20;
  c->http.listen = xstrdup("127.0.0.1:7070");
  c->log_level = xstrdup("info");
}

static int parse_document(struct cfg_ctx *ctx, const struct ynode *root, struct cfg *c) {
  struct top top = {.c = c};
  int r;

  if (!root)
    return cfg_error_at(ctx, 1, 1, "no targets configured (the file is empty)");
  if (root->type != YNODE_MAP)
    return cfg_error(ctx, root, "expected a mapping at the top level, got %s", ynode_kind(root));
  r = cfg_parse_map(ctx, root, "top level", cfg_top_keys, cfg_n_top_keys, CFG_LEVEL_ANY,
                    "at the top level", &top);
  if (r < 0)
    return r;
  r = cfg_parse_map(ctx, top.storage, "storage", cfg_storage_keys, cfg_n_storage_keys,
                    CFG_LEVEL_ANY, "in storage", &c->storage);
  if (r < 0)
    return r;
  if (!c->storage.path[0])
    return cfg_error(ctx, ynode_map_get(top.storage, "path"), "'path' must not be empty");
  r = cfg_parse_map(ctx, top.collector, "collector", cfg_collector_keys, cfg_n_collector_keys,
                    CFG_LEVEL_ANY, "in collector", &c->collector);
  if (r < 0)
    return r;
  r = cfg_parse_map(ctx, top.http, "http", cfg_http_keys, cfg_n_http_keys, CFG_LEVEL_ANY, "in http",
                    &c->http);
  if (r < 0)
    return r;
  return cfg_parse_targets(ctx, root, top.defaults, top.targets, c);
}

/* Relative paths in the file are relative to the file's directory, so that
 * pprofd and pprofctl agree whatever their working directory. */
static char *dir_of(const char *name) {
  const char *slash = strrchr(name, '/');
  if (!slash)
    return NULL;
  if (slash == name)
    return xstrdup("/");
  return xstrndup(name, (size_t)(slash - name));
}

int cfg_load_string(const char *name, const char *yaml, size_t len, unsigned flags,
                    struct cfg **ret_cfg, char **ret_err) {
  struct cfg_ctx ctx = {.file = name, .flags = flags};
  struct ynode *root = NULL;
  struct cfg *c = NULL;
  char *basedir = dir_of(name);
  int r;

  ctx.basedir = basedir;
  if (len > CFG_MAX_FILE_SIZE) {
    r = cfg_error_at(&ctx, 1, 1, "file is larger than %u MiB", CFG_MAX_FILE_SIZE >> 20);
    goto fail;
  }
  r = ynode_parse(&ctx, yaml, len, &root);
  if (r < 0)
    goto fail;
  c = xcalloc(1, sizeof(*c));
  c->file = xstrdup(name);
  cfg_set_defaults(c);
  r = parse_document(&ctx, root, c);
  if (r < 0)
    goto fail;
  ynode_free(root);
  free(basedir);
  *ret_cfg = c;
  return 0;

fail:
  cfg_free(c);
  ynode_free(root);
  free(basedir);
  if (ret_err)
    *ret_err = ctx.err ? ctx.err : xasprintf("%s: invalid configuration", name);
  else
    free(ctx.err);
  return r < 0 ? r : -EINVAL;
}

int cfg_load(const char *path, unsigned flags, struct cfg **ret_cfg, char **ret_err) {
  struct buf b;
  FILE *f;
  int r = 0;

  buf_init(&b, CFG_MAX_FILE_SIZE);
  f = fopen(path, "re");
  if (!f) {
    r = -errno;
    if (ret_err)
      *ret_err = xasprintf("%s: cannot open: %s", path, strerror(-r));
    return r;
  }
  for (;;) {
    char chunk[8192];
    size_t n = fread(chunk, 1, sizeof(chunk), f);
    if (n > 0) {
      r = buf_append(&b, chunk, n);
      if (r < 0)
        break;
    }
    if (n < sizeof(chunk)) {
      if (ferror(f))
        r = -EIO;
      break;
    }
  }
  fclose(f);
  if (r == -EFBIG) {
    if (ret_err)
      *ret_err = xasprintf("%s: file is larger than %u MiB", path, CFG_MAX_FILE_SIZE >> 20);
    r = -EINVAL;
  } else if (r < 0) {
    if (ret_err)
      *ret_err = xasprintf("%s: cannot read: %s", path, strerror(-r));
  } else {
    r = cfg_load_string(path, b.len ? (const char *)b.data : "", b.len, flags, ret_cfg, ret_err);
  }
  buf_done(&b);
  return r;
}

struct cfg *cfg_free(struct cfg *c) {
  if (!c)
    return NULL;
  for (size_t i = 0; i < c->n_targets; i++)
    cfg_target_done(&c->targets[i]);
  free(c->targets);
  free(c->file);
  free(c->storage.path);
  free(c->http.listen);
  free(c->http.token_file);
  free(c->http.token);
  free(c->log_level);
  free(c);
  return NULL;
}

void cfg_foreach_key(void (*fn)(const char *section, const char *key, void *userdata),
                     void *userdata) {
  static const struct {
    const char *section;
    const struct cfg_key *keys;
    const size_t *n;
  } tables[] = {
      {"", cfg_top_keys, &cfg_n_top_keys},
      {"storage", cfg_storage_keys, &cfg_n_storage_keys},
      {"collector", cfg_collector_keys, &cfg_n_collector_keys},
      {"http", cfg_http_keys, &cfg_n_http_keys},
      {"targets", cfg_target_keys, &cfg_n_target_keys},
      {"tls", cfg_tls_keys, &cfg_n_tls_keys},
      {"basic_auth", cfg_basic_auth_keys, &cfg_n_basic_auth_keys},
      {"profiles", cfg_profile_keys, &cfg_n_profile_keys},
  };
  for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
    for (size_t j = 0; j < *tables[i].n; j++)
      fn(tables[i].section, tables[i].keys[j].name, userdata);
}
