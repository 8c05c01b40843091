// Incidents, campaigns, Reflex scoring and the EVE incident record, through
// Cortex with the shipped rules and tables.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "tests/unit/cortex/cortex_util.h"

namespace spectre::cortex {
namespace {
using namespace test;

struct CxRun {
  std::unique_ptr<Cortex> cx;
  std::vector<nlohmann::json> out;
  explicit CxRun(Config c = {}) {
    std::string err;
    cx = Cortex::create(c, err);
    EXPECT_TRUE(cx) << err;
    cx->set_sink([this](std::string_view l) { out.push_back(nlohmann::json::parse(l)); });
  }
  void beh(double sec, const char* detector, const char* src, const char* dst, uint16_t dport = 22, uint8_t sev = 2) {
    Detection d = det(Kind::kBehaviour, src, dst, kT0 + uint64_t(sec * 1e9), {}, dport);
    d.detector = detector;
    d.severity = sev;
    d.confidence = 0.7f;
    d.msg = detector;
    cx->ingest(d);
  }
  std::vector<nlohmann::json> events(const std::string& ev) {
    std::vector<nlohmann::json> r;
    for (auto& j : out)
      if (j["incident"]["event"] == ev) r.push_back(j);
    return r;
  }
};

// scan -> brute force -> beacon -> exfiltration: one attacker, one victim.
void campaign(CxRun& r, const char* atk = "203.0.113.66", const char* vic = "10.3.0.10") {
  r.beh(0, "scan", atk, vic, 0, 3);
  r.beh(100, "bruteforce", atk, vic, 22, 2);
  r.beh(400, "beacon", vic, atk, 8443, 2);
  r.beh(900, "exfil", vic, atk, 443, 1);
}

TEST(CortexIncident, KillChainOpensOneIncidentWithTacticsInOrder) {
  CxRun r;
  campaign(r);
  auto opened = r.events("opened");
  ASSERT_EQ(opened.size(), 2u);  // the kill chain, then beaconing plus volume (pair)
  auto& i = opened[0]["incident"];
  EXPECT_EQ(opened[1]["incident"]["correlations"][0]["name"], "beacon_and_volume");
  EXPECT_EQ(opened[1]["incident"]["campaign_id"], i["campaign_id"]);
  EXPECT_EQ(i["entity"], "attacker");
  EXPECT_EQ(i["entities"]["attackers"], nlohmann::json({"203.0.113.66"}));
  EXPECT_EQ(i["correlations"][0]["name"], "kill_chain");
  r.cx->finish();
  auto closed = r.events("closed");
  ASSERT_EQ(closed.size(), 2u);
  auto& c = closed[0]["incident"];
  EXPECT_EQ(c["closed_reason"], "end_of_input");
  EXPECT_EQ(c["status"], "resolved");
  std::vector<std::string> tactics;
  for (auto& t : c["mitre"]["tactics"]) tactics.push_back(t["id"]);
  EXPECT_EQ(tactics, (std::vector<std::string>{"TA0007", "TA0006", "TA0011", "TA0010"}));
  EXPECT_EQ(c["detections"]["behaviour"], 4);  // the exfiltration joined after the match
  EXPECT_EQ(c["behaviours"], nlohmann::json({"scan", "bruteforce", "beacon", "exfil"}));
  EXPECT_EQ(c["members"].size(), 4u);
  EXPECT_EQ(c["first_seen"], opened[0]["incident"]["first_seen"]);
  EXPECT_NE(c["explanation"]["summary"], "");
  EXPECT_GE(c["explanation"]["steps"].size(), 4u);
  EXPECT_EQ(r.cx->incidents().open(), 0u);
}

TEST(CortexIncident, BenignAndUnrelatedDetectionsOpenNothing) {
  CxRun r;
  r.beh(0, "scan", "198.51.100.1", "10.3.0.10", 0, 3);
  r.beh(10, "beacon", "10.3.0.11", "198.51.100.2", 443, 2);     // another attacker
  r.beh(20, "bruteforce", "198.51.100.3", "10.3.0.12", 22, 2);  // a third
  r.cx->finish();
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.cx->detections(), 3u);
}

TEST(CortexIncident, BruteForceThenLongSessionPairIncidentSharesTheCampaign) {
  CxRun r;
  campaign(r);
  Detection f = det(Kind::kFlow, "203.0.113.66", "10.3.0.10", kT0 + 300 * kS, {}, 22);
  f.established = true;
  f.duration_ns = 120 * kS;
  r.cx->ingest(f);
  r.cx->finish();
  auto opened = r.events("opened");
  ASSERT_EQ(opened.size(), 2u);  // the kill chain; the pair incident holds both pair rules
  EXPECT_EQ(opened[1]["incident"]["entity"], "pair");
  EXPECT_EQ(opened[0]["incident"]["campaign_id"], opened[1]["incident"]["campaign_id"]);
  auto closed = r.events("closed");
  ASSERT_EQ(closed.size(), 2u);
  ASSERT_EQ(closed[1]["incident"]["correlations"].size(), 2u);
  EXPECT_EQ(closed[1]["incident"]["correlations"][1]["name"], "brute_then_session");
}

TEST(CortexIncident, LateralMovementJoinsTheCampaign) {
  CxRun r;
  campaign(r);
  // The victim now scans and brute-forces a neighbour.
  r.beh(1000, "scan", "10.3.0.10", "10.3.0.20", 0, 3);
  r.beh(1100, "bruteforce", "10.3.0.10", "10.3.0.20", 22, 2);
  auto opened = r.events("opened");
  ASSERT_GE(opened.size(), 2u);
  bool lateral = false;
  for (auto& o : opened)
    if (o["incident"]["correlations"][0]["name"] == "lateral_movement") {
      lateral = true;
      auto& a = o["incident"]["entities"]["attackers"];
      EXPECT_NE(std::find(a.begin(), a.end(), "10.3.0.10"), a.end());
      EXPECT_EQ(o["incident"]["campaign_id"], opened[0]["incident"]["campaign_id"]);
    }
  EXPECT_TRUE(lateral);
}

TEST(CortexIncident, ManySourcesOneVictim) {
  CxRun r;
  char ip[32];
  for (int i = 0; i < 10; i++) {
    snprintf(ip, sizeof ip, "198.51.100.%d", i + 1);
    r.beh(i, "bruteforce", ip, "10.3.0.50", 22, 2);
  }
  auto opened = r.events("opened");
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0]["incident"]["entity"], "victim");
  EXPECT_EQ(opened[0]["incident"]["entities"]["victims"], nlohmann::json({"10.3.0.50"}));
  // A match carries the latest kGroupMembers contributing detections.
  EXPECT_EQ(opened[0]["incident"]["entities"]["attackers"].size(), kGroupMembers);
  EXPECT_EQ(opened[0]["incident"]["correlations"][0]["name"], "many_sources");
}

TEST(CortexIncident, IdleIncidentsCloseOnPacketTime) {
  Config c;
  c.limits.close_idle_ns = 600 * kS;
  CxRun r(c);
  campaign(r);
  r.beh(900 + 601, "scan", "192.0.2.1", "10.9.0.1", 0, 3);  // unrelated, advances time
  auto closed = r.events("closed");
  ASSERT_EQ(closed.size(), 2u);
  for (auto& c : closed) EXPECT_EQ(c["incident"]["closed_reason"], "idle");
  EXPECT_EQ(r.cx->incidents().open(), 0u);
}

// A detection that joins open incidents (Incidents::on_detection) with its
// attacker side fixed by the source takes the roles that side names, whatever
// its tactic's direction says.
TEST(CortexIncident, FixedAttackerSideGivesTheRolesItNames) {
  CxRun r;
  campaign(r);
  // The listed host connecting in, with an outbound tactic (exfiltration: by
  // the tactic the destination would be the attacker).
  Detection in = det(Kind::kIntel, "203.0.113.66", "10.3.0.10", kT0 + 950 * kS, "T1041", 443);
  in.attacker_side = Detection::Side::kSrc;
  in.feed = "feed-a";
  in.evidence = "203.0.113.66";
  r.cx->ingest(in);
  // The victim reaching out to the listed host with an inbound tactic (discovery:
  // by the tactic the source would be the attacker); fixed: the destination.
  Detection out = det(Kind::kIntel, "10.3.0.10", "203.0.113.66", kT0 + 960 * kS, "T1046", 53);
  out.attacker_side = Detection::Side::kDst;
  out.feed = "feed-b";
  out.evidence = "203.0.113.66";
  r.cx->ingest(out);
  r.cx->finish();
  nlohmann::json atk;
  for (auto& j : r.events("closed"))
    if (j["incident"]["entity"] == "attacker") atk = j["incident"];
  ASSERT_FALSE(atk.is_null());
  EXPECT_EQ(atk["detections"]["intel"], 2) << atk.dump();  // both joined the attacker's incident
  EXPECT_EQ(atk["entities"]["attackers"], nlohmann::json({"203.0.113.66"}));
  EXPECT_EQ(atk["entities"]["victims"], nlohmann::json({"10.3.0.10"}));
  int intel_members = 0;
  for (auto& m : atk["members"])
    if (m["kind"] == "intel") {
      intel_members++;
      EXPECT_EQ(m["attacker"], "203.0.113.66") << m;
      EXPECT_EQ(m["victim"], "10.3.0.10") << m;
    }
  EXPECT_EQ(intel_members, 2);
  ASSERT_EQ(atk["intel"].size(), 1u);  // one indicator, two hits
  EXPECT_EQ(atk["intel"][0]["hits"], 2);
}

TEST(CortexIncident, MembersAreBoundedAndCounted) {
  Config c;
  c.limits.max_members = 5;
  CxRun r(c);
  campaign(r);
  for (int i = 0; i < 20; i++) r.beh(1000 + i, "bruteforce", "203.0.113.66", "10.3.0.10", 22, 2);
  r.cx->finish();
  auto closed = r.events("closed");
  ASSERT_EQ(closed.size(), 2u);  // the kill chain and beaconing plus volume
  auto& i = closed[0]["incident"];
  EXPECT_EQ(i["members"].size(), 5u);
  EXPECT_EQ(i["detections"]["total"], 24);
  EXPECT_EQ(i["members_dropped"], 19);
}

TEST(CortexIncident, ReflexArithmetic) {
  Config c;
  CxRun r(c);
  Incident inc;
  inc.max_sig = 75;
  inc.max_anomaly = 100;
  inc.rules.push_back({0, 1});
  inc.max_rule_level = Level::kHigh;
  inc.tactics = {{1, 1}, {2, 2}, {3, 3}, {4, 4}};
  inc.counts[0] = 2;
  inc.counts[2] = 1;
  inc.max_conf[0] = 0.5;
  inc.max_conf[2] = 0.6;
  Risk k = r.cx->incidents().score(inc);
  EXPECT_DOUBLE_EQ(k.correlation, 100);  // high 80 + 10 per tactic beyond 2
  // Context unavailable: its weight is shared out over 0.8.
  EXPECT_DOUBLE_EQ(k.score, std::round((0.3 * 75 + 0.25 * 100 + 0.25 * 100) / 0.8 * 10) / 10);
  EXPECT_EQ(k.level, RiskLevel::kHigh);  // 90.6
  EXPECT_DOUBLE_EQ(k.confidence, 0.8);   // 1 - 0.5 * 0.4
  c.reflex.context_available = true;
  CxRun r2(c);
  Risk k2 = r2.cx->incidents().score(inc);
  EXPECT_DOUBLE_EQ(k2.score, 72.5);      // (22.5 + 25 + 25) / 1.0
  EXPECT_EQ(k2.level, RiskLevel::kMedium);
  inc.tactics.resize(2);                 // two stages, one rule: the level alone
  Risk k4 = r.cx->incidents().score(inc);
  EXPECT_DOUBLE_EQ(k4.correlation, 80);
  inc.max_sig = 100;
  inc.max_rule_level = Level::kCritical;
  Risk k3 = r.cx->incidents().score(inc);
  EXPECT_EQ(k3.level, RiskLevel::kCritical);
  inc.risk = k3;
  EXPECT_EQ(r.cx->incidents().explain(inc).size(), 6u);  // 3 components, context, history, confidence
}

// History: points for the entity's earlier accumulated risk, linear up to the
// notable threshold (100) and never more than history_points (10); the score stays <= 100.
TEST(CortexIncident, HistoryPointsAreLinearThenCapped) {
  CxRun r;
  Incident inc;
  inc.max_anomaly = 100;
  inc.rules.push_back({0, 1});
  inc.max_rule_level = Level::kHigh;
  inc.tactics = {{1, 1}, {2, 2}};
  inc.counts[2] = 1;
  inc.max_conf[2] = 0.7;
  const Risk clean = r.cx->incidents().score(inc);  // (25 + 20) / 0.8
  EXPECT_DOUBLE_EQ(clean.score, 56.3);
  EXPECT_DOUBLE_EQ(clean.history, 0);
  inc.prior_risk = 40;
  Risk k = r.cx->incidents().score(inc);
  EXPECT_DOUBLE_EQ(k.history, 4);
  EXPECT_DOUBLE_EQ(k.score, 60.3);
  EXPECT_EQ(k.level, RiskLevel::kMedium);  // the history moved it over the medium threshold (60)
  inc.prior_risk = 1e6;
  k = r.cx->incidents().score(inc);
  EXPECT_DOUBLE_EQ(k.history, 10);  // at the cap however risky the entity
  EXPECT_DOUBLE_EQ(k.score, 66.3);
  inc.max_sig = 100;                // a base of 95: 95 + 10 stays at 100
  inc.counts[0] = 1;
  inc.max_rule_level = Level::kCritical;
  inc.tactics = {{1, 1}, {2, 2}, {3, 3}};
  k = r.cx->incidents().score(inc);
  EXPECT_DOUBLE_EQ(k.uncapped, 100);
  EXPECT_DOUBLE_EQ(k.score, 100);
  Config off;
  off.reflex.history_points = 0;
  CxRun r0(off);
  EXPECT_DOUBLE_EQ(r0.cx->incidents().score(inc).history, 0);
}

// The same kill chain scores higher when its attacker has a risky history (an
// earlier incident, beaconing plus volume from another host of ours, closed
// idle 2 h before) than from a clean host; the record and its explanation name
// the factor. Compared when the chains close: then both hold the same stages
// and severities (the earlier detections also sit in the attacker's groups).
TEST(CortexIncident, RiskyHistoryScoresHigherThanACleanHost) {
  const double later = 3 * 3600;
  auto run = [&](CxRun& r, bool history) {
    if (history) {
      r.beh(0, "beacon", "10.3.0.99", "203.0.113.66", 8443, 2);
      r.beh(60, "exfil", "10.3.0.99", "203.0.113.66", 443, 2);
    }
    r.cx->advance_clock(kT0 + uint64_t(later * 1e9));  // the earlier incident closes idle (after 1 h)
    r.beh(later + 0, "scan", "203.0.113.66", "10.3.0.10", 0, 3);
    r.beh(later + 100, "bruteforce", "203.0.113.66", "10.3.0.10", 22, 2);
    r.beh(later + 400, "beacon", "10.3.0.10", "203.0.113.66", 8443, 2);
    r.beh(later + 900, "exfil", "10.3.0.10", "203.0.113.66", 443, 1);
    r.cx->finish();
    nlohmann::json x;  // the kill chain's closing record
    for (auto& j : r.out)
      if (j["incident"]["event"] == "closed" && j["incident"]["correlations"][0]["name"] == "kill_chain") x = j["incident"];
    return x;
  };
  CxRun clean, risky;
  auto c = run(clean, false), k = run(risky, true);
  ASSERT_FALSE(c.is_null());
  ASSERT_FALSE(k.is_null());
  ASSERT_EQ(risky.events("closed").size(), 3u);  // the earlier pair incident, then the chain's two
  EXPECT_EQ(risky.events("closed")[0]["incident"]["closed_reason"], "idle");
  EXPECT_EQ(k["risk"]["components"], c["risk"]["components"]);  // the same incident but for its history
  EXPECT_DOUBLE_EQ(c["risk"]["history"]["points"].get<double>(), 0);
  EXPECT_EQ(c["risk"]["history"]["prior_incidents"], 0);
  const double prior = k["risk"]["history"]["prior_risk"].get<double>();
  EXPECT_GT(prior, 0);
  EXPECT_EQ(k["risk"]["history"]["prior_incidents"], 1);
  const double pts = k["risk"]["history"]["points"].get<double>();
  EXPECT_NEAR(pts, std::min(10.0, 10 * prior / 100), 0.051);
  EXPECT_GT(pts, 0);
  EXPECT_NEAR(k["risk"]["score"].get<double>(), c["risk"]["score"].get<double>() + pts, 0.051);
  EXPECT_GT(k["risk"]["score"].get<double>(), c["risk"]["score"].get<double>());
  bool named = false;
  for (auto& s : k["explanation"]["steps"])
    named |= s.get<std::string>().rfind("history: attacker 203.0.113.66 had accumulated risk", 0) == 0;
  EXPECT_TRUE(named) << k["explanation"].dump();
}

// The record is written by hand (incident_json.cc) to the bytes nlohmann's
// dump gave: a parse and re-dump of every line gives it back unchanged, with
// quotes, backslashes, control characters, DEL, UTF-8, invalid UTF-8 (nlohmann's
// replacement), IPv6 entities and fractional scores.
TEST(CortexIncident, RecordBytesAreNlohmannsDump) {
  CxRun r;
  std::vector<std::string> lines;
  r.cx->set_sink([&](std::string_view l) { lines.emplace_back(l); });
  const char* msgs[] = {"quote \" back \\ tab \t nl \n ctl \x01 del \x7f", "caf\xc3\xa9 \xe2\x82\xac ok",
                        "bad \xff\xfe utf8 \xc3", "plain"};
  const char* steps[][2] = {{"scan", "0"}, {"bruteforce", "100"}, {"beacon", "400"}, {"exfil", "900"}};
  for (int i = 0; i < 4; i++) {
    bool out = i >= 2;  // beacon, exfil: the victim calls out
    const char* atk = "2001:db8::66";
    const char* vic = "2001:db8:1::10";
    Detection d = det(Kind::kBehaviour, out ? vic : atk, out ? atk : vic, kT0 + uint64_t(atoi(steps[i][1])) * kS, {},
                      i == 1 ? 22 : 443);
    d.detector = steps[i][0];
    d.severity = uint8_t(1 + i % 3);
    d.confidence = 0.7f;
    d.msg = msgs[i];
    r.cx->ingest(d);
  }
  r.cx->finish();
  ASSERT_GE(lines.size(), 2u);
  bool v6 = false;
  std::string all;
  for (auto& l : lines) {
    all += l;
    auto j = nlohmann::ordered_json::parse(l);
    EXPECT_EQ(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), l);
    v6 |= j["incident"]["entities"]["attackers"][0] == "2001:db8::66";
  }
  EXPECT_TRUE(v6);
  EXPECT_NE(all.find("quote \\\" back \\\\ tab \\t nl \\n ctl \\u0001 del \x7f"), std::string::npos) << all;
  EXPECT_NE(all.find("caf\xc3\xa9"), std::string::npos);          // UTF-8 as it is
  EXPECT_NE(all.find("bad \xef\xbf\xbd"), std::string::npos);    // invalid: U+FFFD, as nlohmann
}

TEST(CortexIncident, ConfigErrorsNameFileAndLine) {
  Config c;
  c.rule_files = {"/nonexistent/rules.yaml"};
  std::string err;
  EXPECT_FALSE(Cortex::create(c, err));
  EXPECT_NE(err.find("/nonexistent/rules.yaml"), std::string::npos);
  YAML::Node n = YAML::Load("enabled: true\nweights: {signatures: 2}\n");
  Config c2;
  err.clear();
  EXPECT_FALSE(parse_config(n, "spectre.yaml", "", c2, err));
  EXPECT_EQ(err.rfind("spectre.yaml:2:", 0), 0u) << err;
  YAML::Node ok = YAML::Load("enabled: false\nrules: [a.yaml]\nclose_idle: 30m\nlevels: {high: 80}\n");
  Config c3;
  err.clear();
  EXPECT_TRUE(parse_config(ok, "/etc/s.yaml", "/etc", c3, err)) << err;
  EXPECT_FALSE(c3.enabled);
  EXPECT_EQ(c3.rule_files[0], "/etc/a.yaml");
  EXPECT_EQ(c3.limits.close_idle_ns, 1800 * kS);
  EXPECT_EQ(c3.reflex.t_high, 80);
}

}  // namespace
}  // namespace spectre::cortex
