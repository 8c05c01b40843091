// EVE JSON lines from the exporter structs (control-plane thread only).
#include <cmath>
#include <ctime>
#include <iterator>

#include <fmt/format.h>

#include "ctrlplane/export/event.h"
#include "dataplane/events/json.h"

namespace spectre::exporter {

void put_json_str(std::string& out, std::string_view s) { json_escape(out, s); }

void put_json_double(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  fmt::format_to(std::back_inserter(out), "{}", v);
}

void format_eve_ts(std::string& out, uint64_t ts_ns) {
  time_t sec = time_t(ts_ns / 1000000000ull);
  struct tm tm;
  gmtime_r(&sec, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+0000", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (ts_ns / 1000) % 1000000);
}

namespace {

bool has_ports(std::string_view proto) { return proto == "TCP" || proto == "UDP" || proto == "SCTP"; }

void copy_line(std::string& out, const std::string& line) {
  out += line;
  if (line.empty() || line.back() != '\n') out.push_back('\n');
}

void put_kstr(std::string& out, std::string_view key, std::string_view v) {
  out += ",\"";
  out += key;
  out += "\":\"";
  put_json_str(out, v);
  out.push_back('"');
}

// timestamp, flow_id, event_type, addresses, proto: the head every line shares.
void put_head(std::string& out, uint64_t ts, uint64_t flow_id, std::string_view type, const std::string& src,
              uint16_t sport, const std::string& dst, uint16_t dport, const std::string& proto) {
  auto o = std::back_inserter(out);
  out += "{\"timestamp\":\"";
  format_eve_ts(out, ts);
  fmt::format_to(o, "\",\"flow_id\":{},\"event_type\":\"{}\"", flow_id, type);
  put_kstr(out, "src_ip", src);
  if (has_ports(proto)) fmt::format_to(o, ",\"src_port\":{}", sport);
  put_kstr(out, "dest_ip", dst);
  if (has_ports(proto)) fmt::format_to(o, ",\"dest_port\":{}", dport);
  put_kstr(out, "proto", proto);
}

void put_ml(std::string& out, const CpMl& m) {
  out += ",\"ml\":{\"model\":\"";
  put_json_str(out, m.model);
  out += "\",\"version\":\"";
  put_json_str(out, m.version);
  out += "\",\"score\":";
  put_json_double(out, m.score);
  out += ",\"threshold\":";
  put_json_double(out, m.threshold);
  put_kstr(out, "class", m.cls);
  put_kstr(out, "phase", m.phase);
  out += ",\"top_features\":[";
  for (size_t i = 0; i < m.top_features.size(); i++) {
    const CpTopFeature& f = m.top_features[i];
    out += i ? ",{\"name\":\"" : "{\"name\":\"";
    put_json_str(out, f.name);
    out += "\",\"value\":";
    put_json_double(out, f.value);
    out += ",\"contribution\":";
    put_json_double(out, f.contribution);
    out.push_back('}');
  }
  out += "]}";
}

void put_flags(std::string& out, uint8_t f) {
  static const struct { uint8_t bit; const char* name; } kNames[] = {
      {0x02, "syn"}, {0x01, "fin"}, {0x04, "rst"}, {0x08, "psh"},
      {0x10, "ack"}, {0x20, "urg"}, {0x40, "ecn"}, {0x80, "cwr"}};
  for (const auto& n : kNames)
    if (f & n.bit) fmt::format_to(std::back_inserter(out), ",\"{}\":true", n.name);
}

}  // namespace

void format_eve(std::string& out, const CpAlert& a) {
  if (!a.eve_json.empty()) return copy_line(out, a.eve_json);
  auto o = std::back_inserter(out);
  put_head(out, a.ts_ns, a.flow_id, "alert", a.src_ip, a.src_port, a.dst_ip, a.dst_port, a.proto);
  if (!a.app_proto.empty()) put_kstr(out, "app_proto", a.app_proto);
  if (!a.direction.empty()) put_kstr(out, "direction", a.direction);
  out += ",\"alert\":{\"action\":\"";
  put_json_str(out, a.action);
  fmt::format_to(o, "\",\"gid\":{},\"signature_id\":{},\"rev\":{},\"signature\":\"", a.gid, a.sid, a.rev);
  put_json_str(out, a.signature);
  out += "\",\"category\":\"";
  put_json_str(out, a.category);
  fmt::format_to(o, "\",\"severity\":{}}}", a.severity);
  if (a.ml) put_ml(out, *a.ml);
  out += "}\n";
}

void format_eve(std::string& out, const CpFlow& f) {
  if (!f.eve_json.empty()) return copy_line(out, f.eve_json);
  auto o = std::back_inserter(out);
  put_head(out, f.end_ns, f.flow_id, "flow", f.src_ip, f.src_port, f.dst_ip, f.dst_port, f.proto);
  if ((f.proto == "ICMP" || f.proto == "IPv6-ICMP") && f.icmp_type >= 0)
    fmt::format_to(o, ",\"icmp_type\":{},\"icmp_code\":{}", f.icmp_type, f.icmp_code < 0 ? 0 : f.icmp_code);
  if (!f.vlan.empty()) {
    out += ",\"vlan\":[";
    for (size_t i = 0; i < f.vlan.size(); i++) fmt::format_to(o, "{}{}", i ? "," : "", f.vlan[i] & 0x0fff);
    out.push_back(']');
  }
  fmt::format_to(o, ",\"flow\":{{\"pkts_toserver\":{},\"pkts_toclient\":{},\"bytes_toserver\":{},"
                    "\"bytes_toclient\":{},\"start\":\"",
                 f.pkts_toserver, f.pkts_toclient, f.bytes_toserver, f.bytes_toclient);
  format_eve_ts(out, f.start_ns);
  out += "\",\"end\":\"";
  format_eve_ts(out, f.end_ns);
  uint64_t start_s = f.start_ns / 1000000000ull, end_s = f.end_ns / 1000000000ull;
  fmt::format_to(o, "\",\"age\":{}", end_s >= start_s ? end_s - start_s : 0);
  put_kstr(out, "state", f.state.empty() ? "new" : f.state);
  put_kstr(out, "reason", f.reason.empty() ? "timeout" : f.reason);
  fmt::format_to(o, ",\"alerted\":{}}}", f.alerted ? "true" : "false");
  if (!f.app_proto.empty()) put_kstr(out, "app_proto", f.app_proto);
  if (f.proto == "TCP") {
    fmt::format_to(o, ",\"tcp\":{{\"tcp_flags\":\"{:02x}\",\"tcp_flags_ts\":\"{:02x}\",\"tcp_flags_tc\":\"{:02x}\"",
                   f.tcp_flags_ts | f.tcp_flags_tc, f.tcp_flags_ts, f.tcp_flags_tc);
    put_flags(out, uint8_t(f.tcp_flags_ts | f.tcp_flags_tc));
    put_kstr(out, "state", f.tcp_state.empty() ? "none" : f.tcp_state);
    out.push_back('}');
  }
  out += "}\n";
}

}  // namespace spectre::exporter
