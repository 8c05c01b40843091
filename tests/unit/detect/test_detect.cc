// Keyword-level tests of the detection engine. Every call also runs the
// naive reference (Harness::pay/app) and checks both agree.
#include "tests/unit/detect/detect_util.h"

namespace spectre::detect_test {
namespace {

using Mode = PayloadMode;
using Cmd = rules::Flowbit::Cmd;

// One rule, one payload: did it alert?
bool hit(rules::Rule r, const std::string& data, Mode m = Mode::kPacket, const Pkt& pk = Pkt(6, 1234, 80)) {
  Harness h;
  h.add(std::move(r));
  h.compile();
  return !h.pay(pk.p, data, m).empty();
}

rules::Rule with(std::vector<MatchItem> items, uint32_t sid = 1) {
  auto r = make_rule(sid);
  r.items = std::move(items);
  return r;
}

TEST(DetectContent, PlainAndNocase) {
  EXPECT_TRUE(hit(with({C("abc")}), "xxabcxx"));
  EXPECT_FALSE(hit(with({C("abc")}), "xxABCxx"));
  EXPECT_TRUE(hit(with({C("aBc").nocase()}), "xxAbCxx"));
  EXPECT_FALSE(hit(with({C("abc")}), "ab"));
  EXPECT_TRUE(hit(with({C(std::string("\x00\xff", 2))}), std::string("a\x00\xff", 3)));
}

TEST(DetectContent, OffsetDepth) {
  auto r = with({C("abc").offset(2).depth(3)});
  EXPECT_TRUE(hit(r, "xxabc"));
  EXPECT_FALSE(hit(r, "xabcx"));   // starts before offset
  EXPECT_FALSE(hit(r, "xxxabc"));  // ends after offset + depth
  EXPECT_TRUE(hit(with({C("abc").depth(3)}), "abcabc"));
  EXPECT_FALSE(hit(with({C("abc").depth(2)}), "abc"));
  EXPECT_FALSE(hit(with({C("abc").offset(10)}), "abc"));
}

TEST(DetectContent, DistanceWithin) {
  auto r = with({C("a"), C("b").distance(1).within(2)});
  EXPECT_TRUE(hit(r, "axb"));
  EXPECT_FALSE(hit(r, "ab"));
  EXPECT_TRUE(hit(r, "axxb"));    // within counts from prev end + distance (Suricata)
  EXPECT_FALSE(hit(r, "axxxb"));
  EXPECT_TRUE(hit(with({C("ab"), C("ab").distance(-2).within(2)}), "ab"));  // negative distance: same bytes
  EXPECT_TRUE(hit(with({C("b"), C("a").distance(-5)}), "ab"));             // clamped to buffer start
}

TEST(DetectContent, BacktracksToLaterOccurrence) {
  auto r = with({C("a"), C("b").distance(0).within(1)});
  EXPECT_TRUE(hit(r, "axab"));
  EXPECT_FALSE(hit(r, "axax"));
  auto r3 = with({C("a"), C("b").distance(0).within(2), C("c").distance(0).within(1)});
  EXPECT_TRUE(hit(r3, "abxabc"));
  EXPECT_TRUE(hit(r3, "abbc"));  // b at 1 fails c; b at 2 (still within 2 of a) works
  EXPECT_FALSE(hit(r3, "abxbc"));
  // pcre R retried after later content occurrences
  EXPECT_TRUE(hit(with({C("a"), pcre("^b", true)}), "aab"));
}

TEST(DetectContent, Negation) {
  EXPECT_TRUE(hit(with({C("evil").neg()}), "good"));
  EXPECT_FALSE(hit(with({C("evil").neg()}), "so evil"));
  EXPECT_TRUE(hit(with({C("x"), C("evil").neg()}), "x"));
  auto r = with({C("a"), C("b").neg().distance(0).within(1)});
  EXPECT_FALSE(hit(r, "ab"));
  EXPECT_TRUE(hit(r, "ac"));
  EXPECT_TRUE(hit(r, "abac"));  // second a is not followed by b
  EXPECT_TRUE(hit(r, "a"));
  EXPECT_TRUE(hit(with({C("GET").neg().depth(3)}), "POST GET"));
}

TEST(DetectContent, StartsEndsWith) {
  EXPECT_TRUE(hit(with({C("GET").starts()}), "GET /"));
  EXPECT_FALSE(hit(with({C("GET").starts()}), " GET /"));
  EXPECT_TRUE(hit(with({C("\r\n").ends()}), "x\r\n"));
  EXPECT_FALSE(hit(with({C("\r\n").ends()}), "\r\nx"));
  EXPECT_TRUE(hit(with({C("ab").ends()}), "abab"));
  EXPECT_TRUE(hit(with({C("ab").ends().neg()}), "abx"));
  EXPECT_FALSE(hit(with({C("ab").ends().neg()}), "xab"));
  EXPECT_TRUE(hit(with({C("ab").starts().ends()}), "ab"));
  EXPECT_FALSE(hit(with({C("ab").starts().ends()}), "abab"));
  EXPECT_TRUE(hit(with({C("a"), C("c").distance(1).ends()}), "abc"));
}

TEST(DetectIsDataAt, AbsoluteRelativeNegated) {
  EXPECT_FALSE(hit(with({C("1"), isdataat(5)}), "12345"));
  EXPECT_TRUE(hit(with({C("1"), isdataat(5)}), "123456"));
  EXPECT_TRUE(hit(with({C("ab"), isdataat(2, true)}), "abcd"));
  EXPECT_FALSE(hit(with({C("ab"), isdataat(2, true)}), "abc"));
  EXPECT_TRUE(hit(with({C("ab"), isdataat(1, true, true)}), "xab"));
  EXPECT_FALSE(hit(with({C("ab"), isdataat(1, true, true)}), "abx"));
  EXPECT_TRUE(hit(with({C("ab"), isdataat(1, true, true)}), "abxab"));  // backtracks to the last ab
  EXPECT_TRUE(hit(with({C("1"), isdataat(3, false, true)}), "123"));
}

TEST(DetectPcre, FlagsRelativeNegated) {
  EXPECT_TRUE(hit(with({pcre("a.c")}), "xabc"));
  EXPECT_FALSE(hit(with({pcre("a.c")}), "xABC"));
  EXPECT_TRUE(hit(with({pcre("a.c", false, false, true)}), "xABC"));
  EXPECT_TRUE(hit(with({C("x"), pcre("^y", true)}), "xy"));
  EXPECT_FALSE(hit(with({C("x"), pcre("^y", true)}), "yx"));
  EXPECT_TRUE(hit(with({C("a"), pcre("b+", false, true)}), "a"));
  EXPECT_FALSE(hit(with({C("a"), pcre("b+", false, true)}), "ab"));
  EXPECT_TRUE(hit(with({pcre("ab"), C("c").distance(0).within(1)}), "abxabc"));  // pcre retried
  auto dot = with({pcre("a.b")});
  dot.items[0].pcre.dotall = true;
  EXPECT_TRUE(hit(dot, "a\nb"));
  EXPECT_FALSE(hit(with({pcre("a.b")}), "a\nb"));
}

TEST(DetectFlow, Options) {
  auto r = make_rule(1);
  r.items = {C("x")};
  r.flow = rules::kFlowEstablished | rules::kFlowToServer;
  Pkt pk(6, 1000, 80);
  EXPECT_TRUE(hit(r, "x", Mode::kPacket, pk));
  Pkt tc = pk;
  tc.p.to_server = false;
  EXPECT_FALSE(hit(r, "x", Mode::kPacket, tc));
  Pkt ne = pk;
  ne.p.established = false;
  EXPECT_FALSE(hit(r, "x", Mode::kPacket, ne));
  Pkt nf = pk;
  nf.p.has_flow = false;
  EXPECT_FALSE(hit(r, "x", Mode::kPacket, nf));
  r.flow = rules::kFlowNotEstablished | rules::kFlowStateless;
  EXPECT_TRUE(hit(r, "x", Mode::kPacket, ne));
  EXPECT_FALSE(hit(r, "x", Mode::kPacket, pk));
  r.flow = rules::kFlowStateless;
  EXPECT_TRUE(hit(r, "x", Mode::kPacket, nf));
}

TEST(DetectFlow, PayloadModes) {
  auto plain = with({C("x")}, 1);
  auto only_stream = with({C("x")}, 2);
  only_stream.flow = rules::kFlowOnlyStream;
  auto no_stream = with({C("x")}, 3);
  no_stream.flow = rules::kFlowNoStream;
  auto header_only = make_rule(4);
  Harness h;
  for (auto* r : {&plain, &only_stream, &no_stream, &header_only}) h.add(*r);
  h.compile();
  Pkt pk(6, 1000, 80);
  EXPECT_EQ(h.pay(pk.p, "x", Mode::kPacket), (Sids{1, 3, 4}));
  EXPECT_EQ(h.pay(pk.p, "x", Mode::kTcpPacket), (Sids{3, 4}));
  EXPECT_EQ(h.pay(pk.p, "x", Mode::kStreamChunk), (Sids{1, 2}));
}

// A TCP packet held behind a stream hole is inspected as a packet with the
// kTcpPacket rules and the stream rules that have a payload offset or depth
// (Suricata's SIG_FLAG_REQUIRE_PACKET); the stream inspects the rest later.
TEST(DetectFlow, HeldPacketOnlyAnchoredStreamRules) {
  auto plain = with({C("x")}, 1);
  auto depth = with({C("x").depth(1)}, 2);
  auto offset = with({C("x").offset(0)}, 3);
  auto no_stream = with({C("x")}, 4);
  no_stream.flow = rules::kFlowNoStream;
  auto relative = with({C("y"), C("x").distance(0)}, 5);
  auto only_stream = with({C("x").depth(1)}, 6);
  only_stream.flow = rules::kFlowOnlyStream;
  auto sized = with({C("x")}, 7);  // stream_size: Suricata inspects the packet too
  sized.has_stream_size = true;
  sized.stream_size.side = rules::StreamSize::Side::kEither;
  sized.stream_size.op = rules::StreamSize::Op::kGt;
  sized.stream_size.value = 0;
  Harness h;
  for (auto* r : {&plain, &depth, &offset, &no_stream, &relative, &only_stream, &sized}) h.add(*r);
  h.compile();
  Pkt pk(6, 1000, 80);
  pk.p.has_stream = true;
  pk.p.stream_size[0] = pk.p.stream_size[1] = 10;
  EXPECT_EQ(h.pay(pk.p, "xy x", Mode::kPacket), (Sids{1, 2, 3, 4, 5, 7}));
  pk.p.held = true;
  EXPECT_EQ(h.pay(pk.p, "xy x", Mode::kPacket), (Sids{2, 3, 4, 7}));
  EXPECT_EQ(h.pay(pk.p, " x", Mode::kPacket), (Sids{3, 4, 7}));  // depth 1 misses
}

TEST(DetectFlowbits, AcrossCalls) {
  Harness h;
  auto setter = with({C("login")}, 1);
  setter.flowbits = {flowbit(Cmd::kSet, {"auth"}), flowbit(Cmd::kNoAlert, {})};
  auto user = with({C("cmd")}, 2);
  user.flowbits = {flowbit(Cmd::kIsSet, {"auth"})};
  auto anon = with({C("cmd")}, 3);
  anon.flowbits = {flowbit(Cmd::kIsNotSet, {"auth"})};
  auto logout = with({C("bye")}, 4);
  logout.flowbits = {flowbit(Cmd::kUnset, {"auth"})};
  auto any = with({C("q")}, 5);
  any.flowbits = {flowbit(Cmd::kIsSet, {"auth", "other"}, true)};
  auto all = with({C("q")}, 6);
  all.flowbits = {flowbit(Cmd::kIsSet, {"auth", "other"})};
  auto tog = with({C("t")}, 7);
  tog.flowbits = {flowbit(Cmd::kToggle, {"other"}), flowbit(Cmd::kNoAlert, {})};
  for (auto* r : {&setter, &user, &anon, &logout, &any, &all, &tog}) h.add(*r);
  h.compile();
  Pkt pk(6, 1000, 80);
  EXPECT_EQ(h.pay(pk.p, "cmd"), Sids{3});
  EXPECT_EQ(h.pay(pk.p, "login"), Sids{});
  EXPECT_EQ(h.pay(pk.p, "cmd"), Sids{2});
  EXPECT_EQ(h.pay(pk.p, "q"), Sids{5});
  EXPECT_EQ(h.pay(pk.p, "t"), Sids{});
  EXPECT_EQ(h.pay(pk.p, "q"), (Sids{5, 6}));
  EXPECT_EQ(h.pay(pk.p, "t"), Sids{});
  EXPECT_EQ(h.pay(pk.p, "bye cmd"), (Sids{2, 4}));  // isset checked before this call's unset... by rule order
  EXPECT_EQ(h.pay(pk.p, "cmd"), Sids{3});
  // Set in the same call is visible to later rules.
  EXPECT_EQ(h.pay(pk.p, "login cmd"), Sids{2});
  int id = ruleset_flowbit_id(*h.crs, "auth");
  ASSERT_GE(id, 0);
  EXPECT_EQ(h.flow.nbits, 1);
  EXPECT_EQ(h.flow.bits[0], id);
  // No flow state: isset false, set no-op.
  h.use_flow = false;
  EXPECT_EQ(h.pay(pk.p, "login cmd"), Sids{3});
}

rules::Rule thr_rule(uint32_t sid, rules::Threshold::Type t, rules::Threshold::Track tr, uint32_t count,
                     uint32_t secs) {
  auto r = with({C("x")}, sid);
  rules::Threshold th;
  th.type = t;
  th.track = tr;
  th.count = count;
  th.seconds = secs;
  if (t == rules::Threshold::Type::kDetectionFilter) {
    r.has_detection_filter = true;
    r.detection_filter = th;
  } else {
    r.has_threshold = true;
    r.threshold = th;
  }
  return r;
}

// Alerts over a series of matches at the given seconds, source address from `srcs`.
std::string thr_series(rules::Rule r, std::vector<double> at, std::vector<uint32_t> srcs = {}) {
  Harness h;
  h.add(std::move(r));
  h.compile();
  std::string out;
  for (size_t i = 0; i < at.size(); i++) {
    Pkt pk(6, 1000, 80, srcs.empty() ? 0x0a000001 : srcs[i]);
    pk.p.ts_ns = uint64_t(at[i] * 1e9);
    out += h.pay(pk.p, "x").empty() ? '.' : 'A';
  }
  return out;
}

TEST(DetectThreshold, Types) {
  using Ty = rules::Threshold::Type;
  using Tr = rules::Threshold::Track;
  EXPECT_EQ(thr_series(thr_rule(1, Ty::kLimit, Tr::kBySrc, 2, 60), {0, 1, 2, 3, 61, 62, 63}), "AA..AA.");
  EXPECT_EQ(thr_series(thr_rule(1, Ty::kThreshold, Tr::kBySrc, 3, 60), {0, 1, 2, 3, 4, 5, 6, 70}), "..A..A..");
  EXPECT_EQ(thr_series(thr_rule(1, Ty::kBoth, Tr::kByRule, 2, 60), {0, 1, 2, 3, 61, 62}), ".A...A");
  EXPECT_EQ(thr_series(thr_rule(1, Ty::kDetectionFilter, Tr::kBySrc, 2, 60), {0, 1, 2, 3, 100, 101, 102}),
            "..AA..A");
  // by_src: separate counters per source; by_rule: one counter.
  EXPECT_EQ(thr_series(thr_rule(1, Ty::kLimit, Tr::kBySrc, 1, 60), {0, 1, 2, 3}, {1, 2, 1, 2}), "AA..");
  EXPECT_EQ(thr_series(thr_rule(1, Ty::kLimit, Tr::kByRule, 1, 60), {0, 1, 2, 3}, {1, 2, 1, 2}), "A...");
  EXPECT_EQ(thr_series(thr_rule(1, Ty::kLimit, Tr::kByDst, 1, 60), {0, 1, 2, 3}, {1, 2, 1, 2}), "A...");
  EXPECT_EQ(thr_series(thr_rule(1, Ty::kLimit, Tr::kByBoth, 1, 60), {0, 1, 2, 3}, {1, 2, 1, 2}), "AA..");
}

TEST(DetectThreshold, TableFullIsCounted) {
  Harness h;
  h.add(thr_rule(1, rules::Threshold::Type::kLimit, rules::Threshold::Track::kBySrc, 1, 60));
  h.compile();
  DetectCtx small(0, 16);
  VecSink s;
  for (uint32_t src = 1; src <= 64; src++) {
    Pkt pk(6, 1000, 80, src);
    detect_payload(small, *h.crs, pk.p, Mode::kPacket, reinterpret_cast<const uint8_t*>("x"), 1, s);
  }
  EXPECT_EQ(s.sids.size(), 64u);  // every source is new: all alert
  EXPECT_GT(small.ctr.threshold_table_full, 0u);
}

TEST(DetectDsize, PacketOnly) {
  auto r = with({C("x")});
  r.has_dsize = true;
  r.dsize.op = rules::Dsize::Op::kGt;
  r.dsize.lo = r.dsize.hi = 3;
  EXPECT_TRUE(hit(r, "xxxx"));
  EXPECT_FALSE(hit(r, "xxx"));
  EXPECT_TRUE(hit(r, "xxxx", Mode::kTcpPacket));
  EXPECT_FALSE(hit(r, "xxxx", Mode::kStreamChunk));
  r.dsize.op = rules::Dsize::Op::kRange;
  r.dsize.lo = 1;
  r.dsize.hi = 3;
  EXPECT_TRUE(hit(r, "xx"));
  EXPECT_FALSE(hit(r, "xxx"));
}

TEST(DetectAppProto, HeaderAndKeyword) {
  auto r = make_rule(1, rules::Proto::kHttp);
  r.items = {C("x")};
  Pkt pk(6, 1000, 80);
  EXPECT_FALSE(hit(r, "x", Mode::kPacket, pk));
  pk.p.app_proto = rules::AppProto::kHttp;
  EXPECT_TRUE(hit(r, "x", Mode::kPacket, pk));
  Pkt udp(17, 1000, 53);
  udp.p.app_proto = rules::AppProto::kDns;
  auto d = make_rule(2, rules::Proto::kDns);
  EXPECT_TRUE(hit(d, "", Mode::kPacket, udp));
  auto kw = with({C("x")});
  kw.has_app_proto = true;
  kw.app_proto = rules::AppProto::kDns;
  kw.app_proto_negated = true;
  EXPECT_TRUE(hit(kw, "x", Mode::kPacket, pk));
  EXPECT_FALSE(hit(kw, "x", Mode::kPacket, udp));
}

TEST(DetectHeader, AddressPortBidir) {
  auto r = with({C("x")});
  r.hdr.src.any = false;
  r.hdr.src.include = {v4range(0x0a000000, 0x0affffff)};
  r.hdr.dport = ports({{80, 80}, {8000, 8100}}, {{8080, 8080}});
  EXPECT_TRUE(hit(r, "x", Mode::kPacket, Pkt(6, 1000, 80, 0x0a010203)));
  EXPECT_TRUE(hit(r, "x", Mode::kPacket, Pkt(6, 1000, 8001, 0x0a010203)));
  EXPECT_FALSE(hit(r, "x", Mode::kPacket, Pkt(6, 1000, 8080, 0x0a010203)));
  EXPECT_FALSE(hit(r, "x", Mode::kPacket, Pkt(6, 1000, 80, 0x0b010203)));
  EXPECT_FALSE(hit(r, "x", Mode::kPacket, Pkt(17, 1000, 80, 0x0a010203)));  // tcp rule, udp packet
  r.hdr.bidir = true;
  Pkt back(6, 80, 1000, 0xc0a80001, 0x0a010203);
  back.p.to_server = false;
  EXPECT_TRUE(hit(r, "x", Mode::kPacket, back));
  r.hdr.bidir = false;
  EXPECT_FALSE(hit(r, "x", Mode::kPacket, back));
  auto ip = with({C("x")});
  ip.hdr.proto = rules::Proto::kIp;
  EXPECT_TRUE(hit(ip, "x", Mode::kPacket, Pkt(47, 0, 0)));
  auto ex = with({C("x")});
  ex.hdr.dst.exclude = {v4range(0xc0a80000, 0xc0a8ffff)};
  EXPECT_FALSE(hit(ex, "x"));
  EXPECT_TRUE(hit(ex, "x", Mode::kPacket, Pkt(6, 1, 2, 1, 0x01020304)));
}

TEST(DetectPass, SuppressesCallAndFlow) {
  Harness h;
  h.add(with({C("evil")}, 1));
  auto pass = with({C("trusted")}, 2);
  pass.hdr.action = rules::Action::kPass;
  h.add(pass);
  auto drop = with({C("evil")}, 3);
  drop.hdr.action = rules::Action::kDrop;
  h.add(drop);
  h.compile();
  Pkt pk(6, 1000, 80);
  EXPECT_EQ(h.pay(pk.p, "evil"), (Sids{1, 3}));
  EXPECT_EQ(h.pay(pk.p, "evil trusted"), Sids{});
  EXPECT_TRUE(h.flow.passed);
  EXPECT_EQ(h.pay(pk.p, "evil"), Sids{});
  EXPECT_GE(h.ctx->ctr.suppressed_pass, 2u);
}

TEST(DetectGroups, PortSelection) {
  Harness h;
  auto a = with({C("x")}, 1);
  a.hdr.dport = ports({{80, 80}});
  auto b = with({C("x")}, 2);
  b.hdr.dport = ports({{25, 25}});
  auto any = with({C("x")}, 3);
  h.add(a);
  h.add(b);
  h.add(any);
  CompileOptions opt;
  opt.min_rules_per_port = 1;
  h.compile(opt);
  EXPECT_GE(h.rep.groups, 3u);
  EXPECT_EQ(h.pay(Pkt(6, 1000, 80).p, "x"), (Sids{1, 3}));
  EXPECT_EQ(h.ctx->ctr.rules_evaluated, 2u);  // rule 2 (port 25) not a candidate
  EXPECT_EQ(h.pay(Pkt(6, 1000, 25).p, "x"), (Sids{2, 3}));
  EXPECT_EQ(h.ctx->ctr.rules_evaluated, 4u);
  EXPECT_EQ(h.pay(Pkt(6, 1000, 443).p, "x"), (Sids{3}));
  EXPECT_EQ(h.ctx->ctr.rules_evaluated, 5u);
  // to_client: server port is the source port
  Pkt back(6, 80, 1000);
  back.p.to_server = false;
  auto resp = with({C("y")}, 4);
  resp.hdr.sport = ports({{80, 80}});
  Harness h2;
  h2.add(resp);
  h2.add(b);
  h2.compile(opt);
  EXPECT_EQ(h2.pay(back.p, "y"), Sids{4});
}

TEST(DetectGroups, DirectionDatabases) {
  Harness h;
  auto ts = with({C("x")}, 1);
  ts.flow = rules::kFlowToServer;
  auto tc = with({C("x")}, 2);
  tc.flow = rules::kFlowToClient;
  h.add(ts);
  h.add(tc);
  h.compile();
  EXPECT_EQ(h.pay(Pkt(6, 1000, 80).p, "x"), Sids{1});
  EXPECT_EQ(h.ctx->ctr.rules_evaluated, 1u);
  Pkt back(6, 80, 1000);
  back.p.to_server = false;
  EXPECT_EQ(h.pay(back.p, "x"), Sids{2});
  EXPECT_EQ(h.ctx->ctr.rules_evaluated, 2u);
}

TEST(DetectApp, BuffersAndPrefilter) {
  Harness h;
  auto r = make_rule(1, rules::Proto::kHttp);
  r.items = {C("/admin", rules::kHttpUri), C("example", rules::kHttpHost).nocase()};
  auto m = make_rule(2, rules::Proto::kHttp);
  m.items = {C("POST", rules::kHttpMethod).starts()};
  auto nofp = make_rule(3, rules::Proto::kHttp);
  nofp.items = {pcre("^/a", false, false, false, rules::kHttpUri)};
  h.add(r);
  h.add(m);
  h.add(nofp);
  h.compile();
  Pkt pk(6, 1000, 80);
  pk.p.app_proto = rules::AppProto::kHttp;
  std::string uri = "/admin/x", host = "EXAMPLE.com", meth = "POST";
  BufferSet b;
  b.set(rules::kHttpUri, reinterpret_cast<const uint8_t*>(uri.data()), uint32_t(uri.size()));
  EXPECT_EQ(h.app(pk.p, b), Sids{3});  // rule 1 lacks http.host
  b.set(rules::kHttpHost, reinterpret_cast<const uint8_t*>(host.data()), uint32_t(host.size()));
  b.set(rules::kHttpMethod, reinterpret_cast<const uint8_t*>(meth.data()), uint32_t(meth.size()));
  EXPECT_EQ(h.app(pk.p, b), (Sids{1, 2, 3}));
  // app rules never run on payload
  EXPECT_EQ(h.pay(pk.p, "/admin example POST"), Sids{});
}

TEST(DetectCompile, BrokenPcreAndRejectedRules) {
  rules::RuleSet rs;
  rs.rules.push_back(with({C("a")}, 10));
  rs.rules.push_back(with({pcre("(unclosed")}, 11));
  rs.rules.push_back(with({C("a"), C("b", rules::kHttpUri)}, 12));
  rs.rules.push_back(with({C("a").offset(1).distance(2)}, 13));
  rs.rules.push_back(with({C("b"), pcre("b+c")}, 14));
  CompileReport rep;
  std::string err;
  auto crs = compile_ruleset(rs, 2, rep, err);
  ASSERT_TRUE(crs) << err;
  // sid 12 mixes payload and http.uri: an app rule now (see DetectMixed).
  EXPECT_EQ(rep.rules, 3u);
  EXPECT_EQ(rep.rejected, 2u);
  EXPECT_EQ(ruleset_rule_count(*crs), 3u);
  ASSERT_EQ(rep.messages.size(), 2u);
  EXPECT_NE(rep.messages[0].find("sid 11"), std::string::npos);
  EXPECT_NE(rep.messages[0].find("pcre"), std::string::npos);
  EXPECT_NE(rep.messages[1].find("sid 13"), std::string::npos);
  EXPECT_EQ(rep.pcre_jit, 1u);
  DetectCtx w1(1);
  VecSink s;
  Pkt pk(6, 1, 2);
  detect_payload(w1, *crs, pk.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("abbc"), 4, s);
  EXPECT_EQ(s.sids, (Sids{10, 14}));
  DetectCtx w9(9);  // beyond the compiled worker count
  detect_payload(w9, *crs, pk.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("abbc"), 4, s);
  EXPECT_EQ(w9.ctr.bad_worker, 1u);
  // Nothing valid: error.
  rules::RuleSet bad;
  bad.rules.push_back(with({pcre("(")}, 1));
  EXPECT_FALSE(compile_ruleset(bad, 1, rep, err));
  EXPECT_FALSE(err.empty());
}

TEST(DetectCompile, MetaSeverityCategory) {
  rules::RuleSet rs;
  auto r = with({C("a")}, 5);
  r.gid = 1;
  r.rev = 3;
  r.msg = "ET TEST";
  r.classtype = "trojan-activity";
  r.metadata = {{"created_at", "2020_01_01"}, {"tag", "a\"b"}, {"created_at", "x\\y"}, {"ctl", "\x01"}};
  r.target = "dest_ip";
  rs.rules.push_back(r);
  auto r2 = with({C("b")}, 6);
  r2.classtype = "trojan-activity";
  r2.priority = 2;
  rs.rules.push_back(r2);
  rs.rules.push_back(with({C("c")}, 7));
  rs.classes["trojan-activity"] = {"A Network Trojan was detected", 1};
  CompileReport rep;
  std::string err;
  auto crs = compile_ruleset(rs, 1, rep, err);
  ASSERT_TRUE(crs);
  DetectCtx ctx(0);
  VecSink s;
  Pkt pk(6, 1, 2);
  detect_payload(ctx, *crs, pk.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("abc"), 3, s);
  ASSERT_EQ(s.metas.size(), 3u);
  const RuleMeta& m = *s.metas[0];
  EXPECT_EQ(m.sid, 5u);
  EXPECT_EQ(m.rev, 3u);
  EXPECT_EQ(m.msg, "ET TEST");
  EXPECT_EQ(m.category, "A Network Trojan was detected");
  EXPECT_EQ(m.severity, 1);
  EXPECT_EQ(m.target, "dest_ip");
  EXPECT_EQ(m.metadata_json, R"({"created_at":["2020_01_01","x\\y"],"tag":["a\"b"],"ctl":["\u0001"]})");
  EXPECT_EQ(s.metas[1]->severity, 2);
  EXPECT_EQ(s.metas[2]->severity, 3);
  EXPECT_EQ(s.metas[2]->category, "");
  EXPECT_EQ(s.metas[2]->metadata_json, "");
}

TEST(DetectCompile, FastPatternDedupAcrossRules) {
  rules::RuleSet rs;
  for (uint32_t i = 0; i < 50; i++) rs.rules.push_back(with({C("shared"), C("r" + std::to_string(i))}, i + 1));
  rs.rules.push_back(with({C("SHARED").nocase()}, 100));
  rs.rules.push_back(with({C("shared").nocase()}, 101));
  rs.rules.push_back(with({C("ab"), C("longer").fp()}, 102));  // marked fast_pattern wins
  CompileReport rep;
  std::string err;
  auto crs = compile_ruleset(rs, 1, rep, err);
  ASSERT_TRUE(crs);
  // The 50 rules share one prefilter pattern ("shared" is their longest content).
  DetectCtx ctx(0);
  VecSink s;
  Pkt pk(6, 1, 2);
  detect_payload(ctx, *crs, pk.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("Shared r7"), 9, s);
  EXPECT_EQ(s.sids, (Sids{100, 101}));
  detect_payload(ctx, *crs, pk.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("shared r7"), 9, s);
  EXPECT_EQ(s.sids, (Sids{100, 101, 8, 100, 101}));
}

}  // namespace
}  // namespace spectre::detect_test
