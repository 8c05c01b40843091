// One tracked flow: 128 bytes (two cache lines). Line 0 is what lookup reads.
#pragma once
#include <cstdint>

#include "dataplane/flow/flow_key.h"

namespace spectre {

// Timeout classes: each has its own LRU list so expiry is O(expired).
enum TimeoutClass : uint8_t {
  kTmoTcpNew, kTmoTcpEstablished, kTmoTcpClosing, kTmoTcpClosed, kTmoUdp, kTmoIcmp, kTmoOther,
  kTmoClassCount
};

enum class TcpState : uint8_t { kNone, kSynSent, kSynRecv, kEstablished, kFinWait1, kClosed };

enum class EndReason : uint8_t { kTimeout, kForced, kShutdown };

enum FlowFlags : uint8_t {
  kFlowInitSwapped = 1,   // initiator ("to server" side) is the key's hi endpoint
  kFlowSeenToServer = 2,
  kFlowSeenToClient = 4,
  kFlowAlerted = 8,
  kFlowMidstream = 16,
  kFlowFinToServer = 32,
  kFlowFinToClient = 64,
  kFlowEstablished = 128,  // TCP handshake completed (or midstream pickup)
};

struct alignas(64) Flow {
  // line 0: lookup
  FlowKey key;
  uint32_t hash;
  uint32_t lru_prev, lru_next;   // indices; 0 is null
  uint8_t tmo_class;
  TcpState tcp_state;
  uint8_t tcp_flags_ts, tcp_flags_tc;
  // line 1: per-packet accounting
  uint64_t first_ts, last_ts;    // ns since epoch
  uint64_t pkts[2], bytes[2];    // [0] to server, [1] to client
  uint32_t session;              // worker session slot (stream/app/detect state); 0: none
  uint8_t app_proto;             // rules::AppProto
  uint8_t feat;                  // ML feature state valid (dataplane/features)
  uint8_t bh_http_req, bh_http_deny;  // behaviour stage: HTTP requests, 401/403 answers (saturating)
  uint8_t flags;
  uint8_t icmp_type, icmp_code;  // of the first packet
  uint8_t bh;                    // behaviour stage: BehaveFlowBits (dataplane/behave/stage.h)
  uint32_t lru_stamp;            // last_ts >> 20 (~1.05 ms units) when last LRU-linked
};
static_assert(sizeof(Flow) == 128, "Flow must stay two cache lines");

// A flow's endpoints initiator first (EVE's src/dst), from its canonical key.
struct FlowEnds {
  const uint8_t* src;
  const uint8_t* dst;
  uint16_t sport, dport;
};
inline FlowEnds flow_ends(const Flow& f) {
  bool sw = f.flags & kFlowInitSwapped;
  return {sw ? f.key.hi_addr : f.key.lo_addr, sw ? f.key.lo_addr : f.key.hi_addr,
          sw ? f.key.hi_port : f.key.lo_port, sw ? f.key.lo_port : f.key.hi_port};
}

// Deterministic id (same input, any worker count): hash and start time, 51 bits.
inline uint64_t flow_id_of(const Flow& f) {
  return ((uint64_t(f.hash) << 19) ^ (f.first_ts / 1000)) & ((1ull << 51) - 1);
}

}  // namespace spectre
