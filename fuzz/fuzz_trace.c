/* Fuzzes the execution-trace parser through the common entry of the
 * analysis (gotrace_parse: version dispatch, then the parser, as
 * gotrace_fuzz_one does). Built twice, as the harnesses trace_v1 and
 * trace_v2, which differ only in their seeds: traces in the old format
 * ("go 1.11" to "go 1.21 trace", src/gotrace_v1*.c) and in the new one
 * ("go 1.22" to "go 1.26 trace", src/gotrace_v2*.c). What a trace parses
 * into is also turned into the analysis JSON and into each blocking
 * profile (`pprofctl trace --pprof`), which must decode again. */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "gotrace_analysis.h"
#include "pprof.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  struct trace_summary s;
  char *err = NULL;

  trace_summary_init(&s);
  if (gotrace_parse(data, len, &s, &err) == 0) {
    json_decref(gotrace_summary_to_json(&s));
    for (int k = 0; k < TRACE_PROFILE_COUNT; k++) {
      struct buf out;
      struct pprof_profile *p = NULL;
      char *perr = NULL;
      buf_init(&out, 256u << 20);
      if (gotrace_profile_pprof(&s, k, 1, &out, &perr) == 0 &&
          pprof_decode(out.data, out.len, 1u << 30, &p, &perr) < 0)
        abort(); /* a profile we wrote does not decode */
      pprof_profile_free(p);
      free(perr);
      buf_done(&out);
    }
    trace_summary_done(&s);
  }
  free(err);
  return 0;
}
