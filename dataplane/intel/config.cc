// The `intel:` configuration section. Main thread or a reload helper.
#include "dataplane/intel/config.h"

#include <cctype>
#include <filesystem>

namespace spectre::intel {

bool valid_feed_name(std::string_view n) {
  if (n.empty() || n.size() > 47) return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

std::string feed_name_for(const std::string& path) {
  std::string n = std::filesystem::path(path).filename().string();
  if (n.empty()) n = std::filesystem::path(path).parent_path().filename().string();
  std::string out;
  for (char c : n) out += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_';
  if (out.size() > 47) out.resize(47);
  return out.empty() ? "feed" : out;
}

bool parse_type(std::string_view s, Type& t) {
  for (int i = 0; i < int(Type::kCount); i++)
    if (s == type_name(Type(i))) {
      t = Type(i);
      return true;
    }
  return false;
}

bool parse_config(const YAML::Node& v, YamlReader& L, std::vector<FeedSpec>& feeds) {
  return L.each(v, "intel", [&](const std::string& k, const YAML::Node& fv) {
    if (k != "feeds") return false;
    if (!fv.IsSequence()) return L.fail(fv, "intel.feeds: expected a list of feeds");
    for (const auto& e : fv) {
      FeedSpec f;
      bool ok = L.each(e, "intel.feeds[]", [&](const std::string& fk, const YAML::Node& x) {
        std::string s;
        if (fk == "name") {
          if (!L.str(x, f.name)) return false;
          return valid_feed_name(f.name) || L.fail(x, "intel feed name: 1-47 letters, digits, '-', '_' or '.'");
        }
        if (fk == "path") return L.str(x, f.path);
        if (fk == "format") {
          if (!L.str(x, s)) return false;
          return parse_format(s, f.format) ||
                 L.fail(x, "format: expected misp, stix, feodo, sslbl-ja3, sslbl-cert, urlhaus, plain or auto");
        }
        if (fk == "type") {
          if (!L.str(x, s)) return false;
          f.has_type = true;
          return parse_type(s, f.type) || L.fail(x, "type: expected ip, domain, url, ja3 or x509-sha1");
        }
        if (fk == "ttl") return L.u32(x, f.ttl_s, 0, 3650u * 86400u);
        if (fk == "confidence") {
          uint32_t c = 0;
          if (!L.u32(x, c, 0, 100)) return false;
          f.confidence = int(c);
          return true;
        }
        if (fk == "threat") return L.str(x, f.threat);
        return false;
      });
      if (!ok) return false;
      if (f.path.empty()) return L.fail(e, "intel feed without 'path'");
      if (f.format == Format::kPlain && !f.has_type) return L.fail(e, "a plain intel list needs 'type:'");
      if (f.name.empty()) f.name = feed_name_for(f.path);
      feeds.push_back(std::move(f));
    }
    return true;
  });
}

}  // namespace spectre::intel
