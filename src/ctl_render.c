/* A readable text rendering of any JSON object (the stored analysis of a
 * capture): scalars as "key: value", nested objects indented, arrays of
 * flat objects as tables. Analysers may print something nicer; this keeps
 * every analysis readable without code of its own. */
#include "config.h"

#include "ctl.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_scalar(json_t *v) {
  return !json_is_object(v) && !json_is_array(v);
}

/* The text of a scalar; caller frees. Control characters become '?'. */
static char *scalar_text(json_t *v) {
  char *s;

  if (json_is_string(v))
    s = xstrdup(json_string_value(v));
  else if (json_is_integer(v))
    s = xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else if (json_is_real(v))
    s = xasprintf("%.6g", json_real_value(v));
  else if (json_is_true(v))
    s = xstrdup("true");
  else if (json_is_false(v))
    s = xstrdup("false");
  else
    s = xstrdup("-");
  for (char *p = s; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  return s;
}

static bool flat_objects(json_t *arr) {
  size_t i;
  json_t *el;

  json_array_foreach(arr, i, el) {
    const char *k;
    json_t *v;
    if (!json_is_object(el))
      return false;
    json_object_foreach(el, k, v) {
      if (!is_scalar(v))
        return false;
    }
  }
  return true;
}

static bool all_scalars(json_t *arr) {
  size_t i;
  json_t *el;

  json_array_foreach(arr, i, el) {
    if (!is_scalar(el))
      return false;
  }
  return true;
}

static void print_table(FILE *out, json_t *arr, int indent) {
  json_t *columns = json_array(); /* column names in order of first use */
  struct table *t;
  const char **cells;
  char *text = NULL, *line;
  size_t n, i, len = 0;
  json_t *el;
  FILE *mem;

  json_array_foreach(arr, i, el) {
    const char *k;
    json_t *v;
    json_object_foreach(el, k, v) {
      size_t j;
      json_t *c;
      bool seen = false;
      json_array_foreach(columns, j, c) {
        if (strcmp(json_string_value(c), k) == 0)
          seen = true;
      }
      if (!seen)
        json_array_append_new(columns, json_string(k));
    }
  }
  n = json_array_size(columns);
  cells = xcalloc(n ? n : 1, sizeof(*cells));
  for (i = 0; i < n; i++)
    cells[i] = json_string_value(json_array_get(columns, i));
  t = table_new(n, cells);
  for (size_t c = 0; c < n; c++) {
    bool numeric = true;
    json_array_foreach(arr, i, el) {
      json_t *v = json_object_get(el, cells[c]);
      if (v && !json_is_number(v) && !json_is_null(v))
        numeric = false;
    }
    if (numeric)
      table_align_right(t, c);
  }
  json_array_foreach(arr, i, el) {
    char **row = xcalloc(n ? n : 1, sizeof(*row));
    for (size_t c = 0; c < n; c++) {
      json_t *v = json_object_get(el, json_string_value(json_array_get(columns, c)));
      row[c] = v ? scalar_text(v) : NULL;
    }
    table_add_row(t, (const char *const *)row);
    for (size_t c = 0; c < n; c++)
      free(row[c]);
    free(row);
  }
  /* Render, then indent every line. */
  mem = open_memstream(&text, &len);
  if (mem) {
    table_print(t, mem);
    fclose(mem);
    for (line = text; line && *line;) {
      char *nl = strchr(line, '\n');
      int chars = nl ? (int)(nl - line) : (int)strlen(line);
      fprintf(out, "%*s%.*s\n", indent, "", chars, line);
      line = nl ? nl + 1 : NULL;
    }
  }
  free(text);
  table_free(t);
  free(cells);
  json_decref(columns);
}

static void render_value(FILE *out, const char *key, json_t *v, int indent);

static void render_object(FILE *out, json_t *obj, int indent) {
  const char *k;
  json_t *v;

  json_object_foreach(obj, k, v) {
    render_value(out, k, v, indent);
  }
}

static void render_value(FILE *out, const char *key, json_t *v, int indent) {
  size_t i;
  json_t *el;

  if (is_scalar(v)) {
    char *s = scalar_text(v);
    fprintf(out, "%*s%s: %s\n", indent, "", key, s);
    free(s);
  } else if (json_is_object(v)) {
    if (json_object_size(v) == 0) {
      fprintf(out, "%*s%s: {}\n", indent, "", key);
      return;
    }
    fprintf(out, "%*s%s:\n", indent, "", key);
    render_object(out, v, indent + 2);
  } else if (json_array_size(v) == 0) {
    fprintf(out, "%*s%s: []\n", indent, "", key);
  } else if (all_scalars(v)) {
    fprintf(out, "%*s%s: ", indent, "", key);
    json_array_foreach(v, i, el) {
      char *s = scalar_text(el);
      fprintf(out, "%s%s", i ? ", " : "", s);
      free(s);
    }
    fputc('\n', out);
  } else if (flat_objects(v)) {
    fprintf(out, "%*s%s:\n", indent, "", key);
    print_table(out, v, indent + 2);
  } else {
    fprintf(out, "%*s%s:\n", indent, "", key);
    json_array_foreach(v, i, el) {
      char name[32];
      snprintf(name, sizeof(name), "[%zu]", i);
      render_value(out, name, el, indent + 2);
    }
  }
}

void ctl_render_json_text(FILE *out, json_t *v, int indent) {
  if (json_is_object(v))
    render_object(out, v, indent);
  else
    render_value(out, "value", v, indent);
}
