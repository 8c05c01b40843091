// spectre-rules update pipeline: duplicates, diff, the test load with the data
// plane's loader, atomic install (a refused result leaves the old file as it
// was), sources that cannot be read.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ctrlplane/rules_update/sources.h"
#include "ctrlplane/rules_update/update.h"

namespace fs = std::filesystem;
using namespace spectre::rules_update;

namespace {

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("spectre-rules-upd-" + std::to_string(getpid()) + "-" +
                                     std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(p);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(p, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    fs::create_directories((p / name).parent_path());
    std::ofstream(p / name) << text;
    return (p / name).string();
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string r(uint32_t sid, uint32_t rev, const std::string& msg = "m", const std::string& extra = "") {
  return "alert tcp any any -> any any (msg:\"" + msg + "\"; content:\"abc" + std::to_string(sid) + "\"; " + extra +
         "sid:" + std::to_string(sid) + "; rev:" + std::to_string(rev) + ";)";
}

std::vector<RuleEntry> parse(const std::string& text, size_t source = 0) {
  TextStats st;
  return parse_rules_text(text, "t.rules", source, st);
}

}  // namespace

TEST(RulesUpdateMerge, DuplicateKeepsHighestRevFirstOnTie) {
  auto v = parse(r(1, 1, "a") + "\n" + r(2, 3, "b") + "\n", 0);
  for (auto& e : parse(r(1, 2, "a2") + "\n" + r(2, 1, "b-old") + "\n" + r(2, 3, "b-tie") + "\n", 1)) v.push_back(e);
  std::vector<DuplicateReport> d;
  dedup_rules(v, {"one", "two"}, d);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].sid, 1u);
  EXPECT_EQ(v[0].rev, 2u);  // the later, higher rev wins, in the first one's place
  EXPECT_EQ(v[0].msg, "a2");
  EXPECT_EQ(v[1].msg, "b");  // lower rev and equal rev lose
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].kept_rev, 2u);
  EXPECT_EQ(d[0].dropped_rev, 1u);
  EXPECT_EQ(d[0].kept_from, "two: t.rules");
  EXPECT_EQ(d[0].dropped_source, 0u);
  EXPECT_EQ(d[1].dropped_source, 1u);
}

TEST(RulesUpdateMerge, DiffAddedRemovedModified) {
  auto old_rules = parse(r(1, 1) + "\n" + r(2, 1) + "\n" + r(3, 1) + "\n");
  auto new_rules = parse(r(1, 1) + "\n# " + r(2, 1) + "\n" + r(4, 1) + "\n");
  std::vector<std::string> a, rm, m;
  diff_rules(old_rules, new_rules, a, rm, m);
  EXPECT_EQ(a, std::vector<std::string>{"1:4"});
  EXPECT_EQ(rm, std::vector<std::string>{"1:3"});
  EXPECT_EQ(m, std::vector<std::string>{"1:2"});  // disabling is a modification
}

TEST(RulesUpdateRun, InstallsTestsAndRefusesBrokenResult) {
  TempDir t;
  const std::string src = t.write("src/local.rules", r(10, 1) + "\n" + r(11, 1) + "\n# " + r(12, 1) + "\n");
  const std::string dis = t.write("disable.conf", "11\n");
  UpdateOptions o;
  o.sources = {src};
  o.output_dir = (t.p / "out").string();
  o.disable_conf = dis;
  o.reload = false;
  UpdateReport rep;
  ASSERT_EQ(run_update(o, rep), 0) << rep.error;
  EXPECT_TRUE(rep.installed);
  EXPECT_TRUE(rep.test_ok);
  EXPECT_EQ(rep.active, 1u);  // 10 only: 11 disabled here, 12 commented out in the source
  EXPECT_EQ(rep.total, 3u);
  EXPECT_EQ(rep.sources[0].enabled, 1u);
  EXPECT_EQ(rep.sources[0].disabled, 2u);
  const std::string installed = slurp(o.output_dir + "/spectre.rules");
  // (append, not "literal" + string: GCC 12 warns -Wrestrict on the latter)
  EXPECT_NE(installed.find(std::string("\n# ").append(r(11, 1)).append("\n")), std::string::npos);
  EXPECT_NE(installed.find(std::string("\n").append(r(10, 1)).append("\n")), std::string::npos);

  // Same input again: nothing changed, nothing rewritten.
  UpdateReport again;
  ASSERT_EQ(run_update(o, again), 0) << again.error;
  EXPECT_FALSE(again.changed);
  EXPECT_FALSE(again.installed);

  // Everything disabled: refused, the installed file stays byte-identical.
  t.write("disable.conf", "*\n");
  UpdateReport none;
  EXPECT_EQ(run_update(o, none), 1);
  EXPECT_NE(none.error.find("no enabled rules"), std::string::npos) << none.error;
  EXPECT_EQ(slurp(o.output_dir + "/spectre.rules"), installed);

  // Only a rule the compiler rejects: the loader fails, nothing installed, no temporaries left.
  t.write("src/local.rules", "alert tcp any any -> any any (msg:\"x\"; content:\"a\"; depth:0; sid:20; rev:1;)\n");
  t.write("disable.conf", "");
  UpdateReport bad;
  EXPECT_EQ(run_update(o, bad), 1);
  EXPECT_TRUE(bad.tested);
  EXPECT_FALSE(bad.test_ok);
  EXPECT_EQ(slurp(o.output_dir + "/spectre.rules"), installed);
  for (const auto& e : fs::directory_iterator(o.output_dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(RulesUpdateRun, StrictRefusesAPerRuleError) {
  TempDir t;
  const std::string src = t.write(
      "a.rules", r(30, 1) + "\nalert tcp any any -> any any (msg:\"bad\"; content:\"abcd\"; depth:2; sid:31; rev:1;)\n");
  UpdateOptions o;
  o.sources = {src};
  o.output_dir = (t.p / "out").string();
  o.reload = false;
  o.strict = true;
  UpdateReport strict;
  EXPECT_EQ(run_update(o, strict), 1);
  EXPECT_FALSE(fs::exists(o.output_dir + "/spectre.rules"));
  o.strict = false;
  UpdateReport lax;
  ASSERT_EQ(run_update(o, lax), 0) << lax.error;
  EXPECT_EQ(lax.active, 1u);
  ASSERT_FALSE(lax.test_messages.empty());
  // Messages name the installed file, not the temporary one.
  EXPECT_EQ(lax.test_messages[0].rfind(o.output_dir + "/spectre.rules:", 0), 0u) << lax.test_messages[0];
}

TEST(RulesUpdateRun, OneUpdateAtATimePerDirectory) {
  TempDir t;
  UpdateOptions o;
  o.sources = {t.write("a.rules", r(50, 1) + "\n")};
  o.output_dir = (t.p / "out").string();
  o.reload = false;
  fs::create_directories(o.output_dir);
  const int fd = ::open((o.output_dir + "/.spectre-rules.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);  // as a running update holds it
  UpdateReport busy;
  EXPECT_EQ(run_update(o, busy), 1);
  EXPECT_NE(busy.error.find("another spectre-rules update is running"), std::string::npos) << busy.error;
  EXPECT_FALSE(fs::exists(o.output_dir + "/spectre.rules"));
  ::close(fd);
  UpdateReport ok;
  EXPECT_EQ(run_update(o, ok), 0) << ok.error;
}

// --config: the test load uses spectre-dp's configuration (its variables here).
TEST(RulesUpdateRun, ConfigVariablesJoinTheTestLoad) {
  TempDir t;
  const std::string src = t.write("v.rules", "alert tcp $SENSORS any -> any any (msg:\"v\"; content:\"abc\"; sid:40; rev:1;)\n");
  UpdateOptions o;
  o.sources = {src};
  o.output_dir = (t.p / "out").string();
  o.reload = false;
  UpdateReport plain;
  EXPECT_EQ(run_update(o, plain), 1);  // $SENSORS is not one of Suricata's default variables
  EXPECT_FALSE(fs::exists(o.output_dir + "/spectre.rules"));
  o.config_file = t.write("spectre.yaml", "vars:\n  address:\n    SENSORS: \"[10.1.0.0/16]\"\n");
  UpdateReport with;
  ASSERT_EQ(run_update(o, with), 0) << with.error;
  EXPECT_EQ(with.active, 1u);
  o.config_file = t.write("bad.yaml", "no_such_key: 1\n");
  o.force = true;
  UpdateReport bad;
  EXPECT_EQ(run_update(o, bad), 1);
  EXPECT_NE(bad.error.find("--config"), std::string::npos) << bad.error;
}

TEST(RulesUpdateSources, UnreadableSourcesAreClearErrors) {
  TempDir t;
  FetchOptions fo;
  fo.cache_dir = (t.p / "cache").string();
  fo.connect_timeout_s = 2;
  fo.timeout_s = 5;
  SourceData sd;
  std::string err;
  EXPECT_FALSE(read_source((t.p / "missing.rules").string(), fo, sd, err));
  EXPECT_NE(err.find("no such file"), std::string::npos) << err;
  const std::string fake = t.write("fake.tar.gz", "this is not an archive\n");
  EXPECT_FALSE(read_source(fake, fo, sd, err));
  EXPECT_NE(err.find("fake.tar.gz"), std::string::npos) << err;
  EXPECT_FALSE(read_source(t.write("x.txt", "x"), fo, sd, err));
  EXPECT_FALSE(read_source("http://127.0.0.1:1/x.tar.gz", fo, sd, err));
  EXPECT_NE(err.find("download failed"), std::string::npos) << err;
  EXPECT_TRUE(read_source((t.p).string(), fo, sd, err)) << err;  // a directory: its *.rules (none besides)
  EXPECT_EQ(sd.kind, "directory");
}
