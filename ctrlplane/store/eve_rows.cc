#include "ctrlplane/store/eve_rows.h"

#include <cstdio>
#include <ctime>
#include <set>

#include <nlohmann/json.hpp>

namespace spectre::store {

using J = nlohmann::json;

std::string join_list(const std::vector<std::string>& v) {
  if (v.empty()) return {};
  std::string s = ",";
  for (auto& x : v) s += x + ",";
  return s;
}

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> v;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) v.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return v;
}

bool ipv4_num(std::string_view s, int64_t& out) {
  uint32_t v = 0;
  int parts = 0;
  size_t i = 0;
  while (parts < 4) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    uint32_t x = 0;
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) x = x * 10 + uint32_t(s[i++] - '0');
    if (x > 255) return false;
    v = v << 8 | x;
    parts++;
    if (parts < 4) {
      if (i >= s.size() || s[i] != '.') return false;
      i++;
    }
  }
  if (i != s.size()) return false;
  out = int64_t(v);
  return true;
}

bool parse_cidr4(std::string_view s, IpRange& out) {
  size_t sl = s.find('/');
  int64_t a = 0;
  int bits = 32;
  if (sl != std::string_view::npos) {
    std::string_view b = s.substr(sl + 1);
    if (b.empty() || b.size() > 2) return false;
    bits = 0;
    for (char c : b) {
      if (c < '0' || c > '9') return false;
      bits = bits * 10 + (c - '0');
    }
    if (bits > 32) return false;
    s = s.substr(0, sl);
  }
  if (!ipv4_num(s, a)) return false;
  uint32_t mask = bits == 0 ? 0 : ~uint32_t(0) << (32 - bits);
  out.lo = uint32_t(a) & mask;
  out.hi = out.lo | ~mask;
  return true;
}

bool parse_time(std::string_view s, int64_t& ms) {
  int Y, M, D, h = 0, m = 0, sec = 0, n = 0;
  std::string str(s);
  if (std::sscanf(str.c_str(), "%4d-%2d-%2d%n", &Y, &M, &D, &n) != 3 || n != 10) return false;
  if (M < 1 || M > 12 || D < 1 || D > 31) return false;
  size_t i = 10;
  int64_t frac_ms = 0, off_s = 0;
  if (i < s.size()) {
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return false;
    if (std::sscanf(str.c_str() + i + 1, "%2d:%2d:%2d%n", &h, &m, &sec, &n) != 3 || n != 8) return false;
    if (h > 23 || m > 59 || sec > 60) return false;
    i += 9;
    if (i < s.size() && s[i] == '.') {
      int digits = 0;
      for (i++; i < s.size() && s[i] >= '0' && s[i] <= '9'; i++, digits++)
        if (digits < 3) frac_ms = frac_ms * 10 + (s[i] - '0');
      if (!digits) return false;
      for (; digits < 3; digits++) frac_ms *= 10;
    }
    if (i < s.size()) {
      if (s[i] == 'Z' || s[i] == 'z') {
        i++;
      } else if (s[i] == '+' || s[i] == '-') {
        int oh = 0, om = 0;
        std::string_view z = s.substr(i + 1);
        if (z.size() == 4 && std::sscanf(std::string(z).c_str(), "%2d%2d", &oh, &om) == 2) i += 5;
        else if (z.size() == 5 && z[2] == ':' && std::sscanf(std::string(z).c_str(), "%2d:%2d", &oh, &om) == 2) i += 6;
        else return false;
        off_s = (s[i - (z.size() + 1)] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
      } else {
        return false;
      }
    }
    if (i != s.size()) return false;
  }
  struct tm t = {};
  t.tm_year = Y - 1900;
  t.tm_mon = M - 1;
  t.tm_mday = D;
  t.tm_hour = h;
  t.tm_min = m;
  t.tm_sec = sec;
  ms = (int64_t(timegm(&t)) - off_s) * 1000 + frac_ms;
  return true;
}

std::string format_time(int64_t ms) {
  time_t s = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  struct tm t;
  gmtime_r(&s, &t);
  char b[64];
  std::snprintf(b, sizeof b, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, int(ms - int64_t(s) * 1000));
  return b;
}

namespace {
std::string sv(const J& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int64_t iv(const J& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}
void strs(const J& o, const char* k, std::vector<std::string>& out) {
  auto it = o.find(k);
  if (it == o.end() || !it->is_array()) return;
  for (auto& e : *it)
    if (e.is_string()) out.push_back(e.get<std::string>());
}
}  // namespace

bool alert_from_eve(std::string_view line, AlertRow& a, std::string& err) {
  J j = J::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) { err = "not JSON"; return false; }
  auto al = j.find("alert");
  if (sv(j, "event_type") != "alert" || al == j.end() || !al->is_object()) { err = "not an EVE alert"; return false; }
  if (!parse_time(sv(j, "timestamp"), a.ts_ms)) { err = "bad timestamp"; return false; }
  a.severity = int(iv(*al, "severity"));
  if (a.severity < 1 || a.severity > 4) a.severity = 3;
  a.gid = uint32_t(iv(*al, "gid"));
  a.sid = uint32_t(iv(*al, "signature_id"));
  a.rev = uint32_t(iv(*al, "rev"));
  a.signature = sv(*al, "signature");
  a.category = sv(*al, "category");
  a.src_ip = sv(j, "src_ip");
  a.dest_ip = sv(j, "dest_ip");
  a.src_port = uint16_t(iv(j, "src_port"));
  a.dest_port = uint16_t(iv(j, "dest_port"));
  a.proto = sv(j, "proto");
  a.app_proto = sv(j, "app_proto");
  a.incident_id = uint64_t(iv(j, "incident_id"));
  auto md = al->find("metadata");
  if (md != al->end() && md->is_object()) {
    strs(*md, "mitre_tactic_id", a.tactics);
    strs(*md, "mitre_technique_id", a.techniques);
  }
  a.eve = j.dump();  // compact, validated
  return true;
}

bool incident_from_eve(std::string_view line, IncidentRow& r, std::string& err) {
  J j = J::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) { err = "not JSON"; return false; }
  auto in = j.find("incident");
  if (sv(j, "event_type") != "incident" || in == j.end() || !in->is_object()) { err = "not an EVE incident"; return false; }
  const J& i = *in;
  r.id = uint64_t(iv(i, "incident_id"));
  if (!r.id) { err = "incident without incident_id"; return false; }
  if (!parse_time(sv(i, "first_seen"), r.first_ms)) parse_time(sv(j, "timestamp"), r.first_ms);
  if (!parse_time(sv(i, "last_seen"), r.last_ms)) r.last_ms = r.first_ms;
  r.event = sv(i, "event");
  r.status = sv(i, "status");
  if (r.status.empty()) r.status = "new";
  if (auto rk = i.find("risk"); rk != i.end() && rk->is_object()) {
    r.level = sv(*rk, "level");
    r.score = rk->value("score", 0.0);
    r.confidence = rk->value("confidence", 0.0);
  }
  if (r.level.empty()) r.level = "info";
  if (auto e = i.find("entities"); e != i.end() && e->is_object()) {
    std::vector<std::string> at, vi;
    strs(*e, "attackers", at);
    strs(*e, "victims", vi);
    if (!at.empty()) r.attacker = at[0];
    if (!vi.empty()) r.victim = vi[0];
  }
  if (auto m = i.find("mitre"); m != i.end() && m->is_object()) {
    for (const char* k : {"tactics", "techniques"}) {
      auto a = m->find(k);
      if (a == m->end() || !a->is_array()) continue;
      for (auto& x : *a)
        if (x.is_object() && x.contains("id") && x["id"].is_string())
          (k[1] == 'a' ? r.tactics : r.techniques).push_back(x["id"].get<std::string>());
    }
  }
  std::set<std::string> sigs;
  if (auto m = i.find("members"); m != i.end() && m->is_array())
    for (auto& x : *m)
      if (x.is_object() && sigs.size() < 32 && !sv(x, "signature").empty()) sigs.insert(sv(x, "signature"));
  r.signatures.assign(sigs.begin(), sigs.end());
  if (auto d = i.find("detections"); d != i.end() && d->is_object()) r.members_total = uint64_t(iv(*d, "total"));
  r.record = j.dump();
  return true;
}

bool flow_from_eve(std::string_view line, FlowRow& f) {
  J j = J::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || sv(j, "event_type") != "flow") return false;
  if (!parse_time(sv(j, "timestamp"), f.ts_ms)) return false;
  f.src_ip = sv(j, "src_ip");
  f.dest_ip = sv(j, "dest_ip");
  f.src_port = uint16_t(iv(j, "src_port"));
  f.dest_port = uint16_t(iv(j, "dest_port"));
  f.proto = sv(j, "proto");
  f.app_proto = sv(j, "app_proto");
  f.flow_id = uint64_t(iv(j, "flow_id"));
  f.start_ms = f.ts_ms;
  if (auto fl = j.find("flow"); fl != j.end() && fl->is_object()) {
    f.bytes = uint64_t(iv(*fl, "bytes_toserver") + iv(*fl, "bytes_toclient"));
    f.pkts = uint64_t(iv(*fl, "pkts_toserver") + iv(*fl, "pkts_toclient"));
    if (int64_t st = 0; parse_time(sv(*fl, "start"), st)) f.start_ms = st;
    if (auto a = fl->find("alerted"); a != fl->end() && a->is_boolean()) f.alerted = a->get<bool>();
  }
  f.eve = j.dump();
  return true;
}

int level_severity(std::string_view l) {
  return l == "critical" || l == "high" ? 1 : l == "medium" ? 2 : l == "low" ? 3 : 4;
}

}  // namespace spectre::store
