/* Fuzzes the pprof decoder and the analysis stored at ingest
 * (pprof_fuzz_one: format detection, gunzip, protobuf decode, validation,
 * per-function top, goroutine stacks), then the cumulative-sorted top of
 * every sample type that `pprofctl top --cum` computes. The decoder is
 * checked against protobuf-c's unpack (as tests/check_pprof_wire does in
 * detail): what protobuf-c rejects must be rejected, and what both accept
 * must have the same numbers of everything. */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "pprof.h"
#include "pprof_analyze.h"
#include "pprof_summary.h"
#include "profile.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  struct pprof_profile *p = NULL;
  struct pprof_nodes *nodes;
  struct pprof_top_opts o;
  char *err = NULL;

  pprof_fuzz_one(data, len);
  if (len > 0 && data[0] != 0x1f) {
    Perftools__Profiles__Profile *m = perftools__profiles__profile__unpack(NULL, len, data);
    int r = pprof_decode(data, len, 16u << 20, &p, &err);
    if (!m && r == 0)
      abort(); /* accepted what protobuf-c rejects */
    if (m && r == 0 &&
        (p->n_samples != m->n_sample || p->n_locations != m->n_location ||
         p->n_functions != m->n_function || p->n_mappings != m->n_mapping ||
         p->n_strings != m->n_string_table || p->n_sample_types != m->n_sample_type ||
         p->n_comments != m->n_comment))
      abort();
    if (m)
      perftools__profiles__profile__free_unpacked(m, NULL);
    pprof_profile_free(p);
    p = NULL;
    free(err);
    err = NULL;
  }
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
