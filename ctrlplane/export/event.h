// Plain event structs the control plane's exporters consume, decoupled from
// the flatbuffers wire format (the daemon converts). Off the packet path:
// strings and vectors are fine here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spectre::exporter {

struct CpTopFeature {
  std::string name;
  double value = 0;
  double contribution = 0;
};

// The EVE alert's "ml" object (README, "ML detection").
struct CpMl {
  std::string model;
  std::string version;
  double score = 0;
  double threshold = 0;
  std::string cls;    // EVE "class"
  std::string phase;  // "k4", "k16", "end"
  std::vector<CpTopFeature> top_features;
};

struct CpAlert {
  uint64_t ts_ns = 0;  // wall clock, ns since the epoch (UTC)
  uint64_t flow_id = 0;
  uint32_t worker = 0;
  std::string src_ip, dst_ip;  // text form, IPv4 or IPv6
  uint16_t src_port = 0, dst_port = 0;
  std::string proto;      // "TCP", "UDP", "ICMP", ... (EVE's proto names)
  std::string app_proto;  // "" when unknown
  std::string direction;  // "to_server", "to_client" or ""
  std::string action = "allowed";  // EVE alert.action: "allowed", "would drop", "pass", "blocked"
  uint32_t gid = 1, sid = 0, rev = 0;
  std::string signature, category;
  uint32_t severity = 3;  // Suricata priority: 1 = highest
  std::optional<CpMl> ml;
  // Optional pre-formatted EVE line from the data plane (no trailing newline
  // needed). When set, JSON outputs use it verbatim (it keeps app-layer
  // fields the struct does not carry); CEF/LEEF still use the fields above.
  std::string eve_json;
};

// An EVE "flow" record.
struct CpFlow {
  uint64_t flow_id = 0;
  uint32_t worker = 0;
  std::string src_ip, dst_ip;  // src = the initiator
  uint16_t src_port = 0, dst_port = 0;
  std::string proto;
  std::string app_proto;
  uint64_t pkts_toserver = 0, pkts_toclient = 0, bytes_toserver = 0, bytes_toclient = 0;
  uint64_t start_ns = 0, end_ns = 0;  // wall clock; the line's timestamp is end_ns
  std::string state;   // "new", "established", "closed"
  std::string reason;  // "timeout", "forced", "shutdown"
  bool alerted = false;
  int icmp_type = -1, icmp_code = -1;  // written for ICMP when >= 0
  std::vector<uint16_t> vlan;
  // TCP only (proto == "TCP"): flags seen each way and the tracker state.
  uint8_t tcp_flags_ts = 0, tcp_flags_tc = 0;
  std::string tcp_state;
  std::string eve_json;  // optional pre-formatted line, as in CpAlert
};

// Per-worker counters, cumulative since the data plane started.
struct CpWorkerStats {
  uint32_t worker = 0;
  uint64_t packets = 0, bytes = 0, drops = 0, flows = 0, alerts = 0;
  uint64_t ring_used = 0, ring_capacity = 0, ring_drops = 0;  // event ring to the control plane
  // Every listed counter of the worker, in kWorkerCounters order
  // (dataplane/core/counter_table.h); empty when the data plane sent none.
  std::vector<uint64_t> counters;
  // Model latency histogram: counts per bucket (not cumulative), one per
  // CpStats::latency_bounds_s entry plus a last +Inf bucket.
  std::vector<uint64_t> latency_counts;
  double latency_sum_s = 0;
};

struct CpStats {
  uint64_t ts_ns = 0;
  std::vector<double> latency_bounds_s;  // ascending upper bounds (seconds)
  std::vector<CpWorkerStats> workers;
  std::vector<uint64_t> io_counters;  // the data plane's main-thread counters, kIoCounters order
};

// EVE JSON lines (Suricata field names, same order as the data plane's
// dataplane/events/eve_alert.cc). Append one line with trailing '\n'; when
// eve_json is set it is copied instead (a '\n' is added if missing).
void format_eve(std::string& out, const CpAlert& a);
void format_eve(std::string& out, const CpFlow& f);
// "2024-01-01T12:00:00.123456+0000" (UTC, microseconds), as EVE writes.
void format_eve_ts(std::string& out, uint64_t ts_ns);
// Appends `s` JSON-escaped, no quotes (invalid UTF-8 bytes become \u00XX).
void put_json_str(std::string& out, std::string_view s);
// Appends a double as JSON: shortest exact form; NaN/inf become null.
void put_json_double(std::string& out, double v);

}  // namespace spectre::exporter
