// The `intel:` configuration section and --intel on the command line.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "dataplane/core/cli.h"
#include "dataplane/core/config.h"

namespace spectre {
namespace {

std::string write_cfg(const std::string& text) {
  char t[] = "/tmp/intel-cfg-XXXXXX";
  std::string dir = mkdtemp(t);
  std::ofstream(dir + "/spectre.yaml") << text;
  return dir + "/spectre.yaml";
}

TEST(IntelConfig, FeedsParsedAndPathsRelativeToTheFile) {
  std::string p = write_cfg(
      "intel:\n  feeds:\n"
      "    - {name: feodo, path: feeds/ipblocklist.csv, format: feodo, ttl: 86400, confidence: 95}\n"
      "    - {path: /abs/doms.txt, format: plain, type: domain, threat: phishing}\n");
  std::string err;
  auto c = load_config(p, err);
  ASSERT_TRUE(c) << err;
  ASSERT_EQ(c->intel_feeds.size(), 2u);
  const auto& f = c->intel_feeds[0];
  EXPECT_EQ(f.name, "feodo");
  EXPECT_EQ(f.path, (std::filesystem::path(p).parent_path() / "feeds/ipblocklist.csv").string());
  EXPECT_EQ(f.format, intel::Format::kFeodo);
  EXPECT_EQ(f.ttl_s, 86400u);
  EXPECT_EQ(f.confidence, 95);
  const auto& g = c->intel_feeds[1];
  EXPECT_EQ(g.name, "doms.txt");  // default: the file name
  EXPECT_EQ(g.path, "/abs/doms.txt");
  EXPECT_TRUE(g.has_type);
  EXPECT_EQ(g.type, intel::Type::kDomain);
  EXPECT_EQ(g.threat, "phishing");
  std::filesystem::remove_all(std::filesystem::path(p).parent_path());
}

TEST(IntelConfig, ErrorsNameFileAndLine) {
  struct Case {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"intel:\n  feeds:\n    - {path: a.csv, colour: red}\n", "unknown key 'colour'"},
      {"intel:\n  feeds:\n    - {path: a.csv, format: csvish}\n", "format: expected"},
      {"intel:\n  feeds:\n    - {path: a.csv, confidence: 101}\n", "out of range"},
      {"intel:\n  feeds:\n    - {path: a.txt, format: plain}\n", "needs 'type:'"},
      {"intel:\n  feeds:\n    - {path: a.txt, type: hash}\n", "type: expected"},
      {"intel:\n  feeds:\n    - {name: \"a b\", path: a.txt}\n", "intel feed name"},
      {"intel:\n  feeds:\n    - {name: x}\n", "without 'path'"},
      {"intel:\n  feeds: a.csv\n", "expected a list"},  // line 2
  };
  for (const auto& k : cases) {
    std::string p = write_cfg(k.yaml), err;
    EXPECT_FALSE(load_config(p, err)) << k.yaml;
    EXPECT_NE(err.find(k.want), std::string::npos) << err;
    bool line2 = std::string(k.yaml).find("feeds: a.csv") != std::string::npos;
    EXPECT_NE(err.find(line2 ? "spectre.yaml:2" : "spectre.yaml:3"), std::string::npos) << err;
    std::filesystem::remove_all(std::filesystem::path(p).parent_path());
  }
}

TEST(IntelConfig, CommandLineAddsFeeds) {
  const char* argv[] = {"spectre-dp", "-r", "x.pcap", "--intel", "/f/bundle.json", "--intel", "/f/misp/"};
  Options o;
  std::string err;
  ASSERT_TRUE(parse_cli(7, const_cast<char**>(argv), o, err)) << err;
  Config c;
  apply_cli_overrides(c, o);
  ASSERT_EQ(c.intel_feeds.size(), 2u);
  EXPECT_EQ(c.intel_feeds[0].name, "bundle.json");
  EXPECT_EQ(c.intel_feeds[1].name, "misp");
  EXPECT_EQ(c.intel_feeds[1].format, intel::Format::kAuto);
}

}  // namespace
}  // namespace spectre
