// The alert's "intel" object (threat-intel hits, dataplane/intel/). Writer thread only.
#include <iterator>

#include "dataplane/events/eve.h"

namespace spectre {

void format_intel_object(fmt::memory_buffer& out, const AlertRecord& a) {
  const IntelAlertMeta& m = a.intel;
  auto o = std::back_inserter(out);
  auto field = [&](const char* k, const char* v) {
    fmt::format_to(o, "\"{}\":\"", k);
    put_json_escaped(out, v);
    out.push_back('"');
  };
  auto time = [&](const char* k, uint64_t ns) {
    if (!ns) return;
    fmt::format_to(o, ",\"{}\":\"", k);
    format_ts(out, ns);
    out.push_back('"');
  };
  out.append(std::string_view("\"intel\":{"));
  field("feed", m.feed);
  out.push_back(',');
  field("indicator", m.indicator);
  out.push_back(',');
  field("type", m.type);
  out.push_back(',');
  field("threat", m.threat);
  out.push_back(',');
  field("match", m.match);
  fmt::format_to(o, ",\"confidence\":{},\"tags\":{}", m.confidence, m.tags[0] ? m.tags : "[]");
  time("first_seen", m.first_seen);
  time("last_seen", m.last_seen);
  time("valid_until", m.valid_until);
  out.push_back('}');
}

}  // namespace spectre
