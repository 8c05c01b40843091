// classification.config and the multi-file loader.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <fstream>
#include <unistd.h>

#include "dataplane/rules/classification.h"
#include "dataplane/detect/detect.h"
#include "dataplane/rules/loader.h"

namespace fs = std::filesystem;
using namespace spectre::rules;

namespace {
struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("spectre-rules-" + std::to_string(getpid()) + "-" +
                                     std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(p);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(p, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(p / name) << text;
    return (p / name).string();
  }
};
const char* kClasses =
    "# comment\n"
    "config classification: trojan-activity,A Network Trojan was detected, 1\n"
    "\n"
    "config classification: misc-activity,Misc activity,3\n"
    "config classification: odd,Has, commas, inside,2\n";
}  // namespace

TEST(RulesClassification, Parses) {
  std::map<std::string, Classification> m;
  std::string err;
  ASSERT_TRUE(parse_classification(kClasses, "c.config", m, err)) << err;
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m["trojan-activity"].priority, 1);
  EXPECT_EQ(m["trojan-activity"].description, "A Network Trojan was detected");
  EXPECT_EQ(m["odd"].description, "Has,commas,inside");
  EXPECT_EQ(m["odd"].priority, 2);
  EXPECT_FALSE(parse_classification("\n\nconfig classification: x,y\n", "c.config", m, err));
  EXPECT_EQ(err.rfind("c.config:3: ", 0), 0u) << err;
  EXPECT_FALSE(parse_classification("config classification: x,y,zero\n", "c.config", m, err));
  EXPECT_NE(err.find("c.config:1: bad priority"), std::string::npos) << err;
  EXPECT_FALSE(parse_classification("classification x,y,1\n", "f", m, err));
  EXPECT_FALSE(load_classification("/nonexistent/classification.config", m, err));
}

TEST(RulesClassification, ShippedFileParses) {
  for (fs::path p = fs::current_path(); !p.empty(); p = p.parent_path()) {
    for (const char* rel : {"rules/classification.config", "main/rules/classification.config"}) {
      if (!fs::exists(p / rel)) continue;
      std::map<std::string, Classification> m;
      std::string err;
      ASSERT_TRUE(load_classification((p / rel).string(), m, err)) << err;
      EXPECT_GE(m.size(), 30u);
      EXPECT_EQ(m["trojan-activity"].priority, 1);
      EXPECT_EQ(m["misc-activity"].priority, 3);
      return;
    }
    if (p == p.parent_path()) break;
  }
  GTEST_SKIP() << "rules/classification.config not found from the working directory";
}

TEST(RulesLoader, CountsAcrossFiles) {
  TempDir d;
  d.write("classification.config", kClasses);
  const std::string a = d.write("a.rules",
      "# header comment\n"
      "alert tcp any any -> any any (msg:\"one\"; content:\"x\"; classtype:trojan-activity; sid:1; rev:1;)\n"
      "\n"
      "# alert tcp any any -> any any (msg:\"commented\"; sid:99;)\n"
      "alert tcp any any -> any any (msg:\"two\"; \\\n"
      "    content:\"y\"; \\\n"
      "    classtype:misc-activity; sid:2; rev:1;)\n"
      "alert tcp any any -> any any (msg:\"bt\"; geoip:src,RU; sid:3;)\n"
      "alert tcp any any -> any any (msg:\"bad\"; content:\"|zz|\"; sid:4;)\n");
  d.write("b.rules",
      "alert tcp any any -> any any (msg:\"one v2\"; content:\"x\"; classtype:trojan-activity; sid:1; rev:2;)\n"
      "alert tcp any any -> any any (msg:\"two old\"; content:\"y\"; sid:2; rev:0;)\n"
      "alert tcp any any -> any any (msg:\"bj\"; lua:x.lua; sid:5;)\n"
      "alert tcp any any -> any any (msg:\"bt2\"; geoip:dst,CN; sid:6;)\n"
      "alert tcp any any -> any any (msg:\"cls\"; classtype:nope; priority:2; sid:7;)\n"
      "alert tcp any any -> any any (msg:\"noprio\"; sid:8;)\n");
  d.write("ignored.txt", "garbage\n");
  LoadOptions o;
  o.rules_dir = d.p.string();
  RuleSet rs;
  LoadReport rep;
  std::string err;
  ASSERT_TRUE(load_rules(o, rs, rep, err)) << err;
  EXPECT_EQ(rep.files, 2u);
  EXPECT_EQ(rep.rules_seen, 10u);  // the commented-out rule is not counted
  EXPECT_EQ(rep.loaded, 4u);       // sids 1, 2, 7, 8
  EXPECT_EQ(rep.skipped, 3u);
  EXPECT_EQ(rep.errors, 1u);
  EXPECT_EQ(rep.duplicates, 2u);
  EXPECT_EQ(rep.skip_reasons["unsupported keyword: geoip"], 2u);
  EXPECT_EQ(rep.skip_reasons["unsupported keyword: lua"], 1u);
  EXPECT_EQ(rs.classes.size(), 3u);
  std::map<uint32_t, const Rule*> by_sid;
  for (const Rule& r : rs.rules) by_sid[r.sid] = &r;
  ASSERT_EQ(by_sid.count(1), 1u);
  EXPECT_EQ(by_sid[1]->msg, "one v2");  // higher rev wins
  EXPECT_EQ(by_sid[2]->msg, "two");     // lower rev in a later file loses
  EXPECT_EQ(by_sid[2]->line, 5u);       // first line of a continued rule
  EXPECT_EQ(by_sid[1]->priority, 1);    // from classtype
  EXPECT_EQ(by_sid[2]->priority, 3);
  EXPECT_EQ(by_sid[7]->priority, 2);    // explicit priority, unknown classtype
  EXPECT_EQ(by_sid[8]->priority, 3);    // no classtype
  auto has_msg = [&](const std::string& s) {
    for (const std::string& m : rep.messages)
      if (m.find(s) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has_msg(a + ":9: bad hex digit")) << "error with file:line";
  EXPECT_TRUE(has_msg(a + ":8: skipped: unsupported keyword: geoip"));
  EXPECT_TRUE(has_msg("b.rules:5: unknown classtype 'nope'"));
  EXPECT_TRUE(has_msg("b.rules:1: duplicate sid 1:1"));
  const std::string sum = rep.summary();
  EXPECT_EQ(sum.rfind("rules: 4 loaded, 3 skipped (unsupported), 1 errors, 2 duplicates; top skip reasons: "
                      "unsupported keyword: geoip (2), unsupported keyword: lua (1)", 0), 0u) << sum;

  // Strict: the first skip or error is fatal and named.
  o.strict = true;
  EXPECT_FALSE(load_rules(o, rs, rep, err));
  EXPECT_NE(err.find(a + ":8: skipped: unsupported keyword: geoip"), std::string::npos) << err;
}

TEST(RulesLoader, FilesThenDirAndFatalErrors) {
  TempDir d;
  const std::string f = d.write("one.rule", "alert tcp any any -> any any (sid:10;)\n");
  fs::create_directories(d.p / "dir");
  std::ofstream(d.p / "dir" / "b.rules") << "alert tcp any any -> any any (sid:12;)\n";
  std::ofstream(d.p / "dir" / "a.rules") << "alert tcp any any -> any any (sid:11;)\n";
  LoadOptions o;
  o.files = {f};
  o.rules_dir = (d.p / "dir").string();
  RuleSet rs;
  LoadReport rep;
  std::string err;
  ASSERT_TRUE(load_rules(o, rs, rep, err)) << err;
  ASSERT_EQ(rs.rules.size(), 3u);
  EXPECT_EQ(rs.rules[0].sid, 10u);
  EXPECT_EQ(rs.rules[1].sid, 11u);  // directory files sorted by name
  EXPECT_EQ(rs.rules[2].sid, 12u);
  EXPECT_TRUE(rs.classes.empty());  // no classification.config next to one.rule
  o.strict = true;
  EXPECT_TRUE(load_rules(o, rs, rep, err)) << err;
  o.files = {(d.p / "missing.rules").string()};
  EXPECT_FALSE(load_rules(o, rs, rep, err));
  EXPECT_NE(err.find("missing.rules: cannot read"), std::string::npos) << err;
  o.files.clear();
  o.rules_dir = (d.p / "nodir").string();
  EXPECT_FALSE(load_rules(o, rs, rep, err));
  o.rules_dir = (d.p / "dir").string();
  o.classification_file = d.write("bad.config", "config classification: a,b\n");
  EXPECT_FALSE(load_rules(o, rs, rep, err));
  EXPECT_NE(err.find("bad.config:1:"), std::string::npos) << err;
}

TEST(RulesLoader, TextApiAndVars) {
  RuleSet rs;
  rs.vars = Vars::suricata_defaults();
  rs.vars.address["HOME_NET"] = "[10.0.0.0/8]";
  LoadReport rep;
  load_rules_text("alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (sid:1;)\n"
                  "alert tcp $NOPE any -> any any (sid:2;)\n", "mem", rs, rep);
  EXPECT_EQ(rep.loaded, 1u);
  EXPECT_EQ(rep.errors, 1u);
  ASSERT_EQ(rep.messages.size(), 1u);
  EXPECT_EQ(rep.messages[0], "mem:2: undefined address variable $NOPE");
  uint8_t a[4] = {192, 168, 1, 1};
  EXPECT_TRUE(rs.rules[0].hdr.dst.contains(a, 4));  // EXTERNAL_NET follows the new HOME_NET
}

namespace {
// The repository's rules/ directory, found from the working directory (the
// build tree or the repository root), or empty.
fs::path shipped_rules_dir() {
  for (fs::path p = fs::current_path(); !p.empty(); p = p.parent_path()) {
    for (const char* rel : {"rules", "main/rules"})
      if (fs::exists(p / rel / "spectre.rules") && fs::exists(p / rel / "spectre-policy.rules")) return p / rel;
    if (p == p.parent_path()) break;
  }
  return {};
}
}  // namespace

// Both shipped files (the default set and the policy set) load strictly and
// compile with nothing skipped or rejected; every rule line is a loaded rule.
TEST(RulesLoader, ShippedRulesLoadStrictAndCompile) {
  const fs::path dir = shipped_rules_dir();
  if (dir.empty()) GTEST_SKIP() << "rules/spectre.rules not found from the working directory";
  uint32_t total = 0;
  for (const char* name : {"spectre.rules", "spectre-policy.rules"}) {
    LoadOptions o;
    o.files = {(dir / name).string()};
    o.strict = true;
    RuleSet rs;
    LoadReport rep;
    std::string err;
    ASSERT_TRUE(load_rules(o, rs, rep, err)) << name << ": " << err;
    EXPECT_FALSE(rs.classes.empty());  // classification.config next to it
    for (const std::string& m : rep.messages) ADD_FAILURE() << m;
    std::ifstream in(dir / name);
    uint32_t lines = 0;
    for (std::string l; std::getline(in, l);) lines += l.rfind("alert ", 0) == 0;
    EXPECT_EQ(rep.loaded, lines) << name;
    EXPECT_GE(rep.loaded, 6u) << name;
    for (const Rule& r : rs.rules) EXPECT_GT(r.sid, 9000000u);
    spectre::CompileReport crep;
    auto compiled = spectre::compile_ruleset(rs, 1, crep, err);
    ASSERT_TRUE(compiled) << name << ": " << err;
    EXPECT_EQ(crep.rejected, 0u) << name << ": " << (crep.messages.empty() ? "" : crep.messages[0]);
    total += rep.loaded;
  }
  EXPECT_EQ(total, 31u);  // sids 9000001..9000031, split between the two files
}

// Every shipped rule carries Emerging Threats' metadata convention:
// mitre_tactic_id/name, mitre_technique_id/name, confidence, signature_severity,
// created_at, updated_at, with ET's value forms.
TEST(RulesLoader, ShippedRulesCarryEtMetadata) {
  const fs::path dir = shipped_rules_dir();
  if (dir.empty()) GTEST_SKIP() << "rules/spectre.rules not found from the working directory";
  const std::regex date("\\d{4}_\\d{2}_\\d{2}"), tactic("TA\\d{4}"), technique("T\\d{4}(\\.\\d{3})?"),
      name("[A-Z][A-Za-z_]+"), confidence("High|Medium|Low"), severity("Critical|Major|Minor|Informational");
  const std::vector<std::pair<const char*, const std::regex*>> want = {
      {"mitre_tactic_id", &tactic},   {"mitre_tactic_name", &name},  {"mitre_technique_id", &technique},
      {"mitre_technique_name", &name}, {"confidence", &confidence},  {"signature_severity", &severity},
      {"created_at", &date},          {"updated_at", &date}};
  for (const char* file : {"spectre.rules", "spectre-policy.rules"}) {
    LoadOptions o;
    o.files = {(dir / file).string()};
    RuleSet rs;
    LoadReport rep;
    std::string err;
    ASSERT_TRUE(load_rules(o, rs, rep, err)) << err;
    ASSERT_FALSE(rs.rules.empty());
    for (const Rule& r : rs.rules) {
      for (const auto& [key, re] : want) {
        const auto it = std::find_if(r.metadata.begin(), r.metadata.end(),
                                     [&](const auto& kv) { return kv.first == key; });
        if (it == r.metadata.end()) {
          ADD_FAILURE() << file << ": sid " << r.sid << " has no metadata " << key;
          continue;
        }
        EXPECT_TRUE(std::regex_match(it->second, *re)) << file << ": sid " << r.sid << ": " << key << " '"
                                                       << it->second << "'";
      }
    }
  }
}
