// Strict YAML readers shared by the configuration sections (core/config.cc,
// behave/config.cc). Main thread or a reload helper; never a worker. Each
// reader records the first error as "path:line: message" and returns false,
// so a typo or a wrong type never silently keeps a default.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace spectre {

struct YamlReader {
  const std::string& path;
  std::string& err;

  bool fail(const YAML::Node& n, const std::string& msg) {
    if (err.empty()) err = fmt::format("{}:{}: {}", path, n.Mark().line + 1, msg);
    return false;
  }
  bool str(const YAML::Node& n, std::string& out) {
    if (!n.IsScalar()) return fail(n, "expected a string");
    out = n.Scalar();
    return true;
  }
  bool boolean(const YAML::Node& n, bool& out) {
    try {
      out = n.as<bool>();
      return true;
    } catch (const YAML::Exception&) {
      return fail(n, "expected true or false");
    }
  }
  bool strs(const YAML::Node& n, std::vector<std::string>& out) {
    if (n.IsScalar()) { out.push_back(n.Scalar()); return true; }
    if (!n.IsSequence()) return fail(n, "expected a list of strings");
    for (const auto& e : n) {
      std::string v;
      if (!str(e, v)) return false;
      out.push_back(v);
    }
    return true;
  }
  bool str_map(const YAML::Node& n, std::string_view section, std::map<std::string, std::string>& out) {
    return each(n, section, [&](const std::string& k, const YAML::Node& v) {
      std::string name = k[0] == '$' ? k.substr(1) : k;
      return str(v, out[name]);
    });
  }
  bool u32(const YAML::Node& n, uint32_t& out, uint32_t lo, uint32_t hi) {
    try {
      uint64_t v = n.as<uint64_t>();
      if (v < lo || v > hi) return fail(n, fmt::format("value {} out of range [{}, {}]", v, lo, hi));
      out = uint32_t(v);
      return true;
    } catch (const YAML::Exception&) {
      return fail(n, "expected a non-negative integer");
    }
  }
  // Visits each key of a map, rejecting unknown ones.
  template <typename F>
  bool each(const YAML::Node& map, std::string_view section, F&& f) {
    if (!map.IsMap()) return fail(map, fmt::format("'{}' must be a map", section));
    for (const auto& kv : map) {
      if (!kv.first.IsScalar()) return fail(kv.first, fmt::format("keys in '{}' must be names", section));
      std::string k = kv.first.Scalar();
      if (!f(k, kv.second)) {
        if (err.empty()) fail(kv.first, fmt::format("unknown key '{}' in '{}'", k, section));
        return false;
      }
    }
    return true;
  }

  bool u64(const YAML::Node& n, uint64_t& out) {
    try {
      out = n.as<uint64_t>();
      return true;
    } catch (const YAML::Exception&) {
      return fail(n, "expected a non-negative integer");
    }
  }
  bool num(const YAML::Node& n, double& out, double lo, double hi) {
    try {
      double v = n.as<double>();
      if (!(v >= lo && v <= hi)) return fail(n, fmt::format("value {} out of range [{}, {}]", v, lo, hi));
      out = v;
      return true;
    } catch (const YAML::Exception&) {
      return fail(n, "expected a number");
    }
  }
  bool ports(const YAML::Node& n, std::vector<uint32_t>& out) {
    if (!n.IsSequence()) return fail(n, "expected a list of ports");
    out.clear();
    for (const auto& e : n) {
      uint32_t p;
      if (!u32(e, p, 1, 65535)) return false;
      out.push_back(p);
    }
    return true;
  }
};

}  // namespace spectre
