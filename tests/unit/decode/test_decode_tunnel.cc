// Encapsulations: the innermost packet is decoded (its addresses, ports and
// payload), each layer counted; PPP/PPPoE/Cisco HDLC link layers; ARP; SCTP.
// Malformed layers are counted by reason; nesting is bounded.
#include <cstring>

#include "tests/unit/decode/decode_util.h"

namespace spectre::test {
namespace {

using pb::Bytes;
const pb::Ip4 kT1 = pb::ip4("192.0.2.1"), kT2 = pb::ip4("192.0.2.2");  // tunnel endpoints

Bytes inner_tcp4() {
  return pb::ipv4({.src = kA4, .dst = kB4, .proto = 6},
                  pb::tcp({.sport = 40000, .dport = 80, .flags = 0x18, .payload = {'G', 'E', 'T', ' '}}));
}
Bytes inner_udp6() { return pb::ipv6({.src = kA6, .dst = kB6, .nh = 17}, pb::udp(5353, 53, {1, 2, 3})); }

// The inner IPv4/TCP packet's fields, whatever carried it.
void expect_inner_tcp4(const Decoded& d, int min_depth = 1) {
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.ip_ver, 4);
  EXPECT_EQ(d.pi.proto, 6);
  EXPECT_EQ(std::memcmp(d.pi.l3 + 12, kA4.data(), 4), 0);
  EXPECT_EQ(std::memcmp(d.pi.l3 + 16, kB4.data(), 4), 0);
  EXPECT_EQ(d.pi.sport, 40000);
  EXPECT_EQ(d.pi.dport, 80);
  EXPECT_EQ(d.pi.payload_len, 4);
  EXPECT_EQ(std::memcmp(d.pi.l3 + d.pi.payload_off, "GET ", 4), 0);
  EXPECT_GE(d.pi.tunnel_depth, min_depth);
}

Bytes gre(uint16_t flags, uint16_t proto, const Bytes& payload, size_t opt_words = 0) {
  Bytes b;
  pb::app16(b, flags);
  pb::app16(b, proto);
  for (size_t i = 0; i < opt_words; i++) pb::app32(b, 0x01020304);
  pb::app(b, payload);
  return b;
}
Bytes over_gre(const Bytes& g) { return pb::eth(0x0800, pb::ipv4({.src = kT1, .dst = kT2, .proto = 47}, g)); }

TEST(DecodeTunnel, IpInIpAndSixInFourAndFourInSix) {
  Bytes a = pb::eth(0x0800, pb::ipv4({.src = kT1, .dst = kT2, .proto = 4}, inner_tcp4()));
  Decoded d = decode(a);
  expect_inner_tcp4(d);
  EXPECT_EQ(d.c.ipv4_in_ipv4, 1u);
  EXPECT_EQ(d.c.ipv4, 2u);  // both layers counted
  Bytes b = pb::eth(0x0800, pb::ipv4({.src = kT1, .dst = kT2, .proto = 41}, inner_udp6()));
  Decoded e = decode(b);
  ASSERT_EQ(e.st, DecodeStatus::kOk);
  EXPECT_EQ(e.pi.ip_ver, 6);
  EXPECT_EQ(e.pi.proto, 17);
  EXPECT_EQ(e.pi.dport, 53);
  EXPECT_EQ(e.c.ipv6_in_ipv4, 1u);
  Bytes c = pb::eth(0x86dd, pb::ipv6({.src = kA6, .dst = kB6, .nh = 4}, inner_tcp4()));
  Decoded f = decode(c);
  expect_inner_tcp4(f);
  EXPECT_EQ(f.c.ipv4_in_ipv6, 1u);
}

TEST(DecodeTunnel, GreWithOptionalFieldsTebAndPptp) {
  // Frames stay alive while their decoded view (pi.l3) is read.
  Bytes f1 = over_gre(gre(0x0000, 0x0800, inner_tcp4()));
  expect_inner_tcp4(decode(f1));
  Bytes f2 = over_gre(gre(0xb000, 0x0800, inner_tcp4(), 3));  // checksum, key, sequence
  Decoded k = decode(f2);
  expect_inner_tcp4(k);
  EXPECT_EQ(k.c.gre, 1u);
  Bytes f3 = over_gre(gre(0x0000, 0x6558, pb::eth(0x0800, inner_tcp4())));
  expect_inner_tcp4(decode(f3));
  Bytes ppp = {0xff, 0x03, 0x00, 0x21};  // PPTP: enhanced GRE (version 1, key) carrying PPP
  pb::app(ppp, inner_tcp4());
  Bytes f4 = over_gre(gre(0x3001, 0x880b, ppp, 2));
  Decoded p = decode(f4);
  expect_inner_tcp4(p);
  EXPECT_EQ(p.c.ppp, 1u);
  Bytes lcp = {0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4};  // PPP LCP: not IP
  EXPECT_EQ(decode(over_gre(gre(0x2001, 0x880b, lcp, 1))).st, DecodeStatus::kNotIp);
}

TEST(DecodeTunnel, ErspanTypeTwoAndThreeButNotTypeOne) {
  Bytes h2(8, 0), h3(12, 0);
  Bytes f2 = over_gre(gre(0x1000, 0x88be, pb::cat({h2, pb::eth(0x0800, inner_tcp4())}), 1));
  Decoded two = decode(f2);
  expect_inner_tcp4(two);
  EXPECT_EQ(two.c.erspan, 1u);
  Bytes f3 = over_gre(gre(0x0000, 0x22eb, pb::cat({h3, pb::eth(0x0800, inner_tcp4())})));
  expect_inner_tcp4(decode(f3));
  Bytes f1 = over_gre(gre(0x0000, 0x88be, pb::eth(0x0800, inner_tcp4())));  // type I: off
  Decoded one = decode(f1);
  ASSERT_EQ(one.st, DecodeStatus::kOk);
  EXPECT_EQ(one.pi.proto, 47);
  EXPECT_EQ(one.pi.tunnel_depth, 0);
}

TEST(DecodeTunnel, VxlanGeneveTeredoOnTheirPorts) {
  Bytes vx = {0x08, 0, 0, 0, 0, 0, 0x2a, 0};
  pb::app(vx, pb::eth(0x0800, inner_tcp4()));
  Bytes fv = pb::eth(0x0800, pb::ipv4({.src = kT1, .dst = kT2, .proto = 17}, pb::udp(51000, 4789, vx)));
  Decoded v = decode(fv);
  expect_inner_tcp4(v);
  EXPECT_EQ(v.c.vxlan, 1u);
  Bytes gn = {0x01, 0, 0x65, 0x58, 0, 0, 0x2a, 0, 1, 2, 3, 4};  // one 4-byte option
  pb::app(gn, pb::eth(0x0800, inner_tcp4()));
  Bytes fg = pb::eth(0x0800, pb::ipv4({.src = kT1, .dst = kT2, .proto = 17}, pb::udp(51000, 6081, gn)));
  Decoded g = decode(fg);
  expect_inner_tcp4(g);
  EXPECT_EQ(g.c.geneve, 1u);
  Bytes ter = {0, 0, 1, 2, 3, 4, 5, 6};  // origin indication
  pb::app(ter, inner_udp6());
  Bytes ft = pb::eth(0x0800, pb::ipv4({.src = kT1, .dst = kT2, .proto = 17}, pb::udp(3544, 60000, ter)));
  Decoded t = decode(ft);
  ASSERT_EQ(t.st, DecodeStatus::kOk);
  EXPECT_EQ(t.pi.ip_ver, 6);
  EXPECT_EQ(t.pi.dport, 53);
  EXPECT_EQ(t.c.teredo, 1u);
  // Not tunnels: VXLAN's port without the I flag, Teredo's port with a non-IPv6 payload.
  Bytes notvx = vx;
  notvx[0] = 0;
  Bytes fn1 = pb::eth(0x0800, pb::ipv4({.src = kT1, .dst = kT2, .proto = 17}, pb::udp(51000, 4789, notvx)));
  Decoded n1 = decode(fn1);
  ASSERT_EQ(n1.st, DecodeStatus::kOk);
  EXPECT_EQ(n1.pi.dport, 4789);
  EXPECT_EQ(n1.pi.tunnel_depth, 0);
  Bytes fn2 = pb::eth(0x0800, pb::ipv4({.src = kT1, .dst = kT2, .proto = 17}, pb::udp(3544, 3544, Bytes(60, 0x41))));
  Decoded n2 = decode(fn2);
  ASSERT_EQ(n2.st, DecodeStatus::kOk);
  EXPECT_EQ(n2.pi.dport, 3544);
}

TEST(DecodeTunnel, LinkTypesPppPppoeChdlcAndArp) {
  Bytes ppp = {0xff, 0x03, 0x00, 0x21};
  pb::app(ppp, inner_tcp4());
  Decoded a = decode(ppp, kLinkPpp);
  expect_inner_tcp4(a, 0);  // a link layer, not a tunnel
  Bytes pppoe = {0x11, 0x00, 0x00, 0x01, 0, 0, 0x00, 0x21};
  pb::app(pppoe, inner_tcp4());
  Bytes fb = pb::eth(0x8864, pppoe);
  Decoded b = decode(fb);
  ASSERT_EQ(b.st, DecodeStatus::kOk);
  EXPECT_EQ(b.pi.dport, 80);
  EXPECT_EQ(b.c.pppoe, 1u);
  Bytes hdlc = {0x0f, 0x00, 0x08, 0x00};
  pb::app(hdlc, inner_tcp4());
  Decoded c = decode(hdlc, kLinkChdlc);
  ASSERT_EQ(c.st, DecodeStatus::kOk);
  EXPECT_EQ(c.pi.sport, 40000);
  EXPECT_EQ(c.c.chdlc, 1u);
  Decoded arp = decode(pb::eth(0x0806, Bytes(28, 0)));
  EXPECT_EQ(arp.st, DecodeStatus::kNotIp);
  EXPECT_EQ(arp.c.arp, 1u);
  Bytes disc = {0x11, 0x09, 0, 0, 0, 2, 0x00, 0x21};  // PPPoE discovery code on the session ethertype
  EXPECT_EQ(decode(pb::eth(0x8864, disc)).c.malformed[kPppoeWrongCode], 1u);
}

TEST(DecodeTunnel, Sctp) {
  Bytes sctp;
  pb::app16(sctp, 2905);
  pb::app16(sctp, 2906);
  pb::app32(sctp, 7);
  pb::app32(sctp, 0);
  Bytes fs = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 132}, sctp));
  Decoded d = decode(fs);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.sport, 2905);
  EXPECT_EQ(d.pi.dport, 2906);
  EXPECT_EQ(d.c.sctp, 1u);
  Decoded t = decode(pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 132}, Bytes(8, 0))));
  EXPECT_EQ(t.c.malformed[kSctpTrunc], 1u);
}

TEST(DecodeTunnel, MalformedLayersCountedAndNestingBounded) {
  EXPECT_EQ(decode(over_gre(Bytes{0x00, 0x00})).c.malformed[kGreTrunc], 1u);
  EXPECT_EQ(decode(over_gre(gre(0x0002, 0x0800, inner_tcp4()))).c.malformed[kGreVersion], 1u);
  EXPECT_EQ(decode(over_gre(gre(0xb000, 0x0800, {}))).c.malformed[kGreTrunc], 1u);  // fields past the end
  EXPECT_EQ(decode(over_gre(gre(0x0000, 0x22eb, Bytes(6, 0)))).c.malformed[kErspanTrunc], 1u);
  // Four IP-in-IP layers around the packet: the fourth is past the bound (3).
  Bytes p = inner_tcp4();
  for (int i = 0; i < 3; i++) p = pb::ipv4({.src = kT1, .dst = kT2, .proto = 4}, p);
  Bytes fp = pb::eth(0x0800, p);
  expect_inner_tcp4(decode(fp));
  p = pb::ipv4({.src = kT1, .dst = kT2, .proto = 4}, p);
  Decoded deep = decode(pb::eth(0x0800, p));
  EXPECT_EQ(deep.st, DecodeStatus::kMalformed);
  EXPECT_EQ(deep.c.malformed[kTunnelTooDeep], 1u);
  // Every truncation of a VXLAN frame decodes or is counted, never read past the end.
  Bytes vx = {0x08, 0, 0, 0, 0, 0, 0x2a, 0};
  pb::app(vx, pb::eth(0x0800, inner_tcp4()));
  Bytes full = pb::eth(0x0800, pb::ipv4({.src = kT1, .dst = kT2, .proto = 17}, pb::udp(51000, 4789, vx)));
  for (size_t n = 0; n < full.size(); n++) {
    Bytes cut(full.begin(), full.begin() + long(n));
    Decoded d = decode(cut);
    EXPECT_TRUE(d.st != DecodeStatus::kOk || d.pi.l3 + d.pi.l3_len <= cut.data() + cut.size()) << n;
  }
}

// Both directions of an inner flow meet on one worker, whatever tunnel
// endpoints carried them (the software dispatch hash is on the inner pair).
TEST(DecodeTunnel, DispatchHashOnTheInnerPair) {
  Bytes fwd = inner_tcp4();
  Bytes rev = pb::ipv4({.src = kB4, .dst = kA4, .proto = 6}, pb::tcp({.sport = 80, .dport = 40000, .flags = 0x12}));
  Bytes a = over_gre(gre(0x0000, 0x0800, fwd));
  Bytes b = pb::eth(0x0800, pb::ipv4({.src = pb::ip4("198.51.100.7"), .dst = pb::ip4("198.51.100.8"), .proto = 47},
                                      gre(0x0000, 0x0800, rev)));
  Bytes c = pb::eth(0x0800, pb::ipv4({.src = pb::ip4("203.0.113.1"), .dst = kT2, .proto = 4}, fwd));
  uint32_t ha = dispatch_hash(a.data(), uint32_t(a.size()), kLinkEthernet);
  EXPECT_NE(ha, 0u);
  EXPECT_EQ(ha, dispatch_hash(b.data(), uint32_t(b.size()), kLinkEthernet));
  EXPECT_EQ(ha, dispatch_hash(c.data(), uint32_t(c.size()), kLinkEthernet));
  Bytes plain = pb::eth(0x0800, fwd);
  EXPECT_EQ(ha, dispatch_hash(plain.data(), uint32_t(plain.size()), kLinkEthernet));
}

}  // namespace
}  // namespace spectre::test
