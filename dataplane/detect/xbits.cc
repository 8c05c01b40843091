// Per-worker xbits table (see xbits.h), xbit keys and stream_size. Open addressing, 8 probes; an entry
// is live while now < until_ns (expired entries are reused in place).
// Cost: one FNV hash of the 40-byte key and up to 8 compares per check/set.
#include "dataplane/detect/xbits.h"

#include "dataplane/detect/detect_impl.h"

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

bool stream_size_ok(const rules::StreamSize& s, const DetectPacket& p) {
  if (!p.has_stream) return false;
  auto cmp = [&](uint32_t v) {
    using Op = rules::StreamSize::Op;
    switch (s.op) {
      case Op::kLt: return v < s.value;
      case Op::kGt: return v > s.value;
      case Op::kEq: return v == s.value;
      case Op::kNe: return v != s.value;
      case Op::kLe: return v <= s.value;
      case Op::kGe: return v >= s.value;
    }
    return false;
  };
  using Side = rules::StreamSize::Side;
  const bool c = cmp(p.stream_size[0]), sv = cmp(p.stream_size[1]);
  switch (s.side) {
    case Side::kClient: return c;
    case Side::kServer: return sv;
    case Side::kBoth: return c && sv;
    case Side::kEither: return c || sv;
  }
  return false;
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
