// MD5 (RFC 1321) for JA3/JA3S, HASSH, QUIC CYU and file hashes, as lower-case
// hex: libcrypto's low-level digest (no allocation, unlike EVP_Digest's
// context per call; deprecated in OpenSSL 3 but kept, hence the pragma).
#include <openssl/md5.h>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

void md5_hex(const void* data, size_t n, char out[33]) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  MD5_CTX c;
  uint8_t h[16];
  MD5_Init(&c);
  MD5_Update(&c, data, n);
  MD5_Final(h, &c);
#pragma GCC diagnostic pop
  static const char hx[] = "0123456789abcdef";
  for (int i = 0; i < 16; i++) {
    out[2 * i] = hx[h[i] >> 4];
    out[2 * i + 1] = hx[h[i] & 15];
  }
  out[32] = 0;
}

}  // namespace app
}  // namespace spectre
