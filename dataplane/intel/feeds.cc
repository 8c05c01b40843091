// Feed reading shared by every format, abuse.ch-style CSV lists and plain
// lists. Main thread or a reload helper only.
#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "dataplane/intel/feeds_internal.h"

namespace spectre::intel {

const char* format_name(Format f) {
  switch (f) {
    case Format::kAuto: return "auto";
    case Format::kMisp: return "misp";
    case Format::kStix: return "stix";
    case Format::kFeodo: return "feodo";
    case Format::kSslblJa3: return "sslbl-ja3";
    case Format::kSslblCert: return "sslbl-cert";
    case Format::kUrlhaus: return "urlhaus";
    case Format::kPlain: return "plain";
  }
  return "?";
}

bool parse_format(std::string_view s, Format& out) {
  for (int i = 0; i <= int(Format::kPlain); i++)
    if (s == format_name(Format(i))) {
      out = Format(i);
      return true;
    }
  return false;
}

bool parse_cidr(std::string_view s, uint8_t addr[16], uint8_t& prefix, uint8_t& ip_ver) {
  std::string a(s);
  int len = -1;
  if (size_t sl = a.find('/'); sl != std::string::npos) {
    std::string l = a.substr(sl + 1);
    if (l.empty() || l.size() > 3 || !std::all_of(l.begin(), l.end(), ::isdigit)) return false;
    len = std::stoi(l);
    a.resize(sl);
  }
  std::memset(addr, 0, 16);
  if (inet_pton(AF_INET, a.c_str(), addr) == 1) ip_ver = 4;
  else if (inet_pton(AF_INET6, a.c_str(), addr) == 1) ip_ver = 6;
  else return false;
  int maxl = ip_ver == 4 ? 32 : 128;
  if (len < 0) len = maxl;
  if (len > maxl) return false;
  prefix = uint8_t(len);
  for (int i = 0; i < 16; i++) {
    int bits = len - i * 8;
    if (bits < 8) addr[i] &= bits <= 0 ? 0 : uint8_t(0xff << (8 - bits));
  }
  return true;
}

bool parse_time(std::string_view s, uint64_t& ns) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '"')) s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '"')) s.remove_prefix(1);
  if (s.empty()) return false;
  if (std::all_of(s.begin(), s.end(), ::isdigit)) {  // epoch seconds (MISP timestamps)
    if (s.size() > 12) return false;
    ns = std::stoull(std::string(s)) * 1000000000ull;
    return true;
  }
  struct tm tm = {};
  std::string t(s);
  const char* p = strptime(t.c_str(), "%Y-%m-%d", &tm);
  if (!p) return false;
  if (*p == 'T' || *p == ' ') {
    const char* q = strptime(p + 1, "%H:%M:%S", &tm);
    if (!q) return false;
    p = q;
  }
  uint64_t frac = 0;
  if (*p == '.') {  // fractional seconds
    uint64_t scale = 100000000;
    for (p++; std::isdigit(static_cast<unsigned char>(*p)); p++) {
      frac += uint64_t(*p - '0') * scale;
      scale /= 10;
    }
  }
  if (*p == 'Z') p++;
  else if (*p == '+' && std::strcmp(p, "+00:00") == 0) p += 6;
  if (*p) return false;
  time_t sec = timegm(&tm);
  if (sec < 0) return false;
  ns = uint64_t(sec) * 1000000000ull + frac;
  return true;
}

bool set_value(Indicator& i, Type t, std::string_view v, std::string& why) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
  i.type = t;
  i.value = std::string(v);
  char buf[256];
  size_t n = 0;
  switch (t) {
    case Type::kIp:
      if (parse_cidr(v, i.addr, i.prefix, i.ip_ver)) return true;
      why = fmt::format("bad IP address or CIDR '{}'", v);
      return false;
    case Type::kDomain:
      if (norm_domain(v, buf, sizeof buf, n) && std::memchr(buf, ':', n) == nullptr) {
        i.key.assign(buf, n);
        return true;
      }
      why = fmt::format("bad domain name '{}'", v);
      return false;
    case Type::kUrl:
      if (norm_url(v, i.key)) return true;
      why = fmt::format("bad URL '{}'", v);
      return false;
    case Type::kJa3:
    case Type::kCertSha1: {
      size_t d = t == Type::kJa3 ? 32 : 40;
      if (norm_hex(v, d, buf)) {
        i.key.assign(buf, d);
        return true;
      }
      why = fmt::format("bad {} '{}' (expected {} hex digits)", t == Type::kJa3 ? "JA3 MD5" : "SHA-1", v, d);
      return false;
    }
    default: break;
  }
  why = "unsupported type";
  return false;
}

void finish(Indicator& i, const FeedSpec& spec, int default_conf) {
  i.feed = spec.name;
  if (spec.confidence >= 0) i.confidence = uint8_t(spec.confidence);
  else if (default_conf >= 0) i.confidence = uint8_t(default_conf);
  if (!spec.threat.empty()) i.threat = spec.threat;
  if (i.kind == Kind::kUnknown) {
    i.kind = kind_from_text(i.threat);
    for (const auto& t : i.tags)
      if (i.kind == Kind::kUnknown) i.kind = kind_from_text(t);
  }
  uint64_t seen = i.last_seen ? i.last_seen : i.first_seen;
  if (spec.ttl_s && seen) i.expires = seen + uint64_t(spec.ttl_s) * 1000000000ull;
  if (i.valid_until && (!i.expires || i.valid_until < i.expires)) i.expires = i.valid_until;
}

void count_skip(FeedSummary& sum, const std::string& reason) {
  sum.skipped++;
  for (auto& [r, n] : sum.skip_reasons)
    if (r == reason) {
      n++;
      return;
    }
  sum.skip_reasons.emplace_back(reason, 1);
}

bool read_text(const std::string& path, std::string& out, std::string& err) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    err = fmt::format("{}: cannot open feed file: {}", path, std::strerror(errno));
    return false;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

namespace {

// One CSV record (RFC 4180 quoting, as abuse.ch writes it).
bool split_csv(std::string_view line, std::vector<std::string>& cells) {
  cells.clear();
  std::string cur;
  bool q = false, was_q = false;
  for (size_t i = 0; i < line.size(); i++) {
    char c = line[i];
    if (q) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') { cur += '"'; i++; }
      else if (c == '"') q = false;
      else cur += c;
    } else if (c == '"' && cur.empty() && !was_q) {
      q = was_q = true;
    } else if (c == ',') {
      cells.push_back(std::move(cur));
      cur.clear();
      was_q = false;
    } else if (c != '\r') {
      cur += c;
    }
  }
  if (q) return false;
  cells.push_back(std::move(cur));
  for (auto& s : cells) {
    while (!s.empty() && s.back() == ' ') s.pop_back();
    size_t b = s.find_first_not_of(' ');
    s.erase(0, b == std::string::npos ? s.size() : b);
  }
  return true;
}

std::string lower_no_quotes(std::string_view s) {
  std::string o;
  for (char c : s)
    if (c != '"' && c != '#' && c != ' ') o += char(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

// The abuse.ch list a header names (comment or first line), or kAuto.
Format csv_kind(std::string_view header) {
  std::string h = lower_no_quotes(header);
  if (h.find("dst_ip") != std::string::npos && h.find("c2_status") != std::string::npos) return Format::kFeodo;
  if (h.find("ja3_md5") != std::string::npos) return Format::kSslblJa3;
  if (h.find("listingdate") != std::string::npos && h.find("sha1") != std::string::npos) return Format::kSslblCert;
  if (h.find("urlhaus_link") != std::string::npos || h.find("url_status") != std::string::npos) return Format::kUrlhaus;
  return Format::kAuto;
}

struct CsvLayout {
  size_t cols;
  int default_conf;
};

CsvLayout layout(Format f) {
  switch (f) {
    case Format::kFeodo: return {6, 90};
    case Format::kSslblJa3: return {4, 75};
    case Format::kSslblCert: return {3, 80};
    case Format::kUrlhaus: return {9, 75};
    default: return {0, 50};
  }
}

// One data record of an abuse.ch list into `i`; false with `why`.
bool csv_record(Format f, const std::vector<std::string>& c, Indicator& i, std::string& why) {
  auto when = [&](const std::string& s, uint64_t& out, const char* what) {
    if (s.empty() || s == "None" || s == "null") return true;
    if (parse_time(s, out)) return true;
    why = fmt::format("bad {} time '{}'", what, s);
    return false;
  };
  switch (f) {
    case Format::kFeodo:  // first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware
      if (!set_value(i, Type::kIp, c[1], why) || !when(c[0], i.first_seen, "first_seen_utc") ||
          !when(c[4], i.last_seen, "last_online"))
        return false;
      i.threat = c[5];
      i.kind = Kind::kC2;  // Feodo Tracker lists botnet C2 servers
      i.tags = {c[5], "c2_status:" + c[3], "port:" + c[2]};
      return true;
    case Format::kSslblJa3:  // ja3_md5,Firstseen,Lastseen,Listingreason
      if (!set_value(i, Type::kJa3, c[0], why) || !when(c[1], i.first_seen, "Firstseen") ||
          !when(c[2], i.last_seen, "Lastseen"))
        return false;
      i.threat = c[3];
      i.kind = Kind::kC2;  // SSLBL: malware C2 TLS fingerprints
      i.tags = {c[3]};
      return true;
    case Format::kSslblCert:  // Listingdate,SHA1,Listingreason
      if (!set_value(i, Type::kCertSha1, c[1], why) || !when(c[0], i.first_seen, "Listingdate")) return false;
      i.threat = c[2];
      i.kind = Kind::kC2;
      i.tags = {c[2]};
      return true;
    case Format::kUrlhaus: {  // id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter
      if (!set_value(i, Type::kUrl, c[2], why) || !when(c[1], i.first_seen, "dateadded") ||
          !when(c[4], i.last_seen, "last_online"))
        return false;
      i.threat = c[5];
      std::stringstream ts(c[6]);
      for (std::string t; std::getline(ts, t, ',');)
        if (!t.empty()) i.tags.push_back(t);
      if (!c[3].empty()) i.tags.push_back("url_status:" + c[3]);
      return true;
    }
    default: why = "not a CSV list format"; return false;
  }
}

}  // namespace

bool read_csv_feed(const FeedSpec& spec, Format f, std::vector<Indicator>& out, FeedSummary& sum, std::string& err) {
  std::string text;
  if (!read_text(spec.path, text, err)) return false;
  std::istringstream in(text);
  std::string line, why;
  std::vector<std::string> cells;
  size_t lineno = 0;
  bool header_seen = false;
  while (std::getline(in, line)) {
    lineno++;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (line[0] == '#') {
      if (f == Format::kAuto) f = csv_kind(line);
      continue;
    }
    if (f == Format::kAuto) f = csv_kind(line);
    if (f == Format::kAuto) {
      err = fmt::format("{}:{}: cannot tell the feed format (no abuse.ch header); set 'format:'", spec.path, lineno);
      return false;
    }
    if (!header_seen && csv_kind(line) == f) {  // an uncommented header line
      header_seen = true;
      continue;
    }
    CsvLayout lay = layout(f);
    if (!split_csv(line, cells)) {
      err = fmt::format("{}:{}: unterminated quote", spec.path, lineno);
      return false;
    }
    if (cells.size() != lay.cols) {
      err = fmt::format("{}:{}: expected {} fields for {}, got {}", spec.path, lineno, lay.cols, format_name(f),
                        cells.size());
      return false;
    }
    Indicator i;
    if (!csv_record(f, cells, i, why)) {
      err = fmt::format("{}:{}: {}", spec.path, lineno, why);
      return false;
    }
    finish(i, spec, lay.default_conf);
    out.push_back(std::move(i));
    sum.loaded++;
  }
  if (f == Format::kAuto) {
    err = fmt::format("{}: empty feed or no abuse.ch header; set 'format:'", spec.path);
    return false;
  }
  sum.format = f;
  return true;
}

bool read_plain_feed(const FeedSpec& spec, std::vector<Indicator>& out, FeedSummary& sum, std::string& err) {
  if (!spec.has_type) {
    err = fmt::format("{}: a plain list needs 'type:' (ip, domain, url, ja3 or x509-sha1)", spec.path);
    return false;
  }
  std::string text, why;
  if (!read_text(spec.path, text, err)) return false;
  std::istringstream in(text);
  size_t lineno = 0;
  for (std::string line; std::getline(in, line);) {
    lineno++;
    if (size_t h = line.find('#'); h != std::string::npos && spec.type != Type::kUrl) line.resize(h);
    else if (!line.empty() && line[0] == '#') continue;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Indicator i;
    i.subdomains = spec.type == Type::kDomain;
    if (!set_value(i, spec.type, line, why)) {
      err = fmt::format("{}:{}: {}", spec.path, lineno, why);
      return false;
    }
    finish(i, spec, 50);
    out.push_back(std::move(i));
    sum.loaded++;
  }
  sum.format = Format::kPlain;
  return true;
}

bool read_feed(const FeedSpec& spec, std::vector<Indicator>& out, FeedSummary& sum, std::string& err) {
  namespace fs = std::filesystem;
  sum.name = spec.name;
  sum.path = spec.path;
  sum.format = spec.format;
  std::error_code ec;
  Format f = spec.format;
  if (!fs::exists(spec.path, ec)) {
    err = fmt::format("{}: feed '{}' not found", spec.path, spec.name);
    return false;
  }
  if (f == Format::kAuto) {
    if (fs::is_directory(spec.path, ec)) f = Format::kMisp;
    else if (spec.path.size() > 5 && spec.path.compare(spec.path.size() - 5, 5, ".json") == 0) f = Format::kStix;
  }
  switch (f) {
    case Format::kMisp: return read_misp_feed(spec, out, sum, err);
    case Format::kStix: return read_stix_feed(spec, out, sum, err);
    case Format::kPlain: return read_plain_feed(spec, out, sum, err);
    default: return read_csv_feed(spec, f, out, sum, err);
  }
}

std::shared_ptr<const IntelSet> load_intel(const std::vector<FeedSpec>& feeds, std::string& err) {
  std::vector<Indicator> all;
  std::vector<FeedSummary> sums;
  for (const FeedSpec& f : feeds) {
    FeedSummary s;
    if (!read_feed(f, all, s, err)) return nullptr;
    sums.push_back(std::move(s));
  }
  if (all.size() >= (1u << 26)) {
    err = fmt::format("intel: {} indicators, more than the 67M supported", all.size());
    return nullptr;
  }
  return std::make_shared<const IntelSet>(std::move(all), std::move(sums));
}

}  // namespace spectre::intel
