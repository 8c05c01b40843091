// Alert lines: EVE "alert" events and fast.log. Writer thread only.
#include <algorithm>
#include <ctime>
#include <iterator>

#include "dataplane/events/eve.h"
#include "dataplane/events/json.h"

namespace spectre {

void put_json_escaped(fmt::memory_buffer& out, std::string_view s) { json_escape(out, s); }

namespace {
const char* action_name(uint8_t a) {
  switch (rules::Action(a)) {
    case rules::Action::kDrop: case rules::Action::kReject: return "would drop";
    case rules::Action::kPass: return "pass";
    default: return "allowed";
  }
}
bool has_ports(uint8_t proto) { return proto == 6 || proto == 17 || proto == 132; }
// Suricata's PktSrcToString names. No packet: the record came from a flow's
// end (timeout or shutdown) or from batched scoring, as Suricata's flow
// timeout pseudo packets.
const char* pkt_src_name(uint8_t s) {
  switch (PktSrc(s)) {
    case kPktSrcWire: return "wire/pcap";
    case kPktSrcDefrag: return "defrag";
    default: return "stream (flow timeout)";
  }
}
// RFC 4648 base64 with padding, as Suricata writes payload and packet.
void put_base64(fmt::memory_buffer& out, const uint8_t* d, size_t n) {
  static const char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = uint32_t(d[i]) << 16 | uint32_t(d[i + 1]) << 8 | d[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(k[(v >> s) & 63]);
  }
  if (n - i == 1) {
    uint32_t v = uint32_t(d[i]) << 16;
    for (char c : {k[v >> 18], k[(v >> 12) & 63], '=', '='}) out.push_back(c);
  } else if (n - i == 2) {
    uint32_t v = uint32_t(d[i]) << 16 | uint32_t(d[i + 1]) << 8;
    for (char c : {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='}) out.push_back(c);
  }
}
}  // namespace

namespace {
// timestamp, flow_id, event_type, addresses, proto: the head every line shares.
void put_head(fmt::memory_buffer& out, const AlertRecord& a, std::string_view type) {
  auto o = std::back_inserter(out);
  out.append(std::string_view("{\"timestamp\":\""));
  format_ts(out, a.ts_ns);
  out.push_back('"');
  // A packet with no flow (a decode-event alert) has no flow_id, and no
  // addresses when its IP header was not read; its ports are not trusted.
  const bool flowless = !a.has_flow && !a.flow_id;
  if (!flowless) fmt::format_to(o, ",\"flow_id\":{}", a.flow_id);
  // Offline only, and only for records a real packet produced (Suricata omits
  // it on pseudo packets such as flow timeouts).
  if (a.pcap_cnt) fmt::format_to(o, ",\"pcap_cnt\":{}", a.pcap_cnt);
  fmt::format_to(o, ",\"event_type\":\"{}\"", type);
  if (flowless && !a.ip_ver) return;
  out.append(std::string_view(",\"src_ip\":\""));
  put_ip(out, a.src, a.ip_ver);
  out.push_back('"');
  const bool ports = has_ports(a.proto) && !flowless;
  if (ports) fmt::format_to(o, ",\"src_port\":{}", a.sport);
  out.append(std::string_view(",\"dest_ip\":\""));
  put_ip(out, a.dst, a.ip_ver);
  out.push_back('"');
  if (ports) fmt::format_to(o, ",\"dest_port\":{}", a.dport);
  char pb[8];
  fmt::format_to(o, ",\"proto\":\"{}\",\"ip_v\":{}", proto_name(a.proto, pb), a.ip_ver);
}
}  // namespace

// ',"http":{...}' (or dns/tls) and the closing brace of the line.
void put_app_and_close(fmt::memory_buffer& out, const AlertRecord& a) {
  if (a.has_app) {
    std::string app;
    const char* hs[2] = {a.x.hassh_string[0], a.x.hassh_string[1]};
    const size_t h2n = a.app.proto == rules::AppProto::kHttp2 ? std::min<size_t>(a.h2_headers_len, sizeof a.x.h2_headers) : 0;
    std::string_view h2h(reinterpret_cast<const char*>(a.x.h2_headers), h2n);
    format_app_json(a.app, app, a.has_hassh ? hs : nullptr, h2h);
    if (!app.empty()) {
      out.push_back(',');
      out.append(app);
    }
  }
  out.append(std::string_view("}\n"));
}

void format_app_event(fmt::memory_buffer& out, const AlertRecord& a) {
  if (a.app.file_tx) {  // Suricata's fileinfo: the protocol's object, then the file's
    put_head(out, a, "fileinfo");
    std::string app;
    format_app_json(a.app, app);
    if (!app.empty()) app += ',';
    if (a.app_proto)  // Suricata's order: the protocol's object, app_proto, fileinfo
      fmt::format_to(std::back_inserter(app), "\"app_proto\":\"{}\",",
                     rules::app_proto_name(rules::AppProto(a.app_proto)));
    format_fileinfo_json(a.app, app);
    append_fileinfo_yara(app, a);
    out.push_back(',');
    out.append(app);
    out.append(std::string_view("}\n"));
    return;
  }
  // Suricata logs HTTP/2 transactions as `http` events (with "version":"2").
  const auto ap = rules::AppProto(a.app_proto);
  put_head(out, a, rules::app_proto_name(ap == rules::AppProto::kHttp2 ? rules::AppProto::kHttp : ap));
  put_app_and_close(out, a);
}

void format_alert(fmt::memory_buffer& out, const AlertRecord& a) {
  auto o = std::back_inserter(out);
  put_head(out, a, "alert");
  fmt::format_to(o, ",\"pkt_src\":\"{}\"", pkt_src_name(a.pkt_src));
  if (a.app_proto) fmt::format_to(o, ",\"app_proto\":\"{}\"", rules::app_proto_name(rules::AppProto(a.app_proto)));
  if (a.has_flow) fmt::format_to(o, ",\"direction\":\"{}\"", a.to_server ? "to_server" : "to_client");
  fmt::format_to(o, ",\"alert\":{{\"action\":\"{}\",\"gid\":{},\"signature_id\":{},\"rev\":{},\"signature\":\"",
                 action_name(a.action), a.gid, a.sid, a.rev);
  put_json_escaped(out, a.msg);
  out.append(std::string_view("\",\"category\":\""));
  put_json_escaped(out, a.category);
  fmt::format_to(o, "\",\"severity\":{}", a.severity);
  if (a.metadata[0]) {
    out.append(std::string_view(",\"metadata\":"));
    out.append(std::string_view(a.metadata));
  }
  out.push_back('}');
  if (a.has_ml) {
    out.push_back(',');
    format_ml_object(out, a);
  }
  if (a.has_behave) {
    out.push_back(',');
    format_behave_object(out, a);
  }
  if (a.has_intel) {
    out.push_back(',');
    format_intel_object(out, a);
  }
  if (a.has_yara) {
    out.push_back(',');
    format_yara_object(out, a);
  }
  if (a.has_flow) {  // Suricata's alert.flow: the flow as of this alert
    fmt::format_to(o, ",\"flow\":{{\"pkts_toserver\":{},\"pkts_toclient\":{},\"bytes_toserver\":{},"
                      "\"bytes_toclient\":{},\"start\":\"",
                   a.flow_pkts[0], a.flow_pkts[1], a.flow_bytes[0], a.flow_bytes[1]);
    format_ts(out, a.flow_start);
    out.append(std::string_view("\"}"));
  }
  if (a.payload_len) {  // eve.alert.payload
    out.append(std::string_view(",\"payload\":\""));
    put_base64(out, a.x.raw.payload, a.payload_len);
    fmt::format_to(o, "\",\"stream\":{}", a.payload_stream ? 1 : 0);
  }
  if (a.packet_len) {  // eve.alert.packet: from the IP header, hence raw-IP linktype 101
    out.append(std::string_view(",\"packet\":\""));
    put_base64(out, a.x.raw.packet, a.packet_len);
    out.append(std::string_view("\",\"packet_info\":{\"linktype\":101}"));
  }
  put_app_and_close(out, a);
}

void format_fast(fmt::memory_buffer& out, const AlertRecord& a) {
  auto o = std::back_inserter(out);
  time_t sec = time_t(a.ts_ns / 1000000000ull);
  struct tm tm;
  gmtime_r(&sec, &tm);
  fmt::format_to(o, "{:02}/{:02}/{:04}-{:02}:{:02}:{:02}.{:06}  [**] [{}:{}:{}] {} [**] [Classification: {}] "
                    "[Priority: {}] {{",
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (a.ts_ns / 1000) % 1000000, a.gid, a.sid, a.rev, a.msg,
                 a.category[0] ? a.category : "(null)", a.severity);
  char pb[8];
  fmt::format_to(o, "{}}} ", proto_name(a.proto, pb));
  bool v6 = a.ip_ver == 6;
  if (v6) out.push_back('[');
  put_ip(out, a.src, a.ip_ver);
  if (v6) out.push_back(']');
  if (has_ports(a.proto)) fmt::format_to(o, ":{}", a.sport);
  out.append(std::string_view(" -> "));
  if (v6) out.push_back('[');
  put_ip(out, a.dst, a.ip_ver);
  if (v6) out.push_back(']');
  if (has_ports(a.proto)) fmt::format_to(o, ":{}", a.dport);
  out.push_back('\n');
}

}  // namespace spectre
