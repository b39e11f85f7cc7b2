/* HTTP fetching on one thread with the libcurl multi interface. Each
 * request is a struct fetch owned by the fetcher until it completes; the
 * caller polls, then collects finished fetches with fetcher_next_done()
 * and frees them. Bodies are capped while streaming. Redirects are not
 * followed and only http/https are allowed, so a target cannot send pprofd
 * anywhere else. */
#ifndef PPROFD_FETCH_H
#define PPROFD_FETCH_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "cfg.h"

struct fetcher;

struct fetch_request {
  const char *url;
  int64_t timeout_ms;      /* whole transfer, including the profile's seconds */
  int64_t connect_timeout_ms;
  uint64_t max_size;       /* body cap */
  uint64_t expected_size;  /* counted in flight before the body comes (0: unknown) */
  const struct cfg_http_client *http; /* TLS, auth, headers; may be NULL */
  void *userdata;
};

enum fetch_error {
  FETCH_OK = 0,
  FETCH_ERR_HTTP,       /* non-200 status */
  FETCH_ERR_TOO_LARGE,  /* body over max_size */
  FETCH_ERR_TIMEOUT,
  FETCH_ERR_CONNECT,    /* refused, DNS, connect timeout: the process is unreachable */
  FETCH_ERR_TLS,        /* handshake or certificate: this target's tls settings */
  FETCH_ERR_TRANSFER,   /* dropped connection, bad framing */
  FETCH_ERR_ABORTED,    /* fetcher_abort() */
};

struct fetch {
  /* request (copied) */
  char *url;
  void *userdata;
  uint64_t max_size;
  int64_t timeout_ms;
  int64_t connect_timeout_ms;
  int64_t declared_length; /* Content-Length of the response, -1 if none */
  /* result, valid once done */
  bool done;
  enum fetch_error error;
  char *error_text;     /* curl's message, or why; NULL when ok */
  long http_status;     /* 0 when no response */
  char *content_type;
  struct buf body;
  int64_t started_mono_ms;
  int64_t elapsed_ms;
  /* private */
  CURL *easy;
  struct curl_slist *headers;
  struct fetcher *owner;
  bool retried;         /* once, on a fresh connection (see fetcher_perform) */
  size_t counted_bytes; /* in the fetcher's in-flight bytes */
  size_t expected_size; /* from the request, capped by max_size */
  char errbuf[CURL_ERROR_SIZE];
  struct fetch *next_done;
  struct fetch *prev_active, *next_active; /* in-flight list */
};

struct fetcher *fetcher_new(void);
/* Aborts what is still in flight. */
struct fetcher *fetcher_free(struct fetcher *f);
int fetcher_start(struct fetcher *f, const struct fetch_request *req, struct fetch **ret);
/* Waits for network activity, an extra fd, or timeout_ms. */
int fetcher_poll(struct fetcher *f, struct curl_waitfd *extra, unsigned n_extra, int timeout_ms);
/* Drives transfers; finished ones are queued for fetcher_next_done(). */
int fetcher_perform(struct fetcher *f);
/* A finished fetch (caller owns it; free with fetch_free()), or NULL. */
struct fetch *fetcher_next_done(struct fetcher *f);
/* Aborts one fetch in flight: it is reported done with FETCH_ERR_ABORTED. */
void fetcher_abort(struct fetcher *f, struct fetch *x);
unsigned fetcher_in_flight(const struct fetcher *f);
/* Bytes of the bodies of the fetches in flight: each as allocated, or its
 * Content-Length once announced, or the size the request expected,
 * whichever is most. */
uint64_t fetcher_in_flight_bytes(const struct fetcher *f);
struct fetch *fetch_free(struct fetch *x);

const char *fetch_error_name(enum fetch_error e);

#endif
