// Detections from EVE lines: what spectre-cp receives from the data plane
// (each Alert / FlowRecord message carries its EVE line, with the metadata,
// ml, behaviour, intel and app-layer objects the structured fields lack),
// and what a saved eve.json holds. The same normalisation as the data
// plane's own hook (dataplane/events/incidents.cc): kind, roles, confidence,
// ATT&CK ids from the rule's metadata. Not the fast path: a JSON parse per
// line (a few microseconds).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "ctrlplane/cortex/detection.h"

namespace spectre::cortex {

// Owns the strings its Detection's views point into; reusable across lines.
struct EveDetection {
  Detection d;
  std::string msg, category, detector, ml_class, evidence, dns, sni, http_host, ja3, feed, threat, technique, tactic;
};

enum class EveParse { kDetection, kFlow, kSkip, kBad };

// kDetection (an alert), kFlow (a flow record), kSkip (other event types and
// behaviour episode ends, which only summarise), kBad (+ err: not JSON, no
// timestamp, bad address).
EveParse detection_from_eve(std::string_view line, EveDetection& out, std::string& err);
// "2024-01-01T00:00:10.960000+0000" -> ns since the epoch; false if malformed.
bool parse_eve_time(std::string_view s, uint64_t& ns);

}  // namespace spectre::cortex
