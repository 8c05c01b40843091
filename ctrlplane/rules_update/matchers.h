// enable.conf / disable.conf / drop.conf matchers and modify.conf filters, in
// suricata-update's file formats (see ctrlplane/rules_update/README.md):
//   2019401, 1:2019401, 1:2019401,2019402      signature ids (gid optional, lists)
//   2019400-2019499, 1:2019400-2019499         sid range (our extension)
//   re:heartbleed                              regex over the whole rule, case-insensitive
//   group:emerging-dos  group:emerging*  x.rules   file name without path (with or without .rules), wildcards
//   filename:*/emerging-dos.rules              file path inside its source, wildcards
//   metadata: deployment perimeter             metadata key and value, case-insensitive (not in modify.conf)
//   classtype:trojan-activity                  the rule's classtype (our extension)
//   multi:group:emerging-web*;re:wordpress;    all of several matchers
//   *                                          every rule
// modify.conf: <matcher> "<from-regex>" "<to>" (\1 or ${1} back references),
// and Oinkmaster's   modifysid <matcher> "<from>" | "<to>".
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ctrlplane/rules_update/rule_text.h"

namespace spectre::rules_update {

class Regex;  // PCRE2, compiled once (matchers.cc)

struct Matcher {
  enum class Kind { kAll, kIds, kRe, kGroup, kFilename, kMetadata, kClasstype, kMulti } kind = Kind::kAll;
  struct IdRange { uint32_t gid, lo, hi; };
  std::vector<IdRange> ids;
  std::shared_ptr<const Regex> re;
  std::string pattern, key, value;  // group/filename/classtype pattern; metadata key and value (lowercase)
  std::vector<Matcher> parts;       // kMulti: all must match
  bool match(const RuleEntry& r) const;
};

// Parses one matcher; false with `err` when the text is none of the forms above.
bool parse_matcher(std::string_view text, Matcher& m, std::string& err);

struct ModifyFilter {
  Matcher matcher;
  std::shared_ptr<const Regex> from;
  std::string to;  // replacement with \N back references
  // Replaces every match of `from` in `text` (Python re.sub semantics for \N, \g<N>, \\).
  std::string apply(const std::string& text) const;
};
bool parse_modify(std::string_view line, ModifyFilter& f, std::string& err);

// Splits like Python's shlex.split (POSIX): whitespace-separated words,
// "double quotes" (backslash escapes \ " $ `), 'single quotes' (literal),
// backslash escaping outside quotes. False on an unterminated quote.
bool shell_split(std::string_view s, std::vector<std::string>& out);

struct Policy {
  std::vector<Matcher> disable, enable, drop;
  std::vector<ModifyFilter> modify;
};

// Reads a matcher file (enable/disable/drop.conf) or modify.conf into `p`.
// Blank lines and '#' lines are skipped; a trailing " #comment" is cut, as in
// suricata-update. A line that does not parse is an error "file:line: ...".
bool load_matcher_file(const std::string& path, std::vector<Matcher>& out, std::string& err);
bool load_modify_file(const std::string& path, std::vector<ModifyFilter>& out, std::string& err);
bool parse_matcher_text(std::string_view text, const std::string& name, std::vector<Matcher>& out, std::string& err);
bool parse_modify_text(std::string_view text, const std::string& name, std::vector<ModifyFilter>& out,
                       std::string& err);

struct PolicyCounts {
  uint32_t disabled = 0, enabled = 0, dropped = 0, modified = 0, modify_invalid = 0;
  std::vector<std::string> messages;  // "modify of 1:2019401 gives a line that is not a rule: kept as it was"
};
// Applies, per rule, in suricata-update's order: disable, enable, drop, modify.
// A modification that leaves no parsable rule (or changes gid:sid) is refused
// and counted; the rule stays as it was.
void apply_policy(const Policy& p, std::vector<RuleEntry>& rules, PolicyCounts& c);

// suricata-update's flowbit resolution: a disabled rule that sets, unsets or
// toggles a flowbit that an enabled rule tests is enabled with "noalert;"
// (it feeds the state, it does not alert), until nothing changes. Returns the
// gid:sid of the rules it enabled.
std::vector<std::string> resolve_flowbits(std::vector<RuleEntry>& rules);

}  // namespace spectre::rules_update
