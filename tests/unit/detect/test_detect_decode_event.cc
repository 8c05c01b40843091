// decode-event rules (Suricata decode-layer.rst, decoder-events.rules): they
// match only packets the decoder rejected for the named reason, never a
// decoded packet, and they keep thresholds like any rule.
#include "dataplane/decode/packet.h"
#include "dataplane/rules/parser.h"
#include "tests/unit/detect/detect_util.h"

namespace spectre::detect_test {
namespace {

bool parse(const std::string& text, rules::Rule& r, std::string& err) {
  bool unsupported = false;
  return rules::parse_rule(text, rules::Vars::suricata_defaults(), r, err, unsupported);
}

rules::Rule rule(const std::string& text) {
  rules::Rule r;
  std::string err;
  EXPECT_TRUE(parse(text, r, err)) << err << ": " << text;
  return r;
}

// The form of Suricata's rules/decoder-events.rules.
const char* kTrunc =
    R"(alert pkthdr any any -> any any (msg:"SURICATA IPv4 truncated packet"; decode-event:ipv4.trunc_pkt; classtype:protocol-command-decode; sid:2200003; rev:2;))";
const char* kHlen =
    R"(alert pkthdr any any -> any any (msg:"SURICATA TCP header length too small"; decode-event:tcp.hlen_too_small; classtype:protocol-command-decode; sid:2200033; rev:2;))";

Sids fire(Harness& h, Malformed ev, const DetectPacket& p) {
  VecSink s;
  detect_decode_event(*h.ctx, *h.crs, uint8_t(ev), p, s);
  return s.sids;
}

TEST(DetectDecodeEvent, Parse) {
  rules::Rule r;
  std::string err;
  ASSERT_TRUE(parse(kTrunc, r, err)) << err;
  EXPECT_EQ(r.decode_event, "ipv4.trunc_pkt");
  EXPECT_EQ(r.hdr.proto, rules::Proto::kIp);  // pkthdr: any packet
  for (const char* bad : {R"(alert pkthdr any any -> any any (decode-event:; sid:1;))",
                          R"(alert pkthdr any any -> any any (decode-event:IPV4.trunc; sid:1;))",
                          R"(alert pkthdr any any -> any any (decode-event:ipv4; sid:1;))",
                          R"(alert pkthdr any any -> any any (decode-event:ipv4.a; decode-event:ipv4.b; sid:1;))"}) {
    rules::Rule b;
    std::string e;
    EXPECT_FALSE(parse(bad, b, e)) << bad;
    EXPECT_FALSE(e.empty());
  }
}

TEST(DetectDecodeEvent, EventsWeNeverRaiseAndPayloadAreRefused) {
  Harness h;
  h.add(rule(kTrunc));
  h.add(rule(R"(alert pkthdr any any -> any any (msg:"dup opt"; decode-event:ipv4.opt_duplicate; sid:2;))"));
  h.add(rule(R"(alert tcp any any -> any any (msg:"x"; decode-event:tcp.hlen_too_small; content:"abc"; sid:3;))"));
  h.compile();
  EXPECT_EQ(h.rep.rules, 1u);
  EXPECT_EQ(h.rep.rejected, 2u);
  std::string all;
  for (const auto& m : h.rep.messages) all += m + "\n";
  EXPECT_NE(all.find("sid 2: decode-event ipv4.opt_duplicate"), std::string::npos) << all;
  EXPECT_NE(all.find("sid 3: decode-event with payload"), std::string::npos) << all;
}

TEST(DetectDecodeEvent, OnlyTheNamedEventAndNeverADecodedPacket) {
  Harness h;
  h.add(rule(kTrunc));
  h.add(rule(kHlen));
  h.add(rule(R"(alert ip any any -> any any (msg:"any ip"; sid:10;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1000, 80);
  // A decoded packet: only the plain ip rule (engine and reference agree).
  EXPECT_EQ(h.pay(pk.p, "hello"), (Sids{10}));
  pk.p.has_flow = false;
  EXPECT_EQ(fire(h, kIpv4TruncPkt, pk.p), (Sids{2200003}));
  EXPECT_EQ(fire(h, kTcpHlenTooSmall, pk.p), (Sids{2200033}));
  EXPECT_EQ(fire(h, kIpv4HlenTooSmall, pk.p), Sids{});
  EXPECT_EQ(fire(h, kMalformedCount, pk.p), Sids{});  // out of range: nothing
}

TEST(DetectDecodeEvent, AddressesAndThresholdsApply) {
  Harness h;
  h.add(rule(R"(alert pkthdr 10.0.0.0/8 any -> any any (msg:"t"; decode-event:ipv4.trunc_pkt; threshold:type limit, track by_src, count 1, seconds 60; sid:5;))"));
  h.add(rule(R"(alert pkthdr any any -> any any (msg:"vlan"; decode-event:vlan.header_too_small; sid:6;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  Pkt a(17, 0, 0, 0x0a000001), b(17, 0, 0, 0xc0a80005);
  a.p.has_flow = b.p.has_flow = false;
  a.p.ts_ns = b.p.ts_ns = 1000000000ull;
  EXPECT_EQ(fire(h, kIpv4TruncPkt, a.p), (Sids{5}));
  EXPECT_EQ(fire(h, kIpv4TruncPkt, a.p), Sids{});  // limit 1 per source
  EXPECT_EQ(fire(h, kIpv4TruncPkt, b.p), Sids{});  // 192.168/16 is outside the rule's source
  EXPECT_EQ(fire(h, kVlanTrunc, b.p), (Sids{6}));  // Suricata's name of our vlan.pkt_too_small
}

}  // namespace
}  // namespace spectre::detect_test

// stream-event rules (Suricata stream-events.rules): packet rules that need
// the event on the inspected packet, engine and reference side by side.
namespace spectre::detect_test {
namespace {

TEST(DetectStreamEvent, OnlyPacketsThatRaisedTheEvent) {
  Harness h;
  h.add(rule(R"(alert tcp any any -> any any (msg:"SURICATA STREAM reassembly overlap with different data"; stream-event:reassembly_overlap_different_data; classtype:protocol-command-decode; sid:2210050; rev:2;))"));
  h.add(rule(R"(alert tcp any any -> any any (msg:"SURICATA STREAM FIN SYN reuse"; stream-event:fin_syn; sid:2210060; rev:1;))"));
  // The counting pair of stream-events.rules: noalert + flowint, then the threshold rule.
  h.add(rule(R"(alert tcp any any -> any any (msg:"retransmission"; stream-event:pkt_retransmission; flowint:tcp.retransmission.count,+,1; noalert; sid:2210053; rev:1;))"));
  h.add(rule(R"(alert tcp any any -> any any (msg:"excessive retransmissions"; flowbits:isnotset,tcp.retransmission.alerted; flowint:tcp.retransmission.count,>=,3; flowbits:set,tcp.retransmission.alerted; sid:2210054; rev:1;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1000, 80);
  pk.p.first_in_dir = false;
  EXPECT_EQ(h.pay(pk.p, "", PayloadMode::kTcpPacket), Sids{});  // no event: nothing (not an IP-only rule)
  pk.p.stream_events = sev_bit(kSevOverlapDiff);
  EXPECT_EQ(h.pay(pk.p, "", PayloadMode::kTcpPacket), (Sids{2210050}));
  pk.p.stream_events = sev_bit(kSevFinSyn) | sev_bit(kSevOverlapDiff);
  EXPECT_EQ(h.pay(pk.p, "", PayloadMode::kTcpPacket), (Sids{2210050, 2210060}));
  pk.p.stream_events = sev_bit(kSevRetransmission);
  EXPECT_EQ(h.pay(pk.p, "", PayloadMode::kTcpPacket), Sids{});
  EXPECT_EQ(h.pay(pk.p, "", PayloadMode::kTcpPacket), Sids{});
  EXPECT_EQ(h.pay(pk.p, "", PayloadMode::kTcpPacket), (Sids{2210054}));  // the third retransmission
  EXPECT_EQ(h.pay(pk.p, "", PayloadMode::kTcpPacket), Sids{});           // once per flow
}

TEST(DetectStreamEvent, EventsWeNeverRaiseAreRefused) {
  Harness h;
  h.add(rule(R"(alert tcp any any -> any any (msg:"x"; stream-event:est_ack_zwp_data; sid:1;))"));
  h.add(rule(R"(alert tcp any any -> any any (msg:"y"; stream-event:fin_syn; sid:2;))"));
  h.add(rule(R"(alert tcp any any -> any any (msg:"z"; stream-event:3whs_syn_flood; sid:3;))"));
  h.add(rule(R"(alert tcp any any -> any any (msg:"w"; stream-event:no_such_event; sid:4;))"));
  // IPS-only events load (Suricata never raises them in IDS mode, nor do we).
  h.add(rule(R"(alert tcp any any -> any any (msg:"v"; stream-event:3whs_ack_in_wrong_dir; sid:5;))"));
  h.compile();
  EXPECT_EQ(h.rep.rules, 2u);
  ASSERT_EQ(h.rep.messages.size(), 3u);
  EXPECT_NE(h.rep.messages[0].find("sid 1: stream-event est_ack_zwp_data: zero-window probes"),
            std::string::npos) << h.rep.messages[0];
  EXPECT_NE(h.rep.messages[1].find("sid 3: stream-event 3whs_syn_flood: the SYN queue"),
            std::string::npos) << h.rep.messages[1];
  EXPECT_NE(h.rep.messages[2].find("sid 4: stream-event no_such_event: an event this engine does not raise"),
            std::string::npos) << h.rep.messages[2];
  rules::Rule r;
  std::string err;
  EXPECT_FALSE(parse(R"(alert udp any any -> any any (stream-event:fin_syn; sid:3;))", r, err));
  EXPECT_NE(err.find("tcp"), std::string::npos) << err;
}

// Every event of the name table loads and maps to its own bit.
TEST(DetectStreamEvent, NameTableBitsAreDistinct) {
  static const char* const kNames[] = {
#define SPECTRE_X(id, n) n,
      SPECTRE_STREAM_EVENTS(SPECTRE_X)
#undef SPECTRE_X
  };
  uint64_t all = 0;
  for (const char* n : kNames) {
    const uint64_t b = stream_event_bit(n);
    EXPECT_NE(b, 0u) << n;
    EXPECT_EQ(all & b, 0u) << n;
    all |= b;
  }
  EXPECT_EQ(stream_event_bit("est_ack_zwp_data"), 0u);
  // Suricata's rules/stream-events.rules loads whole: its 61 names are here.
  for (const char* n : {"pkt_invalid_timestamp", "suspected_rst_inject", "est_pkt_before_last_ack",
                        "3whs_synack_flood", "3whs_synack_resend_with_diff_seq",
                        "reassembly_segment_before_base_seq", "wrong_thread"})
    EXPECT_NE(stream_event_bit(n), 0u) << n;
}

}  // namespace
}  // namespace spectre::detect_test
