// Threat-intelligence indicators and the compiled set the workers match
// against (like Suricata's datasets). Feeds are read and compiled on the main
// thread or a reload helper; the IntelSet is immutable afterwards and hangs
// off the RCU snapshot. Match functions never allocate: keys are normalised
// into stack buffers and looked up in open-addressing tables (load <= 1/2).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace spectre::intel {

constexpr uint32_t kGid = 9200;  // alert gid (ML 9000, behaviour 9100); sid = 1 + Type
constexpr uint32_t kNone = 0xffffffffu;

enum class Type : uint8_t { kIp, kDomain, kUrl, kJa3, kCertSha1, kCount };
const char* type_name(Type t);

// What the indicator is for, from its feed's words ("C&C", "botnet_cc",
// "phishing", ...): decides the ATT&CK tactic written with the alert.
enum class Kind : uint8_t { kUnknown, kC2, kMalwareDownload, kPhishing, kScanner };
Kind kind_from_text(std::string_view s);  // case-insensitive keywords; kUnknown if none

struct Indicator {
  Type type = Type::kIp;
  Kind kind = Kind::kUnknown;
  uint8_t confidence = 50;    // 0-100
  bool subdomains = false;    // domain: children match too (parent-domain suffix)
  std::string feed, value;    // value as written in the feed
  std::string key;            // normalised (domain lowercase, URL host+path, hex lowercase)
  uint8_t addr[16] = {};      // kIp: network, IPv4 in the first 4 bytes
  uint8_t prefix = 0, ip_ver = 0;
  std::string threat;         // malware family / threat name ("Emotet", "phishing")
  std::vector<std::string> tags;
  uint64_t first_seen = 0, last_seen = 0;    // ns since epoch; 0: unknown
  uint64_t valid_from = 0, valid_until = 0;  // ns; 0: unbounded
  uint64_t expires = 0;       // ns; 0: never (valid_until or last_seen + feed TTL, the earlier)
  uint64_t ident = 0;         // hash of feed + type + key: stable across reloads (per-flow dedup)
  uint32_t next = kNone;      // next indicator with the same key (another feed)
};

enum class Format : uint8_t { kAuto, kMisp, kStix, kFeodo, kSslblJa3, kSslblCert, kUrlhaus, kPlain };
const char* format_name(Format f);
bool parse_format(std::string_view s, Format& out);

// One `intel.feeds` entry (or --intel PATH: format auto).
struct FeedSpec {
  std::string name, path;
  Format format = Format::kAuto;
  bool has_type = false;       // plain lists: the indicators' type (required)
  Type type = Type::kIp;
  uint32_t ttl_s = 0;          // 0: no TTL; else last_seen (or first_seen) + TTL expires
  int confidence = -1;         // -1: the feed's own / the format's default
  std::string threat;          // overrides the feed's threat text when set
};

struct FeedSummary {
  std::string name, path;
  Format format = Format::kAuto;
  uint64_t loaded = 0, skipped = 0;
  std::vector<std::pair<std::string, uint64_t>> skip_reasons;  // reason -> count
};

class IntelSet;

// Reads one feed into `out` (appending). False with `err` naming the file
// (and line where it applies) on malformed input; indicators it does not
// support are skipped and counted in `sum` instead.
bool read_feed(const FeedSpec& spec, std::vector<Indicator>& out, FeedSummary& sum, std::string& err);

// Reads every feed and compiles them; null with `err` when any feed is broken.
std::shared_ptr<const IntelSet> load_intel(const std::vector<FeedSpec>& feeds, std::string& err);

// Hits of one lookup: indicators (by index) that are in force at the packet
// time, and how many matched but had expired (or were not yet valid).
struct Hits {
  static constexpr uint32_t kMax = 8;
  uint32_t idx[kMax];
  uint32_t n = 0, expired = 0;
};

class IntelSet {
 public:
  // Compiles `ind` (takes them); FeedSummaries are kept for stats.
  IntelSet(std::vector<Indicator> ind, std::vector<FeedSummary> feeds);
  ~IntelSet();

  // Longest-prefix match of an address (ip_ver 4: first 4 bytes).
  void match_ip(const uint8_t* addr, uint8_t ip_ver, uint64_t now_ns, Hits& h) const;
  // Exact name, then each parent domain (subdomain indicators only).
  void match_domain(std::string_view name, uint64_t now_ns, Hits& h) const;
  // host (Host header, may carry :port) and request target (origin or absolute form).
  void match_http_url(std::string_view host, std::string_view target, uint64_t now_ns, Hits& h) const;
  void match_ja3(std::string_view md5_hex, uint64_t now_ns, Hits& h) const;
  void match_cert_sha1(std::string_view sha1_hex, uint64_t now_ns, Hits& h) const;

  const Indicator& at(uint32_t i) const { return ind_[i]; }
  size_t size() const { return ind_.size(); }
  size_t count(Type t) const { return by_type_[size_t(t)]; }
  const std::vector<FeedSummary>& feeds() const { return feeds_; }
  std::string summary_json() const;  // {"feed":{"loaded":N,"skipped":M},...}

  struct Table;  // set.cc

 private:
  void add_hits(uint32_t first, uint64_t now_ns, Hits& h, bool child = false) const;
  std::vector<Indicator> ind_;
  std::vector<FeedSummary> feeds_;
  size_t by_type_[size_t(Type::kCount)] = {};
  std::unique_ptr<Table> v4_[33], v6_[129];   // by prefix length; null: none of that length
  std::vector<uint8_t> v4_lens_, v6_lens_;    // lengths present, longest first
  std::unique_ptr<Table> dom_, url_, ja3_, sha1_;
};

// "N indicators from M feeds (name: n loaded, k skipped (reason n, ...); ...)".
std::string intel_summary(const IntelSet& s);

// Key normalisation (also used by the readers). False: not a valid value.
bool norm_domain(std::string_view in, char* out, size_t cap, size_t& n);  // lowercase, no trailing dot
bool norm_hex(std::string_view in, size_t digits, char* out);            // lowercase, ':' removed
// URL "scheme://host[:port]/path?q" -> "host/path?q" (default port dropped, fragment removed).
bool norm_url(std::string_view url, std::string& out);
// "a.b.c.d", IPv6, optional "/len". ip_ver 4 or 6; the host bits are cleared.
bool parse_cidr(std::string_view s, uint8_t addr[16], uint8_t& prefix, uint8_t& ip_ver);
// ISO 8601 / "YYYY-MM-DD HH:MM:SS" (UTC) or epoch seconds -> ns; false if unreadable.
bool parse_time(std::string_view s, uint64_t& ns);

}  // namespace spectre::intel
