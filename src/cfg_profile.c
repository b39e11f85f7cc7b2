/* Profiles of a target: builtin names (cpu, heap, ..., trace, delta_*),
 * custom profiles, the mapping form, and the resolution of seconds,
 * interval, timeout, size and params (profile over target over defaults).
 * Also builds profiles discovered on an index page (`profiles: auto`). */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg_int.h"
#include "util.h"

static const struct builtin {
  const char *name;
  enum profile_kind kind;
  const char *endpoint; /* under path_prefix */
  bool delta;           /* has a delta_<name> form */
} builtins[] = {
    {"cpu", PROFILE_CPU, "profile", false},
    {"heap", PROFILE_HEAP, "heap", true},
    {"allocs", PROFILE_ALLOCS, "allocs", true},
    {"goroutine", PROFILE_GOROUTINE, "goroutine", true},
    {"block", PROFILE_BLOCK, "block", true},
    {"mutex", PROFILE_MUTEX, "mutex", true},
    {"threadcreate", PROFILE_THREADCREATE, "threadcreate", true},
    {"trace", PROFILE_TRACE, "trace", false},
};

/* The list used when neither the target nor defaults give `profiles`. */
static const char *const default_profiles[] = {"cpu",   "heap",  "allocs",       "goroutine",
                                               "block", "mutex", "threadcreate", "trace"};

static const char *const type_names[] = {"cpu",
                                         "profile",
                                         "heap",
                                         "allocs",
                                         "goroutine",
                                         "block",
                                         "mutex",
                                         "threadcreate",
                                         "trace",
                                         "custom",
                                         "delta_heap",
                                         "delta_allocs",
                                         "delta_goroutine",
                                         "delta_block",
                                         "delta_mutex",
                                         "delta_threadcreate"};

enum name_class {
  NAME_BUILTIN,
  NAME_DELTA,
  NAME_CUSTOM,
  NAME_NOT_PROFILE, /* cmdline, symbol: other pprof endpoints */
  NAME_BAD_DELTA,   /* delta_cpu, delta_trace: these take seconds already */
};

static const struct builtin *find_builtin(const char *name) {
  if (strcmp(name, "profile") == 0)
    name = "cpu";
  for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
    if (strcmp(builtins[i].name, name) == 0)
      return &builtins[i];
  return NULL;
}

static enum name_class classify(const char *name, const struct builtin **ret) {
  const struct builtin *b = find_builtin(name);

  *ret = b;
  if (b)
    return NAME_BUILTIN;
  if (strcmp(name, "cmdline") == 0 || strcmp(name, "symbol") == 0)
    return NAME_NOT_PROFILE;
  if (str_has_prefix(name, "delta_")) {
    b = find_builtin(name + 6);
    if (b) {
      *ret = b;
      return b->delta ? NAME_DELTA : NAME_BAD_DELTA;
    }
  }
  return NAME_CUSTOM;
}

const char *profile_kind_name(enum profile_kind k) {
  for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
    if (builtins[i].kind == k)
      return builtins[i].name;
  return "custom";
}

enum profile_kind profile_kind_from_name(const char *name) {
  const struct builtin *b;
  enum name_class c = classify(name, &b);
  return c == NAME_BUILTIN || c == NAME_DELTA ? b->kind : PROFILE_CUSTOM;
}

bool cfg_profile_name_valid(const char *s) {
  return cfg_valid_name(s, "_.:/-") && s[0] != '/' && !strstr(s, "..");
}

void cfg_profile_done(struct cfg_profile *p) {
  if (!p)
    return;
  free(p->name);
  free(p->path);
  cfg_pairs_free(p->params, p->n_params);
  memset(p, 0, sizeof(*p));
}

void cfg_profile_copy(struct cfg_profile *dst, const struct cfg_profile *src) {
  *dst = *src;
  dst->name = xstrdup(src->name);
  dst->path = xstrdup(src->path);
  dst->params = xcalloc(src->n_params, sizeof(*dst->params));
  for (size_t i = 0; i < src->n_params; i++) {
    dst->params[i].key = xstrdup(src->params[i].key);
    dst->params[i].value = xstrdup(src->params[i].value);
  }
}

/* Fills what every profile has, from the target's resolved settings. */
static void profile_init(struct cfg_profile *p, const struct cfg_target *t, const char *name,
                         const struct builtin *b, bool delta, const char *path) {
  memset(p, 0, sizeof(*p));
  p->name = xstrdup(name);
  p->kind = b ? b->kind : PROFILE_CUSTOM;
  if (path)
    p->path = xstrdup(path);
  else
    p->path = xasprintf("%s/%s", t->path_prefix, b ? b->endpoint : name);
  if (p->kind == PROFILE_CPU)
    p->seconds = t->cpu_seconds;
  else if (p->kind == PROFILE_TRACE)
    p->seconds = t->trace_seconds;
  else if (delta)
    p->seconds = t->delta_seconds;
  p->interval_ms = t->interval_ms;
  p->timeout_ms = t->timeout_ms;
  p->max_response_size = t->max_response_size;
  p->expect_trace = p->kind == PROFILE_TRACE;
  p->expect_pprof = b && !p->expect_trace;
}

int cfg_profile_for_discovered(const struct cfg_target *t, const char *name,
                               struct cfg_profile *ret) {
  const struct builtin *b;
  enum name_class c;

  if (!name || !cfg_profile_name_valid(name))
    return -EINVAL;
  c = classify(name, &b);
  if (c == NAME_NOT_PROFILE)
    return -ENOENT;
  if (c == NAME_BAD_DELTA)
    return -EINVAL;
  profile_init(ret, t, c == NAME_BUILTIN ? b->name : name, b, c == NAME_DELTA, NULL);
  ret->params = cfg_pairs_dup(t->params, t->n_params);
  ret->n_params = t->n_params;
  return 0;
}

int cfg_check_builtin_params(struct cfg_ctx *ctx, const struct cfg_pairset *params,
                             const char *profile, const char *target) {
  const struct cfg_pairitem *it = cfg_pairset_get(params, "seconds");
  char *what = profile ? xasprintf("profile '%s'", profile) : xstrdup("auto-discovered profiles");
  int r = 0;

  if (it)
    r = cfg_error(ctx, it->at,
                  "params.seconds is not allowed for %s of target '%s' (use the 'seconds' key)",
                  what, target);
  /* debug=N turns a builtin profile into text, which nothing would analyse. */
  it = cfg_pairset_get(params, "debug");
  if (it && r == 0)
    r = cfg_error(ctx, it->at,
                  "params.debug is not allowed for %s of target '%s' (use {type: custom, ...} "
                  "to collect text output)",
                  what, target);
  free(what);
  return r;
}

int cfg_check_interval(struct cfg_ctx *ctx, const struct ynode *at, int64_t interval_ms,
                       double seconds, const char *profile, const char *target) {
  char b[64];

  if (seconds > 0 && (double)interval_ms <= seconds * 1000)
    return cfg_error(ctx, at,
                     "interval %s must be longer than seconds %g (profile '%s' of target '%s')",
                     format_duration_ms(interval_ms, b, sizeof(b)), seconds, profile, target);
  return 0;
}

struct spec {
  struct cfg_common c; /* first: the shared key table entries use offsets into it */
  const struct ynode *type, *name, *path;
};

#define COMMON(f) offsetof(struct cfg_common, f)
const struct cfg_key cfg_profile_keys[] = {
    {"type", cfg_parse_node, offsetof(struct spec, type), CFG_NODE_ANY, 0, CFG_LEVEL_PROFILE},
    {"name", cfg_parse_node, offsetof(struct spec, name), CFG_NODE_ANY, 0, CFG_LEVEL_PROFILE},
    {"path", cfg_parse_node, offsetof(struct spec, path), CFG_NODE_ANY, 0, CFG_LEVEL_PROFILE},
    {"seconds", cfg_parse_seconds, COMMON(seconds), 0, 86400, CFG_LEVEL_PROFILE},
    {"interval", cfg_parse_duration, COMMON(interval_ms), 1000, 0, CFG_LEVEL_PROFILE},
    {"timeout", cfg_parse_duration, COMMON(timeout_ms), 1, 0, CFG_LEVEL_PROFILE},
    {"max_response_size", cfg_parse_size, COMMON(max_response_size), 1, 0, CFG_LEVEL_PROFILE},
    {"params", cfg_parse_pairs, COMMON(params), CFG_PAIRS_PARAMS, 0, CFG_LEVEL_PROFILE},
};
const size_t cfg_n_profile_keys = ARRAY_SIZE(cfg_profile_keys);

static int check_name_class(struct cfg_ctx *ctx, const struct ynode *at, const char *name,
                            enum name_class c) {
  if (c == NAME_NOT_PROFILE)
    return cfg_error(ctx, at, "'%s' is not a profile (pprofd collects profiles and traces)", name);
  if (c == NAME_BAD_DELTA)
    return cfg_error(ctx, at, "'%s' is not a profile (%s takes 'seconds' itself)", name, name + 6);
  if (!cfg_profile_name_valid(name))
    return cfg_error(ctx, at,
                     "invalid profile name '%s' (expected letters, digits, '_', '.', ':', '/' "
                     "and '-')",
                     name);
  return 0;
}

static int unknown_type(struct cfg_ctx *ctx, const struct ynode *type) {
  const char *hint = cfg_suggest(type->str, type_names, ARRAY_SIZE(type_names));

  if (hint)
    return cfg_error(ctx, type, "unknown profile type '%s' (did you mean '%s'?)", type->str, hint);
  return cfg_error(ctx, type,
                   "unknown profile type '%s' (expected cpu, heap, allocs, goroutine, block, "
                   "mutex, threadcreate, trace, delta_<type> or custom)",
                   type->str);
}

/* A mapping entry: works out the name (allocated), the builtin (NULL for a
 * custom profile) and whether it is a delta profile. */
static int resolve_spec(struct cfg_ctx *ctx, const struct spec *s, const struct ynode *entry,
                        const struct cfg_target *t, char **ret_name, const struct builtin **ret_b,
                        bool *ret_delta) {
  const struct builtin *b = NULL, *nb;
  const char *name = NULL;
  enum name_class c;
  char *want;
  bool delta;
  int r;

  if (s->name) {
    r = cfg_want_scalar(ctx, s->name, "name");
    if (r < 0)
      return r;
    name = s->name->str;
  }
  if (s->type) {
    r = cfg_want_scalar(ctx, s->type, "type");
    if (r < 0)
      return r;
    c = strcmp(s->type->str, "custom") == 0 ? NAME_CUSTOM : classify(s->type->str, &b);
    if (c == NAME_CUSTOM && strcmp(s->type->str, "custom") != 0)
      return unknown_type(ctx, s->type);
    if (c != NAME_CUSTOM) {
      r = check_name_class(ctx, s->type, s->type->str, c);
      if (r < 0)
        return r;
    }
  } else if (name) {
    c = classify(name, &b);
    if (c == NAME_BUILTIN)
      name = b->name; /* {name: profile} is cpu, as a bare "profile" */
  } else {
    return cfg_error(
        ctx, entry, "missing required key 'type' (or 'name') in a profile of target '%s'", t->name);
  }
  if (name) {
    r = check_name_class(ctx, s->name, name, classify(name, &nb));
    if (r < 0)
      return r;
  }
  if (c == NAME_CUSTOM) {
    if (!name)
      return cfg_error(ctx, entry,
                       "missing required key 'name' for a custom profile in target '%s'", t->name);
    if (classify(name, &nb) != NAME_CUSTOM)
      return cfg_error(ctx, s->name,
                       "profile name '%s' belongs to a builtin profile (choose another name for "
                       "a custom profile)",
                       name);
    if (s->c.seconds > 0)
      return cfg_error(ctx, ynode_map_key(entry, "seconds"),
                       "'seconds' is only used by cpu, trace and delta profiles (for custom "
                       "profile '%s' use params: {seconds: ...})",
                       name);
    *ret_name = xstrdup(name);
    *ret_b = NULL;
    *ret_delta = false;
    return 0;
  }
  delta = c == NAME_DELTA || (b->delta && s->c.seconds > 0);
  want = delta ? xasprintf("delta_%s", b->name) : xstrdup(b->name);
  /* A builtin name on another kind of profile would make captures lie
   * about their type. */
  if (name && classify(name, &nb) != NAME_CUSTOM && strcmp(name, want) != 0) {
    r = cfg_error(ctx, s->name,
                  "profile name '%s' belongs to another profile (this one is '%s' unless given "
                  "a custom name)",
                  name, want);
    free(want);
    return r;
  }
  if (name) {
    free(want);
    want = xstrdup(name);
  }
  *ret_name = want;
  *ret_b = b;
  *ret_delta = delta;
  return 0;
}

/* One entry of a `profiles:` list: a bare name or a mapping. */
static int build_entry(struct cfg_ctx *ctx, const struct cfg_inherit *in, struct cfg_target *t,
                       const struct ynode *entry, struct cfg_profile *p) {
  struct spec s = {.c = CFG_COMMON_INIT};
  struct cfg_pairset params = {0};
  const struct builtin *b = NULL;
  const char *path = NULL;
  char *name = NULL, *where;
  bool delta = false;
  int r;

  if (ynode_is_null(entry) || entry->type == YNODE_SEQ)
    return cfg_error(ctx, entry, "expected a profile name or mapping in target '%s', got %s",
                     t->name, ynode_kind(entry));
  if (entry->type == YNODE_SCALAR) {
    enum name_class c = classify(entry->str, &b);
    r = check_name_class(ctx, entry, entry->str, c);
    if (r < 0)
      return r;
    delta = c == NAME_DELTA;
    if (c == NAME_CUSTOM)
      b = NULL;
    name = xstrdup(c == NAME_BUILTIN ? b->name : entry->str);
  } else {
    where = xasprintf("in a profile of target '%s'", t->name);
    r = cfg_parse_map(ctx, entry, "profile", cfg_profile_keys, cfg_n_profile_keys,
                      CFG_LEVEL_PROFILE, where, &s);
    free(where);
    if (r < 0)
      return r;
    r = resolve_spec(ctx, &s, entry, t, &name, &b, &delta);
    if (r < 0)
      return r;
    if (s.path) {
      r = cfg_want_scalar(ctx, s.path, "path");
      if (r < 0)
        goto out;
      if (!cfg_url_path_valid(s.path->str)) {
        r = cfg_error(ctx, s.path,
                      "invalid path '%s' (expected an absolute URL path like /debug/fgprof)",
                      s.path->str);
        goto out;
      }
      path = s.path->str;
    }
  }

  profile_init(p, t, name, b, delta, path);
  if (s.c.seconds > 0)
    p->seconds = s.c.seconds;
  if (s.c.interval_ms >= 0)
    p->interval_ms = s.c.interval_ms;
  if (s.c.timeout_ms >= 0)
    p->timeout_ms = s.c.timeout_ms;
  if (s.c.max_response_size)
    p->max_response_size = s.c.max_response_size;
  p->line = entry->line;
  p->column = entry->column;
  params.n = in->params->n;
  params.items = xreallocarray(NULL, params.n, sizeof(*params.items));
  if (params.n)
    memcpy(params.items, in->params->items, params.n * sizeof(*params.items));
  cfg_pairset_merge(&params, s.c.params, false);
  p->params = cfg_pairset_export(&params, &p->n_params);
  r = 0;
  if (b)
    r = cfg_check_builtin_params(ctx, &params, p->name, t->name);
  if (r >= 0)
    r = cfg_check_interval(ctx, entry, p->interval_ms, p->seconds, p->name, t->name);
out:
  cfg_pairset_done(&params);
  free(name);
  return r;
}

int cfg_parse_profiles(struct cfg_ctx *ctx, const struct ynode *list, const struct cfg_inherit *in,
                       struct cfg_target *t) {
  size_t n = list ? list->n_items : ARRAY_SIZE(default_profiles);

  if (n > CFG_MAX_PROFILES)
    return cfg_error(ctx, list->items[CFG_MAX_PROFILES],
                     "too many profiles in target '%s' (more than %d)", t->name, CFG_MAX_PROFILES);
  t->profiles = xcalloc(n, sizeof(*t->profiles));
  for (size_t i = 0; i < n; i++) {
    struct cfg_profile *p = &t->profiles[i];
    const struct ynode *at = list ? list->items[i] : in->target_node;
    int r;

    /* Counted first so that cfg_free() releases a half-built profile. */
    t->n_profiles++;
    if (list) {
      r = build_entry(ctx, in, t, list->items[i], p);
    } else {
      profile_init(p, t, default_profiles[i], find_builtin(default_profiles[i]), false, NULL);
      p->params = cfg_pairset_export(in->params, &p->n_params);
      r = cfg_check_builtin_params(ctx, in->params, p->name, t->name);
      if (r >= 0)
        r = cfg_check_interval(ctx, at, p->interval_ms, p->seconds, p->name, t->name);
    }
    if (r < 0)
      return r;
    for (size_t j = 0; j < i; j++)
      if (strcmp(t->profiles[j].name, p->name) == 0)
        return cfg_error(ctx, at,
                         "duplicate profile '%s' in target '%s' (first defined at line %d)",
                         p->name, t->name, t->profiles[j].line);
  }
  return 0;
}
