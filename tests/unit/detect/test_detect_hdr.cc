// Header sticky buffers ipv4.hdr, ipv6.hdr, tcp.hdr, udp.hdr, icmpv4.hdr,
// icmpv6.hdr (Suricata header-keywords: the raw header, options included),
// engine and reference side by side on hand-built headers.
#include <random>

#include "tests/unit/detect/detect_util.h"

namespace spectre::detect_test {
namespace {

// A packet whose header bytes are `ip` + `l4` (payload passed separately).
struct HdrPkt {
  std::string bytes;
  Pkt pk;
  HdrPkt(uint8_t ver, uint8_t proto, const std::string& ip, const std::string& l4, uint16_t sport = 1000,
         uint16_t dport = 80)
      : bytes(ip + l4), pk(proto, sport, dport) {
    pk.p.ip_ver = ver;
    pk.p.l3 = reinterpret_cast<const uint8_t*>(bytes.data());
    pk.p.l4_off = uint16_t(ip.size());
    pk.p.l4_hlen = uint16_t(l4.size());
    if (proto == 6) pk.p.tcp_flags = uint8_t(l4[13]);
  }
  HdrPkt(const HdrPkt&) = delete;
};

std::string ipv4(uint8_t proto, const std::string& opts = "") {
  const int ihl = 5 + int(opts.size() / 4);
  return bin({0x40 | ihl, 0, 0, 40, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 192, 168, 0, 1}) + opts;
}
std::string ipv6(uint8_t next) {
  return bin({0x60, 0, 0, 0, 0, 8, next, 64}) + std::string(15, '\0') + bin({1}) + std::string(15, '\0') + bin({2});
}
// TCP header: 20 bytes plus options (a multiple of 4).
std::string tcp(uint8_t flags, const std::string& opts = "") {
  const int doff = 5 + int(opts.size() / 4);
  return bin({0x03, 0xe8, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, doff << 4, flags, 0xff, 0xff, 0, 0, 0, 0}) + opts;
}

// Suricata's tcp.hdr example: the MSS option (kind 2, length 4) after the
// fixed 20 bytes, and its value below 536.
TEST(DetectHdr, SuricataTcpHdrMssExample) {
  Harness h;
  h.add(parse(R"(alert tcp any any -> any any (flags:S,12; tcp.hdr; content:"|02 04|"; offset:20; byte_test:2,<,536,0,big,relative; sid:1;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  HdrPkt small(4, 6, ipv4(6), tcp(0x02, bin({2, 4, 0x01, 0xf4})));  // MSS 500
  HdrPkt normal(4, 6, ipv4(6), tcp(0x02, bin({2, 4, 0x05, 0xb4})));  // MSS 1460
  HdrPkt noopt(4, 6, ipv4(6), tcp(0x02));
  HdrPkt ack(4, 6, ipv4(6), tcp(0x10, bin({2, 4, 0x01, 0xf4})));
  EXPECT_EQ(h.pay(small.pk.p, ""), Sids{1});
  EXPECT_EQ(h.pay(normal.pk.p, ""), Sids{});
  EXPECT_EQ(h.pay(noopt.pk.p, ""), Sids{});
  EXPECT_EQ(h.pay(ack.pk.p, ""), Sids{});  // flags:S
  // |02 04| in the payload (not the header) does not count.
  EXPECT_EQ(h.pay(noopt.pk.p, bin({2, 4, 1, 0xf4})), Sids{});
}

// Suricata's udp.hdr example: the length field 8 (no payload).
TEST(DetectHdr, SuricataUdpHdrLengthExample) {
  Harness h;
  h.add(parse(R"(alert udp any any -> any any (udp.hdr; content:"|00 08|"; offset:4; depth:2; sid:1;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  HdrPkt empty(4, 17, ipv4(17), bin({0x30, 0x39, 0, 53, 0, 8, 0, 0}));
  HdrPkt data(4, 17, ipv4(17), bin({0x30, 0x39, 0, 53, 0, 12, 0, 0}));
  HdrPkt port8(4, 17, ipv4(17), bin({0, 8, 0, 53, 0, 12, 0, 0}));  // |00 08| outside offset 4
  EXPECT_EQ(h.pay(empty.pk.p, ""), Sids{1});
  EXPECT_EQ(h.pay(data.pk.p, "abcd"), Sids{});
  EXPECT_EQ(h.pay(port8.pk.p, "abcd"), Sids{});
}

// IPv4 options are part of ipv4.hdr (Router Alert 0x94 0x04 after 20 bytes);
// ipv6.hdr's next header; the ICMP headers; a payload pattern + header item.
TEST(DetectHdr, IpIcmpHeadersAndMixedRules) {
  Harness h;
  h.add(parse(R"(alert ip any any -> any any (ipv4.hdr; content:"|94 04|"; offset:20; depth:2; sid:1;))"));
  h.add(parse(R"(alert ip any any -> any any (ipv6.hdr; content:"|3a|"; offset:6; depth:1; sid:2;))"));
  h.add(parse(R"(alert icmp any any -> any any (icmpv4.hdr; content:"|08 00|"; depth:2; sid:3;))"));
  h.add(parse(R"(alert icmp any any -> any any (icmpv6.hdr; content:"|80|"; depth:1; sid:4;))"));
  h.add(parse(R"(alert tcp any any -> any any (content:"attack"; tcp.hdr; content:!"|02 04|"; offset:20; sid:5;))"));
  h.add(parse(R"(alert ip any any -> any any (ipv4.hdr; byte_test:1,>,128,8; sid:6;))"));  // TTL > 128
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  HdrPkt ra(4, 17, ipv4(17, bin({0x94, 0x04, 0, 0})), bin({0, 1, 0, 2, 0, 8, 0, 0}));
  HdrPkt plain(4, 17, ipv4(17), bin({0, 1, 0, 2, 0, 8, 0, 0}));
  HdrPkt echo4(4, 1, ipv4(1), bin({8, 0, 0, 0, 0, 1, 0, 1}), 0, 0);
  HdrPkt reply4(4, 1, ipv4(1), bin({0, 0, 0, 0, 0, 1, 0, 1}), 0, 0);
  HdrPkt echo6(6, 58, ipv6(58), bin({0x80, 0, 0, 0, 0, 1, 0, 1}), 0, 0);
  HdrPkt tcp_mss(4, 6, ipv4(6), tcp(0x18, bin({2, 4, 5, 0xb4})));
  HdrPkt tcp_nop(4, 6, ipv4(6), tcp(0x18, bin({1, 1, 1, 0})));
  EXPECT_EQ(h.pay(ra.pk.p, "x"), Sids{1});
  EXPECT_EQ(h.pay(plain.pk.p, bin({0x94, 0x04})), Sids{});  // in the payload only
  EXPECT_EQ(h.pay(echo4.pk.p, "ping"), Sids{3});
  EXPECT_EQ(h.pay(reply4.pk.p, "ping"), Sids{});
  EXPECT_EQ(h.pay(echo6.pk.p, "ping"), (Sids{2, 4}));
  EXPECT_EQ(h.pay(tcp_nop.pk.p, "an attack"), Sids{5});
  EXPECT_EQ(h.pay(tcp_mss.pk.p, "an attack"), Sids{});  // the negated header item
  EXPECT_EQ(h.pay(tcp_nop.pk.p, "benign"), Sids{});
  // Header rules are packet rules: not on stream chunks, nor without headers.
  EXPECT_EQ(h.pay(tcp_nop.pk.p, "an attack", PayloadMode::kStreamChunk), Sids{});
  Pkt bare(6, 1000, 80);
  EXPECT_EQ(h.pay(bare.p, "an attack"), Sids{});
  std::string hi_ttl = ipv4(17);
  hi_ttl[8] = char(200);
  HdrPkt ttl(4, 17, hi_ttl, bin({0, 1, 0, 2, 0, 8, 0, 0}));
  EXPECT_EQ(h.pay(ttl.pk.p, ""), Sids{6});
}

TEST(DetectHdr, ParseChecks) {
  auto ok = [](const std::string& t) {
    rules::Rule r;
    std::string err;
    bool u = false;
    return rules::parse_rule(t, rules::Vars::suricata_defaults(), r, err, u);
  };
  EXPECT_TRUE(ok(R"(alert tcp any any -> any any (tcp.hdr; content:"|02 04|"; sid:1;))"));
  EXPECT_FALSE(ok(R"(alert udp any any -> any any (tcp.hdr; content:"|02 04|"; sid:1;))"));
  EXPECT_FALSE(ok(R"(alert tcp any any -> any any (udp.hdr; content:"|00 08|"; sid:1;))"));
  EXPECT_FALSE(ok(R"(alert tcp any any -> any any (icmpv4.hdr; content:"|08|"; sid:1;))"));
  EXPECT_FALSE(ok(R"(alert tcp any any -> any any (tcp.hdr; sid:1;))"));  // sticky buffer without a match
  // Not implemented: reported unsupported (the loader skips and counts the rule), not a syntax error.
  for (const char* t : {R"(alert tcp any any -> any 80 (content:"GET"; lua:script.lua; sid:1;))"}) {
    rules::Rule r;
    std::string err;
    bool u = false;
    EXPECT_FALSE(rules::parse_rule(t, rules::Vars::suricata_defaults(), r, err, u)) << t;
    EXPECT_TRUE(u) << t << ": " << err;
  }
  // asn1 is implemented (DetectAsn1 below); bad values are syntax errors.
  EXPECT_TRUE(ok(R"(alert tcp any any -> any any (asn1:oversize_length 100; sid:1;))"));
  EXPECT_TRUE(ok(R"(alert tcp any any -> any any (content:"x"; asn1:double_overflow, bitstring_overflow, relative_offset 54, oversize_length 2048; sid:1;))"));
  EXPECT_FALSE(ok(R"(alert tcp any any -> any any (asn1:absolute_offset 0; sid:1;))"));  // no check
  EXPECT_FALSE(ok(R"(alert tcp any any -> any any (asn1:oversize_length; sid:1;))"));
  EXPECT_FALSE(ok(R"(alert tcp any any -> any any (asn1:bitstring_overflow, absolute_offset 1, relative_offset 2; sid:1;))"));
  EXPECT_FALSE(ok(R"(alert tcp any any -> any any (asn1:bitstring_overflow, absolute_offset 70000; sid:1;))"));
  EXPECT_FALSE(ok(R"(alert tcp any any -> any any (asn1:overflow; sid:1;))"));
  // With an app-layer buffer: parsed, refused at compile with a reason.
  rules::RuleSet rs;
  rules::Rule r;
  std::string err;
  bool u = false;
  ASSERT_TRUE(rules::parse_rule(R"(alert http any any -> any any (http.uri; content:"/x"; tcp.hdr; content:"|02|"; sid:9;))",
                                rules::Vars::suricata_defaults(), r, err, u)) << err;
  rs.rules.push_back(r);
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (content:"x"; sid:10;))"));
  CompileReport rep;
  auto crs = compile_ruleset(rs, 1, rep, err);
  ASSERT_TRUE(crs) << err;
  EXPECT_EQ(rep.rejected, 1u);
  ASSERT_FALSE(rep.messages.empty());
  EXPECT_NE(rep.messages[0].find("header buffers"), std::string::npos) << rep.messages[0];
}


// asn1 (Suricata's asn1 keyword): the cases of Suricata's own tests. X.690
// A.3's example record: its outer object declares 133 bytes.
const std::string kX690A3 = std::string(
    "\x60\x81\x85\x61\x10\x1A\x04John\x1A\x01P\x1A\x05Smith\xA0\x0A\x1A\x08" "Director"
    "\x42\x01\x33\xA1\x0A\x43\x08" "19710917"
    "\xA2\x12\x61\x10\x1A\x04Mary\x1A\x01T\x1A\x05Smith\xA3\x42\x31\x1F\x61\x11\x1A\x05Ralph\x1A\x01T\x1A\x05Smith"
    "\xA0\x0A\x43\x08" "19571111" "\x31\x1F\x61\x11\x1A\x05Susan\x1A\x01" "B\x1A\x05Jones\xA0\x0A\x43\x08" "19590717",
    136);

TEST(DetectAsn1, SuricataCases) {
  ASSERT_EQ(uint8_t(kX690A3[2]), 0x85);
  Harness h;
  h.add(parse(R"(alert tcp any any -> any any (asn1:oversize_length 132 absolute_offset 0; sid:1;))"));
  h.add(parse(R"(alert tcp any any -> any any (asn1:oversize_length 133, absolute_offset 0; sid:2;))"));
  h.add(parse(R"(alert tcp any any -> any any (asn1:bitstring_overflow, absolute_offset 0; sid:3;))"));
  h.add(parse(R"(alert tcp any any -> any any (asn1:double_overflow, absolute_offset 0; sid:4;))"));
  h.add(parse(R"(alert tcp any any -> any any (content:"MARK"; asn1:bitstring_overflow, relative_offset 2; sid:5;))"));
  h.add(parse(R"(alert tcp any any -> any any (asn1:oversize_length 4, absolute_offset 4; sid:6;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1000, 80);
  EXPECT_EQ(h.pay(pk.p, kX690A3), (Sids{1, 6}));  // 6: "Smith" (5 bytes) from offset 4
  EXPECT_EQ(h.pay(pk.p, bin({0x03, 0x01, 0xff})), Sids{3});  // 255 unused bits in 1 byte
  EXPECT_EQ(h.pay(pk.p, bin({0x03, 0x01, 0x07})), Sids{});
  std::string real(261, '\x05');  // REAL, decimal (NR) form, 257 bytes
  real[0] = 0x09, real[1] = char(0x82), real[2] = 1, real[3] = 1;
  EXPECT_EQ(h.pay(pk.p, real), (Sids{1, 2, 4, 6}));  // 257 > 132, > 133; from offset 4 NULLs of 5 bytes
  real[3] = 0;  // 256: not over
  EXPECT_EQ(h.pay(pk.p, real.substr(0, 260)), (Sids{1, 2, 6}));
  // relative to the content: two bytes after "MARK"
  EXPECT_EQ(h.pay(pk.p, "xxMARK--" + bin({0x03, 0x01, 0xff})), Sids{5});
  // One byte short: decoding starts at 0x01 (a BOOLEAN declaring 255 bytes): the walk stops. From offset 0
  // 'x' declares 120 bytes: nothing for sid 3 either.
  EXPECT_EQ(h.pay(pk.p, "xxMARK-" + bin({0x03, 0x01, 0xff})), Sids{});
  EXPECT_EQ(h.pay(pk.p, "xxMARK--"), Sids{});  // offset at the end: nothing decoded
  // The declared length runs past the data: the walk stops, nothing matches.
  EXPECT_EQ(h.pay(pk.p, bin({0x30, 0x82, 0x10, 0x00, 0x03, 0x01, 0xff})), Sids{});
}

// Random and truncated inputs: bounded (nesting, frames), engine = reference.
TEST(DetectAsn1, Fuzz) {
  Harness h;
  h.add(parse(R"(alert tcp any any -> any any (asn1:bitstring_overflow, double_overflow, oversize_length 64; sid:1;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1000, 80);
  std::mt19937 rng(3);
  int hits = 0;
  for (int i = 0; i < 5000; i++) {
    std::string s = kX690A3.substr(0, rng() % (kX690A3.size() + 1));
    for (int k = 0; k < 4 && !s.empty(); k++) s[rng() % s.size()] = char(rng());
    hits += !h.pay(pk.p, s).empty();
  }
  std::string deep;
  for (int i = 0; i < 200; i++) deep += "\x30\x80";  // nesting past the frame bound
  EXPECT_EQ(h.pay(pk.p, deep + bin({0x03, 0x01, 0xff})), Sids{});
  EXPECT_GT(hits, 0);
}

}  // namespace
}  // namespace spectre::detect_test
