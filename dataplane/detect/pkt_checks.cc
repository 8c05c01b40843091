// IP and TCP header keywords (rules::HdrCheck; kHdrPktHdr, worker thread):
// ttl, tos, id, fragbits, fragoffset, ipopts, sameip, seq, ack, window, read
// from the packet's own headers (DetectPacket::l3). Packet modes only: a
// stream chunk or transaction has no header (l3 null), so nothing matches.
// As in Suricata: ttl is the IPv4 TTL or the IPv6 hop limit; tos, id, fragbits,
// fragoffset and ipopts are IPv4 fields (an IPv6 packet never matches them);
// seq, ack and window need TCP. A datagram rebuilt from fragments is
// inspected with its fragment fields cleared (decode/defrag.h); each fragment
// also as a packet of its own, no L4 header (detect_fragment).
#include <cstring>

#include "dataplane/detect/runtime_internal.h"

namespace spectre::detect_internal {
namespace {

using Field = rules::HdrCheck::Field;
using Op = rules::HdrCheck::Op;

uint32_t be16(const uint8_t* p) { return uint32_t(p[0]) << 8 | p[1]; }
uint32_t be32(const uint8_t* p) { return be16(p) << 16 | be16(p + 2); }

bool cmp_ok(const rules::HdrCheck& h, uint32_t x) {
  switch (h.op) {
    case Op::kEq: return x == h.lo;
    case Op::kNe: return x != h.lo;
    case Op::kLt: return x < h.lo;
    case Op::kGt: return x > h.lo;
    case Op::kLe: return x <= h.lo;
    case Op::kGe: return x >= h.lo;
    case Op::kRange: return h.lo < x && x < h.hi;
    case Op::kRangeIn: return h.lo <= x && x <= h.hi;
  }
  return false;
}

// Whether the IPv4 header's options hold option type `want` (kAnyIpopt: any
// option). EOL ends the list; a malformed length ends the walk.
bool has_ipopt(const uint8_t* ip, uint32_t hlen, uint32_t want) {
  if (hlen <= 20) return false;
  if (want == rules::HdrCheck::kAnyIpopt) return true;
  for (uint32_t i = 20; i < hlen;) {
    const uint8_t t = ip[i];
    if (t == want) return true;
    if (t == 0) return false;
    if (t == 1) {
      i++;
      continue;
    }
    if (i + 1 >= hlen || ip[i + 1] < 2) return false;
    i += ip[i + 1];
  }
  return false;
}

bool one_ok(const rules::HdrCheck& h, const DetectPacket& p) {
  const uint8_t* ip = p.l3;
  const bool v4 = p.ip_ver == 4;
  const uint8_t* tcp = p.proto == 6 && p.l4_hlen >= 20 ? ip + p.l4_off : nullptr;
  switch (h.field) {
    case Field::kTtl: return cmp_ok(h, v4 ? ip[8] : ip[7]);
    case Field::kTos: return v4 && cmp_ok(h, ip[1]);
    case Field::kIpId: return v4 && cmp_ok(h, be16(ip + 4));
    case Field::kFragOffset: return v4 && cmp_ok(h, be16(ip + 6) & 0x1fff);
    case Field::kFragbits: {
      if (!v4) return false;
      const uint8_t f = uint8_t(ip[6] >> 5), want = uint8_t(h.lo);  // R 4, D 2, M 1
      switch (h.mode) {
        case 1: return (f & want) == want;
        case 2: return (f & want) != 0;
        case 3: return (f & want) == 0;
        default: return f == want;
      }
    }
    case Field::kIpopts: return v4 && has_ipopt(ip, p.l4_off, h.lo);
    case Field::kSameip: return p.src && p.dst && memcmp(p.src, p.dst, v4 ? 4 : 16) == 0;
    case Field::kSeq: return tcp && cmp_ok(h, be32(tcp + 4));
    case Field::kAck: return tcp && cmp_ok(h, be32(tcp + 8));
    case Field::kWindow: return tcp && cmp_ok(h, be16(tcp + 14));
  }
  return false;
}

}  // namespace

bool pkt_hdr_ok(const CompiledRuleset& rs, const RuleCold& rc, const DetectPacket& p) {
  if (!p.l3) return false;
  for (uint32_t k = rc.hc_begin; k < rc.hc_begin + rc.hc_count; k++)
    if (!one_ok(rs.hdr_checks[k], p)) return false;
  return true;
}

}  // namespace spectre::detect_internal
