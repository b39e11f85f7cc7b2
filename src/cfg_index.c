/* The net/http/pprof index page, for `profiles: auto`: Go lists each
 * profile as <a href='NAME?debug=1'>. The page comes from the network, so
 * the scan is one linear pass with bounded names and count, and anything
 * that does not look like a profile link is skipped. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg_int.h"
#include "util.h"

#define INDEX_MAX_NAMES 256
#define INDEX_MAX_HREF 512

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* html/template escapes the attribute: entities first, then the URL's
 * percent-encoding. Returns false for anything malformed. */
static bool decode_entities(const char *in, size_t len, char *out, size_t *ret_len) {
  static const struct {
    const char *name;
    char c;
  } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
  size_t o = 0;

  for (size_t i = 0; i < len;) {
    if (in[i] != '&') {
      out[o++] = in[i++];
      continue;
    }
    i++;
    if (i < len && in[i] == '#') {
      unsigned long v = 0;
      bool hex = i + 1 < len && (in[i + 1] == 'x' || in[i + 1] == 'X');
      size_t digits = 0;
      i += hex ? 2 : 1;
      while (i < len && in[i] != ';' && digits < 6) {
        int d = hex ? hexval(in[i]) : (isdigit((unsigned char)in[i]) ? in[i] - '0' : -1);
        if (d < 0)
          return false;
        v = v * (hex ? 16 : 10) + (unsigned long)d;
        i++;
        digits++;
      }
      if (i >= len || in[i] != ';' || !digits || v == 0 || v > 0x7e)
        return false; /* profile names are ASCII */
      out[o++] = (char)v;
      i++;
      continue;
    }
    {
      size_t k;
      for (k = 0; k < ARRAY_SIZE(named); k++) {
        size_t n = strlen(named[k].name);
        if (len - i >= n && memcmp(in + i, named[k].name, n) == 0) {
          out[o++] = named[k].c;
          i += n;
          break;
        }
      }
      if (k == ARRAY_SIZE(named))
        return false;
    }
  }
  *ret_len = o;
  return true;
}

static bool decode_percent(const char *in, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (in[i] == '%') {
      int hi, lo;
      if (i + 2 >= len)
        return false;
      hi = hexval(in[i + 1]);
      lo = hexval(in[i + 2]);
      if (hi < 0 || lo < 0 || hi + lo == 0)
        return false;
      out[o++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      out[o++] = in[i];
    }
  }
  out[o] = '\0';
  return true;
}

/* href value -> profile name, or NULL when it is not "NAME?debug=1". */
static char *href_to_name(const char *val, size_t len) {
  char ent[INDEX_MAX_HREF + 1], name[INDEX_MAX_HREF + 1];
  size_t n;
  const char *q;

  if (!decode_entities(val, len, ent, &n))
    return NULL;
  ent[n] = '\0';
  q = memchr(ent, '?', n);
  if (!q || strcmp(q, "?debug=1") != 0)
    return NULL;
  if (!decode_percent(ent, (size_t)(q - ent), name))
    return NULL;
  if (!cfg_profile_name_valid(name))
    return NULL;
  if (strcmp(name, "profile") == 0)
    return xstrdup("cpu");
  if (strcmp(name, "cmdline") == 0 || strcmp(name, "symbol") == 0)
    return NULL;
  return xstrdup(name);
}

int cfg_parse_index_page(const char *html, size_t len, char ***ret_names) {
  char **names;
  size_t n = 0, i = 0;

  if (!html && len)
    return -EINVAL;
  names = xcalloc(INDEX_MAX_NAMES + 1, sizeof(*names));
  while (i + 4 < len && n < INDEX_MAX_NAMES) {
    size_t j, start, end;
    char quote = 0, *name;
    bool dup = false;

    if (strncasecmp(html + i, "href", 4) != 0) {
      i++;
      continue;
    }
    j = i + 4;
    while (j < len && isspace((unsigned char)html[j]))
      j++;
    if (j >= len || html[j] != '=') {
      i = j;
      continue;
    }
    j++;
    while (j < len && isspace((unsigned char)html[j]))
      j++;
    if (j < len && (html[j] == '\'' || html[j] == '"'))
      quote = html[j++];
    start = j;
    while (j < len && j - start <= INDEX_MAX_HREF &&
           (quote ? html[j] != quote : !isspace((unsigned char)html[j]) && html[j] != '>'))
      j++;
    end = j;
    /* Continue after the value whatever it was: the scan stays linear. */
    i = j > i + 4 ? j : i + 4;
    if (end - start > INDEX_MAX_HREF || (quote && (j >= len || html[j] != quote)))
      continue;
    name = href_to_name(html + start, end - start);
    if (!name)
      continue;
    for (size_t k = 0; k < n && !dup; k++)
      dup = strcmp(names[k], name) == 0;
    if (dup)
      free(name);
    else
      names[n++] = name;
  }
  *ret_names = names;
  return 0;
}
