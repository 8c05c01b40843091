// JSON feeds: MISP feed directories (manifest.json + <event-uuid>.json, the
// MISP core format) and STIX 2.1 bundles. Main thread or a reload helper.
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dataplane/intel/feeds_internal.h"

namespace spectre::intel {

using nlohmann::json;

namespace {

bool parse_json_file(const std::string& path, json& j, std::string& err) {
  std::string text;
  if (!read_text(path, text, err)) return false;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {  // e.what() names line and column
    err = fmt::format("{}: invalid JSON: {}", path, e.what());
    return false;
  }
  return true;
}

std::string str_of(const json& o, const char* k) {
  auto it = o.find(k);
  if (it == o.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number() || it->is_boolean()) return it->dump();
  return {};
}

bool truthy(const json& o, const char* k) {
  auto it = o.find(k);
  if (it == o.end()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_number()) return it->get<double>() != 0;
  if (it->is_string()) return *it == "1" || *it == "true" || *it == "True";
  return false;
}

// ---- MISP ----

struct MispEvent {
  std::string file, info;
  std::vector<std::string> tags;
  std::string threat;
  int confidence;
};

// One MISP attribute; false only for malformed input (unsupported: counted).
bool misp_attribute(const FeedSpec& spec, const MispEvent& ev, const json& a, size_t n, std::vector<Indicator>& out,
                    FeedSummary& sum, std::string& err) {
  if (!a.is_object()) {
    err = fmt::format("{}: Attribute #{} is not an object", ev.file, n);
    return false;
  }
  std::string type = str_of(a, "type"), value = str_of(a, "value");
  if (type.empty() || !a.contains("value")) {
    err = fmt::format("{}: Attribute #{} ({}) has no 'type' or 'value'", ev.file, n, str_of(a, "uuid"));
    return false;
  }
  if (truthy(a, "deleted")) return count_skip(sum, "deleted"), true;
  if (!truthy(a, "to_ids")) return count_skip(sum, "not to_ids"), true;
  struct Part {
    Type t;
    std::string v;
    bool sub;
  };
  std::vector<Part> parts;
  auto before_bar = [](const std::string& v) { return v.substr(0, v.find('|')); };
  if (type == "ip-src" || type == "ip-dst") parts.push_back({Type::kIp, value, false});
  else if (type == "ip-src|port" || type == "ip-dst|port") parts.push_back({Type::kIp, before_bar(value), false});
  else if (type == "domain") parts.push_back({Type::kDomain, value, true});
  else if (type == "hostname") parts.push_back({Type::kDomain, value, false});
  else if (type == "domain|ip") {
    size_t bar = value.find('|');
    if (bar == std::string::npos) {
      err = fmt::format("{}: Attribute #{}: domain|ip value '{}' has no '|'", ev.file, n, value);
      return false;
    }
    parts.push_back({Type::kDomain, value.substr(0, bar), true});
    parts.push_back({Type::kIp, value.substr(bar + 1), false});
  } else if (type == "url") parts.push_back({Type::kUrl, value, false});
  else if (type == "ja3-fingerprint-md5") parts.push_back({Type::kJa3, value, false});
  else if (type == "x509-fingerprint-sha1") parts.push_back({Type::kCertSha1, value, false});
  else return count_skip(sum, "type " + type), true;
  std::vector<std::string> tags = ev.tags;
  if (auto t = a.find("Tag"); t != a.end() && t->is_array())
    for (const auto& g : *t) tags.push_back(str_of(g, "name"));
  for (const Part& p : parts) {
    Indicator i;
    std::string why;
    if (!set_value(i, p.t, p.v, why)) {
      err = fmt::format("{}: Attribute #{} ({}): {}", ev.file, n, type, why);
      return false;
    }
    i.subdomains = p.sub;
    i.threat = ev.threat;
    i.tags = tags;
    uint64_t ts = 0;
    std::string fs = str_of(a, "first_seen"), ls = str_of(a, "last_seen"), tm = str_of(a, "timestamp");
    if ((!fs.empty() && !parse_time(fs, i.first_seen)) || (!ls.empty() && !parse_time(ls, i.last_seen)) ||
        (!tm.empty() && !parse_time(tm, ts))) {
      err = fmt::format("{}: Attribute #{}: bad first_seen/last_seen/timestamp", ev.file, n);
      return false;
    }
    if (!i.first_seen) i.first_seen = ts;
    if (!i.last_seen) i.last_seen = ts;  // the attribute's last change
    i.kind = kind_from_text(str_of(a, "category") == "Payload delivery" ? "malware_download" : "");
    for (const auto& t : tags)
      if (i.kind == Kind::kUnknown) i.kind = kind_from_text(t);
    if (i.kind == Kind::kUnknown) i.kind = kind_from_text(ev.info);
    finish(i, spec, ev.confidence);
    out.push_back(std::move(i));
    sum.loaded++;
  }
  return true;
}

bool misp_event(const FeedSpec& spec, const std::string& file, std::vector<Indicator>& out, FeedSummary& sum,
                std::string& err) {
  json j;
  if (!parse_json_file(file, j, err)) return false;
  const json* e = j.is_object() && j.contains("Event") ? &j["Event"] : nullptr;
  if (!e || !e->is_object()) {
    err = fmt::format("{}: not a MISP event (no 'Event' object)", file);
    return false;
  }
  MispEvent ev{file, str_of(*e, "info"), {}, {}, 50};
  if (auto t = e->find("Tag"); t != e->end() && t->is_array())
    for (const auto& g : *t) {
      std::string name = str_of(g, "name");
      ev.tags.push_back(name);
      // misp-galaxy:malpedia="Emotet" names the threat
      size_t q = name.find("=\"");
      if (ev.threat.empty() && name.rfind("misp-galaxy:", 0) == 0 && q != std::string::npos && name.back() == '"')
        ev.threat = name.substr(q + 2, name.size() - q - 3);
    }
  if (ev.threat.empty()) ev.threat = ev.info.substr(0, 60);
  // threat_level_id: 1 high, 2 medium, 3 low, 4 undefined
  std::string tl = str_of(*e, "threat_level_id");
  ev.confidence = tl == "1" ? 90 : tl == "2" ? 70 : tl == "3" ? 50 : 30;
  size_t n = 0;
  if (auto a = e->find("Attribute"); a != e->end() && a->is_array())
    for (const auto& at : *a)
      if (!misp_attribute(spec, ev, at, n++, out, sum, err)) return false;
  if (auto o = e->find("Object"); o != e->end() && o->is_array())
    for (const auto& obj : *o)
      if (auto a = obj.find("Attribute"); a != obj.end() && a->is_array())
        for (const auto& at : *a)
          if (!misp_attribute(spec, ev, at, n++, out, sum, err)) return false;
  return true;
}

// ---- STIX 2.1 patterns: [path = 'v' (OR path = 'v')*] (OR [...])* ----

struct Cmp {
  std::string path, value;
};

// Parses the supported subset; false with `why` (the skip reason).
bool parse_pattern(std::string_view p, std::vector<Cmp>& out, std::string& why) {
  size_t i = 0;
  auto ws = [&] { while (i < p.size() && std::isspace(static_cast<unsigned char>(p[i]))) i++; };
  auto word = [&](const char* w) {
    ws();
    size_t n = std::strlen(w);
    if (p.substr(i, n) == w && (i + n == p.size() || !std::isalnum(static_cast<unsigned char>(p[i + n])))) {
      i += n;
      return true;
    }
    return false;
  };
  bool in_obs = false;
  for (;;) {
    ws();
    if (!in_obs) {
      if (i >= p.size() || p[i] != '[') return why = "unsupported pattern syntax", false;
      i++;
      in_obs = true;
    }
    ws();
    size_t s = i;
    while (i < p.size() && !std::isspace(static_cast<unsigned char>(p[i])) && p[i] != '=' && p[i] != '!' &&
           p[i] != '<' && p[i] != '>')
      i++;
    std::string path(p.substr(s, i - s));
    ws();
    if (i >= p.size() || p[i] != '=') {
      std::string op;
      while (i < p.size() && !std::isspace(static_cast<unsigned char>(p[i])) && p[i] != '\'') op += p[i++];
      return why = "unsupported operator " + op, false;
    }
    i++;
    ws();
    if (i >= p.size() || p[i] != '\'') return why = "unsupported constant (not a string)", false;
    std::string v;
    for (i++; i < p.size() && p[i] != '\''; i++) {
      if (p[i] == '\\' && i + 1 < p.size()) i++;
      v += p[i];
    }
    if (i >= p.size()) return why = "unterminated string", false;
    i++;
    out.push_back({path, v});
    if (word("OR")) continue;
    if (word("AND")) return why = "unsupported AND", false;
    ws();
    if (i >= p.size() || p[i] != ']') return why = "unsupported pattern syntax", false;
    i++;
    in_obs = false;
    ws();
    if (i == p.size()) return true;
    if (word("OR")) continue;
    if (word("AND")) return why = "unsupported AND", false;
    if (word("FOLLOWEDBY")) return why = "unsupported FOLLOWEDBY", false;
    return why = "unsupported qualifier", false;
  }
}

bool stix_type(const std::string& path, Type& t, bool& sub) {
  std::string l = path;
  for (char& c : l) c = char(std::tolower(static_cast<unsigned char>(c)));
  sub = false;
  if (l == "ipv4-addr:value" || l == "ipv6-addr:value" || l == "network-traffic:dst_ref.value" ||
      l == "network-traffic:src_ref.value") t = Type::kIp;
  else if (l == "domain-name:value") { t = Type::kDomain; sub = true; }
  else if (l == "url:value") t = Type::kUrl;
  else if (l == "x509-certificate:hashes.'sha-1'" || l == "x509-certificate:hashes.sha1" ||
           l == "x509-certificate:hashes.'sha1'" || l == "x509-certificate:hashes.sha-1") t = Type::kCertSha1;
  else if (l.size() >= 3 && (l.find("ja3") != std::string::npos) && l.find("ja3s") == std::string::npos) t = Type::kJa3;
  else return false;
  return true;
}

bool stix_indicator(const FeedSpec& spec, const json& o, size_t n, std::vector<Indicator>& out, FeedSummary& sum,
                    std::string& err) {
  std::string id = str_of(o, "id"), where = fmt::format("{}: objects[{}] ({})", spec.path, n, id);
  if (truthy(o, "revoked")) return count_skip(sum, "revoked"), true;
  std::string pt = str_of(o, "pattern_type");
  if (!pt.empty() && pt != "stix") return count_skip(sum, "pattern_type " + pt), true;
  if (!o.contains("pattern") || !o["pattern"].is_string()) {
    err = where + ": indicator without a 'pattern' string";
    return false;
  }
  std::vector<Cmp> cmps;
  std::string why;
  if (!parse_pattern(o["pattern"].get<std::string>(), cmps, why)) return count_skip(sum, why), true;
  for (const Cmp& c : cmps) {
    Type t;
    bool sub;
    if (!stix_type(c.path, t, sub)) return count_skip(sum, "unsupported object path " + c.path), true;
  }
  Indicator base;
  std::string vf = str_of(o, "valid_from"), vu = str_of(o, "valid_until");
  if ((!vf.empty() && !parse_time(vf, base.valid_from)) || (!vu.empty() && !parse_time(vu, base.valid_until))) {
    err = where + ": bad valid_from/valid_until";
    return false;
  }
  int conf = -1;
  if (auto c = o.find("confidence"); c != o.end() && c->is_number_integer()) {
    conf = c->get<int>();
    if (conf < 0 || conf > 100) {
      err = where + fmt::format(": confidence {} outside 0-100", conf);
      return false;
    }
  }
  for (const char* k : {"indicator_types", "labels"})
    if (auto a = o.find(k); a != o.end() && a->is_array())
      for (const auto& v : *a)
        if (v.is_string()) base.tags.push_back(v.get<std::string>());
  base.threat = str_of(o, "name");
  if (base.threat.empty() && !base.tags.empty()) base.threat = base.tags[0];
  base.kind = kind_from_text(base.threat + " " + str_of(o, "description"));
  for (const auto& t : base.tags)
    if (base.kind == Kind::kUnknown) base.kind = kind_from_text(t);
  for (const Cmp& c : cmps) {
    Indicator i = base;
    Type t;
    bool sub;
    stix_type(c.path, t, sub);
    if (!set_value(i, t, c.value, why)) {
      err = where + ": " + why;
      return false;
    }
    i.subdomains = sub;
    finish(i, spec, conf >= 0 ? conf : 50);
    out.push_back(std::move(i));
    sum.loaded++;
  }
  return true;
}

}  // namespace

bool read_misp_feed(const FeedSpec& spec, std::vector<Indicator>& out, FeedSummary& sum, std::string& err) {
  namespace fs = std::filesystem;
  std::string man = (fs::path(spec.path) / "manifest.json").string();
  json m;
  if (!parse_json_file(man, m, err)) return false;
  if (!m.is_object()) {
    err = man + ": expected an object of event UUIDs";
    return false;
  }
  for (const auto& [uuid, meta] : m.items()) {
    if (uuid.empty() || uuid.find('/') != std::string::npos || uuid.find("..") != std::string::npos) {
      err = fmt::format("{}: bad event UUID '{}'", man, uuid);
      return false;
    }
    if (!misp_event(spec, (fs::path(spec.path) / (uuid + ".json")).string(), out, sum, err)) return false;
  }
  sum.format = Format::kMisp;
  return true;
}

bool read_stix_feed(const FeedSpec& spec, std::vector<Indicator>& out, FeedSummary& sum, std::string& err) {
  json j;
  if (!parse_json_file(spec.path, j, err)) return false;
  if (!j.is_object() || str_of(j, "type") != "bundle" || !j.contains("objects") || !j["objects"].is_array()) {
    err = spec.path + ": not a STIX bundle (expected type \"bundle\" with an 'objects' array)";
    return false;
  }
  size_t n = 0;
  for (const auto& o : j["objects"]) {
    if (o.is_object() && str_of(o, "type") == "indicator" && !stix_indicator(spec, o, n, out, sum, err)) return false;
    n++;
  }
  sum.format = Format::kStix;
  return true;
}

}  // namespace spectre::intel
