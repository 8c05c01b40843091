// Correlation rules: each type with edge cases at the window bounds, group-by,
// aliases, conditions, rules referring to rules, errors with file and line.
#include <gtest/gtest.h>

#include "tests/unit/cortex/cortex_util.h"

namespace spectre::cortex {
namespace {
using namespace test;

const char* kBase = R"(name: disc
detection:
  tactic: discovery
---
name: cred
detection:
  tactic: credential-access
---
name: c2
detection:
  tactic: command-and-control
)";

struct Rig {
  AttackTable t = shipped_table();
  Mapper map{t};
  RuleSet rs;
  std::unique_ptr<Correlator> c;
  std::vector<std::string> fired;  // rule name per match
  std::vector<uint64_t> counts;
  std::vector<std::vector<uint64_t>> members;  // per match: its members' times, seconds after kT0
  std::string err;
  bool load(const std::string& rules, uint32_t groups = 1024) {
    map.load(embedded("tables/mapping.yaml"), "m", err);
    if (!rs.add(std::string(kBase) + "---\n" + rules, "r.yaml", t, err) || !rs.finish(err)) return false;
    c = std::make_unique<Correlator>(rs, t, groups);
    c->set_on_match([this](const Match& m) {
      fired.push_back(m.rule->name);
      counts.push_back(m.count);
      members.emplace_back();
      for (uint8_t k = 0; k < m.nmembers; k++) members.back().push_back((m.members[k]->ts - kT0) / kS);
    });
    return true;
  }
  void feed(Detection d) {
    map.map(d);
    c->process(d);
  }
  // A detection of tactic `tech` from src to dst at t0 + sec seconds (+ ns).
  void at(double sec, const char* tech, const char* src = "203.0.113.9", const char* dst = "10.0.0.5",
          uint64_t ns = 0) {
    feed(det(Kind::kBehaviour, src, dst, kT0 + uint64_t(sec * 1e9) + ns, tech));
  }
};

TEST(CortexCorrelate, EventCountWindowIsInclusiveAtItsBound) {
  Rig r;
  ASSERT_TRUE(r.load("name: many\ncorrelation:\n  type: event_count\n  rules: [disc]\n  group-by: [src_ip]\n"
                     "  timespan: 10s\n  condition: {gte: 3}\n")) << r.err;
  r.at(0, "T1046");
  r.at(5, "T1046");
  r.at(10, "T1046");  // exactly timespan after the first: still inside
  ASSERT_EQ(r.fired.size(), 1u);
  EXPECT_EQ(r.counts[0], 3u);
  // After a match the group starts over; now the first falls out 1 ns past the bound.
  r.at(20, "T1046");
  r.at(25, "T1046");
  r.at(30, "T1046", "203.0.113.9", "10.0.0.5", 1);
  EXPECT_EQ(r.fired.size(), 1u);
  r.at(31, "T1046");
  EXPECT_EQ(r.fired.size(), 2u);
  // The window hangs on the newest detection: a late one older than it by more
  // than the timespan does not count.
  r.at(100, "T1046");
  r.at(101, "T1046");
  r.at(89, "T1046");
  EXPECT_EQ(r.fired.size(), 2u);
  r.at(91, "T1046");
  EXPECT_EQ(r.fired.size(), 3u);
}

TEST(CortexCorrelate, EventCountGroupsByField) {
  Rig r;
  ASSERT_TRUE(r.load("name: many\ncorrelation:\n  type: event_count\n  rules: [disc]\n  group-by: [src_ip]\n"
                     "  timespan: 1m\n  condition: {gt: 1}\n")) << r.err;
  r.at(0, "T1046", "198.51.100.1");
  r.at(1, "T1046", "198.51.100.2");
  EXPECT_TRUE(r.fired.empty());
  r.at(2, "T1046", "198.51.100.1");
  EXPECT_EQ(r.fired.size(), 1u);
  r.at(3, "T1110", "198.51.100.2");  // another rule's detection: not counted
  EXPECT_EQ(r.fired.size(), 1u);
}

TEST(CortexCorrelate, ConditionsAndRanges) {
  Condition c;
  c.gt = 100;
  c.lte = 200;
  EXPECT_FALSE(c.holds(100));
  EXPECT_TRUE(c.holds(101));
  EXPECT_TRUE(c.holds(200));
  EXPECT_FALSE(c.holds(201));
  Condition e;
  e.eq = 2;
  EXPECT_TRUE(e.holds(2));
  EXPECT_FALSE(e.holds(3));
  Condition l;
  l.lt = 3;
  EXPECT_TRUE(l.holds(2));
  EXPECT_FALSE(l.holds(3));
  Rig r;
  ASSERT_TRUE(r.load("name: exactly2\ncorrelation:\n  type: event_count\n  rules: [disc]\n  group-by: [src_ip]\n"
                     "  timespan: 1m\n  condition: {eq: 2}\n")) << r.err;
  r.at(0, "T1046");
  EXPECT_TRUE(r.fired.empty());
  r.at(1, "T1046");
  EXPECT_EQ(r.fired.size(), 1u);
}

TEST(CortexCorrelate, ValueCountDistinctValuesInWindow) {
  Rig r;
  ASSERT_TRUE(r.load("name: spread\ncorrelation:\n  type: value_count\n  rules: [disc]\n  group-by: [victim]\n"
                     "  timespan: 10s\n  condition: {field: attacker, gte: 3}\n")) << r.err;
  r.at(0, "T1046", "198.51.100.1");
  r.at(1, "T1046", "198.51.100.1");  // the same value again
  r.at(2, "T1046", "198.51.100.2");
  EXPECT_TRUE(r.fired.empty());
  r.at(10, "T1046", "198.51.100.3");  // first value exactly at the bound: counted
  ASSERT_EQ(r.fired.size(), 1u);
  EXPECT_EQ(r.counts[0], 3u);
  r.at(20, "T1046", "198.51.100.4");
  r.at(25, "T1046", "198.51.100.5");
  r.at(30, "T1046", "198.51.100.6", "10.0.0.5", 1);  // the value at 20 s is 1 ns out
  EXPECT_EQ(r.fired.size(), 1u);
}

TEST(CortexCorrelate, TemporalAnyOrderWithinTimespan) {
  Rig r;
  ASSERT_TRUE(r.load("name: together\ncorrelation:\n  type: temporal\n  rules: [disc, cred]\n"
                     "  group-by: [attacker]\n  timespan: 30s\n")) << r.err;
  r.at(0, "T1110");
  r.at(30, "T1046");  // reversed order, exactly at the bound
  EXPECT_EQ(r.fired.size(), 1u);
  r.at(100, "T1046");
  r.at(130, "T1110", "203.0.113.9", "10.0.0.5", 1);
  EXPECT_EQ(r.fired.size(), 1u);
  r.at(131, "T1110", "203.0.113.8");  // another attacker: another group
  EXPECT_EQ(r.fired.size(), 1u);
}

TEST(CortexCorrelate, TemporalOrderedNeedsOrder) {
  Rig r;
  ASSERT_TRUE(r.load("name: chain\ncorrelation:\n  type: temporal_ordered\n  rules: [disc, cred, c2]\n"
                     "  group-by: [attacker, victim_net]\n  timespan: 1h\n")) << r.err;
  // Wrong order: credential access before discovery does not count.
  r.at(0, "T1110");
  r.at(10, "T1046");
  r.at(20, "T1071", "10.0.0.5", "203.0.113.9");  // C2: the victim calls the attacker
  EXPECT_TRUE(r.fired.empty());
  r.at(30, "T1110");
  r.at(40, "T1071", "10.0.0.7", "203.0.113.9");  // same /24 of victims
  ASSERT_EQ(r.fired.size(), 1u);
  EXPECT_EQ(r.counts[0], 3u);
}

TEST(CortexCorrelate, TemporalOrderedWindowBounds) {
  Rig r;
  ASSERT_TRUE(r.load("name: pair2\ncorrelation:\n  type: temporal_ordered\n  rules: [disc, cred]\n"
                     "  group-by: [attacker]\n  timespan: 60s\n")) << r.err;
  r.at(0, "T1046");
  r.at(60, "T1110");  // exactly timespan later: in
  EXPECT_EQ(r.fired.size(), 1u);
  r.at(100, "T1046");
  r.at(160, "T1110", "203.0.113.9", "10.0.0.5", 1);  // 1 ns late: out
  EXPECT_EQ(r.fired.size(), 1u);
  r.at(170, "T1046");  // a later start renews the chain
  r.at(171, "T1110");
  EXPECT_EQ(r.fired.size(), 2u);
  // Arrival order does not matter, times do (workers run at different paces):
  // a credential detection that arrives before an earlier discovery still chains.
  r.at(300, "T1110", "198.51.100.60");
  r.at(290, "T1046", "198.51.100.60");
  EXPECT_EQ(r.fired.size(), 3u);
  r.at(400, "T1046", "198.51.100.61");
  r.at(390, "T1110", "198.51.100.61");  // but credential access earlier in time: no
  EXPECT_EQ(r.fired.size(), 3u);
  // Equal times in order are accepted (<=).
  r.at(200, "T1046", "198.51.100.50");
  r.at(200, "T1110", "198.51.100.50");
  EXPECT_EQ(r.fired.size(), 4u);
}

// Sigma correlation semantics: the events of a match lie within the rule's
// timespan. A group kept alive past its timespan (here two detections at 0
// and 1 s, then three at 100-102 s) once handed its old members to the match.
TEST(CortexCorrelate, MatchHandsOnlyMembersWithinTimespan) {
  Rig r;
  ASSERT_TRUE(r.load("name: many\ncorrelation:\n  type: event_count\n  rules: [disc]\n  group-by: [src_ip]\n"
                     "  timespan: 10s\n  condition: {gte: 3}\n")) << r.err;
  r.at(0, "T1046");
  r.at(1, "T1046");
  r.at(100, "T1046");
  r.at(101, "T1046");
  EXPECT_TRUE(r.fired.empty());
  r.at(102, "T1046");
  ASSERT_EQ(r.fired.size(), 1u);
  EXPECT_EQ(r.counts[0], 3u);
  EXPECT_EQ(r.members[0], (std::vector<uint64_t>{100, 101, 102}));
  // The window hangs on the newest detection: a late one inside it is a member, one outside is not.
  r.at(200, "T1046");
  r.at(185, "T1046");  // 15 s before the newest: out
  r.at(195, "T1046");
  r.at(201, "T1046");
  ASSERT_EQ(r.fired.size(), 2u);
  EXPECT_EQ(r.members[1], (std::vector<uint64_t>{195, 200, 201}));
}

// Members are references into a ring of the latest ring_size() detections
// (8 per group): a member that the ring has overwritten is counted, not handed.
TEST(CortexCorrelate, MembersOlderThanTheRingAreCountedLost) {
  Rig r;
  ASSERT_TRUE(r.load("name: many\ncorrelation:\n  type: event_count\n  rules: [disc]\n  group-by: [src_ip]\n"
                     "  timespan: 1h\n  condition: {gte: 3}\n", 16)) << r.err;
  ASSERT_EQ(r.c->ring_size(), 128u);
  r.at(0, "T1046");
  for (int i = 1; i <= 200; i++) r.at(i, "T1046", "198.51.100.1");  // another group, a match every third
  EXPECT_EQ(r.fired.size(), 66u);
  EXPECT_EQ(r.c->ctr.members_lost, 0u);
  r.at(201, "T1046");
  r.at(202, "T1046");
  ASSERT_EQ(r.fired.size(), 67u);
  EXPECT_EQ(r.counts.back(), 3u);  // the count is the group's, whatever the ring holds
  EXPECT_EQ(r.members.back(), (std::vector<uint64_t>{201, 202}));
  EXPECT_EQ(r.c->ctr.members_lost, 1u);
}

// Selectors are pre-filtered per (kind, tactic) when there are at most 64;
// beyond, every selector is tried. Both find the same rule.
TEST(CortexCorrelate, SelectorsBeyondSixtyFourStillMatch) {
  for (int extra : {10, 70}) {
    std::string rules;
    for (int i = 0; i < extra; i++)
      rules += "name: filler" + std::to_string(i) + "\ndetection:\n  tactic: impact\n  kind: ml\n---\n";
    rules += "name: beh_disc\ndetection:\n  tactic: discovery\n  kind: behaviour\n---\n"
             "name: two\ncorrelation:\n  type: event_count\n  rules: [beh_disc]\n  group-by: [src_ip]\n"
             "  timespan: 10s\n  condition: {gte: 2}\n";
    Rig r;
    ASSERT_TRUE(r.load(rules)) << r.err;
    EXPECT_EQ(r.rs.selectors.size(), size_t(extra) + 4);
    r.at(0, "T1046");
    r.feed(det(Kind::kSignature, "203.0.113.9", "10.0.0.5", kT0 + kS, "T1046"));  // a signature: not this rule's kind
    EXPECT_TRUE(r.fired.empty()) << extra;
    r.at(2, "T1046");
    EXPECT_EQ(r.fired.size(), 1u) << extra;
  }
}

TEST(CortexCorrelate, AliasesJoinDifferentFields) {
  Rig r;
  ASSERT_TRUE(r.load("name: lateral\ncorrelation:\n  type: temporal_ordered\n  rules: [disc, cred]\n"
                     "  group-by: [host]\n  timespan: 1h\n  aliases:\n    host:\n      disc: dest_ip\n"
                     "      cred: src_ip\n")) << r.err;
  r.at(0, "T1046", "203.0.113.9", "10.0.0.5");    // 10.0.0.5 is scanned
  r.at(10, "T1110", "203.0.113.9", "10.0.0.6");   // the attacker itself: no
  EXPECT_TRUE(r.fired.empty());
  r.at(20, "T1110", "10.0.0.5", "10.0.0.77");     // 10.0.0.5 now attacks
  EXPECT_EQ(r.fired.size(), 1u);
}

TEST(CortexCorrelate, SameHostSelector) {
  Rig r;
  ASSERT_TRUE(r.load("name: other\ndetection:\n  tactic: discovery\n  same_host: false\n---\n"
                     "name: two\ncorrelation:\n  type: event_count\n  rules: [other]\n  group-by: [dest_ip]\n"
                     "  timespan: 1m\n  condition: {gte: 2}\n")) << r.err;
  r.at(0, "T1046", "127.0.0.1", "127.0.0.1");  // a loopback test: not an attack on another host
  r.at(1, "T1046", "127.0.0.1", "127.0.0.1");
  EXPECT_TRUE(r.fired.empty());
  r.at(2, "T1046", "10.0.0.9", "127.0.0.1");
  r.at(3, "T1046", "10.0.0.8", "127.0.0.1");
  EXPECT_EQ(r.fired.size(), 1u);
}

TEST(CortexCorrelate, RulesReferringToRules) {
  Rig r;
  ASSERT_TRUE(r.load("name: outer\ncorrelation:\n  type: temporal_ordered\n  rules: [inner, c2]\n"
                     "  group-by: [attacker]\n  timespan: 1h\n---\n"
                     "name: inner\ncorrelation:\n  type: event_count\n  rules: [disc]\n  group-by: [attacker]\n"
                     "  timespan: 1m\n  condition: {gte: 2}\n")) << r.err;
  ASSERT_EQ(r.rs.correlations.size(), 2u);
  EXPECT_EQ(r.rs.correlations[0].name, "inner");  // ordered after what it refers to
  r.at(0, "T1046");
  r.at(120, "T1071", "10.0.0.5", "203.0.113.9");  // c2 before inner matched: no chain
  r.at(200, "T1046");
  r.at(201, "T1046");
  ASSERT_EQ(r.fired.size(), 1u);
  EXPECT_EQ(r.fired[0], "inner");
  r.at(300, "T1071", "10.0.0.5", "203.0.113.8");  // another attacker
  EXPECT_EQ(r.fired.size(), 1u);
  r.at(301, "T1071", "10.0.0.5", "203.0.113.9");
  ASSERT_EQ(r.fired.size(), 2u);
  EXPECT_EQ(r.fired[1], "outer");
}

TEST(CortexCorrelate, BoundedGroupsEvictLeastRecent) {
  Rig r;
  ASSERT_TRUE(r.load("name: many\ncorrelation:\n  type: event_count\n  rules: [disc]\n  group-by: [src_ip]\n"
                     "  timespan: 1h\n  condition: {gte: 2}\n", 16)) << r.err;
  char ip[32];
  for (int i = 0; i < 40; i++) {
    snprintf(ip, sizeof ip, "198.51.100.%d", i + 1);
    r.at(i, "T1046", ip);
  }
  EXPECT_EQ(r.c->groups_in_use(), 16u);
  EXPECT_EQ(r.c->ctr.groups_evicted, 24u);
  r.at(50, "T1046", "198.51.100.1");  // evicted: starts over, no match
  EXPECT_TRUE(r.fired.empty());
  r.at(51, "T1046", "198.51.100.40");  // still held
  EXPECT_EQ(r.fired.size(), 1u);
}

TEST(CortexCorrelate, ErrorsNameFileAndLine) {
  auto bad = [](const std::string& rules, const std::string& want_line, const std::string& want_text) {
    AttackTable t = shipped_table();
    RuleSet rs;
    std::string err;
    bool ok = rs.add(rules, "bad.yaml", t, err) && rs.finish(err);
    EXPECT_FALSE(ok) << rules;
    EXPECT_EQ(err.rfind("bad.yaml:" + want_line + ":", 0), 0u) << err;
    EXPECT_NE(err.find(want_text), std::string::npos) << err;
  };
  bad("name: a\ndetection:\n  technique: [T1046, T7777]\n", "3", "T7777");
  bad("name: a\ndetection:\n  tactic: nowhere\n", "3", "nowhere");
  bad("name: a\ndetection:\n  colour: red\n", "3", "colour");
  bad("name: a\ndetection:\n  tactic: discovery\n---\nname: b\ncorrelation:\n  type: event_count\n"
      "  rules: [a]\n  group-by: [src_ip]\n  timespan: 5x\n  condition: {gte: 2}\n", "10", "timespan");
  bad("name: b\ncorrelation:\n  type: temporal\n  rules: [missing]\n  group-by: [src_ip]\n  timespan: 5m\n", "4",
      "missing");
  bad("name: a\ndetection:\n  tactic: discovery\n---\nname: b\ncorrelation:\n  type: event_count\n  rules: [a]\n"
      "  group-by: [nosuchfield]\n  timespan: 5m\n  condition: {gte: 2}\n", "5", "nosuchfield");
  bad("name: x\ncorrelation:\n  type: temporal\n  rules: [y]\n  group-by: [src_ip]\n  timespan: 5m\n---\n"
      "name: y\ncorrelation:\n  type: temporal\n  rules: [x]\n  group-by: [src_ip]\n  timespan: 5m\n", "1", "itself");
  bad("name: a\ndetection: {tactic: discovery\n", "3", "");
  bad("name: a\ndetection:\n  tactic: discovery\n---\nname: b\ncorrelation:\n  type: event_count\n  rules: [a]\n"
      "  group-by: [src_ip]\n  timespan: 5m\n  condition: {gte: 500}\n", "11", "bounded");
}

}  // namespace
}  // namespace spectre::cortex

namespace spectre::cortex {
namespace {
using namespace test;

// Which end is the attacker: a C2 detection names the destination (the
// internal host beacons out), unless the source fixes it: an intel hit on a
// listed address connecting in names that address, whatever the tactic.
TEST(CortexCorrelate, AttackerSideByTacticUnlessFixed) {
  AttackTable t = shipped_table();
  Mapper map{t};
  std::string err;
  ASSERT_TRUE(map.load(embedded("tables/mapping.yaml"), "m", err)) << err;
  Detection out = det(Kind::kIntel, "10.0.0.5", "203.0.113.9", kT0, "T1071");
  map.map(out);
  ASSERT_TRUE(t.outbound(out.tactic));
  EXPECT_EQ(field_value(out, kAttacker, t), addr_val(out.dst, 4));
  EXPECT_EQ(Member::of(out, t).victim, addr_val(out.src, 4));
  Detection in = det(Kind::kIntel, "203.0.113.9", "10.0.0.5", kT0, "T1071");
  in.attacker_side = Detection::Side::kSrc;
  map.map(in);
  EXPECT_EQ(field_value(in, kAttacker, t), addr_val(in.src, 4));
  EXPECT_EQ(field_value(in, kVictim, t), addr_val(in.dst, 4));
  EXPECT_EQ(Member::of(in, t).attacker, addr_val(in.src, 4));
  Detection scan = det(Kind::kIntel, "10.0.0.7", "203.0.113.10", kT0, "T1046");  // discovery: inbound
  scan.attacker_side = Detection::Side::kDst;
  map.map(scan);
  EXPECT_FALSE(t.outbound(scan.tactic));
  EXPECT_EQ(field_value(scan, kAttacker, t), addr_val(scan.dst, 4));
}

}  // namespace
}  // namespace spectre::cortex
