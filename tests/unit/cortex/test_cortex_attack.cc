// ATT&CK table, mapping of detections, metadata parsing, unmapped counting.
#include <gtest/gtest.h>

#include "tests/unit/cortex/cortex_util.h"

namespace spectre::cortex {
namespace {
using namespace test;

TEST(CortexAttack, ShippedTableHasTacticsInMatrixOrderAndVersion) {
  AttackTable t = shipped_table();
  EXPECT_FALSE(t.version.empty());
  ASSERT_EQ(t.tactics.size(), 15u);  // 14 Enterprise tactics + unused [0]
  EXPECT_EQ(t.tactics[1].id, "TA0043");
  EXPECT_LT(t.tactic("discovery"), t.tactic("credential-access") + 2);
  EXPECT_LT(t.tactic("TA0007"), t.tactic("TA0011"));
  EXPECT_EQ(t.tactic("TA0007"), t.tactic("Discovery"));
  uint16_t scan = t.technique("T1046");
  ASSERT_NE(scan, 0);
  EXPECT_EQ(t.tactics[t.techniques[scan].tactics[0]].shortname, "discovery");
  EXPECT_EQ(t.technique("T1046.001"), scan);  // a sub-technique falls back to its parent
  EXPECT_EQ(t.technique("T9999"), 0);
  EXPECT_EQ(t.techniques[t.technique("T1078")].tactics.size(), 4u);
  EXPECT_TRUE(t.outbound(t.tactic("exfiltration")));
  EXPECT_FALSE(t.outbound(t.tactic("discovery")));
}

// The whole Enterprise matrix of ATT&CK v18.0 (pySigma's data generated from
// MITRE's STIX bundle): 216 techniques and 475 sub-techniques.
TEST(CortexAttack, ShippedTableIsTheWholeEnterpriseMatrix) {
  AttackTable t = shipped_table();
  EXPECT_EQ(t.version, "18.0");
  size_t parents = 0, subs = 0;
  for (size_t i = 1; i < t.techniques.size(); i++) {
    const auto& x = t.techniques[i];
    (x.id.find('.') == std::string::npos ? parents : subs)++;
    EXPECT_FALSE(x.tactics.empty()) << x.id;
    EXPECT_FALSE(x.name.empty()) << x.id;
    if (x.id.find('.') != std::string::npos) {  // a sub-technique's parent is there too
      EXPECT_NE(t.technique(x.id.substr(0, x.id.find('.'))), 0) << x.id;
    }
  }
  EXPECT_EQ(parents, 216u);
  EXPECT_EQ(subs, 475u);
  auto tactics_of = [&](const char* id) {
    std::string s;
    uint16_t i = t.technique(id);
    if (!i || t.techniques[i].id != id) return std::string("(missing)");
    for (uint8_t ta : t.techniques[i].tactics) s += (s.empty() ? "" : ",") + t.tactics[ta].shortname;
    return s;
  };
  EXPECT_EQ(tactics_of("T1110.001"), "credential-access");
  EXPECT_EQ(tactics_of("T1046"), "discovery");
  EXPECT_EQ(tactics_of("T1071.004"), "command-and-control");
  EXPECT_EQ(tactics_of("T1498"), "impact");
  EXPECT_EQ(tactics_of("T1595.002"), "reconnaissance");
  EXPECT_EQ(tactics_of("T1583.008"), "resource-development");
  EXPECT_EQ(tactics_of("T1021.004"), "lateral-movement");
  EXPECT_EQ(tactics_of("T1567.004"), "exfiltration");
  EXPECT_EQ(tactics_of("T1659"), "initial-access,command-and-control");
  EXPECT_EQ(tactics_of("T1078.004"), "defense-evasion,persistence,privilege-escalation,initial-access");
  EXPECT_EQ(tactics_of("T1542.001"), "persistence,defense-evasion");  // sub-techniques may order them differently
  EXPECT_EQ(t.techniques[t.technique("T1003.008")].name, "/etc/passwd and /etc/shadow");
  // Rules and playbooks naming a technique take its sub-techniques, not the reverse.
  EXPECT_TRUE(t.under(t.technique("T1110.001"), t.technique("T1110")));
  EXPECT_TRUE(t.under(t.technique("T1110"), t.technique("T1110")));
  EXPECT_FALSE(t.under(t.technique("T1110"), t.technique("T1110.001")));
  EXPECT_FALSE(t.under(t.technique("T1021.004"), t.technique("T1110")));
  Selector brute;
  brute.kinds = ~0u;
  brute.techniques = {t.technique("T1110")};
  Detection d;
  d.technique = t.technique("T1110.003");
  EXPECT_TRUE(brute.matches(d, t));
  d.technique = t.technique("T1046");
  EXPECT_FALSE(brute.matches(d, t));
  // Every tactic has techniques.
  for (size_t ta = 1; ta < t.tactics.size(); ta++) {
    bool used = false;
    for (auto& x : t.techniques)
      for (uint8_t y : x.tactics) used |= y == ta;
    EXPECT_TRUE(used) << t.tactics[ta].id;
  }
}

TEST(CortexAttack, BadTableNamesFileAndLine) {
  AttackTable t;
  std::string err;
  EXPECT_FALSE(t.load("tactic\tTA0007\tdiscovery\tDiscovery\ntechnique\tT1046\tnope\tX\n", "x.tsv", err));
  EXPECT_EQ(err.rfind("x.tsv:2:", 0), 0u) << err;
  err.clear();
  EXPECT_FALSE(t.load("tactic\tTA0007\n", "y.tsv", err));
  EXPECT_EQ(err.rfind("y.tsv:1:", 0), 0u) << err;
}

TEST(CortexAttack, MapsMetadataThenTables) {
  AttackTable t = shipped_table();
  Mapper m(t);
  std::string err;
  ASSERT_TRUE(m.load(embedded("tables/mapping.yaml"), "mapping.yaml", err)) << err;
  m.load_classification(embedded("classification.config"));
  // ET convention: metadata wins, the tactic given is used.
  Detection d = det(Kind::kSignature, "10.0.0.1", "10.0.0.2", kT0, "T1190");
  d.tactic_id = "TA0001";
  EXPECT_TRUE(m.map(d));
  EXPECT_EQ(t.techniques[d.technique].id, "T1190");
  EXPECT_EQ(t.tactics[d.tactic].id, "TA0001");
  // Classtype through its description (what alerts carry).
  Detection c = det(Kind::kSignature, "10.0.0.1", "10.0.0.2", kT0);
  c.category = "Web Application Attack";
  EXPECT_TRUE(m.map(c));
  EXPECT_EQ(t.techniques[c.technique].id, "T1190");
  // ML class and behaviour detector.
  Detection ml = det(Kind::kMl, "10.0.0.1", "10.0.0.2", kT0);
  ml.ml_class = "c2_exfil";
  EXPECT_TRUE(m.map(ml));
  EXPECT_EQ(t.tactics[ml.tactic].shortname, "command-and-control");
  Detection bh = det(Kind::kBehaviour, "10.0.0.1", "10.0.0.2", kT0);
  bh.detector = "exfil";
  EXPECT_TRUE(m.map(bh));
  EXPECT_EQ(t.tactics[bh.tactic].shortname, "exfiltration");
  // Unmapped: listed per gid:sid with a reason, counted every time.
  Detection u = det(Kind::kSignature, "10.0.0.1", "10.0.0.2", kT0);
  u.category = "Potential Corporate Privacy Violation";
  u.sid = 77;
  EXPECT_FALSE(m.map(u));
  EXPECT_FALSE(m.map(u));
  Detection unk = det(Kind::kSignature, "10.0.0.1", "10.0.0.2", kT0, "T9999");
  unk.sid = 78;
  EXPECT_FALSE(m.map(unk));
  EXPECT_EQ(m.unmapped_total, 3u);
  ASSERT_EQ(m.unmapped.size(), 2u);
  EXPECT_EQ(m.unmapped.at({1, 77}).count, 2u);
  EXPECT_NE(m.unmapped.at({1, 78}).reason.find("T9999"), std::string::npos);
  EXPECT_EQ(m.mapped, 4u);
}

TEST(CortexAttack, MappingErrorsNameFileAndLine) {
  AttackTable t = shipped_table();
  Mapper m(t);
  std::string err;
  EXPECT_FALSE(m.load("classtypes:\n  web-application-attack: T1190\n  bad: T9999\n", "map.yaml", err));
  EXPECT_EQ(err.rfind("map.yaml:3:", 0), 0u) << err;
  EXPECT_NE(err.find("T9999"), std::string::npos);
  err.clear();
  EXPECT_FALSE(m.load("classtypes: [\n", "broken.yaml", err));
  EXPECT_EQ(err.rfind("broken.yaml:", 0), 0u) << err;
  err.clear();
  EXPECT_FALSE(m.load("oops:\n  a: T1190\n", "sec.yaml", err));
  EXPECT_EQ(err.rfind("sec.yaml:1:", 0), 0u) << err;
}

TEST(CortexAttack, MetadataJson) {
  std::string te, ta;
  EXPECT_TRUE(mitre_from_metadata(R"({"a":["b"],"mitre_technique_id":["T1046"],"mitre_tactic_id":["TA0007"]})", te, ta));
  EXPECT_EQ(te, "T1046");
  EXPECT_EQ(ta, "TA0007");
  EXPECT_FALSE(mitre_from_metadata(R"({"mitre_technique_id":)", te, ta));
  EXPECT_FALSE(mitre_from_metadata(R"({"other":["x"]})", te, ta));
  EXPECT_FALSE(mitre_from_metadata("", te, ta));
}

TEST(CortexAttack, AddressValues) {
  uint8_t a[16];
  uint8_t ver = 0;
  ASSERT_TRUE(parse_addr("192.0.2.7", a, ver));
  EXPECT_EQ(ver, 4);
  EXPECT_EQ(val_addr_str(addr_val(a, 4)), "192.0.2.7");
  EXPECT_EQ(val_addr_str(net_val(a, 4)), "192.0.2.0");
  ASSERT_TRUE(parse_addr("2001:db8::5", a, ver));
  EXPECT_EQ(ver, 6);
  EXPECT_EQ(val_addr_str(addr_val(a, 6)), "2001:db8::5");
  EXPECT_FALSE(parse_addr("300.1.1.1", a, ver));
}

}  // namespace
}  // namespace spectre::cortex
