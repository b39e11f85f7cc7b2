/* Fuzzes what looks at a target's response before any decoder: format
 * detection (which inflates a gzip prefix), the excerpt put in error
 * messages, and the /debug/pprof/ index page parser of `profiles: auto`. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "format.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  struct format_info fi;
  char **names = NULL;
  char *ex;

  format_detect(data, len, &fi);
  if (strlen(format_name(fi.format)) == 0)
    abort();
  ex = format_excerpt(data, len, 64);
  free(ex);
  if (cfg_parse_index_page((const char *)data, len, &names) >= 0 && names) {
    for (size_t i = 0; names[i]; i++)
      free(names[i]);
    free(names);
  }
  return 0;
}
