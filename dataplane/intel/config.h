// The `intel:` configuration section (list of feeds) and --intel PATH.
#pragma once
#include <string>
#include <vector>

#include "dataplane/core/yaml_reader.h"
#include "dataplane/intel/intel.h"

namespace spectre::intel {

// intel: {feeds: [{name, path, format, type, ttl, confidence, threat}, ...]}
bool parse_config(const YAML::Node& v, YamlReader& L, std::vector<FeedSpec>& feeds);
bool valid_feed_name(std::string_view n);
std::string feed_name_for(const std::string& path);  // the file (or directory) name, sanitised
bool parse_type(std::string_view s, Type& t);

}  // namespace spectre::intel
