#include "ctrlplane/cortex/assets.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

#include "dataplane/core/yaml_reader.h"

namespace spectre::cortex {

bool Cidr::contains(const Val& a) const {
  if (bits == 0) return true;
  if (bits <= 64) {
    uint64_t m = bits == 64 ? ~0ull : ~(~0ull >> bits);
    return (a.hi & m) == (net.hi & m);
  }
  uint64_t m = bits == 128 ? ~0ull : ~(~0ull >> (bits - 64));
  return a.hi == net.hi && (a.lo & m) == (net.lo & m);
}

bool parse_cidr(std::string_view s, Cidr& out) {
  size_t slash = s.find('/');
  uint8_t b[16], ver = 4;
  if (!parse_addr(s.substr(0, slash), b, ver)) return false;
  int max = ver == 4 ? 32 : 128, len = max;
  if (slash != std::string_view::npos) {
    std::string_view p = s.substr(slash + 1);
    if (p.empty() || p.size() > 3 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return false;
    len = std::stoi(std::string(p));
    if (len > max) return false;
  }
  out.net = addr_val(b, ver);
  out.bits = uint8_t(ver == 4 ? 96 + len : len);
  return true;
}

bool Asset::has(std::string_view tag) const { return std::find(tags.begin(), tags.end(), tag) != tags.end(); }

namespace {

bool cidrs(YamlReader& L, const YAML::Node& n, std::vector<Cidr>& out, std::string* first = nullptr) {
  std::vector<std::string> v;
  if (!L.strs(n, v)) return false;
  if (v.empty()) return L.fail(n, "expected an address or CIDR");
  for (auto& s : v) {
    Cidr c;
    if (!parse_cidr(s, c)) return L.fail(n, "'" + s + "' is not an address or CIDR");
    out.push_back(c);
  }
  if (first && first->empty()) *first = v[0];
  return true;
}

bool read_asset(YamlReader& L, const YAML::Node& n, Asset& a) {
  bool ok = L.each(n, "assets", [&](const std::string& k, const YAML::Node& v) {
    if (k == "address" || k == "addresses" || k == "cidr") return cidrs(L, v, a.where, &a.address);
    if (k == "name") return L.str(v, a.name);
    if (k == "owner") return L.str(v, a.owner);
    if (k == "role") return L.str(v, a.role);
    if (k == "tags") return L.strs(v, a.tags);
    if (k == "criticality") {
      uint32_t c = 0;
      if (!L.u32(v, c, 1, 4)) return false;
      a.criticality = uint8_t(c);
      return true;
    }
    return false;
  });
  if (!ok) return false;
  if (a.where.empty()) return L.fail(n, "an asset needs an address");
  if (a.name.empty()) a.name = a.address;
  a.crown_jewel = a.has("crown-jewel");
  a.scanner = a.has("authorized-scanner");
  return true;
}

bool read_allow(YamlReader& L, const YAML::Node& n, AllowEntry& e) {
  bool ok = L.each(n, "allow", [&](const std::string& k, const YAML::Node& v) {
    if (k == "name") return L.str(v, e.name);
    if (k == "src" || k == "src_ip") return cidrs(L, v, e.src);
    if (k == "dst" || k == "dest_ip") return cidrs(L, v, e.dst);
    if (k == "detector" || k == "ml_class") return L.strs(v, e.detector);
    if (k == "dest_port" || k == "sid") {
      std::vector<YAML::Node> items;
      if (v.IsSequence()) for (const auto& x : v) items.push_back(x);
      else items.push_back(v);
      for (auto& x : items) {
        uint32_t p = 0;
        if (!L.u32(x, p, 1, k == "sid" ? 0xffffffffu : 65535)) return false;
        if (k == "sid") e.sid.push_back(p);
        else e.dest_port.push_back(uint16_t(p));
      }
      return true;
    }
    return false;
  });
  if (!ok) return false;
  if (e.name.empty()) return L.fail(n, "an allow entry needs a name");
  if (e.src.empty() && e.dst.empty()) return L.fail(n, "an allow entry needs src or dst");
  return true;
}

template <typename T, typename F>
bool seq(YamlReader& L, const YAML::Node& n, const char* what, std::vector<T>& out, F&& read) {
  if (!n.IsSequence()) return L.fail(n, std::string("'") + what + "' must be a list");
  for (const auto& x : n) {
    T t;
    if (!read(L, x, t)) return false;
    out.push_back(std::move(t));
  }
  return true;
}

}  // namespace

bool AssetSet::load(std::string_view yaml, const std::string& path, std::string& err) {
  YAML::Node root;
  if (!parse_yaml(yaml, path, root, err)) return false;
  if (root.IsNull()) return true;
  YamlReader L{path, err};
  return L.each(root, "asset file", [&](const std::string& k, const YAML::Node& v) {
    if (k == "assets") return seq(L, v, "assets", assets, read_asset);
    if (k == "allow") return seq(L, v, "allow", allowed, read_allow);
    return false;
  });
}

const Asset* AssetSet::find(const Val& addr) const {
  const Asset* best = nullptr;
  int bits = -1;
  for (const Asset& a : assets)
    for (const Cidr& c : a.where)
      if (c.bits > bits && c.contains(addr)) best = &a, bits = c.bits;
  return best;
}

const AllowEntry* AssetSet::allow(const Detection& d) {
  if (allowed.empty() || d.kind == Kind::kFlow) return nullptr;
  Val s = addr_val(d.src, d.ip_ver), t = addr_val(d.dst, d.ip_ver);
  auto in = [](const std::vector<Cidr>& v, const Val& a) {
    return v.empty() || std::any_of(v.begin(), v.end(), [&](const Cidr& c) { return c.contains(a); });
  };
  for (AllowEntry& e : allowed) {
    if (!in(e.src, s) || !in(e.dst, t)) continue;
    if (!e.dest_port.empty() && std::find(e.dest_port.begin(), e.dest_port.end(), d.dport) == e.dest_port.end()) continue;
    if (!e.sid.empty() && std::find(e.sid.begin(), e.sid.end(), d.sid) == e.sid.end()) continue;
    std::string_view tag = d.kind == Kind::kMl ? d.ml_class : d.detector;
    if (!e.detector.empty() && std::find(e.detector.begin(), e.detector.end(), tag) == e.detector.end()) continue;
    e.hits++;
    silenced++;
    return &e;
  }
  return nullptr;
}

}  // namespace spectre::cortex
