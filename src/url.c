#include "config.h"

#include "url.h"
#include "buf.h"

#include <curl/curl.h>
#include <stdint.h>
#include <string.h>

char *url_build(const char *base_url, const char *path, double seconds,
                          const struct cfg_pair *params, size_t n_params) {
  struct buf b;
  char sep = '?';
  size_t blen = strlen(base_url);

  buf_init(&b, SIZE_MAX);
  while (blen > 0 && base_url[blen - 1] == '/')
    blen--;
  buf_append(&b, base_url, blen);
  buf_printf(&b, "%s%s", path[0] == '/' ? "" : "/", path);
  if (strchr(path, '?'))
    sep = '&';
  if (seconds > 0) {
    if (seconds == (double)(int64_t)seconds)
      buf_printf(&b, "%cseconds=%lld", sep, (long long)seconds);
    else
      buf_printf(&b, "%cseconds=%g", sep, seconds);
    sep = '&';
  }
  for (size_t i = 0; i < n_params; i++) {
    char *k = curl_easy_escape(NULL, params[i].key, 0);
    char *v = curl_easy_escape(NULL, params[i].value, 0);
    buf_printf(&b, "%c%s=%s", sep, k ? k : "", v ? v : "");
    curl_free(k);
    curl_free(v);
    sep = '&';
  }
  buf_terminate(&b);
  return (char *)buf_steal(&b, NULL);
}
