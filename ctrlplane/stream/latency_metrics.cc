#include "ctrlplane/stream/latency_metrics.h"

#include <fmt/format.h>

namespace spectre::stream {

void LatencyMetrics::record(int64_t ns) {
  if (ns < 0) ns = 0;
  size_t i = 0;
  while (i < kBoundsUs.size() && ns > kBoundsUs[i] * 1000) i++;  // le: a delay equal to a bound is in it
  auto bump = [](std::atomic<uint64_t>& a, uint64_t v) { a.store(a.load(std::memory_order_relaxed) + v, std::memory_order_relaxed); };
  bump(counts_[i], 1);
  bump(sum_ns_, uint64_t(ns));
}

LatencyMetrics::Snapshot LatencyMetrics::snapshot() const {
  Snapshot s;
  for (size_t i = 0; i < counts_.size(); i++) s.counts[i] = counts_[i].load(std::memory_order_relaxed);
  s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  return s;
}

std::string prometheus_histogram(const std::string& name, const std::string& help, const LatencyMetrics::Snapshot& s) {
  std::string o = fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  uint64_t cum = 0;
  for (size_t i = 0; i < LatencyMetrics::kBoundsUs.size(); i++) {
    cum += s.counts[i];
    o += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, double(LatencyMetrics::kBoundsUs[i]) / 1e6, cum);
  }
  cum += s.counts.back();
  o += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cum, name, double(s.sum_ns) / 1e9, name, cum);
  return o;
}

}  // namespace spectre::stream
