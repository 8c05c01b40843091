// Ground-truth labelling of feature rows (see label.h). The rule mirrors
// lab/score.py read_labels/assign; tests/e2e/test_spectre_ml_label.py checks
// both agree on random rows and labels.
#include "ml/label.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "ml/cli_util.h"

namespace spectre::ml {

namespace {

using cli::split;
using cli::split_csv;
using cli::trim;

std::string addr_key(const IpAddr& a) {
  std::string k(1, static_cast<char>(a.family));
  k.append(reinterpret_cast<const char*>(a.b.data()), a.family == 4 ? 4 : 16);
  return k;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Fixed-width decimal field at s[i..i+n).
bool digits_at(const std::string& s, size_t i, size_t n, int& v) {
  if (i + n > s.size()) return false;
  v = 0;
  for (size_t k = i; k < i + n; ++k) {
    if (!std::isdigit(static_cast<unsigned char>(s[k]))) return false;
    v = v * 10 + (s[k] - '0');
  }
  return true;
}

// ISO 8601 "YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|+HH:MM|+HHMM]" (no zone = UTC)
// -> epoch seconds, computed as integer microseconds / 1e6 like Python's
// datetime.timestamp() (so both give the same double).
bool parse_iso(const std::string& s, double& out) {
  int y, mo, d, h = 0, mi = 0, sec = 0;
  int64_t us = 0;
  if (!digits_at(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits_at(s, 5, 2, mo) || s[7] != '-' ||
      !digits_at(s, 8, 2, d))
    return false;
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1]) return false;
  if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return false;
  size_t i = 10;
  if (i < s.size() && (s[i] == 'T' || s[i] == ' ')) {
    if (!digits_at(s, i + 1, 2, h) || i + 3 >= s.size() || s[i + 3] != ':' || !digits_at(s, i + 4, 2, mi))
      return false;
    i += 6;
    if (i < s.size() && s[i] == ':') {
      if (!digits_at(s, i + 1, 2, sec)) return false;
      i += 3;
      if (i < s.size() && s[i] == '.') {
        size_t n = 0;
        ++i;
        for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, ++n)
          if (n < 6) us = us * 10 + (s[i] - '0');
        if (n == 0) return false;
        for (; n < 6; ++n) us *= 10;
      }
    }
    if (h > 23 || mi > 59 || sec > 59) return false;
  }
  int64_t off = 0;
  if (i < s.size()) {
    if (s[i] == 'Z' && i + 1 == s.size()) {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      int oh, om;
      const std::string z = s.substr(i + 1);
      if (z.size() == 5 && z[2] == ':' && digits_at(z, 0, 2, oh) && digits_at(z, 3, 2, om)) {
      } else if (z.size() == 4 && digits_at(z, 0, 2, oh) && digits_at(z, 2, 2, om)) {
      } else {
        return false;
      }
      if (oh > 23 || om > 59) return false;
      off = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
      i = s.size();
    } else {
      return false;
    }
  }
  const int64_t secs = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
                       h * 3600 + mi * 60 + sec - off;
  out = static_cast<double>(secs * 1000000 + us) / 1e6;
  return true;
}

// Python float() syntax (decimal, exponent, inf/nan), else ISO 8601.
bool parse_time(const std::string& s, double& out) {
  if (!s.empty() && s.find_first_of("xX") == std::string::npos) {
    char* end = nullptr;
    out = std::strtod(s.c_str(), &end);
    if (end && *end == '\0' && end != s.c_str()) return true;
  }
  return parse_iso(s, out);
}

}  // namespace

bool parse_label_time(const std::string& s, double& out) { return parse_time(s, out); }

bool parse_ip(const std::string& text, IpAddr& out) {
  out = IpAddr{};
  const std::string t = trim(text);
  if (inet_pton(AF_INET, t.c_str(), out.b.data()) == 1) {
    out.family = 4;
    return true;
  }
  if (inet_pton(AF_INET6, t.c_str(), out.b.data()) == 1) {
    out.family = 6;
    return true;
  }
  out = IpAddr{};
  return false;
}

bool IpNet::contains(const IpAddr& a) const {
  if (a.family == 0 || a.family != addr.family) return false;
  const int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.b.data(), addr.b.data(), static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a.b[full] & mask) == (addr.b[full] & mask);
}

bool parse_net(const std::string& text, IpNet& out) {
  out = IpNet{};
  const std::string t = trim(text);
  const size_t slash = t.find('/');
  if (!parse_ip(t.substr(0, slash), out.addr)) return false;
  const int bits = out.addr.family == 4 ? 32 : 128;
  out.prefix = bits;
  if (slash == std::string::npos) return true;
  const std::string p = t.substr(slash + 1);
  if (!all_digits(p) || p.size() > 3 || std::atoi(p.c_str()) > bits) return false;
  out.is_net = true;
  out.prefix = std::atoi(p.c_str());
  // Host bits cleared (strict=False).
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(out.prefix - i * 8, 0, 8);
    out.addr.b[i] &= static_cast<uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
  }
  return true;
}

std::string norm_proto(const std::string& p) {
  std::string s = trim(p);
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (s == "1") return "ICMP";
  if (s == "6") return "TCP";
  if (s == "17") return "UDP";
  if (s == "58") return "IPV6-ICMP";
  if (s == "132") return "SCTP";
  return s;
}

bool parse_labels(const std::string& text_in, const std::string& name, LabelSet& out, std::string& err) {
  out = LabelSet{};
  std::string text = text_in;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  std::vector<std::string> lines = split(text, '\n');  // trimmed lines
  if (lines.empty() || lines[0].empty()) { err = name + ": empty labels file (no header row)"; return false; }
  const std::vector<std::string> header = split_csv(lines[0]);
  static const char* kCols[] = {"episode_id", "class",       "mitre_technique", "attacker_ip", "victim_ip",
                                "proto",      "victim_port", "start_ts",        "end_ts"};
  int col[9];
  std::string missing;
  for (int k = 0; k < 9; ++k) {
    col[k] = -1;
    for (size_t c = 0; c < header.size(); ++c)
      if (header[c] == kCols[k]) col[k] = static_cast<int>(c);  // last one wins, as DictReader
    if (col[k] < 0) missing += (missing.empty() ? "" : ", ") + std::string(kCols[k]);
  }
  if (!missing.empty()) {
    err = name + ": labels header lacks column(s) " + missing +
          " (need episode_id,class,mitre_technique,attacker_ip,victim_ip,proto,victim_port,start_ts,end_ts)";
    return false;
  }
  std::unordered_map<std::string, size_t> ep_index;
  for (size_t ln = 1; ln < lines.size(); ++ln) {
    if (lines[ln].empty()) continue;
    const std::string where = name + ":" + std::to_string(ln + 1);
    bool quotes_ok = true;
    std::vector<std::string> cells = split_csv(lines[ln], &quotes_ok);
    if (!quotes_ok) { err = where + ": unbalanced quotes"; return false; }
    if (cells.size() > header.size()) { err = where + ": more fields than header columns"; return false; }
    cells.resize(header.size());
    if (std::all_of(cells.begin(), cells.end(), [](const std::string& c) { return c.empty(); })) continue;
    auto get = [&](int k) -> const std::string& { return cells[static_cast<size_t>(col[k])]; };
    const std::string eid = get(0), cls = get(1);
    if (eid.empty() || cls.empty()) { err = where + ": episode_id and class must not be empty"; return false; }
    if (cls == "benign" || cls == "all attacks") { err = where + ": class name '" + cls + "' is reserved"; return false; }
    if ((eid + cls).find_first_of(",\"") != std::string::npos) {
      err = where + ": episode_id and class must not hold ',' or '\"'";
      return false;
    }
    LabelRule r;
    if (get(3).empty()) { err = where + ": attacker_ip must not be empty"; return false; }
    if (!parse_net(get(3), r.attacker)) { err = where + ": attacker_ip '" + get(3) + "' is not an address or CIDR"; return false; }
    if (!get(4).empty()) {
      r.has_victim = true;
      if (!parse_net(get(4), r.victim)) { err = where + ": victim_ip '" + get(4) + "' is not an address or CIDR"; return false; }
    }
    r.proto = get(5).empty() ? std::string() : norm_proto(get(5));
    if (!get(6).empty()) {
      char* end = nullptr;
      const double p = std::strtod(get(6).c_str(), &end);
      if (!end || *end != '\0' || !std::isfinite(p) || get(6).find_first_of("xX") != std::string::npos) {
        err = where + ": victim_port '" + get(6) + "' is not a number";
        return false;
      }
      r.has_port = true;
      r.port = static_cast<int64_t>(std::trunc(p));
    }
    if (!parse_time(get(7), r.start)) { err = where + ": start_ts '" + get(7) + "' is not epoch seconds or a timestamp"; return false; }
    if (!parse_time(get(8), r.end)) { err = where + ": end_ts '" + get(8) + "' is not epoch seconds or a timestamp"; return false; }
    if (r.end < r.start) { err = where + ": end_ts is before start_ts"; return false; }
    r.specificity = int(r.has_victim) + int(!r.proto.empty()) + int(r.has_port);
    auto it = ep_index.find(eid);
    if (it == ep_index.end()) {
      it = ep_index.emplace(eid, out.episodes.size()).first;
      out.episodes.push_back({eid, cls, get(2), r.start, r.end});
    } else if (out.episodes[it->second].cls != cls) {
      err = where + ": episode " + eid + " has class '" + cls + "' here but '" + out.episodes[it->second].cls +
            "' on an earlier row";
      return false;
    }
    Episode& ep = out.episodes[it->second];
    ep.start = std::min(ep.start, r.start);
    ep.end = std::max(ep.end, r.end);
    r.episode = it->second;
    const size_t ri = out.rules.size();
    if (r.attacker.is_net) out.net_rules.push_back(ri);
    else out.by_attacker[addr_key(r.attacker.addr)].push_back(ri);
    out.rules.push_back(std::move(r));
  }
  out.order.resize(out.episodes.size());
  for (size_t i = 0; i < out.order.size(); ++i) out.order[i] = i;
  std::sort(out.order.begin(), out.order.end(), [&](size_t a, size_t b) {
    const Episode &x = out.episodes[a], &y = out.episodes[b];
    return x.start != y.start ? x.start < y.start : x.id < y.id;
  });
  out.rank.resize(out.episodes.size());
  for (size_t i = 0; i < out.order.size(); ++i) out.rank[out.order[i]] = i;
  return true;
}

bool read_labels_file(const std::string& path, LabelSet& out, std::string& err) {
  std::string text;
  if (!cli::read_file(path, text)) { err = "cannot read labels file " + path; return false; }
  return parse_labels(text, path, out, err);
}

namespace {

bool endpoints_match(const LabelRule& r, const IpAddr& att, const IpAddr& vic) {
  if (!r.attacker.contains(att)) return false;  // prefix 32/128 for a single address
  return !r.has_victim || r.victim.contains(vic);
}

bool is_icmp(const std::string& p) { return p == "ICMP" || p == "IPV6-ICMP" || p == "ICMPV6"; }

}  // namespace

std::vector<size_t> match_episodes(const LabelSet& ls, const FlowView& f, double slack) {
  int best = -1;
  std::vector<size_t> found;  // episode indices at the best specificity
  const bool icmp = is_icmp(f.proto);
  auto consider = [&](size_t ri) {
    const LabelRule& r = ls.rules[ri];
    if (!(f.start <= r.end + slack && f.end >= r.start - slack)) return;
    if (!r.proto.empty() && f.proto != r.proto && !icmp) return;
    const struct { const IpAddr *att, *vic; int64_t vport; } dirs[2] = {{&f.src, &f.dst, f.dport},
                                                                         {&f.dst, &f.src, f.sport}};
    for (const auto& d : dirs) {
      if (!endpoints_match(r, *d.att, *d.vic)) continue;
      if (r.has_port && !icmp && !((d.vport >= 0 && d.vport == r.port) || (f.dport >= 0 && f.dport == r.port)))
        continue;
      if (r.specificity > best) {
        best = r.specificity;
        found.assign(1, r.episode);
      } else if (r.specificity == best) {
        found.push_back(r.episode);
      }
      break;
    }
  };
  for (const IpAddr* a : {&f.src, &f.dst}) {
    if (a->family == 0) continue;
    auto it = ls.by_attacker.find(addr_key(*a));
    if (it != ls.by_attacker.end())
      for (size_t ri : it->second) consider(ri);
  }
  for (size_t ri : ls.net_rules) consider(ri);
  std::sort(found.begin(), found.end(), [&](size_t a, size_t b) { return ls.rank[a] < ls.rank[b]; });
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

bool label_rows(const std::string& rows_text, const std::string& name, const LabelSet& ls, double slack,
                std::string& out, LabelSummary& summary, std::string& err) {
  summary = LabelSummary{};
  summary.rows_per_episode.assign(ls.episodes.size(), 0);
  out.clear();
  size_t pos = 0, lineno = 0;
  auto next_line = [&](std::string& line) {
    if (pos >= rows_text.size()) return false;
    size_t nl = rows_text.find('\n', pos);
    if (nl == std::string::npos) nl = rows_text.size();
    line.assign(rows_text, pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = nl + 1;
    ++lineno;
    return true;
  };
  std::string line;
  if (!next_line(line) || trim(line).empty()) { err = name + ": empty CSV (no header row)"; return false; }
  const std::vector<std::string> header = split(line, ',');
  for (const char* c : {"label", "episode_id"})
    if (cli::find_column(header, c) >= 0) {
      err = name + ": already has a '" + c + "' column (label the rows spectre-dp wrote)";
      return false;
    }
  enum { kTsStart, kTs, kSrc, kSport, kDst, kDport, kProto, kN };
  static const char* kNames[kN] = {"ts_start", "ts", "src_ip", "src_port", "dst_ip", "dst_port", "proto"};
  int col[kN];
  for (int k = 0; k < kN; ++k)
    if ((col[k] = cli::find_column(header, kNames[k])) < 0) {
      err = name + ": header has no '" + kNames[k] + "' column (need the --dump-features metadata columns)";
      return false;
    }
  out.reserve(rows_text.size() + rows_text.size() / 8);
  out += line;
  out += ",label,episode_id\n";
  FlowView f;
  while (next_line(line)) {
    if (trim(line).empty()) continue;
    const std::vector<std::string> cells = split(line, ',');
    const std::string where = name + ":" + std::to_string(lineno);
    if (cells.size() != header.size()) {
      err = where + ": " + std::to_string(cells.size()) + " cells, header has " + std::to_string(header.size());
      return false;
    }
    auto time = [&](int k, double& v) {
      if (cli::parse_number(cells[col[k]], v) && std::isfinite(v)) return true;
      err = where + ": " + kNames[k] + " '" + cells[col[k]] + "' is not a time";
      return false;
    };
    auto port = [&](int k, int64_t& v) {
      const std::string& s = cells[col[k]];
      v = -1;
      if (s.empty()) return true;
      char* end = nullptr;
      const long long p = std::strtoll(s.c_str(), &end, 10);
      if (!end || *end != '\0' || p < 0 || p > 65535) {
        err = where + ": " + kNames[k] + " '" + s + "' is not a port";
        return false;
      }
      v = p;
      return true;
    };
    if (!time(kTsStart, f.start) || !time(kTs, f.end) || !port(kSport, f.sport) || !port(kDport, f.dport))
      return false;
    parse_ip(cells[col[kSrc]], f.src);
    parse_ip(cells[col[kDst]], f.dst);
    f.proto = norm_proto(cells[col[kProto]]);
    const std::vector<size_t> eps = match_episodes(ls, f, slack);
    out += line;
    if (eps.empty()) {
      out += ",benign,\n";
      ++summary.rows_per_label["benign"];
    } else {
      const Episode& ep = ls.episodes[eps[0]];
      out += ',';
      out += ep.cls;
      out += ',';
      out += ep.id;
      out += '\n';
      ++summary.rows_per_label[ep.cls];
      ++summary.rows_per_episode[eps[0]];
    }
    ++summary.rows;
  }
  return true;
}

}  // namespace spectre::ml
