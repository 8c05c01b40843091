// EVE JSON formatting (Suricata field names). Writer thread only: never on a worker.
#pragma once
#include <cstdint>
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

}  // namespace spectre
