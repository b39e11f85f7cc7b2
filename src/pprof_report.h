/* The single-capture -top report: text exactly as `go tool pprof -top`
 * prints it (header, then flat/flat%/sum%/cum/cum% rows) and the JSON
 * document of `pprofctl top ID --json`. */
#ifndef PPROFD_PPROF_REPORT_H
#define PPROFD_PPROF_REPORT_H

#include <jansson.h>

#include "buf.h"
#include "pprof.h"
#include "pprof_summary.h"

/* Appends the report to out. node_fraction is the one used to compute t
 * (for the "Dropped N nodes" line). Returns 0 or -EFBIG/-ENOMEM. */
int pprof_report_text(const struct pprof_profile *p, const struct pprof_nodes *nodes,
                      const struct pprof_top *t, double node_fraction, struct buf *out);
/* {"sample_type", "unit", "total", "rows": [{"function", "file", "flat",
 * "cum"}]} plus "sample_index", "inline" on inlined rows. */
json_t *pprof_report_json(const struct pprof_profile *p, const struct pprof_nodes *nodes,
                          const struct pprof_top *t);
/* A JSON string of s; bytes that are not UTF-8 become U+FFFD (profile
 * strings come from the target and need not be valid). */
json_t *pprof_json_string(const char *s);
/* "Nov 21, 2026 at 11:40pm (UTC)" in the local time zone, like Go. */
const char *pprof_format_time(int64_t time_nanos, char *buf, size_t size);

#endif
