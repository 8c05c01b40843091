// classification.config reader (Suricata format):
//   config classification: shortname,description,priority
#pragma once
#include <map>
#include <string>
#include <string_view>

#include "dataplane/rules/rule.h"

namespace spectre::rules {

// Parses the text of a classification.config; `name` is used in messages
// ("name:line: ..."). Blank lines and '#' comments are skipped. A later entry
// with the same short name replaces the earlier one (as in Suricata).
bool parse_classification(std::string_view text, const std::string& name,
                          std::map<std::string, Classification>& out, std::string& err);

// Reads and parses a file; false with err on an unreadable file or a bad line.
bool load_classification(const std::string& path, std::map<std::string, Classification>& out,
                         std::string& err);

}  // namespace spectre::rules
