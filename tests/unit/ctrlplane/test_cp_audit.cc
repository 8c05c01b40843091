// spectre-cp audit log: one JSON line per record, fields, escaping, mode 0600,
// no interleaving between concurrent writers.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>
#include <thread>

#include "ctrlplane/cp/audit.h"
#include "ctrlplane/cp/json_out.h"
#include "ml/json.h"
#include "tests/unit/ctrlplane/test_cp_util.h"

using namespace spectre::cp;
namespace json = spectre::ml::json;

TEST(CpAudit, FormatHasEveryField) {
  AuditRecord r;
  r.peer = Peer{4242, 1000, 100};
  r.command = "model load";
  r.args = {{"file", "/tmp/a \"b\".spm"}, {"n", "3"}};
  r.ok = false;
  r.message = "bad\nthing";
  r.model_sha256 = "ab";
  std::string line = AuditLog::format(r, 1700000000123);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  json::Doc d;
  std::string err;
  ASSERT_TRUE(d.parse(line, err)) << err << " " << line;
  EXPECT_EQ(jget_str(d, 0, "time"), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(jget_int(d, 0, "uid"), 1000);
  EXPECT_EQ(jget_int(d, 0, "gid"), 100);
  EXPECT_EQ(jget_int(d, 0, "pid"), 4242);
  EXPECT_EQ(jget_str(d, 0, "command"), "model load");
  uint32_t a = d.find(0, "args");
  ASSERT_NE(a, json::kNone);
  EXPECT_EQ(jget_str(d, a, "file"), "/tmp/a \"b\".spm");
  EXPECT_EQ(jget_str(d, a, "n"), "3");
  EXPECT_EQ(jget_str(d, 0, "result"), "error");
  EXPECT_EQ(jget_str(d, 0, "message"), "bad\nthing");
  EXPECT_EQ(jget_str(d, 0, "model_sha256"), "ab");
  r.ok = true;
  r.model_sha256.clear();
  const std::string line2 = AuditLog::format(r, 0);  // Doc keeps views into its text
  ASSERT_TRUE(d.parse(line2, err));
  EXPECT_EQ(jget_str(d, 0, "result"), "ok");
  EXPECT_EQ(d.find(0, "model_sha256"), json::kNone);
}

TEST(CpAudit, AppendsWholeLinesFromManyThreadsMode0600) {
  cp_test::TempDir t;
  std::string path = t.path + "/log/sub/audit.log", err;
  {
    AuditLog log;
    ASSERT_TRUE(log.open(path, err)) << err;
    std::vector<std::thread> ts;
    for (int k = 0; k < 4; k++)
      ts.emplace_back([&, k] {
        for (int i = 0; i < 50; i++) {
          AuditRecord r;
          r.peer.pid = k;
          r.command = "stats";
          r.args = {{"i", std::to_string(i)}, {"pad", std::string(size_t(200 + 37 * i), 'x')}};
          r.ok = true;
          EXPECT_TRUE(log.record(r));
        }
      });
    for (auto& th : ts) th.join();
  }
  struct stat sb;
  ASSERT_EQ(stat(path.c_str(), &sb), 0);
  EXPECT_EQ(sb.st_mode & 0777, 0600u);
  {  // re-open appends
    AuditLog log;
    ASSERT_TRUE(log.open(path, err));
    AuditRecord r;
    r.command = "status";
    EXPECT_TRUE(log.record(r));
  }
  std::istringstream in(cp_test::slurp(path));
  std::string line;
  int n = 0;
  std::vector<int> next(4, 0);
  while (std::getline(in, line)) {
    json::Doc d;
    ASSERT_TRUE(d.parse(line, err)) << err << ": " << line.substr(0, 80);
    n++;
    if (jget_str(d, 0, "command") == "stats") {
      int k = int(jget_int(d, 0, "pid"));
      uint32_t a = d.find(0, "args");
      EXPECT_EQ(std::stoi(jget_str(d, a, "i")), next[size_t(k)]++);  // per writer in order
    }
  }
  EXPECT_EQ(n, 201);
}

TEST(CpAudit, OpenFailsClearly) {
  AuditLog log;
  std::string err;
  EXPECT_FALSE(log.open("/proc/no/such/audit.log", err));
  EXPECT_NE(err.find("audit log"), std::string::npos);
  AuditRecord r;
  EXPECT_FALSE(log.record(r));
}

// The writer against ml::json's reader on arbitrary byte strings.
TEST(CpAudit, JsonEscapeRoundTripsThroughTheReader) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int it = 0; it < 2000; it++) {
    std::string s;
    size_t len = (x >> 59);
    for (size_t i = 0; i < len; i++) {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      char c = char(x & 0x7f);  // ASCII incl. controls, quotes, backslashes
      s += c;
    }
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    JsonOut j;
    j.begin_obj().kv("k", s).key("a").begin_arr().str(s).num(-5).boolean(true).null().end_arr().end_obj();
    json::Doc d;
    std::string err;
    ASSERT_TRUE(d.parse(j.text(), err)) << err << " " << j.text();
    EXPECT_EQ(jget_str(d, 0, "k"), s);
    uint32_t a = d.find(0, "a");
    ASSERT_EQ(d.size(a), 4u);
    EXPECT_EQ(d.str(d.first(a)), s);
  }
}
