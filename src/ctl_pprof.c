#include "config.h"

#include "ctl_pprof.h"
#include "pprof_merge.h"
#include "pprof_format.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ctl_pprof_load(struct store *s, int64_t id, struct pprof_profile **ret) {
  struct capture_row row;
  struct buf b;
  char *err = NULL;
  int r;

  r = store_get(s, id, &row);
  if (r < 0)
    return ctl_error("%s", store_errmsg(s));
  if (row.status != CAPTURE_OK) {
    r = ctl_error("capture %" PRId64 " failed (%s); it has no profile", id,
                  row.error ? row.error : "no error recorded");
    goto out;
  }
  if (!str_has_prefix(row.format, "pprof")) {
    r = ctl_error("capture %" PRId64 " (%s %s) is %s, not a pprof profile", id, row.target,
                  row.type, row.format);
    goto out;
  }
  r = store_read_blob(s, id, &b);
  if (r < 0) {
    r = ctl_error("%s", store_errmsg(s));
    goto out;
  }
  r = pprof_decode(b.data, b.len, CTL_PPROF_MAX_DECOMPRESSED, ret, &err);
  buf_done(&b);
  if (r < 0) {
    r = ctl_error("capture %" PRId64 ": %s", id, err);
    free(err);
    goto out;
  }
  r = CTL_EXIT_OK;
out:
  capture_row_done(&row);
  return r;
}

struct select_ctx {
  int64_t *ids;
  size_t n, cap, skipped;
};

static int select_cb(const struct capture_row *r, void *ud) {
  struct select_ctx *x = ud;
  if (r->status != CAPTURE_OK || !str_has_prefix(r->format, "pprof") ||
      strcmp(r->analysis_status, "ok") != 0) {
    x->skipped++;
    return 0;
  }
  if (x->n == x->cap) {
    x->cap = x->cap ? x->cap * 2 : 256;
    x->ids = xreallocarray(x->ids, x->cap, sizeof(*x->ids));
  }
  x->ids[x->n++] = r->id;
  return 0;
}

int ctl_pprof_select(struct store *s, const struct store_filter *f, int64_t **ret_ids,
                     size_t *ret_n, size_t *ret_skipped) {
  struct select_ctx x = {0};
  struct store_filter ff = *f;
  int r;

  ff.oldest_first = true;
  r = store_list(s, &ff, select_cb, &x);
  if (r < 0) {
    free(x.ids);
    return ctl_error("%s", store_errmsg(s));
  }
  *ret_ids = x.ids;
  *ret_n = x.n;
  *ret_skipped = x.skipped;
  return CTL_EXIT_OK;
}

int ctl_pprof_sample_index(const struct pprof_profile *p, const char *want, int64_t id, int *ret) {
  int si = want ? pprof_find_sample_index(p, want) : pprof_default_sample_index(p);
  struct buf types;

  if (si >= 0) {
    *ret = si;
    return CTL_EXIT_OK;
  }
  buf_init(&types, SIZE_MAX);
  for (size_t i = 0; i < p->n_sample_types; i++)
    buf_printf(&types, "%s%zu=%s", i ? ", " : "", i, p->sample_types[i].type);
  buf_terminate(&types);
  if (p->n_sample_types == 0)
    ctl_error("capture %" PRId64 " has no sample types", id);
  else
    ctl_error("capture %" PRId64 " has no sample type '%s' (it has %s)", id, want ? want : "",
              (char *)types.data);
  buf_done(&types);
  return CTL_EXIT_NOTFOUND;
}

void ctl_progress_init(struct ctl_progress *p, const char *what, size_t total) {
  p->what = what;
  p->total = total;
  p->last_ms = 0;
  p->on = total >= 20 && isatty(STDERR_FILENO);
}

void ctl_progress_step(struct ctl_progress *p, size_t done) {
  int64_t now;
  if (!p->on)
    return;
  now = time_mono_ms();
  if (now - p->last_ms < 100 && done < p->total)
    return;
  p->last_ms = now;
  fprintf(stderr, "\r%s: %zu/%zu captures (%zu%%)", p->what, done, p->total,
          p->total ? done * 100 / p->total : 100);
  fflush(stderr);
}

void ctl_progress_end(struct ctl_progress *p) {
  if (!p->on)
    return;
  fprintf(stderr, "\r\033[K");
  fflush(stderr);
}

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

int ctl_pprof_write_file(struct ctl *ctl, const char *path, const struct buf *b) {
  char *tmp;
  int fd, r;

  if (strcmp(path, "-") == 0) {
    fflush(ctl->out);
    r = write_all(STDOUT_FILENO, b->data, b->len);
    return r < 0 ? ctl_error("writing to stdout: %s", strerror(-r)) : CTL_EXIT_OK;
  }
  tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    r = ctl_error("%s: %s", path, strerror(errno));
    free(tmp);
    return r;
  }
  r = write_all(fd, b->data, b->len);
  if (close(fd) < 0 && r == 0)
    r = -errno;
  if (r == 0 && rename(tmp, path) < 0)
    r = -errno;
  if (r < 0) {
    unlink(tmp);
    free(tmp);
    return ctl_error("%s: %s", path, strerror(-r));
  }
  free(tmp);
  return CTL_EXIT_OK;
}

int ctl_parse_selection(struct ctl *ctl, const char *arg, struct ctl_selection *ret) {
  const char *dots = strstr(arg, "..");
  char *since;
  int r = 0;

  memset(ret, 0, sizeof(*ret));
  if (!dots)
    return ctl_parse_id(ctl, arg, &ret->id);
  ret->since_ms = INT64_MIN;
  ret->until_ms = INT64_MAX;
  since = xstrndup(arg, (size_t)(dots - arg));
  if (*since && parse_time(since, ctl->now_ms, &ret->since_ms) < 0)
    r = ctl_usage_error(ctl->cmd, "'%s' in '%s' is not a time", since, arg);
  if (r == 0 && dots[2] && parse_time(dots + 2, ctl->now_ms, &ret->until_ms) < 0)
    r = ctl_usage_error(ctl->cmd, "'%s' in '%s' is not a time", dots + 2, arg);
  if (r == 0 && ret->since_ms >= ret->until_ms)
    r = ctl_usage_error(ctl->cmd, "the window '%s' is empty (it must start before it ends)", arg);
  free(since);
  return r;
}

const char *ctl_pprof_value(int64_t value, const char *unit, const char *out_unit, char *buf,
                            size_t size) {
  return pprof_scaled_label(value, unit, out_unit, buf, size);
}

int ctl_pprof_merge_ids(struct store *s, struct pprof_merge *m, const int64_t *ids, size_t n,
                        bool base, const char *what) {
  struct ctl_progress pr;
  int r = CTL_EXIT_OK;

  ctl_progress_init(&pr, what, n);
  for (size_t i = 0; i < n && r == CTL_EXIT_OK; i++) {
    struct pprof_profile *p = NULL;
    char *name, *err = NULL;

    ctl_progress_step(&pr, i);
    r = ctl_pprof_load(s, ids[i], &p);
    if (r != CTL_EXIT_OK)
      break;
    name = xasprintf("capture %" PRId64, ids[i]);
    if ((base ? pprof_merge_add_base : pprof_merge_add)(m, p, name, &err) < 0) {
      r = ctl_error("%s", err);
      free(err);
    }
    free(name);
    pprof_profile_free(p);
  }
  ctl_progress_step(&pr, n);
  ctl_progress_end(&pr);
  return r;
}
