/* Building responses: JSON documents, errors as {"error": "..."} and raw
 * bytes. A handler fills one struct http_resp; http_server.c sends it. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "http_int.h"
#include "util.h"

static void drop_stream(struct http_resp *rs) {
  if (rs->read_free)
    rs->read_free(rs->read_cls);
  rs->read = NULL;
  rs->read_free = NULL;
  rs->read_cls = NULL;
}

void http_resp_init(struct http_resp *rs) {
  memset(rs, 0, sizeof(*rs));
  rs->status = 500;
  buf_init(&rs->body, HTTP_MAX_BODY);
}

void http_resp_done(struct http_resp *rs) {
  if (rs->slot)
    http_slot_release(rs->slot);
  rs->slot = NULL;
  drop_stream(rs);
  buf_done(&rs->body);
  freep(&rs->filename);
}

static void reset_body(struct http_resp *rs) {
  drop_stream(rs);
  buf_done(&rs->body);
  buf_init(&rs->body, HTTP_MAX_BODY);
}

/* jansson callback appending to a struct buf. */
static int dump_to_buf(const char *data, size_t size, void *userdata) {
  return buf_append(userdata, data, size) < 0 ? -1 : 0;
}

void http_reply_json(struct http_resp *rs, unsigned status, json_t *doc) {
  reset_body(rs);
  rs->body.max = HTTP_MAX_JSON;
  if (!doc || json_dump_callback(doc, dump_to_buf, &rs->body, JSON_COMPACT) < 0 ||
      buf_append(&rs->body, "\n", 1) < 0) {
    json_decref(doc);
    http_reply_error(rs, 500, "response too large or not serialisable");
    return;
  }
  json_decref(doc);
  rs->body.max = HTTP_MAX_BODY;
  rs->status = status;
  rs->content_type = "application/json";
}

void http_reply_error(struct http_resp *rs, unsigned status, const char *fmt, ...) {
  va_list ap;
  char *msg;
  json_t *doc;

  va_start(ap, fmt);
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  va_end(ap);
  reset_body(rs);
  freep(&rs->filename);
  if (rs->slot) {
    http_slot_release(rs->slot);
    rs->slot = NULL;
  }
  /* Messages quote the request, which may not be valid UTF-8: such bytes
   * become U+FFFD. */
  doc = json_pack("{s:o}", "error", ctl_json_string(msg ? msg : "out of memory"));
  free(msg);
  json_dump_callback(doc, dump_to_buf, &rs->body, JSON_COMPACT);
  buf_append(&rs->body, "\n", 1);
  json_decref(doc);
  rs->status = status;
  rs->content_type = "application/json";
}

void http_reply_bytes(struct http_resp *rs, unsigned status, const char *content_type,
                      const void *data, size_t len) {
  reset_body(rs);
  if (buf_append(&rs->body, data, len) < 0) {
    http_reply_error(rs, 500, "response too large");
    return;
  }
  rs->status = status;
  rs->content_type = content_type;
}

void http_reply_stream(struct http_resp *rs, unsigned status, const char *content_type,
                       ssize_t (*read)(void *cls, char *dst, size_t max),
                       void (*read_free)(void *cls), void *cls) {
  reset_body(rs);
  rs->read = read;
  rs->read_free = read_free;
  rs->read_cls = cls;
  rs->status = status;
  rs->content_type = content_type;
}

void http_reply_buf(struct http_resp *rs, unsigned status, const char *content_type,
                    struct buf *b) {
  drop_stream(rs);
  buf_done(&rs->body);
  rs->body = *b;
  buf_init(b, b->max);
  rs->status = status;
  rs->content_type = content_type;
}
