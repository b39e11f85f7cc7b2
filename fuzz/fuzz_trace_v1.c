/* Fuzzes the execution-trace parser through the common entry of the
 * analysis (gotrace_fuzz_one: version dispatch, parse, summary JSON),
 * seeded with traces in the old format ("go 1.11".."go 1.21 trace", src/gotrace_v1*.c).
 * The harness is the same for both generations; the seeds steer it. */
#include "config.h"

#include "fuzz.h"
#include "gotrace_analysis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  return gotrace_fuzz_one(data, len);
}
