// The stream hub's publish() -> framed latency as a Prometheus histogram
// (spectre-cp's /metrics): fixed buckets, a sum and a count, written on the
// hub's strand (one writer: plain loads and stores, no locked instruction)
// and read from any thread (the scrape). No Beast here: tests include it alone.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace spectre::stream {

class LatencyMetrics {
 public:
  // Upper bounds (le) in µs: the 5 ms batch delay sits in the middle.
  static constexpr std::array<int64_t, 12> kBoundsUs = {100,   250,   500,   1000,   2500,   5000,
                                                        10000, 25000, 50000, 100000, 250000, 1000000};
  struct Snapshot {
    std::array<uint64_t, kBoundsUs.size() + 1> counts{};  // per bucket (not cumulative); the last: above 1 s
    uint64_t sum_ns = 0;
  };
  void record(int64_t ns);  // the strand only
  Snapshot snapshot() const;  // any thread; buckets and sum may be one delivery apart

 private:
  std::array<std::atomic<uint64_t>, kBoundsUs.size() + 1> counts_{};
  std::atomic<uint64_t> sum_ns_{0};
};

// Prometheus text format 0.0.4: # HELP, # TYPE histogram, cumulative
// name_bucket{le="..."} in seconds up to le="+Inf" (== name_count), name_sum.
std::string prometheus_histogram(const std::string& name, const std::string& help, const LatencyMetrics::Snapshot& s);

}  // namespace spectre::stream
