/* pprofctl: shared state and helpers for the commands. Each command lives
 * in its own src/ctl_<name>.c and exports a struct ctl_command that the
 * table in pprofctl.c lists.
 *
 * Contract for every command: human tables by default, one JSON document
 * with --json (printed with json_dumpf(..., JSON_INDENT(2)) + "\n"); exit
 * status 0 on success, 1 when nothing matched / not found / runtime error
 * (message on stderr), 2 on usage errors. */
#ifndef PPROFD_CTL_H
#define PPROFD_CTL_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

enum {
  CTL_EXIT_OK = 0,
  CTL_EXIT_NOTFOUND = 1, /* also runtime errors */
  CTL_EXIT_USAGE = 2,
};

struct ctl {
  const char *db_path;     /* -d DB */
  const char *config_path; /* -c CONFIG */
  bool json;               /* --json given before or after the command */
  int64_t now_ms;          /* wall clock at start, for relative times */
  struct store *store;     /* opened lazily by ctl_store() */
  FILE *out;               /* stdout */
  const struct ctl_command *cmd; /* the command being run (usage messages) */
  bool store_rw;           /* store was opened by ctl_store_rw() */
  struct cfg *cfg;         /* loaded lazily by ctl_config() */
  bool cfg_loaded;
};

struct ctl_command {
  const char *name;
  const char *usage;   /* "list [--target NAME] ..." */
  const char *summary; /* one line for `pprofctl help` */
  /* argv[0] is the command name; getopt_long-style parsing from there
   * (pprofctl resets getopt with optind = 0 and sets opterr = 0 before
   * calling run; report bad options with ctl_bad_option()). `COMMAND -h`
   * and `COMMAND --help` are answered by pprofctl itself. */
  int (*run)(struct ctl *ctl, int argc, char **argv);
};

/* Opens the database read-only (from -d, else storage.path of -c CONFIG or
 * the default config, else the default path). Prints the error and returns
 * NULL on failure. `import` and `prune` use ctl_store_rw(). */
struct store *ctl_store(struct ctl *ctl);
struct store *ctl_store_rw(struct ctl *ctl);
/* The configuration from -c CONFIG, else the default configuration file
 * when it exists (read with CFG_LOAD_SKIP_SECRETS), loaded once. *ret is
 * NULL when there is none. Prints the error and returns -errno when -c
 * was given and cannot be loaded. */
int ctl_config(struct ctl *ctl, const struct cfg **ret);
/* Closes the store and frees the configuration (pprofctl's main calls it). */
void ctl_done(struct ctl *ctl);

/* Shared filter options, recognised by every command that selects
 * captures: --target NAME, --instance NAME, --type TYPE, --since T,
 * --until T, -l/--label KEY=VALUE (repeatable), --status ok|failed,
 * --limit N. ctl_filter_option() returns 1 if it consumed the option
 * (opt/optarg as from getopt_long with ctl_filter_longopts merged), 0 if the
 * option is not a filter option, or -1 after printing a usage error.
 * f.limit stays -1 (unlimited) unless --limit is given, so that a command
 * can apply its own default. --json is accepted here too. */
struct ctl_filter {
  struct store_filter f;
  struct cfg_pair labels[32];
  size_t n_labels;
};
void ctl_filter_init(struct ctl_filter *cf);
int ctl_filter_option(struct ctl *ctl, struct ctl_filter *cf, int opt, const char *arg);
/* Frees the label strings ctl_filter_option() copied. */
void ctl_filter_done(struct ctl_filter *cf);
/* getopt_long option values used by ctl_filter_option(). */
enum {
  CTL_OPT_TARGET = 1000,
  CTL_OPT_INSTANCE,
  CTL_OPT_TYPE,
  CTL_OPT_SINCE,
  CTL_OPT_UNTIL,
  CTL_OPT_STATUS,
  CTL_OPT_LIMIT,
  CTL_OPT_JSON,
  CTL_OPT_FIRST_FREE, /* commands number their own long options from here */
};
/* Long options for the filter (terminated by a zero entry); label is 'l'.
 * Commands add "l:" to their short options. */
extern const struct option ctl_filter_longopts[];
/* a followed by b (both zero-terminated) in a new zero-terminated array;
 * free() it. */
struct option *ctl_options_merge(const struct option *a, const struct option *b);
/* For getopt_long's '?' and ':' results (opterr is 0): prints which
 * option was wrong and returns CTL_EXIT_USAGE. */
int ctl_bad_option(struct ctl *ctl, int opt, char **argv);
/* Parses a capture id argument; prints a usage error and returns
 * CTL_EXIT_USAGE when it is not a positive integer, else 0. */
int ctl_parse_id(struct ctl *ctl, const char *arg, int64_t *ret);

/* Prints a usage error for the command to stderr and returns CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "pprofctl: message" to stderr and returns CTL_EXIT_NOTFOUND. */
int ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a JSON document (steals the reference). Returns CTL_EXIT_OK, or
 * CTL_EXIT_NOTFOUND (message printed) when it cannot be written. */
int ctl_print_json(struct ctl *ctl, json_t *doc);
/* RFC 3339 UTC time for tables and JSON; buf needs 32 bytes. */
const char *ctl_time(int64_t wall_ms, char *buf, size_t size);
/* A JSON string of s (json_null() for NULL); bytes that are not valid
 * UTF-8 become U+FFFD, so stored text from targets never breaks output. */
json_t *ctl_json_string(const char *s);
/* The JSON object of a capture as `list --json` prints it: id, target,
 * instance, type, started_at (RFC 3339 UTC), duration_s, status,
 * http_status (int or null), error (string or null), size_bytes, format,
 * labels (object), plus url, requested_seconds, sha256, analysis_status,
 * analysis_error. Shared with the HTTP API. */
json_t *capture_row_to_json(const struct capture_row *r);

/* Prints a JSON value as indented "key: value" text, arrays of flat
 * objects as tables (what `show` uses for the analysis object). */
void ctl_render_json_text(FILE *out, json_t *v, int indent);

/* Text tables: columns aligned, numbers right-aligned. */
struct table;
struct table *table_new(size_t n_columns, const char *const *headers);
/* Right-align column i (numbers). */
void table_align_right(struct table *t, size_t column);
void table_add_row(struct table *t, const char *const *cells);
void table_print(struct table *t, FILE *out);
struct table *table_free(struct table *t);

#endif
