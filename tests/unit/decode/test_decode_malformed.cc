// Decoder error paths (one exact counter per reason) and a fuzz-style loop of
// truncations and byte mutations over exact-size heap copies, so that ASan
// reports any read past the end.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <set>
#include <string>

#include "tests/unit/decode/decode_util.h"

namespace spectre::test {
namespace {

using pb::Bytes;

struct BadCase {
  std::string name;
  Bytes frame;
  uint16_t linktype;
  Malformed why;
};

Bytes e4(const Bytes& l3) { return pb::eth(0x0800, l3); }
Bytes e6(const Bytes& l3) { return pb::eth(0x86dd, l3); }
Bytes v4(uint8_t proto, const Bytes& l4) { return pb::ipv4({.src = kA4, .dst = kB4, .proto = proto}, l4); }
Bytes v6(uint8_t nh, const Bytes& pl) { return pb::ipv6({.src = kA6, .dst = kB6, .nh = nh}, pl); }

std::vector<BadCase> bad_cases() {
  Bytes tcp_ok = pb::tcp({.sport = 1, .dport = 2});
  Bytes ip_ok = v4(6, tcp_ok);
  std::vector<BadCase> v;
  auto add = [&](std::string n, Bytes f, Malformed m, uint16_t lt = kLinkEthernet) {
    v.push_back({std::move(n), std::move(f), lt, m});
  };
  add("eth empty", {}, kEthTrunc);
  add("eth 13 bytes", pb::fill(13, 0), kEthTrunc);
  add("vlan tag cut", pb::eth(0x8100, {0, 100, 8}), kVlanTrunc);
  add("qinq inner tag cut", pb::eth(0x8100, {0, 1}, {{0x88a8, 5}}), kVlanTrunc);
  add("three vlan tags", pb::eth(0x0800, ip_ok, {{0x88a8, 1}, {0x8100, 2}, {0x8100, 3}}), kVlanTooMany);
  add("sll 15", pb::fill(15, 0), kLinkTrunc, kLinkSll);
  add("sll2 19", pb::fill(19, 0), kLinkTrunc, kLinkSll2);
  add("null 3", pb::fill(3, 0), kLinkTrunc, kLinkNull);
  add("loop 3", pb::fill(3, 0), kLinkTrunc, kLinkLoop);
  add("raw empty", {}, kLinkTrunc, kLinkRaw);
  add("linktype 147", ip_ok, kLinkUnsupported, 147);
  add("ipv4 19 bytes", e4(pb::fill(19, 0x45)), kIpv4Trunc);
  add("ipv4 ihl beyond data", e4(pb::ipv4({.src = kA4, .dst = kB4, .ihl = 6, .tot_len = 22}, {0, 0})), kIpv4Trunc);
  add("ipv4 ihl 4", e4(pb::ipv4({.src = kA4, .dst = kB4, .ihl = 4}, tcp_ok)), kIpv4HlenTooSmall);
  add("ipv4 ihl 0", e4(pb::ipv4({.src = kA4, .dst = kB4, .ihl = 0}, tcp_ok)), kIpv4HlenTooSmall);
  add("ipv4 totlen 19", e4(pb::ipv4({.src = kA4, .dst = kB4, .tot_len = 19}, tcp_ok)), kIpv4IplenSmallerThanHlen);
  add("ipv4 totlen < opts hlen",
      e4(pb::ipv4({.src = kA4, .dst = kB4, .opts = {1, 1, 1, 1}, .tot_len = 22}, tcp_ok)), kIpv4IplenSmallerThanHlen);
  add("ipv4 totlen beyond", e4(pb::ipv4({.src = kA4, .dst = kB4, .tot_len = 41}, tcp_ok)), kIpv4TruncPkt);
  add("ipv4 opt len 1", e4(pb::ipv4({.src = kA4, .dst = kB4, .opts = {7, 1, 0, 0}}, tcp_ok)), kIpv4OptInvalid);
  add("ipv4 opt len beyond hlen", e4(pb::ipv4({.src = kA4, .dst = kB4, .opts = {7, 9, 0, 0}}, tcp_ok)), kIpv4OptInvalid);
  add("ipv4 opt kind without len", e4(pb::ipv4({.src = kA4, .dst = kB4, .opts = {1, 1, 1, 7}}, tcp_ok)), kIpv4OptInvalid);
  add("ipv4 ethertype, v6 header", e4(v6(6, tcp_ok)), kIpv4WrongVersion);
  add("raw version 5", pb::ipv4({.src = kA4, .dst = kB4, .version = 5}, tcp_ok), kIpv4WrongVersion, kLinkRaw);
  add("ipv6 39 bytes", e6(pb::fill(39, 0x60)), kIpv6Trunc);
  add("ipv6 plen beyond", e6(pb::ipv6({.src = kA6, .dst = kB6, .nh = 6, .plen = 21}, tcp_ok)), kIpv6TruncPkt);
  add("ipv6 ethertype, v4 header", e6(pb::cat({ip_ok, pb::fill(20, 0)})), kIpv6WrongVersion);
  add("ipv6 hbh one byte", e6(v6(0, {6})), kIpv6ExthdrInvalid);
  add("ipv6 hbh len beyond", e6(v6(0, pb::cat({{6, 1, 1, 4}, pb::fill(4, 0)}))), kIpv6ExthdrInvalid);
  add("ipv6 ah len beyond", e6(v6(51, {6, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})), kIpv6ExthdrInvalid);
  add("ipv6 frag hdr cut", e6(v6(44, {6, 0, 0, 8, 0, 0})), kIpv6ExthdrInvalid);
  {
    Bytes chain;  // 9 headers: one more than the walk allows
    for (int i = 0; i < 9; i++) pb::app(chain, pb::ext6(i < 8 ? 60 : 6, 8));
    add("ipv6 nine ext headers", e6(v6(0, pb::cat({chain, tcp_ok}))), kIpv6ExthdrInvalid);
  }
  add("tcp 19 bytes", e4(v4(6, pb::fill(19, 0))), kTcpTrunc);
  add("tcp v6 19 bytes", e6(v6(6, pb::fill(19, 0))), kTcpTrunc);
  add("tcp doff 4", e4(v4(6, pb::tcp({.sport = 1, .dport = 2, .doff = 4}))), kTcpHlenTooSmall);
  add("tcp doff 6, 20 bytes", e4(v4(6, pb::tcp({.sport = 1, .dport = 2, .doff = 6}))), kTcpHlenBeyond);
  add("tcp opt len 1", e4(v4(6, pb::tcp({.sport = 1, .dport = 2, .opts = {2, 1, 0, 0}}))), kTcpOptInvalid);
  add("tcp opt len beyond", e4(v4(6, pb::tcp({.sport = 1, .dport = 2, .opts = {3, 10, 0, 0}}))), kTcpOptInvalid);
  add("tcp opt kind without len", e4(v4(6, pb::tcp({.sport = 1, .dport = 2, .opts = {1, 1, 1, 2}}))), kTcpOptInvalid);
  add("udp 7 bytes", e4(v4(17, pb::fill(7, 0))), kUdpTrunc);
  add("udp len 7", e4(v4(17, pb::udp(1, 2, {}, 7))), kUdpHlenInvalid);
  add("udp len beyond", e4(v4(17, pb::udp(1, 2, {1, 2}, 11))), kUdpHlenInvalid);
  add("udp v6 len beyond", e6(v6(17, pb::udp(1, 2, {1, 2}, 11))), kUdpHlenInvalid);
  add("icmp 7 bytes", e4(v4(1, pb::fill(7, 8))), kIcmpv4Trunc);
  add("icmpv6 7 bytes", e6(v6(58, pb::fill(7, 128))), kIcmpv6Trunc);
  add("ipv4 frag too large",
      e4(pb::ipv4({.src = kA4, .dst = kB4, .proto = 17, .frag_off = 65528}, pb::fill(8, 0))), kFragTooLarge);
  add("ipv6 frag too large", e6(v6(44, pb::cat({pb::frag6(17, 65528, false, 1), pb::fill(8, 0)}))), kFrag6TooLarge);
  add("ipv4 MF, 10 bytes",
      e4(pb::ipv4({.src = kA4, .dst = kB4, .proto = 17, .mf = true}, pb::fill(10, 0))), kFragInvalidLen);
  add("ipv4 MF, empty",
      e4(pb::ipv4({.src = kA4, .dst = kB4, .proto = 17, .frag_off = 8, .mf = true}, {})), kFragInvalidLen);
  add("ipv6 M, 12 bytes", e6(v6(44, pb::cat({pb::frag6(17, 0, true, 1), pb::fill(12, 0)}))), kFragInvalidLen);
  add("gre 3 bytes", e4(v4(47, pb::fill(3, 0))), kGreTrunc);
  add("gre version 2", e4(v4(47, {0x00, 0x02, 0x08, 0x00})), kGreVersion);
  add("ppp link address and control only", {0xff, 0x03}, kPppTrunc, kLinkPpp);
  add("pppoe 6 bytes", pb::eth(0x8864, pb::fill(6, 0x11)), kPppoeTrunc);
  add("pppoe discovery code", pb::eth(0x8864, {0x11, 0x09, 0, 0, 0, 2, 0x00, 0x21}), kPppoeWrongCode);
  add("erspan iii 6 bytes", e4(v4(47, {0x00, 0x00, 0x22, 0xeb, 0, 0, 0, 0, 0, 0})), kErspanTrunc);
  add("geneve options beyond", e4(v4(17, pb::udp(1, 6081, {0x3f, 0, 0x65, 0x58, 0, 0, 0, 0}))), kGeneveTrunc);
  add("sctp 11 bytes", e4(v4(132, pb::fill(11, 0))), kSctpTrunc);
  {
    Bytes p = ip_ok;  // four IP-in-IP layers: one past the bound
    for (int i = 0; i < 4; i++) p = pb::ipv4({.src = kA4, .dst = kB4, .proto = 4}, p);
    add("ip-in-ip 4 deep", pb::eth(0x0800, p), kTunnelTooDeep);
  }
  return v;
}

TEST(DecodeMalformed, EachReasonCountsExactlyOnce) {
  std::set<int> seen;
  for (const BadCase& bc : bad_cases()) {
    SCOPED_TRACE(bc.name + " -> " + malformed_name(bc.why));
    Decoded d = decode(bc.frame, bc.linktype);
    EXPECT_EQ(d.st, DecodeStatus::kMalformed);
    EXPECT_EQ(d.c.malformed[bc.why], 1u);
    EXPECT_EQ(d.pi.malformed, bc.why);  // the decoder event decode-event rules see
    EXPECT_EQ(d.c.malformed_total, 1u);
    EXPECT_EQ(malformed_sum(d.c), 1u);
    if (bc.why != kGeneveTrunc)  // Geneve: the outer UDP datagram is whole and counted
      EXPECT_EQ(d.c.tcp + d.c.udp + d.c.icmpv4 + d.c.icmpv6 + d.c.other_ip, 0u);
    seen.insert(bc.why);
  }
  // Every reason is produced by the decoder.
  for (int m = 0; m < kMalformedCount; m++)
    EXPECT_TRUE(seen.count(m)) << "no case for " << malformed_name(Malformed(m));
}

TEST(DecodeMalformed, Names) {
  EXPECT_STREQ(malformed_name(kEthTrunc), "ethernet.pkt_too_small");
  EXPECT_STREQ(malformed_name(kIpv4IplenSmallerThanHlen), "ipv4.iplen_smaller_than_hlen");
  EXPECT_STREQ(malformed_name(kTcpHlenBeyond), "tcp.invalid_optlen");
  EXPECT_STREQ(malformed_name(kMalformedCount), "unknown");
  std::set<std::string> names;
  for (int m = 0; m < kMalformedCount; m++) names.insert(malformed_name(Malformed(m)));
  EXPECT_EQ(names.size(), size_t(kMalformedCount));
}

// decode-event names: ours, Suricata's spellings of the same checks, and
// events we never raise (decode-events.c names).
TEST(DecodeMalformed, EventNames) {
  for (int m = 0; m < kMalformedCount; m++)
    EXPECT_EQ(malformed_from_event(malformed_name(Malformed(m))), Malformed(m));
  EXPECT_EQ(malformed_from_event("ipv4.trunc_pkt"), kIpv4TruncPkt);
  EXPECT_EQ(malformed_from_event("tcp.hlen_too_small"), kTcpHlenTooSmall);
  EXPECT_EQ(malformed_from_event("vlan.header_too_small"), kVlanTrunc);
  EXPECT_EQ(malformed_from_event("ipv6.trunc_exthdr"), kIpv6ExthdrInvalid);
  EXPECT_EQ(malformed_from_event("ipv6.frag_pkt_too_large"), kFrag6TooLarge);
  EXPECT_EQ(malformed_from_event("ipv4.opt_duplicate"), kMalformedCount);
  EXPECT_EQ(malformed_from_event("ipv4"), kMalformedCount);
  EXPECT_EQ(malformed_from_event(""), kMalformedCount);
}

// A malformed IPv4 packet keeps its header pointer (the event names its addresses).
TEST(DecodeMalformed, KeepsTheIpHeaderOfATruncatedPacket) {
  Bytes f = e4(pb::ipv4({.src = kA4, .dst = kB4, .tot_len = 41}, pb::tcp({.sport = 1, .dport = 2})));
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kMalformed);
  EXPECT_EQ(d.pi.malformed, kIpv4TruncPkt);
  ASSERT_EQ(d.pi.ip_ver, 4);
  EXPECT_EQ(d.pi.l3, f.data() + 14);
  Decoded e = decode(e4(pb::fill(19, 0x45)));
  EXPECT_EQ(e.pi.l3, nullptr);  // not even a whole header
}

// ---- fuzz-style robustness ----

struct Seed {
  const char* name;
  Bytes frame;
  uint16_t linktype;
};

std::vector<Seed> seeds() {
  Bytes tcp_opts = pb::tcp({.sport = 40000, .dport = 443, .flags = kSyn,
                            .opts = pb::cat({pb::opt::mss(1460), pb::opt::sack_perm(), pb::opt::ts(1, 2),
                                             pb::opt::nop(), pb::opt::wscale(7)}),
                            .payload = pb::pattern(7)});
  Bytes ext = pb::cat({pb::ext6(60, 8), pb::ext6(17, 16)});
  return {
      {"eth ipv4 tcp opts", pb::eth(0x0800, v4(6, tcp_opts)), kLinkEthernet},
      {"vlan ipv6 hbh dst udp", pb::eth(0x86dd, v6(0, pb::cat({ext, pb::udp(53, 5353, pb::pattern(9))})), {{0x8100, 9}}),
       kLinkEthernet},
      {"qinq ipv4 opts icmp",
       pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 1, .opts = {1, 148, 4, 0, 0}}, pb::icmp(8, 0, 1, 2, pb::pattern(8))),
               {{0x88a8, 1}, {0x8100, 2}}),
       kLinkEthernet},
      {"ipv4 first fragment",
       pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 17, .id = 5, .mf = true}, pb::pattern(24))), kLinkEthernet},
      {"ipv6 hbh fragment",
       pb::eth(0x86dd, v6(0, pb::cat({pb::ext6(44, 8), pb::frag6(6, 8, true, 77), pb::pattern(16)}))), kLinkEthernet},
      {"sll2 ipv6 ah tcp", pb::sll2(0x86dd, v6(51, pb::cat({pb::ah6(6, 16), tcp_opts}))), kLinkSll2},
      {"null ipv4 udp", pb::null_hdr(2, false, v4(17, pb::udp(1, 2, pb::pattern(4)))), kLinkNull},
      {"sll ipv4 tcp", pb::sll(0x0800, v4(6, tcp_opts)), kLinkSll},
      {"raw ipv6 icmpv6", v6(58, pb::icmp(128, 0, 3, 4, pb::pattern(6))), kLinkRaw},
  };
}

// Decodes `n` bytes from an exact-size heap copy and checks invariants.
DecodeStatus decode_exact(const uint8_t* src, size_t n, uint16_t linktype) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[n]);
  if (n) std::memcpy(buf.get(), src, n);
  PacketInfo pi{};
  DecodeCounters c{};
  DecodeStatus st = decode_frame(buf.get(), uint32_t(n), linktype, pi, c);
  (void)dispatch_hash(buf.get(), uint32_t(n), linktype);
  const uint8_t* end = buf.get() + n;
  switch (st) {
    case DecodeStatus::kOk:
      EXPECT_EQ(c.malformed_total, 0u);
      EXPECT_TRUE(pi.l3 >= buf.get() && pi.l3 + pi.l3_len <= end);
      EXPECT_LE(pi.l4_off, pi.l3_len);
      EXPECT_LE(uint32_t(pi.payload_off) + pi.payload_len, pi.l3_len);
      EXPECT_EQ(pi.hash, flow_hash(pi.key));
      break;
    case DecodeStatus::kFragment:
      EXPECT_EQ(c.malformed_total, 0u);
      EXPECT_TRUE(pi.l3 >= buf.get() && pi.l3 + pi.l3_len <= end);
      EXPECT_EQ(uint32_t(pi.frag.data_off) + pi.frag.data_len, pi.l3_len);
      EXPECT_LE(uint32_t(pi.frag.offset) + pi.frag.data_len, 65535u);
      break;
    case DecodeStatus::kMalformed:
      EXPECT_EQ(c.malformed_total, 1u);
      EXPECT_EQ(malformed_sum(c), 1u);
      break;
    case DecodeStatus::kNotIp:
      EXPECT_EQ(c.malformed_total, 0u);
      EXPECT_EQ(c.not_ip, 1u);
      break;
  }
  return st;
}

TEST(DecodeFuzz, EveryTruncationIsMalformed) {
  for (const Seed& s : seeds()) {
    SCOPED_TRACE(s.name);
    const size_t len = s.frame.size();
    ASSERT_NE(decode_exact(s.frame.data(), len, s.linktype), DecodeStatus::kMalformed);
    // No link padding in the seeds: any cut lands inside the IP datagram.
    for (size_t n = 0; n < len; n++)
      ASSERT_EQ(decode_exact(s.frame.data(), n, s.linktype), DecodeStatus::kMalformed) << "len " << n;
  }
}

TEST(DecodeFuzz, RandomMutationsNeverCrash) {
  std::mt19937 rng(0x5eed1234);
  int counts[4] = {};
  for (const Seed& s : seeds()) {
    SCOPED_TRACE(s.name);
    for (int it = 0; it < 20000; it++) {
      Bytes f = s.frame;
      int flips = 1 + int(rng() % 4);
      for (int k = 0; k < flips; k++) {
        // Bias towards the headers, where the decoder branches.
        size_t pos = rng() % 2 ? rng() % std::min<size_t>(f.size(), 64) : rng() % f.size();
        f[pos] = uint8_t(rng());
      }
      size_t n = rng() % 4 == 0 ? rng() % (f.size() + 1) : f.size();
      counts[int(decode_exact(f.data(), n, s.linktype))]++;
      if (testing::Test::HasFailure()) return;
    }
  }
  // The loop explored every outcome.
  for (int i = 0; i < 4; i++) EXPECT_GT(counts[i], 0) << "status " << i;
}

}  // namespace
}  // namespace spectre::test
