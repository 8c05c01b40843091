// Rules as text, the way a rule manager sees them: one line per rule, enabled
// or commented out, with the few options the matchers need (gid, sid, rev,
// msg, classtype, metadata, flowbits). The full parse is the data plane's
// loader (dataplane/rules), used only to test-load the merged result.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spectre::rules_update {

struct RuleEntry {
  std::string text;        // the rule, without a leading '#'; continuation lines joined
  bool enabled = true;     // false: written as "# <text>"
  uint32_t gid = 1, sid = 0, rev = 0;
  std::string action, proto, msg, classtype;
  std::vector<std::pair<std::string, std::string>> metadata;  // "key value" pairs as written
  bool noalert = false;    // noalert or flowbits:noalert
  std::vector<std::string> flowbits_set;    // names set, unset or toggled
  std::vector<std::string> flowbits_check;  // names tested (isset, isnotset)
  std::string group;       // the file it came from (path inside its source)
  size_t source = 0;       // index of the --source it came from
};

// Parses one line (or joined continuation) as a rule. A line starting with
// '#' is a disabled rule when what follows is a rule with a sid; anything
// else is not a rule (false). `is_comment` tells which case a false is.
bool parse_rule_line(std::string_view line, RuleEntry& out, bool& is_comment);

struct TextStats {
  uint32_t rules = 0, enabled = 0, disabled = 0;
  uint32_t unparsable = 0;  // non-comment lines that are not a rule with a sid
  std::vector<std::string> problems;  // "group:line: ..." for each unparsable line
};
// Every rule of a file's text, in order, tagged with `group` and `source`.
std::vector<RuleEntry> parse_rules_text(std::string_view text, const std::string& group, size_t source,
                                        TextStats& st);

// The line written to the merged file: the text, "# "-prefixed when disabled.
std::string format_rule(const RuleEntry& r);

// Adds "noalert;" before the sid option (a rule enabled only for the flowbits it sets).
void make_noalert(RuleEntry& r);

// Metadata helpers: the value of `key` (first match, case-insensitive) or "".
std::string metadata_value(const RuleEntry& r, std::string_view key);

std::string lower(std::string_view s);
std::string_view trim(std::string_view s);

}  // namespace spectre::rules_update
