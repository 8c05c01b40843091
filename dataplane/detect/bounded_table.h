// A fixed-size open-addressing table for per-worker detection state (the
// threshold table, xbits/hostbits): sized once (a power of two), never
// allocates afterwards, never grows. A key lives in one of kProbe slots after
// its hash; a full neighbourhood either evicts (thresholds) or refuses
// (xbits), as the caller asks. Not thread-safe: one table per worker.
//
// Entry requirements: a `key` member (Key, compared and hashed bytewise: no
// padding garbage, so keys are value-initialised), `bool live() const` (slot
// in use) and `bool reusable(uint64_t now) const` (free or expired), and
// `uint64_t until_ns` (eviction takes the probed entry that expires first).
// Cost: one 64-bit FNV-1a over the key plus up to kProbe key compares.
#pragma once
#include <cstdint>
#include <cstring>
#include <vector>

namespace spectre::detect_internal {

template <class Key, class Entry, uint32_t kProbe = 8>
class BoundedTable {
 public:
  // `slots` rounded up to a power of two in [16, 2^24].
  explicit BoundedTable(uint32_t slots) {
    uint32_t n = 16;
    while (n < slots && n < (1u << 24)) n <<= 1;
    e_.assign(n, Entry{});
    mask_ = n - 1;
  }
  uint32_t capacity() const { return uint32_t(e_.size()); }

  // The live entry of `k`, or null.
  Entry* find(const Key& k) {
    const uint32_t s = slot(k);
    for (uint32_t i = 0; i < kProbe; i++) {
      Entry& x = e_[(s + i) & mask_];
      if (x.live() && same(x.key, k)) return &x;
    }
    return nullptr;
  }
  const Entry* find(const Key& k) const { return const_cast<BoundedTable*>(this)->find(k); }

  // The live entry of `k` (found = true); else the first reusable slot of
  // the neighbourhood, else with `evict` the probed entry expiring first
  // (evicted = true), else null. A returned new slot still holds its old
  // contents: the caller resets it.
  Entry* claim(const Key& k, uint64_t now, bool evict, bool& found, bool& evicted) {
    const uint32_t s = slot(k);
    Entry* spare = nullptr;
    Entry* oldest = nullptr;
    found = evicted = false;
    for (uint32_t i = 0; i < kProbe; i++) {
      Entry& x = e_[(s + i) & mask_];
      if (x.live() && same(x.key, k)) {
        found = true;
        return &x;
      }
      if (!spare && x.reusable(now)) spare = &x;
      if (!oldest || x.until_ns < oldest->until_ns) oldest = &x;
    }
    if (spare || !evict) return spare;
    evicted = true;
    return oldest;
  }

 private:
  static bool same(const Key& a, const Key& b) { return std::memcmp(&a, &b, sizeof a) == 0; }
  uint32_t slot(const Key& k) const {
    uint64_t h = 1469598103934665603ull;
    const uint8_t* p = reinterpret_cast<const uint8_t*>(&k);
    for (size_t i = 0; i < sizeof k; i++) h = (h ^ p[i]) * 1099511628211ull;
    return uint32_t(h ^ (h >> 29)) & mask_;
  }
  std::vector<Entry> e_;
  uint32_t mask_ = 0;
};

}  // namespace spectre::detect_internal
