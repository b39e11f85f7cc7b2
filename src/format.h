/* Format detection: what did a target actually send? Cheap (looks at a
 * prefix, inflates at most a few KiB of gzip), so the fetch loop can use it
 * to reject an HTML page where a profile was expected. */
#ifndef PPROFD_FORMAT_H
#define PPROFD_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum capture_format {
  FORMAT_UNKNOWN = 0, /* binary data we do not recognise */
  FORMAT_EMPTY,       /* zero bytes */
  FORMAT_PPROF_GZIP,  /* gzip'd profile.proto (what net/http/pprof sends) */
  FORMAT_PPROF,       /* uncompressed profile.proto */
  FORMAT_GO_TRACE,    /* "go 1.N trace" */
  FORMAT_GZIP,        /* gzip of something that is not a profile */
  FORMAT_HTML,
  FORMAT_TEXT,        /* other text (e.g. ?debug=1 output, error messages) */
  FORMAT_JSON,
};

struct format_info {
  enum capture_format format;
  int trace_minor; /* FORMAT_GO_TRACE: N of "go 1.N trace" */
};

void format_detect(const uint8_t *data, size_t len, struct format_info *ret);
/* Whether the inflated content of a gzip stream makes it FORMAT_PPROF_GZIP
 * (format_detect() decides so from an inflated prefix). */
bool format_inflated_is_pprof(const uint8_t *plain, size_t len);
/* Stable names stored in the database: "pprof-gzip", "pprof", "go-trace",
 * "gzip", "html", "text", "json", "empty", "unknown". */
const char *format_name(enum capture_format f);
/* What a person calls it, for messages: "an HTML page", "gzip'd data that
 * is not a profile", "unrecognised binary data"... */
const char *format_description(enum capture_format f);
/* A short printable excerpt of the first bytes (for error messages):
 * control bytes escaped, at most max visible characters. Caller frees. */
char *format_excerpt(const uint8_t *data, size_t len, size_t max);

#endif
