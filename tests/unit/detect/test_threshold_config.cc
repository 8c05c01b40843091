// threshold.config: parser (documented forms, malformed lines), resolution
// against rules (Suricata's precedence) and the runtime decisions at window edges.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "dataplane/detect/threshold_config.h"
#include "tests/unit/detect/detect_util.h"

namespace spectre::detect_test {
namespace {

using Ty = rules::Threshold::Type;
using Tr = rules::Threshold::Track;
using K = ThresholdEntry::Kind;

ThresholdConfig parse(const std::string& text, std::vector<std::string>* msgs = nullptr) {
  ThresholdConfig c;
  std::vector<std::string> m;
  rules::Vars v = rules::Vars::suricata_defaults();
  parse_threshold_config(text, "t.config", v, c, m);
  if (msgs) *msgs = m;
  return c;
}

// Every example line of Suricata's Global-Thresholds page.
TEST(ThresholdConfigParse, DocumentedExamples) {
  std::vector<std::string> msgs;
  auto c = parse(
      "# comment\n"
      "\n"
      "threshold gen_id 1, sig_id 2002087, type both, track by_src, count 3, seconds 5\n"
      "event_filter gen_id 1, sig_id 2002087, type threshold, track by_src, count 10, seconds 60\n"
      "threshold gen_id 1, sig_id 2002087, type limit, track by_src, count 1, seconds 15\n"
      "rate_filter gen_id 1, sig_id 1000, track by_rule, count 100, seconds 60, \\\n"
      "    new_action alert, timeout 30\n"
      "rate_filter gen_id 1, sig_id 888, track by_src, count 10, seconds 60, new_action drop, timeout 300\n"
      "suppress gen_id 1, sig_id 2002087, track by_src, ip 209.132.180.67\n"
      "suppress gen_id 1, sig_id 2003614, track by_src, ip 217.110.97.128/25\n"
      "suppress gen_id 1, sig_id 2003614, track by_src, ip [192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]\n"
      "suppress gen_id 1, sig_id 2003614, track by_src, ip $HOME_NET\n"
      "suppress gen_id 1, sig_id 2003614, track by_either, ip 217.110.97.128/25\n"
      "suppress gen_id 0, sig_id 0, track by_src, ip 209.132.180.67\n"
      "suppress gen_id 1, sig_id 0, track by_src, ip 209.132.180.67\n"
      "suppress gen_id 1, sig_id 2002087\n"
      "threshold gen_id 0, sig_id 0, type threshold, track by_both, count 10, seconds 10\n",
      &msgs);
  EXPECT_TRUE(msgs.empty()) << msgs[0];
  ASSERT_EQ(c.entries.size(), 14u);
  EXPECT_EQ(c.bad_lines, 0u);
  const auto& b = c.entries[0];
  EXPECT_EQ(b.kind, K::kThreshold);
  EXPECT_EQ(b.thr.type, Ty::kBoth);
  EXPECT_EQ(b.thr.track, Tr::kBySrc);
  EXPECT_EQ(b.thr.count, 3u);
  EXPECT_EQ(b.thr.seconds, 5u);
  EXPECT_EQ(b.where, "t.config:3");
  EXPECT_EQ(c.entries[1].kind, K::kThreshold);  // event_filter is threshold
  const auto& r = c.entries[3];
  EXPECT_EQ(r.kind, K::kRate);
  EXPECT_EQ(r.thr.track, Tr::kByRule);
  EXPECT_EQ(r.thr.count, 100u);
  EXPECT_EQ(r.new_action, rules::Action::kAlert);
  EXPECT_EQ(r.timeout, 30u);
  EXPECT_EQ(r.where, "t.config:6");  // first line of a continued entry
  EXPECT_EQ(c.entries[4].new_action, rules::Action::kDrop);
  const auto& s = c.entries[5];
  EXPECT_EQ(s.sup_track, ThresholdEntry::SupTrack::kBySrc);
  uint8_t a[16] = {209, 132, 180, 67}, o[16] = {209, 132, 180, 68};
  EXPECT_TRUE(s.ips.contains(a, 4));
  EXPECT_FALSE(s.ips.contains(o, 4));
  uint8_t ten[16] = {10, 1, 2, 3};
  EXPECT_TRUE(c.entries[7].ips.contains(ten, 4));  // list
  EXPECT_TRUE(c.entries[8].ips.contains(ten, 4));  // $HOME_NET (Suricata's default RFC 1918 set)
  EXPECT_EQ(c.entries[9].sup_track, ThresholdEntry::SupTrack::kByEither);
  EXPECT_EQ(c.entries[10].gid, 0u);
  EXPECT_EQ(c.entries[12].sup_track, ThresholdEntry::SupTrack::kNone);
  EXPECT_EQ(c.entries[13].thr.track, Tr::kByBoth);
}

TEST(ThresholdConfigParse, MalformedLinesAreReportedAndSkipped) {
  std::vector<std::string> msgs;
  auto c = parse(
      "suppress gen_id 1, sig_id 1\n"                                                      // 1 ok
      "supress gen_id 1, sig_id 2\n"                                                       // 2 unknown entry
      "suppress gen_id 0, sig_id 5\n"                                                      // 3 gid 0 with sid
      "suppress gen_id 1, sig_id 3, track by_src\n"                                        // 4 track without ip
      "suppress gen_id 1, sig_id 3, track by_rule, ip 1.2.3.4\n"                           // 5 bad track
      "suppress gen_id 1, sig_id 3, track by_src, ip 1.2.3\n"                              // 6 bad ip
      "threshold gen_id 1, sig_id 4, type sometimes, track by_src, count 1, seconds 1\n"   // 7 bad type
      "threshold gen_id 1, sig_id 4, type limit, track by_src, count 0, seconds 1\n"       // 8 count 0
      "threshold gen_id 1, sig_id 4, type limit, track by_src, count 1\n"                  // 9 no seconds
      "threshold gen_id 1, sig_id 4, type limit, track by_flow, count 1, seconds 1\n"      // 10 by_flow
      "rate_filter gen_id 1, sig_id 5, track by_src, count 1, seconds 1, new_action x, timeout 1\n"  // 11
      "rate_filter gen_id 1, sig_id 5, track by_src, count 1, seconds 1, new_action drop\n"          // 12
      "threshold gen_id 1, sig_id 4, type limit, track by_src, count 1, seconds 1, colour red\n"     // 13
      "threshold gen_id x, sig_id 4, type limit, track by_src, count 1, seconds 1\n"       // 14 bad gid
      "threshold gen_id 1, gen_id 1, sig_id 4, type limit, track by_src, count 1, seconds 1\n"  // 15 twice
      "  # indented comment\n"
      "threshold sig_id 7, gen_id 1, seconds 2, count 3, track by_dst, type limit\n",      // 17 ok, any order
      &msgs);
  ASSERT_EQ(c.entries.size(), 2u);
  EXPECT_EQ(c.bad_lines, 14u);
  ASSERT_EQ(msgs.size(), 14u);
  for (int i = 0; i < 14; i++)
    EXPECT_EQ(msgs[size_t(i)].rfind("t.config:" + std::to_string(i + 2) + ": ", 0), 0u) << msgs[size_t(i)];
  EXPECT_NE(msgs[0].find("unknown entry"), std::string::npos);
  EXPECT_NE(msgs[8].find("by_flow"), std::string::npos);
  EXPECT_EQ(c.entries[1].sid, 7u);
  std::vector<std::string> m2;
  parse("suppress\n", &m2);
  ASSERT_EQ(m2.size(), 1u);
  EXPECT_EQ(m2[0], "t.config:1: suppress: missing gen_id (line skipped)");
  EXPECT_EQ(c.entries[1].thr.track, Tr::kByDst);
  EXPECT_EQ(c.entries[1].thr.count, 3u);
}

TEST(ThresholdConfigParse, UnreadableFile) {
  ThresholdConfig c;
  std::vector<std::string> m;
  std::string err;
  EXPECT_FALSE(load_threshold_file("/nonexistent/threshold.config", rules::Vars::suricata_defaults(), c, m, err));
  EXPECT_NE(err.find("cannot read"), std::string::npos);
}

rules::Rule rule_with(uint32_t sid, uint32_t gid = 1) {
  auto r = make_rule(sid);
  r.gid = gid;
  r.items = {C("x")};
  return r;
}
rules::Threshold thr(Ty t, Tr tr, uint32_t n, uint32_t s) {
  rules::Threshold x;
  x.type = t;
  x.track = tr;
  x.count = n;
  x.seconds = s;
  return x;
}

// The documented precedence: a sid-specific threshold replaces the rule's;
// wildcards and rate_filter lose to the rule's own; suppress combines.
TEST(ThresholdConfigResolve, Precedence) {
  std::vector<rules::Rule> rs = {rule_with(2002087), rule_with(2), rule_with(3, 3), rule_with(4)};
  rs[0].has_threshold = true;
  rs[0].threshold = thr(Ty::kThreshold, Tr::kBySrc, 10, 60);
  rs[3].has_detection_filter = true;
  rs[3].detection_filter = thr(Ty::kDetectionFilter, Tr::kBySrc, 2, 10);
  auto c = parse(
      "threshold gen_id 0, sig_id 0, type limit, track by_src, count 1, seconds 60\n"
      "threshold gen_id 1, sig_id 2002087, type both, track by_src, count 3, seconds 5\n"
      "rate_filter gen_id 1, sig_id 4, track by_rule, count 1, seconds 1, new_action drop, timeout 5\n"
      "suppress gen_id 1, sig_id 2002087, track by_src, ip 209.132.180.67\n"
      "suppress gen_id 3, sig_id 0\n"
      "suppress gen_id 1, sig_id 99\n");
  std::vector<RuleThresholds> out;
  std::vector<std::string> msgs;
  resolve_thresholds(c, rs, out, msgs);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(out[0].has_threshold);  // replaced by the sid-specific line
  EXPECT_EQ(out[0].threshold.type, Ty::kBoth);
  EXPECT_EQ(out[0].threshold.count, 3u);
  ASSERT_EQ(out[0].suppress.size(), 1u);
  EXPECT_TRUE(out[1].has_threshold);  // no own threshold: the wildcard applies
  EXPECT_EQ(out[1].threshold.type, Ty::kLimit);
  EXPECT_TRUE(out[2].has_threshold);
  EXPECT_TRUE(out[2].noalert);        // gid 3 wildcard suppress without track
  EXPECT_FALSE(out[1].noalert);
  EXPECT_FALSE(out[3].has_threshold);  // own detection_filter wins over the wildcard and the rate_filter
  EXPECT_TRUE(out[3].has_detection_filter);
  EXPECT_EQ(out[3].rate, -1);
  // wildcard: 2 of 4 rules keep their own; rate_filter on 4 lost; unknown sid 99.
  ASSERT_EQ(msgs.size(), 3u);
  EXPECT_NE(msgs[0].find("t.config:1: 2 of 4"), std::string::npos) << msgs[0];
  EXPECT_NE(msgs[1].find("t.config:3"), std::string::npos);
  EXPECT_NE(msgs[2].find("no loaded rule 1:99"), std::string::npos);
}

TEST(ThresholdConfigResolve, SpecificReplacesEarlierConfigLine) {
  std::vector<rules::Rule> rs = {rule_with(5)};
  auto c = parse(
      "rate_filter gen_id 1, sig_id 5, track by_rule, count 1, seconds 1, new_action drop, timeout 5\n"
      "threshold gen_id 1, sig_id 5, type limit, track by_dst, count 2, seconds 9\n");
  std::vector<RuleThresholds> out;
  std::vector<std::string> msgs;
  resolve_thresholds(c, rs, out, msgs);
  EXPECT_EQ(out[0].rate, -1);
  EXPECT_TRUE(out[0].has_threshold);
  EXPECT_EQ(out[0].threshold.track, Tr::kByDst);
  EXPECT_TRUE(msgs.empty());
}

// Compiles `rules` with `config` and runs one match per event (time s, src).
struct ThrRun {
  rules::RuleSet rs;
  ThresholdConfig cfg;
  std::shared_ptr<const CompiledRuleset> crs;
  std::unique_ptr<DetectCtx> ctx;
  ThrRun(std::vector<rules::Rule> rules, const std::string& config) {
    rs.rules = std::move(rules);
    cfg = parse(config);
    CompileOptions o;
    o.thresholds = &cfg;
    CompileReport rep;
    std::string err;
    crs = compile_ruleset(rs, 1, o, rep, err);
    ctx = std::make_unique<DetectCtx>(0);
  }
  // One character per event: '.' no alert, 'A' alert, 'D' alert with drop action.
  std::string series(std::vector<double> at, std::vector<uint32_t> srcs = {}, uint32_t dst = 0xc0a80001) {
    std::string out;
    for (size_t i = 0; i < at.size(); i++) {
      Pkt pk(6, 1000, 80, srcs.empty() ? 0x0a000001 : srcs[i], dst);
      pk.p.ts_ns = uint64_t(at[i] * 1e9);
      VecSink s;
      detect_payload(*ctx, *crs, pk.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("x"), 1, s);
      if (s.sids.empty()) out += '.';
      else out += s.metas[0]->action == rules::Action::kDrop ? 'D' : 'A';
    }
    return out;
  }
};

TEST(ThresholdRuntime, ConfigTypesAtWindowEdges) {
  // limit 2 per 10 s: the event at exactly start+10 is still in the window (Suricata: ts <= start + seconds).
  ThrRun l({rule_with(1)}, "threshold gen_id 1, sig_id 1, type limit, track by_src, count 2, seconds 10\n");
  EXPECT_EQ(l.series({0, 1, 10, 10.5, 11, 20.5}), "AA.AA.");
  // threshold 3 per 10 s: every 3rd in the window; the window restarts at 10.5.
  ThrRun t({rule_with(1)}, "threshold gen_id 1, sig_id 1, type threshold, track by_src, count 3, seconds 10\n");
  EXPECT_EQ(t.series({0, 1, 10, 10.5, 11, 12, 13}), "..A..A.");
  // both 2 per 10 s: once per window, at the 2nd match.
  ThrRun b({rule_with(1)}, "event_filter gen_id 1, sig_id 1, type both, track by_rule, count 2, seconds 10\n");
  EXPECT_EQ(b.series({0, 10, 10, 10.5, 11, 12}, {1, 2, 3, 4, 5, 6}), ".A..A.");
  // by_dst: each destination its own counter.
  ThrRun d({rule_with(1)}, "threshold gen_id 1, sig_id 1, type limit, track by_dst, count 1, seconds 60\n");
  std::string got;
  for (uint32_t dst : {1u, 2u, 1u, 2u, 3u}) got += d.series({1}, {9}, dst);
  EXPECT_EQ(got, "AA..A");
}

TEST(ThresholdRuntime, OverridesRuleThreshold) {
  auto r = rule_with(2002087);
  r.has_threshold = true;
  r.threshold = thr(Ty::kThreshold, Tr::kBySrc, 10, 60);
  ThrRun own({r}, "");
  EXPECT_EQ(own.series({0, 1, 2, 3}), "....");
  ThrRun over({r}, "threshold gen_id 1, sig_id 2002087, type limit, track by_src, count 1, seconds 15\n");
  EXPECT_EQ(over.series({0, 1, 2, 3, 16}), "A...A");
  ThrRun wild({r}, "threshold gen_id 0, sig_id 0, type limit, track by_src, count 1, seconds 15\n");
  EXPECT_EQ(wild.series({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}), ".........A");  // rule's own threshold kept
}

TEST(ThresholdRuntime, Suppress) {
  const uint32_t spam = (209u << 24) | (132u << 16) | (180u << 8) | 67u, other = 0x0a000009;
  auto r = rule_with(2002087);
  r.has_threshold = true;
  r.threshold = thr(Ty::kThreshold, Tr::kByRule, 2, 60);
  for (const char* line : {"suppress gen_id 1, sig_id 2002087, track by_src, ip 209.132.180.67\n",
                           "suppress gen_id 0, sig_id 0, track by_src, ip 209.132.180.67\n",
                           "suppress gen_id 1, sig_id 0, track by_src, ip 209.132.180.67\n"}) {
    ThrRun s({r}, line);
    // From the suppressed source: never; its matches do not count toward the threshold of others.
    EXPECT_EQ(s.series({0, 1, 2, 3, 4, 5}, {spam, spam, spam, other, spam, other}), ".....A") << line;
  }
  ThrRun all({r, rule_with(7)}, "suppress gen_id 1, sig_id 2002087\n");
  EXPECT_EQ(all.series({0, 1, 2, 3}, {other, other, spam, spam}), "AAAA");  // sid 7 alerts; 2002087 noalert
  EXPECT_EQ(all.ctx->ctr.alerts, 4u);
  // by_dst / by_either
  ThrRun dst({rule_with(1)}, "suppress gen_id 1, sig_id 1, track by_dst, ip 192.168.0.0/24\n");
  EXPECT_EQ(dst.series({0, 1}, {spam, spam}, 0xc0a80001) + dst.series({2}, {spam}, 0xc0a80101), "..A");
  ThrRun either({rule_with(1)}, "suppress gen_id 1, sig_id 1, track by_either, ip 217.110.97.128/25\n");
  const uint32_t in = (217u << 24) | (110u << 16) | (97u << 8) | 200u;
  EXPECT_EQ(either.series({0}, {in}) + either.series({1}, {other}, in) + either.series({2}, {other}), "..A");
  EXPECT_EQ(either.ctx->ctr.suppressed_config, 2u);
}

// "If the rule sets a flowbit, that will still happen" (suppress without track).
TEST(ThresholdRuntime, SuppressedRuleStillSetsFlowbits) {
  auto setter = rule_with(1);
  setter.flowbits = {flowbit(rules::Flowbit::Cmd::kSet, {"seen"})};
  auto checker = make_rule(2);
  checker.items = {C("y")};
  checker.flowbits = {flowbit(rules::Flowbit::Cmd::kIsSet, {"seen"})};
  ThrRun r({setter, checker}, "suppress gen_id 1, sig_id 1\n");
  FlowDetectState st;
  VecSink s;
  Pkt pk(6, 1000, 80);
  pk.p.flow = &st;
  detect_payload(*r.ctx, *r.crs, pk.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("x"), 1, s);
  EXPECT_TRUE(s.sids.empty());  // sid 1 matched silently
  detect_payload(*r.ctx, *r.crs, pk.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("y"), 1, s);
  EXPECT_EQ(s.sids, Sids{2});   // its flowbit was set
}

TEST(ThresholdRuntime, RateFilter) {
  // The documented SSH example, scaled: more than 3 within 60 s from a source -> drop for 10 s.
  ThrRun r({rule_with(888)}, "rate_filter gen_id 1, sig_id 888, track by_src, count 3, seconds 60, "
                          "new_action drop, timeout 10\n");
  // 4th match switches to drop; drop stays through +10 s (inclusive); the match at +10.5 s
  // finds it expired (alert, not counted); then a fresh window.
  EXPECT_EQ(r.series({0, 1, 2, 3, 4, 13, 13.5, 100, 101, 102, 103}), "AAADDDAAAAD");
  EXPECT_EQ(r.ctx->ctr.rate_filtered, 4u);
  EXPECT_EQ(r.ctx->ctr.alerts, 11u);  // a rate_filter never removes alerts (except new_action pass)
  // Another source has its own counter.
  EXPECT_EQ(r.series({200, 201}, {5, 6}), "AA");
  ThrRun p({rule_with(9)}, "rate_filter gen_id 1, sig_id 9, track by_rule, count 1, seconds 60, "
                        "new_action pass, timeout 60\n");
  EXPECT_EQ(p.series({0, 1, 2}, {1, 2, 3}), "A..");
}

TEST(ThresholdRuntime, TableEvictsOldestAndCounts) {
  rules::RuleSet rs;
  rs.rules = {rule_with(1)};
  ThresholdConfig cfg = parse("threshold gen_id 1, sig_id 1, type limit, track by_src, count 1, seconds 60\n");
  CompileOptions o;
  o.thresholds = &cfg;
  CompileReport rep;
  std::string err;
  auto crs = compile_ruleset(rs, 1, o, rep, err);
  DetectCtx small(0, 16);
  VecSink s;
  for (uint32_t src = 1; src <= 64; src++) {
    Pkt pk(6, 1000, 80, src);
    pk.p.ts_ns = src;
    detect_payload(small, *crs, pk.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("x"), 1, s);
  }
  EXPECT_EQ(s.sids.size(), 64u);
  EXPECT_GE(small.ctr.threshold_table_full, 64u - 16u);  // at most 16 held: the rest evict
  // The newest source is remembered (its entry replaced an older one).
  Pkt last(6, 1000, 80, 64);
  last.p.ts_ns = 100;
  detect_payload(small, *crs, last.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("x"), 1, s);
  EXPECT_EQ(s.sids.size(), 64u);
}

}  // namespace
}  // namespace spectre::detect_test
