// spectre-ml eval --eve: per-flow and per-episode figures from hand-made EVE
// lines and labels, every figure worked out by hand.
#include <gtest/gtest.h>

#include <string>

#include "ml/eve_eval.h"

using namespace spectre::ml;

namespace {

std::string flow(int id, const char* src, const char* dst, int dport, const char* start, const char* end) {
  std::string s = "{\"timestamp\":\"";
  s += end;
  s += "\",\"flow_id\":" + std::to_string(id) + ",\"event_type\":\"flow\",\"src_ip\":\"";
  s += src;
  s += "\",\"src_port\":40000,\"dest_ip\":\"";
  s += dst;
  s += "\",\"dest_port\":" + std::to_string(dport) + ",\"proto\":\"TCP\",\"flow\":{\"start\":\"";
  s += start;
  s += "\",\"end\":\"";
  s += end;
  s += "\"}}\n";
  return s;
}

std::string alert(int id, int gid, const std::string& extra) {
  return "{\"timestamp\":\"2026-01-01T00:00:05.000000+0000\",\"flow_id\":" + std::to_string(id) +
         ",\"event_type\":\"alert\",\"src_ip\":\"10.0.0.9\",\"src_port\":1,\"dest_ip\":\"10.0.0.1\","
         "\"dest_port\":80,\"proto\":\"TCP\",\"alert\":{\"gid\":" + std::to_string(gid) + ",\"signature_id\":1}" +
         extra + "}\n";
}

const char* kT0 = "2026-01-01T00:00:01.000000+0000";
const char* kT1 = "2026-01-01T00:00:09.000000+0000";

}  // namespace

TEST(EveEval, CountsLayersEpisodesAndConfusion) {
  // Flows 1-3: attacker 10.0.0.9 -> victim 10.0.0.1:22 (episode e1, bruteforce_ssh);
  // 4: attacker -> 10.0.0.1:80 (episode e2, web_sqli); 5-7: benign clients.
  std::string eve = flow(1, "10.0.0.9", "10.0.0.1", 22, kT0, kT1) + flow(2, "10.0.0.9", "10.0.0.1", 22, kT0, kT1) +
                    flow(3, "10.0.0.9", "10.0.0.1", 22, kT0, kT1) + flow(4, "10.0.0.9", "10.0.0.1", 80, kT0, kT1) +
                    flow(5, "10.0.0.5", "10.0.0.1", 443, kT0, kT1) + flow(6, "10.0.0.5", "10.0.0.1", 443, kT0, kT1) +
                    flow(7, "10.0.0.6", "10.0.0.1", 53, kT0, kT1);
  eve += alert(1, 9100, ",\"behaviour\":{\"detector\":\"bruteforce\",\"flow_ids\":[1,2]}");  // flows 1, 2
  eve += alert(4, 9000, ",\"ml\":{\"class\":\"c2_exfil\"}");   // attack flow, wrong family
  eve += alert(5, 9000, ",\"ml\":{\"class\":\"web_attack\"}");  // benign flow: ML false positive
  eve += alert(6, 1, "");                                        // signature on benign: not counted by default
  eve += alert(99, 9100, ",\"behaviour\":{\"detector\":\"scan\"}");  // no flow record: a flow of its own
  eve += "not json\n";
  LabelSet ls;
  std::string err;
  ASSERT_TRUE(parse_labels("episode_id,class,mitre_technique,attacker_ip,victim_ip,proto,victim_port,start_ts,end_ts\n"
                           "e1,bruteforce_ssh,T1110,10.0.0.9,10.0.0.1,TCP,22,1767225600,1767225610\n"
                           "e2,web_sqli,T1190,10.0.0.9,10.0.0.1,TCP,80,1767225600,1767225610\n"
                           "e3,scan_syn,T1046,10.0.0.8,10.0.0.1,TCP,,1767225600,1767225610\n",
                           "labels", ls, err))
      << err;
  EveEvalOptions o;
  EveEvalResult r;
  size_t bad = 0;
  ASSERT_TRUE(eve_eval(eve, &ls, o, r, bad, err)) << err;
  EXPECT_EQ(bad, 1u);
  EXPECT_EQ(r.flows, 8u);  // 7 records + the alert of its own (attacker 10.0.0.9 -> :80: episode e2)
  EXPECT_EQ(r.benign_flows, 3u);
  EXPECT_EQ(r.fp_any, 1u);
  EXPECT_EQ(r.fp_ml, 1u);
  EXPECT_EQ(r.fp_signature, 0u);
  EXPECT_EQ(r.alerts_ml, 2u);
  EXPECT_EQ(r.alerts_behaviour, 2u);
  EXPECT_EQ(r.alerts_signature, 0u);
  EXPECT_EQ(r.alerts_unmatched, 1u);
  const auto& bf = r.classes.at("bruteforce");
  EXPECT_EQ(bf.flows, 3u);
  EXPECT_EQ(bf.tp, 2u);
  EXPECT_EQ(bf.episodes, 1u);
  EXPECT_EQ(bf.ep_detected, 1u);
  EXPECT_EQ(bf.ep_right_class, 1u);
  const auto& wa = r.classes.at("web_attack");
  EXPECT_EQ(wa.flows, 2u);       // flow 4 and the scan alert's own flow (10.0.0.9 -> 10.0.0.1:80)
  EXPECT_EQ(wa.tp, 2u);
  EXPECT_EQ(wa.ep_detected, 1u);
  EXPECT_EQ(wa.ep_right_class, 0u);  // c2_exfil and scan, not web_attack
  const auto& sc = r.classes.at("scan");
  EXPECT_EQ(sc.flows, 0u);
  EXPECT_EQ(sc.episodes, 1u);
  EXPECT_EQ(sc.ep_detected, 0u);
  EXPECT_EQ(r.confusion.at("benign").at("web_attack"), 1u);
  EXPECT_EQ(r.confusion.at("benign").at("none"), 2u);
  EXPECT_EQ(r.confusion.at("bruteforce").at("bruteforce"), 2u);
  EXPECT_EQ(r.confusion.at("bruteforce").at("none"), 1u);
  EXPECT_EQ(r.fp_by_name.at("web_attack"), 1u);
  // With signatures, flow 6 is a false positive too; without labels all flows are benign.
  o.signatures = true;
  ASSERT_TRUE(eve_eval(eve, &ls, o, r, bad, err));
  EXPECT_EQ(r.fp_any, 2u);
  EXPECT_EQ(r.fp_signature, 1u);
  ASSERT_TRUE(eve_eval(eve, nullptr, EveEvalOptions{}, r, bad, err));
  EXPECT_EQ(r.benign_flows, 8u);
  EXPECT_EQ(r.fp_any, 5u);  // flows 1, 2 (behaviour), 4, 5 (ML), 99 (behaviour)
  EXPECT_FALSE(eve_eval("{\"event_type\":\"alert\"}\n", nullptr, EveEvalOptions{}, r, bad, err));
}

TEST(EveEval, FamilyMapPrefixesAndDefaults) {
  FamilyMap m = default_family_map();
  EXPECT_EQ(m.family("scan_masscan"), "scan");
  EXPECT_EQ(m.family("dos_slowloris"), "dos");
  EXPECT_EQ(m.family("synflood"), "dos");
  EXPECT_EQ(m.family("beacon"), "c2_exfil");
  EXPECT_EQ(m.family("exfil"), "c2_exfil");
  EXPECT_EQ(m.family("web_xss"), "web_attack");
  EXPECT_EQ(m.family("c2_exfil"), "c2_exfil");  // unmatched: itself
  EXPECT_EQ(m.family("scan"), "scan");
}

// A signature alert's family comes from its metadata mitre_technique_id (ET's
// convention); one without a known technique is only "signature".
TEST(EveEval, SignatureFamilyFromMitreTechnique) {
  std::string eve = flow(1, "10.0.0.9", "10.0.0.1", 80, kT0, kT1) + flow(2, "10.0.0.9", "10.0.0.1", 8080, kT0, kT1);
  auto with_technique = [](int id, const char* tech) {
    std::string a = alert(id, 1, "");
    const std::string key = "\"signature_id\":1}";
    return a.replace(a.find(key), key.size(),
                     std::string("\"signature_id\":1,\"metadata\":{\"mitre_technique_id\":[\"") + tech + "\"]}}");
  };
  eve += with_technique(1, "T1190");
  eve += with_technique(2, "T9999");
  LabelSet ls;
  std::string err;
  ASSERT_TRUE(parse_labels("episode_id,class,mitre_technique,attacker_ip,victim_ip,proto,victim_port,start_ts,end_ts\n"
                           "e1,web_sqli,T1190,10.0.0.9,10.0.0.1,TCP,80,1767225600,1767225610\n"
                           "e2,web_xss,T1190,10.0.0.9,10.0.0.1,TCP,8080,1767225600,1767225610\n",
                           "labels", ls, err))
      << err;
  EveEvalOptions o;
  o.signatures = true;
  EveEvalResult r;
  size_t bad = 0;
  ASSERT_TRUE(eve_eval(eve, &ls, o, r, bad, err)) << err;
  const auto& wa = r.classes.at("web_attack");
  EXPECT_EQ(wa.episodes, 2u);
  EXPECT_EQ(wa.ep_detected, 2u);
  EXPECT_EQ(wa.ep_right_class, 1u);  // T1190 -> web_attack; T9999 is only "signature"
  EXPECT_EQ(r.confusion.at("web_attack").at("web_attack"), 1u);
  EXPECT_EQ(r.confusion.at("web_attack").at("signature"), 1u);
}

// A behaviour alert reports every episode of its family whose attacker or
// victim is one of its endpoints within its [first_seen, last_seen] window,
// not only the episodes of the few flows it names.
TEST(EveEval, BehaviourAlertCoversEpisodesOfItsHostAndWindow) {
  std::string eve = flow(1, "10.0.0.9", "10.0.0.1", 22, kT0, kT1) + flow(2, "10.0.0.9", "10.0.0.2", 23, kT0, kT1) +
                    flow(3, "10.0.0.9", "10.0.0.3", 80, kT0, kT1) + flow(4, "10.0.0.9", "10.0.0.4", 25, kT0, kT1);
  eve += alert(1, 9100, ",\"behaviour\":{\"detector\":\"scan\",\"flow_ids\":[1],"
                        "\"first_seen\":\"2026-01-01T00:00:01.000000+0000\","
                        "\"last_seen\":\"2026-01-01T00:00:20.000000+0000\"}");
  LabelSet ls;
  std::string err;
  ASSERT_TRUE(parse_labels("episode_id,class,mitre_technique,attacker_ip,victim_ip,proto,victim_port,start_ts,end_ts\n"
                           "s1,scan_syn,T1046,10.0.0.9,10.0.0.1,TCP,,1767225600,1767225610\n"
                           "s2,scan_connect,T1046,10.0.0.9,10.0.0.2,TCP,,1767225605,1767225615\n"
                           "w1,web_sqli,T1190,10.0.0.9,10.0.0.3,TCP,80,1767225605,1767225615\n"
                           "s3,scan_udp,T1046,10.0.0.9,10.0.0.4,TCP,,1767225700,1767225710\n",
                           "labels", ls, err))
      << err;
  EveEvalOptions o;
  EveEvalResult r;
  size_t bad = 0;
  ASSERT_TRUE(eve_eval(eve, &ls, o, r, bad, err)) << err;
  const auto& sc = r.classes.at("scan");
  EXPECT_EQ(sc.episodes, 3u);
  EXPECT_EQ(sc.ep_detected, 2u);     // s1 (its flow) and s2 (same attacker, in the window); not s3 (later)
  EXPECT_EQ(sc.ep_right_class, 2u);
  EXPECT_EQ(sc.tp, 1u);              // per flow: only the flow the alert names
  EXPECT_EQ(r.classes.at("web_attack").ep_detected, 0u);  // another family by the same attacker
}
