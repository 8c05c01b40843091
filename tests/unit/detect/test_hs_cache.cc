// The on-disk cache of compiled Hyperscan databases (dataplane/detect/hs_cache.h):
// a second compile of the same rules loads every database and detects the same;
// a corrupt file or an unwritable directory is counted and compiled around.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "dataplane/detect/hs_cache.h"
#include "tests/unit/detect/detect_util.h"
#include "tests/unit/tmpdir.h"

namespace spectre::detect_test {
namespace {

namespace fs = std::filesystem;

struct TmpDir : testutil::TmpDir {
  TmpDir() : testutil::TmpDir("hscache") {}
  std::vector<fs::path> files() const {
    std::vector<fs::path> v;
    for (auto& e : fs::directory_iterator(p)) v.push_back(e.path());
    std::sort(v.begin(), v.end());
    return v;
  }
};

// Rules in two port groups and an app buffer: three databases.
void add_rules(Harness& h) {
  for (uint32_t i = 0; i < 12; i++) {
    auto r = make_rule(100 + i);
    r.items = {C("evil" + std::to_string(i))};
    if (i < 6) r.hdr.dport = ports({{80, 80}});
    h.add(r);
  }
  h.add(parse("alert http any any -> any any (msg:\"ua\"; http.user_agent; content:\"sqlmap\"; sid:200;)"));
}

Sids run(Harness& h, const std::string& data, uint16_t dport = 80) { return h.pay(Pkt(6, 1234, dport).p, data); }

TEST(HsCache, SecondCompileLoadsEveryDatabaseAndDetectsTheSame) {
  TmpDir d;
  CompileOptions o;
  o.cache_dir = (d.p / "sub").string();  // created on first use
  Harness a, b, plain;
  add_rules(a), add_rules(b), add_rules(plain);
  a.compile(o);
  EXPECT_EQ(a.rep.cache_hits, 0u);
  EXPECT_EQ(a.rep.cache_errors, 0u);
  ASSERT_GT(a.rep.cache_misses, 1u);
  EXPECT_EQ(d.files().size(), 1u);
  size_t stored = 0;
  for (auto& e : fs::directory_iterator(o.cache_dir)) stored += e.path().extension() == ".hsdb";
  EXPECT_EQ(stored, a.rep.cache_misses);
  b.compile(o);
  EXPECT_EQ(b.rep.cache_hits, a.rep.cache_misses);
  EXPECT_EQ(b.rep.cache_misses, 0u);
  plain.compile();
  EXPECT_EQ(plain.rep.cache_hits + plain.rep.cache_misses, 0u);
  for (auto* h : {&a, &b, &plain}) {
    EXPECT_EQ(run(*h, "xx evil3 yy"), Sids{103});
    EXPECT_EQ(run(*h, "xx evil9 yy", 8080), Sids{109});
    EXPECT_EQ(run(*h, "xx evil3 yy", 8080), Sids{});  // port-80 rule
  }
}

TEST(HsCache, ChangedRulesMissTheCache) {
  TmpDir d;
  CompileOptions o;
  o.cache_dir = d.p.string();
  Harness a, b;
  add_rules(a), add_rules(b);
  b.add(parse("alert tcp any any -> any any (msg:\"new\"; content:\"fresh\"; sid:300;)"));
  a.compile(o);
  b.compile(o);
  EXPECT_GT(b.rep.cache_misses, 0u);  // the any-port database changed
  EXPECT_EQ(run(b, "a fresh one", 9999), Sids{300});
}

TEST(HsCache, CorruptFileIsCountedRecompiledAndReplaced) {
  TmpDir d;
  CompileOptions o;
  o.cache_dir = d.p.string();
  Harness a, b, c;
  add_rules(a), add_rules(b), add_rules(c);
  a.compile(o);
  auto files = d.files();
  ASSERT_FALSE(files.empty());
  {  // one byte of the payload flipped
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    char x = 0;
    f.read(&x, 1);
    f.seekp(100);
    x = char(x ^ 0x5a);
    f.write(&x, 1);
  }
  b.compile(o);
  EXPECT_EQ(b.rep.cache_errors, 1u);
  EXPECT_EQ(b.rep.cache_misses, 1u);
  ASSERT_FALSE(b.rep.messages.empty());
  EXPECT_NE(b.rep.messages.back().find("corrupt"), std::string::npos) << b.rep.messages.back();
  EXPECT_EQ(run(b, "xx evil3 yy"), Sids{103});
  EXPECT_EQ(run(b, "xx evil9 yy", 8080), Sids{109});
  c.compile(o);  // the file was rewritten
  EXPECT_EQ(c.rep.cache_errors, 0u);
  EXPECT_EQ(c.rep.cache_misses, 0u);
  // A truncated file too.
  fs::resize_file(files[0], 20);
  Harness e;
  add_rules(e);
  e.compile(o);
  EXPECT_EQ(e.rep.cache_errors, 1u);
  EXPECT_EQ(run(e, "xx evil9 yy", 8080), Sids{109});
}

TEST(HsCache, UnwritableDirectoryStillCompiles) {
  TmpDir d;
  fs::path file = d.p / "not-a-dir";
  std::ofstream(file) << "x";
  CompileOptions o;
  o.cache_dir = file.string();  // a regular file: nothing can be created under it
  Harness a;
  add_rules(a);
  a.compile(o);
  EXPECT_GT(a.rep.cache_errors, 0u);
  EXPECT_EQ(a.rep.cache_hits, 0u);
  EXPECT_EQ(run(a, "xx evil3 yy"), Sids{103});
}

TEST(HsCache, PruneRemovesOnlyStaleDatabases) {
  TmpDir d;
  CompileOptions o;
  o.cache_dir = d.p.string();
  Harness a;
  add_rules(a);
  a.compile(o);
  size_t n = d.files().size();
  ASSERT_GT(n, 1u);
  std::ofstream(d.p / "keep.txt") << "not a database";
  fs::last_write_time(d.files()[0], fs::file_time_type::clock::now() - std::chrono::hours(24 * 30));
  HsCacheStats st;
  hs_cache_prune(o.cache_dir, 7 * 86400, st);
  EXPECT_EQ(st.pruned, 1u);
  EXPECT_EQ(d.files().size(), n);  // n - 1 databases + keep.txt
  EXPECT_TRUE(fs::exists(d.p / "keep.txt"));
}

}  // namespace
}  // namespace spectre::detect_test
