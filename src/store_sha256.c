/* SHA-256 of capture bodies (the blob key), callable from any thread. */
#include "config.h"

#include "store.h"

#include <errno.h>
#include <openssl/evp.h>

int store_sha256(const void *data, size_t len, uint8_t out[32]) {
  unsigned int n = 0;
  static const uint8_t empty = 0;

  /* EVP_Digest() wants a valid pointer even for zero bytes. */
  if (!data)
    data = &empty;
  if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
    return -EIO;
  return 0;
}
