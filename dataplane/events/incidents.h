// The data plane's side of Cortex (ctrlplane/cortex/): the event writer thread
// turns each alert and flow record it drains into a cortex::Detection and
// hands it over; incident records come back as EVE lines. Writer thread only:
// the workers never see any of this.
#pragma once
#include <memory>
#include <string>

#include <fmt/format.h>

#include "ctrlplane/cortex/cortex.h"
#include "dataplane/events/event.h"

namespace spectre {

class IncidentHook {
 public:
  // Null and err when the rules or tables are bad.
  static std::unique_ptr<IncidentHook> create(const cortex::Config& c, std::string& err);
  void on_alert(const AlertRecord& a);
  void on_flow(const FlowRecord& r);
  // End of input: every open incident is closed (records to `out`).
  void finish();
  // Incident lines made since the last call (newline-terminated), moved out.
  bool take(fmt::memory_buffer& out);
  std::string report() const { return cx_->report(); }
  uint64_t detections() const { return cx_->detections(); }

 private:
  std::unique_ptr<cortex::Cortex> cx_;
  fmt::memory_buffer lines_;
  std::string tech_, tactic_;
};

// The conversion itself (also for tests): views into `a` and the two strings.
void to_detection(const AlertRecord& a, cortex::Detection& d, std::string& tech, std::string& tactic);
void to_detection(const FlowRecord& r, cortex::Detection& d);

}  // namespace spectre
