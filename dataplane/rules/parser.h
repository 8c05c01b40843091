// Rule-language parser: one Suricata/Snort 3 style rule into the AST of
// rule.h. The accepted language is documented in rules/README.md.
#pragma once
#include <string>
#include <string_view>

#include "dataplane/rules/rule.h"

namespace spectre::rules {

// Parses one rule (continuation lines already joined; no leading '#').
// On failure returns false with `err` set: `unsupported` is true when the
// rule is valid but uses something we do not support ("unsupported keyword:
// byte_test", "unsupported: <what>"), false for a syntax error.
// `out.file`/`out.line` are left as they were (the loader sets them).
bool parse_rule(std::string_view text, const Vars& vars, Rule& out, std::string& err, bool& unsupported);

}  // namespace spectre::rules
