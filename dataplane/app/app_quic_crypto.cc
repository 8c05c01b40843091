// QUIC Initial packet protection (RFC 9001 §5): the client's Initial keys
// from the first Destination Connection ID (HKDF-SHA256 over our SHA-256, no
// allocation), header protection (AES-128-ECB mask) and AES-128-GCM through
// libcrypto with one pair of cipher contexts per worker, reused: OpenSSL 3
// allocates nothing per packet once a context has its cipher.
#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

#include "dataplane/app/app_internal.h"
#include "dataplane/app/app_x509.h"

namespace spectre {

struct AppCtx::Impl::QuicCrypto {
  EVP_CIPHER* ecb = nullptr;
  EVP_CIPHER* gcm = nullptr;
  EVP_CIPHER_CTX* hp = nullptr;
  EVP_CIPHER_CTX* aead = nullptr;
  uint8_t work[app::kQuicWork];  // one UDP datagram's packet, unprotected in place
};

void AppCtx::Impl::QuicCryptoFree::operator()(QuicCrypto* q) const {
  EVP_CIPHER_CTX_free(q->hp);
  EVP_CIPHER_CTX_free(q->aead);
  EVP_CIPHER_free(q->ecb);
  EVP_CIPHER_free(q->gcm);
  delete q;
}

namespace app {

using rules::AppProto;

namespace {

// Initial salt of a version we decrypt (RFC 9001 §5.2, drafts 23-32; RFC
// 9369 §3.3.1 for version 2 and its draft codepoint), or null.
const uint8_t* initial_salt(uint32_t v) {
  static const uint8_t kV2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                  0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
  if (quic_is_v2(v)) return kV2;
  static const uint8_t kV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                  0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
  static const uint8_t kD29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                                   0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
  static const uint8_t kD23[20] = {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
                                   0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02};
  // Facebook's mvfst (draft-22 and draft-27 based): the drafts' salts, as
  // nDPI and Wireshark read them.
  static const uint8_t kD22[20] = {0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
                                   0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a};
  if (v == 1) return kV1;
  if (v >= 0xff00001d && v <= 0xff000020) return kD29;
  if (v >= 0xff000017 && v <= 0xff00001c) return kD23;
  if (v == 0xfaceb001) return kD22;                      // mvfst draft-22
  if (v == 0xfaceb002 || v == 0xfaceb00e) return kD23;   // mvfst draft-27, experimental
  return nullptr;
}

}  // namespace

bool quic_decryptable(uint32_t version) { return initial_salt(version) != nullptr; }

// HMAC-SHA256 (RFC 2104) with a key and message of at most 64 bytes each.
void quic_hmac(const uint8_t* key, uint32_t kn, const uint8_t* msg, uint32_t mn, uint8_t out[32]) {
  uint8_t k[64] = {}, buf[128];
  memcpy(k, key, std::min<uint32_t>(kn, 64));
  for (int i = 0; i < 64; i++) buf[i] = k[i] ^ 0x36;
  memcpy(buf + 64, msg, std::min<uint32_t>(mn, 64));
  uint8_t inner[32];
  sha256(buf, 64 + std::min<uint32_t>(mn, 64), inner);
  for (int i = 0; i < 64; i++) buf[i] = k[i] ^ 0x5c;
  memcpy(buf + 64, inner, 32);
  sha256(buf, 96, out);
}

// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, L <= 32.
void quic_expand_label(const uint8_t secret[32], const char* label, uint32_t len, uint8_t* out) {
  uint8_t info[64];
  uint32_t ll = uint32_t(strlen(label));  // <= 50: info stays within 64 bytes
  uint32_t i = 0;
  info[i++] = 0, info[i++] = uint8_t(len), info[i++] = uint8_t(6 + ll);
  memcpy(info + i, "tls13 ", 6), i += 6;
  memcpy(info + i, label, ll), i += ll;
  info[i++] = 0;
  info[i++] = 1;  // T(1): one block is enough
  uint8_t t[32];
  quic_hmac(secret, 32, info, i, t);
  memcpy(out, t, len);
}

// The client's Initial key, IV and header-protection key for a DCID; false
// for a version we do not decrypt.
bool quic_client_keys(uint32_t version, const uint8_t* dcid, uint32_t dcid_len, uint8_t key[16], uint8_t iv[12],
                      uint8_t hp[16]) {
  const uint8_t* salt = initial_salt(version);
  if (!salt) return false;
  uint8_t initial[32], client[32];
  quic_hmac(salt, 20, dcid, dcid_len, initial);  // HKDF-Extract
  quic_expand_label(initial, "client in", 32, client);
  const bool v2 = quic_is_v2(version);  // RFC 9369 §3.3.2: "quicv2 ..." labels
  quic_expand_label(client, v2 ? "quicv2 key" : "quic key", 16, key);
  quic_expand_label(client, v2 ? "quicv2 iv" : "quic iv", 12, iv);
  quic_expand_label(client, v2 ? "quicv2 hp" : "quic hp", 16, hp);
  return true;
}

namespace {

AppCtx::Impl::QuicCrypto* crypto(AppCtx::Impl& m) {
  auto* q = m.quic.get();
  return q && q->ecb && q->gcm && q->hp && q->aead ? q : nullptr;
}

}  // namespace

void quic_init(AppCtx::Impl& m) {
  auto* q = new AppCtx::Impl::QuicCrypto;
  q->ecb = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  q->gcm = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  q->hp = EVP_CIPHER_CTX_new();
  q->aead = EVP_CIPHER_CTX_new();
  m.quic.reset(q);
}

uint8_t* quic_work(AppCtx::Impl& m) { return m.quic ? m.quic->work : nullptr; }

int32_t quic_open(AppCtx::Impl& m, uint32_t version, const uint8_t* dcid, uint32_t dcid_len, const uint8_t* pkt,
                  uint32_t n, uint32_t pn_off, uint8_t* w, uint32_t* len) {
  uint8_t key[16], iv[12], hp[16], mask[16];
  if (!quic_client_keys(version, dcid, dcid_len, key, iv, hp)) return -1;
  if (pn_off + 4 + 16 > n || n > kQuicWork) return -1;
  auto* q = crypto(m);
  if (!q) return -1;
  int ol = 0;
  if (EVP_EncryptInit_ex2(q->hp, q->ecb, hp, nullptr, nullptr) != 1 ||
      EVP_EncryptUpdate(q->hp, mask, &ol, pkt + pn_off + 4, 16) != 1)
    return -1;
  memcpy(w, pkt, n);
  w[0] ^= mask[0] & 0x0f;
  uint32_t pn_len = (w[0] & 3) + 1;
  uint64_t pn = 0;
  for (uint32_t k = 0; k < pn_len; k++) {
    w[pn_off + k] ^= mask[1 + k];
    pn = (pn << 8) | w[pn_off + k];
  }
  uint32_t hdr = pn_off + pn_len;
  if (hdr + 16 > n) return -1;
  for (int k = 0; k < 8; k++) iv[11 - k] ^= uint8_t(pn >> (8 * k));
  uint32_t ct = n - hdr - 16;
  int l1 = 0, l2 = 0;
  if (EVP_DecryptInit_ex2(q->aead, q->gcm, key, iv, nullptr) != 1 ||
      EVP_DecryptUpdate(q->aead, nullptr, &l1, w, int(hdr)) != 1 ||
      EVP_DecryptUpdate(q->aead, w + hdr, &l1, w + hdr, int(ct)) != 1 ||
      EVP_CIPHER_CTX_ctrl(q->aead, EVP_CTRL_GCM_SET_TAG, 16, w + hdr + ct) != 1 ||
      EVP_DecryptFinal_ex(q->aead, w + hdr + l1, &l2) != 1)
    return -1;
  *len = ct;
  return int32_t(hdr);
}

}  // namespace app
}  // namespace spectre
