// Reflex's response: playbooks (loading, errors with file:line, first match),
// accumulated entity risk (the decay and window arithmetic), automatic actions
// (the block command without a shell, bounded in time; the webhook through the
// process's poster), their audit on the incident and in the audit file, and the
// operator's status.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "tests/unit/cortex/cortex_util.h"

namespace spectre::cortex {
namespace {
using namespace test;

std::string load_err(const std::string& yaml) {
  Playbooks p;
  std::string err;
  AttackTable t = shipped_table();
  EXPECT_FALSE(p.load(yaml, "pb.yaml", t, err));
  return err;
}

TEST(CortexPlaybook, ShippedFileLoads) {
  Playbooks p;
  std::string err;
  AttackTable t = shipped_table();
  ASSERT_TRUE(p.load(embedded("playbooks/default.yaml"), "default.yaml", t, err)) << err;
  ASSERT_GE(p.list.size(), 5u);
  EXPECT_EQ(p.list.back().name, "triage");  // the catch-all comes last
  EXPECT_TRUE(p.list.back().tactics.empty());
}

TEST(CortexPlaybook, ErrorsNameFileAndLine) {
  EXPECT_EQ(load_err("playbooks:\n  - name: a\n    when: {tactics: [exfiltraton]}\n"),
            "pb.yaml:3: unknown tactic 'exfiltraton' (ATT&CK 18.0)");
  EXPECT_EQ(load_err("playbooks:\n  - name: a\n    when:\n      level: severe\n"),
            "pb.yaml:4: level: expected info, low, medium, high or critical, got 'severe'");
  EXPECT_EQ(load_err("playbooks:\n  - name: a\n    automatic: [reboot]\n"),
            "pb.yaml:3: automatic: expected webhook or block, got 'reboot'");
  EXPECT_EQ(load_err("playbooks:\n  - name: a\n    colour: red\n"), "pb.yaml:3: unknown key 'colour' in 'playbooks'");
  EXPECT_EQ(load_err("playbooks:\n  - name: a\n    when: {techniques: [T9999]}\n"),
            "pb.yaml:3: unknown technique id 'T9999' (not in the ATT&CK table 18.0)");
  EXPECT_EQ(load_err("playbooks:\n  - name: a\n  - name: a\n"), "pb.yaml:3: playbook 'a' defined twice");
  EXPECT_EQ(load_err("playbooks:\n  - title: x\n"), "pb.yaml:2: a playbook needs a name");
  EXPECT_EQ(load_err("playbooks: [\n  {name: a\n"), "pb.yaml:3: end of map flow not found");
}

TEST(CortexPlaybook, FirstMatchingPlaybookWins) {
  AttackTable t = shipped_table();
  Playbooks p;
  std::string err;
  ASSERT_TRUE(p.load("playbooks:\n"
                     "  - {name: exfil, when: {level: high, tactics: [exfiltration]}}\n"
                     "  - {name: intel, when: {intel: true}}\n"
                     "  - {name: jewel, when: {asset_tags: [crown-jewel]}}\n"
                     "  - {name: risky, when: {entity_risk: 100}}\n"
                     "  - {name: brute, when: {techniques: [T1110]}}\n",
                     "pb.yaml", t, err)) << err;
  Incident inc;
  inc.risk.level = RiskLevel::kMedium;
  inc.tactics.push_back({t.tactic("exfiltration"), 1});
  EXPECT_EQ(p.match(inc, 0), nullptr);  // exfiltration but only medium
  inc.risk.level = RiskLevel::kHigh;
  ASSERT_NE(p.match(inc, 0), nullptr);
  EXPECT_EQ(p.match(inc, 0)->name, "exfil");
  inc.tactics.clear();
  inc.intel.push_back({"feed", "1.2.3.4", "c2", 0.9, 1, 1});
  EXPECT_EQ(p.match(inc, 0)->name, "intel");
  inc.intel.clear();
  Asset jewel;
  jewel.tags = {"crown-jewel"};
  inc.assets.push_back({&jewel, Val{}, true});
  EXPECT_EQ(p.match(inc, 0)->name, "jewel");
  inc.assets.clear();
  EXPECT_EQ(p.match(inc, 99.9), nullptr);
  EXPECT_EQ(p.match(inc, 100)->name, "risky");
  inc.techniques.push_back({t.technique("T1110.001"), 1});  // a sub-technique matches through its parent
  EXPECT_EQ(p.match(inc, 0)->name, "brute");
}

// The arithmetic of the accumulated risk: s * 2^(-dt/half_life), inside the window.
TEST(CortexEntityRisk, DecayAndWindow) {
  EntityRiskConfig c;
  c.half_life_ns = 3600 * kS;
  c.window_ns = 4 * 3600 * kS;
  EntityRisk r(c);
  Val a = str_val("10.0.0.1"), b = str_val("10.0.0.2");
  EXPECT_DOUBLE_EQ(r.add(a, 60, kT0, true), 60);
  EXPECT_DOUBLE_EQ(r.value(a, kT0 + 3600 * kS), 30);         // one half-life
  EXPECT_DOUBLE_EQ(r.add(a, 40, kT0 + 3600 * kS, true), 70);  // 30 + 40
  EXPECT_DOUBLE_EQ(r.value(a, kT0 + 3 * 3600 * kS), 7.5 + 10);  // 60/8 + 40/4
  EXPECT_DOUBLE_EQ(r.value(a, kT0 + 4 * 3600 * kS), 60.0 / 16 + 40.0 / 8);  // both ends of the window included
  EXPECT_DOUBLE_EQ(r.value(a, kT0 + 4 * 3600 * kS + 1), 40 * std::exp2(-(3.0 * 3600 * kS + 1) / (3600.0 * kS)));
  EXPECT_DOUBLE_EQ(r.value(a, kT0 + 6 * 3600 * kS), 0);       // both out of the window
  EXPECT_EQ(r.incidents(a), 2u);
  EXPECT_EQ(r.value(b, kT0), 0);
  // A rise of the same incident adds without counting another incident.
  r.add(b, 20, kT0, true);
  EXPECT_DOUBLE_EQ(r.add(b, 15, kT0, false), 35);
  EXPECT_EQ(r.incidents(b), 1u);
  // Late contributions slot in by time: the value depends on the times, not the order.
  EntityRisk x(c), y(c);
  x.add(a, 10, kT0, true);
  x.add(a, 20, kT0 + 1800 * kS, true);
  y.add(a, 20, kT0 + 1800 * kS, true);
  y.add(a, 10, kT0, true);
  EXPECT_DOUBLE_EQ(x.value(a, kT0 + 3600 * kS), y.value(a, kT0 + 3600 * kS));
}

TEST(CortexEntityRisk, SlotsMergeAndEntitiesAreBounded) {
  EntityRiskConfig c;
  c.half_life_ns = 3600 * kS;
  c.window_ns = 100 * 3600 * kS;
  c.max_entities = 16;
  EntityRisk r(c);
  Val a = str_val("a");
  double expect = 0;
  for (int i = 0; i < EntityRisk::kSlots + 3; i++) {
    r.add(a, 8, kT0 + uint64_t(i) * 3600 * kS, true);
    expect = expect / 2 + 8;
  }
  EXPECT_NEAR(r.value(a, kT0 + uint64_t(EntityRisk::kSlots + 2) * 3600 * kS), expect, 1e-9);  // merging keeps the sum
  EXPECT_EQ(r.merged, 3u);
  for (int i = 0; i < 20; i++) r.add(num_val(uint64_t(i)), 1, kT0, true);
  EXPECT_EQ(r.size(), 16u);
  EXPECT_EQ(r.untracked, 5u);  // 15 places left after "a"
  r.add(num_val(99), 1, kT0 + 200 * 3600 * kS, true);  // the idle ones expire first
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.expired, 16u);
}

// Full of live entities: each new one looks at kSweepStep of them, not all,
// and the looks go round the table (an idle one is found within size/step adds).
TEST(CortexEntityRisk, SweepWhenFullIsBounded) {
  EntityRiskConfig c;
  c.window_ns = 100 * kS;
  c.max_entities = 4096;
  EntityRisk r(c);
  for (uint64_t i = 0; i < 4096; i++) r.add(num_val(i), 1, kT0 + (i == 1234 ? 0 : 500 * kS), true);
  EXPECT_EQ(r.size(), 4096u);
  uint64_t before = r.scanned;
  r.add(num_val(99999), 1, kT0 + 550 * kS, true);  // one idle entity (1234) among 4096
  EXPECT_LE(r.scanned - before, EntityRisk::kSweepStep);
  int tries = 1;
  while (r.expired == 0 && tries < 4096 / int(EntityRisk::kSweepStep) + 2) {
    r.add(num_val(100000 + uint64_t(tries)), 1, kT0 + 550 * kS, true);
    tries++;
  }
  EXPECT_EQ(r.expired, 1u);  // found by the rotating look
  EXPECT_LE(r.scanned - before, uint64_t(tries) * EntityRisk::kSweepStep);
  EXPECT_EQ(r.untracked, uint64_t(tries - 1));  // the adds before it found room were not tracked
  EXPECT_EQ(r.size(), 4096u);
}

std::string temp_path(const char* name) {
  return std::string(::testing::TempDir()) + "/reflex_" + std::to_string(getpid()) + "_" + name;
}

// Now (UTC) as EVE writes times, to the second: "2026-12-06T21:40:00".
std::string utc_now() {
  time_t t = time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  char b[32];
  strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
  return b;
}

std::string slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

const std::vector<std::string> kAppend = {"python3", "-c",
    "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n')"};

TEST(CortexResponder, BlockCommandGetsTheAddressAsOneArgument) {
  std::string f = temp_path("blocked");
  unlink(f.c_str());
  auto argv = kAppend;
  argv.push_back(f);
  // A hostile "address" stays one argument: nothing is interpreted by a shell.
  EXPECT_EQ(Responder::run_command(argv, "10.0.0.1; touch /tmp/x$(id)", 5000), "ok (exit 0)");
  EXPECT_EQ(slurp(f), "10.0.0.1; touch /tmp/x$(id)\n");
  auto placed = std::vector<std::string>{"python3", "-c", "import sys; open(sys.argv[1], 'a').write(sys.argv[2])", f,
                                         "set={address}"};
  EXPECT_EQ(Responder::run_command(placed, "2001:db8::1", 5000), "ok (exit 0)");
  EXPECT_EQ(slurp(f), "10.0.0.1; touch /tmp/x$(id)\nset=2001:db8::1");
  unlink(f.c_str());
  EXPECT_EQ(Responder::run_command({"false"}, "1.2.3.4", 5000), "failed: exit 1");
  EXPECT_EQ(Responder::run_command({"/nonexistent/block"}, "1.2.3.4", 5000),
            "failed: cannot run /nonexistent/block: No such file or directory");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Responder::run_command({"python3", "-c", "import time; time.sleep(10)"}, "1.2.3.4", 200), "failed: timeout after 200 ms (killed)");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

struct CxR {
  std::unique_ptr<Cortex> cx;
  std::vector<nlohmann::json> out;
  explicit CxR(const Config& c) {
    std::string err;
    cx = Cortex::create(c, err);
    EXPECT_TRUE(cx) << err;
    if (cx) cx->set_sink([this](std::string_view l) { out.push_back(nlohmann::json::parse(l)); });
  }
  void beh(double sec, const char* detector, const char* src, const char* dst, uint16_t dport, uint8_t sev) {
    Detection d = det(Kind::kBehaviour, src, dst, kT0 + uint64_t(sec * 1e9), {}, dport);
    d.detector = detector;
    d.severity = sev;
    d.confidence = 0.7f;
    d.msg = detector;
    cx->ingest(d);
  }
  void campaign(const char* atk = "203.0.113.66", const char* vic = "10.3.0.10") {
    beh(0, "scan", atk, vic, 0, 3);
    beh(100, "bruteforce", atk, vic, 22, 2);
    beh(400, "beacon", vic, atk, 8443, 2);
    beh(900, "exfil", vic, atk, 443, 1);
  }
  nlohmann::json last(const std::string& ev, const std::string& entity) {
    nlohmann::json r;
    for (auto& j : out)
      if (j["incident"]["event"] == ev && j["incident"]["entity"] == entity) r = j["incident"];
    return r;
  }
};

TEST(CortexResponse, PlaybookFillsResponseAndActionsAreOffByDefault) {
  Config cfg;
  cfg.entity_risk.half_life_ns = cfg.entity_risk.window_ns = 1000 * 86400 * kS;  // no decay to speak of
  CxR r{cfg};
  r.campaign();
  r.cx->finish();
  auto c = r.last("closed", "attacker");
  ASSERT_FALSE(c.is_null());
  auto& resp = c["response"];
  ASSERT_TRUE(resp.is_object());
  EXPECT_EQ(resp["playbook"], "contain-exfiltration");  // medium, with exfiltration
  EXPECT_FALSE(resp["actions"].empty());
  EXPECT_FALSE(resp["escalation"].get<std::string>().empty());
  EXPECT_FALSE(resp["investigation"].empty());
  ASSERT_EQ(resp["audit"].size(), 2u);  // webhook and block: listed, not run
  for (auto& a : resp["audit"])
    EXPECT_EQ(a["result"], "not run: automatic actions are off (incidents.response.enabled)");
  // The attacker's accumulated risk: the peak scores of its two incidents (the
  // kill chain, the pair's beaconing plus volume), as of the last record (the pair closes second).
  auto p = r.last("closed", "pair");
  EXPECT_NEAR(p["risk"]["entity"]["score"].get<double>(),
              c["risk"]["score"].get<double>() + p["risk"]["score"].get<double>(), 0.05);
  EXPECT_EQ(p["risk"]["entity"]["incidents"], 2);
  EXPECT_EQ(p["risk"]["entity"]["address"], "203.0.113.66");
  EXPECT_EQ(c["risk"]["entity"]["address"], "203.0.113.66");
}

TEST(CortexResponse, EnabledActionsRunOnceAndAreAudited) {
  std::string blocked = temp_path("cx_blocked"), audit = temp_path("cx_audit");
  unlink(blocked.c_str());
  unlink(audit.c_str());
  Config c;
  c.response.enabled = true;
  c.response.block_command = kAppend;
  c.response.block_command.push_back(blocked);
  c.response.audit_file = audit;
  c.response.webhook = "http://127.0.0.1:9/soar";
  std::vector<std::string> bodies;
  std::mutex mu;
  c.response.post = [&](const std::string& url, const std::string&, uint32_t, const std::string& body, std::string*) {
    std::lock_guard g(mu);
    bodies.push_back(url + " " + body);
    return 204L;
  };
  const std::string before = utc_now();
  {
    CxR r{c};
    r.campaign();
    r.campaign();  // more detections of the same incident: no second action
    r.cx->finish();
    const std::string after = utc_now();
    auto cl = r.last("closed", "attacker");
    auto& au = cl["response"]["audit"];
    ASSERT_EQ(au.size(), 2u) << cl.dump();
    // The pair's incident (same attacker) does not block it again.
    auto pair = r.last("closed", "pair")["response"]["audit"];
    ASSERT_EQ(pair.size(), 2u);
    EXPECT_EQ(pair[1]["result"], "not run: already blocked for incident " + std::to_string(cl["incident_id"].get<int>()));
    EXPECT_EQ(au[0]["action"], "webhook");
    EXPECT_EQ(au[0]["target"], "http://127.0.0.1:9/soar");
    EXPECT_EQ(au[0]["result"], "ok (HTTP 204)");
    EXPECT_EQ(au[1]["action"], "block");
    EXPECT_EQ(au[1]["target"], "203.0.113.66");
    EXPECT_EQ(au[1]["result"], "ok (exit 0)");
    // Audited at wall-clock time (not packet time, 2023 in the campaign): within this test's run.
    std::string when = au[1]["time"].get<std::string>().substr(0, 19);
    EXPECT_GE(when, before) << au[1];
    EXPECT_LE(when, after) << au[1];
  }
  EXPECT_EQ(slurp(blocked), "203.0.113.66\n");
  std::lock_guard g(mu);
  ASSERT_EQ(bodies.size(), 2u);  // the kill chain's incident and the pair's (contain-exfiltration: webhook only once each)
  EXPECT_NE(bodies[0].find("\"event_type\":\"incident\""), std::string::npos);
  std::string a = slurp(audit);
  EXPECT_NE(a.find("\"action\":\"block\",\"target\":\"203.0.113.66\",\"result\":\"ok (exit 0)\""), std::string::npos) << a;
  unlink(blocked.c_str());
  unlink(audit.c_str());
}

TEST(CortexResponse, KnownAssetsAreNeverBlockedAndFailuresAreShown) {
  std::string assets = temp_path("assets.yaml");
  std::ofstream(assets) << "assets:\n  - {address: 10.9.0.0/24, name: lab, tags: [dmz]}\n";
  Config c;
  c.response.enabled = true;
  c.response.block_command = {"false"};
  c.assets_file = assets;
  CxR r{c};
  r.campaign("10.9.0.7", "10.3.0.10");  // an attacker the asset file knows
  r.cx->finish();
  auto mine = r.last("closed", "attacker");
  ASSERT_EQ(mine["response"]["audit"].size(), 2u) << mine.dump();
  EXPECT_EQ(mine["response"]["audit"][1]["result"], "not run: known asset lab");
  unlink(assets.c_str());
  r.out.clear();
  r.campaign("203.0.113.9", "10.3.0.10");
  r.cx->finish();
  auto cl = r.last("closed", "attacker");
  auto& au = cl["response"]["audit"];
  ASSERT_EQ(au.size(), 2u) << cl.dump();
  EXPECT_EQ(au[0]["result"], "not run: no incidents.response.webhook");
  EXPECT_EQ(au[1]["result"], "failed: exit 1");
}

TEST(CortexResponse, OperatorStatusIsWrittenAndKeptAtClose) {
  CxR r{Config{}};
  r.campaign();
  auto op = r.last("opened", "attacker");
  uint64_t id = op["incident_id"];
  EXPECT_FALSE(r.cx->set_status(id, "bogus"));
  EXPECT_FALSE(r.cx->set_status(999, "investigating"));
  ASSERT_TRUE(r.cx->set_status(id, "false_positive"));
  auto sc = r.last("status_changed", "attacker");
  EXPECT_EQ(sc["status"], "false_positive");
  EXPECT_EQ(sc["incident_id"], id);
  r.cx->finish();
  EXPECT_EQ(r.last("closed", "attacker")["status"], "false_positive");  // the operator's verdict stays
}

TEST(CortexResponse, ConfigKeysAndErrors) {
  Config c;
  std::string err;
  YAML::Node n = YAML::Load("playbooks: pb.yaml\nresponse: {enabled: true, webhook: 'http://x/', block_command: [nft, add, "
                            "element, inet, f, s, '{ {address} }'], timeout: 2s, audit: a.log}\n"
                            "entity_risk: {half_life: 1h, window: 12h, threshold: 80, history_points: 5}\n");
  ASSERT_TRUE(parse_config(n, "s.yaml", "/etc/spectre", c, err)) << err;
  EXPECT_EQ(c.playbook_file, "/etc/spectre/pb.yaml");
  EXPECT_TRUE(c.response.enabled);
  EXPECT_EQ(c.response.block_command.size(), 7u);
  EXPECT_EQ(c.response.timeout_ms, 2000u);
  EXPECT_EQ(c.response.audit_file, "/etc/spectre/a.log");
  EXPECT_EQ(c.entity_risk.half_life_ns, 3600 * kS);
  EXPECT_EQ(c.entity_risk.threshold, 80);
  EXPECT_EQ(c.reflex.history_points, 5);
  Config h;
  err.clear();
  EXPECT_FALSE(parse_config(YAML::Load("entity_risk: {history_points: 101}\n"), "s.yaml", "", h, err));
  EXPECT_NE(err.find("s.yaml:1:"), std::string::npos) << err;
  Config d;
  err.clear();
  EXPECT_FALSE(parse_config(YAML::Load("response: {block_command: 'rm -rf'}\n"), "s.yaml", "", d, err));
  EXPECT_EQ(err, "s.yaml:1: block_command: expected a list (program and arguments; no shell)");
  Config e;
  e.playbook_file = temp_path("missing.yaml");
  err.clear();
  EXPECT_FALSE(Cortex::create(e, err));
  EXPECT_EQ(err, e.playbook_file + ": cannot open");
}

}  // namespace
}  // namespace spectre::cortex
