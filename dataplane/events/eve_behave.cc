// The alert's "behaviour" object (behaviour detectors, dataplane/behave/).
// Writer thread only.
#include <iterator>

#include "dataplane/events/eve.h"

namespace spectre {

namespace {
const char* const kDet[] = {"?", "scan", "synflood", "bruteforce", "beacon", "slowdos", "exfil", "flood"};
const char* const kStage[] = {"start", "grow", "end"};
}  // namespace

void format_behave_object(fmt::memory_buffer& out, const AlertRecord& a) {
  auto o = std::back_inserter(out);
  const BehaveAlertMeta& b = a.behave;
  fmt::format_to(o, "\"behaviour\":{{\"detector\":\"{}\",\"episode_id\":{},\"stage\":\"{}\",\"window_s\":{},"
                    "\"first_seen\":\"",
                 kDet[b.detector < 8 ? b.detector : 0], b.episode_id, kStage[b.stage < 3 ? b.stage : 0], b.window_s);
  format_ts(out, b.first_seen);
  out.append(std::string_view("\",\"last_seen\":\""));
  format_ts(out, b.last_seen);
  fmt::format_to(o, "\",\"flows\":{}", b.flows);
  if (b.stage != 2) {  // the end carries the episode's totals only
    switch (b.detector) {
      case 1:
        fmt::format_to(o, ",\"distinct_dsts\":{:.0f},\"distinct_ports\":{:.0f},\"failed_ratio\":{:.3f},\"rejected\":{}",
                       b.distinct_dsts, b.distinct_ports, b.failed_ratio, b.attempts);
        break;
      case 2: fmt::format_to(o, ",\"half_open_per_s\":{:.1f},\"sources\":{}", b.half_open_per_s, b.sources); break;
      case 7: fmt::format_to(o, ",\"flows_per_s\":{:.1f},\"sources\":{}", b.flows_per_s, b.sources); break;
      case 3: case 5: fmt::format_to(o, ",\"attempts\":{}", b.attempts); break;
      case 4:
        fmt::format_to(o, ",\"intervals_cv\":{:.3f},\"mean_interval_s\":{:.2f},\"sizes_cv\":{:.3f}", b.intervals_cv,
                       b.mean_interval_s, b.size_cv);
        break;
      case 6: fmt::format_to(o, ",\"bytes_out\":{},\"baseline_bytes\":{}", b.bytes_out, b.baseline_bytes); break;
      default: break;
    }
  }
  out.append(std::string_view(",\"flow_ids\":["));
  for (uint8_t i = 0; i < b.nids && i < 4; i++) fmt::format_to(o, "{}{}", i ? "," : "", b.flow_ids[i]);
  out.append(std::string_view("]}"));
}

}  // namespace spectre
