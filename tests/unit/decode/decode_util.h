// Shared helpers for decoder tests.
#pragma once
#include <gtest/gtest.h>

#include "dataplane/decode/decode.h"
#include "tests/unit/pktbuild.h"

namespace spectre::test {

struct Decoded {
  DecodeStatus st;
  PacketInfo pi;
  DecodeCounters c;
};

// `frame` must outlive the result: pi.l3 points into it.
inline Decoded decode(const pb::Bytes& frame, uint16_t linktype = kLinkEthernet) {
  Decoded d{};
  d.pi = PacketInfo{};
  d.st = decode_frame(frame.data(), uint32_t(frame.size()), linktype, d.pi, d.c);
  return d;
}

inline uint64_t malformed_sum(const DecodeCounters& c) {
  uint64_t s = 0;
  for (uint64_t v : c.malformed) s += v;
  return s;
}

inline const pb::Ip4 kA4 = pb::ip4("10.0.0.1"), kB4 = pb::ip4("10.0.0.2");
inline const pb::Ip6 kA6 = pb::ip6("2001:db8::1"), kB6 = pb::ip6("2001:db8::2");

}  // namespace spectre::test
