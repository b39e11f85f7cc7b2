/* The pprof analyser behind analysis_run() for FORMAT_PPROF and
 * FORMAT_PPROF_GZIP: decodes the profile and fills a->json (the summary
 * `pprofctl show` prints), a->detail (struct pprof_detail, written as rows
 * by a->ops->store_rows) and a->status/a->error. A malformed profile gives
 * ANALYSIS_ERROR with a message naming what is wrong; nothing is stored as
 * rows then, but the capture and its raw bytes still are. */
#ifndef PPROFD_PPROF_ANALYZE_H
#define PPROFD_PPROF_ANALYZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct analysis;
struct analysis_opts;

/* data is a profile as fetched (gzip'd or not), or its inflated bytes
 * when gzipped is set. */
void pprof_analyze(struct analysis *a, const char *profile_type, const uint8_t *data, size_t len,
                   bool gzipped, const struct analysis_opts *o);

/* A libFuzzer entry point: runs the whole analysis on arbitrary bytes.
 * Always returns 0; crashes, leaks and hangs are the findings. */
int pprof_fuzz_one(const uint8_t *data, size_t len);

#endif
