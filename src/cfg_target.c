/* Targets: the `defaults:` and `targets:` levels, URLs -> instances, HTTP
 * client settings (TLS, auth, headers), and the merge of defaults into
 * each target (most specific wins). Profiles are in cfg_profile.c. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cfg_int.h"
#include "util.h"

#define MS_SECOND 1000LL

struct layer_tls {
  char *ca_file, *cert_file, *key_file, *server_name;
  int insecure; /* -1: not given */
  const struct ynode *key_file_at;
};

struct layer_basic {
  char *username, *password_file, *password;
};

/* Everything one level (defaults or a target) says, before merging. */
struct layer {
  struct cfg_common c; /* first: the shared key table entries use offsets into it */
  const struct ynode *name, *url, *urls, *labels, *headers, *profiles;
  const struct ynode *bearer_at, *basic_at;
  bool profiles_auto;
  char *path_prefix;
  char *bearer_token_file, *bearer_token;
  struct layer_tls tls;
  struct layer_basic basic;
};

static void layer_done(struct layer *l) {
  free(l->path_prefix);
  free(l->bearer_token_file);
  free(l->bearer_token);
  free(l->tls.ca_file);
  free(l->tls.cert_file);
  free(l->tls.key_file);
  free(l->tls.server_name);
  free(l->basic.username);
  free(l->basic.password_file);
  free(l->basic.password);
}

/* TLS files are checked at load so that a typo fails `pprofd -n` rather
 * than every fetch. */
static int parse_tls_file(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                          const struct ynode *val, void *obj) {
  char **p = (char **)((char *)obj + key->offset);
  int r = cfg_parse_path(ctx, key, k, val, obj);

  if (r < 0)
    return r;
  if (strcmp(key->name, "key_file") == 0)
    ((struct layer_tls *)obj)->key_file_at = k;
  if (!(ctx->flags & CFG_LOAD_SKIP_SECRETS) && access(*p, R_OK) < 0)
    return cfg_error(ctx, k, "cannot read %s '%s': %s", key->name, *p, strerror(errno));
  return 0;
}

static int parse_server_name(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                             const struct ynode *val, void *obj) {
  int r = cfg_want_scalar(ctx, val, key->name);

  if (r < 0)
    return r;
  if (!cfg_valid_name(val->str, ".-_"))
    return cfg_error(ctx, val, "invalid server_name '%s' (expected a host name)", val->str);
  return cfg_parse_string(ctx, key, k, val, obj);
}

const struct cfg_key cfg_tls_keys[] = {
    {"ca_file", parse_tls_file, offsetof(struct layer_tls, ca_file), 0, 0, CFG_LEVEL_ANY},
    {"cert_file", parse_tls_file, offsetof(struct layer_tls, cert_file), 0, 0, CFG_LEVEL_ANY},
    {"key_file", parse_tls_file, offsetof(struct layer_tls, key_file), 0, 0, CFG_LEVEL_ANY},
    {"server_name", parse_server_name, offsetof(struct layer_tls, server_name), 0, 0,
     CFG_LEVEL_ANY},
    {"insecure_skip_verify", cfg_parse_bool, offsetof(struct layer_tls, insecure), 0, 0,
     CFG_LEVEL_ANY},
};
const size_t cfg_n_tls_keys = ARRAY_SIZE(cfg_tls_keys);

const struct cfg_key cfg_basic_auth_keys[] = {
    {"username", cfg_parse_string, offsetof(struct layer_basic, username), 0, 0, CFG_LEVEL_ANY},
    {"password_file", cfg_parse_path, offsetof(struct layer_basic, password_file), 0, 0,
     CFG_LEVEL_ANY},
};
const size_t cfg_n_basic_auth_keys = ARRAY_SIZE(cfg_basic_auth_keys);

static int check_one_auth(struct cfg_ctx *ctx, const struct layer *l, const struct ynode *k) {
  if (l->bearer_at && l->basic_at)
    return cfg_error(ctx, k, "use either bearer_token_file or basic_auth, not both");
  return 0;
}

static int parse_tls(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                     const struct ynode *val, void *obj) {
  struct layer *l = obj;
  return cfg_parse_map(ctx, val, "tls", cfg_tls_keys, cfg_n_tls_keys, CFG_LEVEL_ANY, "in tls",
                       &l->tls);
}

static int parse_bearer(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                        const struct ynode *val, void *obj) {
  struct layer *l = obj;
  int r = cfg_parse_path(ctx, key, k, val, obj);

  if (r < 0)
    return r;
  l->bearer_at = k;
  r = check_one_auth(ctx, l, k);
  if (r < 0 || (ctx->flags & CFG_LOAD_SKIP_SECRETS))
    return r;
  return cfg_read_secret(ctx, k, "bearer_token_file", l->bearer_token_file, &l->bearer_token);
}

static int parse_basic_auth(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                            const struct ynode *val, void *obj) {
  struct layer *l = obj;
  const struct ynode *at = ynode_is_null(val) ? k : val;
  int r;

  if (!ynode_is_null(val) && val->type != YNODE_MAP)
    return cfg_error(ctx, val, "expected a mapping for 'basic_auth', got %s", ynode_kind(val));
  r = cfg_parse_map(ctx, val, "basic_auth", cfg_basic_auth_keys, cfg_n_basic_auth_keys,
                    CFG_LEVEL_ANY, "in basic_auth", &l->basic);
  if (r < 0)
    return r;
  if (!l->basic.username)
    return cfg_error(ctx, at, "missing required key 'username' in basic_auth");
  if (strchr(l->basic.username, ':'))
    return cfg_error(ctx, ynode_map_get(val, "username"),
                     "basic_auth username must not contain ':'");
  if (!l->basic.password_file)
    return cfg_error(ctx, at, "missing required key 'password_file' in basic_auth");
  l->basic_at = k;
  r = check_one_auth(ctx, l, k);
  if (r < 0 || (ctx->flags & CFG_LOAD_SKIP_SECRETS))
    return r;
  return cfg_read_secret(ctx, ynode_map_key(val, "password_file"), "basic_auth.password_file",
                         l->basic.password_file, &l->basic.password);
}

static int parse_path_prefix(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                             const struct ynode *val, void *obj) {
  struct layer *l = obj;
  size_t len;
  int r = cfg_want_scalar(ctx, val, key->name);

  if (r < 0)
    return r;
  if (!cfg_url_path_valid(val->str))
    return cfg_error(ctx, val,
                     "invalid path_prefix '%s' (expected an absolute URL path like /debug/pprof)",
                     val->str);
  len = strlen(val->str);
  while (len > 0 && val->str[len - 1] == '/')
    len--;
  free(l->path_prefix);
  l->path_prefix = xstrndup(val->str, len);
  return 0;
}

static int parse_profiles_key(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                              const struct ynode *val, void *obj) {
  struct layer *l = obj;

  if (ynode_is_null(val))
    return cfg_error(ctx, val,
                     "missing value for 'profiles' (expected a list of profiles or auto)");
  if (val->type == YNODE_MAP)
    return cfg_error(ctx, val, "expected a list of profiles or auto for 'profiles', got a mapping");
  if (val->type == YNODE_SCALAR && strcmp(val->str, "auto") != 0)
    return cfg_error(ctx, val, "expected a list of profiles or auto for 'profiles', got '%s'",
                     val->str);
  if (val->type == YNODE_SEQ && val->n_items == 0)
    return cfg_error(ctx, val, "empty profile list (remove 'profiles' to use the default list)");
  l->profiles = val;
  l->profiles_auto = val->type == YNODE_SCALAR;
  return 0;
}

#define COMMON(f) offsetof(struct cfg_common, f)
#define L_DT (CFG_LEVEL_DEFAULTS | CFG_LEVEL_TARGET)
const struct cfg_key cfg_target_keys[] = {
    {"name", cfg_parse_node, offsetof(struct layer, name), CFG_NODE_ANY, 0, CFG_LEVEL_TARGET},
    {"url", cfg_parse_node, offsetof(struct layer, url), CFG_NODE_ANY, 0, CFG_LEVEL_TARGET},
    {"urls", cfg_parse_node, offsetof(struct layer, urls), CFG_NODE_SEQ, 0, CFG_LEVEL_TARGET},
    {"labels", cfg_parse_pairs, offsetof(struct layer, labels), CFG_PAIRS_LABELS, 0, L_DT},
    {"interval", cfg_parse_duration, COMMON(interval_ms), MS_SECOND, 0, CFG_LEVEL_ANY},
    {"timeout", cfg_parse_duration, COMMON(timeout_ms), 1, 0, CFG_LEVEL_ANY},
    {"max_response_size", cfg_parse_size, COMMON(max_response_size), 1, 0, CFG_LEVEL_ANY},
    {"seconds", cfg_parse_seconds, COMMON(seconds), 0, 86400, CFG_LEVEL_ANY},
    {"params", cfg_parse_pairs, COMMON(params), CFG_PAIRS_PARAMS, 0, CFG_LEVEL_ANY},
    {"profiles", parse_profiles_key, 0, 0, 0, L_DT},
    {"path_prefix", parse_path_prefix, 0, 0, 0, L_DT},
    {"tls", parse_tls, 0, 0, 0, L_DT},
    {"bearer_token_file", parse_bearer, offsetof(struct layer, bearer_token_file), 0, 0, L_DT},
    {"basic_auth", parse_basic_auth, 0, 0, 0, L_DT},
    {"headers", cfg_parse_pairs, offsetof(struct layer, headers), CFG_PAIRS_HEADERS, 0, L_DT},
};
const size_t cfg_n_target_keys = ARRAY_SIZE(cfg_target_keys);

/* http[s]://HOST[:PORT][/] -> instance. Credentials, queries and paths are
 * refused: the first would leak into labels, the others belong elsewhere. */
static int parse_url(struct cfg_ctx *ctx, const struct ynode *n, struct cfg_instance *ret) {
  const char *s = n->str, *host, *p, *end;
  size_t scheme_len;

  if (strncasecmp(s, "http://", 7) == 0)
    scheme_len = 7;
  else if (strncasecmp(s, "https://", 8) == 0)
    scheme_len = 8;
  else
    goto invalid;
  host = s + scheme_len;
  end = host + strcspn(host, "/?#");
  if (memchr(host, '@', (size_t)(end - host)))
    return cfg_error(ctx, n, "credentials in URLs are not supported (use basic_auth)");
  if (*host == '[') {
    p = host + 1;
    while (p < end && (isxdigit((unsigned char)*p) || *p == ':' || *p == '.'))
      p++;
    if (p == host + 1 || p >= end || *p != ']')
      goto invalid;
    p++;
  } else {
    p = host;
    while (p < end && (isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '_'))
      p++;
    if (p == host)
      goto invalid;
  }
  if (p < end && *p == ':') {
    uint64_t v;
    char digits[8];
    size_t len = (size_t)(end - p - 1);
    if (len == 0 || len >= sizeof(digits))
      goto invalid;
    memcpy(digits, p + 1, len);
    digits[len] = '\0';
    if (parse_uint64(digits, &v) < 0 || v < 1 || v > 65535)
      goto invalid;
    p = end;
  }
  if (p != end)
    goto invalid;
  if (strpbrk(end, "?#"))
    return cfg_error(ctx, n, "URL '%s' must not have a query or fragment", s);
  if (*end && strcmp(end, "/") != 0) {
    size_t len = strlen(end);
    while (len > 1 && end[len - 1] == '/')
      len--;
    if (len >= 12 && strncmp(end + len - 12, "/debug/pprof", 12) == 0)
      return cfg_error(ctx, n, "URL '%s' has a path; put it in path_prefix (path_prefix: %.*s)", s,
                       (int)len, end);
    return cfg_error(ctx, n,
                     "URL '%s' has a path; put it in path_prefix (e.g. path_prefix: "
                     "%.*s/debug/pprof)",
                     s, (int)len, end);
  }
  ret->url = xstrndup(s, (size_t)(end - s));
  ret->name = xstrndup(host, (size_t)(end - host));
  return 0;

invalid:
  return cfg_error(ctx, n, "invalid URL '%s' (expected http://HOST[:PORT] or https://HOST[:PORT])",
                   s);
}

static int parse_instances(struct cfg_ctx *ctx, const struct layer *l, const struct ynode *tn,
                           struct cfg_target *t) {
  const struct ynode *const *urls;
  size_t n;

  if (l->url && l->urls)
    return cfg_error(ctx, l->url->line > l->urls->line ? l->url : l->urls,
                     "use either 'url' or 'urls' in target '%s', not both", t->name);
  if (l->url) {
    urls = &l->url;
    n = 1;
  } else if (l->urls && !ynode_is_null(l->urls)) {
    urls = (const struct ynode *const *)l->urls->items;
    n = l->urls->n_items;
    if (!n)
      return cfg_error(ctx, l->urls, "empty 'urls' list in target '%s'", t->name);
    if (n > CFG_MAX_INSTANCES)
      return cfg_error(ctx, urls[CFG_MAX_INSTANCES], "too many URLs in target '%s' (more than %d)",
                       t->name, CFG_MAX_INSTANCES);
  } else {
    return cfg_error(ctx, l->urls ? l->urls : tn,
                     "missing required key 'url' (or 'urls') in target '%s'", t->name);
  }
  t->instances = xcalloc(n, sizeof(*t->instances));
  for (size_t i = 0; i < n; i++) {
    int r = cfg_want_scalar(ctx, urls[i], "url");
    if (r < 0)
      return r;
    r = parse_url(ctx, urls[i], &t->instances[i]);
    if (r < 0)
      return r;
    t->n_instances++;
    for (size_t j = 0; j < i; j++)
      if (strcmp(t->instances[j].name, t->instances[i].name) == 0)
        return cfg_error(ctx, urls[i],
                         "duplicate instance '%s' in target '%s' (first defined at line %d)",
                         t->instances[i].name, t->name, urls[j]->line);
  }
  return 0;
}

/* TLS fields merge one by one; auth is all-or-nothing per level. */
static int resolve_http(struct cfg_ctx *ctx, const struct layer *d, const struct layer *l,
                        struct cfg_target *t) {
  struct cfg_http_client *h = &t->http;
  const struct layer *auth = l->bearer_at || l->basic_at ? l : d;
  struct cfg_pairset hs = {0};

#define PICK(f) xstrdup(l->tls.f ? l->tls.f : d->tls.f)
  h->ca_file = PICK(ca_file);
  h->cert_file = PICK(cert_file);
  h->key_file = PICK(key_file);
  h->server_name = PICK(server_name);
#undef PICK
  h->insecure_skip_verify = (l->tls.insecure >= 0 ? l->tls.insecure : d->tls.insecure) == 1;
  if (h->key_file && !h->cert_file)
    return cfg_error(ctx, l->tls.key_file_at ? l->tls.key_file_at : d->tls.key_file_at,
                     "tls key_file requires cert_file (target '%s')", t->name);
  h->bearer_token_file = xstrdup(auth->bearer_token_file);
  h->bearer_token = xstrdup(auth->bearer_token);
  h->basic_username = xstrdup(auth->basic.username);
  h->basic_password_file = xstrdup(auth->basic.password_file);
  h->basic_password = xstrdup(auth->basic.password);
  cfg_pairset_merge(&hs, d->headers, true);
  cfg_pairset_merge(&hs, l->headers, true);
  h->headers = cfg_pairset_export(&hs, &h->n_headers);
  cfg_pairset_done(&hs);
  return 0;
}

static int resolve_target(struct cfg_ctx *ctx, const struct layer *d, const struct layer *l,
                          const struct ynode *tn, struct cfg_target *t) {
  struct cfg_pairset params = {0}, labels = {0};
  struct cfg_inherit in = {.target_node = tn};
  const struct layer *pl = l->profiles ? l : d;
  int r;

  r = parse_instances(ctx, l, tn, t);
  if (r < 0)
    goto out;
  t->path_prefix = xstrdup(l->path_prefix   ? l->path_prefix
                           : d->path_prefix ? d->path_prefix
                                            : CFG_DEFAULT_PATH_PREFIX);
  cfg_pairset_merge(&labels, d->labels, false);
  cfg_pairset_merge(&labels, l->labels, false);
  t->labels = cfg_pairset_export(&labels, &t->n_labels);
  cfg_pairset_merge(&params, d->c.params, false);
  cfg_pairset_merge(&params, l->c.params, false);
  t->params = cfg_pairset_export(&params, &t->n_params);
  t->interval_ms = l->c.interval_ms >= 0   ? l->c.interval_ms
                   : d->c.interval_ms >= 0 ? d->c.interval_ms
                                           : CFG_DEFAULT_INTERVAL_MS;
  t->timeout_ms = l->c.timeout_ms >= 0   ? l->c.timeout_ms
                  : d->c.timeout_ms >= 0 ? d->c.timeout_ms
                                         : CFG_DEFAULT_TIMEOUT_MS;
  t->max_response_size = l->c.max_response_size   ? l->c.max_response_size
                         : d->c.max_response_size ? d->c.max_response_size
                                                  : CFG_DEFAULT_MAX_RESPONSE_SIZE;
  in.seconds = l->c.seconds > 0 ? l->c.seconds : d->c.seconds;
  t->cpu_seconds = in.seconds > 0 ? in.seconds : CFG_DEFAULT_CPU_SECONDS;
  t->trace_seconds = in.seconds > 0 ? in.seconds : CFG_DEFAULT_TRACE_SECONDS;
  t->delta_seconds = in.seconds > 0 ? in.seconds : CFG_DEFAULT_CPU_SECONDS;
  r = resolve_http(ctx, d, l, t);
  if (r < 0)
    goto out;
  in.params = &params;
  if (pl->profiles_auto) {
    /* Discovered profiles get the target's settings: check them now. */
    t->profiles_auto = true;
    r = cfg_check_builtin_params(ctx, &params, NULL, t->name);
    if (r >= 0)
      r = cfg_check_interval(ctx, pl->profiles, t->interval_ms, t->cpu_seconds, "cpu", t->name);
    if (r >= 0)
      r = cfg_check_interval(ctx, pl->profiles, t->interval_ms, t->trace_seconds, "trace", t->name);
    if (r >= 0)
      r = cfg_check_interval(ctx, pl->profiles, t->interval_ms, t->delta_seconds, "delta_*",
                             t->name);
  } else {
    r = cfg_parse_profiles(ctx, pl->profiles, &in, t);
  }
out:
  cfg_pairset_done(&params);
  cfg_pairset_done(&labels);
  return r;
}

static void layer_init(struct layer *l) {
  memset(l, 0, sizeof(*l));
  l->c = (struct cfg_common)CFG_COMMON_INIT;
  l->tls.insecure = -1;
}

static int parse_target(struct cfg_ctx *ctx, const struct layer *d, const struct ynode *tn,
                        const struct cfg *c, struct cfg_target *t) {
  const struct ynode *name = ynode_map_get(tn, "name");
  struct layer l;
  char *where = NULL;
  int r;

  layer_init(&l);
  if (tn->type != YNODE_MAP)
    return cfg_error(ctx, tn, "expected a mapping for a target, got %s", ynode_kind(tn));
  if (!name)
    return cfg_error(ctx, tn, "missing required key 'name' in target");
  r = cfg_want_scalar(ctx, name, "name");
  if (r < 0)
    return r;
  if (!cfg_valid_name(name->str, "_.:-"))
    return cfg_error(ctx, name,
                     "invalid target name '%s' (expected letters, digits, '_', '.', ':' and '-')",
                     name->str);
  for (size_t i = 0; i < c->n_targets; i++)
    if (c->targets[i].name && strcmp(c->targets[i].name, name->str) == 0)
      return cfg_error(ctx, name, "duplicate target name '%s' (first defined at line %d)",
                       name->str, c->targets[i].line);
  t->name = xstrdup(name->str);
  t->line = tn->line;
  t->column = tn->column;
  where = xasprintf("in target '%s'", t->name);
  r = cfg_parse_map(ctx, tn, "target", cfg_target_keys, cfg_n_target_keys, CFG_LEVEL_TARGET, where,
                    &l);
  if (r >= 0)
    r = resolve_target(ctx, d, &l, tn, t);
  free(where);
  layer_done(&l);
  return r;
}

int cfg_parse_targets(struct cfg_ctx *ctx, const struct ynode *root, const struct ynode *defaults,
                      const struct ynode *targets, struct cfg *c) {
  struct layer d;
  int r;

  layer_init(&d);
  r = cfg_parse_map(ctx, defaults, "defaults", cfg_target_keys, cfg_n_target_keys,
                    CFG_LEVEL_DEFAULTS, "in defaults", &d);
  if (r < 0)
    goto out;
  if (!targets || ynode_is_null(targets) || targets->n_items == 0) {
    r = cfg_error(ctx, targets ? targets : root, "no targets configured");
    goto out;
  }
  if (targets->n_items > CFG_MAX_TARGETS) {
    r = cfg_error(ctx, targets->items[CFG_MAX_TARGETS], "too many targets (more than %d)",
                  CFG_MAX_TARGETS);
    goto out;
  }
  c->targets = xcalloc(targets->n_items, sizeof(*c->targets));
  for (size_t i = 0; i < targets->n_items; i++) {
    /* Counted before parsing so that cfg_free() sees a half-built target. */
    c->n_targets++;
    r = parse_target(ctx, &d, targets->items[i], c, &c->targets[i]);
    if (r < 0)
      goto out;
  }
out:
  layer_done(&d);
  return r;
}

void cfg_target_done(struct cfg_target *t) {
  struct cfg_http_client *h = &t->http;

  free(t->name);
  for (size_t i = 0; i < t->n_instances; i++) {
    free(t->instances[i].url);
    free(t->instances[i].name);
  }
  free(t->instances);
  free(t->path_prefix);
  cfg_pairs_free(t->labels, t->n_labels);
  for (size_t i = 0; i < t->n_profiles; i++)
    cfg_profile_done(&t->profiles[i]);
  free(t->profiles);
  cfg_pairs_free(t->params, t->n_params);
  free(h->ca_file);
  free(h->cert_file);
  free(h->key_file);
  free(h->server_name);
  free(h->bearer_token);
  free(h->bearer_token_file);
  free(h->basic_username);
  free(h->basic_password);
  free(h->basic_password_file);
  cfg_pairs_free(h->headers, h->n_headers);
}
