// L2-L4 decoder. Called by workers only; pure functions over a byte range,
// never reading past `len`. Cost: ~30-40 cycles for Ethernet/IPv4/TCP.
#pragma once
#include <cstdint>

#include "dataplane/core/counter_def.h"
#include "dataplane/decode/counters.h"
#include "dataplane/decode/packet.h"

namespace spectre {

// Per-worker decoder counters (owned by one worker; read relaxed by others).
struct DecodeCounters {
  SPECTRE_DECODE_COUNTERS(SPECTRE_COUNTER_FIELD)  // dataplane/decode/counters.h
  uint64_t malformed[kMalformedCount];
};

// Decodes a captured frame of link type `linktype`. On kOk, `pi` holds L3/L4
// fields, the canonical key and its hash. On kFragment, `pi.frag` describes
// the fragment and `pi.l3` points at its IP header. `pi.ts_ns` and
// `pi.frame_len` are left to the caller.
DecodeStatus decode_frame(const uint8_t* data, uint32_t len, uint16_t linktype,
                          PacketInfo& pi, DecodeCounters& c);

// Decodes from the IP header on (used again for reassembled datagrams).
// `ethertype` is 0x0800 or 0x86dd. VLAN fields of `pi` are kept.
DecodeStatus decode_ip(const uint8_t* l3, uint32_t len, uint16_t ethertype,
                       PacketInfo& pi, DecodeCounters& c);

// Symmetric worker-dispatch hash over addresses and VLANs (ports ignored so
// that fragments follow their flow). Returns 0 for non-IP or undecodable
// frames. Cheaper than decode_frame: no L4, no counters.
uint32_t dispatch_hash(const uint8_t* data, uint32_t len, uint16_t linktype);

}  // namespace spectre
