#include "dataplane/decode/decode.h"

#include <rte_byteorder.h>

namespace spectre {

namespace {

constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd;
constexpr uint16_t kEthVlan = 0x8100, kEthQinq = 0x88a8, kEthQinqOld = 0x9100;
constexpr uint16_t kEthArp = 0x0806, kEthPppoeSession = 0x8864, kEthTeb = 0x6558;
constexpr uint16_t kEthErspan2 = 0x88be, kEthErspan3 = 0x22eb, kEthPpp = 0x880b;
constexpr uint16_t kVxlanPort = 4789, kGenevePort = 6081, kTeredoPort = 3544;  // Suricata's defaults
constexpr uint8_t kMaxTunnelDepth = 3;  // bounds the recursion on crafted nesting

inline uint16_t rd16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t rd32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

inline DecodeStatus bad(DecodeCounters& c, PacketInfo& pi, Malformed why) {
  pi.malformed = why;  // the decoder event (decode-event rules)
  c.malformed[why]++;
  c.malformed_total++;
  return DecodeStatus::kMalformed;
}

// PPP protocol field (RFC 1661; optional 0xff03 address/control) -> ethertype,
// 0 when not IP. Sets *hdr to the bytes before the network header.
inline bool ppp_proto(const uint8_t* d, uint32_t len, uint16_t* et, uint32_t* hdr) {
  uint32_t off = len >= 2 && d[0] == 0xff && d[1] == 0x03 ? 2 : 0;
  if (len < off + 1) return false;
  uint16_t proto;
  if (d[off] & 1) {  // protocol-field compression: one byte
    proto = d[off];
    off += 1;
  } else {
    if (len < off + 2) return false;
    proto = rd16(d + off);
    off += 2;
  }
  *et = proto == 0x0021 ? kEthIpv4 : proto == 0x0057 ? kEthIpv6 : 0;
  *hdr = off;
  return true;
}

// Walks the link header and VLAN tags. Sets *l3off and *ethertype; 0
// ethertype means "not IP" (still a valid frame).
DecodeStatus walk_l2(const uint8_t* d, uint32_t len, uint16_t linktype, uint16_t vlan[2],
                     uint8_t& vlan_count, uint32_t* l3off, uint16_t* ethertype, Malformed* why,
                     bool* pppoe = nullptr) {
  uint32_t off = 0;
  uint16_t et = 0;
  switch (linktype) {
    case kLinkEthernet: {
      if (len < 14) { *why = kEthTrunc; return DecodeStatus::kMalformed; }
      et = rd16(d + 12);
      off = 14;
      while (et == kEthVlan || et == kEthQinq || et == kEthQinqOld) {
        if (vlan_count == 2) { *why = kVlanTooMany; return DecodeStatus::kMalformed; }
        if (len < off + 4) { *why = kVlanTrunc; return DecodeStatus::kMalformed; }
        vlan[vlan_count++] = uint16_t(0x1000 | (rd16(d + off) & 0x0fff));
        et = rd16(d + off + 2);
        off += 4;
      }
      if (et == kEthPppoeSession) {  // RFC 2516: ver/type, code 0 (session data), id, length, then PPP
        if (len < off + 8) { *why = kPppoeTrunc; return DecodeStatus::kMalformed; }
        if (d[off + 1] != 0) { *why = kPppoeWrongCode; return DecodeStatus::kMalformed; }
        uint32_t hdr = 0;
        if (!ppp_proto(d + off + 6, len - off - 6, &et, &hdr)) { *why = kPppTrunc; return DecodeStatus::kMalformed; }
        off += 6 + hdr;
        if (pppoe) *pppoe = true;
      }
      break;
    }
    case kLinkPpp: case kLinkPppHdlc: {
      uint32_t hdr = 0;
      if (!ppp_proto(d, len, &et, &hdr)) { *why = kPppTrunc; return DecodeStatus::kMalformed; }
      off = hdr;
      break;
    }
    case kLinkChdlc:  // Cisco HDLC: address, control, ethertype
      if (len < 4) { *why = kLinkTrunc; return DecodeStatus::kMalformed; }
      et = rd16(d + 2);
      off = 4;
      break;
    case kLinkNull: case kLinkLoop: {
      if (len < 4) { *why = kLinkTrunc; return DecodeStatus::kMalformed; }
      // DLT_NULL stores the AF in host order of the capturing machine: accept both.
      uint32_t af = linktype == kLinkLoop ? rd32(d) : (d[0] | d[1] << 8 | d[2] << 16 | uint32_t(d[3]) << 24);
      if (af > 0xffff) af = rd32(d);
      et = af == 2 ? kEthIpv4 : (af == 24 || af == 28 || af == 30) ? kEthIpv6 : 0;
      off = 4;
      break;
    }
    case kLinkSll:
      if (len < 16) { *why = kLinkTrunc; return DecodeStatus::kMalformed; }
      et = rd16(d + 14);
      off = 16;
      break;
    case kLinkSll2:
      if (len < 20) { *why = kLinkTrunc; return DecodeStatus::kMalformed; }
      et = rd16(d);
      off = 20;
      break;
    case kLinkRaw: case kLinkRawAlt: case kLinkRawOpenBsd: case kLinkIpv4: case kLinkIpv6:
      if (len < 1) { *why = kLinkTrunc; return DecodeStatus::kMalformed; }
      et = (d[0] >> 4) == 6 ? kEthIpv6 : kEthIpv4;
      break;
    default:
      *why = kLinkUnsupported;
      return DecodeStatus::kMalformed;
  }
  *l3off = off;
  *ethertype = (et == kEthIpv4 || et == kEthIpv6) ? et : et == kEthArp ? kEthArp : 0;
  return DecodeStatus::kOk;
}

DecodeStatus parse_tcp_opts(const uint8_t* o, uint32_t n, TcpOpts& t) {
  uint32_t i = 0;
  while (i < n) {
    uint8_t kind = o[i];
    if (kind == 0) break;
    if (kind == 1) { i++; continue; }
    if (i + 1 >= n) return DecodeStatus::kMalformed;
    uint8_t ol = o[i + 1];
    if (ol < 2 || i + ol > n) return DecodeStatus::kMalformed;
    switch (kind) {
      case 2: if (ol == 4) t.mss = rd16(o + i + 2); break;
      case 3: if (ol == 3) t.wscale = o[i + 2]; break;
      case 4: if (ol == 2) t.sack_perm = true; break;
      case 8: if (ol == 10) { t.has_ts = true; t.tsval = rd32(o + i + 2); t.tsecr = rd32(o + i + 6); } break;
      case 19: case 29: t.sig = true; break;
      default: break;
    }
    i += ol;
  }
  return DecodeStatus::kOk;
}

inline uint16_t icmp_request_type(uint8_t ver, uint8_t type) {
  if (ver == 4) {
    switch (type) { case 0: return 8; case 14: return 13; case 16: return 15; case 18: return 17; default: return type; }
  }
  return type == 129 ? 128 : type;
}

DecodeStatus decode_ipv4(const uint8_t* l3, uint32_t len, PacketInfo& pi, DecodeCounters& c);
DecodeStatus decode_ipv6(const uint8_t* l3, uint32_t len, PacketInfo& pi, DecodeCounters& c);

// ---- Tunnels: the innermost packet is the one decoded, tracked and inspected
// (as Suricata's tunnel pseudo-packets); the outermost is kept (outer_*) for
// its header rules (core/inspect.cc inspect_tunnel_outer). Dispatch stays on
// the outer addresses, the same for both directions of a tunnel. ~20-40
// cycles per encapsulation.

DecodeStatus decode_inner_ip(const uint8_t* p, uint32_t n, uint16_t et, PacketInfo& pi, DecodeCounters& c) {
  if (++pi.tunnel_depth > kMaxTunnelDepth) return bad(c, pi, kTunnelTooDeep);
  if (pi.tunnel_depth == 1) {  // the outer packet, as decoded so far
    pi.tunnel_proto = pi.proto;
    pi.outer_l3 = pi.l3;
    pi.outer_ip_ver = pi.ip_ver;
    pi.outer_l4_off = pi.l4_off;
    pi.outer_sport = pi.sport;
    pi.outer_dport = pi.dport;
    pi.outer_dsize = pi.proto == 17 ? pi.payload_len : uint16_t(pi.l3_len - pi.l4_off);
  }
  pi.sport = pi.dport = 0;  // the outer layer's L4 fields do not carry over
  pi.icmp_type = pi.icmp_code = 0;
  pi.tcp_flags = 0;
  pi.tcp_seq = pi.tcp_ack = 0;
  pi.tcp_win = 0;
  pi.tcp_opts = TcpOpts{};
  return et == kEthIpv6 ? decode_ipv6(p, n, pi, c) : decode_ipv4(p, n, pi, c);
}

DecodeStatus decode_inner_eth(const uint8_t* p, uint32_t n, PacketInfo& pi, DecodeCounters& c) {
  uint16_t vl[2] = {0, 0};  // inner VLANs: not part of the key (the outer ones are)
  uint8_t vc = 0;
  uint32_t off = 0;
  uint16_t et = 0;
  Malformed why = kEthTrunc;
  if (walk_l2(p, n, kLinkEthernet, vl, vc, &off, &et, &why) != DecodeStatus::kOk) return bad(c, pi, why);
  if (et != kEthIpv4 && et != kEthIpv6) {
    if (et == kEthArp) c.arp++;
    c.not_ip++;
    return DecodeStatus::kNotIp;
  }
  return decode_inner_ip(p + off, n - off, et, pi, c);
}

// GRE (RFC 2784/2890; version 1 = PPTP's enhanced GRE, RFC 2637). Returns false
// when the payload is not one we decode (kept as an "other" IP packet).
bool decode_gre(const uint8_t* g, uint32_t n, PacketInfo& pi, DecodeCounters& c, DecodeStatus* st) {
  if (n < 4) return *st = bad(c, pi, kGreTrunc), true;
  uint16_t flags = rd16(g), proto = rd16(g + 2);
  uint32_t off = 4;
  uint8_t ver = flags & 7;
  if (ver == 0) {
    if (flags & 0x4000) return false;  // RFC 1701 source routing: not decoded
    off += (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0);
  } else if (ver == 1) {
    if (proto != kEthPpp || !(flags & 0x2000)) return *st = bad(c, pi, kGreVersion), true;
    off += 4 + (flags & 0x1000 ? 4 : 0) + (flags & 0x0080 ? 4 : 0);
  } else {
    return *st = bad(c, pi, kGreVersion), true;
  }
  if (off > n) return *st = bad(c, pi, kGreTrunc), true;
  const uint8_t* p = g + off;
  uint32_t len = n - off;
  switch (proto) {
    case kEthIpv4: case kEthIpv6: c.gre++; *st = decode_inner_ip(p, len, proto, pi, c); return true;
    case kEthTeb: c.gre++; *st = decode_inner_eth(p, len, pi, c); return true;
    case kEthErspan2: case kEthErspan3: {
      // Type II (sequence number present): 8-byte header; type III: 12 (+8 with the O flag).
      // Type I (no sequence) is off, as in Suricata's default configuration.
      if (proto == kEthErspan2 && !(flags & 0x1000)) return false;
      uint32_t h = proto == kEthErspan2 ? 8 : 12;
      if (proto == kEthErspan3 && len >= 12 && (p[11] & 1)) h += 8;
      if (len < h) return *st = bad(c, pi, kErspanTrunc), true;
      c.gre++;
      c.erspan++;
      *st = decode_inner_eth(p + h, len - h, pi, c);
      return true;
    }
    case kEthPpp: {
      uint16_t et = 0;
      uint32_t h = 0;
      if (!ppp_proto(p, len, &et, &h)) return *st = bad(c, pi, kPppTrunc), true;
      c.gre++;
      c.ppp++;
      if (!et) return *st = (c.not_ip++, DecodeStatus::kNotIp), true;  // LCP, CCP... of a PPTP session
      *st = decode_inner_ip(p + h, len - h, et, pi, c);
      return true;
    }
    default: return false;
  }
}

// UDP encapsulations on their IANA ports: VXLAN, Geneve, Teredo. Returns false
// when the datagram is ordinary UDP (wrong flags, not an IPv6 packet...).
bool decode_udp_tunnel(const uint8_t* u, uint32_t n, uint16_t sport, uint16_t dport, PacketInfo& pi,
                       DecodeCounters& c, DecodeStatus* st) {
  if (dport == kVxlanPort && n >= 8 + 14 && (u[0] & 0x08)) {  // I flag: a valid VNI
    c.vxlan++;
    *st = decode_inner_eth(u + 8, n - 8, pi, c);
    return true;
  }
  if (dport == kGenevePort && n >= 8 && (u[0] >> 6) == 0) {
    uint32_t h = 8 + (u[0] & 0x3f) * 4u;
    uint16_t proto = rd16(u + 2);
    if (h > n) return *st = bad(c, pi, kGeneveTrunc), true;
    if (proto != kEthTeb && proto != kEthIpv4 && proto != kEthIpv6) return false;
    c.geneve++;
    *st = proto == kEthTeb ? decode_inner_eth(u + h, n - h, pi, c) : decode_inner_ip(u + h, n - h, proto, pi, c);
    return true;
  }
  if (sport == kTeredoPort || dport == kTeredoPort) {
    uint32_t off = 0;
    if (n >= 8 && u[0] == 0 && u[1] == 0) off = 8;  // origin indication
    else if (n >= 4 && u[0] == 0 && u[1] == 1) off = 4 + u[2] + u[3] + 9;  // authentication
    if (n < off + 40 || (u[off] >> 4) != 6 || off + 40u + rd16(u + off + 4) != n) return false;
    c.teredo++;
    *st = decode_inner_ip(u + off, n - off, kEthIpv6, pi, c);
    return true;
  }
  return false;
}

// Decodes the L4 header at l3 + l4off; `l4len` bytes are inside the datagram.
DecodeStatus decode_l4(const uint8_t* l3, uint32_t l4off, uint32_t l4len, PacketInfo& pi,
                       DecodeCounters& c) {
  const uint8_t* l4 = l3 + l4off;
  pi.l4_off = uint16_t(l4off);
  if (pi.proto == 4 || pi.proto == 41) {  // IPv4 / IPv6 in IP (6in4, 4in6, IP-in-IP)
    bool v6in = pi.proto == 41;
    if (pi.ip_ver == 4) (v6in ? c.ipv6_in_ipv4 : c.ipv4_in_ipv4)++;
    else (v6in ? c.ipv6_in_ipv6 : c.ipv4_in_ipv6)++;
    return decode_inner_ip(l4, l4len, v6in ? kEthIpv6 : kEthIpv4, pi, c);
  }
  if (pi.proto == 47) {
    DecodeStatus st;
    if (decode_gre(l4, l4len, pi, c, &st)) return st;
  }
  switch (pi.proto) {
    case 6: {
      if (l4len < 20) return bad(c, pi, kTcpTrunc);
      uint32_t hl = (l4[12] >> 4) * 4u;
      if (hl < 20) return bad(c, pi, kTcpHlenTooSmall);
      if (hl > l4len) return bad(c, pi, kTcpHlenBeyond);
      if (parse_tcp_opts(l4 + 20, hl - 20, pi.tcp_opts) != DecodeStatus::kOk)
        return bad(c, pi, kTcpOptInvalid);
      pi.sport = rd16(l4);
      pi.dport = rd16(l4 + 2);
      pi.tcp_seq = rd32(l4 + 4);
      pi.tcp_ack = rd32(l4 + 8);
      pi.tcp_flags = l4[13];
      pi.tcp_win = rd16(l4 + 14);
      pi.payload_off = uint16_t(l4off + hl);
      pi.payload_len = uint16_t(l4len - hl);
      c.tcp++;
      break;
    }
    case 17: {
      if (l4len < 8) return bad(c, pi, kUdpTrunc);
      uint32_t ul = rd16(l4 + 4);
      if (ul < 8 || ul > l4len) return bad(c, pi, kUdpHlenInvalid);
      pi.sport = rd16(l4);
      pi.dport = rd16(l4 + 2);
      pi.payload_off = uint16_t(l4off + 8);
      pi.payload_len = uint16_t(ul - 8);
      c.udp++;
      DecodeStatus st;
      if (decode_udp_tunnel(l4 + 8, ul - 8, pi.sport, pi.dport, pi, c, &st)) return st;
      break;
    }
    case 132: {  // SCTP: the common header's ports key the flow (chunks are not parsed)
      if (l4len < 12) return bad(c, pi, kSctpTrunc);
      pi.sport = rd16(l4);
      pi.dport = rd16(l4 + 2);
      pi.payload_off = uint16_t(l4off + 12);
      pi.payload_len = uint16_t(l4len - 12);
      c.sctp++;
      break;
    }
    case 1: case 58: {
      bool v4 = pi.proto == 1;
      if (l4len < 8) return bad(c, pi, v4 ? kIcmpv4Trunc : kIcmpv6Trunc);
      pi.icmp_type = l4[0];
      pi.icmp_code = l4[1];
      pi.payload_off = uint16_t(l4off + 8);
      pi.payload_len = uint16_t(l4len - 8);
      (v4 ? c.icmpv4 : c.icmpv6)++;
      break;
    }
    default:
      pi.payload_off = uint16_t(l4off);
      pi.payload_len = uint16_t(l4len);
      c.other_ip++;
      break;
  }
  // ICMP: type/code in both port slots so the key is direction-free.
  uint16_t sp = pi.sport, dp = pi.dport;
  if (pi.proto == 1 || pi.proto == 58) {
    sp = dp = uint16_t(icmp_request_type(pi.ip_ver, pi.icmp_type) << 8 | pi.icmp_code);
  }
  unsigned alen = pi.ip_ver == 4 ? 4 : 16;
  const uint8_t* src = pi.ip_ver == 4 ? l3 + 12 : l3 + 8;
  pi.swapped = make_flow_key(pi.key, src, src + alen, alen, sp, dp, pi.proto, pi.ip_ver, pi.vlan);
  pi.hash = flow_hash(pi.key);
  return DecodeStatus::kOk;
}

DecodeStatus decode_ipv4(const uint8_t* l3, uint32_t len, PacketInfo& pi, DecodeCounters& c) {
  if (len < 20) return bad(c, pi, kIpv4Trunc);
  if ((l3[0] >> 4) != 4) return bad(c, pi, kIpv4WrongVersion);
  pi.l3 = l3;  // a malformed packet's decoder event names its addresses
  pi.ip_ver = 4;
  uint32_t hl = (l3[0] & 0x0f) * 4u;
  if (hl < 20) return bad(c, pi, kIpv4HlenTooSmall);
  if (hl > len) return bad(c, pi, kIpv4Trunc);
  uint32_t tot = rd16(l3 + 2);
  if (tot < hl) return bad(c, pi, kIpv4IplenSmallerThanHlen);
  if (tot > len) return bad(c, pi, kIpv4TruncPkt);
  for (uint32_t i = 20; i < hl;) {  // options: only their framing is checked
    uint8_t t = l3[i];
    if (t == 0) break;
    if (t == 1) { i++; continue; }
    if (i + 1 >= hl || l3[i + 1] < 2 || i + l3[i + 1] > hl) return bad(c, pi, kIpv4OptInvalid);
    i += l3[i + 1];
  }
  c.ipv4++;
  pi.l3 = l3;
  pi.l3_len = tot;
  pi.ip_ver = 4;
  pi.proto = l3[9];
  pi.ttl = l3[8];
  uint16_t fo = rd16(l3 + 6);
  if (fo & 0x3fff) {  // MF or non-zero offset
    FragInfo& f = pi.frag;
    f.id = rd16(l3 + 4);
    f.offset = uint16_t((fo & 0x1fff) * 8u);
    f.more = fo & 0x2000;
    f.hdr_len = uint16_t(hl);
    f.data_off = uint16_t(hl);
    f.data_len = uint16_t(tot - hl);
    f.next_proto = pi.proto;
    if (uint32_t(f.offset) + f.data_len > 65535) return bad(c, pi, kFragTooLarge);
    if (f.more && (f.data_len == 0 || (f.data_len & 7))) return bad(c, pi, kFragInvalidLen);
    c.ipv4_frags++;
    return DecodeStatus::kFragment;
  }
  return decode_l4(l3, hl, tot - hl, pi, c);
}

DecodeStatus decode_ipv6(const uint8_t* l3, uint32_t len, PacketInfo& pi, DecodeCounters& c) {
  if (len < 40) return bad(c, pi, kIpv6Trunc);
  if ((l3[0] >> 4) != 6) return bad(c, pi, kIpv6WrongVersion);
  pi.l3 = l3;
  pi.ip_ver = 6;
  uint32_t tot = 40u + rd16(l3 + 4);
  if (tot > len) return bad(c, pi, kIpv6TruncPkt);
  c.ipv6++;
  pi.l3 = l3;
  pi.l3_len = tot;
  pi.ip_ver = 6;
  pi.ttl = l3[7];
  uint8_t nh = l3[6];
  uint32_t off = 40, nh_field = 6;
  for (int n = 0; n < 8; n++) {  // bounded walk of extension headers
    if (nh == 0 || nh == 43 || nh == 60 || nh == 51) {
      if (off + 2 > tot) return bad(c, pi, kIpv6ExthdrInvalid);
      uint32_t el = nh == 51 ? (l3[off + 1] + 2u) * 4u : (l3[off + 1] + 1u) * 8u;
      if (off + el > tot) return bad(c, pi, kIpv6ExthdrInvalid);
      nh_field = off;
      nh = l3[off];
      off += el;
      continue;
    }
    if (nh == 44) {
      if (off + 8 > tot) return bad(c, pi, kIpv6ExthdrInvalid);
      uint16_t fo = rd16(l3 + off + 2);
      FragInfo& f = pi.frag;
      f.offset = fo & 0xfff8;
      f.more = fo & 1;
      if (f.offset == 0 && !f.more) {  // atomic fragment: just skip the header
        nh_field = off;
        nh = l3[off];
        off += 8;
        continue;
      }
      f.id = rd32(l3 + off + 4);
      f.next_proto = l3[off];
      f.hdr_len = uint16_t(off);
      f.nh_field = uint16_t(nh_field);
      f.data_off = uint16_t(off + 8);
      f.data_len = uint16_t(tot - off - 8);
      pi.proto = 44;
      if (uint32_t(f.offset) + f.data_len > 65535) return bad(c, pi, kFrag6TooLarge);
      if (f.more && (f.data_len == 0 || (f.data_len & 7))) return bad(c, pi, kFragInvalidLen);
      c.ipv6_frags++;
      return DecodeStatus::kFragment;
    }
    break;
  }
  if (nh == 0 || nh == 43 || nh == 60 || nh == 51 || nh == 44) return bad(c, pi, kIpv6ExthdrInvalid);
  pi.proto = nh;
  return decode_l4(l3, off, tot - off, pi, c);
}

}  // namespace

const char* malformed_name(Malformed m) {
  static const char* const names[] = {
#define SPECTRE_X(id, name) name,
      SPECTRE_MALFORMED_REASONS(SPECTRE_X)
#undef SPECTRE_X
  };
  return m < kMalformedCount ? names[m] : "unknown";
}

Malformed malformed_from_event(const char* name) {
  for (int i = 0; i < kMalformedCount; i++)
    if (!std::strcmp(name, malformed_name(Malformed(i)))) return Malformed(i);
  // Suricata's names for checks we count under another name (decode-events.c).
  static const struct { const char* name; Malformed m; } kAlias[] = {
      {"vlan.header_too_small", kVlanTrunc},
      {"ipv6.trunc_exthdr", kIpv6ExthdrInvalid},  // every extension-header failure here is a truncation
  };
  for (const auto& a : kAlias)
    if (!std::strcmp(name, a.name)) return a.m;
  return kMalformedCount;
}

DecodeStatus decode_ip(const uint8_t* l3, uint32_t len, uint16_t ethertype, PacketInfo& pi,
                       DecodeCounters& c) {
  return ethertype == kEthIpv6 ? decode_ipv6(l3, len, pi, c) : decode_ipv4(l3, len, pi, c);
}

DecodeStatus decode_frame(const uint8_t* data, uint32_t len, uint16_t linktype, PacketInfo& pi,
                          DecodeCounters& c) {
  uint32_t l3off = 0;
  uint16_t et = 0;
  Malformed why = kEthTrunc;
  bool pppoe = false;
  if (walk_l2(data, len, linktype, pi.vlan, pi.vlan_count, &l3off, &et, &why, &pppoe) != DecodeStatus::kOk)
    return bad(c, pi, why);
  if (linktype == kLinkEthernet) c.ethernet++;
  else if (linktype == kLinkPpp || linktype == kLinkPppHdlc) c.ppp++;
  else if (linktype == kLinkChdlc) c.chdlc++;
  if (pppoe) c.pppoe++;
  if (pi.vlan_count) (pi.vlan_count == 2 ? c.vlan_qinq : c.vlan)++;
  if (et != kEthIpv4 && et != kEthIpv6) {
    if (et == kEthArp) c.arp++;
    c.not_ip++;
    return DecodeStatus::kNotIp;
  }
  return decode_ip(data + l3off, len - l3off, et, pi, c);
}

namespace {
// Whether an unfragmented IP packet may carry a tunnel we decode (then the
// dispatch hash is taken on the inner addresses, so every packet of an inner
// flow meets on one worker whatever tunnel endpoints carried it).
bool may_tunnel(uint8_t proto, const uint8_t* l4, uint32_t n) {
  if (proto == 4 || proto == 41 || proto == 47) return true;
  if (proto != 17 || n < 4) return false;
  uint16_t sp = rd16(l4), dp = rd16(l4 + 2);
  return dp == kVxlanPort || dp == kGenevePort || sp == kTeredoPort || dp == kTeredoPort;
}
}  // namespace

uint32_t dispatch_hash(const uint8_t* data, uint32_t len, uint16_t linktype) {
  uint16_t vlan[2] = {0, 0};
  uint8_t nvlan = 0;
  uint32_t l3off = 0;
  uint16_t et = 0;
  Malformed why;
  if (walk_l2(data, len, linktype, vlan, nvlan, &l3off, &et, &why) != DecodeStatus::kOk ||
      (et != kEthIpv4 && et != kEthIpv6))
    return 0;
  const uint8_t* l3 = data + l3off;
  uint32_t n = len - l3off;
  bool tunnel = false;
  if (et == kEthIpv4 && n >= 20) {
    uint32_t hl = (l3[0] & 0x0f) * 4u;
    tunnel = !(rd16(l3 + 6) & 0x3fff) && hl >= 20 && hl <= n && may_tunnel(l3[9], l3 + hl, n - hl);
  } else if (et == kEthIpv6 && n >= 40) {
    tunnel = may_tunnel(l3[6], l3 + 40, n - 40);  // a tunnel behind extension headers keeps the outer hash
  }
  if (tunnel) {  // a full decode, only for tunnel candidates (~100-200 cycles)
    PacketInfo in;
    DecodeCounters scratch{};
    DecodeStatus st = decode_frame(data, len, linktype, in, scratch);
    if ((st == DecodeStatus::kOk || st == DecodeStatus::kFragment) && in.tunnel_depth)
      return in.ip_ver == 4 ? addr_pair_hash(in.l3 + 12, in.l3 + 16, 4, vlan)
                            : addr_pair_hash(in.l3 + 8, in.l3 + 24, 16, vlan);
  }
  if (et == kEthIpv4 && n >= 20) return addr_pair_hash(l3 + 12, l3 + 16, 4, vlan);
  if (et == kEthIpv6 && n >= 40) return addr_pair_hash(l3 + 8, l3 + 24, 16, vlan);
  return 0;
}

}  // namespace spectre
