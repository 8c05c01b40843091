// Behaviour detectors: configuration (`behaviour:` in the YAML file) and the
// immutable settings the workers read from the snapshot. Main thread / reload
// helper only, except `Settings`, which workers read through the snapshot.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dataplane/core/divider.h"
#include "dataplane/rules/rule.h"

namespace YAML { class Node; }

namespace spectre::behave {

enum Detector : uint8_t { kScan = 1, kSynFlood, kBruteForce, kBeacon, kSlowDos, kExfil, kFlood, kDetectorEnd };
constexpr uint32_t kGid = 9100;  // alert gid; sid = Detector
const char* detector_name(uint8_t d);

struct Cidr {
  uint8_t addr[16] = {};
  uint8_t ver = 0;   // 0: any address
  uint8_t bits = 0;
  bool contains(const uint8_t* a, uint8_t ip_ver) const;
};
// "10.0.0.0/8", "2001:db8::/32", "192.0.2.1", "any". False on anything else.
bool parse_cidr(const std::string& s, Cidr& out);

struct AllowRule {
  Cidr src, dst;        // ver 0: any
  uint32_t port = 0;    // 0: any (destination / service port)
  uint8_t detectors = 0xff;  // bit (1 << Detector); all when not given
};

// Everything here is reloadable (SIGHUP) except the sizes, fixed at start.
struct Config {
  bool enabled = true;
  // Sizes per worker (entries; rounded up to a power of two, 4-way sets).
  uint32_t sources = 16384, pairs = 32768, victims = 8192;
  uint32_t mailbox = 16384;      // summaries per worker-to-worker ring
  uint32_t window_s = 60;        // scan, brute force, slow DoS, exfiltration; episode idle end
  uint32_t flood_window_s = 10;  // SYN flood and flood
  double grow = 4;               // re-alert when an episode's flow count grows by this factor
  // scan: per source; (horizontal OR vertical) AND failed ratio.
  uint32_t scan_dsts = 25, scan_ports = 50;
  double scan_failed_ratio = 0.7;
  // scan of few ports (nmap -sV -p 22,80,443): >= scan_few_ports TCP probes
  // refused or reset by the prober itself (half-open, or closed right after
  // the handshake without data), over >= scan_few_ports distinct (host, port),
  // >= 3 ports per host on average. 0: off.
  uint32_t scan_few_ports = 4;
  // UDP scan of few ports (nmap -sU -p 53,123,161,...): >= scan_few_udp UDP
  // probes to unicast hosts that ended unanswered, over >= scan_few_udp
  // distinct (host, port), >= 3 ports per host on average. 0: off.
  uint32_t scan_few_udp = 6;
  // synflood: per destination host, TCP SYNs not completing the handshake.
  double syn_half_open_per_s = 20;
  // flood: per destination host, unsolicited / unanswered flows (reflection).
  double flood_flows_per_s = 20;
  uint32_t flood_sources = 10;
  // bruteforce: per (src, dst, port) short sessions to an auth service, or HTTP 401/403.
  uint32_t brute_attempts = 12;
  uint32_t brute_max_duration_s = 30;
  // Not 25 (relays deliver in bursts) nor 88 (a Kerberos logon is a burst of
  // short exchanges; without the KDC's error codes they look like guessing).
  std::vector<uint32_t> auth_ports = {21, 22, 23, 110, 139, 143, 445, 465, 587, 993, 995,
                                      1433, 3306, 3389, 5432, 5900, 5901};
  // beacon: per (src, dst, port) connection starts.
  uint32_t beacon_min = 8;
  bool beacon_udp = false;       // UDP keepalives (VoIP, games, metrics) are periodic by design
  double beacon_cv = 0.25, beacon_size_cv = 0.5;
  uint32_t beacon_min_interval_s = 1, beacon_max_interval_s = 3600;
  std::vector<uint32_t> beacon_exclude_ports = {53, 67, 68, 123, 137, 138, 1900, 5353, 5355,
                                                110, 143, 993, 995};
  // slowdos: per (dst, port) TCP connections still open `slow_min_duration_s`
  // after they started with no completed HTTP request (or no request byte),
  // sending <= slow_max_rate bytes/s to the server (frames) by then; counted
  // mid-flow, not at the flow's end.
  uint32_t slow_flows = 15, slow_min_duration_s = 5;
  double slow_max_rate = 512;
  // exfil: per (src, dst) outbound bytes in the window.
  uint64_t exfil_min_bytes = 4000000;  // 0 exfil alerts over the nDPI captures at 4 MB
  double exfil_factor = 10;      // x the source's EWMA of outbound bytes per window
  std::vector<AllowRule> allow;
};

// Parses the `behaviour:` map into `c`; unknown keys are errors. On error
// sets err ("path:line: message") and returns false.
bool parse_config(const YAML::Node& n, const std::string& path, Config& c, std::string& err);

// Worker view (in the snapshot): config plus what is derived from it.
struct Settings {
  Config c;
  rules::IpSet home;             // the snapshot's $HOME_NET, when configured
  bool home_set = false;         // false: not configured (exfil toward any destination)
  uint64_t auth_bits[1024] = {};  // port bitmaps
  uint64_t beacon_excl_bits[1024] = {};
  uint64_t window_ns = 0, flood_window_ns = 0;
  // Packet time -> window / sub-window number (sub-window: a quarter window, >= 1 ns).
  Divider window_div, slot_div, flood_slot_div;
  bool is_auth(uint16_t p) const { return auth_bits[p >> 6] >> (p & 63) & 1; }
  bool beacon_excluded(uint16_t p) const { return beacon_excl_bits[p >> 6] >> (p & 63) & 1; }
  bool in_home(const uint8_t* a, uint8_t ver) const;
  bool allowed(uint8_t det, const uint8_t* src, const uint8_t* dst, uint8_t ver, uint16_t port) const;
};

// `home`: the snapshot's $HOME_NET (rules::parse_address_set, parsed once per
// snapshot) when the configuration sets HOME_NET, else null.
void build_settings(const Config& c, const rules::IpSet* home, Settings& s);

}  // namespace spectre::behave
