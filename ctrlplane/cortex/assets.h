// Asset and business context for Reflex: an asset file (YAML) maps addresses
// and CIDRs to a name, owner, role, criticality 1-4 and tags (crown-jewel,
// authorized-scanner, dmz, ...), and an allow-list silences known periodic
// jobs. Read once at start on the main thread; looked up by the Cortex
// thread only (never a worker). Lookups are linear scans: meant for up to a
// few thousand entries, and done once per entity an incident gains, not per
// packet.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ctrlplane/cortex/detection.h"

namespace spectre::cortex {

// An address or CIDR in Val space (IPv4 mapped: a /24 is a /120).
struct Cidr {
  Val net;
  uint8_t bits = 128;
  bool contains(const Val& a) const;
};
bool parse_cidr(std::string_view s, Cidr& out);  // "10.0.0.0/8", "2001:db8::/32", "10.1.2.3"

struct Asset {
  std::vector<Cidr> where;
  std::string address;             // as written (the first)
  std::string name, owner, role;
  uint8_t criticality = 2;         // 1 (low) .. 4 (crown jewels)
  std::vector<std::string> tags;
  bool crown_jewel = false, scanner = false;  // tags crown-jewel, authorized-scanner
  bool has(std::string_view tag) const;
};

// A known periodic job: its detections join no incident and feed no rule.
struct AllowEntry {
  std::string name;
  std::vector<Cidr> src, dst;      // empty: any
  std::vector<uint16_t> dest_port; // empty: any
  std::vector<std::string> detector;  // behaviour detectors / ML classes; empty: any
  std::vector<uint32_t> sid;       // empty: any
  uint64_t hits = 0;               // detections silenced
};

class AssetSet {
 public:
  // Null error string on success; else "file:line: message".
  bool load(std::string_view yaml, const std::string& path, std::string& err);
  // The most specific asset containing the address (longest prefix); null if none.
  const Asset* find(const Val& addr) const;
  // The allow entry this detection matches (counted), or null.
  const AllowEntry* allow(const Detection& d);
  bool empty() const { return assets.empty() && allowed.empty(); }
  std::vector<Asset> assets;
  std::vector<AllowEntry> allowed;
  uint64_t silenced = 0;
};

}  // namespace spectre::cortex
