/* A small blocking HTTP client for the HTTP endpoint's tests (libcurl). */
#ifndef PPROFD_HTTP_CLIENT_H
#define PPROFD_HTTP_CLIENT_H

#include <jansson.h>
#include <stddef.h>

struct hc_resp {
  long status;
  char *body; /* NUL-terminated */
  size_t len;
  char *headers; /* raw response headers */
};

struct hc_opts {
  const char *method;    /* default GET; "HEAD" sets NOBODY */
  const char *auth;      /* full Authorization header value, or NULL */
  const char *userpwd;   /* "user:password" for Basic auth, or NULL */
  const char *interface; /* local source address, e.g. "127.0.0.2" */
  long timeout_ms;       /* default 10000 */
};

/* Requests http://127.0.0.1:PORT/PATH; status 0 when the transfer failed. */
void hc_request(int port, const char *path, const struct hc_opts *o, struct hc_resp *ret);
void hc_get(int port, const char *path, struct hc_resp *ret);
void hc_resp_done(struct hc_resp *r);
/* The value of a response header (case-insensitive name), malloc'd, or NULL. */
char *hc_header(const struct hc_resp *r, const char *name);
/* Parses the body as JSON (asserts). */
json_t *hc_json(const struct hc_resp *r);

#endif
