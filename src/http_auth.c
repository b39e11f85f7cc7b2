/* The bearer token check. The token is accepted as "Authorization: Bearer
 * TOKEN" or as the password of HTTP Basic auth (browsers and Go's HTTP
 * client send that from a prompt or a URL's user info). Only a SHA-256 of
 * the token is kept, and the digests are compared in constant time, so
 * neither the token's content nor its length leaks through timing. */
#include "config.h"

#include <microhttpd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"
#include "util.h"

/* Longest Authorization header considered (MHD caps headers anyway). */
#define MAX_CREDENTIAL 4096

static void digest(const void *data, size_t len, uint8_t out[32]) {
  unsigned int n = 0;
  if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) || n != 32)
    abort(); /* SHA-256 is always available in libcrypto */
}

void http_auth_set_token(struct http_server *s, const char *token) {
  s->has_token = token != NULL;
  if (token)
    digest(token, strlen(token), s->token_sha256);
}

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Decodes standard base64 (padding optional) into out (NUL-terminated);
 * returns the length or -1. */
static long b64_decode(const char *in, char *out, size_t out_size) {
  uint32_t acc = 0;
  int bits = 0;
  size_t n = 0;
  for (; *in && *in != '='; in++) {
    int v = b64_value((unsigned char)*in);
    if (v < 0)
      return -1;
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n + 1 >= out_size)
        return -1;
      out[n++] = (char)((acc >> bits) & 0xff);
    }
  }
  while (*in == '=')
    in++;
  if (*in)
    return -1;
  out[n] = '\0';
  return (long)n;
}

static bool token_matches(const struct http_server *s, const char *cand, size_t len) {
  uint8_t d[32];
  digest(cand, len, d);
  return CRYPTO_memcmp(d, s->token_sha256, sizeof(d)) == 0;
}

bool http_auth_ok(const struct http_server *s, struct MHD_Connection *conn) {
  const char *h, *cred;
  char decoded[MAX_CREDENTIAL];
  long n;

  if (!s->has_token)
    return true;
  h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (!h || strlen(h) > MAX_CREDENTIAL)
    return false;
  while (*h == ' ')
    h++;
  if (strncasecmp(h, "Bearer ", 7) == 0) {
    cred = h + 7;
    size_t len;
    while (*cred == ' ')
      cred++;
    len = strlen(cred);
    while (len > 0 && (cred[len - 1] == ' ' || cred[len - 1] == '\t'))
      len--;
    return token_matches(s, cred, len);
  }
  if (strncasecmp(h, "Basic ", 6) == 0) {
    const char *colon;
    cred = h + 6;
    while (*cred == ' ')
      cred++;
    n = b64_decode(cred, decoded, sizeof(decoded));
    if (n < 0)
      return false;
    colon = memchr(decoded, ':', (size_t)n);
    if (!colon)
      return false;
    return token_matches(s, colon + 1, (size_t)(decoded + n - (colon + 1)));
  }
  return false;
}
