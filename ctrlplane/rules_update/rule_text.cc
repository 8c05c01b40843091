#include "ctrlplane/rules_update/rule_text.h"

#include "dataplane/rules/loader.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace spectre::rules_update {

std::string lower(std::string_view s) {
  std::string o(s);
  for (char& c : o) c = char(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

namespace {

// Actions of Suricata and Snort rules: a commented line is a disabled rule
// only when it starts with one of these (so prose in comments is not a rule).
bool known_action(std::string_view a) {
  static constexpr std::string_view kActions[] = {"alert", "pass", "drop", "reject", "sdrop", "rejectsrc",
                                                  "rejectdst", "rejectboth", "log", "activate", "dynamic",
                                                  "block", "react", "rewrite", "config"};
  return std::find(std::begin(kActions), std::end(kActions), a) != std::end(kActions);
}

bool to_u32(std::string_view s, uint32_t& v) {
  s = trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

std::string unquote(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  std::string o;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) ++i;
    o += v[i];
  }
  return o;
}

// One option "name:value" of the body; fills the fields the matchers use.
void take_option(std::string_view opt, RuleEntry& r, bool& has_sid) {
  opt = trim(opt);
  const size_t colon = opt.find(':');
  const std::string name = lower(trim(opt.substr(0, colon)));
  const std::string_view val = colon == std::string_view::npos ? std::string_view{} : trim(opt.substr(colon + 1));
  if (name == "sid") {
    has_sid = to_u32(val, r.sid);
  } else if (name == "gid") {
    to_u32(val, r.gid);
  } else if (name == "rev") {
    to_u32(val, r.rev);
  } else if (name == "msg") {
    r.msg = unquote(val);
  } else if (name == "classtype") {
    r.classtype = std::string(val);
  } else if (name == "noalert") {
    r.noalert = true;
  } else if (name == "flowbits") {
    const size_t comma = val.find(',');
    const std::string cmd = lower(trim(val.substr(0, comma)));
    if (cmd == "noalert") r.noalert = true;
    if (comma == std::string_view::npos) return;
    auto* dst = cmd == "isset" || cmd == "isnotset"                    ? &r.flowbits_check
                : cmd == "set" || cmd == "unset" || cmd == "toggle" ? &r.flowbits_set
                                                                      : nullptr;
    std::string_view names = trim(val.substr(comma + 1));
    while (dst && !names.empty()) {  // "a|b" (any of) and "a&b" (all of)
      const size_t sep = names.find_first_of("|&");
      if (auto n = trim(names.substr(0, sep)); !n.empty()) dst->emplace_back(n);
      names = sep == std::string_view::npos ? std::string_view{} : names.substr(sep + 1);
    }
  } else if (name == "metadata") {
    std::string_view rest = val;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (item.empty()) continue;
      const size_t sp = item.find_first_of(" \t");
      if (sp == std::string_view::npos) r.metadata.emplace_back(std::string(item), "");
      else r.metadata.emplace_back(std::string(item.substr(0, sp)), std::string(trim(item.substr(sp + 1))));
    }
  }
}

}  // namespace

bool parse_rule_line(std::string_view line, RuleEntry& out, bool& is_comment) {
  std::string_view t = trim(line);
  is_comment = !t.empty() && t.front() == '#';
  bool enabled = true;
  if (is_comment) {
    enabled = false;
    while (!t.empty() && t.front() == '#') t.remove_prefix(1);
    t = trim(t);
  }
  const size_t sp = t.find_first_of(" \t");
  if (sp == std::string_view::npos || !known_action(t.substr(0, sp))) return false;
  const size_t open = t.find('(');
  if (open == std::string_view::npos || t.back() != ')') return false;
  RuleEntry r;
  r.text = std::string(t);
  r.enabled = enabled;
  r.action = std::string(t.substr(0, sp));
  std::string_view hdr = trim(t.substr(sp, open - sp));
  r.proto = std::string(hdr.substr(0, hdr.find_first_of(" \t")));
  std::string_view body = t.substr(open + 1, t.size() - open - 2);
  bool has_sid = false;
  size_t start = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '\\') {
      ++i;  // an escaped character (\; inside msg or content) is not a separator
    } else if (body[i] == ';') {
      take_option(body.substr(start, i - start), r, has_sid);
      start = i + 1;
    }
  }
  if (start < body.size()) take_option(body.substr(start), r, has_sid);
  if (!has_sid) return false;
  out = std::move(r);
  return true;
}

std::vector<RuleEntry> parse_rules_text(std::string_view text, const std::string& group, size_t source,
                                        TextStats& st) {
  std::vector<RuleEntry> out;
  rules::for_each_rule_line(text, true, [&](std::string_view joined, uint32_t first) {
    RuleEntry r;
    bool comment = false;
    if (!parse_rule_line(joined, r, comment)) {
      if (!comment) {
        ++st.unparsable;
        st.problems.push_back(group + ":" + std::to_string(first) + ": not a rule with a sid, left out");
      }
      return;
    }
    r.group = group;
    r.source = source;
    ++st.rules;
    ++(r.enabled ? st.enabled : st.disabled);
    out.push_back(std::move(r));
  });
  return out;
}

std::string format_rule(const RuleEntry& r) { return r.enabled ? r.text : "# " + r.text; }

void make_noalert(RuleEntry& r) {
  if (r.noalert) return;
  const size_t at = r.text.rfind("sid:");
  r.text.insert(at == std::string::npos ? r.text.size() - 1 : at, "noalert; ");
  r.noalert = true;
}

std::string metadata_value(const RuleEntry& r, std::string_view key) {
  const std::string k = lower(key);
  for (const auto& [mk, mv] : r.metadata)
    if (lower(mk) == k) return mv;
  return {};
}

}  // namespace spectre::rules_update
