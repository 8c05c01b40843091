// EVE lines to store rows, and the small text helpers the store and the API share.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctrlplane/store/store.h"

namespace spectre::store {

// ",a,b," (so LIKE '%,a,%' matches one member exactly); "" for none.
std::string join_list(const std::vector<std::string>& v);
std::vector<std::string> split_list(std::string_view s);
bool ipv4_num(std::string_view s, int64_t& out);
// "a.b.c.d/n" -> inclusive range. False for anything else (v6 included).
bool parse_cidr4(std::string_view s, IpRange& out);
// RFC 3339 / EVE ("2025-01-01T00:00:01.123456+0000", "...Z", "...+01:00", a date) -> unix ms.
bool parse_time(std::string_view s, int64_t& ms);
std::string format_time(int64_t ms);  // "2025-01-01T00:00:01.123Z"

// An EVE alert line -> row (the EVE object kept verbatim). False when it is not one.
bool alert_from_eve(std::string_view line, AlertRow& out, std::string& err);
// An EVE incident record -> row. False when it is not one.
bool incident_from_eve(std::string_view line, IncidentRow& out, std::string& err);
bool flow_from_eve(std::string_view line, FlowRow& out);
// Stream severity of an incident level: critical/high 1, medium 2, low 3, info 4.
int level_severity(std::string_view level);

}  // namespace spectre::store
