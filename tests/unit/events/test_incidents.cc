// The writer's side of Cortex: AlertRecord / FlowRecord -> cortex::Detection,
// and incident lines out of the hook.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>

#include "dataplane/decode/packet.h"
#include "dataplane/events/incidents.h"

namespace spectre {
namespace {

constexpr uint64_t kSec = 1000000000ull;
constexpr uint64_t kT0 = 1704110400ull * kSec;

std::unique_ptr<AlertRecord> alert(uint32_t gid, uint32_t sid, const char* src, const char* dst, uint64_t ts) {
  auto a = std::make_unique<AlertRecord>();
  std::memset(a.get(), 0, sizeof(AlertRecord));
  a->kind = AlertRecord::kAlert;
  a->ts_ns = ts;
  a->ip_ver = 4;
  a->proto = 6;
  uint8_t v;
  cortex::parse_addr(src, a->src, v);
  cortex::parse_addr(dst, a->dst, v);
  a->sport = 41000;
  a->dport = 22;
  a->gid = gid;
  a->sid = sid;
  a->severity = 2;
  std::strcpy(a->msg, "test");
  return a;
}

TEST(EventsIncidents, SignatureAlertCarriesMetadataAndAppFields) {
  auto a = alert(1, 2019284, "203.0.113.9", "10.0.0.5", kT0);
  std::strcpy(a->category, "Web Application Attack");
  std::strcpy(a->metadata, R"({"mitre_tactic_id":["TA0001"],"mitre_technique_id":["T1190"]})");
  a->has_app = true;
  std::strcpy(a->app.http_hostname, "shop.example");
  std::strcpy(a->app.tls_sni, "");
  std::strcpy(a->app.ja3_hash, "e7d705a3286e19ea42f587b344ee6865");
  cortex::Detection d;
  std::string te, ta;
  to_detection(*a, d, te, ta);
  EXPECT_EQ(d.kind, cortex::Kind::kSignature);
  EXPECT_EQ(d.technique_id, "T1190");
  EXPECT_EQ(d.tactic_id, "TA0001");
  EXPECT_EQ(d.category, "Web Application Attack");
  EXPECT_EQ(d.http_host, "shop.example");
  EXPECT_EQ(d.ja3, "e7d705a3286e19ea42f587b344ee6865");
  EXPECT_EQ(d.sid, 2019284u);
  EXPECT_EQ(d.ts_ns, kT0);
  EXPECT_EQ(cortex::val_addr_str(cortex::addr_val(d.src, d.ip_ver)), "203.0.113.9");
  EXPECT_FLOAT_EQ(d.confidence, 0.7f);
}

TEST(EventsIncidents, MlAndBehaviourKinds) {
  auto m = alert(9000, 1001, "10.0.0.5", "203.0.113.9", kT0);
  m->has_ml = true;
  std::strcpy(m->ml.cls, "c2_exfil");
  m->ml.score = 0.93f;
  cortex::Detection d;
  std::string te, ta;
  to_detection(*m, d, te, ta);
  EXPECT_EQ(d.kind, cortex::Kind::kMl);
  EXPECT_EQ(d.ml_class, "c2_exfil");
  EXPECT_FLOAT_EQ(d.confidence, 0.93f);
  auto b = alert(9100, 3, "203.0.113.9", "10.0.0.5", kT0);
  b->has_behave = true;
  b->behave.detector = 3;
  std::strcpy(b->metadata, R"({"mitre_technique_id":["T1110"],"mitre_tactic_id":["TA0006"],"detector":["bruteforce"]})");
  to_detection(*b, d, te, ta);
  EXPECT_EQ(d.kind, cortex::Kind::kBehaviour);
  EXPECT_EQ(d.detector, "bruteforce");
  EXPECT_EQ(d.technique_id, "T1110");
}

TEST(EventsIncidents, IntelHitCarriesFeedThreatAndConfidence) {
  const char* c2 = R"({"mitre_tactic_id":["TA0011"],"mitre_technique_id":["T1071"]})";
  cortex::Detection d;
  std::string te, ta;
  // The victim calls the listed address: as in the packet.
  auto out = alert(9200, 1, "10.0.0.5", "203.0.113.66", kT0);
  out->has_intel = true;
  out->intel.confidence = 90;
  std::strcpy(out->intel.feed, "feodo");
  std::strcpy(out->intel.threat, "Emotet");
  std::strcpy(out->intel.indicator, "203.0.113.66");
  std::strcpy(out->intel.match, "dest_ip");
  std::strcpy(out->metadata, c2);
  to_detection(*out, d, te, ta);
  EXPECT_EQ(d.kind, cortex::Kind::kIntel);
  EXPECT_FLOAT_EQ(d.confidence, 0.9f);
  EXPECT_EQ(d.feed, "feodo");
  EXPECT_EQ(d.threat, "Emotet");
  EXPECT_EQ(d.evidence, "203.0.113.66");
  EXPECT_EQ(cortex::val_addr_str(cortex::addr_val(d.dst, d.ip_ver)), "203.0.113.66");
}

TEST(EventsIncidents, FlowRecordFigures) {
  FlowRecord r{};
  r.first_ts = kT0;
  r.last_ts = kT0 + 130 * kSec;
  r.ip_ver = 4;
  r.proto = 6;
  r.bytes[0] = 4000;
  r.bytes[1] = 3000;
  r.tcp_flags_tc = kSyn | kAck;
  cortex::Detection d;
  to_detection(r, d);
  EXPECT_EQ(d.kind, cortex::Kind::kFlow);
  EXPECT_EQ(d.duration_ns, 130 * kSec);
  EXPECT_EQ(d.bytes_out, 4000u);
  EXPECT_TRUE(d.established);
  r.tcp_flags_tc = kRst | kAck;  // refused: no handshake
  to_detection(r, d);
  EXPECT_FALSE(d.established);
}

// Behaviour start alerts of a kill chain through the hook: an incident is
// written; end-of-episode alerts are not detections.
TEST(EventsIncidents, HookWritesIncidentLinesAndClosesAtFinish) {
  std::string err;
  auto h = IncidentHook::create(cortex::Config{}, err);
  ASSERT_TRUE(h) << err;
  const char* tech[] = {"T1046", "T1110", "T1071"};
  const char* tac[] = {"TA0007", "TA0006", "TA0011"};
  for (int i = 0; i < 3; i++) {
    auto b = i == 2 ? alert(9100, 4, "10.0.0.5", "203.0.113.9", kT0 + uint64_t(i) * 60 * kSec)
                    : alert(9100, uint32_t(i + 1), "203.0.113.9", "10.0.0.5", kT0 + uint64_t(i) * 60 * kSec);
    b->has_behave = true;
    b->behave.detector = uint8_t(i == 2 ? 4 : i + 1);
    fmt::format_to_n(b->metadata, sizeof b->metadata - 1, R"({{"mitre_technique_id":["{}"],"mitre_tactic_id":["{}"]}})",
                     tech[i], tac[i]);
    auto end = alert(9100, 1, "203.0.113.9", "10.0.0.5", kT0 + uint64_t(i) * 60 * kSec + 1);
    end->has_behave = true;
    end->behave.stage = 2;
    h->on_alert(*end);
    h->on_alert(*b);
  }
  EXPECT_EQ(h->detections(), 3u);
  fmt::memory_buffer out;
  ASSERT_TRUE(h->take(out));
  std::string s = fmt::to_string(out);
  EXPECT_NE(s.find("\"event_type\":\"incident\""), std::string::npos);
  EXPECT_NE(s.find("\"event\":\"opened\""), std::string::npos);
  EXPECT_EQ(s.back(), '\n');
  EXPECT_FALSE(h->take(out));
  h->finish();
  fmt::memory_buffer closed;
  ASSERT_TRUE(h->take(closed));
  EXPECT_NE(fmt::to_string(closed).find("\"closed_reason\":\"end_of_input\""), std::string::npos);
}

}  // namespace
}  // namespace spectre
