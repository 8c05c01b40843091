// The compiled indicator set: one open-addressing table per key kind (and per
// CIDR prefix length). Lookups hash a normalised key held in a stack buffer
// and compare the candidate's stored key: no allocation, ~1 cache miss per probe.
#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "dataplane/intel/intel.h"

namespace spectre::intel {

namespace {

inline uint64_t mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x9e3779b97f4a7c15ull;
  x ^= x >> 29;
  return x;
}

// 8 bytes per step; short keys (domains, hashes) take 3-6 steps.
uint64_t hash_bytes(const void* p, size_t n, uint64_t seed) {
  const auto* b = static_cast<const uint8_t*>(p);
  uint64_t h = seed ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, b, 8);
    h = mix(h ^ w) * 0xc4ceb9fe1a85ec53ull;
    b += 8;
    n -= 8;
  }
  uint64_t w = 0;
  if (n) std::memcpy(&w, b, n);
  return mix(h ^ w ^ (uint64_t(n) << 56));
}

// IPv4: the masked address itself is the slot's key (mixed for the index),
// so a probe never reads the indicator.
inline uint64_t v4_key(const uint8_t* a) {
  uint32_t v;
  std::memcpy(&v, a, 4);
  return uint64_t(v) | (1ull << 40);
}
inline uint64_t slot_index(uint64_t h) { return mix(h); }

void mask_addr(uint8_t* a, uint8_t prefix, int bytes) {
  for (int i = 0; i < bytes; i++) {
    int bits = int(prefix) - i * 8;
    if (bits >= 8) continue;
    a[i] &= bits <= 0 ? 0 : uint8_t(0xff << (8 - bits));
  }
}

// Character maps: one load per byte instead of data-dependent branches (random
// hex digits mispredicted ~every other byte: ~190 ns per JA3 before).
struct CharMaps {
  char hex[256];   // lowercase hex digit, ':' kept, 0 otherwise
  char name[256];  // lowercase; 0 for bytes a name may not hold (controls, space, '/')
  constexpr CharMaps() : hex(), name() {
    for (int c = 0; c < 256; c++) {
      char l = char(c >= 'A' && c <= 'Z' ? c + 32 : c);
      hex[c] = (l >= '0' && l <= '9') || (l >= 'a' && l <= 'f') || c == ':' ? l : 0;
      name[c] = c <= ' ' || c == '/' || c == 0x7f ? 0 : l;
    }
  }
};
constexpr CharMaps kMaps;

}  // namespace

// Open addressing, linear probing, capacity a power of two >= 2 * entries.
struct IntelSet::Table {
  struct Slot {
    uint64_t h;
    uint32_t idx;  // kNone: empty
  };
  std::vector<Slot> slots;
  uint64_t mask = 0;

  explicit Table(size_t n) {
    size_t cap = 8;
    while (cap < n * 2) cap <<= 1;
    slots.assign(cap, Slot{0, kNone});
    mask = cap - 1;
  }
  // Returns the slot holding an equal key (eq(idx)) or the empty slot to use.
  template <typename Eq>
  Slot& find(uint64_t h, Eq&& eq) {
    for (uint64_t i = slot_index(h) & mask;; i = (i + 1) & mask) {
      Slot& s = slots[i];
      if (s.idx == kNone || (s.h == h && eq(s.idx))) return s;
    }
  }
  template <typename Eq>
  uint32_t lookup(uint64_t h, Eq&& eq) const {
    for (uint64_t i = slot_index(h) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots[i];
      if (s.idx == kNone) return kNone;
      if (s.h == h && eq(s.idx)) return s.idx;
    }
  }
};

const char* type_name(Type t) {
  switch (t) {
    case Type::kIp: return "ip";
    case Type::kDomain: return "domain";
    case Type::kUrl: return "url";
    case Type::kJa3: return "ja3";
    case Type::kCertSha1: return "x509-sha1";
    default: return "?";
  }
}

Kind kind_from_text(std::string_view s) {
  std::string l(s);
  for (char& c : l) c = char(std::tolower(static_cast<unsigned char>(c)));
  auto has = [&](const char* w) { return l.find(w) != std::string::npos; };
  if (has("c&c") || has("c2") || has("botnet_cc") || has("command-and-control") || has("command and control") ||
      has("cnc") || has("botnet"))
    return Kind::kC2;
  if (has("phish")) return Kind::kPhishing;
  if (has("malware_download") || has("malware download") || has("payload")) return Kind::kMalwareDownload;
  if (has("scan")) return Kind::kScanner;
  return Kind::kUnknown;
}

bool norm_domain(std::string_view in, char* out, size_t cap, size_t& n) {
  while (!in.empty() && in.back() == '.') in.remove_suffix(1);
  if (in.empty() || in.size() >= cap) return false;
  char bad = 1;
  for (size_t i = 0; i < in.size(); i++) {
    char c = kMaps.name[static_cast<unsigned char>(in[i])];
    out[i] = c;
    bad &= char(c != 0);
  }
  n = in.size();
  return bad != 0;
}

bool norm_hex(std::string_view in, size_t digits, char* out) {
  if (in.size() == digits) {  // the usual case: no separators, branch-free
    char ok = 1;
    for (size_t i = 0; i < digits; i++) {
      char c = kMaps.hex[static_cast<unsigned char>(in[i])];
      out[i] = c;
      ok &= char(c != 0 && c != ':');
    }
    return ok != 0;
  }
  size_t k = 0;
  for (char c : in) {  // "aa:bb:..." fingerprints
    if (c == ':') continue;
    c = kMaps.hex[static_cast<unsigned char>(c)];
    if (k == digits || !c) return false;
    out[k++] = c;
  }
  return k == digits;
}

bool norm_url(std::string_view u, std::string& out) {
  size_t p = u.find("://");
  int defport = 80;
  if (p != std::string_view::npos) {
    std::string_view scheme = u.substr(0, p);
    if (scheme.size() == 5 && (scheme[4] == 's' || scheme[4] == 'S')) defport = 443;
    u.remove_prefix(p + 3);
  }
  size_t h = u.find_first_of("/?#");
  std::string_view host = u.substr(0, h), rest = h == std::string_view::npos ? "" : u.substr(h);
  if (size_t at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
  if (size_t c = host.rfind(':'); c != std::string_view::npos && host.find(']') == std::string_view::npos) {
    std::string_view port = host.substr(c + 1);
    if (port == std::to_string(defport) || port.empty() || port == "80" || port == "443") host = host.substr(0, c);
  }
  if (size_t f = rest.find('#'); f != std::string_view::npos) rest = rest.substr(0, f);
  char buf[256];
  size_t n = 0;
  if (!norm_domain(host, buf, sizeof buf, n)) return false;
  out.assign(buf, n);
  if (rest.empty() || rest[0] != '/') out += '/';
  out.append(rest);
  return true;
}

IntelSet::IntelSet(std::vector<Indicator> ind, std::vector<FeedSummary> feeds)
    : ind_(std::move(ind)), feeds_(std::move(feeds)) {
  size_t n4[33] = {}, n6[129] = {}, ns[5] = {};
  for (const Indicator& i : ind_) {
    by_type_[size_t(i.type)]++;
    if (i.type == Type::kIp) (i.ip_ver == 4 ? n4[i.prefix] : n6[i.prefix])++;
    else ns[size_t(i.type)]++;
  }
  for (int l = 32; l >= 0; l--)
    if (n4[l]) { v4_[l] = std::make_unique<Table>(n4[l]); v4_lens_.push_back(uint8_t(l)); }
  for (int l = 128; l >= 0; l--)
    if (n6[l]) { v6_[l] = std::make_unique<Table>(n6[l]); v6_lens_.push_back(uint8_t(l)); }
  dom_ = std::make_unique<Table>(ns[size_t(Type::kDomain)]);
  url_ = std::make_unique<Table>(ns[size_t(Type::kUrl)]);
  ja3_ = std::make_unique<Table>(ns[size_t(Type::kJa3)]);
  sha1_ = std::make_unique<Table>(ns[size_t(Type::kCertSha1)]);
  for (uint32_t k = 0; k < ind_.size(); k++) {
    Indicator& i = ind_[k];
    Table* t;
    uint64_t h;
    if (i.type == Type::kIp) {
      int bytes = i.ip_ver == 4 ? 4 : 16;
      t = (i.ip_ver == 4 ? v4_ : v6_)[i.prefix].get();
      h = i.ip_ver == 4 ? v4_key(i.addr) : hash_bytes(i.addr, size_t(bytes), i.prefix);
      i.ident = hash_bytes(i.addr, size_t(bytes), 0x1000u + i.prefix);
      i.ident ^= hash_bytes(i.feed.data(), i.feed.size(), 7);  // per feed: each feed's listing alerts
    } else {
      t = i.type == Type::kDomain ? dom_.get() : i.type == Type::kUrl ? url_.get() : i.type == Type::kJa3 ? ja3_.get() : sha1_.get();
      h = hash_bytes(i.key.data(), i.key.size(), 0);
      i.ident = hash_bytes(i.key.data(), i.key.size(), 0x2000u + unsigned(i.type)) ^ (i.subdomains ? 1 : 0) ^
                hash_bytes(i.feed.data(), i.feed.size(), 7);
    }
    Table::Slot& s = t->find(h, [&](uint32_t o) {
      const Indicator& x = ind_[o];
      return i.type == Type::kIp ? std::memcmp(x.addr, i.addr, 16) == 0 : x.key == i.key;
    });
    if (s.idx == kNone) {
      s = {h, k};
    } else {  // same key from another entry: chained, each alerts on its own
      uint32_t last = s.idx;
      while (ind_[last].next != kNone) last = ind_[last].next;
      ind_[last].next = k;
    }
  }
}

IntelSet::~IntelSet() = default;

void IntelSet::add_hits(uint32_t first, uint64_t now, Hits& h, bool child) const {
  for (uint32_t k = first; k != kNone; k = ind_[k].next) {
    const Indicator& i = ind_[k];
    if (child && !i.subdomains) continue;  // a hostname indicator: exact only
    if ((i.expires && now >= i.expires) || (i.valid_from && now < i.valid_from)) {
      h.expired++;
      continue;
    }
    if (h.n < Hits::kMax) h.idx[h.n++] = k;
  }
}

void IntelSet::match_ip(const uint8_t* addr, uint8_t ip_ver, uint64_t now, Hits& h) const {
  if (ip_ver == 4) {  // masked address as the key: one probe per prefix length, no indicator read
    uint32_t be;
    std::memcpy(&be, addr, 4);
    const uint32_t host = __builtin_bswap32(be);
    for (uint8_t len : v4_lens_) {
      uint32_t m = len ? host & (0xffffffffu << (32 - len)) : 0;
      uint64_t key = uint64_t(__builtin_bswap32(m)) | (1ull << 40);
      uint32_t k = v4_[len]->lookup(key, [](uint32_t) { return true; });
      if (k != kNone) {
        add_hits(k, now, h);
        return;
      }
    }
    return;
  }
  const int bytes = 16;
  const auto& lens = v6_lens_;
  const auto* tabs = v6_;
  alignas(8) uint8_t a[16] = {};
  for (uint8_t len : lens) {  // longest prefix first; the first length that matches wins
    std::memcpy(a, addr, size_t(bytes));
    mask_addr(a, len, bytes);
    uint32_t k = tabs[len]->lookup(hash_bytes(a, size_t(bytes), len), [&](uint32_t o) {
      return std::memcmp(ind_[o].addr, a, size_t(bytes)) == 0;
    });
    if (k != kNone) {
      add_hits(k, now, h);
      return;
    }
  }
}

void IntelSet::match_domain(std::string_view name, uint64_t now, Hits& h) const {
  if (!by_type_[size_t(Type::kDomain)]) return;
  char buf[256];
  size_t n = 0;
  if (!norm_domain(name, buf, sizeof buf, n)) return;
  for (size_t off = 0; off < n;) {  // "a.b.c": "a.b.c" exact, then "b.c", "c" for subdomain indicators
    std::string_view k(buf + off, n - off);
    uint32_t i = dom_->lookup(hash_bytes(k.data(), k.size(), 0), [&](uint32_t o) { return ind_[o].key == k; });
    if (i != kNone) {
      uint32_t before = h.n + h.expired;
      add_hits(i, now, h, off != 0);
      if (h.n + h.expired != before) return;  // the longest listed name decides
    }
    const void* dot = std::memchr(buf + off, '.', n - off);
    if (!dot) break;
    off = size_t(static_cast<const char*>(dot) - buf) + 1;
  }
}

void IntelSet::match_http_url(std::string_view host, std::string_view target, uint64_t now, Hits& h) const {
  if (!by_type_[size_t(Type::kUrl)]) return;
  if (target.size() > 7 && (target.substr(0, 7) == "http://" || target.substr(0, 8) == "https://")) {
    size_t p = target.find("://") + 3;
    size_t s = target.find('/', p);
    host = target.substr(p, s == std::string_view::npos ? std::string_view::npos : s - p);
    target = s == std::string_view::npos ? std::string_view("/") : target.substr(s);
  }
  if (size_t c = host.rfind(':'); c != std::string_view::npos && host.find(']') == std::string_view::npos)
    host = host.substr(0, c);
  char buf[2048];
  size_t n = 0;
  if (!norm_domain(host, buf, 256, n) || n + target.size() + 1 > sizeof buf) return;
  if (target.empty() || target[0] != '/') buf[n++] = '/';
  if (!target.empty()) std::memcpy(buf + n, target.data(), target.size());
  n += target.size();
  std::string_view k(buf, n);
  for (int pass = 0; pass < 2; pass++) {  // exact, then without the query string
    uint32_t i = url_->lookup(hash_bytes(k.data(), k.size(), 0), [&](uint32_t o) { return ind_[o].key == k; });
    if (i != kNone) {
      add_hits(i, now, h);
      return;
    }
    size_t q = k.find('?');
    if (q == std::string_view::npos) return;
    k = k.substr(0, q);
  }
}

void IntelSet::match_ja3(std::string_view md5, uint64_t now, Hits& h) const {
  char k[32];
  if (!by_type_[size_t(Type::kJa3)] || !norm_hex(md5, 32, k)) return;
  std::string_view s(k, 32);
  uint32_t i = ja3_->lookup(hash_bytes(k, 32, 0), [&](uint32_t o) { return ind_[o].key == s; });
  if (i != kNone) add_hits(i, now, h);
}

void IntelSet::match_cert_sha1(std::string_view sha1, uint64_t now, Hits& h) const {
  char k[40];
  if (!by_type_[size_t(Type::kCertSha1)] || !norm_hex(sha1, 40, k)) return;
  std::string_view s(k, 40);
  uint32_t i = sha1_->lookup(hash_bytes(k, 40, 0), [&](uint32_t o) { return ind_[o].key == s; });
  if (i != kNone) add_hits(i, now, h);
}

std::string intel_summary(const IntelSet& s) {
  std::string o = fmt::format("{} indicators from {} feed(s) (", s.size(), s.feeds().size());
  for (size_t i = 0; i < s.feeds().size(); i++) {
    const FeedSummary& f = s.feeds()[i];
    o += fmt::format("{}{} [{}]: {} loaded, {} skipped", i ? "; " : "", f.name, format_name(f.format), f.loaded,
                     f.skipped);
    for (size_t k = 0; k < f.skip_reasons.size(); k++)
      o += fmt::format("{}{} {}", k ? ", " : " (", f.skip_reasons[k].first, f.skip_reasons[k].second);
    if (!f.skip_reasons.empty()) o += ")";
  }
  return o + ")";
}

std::string IntelSet::summary_json() const {
  std::string o = "{";
  for (size_t i = 0; i < feeds_.size(); i++)
    o += fmt::format("{}\"{}\":{{\"format\":\"{}\",\"loaded\":{},\"skipped\":{}}}", i ? "," : "", feeds_[i].name,
                     format_name(feeds_[i].format), feeds_[i].loaded, feeds_[i].skipped);
  return o + "}";
}

}  // namespace spectre::intel
