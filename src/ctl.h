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
};

struct ctl_command {
  const char *name;
  const char *usage;   /* "list [--target NAME] ..." */
  const char *summary; /* one line for `pprofctl help` */
  /* argv[0] is the command name; getopt_long-style parsing from there. */
  int (*run)(struct ctl *ctl, int argc, char **argv);
};

/* Opens the database read-only (from -d, else storage.path of -c CONFIG or
 * the default config, else the default path). Prints the error and returns
 * NULL on failure. `import` and `prune` use ctl_store_rw(). */
struct store *ctl_store(struct ctl *ctl);
struct store *ctl_store_rw(struct ctl *ctl);

/* Shared filter options, recognised by every command that selects
 * captures: --target NAME, --instance NAME, --type TYPE, --since T,
 * --until T, -l/--label KEY=VALUE (repeatable), --status ok|failed,
 * --limit N. ctl_filter_option() returns 1 if it consumed the option
 * (opt/optarg as from getopt_long with ctl_filter_longopts merged), 0 if the
 * option is not a filter option, or -1 after printing a usage error. */
struct ctl_filter {
  struct store_filter f;
  struct cfg_pair labels[32];
  size_t n_labels;
};
void ctl_filter_init(struct ctl_filter *cf);
int ctl_filter_option(struct ctl *ctl, struct ctl_filter *cf, int opt, const char *arg);
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
/* Long options for the filter (terminated by a zero entry); label is 'l'. */
extern const struct option ctl_filter_longopts[];

/* Prints a usage error for the command to stderr and returns CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl_command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "pprofctl: message" to stderr and returns CTL_EXIT_NOTFOUND. */
int ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a JSON document (steals the reference). */
int ctl_print_json(struct ctl *ctl, json_t *doc);
/* The JSON object of a capture as `list --json` prints it: id, target,
 * instance, type, started_at (RFC 3339 UTC), duration_s, status,
 * http_status (int or null), error (string or null), size_bytes, format,
 * labels (object), plus url, requested_seconds, sha256, analysis_status,
 * analysis_error. Shared with the HTTP API. */
json_t *capture_row_to_json(const struct capture_row *r);

/* Text tables: columns aligned, numbers right-aligned. */
struct table;
struct table *table_new(size_t n_columns, const char *const *headers);
/* Right-align column i (numbers). */
void table_align_right(struct table *t, size_t column);
void table_add_row(struct table *t, const char *const *cells);
void table_print(struct table *t, FILE *out);
struct table *table_free(struct table *t);

#endif
