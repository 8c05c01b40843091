#include "ctrlplane/cortex/eve_input.h"

#include <ctime>

#include <nlohmann/json.hpp>

#include "ctrlplane/cortex/attack.h"

namespace spectre::cortex {

bool parse_eve_time(std::string_view s, uint64_t& ns) {
  // YYYY-MM-DDThh:mm:ss[.ffffff](+hhmm|Z)
  auto num = [&](size_t at, size_t n, int& v) {
    if (at + n > s.size()) return false;
    v = 0;
    for (size_t i = at; i < at + n; i++) {
      if (s[i] < '0' || s[i] > '9') return false;
      v = v * 10 + (s[i] - '0');
    }
    return true;
  };
  struct tm tm = {};
  int y, mo, d, h, mi, se;
  if (s.size() < 19 || !num(0, 4, y) || s[4] != '-' || !num(5, 2, mo) || s[7] != '-' || !num(8, 2, d) ||
      (s[10] != 'T' && s[10] != ' ') || !num(11, 2, h) || s[13] != ':' || !num(14, 2, mi) || s[16] != ':' ||
      !num(17, 2, se))
    return false;
  size_t i = 19;
  uint64_t frac = 0, scale = 1000000000ull;
  if (i < s.size() && s[i] == '.')
    for (i++; i < s.size() && s[i] >= '0' && s[i] <= '9'; i++)
      if (scale > 1) scale /= 10, frac += uint64_t(s[i] - '0') * scale;
  int64_t off = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (!num(i + 1, 2, oh) || !num(s.size() >= i + 6 && s[i + 3] == ':' ? i + 4 : i + 3, 2, om)) return false;
    off = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  int64_t t = int64_t(timegm(&tm)) - off;
  if (t < 0) return false;
  ns = uint64_t(t) * 1000000000ull + frac;
  return true;
}

namespace {

using J = nlohmann::json;

std::string str_at(const J& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}
uint64_t num_at(const J& o, const char* k, uint64_t def = 0) {
  auto it = o.find(k);
  return it != o.end() && it->is_number_unsigned() ? it->get<uint64_t>()
         : it != o.end() && it->is_number_integer() && it->get<int64_t>() >= 0 ? uint64_t(it->get<int64_t>()) : def;
}
double dbl_at(const J& o, const char* k, double def = 0) {
  auto it = o.find(k);
  return it != o.end() && it->is_number() ? it->get<double>() : def;
}
uint8_t proto_num(const std::string& p) {
  return p == "TCP" ? 6 : p == "UDP" ? 17 : p == "ICMP" ? 1 : p == "IPv6-ICMP" || p == "ICMPv6" ? 58 : p == "SCTP" ? 132 : 0;
}

bool head(const J& j, EveDetection& o, std::string& err) {
  Detection& d = o.d;
  if (!parse_eve_time(str_at(j, "timestamp"), d.ts_ns)) return err = "no valid timestamp", false;
  uint8_t v1 = 4, v2 = 4;
  if (!parse_addr(str_at(j, "src_ip"), d.src, v1) || !parse_addr(str_at(j, "dest_ip"), d.dst, v2))
    return err = "bad src_ip or dest_ip", false;
  d.ip_ver = v1;
  d.sport = uint16_t(num_at(j, "src_port"));
  d.dport = uint16_t(num_at(j, "dest_port"));
  d.proto = proto_num(str_at(j, "proto"));
  d.flow_id = num_at(j, "flow_id");
  return true;
}

uint8_t hex_byte(const std::string& s) { return s.empty() ? 0 : uint8_t(strtoul(s.c_str(), nullptr, 16)); }

}  // namespace

EveParse detection_from_eve(std::string_view line, EveDetection& o, std::string& err) {
  J j = J::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return err = "not a JSON object", EveParse::kBad;
  std::string type = str_at(j, "event_type");
  if (type != "alert" && type != "flow") return EveParse::kSkip;
  o.d = Detection{};
  Detection& d = o.d;
  if (!head(j, o, err)) return EveParse::kBad;
  if (type == "flow") {
    const J& f = j.contains("flow") && j["flow"].is_object() ? j["flow"] : J::object();
    uint64_t start = 0, end = d.ts_ns;
    parse_eve_time(str_at(f, "start"), start);
    parse_eve_time(str_at(f, "end"), end);
    d.kind = Kind::kFlow;
    d.ts_ns = end;
    d.duration_ns = end > start && start ? end - start : 0;
    d.bytes_out = num_at(f, "bytes_toserver");
    d.bytes_in = num_at(f, "bytes_toclient");
    if (d.proto == 6 && j.contains("tcp") && j["tcp"].is_object()) {  // the server answered the SYN
      d.established = (hex_byte(str_at(j["tcp"], "tcp_flags_tc")) & 0x12) == 0x12;
    } else {
      d.established = num_at(f, "pkts_toserver") && num_at(f, "pkts_toclient");
    }
    return EveParse::kFlow;
  }
  const J& a = j.contains("alert") && j["alert"].is_object() ? j["alert"] : J::object();
  d.gid = uint32_t(num_at(a, "gid", 1));
  d.sid = uint32_t(num_at(a, "signature_id"));
  d.severity = uint8_t(std::min<uint64_t>(255, num_at(a, "severity", 3)));
  o.msg = str_at(a, "signature");
  o.category = str_at(a, "category");
  d.msg = o.msg;
  d.category = o.category;
  o.technique.clear();
  o.tactic.clear();
  if (a.contains("metadata")) mitre_from_metadata(a["metadata"].dump(), o.technique, o.tactic);
  d.technique_id = o.technique;
  d.tactic_id = o.tactic;
  d.kind = Kind::kSignature;
  d.confidence = signature_confidence(d.severity);  // detection.h: as the data plane's hook
  if (j.contains("behaviour") && j["behaviour"].is_object()) {
    const J& b = j["behaviour"];
    if (str_at(b, "stage") == "end") return EveParse::kSkip;  // summarises its start and grow alerts
    d.kind = Kind::kBehaviour;
    o.detector = str_at(b, "detector");
    d.detector = o.detector;
    d.confidence = kBehaviourConfidence;
  } else if (j.contains("ml") && j["ml"].is_object()) {
    d.kind = Kind::kMl;
    o.ml_class = str_at(j["ml"], "class");
    d.ml_class = o.ml_class;
    d.confidence = ml_confidence(dbl_at(j["ml"], "score", 0.5), o.ml_class == "anomaly");
  } else if (j.contains("intel") && j["intel"].is_object()) {
    const J& t = j["intel"];
    d.kind = Kind::kIntel;
    d.confidence = intel_confidence(dbl_at(t, "confidence", 0));
    d.attacker_side = intel_side(str_at(t, "match"));
    o.evidence = str_at(t, "indicator");
    o.feed = str_at(t, "feed");
    o.threat = str_at(t, "threat");
    d.evidence = o.evidence;
    d.feed = o.feed;
    d.threat = o.threat;
  }
  auto sub = [&](const char* obj, const char* key, std::string& dst, std::string_view& view) {
    dst.clear();
    if (j.contains(obj) && j[obj].is_object()) dst = str_at(j[obj], key);
    view = dst;
  };
  sub("dns", "rrname", o.dns, d.dns);
  sub("tls", "sni", o.sni, d.sni);
  sub("http", "hostname", o.http_host, d.http_host);
  o.ja3.clear();
  if (j.contains("tls") && j["tls"].is_object() && j["tls"].contains("ja3") && j["tls"]["ja3"].is_object())
    o.ja3 = str_at(j["tls"]["ja3"], "hash");
  d.ja3 = o.ja3;
  return EveParse::kDetection;
}

}  // namespace spectre::cortex
