// Which ended flows spectre-cp keeps in the analyst store (and publishes on
// the flows stream channel): off by default. Checked on the link's reader
// thread before a row is built, so a filtered flow costs a few compares.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace spectre::api {

struct FlowFilterOptions {
  enum class Mode : uint8_t { kNone, kAlerted, kAll };
  Mode mode = Mode::kNone;   // --store-flows none|alerted|all
  uint64_t min_bytes = 0;    // --store-flows-min-bytes: both directions together
  uint64_t min_packets = 0;  // --store-flows-min-packets
  uint64_t sample = 1;       // --store-flows-sample N: 1 in N of the flows that pass the rest
  bool enabled() const { return mode != Mode::kNone; }
};

bool parse_flow_mode(const std::string& s, FlowFilterOptions::Mode& out);
const char* flow_mode_name(FlowFilterOptions::Mode m);

class FlowFilter {
 public:
  explicit FlowFilter(FlowFilterOptions o = {}) : o_(o) {}
  const FlowFilterOptions& options() const { return o_; }
  // Thread-safe. The sample keeps every Nth passing flow (a counter, not a
  // hash: deterministic for a given order of flows).
  bool pass(bool alerted, uint64_t bytes, uint64_t packets);
  uint64_t seen() const { return seen_.load(std::memory_order_relaxed); }
  uint64_t passed() const { return passed_.load(std::memory_order_relaxed); }

 private:
  FlowFilterOptions o_;
  std::atomic<uint64_t> seen_{0}, candidates_{0}, passed_{0};
};

}  // namespace spectre::api
