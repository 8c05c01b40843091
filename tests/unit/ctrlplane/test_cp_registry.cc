// Model registry of spectre-cp: validation (checksum, schema), store, activate,
// rollback, persistence across re-open, concurrent index writers.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "ctrlplane/cp/registry.h"
#include "ml/artifact.h"
#include "ml/feature_schema.h"
#include "tests/unit/ctrlplane/test_cp_util.h"

namespace fs = std::filesystem;
using namespace spectre::cp;
using cp_test::model_path;
using cp_test::slurp;
using cp_test::TempDir;
using cp_test::make_variant;

namespace {

ModelEntry load_into(ModelRegistry& reg, const std::string& file, int64_t t = 1700000000) {
  ModelCandidate c;
  std::string err, stored;
  EXPECT_TRUE(ModelRegistry::validate(file, spectre::ml::schema_hash(), c, err)) << err;
  EXPECT_TRUE(reg.store(c, stored, err)) << err;
  ModelEntry e = c.entry;
  e.loaded_at_unix = t;
  e.loaded_at = iso_time_utc(t);
  e.who = "uid=0 gid=0 pid=1";
  EXPECT_TRUE(reg.activate(e, err)) << err;
  return e;
}

}  // namespace

TEST(CpRegistry, ValidateReadsNameVersionShaLikeTheDataPlane) {
  ModelCandidate c;
  std::string err;
  ASSERT_TRUE(ModelRegistry::validate(model_path(), spectre::ml::schema_hash(), c, err)) << err;
  spectre::ml::LoadedModel m;
  ASSERT_TRUE(spectre::ml::load_artifact_file(model_path(), m, err));
  EXPECT_EQ(c.entry.name, "default");
  EXPECT_EQ(c.entry.sha256, m.sha256);
  std::string version;  // the artifact's "version" metric (ml/models/train_default.sh), as the data plane reads it
  for (const auto& [k, v] : m.metrics)
    if (k == "version") version = std::to_string(int64_t(v));
  ASSERT_FALSE(version.empty());
  EXPECT_EQ(c.entry.version, version);
  EXPECT_EQ(c.entry.kind, "xgboost");
  EXPECT_EQ(c.num_features, 58u);
  EXPECT_EQ(c.size, fs::file_size(model_path()));
}

TEST(CpRegistry, LoadListAndPersistAcrossReopen) {
  TempDir d;
  std::string err;
  {
    ModelRegistry reg;
    ASSERT_TRUE(reg.open(d.path + "/models", err)) << err;
    EXPECT_TRUE(reg.list().empty());
    EXPECT_FALSE(reg.active());
    ModelEntry e = load_into(reg, model_path());
    ASSERT_TRUE(reg.active());
    EXPECT_EQ(reg.active()->sha256, e.sha256);
    EXPECT_EQ(slurp(reg.path_of(e.sha256)), slurp(model_path()));  // copy named by sha256
  }
  ModelRegistry again;
  ASSERT_TRUE(again.open(d.path + "/models", err)) << err;
  auto l = again.list();
  ASSERT_EQ(l.size(), 1u);
  EXPECT_EQ(l[0].name, "default");
  EXPECT_EQ(l[0].loaded_at, "2023-11-14T22:13:20Z");
  EXPECT_EQ(l[0].who, "uid=0 gid=0 pid=1");
  ASSERT_TRUE(again.active());
  EXPECT_EQ(again.active()->sha256, l[0].sha256);
  // No temp files left behind.
  for (auto& f : fs::directory_iterator(d.path + "/models"))
    EXPECT_EQ(f.path().filename().string().rfind(".tmp", 0), std::string::npos) << f.path();
}

TEST(CpRegistry, RollbackWalksTheActivationHistory) {
  TempDir d;
  std::string err;
  ModelRegistry reg;
  ASSERT_TRUE(reg.open(d.path + "/m", err)) << err;
  ModelEntry a = load_into(reg, model_path());
  ModelEntry b = load_into(reg, make_variant(d.path, 3));
  ModelEntry c = load_into(reg, make_variant(d.path, 4));
  EXPECT_NE(a.sha256, b.sha256);
  EXPECT_EQ(b.version, "3");
  EXPECT_EQ(reg.list().size(), 3u);
  ModelEntry prev;
  ASSERT_TRUE(reg.previous(prev, err));
  EXPECT_EQ(prev.sha256, b.sha256);
  EXPECT_FALSE(reg.rollback(a.sha256, err));  // guard: a is not active
  ASSERT_TRUE(reg.rollback(c.sha256, err)) << err;
  EXPECT_EQ(reg.active()->sha256, b.sha256);
  ASSERT_TRUE(reg.rollback(b.sha256, err)) << err;
  EXPECT_EQ(reg.active()->sha256, a.sha256);
  EXPECT_FALSE(reg.previous(prev, err));
  EXPECT_NE(err.find("no previous"), std::string::npos);
  EXPECT_FALSE(reg.rollback(a.sha256, err));
  EXPECT_EQ(reg.list().size(), 3u);  // every version stays listed
  ModelRegistry again;
  ASSERT_TRUE(again.open(d.path + "/m", err));
  EXPECT_EQ(again.active()->sha256, a.sha256);
  EXPECT_EQ(again.history(), std::vector<std::string>{a.sha256});
}

TEST(CpRegistry, CorruptArtifactRefusedAndNothingChanges) {
  TempDir d;
  std::string err;
  ModelRegistry reg;
  ASSERT_TRUE(reg.open(d.path + "/m", err));
  load_into(reg, model_path());
  std::string index = slurp(d.path + "/m/index.json");
  std::string bytes = slurp(model_path());
  for (size_t off : {size_t(100), bytes.size() / 2, bytes.size() - 5}) {
    std::string bad = bytes;
    bad[off] = char(bad[off] ^ 0x5a);
    std::string p = d.path + "/bad.spm";
    std::ofstream(p, std::ios::binary | std::ios::trunc) << bad;
    ModelCandidate c;
    EXPECT_FALSE(ModelRegistry::validate(p, spectre::ml::schema_hash(), c, err)) << off;
    EXPECT_NE(err.find("checksum"), std::string::npos) << err;
    EXPECT_TRUE(c.bytes.empty());
  }
  ModelCandidate c;
  std::ofstream(d.path + "/short.spm") << "SPM1";
  EXPECT_FALSE(ModelRegistry::validate(d.path + "/short.spm", "", c, err));
  EXPECT_FALSE(ModelRegistry::validate(d.path + "/missing.spm", "", c, err));
  EXPECT_NE(err.find("cannot read"), std::string::npos);
  EXPECT_FALSE(ModelRegistry::validate(d.path, "", c, err));  // a directory
  EXPECT_EQ(slurp(d.path + "/m/index.json"), index);
  EXPECT_EQ(std::distance(fs::directory_iterator(d.path + "/m"), fs::directory_iterator()), 3);  // index, .lock, copy
}

TEST(CpRegistry, SchemaMismatchRefused) {
  ModelCandidate c;
  std::string err;
  std::string other(64, 'a');
  EXPECT_FALSE(ModelRegistry::validate(model_path(), other, c, err));
  EXPECT_NE(err.find("feature schema mismatch"), std::string::npos) << err;
  EXPECT_NE(err.find(other.substr(0, 16)), std::string::npos);
}

TEST(CpRegistry, CorruptIndexIsRefusedNotOverwritten) {
  TempDir d;
  std::string err;
  fs::create_directories(d.path + "/m");
  std::ofstream(d.path + "/m/index.json") << "{\"version\":1,\"models\":[";
  ModelRegistry reg;
  EXPECT_FALSE(reg.open(d.path + "/m", err));
  EXPECT_NE(err.find("corrupt"), std::string::npos) << err;
  std::ofstream(d.path + "/m/index.json", std::ios::trunc) << "{\"version\":7}";
  EXPECT_FALSE(reg.open(d.path + "/m", err));
  EXPECT_NE(err.find("version 7"), std::string::npos) << err;
}

TEST(CpRegistry, DiscardRemovesOnlyUnreferencedCopies) {
  TempDir d;
  std::string err, stored;
  ModelRegistry reg;
  ASSERT_TRUE(reg.open(d.path, err));
  ModelEntry a = load_into(reg, model_path());
  ModelCandidate c;
  ASSERT_TRUE(ModelRegistry::validate(make_variant(d.path, 9), "", c, err)) << err;
  ASSERT_TRUE(reg.store(c, stored, err));
  EXPECT_TRUE(fs::exists(stored));
  reg.discard(c.entry.sha256);
  EXPECT_FALSE(fs::exists(stored));
  reg.discard(a.sha256);
  EXPECT_TRUE(fs::exists(reg.path_of(a.sha256)));
}

TEST(CpRegistry, ShadowRecordedAndClearedByActivation) {
  TempDir d;
  std::string err;
  ModelRegistry reg;
  ASSERT_TRUE(reg.open(d.path, err));
  load_into(reg, model_path());
  ModelCandidate c;
  ASSERT_TRUE(ModelRegistry::validate(make_variant(d.path, 5), "", c, err));
  ASSERT_TRUE(reg.set_shadow(c.entry, err));
  ModelRegistry r2;
  ASSERT_TRUE(r2.open(d.path, err));
  ASSERT_TRUE(r2.shadow());
  EXPECT_EQ(r2.shadow()->sha256, c.entry.sha256);
  EXPECT_EQ(r2.list().size(), 2u);
  ASSERT_TRUE(r2.activate(c.entry, err));
  EXPECT_FALSE(r2.shadow());
  ASSERT_TRUE(r2.set_shadow(ModelEntry{}, err));
  EXPECT_FALSE(r2.shadow());
}

// Several registry objects (as several processes would) activate entries at
// once: the flock + re-read makes every entry survive and the index parse.
TEST(CpRegistry, ConcurrentWritersLoseNothing) {
  TempDir d;
  std::string err;
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; t++) {
    ts.emplace_back([&, t] {
      ModelRegistry reg;
      std::string e;
      if (!reg.open(d.path, e)) { failures++; return; }
      for (int k = 0; k < kEach; k++) {
        ModelEntry m;
        char sha[65];
        std::snprintf(sha, sizeof sha, "%064x", t * 1000 + k);
        m.sha256 = sha;
        m.name = std::to_string(t).insert(0, 1, 't');
        m.version = std::to_string(k);
        if (!reg.activate(m, e)) failures++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  ModelRegistry reg;
  ASSERT_TRUE(reg.open(d.path, err)) << err;
  EXPECT_EQ(reg.list().size(), size_t(kThreads * kEach));
  EXPECT_EQ(reg.history().size(), size_t(kThreads * kEach));
  // Per writer, its own activations appear in order.
  std::vector<int> last(kThreads, -1);
  for (const auto& h : reg.history()) {
    int v = int(std::stoul(h, nullptr, 16));
    EXPECT_GT(v % 1000, last[v / 1000]);
    last[v / 1000] = v % 1000;
  }
}
