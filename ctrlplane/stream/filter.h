// Per-subscription filters: min_severity, signature substring, address or
// CIDR on src or dest, category, level.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "ctrlplane/stream/event.h"

namespace spectre::stream {

// IPv4 is kept as v4-mapped IPv6 so one prefix table serves both.
struct IpAddr {
  std::array<uint8_t, 16> b{};
  bool valid = false;
};
bool parse_ip(std::string_view text, IpAddr& out);

struct Cidr {
  IpAddr net;      // masked
  uint8_t bits = 0;  // over the 128-bit form (v4 /24 == 120)
  bool contains(const IpAddr& a) const;
};
// "10.0.0.0/8", "2001:db8::/32" or a bare address (host prefix). False when malformed.
bool parse_cidr(std::string_view text, Cidr& out);
IpAddr mask(const IpAddr& a, uint8_t bits);

struct Filter {
  int min_severity = 0;   // 0: any; n: severity <= n (1 is the most severe)
  std::string signature;  // substring, case-sensitive
  bool has_ip = false;
  Cidr ip;                // matches src or dest
  std::string category;   // exact
  std::string level;      // exact (incidents)

  // Everything but the address, which the hub's prefix index checks.
  bool match_rest(const StreamEvent& ev) const;
};

// From the subscribe message's "filter" object. False with a reason when malformed.
bool parse_filter(const nlohmann::json& j, Filter& out, std::string& reason);
// From one SSE query parameter; true when the name is a filter field (reason set when its value is bad).
bool filter_param(std::string_view name, std::string_view value, Filter& out, std::string& reason);

}  // namespace spectre::stream
