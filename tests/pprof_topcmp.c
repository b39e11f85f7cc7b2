/* Test helper for pprof_cli.test.sh: compares `go tool pprof -top
 * -unit=UNIT` output (exact integers, since the unit is the profile's own)
 * with the JSON of `pprofctl top ID --json`:
 *
 *   pprof_topcmp GO_TOP.txt PPROFCTL.json
 *
 * Same total, the same functions with the same flat and cum, in the same
 * order except among ties. Exit 0 when they agree, 1 with a message. */
#include "config.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct row {
  char name[1024];
  int64_t flat, cum;
  bool matched;
};

static int64_t parse_value(const char *s, bool *ok) {
  char *end;
  double v = strtod(s, &end);
  *ok = end != s && fabs(v - llround(v)) < 1e-6;
  return (int64_t)llround(v);
}

static int64_t iabs(int64_t v) {
  return v < 0 ? -v : v;
}

int main(int argc, char **argv) {
  FILE *f;
  char line[4096];
  struct row *go = NULL;
  size_t n_go = 0;
  int64_t go_total = INT64_MIN;
  bool in_rows = false, ok = true;
  json_t *doc, *rows;
  json_error_t e;

  if (argc != 3) {
    fprintf(stderr, "usage: %s GO_TOP.txt PPROFCTL.json\n", argv[0]);
    return 2;
  }
  f = fopen(argv[1], "r");
  if (!f) {
    perror(argv[1]);
    return 2;
  }
  while (fgets(line, sizeof(line), f)) {
    char flat[64], cum[64], fp[16], sp[16], cp[16];
    int off = 0;
    line[strcspn(line, "\n")] = '\0';
    if (strncmp(line, "Showing nodes accounting for", 28) == 0) {
      const char *of = strstr(line, " of ");
      bool vok;
      if (of)
        go_total = parse_value(of + 4, &vok);
      continue;
    }
    if (strstr(line, "flat  flat%   sum%")) {
      in_rows = true;
      continue;
    }
    if (!in_rows)
      continue;
    if (sscanf(line, "%63s %15s %15s %63s %15s %n", flat, fp, sp, cum, cp, &off) < 5 || !off) {
      fprintf(stderr, "cannot parse go row: %s\n", line);
      return 1;
    }
    go = realloc(go, (n_go + 1) * sizeof(*go));
    snprintf(go[n_go].name, sizeof(go[n_go].name), "%s", line + off);
    /* pprof appends " (inline)" / " (partial-inline)" to names. */
    {
      char *mark = strstr(go[n_go].name, " (inline)");
      if (!mark)
        mark = strstr(go[n_go].name, " (partial-inline)");
      if (mark && mark[strcspn(mark, ")") + 1] == '\0')
        *mark = '\0';
    }
    {
      bool a, b;
      go[n_go].flat = strcmp(flat, "0") == 0 ? 0 : parse_value(flat, &a);
      go[n_go].cum = strcmp(cum, "0") == 0 ? 0 : parse_value(cum, &b);
      if ((strcmp(flat, "0") && !a) || (strcmp(cum, "0") && !b)) {
        fprintf(stderr, "go printed rounded values (wrong -unit?): %s\n", line);
        return 1;
      }
    }
    go[n_go].matched = false;
    n_go++;
  }
  fclose(f);
  doc = json_load_file(argv[2], 0, &e);
  if (!doc) {
    fprintf(stderr, "%s: %s\n", argv[2], e.text);
    return 1;
  }
  rows = json_object_get(doc, "rows");
  if (go_total != json_integer_value(json_object_get(doc, "total"))) {
    fprintf(stderr, "total: go %" PRId64 ", pprofctl %" JSON_INTEGER_FORMAT "\n", go_total,
            json_integer_value(json_object_get(doc, "total")));
    ok = false;
  }
  if (json_array_size(rows) != n_go) {
    fprintf(stderr, "rows: go %zu, pprofctl %zu\n", n_go, json_array_size(rows));
    ok = false;
  }
  for (size_t i = 0; i < json_array_size(rows) && i < n_go; i++) {
    json_t *r = json_array_get(rows, i);
    const char *name = json_string_value(json_object_get(r, "function"));
    int64_t flat = json_integer_value(json_object_get(r, "flat"));
    int64_t cum = json_integer_value(json_object_get(r, "cum"));
    bool found = false;
    /* The same row, or a tie: rows with equal |flat| (or |cum| for -cum)
     * may be ordered differently. */
    for (size_t j = 0; j < n_go && !found; j++) {
      if (go[j].matched || strcmp(go[j].name, name) != 0)
        continue;
      found = true;
      go[j].matched = true;
      if (go[j].flat != flat || go[j].cum != cum) {
        fprintf(stderr,
                "%s: go flat %" PRId64 " cum %" PRId64 ", pprofctl flat %" PRId64 " cum %" PRId64
                "\n",
                name, go[j].flat, go[j].cum, flat, cum);
        ok = false;
      }
      if (j != i && iabs(go[j].flat) != iabs(go[i].flat) && iabs(go[j].cum) != iabs(go[i].cum)) {
        fprintf(stderr, "%s: row %zu in go, %zu in pprofctl, and not a tie\n", name, j, i);
        ok = false;
      }
    }
    if (!found) {
      fprintf(stderr, "%s: not in go's output\n", name);
      ok = false;
    }
  }
  json_decref(doc);
  free(go);
  return ok ? 0 : 1;
}
