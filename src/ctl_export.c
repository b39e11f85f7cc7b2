/* pprofctl export: the raw bytes of a capture, exactly as the target sent
 * them, to a file or stdout. */
#include "config.h"

#include "ctl.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const uint8_t *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static bool is_textual(const char *format) {
  return strcmp(format, "text") == 0 || strcmp(format, "json") == 0 ||
         strcmp(format, "html") == 0 || strcmp(format, "empty") == 0;
}

static int write_file(const char *path, const struct buf *b) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int r;

  if (fd < 0)
    return ctl_error("%s: %s", path, strerror(errno));
  r = write_all(fd, b->data, b->len);
  if (close(fd) < 0 && r == 0)
    r = -errno;
  if (r < 0) {
    unlink(path); /* no truncated exports */
    return ctl_error("%s: %s", path, strerror(-r));
  }
  return CTL_EXIT_OK;
}

static int run(struct ctl *ctl, int argc, char **argv) {
  static const struct option opts[] = {
      {"output", required_argument, NULL, 'o'},
      {NULL, 0, NULL, 0},
  };
  const char *output = NULL;
  struct capture_row row;
  struct store *s;
  struct buf b;
  int64_t id;
  int opt, r;

  for (;;) {
    opt = getopt_long(argc, argv, ":o:", opts, NULL);
    if (opt == -1)
      break;
    if (opt != 'o')
      return ctl_bad_option(ctl, opt, argv);
    output = optarg;
  }
  if (optind != argc - 1)
    return ctl_usage_error(ctl->cmd, optind >= argc ? "missing capture ID" : "too many arguments");
  r = ctl_parse_id(ctl, argv[optind], &id);
  if (r != 0)
    return r;
  s = ctl_store(ctl);
  if (!s)
    return CTL_EXIT_NOTFOUND;
  r = store_get(s, id, &row);
  if (r < 0)
    return ctl_error("%s", store_errmsg(s));
  if (row.status != CAPTURE_OK) {
    r = ctl_error("capture %" PRId64 " failed (%s); it has no body to export", id,
                  row.error ? row.error : "no error recorded");
    goto out;
  }
  if (!output && isatty(STDOUT_FILENO) && !is_textual(row.format)) {
    r = ctl_error("refusing to write binary data (%s) to a terminal; use -o FILE, or -o - to "
                  "write to stdout anyway",
                  row.format);
    goto out;
  }
  r = store_read_blob(s, id, &b);
  if (r < 0) {
    r = ctl_error("%s", store_errmsg(s));
    goto out;
  }
  if (output && strcmp(output, "-") != 0) {
    r = write_file(output, &b);
  } else {
    fflush(ctl->out);
    r = write_all(STDOUT_FILENO, b.data, b.len);
    r = r < 0 ? ctl_error("writing to stdout: %s", strerror(-r)) : CTL_EXIT_OK;
  }
  buf_done(&b);
out:
  capture_row_done(&row);
  return r;
}

const struct ctl_command ctl_cmd_export = {
    .name = "export",
    .usage = "export ID [-o FILE]",
    .summary = "write a capture's raw bytes (as the target sent them) to FILE or stdout",
    .run = run,
};
