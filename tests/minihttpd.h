/* A tiny HTTP/1.1 server for tests, on 127.0.0.1 with an ephemeral port,
 * one thread per connection. It serves canned misbehaviours (errors,
 * stalls, dropped connections, oversized bodies) for fetch tests. */
#ifndef PPROFD_MINIHTTPD_H
#define PPROFD_MINIHTTPD_H

#include <stddef.h>
#include <stdint.h>

struct minihttpd;

/* Paths served:
 *   /ok            200 "hello world"
 *   /file          200 with the bytes given to minihttpd_start
 *   /404           404 "Unknown profile\n"
 *   /busy          500 "Could not enable CPU profiling: cpu profiling already in use\n"
 *   /html          200 an HTML index page
 *   /big           200, 1 MiB, chunked (no Content-Length)
 *   /biglen        200 with Content-Length: 104857600, then closes
 *   /slow          waits 3 s, then 200 "late"
 *   /halfslow      Content-Length: 2000, sends 1000 bytes, waits 1 s, sends the rest
 *   /drop          Content-Length: 1000, sends 10 bytes, closes
 *   /auth          200 "authorized" with "Authorization: Bearer s3cret", else 401
 *   /headers       200, the request headers as the body
 *   /redirect      302 to http://127.0.0.1:9/elsewhere
 *   anything else  404 */
struct minihttpd *minihttpd_start(const uint8_t *file, size_t file_len);
int minihttpd_port(const struct minihttpd *h);
/* Number of requests seen for a path. */
unsigned minihttpd_hits(struct minihttpd *h, const char *path);
void minihttpd_stop(struct minihttpd *h);

#endif
