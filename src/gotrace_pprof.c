/* Blocking profiles of a trace as pprof files, like `go tool trace
 * -pprof=KIND`: sample types contentions/count and delay/nanoseconds,
 * period type trace/count with period 1, one sample per stack (leaf
 * first, function, file, line and PC per frame). */
#include "config.h"

#include "gotrace_analysis.h"
#include "pprof_build.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gotrace_profile_pprof(const struct trace_summary *s, int kind, int64_t time_ms, struct buf *out,
                          char **ret_err) {
  const struct trace_profile *p;
  struct pprof_builder *b;
  struct pprof_frame *frames = NULL;
  size_t cap = 0;
  int r = 0;

  if (kind < 0 || kind >= TRACE_PROFILE_COUNT) {
    free(*ret_err);
    *ret_err = xasprintf("unknown profile kind %d", kind);
    return -EINVAL;
  }
  p = &s->profiles[kind];
  b = pprof_builder_new();
  pprof_builder_add_sample_type(b, "contentions", "count");
  pprof_builder_add_sample_type(b, "delay", "nanoseconds");
  pprof_builder_set_period(b, "trace", "count", 1);
  pprof_builder_set_time(b, time_ms > INT64_MAX / 1000000 ? INT64_MAX : time_ms * 1000000,
                         s->duration_ns);
  for (size_t i = 0; i < p->n_samples && r == 0; i++) {
    const struct trace_profile_sample *smp = &p->samples[i];
    int64_t values[2] = {smp->count, smp->ns};
    if (smp->stack.n_frames > cap) {
      cap = smp->stack.n_frames;
      frames = xreallocarray(frames, cap, sizeof(*frames));
    }
    for (size_t f = 0; f < smp->stack.n_frames; f++) {
      const struct trace_frame *fr = &smp->stack.frames[f];
      frames[f].function = fr->function ? fr->function : "";
      frames[f].file = fr->file ? fr->file : "";
      frames[f].line = fr->line;
      frames[f].address = fr->pc;
    }
    r = pprof_builder_add_sample(b, frames, smp->stack.n_frames, values);
  }
  if (r == 0)
    r = pprof_builder_write(b, out);
  if (r < 0) {
    free(*ret_err);
    *ret_err = xasprintf("cannot write the profile: %s", strerror(-r));
  }
  free(frames);
  pprof_builder_free(b);
  return r;
}
