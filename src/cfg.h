/* Configuration: pprofd.yaml parsed with libyaml into an immutable struct
 * cfg. Every value below is fully resolved (defaults, target and profile
 * levels merged, most specific wins), so consumers never look at "unset".
 * A reload parses a new struct cfg and swaps it in; nothing edits a live one.
 *
 * Errors are reported as "FILE:LINE:COLUMN: message" (1-based line and
 * column of the offending YAML node). */
#ifndef PPROFD_CFG_H
#define PPROFD_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CFG_DEFAULT_INTERVAL_MS (60 * 1000)
#define CFG_DEFAULT_TIMEOUT_MS (10 * 1000)
#define CFG_DEFAULT_MAX_RESPONSE_SIZE (256ULL * 1024 * 1024)
#define CFG_DEFAULT_CPU_SECONDS 10.0
#define CFG_DEFAULT_TRACE_SECONDS 5.0
#define CFG_DEFAULT_PATH_PREFIX "/debug/pprof"

enum profile_kind {
  PROFILE_CPU,          /* <prefix>/profile?seconds=N */
  PROFILE_HEAP,         /* <prefix>/heap[?seconds=N for a delta] */
  PROFILE_ALLOCS,
  PROFILE_GOROUTINE,
  PROFILE_BLOCK,
  PROFILE_MUTEX,
  PROFILE_THREADCREATE,
  PROFILE_TRACE,        /* <prefix>/trace?seconds=N */
  PROFILE_CUSTOM,       /* any name and path */
};

/* A key=value pair: labels, query parameters, HTTP headers. */
struct cfg_pair {
  char *key;
  char *value;
};

struct cfg_profile {
  char *name;            /* "cpu", "heap", "trace", "delta_heap", "fgprof", ... unique per target;
                            this is the capture's "type" */
  enum profile_kind kind;
  char *path;            /* absolute URL path, e.g. "/debug/pprof/heap" or "/debug/fgprof" */
  double seconds;        /* > 0: sent as ?seconds=N (cpu, trace, delta profiles); 0: not sent */
  struct cfg_pair *params; /* extra query parameters (after seconds), merged defaults->target->profile */
  size_t n_params;
  int64_t interval_ms;
  int64_t timeout_ms;    /* a fetch may take seconds + timeout before it is abandoned */
  uint64_t max_response_size;
  /* Expected body: true for everything but custom profiles, whose format is
   * only validated when it is recognisable (pprof/trace/text). */
  bool expect_pprof;     /* cpu, heap, allocs, goroutine, block, mutex, threadcreate */
  bool expect_trace;     /* trace */
  int line, column;      /* where it was defined (0 for auto-discovered) */
};

struct cfg_http_client {
  char *ca_file;
  char *cert_file;
  char *key_file;
  char *server_name;     /* name used for TLS SNI and certificate verification instead of
                            the URL's host (the connection still goes to the URL's host) */
  bool insecure_skip_verify;
  char *bearer_token;    /* contents of bearer_token_file; never logged or stored
                            (NULL when loaded with CFG_LOAD_SKIP_SECRETS) */
  char *bearer_token_file; /* where it came from (absolute or as written), or NULL */
  char *basic_username;
  char *basic_password;  /* contents of basic_auth.password_file */
  char *basic_password_file;
  struct cfg_pair *headers;
  size_t n_headers;
};

struct cfg_instance {
  char *url;             /* base URL as written without a trailing "/", e.g.
                            "http://127.0.0.1:6060"; fetch URLs are url + profile path */
  char *name;            /* the "instance" label: host:port, unique within the target */
};

struct cfg_target {
  char *name;
  struct cfg_instance *instances;
  size_t n_instances;
  char *path_prefix;     /* default "/debug/pprof"; no trailing "/" ("" for the root) */
  struct cfg_pair *labels; /* static labels, sorted by key; keys target/instance/type are reserved */
  size_t n_labels;
  bool profiles_auto;    /* `profiles: auto`: discover from the index page */
  struct cfg_profile *profiles; /* empty when profiles_auto */
  size_t n_profiles;
  /* Target-level resolved settings, used for auto-discovered profiles. */
  int64_t interval_ms;
  int64_t timeout_ms;
  uint64_t max_response_size;
  double cpu_seconds;    /* seconds used for cpu when not given per profile */
  double trace_seconds;
  double delta_seconds;  /* seconds used for delta_* profiles (same rule as cpu) */
  struct cfg_pair *params; /* merged defaults+target query params */
  size_t n_params;
  struct cfg_http_client http;
  int line, column;
};

struct cfg_storage {
  char *path;            /* default STATEDIR "/pprofd.db" */
  int64_t retention_ms;  /* 0 = keep forever; default 14d */
  uint64_t max_size;     /* 0 = unlimited; bytes */
  int64_t prune_interval_ms; /* default 5m */
};

struct cfg_collector {
  unsigned max_concurrent;   /* global cap on fetches in flight; default 256 */
  unsigned workers;          /* analysis threads; default 2 */
  unsigned queue_size;       /* captures waiting for analysis/storage; default 64 */
  uint64_t queue_max_bytes;  /* bytes those captures may hold (soft); default 32 MiB, 0 = none */
  int64_t shutdown_grace_ms; /* SIGTERM: how long in-flight fetches may finish; default 10s */
  int64_t max_backoff_ms;    /* failing jobs back off up to this; default 10m */
  double min_function_share; /* analysis: keep functions >= this share of total; default 0.005 */
  unsigned max_functions;    /* analysis: cap per sample type; default 300 */
  uint64_t max_decompressed_size; /* analysis: gzip inflate cap; default 256 MiB */
};

struct cfg_http_server {
  char *listen;          /* default "127.0.0.1:7070"; "" or "off" disables (the parser
                            stores "off" for both) */
  char *token;           /* contents of token_file, or NULL */
  char *token_file;      /* NULL when not configured */
};

struct cfg {
  char *file;
  struct cfg_storage storage;
  struct cfg_collector collector;
  struct cfg_http_server http;
  char *log_level;       /* "info" by default */
  struct cfg_target *targets;
  size_t n_targets;
};

/* Parses and validates path. On error returns -EINVAL (or -errno when the
 * file cannot be read) and sets *ret_err to "FILE:LINE:COL: message"
 * (caller frees; ret_err may be NULL). Reads token/password files named by
 * the config. Relative paths in the file (storage.path, token and TLS
 * files) are resolved against the directory of path (of name for
 * cfg_load_string; kept as written when name has no "/"). YAML anchors,
 * aliases and multi-document files are rejected with an error. */
enum {
  CFG_LOAD_SKIP_SECRETS = 1 << 0, /* pprofctl: do not read token/password files */
};
int cfg_load(const char *path, unsigned flags, struct cfg **ret_cfg, char **ret_err);
/* Same, from a memory buffer; name is used in messages. */
int cfg_load_string(const char *name, const char *yaml, size_t len, unsigned flags,
                    struct cfg **ret_cfg, char **ret_err);
struct cfg *cfg_free(struct cfg *c);

/* Builds a fully resolved profile for a name discovered on a target's
 * index page ("heap", "profile" -> "cpu", "trace", "delta_heap", a custom
 * name). Returns 0, or -ENOENT for names that are not profiles (cmdline,
 * symbol). */
int cfg_profile_for_discovered(const struct cfg_target *t, const char *name,
                               struct cfg_profile *ret);
void cfg_profile_done(struct cfg_profile *p);
/* Deep copy (a job keeps its profile across reloads). */
void cfg_profile_copy(struct cfg_profile *dst, const struct cfg_profile *src);

/* Parses a net/http/pprof index page and returns the profile names it lists
 * (links of the form "<name>?debug=1"), NULL-terminated. */
int cfg_parse_index_page(const char *html, size_t len, char ***ret_names);

const char *profile_kind_name(enum profile_kind k);
/* "cpu"/"profile" -> PROFILE_CPU, ..., "delta_heap" -> PROFILE_HEAP (the
 * six delta_<kind> names map to their kind), anything else ->
 * PROFILE_CUSTOM. */
enum profile_kind profile_kind_from_name(const char *name);

/* Prints the fully resolved configuration as stable, YAML-like text
 * (`pprofd -n -v`, golden tests). Secrets are printed as <redacted>. */
void cfg_dump(const struct cfg *c, FILE *f);

/* Calls fn for every key the parser accepts; section is "" for the top
 * level, else "storage", "collector", "http", "targets" (also valid under
 * defaults), "tls", "basic_auth" or "profiles" (profile mappings). */
void cfg_foreach_key(void (*fn)(const char *section, const char *key, void *userdata),
                     void *userdata);

#endif
