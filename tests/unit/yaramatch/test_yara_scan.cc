// The per-worker YARA scanner: hits and misses, string identifiers and
// offsets, limits, rebinding on a new set; the EVE objects of its matches.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "dataplane/events/eve.h"
#include "dataplane/yaramatch/scan.h"

namespace spectre::yara {
namespace {

std::shared_ptr<const RuleSet> compile_text(const std::string& name, const std::string& text) {
  const std::string p = ::testing::TempDir() + "yscan_" + std::to_string(getpid()) + "_" + name + ".yar";
  std::ofstream(p) << text;
  std::string err;
  auto rs = compile({p}, false, err);
  EXPECT_NE(rs, nullptr) << err;
  unlink(p.c_str());
  return rs;
}

const char* kRules = R"(
rule Mark : tagA tagB {
  meta:
    author = "unit \"quoted\""
    severity = 1
    on = true
  strings:
    $m = "MARKER"
    $h = { DE AD BE EF }
  condition:
    any of them
}
rule Other { strings: $o = "other-pattern" condition: $o }
)";

int scan(Scanner& sc, const std::string& d, YaraEventMeta& m) {
  return sc.scan(reinterpret_cast<const uint8_t*>(d.data()), uint32_t(d.size()), m);
}

TEST(YaraScan, HitWithIdentifiersAndOffsetsMissWithout) {
  auto rs = compile_text("marks", kRules);
  ASSERT_NE(rs, nullptr);
  Scanner sc;
  ASSERT_TRUE(sc.bind(rs, 1));
  YaraEventMeta m{};
  std::string d = "xxMARKERyy\xde\xad\xbe\xefzzMARKER";
  EXPECT_EQ(scan(sc, d, m), 0);
  ASSERT_EQ(m.n, 1);
  EXPECT_FALSE(m.cut);
  EXPECT_EQ(m.scanned, d.size());
  EXPECT_STREQ(m.hit[0].rule, "Mark");
  EXPECT_NE(std::string(m.hit[0].ns).find("_marks"), std::string::npos);  // the file's stem
  ASSERT_EQ(m.hit[0].nstr, 3);  // $m twice, $h once, in rule order
  EXPECT_STREQ(m.hit[0].str[0].id, "$m");
  EXPECT_EQ(m.hit[0].str[0].offset, 2u);
  EXPECT_EQ(m.hit[0].str[0].len, 6u);
  EXPECT_STREQ(m.hit[0].str[1].id, "$m");
  EXPECT_EQ(m.hit[0].str[1].offset, 16u);
  EXPECT_STREQ(m.hit[0].str[2].id, "$h");
  EXPECT_EQ(m.hit[0].str[2].offset, 10u);
  EXPECT_EQ(m.hit[0].str[2].len, 4u);
  ASSERT_NE(sc.rule(0), nullptr);
  // A miss, then both rules.
  EXPECT_EQ(scan(sc, "nothing to see", m), 0);
  EXPECT_EQ(m.n, 0);
  EXPECT_EQ(scan(sc, "other-pattern MARKER", m), 0);
  ASSERT_EQ(m.n, 2);
  EXPECT_EQ(sc.ctr.files, 3u);
  EXPECT_EQ(sc.ctr.bytes, d.size() + 14 + 20);
  EXPECT_EQ(sc.ctr.scanners, 1u);
}

TEST(YaraScan, RulesAndStringsCutToFit) {
  std::string text;
  for (int i = 0; i < 6; i++) text += "rule R" + std::to_string(i) + " { strings: $a = \"abc\" condition: $a }\n";
  auto rs = compile_text("many", text);
  Scanner sc;
  ASSERT_TRUE(sc.bind(rs, 1));
  YaraEventMeta m{};
  std::string d;
  for (int i = 0; i < 10; i++) d += "abc-";
  EXPECT_EQ(scan(sc, d, m), 0);
  EXPECT_EQ(m.n, 4);
  EXPECT_TRUE(m.cut);
  EXPECT_EQ(m.hit[0].nstr, 6);
  EXPECT_TRUE(m.hit[0].str_cut);
  EXPECT_EQ(m.hit[0].str[5].offset, 20u);
}

TEST(YaraScan, NewSetNewScannerSameSetKept) {
  auto a = compile_text("a", kRules);
  auto b = compile_text("b", "rule Only { strings: $x = \"xyz\" condition: $x }\n");
  Scanner sc;
  ASSERT_TRUE(sc.bind(a, 1));
  ASSERT_TRUE(sc.bind(a, 1));
  EXPECT_EQ(sc.ctr.scanners, 1u);
  std::weak_ptr<const RuleSet> wa = a;
  a.reset();  // the scanner's reference keeps the set alive
  EXPECT_FALSE(wa.expired());
  ASSERT_TRUE(sc.bind(b, 1));
  EXPECT_EQ(sc.ctr.scanners, 2u);
  EXPECT_TRUE(wa.expired());
  YaraEventMeta m{};
  EXPECT_EQ(scan(sc, "MARKER xyz", m), 0);
  ASSERT_EQ(m.n, 1);
  EXPECT_STREQ(m.hit[0].rule, "Only");
  EXPECT_FALSE(sc.bind(nullptr, 1));
}

TEST(YaraScan, TagsAndMetaAsJsonCutToValidJson) {
  auto rs = compile_text("json", kRules);
  Scanner sc;
  ASSERT_TRUE(sc.bind(rs, 1));
  YaraEventMeta m{};
  scan(sc, "MARKER", m);
  ASSERT_EQ(m.n, 1);
  char tags[64], meta[256];
  rule_tags_json(sc.rule(0), tags, sizeof tags);
  rule_meta_json(sc.rule(0), meta, sizeof meta);
  EXPECT_STREQ(tags, R"(["tagA","tagB"])");
  EXPECT_EQ(nlohmann::json::parse(meta), nlohmann::json::parse(R"({"author":"unit \"quoted\"","severity":1,"on":true})"));
  char small[20];
  rule_meta_json(sc.rule(0), small, sizeof small);  // nothing whole fits: an empty object
  EXPECT_STREQ(small, "{}");
  char mid[40];
  rule_meta_json(sc.rule(0), mid, sizeof mid);  // the author fits, severity does not
  EXPECT_EQ(nlohmann::json::parse(mid), nlohmann::json::parse(R"({"author":"unit \"quoted\""})"));
  char t2[10];
  rule_tags_json(sc.rule(0), t2, sizeof t2);
  EXPECT_STREQ(t2, R"(["tagA"])");
}

TEST(YaraScan, SidIsStableAndNeverZero) {
  EXPECT_EQ(rule_sid("ns", "Rule"), rule_sid("ns", "Rule"));
  EXPECT_NE(rule_sid("ns", "Rule"), rule_sid("ns2", "Rule"));
  EXPECT_NE(rule_sid("a", "b"), 0u);
  EXPECT_LT(rule_sid("a", "b"), 0x80000000u);
}

TEST(YaraEve, AlertObjectAndFileinfoMatches) {
  auto rec = std::make_unique<AlertRecord>();
  YaraEventMeta& y = rec->x.yara;
  y.n = 1;
  y.scanned = 99;
  std::snprintf(y.hit[0].rule, sizeof y.hit[0].rule, "R\"1");
  std::snprintf(y.hit[0].ns, sizeof y.hit[0].ns, "ns");
  y.hit[0].nstr = 1;
  std::snprintf(y.hit[0].str[0].id, sizeof y.hit[0].str[0].id, "$a");
  y.hit[0].str[0].offset = 7;
  y.hit[0].str[0].len = 3;
  std::snprintf(y.tags, sizeof y.tags, "[\"t\"]");
  std::snprintf(y.meta, sizeof y.meta, "{\"k\":1}");
  rec->has_yara = true;
  fmt::memory_buffer out;
  out.push_back('{');
  format_yara_object(out, *rec);
  out.push_back('}');
  auto j = nlohmann::json::parse(std::string(out.data(), out.size()));
  EXPECT_EQ(j["yara"]["rule"], "R\"1");
  EXPECT_EQ(j["yara"]["tags"], nlohmann::json::parse("[\"t\"]"));
  EXPECT_EQ(j["yara"]["meta"]["k"], 1);
  EXPECT_EQ(j["yara"]["strings"][0]["offset"], 7);
  EXPECT_EQ(j["yara"]["scanned"], 99);
  std::string fi = "\"fileinfo\":{\"size\":5}";
  append_fileinfo_yara(fi, *rec);
  auto f = nlohmann::json::parse("{" + fi + "}");
  EXPECT_EQ(f["fileinfo"]["size"], 5);
  EXPECT_EQ(f["fileinfo"]["yara"][0]["rule"], "R\"1");
  EXPECT_EQ(f["fileinfo"]["yara"][0]["strings"][0]["id"], "$a");
  EXPECT_FALSE(f["fileinfo"]["yara"][0].contains("tags"));
  y.n = 0;  // no hit listed: still valid JSON
  fmt::memory_buffer out0;
  out0.push_back('{');
  format_yara_object(out0, *rec);
  out0.push_back('}');
  EXPECT_EQ(nlohmann::json::parse(std::string(out0.data(), out0.size()))["yara"]["scanned"], 99);
  rec->has_yara = false;
  std::string none = "\"fileinfo\":{}";
  append_fileinfo_yara(none, *rec);
  EXPECT_EQ(none, "\"fileinfo\":{}");
}

}  // namespace
}  // namespace spectre::yara
