/* Internals of the cfg module, shared by src/cfg*.c only: the YAML node
 * tree, the load context with its single error, the key tables and the
 * value parsers they point to. Other modules use cfg.h. */
#ifndef PPROFD_CFG_INT_H
#define PPROFD_CFG_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"

/* Hard limits on the input, so that a hostile or broken file costs bounded
 * memory and time. */
#define CFG_MAX_FILE_SIZE (16u * 1024 * 1024)
#define CFG_MAX_DEPTH 64
#define CFG_MAX_NODES 1000000
#define CFG_MAX_MAP_PAIRS 4096
#define CFG_MAX_SECRET_SIZE (64u * 1024)
#define CFG_MAX_NAME_LEN 128
/* Duplicate names are found by pairwise comparison: these keep that cheap. */
#define CFG_MAX_TARGETS 10000
#define CFG_MAX_INSTANCES 10000
#define CFG_MAX_PROFILES 1000

enum ynode_type {
  YNODE_SCALAR,
  YNODE_SEQ,
  YNODE_MAP,
};

/* One node of the document. Mappings store key/value pairs flattened:
 * items[2i] is a (scalar) key, items[2i+1] its value. */
struct ynode {
  enum ynode_type type;
  int line, column; /* 1-based */
  char *str;        /* scalars: the value, NUL-free and NUL-terminated */
  bool plain;       /* scalars: unquoted, so "", "~" and "null" mean null */
  struct ynode **items;
  size_t n_items;
  size_t cap;
};

/* State of one load: where messages point and the first error. */
struct cfg_ctx {
  const char *file;    /* name used in messages */
  const char *basedir; /* relative paths are resolved against it; NULL keeps them */
  unsigned flags;      /* CFG_LOAD_* */
  char *err;           /* "FILE:LINE:COL: message", first error only */
  size_t n_nodes;
};

/* Records "FILE:LINE:COL: message" at node (or 1:1 without one) unless an
 * error is already recorded, and returns -EINVAL. */
int cfg_error(struct cfg_ctx *ctx, const struct ynode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int cfg_error_at(struct cfg_ctx *ctx, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* cfg_yaml.c: parses the document into a tree. A file without a document
 * (empty, or comments only) gives 0 and *ret_root == NULL. Anchors, aliases
 * and several documents are rejected. */
int ynode_parse(struct cfg_ctx *ctx, const char *data, size_t len, struct ynode **ret_root);
struct ynode *ynode_free(struct ynode *n);
bool ynode_is_null(const struct ynode *n);
/* "a scalar", "a list", "a mapping", "null" */
const char *ynode_kind(const struct ynode *n);
/* Value (or key node) of key in a mapping, or NULL. */
const struct ynode *ynode_map_get(const struct ynode *map, const char *key);
const struct ynode *ynode_map_key(const struct ynode *map, const char *key);

/* One entry of a key table. parse() checks val and stores it into
 * obj + offset; min/max bound numbers and durations (max 0: none). */
struct cfg_key {
  const char *name;
  int (*parse)(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
               const struct ynode *val, void *obj);
  size_t offset;
  int64_t min, max;
  unsigned levels; /* CFG_LEVEL_* where the key is allowed (key tables shared by levels) */
};

enum {
  CFG_LEVEL_DEFAULTS = 1 << 0,
  CFG_LEVEL_TARGET = 1 << 1,
  CFG_LEVEL_PROFILE = 1 << 2,
  CFG_LEVEL_ANY = 7,
};

/* Walks a mapping: every key must be in keys and allowed at level; where
 * ("in storage", "in target 'api'") completes the messages. A null value
 * for the whole mapping is an empty mapping. */
int cfg_parse_map(struct cfg_ctx *ctx, const struct ynode *map, const char *what,
                  const struct cfg_key *keys, size_t n_keys, unsigned level, const char *where,
                  void *obj);

/* cfg_value.c: value parsers for key tables. */
int cfg_parse_duration(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                       const struct ynode *val, void *obj);
int cfg_parse_size(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                   const struct ynode *val, void *obj);
int cfg_parse_unsigned(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                       const struct ynode *val, void *obj);
int cfg_parse_share(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                    const struct ynode *val, void *obj);
int cfg_parse_seconds(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                      const struct ynode *val, void *obj);
int cfg_parse_string(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                     const struct ynode *val, void *obj);
int cfg_parse_path(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                   const struct ynode *val, void *obj);
int cfg_parse_bool(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                   const struct ynode *val, void *obj);
/* Stores the node itself (const struct ynode *) after a type check:
 * min 0 any, YNODE_MAP + 1 mapping (or null), YNODE_SEQ + 1 list. */
int cfg_parse_node(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                   const struct ynode *val, void *obj);
#define CFG_NODE_ANY 0
#define CFG_NODE_MAP (YNODE_MAP + 1)
#define CFG_NODE_SEQ (YNODE_SEQ + 1)

/* Requires a non-null scalar; the message names key. */
int cfg_want_scalar(struct cfg_ctx *ctx, const struct ynode *val, const char *key);
/* Reads a secret file (trailing newline stripped, at most 64 KiB) named
 * by key; errors point at k. */
int cfg_read_secret(struct cfg_ctx *ctx, const struct ynode *k, const char *key, const char *path,
                    char **ret);
/* path relative to ctx->basedir unless absolute. */
char *cfg_resolve_path(const struct cfg_ctx *ctx, const char *path);
/* Closest name within edit distance 2, for "did you mean" hints. */
const char *cfg_suggest(const char *word, const char *const *names, size_t n);
bool cfg_valid_name(const char *s, const char *extra_chars);
/* An absolute URL path without spaces, controls, '?' or '#'. */
bool cfg_url_path_valid(const char *s);

/* A growable list of borrowed key/value strings, merged level by level. */
struct cfg_pairset {
  struct cfg_pairitem {
    const char *key;
    const char *value;
    const struct ynode *at; /* the key node, for errors */
  } * items;
  size_t n;
};
/* Adds or replaces (case-insensitively when casefold) every pair of a
 * mapping of scalars; map may be NULL. */
void cfg_pairset_merge(struct cfg_pairset *s, const struct ynode *map, bool casefold);
const struct cfg_pairitem *cfg_pairset_get(const struct cfg_pairset *s, const char *key);
/* Copies into a cfg_pair array sorted by key. */
struct cfg_pair *cfg_pairset_export(const struct cfg_pairset *s, size_t *ret_n);
void cfg_pairset_done(struct cfg_pairset *s);
void cfg_pairs_free(struct cfg_pair *p, size_t n);
struct cfg_pair *cfg_pairs_dup(const struct cfg_pair *p, size_t n);

/* Key tables, for cfg_foreach_key() and the parsers. */
extern const struct cfg_key cfg_top_keys[];
extern const size_t cfg_n_top_keys;
extern const struct cfg_key cfg_storage_keys[];
extern const size_t cfg_n_storage_keys;
extern const struct cfg_key cfg_collector_keys[];
extern const size_t cfg_n_collector_keys;
extern const struct cfg_key cfg_http_keys[];
extern const size_t cfg_n_http_keys;
extern const struct cfg_key cfg_target_keys[];
extern const size_t cfg_n_target_keys;
extern const struct cfg_key cfg_tls_keys[];
extern const size_t cfg_n_tls_keys;
extern const struct cfg_key cfg_basic_auth_keys[];
extern const size_t cfg_n_basic_auth_keys;
extern const struct cfg_key cfg_profile_keys[];
extern const size_t cfg_n_profile_keys;

/* Keys allowed at the defaults, target and profile levels; the same key
 * table entries parse them into any struct that starts with this. */
struct cfg_common {
  int64_t interval_ms;        /* -1: not given */
  int64_t timeout_ms;         /* -1: not given */
  uint64_t max_response_size; /* 0: not given */
  double seconds;             /* 0: not given */
  const struct ynode *params; /* mapping of scalars, or NULL */
};
#define CFG_COMMON_INIT                                                                            \
  { .interval_ms = -1, .timeout_ms = -1 }

/* Checks a mapping of scalars (labels, params, headers): key->min selects
 * the rules (CFG_PAIRS_*), the node is stored like cfg_parse_node(). */
int cfg_parse_pairs(struct cfg_ctx *ctx, const struct cfg_key *key, const struct ynode *k,
                    const struct ynode *val, void *obj);
enum { CFG_PAIRS_PARAMS, CFG_PAIRS_LABELS, CFG_PAIRS_HEADERS };

/* cfg_target.c */
int cfg_parse_targets(struct cfg_ctx *ctx, const struct ynode *root, const struct ynode *defaults,
                      const struct ynode *targets, struct cfg *c);
void cfg_target_done(struct cfg_target *t);

/* cfg_profile.c: builds t->profiles from a list of profile entries (NULL:
 * the builtin default list), given the target's resolved settings. */
struct cfg_inherit {
  const struct ynode *target_node;  /* where target-level errors point */
  double seconds;                   /* defaults/target `seconds`, 0 if not given */
  const struct cfg_pairset *params; /* merged defaults+target params */
};
int cfg_parse_profiles(struct cfg_ctx *ctx, const struct ynode *list, const struct cfg_inherit *in,
                       struct cfg_target *t);
/* Checks what a builtin profile may not have: params.seconds / params.debug.
 * profile NULL: the target's auto-discovered profiles. */
int cfg_check_builtin_params(struct cfg_ctx *ctx, const struct cfg_pairset *params,
                             const char *profile, const char *target);
/* Checks that interval > seconds. */
int cfg_check_interval(struct cfg_ctx *ctx, const struct ynode *at, int64_t interval_ms,
                       double seconds, const char *profile, const char *target);
bool cfg_profile_name_valid(const char *s);

#endif
