// One alert, two ways into Cortex: the data plane's hook (to_detection on the
// AlertRecord) and spectre-cp's EVE input (detection_from_eve on the line the
// EVE writer makes of that record) must give the same Detection: kind, roles,
// confidence (ML class probability, isolation-forest anomaly, intel feed
// confidence), intel match side, ATT&CK ids and evidence. In unit-tests only
// (it links the data plane's writer).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "ctrlplane/cortex/eve_input.h"
#include "dataplane/behave/config.h"
#include "dataplane/events/eve.h"
#include "dataplane/events/incidents.h"

namespace spectre {
namespace {

constexpr uint64_t kT0 = 1704110400ull * 1000000000ull + 123456000ull;

std::unique_ptr<AlertRecord> record(const char* src, const char* dst) {
  auto a = std::make_unique<AlertRecord>();
  std::memset(static_cast<void*>(a.get()), 0, sizeof(AlertRecord));  // char arrays too
  a->kind = AlertRecord::kAlert;
  a->ts_ns = kT0;
  a->flow_id = 77;
  a->ip_ver = 4;
  a->proto = 6;
  uint8_t v;
  cortex::parse_addr(src, a->src, v);
  cortex::parse_addr(dst, a->dst, v);
  a->sport = 41000;
  a->dport = 443;
  a->gid = 1;
  a->sid = 2019284;
  a->rev = 1;
  a->severity = 2;
  std::strcpy(a->msg, "ET TEST \"quoted\" alert");
  std::strcpy(a->category, "A Network Trojan was detected");
  return a;
}

void same(const AlertRecord& a) {
  cortex::Detection hook;
  std::string te, ta;
  to_detection(a, hook, te, ta);
  fmt::memory_buffer line;
  format_alert(line, a);
  cortex::EveDetection eve;
  std::string err;
  ASSERT_EQ(cortex::detection_from_eve(std::string_view(line.data(), line.size()), eve, err),
            cortex::EveParse::kDetection) << err << "\n" << fmt::to_string(line);
  const cortex::Detection& e = eve.d;
  SCOPED_TRACE(fmt::to_string(line));
  EXPECT_EQ(e.ts_ns, hook.ts_ns);
  EXPECT_EQ(e.flow_id, hook.flow_id);
  EXPECT_EQ(e.kind, hook.kind);
  EXPECT_EQ(e.ip_ver, hook.ip_ver);
  EXPECT_EQ(e.proto, hook.proto);
  EXPECT_EQ(e.severity, hook.severity);
  EXPECT_EQ(std::memcmp(e.src, hook.src, 16), 0);
  EXPECT_EQ(std::memcmp(e.dst, hook.dst, 16), 0);
  EXPECT_EQ(e.sport, hook.sport);
  EXPECT_EQ(e.dport, hook.dport);
  EXPECT_EQ(e.gid, hook.gid);
  EXPECT_EQ(e.sid, hook.sid);
  EXPECT_EQ(e.confidence, hook.confidence);
  EXPECT_EQ(e.attacker_side, hook.attacker_side);
  EXPECT_EQ(e.technique_id, hook.technique_id);
  EXPECT_EQ(e.tactic_id, hook.tactic_id);
  EXPECT_EQ(e.msg, hook.msg);
  EXPECT_EQ(e.category, hook.category);
  EXPECT_EQ(e.detector, hook.detector);
  EXPECT_EQ(e.ml_class, hook.ml_class);
  EXPECT_EQ(e.evidence, hook.evidence);
  EXPECT_EQ(e.feed, hook.feed);
  EXPECT_EQ(e.threat, hook.threat);
  EXPECT_EQ(e.dns, hook.dns);
  EXPECT_EQ(e.sni, hook.sni);
  EXPECT_EQ(e.http_host, hook.http_host);
  EXPECT_EQ(e.ja3, hook.ja3);
}

TEST(CortexEveParity, SignatureWithMetadataAndAppFields) {
  auto a = record("203.0.113.9", "10.0.0.5");
  std::strcpy(a->metadata, R"({"mitre_tactic_id":["TA0001"],"mitre_technique_id":["T1190"]})");
  a->has_app = true;
  a->app.proto = rules::AppProto::kHttp;
  std::strcpy(a->app.http_hostname, "shop.example");
  same(*a);
  a->severity = 3;  // the other signature confidence
  same(*a);
  a->app = AppMeta{};
  a->app.proto = rules::AppProto::kTls;
  std::strcpy(a->app.tls_sni, "c2.example");
  std::strcpy(a->app.ja3_hash, "e7d705a3286e19ea42f587b344ee6865");
  same(*a);
  a->app = AppMeta{};
  a->app.proto = rules::AppProto::kDns;
  std::strcpy(a->app.dns_rrname, "bad.example");
  same(*a);
  cortex::Detection d;  // the comparisons above are not of empty fields
  std::string te, ta;
  to_detection(*a, d, te, ta);
  EXPECT_EQ(d.dns, "bad.example");
  EXPECT_EQ(d.technique_id, "T1190");
}

TEST(CortexEveParity, MlClassAndAnomaly) {
  auto a = record("10.0.0.5", "198.51.100.7");
  a->has_ml = true;
  std::strcpy(a->ml.model, "m");
  std::strcpy(a->ml.version, "1");
  std::strcpy(a->ml.cls, "c2_exfil");
  a->ml.score = 0.8125f;
  a->ml.threshold = 0.5f;
  same(*a);
  a->ml.score = 1.7f;  // clamped both ways
  same(*a);
  // An isolation-forest score is not a probability: 0.5 both ways.
  a->ml.anomaly = true;
  std::strcpy(a->ml.cls, "anomaly");
  std::strcpy(a->category, "anomaly");
  a->ml.score = 0.93f;
  same(*a);
}

TEST(CortexEveParity, Behaviour) {
  auto a = record("203.0.113.9", "10.0.0.5");
  a->gid = cortex::kBehaviourGid;
  a->has_behave = true;
  a->behave.detector = behave::kBruteForce;
  same(*a);
}

TEST(CortexEveParity, IntelConfidenceAndTheSideItsMatchNames) {
  for (const char* match : {"src_ip", "dest_ip", "dns"}) {
    auto a = record("198.51.100.66", "10.0.0.5");
    a->has_intel = true;
    std::strcpy(a->intel.feed, "feodo");
    std::strcpy(a->intel.indicator, "198.51.100.66");
    std::strcpy(a->intel.type, "ipv4");
    std::strcpy(a->intel.threat, "Emotet");
    std::strcpy(a->intel.match, match);
    std::strcpy(a->intel.tags, "[\"botnet\"]");
    a->intel.confidence = 90;
    std::strcpy(a->metadata, R"({"mitre_tactic_id":["TA0011"],"mitre_technique_id":["T1071"]})");
    SCOPED_TRACE(match);
    same(*a);
    a->intel.confidence = 0;  // unknown: 0.5 both ways
    same(*a);
  }
  cortex::Detection d;
  std::string te, ta;
  auto a = record("198.51.100.66", "10.0.0.5");
  a->has_intel = true;
  std::strcpy(a->intel.match, "src_ip");
  to_detection(*a, d, te, ta);
  EXPECT_EQ(d.attacker_side, cortex::Detection::Side::kSrc);  // the comparison above is not of two defaults
}

}  // namespace
}  // namespace spectre
