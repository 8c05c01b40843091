#include "ctrlplane/api/flow_filter.h"

namespace spectre::api {

bool parse_flow_mode(const std::string& s, FlowFilterOptions::Mode& out) {
  using M = FlowFilterOptions::Mode;
  if (s == "none") out = M::kNone;
  else if (s == "alerted") out = M::kAlerted;
  else if (s == "all") out = M::kAll;
  else return false;
  return true;
}

const char* flow_mode_name(FlowFilterOptions::Mode m) {
  using M = FlowFilterOptions::Mode;
  return m == M::kAll ? "all" : m == M::kAlerted ? "alerted" : "none";
}

bool FlowFilter::pass(bool alerted, uint64_t bytes, uint64_t packets) {
  seen_.fetch_add(1, std::memory_order_relaxed);
  if (o_.mode == FlowFilterOptions::Mode::kNone) return false;
  if (o_.mode == FlowFilterOptions::Mode::kAlerted && !alerted) return false;
  if (bytes < o_.min_bytes || packets < o_.min_packets) return false;
  uint64_t k = candidates_.fetch_add(1, std::memory_order_relaxed);
  if (o_.sample > 1 && k % o_.sample != 0) return false;
  passed_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace spectre::api
