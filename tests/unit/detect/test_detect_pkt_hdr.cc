// IP and TCP header keywords (detect/pkt_checks.cc): ttl, tos, id, fragbits,
// fragoffset, ipopts, sameip, seq, ack, window, engine and reference side by
// side on hand-built headers, with the documented examples and edge cases of
// Suricata's header-keywords page and Snort 3's rule options.
#include "tests/unit/detect/detect_util.h"

namespace spectre::detect_test {
namespace {

// IPv4 header fields a rule can test; options appended (a multiple of 4).
struct V4 {
  int tos = 0, id = 1, frag = 0, ttl = 64, proto = 6;  // frag: flags << 13 | offset
  std::string opts;
  std::string bytes() const {
    const int ihl = 5 + int(opts.size() / 4);
    return bin({0x40 | ihl, tos, 0, 60, id >> 8, id & 255, frag >> 8, frag & 255, ttl, proto, 0, 0, 10, 0, 0, 1,
                192, 168, 0, 1}) + opts;
  }
};
std::string ipv6(uint8_t next, uint8_t hlim) {
  return bin({0x60, 0, 0, 0, 0, 20, next, hlim}) + std::string(15, '\0') + bin({1}) + std::string(15, '\0') + bin({2});
}
std::string tcp(uint8_t flags, uint32_t seq = 0, uint32_t ack = 0, uint16_t win = 8192) {
  return bin({0x03, 0xe8, 0, 80, int(seq >> 24), int(seq >> 16 & 255), int(seq >> 8 & 255), int(seq & 255),
              int(ack >> 24), int(ack >> 16 & 255), int(ack >> 8 & 255), int(ack & 255), 0x50, flags, win >> 8,
              win & 255, 0, 0, 0, 0});
}
const std::string kUdp = bin({0, 53, 0, 53, 0, 8, 0, 0});
const std::string kIcmpEcho = bin({8, 0, 0, 0, 0, 1, 0, 1});

// A packet of `ip` + `l4` headers.
struct HPkt {
  std::string bytes;
  Pkt pk;
  HPkt(uint8_t ver, uint8_t proto, const std::string& ip, const std::string& l4)
      : bytes(ip + l4), pk(proto, proto == 1 || proto == 58 ? 0 : 1000, proto == 1 || proto == 58 ? 0 : 80) {
    pk.p.ip_ver = ver;
    pk.p.l3 = reinterpret_cast<const uint8_t*>(bytes.data());
    pk.p.l4_off = uint16_t(ip.size());
    pk.p.l4_hlen = uint16_t(l4.size());
    if (proto == 6) pk.p.tcp_flags = uint8_t(l4[13]);
    if (proto == 1) pk.p.icmp_type = uint8_t(l4[0]);
  }
  HPkt(const HPkt&) = delete;
};

Sids run1(const std::string& rule, uint8_t ver, uint8_t proto, const std::string& ip, const std::string& l4,
          const std::string& payload = "") {
  Harness h;
  h.add(parse(rule));
  h.compile();
  EXPECT_EQ(h.rep.rejected, 0u) << (h.rep.messages.empty() ? "" : h.rep.messages[0]);
  HPkt p(ver, proto, ip, l4);
  return h.pay(p.pk.p, payload);
}

Sids v4tcp(const std::string& opts, V4 v, const std::string& l4, const std::string& payload = "") {
  v.proto = 6;
  return run1("alert tcp any any -> any any (" + opts + " sid:1;)", 4, 6, v.bytes(), l4, payload);
}

TEST(DetectPktHdr, TtlAndHopLimit) {
  V4 v;
  v.ttl = 1;
  // Community sid 385 (traceroute): itype:8; ttl:1.
  const std::string tr = "alert icmp any any -> any any (itype:8; ttl:1; sid:1;)";
  V4 icmp = v;
  icmp.proto = 1;
  EXPECT_EQ(run1(tr, 4, 1, icmp.bytes(), kIcmpEcho), Sids{1});
  icmp.ttl = 2;
  EXPECT_EQ(run1(tr, 4, 1, icmp.bytes(), kIcmpEcho), Sids{});
  // Community sid 613: ttl:>220 with ack:0 and flags:S.
  v.ttl = 221;
  EXPECT_EQ(v4tcp("ack:0; flags:S; ttl:>220;", v, tcp(0x02)), Sids{1});
  v.ttl = 220;
  EXPECT_EQ(v4tcp("ack:0; flags:S; ttl:>220;", v, tcp(0x02)), Sids{});
  // Forms: <, <=, >=, !, Suricata's A-B and Snort's A<>B (exclusive), A<=>B (inclusive).
  v.ttl = 10;
  for (const char* yes : {"ttl:<11;", "ttl:<=10;", "ttl:>=10;", "ttl:!9;", "ttl:9-11;", "ttl:9<>11;", "ttl:10<=>12;", "ttl:=10;"})
    EXPECT_EQ(v4tcp(yes, v, tcp(0x10)), Sids{1}) << yes;
  for (const char* no : {"ttl:<10;", "ttl:>10;", "ttl:!10;", "ttl:10-12;", "ttl:10<>12;", "ttl:11<=>12;"})
    EXPECT_EQ(v4tcp(no, v, tcp(0x10)), Sids{}) << no;
  // IPv6: the hop limit.
  EXPECT_EQ(run1("alert ip any any -> any any (ttl:3; sid:1;)", 6, 17, ipv6(17, 3), kUdp), Sids{1});
  EXPECT_EQ(run1("alert ip any any -> any any (ttl:3; sid:1;)", 6, 17, ipv6(17, 4), kUdp), Sids{});
}

TEST(DetectPktHdr, TosAndId) {
  V4 v;
  v.tos = 8;
  EXPECT_EQ(v4tcp("tos:8;", v, tcp(0x10)), Sids{1});
  EXPECT_EQ(v4tcp("tos:x8;", v, tcp(0x10)), Sids{1});  // Suricata's hex form
  // Suricata's example: several negated tos in one rule, all must hold.
  const std::string many = "tos:!0; tos:!8; tos:!16; tos:!24; tos:!32; tos:!40; tos:!48; tos:!56;";
  EXPECT_EQ(v4tcp(many, v, tcp(0x10)), Sids{});
  v.tos = 4;
  EXPECT_EQ(v4tcp(many, v, tcp(0x10)), Sids{1});
  // Community sid 630: flags:FS; id:39426.
  v.id = 39426;
  EXPECT_EQ(v4tcp("flags:FS; id:39426;", v, tcp(0x03)), Sids{1});
  v.id = 39427;
  EXPECT_EQ(v4tcp("flags:FS; id:39426;", v, tcp(0x03)), Sids{});
  // IPv4 fields: an IPv6 packet never matches them, even negated.
  EXPECT_EQ(run1("alert ip any any -> any any (tos:!1; sid:1;)", 6, 17, ipv6(17, 9), kUdp), Sids{});
  EXPECT_EQ(run1("alert ip any any -> any any (id:!1; sid:1;)", 6, 17, ipv6(17, 9), kUdp), Sids{});
}

TEST(DetectPktHdr, FragbitsModifiersAndFragoffset) {
  const int R = 0x8000, D = 0x4000, M = 0x2000;
  V4 v;
  auto fb = [&](const std::string& kw, int frag) {
    v.frag = frag;
    v.proto = 17;
    return run1("alert ip any any -> any any (" + kw + " sid:1;)", 4, 17, v.bytes(), kUdp);
  };
  // Exact: these bits and no others.
  EXPECT_EQ(fb("fragbits:D;", D), Sids{1});
  EXPECT_EQ(fb("fragbits:D;", D | R), Sids{});
  EXPECT_EQ(fb("fragbits:D;", 0), Sids{});
  // '+': these bits, others may be set too (also none).
  EXPECT_EQ(fb("fragbits:+D;", D | R), Sids{1});
  EXPECT_EQ(fb("fragbits:+D;", D), Sids{1});
  EXPECT_EQ(fb("fragbits:+DR;", D), Sids{});
  EXPECT_EQ(fb("fragbits:M+;", M | D), Sids{1});  // Snort 2's trailing modifier (community sid 272)
  // '*': any of them.
  EXPECT_EQ(fb("fragbits:*MR;", R), Sids{1});
  EXPECT_EQ(fb("fragbits:*MR;", D), Sids{});
  // '!': none of them (community sid 29456: fragbits:!M).
  EXPECT_EQ(fb("fragbits:!M;", D), Sids{1});
  EXPECT_EQ(fb("fragbits:!M;", 0), Sids{1});
  EXPECT_EQ(fb("fragbits:!M;", M | 8), Sids{});
  EXPECT_EQ(fb("fragbits:!DMR;", D), Sids{});
  // fragoffset, in the header's 8-byte units; Suricata's example with fragbits:M.
  EXPECT_EQ(fb("fragbits:M; fragoffset:>0;", M | 185), Sids{1});
  EXPECT_EQ(fb("fragbits:M; fragoffset:>0;", M), Sids{});
  EXPECT_EQ(fb("fragoffset:0;", D), Sids{1});
  EXPECT_EQ(fb("fragoffset:!0;", 3), Sids{1});
  EXPECT_EQ(fb("fragoffset:<3;", 3), Sids{});
  EXPECT_EQ(run1("alert ip any any -> any any (fragbits:!M; sid:1;)", 6, 17, ipv6(17, 9), kUdp), Sids{});
}

TEST(DetectPktHdr, IpoptsAndSameip) {
  V4 v;
  v.proto = 17;
  auto opt = [&](const std::string& kw, const std::string& opts) {
    v.opts = opts;
    return run1("alert ip any any -> any any (" + kw + " sid:1;)", 4, 17, v.bytes(), kUdp);
  };
  const std::string lsrr = bin({131, 7, 4, 1, 2, 3, 4, 0});  // loose source route, then EOL
  EXPECT_EQ(opt("ipopts:lsrr;", lsrr), Sids{1});
  EXPECT_EQ(opt("ipopts:ssrr;", lsrr), Sids{});
  EXPECT_EQ(opt("ipopts:any;", lsrr), Sids{1});
  EXPECT_EQ(opt("ipopts:any;", ""), Sids{});
  EXPECT_EQ(opt("ipopts:eol;", lsrr), Sids{1});
  EXPECT_EQ(opt("ipopts:nop;", bin({1, 1, 148, 4, 0, 0, 0, 0})), Sids{1});  // NOPs, router alert
  EXPECT_EQ(opt("ipopts:rr;", bin({0, 7, 7, 4})), Sids{});                   // after EOL: not options
  EXPECT_EQ(opt("ipopts:ts;", bin({68, 12, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0})), Sids{1});
  EXPECT_EQ(opt("ipopts:ts;", bin({7, 1, 68, 4})), Sids{});  // a bad length ends the walk
  // sameip: source and destination equal.
  const std::string same = "alert ip any any -> any any (sameip; sid:1;)";
  Harness h;
  h.add(parse(same));
  h.compile();
  HPkt d(4, 17, V4{}.bytes(), kUdp);
  EXPECT_EQ(h.pay(d.pk.p, ""), Sids{});
  Pkt eq(17, 53, 53, 0x0a000001, 0x0a000001);
  eq.p.l3 = d.pk.p.l3;
  eq.p.l4_off = d.pk.p.l4_off;
  eq.p.l4_hlen = d.pk.p.l4_hlen;
  EXPECT_EQ(h.pay(eq.p, ""), Sids{1});
}

TEST(DetectPktHdr, SeqAckWindow) {
  V4 v;
  // Community sid 622 (ipEye): flags:S; seq:1958810375.
  EXPECT_EQ(v4tcp("flags:S; seq:1958810375;", v, tcp(0x02, 1958810375u)), Sids{1});
  EXPECT_EQ(v4tcp("flags:S; seq:1958810375;", v, tcp(0x02, 1958810376u)), Sids{});
  // Suricata's GPL SCAN NULL example: ack:0; flags:0; seq:0.
  EXPECT_EQ(v4tcp("ack:0; flags:0; seq:0;", v, tcp(0x00, 0, 0)), Sids{1});
  EXPECT_EQ(v4tcp("ack:0; flags:0; seq:0;", v, tcp(0x00, 0, 1)), Sids{});
  EXPECT_EQ(v4tcp("ack:4294967295;", v, tcp(0x10, 0, 0xffffffffu)), Sids{1});
  // Suricata's window example (flags:S,12; window:55808) and window:!N.
  EXPECT_EQ(v4tcp("flags:S,12; window:55808;", v, tcp(0xc2, 0, 0, 55808)), Sids{1});
  EXPECT_EQ(v4tcp("window:!55808;", v, tcp(0x10, 0, 0, 55808)), Sids{});
  EXPECT_EQ(v4tcp("window:!55808;", v, tcp(0x10, 0, 0, 1024)), Sids{1});
  // Not TCP: no match, even negated.
  v.proto = 17;
  EXPECT_EQ(run1("alert ip any any -> any any (window:!1; sid:1;)", 4, 17, v.bytes(), kUdp), Sids{});
}

// icmp_id / icmp_seq: Suricata's number and Snort 3's integer forms, on
// echo-style messages only.
TEST(DetectPktHdr, IcmpIdSeqForms) {
  Harness h;
  h.add(parse(R"(alert icmp any any -> any any (icmp_id:0; icmp_seq:0; itype:8; sid:1;))"));
  h.add(parse(R"(alert icmp any any -> any any (icmp_id:<100; sid:2;))"));
  h.add(parse(R"(alert icmp any any -> any any (icmp_seq:10<=>12; sid:3;))"));
  h.add(parse(R"(alert icmp any any -> any any (icmp_id:!7; icmp_seq:>=5; sid:4;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  auto echo = [&](uint16_t id, uint16_t seq, bool is_echo = true) {
    Pkt pk(1, 0, 0);
    pk.p.icmp_type = 8;
    pk.p.icmp_echo = is_echo;
    pk.p.icmp_id = id;
    pk.p.icmp_seq = seq;
    return h.pay(pk.p, "ping");
  };
  EXPECT_EQ(echo(0, 0), (Sids{1, 2}));
  EXPECT_EQ(echo(99, 10), (Sids{2, 3, 4}));
  EXPECT_EQ(echo(100, 12), (Sids{3, 4}));
  EXPECT_EQ(echo(7, 13), Sids{2});
  EXPECT_EQ(echo(0, 0, false), Sids{});  // not an echo-style message: id and seq are not there
}

// Packet keywords: on packets only (not stream chunks, not without headers),
// combined with payload contents; not an IP-only rule.
TEST(DetectPktHdr, PacketRulesOnly) {
  Harness h;
  h.add(parse(R"(alert tcp any any -> any any (content:"AAAA"; depth:4; ack:0; flags:12FSU; sid:627;))"));
  h.add(parse(R"(alert ip any any -> any any (ttl:64; sid:2;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  V4 v;
  HPkt scan(4, 6, v.bytes(), tcp(0xe3));
  EXPECT_EQ(h.pay(scan.pk.p, "AAAAAAAA", PayloadMode::kTcpPacket), (Sids{627, 2}));
  EXPECT_EQ(h.pay(scan.pk.p, "BBBB", PayloadMode::kTcpPacket), (Sids{2}));
  EXPECT_EQ(h.pay(scan.pk.p, "AAAAAAAA", PayloadMode::kStreamChunk), Sids{});
  scan.pk.p.first_in_dir = false;  // not IP-only: every packet
  EXPECT_EQ(h.pay(scan.pk.p, "", PayloadMode::kTcpPacket), Sids{2});
  Pkt bare(6, 1000, 80);  // no header bytes (l3 null)
  EXPECT_EQ(h.pay(bare.p, "AAAA"), Sids{});
}

TEST(DetectPktHdr, ParseAndCompileChecks) {
  auto st = [](const std::string& opts) {
    rules::Rule r;
    std::string err;
    bool u = false;
    const bool ok = rules::parse_rule("alert tcp any any -> any any (" + opts + " sid:1;)",
                                      rules::Vars::suricata_defaults(), r, err, u);
    return ok ? 0 : u ? 2 : 1;  // 0 parsed, 1 error, 2 unsupported (skipped)
  };
  for (const char* ok : {"ttl:0;", "ttl:255;", "tos:!x1f;", "id:65535;", "fragoffset:8191;", "seq:4294967295;",
                         "window:<1024;", "fragbits:*MDR;", "fragbits:! D;", "ipopts:satid;", "sameip;",
                         "ttl:1<=>1;", "ttl:5-6;", "id:\"13170\";"})
    EXPECT_EQ(st(ok), 0) << ok;
  for (const char* bad : {"ttl:256;", "ttl;", "tos:x100;", "id:65536;", "fragoffset:8192;", "seq:4294967296;",
                          "fragbits:X;", "fragbits:+;", "sameip:1;", "ttl:6-5;", "ttl:6<>5;", "ttl:2<=>1;",
                          "ipopts:lsrr; ipopts:ssrr;", "window:-1;"})
    EXPECT_EQ(st(bad), 1) << bad;
  EXPECT_EQ(st("ipopts:lsrre;"), 2);
  EXPECT_EQ(st("icmp_id:65535;"), 0);
  EXPECT_EQ(st("icmp_id:65536;"), 1);
  EXPECT_EQ(st("icmp_seq:2<>1;"), 1);
  EXPECT_EQ(st("rpc:100000,*,*;"), 0);
  EXPECT_EQ(st("rpc:100000;"), 0);
  EXPECT_EQ(st("rpc:x;"), 1);
  EXPECT_EQ(st("rpc:1,2,3,4;"), 1);
  EXPECT_EQ(st("rpc:1; flow:only_stream;"), 0);  // parsed; refused at compile (only_stream and no_stream)
  // With app-layer buffers: parsed, refused at compile with a reason.
  rules::RuleSet rs;
  rs.rules.push_back(parse(R"(alert http any any -> any any (ttl:1; http.uri; content:"/x"; sid:9;))"));
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (ttl:1; content:"x"; flow:only_stream; sid:10;))"));
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (content:"x"; sid:11;))"));
  CompileReport rep;
  std::string err;
  ASSERT_TRUE(compile_ruleset(rs, 1, rep, err)) << err;
  EXPECT_EQ(rep.rejected, 2u);
  ASSERT_EQ(rep.messages.size(), 2u);
  EXPECT_NE(rep.messages[0].find("header keywords"), std::string::npos) << rep.messages[0];
  EXPECT_NE(rep.messages[1].find("only_stream"), std::string::npos) << rep.messages[1];
}

// rpc (Suricata): a SunRPC CALL (type 0; 24 bytes of call header) with the
// program and, unless *, version and procedure; TCP payloads start with the
// 4-byte record mark. On packets only (its rule is no_stream). The first
// five rules are Suricata's DetectRpcTestSig01 on its portmap GETPORT call.
TEST(DetectPktHdr, RpcCall) {
  auto be = [](uint32_t x) { return bin({int(x >> 24), int(x >> 16 & 255), int(x >> 8 & 255), int(x & 255)}); };
  auto call = [&](uint32_t type, uint32_t rpcv, uint32_t prog, uint32_t vers, uint32_t proc) {
    return be(0x1234) + be(type) + be(rpcv) + be(prog) + be(vers) + be(proc) + std::string(8, '\0');
  };
  Harness h;
  h.add(parse(R"(alert udp any any -> any any (rpc:100000, 2, 3; sid:1;))"));
  h.add(parse(R"(alert udp any any -> any any (rpc:100000, 2, *; sid:2;))"));
  h.add(parse(R"(alert udp any any -> any any (rpc:100000, *, 3; sid:3;))"));
  h.add(parse(R"(alert udp any any -> any any (rpc:100000, *, *; sid:4;))"));
  h.add(parse(R"(alert udp any any -> any any (rpc:123456, *, 3; sid:5;))"));
  h.add(parse(R"(alert tcp any any -> any 111 (flow:established; rpc:100005,1,*; sid:6;))"));
  h.add(parse(R"(alert udp any any -> any any (rpc:100000; sid:7;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u) << (h.rep.messages.empty() ? "" : h.rep.messages[0]);
  Pkt u(17, 700, 111), t(6, 700, 111);
  EXPECT_EQ(h.pay(u.p, call(0, 2, 100000, 2, 3)), (Sids{1, 2, 3, 4, 7}));
  EXPECT_EQ(h.pay(u.p, call(0, 2, 100000, 3, 4)), (Sids{4, 7}));
  EXPECT_EQ(h.pay(u.p, call(1, 2, 100000, 2, 3)), Sids{});  // a REPLY
  EXPECT_EQ(h.pay(u.p, call(0, 3, 100000, 2, 3)), (Sids{1, 2, 3, 4, 7}));  // the RPC version is not checked
  EXPECT_EQ(h.pay(u.p, call(0, 2, 100000, 2, 3).substr(0, 23)), Sids{});  // under 24 bytes
  EXPECT_EQ(h.pay(u.p, call(0, 2, 100000, 2, 3).substr(0, 24)), (Sids{1, 2, 3, 4, 7}));
  const std::string mark = be(0x80000028);
  EXPECT_EQ(h.pay(t.p, mark + call(0, 2, 100005, 1, 9), PayloadMode::kTcpPacket), Sids{6});
  EXPECT_EQ(h.pay(t.p, call(0, 2, 100005, 1, 9), PayloadMode::kTcpPacket), Sids{});  // no record mark
  EXPECT_EQ(h.pay(t.p, mark + call(0, 2, 100005, 1, 9), PayloadMode::kStreamChunk), Sids{});
  EXPECT_EQ(h.pay(t.p, mark + call(0, 2, 100005, 2, 9), PayloadMode::kTcpPacket), Sids{});
}

// Snort 3 spellings on the engine: pcre's A (anchored at the buffer start)
// and bufferlen (bsize of the sticky buffer, Snort's inclusive range).
TEST(DetectSnort3, PcreAnchoredAndBufferlen) {
  Harness h;
  h.add(parse(R"(alert tcp any any -> any any (pcre:"/[a-z]{3}\d/A"; sid:1;))"));
  h.add(parse(R"(alert tcp any any -> any any (pcre:"/b+c # tail comment/AxG"; sid:2;))"));
  h.add(parse(R"(alert tcp any any -> any 80 ( msg:"u"; http_uri; content:"/q"; bufferlen:3<=>5; service:http; sid:3; ))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1000, 80);
  EXPECT_EQ(h.pay(pk.p, "abc1 xyz"), Sids{1});
  EXPECT_EQ(h.pay(pk.p, " abc1"), Sids{});  // not at the start
  EXPECT_EQ(h.pay(pk.p, "bbc"), Sids{2});
  EXPECT_EQ(h.pay(pk.p, "abbc"), Sids{});
  for (const auto& [uri, want] : std::vector<std::pair<std::string, Sids>>{
           {"/q", Sids{}}, {"/q1", Sids{3}}, {"/q123", Sids{3}}, {"/q1234", Sids{}}}) {
    BufferSet b;
    b.set(rules::kHttpUri, reinterpret_cast<const uint8_t*>(uri.data()), uint32_t(uri.size()));
    pk.p.app_proto = rules::AppProto::kHttp;
    EXPECT_EQ(h.app(pk.p, b), want) << uri;
  }
}

// Snort 3's sip_method / sip_stat_code on the SIP buffers, with a payload
// content (the community rules' form: a transaction rule, payload = the message).
TEST(DetectSnort3, SipMethodAndStatCode) {
  Harness h;
  h.add(parse(R"(alert udp any any -> any 5060 ( msg:"inv"; flow:to_server; content:"INVITE",fast_pattern,nocase; sip_method:invite; service:sip; sid:1; ))"));
  h.add(parse(R"(alert udp any 5060 -> any any ( msg:"4xx"; flow:to_client; sip_stat_code:4; content:"SIP/2.0",fast_pattern,nocase; service:sip; sid:2; ))"));
  h.add(parse(R"(alert udp any 5060 -> any any ( msg:"180"; flow:to_client; sip_stat_code:180,183; content:"SIP/2.0"; service:sip; sid:3; ))"));
  h.add(parse(R"(alert udp any any -> any 5060 ( msg:"not bye"; flow:to_server; sip_method:!bye,cancel; content:"SIP/2.0"; service:sip; sid:4; ))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u) << (h.rep.messages.empty() ? "" : h.rep.messages[0]);
  auto req = [&](const std::string& method) {
    const std::string msg = method + " sip:b@x SIP/2.0\r\n\r\n";
    BufferSet b;
    b.set(rules::kSipMethod, reinterpret_cast<const uint8_t*>(method.data()), uint32_t(method.size()));
    b.set(rules::kPayload, reinterpret_cast<const uint8_t*>(msg.data()), uint32_t(msg.size()));
    Pkt pk(17, 40000, 5060);
    pk.p.app_proto = rules::AppProto::kSip;
    return h.app(pk.p, b);
  };
  auto resp = [&](const std::string& code) {
    const std::string msg = "SIP/2.0 " + code + " X\r\n\r\n";
    BufferSet b;
    b.set(rules::kSipStatCode, reinterpret_cast<const uint8_t*>(code.data()), uint32_t(code.size()));
    b.set(rules::kPayload, reinterpret_cast<const uint8_t*>(msg.data()), uint32_t(msg.size()));
    Pkt pk(17, 5060, 40000);
    pk.p.to_server = false;
    pk.p.app_proto = rules::AppProto::kSip;
    return h.app(pk.p, b);
  };
  EXPECT_EQ(req("INVITE"), (Sids{1, 4}));
  EXPECT_EQ(req("invite"), (Sids{1, 4}));  // any case, as Snort
  EXPECT_EQ(req("INVITEX"), Sids{4});      // the whole method
  EXPECT_EQ(req("BYE"), Sids{});
  EXPECT_EQ(req("CANCEL"), Sids{});
  EXPECT_EQ(resp("404"), Sids{2});
  EXPECT_EQ(resp("486"), Sids{2});
  EXPECT_EQ(resp("180"), Sids{3});
  EXPECT_EQ(resp("183"), Sids{3});
  EXPECT_EQ(resp("200"), Sids{});
  EXPECT_EQ(resp("4000"), Sids{});
}

// Each IP fragment is also inspected as a packet of its own (Suricata's
// defrag): `ip` rules of IP header keywords only; payload, L4 and address-only
// rules wait for the reassembled datagram.
TEST(DetectPktHdr, FragmentsAsPackets) {
  Harness h;
  for (const char* r : {"alert ip any any -> any any (fragbits:M; sid:1;)",
                        "alert ip any any -> any any (fragbits:!M; sid:2;)",
                        "alert ip any any -> any any (fragoffset:>0; sid:3;)",
                        "alert ip any any -> any any (content:\"abc\"; sid:4;)",
                        "alert tcp any any -> any any (fragbits:M; sid:5;)",
                        "alert ip any any -> any any (ttl:64; sid:6;)",
                        "alert ip any any -> any any (msg:\"addresses only\"; sid:7;)",
                        "alert ip any any -> any any (fragbits:M; dsize:0; sid:8;)",
                        "alert ip any any -> 10.9.9.9 any (fragbits:M; sid:9;)"})
    h.add(parse(r));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  auto frag = [&](int flags_off, int ttl = 64) {
    V4 v;
    v.frag = flags_off;
    v.ttl = ttl;
    const std::string ip = v.bytes();
    DetectPacket d;
    d.ip_ver = 4;
    d.proto = 6;
    d.has_flow = false;
    d.l3 = reinterpret_cast<const uint8_t*>(ip.data());
    d.src = d.l3 + 12;
    d.dst = d.l3 + 16;
    d.l4_off = 20;
    d.l4_hlen = 0;
    VecSink s;
    detect_fragment(*h.ctx, *h.crs, d, s);
    return s.sids;
  };
  EXPECT_EQ(frag(0x2000), (Sids{1, 6}));          // first: MF, offset 0
  EXPECT_EQ(frag(0x2000 | 185), (Sids{1, 3, 6}));  // middle: MF, offset 1480
  EXPECT_EQ(frag(370, 63), (Sids{2, 3}));          // last: offset only, another TTL
  Harness none;  // no rule fits: nothing evaluated
  none.add(parse("alert ip any any -> any any (content:\"abc\"; sid:4;)"));
  none.compile();
  V4 v;
  v.frag = 0x2000;
  const std::string ip = v.bytes();
  DetectPacket d;
  d.l3 = reinterpret_cast<const uint8_t*>(ip.data());
  d.src = d.l3 + 12;
  d.dst = d.l3 + 16;
  d.has_flow = false;
  VecSink s;
  detect_fragment(*none.ctx, *none.crs, d, s);
  EXPECT_TRUE(s.sids.empty());
  EXPECT_EQ(none.ctx->ctr.rules_evaluated, 0u);
}

}  // namespace
}  // namespace spectre::detect_test
