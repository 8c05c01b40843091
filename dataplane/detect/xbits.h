// Suricata's xbits with track ip_src / ip_dst / ip_pair: named bits per host
// or address pair, across flows, with an expiry. One table per worker (in
// DetectCtx), fixed size, allocated once; nothing is shared between workers,
// so a bit set by one worker is not seen by another: flows of one host that
// the NIC's RSS hashes to different workers do not see each other's bits
// (docs/ARCHITECTURE.md). Full table (8 probes without a free or expired
// slot): the set is dropped and counted (DetectCounters::xbits_full).
#pragma once
#include <cstdint>
#include <cstring>

#include "dataplane/detect/bounded_table.h"
#include "dataplane/detect/detect.h"

namespace spectre::detect_internal {

struct XbitKey {
  uint32_t name;             // hash of the bit's name (stable across reloads)
  uint8_t track, ver, pad[2];  // track: 0 host (ip_src / ip_dst), 1 ip_pair
  uint8_t a[16], b[16];      // ip_pair: the two addresses in sorted order; else a only
  bool operator==(const XbitKey& o) const { return std::memcmp(this, &o, sizeof *this) == 0; }
};

// 48 bytes a slot (key 40 + expiry 8).
struct XbitEntry {
  XbitKey key;
  uint64_t until_ns;         // 0: free
  bool live() const { return until_ns != 0; }
  bool reusable(uint64_t now) const { return !until_ns || now >= until_ns; }
};
static_assert(sizeof(XbitEntry) == 48, "xbits state per slot (docs/ARCHITECTURE.md)");

class XbitTable {
 public:
  // `slots` rounded up to a power of two.
  explicit XbitTable(uint32_t slots) : t_(slots) {}
  bool isset(const XbitKey& k, uint64_t now_ns) const {
    const XbitEntry* e = t_.find(k);
    return e && now_ns < e->until_ns;
  }
  // False when the table is full (the bit is not kept).
  bool set(const XbitKey& k, uint64_t now_ns, uint64_t expire_ns);
  void unset(const XbitKey& k) {
    if (XbitEntry* e = t_.find(k)) e->until_ns = 0;
  }
  uint32_t capacity() const { return t_.capacity(); }

 private:
  BoundedTable<XbitKey, XbitEntry> t_;
};

uint32_t xbit_name_hash(const char* s, size_t n);

struct XbitOp;
// The table key of op `x` for this packet; false without addresses.
bool xbit_key(const XbitOp& x, const DetectPacket& p, XbitKey& k);

}  // namespace spectre::detect_internal
