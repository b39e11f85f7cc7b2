/* pprofctl: query and manage the captures pprofd stored. Global options,
 * then a command from the table below. */
#include "config.h"

#include "ctl.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Commands ------------------------------------------------------------
 * To add a command: define `const struct ctl_command ctl_cmd_<name>` in
 * src/ctl_<name>.c, declare it here and add it to commands[] (one line
 * each), and list the file in your mk/<area>.am under src_pprofctl_SOURCES. */
extern const struct ctl_command ctl_cmd_targets;
extern const struct ctl_command ctl_cmd_list;
extern const struct ctl_command ctl_cmd_show;
extern const struct ctl_command ctl_cmd_export;
extern const struct ctl_command ctl_cmd_import;
extern const struct ctl_command ctl_cmd_prune;
extern const struct ctl_command ctl_cmd_stats;
extern const struct ctl_command ctl_cmd_top;
extern const struct ctl_command ctl_cmd_merge;
extern const struct ctl_command ctl_cmd_diff;
extern const struct ctl_command ctl_cmd_flamegraph;
extern const struct ctl_command ctl_cmd_trace;

static const struct ctl_command *const commands[] = {
    &ctl_cmd_targets, &ctl_cmd_list,  &ctl_cmd_show,       &ctl_cmd_export,
    &ctl_cmd_import,  &ctl_cmd_prune, &ctl_cmd_stats,      &ctl_cmd_top,
    &ctl_cmd_merge,   &ctl_cmd_diff,  &ctl_cmd_flamegraph, &ctl_cmd_trace,
};

static const char usage_text[] = "usage: pprofctl [-d DB] [-c CONFIG] [--json] COMMAND [ARGS...]\n"
                                 "       pprofctl help [COMMAND]\n"
                                 "       pprofctl -h | --help | --version\n";

static const struct ctl_command *find_command(const char *name) {
  for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
    if (strcmp(commands[i]->name, name) == 0)
      return commands[i];
  return NULL;
}

static void print_help(FILE *out) {
  size_t w = 0;

  fputs(usage_text, out);
  fputs("\nQuery the profiles and execution traces pprofd collected.\n\n"
        "Global options:\n"
        "  -d, --db DB          database file (default: storage.path of the configuration,\n"
        "                       else " STATEDIR "/pprofd.db)\n"
        "  -c, --config CONFIG  configuration file (default: " CONFIGFILE " if it exists)\n"
        "      --json           print JSON instead of tables\n"
        "  -h, --help           show this help\n"
        "      --version        show the version\n\n"
        "Commands:\n",
        out);
  for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
    w = MAX(w, strlen(commands[i]->name));
  for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
    fprintf(out, "  %-*s  %s\n", (int)w, commands[i]->name, commands[i]->summary);
  fputs("\nRun 'pprofctl help COMMAND' for a command's options; see pprofctl(1).\n", out);
}

static void print_command_help(const struct ctl_command *cmd, FILE *out) {
  fprintf(out, "usage: pprofctl [GLOBAL OPTIONS] %s\n\n%s\n", cmd->usage, cmd->summary);
}

static int help(int argc, char **argv) {
  const struct ctl_command *cmd;

  if (argc < 2) {
    print_help(stdout);
    return CTL_EXIT_OK;
  }
  if (argc > 2)
    return ctl_usage_error(NULL, "help takes at most one command name");
  cmd = find_command(argv[1]);
  if (!cmd)
    return ctl_usage_error(NULL, "unknown command '%s'", argv[1]);
  print_command_help(cmd, stdout);
  return CTL_EXIT_OK;
}

/* `pprofctl COMMAND ... --help`: answered here so no command has to. */
static bool wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      return false;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
      return true;
  }
  return false;
}

int main(int argc, char **argv) {
  static const struct option opts[] = {
      {"db", required_argument, NULL, 'd'},      {"config", required_argument, NULL, 'c'},
      {"json", no_argument, NULL, CTL_OPT_JSON}, {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
  };
  struct ctl ctl;
  const struct ctl_command *cmd;
  int opt, r;

  memset(&ctl, 0, sizeof(ctl));
  ctl.out = stdout;
  ctl.now_ms = time_wall_ms();
  opterr = 0;
  for (;;) {
    /* '+': stop at the command name; its options are its own. */
    opt = getopt_long(argc, argv, "+:d:c:h", opts, NULL);
    if (opt == -1)
      break;
    switch (opt) {
    case 'd':
      ctl.db_path = optarg;
      break;
    case 'c':
      ctl.config_path = optarg;
      break;
    case CTL_OPT_JSON:
      ctl.json = true;
      break;
    case 'h':
      print_help(stdout);
      return CTL_EXIT_OK;
    case 'V':
      printf("pprofctl %s\n", PACKAGE_VERSION);
      return CTL_EXIT_OK;
    default:
      return ctl_bad_option(&ctl, opt, argv);
    }
  }
  if (optind >= argc) {
    fputs(usage_text, stderr);
    return CTL_EXIT_USAGE;
  }
  if (strcmp(argv[optind], "help") == 0)
    return help(argc - optind, argv + optind);
  cmd = find_command(argv[optind]);
  if (!cmd)
    return ctl_usage_error(NULL, "unknown command '%s'", argv[optind]);
  if (wants_help(argc - optind, argv + optind)) {
    print_command_help(cmd, stdout);
    return CTL_EXIT_OK;
  }
  ctl.cmd = cmd;
  argc -= optind;
  argv += optind;
  optind = 0; /* glibc: full reinitialisation for the command's options */
  r = cmd->run(&ctl, argc, argv);
  ctl_done(&ctl);
  if (fflush(stdout) == EOF && r == CTL_EXIT_OK)
    r = ctl_error("cannot write the output");
  return r;
}
