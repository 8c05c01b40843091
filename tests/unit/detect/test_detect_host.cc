// ip_proto and stream_size (engine and reference side by side), xbits (the
// engine's per-worker table: across flows, by host or pair, with expiry).
#include "tests/unit/detect/detect_util.h"

namespace spectre::detect_test {
namespace {

TEST(DetectHost, IpProto) {
  Harness h;
  h.add(parse(R"(alert ip any any -> any any (msg:"gre"; ip_proto:47; sid:1;))"));
  h.add(parse(R"(alert ip any any -> any any (msg:"not tcp"; ip_proto:!6; content:"x"; sid:2;))"));
  h.add(parse(R"(alert ip any any -> any any (msg:"high"; ip_proto:>134; sid:3;))"));
  h.compile();
  Pkt gre(47, 0, 0), tcp(6, 1, 2), udp(17, 1, 2), hi(200, 0, 0);
  EXPECT_EQ(h.pay(gre.p, "x"), (Sids{1, 2}));
  EXPECT_EQ(h.pay(tcp.p, "x"), Sids{});
  EXPECT_EQ(h.pay(udp.p, "x"), Sids{2});
  EXPECT_EQ(h.pay(hi.p, "y"), Sids{3});
  // IP-only in Suricata 7 (suricata -r: `ip_proto:17` alerts the first UDP
  // packet of each direction): not on a later packet of its direction.
  gre.p.first_in_dir = false;
  EXPECT_EQ(h.pay(gre.p, "y"), Sids{});
  hi.p.first_in_dir = false;
  EXPECT_EQ(h.pay(hi.p, "y"), Sids{});
}

TEST(DetectHost, StreamSize) {
  Harness h;
  // ET Open shapes: a server that said (almost) nothing yet; a client that sent a lot.
  h.add(parse(R"(alert tcp any any -> any any (msg:"quiet server"; flow:established,to_server; content:"cmd"; stream_size:server,<,5; sid:1;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"big client"; content:"cmd"; stream_size:client,>=,1000; sid:2;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"both"; content:"cmd"; stream_size:both,=,1; sid:3;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"either"; content:"cmd"; stream_size:either,=,1; sid:4;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"two"; content:"cmd"; stream_size:client,=,1; stream_size:server,=,10; sid:5;))"));
  h.compile();
  Pkt p(6, 40000, 80);
  EXPECT_EQ(h.pay(p.p, "cmd", PayloadMode::kStreamChunk), Sids{});  // no TCP session: never
  p.p.has_stream = true;
  p.p.stream_size[0] = 4;  // client sent 3 bytes after its SYN
  p.p.stream_size[1] = 1;  // server: SYN only
  EXPECT_EQ(h.pay(p.p, "cmd", PayloadMode::kStreamChunk), (Sids{1, 4}));
  p.p.stream_size[1] = 5;  // near miss: the server sent 4 bytes
  EXPECT_EQ(h.pay(p.p, "cmd", PayloadMode::kStreamChunk), Sids{});
  p.p.stream_size[0] = 1000;
  p.p.stream_size[1] = 1;
  EXPECT_EQ(h.pay(p.p, "cmd", PayloadMode::kStreamChunk), (Sids{1, 2, 4}));
  p.p.stream_size[0] = 1;
  EXPECT_EQ(h.pay(p.p, "cmd", PayloadMode::kStreamChunk), (Sids{1, 3, 4}));
  p.p.stream_size[1] = 10;
  EXPECT_EQ(h.pay(p.p, "cmd", PayloadMode::kStreamChunk), (Sids{4, 5}));
}

// xbits.rst: set on the client's request with track ip_dst, check the server's
// later traffic with track ip_src (the same host).
TEST(DetectHost, XbitsAcrossFlowsByHostAndPair) {
  rules::RuleSet rs;
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (msg:"mark"; content:"MARK"; xbits:set,ET.x,track ip_dst,expire 10; noalert; sid:1;))"));
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (msg:"marked host talks"; content:"HELLO"; xbits:isset,ET.x,track ip_src; sid:2;))"));
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (msg:"pair"; content:"PAIR"; xbits:set,ET.p,track ip_pair; noalert; sid:3;))"));
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (msg:"pair back"; content:"BACK"; xbits:isset,ET.p,track ip_pair; sid:4;))"));
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (msg:"not marked"; content:"HELLO"; xbits:isnotset,ET.x,track ip_src; sid:5;))"));
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (msg:"clear"; content:"CLEAR"; xbits:unset,ET.x,track ip_src; noalert; sid:6;))"));
  CompileReport rep;
  std::string err;
  auto crs = compile_ruleset(rs, 1, rep, err);
  ASSERT_TRUE(crs) << err;
  DetectCtx ctx(0);
  auto run = [&](Pkt& k, const std::string& d, uint64_t t_s) {
    VecSink s;
    k.p.ts_ns = t_s * 1000000000ull;
    detect_payload(ctx, *crs, k.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>(d.data()),
                   uint32_t(d.size()), s);
    return s.sids;
  };
  Pkt c2s(6, 40000, 80, 0x0a000001, 0xc0a80001);   // 10.0.0.1 -> 192.168.0.1
  Pkt s2c(6, 80, 40000, 0xc0a80001, 0x0a000001);   // reply
  Pkt other(6, 5000, 22, 0xc0a80001, 0x08080808);  // 192.168.0.1 -> 8.8.8.8, another flow
  Pkt third(6, 5000, 22, 0x08080808, 0x0a000009);  // an unmarked host
  EXPECT_EQ(run(other, "HELLO", 100), Sids{5});    // nothing set yet
  EXPECT_EQ(run(c2s, "MARK", 100), Sids{});        // marks 192.168.0.1 (dst), no alert
  EXPECT_EQ(run(s2c, "HELLO", 101), Sids{2});      // the marked host as source
  EXPECT_EQ(run(other, "HELLO", 105), Sids{2});    // its other flow too
  EXPECT_EQ(run(third, "HELLO", 105), Sids{5});    // near miss: another host
  EXPECT_EQ(run(other, "HELLO", 111), Sids{5});    // expired after 10 s
  EXPECT_EQ(run(c2s, "MARK", 200), Sids{});
  EXPECT_EQ(run(other, "CLEAR", 201), Sids{});     // unset by ip_src = 192.168.0.1
  EXPECT_EQ(run(s2c, "HELLO", 202), Sids{5});
  // ip_pair: either direction of the pair; another pair does not see it.
  EXPECT_EQ(run(c2s, "PAIR", 300), Sids{});
  EXPECT_EQ(run(s2c, "BACK", 301), Sids{4});
  EXPECT_EQ(run(other, "BACK", 301), Sids{});
  EXPECT_EQ(run(s2c, "BACK", 331), Sids{});        // default expire: 30 s
  EXPECT_EQ(ctx.ctr.xbits_full, 0u);
}

TEST(DetectHost, XbitsTableFullIsCounted) {
  rules::RuleSet rs;
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (msg:"mark"; content:"M"; xbits:set,a,track ip_src; sid:1;))"));
  CompileReport rep;
  std::string err;
  auto crs = compile_ruleset(rs, 1, rep, err);
  ASSERT_TRUE(crs) << err;
  DetectCtx ctx(0, 1 << 10, 16);  // 16 xbit slots
  VecSink s;
  for (uint32_t a = 0; a < 200; a++) {
    Pkt k(6, 1, 2, 0x0a000000 + a, 0xc0a80001);
    k.p.ts_ns = 1;
    detect_payload(ctx, *crs, k.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("M"), 1, s);
  }
  EXPECT_EQ(s.sids.size(), 200u);         // alerts are not affected
  EXPECT_GT(ctx.ctr.xbits_full, 100u);    // at most 16 hosts kept; the rest counted
  EXPECT_LE(ctx.ctr.xbits_full, 200u - 1);
}

}  // namespace
}  // namespace spectre::detect_test
