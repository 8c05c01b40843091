// Per-worker xbits table (see xbits.h). Open addressing, 8 probes; an entry
// is live while now < until_ns (expired entries are reused in place).
// Cost: one FNV hash of the 40-byte key and up to 8 compares per check/set.
#include "dataplane/detect/xbits.h"

namespace spectre::detect_internal {

uint32_t xbit_name_hash(const char* s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ uint8_t(s[i])) * 16777619u;
  return h;
}

XbitTable::XbitTable(uint32_t slots) {
  uint32_t n = 16;
  while (n < slots && n < (1u << 24)) n <<= 1;
  e_.assign(n, Entry{});
  mask_ = n - 1;
}

uint32_t XbitTable::slot(const XbitKey& k) const {
  uint64_t h = 1469598103934665603ull;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&k);
  for (size_t i = 0; i < sizeof k; i++) h = (h ^ p[i]) * 1099511628211ull;
  return uint32_t(h ^ (h >> 29)) & mask_;
}

bool XbitTable::isset(const XbitKey& k, uint64_t now) const {
  const uint32_t s = slot(k);
  for (uint32_t i = 0; i < kProbe; i++) {
    const Entry& x = e_[(s + i) & mask_];
    if (x.until_ns && x.key == k) return now < x.until_ns;
  }
  return false;
}

bool XbitTable::set(const XbitKey& k, uint64_t now, uint64_t expire) {
  const uint32_t s = slot(k);
  Entry* spare = nullptr;
  for (uint32_t i = 0; i < kProbe; i++) {
    Entry& x = e_[(s + i) & mask_];
    if (x.until_ns && x.key == k) {
      x.until_ns = now + expire;
      return true;
    }
    if (!spare && (!x.until_ns || now >= x.until_ns)) spare = &x;
  }
  if (!spare) return false;
  spare->key = k;
  spare->until_ns = now + expire;
  return true;
}

void XbitTable::unset(const XbitKey& k) {
  const uint32_t s = slot(k);
  for (uint32_t i = 0; i < kProbe; i++) {
    Entry& x = e_[(s + i) & mask_];
    if (x.until_ns && x.key == k) x.until_ns = 0;
  }
}

}  // namespace spectre::detect_internal
