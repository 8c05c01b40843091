// Per-worker xbits table (see xbits.h; BoundedTable, 8 probes), xbit keys and
// stream_size. An entry is live while now < until_ns (expired entries are
// reused in place). Cost: one FNV hash of the 40-byte key and up to 8 compares.
#include "dataplane/detect/xbits.h"

#include "dataplane/detect/detect_impl.h"

namespace spectre::detect_internal {

uint32_t xbit_name_hash(const char* s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ uint8_t(s[i])) * 16777619u;
  return h;
}

bool XbitTable::set(const XbitKey& k, uint64_t now, uint64_t expire) {
  bool found, evicted;
  XbitEntry* e = t_.claim(k, now, false, found, evicted);
  if (!e) return false;
  e->key = k;
  e->until_ns = now + expire;
  return true;
}

// The table key of op `x` for this packet; false without addresses.
bool xbit_key(const XbitOp& x, const DetectPacket& p, XbitKey& k) {
  if (!p.src || !p.dst) return false;
  k = XbitKey{};
  k.name = x.name;
  k.track = x.track == uint8_t(rules::Xbit::Track::kIpPair);  // ip_src and ip_dst bits are both host bits
  k.ver = p.ip_ver;
  const size_t n = p.ip_ver == 4 ? 4 : 16;
  using T = rules::Xbit::Track;
  if (x.track == uint8_t(T::kIpSrc)) {
    memcpy(k.a, p.src, n);
  } else if (x.track == uint8_t(T::kIpDst)) {
    memcpy(k.a, p.dst, n);
  } else {  // ip_pair: either direction of the pair is the same pair
    const bool lo = memcmp(p.src, p.dst, n) <= 0;
    memcpy(k.a, lo ? p.src : p.dst, n);
    memcpy(k.b, lo ? p.dst : p.src, n);
  }
  return true;
}

}  // namespace spectre::detect_internal
