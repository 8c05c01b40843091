// EVE JSON formatting (Suricata field names). Writer thread only: never on a worker.
#pragma once
#include <cstdint>
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "dataplane/events/event.h"

namespace spectre {

// "2024-01-01T12:00:00.123456+0000" (UTC, microseconds).
void format_ts(fmt::memory_buffer& out, uint64_t ts_ns);
std::string format_ts(uint64_t ts_ns);
// Appends one flow event line (with trailing newline).
void format_flow(fmt::memory_buffer& out, const FlowRecord& r);
const char* proto_name(uint8_t proto, char (&buf)[8]);
const char* tcp_state_name(TcpState s);
const char* flow_state_name(const FlowRecord& r);
void put_ip(fmt::memory_buffer& out, const uint8_t* a, uint8_t ver);
// Appends `s` as a JSON string body (no quotes), escaping as RFC 8259 requires.
void put_json_escaped(fmt::memory_buffer& out, std::string_view s);

// Appends one alert event line (eve_alert.cc).
void format_alert(fmt::memory_buffer& out, const AlertRecord& a);
// Appends one app-layer transaction line: event_type "http", "dns" or "tls".
void format_app_event(fmt::memory_buffer& out, const AlertRecord& a);
// The alert's "ml" object (no leading comma): model, version, score,
// threshold, class, phase, top_features (feature_csv.cc).
void format_ml_object(fmt::memory_buffer& out, const AlertRecord& a);
// The alert's "behaviour" object (no leading comma): detector, episode_id,
// stage, window_s, first_seen, last_seen, flows, the detector's counts, flow_ids (eve_behave.cc).
void format_behave_object(fmt::memory_buffer& out, const AlertRecord& a);
// The alert's "intel" object (threat-intel hits, dataplane/intel/).
void format_intel_object(fmt::memory_buffer& out, const AlertRecord& a);
// The alert's "yara" object (no leading comma): rule, namespace, tags, meta,
// strings (identifier, offset, length), scanned (eve_yara.cc).
void format_yara_object(fmt::memory_buffer& out, const AlertRecord& a);
// A fileinfo object's matches: `"yara":[{rule, namespace, strings}...]`
// inserted before its closing brace (has_yara only).
void append_fileinfo_yara(std::string& fileinfo, const AlertRecord& a);
// --dump-features CSV: the header line, and one row per kFeatureRow record:
// flow_id,phase,ts_start,ts,src_ip,src_port,dst_ip,dst_port,proto,<features>.
// Floats are printed in their shortest exact form (they parse back bit-equal).
void write_feature_header(FILE* f);
void format_feature_row(fmt::memory_buffer& out, const AlertRecord& a);
// Appends one Suricata fast.log line (UTC timestamps).
void format_fast(fmt::memory_buffer& out, const AlertRecord& a);

}  // namespace spectre
