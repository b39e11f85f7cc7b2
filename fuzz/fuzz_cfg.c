/* Fuzzes the configuration parser: pprofd.yaml from a buffer, then the
 * dump of what was accepted. Secrets are not read (no files named by the
 * input are opened). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cfg.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len) {
  struct cfg *c = NULL;
  char *err = NULL;

  if (cfg_load_string("fuzz.yaml", (const char *)data, len, CFG_LOAD_SKIP_SECRETS, &c, &err) == 0) {
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    if (f) {
      cfg_dump(c, f);
      fclose(f);
    }
    free(text);
    cfg_free(c);
  }
  free(err);
  return 0;
}
