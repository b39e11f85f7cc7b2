#include "config.h"

#include "testfetch.h"

#include <check.h>
#include <string.h>

#include "util.h"

struct fetch *test_fetch_run(struct fetcher *f, const char *url, int64_t timeout_ms,
                             uint64_t max_size, const struct cfg_http_client *http) {
  struct fetch_request req;
  struct fetch *x = NULL, *done = NULL;
  int64_t deadline = time_mono_ms() + 20000;

  memset(&req, 0, sizeof(req));
  req.url = url;
  req.timeout_ms = timeout_ms;
  req.max_size = max_size;
  req.http = http;
  ck_assert_int_eq(fetcher_start(f, &req, &x), 0);
  while (!done && time_mono_ms() < deadline) {
    fetcher_poll(f, NULL, 0, 100);
    fetcher_perform(f);
    done = fetcher_next_done(f);
  }
  ck_assert_ptr_eq(done, x);
  return done;
}
