// IPv4/IPv6 fragment reassembly, one instance per worker (worker thread only).
// All memory is allocated at construction: max_datagrams slots of 64 KiB + 1 KiB.
// Overlaps: first data wins (BSD/Linux policy), tracked per 8-byte block.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/core/counter_def.h"
#include "dataplane/decode/counters.h"
#include "dataplane/decode/packet.h"

namespace spectre {

struct DefragConfig {
  uint32_t max_datagrams = 128;   // in flight per worker; full: oldest evicted
  uint16_t max_frags = 1024;      // per datagram; more drops the datagram
  uint64_t timeout_ns = 60ull * 1000000000ull;
};

struct DefragCounters {
  SPECTRE_DEFRAG_COUNTERS(SPECTRE_COUNTER_FIELD)  // dataplane/decode/counters.h
};

class Defrag {
 public:
  struct Done {
    const uint8_t* l3;       // rebuilt IP datagram, fragment fields cleared
    uint32_t len;
    uint32_t frame_bytes;    // sum of captured frame lengths of all fragments
    uint16_t ethertype;
    int slot;                // pass to release() once the packet is processed
  };

  explicit Defrag(const DefragConfig& cfg);
  ~Defrag();
  Defrag(const Defrag&) = delete;
  Defrag& operator=(const Defrag&) = delete;

  // `pi` as filled by decode with kFragment. True when the datagram is
  // complete; `out` then stays valid until release(out.slot). A fragment of a
  // datagram already past its timeout at `ts_ns` starts a new one, as if
  // expire() had run first.
  bool add(const PacketInfo& pi, uint64_t ts_ns, uint32_t frame_len, Done& out);
  void release(int slot);
  // Drops datagrams whose first fragment is older than the timeout.
  void expire(uint64_t now_ns);
  uint32_t in_flight() const { return used_; }
  void set_timeout(uint64_t ns) { cfg_.timeout_ns = ns; }

  DefragCounters counters{};

 private:
  struct Slot;
  Slot* find_or_alloc(const PacketInfo& pi, uint64_t ts_ns);
  void free_slot(Slot& s);

  DefragConfig cfg_;
  Slot* slots_ = nullptr;
  uint8_t* arena_ = nullptr;
  uint32_t used_ = 0;
};

}  // namespace spectre
