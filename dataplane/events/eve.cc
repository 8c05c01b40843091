#include "dataplane/events/eve.h"

#include "dataplane/decode/packet.h"

#include <arpa/inet.h>
#include <ctime>
#include <iterator>

namespace spectre {

void put_ip(fmt::memory_buffer& out, const uint8_t* a, uint8_t ver) {
  if (ver == 4) {
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, a, buf, sizeof buf);
    out.append(std::string_view(buf));
    return;
  }
  // IPv6 as Suricata prints it (util-print.c): eight groups of four
  // lowercase hex digits, no "::" compression, so tools can match strings.
  static const char hx[] = "0123456789abcdef";
  for (int g = 0; g < 8; g++) {
    if (g) out.push_back(':');
    for (int k = 0; k < 4; k++) {
      uint8_t b = a[2 * g + k / 2];
      out.push_back(hx[k % 2 ? b & 15 : b >> 4]);
    }
  }
}

namespace {

void put_flags(fmt::memory_buffer& out, uint8_t f) {
  static const struct { uint8_t bit; const char* name; } kNames[] = {
      {kSyn, "syn"}, {kFin, "fin"}, {kRst, "rst"}, {kPsh, "psh"},
      {kAck, "ack"}, {kUrg, "urg"}, {kEce, "ecn"}, {kCwr, "cwr"}};
  for (const auto& n : kNames)
    if (f & n.bit) fmt::format_to(std::back_inserter(out), ",\"{}\":true", n.name);
}
}  // namespace

void format_ts(fmt::memory_buffer& out, uint64_t ts_ns) {
  time_t sec = time_t(ts_ns / 1000000000ull);
  struct tm tm;
  gmtime_r(&sec, &tm);
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+0000",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (ts_ns / 1000) % 1000000);
}

std::string format_ts(uint64_t ts_ns) {
  fmt::memory_buffer b;
  format_ts(b, ts_ns);
  return fmt::to_string(b);
}

const char* proto_name(uint8_t proto, char (&buf)[8]) {
  switch (proto) {
    case 6: return "TCP";
    case 17: return "UDP";
    case 1: return "ICMP";
    case 58: return "IPv6-ICMP";
    case 47: return "GRE";
    case 50: return "ESP";
    case 51: return "AH";
    case 132: return "SCTP";
    case 4: return "IPIP";
    case 41: return "IPv6";
    default: fmt::format_to_n(buf, sizeof buf - 1, "{:03}", proto).out[0] = 0; return buf;
  }
}

const char* tcp_state_name(TcpState s) {
  switch (s) {
    case TcpState::kSynSent: return "syn_sent";
    case TcpState::kSynRecv: return "syn_recv";
    case TcpState::kEstablished: return "established";
    case TcpState::kFinWait1: return "fin_wait1";
    case TcpState::kClosed: return "closed";
    default: return "none";
  }
}

const char* flow_state_name(const FlowRecord& r) {
  if (r.proto == 6) {
    switch (r.tcp_state) {
      case TcpState::kEstablished: case TcpState::kFinWait1: return "established";
      case TcpState::kClosed: return "closed";
      default: return "new";
    }
  }
  return (r.flags & kFlowSeenToServer) && (r.flags & kFlowSeenToClient) ? "established" : "new";
}

void format_flow(fmt::memory_buffer& out, const FlowRecord& r) {
  auto o = std::back_inserter(out);
  out.append(std::string_view("{\"timestamp\":\""));
  format_ts(out, r.last_ts);
  fmt::format_to(o, "\",\"flow_id\":{},\"event_type\":\"flow\",\"src_ip\":\"", r.flow_id);
  put_ip(out, r.src, r.ip_ver);
  out.append(std::string_view("\""));
  bool ports = r.proto == 6 || r.proto == 17 || r.proto == 132;
  if (ports) fmt::format_to(o, ",\"src_port\":{}", r.sport);
  out.append(std::string_view(",\"dest_ip\":\""));
  put_ip(out, r.dst, r.ip_ver);
  out.append(std::string_view("\""));
  if (ports) fmt::format_to(o, ",\"dest_port\":{}", r.dport);
  char pb[8];
  fmt::format_to(o, ",\"proto\":\"{}\",\"ip_v\":{}", proto_name(r.proto, pb), r.ip_ver);
  if (r.proto == 1 || r.proto == 58)
    fmt::format_to(o, ",\"icmp_type\":{},\"icmp_code\":{}", r.icmp_type, r.icmp_code);
  if (r.vlan[0]) {
    fmt::format_to(o, ",\"vlan\":[{}", r.vlan[0] & 0x0fff);
    if (r.vlan[1]) fmt::format_to(o, ",{}", r.vlan[1] & 0x0fff);
    out.push_back(']');
  }
  fmt::format_to(o, ",\"flow\":{{\"pkts_toserver\":{},\"pkts_toclient\":{},\"bytes_toserver\":{},"
                    "\"bytes_toclient\":{},\"start\":\"",
                 r.pkts[0], r.pkts[1], r.bytes[0], r.bytes[1]);
  format_ts(out, r.first_ts);
  out.append(std::string_view("\",\"end\":\""));
  format_ts(out, r.last_ts);
  static const char* const kReasons[] = {"timeout", "forced", "shutdown"};
  fmt::format_to(o, "\",\"age\":{},\"state\":\"{}\",\"reason\":\"{}\",\"alerted\":{}}}",
                 r.last_ts / 1000000000ull - r.first_ts / 1000000000ull, flow_state_name(r),
                 kReasons[uint8_t(r.reason) % 3], (r.flags & kFlowAlerted) ? "true" : "false");
  if (r.app_proto) fmt::format_to(o, ",\"app_proto\":\"{}\"", rules::app_proto_name(rules::AppProto(r.app_proto)));
  if (r.proto == 6) {
    fmt::format_to(o, ",\"tcp\":{{\"tcp_flags\":\"{:02x}\",\"tcp_flags_ts\":\"{:02x}\",\"tcp_flags_tc\":\"{:02x}\"",
                   r.tcp_flags_ts | r.tcp_flags_tc, r.tcp_flags_ts, r.tcp_flags_tc);
    put_flags(out, r.tcp_flags_ts | r.tcp_flags_tc);
    fmt::format_to(o, ",\"state\":\"{}\"}}", tcp_state_name(r.tcp_state));
  }
  out.append(std::string_view("}\n"));
}

}  // namespace spectre
