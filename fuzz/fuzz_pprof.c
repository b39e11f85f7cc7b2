/* Fuzzes the pprof decoder and the analysis stored at ingest
 * (pprof_fuzz_one: format detection, gunzip, protobuf decode, validation,
 * per-function top, goroutine stacks), then the cumulative-sorted top of
 * every sample type that `pprofctl top --cum` computes. */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "pprof.h"
#include "pprof_analyze.h"
#include "pprof_summary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  struct pprof_profile *p = NULL;
  struct pprof_nodes *nodes;
  struct pprof_top_opts o;
  char *err = NULL;

  pprof_fuzz_one(data, len);
  if (pprof_decode(data, len, 16u << 20, &p, &err) < 0) {
    free(err);
    return 0;
  }
  nodes = pprof_nodes_new(p);
  pprof_top_opts_default(&o);
  o.cum_sort = true;
  o.node_count = 20;
  for (size_t si = 0; nodes && si < p->n_sample_types && si < 8; si++)
    pprof_top_free(pprof_top_compute(p, nodes, (int)si, &o));
  pprof_nodes_free(nodes);
  pprof_profile_free(p);
  return 0;
}
