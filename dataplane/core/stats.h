// Counter aggregation (control side): per-worker tables summed on demand.
#pragma once
#include <atomic>
#include <mutex>
#include <string>
#include <cstdint>
#include <cstdio>
#include <vector>

#include <fmt/format.h>

#include "dataplane/core/counter_table.h"
#include "dataplane/core/worker.h"

namespace spectre {

// Copies an all-uint64_t counter struct written by another thread, word by
// word with relaxed loads (values may be a burst stale, never torn).
template <typename T>
T relaxed_copy(const T& src) {
  static_assert(sizeof(T) % 8 == 0);
  T out;
  const uint64_t* s = reinterpret_cast<const uint64_t*>(&src);
  uint64_t* d = reinterpret_cast<uint64_t*>(&out);
  for (size_t i = 0; i < sizeof(T) / 8; i++) d[i] = __atomic_load_n(s + i, __ATOMIC_RELAXED);
  return out;
}

// Counters owned by the main thread (reader / distributor / port polling);
// the list: SPECTRE_IO_COUNTERS in dataplane/core/counters.h.
#define SPECTRE_COUNTER_ATOMIC(f, path, kind, help) std::atomic<uint64_t> f{0};
struct IoCounters {
  SPECTRE_IO_COUNTERS(SPECTRE_COUNTER_ATOMIC)
  // Indicators loaded per feed of the published intel set (IntelSet::summary_json),
  // set by the main thread on each publish, read by the stats writer.
  void set_intel_feeds(std::string j) {
    std::lock_guard<std::mutex> g(intel_mu);
    intel_feeds = std::move(j);
  }
  std::string get_intel_feeds() const {
    std::lock_guard<std::mutex> g(intel_mu);
    return intel_feeds;
  }
  mutable std::mutex intel_mu;
  std::string intel_feeds = "{}";
};

struct Totals {
  WorkerCounters w{};
  DefragCounters frag{};
  InspectCounters insp{};
  StreamCounters stream{};
  AppCounters app{};
  DetectCounters det{};
  MlCounters ml{};
  uint64_t ml_host_evictions = 0;
  behave::Counters behave{};
  intel::Counters intel{};
  std::vector<uint64_t> worker_pkts;
  yara::Counters yara{};  // dataplane/yaramatch/
};

// One worker's counters (relaxed copies; worker_pkts holds its packets).
Totals snapshot(const WorkerCtx& w);
// Adds `v` into `t`: every listed counter (kMax ones: the larger) and the
// arrays (worker_pkts excepted).
void add_totals(Totals& t, const Totals& v);
// The sum over workers (loop_max_ns and other kMax counters: the largest).
Totals collect(const std::vector<WorkerCtx*>& workers);
// The counters of kWorkerCounters (dataplane/core/counter_table.h), in its
// order, into out[kWorkerCounterCount]; the same for kIoCounters.
void worker_counter_values(const Totals& t, uint64_t* out);
void io_counter_values(const IoCounters& io, uint64_t* out);

// One EVE "stats" line (Suricata's layout: stats.decoder.*, stats.flow.*, ...).
void format_stats_event(fmt::memory_buffer& out, const Totals& t, const IoCounters& io,
                        uint64_t ts_ns, double uptime_s);

// Human-readable exit summary.
void print_summary(FILE* f, const Totals& t, const IoCounters& io, double wall_s);

}  // namespace spectre
