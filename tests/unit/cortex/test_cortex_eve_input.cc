// Detections from EVE lines (what spectre-cp ingests): kinds, roles' raw
// fields, ATT&CK ids from metadata, intel and app-layer fields, flows, and
// bad lines refused with a reason.
#include <gtest/gtest.h>

#include "ctrlplane/cortex/eve_input.h"

namespace spectre::cortex {
namespace {

TEST(CortexEveInput, Time) {
  uint64_t ns = 0;
  ASSERT_TRUE(parse_eve_time("2024-01-01T00:00:10.960000+0000", ns));
  EXPECT_EQ(ns, 1704067210960000000ull);
  ASSERT_TRUE(parse_eve_time("2024-01-01T02:00:10.5+0200", ns));
  EXPECT_EQ(ns, 1704067210500000000ull);
  ASSERT_TRUE(parse_eve_time("2024-01-01T00:00:10Z", ns));
  EXPECT_EQ(ns, 1704067210000000000ull);
  EXPECT_FALSE(parse_eve_time("2024-01-01", ns));
  EXPECT_FALSE(parse_eve_time("2024-01-01Tab:00:10Z", ns));
}

TEST(CortexEveInput, SignatureWithMitreMetadataAndApp) {
  EveDetection e;
  std::string err;
  ASSERT_EQ(detection_from_eve(
                R"({"timestamp":"2024-01-01T00:00:10.000000+0000","flow_id":9,"event_type":"alert","src_ip":"203.0.113.66",)"
                R"("src_port":4444,"dest_ip":"10.3.0.10","dest_port":80,"proto":"TCP","alert":{"gid":1,"signature_id":2024897,)"
                R"("signature":"ET EXPLOIT x","category":"Attempted Administrator Privilege Gain","severity":1,)"
                R"("metadata":{"mitre_technique_id":["T1190"],"mitre_tactic_id":["TA0001"]}},"http":{"hostname":"a.example"}})",
                e, err),
            EveParse::kDetection) << err;
  const Detection& d = e.d;
  EXPECT_EQ(d.kind, Kind::kSignature);
  EXPECT_EQ(d.ts_ns, 1704067210000000000ull);
  EXPECT_EQ(d.flow_id, 9u);
  EXPECT_EQ(d.sid, 2024897u);
  EXPECT_EQ(d.severity, 1);
  EXPECT_FLOAT_EQ(d.confidence, 0.7f);
  EXPECT_EQ(d.technique_id, "T1190");
  EXPECT_EQ(d.tactic_id, "TA0001");
  EXPECT_EQ(d.http_host, "a.example");
  EXPECT_EQ(d.proto, 6);
  EXPECT_EQ(d.dport, 80);
  EXPECT_EQ(val_addr_str(addr_val(d.src, d.ip_ver)), "203.0.113.66");
}

TEST(CortexEveInput, BehaviourIntelMlAndEpisodeEnds) {
  EveDetection e;
  std::string err;
  const std::string head = R"({"timestamp":"2024-01-01T00:00:10.000000+0000","event_type":"alert","src_ip":"10.3.0.10",)"
                           R"("dest_ip":"2001:db8::1","proto":"UDP","alert":{"gid":9100,"signature_id":4,"severity":2},)";
  ASSERT_EQ(detection_from_eve(head + R"("behaviour":{"detector":"beacon","stage":"start"}})", e, err),
            EveParse::kDetection);
  EXPECT_EQ(e.d.kind, Kind::kBehaviour);
  EXPECT_EQ(e.d.detector, "beacon");
  EXPECT_EQ(e.d.ip_ver, 4);
  EXPECT_EQ(detection_from_eve(head + R"("behaviour":{"detector":"beacon","stage":"end"}})", e, err), EveParse::kSkip);
  ASSERT_EQ(detection_from_eve(head + R"("intel":{"feed":"feodo","indicator":"2001:db8::1","threat":"Emotet","confidence":80}})",
                               e, err), EveParse::kDetection);
  EXPECT_EQ(e.d.kind, Kind::kIntel);
  EXPECT_FLOAT_EQ(e.d.confidence, 0.8f);
  EXPECT_EQ(e.d.feed, "feodo");
  EXPECT_EQ(e.d.evidence, "2001:db8::1");
  EXPECT_EQ(e.d.threat, "Emotet");
  ASSERT_EQ(detection_from_eve(head + R"("ml":{"class":"c2_exfil","score":0.93}})", e, err), EveParse::kDetection);
  EXPECT_EQ(e.d.kind, Kind::kMl);
  EXPECT_EQ(e.d.ml_class, "c2_exfil");
  EXPECT_FLOAT_EQ(e.d.confidence, 0.93f);
}

TEST(CortexEveInput, FlowsAndBadLines) {
  EveDetection e;
  std::string err;
  ASSERT_EQ(detection_from_eve(
                R"({"timestamp":"2024-01-01T00:10:00.000000+0000","event_type":"flow","src_ip":"10.0.0.1","src_port":5,)"
                R"("dest_ip":"10.0.0.2","dest_port":22,"proto":"TCP","flow":{"bytes_toserver":100,"bytes_toclient":9,)"
                R"("start":"2024-01-01T00:08:00.000000+0000","end":"2024-01-01T00:10:00.000000+0000"},)"
                R"("tcp":{"tcp_flags_ts":"1b","tcp_flags_tc":"12"}})",
                e, err),
            EveParse::kFlow) << err;
  EXPECT_EQ(e.d.duration_ns, 120000000000ull);
  EXPECT_EQ(e.d.bytes_out, 100u);
  EXPECT_TRUE(e.d.established);
  EXPECT_EQ(detection_from_eve(R"({"timestamp":"2024-01-01T00:10:00Z","event_type":"stats"})", e, err), EveParse::kSkip);
  EXPECT_EQ(detection_from_eve("not json", e, err), EveParse::kBad);
  EXPECT_EQ(err, "not a JSON object");
  EXPECT_EQ(detection_from_eve(R"({"event_type":"alert","src_ip":"1.2.3.4","dest_ip":"1.2.3.5"})", e, err), EveParse::kBad);
  EXPECT_EQ(err, "no valid timestamp");
  EXPECT_EQ(detection_from_eve(R"({"timestamp":"2024-01-01T00:10:00Z","event_type":"alert","src_ip":"x","dest_ip":"1.2.3.5"})",
                               e, err), EveParse::kBad);
  EXPECT_EQ(err, "bad src_ip or dest_ip");
}

}  // namespace
}  // namespace spectre::cortex
