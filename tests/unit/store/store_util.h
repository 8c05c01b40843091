// Shared by the store tests: a temp database file and an opened store.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "ctrlplane/store/sqlite_store.h"

namespace spectre::store::testing {

struct TmpDb {
  std::string path;
  TmpDb() {
    char t[] = "/tmp/store-test-XXXXXX";
    path = std::string(mkdtemp(t)) + "/s.db";
  }
  ~TmpDb() { std::filesystem::remove_all(std::filesystem::path(path).parent_path()); }
};

inline std::unique_ptr<SqliteStore> open_store(const std::string& path, size_t cap = 65536, size_t flow_cap = 16384) {
  SqliteOptions o;
  o.path = path;
  o.queue_capacity = cap;
  o.flow_queue_capacity = flow_cap;
  std::string err;
  auto s = SqliteStore::open(o, err);
  EXPECT_TRUE(s) << err;
  return s;
}

inline constexpr int64_t kT0 = 1764547200000;  // 2025-12-01T00:00:00Z

}  // namespace spectre::store::testing
