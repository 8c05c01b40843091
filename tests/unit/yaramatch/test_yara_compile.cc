// YARA rule compilation, the yara: section, and reloads that refuse a broken set.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "dataplane/core/config.h"
#include "dataplane/core/reload.h"
#include "dataplane/yaramatch/compile.h"

namespace spectre::yara {
namespace {

std::string tmp_path(const std::string& name) {
  return ::testing::TempDir() + "yara_" + std::to_string(getpid()) + "_" + name;
}
std::string write_tmp(const std::string& name, const std::string& text) {
  const std::string p = tmp_path(name);
  std::ofstream(p) << text;
  return p;
}

const char* kGood = "rule A : t1 { strings: $a = \"alpha\" condition: $a }\n"
                    "rule B { strings: $b = \"beta\" condition: $b }\n";

TEST(YaraCompile, CompilesFilesAndCountsRules) {
  const std::string f = write_tmp("good.yar", kGood);
  std::string err;
  auto rs = compile({f}, false, err);
  ASSERT_NE(rs, nullptr) << err;
  EXPECT_TRUE(err.empty());
  EXPECT_EQ(rs->count(), 2u);
  EXPECT_EQ(rs->files(), 1u);
  EXPECT_NE(summary(*rs, Config{}).find("2 rule(s) from 1 file(s)"), std::string::npos);
  unlink(f.c_str());
}

TEST(YaraCompile, BrokenFileIsRefusedWithFileAndLine) {
  const std::string f = write_tmp("broken.yar", "rule Ok { strings: $a = \"x\" condition: $a }\n\n"
                                                "rule Bad { strings: $a = \"y\" condition: $a and $nope }\n");
  std::string err;
  EXPECT_EQ(compile({f}, false, err), nullptr);
  EXPECT_NE(err.find(f + ":3: undefined string \"$nope\""), std::string::npos) << err;
  // A syntax error, reported at its line; the good file before it does not make the set pass.
  const std::string g = write_tmp("good2.yar", kGood);
  const std::string s = write_tmp("syntax.yar", "rule C {\n  strings: $c = \"c\"\n  condition: $c or or\n}\n");
  EXPECT_EQ(compile({g, s}, false, err), nullptr);
  EXPECT_NE(err.find(s + ":3: syntax error"), std::string::npos) << err;
  for (const auto& p : {f, g, s}) unlink(p.c_str());
}

TEST(YaraCompile, MissingFileAndEmptySet) {
  std::string err;
  EXPECT_EQ(compile({"/nonexistent/x.yar"}, false, err), nullptr);
  EXPECT_NE(err.find("/nonexistent/x.yar: cannot open YARA rule file"), std::string::npos) << err;
  const std::string e = write_tmp("empty.yar", "// nothing\n");
  EXPECT_EQ(compile({e}, false, err), nullptr);
  EXPECT_TRUE(err.empty()) << err;  // not strict: no YARA, no error
  EXPECT_EQ(compile({e}, true, err), nullptr);
  EXPECT_NE(err.find("--strict: no YARA rule"), std::string::npos) << err;
  unlink(e.c_str());
}

TEST(YaraCompile, WarningsReportedAndFatalUnderStrict) {
  // A one-byte string: libyara warns that it may slow down scanning.
  const std::string f = write_tmp("slow.yar", "rule S { strings: $s = \"x\" condition: $s }\n");
  std::string err;
  std::vector<std::string> warn;
  EXPECT_NE(compile({f}, false, err, &warn), nullptr);
  ASSERT_EQ(warn.size(), 1u);
  EXPECT_NE(warn[0].find(f + ":1: warning:"), std::string::npos) << warn[0];
  EXPECT_EQ(compile({f}, true, err), nullptr);
  EXPECT_NE(err.find("--strict: " + f + ":1: warning:"), std::string::npos) << err;
  unlink(f.c_str());
}

TEST(YaraCompile, DirectoryTakesYarAndYaraFilesOnly) {
  namespace fs = std::filesystem;
  const std::string d = tmp_path("dir");
  fs::create_directories(d);
  std::ofstream(d + "/one.yar") << kGood;
  std::ofstream(d + "/two.yara") << "rule C { strings: $c = \"gamma\" condition: $c }\n";
  std::ofstream(d + "/notes.txt") << "not a rule file {";
  std::string err;
  auto rs = compile({d}, false, err);
  ASSERT_NE(rs, nullptr) << err;
  EXPECT_EQ(rs->count(), 3u);
  EXPECT_EQ(rs->files(), 2u);
  fs::remove_all(d);
}

TEST(YaraConfig, SectionParsedPathsRelativeToTheFile) {
  const std::string p = write_tmp("cfg.yaml", "yara:\n  rules: [a.yar, /abs/b]\n  max_file_size: 4096\n"
                                              "  stream_bytes: 0\n  timeout: 3\n");
  std::string err;
  auto c = load_config(p, err);
  ASSERT_TRUE(c) << err;
  ASSERT_EQ(c->yara.rules.size(), 2u);
  EXPECT_EQ(c->yara.rules[0], std::filesystem::path(p).parent_path().string() + "/a.yar");
  EXPECT_EQ(c->yara.rules[1], "/abs/b");
  EXPECT_EQ(c->yara.max_file_size, 4096u);
  EXPECT_EQ(c->yara.timeout_s, 3u);
  std::ofstream(p) << "yara:\n  stream_bytes: 1024\n";
  EXPECT_FALSE(load_config(p, err));
  EXPECT_NE(err.find("not implemented"), std::string::npos) << err;
  std::ofstream(p) << "yara:\n  rulez: [x]\n";
  EXPECT_FALSE(load_config(p, err));
  EXPECT_NE(err.find("unknown key 'rulez' in 'yara'"), std::string::npos) << err;
  unlink(p.c_str());
}

// SIGHUP: the yara: rules are recompiled; a broken file refuses the reload
// and the running set (and snapshot) stays.
TEST(YaraReload, BrokenSetRefusedRunningSetKept) {
  const std::string rules = write_tmp("reload.yar", kGood);
  Options opt;
  opt.config_path = write_tmp("reload.yaml", "yara:\n  rules: [" + rules + "]\n");
  std::string err;
  spectre::Config cfg = *load_config(opt.config_path, err);
  IoCounters io;
  auto first = build_snapshot(cfg, 1);
  first->yara = compile(cfg.yara.rules, false, err);
  ASSERT_NE(first->yara, nullptr);
  SnapshotManager snaps(std::move(first), 1);
  Reloader rl(snaps, io, opt, cfg, 1);
  auto wait = [&](auto pred) {
    for (int i = 0; i < 10000 && !pred(); i++) {
      rl.poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return pred();
  };
  const RuleSet* before = snaps.current()->yara.get();
  std::ofstream(rules) << "rule Broken { condition: nope }\n";
  rl.config(false, 0);
  ASSERT_TRUE(wait([&] { return io.reload_errors.load() == 1; }));
  EXPECT_EQ(snaps.current()->generation, 1u);
  EXPECT_EQ(snaps.current()->yara.get(), before);
  std::ofstream(rules) << kGood << "rule C { strings: $c = \"gamma\" condition: $c }\n";
  rl.config(false, 0);
  ASSERT_TRUE(wait([&] { return io.reloads.load() == 1; }));
  ASSERT_NE(snaps.current()->yara, nullptr);
  EXPECT_EQ(snaps.current()->yara->count(), 3u);
  rl.drain();
  snaps.wait_all();
  unlink(rules.c_str());
  unlink(opt.config_path.c_str());
}

}  // namespace
}  // namespace spectre::yara
