#include "config.h"

#include "http_client.h"

#include <check.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "util.h"

static size_t on_data(char *p, size_t size, size_t n, void *userdata) {
  return buf_append(userdata, p, size * n) < 0 ? 0 : size * n;
}

void hc_request(int port, const char *path, const struct hc_opts *o, struct hc_resp *ret) {
  static const struct hc_opts none;
  CURL *c = curl_easy_init();
  struct curl_slist *hdrs = NULL;
  struct buf body, head;
  char *url = xasprintf("http://127.0.0.1:%d%s", port, path), *auth = NULL;

  if (!o)
    o = &none;
  buf_init(&body, 512 * 1024 * 1024);
  buf_init(&head, 1024 * 1024);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &head);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, o->timeout_ms ? o->timeout_ms : 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  if (o->method && strcmp(o->method, "HEAD") == 0)
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else if (o->method)
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o->method);
  if (o->auth) {
    auth = xasprintf("Authorization: %s", o->auth);
    hdrs = curl_slist_append(hdrs, auth);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  }
  if (o->userpwd) {
    curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(c, CURLOPT_USERPWD, o->userpwd);
  }
  if (o->interface)
    curl_easy_setopt(c, CURLOPT_INTERFACE, o->interface);
  ret->status = 0;
  if (curl_easy_perform(c) == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ret->status);
  buf_terminate(&body);
  buf_terminate(&head);
  ret->len = body.len;
  ret->body = body.data ? (char *)buf_steal(&body, NULL) : xstrdup("");
  ret->headers = head.data ? (char *)buf_steal(&head, NULL) : xstrdup("");
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(c);
  free(auth);
  free(url);
}

void hc_get(int port, const char *path, struct hc_resp *ret) {
  hc_request(port, path, NULL, ret);
}

void hc_resp_done(struct hc_resp *r) {
  free(r->body);
  free(r->headers);
  memset(r, 0, sizeof(*r));
}

char *hc_header(const struct hc_resp *r, const char *name) {
  size_t n = strlen(name);
  for (const char *line = r->headers; line && *line;) {
    const char *end = strstr(line, "\r\n");
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
      const char *v = line + n + 1;
      while (*v == ' ')
        v++;
      return xstrndup(v, (size_t)(line + len - v));
    }
    line = end ? end + 2 : NULL;
  }
  return NULL;
}

json_t *hc_json(const struct hc_resp *r) {
  json_error_t e;
  json_t *j = json_loadb(r->body, r->len, 0, &e);
  ck_assert_msg(j != NULL, "not JSON (%s): %.200s", e.text, r->body);
  return j;
}
