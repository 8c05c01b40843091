// Decoder happy paths: fields, offsets, options, VLANs, link types, fragments.
#include <gtest/gtest.h>

#include "tests/unit/decode/decode_util.h"

namespace spectre::test {
namespace {

using pb::Bytes;

Bytes tcp_syn_ack_opts() {
  return pb::tcp({.sport = 40000, .dport = 80, .seq = 0x11223344, .ack = 0x55667788,
                  .flags = kSyn | kAck, .win = 29200,
                  .opts = pb::cat({pb::opt::mss(1460), pb::opt::nop(), pb::opt::wscale(7),
                                   pb::opt::sack_perm(), pb::opt::ts(0x01020304, 0x0a0b0c0d)}),
                  .payload = {'h', 'e', 'l', 'l', 'o'}});
}

TEST(Decode, EthIpv4TcpAllFields) {
  Bytes f = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 6, .ttl = 77}, tcp_syn_ack_opts()));
  ASSERT_EQ(f.size(), 14u + 20 + 40 + 5);
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  const PacketInfo& p = d.pi;
  EXPECT_EQ(p.l3, f.data() + 14);
  EXPECT_EQ(p.l3_len, 65);
  EXPECT_EQ(p.ip_ver, 4);
  EXPECT_EQ(p.proto, 6);
  EXPECT_EQ(p.ttl, 77);
  EXPECT_EQ(p.l4_off, 20);
  EXPECT_EQ(p.payload_off, 60);
  EXPECT_EQ(p.payload_len, 5);
  EXPECT_EQ(std::memcmp(p.l3 + p.payload_off, "hello", 5), 0);
  EXPECT_EQ(p.sport, 40000);
  EXPECT_EQ(p.dport, 80);
  EXPECT_EQ(p.tcp_seq, 0x11223344u);
  EXPECT_EQ(p.tcp_ack, 0x55667788u);
  EXPECT_EQ(p.tcp_win, 29200);
  EXPECT_EQ(p.tcp_flags, kSyn | kAck);
  EXPECT_EQ(p.tcp_opts.mss, 1460);
  EXPECT_EQ(p.tcp_opts.wscale, 7);
  EXPECT_TRUE(p.tcp_opts.sack_perm);
  EXPECT_TRUE(p.tcp_opts.has_ts);
  EXPECT_EQ(p.tcp_opts.tsval, 0x01020304u);
  EXPECT_EQ(p.tcp_opts.tsecr, 0x0a0b0c0du);
  EXPECT_EQ(p.vlan_count, 0);
  EXPECT_FALSE(p.swapped);
  EXPECT_FALSE(p.reassembled);

  FlowKey want{};
  std::memcpy(want.lo_addr, kA4.data(), 4);
  std::memcpy(want.hi_addr, kB4.data(), 4);
  want.lo_port = 40000;
  want.hi_port = 80;
  want.proto = 6;
  want.ip_ver = 4;
  EXPECT_TRUE(p.key == want);
  EXPECT_EQ(p.hash, flow_hash(want));

  EXPECT_EQ(d.c.ethernet, 1u);
  EXPECT_EQ(d.c.ipv4, 1u);
  EXPECT_EQ(d.c.tcp, 1u);
  EXPECT_EQ(d.c.udp + d.c.ipv6 + d.c.vlan + d.c.not_ip + d.c.other_ip + d.c.ipv4_frags, 0u);
  EXPECT_EQ(d.c.malformed_total, 0u);
  EXPECT_EQ(malformed_sum(d.c), 0u);
}

TEST(Decode, TcpWithoutOptionsKeepsDefaults) {
  Bytes f = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4}, pb::tcp({.sport = 1, .dport = 2, .flags = kAck | kPsh})));
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.tcp_opts.mss, 0);
  EXPECT_EQ(d.pi.tcp_opts.wscale, 0xff);
  EXPECT_FALSE(d.pi.tcp_opts.sack_perm);
  EXPECT_FALSE(d.pi.tcp_opts.has_ts);
  EXPECT_EQ(d.pi.tcp_flags, kAck | kPsh);
  EXPECT_EQ(d.pi.payload_off, 40);
  EXPECT_EQ(d.pi.payload_len, 0);
}

TEST(Decode, TcpOptionsEolUnknownAndBadLengthKnownKinds) {
  // Unknown kind 30 (len 6) skipped; MSS after it parsed; EOL stops parsing
  // so the garbage after it is ignored.
  Bytes opts = pb::cat({{30, 6, 9, 9, 9, 9}, pb::opt::mss(1000), pb::opt::wscale(14), pb::opt::eol(),
                        {0xff, 0xff, 0xff}});
  Bytes f = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4}, pb::tcp({.sport = 1, .dport = 2, .opts = opts})));
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.tcp_opts.mss, 1000);
  EXPECT_EQ(d.pi.tcp_opts.wscale, 14);
  EXPECT_EQ(d.pi.payload_off, 20 + 20 + 20);

  // A known kind with the wrong length is well framed but ignored.
  Bytes f2 = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4},
                                      pb::tcp({.sport = 1, .dport = 2, .opts = {2, 3, 5, 8, 4, 4, 1, 1}})));
  Decoded d2 = decode(f2);
  ASSERT_EQ(d2.st, DecodeStatus::kOk);
  EXPECT_EQ(d2.pi.tcp_opts.mss, 0);
  EXPECT_FALSE(d2.pi.tcp_opts.sack_perm);
  EXPECT_FALSE(d2.pi.tcp_opts.has_ts);
}

TEST(Decode, EthernetPaddingTrimmed) {
  Bytes ip = pb::ipv4({.src = kA4, .dst = kB4, .proto = 17}, pb::udp(5353, 53, {1, 2, 3, 4}));
  Bytes f = pb::eth(0x0800, ip);
  f.resize(60, 0);
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.l3_len, 32);
  EXPECT_EQ(d.pi.payload_off, 28);
  EXPECT_EQ(d.pi.payload_len, 4);
  EXPECT_EQ(d.pi.sport, 5353);
  EXPECT_EQ(d.pi.dport, 53);
  EXPECT_EQ(d.c.udp, 1u);
}

TEST(Decode, Ipv4OptionsShiftL4) {
  // NOP NOP RouterAlert(4) + EOL pad: 8 bytes of options, header 28.
  Bytes ip = pb::ipv4({.src = kA4, .dst = kB4, .proto = 17, .opts = {1, 1, 148, 4, 0, 0}},
                      pb::udp(1000, 2000, pb::pattern(6)));
  Bytes f = pb::eth(0x0800, ip);
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.l4_off, 28);
  EXPECT_EQ(d.pi.payload_off, 36);
  EXPECT_EQ(d.pi.payload_len, 6);
  EXPECT_EQ(d.pi.sport, 1000);
}

TEST(Decode, UdpLengthShorterThanIpPayload) {
  Bytes f = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 17},
                                     pb::udp(1, 2, pb::pattern(10), /*len=*/14)));
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.payload_len, 6);
  EXPECT_EQ(d.pi.l3_len, 38);
}

TEST(Decode, IcmpEcho) {
  Bytes f = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 1}, pb::icmp(8, 0, 7, 1, pb::pattern(12))));
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.icmp_type, 8);
  EXPECT_EQ(d.pi.icmp_code, 0);
  EXPECT_EQ(d.pi.sport, 0);
  EXPECT_EQ(d.pi.dport, 0);
  EXPECT_EQ(d.pi.key.lo_port, 0x0800);
  EXPECT_EQ(d.pi.key.hi_port, 0x0800);
  EXPECT_EQ(d.pi.payload_off, 28);
  EXPECT_EQ(d.pi.payload_len, 12);
  EXPECT_EQ(d.c.icmpv4, 1u);
  // Unreachable: type/code in both key ports.
  Bytes u = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 1}, pb::icmp(3, 1)));
  Decoded du = decode(u);
  ASSERT_EQ(du.st, DecodeStatus::kOk);
  EXPECT_EQ(du.pi.key.lo_port, 0x0301);
  EXPECT_EQ(du.pi.key.hi_port, 0x0301);
}

TEST(Decode, OtherIpProtocol) {
  Bytes f = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 50}, pb::pattern(12)));  // ESP
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.proto, 50);
  EXPECT_EQ(d.pi.l4_off, 20);
  EXPECT_EQ(d.pi.payload_off, 20);
  EXPECT_EQ(d.pi.payload_len, 12);
  EXPECT_EQ(d.pi.key.lo_port, 0);
  EXPECT_EQ(d.pi.key.hi_port, 0);
  EXPECT_EQ(d.c.other_ip, 1u);
}

TEST(Decode, Ipv6Tcp) {
  Bytes f = pb::eth(0x86dd, pb::ipv6({.src = kB6, .dst = kA6, .nh = 6, .hlim = 33},
                                     pb::tcp({.sport = 443, .dport = 50000, .flags = kAck, .payload = pb::pattern(9)})));
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.ip_ver, 6);
  EXPECT_EQ(d.pi.ttl, 33);
  EXPECT_EQ(d.pi.l3_len, 40 + 29);
  EXPECT_EQ(d.pi.l4_off, 40);
  EXPECT_EQ(d.pi.payload_off, 60);
  EXPECT_EQ(d.pi.payload_len, 9);
  EXPECT_TRUE(d.pi.swapped);  // src B6 sorts above A6
  EXPECT_EQ(std::memcmp(d.pi.key.lo_addr, kA6.data(), 16), 0);
  EXPECT_EQ(std::memcmp(d.pi.key.hi_addr, kB6.data(), 16), 0);
  EXPECT_EQ(d.pi.key.lo_port, 50000);
  EXPECT_EQ(d.pi.key.hi_port, 443);
  EXPECT_EQ(d.pi.key.ip_ver, 6);
  EXPECT_EQ(d.c.ipv6, 1u);
  EXPECT_EQ(d.c.tcp, 1u);
}

TEST(Decode, Ipv6ExtensionHeaderChain) {
  // HBH(8) -> DstOpts(16) -> Routing(24) -> AH(16) -> UDP.
  Bytes ext = pb::cat({pb::ext6(60, 8), pb::ext6(43, 16), pb::ext6(51, 24), pb::ah6(17, 16)});
  Bytes f = pb::eth(0x86dd, pb::ipv6({.src = kA6, .dst = kB6, .nh = 0}, pb::cat({ext, pb::udp(7, 9, pb::pattern(3))})));
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.proto, 17);
  EXPECT_EQ(d.pi.l4_off, 40 + 64);
  EXPECT_EQ(d.pi.payload_off, 40 + 64 + 8);
  EXPECT_EQ(d.pi.payload_len, 3);
  EXPECT_EQ(d.pi.sport, 7);
  EXPECT_EQ(d.pi.dport, 9);
}

TEST(Decode, Ipv6AtomicFragmentIsSkipped) {
  Bytes f = pb::eth(0x86dd, pb::ipv6({.src = kA6, .dst = kB6, .nh = 44},
                                     pb::cat({pb::frag6(6, 0, false, 99), pb::tcp({.sport = 5, .dport = 6})})));
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.proto, 6);
  EXPECT_EQ(d.pi.l4_off, 48);
  EXPECT_EQ(d.c.ipv6_frags, 0u);
}

TEST(Decode, Ipv6NoNextHeader) {
  Bytes f = pb::eth(0x86dd, pb::ipv6({.src = kA6, .dst = kB6, .nh = 0}, pb::cat({pb::ext6(59, 8), pb::fill(4, 0)})));
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.proto, 59);
  EXPECT_EQ(d.pi.l4_off, 48);
  EXPECT_EQ(d.pi.payload_len, 4);
  EXPECT_EQ(d.c.other_ip, 1u);
}

TEST(Decode, Icmpv6Echo) {
  Bytes f = pb::eth(0x86dd, pb::ipv6({.src = kA6, .dst = kB6, .nh = 58}, pb::icmp(128, 0, 1, 1, pb::pattern(4))));
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.icmp_type, 128);
  EXPECT_EQ(d.pi.key.lo_port, 128 << 8);
  EXPECT_EQ(d.pi.payload_len, 4);
  EXPECT_EQ(d.c.icmpv6, 1u);
}

TEST(Decode, SingleVlan) {
  Bytes f = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4}, pb::tcp({.sport = 1, .dport = 2})),
                    {{0x8100, 0x2064}});  // PCP 1, VID 100
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.vlan_count, 1);
  EXPECT_EQ(d.pi.vlan[0], 0x1064);
  EXPECT_EQ(d.pi.vlan[1], 0);
  EXPECT_EQ(d.pi.key.vlan[0], 0x1064);
  EXPECT_EQ(d.pi.key.vlan[1], 0);
  EXPECT_EQ(d.pi.l3, f.data() + 18);
  EXPECT_EQ(d.c.vlan, 1u);
  EXPECT_EQ(d.c.vlan_qinq, 0u);
}

TEST(Decode, PriorityTagVidZero) {
  Bytes f = pb::eth(0x86dd, pb::ipv6({.src = kA6, .dst = kB6, .nh = 17}, pb::udp(1, 2)), {{0x8100, 0xa000}});
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  EXPECT_EQ(d.pi.vlan[0], 0x1000);
  EXPECT_EQ(d.pi.key.vlan[0], 0x1000);
}

TEST(Decode, QinQ) {
  for (uint16_t outer : {uint16_t(0x88a8), uint16_t(0x9100), uint16_t(0x8100)}) {
    Bytes f = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 17}, pb::udp(1, 2)),
                      {{outer, 200}, {0x8100, 100}});
    Decoded d = decode(f);
    ASSERT_EQ(d.st, DecodeStatus::kOk) << outer;
    EXPECT_EQ(d.pi.vlan_count, 2);
    EXPECT_EQ(d.pi.vlan[0], 0x10c8);
    EXPECT_EQ(d.pi.vlan[1], 0x1064);
    EXPECT_EQ(d.pi.key.vlan[0], 0x10c8);
    EXPECT_EQ(d.pi.key.vlan[1], 0x1064);
    EXPECT_EQ(d.pi.l3, f.data() + 22);
    EXPECT_EQ(d.c.vlan_qinq, 1u);
    EXPECT_EQ(d.c.vlan, 0u);
  }
}

TEST(Decode, NonIpFrames) {
  Bytes arp = pb::eth(0x0806, pb::fill(28, 0));
  Decoded d = decode(arp);
  EXPECT_EQ(d.st, DecodeStatus::kNotIp);
  EXPECT_EQ(d.c.not_ip, 1u);
  EXPECT_EQ(d.c.ethernet, 1u);
  EXPECT_EQ(d.c.malformed_total, 0u);

  Bytes varp = pb::eth(0x0806, pb::fill(28, 0), {{0x8100, 5}});
  Decoded dv = decode(varp);
  EXPECT_EQ(dv.st, DecodeStatus::kNotIp);
  EXPECT_EQ(dv.pi.vlan_count, 1);
  EXPECT_EQ(dv.pi.vlan[0], 0x1005);
  EXPECT_EQ(dv.c.vlan, 1u);

  Decoded dl = decode(pb::eth(0x88cc, pb::fill(46, 0)));
  EXPECT_EQ(dl.st, DecodeStatus::kNotIp);
}

struct LinkCase {
  const char* name;
  uint16_t linktype;
  Bytes frame;
  size_t l3_off;
  uint8_t ip_ver;
};

TEST(Decode, LinkTypes) {
  Bytes v4 = pb::ipv4({.src = kA4, .dst = kB4, .proto = 17}, pb::udp(10, 20, pb::pattern(5)));
  Bytes v6 = pb::ipv6({.src = kA6, .dst = kB6, .nh = 17}, pb::udp(10, 20, pb::pattern(5)));
  const LinkCase cases[] = {
      {"raw v4", kLinkRaw, v4, 0, 4},
      {"raw v6", kLinkRaw, v6, 0, 6},
      {"raw alt 12", kLinkRawAlt, v4, 0, 4},
      {"raw openbsd 14", kLinkRawOpenBsd, v6, 0, 6},
      {"ipv4 228", kLinkIpv4, v4, 0, 4},
      {"ipv6 229", kLinkIpv6, v6, 0, 6},
      {"sll v4", kLinkSll, pb::sll(0x0800, v4), 16, 4},
      {"sll v6", kLinkSll, pb::sll(0x86dd, v6), 16, 6},
      {"sll2 v4", kLinkSll2, pb::sll2(0x0800, v4), 20, 4},
      {"sll2 v6", kLinkSll2, pb::sll2(0x86dd, v6), 20, 6},
      {"null le af2", kLinkNull, pb::null_hdr(2, false, v4), 4, 4},
      {"null be af2", kLinkNull, pb::null_hdr(2, true, v4), 4, 4},
      {"null le af24", kLinkNull, pb::null_hdr(24, false, v6), 4, 6},
      {"null le af28", kLinkNull, pb::null_hdr(28, false, v6), 4, 6},
      {"null le af30", kLinkNull, pb::null_hdr(30, false, v6), 4, 6},
      {"null be af30", kLinkNull, pb::null_hdr(30, true, v6), 4, 6},
      {"loop be af2", kLinkLoop, pb::null_hdr(2, true, v4), 4, 4},
      {"loop be af24", kLinkLoop, pb::null_hdr(24, true, v6), 4, 6},
  };
  for (const LinkCase& lc : cases) {
    SCOPED_TRACE(lc.name);
    Decoded d = decode(lc.frame, lc.linktype);
    ASSERT_EQ(d.st, DecodeStatus::kOk);
    EXPECT_EQ(d.pi.l3, lc.frame.data() + lc.l3_off);
    EXPECT_EQ(d.pi.ip_ver, lc.ip_ver);
    EXPECT_EQ(d.pi.sport, 10);
    EXPECT_EQ(d.pi.dport, 20);
    EXPECT_EQ(d.pi.payload_len, 5);
    EXPECT_EQ(d.c.ethernet, 0u);
    EXPECT_EQ(d.c.udp, 1u);
  }
  // Link headers naming a non-IP protocol.
  EXPECT_EQ(decode(pb::sll(0x0806, pb::fill(28, 0)), kLinkSll).st, DecodeStatus::kNotIp);
  EXPECT_EQ(decode(pb::sll2(0x0806, pb::fill(28, 0)), kLinkSll2).st, DecodeStatus::kNotIp);
  EXPECT_EQ(decode(pb::null_hdr(7, false, v4), kLinkNull).st, DecodeStatus::kNotIp);
}

TEST(Decode, Ipv4Fragments) {
  Bytes first = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 17, .id = 0x1234, .mf = true},
                                         pb::udp(1, 2, pb::pattern(8))));
  Decoded d = decode(first);
  ASSERT_EQ(d.st, DecodeStatus::kFragment);
  EXPECT_EQ(d.pi.l3, first.data() + 14);
  EXPECT_EQ(d.pi.proto, 17);
  EXPECT_EQ(d.pi.frag.id, 0x1234u);
  EXPECT_EQ(d.pi.frag.offset, 0);
  EXPECT_TRUE(d.pi.frag.more);
  EXPECT_EQ(d.pi.frag.hdr_len, 20);
  EXPECT_EQ(d.pi.frag.data_off, 20);
  EXPECT_EQ(d.pi.frag.data_len, 16);
  EXPECT_EQ(d.pi.frag.next_proto, 17);
  EXPECT_EQ(d.c.ipv4_frags, 1u);
  EXPECT_EQ(d.c.ipv4, 1u);
  EXPECT_EQ(d.c.udp, 0u);

  Bytes last = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 17, .id = 0x1234, .frag_off = 16,
                                         .opts = {1, 1, 1, 1}},
                                        pb::pattern(10)));
  Decoded dl = decode(last);
  ASSERT_EQ(dl.st, DecodeStatus::kFragment);
  EXPECT_EQ(dl.pi.frag.offset, 16);
  EXPECT_FALSE(dl.pi.frag.more);
  EXPECT_EQ(dl.pi.frag.hdr_len, 24);
  EXPECT_EQ(dl.pi.frag.data_off, 24);
  EXPECT_EQ(dl.pi.frag.data_len, 10);

  // DF alone is not a fragment.
  Bytes df = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 17, .df = true}, pb::udp(1, 2)));
  EXPECT_EQ(decode(df).st, DecodeStatus::kOk);
}

TEST(Decode, Ipv6Fragments) {
  Bytes f = pb::eth(0x86dd, pb::ipv6({.src = kA6, .dst = kB6, .nh = 44},
                                     pb::cat({pb::frag6(17, 0, true, 0xdeadbeef), pb::pattern(16)})));
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kFragment);
  EXPECT_EQ(d.pi.proto, 44);
  EXPECT_EQ(d.pi.frag.id, 0xdeadbeefu);
  EXPECT_EQ(d.pi.frag.offset, 0);
  EXPECT_TRUE(d.pi.frag.more);
  EXPECT_EQ(d.pi.frag.hdr_len, 40);
  EXPECT_EQ(d.pi.frag.nh_field, 6);
  EXPECT_EQ(d.pi.frag.data_off, 48);
  EXPECT_EQ(d.pi.frag.data_len, 16);
  EXPECT_EQ(d.pi.frag.next_proto, 17);
  EXPECT_EQ(d.c.ipv6_frags, 1u);

  Bytes h = pb::eth(0x86dd, pb::ipv6({.src = kA6, .dst = kB6, .nh = 0},
                                     pb::cat({pb::ext6(44, 8), pb::frag6(6, 24, false, 7), pb::pattern(5)})));
  Decoded dh = decode(h);
  ASSERT_EQ(dh.st, DecodeStatus::kFragment);
  EXPECT_EQ(dh.pi.frag.hdr_len, 48);
  EXPECT_EQ(dh.pi.frag.nh_field, 40);
  EXPECT_EQ(dh.pi.frag.data_off, 56);
  EXPECT_EQ(dh.pi.frag.offset, 24);
  EXPECT_FALSE(dh.pi.frag.more);
  EXPECT_EQ(dh.pi.frag.data_len, 5);
  EXPECT_EQ(dh.pi.frag.next_proto, 6);
}

// ---- direction symmetry ----

void expect_pair(const Bytes& fwd, const Bytes& rev, uint16_t linktype = kLinkEthernet) {
  Decoded a = decode(fwd, linktype), b = decode(rev, linktype);
  ASSERT_EQ(a.st, DecodeStatus::kOk);
  ASSERT_EQ(b.st, DecodeStatus::kOk);
  EXPECT_TRUE(a.pi.key == b.pi.key);
  EXPECT_EQ(std::memcmp(&a.pi.key, &b.pi.key, sizeof(FlowKey)), 0);
  EXPECT_EQ(a.pi.hash, b.pi.hash);
  EXPECT_NE(a.pi.swapped, b.pi.swapped);
}

TEST(DecodeSymmetry, TcpUdpIcmpBothDirections) {
  auto e4 = [](pb::Ip4 s, pb::Ip4 d, uint8_t proto, const Bytes& l4, std::vector<pb::Vlan> v = {}) {
    return pb::eth(0x0800, pb::ipv4({.src = s, .dst = d, .proto = proto}, l4), v);
  };
  auto e6 = [](pb::Ip6 s, pb::Ip6 d, uint8_t nh, const Bytes& l4) {
    return pb::eth(0x86dd, pb::ipv6({.src = s, .dst = d, .nh = nh}, l4));
  };
  {
    SCOPED_TRACE("tcp v4");
    expect_pair(e4(kA4, kB4, 6, pb::tcp({.sport = 40000, .dport = 80})),
                e4(kB4, kA4, 6, pb::tcp({.sport = 80, .dport = 40000, .flags = kSyn | kAck})));
  }
  {
    SCOPED_TRACE("tcp v4 vlan");
    expect_pair(e4(kA4, kB4, 6, pb::tcp({.sport = 1, .dport = 2}), {{0x8100, 7}}),
                e4(kB4, kA4, 6, pb::tcp({.sport = 2, .dport = 1}), {{0x8100, 7}}));
  }
  {
    SCOPED_TRACE("udp v4 same address, ports decide");
    expect_pair(e4(kA4, kA4, 17, pb::udp(2000, 1000)), e4(kA4, kA4, 17, pb::udp(1000, 2000)));
  }
  {
    SCOPED_TRACE("udp v6");
    expect_pair(e6(kA6, kB6, 17, pb::udp(53, 5353)), e6(kB6, kA6, 17, pb::udp(5353, 53)));
  }
  {
    SCOPED_TRACE("icmp echo");
    expect_pair(e4(kA4, kB4, 1, pb::icmp(8, 0, 1, 1)), e4(kB4, kA4, 1, pb::icmp(0, 0, 1, 1)));
  }
  {
    SCOPED_TRACE("icmp timestamp / info / mask");
    expect_pair(e4(kA4, kB4, 1, pb::icmp(13, 0)), e4(kB4, kA4, 1, pb::icmp(14, 0)));
    expect_pair(e4(kA4, kB4, 1, pb::icmp(15, 0)), e4(kB4, kA4, 1, pb::icmp(16, 0)));
    expect_pair(e4(kA4, kB4, 1, pb::icmp(17, 0)), e4(kB4, kA4, 1, pb::icmp(18, 0)));
  }
  {
    SCOPED_TRACE("icmpv6 echo");
    expect_pair(e6(kA6, kB6, 58, pb::icmp(128, 0)), e6(kB6, kA6, 58, pb::icmp(129, 0)));
  }
  // Different VLAN or different protocol: different flows.
  Decoded v1 = decode(e4(kA4, kB4, 17, pb::udp(1, 2), {{0x8100, 7}}));
  Decoded v2 = decode(e4(kA4, kB4, 17, pb::udp(1, 2), {{0x8100, 8}}));
  Decoded t = decode(e4(kA4, kB4, 6, pb::tcp({.sport = 1, .dport = 2})));
  EXPECT_FALSE(v1.pi.key == v2.pi.key);
  EXPECT_NE(v1.pi.hash, v2.pi.hash);
  EXPECT_FALSE(v1.pi.key == t.pi.key);
}

TEST(Decode, DecodeIpKeepsVlanAndMatchesFrame) {
  Bytes ip = pb::ipv4({.src = kA4, .dst = kB4, .proto = 6}, pb::tcp({.sport = 3, .dport = 4}));
  Bytes f = pb::eth(0x0800, ip, {{0x8100, 42}});
  Decoded d = decode(f);
  ASSERT_EQ(d.st, DecodeStatus::kOk);
  PacketInfo p{};
  p.vlan_count = 1;
  p.vlan[0] = 0x1000 | 42;
  DecodeCounters c{};
  ASSERT_EQ(decode_ip(ip.data(), uint32_t(ip.size()), 0x0800, p, c), DecodeStatus::kOk);
  EXPECT_TRUE(p.key == d.pi.key);
  EXPECT_EQ(p.hash, d.pi.hash);
  EXPECT_EQ(c.ethernet, 0u);
  EXPECT_EQ(c.ipv4, 1u);
}

}  // namespace
}  // namespace spectre::test
