// Shared bits of spectre-api-bench (api_bench.cc, modes.cc).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctrlplane/api/params.h"
#include "ctrlplane/api/service.h"
#include "ctrlplane/store/sqlite_store.h"

namespace spectre::apibench {

using J = nlohmann::json;
using Clock = std::chrono::steady_clock;

inline uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct Stats {
  std::vector<double> ms;
  J json() {
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) { return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, size_t(p * double(ms.size())))]; };
    return {{"n", ms.size()}, {"p50_ms", pct(0.50)}, {"p99_ms", pct(0.99)}, {"max_ms", ms.empty() ? 0.0 : ms.back()}};
  }
};

// One in-process GET through ApiService::handle (routing, auth, JSON included).
inline api::Response get(api::ApiService& svc, const std::string& target, const std::string& token) {
  api::Request r;
  r.method = "GET";
  size_t qm = target.find('?');
  r.path = target.substr(0, qm);
  if (qm != std::string::npos) api::parse_query(target.substr(qm + 1), r.query);
  r.headers["authorization"] = "Bearer " + token;
  return svc.handle(r);
}

// Removes a store file and its WAL and shared-memory files.
void remove_db(const std::string& path);
// The store the alert and incident benches fill: `path` (removed first unless
// reuse), a 262,144-row queue so the fill rarely waits for the writer, batch:
// rows per transaction at most (0: the store's default). Null after printing the error.
std::unique_ptr<store::SqliteStore> open_bench_store(const std::string& path, bool reuse = false, size_t batch = 0);

struct ModeOpt {
  uint64_t rows = 1000000, queries = 1000;
  double seconds = 60;
  std::string db, model, work;
  uint64_t rows_mb = 64;
  uint64_t q_scan_rows = 50000;  // --incidents: the API's bound (ServiceOptions::q_scan_rows; huge: the old whole walk)
};

// --flows: flow-row store rates (enqueue, commit) and newest-100 latency, idle and under writes.
int flows_mode(const ModeOpt& o);
// --explain: GET /alerts/{id}/explain cost (signature alert; ML alert whose row is
// near the end, deep in, or out of the searched tail of a rows file).
int explain_mode(const ModeOpt& o);
// --incidents: --rows incident records, then /incidents (newest, q= through the index, q= the
// bounded scan) and /search, --queries times each.
int incidents_mode(const ModeOpt& o);

}  // namespace spectre::apibench
