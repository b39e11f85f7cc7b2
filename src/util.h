/* Small helpers shared by every module: aborting allocators, clocks,
 * durations, sizes and timestamps. */
#ifndef PPROFD_UTIL_H
#define PPROFD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Abort on OOM: used only for small, fixed-size allocations. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Frees *p and sets it to NULL. */
void freep(void *p);

/* CLOCK_MONOTONIC and wall-clock (Unix) time in milliseconds. */
int64_t time_mono_ms(void);
int64_t time_wall_ms(void);
int64_t time_mono_ns(void);

/* "500ms", "30s", "5m", "1h", "14d", "1h30m", "1.5s". Returns 0 or -EINVAL,
 * -ERANGE on overflow. A bare number is rejected (units are required). */
int parse_duration_ms(const char *s, int64_t *ret_ms);
/* "64KiB", "256MiB", "20GiB", "1.5GB", "4096" (bytes). */
int parse_size(const char *s, uint64_t *ret_bytes);
/* Writes "1h30m", "45s", "250ms"... into buf. */
const char *format_duration_ms(int64_t ms, char *buf, size_t size);
/* Writes "1.5 MiB"-style sizes into buf. */
const char *format_size(uint64_t bytes, char *buf, size_t size);

/* RFC 3339 UTC with millisecond precision when needed: 2026-11-21T23:59:02Z
 * or 2026-11-21T23:59:02.123Z. buf needs 32 bytes. */
const char *format_rfc3339(int64_t wall_ms, char *buf, size_t size);
/* Accepts RFC 3339 (with Z or an offset, optional fraction), a date
 * "2026-11-21", "now", or a duration meaning "that long before now_ms"
 * ("2h", "7d"). */
int parse_time(const char *s, int64_t now_ms, int64_t *ret_wall_ms);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void hex_encode(const uint8_t *in, size_t len, char *out);

/* Strict integer parsing of a whole string. */
int parse_int64(const char *s, int64_t *ret);
int parse_uint64(const char *s, uint64_t *ret);
int parse_double(const char *s, double *ret);

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);

/* Reads a whole (small) file, e.g. a token file. Strips one trailing
 * newline when strip_newline is set. Returns 0 or -errno; -EFBIG past max. */
int read_file_small(const char *path, size_t max, bool strip_newline, char **ret);

#endif
