/* Value parsers used by the key tables, the generic mapping walker, and
 * small helpers (errors, paths, secrets, key/value sets) shared by the
 * cfg_*.c files. Each parser checks one YAML value and stores it at
 * obj + key->offset. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg_int.h"
#include "util.h"

static int verror_at(struct cfg_ctx *ctx, int line, int column, const char *fmt, va_list ap) {
  char *msg;

  if (ctx->err)
    return -EINVAL;
  if (vasprintf(&msg, fmt, ap) < 0)
    abort();
  ctx->err = xasprintf("%s:%d:%d: %s", ctx->file, line, column, msg);
  free(msg);
  return -EINVAL;
}

int cfg_error_at(struct cfg_ctx *ctx, int line, int column, const char *fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = verror_at(ctx, line, column, fmt, ap);
  va_end(ap);
  return r;
}

int cfg_error(struct cfg_ctx *ctx, const struct ynode *at, const char *fmt, ...) {
  va_list ap;
  int r;
  va_start(ap, fmt);
  r = verror_at(ctx, at ? at->line : 1, at ? at->column : 1, fmt, ap);
  va_end(ap);
  return r;
}

/* Levenshtein distance, capped: names are short (< 32 chars). */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), prev[33], cur[33];

  if (la > 32 || lb > 32)
    return SIZE_MAX;
  for (size_t j = 0; j <= lb; j++)
    prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != b[j - 1]);
      size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
      cur[j] = MIN(sub, MIN(del, ins));
    }
    memcpy(prev, cur, (lb + 1) * sizeof(size_t));
  }
  return prev[lb];
}

const char *cfg_suggest(const char *word, const char *const *names, size_t n) {
  const char *best = NULL;
  size_t best_d = 3;

  for (size_t i = 0; i < n; i++) {
    size_t d = edit_distance(word, names[i]);
    if (d < best_d && d < strlen(names[i])) {
      best = names[i];
      best_d = d;
    }
  }
  return best;
}

bool cfg_valid_name(const char *s, const char *extra_chars) {
  if (!*s || strlen(s) > CFG_MAX_NAME_LEN)
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr(extra_chars, *s))
      return false;
  return true;
}

int cfg_parse_map(struct cfg_ctx *ctx, const struct ynode *map, const char *what,
                  const struct cfg_key *keys, size_t n_keys, unsigned level, const char *where,
                  void *obj) {
  if (ynode_is_null(map))
    return 0;
  if (map->type != YNODE_MAP)
    return cfg_error(ctx, map, "expected a mapping for '%s', got %s", what, ynode_kind(map));
  for (size_t i = 0; i + 1 < map->n_items; i += 2) {
    const struct ynode *k = map->items[i], *v = map->items[i + 1];
    const struct cfg_key *key = NULL;
    int r;

    for (size_t j = 0; j < n_keys && !key; j++)
      if (strcmp(keys[j].name, k->str) == 0)
        key = &keys[j];
    if (!key) {
      const char *names[64];
      const char *hint;
      size_t n = 0;
      for (size_t j = 0; j < n_keys && n < ARRAY_SIZE(names); j++)
        if (keys[j].levels & level)
          names[n++] = keys[j].name;
      hint = cfg_suggest(k->str, names, n);
      if (hint)
        return cfg_error(ctx, k, "unknown key '%s' %s (did you mean '%s'?)", k->str, where, hint);
      return cfg_error(ctx, k, "unknown key '%s' %s", k->str, where);
    }
    if (!(key->levels & level))
      return cfg_error(ctx, k, "key '%s' is not allowed %s", k->str, where);
    r = key->parse(ctx, key, k, v, obj);
    if (r < 0)
      return r;
  }
  return 0;
}

int cfg_want_scalar(struct cfg_ctx *ctx, const struct ynode *val, const char *key) {
  if (ynode_is_null(val))
    return cfg_error(ctx, val, "missing value for '%s'", key);
  if (val->type != YNODE_SCALAR)
    return cfg_error(ctx, val, "expected a scalar for '%s', got %s", key, ynode_kind(val));
  return 0;
}

int cfg_parse_duration(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                       const struct ynode *val, void *obj) {
  int64_t ms;
  char b1[64], b2[64];
  int r = cfg_want_scalar(ctx, val, key->name);

  if (r < 0)
    return r;
  /* A bare 0 is the natural way to say "off" (retention: 0). */
  if (strcmp(val->str, "0") == 0)
    ms = 0;
  else if (parse_duration_ms(val->str, &ms) < 0)
    return cfg_error(ctx, val,
                     "invalid duration '%s' for '%s' (expected e.g. 500ms, 30s, 5m, 1h, 14d)",
                     val->str, key->name);
  if (key->min > 0 && ms == 0)
    return cfg_error(ctx, val, "'%s' must be greater than 0", key->name);
  if (ms < key->min)
    return cfg_error(ctx, val, "'%s' must be at least %s, got '%s'", key->name,
                     format_duration_ms(key->min, b1, sizeof(b1)), val->str);
  if (key->max && ms > key->max)
    return cfg_error(ctx, val, "'%s' must be at most %s, got '%s'", key->name,
                     format_duration_ms(key->max, b2, sizeof(b2)), val->str);
  *(int64_t *)((char *)obj + key->offset) = ms;
  return 0;
}

int cfg_parse_size(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                   const struct ynode *val, void *obj) {
  uint64_t v;
  int r = cfg_want_scalar(ctx, val, key->name);

  if (r < 0)
    return r;
  if (parse_size(val->str, &v) < 0)
    return cfg_error(ctx, val, "invalid size '%s' for '%s' (expected e.g. 64KiB, 256MiB, 20GiB)",
                     val->str, key->name);
  if (key->min == 1 && v == 0)
    return cfg_error(ctx, val, "'%s' must be greater than 0", key->name);
  if (key->min > 0 && v < (uint64_t)key->min)
    return cfg_error(ctx, val, "'%s' must be at least %" PRId64 " bytes, got '%s'", key->name,
                     key->min, val->str);
  *(uint64_t *)((char *)obj + key->offset) = v;
  return 0;
}

int cfg_parse_unsigned(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                       const struct ynode *val, void *obj) {
  uint64_t v;
  int r = cfg_want_scalar(ctx, val, key->name);

  if (r < 0)
    return r;
  if (parse_uint64(val->str, &v) < 0 || v < (uint64_t)key->min || v > (uint64_t)key->max)
    return cfg_error(ctx, val,
                     "invalid value '%s' for '%s' (expected an integer from %" PRId64 " to %" PRId64
                     ")",
                     val->str, key->name, key->min, key->max);
  *(unsigned *)((char *)obj + key->offset) = (unsigned)v;
  return 0;
}

/* A fraction of a whole: "0.5%" or 0.005. */
int cfg_parse_share(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                    const struct ynode *val, void *obj) {
  double v;
  char num[64];
  size_t len;
  bool percent;
  int r = cfg_want_scalar(ctx, val, key->name);

  if (r < 0)
    return r;
  len = strlen(val->str);
  percent = len > 0 && val->str[len - 1] == '%';
  if (len >= sizeof(num))
    goto invalid;
  memcpy(num, val->str, len + 1);
  if (percent)
    num[len - 1] = '\0';
  if (parse_double(num, &v) < 0)
    goto invalid;
  if (percent)
    v /= 100;
  if (v < 0 || v > 1)
    goto invalid;
  *(double *)((char *)obj + key->offset) = v;
  return 0;

invalid:
  return cfg_error(ctx, val,
                   "invalid value '%s' for '%s' (expected a share like 0.5%% or 0.005, "
                   "from 0 to 100%%)",
                   val->str, key->name);
}

/* A number of seconds ("10", "2.5") or a duration ("10s", "500ms"). */
int cfg_parse_seconds(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                      const struct ynode *val, void *obj) {
  double v;
  int64_t ms;
  int r = cfg_want_scalar(ctx, val, key->name);

  if (r < 0)
    return r;
  if (parse_double(val->str, &v) < 0) {
    if (parse_duration_ms(val->str, &ms) < 0)
      return cfg_error(ctx, val,
                       "invalid value '%s' for '%s' (expected a number of seconds like 10 or "
                       "2.5, or a duration like 10s)",
                       val->str, key->name);
    v = (double)ms / 1000;
  }
  if (!(v > 0))
    return cfg_error(ctx, val, "'%s' must be greater than 0, got '%s'", key->name, val->str);
  if (v > (double)key->max)
    return cfg_error(ctx, val, "'%s' must be at most %" PRId64 ", got '%s'", key->name, key->max,
                     val->str);
  *(double *)((char *)obj + key->offset) = v;
  return 0;
}

int cfg_parse_string(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                     const struct ynode *val, void *obj) {
  char **p = (char **)((char *)obj + key->offset);
  int r = cfg_want_scalar(ctx, val, key->name);

  if (r < 0)
    return r;
  free(*p);
  *p = xstrdup(val->str);
  return 0;
}

char *cfg_resolve_path(const struct cfg_ctx *ctx, const char *path) {
  if (path[0] == '/' || !ctx->basedir)
    return xstrdup(path);
  return xasprintf("%s/%s", ctx->basedir, path);
}

int cfg_parse_path(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                   const struct ynode *val, void *obj) {
  char **p = (char **)((char *)obj + key->offset);
  int r = cfg_want_scalar(ctx, val, key->name);

  if (r < 0)
    return r;
  free(*p);
  *p = cfg_resolve_path(ctx, val->str);
  return 0;
}

int cfg_parse_bool(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                   const struct ynode *val, void *obj) {
  static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false", "no", "off"};
  int r = cfg_want_scalar(ctx, val, key->name);

  if (r < 0)
    return r;
  for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
    if (strcasecmp(val->str, yes[i]) == 0) {
      *(int *)((char *)obj + key->offset) = 1;
      return 0;
    }
    if (strcasecmp(val->str, no[i]) == 0) {
      *(int *)((char *)obj + key->offset) = 0;
      return 0;
    }
  }
  return cfg_error(ctx, val, "invalid value '%s' for '%s' (expected true or false)", val->str,
                   key->name);
}

int cfg_parse_node(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                   const struct ynode *val, void *obj) {
  const struct ynode **p = (const struct ynode **)((char *)obj + key->offset);

  if (key->min == CFG_NODE_MAP && !ynode_is_null(val) && val->type != YNODE_MAP)
    return cfg_error(ctx, val, "expected a mapping for '%s', got %s", key->name, ynode_kind(val));
  if (key->min == CFG_NODE_SEQ && !ynode_is_null(val) && val->type != YNODE_SEQ)
    return cfg_error(ctx, val, "expected a list for '%s', got %s", key->name, ynode_kind(val));
  *p = val;
  return 0;
}

int cfg_read_secret(struct cfg_ctx *ctx, const struct ynode *k, const char *key, const char *path,
                    char **ret) {
  char *s = NULL;
  int r = read_file_small(path, CFG_MAX_SECRET_SIZE, true, &s);

  if (r == -EFBIG)
    return cfg_error(ctx, k, "cannot read %s '%s': file is larger than %u KiB", key, path,
                     CFG_MAX_SECRET_SIZE / 1024);
  if (r < 0)
    return cfg_error(ctx, k, "cannot read %s '%s': %s", key, path, strerror(-r));
  if (!*s) {
    free(s);
    return cfg_error(ctx, k, "%s '%s' is empty", key, path);
  }
  /* The value goes into an HTTP header: a line break would split it. */
  for (const char *p = s; *p; p++) {
    if ((unsigned char)*p < 0x20 || *p == 0x7f) {
      free(s);
      return cfg_error(ctx, k, "%s '%s' contains a control character or line break", key, path);
    }
  }
  *ret = s;
  return 0;
}

void cfg_pairset_merge(struct cfg_pairset *s, const struct ynode *map, bool casefold) {
  if (!map || map->type != YNODE_MAP)
    return;
  for (size_t i = 0; i + 1 < map->n_items; i += 2) {
    const struct ynode *k = map->items[i], *v = map->items[i + 1];
    size_t j;
    for (j = 0; j < s->n; j++) {
      if (casefold ? strcasecmp(s->items[j].key, k->str) == 0
                   : strcmp(s->items[j].key, k->str) == 0)
        break;
    }
    if (j == s->n) {
      s->items = xreallocarray(s->items, s->n + 1, sizeof(*s->items));
      s->n++;
    }
    s->items[j].key = k->str;
    s->items[j].value = v->str;
    s->items[j].at = k;
  }
}

const struct cfg_pairitem *cfg_pairset_get(const struct cfg_pairset *s, const char *key) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->items[i].key, key) == 0)
      return &s->items[i];
  return NULL;
}

static int pair_cmp(const void *a, const void *b) {
  const struct cfg_pair *pa = a, *pb = b;
  return strcmp(pa->key, pb->key);
}

struct cfg_pair *cfg_pairset_export(const struct cfg_pairset *s, size_t *ret_n) {
  struct cfg_pair *p = NULL;

  *ret_n = s->n;
  if (!s->n)
    return NULL;
  p = xcalloc(s->n, sizeof(*p));
  for (size_t i = 0; i < s->n; i++) {
    p[i].key = xstrdup(s->items[i].key);
    p[i].value = xstrdup(s->items[i].value ? s->items[i].value : "");
  }
  qsort(p, s->n, sizeof(*p), pair_cmp);
  return p;
}

void cfg_pairset_done(struct cfg_pairset *s) {
  free(s->items);
  s->items = NULL;
  s->n = 0;
}

void cfg_pairs_free(struct cfg_pair *p, size_t n) {
  for (size_t i = 0; p && i < n; i++) {
    free(p[i].key);
    free(p[i].value);
  }
  free(p);
}

struct cfg_pair *cfg_pairs_dup(const struct cfg_pair *p, size_t n) {
  struct cfg_pair *d;
  if (!n)
    return NULL;
  d = xcalloc(n, sizeof(*d));
  for (size_t i = 0; i < n; i++) {
    d[i].key = xstrdup(p[i].key);
    d[i].value = xstrdup(p[i].value);
  }
  return d;
}

static bool label_name_valid(const char *s) {
  if (!(isalpha((unsigned char)*s) || *s == '_'))
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_')
      return false;
  return true;
}

/* RFC 9110 token characters. */
static bool header_name_valid(const char *s) {
  if (!*s)
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
      return false;
  return true;
}

static bool has_control(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

int cfg_parse_pairs(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                    const struct ynode *val, void *obj) {
  static const char *const what[] = {"parameter", "label", "header"};
  const char *w = what[key->min];

  if (ynode_is_null(val)) {
    val = NULL;
    goto done;
  }
  if (val->type != YNODE_MAP)
    return cfg_error(ctx, val, "expected a mapping for '%s', got %s", key->name, ynode_kind(val));
  for (size_t i = 0; i + 1 < val->n_items; i += 2) {
    const struct ynode *pk = val->items[i], *pv = val->items[i + 1];

    if (ynode_is_null(pv))
      return cfg_error(ctx, pv, "missing value for %s '%s'", w, pk->str);
    if (pv->type != YNODE_SCALAR)
      return cfg_error(ctx, pv, "expected a scalar for %s '%s', got %s", w, pk->str,
                       ynode_kind(pv));
    switch (key->min) {
    case CFG_PAIRS_LABELS:
      if (!label_name_valid(pk->str))
        return cfg_error(ctx, pk,
                         "invalid label name '%s' (expected letters, digits and '_', not "
                         "starting with a digit)",
                         pk->str);
      if (strcmp(pk->str, "target") == 0 || strcmp(pk->str, "instance") == 0 ||
          strcmp(pk->str, "type") == 0)
        return cfg_error(ctx, pk,
                         "label name '%s' is reserved (pprofd sets target, instance and type)",
                         pk->str);
      break;
    case CFG_PAIRS_HEADERS:
      if (!header_name_valid(pk->str))
        return cfg_error(ctx, pk, "invalid header name '%s'", pk->str);
      /* Names are case-insensitive: X-A and x-a would silently collide. */
      for (size_t j = 0; j < i; j += 2)
        if (strcasecmp(val->items[j]->str, pk->str) == 0)
          return cfg_error(ctx, pk, "duplicate header '%s' (first defined at line %d)", pk->str,
                           val->items[j]->line);
      if (has_control(pv->str))
        return cfg_error(ctx, pv, "value of header '%s' contains a control character or line break",
                         pk->str);
      break;
    default:
      if (!pk->str[0])
        return cfg_error(ctx, pk, "empty query parameter name");
      break;
    }
  }
done:
  *(const struct ynode **)((char *)obj + key->offset) = val;
  return 0;
}

bool cfg_url_path_valid(const char *s) {
  if (s[0] != '/')
    return false;
  for (; *s; s++)
    if ((unsigned char)*s <= 0x20 || *s == 0x7f || *s == '?' || *s == '#')
      return false;
  return true;
}
