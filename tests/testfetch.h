/* One fetch run to completion on a fetcher, for the fetch tests. */
#ifndef PPROFD_TESTS_TESTFETCH_H
#define PPROFD_TESTS_TESTFETCH_H

#include <stdint.h>

#include "fetch.h"

struct cfg_http_client;

/* Starts a fetch of url and drives f until it is done (at most 20 s);
 * asserts that the finished fetch is that one. http may be NULL. */
struct fetch *test_fetch_run(struct fetcher *f, const char *url, int64_t timeout_ms,
                             uint64_t max_size, const struct cfg_http_client *http);

#endif
