// Symmetric hashing: software flow/dispatch hashes, and the NIC's Toeplitz
// RSS with kSymmetricRssKey (checked with DPDK's rte_softrss).
#include <gtest/gtest.h>
#include <rte_byteorder.h>
#include <rte_thash.h>

#include <random>

#include "dataplane/decode/decode.h"
#include "dataplane/io/port.h"
#include "tests/unit/pktbuild.h"

namespace spectre {
namespace {

using pb::Bytes;

TEST(SymmetricHash, FlowKeyAndAddrPairRandom) {
  std::mt19937 rng(99);
  const uint16_t vlans[3][2] = {{0, 0}, {0x1005, 0}, {0x10c8, 0x1064}};
  for (int i = 0; i < 5000; i++) {
    unsigned alen = i % 2 ? 16 : 4;
    uint8_t a[16] = {}, b[16] = {};
    for (unsigned j = 0; j < alen; j++) {
      a[j] = uint8_t(rng());
      b[j] = uint8_t(rng());
    }
    if (i % 50 == 0) std::memcpy(b, a, alen);  // same host, ports decide
    uint16_t sp = uint16_t(rng()), dp = uint16_t(rng());
    const uint16_t* vl = vlans[i % 3];
    uint8_t ver = alen == 4 ? 4 : 6;
    FlowKey k1, k2;
    bool s1 = make_flow_key(k1, a, b, alen, sp, dp, 17, ver, vl);
    bool s2 = make_flow_key(k2, b, a, alen, dp, sp, 17, ver, vl);
    ASSERT_EQ(std::memcmp(&k1, &k2, sizeof k1), 0) << i;
    ASSERT_EQ(flow_hash(k1), flow_hash(k2));
    if (std::memcmp(a, b, alen) != 0 || sp != dp) {
      ASSERT_NE(s1, s2) << i;
    }
    ASSERT_EQ(addr_pair_hash(a, b, alen, vl), addr_pair_hash(b, a, alen, vl));
    // Unaligned inputs (packet bytes) hash the same.
    uint8_t buf[40];
    std::memcpy(buf + 1, a, alen);
    std::memcpy(buf + 19, b, alen);
    ASSERT_EQ(addr_pair_hash(buf + 1, buf + 19, alen, vl), addr_pair_hash(a, b, alen, vl));
  }
}

TEST(SymmetricHash, VlanAndPortsChangeTheHash) {
  const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
  const uint16_t none[2] = {0, 0}, v5[2] = {0x1005, 0}, v6[2] = {0x1006, 0}, q[2] = {0x1005, 0x1006};
  uint32_t h0 = addr_pair_hash(a, b, 4, none);
  EXPECT_NE(h0, addr_pair_hash(a, b, 4, v5));
  EXPECT_NE(addr_pair_hash(a, b, 4, v5), addr_pair_hash(a, b, 4, v6));
  EXPECT_NE(addr_pair_hash(a, b, 4, v5), addr_pair_hash(a, b, 4, q));
  FlowKey k1, k2;
  make_flow_key(k1, a, b, 4, 1000, 80, 6, 4, none);
  make_flow_key(k2, a, b, 4, 1001, 80, 6, 4, none);
  EXPECT_NE(flow_hash(k1), flow_hash(k2));
}

Bytes tcp4(pb::Ip4 s, pb::Ip4 d, uint16_t sp, uint16_t dp, std::vector<pb::Vlan> v = {}) {
  return pb::eth(0x0800, pb::ipv4({.src = s, .dst = d, .proto = 6}, pb::tcp({.sport = sp, .dport = dp})), v);
}

TEST(SymmetricHash, DispatchHashBothDirections) {
  pb::Ip4 a = pb::ip4("192.0.2.10"), b = pb::ip4("198.51.100.7");
  pb::Ip6 a6 = pb::ip6("2001:db8:1::10"), b6 = pb::ip6("2001:db8:ffff::7");
  const uint16_t none[2] = {0, 0}, qinq[2] = {0x1001, 0x1002};

  Bytes f = tcp4(a, b, 40000, 80), r = tcp4(b, a, 80, 40000);
  uint32_t hf = dispatch_hash(f.data(), uint32_t(f.size()), kLinkEthernet);
  EXPECT_EQ(hf, dispatch_hash(r.data(), uint32_t(r.size()), kLinkEthernet));
  EXPECT_EQ(hf, addr_pair_hash(a.data(), b.data(), 4, none));

  // VLANs take part; ports do not (fragments follow their flow).
  Bytes fq = tcp4(a, b, 1, 2, {{0x88a8, 1}, {0x8100, 2}}), rq = tcp4(b, a, 2, 1, {{0x88a8, 1}, {0x8100, 2}});
  uint32_t hq = dispatch_hash(fq.data(), uint32_t(fq.size()), kLinkEthernet);
  EXPECT_EQ(hq, dispatch_hash(rq.data(), uint32_t(rq.size()), kLinkEthernet));
  EXPECT_EQ(hq, addr_pair_hash(a.data(), b.data(), 4, qinq));
  EXPECT_NE(hq, hf);
  Bytes frag = pb::eth(0x0800, pb::ipv4({.src = b, .dst = a, .proto = 6, .id = 3, .frag_off = 8}, pb::fill(8, 0)));
  EXPECT_EQ(dispatch_hash(frag.data(), uint32_t(frag.size()), kLinkEthernet), hf);

  Bytes f6 = pb::eth(0x86dd, pb::ipv6({.src = a6, .dst = b6, .nh = 17}, pb::udp(1, 2)));
  Bytes r6 = pb::eth(0x86dd, pb::ipv6({.src = b6, .dst = a6, .nh = 17}, pb::udp(2, 1)));
  uint32_t h6 = dispatch_hash(f6.data(), uint32_t(f6.size()), kLinkEthernet);
  EXPECT_EQ(h6, dispatch_hash(r6.data(), uint32_t(r6.size()), kLinkEthernet));
  EXPECT_EQ(h6, addr_pair_hash(a6.data(), b6.data(), 16, none));

  // The same packet seen on a raw-IP link dispatches identically.
  Bytes raw(f.begin() + 14, f.end());
  EXPECT_EQ(dispatch_hash(raw.data(), uint32_t(raw.size()), kLinkRaw), hf);

  // Non-IP, truncated L3 and bad link headers give 0.
  Bytes arp = pb::eth(0x0806, pb::fill(28, 0));
  EXPECT_EQ(dispatch_hash(arp.data(), uint32_t(arp.size()), kLinkEthernet), 0u);
  EXPECT_EQ(dispatch_hash(f.data(), 14 + 19, kLinkEthernet), 0u);
  EXPECT_EQ(dispatch_hash(f6.data(), 14 + 39, kLinkEthernet), 0u);
  EXPECT_EQ(dispatch_hash(f.data(), 10, kLinkEthernet), 0u);
  EXPECT_EQ(dispatch_hash(f.data(), uint32_t(f.size()), 147), 0u);
}

// ---- Toeplitz (NIC RSS) ----

uint32_t v4_rss(uint32_t src, uint32_t dst, uint16_t sp, uint16_t dp, bool l4, const uint8_t* key) {
  rte_ipv4_tuple t{};
  t.src_addr = src;  // host order, as rte_thash.h documents
  t.dst_addr = dst;
  t.sport = sp;
  t.dport = dp;
  return rte_softrss(reinterpret_cast<uint32_t*>(&t), l4 ? RTE_THASH_V4_L4_LEN : RTE_THASH_V4_L3_LEN, key);
}

uint32_t v6_rss(const uint8_t* src, const uint8_t* dst, uint16_t sp, uint16_t dp, bool l4, const uint8_t* key) {
  rte_ipv6_hdr h{};
  std::memcpy(&h.src_addr, src, 16);
  std::memcpy(&h.dst_addr, dst, 16);
  rte_thash_tuple t{};
  rte_thash_load_v6_addrs(&h, &t);
  t.v6.sport = sp;
  t.v6.dport = dp;
  return rte_softrss(reinterpret_cast<uint32_t*>(&t), l4 ? RTE_THASH_V6_L4_LEN : RTE_THASH_V6_L3_LEN, key);
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

// Microsoft's RSS verification key and vectors (also in the 82599 datasheet):
// proves the tuple layout and byte order used below.
TEST(ToeplitzRss, KnownVectors) {
  const uint8_t ms_key[40] = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
                              0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
                              0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
  uint32_t src = be32(pb::ip4("66.9.149.187").data()), dst = be32(pb::ip4("161.142.100.80").data());
  EXPECT_EQ(v4_rss(src, dst, 2794, 1766, false, ms_key), 0x323e8fc2u);
  EXPECT_EQ(v4_rss(src, dst, 2794, 1766, true, ms_key), 0x51ccc178u);
  pb::Ip6 s6 = pb::ip6("3ffe:2501:200:1fff::7"), d6 = pb::ip6("3ffe:2501:200:3::1");
  EXPECT_EQ(v6_rss(s6.data(), d6.data(), 2794, 1766, false, ms_key), 0x2cc18cd5u);
  EXPECT_EQ(v6_rss(s6.data(), d6.data(), 2794, 1766, true, ms_key), 0x40207d3du);
}

TEST(ToeplitzRss, SymmetricKeyIpv4) {
  std::mt19937 rng(1);
  for (int i = 0; i < 20000; i++) {
    uint32_t s = uint32_t(rng()), d = uint32_t(rng());
    uint16_t sp = uint16_t(rng()), dp = uint16_t(rng());
    ASSERT_EQ(v4_rss(s, d, sp, dp, false, kSymmetricRssKey), v4_rss(d, s, dp, sp, false, kSymmetricRssKey)) << i;
    ASSERT_EQ(v4_rss(s, d, sp, dp, true, kSymmetricRssKey), v4_rss(d, s, dp, sp, true, kSymmetricRssKey)) << i;
  }
}

TEST(ToeplitzRss, SymmetricKeyIpv6) {
  std::mt19937 rng(2);
  for (int i = 0; i < 20000; i++) {
    uint8_t s[16], d[16];
    for (int j = 0; j < 16; j++) {
      s[j] = uint8_t(rng());
      d[j] = uint8_t(rng());
    }
    uint16_t sp = uint16_t(rng()), dp = uint16_t(rng());
    ASSERT_EQ(v6_rss(s, d, sp, dp, false, kSymmetricRssKey), v6_rss(d, s, dp, sp, false, kSymmetricRssKey)) << i;
    ASSERT_EQ(v6_rss(s, d, sp, dp, true, kSymmetricRssKey), v6_rss(d, s, dp, sp, true, kSymmetricRssKey)) << i;
  }
}

// Sanity: with an ordinary random key the same checks fail almost always,
// so the tests above can fail.
TEST(ToeplitzRss, RandomKeyIsNotSymmetric) {
  std::mt19937 rng(3);
  uint8_t key[40];
  for (auto& b : key) b = uint8_t(rng());
  int same4 = 0, same6 = 0, spread = 0;
  uint32_t first = 0;
  for (int i = 0; i < 1000; i++) {
    uint32_t s = uint32_t(rng()), d = uint32_t(rng());
    uint16_t sp = uint16_t(rng()), dp = uint16_t(rng());
    same4 += v4_rss(s, d, sp, dp, true, key) == v4_rss(d, s, dp, sp, true, key);
    uint8_t s6[16], d6[16];
    for (int j = 0; j < 16; j++) {
      s6[j] = uint8_t(rng());
      d6[j] = uint8_t(rng());
    }
    same6 += v6_rss(s6, d6, sp, dp, false, key) == v6_rss(d6, s6, dp, sp, false, key);
    // The symmetric key still spreads flows (not a constant hash).
    uint32_t h = v4_rss(s, d, sp, dp, true, kSymmetricRssKey);
    if (i == 0) first = h;
    spread += h != first;
  }
  EXPECT_LE(same4, 2);
  EXPECT_LE(same6, 2);
  EXPECT_GE(spread, 990);
}

}  // namespace
}  // namespace spectre
