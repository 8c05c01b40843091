#include "ctrlplane/api/params.h"

#include <arpa/inet.h>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <strings.h>
#include <set>

#include "ctrlplane/cortex/incident.h"
#include "ctrlplane/store/eve_rows.h"

namespace spectre::api {

static const char* const kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string b64url_encode(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = acc << 8 | c;
    bits += 8;
    while (bits >= 6) out += kB64[(acc >> (bits - 6)) & 63], bits -= 6;
  }
  if (bits) out += kB64[(acc << (6 - bits)) & 63];
  return out;
}

bool b64url_decode(std::string_view in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = c ? std::strchr(kB64, c) : nullptr;
    if (!p) return false;
    acc = acc << 6 | uint32_t(p - kB64);
    bits += 6;
    if (bits >= 8) out += char((acc >> (bits - 8)) & 255), bits -= 8;
  }
  return in.size() % 4 != 1;
}

std::string encode_cursor(char kind, uint64_t id, int64_t ts) {
  std::string s = std::string(1, kind) + "1:";
  if (kind == 'a' || kind == 'f') s += std::to_string(ts) + ":";
  return b64url_encode(s + std::to_string(id));
}

bool decode_cursor(std::string_view c, char kind, uint64_t& id, int64_t* ts) {
  std::string s;
  if (c.size() > 80 || !b64url_decode(c, s) || s.size() < 4 || s[0] != kind || s.compare(1, 2, "1:") != 0) return false;
  std::string_view rest = std::string_view(s).substr(3);
  if (kind == 'a' || kind == 'f') {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return false;
    std::string_view t = rest.substr(0, colon);
    bool neg = !t.empty() && t[0] == '-';
    uint64_t v = 0;
    if (!parse_u64(neg ? t.substr(1) : t, v) || v > uint64_t(INT64_MAX)) return false;
    if (ts) *ts = neg ? -int64_t(v) : int64_t(v);
    rest = rest.substr(colon + 1);
  }
  return parse_u64(rest, id) && id > 0;
}

bool parse_u64(std::string_view s, uint64_t& v) {
  // Digits only (no sign, no space), at most 20; out of range: false. v untouched on false.
  uint64_t x = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
  if (s.empty() || s.size() > 20 || ec != std::errc() || p != s.data() + s.size()) return false;
  v = x;
  return true;
}

bool parse_severity(std::string_view s, int& out) {
  if (s.size() == 1 && s[0] >= '1' && s[0] <= '4') { out = s[0] - '0'; return true; }
  if (!valid_level(s)) return false;
  out = store::level_severity(s);  // critical and high 1 .. info 4
  return true;
}

bool valid_ip(std::string_view s) {
  std::string t(s);
  unsigned char buf[16];
  return inet_pton(AF_INET, t.c_str(), buf) == 1 || inet_pton(AF_INET6, t.c_str(), buf) == 1;
}

bool valid_status(std::string_view s) {
  return s == "new" || s == "investigating" || s == "resolved" || s == "false_positive";
}

int level_rank(std::string_view level) {
  for (int i = 0; i <= int(cortex::RiskLevel::kCritical); i++)
    if (level == cortex::risk_level_name(cortex::RiskLevel(i))) return i;
  return -1;
}

namespace {

bool limit_of(const Request& r, size_t& limit, std::string& err) {
  auto it = r.query.find("limit");
  if (it == r.query.end()) return true;
  uint64_t v = 0;
  if (!parse_u64(it->second, v) || v < 1 || v > 1000) { err = "limit: expected 1..1000"; return false; }
  limit = size_t(v);
  return true;
}

bool known(const Request& r, const std::set<std::string>& names, std::initializer_list<const char*> extra, std::string& err) {
  for (auto& [k, v] : r.query) {
    if (names.count(k)) continue;
    bool ok = false;
    for (const char* e : extra) ok |= k == e;
    if (!ok) { err = "unknown parameter '" + k + "'"; return false; }
  }
  return true;
}

bool time_param(const Request& r, const char* name, int64_t& out, std::string& err) {
  auto it = r.query.find(name);
  if (it == r.query.end()) return true;
  if (!store::parse_time(it->second, out)) { err = std::string(name) + ": expected an RFC 3339 time"; return false; }
  return true;
}

// What every list query starts with: only known names, limit, from and to.
bool list_head(const Request& r, const std::set<std::string>& names, std::initializer_list<const char*> extra,
               size_t& limit, int64_t& from_ms, int64_t& to_ms, std::string& err) {
  return known(r, names, extra, err) && limit_of(r, limit, err) && time_param(r, "from", from_ms, err) &&
         time_param(r, "to", to_ms, err);
}

std::string qget(const Request& r, const char* k) {
  auto it = r.query.find(k);
  return it == r.query.end() ? std::string() : it->second;
}

bool ip_param(const Request& r, std::string& ip, std::string& err) {
  ip = qget(r, "ip");
  if (!ip.empty() && !valid_ip(ip)) { err = "ip: expected an IPv4 or IPv6 address"; return false; }
  return true;
}

bool cidr_param(const Request& r, std::optional<store::IpRange>& cidr, std::string& err) {
  auto s = qget(r, "cidr");
  if (s.empty()) return true;
  store::IpRange rg;
  if (!store::parse_cidr4(s, rg)) { err = "cidr: expected an IPv4 CIDR such as 10.0.0.0/8"; return false; }
  cidr = rg;
  return true;
}

bool status_param(const Request& r, std::string& status, std::string& err) {
  status = qget(r, "status");
  if (status.empty() || valid_status(status)) return true;
  err = "status: expected new, investigating, resolved or false_positive";
  return false;
}

}  // namespace

bool alert_query(const Request& r, store::AlertQuery& q, std::string& err, std::initializer_list<const char*> extra) {
  static const std::set<std::string> names = {"from", "to", "severity", "signature", "sid", "ip", "cidr", "category",
                                              "status", "tactic", "technique", "q", "limit", "cursor", "token"};
  if (!list_head(r, names, extra, q.limit, q.from_ms, q.to_ms, err)) return false;
  auto get = [&](const char* k) { return qget(r, k); };
  if (auto s = get("severity"); !s.empty() && !parse_severity(s, q.max_severity)) {
    err = "severity: expected 1..4 or high, medium, low, info";
    return false;
  }
  if (auto s = get("sid"); !s.empty()) {
    uint64_t v = 0;
    if (!parse_u64(s, v) || v > 0xffffffffu || v == 0) { err = "sid: expected a positive number"; return false; }
    q.sid = uint32_t(v);
  }
  if (!ip_param(r, q.ip, err)) return false;
  if (!cidr_param(r, q.cidr, err)) return false;
  if (!status_param(r, q.status, err)) return false;
  q.signature = get("signature");
  q.category = get("category");
  q.tactic = get("tactic");
  q.technique = get("technique");
  q.q = get("q");
  if (auto c = get("cursor"); !c.empty() && !decode_cursor(c, 'a', q.before_id, &q.before_ts)) { err = "cursor: not a cursor of this list"; return false; }
  if (q.from_ms > q.to_ms) { err = "from is after to"; return false; }
  return true;
}

bool incident_query(const Request& r, store::IncidentQuery& q, std::string& err) {
  static const std::set<std::string> names = {"from", "to", "level", "status", "tactic", "technique", "ip", "q",
                                              "limit", "cursor", "token"};
  if (!list_head(r, names, {}, q.limit, q.from_ms, q.to_ms, err)) return false;
  auto get = [&](const char* k) { return qget(r, k); };
  q.level = get("level");
  if (!q.level.empty() && !valid_level(q.level)) { err = "level: expected info, low, medium, high or critical"; return false; }
  if (!status_param(r, q.status, err)) return false;
  if (!ip_param(r, q.ip, err)) return false;
  q.tactic = get("tactic");
  q.technique = get("technique");
  q.q = get("q");
  if (auto c = get("cursor"); !c.empty() && !decode_cursor(c, 'i', q.before_id)) { err = "cursor: not a cursor of this list"; return false; }
  if (q.from_ms > q.to_ms) { err = "from is after to"; return false; }
  return true;
}

bool flow_query(const Request& r, store::FlowQuery& q, std::string& err) {
  static const std::set<std::string> names = {"from", "to", "ip", "cidr", "port", "proto", "app_proto", "min_bytes",
                                              "limit", "cursor", "token"};
  if (!list_head(r, names, {}, q.limit, q.from_ms, q.to_ms, err)) return false;
  auto get = [&](const char* k) { return qget(r, k); };
  if (!ip_param(r, q.ip, err)) return false;
  if (!cidr_param(r, q.cidr, err)) return false;
  if (auto s = get("port"); !s.empty()) {
    uint64_t v = 0;
    if (!parse_u64(s, v) || v > 65535) { err = "port: expected 0..65535"; return false; }
    q.port = int(v);
  }
  if (auto s = get("min_bytes"); !s.empty() && (!parse_u64(s, q.min_bytes) || q.min_bytes > uint64_t(INT64_MAX))) {
    err = "min_bytes: expected a number";
    return false;
  }
  // EVE's names (TCP, UDP, ICMP, IPv6-ICMP, SCTP or the number); tcp/udp/icmp/sctp taken in lower case too.
  q.proto = get("proto");
  for (const char* p : {"TCP", "UDP", "ICMP", "SCTP"})
    if (strcasecmp(q.proto.c_str(), p) == 0) q.proto = p;
  auto word = [](const std::string& s, size_t max) {
    if (s.size() > max) return false;
    for (char c : s)
      if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
    return true;
  };
  if (!word(q.proto, 16)) { err = "proto: expected a protocol name such as TCP"; return false; }
  q.app_proto = get("app_proto");
  if (!word(q.app_proto, 32)) { err = "app_proto: expected an application protocol name such as http"; return false; }
  if (auto c = get("cursor"); !c.empty() && !decode_cursor(c, 'f', q.before_id, &q.before_ts)) {
    err = "cursor: not a cursor of this list";
    return false;
  }
  if (q.from_ms > q.to_ms) { err = "from is after to"; return false; }
  return true;
}

bool time_range(const Request& r, int64_t now_ms, int64_t span, int64_t& from, int64_t& to, std::string& err) {
  to = now_ms;
  if (!time_param(r, "to", to, err)) return false;
  from = to - span;
  if (!time_param(r, "from", from, err)) return false;
  if (from > to) { err = "from is after to"; return false; }
  return true;
}

}  // namespace spectre::api
