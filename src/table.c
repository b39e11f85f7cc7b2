/* Text tables for pprofctl: columns separated by two spaces, each as wide
 * as its widest cell, numbers right-aligned, no trailing blanks. */
#include "config.h"

#include "ctl.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

struct table {
  size_t n_columns;
  char **headers;
  bool *right;
  char **cells; /* n_rows * n_columns */
  size_t n_rows;
  size_t cap_rows;
};

struct table *table_new(size_t n_columns, const char *const *headers) {
  struct table *t = xcalloc(1, sizeof(*t));

  t->n_columns = n_columns;
  t->headers = xcalloc(n_columns, sizeof(*t->headers));
  t->right = xcalloc(n_columns, sizeof(*t->right));
  for (size_t i = 0; i < n_columns; i++)
    t->headers[i] = xstrdup(headers[i] ? headers[i] : "");
  return t;
}

void table_align_right(struct table *t, size_t column) {
  if (column < t->n_columns)
    t->right[column] = true;
}

/* Control characters would break the layout (and a terminal): cells show
 * them as '?'. NULL cells show as "-". */
static char *clean_cell(const char *s) {
  char *c;

  if (!s)
    return xstrdup("-");
  c = xstrdup(s);
  for (char *p = c; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f)
      *p = '?';
  return c;
}

void table_add_row(struct table *t, const char *const *cells) {
  if (t->n_rows == t->cap_rows) {
    t->cap_rows = t->cap_rows ? 2 * t->cap_rows : 16;
    t->cells = xreallocarray(t->cells, t->cap_rows * t->n_columns, sizeof(*t->cells));
  }
  for (size_t i = 0; i < t->n_columns; i++)
    t->cells[t->n_rows * t->n_columns + i] = clean_cell(cells[i]);
  t->n_rows++;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    if (((unsigned char)*s & 0xc0) != 0x80)
      w++;
  return w;
}

static void print_row(const struct table *t, const size_t *widths, char *const *cells, FILE *out) {
  size_t last = t->n_columns ? t->n_columns - 1 : 0;

  for (size_t i = 0; i < t->n_columns; i++) {
    size_t pad = widths[i] - width(cells[i]);
    if (i > 0)
      fputs("  ", out);
    if (t->right[i])
      fprintf(out, "%*s%s", (int)pad, "", cells[i]);
    else if (i == last)
      fputs(cells[i], out);
    else
      fprintf(out, "%s%*s", cells[i], (int)pad, "");
  }
  fputc('\n', out);
}

void table_print(struct table *t, FILE *out) {
  size_t *widths = xcalloc(t->n_columns ? t->n_columns : 1, sizeof(*widths));

  for (size_t i = 0; i < t->n_columns; i++) {
    widths[i] = width(t->headers[i]);
    for (size_t r = 0; r < t->n_rows; r++)
      widths[i] = MAX(widths[i], width(t->cells[r * t->n_columns + i]));
  }
  print_row(t, widths, t->headers, out);
  for (size_t r = 0; r < t->n_rows; r++)
    print_row(t, widths, &t->cells[r * t->n_columns], out);
  free(widths);
}

struct table *table_free(struct table *t) {
  if (!t)
    return NULL;
  for (size_t i = 0; i < t->n_rows * t->n_columns; i++)
    free(t->cells[i]);
  for (size_t i = 0; i < t->n_columns; i++)
    free(t->headers[i]);
  free(t->cells);
  free(t->headers);
  free(t->right);
  free(t);
  return NULL;
}
