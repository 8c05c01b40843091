// Decoded view of one packet. Lives in a per-burst stack array on the worker;
// points into the mbuf (or a defrag buffer) and never owns memory.
#pragma once
#include <cstdint>
#include <cstring>

#include "dataplane/flow/flow_key.h"

namespace spectre {

// pcap link types we decode (LINKTYPE_* values).
enum LinkType : uint16_t {
  kLinkNull = 0, kLinkEthernet = 1, kLinkRaw = 101, kLinkLoop = 108,
  kLinkSll = 113, kLinkIpv4 = 228, kLinkIpv6 = 229, kLinkSll2 = 276,
  kLinkRawAlt = 12, kLinkRawOpenBsd = 14, kLinkPpp = 9, kLinkPppHdlc = 50, kLinkChdlc = 104,
};

// Why a packet was not decoded. Names follow Suricata's decoder.event.* counters.
#define SPECTRE_MALFORMED_REASONS(X)                    \
  X(kEthTrunc, "ethernet.pkt_too_small")               \
  X(kVlanTrunc, "vlan.pkt_too_small")                  \
  X(kVlanTooMany, "vlan.too_many_layers")              \
  X(kLinkTrunc, "link.pkt_too_small")                  \
  X(kLinkUnsupported, "link.unsupported_linktype")     \
  X(kIpv4Trunc, "ipv4.pkt_too_small")                  \
  X(kIpv4HlenTooSmall, "ipv4.hlen_too_small")          \
  X(kIpv4IplenSmallerThanHlen, "ipv4.iplen_smaller_than_hlen") \
  X(kIpv4TruncPkt, "ipv4.trunc_pkt")                   \
  X(kIpv4OptInvalid, "ipv4.opt_invalid")               \
  X(kIpv4WrongVersion, "ipv4.wrong_ip_version")        \
  X(kIpv6Trunc, "ipv6.pkt_too_small")                  \
  X(kIpv6TruncPkt, "ipv6.trunc_pkt")                   \
  X(kIpv6ExthdrInvalid, "ipv6.exthdr_invalid")         \
  X(kIpv6WrongVersion, "ipv6.wrong_ip_version")        \
  X(kTcpTrunc, "tcp.pkt_too_small")                    \
  X(kTcpHlenTooSmall, "tcp.hlen_too_small")            \
  X(kTcpHlenBeyond, "tcp.invalid_optlen")              \
  X(kTcpOptInvalid, "tcp.opt_invalid_len")             \
  X(kUdpTrunc, "udp.pkt_too_small")                    \
  X(kUdpHlenInvalid, "udp.hlen_invalid")               \
  X(kIcmpv4Trunc, "icmpv4.pkt_too_small")              \
  X(kIcmpv6Trunc, "icmpv6.pkt_too_small")              \
  X(kFragTooLarge, "ipv4.frag_pkt_too_large")          \
  X(kFrag6TooLarge, "ipv6.frag_pkt_too_large")         \
  X(kFragInvalidLen, "ipv4.frag_invalid_len")          \
  X(kGreTrunc, "gre.pkt_too_small")                    \
  X(kGreVersion, "gre.wrong_version")                  \
  X(kPppTrunc, "ppp.pkt_too_small")                    \
  X(kPppoeTrunc, "pppoe.pkt_too_small")                \
  X(kPppoeWrongCode, "pppoe.wrong_code")               \
  X(kErspanTrunc, "erspan.header_too_small")           \
  X(kGeneveTrunc, "geneve.pkt_too_small")              \
  X(kSctpTrunc, "sctp.pkt_too_small")                  \
  X(kTunnelTooDeep, "tunnel.too_many_layers")

enum Malformed : uint8_t {
#define SPECTRE_X(id, name) id,
  SPECTRE_MALFORMED_REASONS(SPECTRE_X)
#undef SPECTRE_X
  kMalformedCount
};
const char* malformed_name(Malformed m);
// The reason a Suricata decode-event name stands for (our names, plus
// Suricata's spellings of the same checks); kMalformedCount when we never
// raise that event.
Malformed malformed_from_event(const char* name);

enum class DecodeStatus : uint8_t {
  kOk,         // L3/L4 decoded, key and hash valid
  kNotIp,      // valid frame, no IP (ARP, LLDP, ...)
  kFragment,   // IP fragment: hand to defrag
  kMalformed,  // counted by reason, dropped
};

struct TcpOpts {
  uint16_t mss = 0;
  uint8_t wscale = 0xff;  // 0xff: absent
  bool sack_perm = false;
  bool has_ts = false;
  bool sig = false;  // TCP-MD5 (kind 19) or TCP-AO (kind 29) signature option
  uint32_t tsval = 0, tsecr = 0;
};

// TCP flag bits as on the wire.
enum : uint8_t { kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08,
                 kAck = 0x10, kUrg = 0x20, kEce = 0x40, kCwr = 0x80 };

struct FragInfo {
  uint32_t id = 0;
  uint16_t offset = 0;      // bytes
  uint16_t hdr_len = 0;     // unfragmentable part (IPv4 header / IPv6 hdr + ext before frag hdr)
  uint16_t data_off = 0;    // fragment payload, from L3 start
  uint16_t data_len = 0;
  uint16_t nh_field = 0;    // IPv6: offset from L3 of the next-header byte that names the frag hdr
  uint8_t next_proto = 0;   // protocol carried by the datagram
  bool more = false;
};

struct PacketInfo {
  const uint8_t* l3 = nullptr;   // IP header
  uint64_t ts_ns = 0;
  uint32_t frame_len = 0;        // bytes counted for the flow: captured frame length
  uint32_t l3_len = 0;           // IP total length, trimmed of link padding (reassembled IPv6: up to 65575)
  uint16_t l4_off = 0;           // from l3
  uint16_t payload_off = 0;      // from l3
  uint16_t payload_len = 0;
  uint8_t ip_ver = 0;
  uint8_t proto = 0;
  uint8_t ttl = 0;
  uint8_t tcp_flags = 0;
  uint8_t icmp_type = 0, icmp_code = 0;
  uint8_t vlan_count = 0;
  bool swapped = false;          // packet's src is the key's "hi" endpoint
  bool reassembled = false;
  uint8_t tunnel_depth = 0;      // encapsulations decoded (IP-in-IP, GRE, VXLAN, ...); l3 is the innermost
  uint8_t tunnel_proto = 0;      // the outermost IP protocol when tunnelled (4, 41, 47, 17), else 0
  uint8_t outer_ip_ver = 0;      // tunnelled: the outermost IP header's version (outer_l3)
  Malformed malformed = kMalformedCount;  // DecodeStatus::kMalformed: why (the decoder event)
  uint16_t vlan[2] = {0, 0};
  uint16_t sport = 0, dport = 0; // host order, as in the packet
  uint32_t tcp_seq = 0, tcp_ack = 0;
  uint16_t tcp_win = 0;
  TcpOpts tcp_opts;
  FragInfo frag;
  // Tunnelled: the outermost IP packet, inspected as a packet of its own
  // (Suricata's tunnel root): its IP header, L4 offset, UDP ports (VXLAN,
  // Geneve, Teredo; else 0) and payload size.
  const uint8_t* outer_l3 = nullptr;
  uint16_t outer_l4_off = 0, outer_sport = 0, outer_dport = 0, outer_dsize = 0;
  FlowKey key;                   // canonical (direction-free)
  uint32_t hash = 0;             // symmetric hash of key
};

}  // namespace spectre
