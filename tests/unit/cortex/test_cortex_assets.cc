// The asset file (parser, lookups, allow-list) and the context component of
// Reflex: intel hits, crown jewels, authorized scanners (exact arithmetic).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "tests/unit/cortex/cortex_util.h"

namespace spectre::cortex {
namespace {
using namespace test;

const char* kAssets = R"(assets:
  - address: 10.3.0.10
    name: db-primary
    owner: dba
    role: database
    criticality: 4
    tags: [crown-jewel]
  - address: 10.3.0.0/24
    name: servers
    criticality: 2
  - addresses: [10.9.0.5, 2001:db8::5]
    name: nessus-01
    owner: secops
    tags: [authorized-scanner]
allow:
  - name: nightly-backup
    src: 10.3.0.20
    dst: 198.51.100.0/24
    detector: [beacon, exfil]
)";

Val v(const char* a) {
  uint8_t b[16], ver = 4;
  parse_addr(a, b, ver);
  return addr_val(b, ver);
}

TEST(CortexAssets, ParsesAndFindsTheLongestPrefix) {
  AssetSet s;
  std::string err;
  ASSERT_TRUE(s.load(kAssets, "assets.yaml", err)) << err;
  ASSERT_EQ(s.assets.size(), 3u);
  ASSERT_EQ(s.allowed.size(), 1u);
  EXPECT_EQ(s.find(v("10.3.0.10"))->name, "db-primary");  // /32 beats the /24
  EXPECT_TRUE(s.find(v("10.3.0.10"))->crown_jewel);
  EXPECT_EQ(s.find(v("10.3.0.11"))->name, "servers");
  EXPECT_EQ(s.find(v("10.3.0.11"))->criticality, 2);
  EXPECT_EQ(s.find(v("10.3.1.1")), nullptr);
  EXPECT_TRUE(s.find(v("2001:db8::5"))->scanner);
  EXPECT_EQ(s.find(v("2001:db8::6")), nullptr);
  Cidr c;
  ASSERT_TRUE(parse_cidr("0.0.0.0/0", c));
  EXPECT_TRUE(c.contains(v("192.0.2.1")));
  EXPECT_FALSE(c.contains(v("2001:db8::1")));  // an IPv4 /0 is the mapped IPv4 space only
  ASSERT_TRUE(parse_cidr("2001:db8::/32", c));
  EXPECT_TRUE(c.contains(v("2001:db8:ffff::1")));
  EXPECT_FALSE(c.contains(v("2001:db9::1")));
  EXPECT_FALSE(parse_cidr("10.0.0.0/33", c));
  EXPECT_FALSE(parse_cidr("10.0.0/8", c));
  EXPECT_FALSE(parse_cidr("10.0.0.0/", c));
}

TEST(CortexAssets, MalformedFilesNameFileAndLine) {
  struct Case { const char* yaml; int line; const char* what; };
  const Case cases[] = {
      {"assets:\n  - address: 10.0.0.1\n    criticality: 5\n", 3, "out of range"},
      {"assets:\n  - address: 10.0.0.300\n", 2, "not an address"},
      {"assets:\n  - name: x\n", 2, "needs an address"},
      {"assets:\n  - address: 10.0.0.1\n    colour: red\n", 3, "unknown key 'colour'"},
      {"assets: {address: 10.0.0.1}\n", 1, "must be a list"},
      {"hosts: []\n", 1, "unknown key 'hosts'"},
      {"assets:\n  - address: [10.0.0.1\n", 3, ""},  // unterminated flow sequence: a parser error
      {"allow:\n  - src: 10.0.0.1\n", 2, "needs a name"},
      {"allow:\n  - name: job\n    dest_port: 70000\n", 3, "out of range"},
  };
  for (const Case& c : cases) {
    AssetSet s;
    std::string err;
    EXPECT_FALSE(s.load(c.yaml, "/etc/spectre/assets.yaml", err)) << c.yaml;
    EXPECT_EQ(err.rfind(fmt::format("/etc/spectre/assets.yaml:{}:", c.line), 0), 0u) << err;
    EXPECT_NE(err.find(c.what), std::string::npos) << err;
  }
  AssetSet empty;
  std::string err;
  EXPECT_TRUE(empty.load("", "a.yaml", err)) << err;
  EXPECT_TRUE(empty.empty());
}

TEST(CortexAssets, ConfigKeyAndCreateErrors) {
  Config c;
  std::string err;
  ASSERT_TRUE(parse_config(YAML::Load("assets: assets.yaml\n"), "/etc/s.yaml", "/etc", c, err)) << err;
  EXPECT_EQ(c.assets_file, "/etc/assets.yaml");
  std::string path = ::testing::TempDir() + "cortex_bad_assets.yaml";
  std::ofstream(path) << "assets:\n  - address: 10.0.0.1\n    criticality: zero\n";
  c.assets_file = path;
  EXPECT_FALSE(Cortex::create(c, err));
  EXPECT_EQ(err.rfind(path + ":3:", 0), 0u) << err;
  c.assets_file = "/nonexistent/assets.yaml";
  err.clear();
  EXPECT_FALSE(Cortex::create(c, err));
  EXPECT_NE(err.find("/nonexistent/assets.yaml: cannot open"), std::string::npos) << err;
  std::remove(path.c_str());
}

// Cortex with the asset file above; behaviour and intel detections by hand.
struct CxCase {
  std::unique_ptr<Cortex> cx;
  std::vector<nlohmann::json> out;
  std::string path;
  explicit CxCase(bool with_assets = true) {
    Config c;
    if (with_assets) {
      path = ::testing::TempDir() + "cortex_assets_" + std::to_string(reinterpret_cast<uintptr_t>(this)) + ".yaml";
      std::ofstream(path) << kAssets;
      c.assets_file = path;
    }
    std::string err;
    cx = Cortex::create(c, err);
    EXPECT_TRUE(cx) << err;
    cx->set_sink([this](std::string_view l) { out.push_back(nlohmann::json::parse(l)); });
  }
  ~CxCase() { if (!path.empty()) std::remove(path.c_str()); }
  void beh(double sec, const char* detector, const char* src, const char* dst, uint16_t dport, uint8_t sev) {
    Detection d = det(Kind::kBehaviour, src, dst, kT0 + uint64_t(sec * 1e9), {}, dport);
    d.detector = detector;
    d.severity = sev;
    d.confidence = 0.7f;
    d.msg = detector;
    cx->ingest(d);
  }
  void intel(double sec, const char* src, const char* dst, float conf) {
    Detection d = det(Kind::kIntel, src, dst, kT0 + uint64_t(sec * 1e9), "T1071", 443);
    d.gid = 9200;
    d.tactic_id = "TA0011";
    d.confidence = conf;
    d.feed = "feodo";
    d.threat = "Emotet";
    d.evidence = dst;
    d.msg = "intel hit";
    cx->ingest(d);
  }
  void campaign(const char* atk, const char* vic) {
    beh(0, "scan", atk, vic, 0, 3);
    beh(100, "bruteforce", atk, vic, 22, 2);
    beh(400, "beacon", vic, atk, 8443, 2);
  }
  nlohmann::json closed_first() {
    cx->finish();
    for (auto& j : out)
      if (j["incident"]["event"] == "closed") return j["incident"];
    return {};
  }
};

// Components of the kill chain above: anomaly 75 (behaviour severity 2),
// correlation 80 (kill_chain high, 3 tactics: +10) = 90, signatures 0.
constexpr double kAnomaly = 75, kCorr = 90;

TEST(CortexContext, CrownJewelRaisesRiskOverANormalHost) {
  CxCase plain(false), jewel, normal;
  plain.campaign("203.0.113.66", "10.3.0.10");
  jewel.campaign("203.0.113.66", "10.3.0.10");
  normal.campaign("203.0.113.66", "10.3.0.11");
  auto p = plain.closed_first(), j = jewel.closed_first(), n = normal.closed_first();
  ASSERT_FALSE(p.is_null());
  ASSERT_FALSE(j.is_null());
  ASSERT_FALSE(n.is_null());
  // No context: weight 0.2 shared out.
  EXPECT_DOUBLE_EQ(p["risk"]["score"].get<double>(), std::round((0.25 * kAnomaly + 0.25 * kCorr) / 0.8 * 10) / 10);
  EXPECT_EQ(p["assets"].size(), 0u);
  // Crown jewel: context 100 with its weight.
  EXPECT_DOUBLE_EQ(j["risk"]["components"]["context"].get<double>(), 100);
  EXPECT_DOUBLE_EQ(j["risk"]["score"].get<double>(), std::round((0.25 * kAnomaly + 0.25 * kCorr + 0.2 * 100) * 10) / 10);
  EXPECT_EQ(j["assets"][0]["name"], "db-primary");
  EXPECT_EQ(j["assets"][0]["as"], "victim");
  EXPECT_NE(j["explanation"]["summary"].get<std::string>().find("crown jewel db-primary"), std::string::npos);
  // Criticality 2: context 50.
  EXPECT_DOUBLE_EQ(n["risk"]["components"]["context"].get<double>(), 50);
  EXPECT_DOUBLE_EQ(n["risk"]["score"].get<double>(), std::round((0.25 * kAnomaly + 0.25 * kCorr + 0.2 * 50) * 10) / 10);
  EXPECT_GT(j["risk"]["score"].get<double>(), n["risk"]["score"].get<double>());
  EXPECT_GT(j["risk"]["score"].get<double>(), p["risk"]["score"].get<double>());
}

TEST(CortexContext, IntelHitGivesContextAndIsListed) {
  CxCase r(false);
  r.campaign("203.0.113.66", "10.3.1.1");
  r.intel(410, "10.3.1.1", "203.0.113.66", 0.9f);  // C2: attacker 203.0.113.66 joins the incident
  auto i = r.closed_first();
  ASSERT_FALSE(i.is_null());
  ASSERT_EQ(i["intel"].size(), 1u);
  EXPECT_EQ(i["intel"][0]["feed"], "feodo");
  EXPECT_EQ(i["intel"][0]["indicator"], "203.0.113.66");
  EXPECT_EQ(i["intel"][0]["threat"], "Emotet");
  EXPECT_DOUBLE_EQ(i["intel"][0]["confidence"].get<double>(), 0.9);
  EXPECT_EQ(i["detections"]["intel"], 1);
  EXPECT_DOUBLE_EQ(i["risk"]["components"]["context"].get<double>(), 90);
  // Context is no longer shared out: the sum of weights is 1.
  EXPECT_DOUBLE_EQ(i["risk"]["score"].get<double>(), std::round((0.25 * kAnomaly + 0.25 * kCorr + 0.2 * 90) * 10) / 10);
  bool step = false, ctx = false;
  for (auto& s : i["explanation"]["steps"]) {
    std::string t = s;
    step |= t.find("intel: 203.0.113.66 on feed feodo (threat Emotet, confidence 0.90") == 0;
    ctx |= t.find("context: 90 x weight 0.20/1.00 = 18.0") == 0;
  }
  EXPECT_TRUE(step) << i["explanation"];
  EXPECT_TRUE(ctx) << i["explanation"];
}

TEST(CortexContext, AuthorizedScannerIsCappedAtLow) {
  // Scan then an exploit attempt (priority 1 signature): scan_then_exploit.
  auto scan_exploit = [](CxCase& r, const char* atk, const char* vic) {
    r.beh(0, "scan", atk, vic, 0, 3);
    Detection d = det(Kind::kSignature, atk, vic, kT0 + 60 * kS, "T1190", 80);
    d.severity = 1;
    d.confidence = 0.7f;
    d.sid = 2000001;
    r.cx->ingest(d);
  };
  CxCase plain, scanner;
  scan_exploit(plain, "198.51.100.7", "10.3.1.1");  // victim not in the file: context shared out
  scan_exploit(scanner, "10.9.0.5", "10.3.1.1");
  auto p = plain.closed_first(), s = scanner.closed_first();
  ASSERT_FALSE(p.is_null());
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(p["correlations"][0]["name"], "scan_then_exploit");
  // signatures 100, anomaly 50 (severity 3), correlation: scan_then_exploit's level.
  double corr = p["risk"]["components"]["correlation"];
  double full = std::round((0.3 * 100 + 0.25 * 50 + 0.25 * corr) / 0.8 * 10) / 10;
  EXPECT_DOUBLE_EQ(p["risk"]["score"].get<double>(), full);
  EXPECT_GE(full, 30);
  EXPECT_FALSE(p["risk"].contains("capped"));
  EXPECT_DOUBLE_EQ(s["risk"]["score"].get<double>(), 30);  // capped at the low threshold
  EXPECT_EQ(s["risk"]["level"], "low");
  EXPECT_DOUBLE_EQ(s["risk"]["capped"]["from"].get<double>(), full);
  EXPECT_EQ(s["risk"]["capped"]["asset"], "nessus-01");
  EXPECT_NE(s["explanation"]["summary"].get<std::string>().find("authorized scanner nessus-01"), std::string::npos);
  bool why = false;
  for (auto& st : s["explanation"]["steps"]) why |= st.get<std::string>().find("business rule: the attacker is authorized scanner nessus-01") == 0;
  EXPECT_TRUE(why) << s["explanation"];
  // The same scanner running a kill chain (C2 after the scan) is not capped.
  CxCase k;
  k.campaign("10.9.0.5", "10.3.0.11");
  auto kc = k.closed_first();
  ASSERT_FALSE(kc.is_null());
  EXPECT_FALSE(kc["risk"].contains("capped"));
  EXPECT_EQ(kc["assets"].size(), 2u);  // the victim (servers) and the attacker (nessus-01)
}

TEST(CortexContext, AllowListSilencesAPeriodicJob) {
  CxCase r;
  // The backup host beacons to and uploads to its server: its job, allowed.
  for (int i = 0; i < 3; i++) r.beh(100 + 30 * i, "beacon", "10.3.0.20", "198.51.100.9", 873, 2);
  r.beh(300, "exfil", "10.3.0.20", "198.51.100.9", 873, 1);
  r.cx->finish();
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(r.cx->assets().silenced, 4u);
  EXPECT_EQ(r.cx->assets().allowed[0].hits, 4u);
  EXPECT_NE(r.cx->report().find("allowed nightly-backup x4"), std::string::npos) << r.cx->report();
  // The same detections from a host the entry does not name still open an incident.
  CxCase o;
  for (int i = 0; i < 3; i++) o.beh(100 + 30 * i, "beacon", "10.3.0.21", "198.51.100.9", 873, 2);
  o.beh(300, "exfil", "10.3.0.21", "198.51.100.9", 873, 1);
  o.cx->finish();
  EXPECT_FALSE(o.out.empty());
  EXPECT_EQ(o.cx->assets().silenced, 0u);
}

}  // namespace
}  // namespace spectre::cortex
