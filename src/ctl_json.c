/* The JSON shapes shared by pprofctl and the HTTP API: a capture as
 * `list --json` prints it, and the helpers to print documents. */
#include "config.h"

#include "ctl.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p) {
  uint32_t cp;
  size_t n;

  if (p[0] < 0x80)
    return 1;
  if (p[0] >= 0xc2 && p[0] <= 0xdf) {
    n = 2;
    cp = p[0] & 0x1f;
  } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
    n = 3;
    cp = p[0] & 0x0f;
  } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
    n = 4;
    cp = p[0] & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0; /* also stops at the terminating NUL */
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

json_t *ctl_json_string(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  struct buf b;
  json_t *j;

  if (!s)
    return json_null();
  j = json_string(s);
  if (j)
    return j;
  buf_init(&b, SIZE_MAX / 4);
  while (*p) {
    size_t n = utf8_seq(p);
    if (n == 0) {
      buf_append(&b, "\xef\xbf\xbd", 3);
      p++;
    } else {
      buf_append(&b, p, n);
      p += n;
    }
  }
  buf_terminate(&b);
  j = json_string(b.data ? (const char *)b.data : "");
  buf_done(&b);
  return j ? j : json_string("");
}

const char *ctl_time(int64_t wall_ms, char *buf, size_t size) {
  return format_rfc3339(wall_ms, buf, size);
}

json_t *capture_row_to_json(const struct capture_row *r) {
  json_t *o = json_object();
  json_t *labels = json_object();
  char when[32];

  for (size_t i = 0; i < r->n_labels; i++)
    json_object_set_new(labels, r->labels[i].key, ctl_json_string(r->labels[i].value));
  json_object_set_new(o, "id", json_integer(r->id));
  json_object_set_new(o, "target", ctl_json_string(r->target));
  json_object_set_new(o, "instance", ctl_json_string(r->instance));
  json_object_set_new(o, "type", ctl_json_string(r->type));
  json_object_set_new(o, "started_at", json_string(ctl_time(r->started_at_ms, when, sizeof(when))));
  json_object_set_new(o, "duration_s", json_real((double)r->duration_ms / 1000.0));
  json_object_set_new(o, "status", json_string(capture_status_name(r->status)));
  json_object_set_new(o, "http_status",
                      r->http_status > 0 ? json_integer(r->http_status) : json_null());
  json_object_set_new(o, "error", ctl_json_string(r->error));
  json_object_set_new(o, "size_bytes", json_integer(r->size_bytes));
  json_object_set_new(o, "format", ctl_json_string(r->format));
  json_object_set_new(o, "labels", labels);
  json_object_set_new(o, "url", ctl_json_string(r->url));
  json_object_set_new(o, "requested_seconds", json_real(r->requested_seconds));
  json_object_set_new(o, "sha256", r->sha256[0] ? json_string(r->sha256) : json_null());
  json_object_set_new(o, "content_type", ctl_json_string(r->content_type));
  json_object_set_new(o, "analysis_status", ctl_json_string(r->analysis_status));
  json_object_set_new(o, "analysis_error", ctl_json_string(r->analysis_error));
  return o;
}

int ctl_print_json(struct ctl *ctl, json_t *doc) {
  FILE *out = ctl->out ? ctl->out : stdout;
  int r = json_dumpf(doc, out, JSON_INDENT(2));

  json_decref(doc);
  if (r < 0 || fputc('\n', out) == EOF || fflush(out) == EOF)
    return ctl_error("cannot write the output: %s", strerror(errno ? errno : EIO));
  return CTL_EXIT_OK;
}
