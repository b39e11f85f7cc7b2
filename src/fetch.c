#include "config.h"

#include "fetch.h"
#include "util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct fetcher {
  CURLM *multi;
  unsigned in_flight;
  uint64_t in_flight_bytes; /* sum of counted_bytes over the active list */
  struct fetch *active; /* in flight, for cleanup */
  struct fetch *done_head;
  struct fetch *done_tail;
};

struct fetcher *fetcher_new(void) {
  struct fetcher *f = xcalloc(1, sizeof(*f));
  f->multi = curl_multi_init();
  if (!f->multi) {
    free(f);
    return NULL;
  }
  /* Bound the connection cache; keep-alive to targets is reused. */
  curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, 512L);
  return f;
}

static void fetch_detach(struct fetch *x) {
  if (x->easy) {
    if (x->owner && !x->done)
      curl_multi_remove_handle(x->owner->multi, x->easy);
    curl_easy_cleanup(x->easy);
    x->easy = NULL;
  }
  curl_slist_free_all(x->headers);
  x->headers = NULL;
}

struct fetch *fetch_free(struct fetch *x) {
  if (!x)
    return NULL;
  fetch_detach(x);
  free(x->url);
  free(x->error_text);
  free(x->content_type);
  buf_done(&x->body);
  free(x);
  return NULL;
}

static void unlink_active(struct fetcher *f, struct fetch *x) {
  f->in_flight_bytes -= x->counted_bytes;
  x->counted_bytes = 0;
  if (x->prev_active)
    x->prev_active->next_active = x->next_active;
  else if (f->active == x)
    f->active = x->next_active;
  if (x->next_active)
    x->next_active->prev_active = x->prev_active;
  x->prev_active = x->next_active = NULL;
}

static void push_done(struct fetcher *f, struct fetch *x) {
  unlink_active(f, x);
  x->done = true;
  f->in_flight--;
  x->next_done = NULL;
  if (f->done_tail)
    f->done_tail->next_done = x;
  else
    f->done_head = x;
  f->done_tail = x;
}

struct fetcher *fetcher_free(struct fetcher *f) {
  struct fetch *x;
  if (!f)
    return NULL;
  while ((x = fetcher_next_done(f)))
    fetch_free(x);
  while (f->active) {
    x = f->active;
    unlink_active(f, x);
    fetch_free(x);
  }
  curl_multi_cleanup(f->multi);
  free(f);
  return NULL;
}

/* A fetch in flight counts its body as allocated, or the Content-Length
 * it announced (under the cap), or the size its request expected (a
 * target's trace tends to be as large as its last one), whichever is
 * most: the bytes are coming, and counting them before they arrive lets
 * the fetch loop hold back before a wave of large bodies lands at once. */
static void account(struct fetch *x) {
  size_t want = MAX(x->body.cap, x->expected_size);

  if (!x->owner || x->done)
    return;
  if (x->declared_length >= 0 && (uint64_t)x->declared_length < x->body.max &&
      (size_t)x->declared_length + 1 > want)
    want = (size_t)x->declared_length + 1;
  x->owner->in_flight_bytes += want;
  x->owner->in_flight_bytes -= x->counted_bytes;
  x->counted_bytes = want;
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata) {
  struct fetch *x = userdata;
  size_t n = size * nmemb;
  int r = buf_append(&x->body, ptr, n);

  account(x);
  if (r < 0) {
    x->error = FETCH_ERR_TOO_LARGE;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  return n;
}

/* Refuses a body whose Content-Length is over the cap before it comes,
 * keeping the length for the message (CURLOPT_MAXFILESIZE would refuse it
 * too, but without telling us the length). */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata) {
  static const char cl[] = "content-length:";
  struct fetch *x = userdata;
  size_t n = size * nmemb;
  /* A new response (e.g. after 100 Continue) resets what we collected. */
  if (n > 5 && memcmp(ptr, "HTTP/", 5) == 0) {
    buf_reset(&x->body);
    x->declared_length = -1;
  } else if (n > sizeof(cl) - 1 && strncasecmp(ptr, cl, sizeof(cl) - 1) == 0) {
    uint64_t v = 0;
    size_t i = sizeof(cl) - 1;
    while (i < n && (ptr[i] == ' ' || ptr[i] == '\t'))
      i++;
    if (i == n || ptr[i] < '0' || ptr[i] > '9')
      return n; /* curl rejects a malformed length itself */
    for (; i < n && ptr[i] >= '0' && ptr[i] <= '9' && v <= (uint64_t)INT64_MAX / 10; i++)
      v = v * 10 + (uint64_t)(ptr[i] - '0');
    x->declared_length = v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
    if (x->max_size > 0 && v > x->max_size) {
      x->error = FETCH_ERR_TOO_LARGE;
      return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
  }
  account(x);
  return n;
}

/* With server_name set, the URL's host is replaced by server_name (so SNI
 * and certificate checks use it) and CURLOPT_CONNECT_TO still sends the
 * connection to the original host:port. */
static int apply_server_name(struct fetch *x, const char *server_name, struct curl_slist **ret) {
  CURLU *u = curl_url();
  char *host = NULL, *port = NULL, *newurl = NULL;
  int r = -EINVAL;

  if (!u)
    return -ENOMEM;
  if (curl_url_set(u, CURLUPART_URL, x->url, 0) != CURLUE_OK)
    goto out;
  if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
    goto out;
  if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
    goto out;
  if (curl_url_set(u, CURLUPART_HOST, server_name, 0) != CURLUE_OK)
    goto out;
  if (curl_url_get(u, CURLUPART_URL, &newurl, 0) != CURLUE_OK)
    goto out;
  {
    char *rule = xasprintf("%s:%s:%s:%s", server_name, port, host, port);
    *ret = curl_slist_append(*ret, rule);
    free(rule);
  }
  curl_easy_setopt(x->easy, CURLOPT_URL, newurl);
  r = 0;
out:
  curl_free(host);
  curl_free(port);
  curl_free(newurl);
  curl_url_cleanup(u);
  return r;
}

static int configure_easy(struct fetch *x, const struct fetch_request *req,
                          struct curl_slist **connect_to) {
  CURL *e = x->easy;
  const struct cfg_http_client *h = req->http;

  curl_easy_setopt(e, CURLOPT_URL, x->url);
  curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)x->connect_timeout_ms);
  /* Bodies are kept exactly as sent: no Accept-Encoding, no decoding. */
  curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!h)
    return 0;
  if (h->ca_file)
    curl_easy_setopt(e, CURLOPT_CAINFO, h->ca_file);
  if (h->cert_file)
    curl_easy_setopt(e, CURLOPT_SSLCERT, h->cert_file);
  if (h->key_file)
    curl_easy_setopt(e, CURLOPT_SSLKEY, h->key_file);
  if (h->insecure_skip_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (h->server_name && *h->server_name) {
    int r = apply_server_name(x, h->server_name, connect_to);
    if (r < 0)
      return r;
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, *connect_to);
  }
  if (h->bearer_token) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
    curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, h->bearer_token);
  } else if (h->basic_username) {
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, h->basic_username);
    curl_easy_setopt(e, CURLOPT_PASSWORD, h->basic_password ? h->basic_password : "");
  }
  for (size_t i = 0; i < h->n_headers; i++) {
    char *line = xasprintf("%s: %s", h->headers[i].key, h->headers[i].value);
    x->headers = curl_slist_append(x->headers, line);
    free(line);
  }
  if (x->headers)
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
  return 0;
}

int fetcher_start(struct fetcher *f, const struct fetch_request *req, struct fetch **ret) {
  struct fetch *x = xcalloc(1, sizeof(*x));
  struct curl_slist *connect_to = NULL;
  int r;

  x->url = xstrdup(req->url);
  x->userdata = req->userdata;
  x->max_size = req->max_size;
  x->timeout_ms = req->timeout_ms;
  x->declared_length = -1;
  x->connect_timeout_ms = req->connect_timeout_ms > 0 ? req->connect_timeout_ms : req->timeout_ms;
  x->expected_size = (size_t)MIN(req->expected_size, (uint64_t)SIZE_MAX / 2);
  if (req->max_size > 0 && x->expected_size > req->max_size)
    x->expected_size = (size_t)req->max_size;
  x->owner = f;
  buf_init(&x->body, req->max_size > 0 && req->max_size < SIZE_MAX ? (size_t)req->max_size
                                                                     : SIZE_MAX);
  x->easy = curl_easy_init();
  if (!x->easy) {
    r = -ENOMEM;
    goto fail;
  }
  r = configure_easy(x, req, &connect_to);
  if (r < 0)
    goto fail;
  /* CONNECT_TO is read at transfer time; keep the list with the headers. */
  if (connect_to) {
    struct curl_slist *last = connect_to;
    while (last->next)
      last = last->next;
    last->next = x->headers;
    x->headers = connect_to;
    connect_to = NULL;
  }
  if (curl_multi_add_handle(f->multi, x->easy) != CURLM_OK) {
    r = -ENOMEM;
    goto fail;
  }
  x->started_mono_ms = time_mono_ms();
  f->in_flight++;
  x->next_active = f->active;
  if (f->active)
    f->active->prev_active = x;
  f->active = x;
  account(x);
  *ret = x;
  return 0;
fail:
  curl_slist_free_all(connect_to);
  x->owner = NULL;
  fetch_free(x);
  return r;
}

int fetcher_poll(struct fetcher *f, struct curl_waitfd *extra, unsigned n_extra, int timeout_ms) {
  int numfds = 0;
  CURLMcode mc = curl_multi_poll(f->multi, extra, n_extra, timeout_ms, &numfds);
  if (mc != CURLM_OK)
    return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
  return numfds;
}

static enum fetch_error classify(CURLcode rc, struct fetch *x) {
  switch (rc) {
  case CURLE_OK:
    return FETCH_OK;
  case CURLE_OPERATION_TIMEDOUT:
    return FETCH_ERR_TIMEOUT;
  case CURLE_FILESIZE_EXCEEDED:
    return FETCH_ERR_TOO_LARGE;
  case CURLE_WRITE_ERROR:
    return x->error == FETCH_ERR_TOO_LARGE ? FETCH_ERR_TOO_LARGE : FETCH_ERR_TRANSFER;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
    return FETCH_ERR_CONNECT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CIPHER:
    return FETCH_ERR_TLS;
  default:
    return FETCH_ERR_TRANSFER;
  }
}

/* curl's messages name the failure; these say it in the terms of the
 * configuration (timeout, max_response_size, tls.ca_file) and with what
 * was received, for someone reading `pprofctl list`. */
static char *error_text(struct fetch *x, CURLcode rc) {
  const char *curl_msg = x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc);
  int64_t declared = x->declared_length;
  curl_off_t connect_us = 0;
  char a[32], b[32];
  long os_errno = 0;

  switch (rc) {
  case CURLE_WRITE_ERROR:
    if (x->error != FETCH_ERR_TOO_LARGE)
      break;
    /* fall through */
  case CURLE_FILESIZE_EXCEEDED:
    if (declared >= 0 && (uint64_t)declared > x->max_size)
      return xasprintf("response of %s (Content-Length) exceeds max_response_size (%s)",
                       format_size((uint64_t)declared, a, sizeof(a)),
                       format_size(x->max_size, b, sizeof(b)));
    return xasprintf("response exceeds max_response_size (%s); the transfer was stopped there",
                     format_size(x->max_size, b, sizeof(b)));
  case CURLE_OPERATION_TIMEDOUT:
    curl_easy_getinfo(x->easy, CURLINFO_CONNECT_TIME_T, &connect_us);
    if (strncmp(curl_msg, "Resolving timed out", 19) == 0)
      return xasprintf("cannot resolve the host name: %s", curl_msg);
    if (connect_us <= 0 && !x->http_status)
      return xasprintf("connect timed out after %s (%s)",
                       format_duration_ms(x->connect_timeout_ms, a, sizeof(a)), curl_msg);
    return xasprintf("timed out after %s with %zu bytes of the response received (%s)",
                     format_duration_ms(x->timeout_ms, a, sizeof(a)), x->body.len,
                     x->http_status ? "the target sends too slowly or stalls"
                                    : "no response headers");
  case CURLE_PARTIAL_FILE:
    if (declared >= 0)
      return xasprintf("connection closed by the target after %zu of %" PRId64
                       " bytes (Content-Length)",
                       x->body.len, declared);
    return xasprintf("connection closed by the target after %zu bytes (%s)", x->body.len, curl_msg);
  case CURLE_COULDNT_CONNECT: {
    static const char suffix[] = ": Couldn't connect to server";
    size_t n = strlen(curl_msg);
    curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_errno);
    if (!os_errno)
      break;
    if (n > sizeof(suffix) - 1 && strcmp(curl_msg + n - (sizeof(suffix) - 1), suffix) == 0)
      n -= sizeof(suffix) - 1;
    return xasprintf("%.*s: %s", (int)n, curl_msg, strerror((int)os_errno));
  }
  case CURLE_PEER_FAILED_VERIFICATION:
    return xasprintf("%s (set tls.ca_file to the CA that signed the target's certificate)",
                     curl_msg);
  default:
    break;
  }
  return xstrdup(curl_msg);
}

static void finish(struct fetcher *f, struct fetch *x, CURLcode rc) {
  char *ct = NULL;
  x->elapsed_ms = time_mono_ms() - x->started_mono_ms;
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->http_status);
  curl_easy_getinfo(x->easy, CURLINFO_CONTENT_TYPE, &ct);
  if (ct)
    x->content_type = xstrdup(ct);
  x->error = classify(rc, x);
  if (x->error != FETCH_OK)
    x->error_text = error_text(x, rc);
  else if (x->http_status != 200)
    x->error = FETCH_ERR_HTTP;
  curl_multi_remove_handle(f->multi, x->easy);
  push_done(f, x);
}

/* A reused keep-alive connection can hold bytes a misbehaving server sent
 * beyond the Content-Length of an earlier response (to any target on the
 * same host:port); the next request then reads them as its reply. Such a
 * garbled reply on a reused connection is retried once on a new one. */
static bool stale_connection(struct fetch *x, CURLcode rc) {
  long connects = -1, request_bytes = 0;
  if (x->retried || (rc != CURLE_UNSUPPORTED_PROTOCOL && rc != CURLE_WEIRD_SERVER_REPLY))
    return false;
  curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &connects);
  curl_easy_getinfo(x->easy, CURLINFO_REQUEST_SIZE, &request_bytes);
  return connects == 0 && request_bytes > 0; /* sent on a connection made before */
}

static int restart(struct fetcher *f, struct fetch *x) {
  int64_t left = x->timeout_ms - (time_mono_ms() - x->started_mono_ms);

  curl_multi_remove_handle(f->multi, x->easy);
  x->retried = true;
  x->errbuf[0] = '\0';
  buf_reset(&x->body);
  curl_easy_setopt(x->easy, CURLOPT_FRESH_CONNECT, 1L);
  curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, (long)MAX(left, (int64_t)1));
  return curl_multi_add_handle(f->multi, x->easy) == CURLM_OK ? 0 : -ENOMEM;
}

int fetcher_perform(struct fetcher *f) {
  int running = 0, left = 0;
  CURLMsg *msg;
  CURLMcode mc = curl_multi_perform(f->multi, &running);

  if (mc != CURLM_OK)
    return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
  while ((msg = curl_multi_info_read(f->multi, &left))) {
    struct fetch *x = NULL;
    CURLcode rc;
    if (msg->msg != CURLMSG_DONE)
      continue;
    rc = msg->data.result;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    if (!x)
      continue;
    if (stale_connection(x, rc) && restart(f, x) == 0) {
      running++;
      continue;
    }
    finish(f, x, rc);
  }
  return running;
}

struct fetch *fetcher_next_done(struct fetcher *f) {
  struct fetch *x = f->done_head;
  if (!x)
    return NULL;
  f->done_head = x->next_done;
  if (!f->done_head)
    f->done_tail = NULL;
  x->next_done = NULL;
  return x;
}

void fetcher_abort(struct fetcher *f, struct fetch *x) {
  if (x->done)
    return;
  x->elapsed_ms = time_mono_ms() - x->started_mono_ms;
  curl_multi_remove_handle(f->multi, x->easy);
  x->error = FETCH_ERR_ABORTED;
  free(x->error_text);
  x->error_text = xstrdup("aborted: pprofd is shutting down");
  push_done(f, x);
}

unsigned fetcher_in_flight(const struct fetcher *f) {
  return f->in_flight;
}

uint64_t fetcher_in_flight_bytes(const struct fetcher *f) {
  return f->in_flight_bytes;
}

const char *fetch_error_name(enum fetch_error e) {
  static const char *const names[] = {"ok",      "http", "too-large", "timeout",
                                      "connect", "tls",  "transfer",  "aborted"};
  return (unsigned)e < sizeof(names) / sizeof(names[0]) ? names[e] : "unknown";
}
