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
#include <vector>

#include "dataplane/detect/detect.h"

namespace spectre::detect_internal {

struct XbitKey {
  uint32_t name;             // hash of the bit's name (stable across reloads)
  uint8_t track, ver, pad[2];  // track: 0 host (ip_src / ip_dst), 1 ip_pair
  uint8_t a[16], b[16];      // ip_pair: the two addresses in sorted order; else a only
  bool operator==(const XbitKey& o) const { return std::memcmp(this, &o, sizeof *this) == 0; }
};

class XbitTable {
 public:
  // `slots` rounded up to a power of two; 48 bytes each.
  explicit XbitTable(uint32_t slots);
  bool isset(const XbitKey& k, uint64_t now_ns) const;
  // False when the table is full (the bit is not kept).
  bool set(const XbitKey& k, uint64_t now_ns, uint64_t expire_ns);
  void unset(const XbitKey& k);
  uint32_t capacity() const { return uint32_t(e_.size()); }

 private:
  struct Entry {
    XbitKey key;
    uint64_t until_ns;       // 0: free
  };
  static constexpr uint32_t kProbe = 8;
  uint32_t slot(const XbitKey& k) const;
  std::vector<Entry> e_;
  uint32_t mask_;
};

uint32_t xbit_name_hash(const char* s, size_t n);

struct XbitOp;
// The table key of op `x` for this packet; false without addresses.
bool xbit_key(const XbitOp& x, const DetectPacket& p, XbitKey& k);
// stream_size on the packet's session sizes; false without a TCP session.
bool stream_size_ok(const rules::StreamSize& s, const DetectPacket& p);

}  // namespace spectre::detect_internal
