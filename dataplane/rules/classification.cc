#include "dataplane/rules/classification.h"

#include <fstream>
#include <sstream>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules {

bool parse_classification(std::string_view text, const std::string& name,
                          std::map<std::string, Classification>& out, std::string& err) {
  using detail::trim;
  uint32_t lineno = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    auto bad = [&](const std::string& m) {
      err = name + ":" + std::to_string(lineno) + ": " + m;
      return false;
    };
    constexpr std::string_view kPrefix = "config classification:";
    if (!line.starts_with(kPrefix)) return bad("expected 'config classification: name,description,priority'");
    auto parts = detail::split(line.substr(kPrefix.size()), ',');
    // The description may itself contain commas: name is first, priority last.
    if (parts.size() < 3) return bad("expected name,description,priority");
    std::string_view short_name = parts.front();
    uint32_t prio;
    if (!detail::parse_u32(parts.back(), prio) || prio < 1 || prio > 255) return bad("bad priority '" + std::string(parts.back()) + "'");
    if (short_name.empty()) return bad("empty classification name");
    for (char c : short_name)
      if (!detail::is_ident_char(c)) return bad("bad classification name '" + std::string(short_name) + "'");
    std::string desc;
    for (size_t i = 1; i + 1 < parts.size(); ++i) {
      if (i > 1) desc += ",";
      desc += std::string(parts[i]);
    }
    Classification& c = out[std::string(short_name)];
    c.description = desc;
    c.priority = int(prio);
  }
  return true;
}

bool load_classification(const std::string& path, std::map<std::string, Classification>& out,
                         std::string& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = path + ": cannot read classification file";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_classification(ss.str(), path, out, err);
}

}  // namespace spectre::rules
