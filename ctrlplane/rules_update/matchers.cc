#include "ctrlplane/rules_update/matchers.h"
#include "ctrlplane/rules_update/sources.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fnmatch.h>
#include <pcre2.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <fstream>
#include <sstream>

namespace spectre::rules_update {

// A compiled PCRE2 pattern (Python's re and PCRE agree on what rule files use:
// classes, groups, alternation, \d \s \w, anchors).
class Regex {
 public:
  static std::shared_ptr<const Regex> compile(const std::string& pat, bool caseless, std::string& err) {
    int code = 0;
    PCRE2_SIZE off = 0;
    pcre2_code* c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(),
                                  caseless ? PCRE2_CASELESS : 0, &code, &off, nullptr);
    if (!c) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(code, msg, sizeof msg);
      err = "bad regular expression '" + pat + "' at offset " + std::to_string(off) + ": " +
            reinterpret_cast<const char*>(msg);
      return nullptr;
    }
    return std::shared_ptr<const Regex>(new Regex(c));
  }
  ~Regex() { pcre2_code_free(code_); }
  // First match at or after `from`: fills groups (start, end) pairs; false if none.
  bool find(std::string_view s, size_t from, std::vector<size_t>& groups) const {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_, nullptr);
    const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), from, 0, md, nullptr);
    if (rc > 0) {
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      const uint32_t n = pcre2_get_ovector_count(md);
      groups.assign(ov, ov + 2 * n);
    }
    pcre2_match_data_free(md);
    return rc > 0;
  }

 private:
  explicit Regex(pcre2_code* c) : code_(c) {}
  pcre2_code* code_;
};

namespace {

bool parse_ids(std::string_view text, std::vector<Matcher::IdRange>& ids) {
  auto num = [](std::string_view s, uint32_t& v) {
    s = trim(s);
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return !s.empty() && ec == std::errc() && p == s.data() + s.size();
  };
  while (true) {
    const size_t comma = text.find(',');
    std::string_view e = trim(text.substr(0, comma));
    uint32_t gid = 1, lo = 0, hi = 0;
    const size_t colon = e.find(':');
    if (colon != std::string_view::npos) {
      if (!num(e.substr(0, colon), gid)) return false;
      e = e.substr(colon + 1);
    }
    const size_t dash = e.find('-');
    if (dash == std::string_view::npos) {
      if (!num(e, lo)) return false;
      hi = lo;
    } else if (!num(e.substr(0, dash), lo) || !num(e.substr(dash + 1), hi) || hi < lo) {
      return false;
    }
    ids.push_back({gid, lo, hi});
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

bool glob(const std::string& pat, const std::string& s) { return ::fnmatch(pat.c_str(), s.c_str(), 0) == 0; }

std::string basename_of(const std::string& p) {
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

bool starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

bool Matcher::match(const RuleEntry& r) const {
  switch (kind) {
    case Kind::kAll: return true;
    case Kind::kIds:
      for (const IdRange& i : ids)
        if (i.gid == r.gid && r.sid >= i.lo && r.sid <= i.hi) return true;
      return false;
    case Kind::kRe: {
      std::vector<size_t> g;
      return re->find(r.text, 0, g);
    }
    case Kind::kGroup: {
      const std::string base = basename_of(r.group);
      const size_t dot = base.rfind('.');
      return glob(pattern, base) || (dot != std::string::npos && glob(pattern, base.substr(0, dot)));
    }
    case Kind::kFilename: return glob(pattern, r.group);
    case Kind::kClasstype: return lower(r.classtype) == pattern;
    case Kind::kMetadata:
      for (const auto& [k, v] : r.metadata)
        if (lower(k) == key && lower(v) == value) return true;
      return false;
    case Kind::kMulti:
      for (const Matcher& m : parts)
        if (!m.match(r)) return false;
      return !parts.empty();
  }
  return false;
}

bool parse_matcher(std::string_view text, Matcher& m, std::string& err) {
  text = trim(text);
  m = Matcher{};
  if (text == "*") return true;
  if (starts(text, "multi:")) {
    m.kind = Matcher::Kind::kMulti;
    std::string_view rest = text.substr(6);
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view part = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      if (part.empty()) continue;
      Matcher sub;
      if (!parse_matcher(part, sub, err)) return false;
      m.parts.push_back(std::move(sub));
    }
    if (m.parts.empty()) err = "multi: needs at least one matcher";
    return !m.parts.empty();
  }
  if (starts(text, "re:")) {
    m.kind = Matcher::Kind::kRe;
    m.re = Regex::compile(std::string(trim(text.substr(3))), true, err);  // case-insensitive, as documented
    return m.re != nullptr;
  }
  if (starts(text, "filename:") || starts(text, "group:")) {
    const bool group = starts(text, "group:");
    m.kind = group ? Matcher::Kind::kGroup : Matcher::Kind::kFilename;
    m.pattern = std::string(trim(text.substr(text.find(':') + 1)));
    if (m.pattern.empty()) err = "empty pattern in '" + std::string(text) + "'";
    return !m.pattern.empty();
  }
  if (starts(text, "metadata:")) {
    std::string_view kv = trim(text.substr(9));
    const size_t sp = kv.find_first_of(" \t");
    if (sp == std::string_view::npos) {
      err = "metadata: needs a key and a value ('metadata: deployment perimeter')";
      return false;
    }
    m.kind = Matcher::Kind::kMetadata;
    m.key = lower(kv.substr(0, sp));
    m.value = lower(trim(kv.substr(sp + 1)));
    return true;
  }
  if (starts(text, "classtype:")) {
    m.kind = Matcher::Kind::kClasstype;
    m.pattern = lower(trim(text.substr(10)));
    return !m.pattern.empty();
  }
  if (text.size() > 6 && text.substr(text.size() - 6) == ".rules") {  // a bare file name is a group
    m.kind = Matcher::Kind::kGroup;
    m.pattern = std::string(text);
    return true;
  }
  m.kind = Matcher::Kind::kIds;
  if (parse_ids(text, m.ids)) return true;
  err = "not a matcher: '" + std::string(text) +
        "' (expected a sid, gid:sid, sid range, re:, group:, filename:, metadata:, classtype:, multi: or *)";
  return false;
}

bool shell_split(std::string_view s, std::vector<std::string>& out) {
  out.clear();
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ' || c == '\t') {
      if (in_word) out.push_back(std::move(cur)), cur.clear(), in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
    } else if (c == '\'') {
      const size_t end = s.find('\'', i + 1);
      if (end == std::string_view::npos) return false;
      cur.append(s.substr(i + 1, end - i - 1));
      i = end;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i >= s.size()) return false;
        if (s[i] == '"') break;
        if (s[i] == '\\' && i + 1 < s.size() && std::string_view("\\\"$`").find(s[i + 1]) != std::string_view::npos)
          ++i;
        cur += s[i];
      }
    } else {
      cur += c;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  return true;
}

std::string ModifyFilter::apply(const std::string& text) const {
  std::string out;
  std::vector<size_t> g;
  size_t pos = 0;
  while (pos <= text.size() && from->find(text, pos, g)) {
    out.append(text, pos, g[0] - pos);
    for (size_t i = 0; i < to.size(); ++i) {  // expand \N, \g<N>, \\, \n, \t
      if (to[i] != '\\' || i + 1 == to.size()) {
        out += to[i];
        continue;
      }
      const char n = to[++i];
      size_t grp = SIZE_MAX;
      if (n >= '0' && n <= '9') {
        grp = size_t(n - '0');
        if (i + 1 < to.size() && to[i + 1] >= '0' && to[i + 1] <= '9') grp = grp * 10 + size_t(to[++i] - '0');
      } else if (n == 'g' && i + 1 < to.size() && to[i + 1] == '<') {
        const size_t close = to.find('>', i);
        if (close != std::string::npos) {
          std::from_chars(to.data() + i + 2, to.data() + close, grp);
          i = close;
        }
      } else if (n == '\\') {
        out += '\\';
      } else if (n == 'n') {
        out += '\n';
      } else if (n == 't') {
        out += '\t';
      } else {
        out += '\\';
        out += n;
      }
      if (grp != SIZE_MAX && 2 * grp + 1 < g.size() && g[2 * grp] != PCRE2_UNSET)
        out.append(text, g[2 * grp], g[2 * grp + 1] - g[2 * grp]);
    }
    if (g[1] == g[0]) {  // empty match: copy one character and move on
      if (g[1] < text.size()) out += text[g[1]];
      pos = g[1] + 1;
    } else {
      pos = g[1];
    }
  }
  if (pos < text.size()) out.append(text, pos, std::string::npos);
  return out;
}

bool parse_modify(std::string_view line, ModifyFilter& f, std::string& err) {
  std::vector<std::string> tok;
  if (!shell_split(line, tok)) {
    err = "unterminated quote";
    return false;
  }
  std::string m, a, b;
  if (tok.size() == 3) {
    m = tok[0], a = tok[1], b = tok[2];
  } else if (tok.size() == 5 && tok[0] == "modifysid" && tok[3] == "|") {
    m = tok[1], a = tok[2], b = tok[4];
  } else {
    err = "expected <matcher> \"<from>\" \"<to>\" (or modifysid <matcher> \"<from>\" | \"<to>\"), got " +
          std::to_string(tok.size()) + " words";
    return false;
  }
  if (!parse_matcher(m, f.matcher, err)) return false;
  if (f.matcher.kind == Matcher::Kind::kMetadata) {
    err = "metadata matching is not available for modify (as in suricata-update); use re:";
    return false;
  }
  f.from = Regex::compile(a, false, err);
  if (!f.from) return false;
  // Oinkmaster's ${N} back references are \N.
  f.to.clear();
  for (size_t i = 0; i < b.size(); ++i) {
    const size_t close = b.compare(i, 2, "${") == 0 ? b.find('}', i) : std::string::npos;
    if (close != std::string::npos && close > i + 2 &&
        b.find_first_not_of("0123456789", i + 2) == close) {
      f.to += "\\" + b.substr(i + 2, close - i - 2);
      i = close;
    } else {
      f.to += b[i];
    }
  }
  return true;
}

namespace {

// Calls `fn(line, where)` for every non-blank, non-comment line with the
// trailing " #comment" cut and "\$" unescaped (suricata-update's reading).
template <class Fn>
bool each_conf_line(std::string_view text, const std::string& name, Fn fn, std::string& err) {
  uint32_t lineno = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view raw = trim(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    if (raw.empty() || raw.front() == '#') continue;
    std::string line(raw.substr(0, raw.find(" #")));
    for (size_t p; (p = line.find("\\$")) != std::string::npos;) line.erase(p, 1);
    std::string e;
    if (!fn(std::string(trim(line)), e)) {
      err = name + ":" + std::to_string(lineno) + ": " + e;
      return false;
    }
  }
  return true;
}


}  // namespace

bool parse_matcher_text(std::string_view text, const std::string& name, std::vector<Matcher>& out, std::string& err) {
  return each_conf_line(
      text, name,
      [&](const std::string& line, std::string& e) {
        Matcher m;
        if (!parse_matcher(line, m, e)) return false;
        out.push_back(std::move(m));
        return true;
      },
      err);
}

bool parse_modify_text(std::string_view text, const std::string& name, std::vector<ModifyFilter>& out,
                       std::string& err) {
  return each_conf_line(
      text, name,
      [&](const std::string& line, std::string& e) {
        ModifyFilter f;
        if (!parse_modify(line, f, e)) return false;
        out.push_back(std::move(f));
        return true;
      },
      err);
}

bool load_matcher_file(const std::string& path, std::vector<Matcher>& out, std::string& err) {
  std::string data;
  return read_text(path, data, err) && parse_matcher_text(data, path, out, err);
}

bool load_modify_file(const std::string& path, std::vector<ModifyFilter>& out, std::string& err) {
  std::string data;
  return read_text(path, data, err) && parse_modify_text(data, path, out, err);
}

void apply_policy(const Policy& p, std::vector<RuleEntry>& rules, PolicyCounts& c) {
  const auto id = [](const RuleEntry& r) { return std::to_string(r.gid) + ":" + std::to_string(r.sid); };
  for (RuleEntry& r : rules) {
    for (const Matcher& m : p.disable)
      if (r.enabled && m.match(r)) r.enabled = false, ++c.disabled;
    for (const Matcher& m : p.enable)
      if (!r.enabled && m.match(r)) r.enabled = true, ++c.enabled;
    for (const Matcher& m : p.drop) {
      if (r.noalert || r.action == "drop" || !m.match(r)) continue;  // noalert rules stay (suricata-update)
      r.text = "drop" + r.text.substr(r.action.size());
      r.action = "drop";
      ++c.dropped;
    }
    for (const ModifyFilter& f : p.modify) {
      if (!f.matcher.match(r)) continue;
      const std::string before = format_rule(r);  // as suricata-update: the written form, "# " included
      const std::string after = f.apply(before);
      if (after == before) continue;
      RuleEntry n;
      bool comment = false;
      if (!parse_rule_line(after, n, comment) || n.gid != r.gid || n.sid != r.sid) {
        ++c.modify_invalid;
        c.messages.push_back("modify of " + id(r) + " gives no valid rule with the same gid:sid, kept as it was: " +
                             after);
        continue;
      }
      n.group = r.group;
      n.source = r.source;
      r = std::move(n);
      ++c.modified;
    }
  }
}

std::vector<std::string> resolve_flowbits(std::vector<RuleEntry>& rules) {
  std::vector<std::string> enabled;
  for (bool again = true; again;) {
    again = false;
    std::set<std::string> needed;
    for (const RuleEntry& r : rules)
      if (r.enabled) needed.insert(r.flowbits_check.begin(), r.flowbits_check.end());
    for (RuleEntry& r : rules) {
      if (r.enabled || std::none_of(r.flowbits_set.begin(), r.flowbits_set.end(),
                                    [&](const std::string& n) { return needed.count(n) > 0; }))
        continue;
      r.enabled = true;
      make_noalert(r);
      enabled.push_back(std::to_string(r.gid) + ":" + std::to_string(r.sid));
      again = true;  // it may test flowbits of its own
    }
  }
  return enabled;
}

}  // namespace spectre::rules_update
