// Streaming file digests, as Suricata's file hashing: a running MD5 / SHA-1
// / SHA-256 state per open file, updated with each file byte as it arrives
// (HTTP bodies after dechunking and decoding, SMTP attachments after
// base64 / quoted-printable, ftp-data, SMB READ / WRITE data in file order),
// finalised at the file's end, so files of any size get digests (Suricata's
// force-hash / filemd5 semantics). Only the digests c.want_hash asks for
// when the file starts are run (~2-7 cycles/byte each).
//
// Memory: fixed states (libcrypto's low-level contexts, ~310 bytes) from a
// per-worker pool of AppConfig::file_hash_states, touched on use, named in the file's
// parser state by slot + 1 (0: none). An empty pool: that file gets no
// digests (counted in AppCounters::file_hash_pool_empty). No allocation after start-up.
#include <openssl/md5.h>
#include <openssl/sha.h>

#include <algorithm>

#include "dataplane/app/app_internal.h"

// The low-level digest API is deprecated in OpenSSL 3 but allocation-free
// (EVP_MD_CTX is allocated per context), as in app_md5.cc / app_x509.cc.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace spectre {
namespace app {

struct FileHash {
  MD5_CTX md5;
  SHA_CTX sha1;
  SHA256_CTX sha256;
  uint8_t mask;  // AppCtx::kHash* being run
};

namespace {

FileHash& state(AppCtx& c, uint16_t id) { return c.impl->fh_mem.get()[id - 1]; }

void hex(const uint8_t* h, uint32_t k, char* out) {
  static const char kHex[] = "0123456789abcdef";
  for (uint32_t i = 0; i < k; i++) out[2 * i] = kHex[h[i] >> 4], out[2 * i + 1] = kHex[h[i] & 15];
  out[2 * k] = 0;
}

// A digest into its hex meta field and, with b, its raw buffer in scratch.
void put(AppCtx& c, BufferSet* b, rules::Buf k, const uint8_t* h, uint32_t n, char* field) {
  hex(h, n, field);
  uint8_t* o = b ? c.impl->alloc(n) : nullptr;
  if (o) memcpy(o, h, n), b->set(k, o, n);
}

}  // namespace

void fhash_init(AppCtx::Impl& m) {
  m.fh_n = std::min<uint32_t>(m.cfg.file_hash_states, 65535);  // ids are uint16_t, 0 is none
  m.fh_mem.reset(new FileHash[m.fh_n + 1]);  // default-initialised: untouched until used
  m.fh_free.reset(new uint16_t[m.fh_n + 1]);
  for (uint32_t i = 0; i < m.fh_n; i++) m.fh_free[i] = uint16_t(m.fh_n - i);  // ids 1.., 1 first
  m.fh_free_n = m.fh_n;
}


uint16_t fhash_take(AppCtx& c) {
  AppCtx::Impl& m = *c.impl;
  if (!c.want_hash) return 0;
  if (!m.fh_free_n) {
    c.ctr.file_hash_pool_empty++;
    return 0;
  }
  const uint16_t id = m.fh_free[--m.fh_free_n];
  FileHash& h = state(c, id);
  h.mask = c.want_hash;
  if (h.mask & AppCtx::kHashMd5) MD5_Init(&h.md5);
  if (h.mask & AppCtx::kHashSha1) SHA1_Init(&h.sha1);
  if (h.mask & AppCtx::kHashSha256) SHA256_Init(&h.sha256);
  return id;
}

void fhash_update(AppCtx& c, uint16_t id, const void* p, size_t n) {
  if (!id || !n) return;
  FileHash& h = state(c, id);
  if (h.mask & AppCtx::kHashMd5) MD5_Update(&h.md5, p, n);
  if (h.mask & AppCtx::kHashSha1) SHA1_Update(&h.sha1, p, n);
  if (h.mask & AppCtx::kHashSha256) SHA256_Update(&h.sha256, p, n);
}

void fhash_drop(AppCtx& c, uint16_t& id) {
  if (!id) return;
  c.impl->fh_free[c.impl->fh_free_n++] = id;
  id = 0;
}

void fhash_final(AppCtx& c, uint16_t& id, AppMeta& a, BufferSet* b, bool ok) {
  clear_file_hashes(a);
  if (id && ok) {
    FileHash& h = state(c, id);
    uint8_t d[32];
    if (h.mask & AppCtx::kHashMd5) MD5_Final(d, &h.md5), put(c, b, rules::kFileMd5, d, 16, a.file_md5);
    if (h.mask & AppCtx::kHashSha1) SHA1_Final(d, &h.sha1), put(c, b, rules::kFileSha1, d, 20, a.file_sha1);
    if (h.mask & AppCtx::kHashSha256)
      SHA256_Final(d, &h.sha256), put(c, b, rules::kFileSha256, d, 32, a.file_sha256);
  }
  fhash_drop(c, id);
}

size_t fhash_state_size() { return sizeof(FileHash); }
uint32_t fhash_free(const AppCtx& c) { return c.impl->fh_free_n; }

}  // namespace app

void AppCtx::Impl::FileHashFree::operator()(app::FileHash* p) const { delete[] p; }

}  // namespace spectre
