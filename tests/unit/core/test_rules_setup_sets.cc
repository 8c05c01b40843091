// Sets with the rule snapshot: load_ruleset (start and every reload) re-reads
// the set files, so a reload publishes the new contents; a set file broken at
// reload refuses only its rules (counted), the others load; state files come
// from rules.data_dir.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dataplane/core/rules_setup.h"
#include "dataplane/detect/detect.h"

namespace fs = std::filesystem;

namespace spectre {
namespace {

struct Sink : AlertSink {
  std::vector<uint32_t> sids;
  void alert(const RuleMeta& m, const DetectPacket&) override { sids.push_back(m.sid); }
};

std::vector<uint32_t> host(const CompiledRuleset& rs, const std::string& h) {
  static uint8_t s[16] = {10, 0, 0, 1}, d[16] = {10, 0, 0, 2};
  DetectPacket p;
  p.src = s, p.dst = d, p.proto = 6, p.sport = 5555, p.dport = 80, p.established = true, p.to_server = true;
  p.app_proto = rules::AppProto::kHttp;
  BufferSet b;
  b.set(rules::kHttpHost, reinterpret_cast<const uint8_t*>(h.data()), uint32_t(h.size()));
  DetectCtx ctx(0);
  Sink k;
  detect_app(ctx, rs, p, b, k);
  return k.sids;
}

TEST(RulesSetupSets, ReloadRereadsSetFilesAndRefusesOnlyBrokenOnes) {
  const fs::path dir = fs::temp_directory_path() / ("spectre-setsreload-" + std::to_string(getpid()));
  fs::create_directories(dir / "state");
  std::ofstream(dir / "hosts.lst") << "YS5leGFtcGxl\n";  // a.example
  std::ofstream(dir / "state" / "st.lst") << "Yy5leGFtcGxl\n";  // c.example
  std::ofstream(dir / "s.rules")
      << "alert http any any -> any any (msg:\"l\"; http.host; dataset:isset,h,type string,load hosts.lst; sid:1;)\n"
         "alert http any any -> any any (msg:\"s\"; http.host; dataset:isset,st,type string,state st.lst; sid:2;)\n"
         "alert http any any -> any any (msg:\"c\"; http.host; content:\"example\"; sid:3;)\n";
  Config cfg;
  cfg.rule_files = {(dir / "s.rules").string()};
  cfg.rules_data_dir = (dir / "state").string();
  std::string err, summary;
  auto rs = load_ruleset(cfg, 1, err, summary);
  ASSERT_NE(rs, nullptr) << err;
  EXPECT_EQ(host(*rs, "a.example"), (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(host(*rs, "b.example"), (std::vector<uint32_t>{3}));
  EXPECT_EQ(host(*rs, "c.example"), (std::vector<uint32_t>{2, 3}));  // state file from rules.data_dir
  std::ofstream(dir / "hosts.lst") << "Yi5leGFtcGxl\n";  // now b.example
  auto rs2 = load_ruleset(cfg, 1, err, summary);
  ASSERT_NE(rs2, nullptr) << err;
  EXPECT_EQ(host(*rs2, "a.example"), (std::vector<uint32_t>{3}));
  EXPECT_EQ(host(*rs2, "b.example"), (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(host(*rs, "a.example"), (std::vector<uint32_t>{1, 3}));  // the old snapshot is unchanged
  std::ofstream(dir / "hosts.lst") << "Yi5leGFtcGxl\n%%%\n";  // broken: rule 1 refused, the rest load
  std::vector<std::string> msgs;
  auto rs3 = load_ruleset(cfg, 1, err, summary, &msgs);
  ASSERT_NE(rs3, nullptr) << err;
  EXPECT_EQ(ruleset_rule_count(*rs3), 2u);
  EXPECT_NE(summary.find("1 skipped"), std::string::npos) << summary;
  bool named = false;
  for (const auto& m : msgs) named |= m.find("hosts.lst:2:") != std::string::npos;
  EXPECT_TRUE(named);
  cfg.rules_strict = true;  // --strict: refused
  EXPECT_EQ(load_ruleset(cfg, 1, err, summary), nullptr);
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace spectre
