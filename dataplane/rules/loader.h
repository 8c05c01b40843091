// Rule loader: rule files and a directory of *.rules into a RuleSet, with a
// report of what loaded, what was skipped (unsupported) and what failed.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/rules/rule.h"

namespace spectre::rules {

struct LoadOptions {
  std::vector<std::string> files;       // read first, in this order
  std::string rules_dir;                // then every *.rules here, sorted by name
  std::string classification_file;      // empty: classification.config next to the first rules file, if any
  Vars vars = Vars::suricata_defaults();
  bool strict = false;                  // any skip or error is fatal
  std::string data_dir;                 // dataset state/save files (empty: the rule file's directory)
};

struct LoadReport {
  uint32_t files = 0, rules_seen = 0, loaded = 0, skipped = 0, errors = 0, duplicates = 0;
  std::map<std::string, uint32_t> skip_reasons;  // "unsupported keyword: byte_test" -> count
  std::vector<std::string> messages;             // "file:line: ..." for every error, skip, duplicate, unknown classtype
  // "rules: 1234 loaded, 56 skipped (unsupported), 2 errors; top skip reasons: ..."
  std::string summary(size_t top = 10) const;
};

// Loads into `out` (replacing its contents). Syntax errors and unsupported
// rules are counted in `rep` and the rest still load. Returns false with
// `err` only on a fatal problem: an unreadable rules file or directory, a bad
// classification file, or (strict) the first skip or error.
bool load_rules(const LoadOptions& o, RuleSet& out, LoadReport& rep, std::string& err);

// Loads rules from text (one file's content); `name` is used in messages.
// Appends to `out.rules`, using `out.classes` and `out.vars`; no strict check.
void load_rules_text(std::string_view text, const std::string& name, RuleSet& out, LoadReport& rep);

// The rule lines of a rules file: each non-blank line, trimmed, with the lines
// after it joined while it ends in '\'; fn(line, number of its first line).
// A line starting with '#' is passed unjoined unless join_comments (the
// rules tool keeps commented-out rules, which may span lines).
template <class F>
void for_each_rule_line(std::string_view text, bool join_comments, F&& fn) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };  // as the parser's trim
  auto trim = [&](std::string_view s) {
    while (!s.empty() && ws(s.front())) s.remove_prefix(1);
    while (!s.empty() && ws(s.back())) s.remove_suffix(1);
    return s;
  };
  auto next = [&text]() {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    return line;
  };
  uint32_t lineno = 0;
  std::string joined;
  while (!text.empty()) {
    const uint32_t first = ++lineno;
    std::string_view t = trim(next());
    if (t.empty()) continue;
    joined.assign(t);
    if (t[0] != '#' || join_comments)
      while (!joined.empty() && joined.back() == '\\' && !text.empty()) {
        joined.pop_back();
        joined += trim(next());
        ++lineno;
      }
    fn(std::string_view(joined), first);
  }
}

}  // namespace spectre::rules
