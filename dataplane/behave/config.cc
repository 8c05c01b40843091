#include "dataplane/behave/config.h"

#include <arpa/inet.h>

#include <cstring>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "dataplane/core/yaml_reader.h"

namespace spectre::behave {

namespace {
const char* const kNames[kDetectorEnd] = {"?", "scan", "synflood", "bruteforce", "beacon", "slowdos", "exfil",
                                          "flood"};

// The shared strict readers plus this section's own value types.
struct P : YamlReader {
  bool cidr(const YAML::Node& n, Cidr& c) {
    if (!n.IsScalar() || !parse_cidr(n.Scalar(), c)) return fail(n, "expected an address or CIDR");
    return true;
  }
  bool allow(const YAML::Node& n, std::vector<AllowRule>& out) {
    if (!n.IsSequence()) return fail(n, "behaviour.allow: expected a list of {src, dst, port, detectors}");
    for (const auto& e : n) {
      AllowRule r;
      if (!each(e, "behaviour.allow", [&](const std::string& k, const YAML::Node& v) {
            if (k == "src") return cidr(v, r.src);
            if (k == "dst") return cidr(v, r.dst);
            if (k == "port") return u32(v, r.port, 1, 65535);
            if (k == "detectors") {
              if (!v.IsSequence()) return fail(v, "expected a list of detector names");
              r.detectors = 0;
              for (const auto& d : v) {
                int found = 0;
                for (int i = 1; i < kDetectorEnd; i++)
                  if (d.IsScalar() && d.Scalar() == kNames[i]) found = i;
                if (!found) return fail(d, "unknown detector (scan, synflood, bruteforce, beacon, slowdos, exfil, flood)");
                r.detectors |= uint8_t(1u << found);
              }
              return true;
            }
            return false;
          }))
        return false;
      out.push_back(r);
    }
    return true;
  }
};

void set_bits(const std::vector<uint32_t>& ports, uint64_t* bits) {
  std::memset(bits, 0, 1024 * 8);
  for (uint32_t p : ports) bits[(p & 0xffff) >> 6] |= 1ull << (p & 63);
}
}  // namespace

const char* detector_name(uint8_t d) { return d < kDetectorEnd ? kNames[d] : "?"; }

bool parse_cidr(const std::string& s, Cidr& out) {
  out = Cidr{};
  if (s == "any") return true;
  std::string a = s;
  int bits = -1;
  size_t slash = s.find('/');
  if (slash != std::string::npos) {
    a = s.substr(0, slash);
    const std::string b = s.substr(slash + 1);
    if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos) return false;
    bits = std::stoi(b);
  }
  if (inet_pton(AF_INET, a.c_str(), out.addr) == 1) {
    out.ver = 4;
    if (bits < 0) bits = 32;
    if (bits > 32) return false;
  } else if (inet_pton(AF_INET6, a.c_str(), out.addr) == 1) {
    out.ver = 6;
    if (bits < 0) bits = 128;
    if (bits > 128) return false;
  } else {
    return false;
  }
  out.bits = uint8_t(bits);
  return true;
}

bool Cidr::contains(const uint8_t* a, uint8_t ip_ver) const {
  if (ver == 0) return true;
  if (ver != ip_ver) return false;
  int full = bits / 8, rest = bits % 8;
  if (std::memcmp(addr, a, size_t(full)) != 0) return false;
  if (!rest) return true;
  uint8_t m = uint8_t(0xff << (8 - rest));
  return (addr[full] & m) == (a[full] & m);
}

bool Settings::in_home(const uint8_t* a, uint8_t ver) const { return home_set && home.contains(a, ver); }

bool Settings::allowed(uint8_t det, const uint8_t* src, const uint8_t* dst, uint8_t ver, uint16_t port) const {
  for (const AllowRule& r : c.allow)
    if ((r.detectors >> det & 1) && (!r.port || r.port == port) && r.src.contains(src, ver) &&
        r.dst.contains(dst, ver))
      return true;
  return false;
}

bool parse_config(const YAML::Node& n, const std::string& path, Config& c, std::string& err) {
  P p{{path, err}};
  const uint32_t kMax = 1u << 24;
  return p.each(n, "behaviour", [&](const std::string& k, const YAML::Node& v) {
    if (k == "enabled") {
      try { c.enabled = v.as<bool>(); return true; } catch (const YAML::Exception&) { return p.fail(v, "expected true or false"); }
    }
    if (k == "sources") return p.u32(v, c.sources, 16, kMax);
    if (k == "pairs") return p.u32(v, c.pairs, 16, kMax);
    if (k == "victims") return p.u32(v, c.victims, 16, kMax);
    if (k == "mailbox") return p.u32(v, c.mailbox, 64, kMax);
    if (k == "window") return p.u32(v, c.window_s, 1, 86400);
    if (k == "grow") return p.num(v, c.grow, 1.1, 1000);
    if (k == "allow") return p.allow(v, c.allow);
    if (k == "scan")
      return p.each(v, "behaviour.scan", [&](const std::string& sk, const YAML::Node& sv) {
        if (sk == "distinct_dsts") return p.u32(sv, c.scan_dsts, 2, kMax);
        if (sk == "distinct_ports") return p.u32(sv, c.scan_ports, 2, kMax);
        if (sk == "failed_ratio") return p.num(sv, c.scan_failed_ratio, 0, 1);
        if (sk == "few_ports") return p.u32(sv, c.scan_few_ports, 0, kMax);
        if (sk == "few_udp_ports") return p.u32(sv, c.scan_few_udp, 0, kMax);
        return false;
      });
    if (k == "synflood" || k == "flood")
      return p.each(v, "behaviour." + k, [&](const std::string& sk, const YAML::Node& sv) {
        if (sk == "window") return p.u32(sv, c.flood_window_s, 1, 3600);
        if (k == "synflood" && sk == "half_open_per_s") return p.num(sv, c.syn_half_open_per_s, 0.01, 1e9);
        if (k == "flood" && sk == "flows_per_s") return p.num(sv, c.flood_flows_per_s, 0.01, 1e9);
        if (k == "flood" && sk == "min_sources") return p.u32(sv, c.flood_sources, 1, kMax);
        return false;
      });
    if (k == "bruteforce")
      return p.each(v, "behaviour.bruteforce", [&](const std::string& sk, const YAML::Node& sv) {
        if (sk == "attempts") return p.u32(sv, c.brute_attempts, 2, kMax);
        if (sk == "max_duration") return p.u32(sv, c.brute_max_duration_s, 1, 86400);
        if (sk == "ports") return p.ports(sv, c.auth_ports);
        return false;
      });
    if (k == "beacon")
      return p.each(v, "behaviour.beacon", [&](const std::string& sk, const YAML::Node& sv) {
        if (sk == "min_connections") return p.u32(sv, c.beacon_min, 4, 16);
        if (sk == "udp") {
          try { c.beacon_udp = sv.as<bool>(); return true; } catch (const YAML::Exception&) { return p.fail(sv, "expected true or false"); }
        }
        if (sk == "max_cv") return p.num(sv, c.beacon_cv, 0, 10);
        if (sk == "max_size_cv") return p.num(sv, c.beacon_size_cv, 0, 100);
        if (sk == "min_interval") return p.u32(sv, c.beacon_min_interval_s, 0, 86400);
        if (sk == "max_interval") return p.u32(sv, c.beacon_max_interval_s, 1, 86400 * 7);
        if (sk == "exclude_ports") return p.ports(sv, c.beacon_exclude_ports);
        return false;
      });
    if (k == "slowdos")
      return p.each(v, "behaviour.slowdos", [&](const std::string& sk, const YAML::Node& sv) {
        if (sk == "flows") return p.u32(sv, c.slow_flows, 2, kMax);
        if (sk == "min_duration") return p.u32(sv, c.slow_min_duration_s, 1, 86400);
        if (sk == "max_rate") return p.num(sv, c.slow_max_rate, 0, 1e9);
        return false;
      });
    if (k == "exfil")
      return p.each(v, "behaviour.exfil", [&](const std::string& sk, const YAML::Node& sv) {
        if (sk == "min_bytes") return p.u64(sv, c.exfil_min_bytes);
        if (sk == "factor") return p.num(sv, c.exfil_factor, 1, 1e6);
        return false;
      });
    return false;
  });
}

void build_settings(const Config& c, const rules::IpSet* home, Settings& s) {
  s.c = c;
  s.window_ns = uint64_t(c.window_s) * 1000000000ull;
  s.flood_window_ns = uint64_t(c.flood_window_s) * 1000000000ull;
  s.window_div = Divider(s.window_ns);
  s.slot_div = Divider(s.window_ns / 4);  // engine.cc's kSlots
  s.flood_slot_div = Divider(s.flood_window_ns / 4);
  set_bits(c.auth_ports, s.auth_bits);
  set_bits(c.beacon_exclude_ports, s.beacon_excl_bits);
  // Regular attempts at an authentication port are brute force, not a beacon.
  for (uint32_t p : c.auth_ports) s.beacon_excl_bits[(p & 0xffff) >> 6] |= 1ull << (p & 63);
  s.home_set = home != nullptr;
  s.home = home ? *home : rules::IpSet{};
}

}  // namespace spectre::behave
