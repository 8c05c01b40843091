// Strict YAML readers shared by the configuration sections (core/config.cc,
// behave/config.cc) and the YAML loading of the data plane and the control
// plane (cortex, cp, api). Main thread or a reload helper; never a worker. Each
// reader records the first error as "path:line: message" and returns false,
// so a typo or a wrong type never silently keeps a default. Header-only: the
// control plane's libraries use it without linking the data plane.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace spectre {

// "where:line: message" at a YAML mark; where "" gives "line N: message".
inline std::string yaml_error(std::string_view where, const YAML::Mark& m, std::string_view msg) {
  if (where.empty()) return fmt::format("line {}: {}", m.line + 1, msg);
  return fmt::format("{}:{}: {}", where, m.line + 1, msg);
}

// f() (a bool), with a yaml-cpp exception it throws (syntax, or a conversion
// the caller did not check) as false and err = yaml_error(where, ...).
template <typename F>
bool yaml_try(std::string_view where, std::string& err, F&& f) {
  try {
    return f();
  } catch (const YAML::Exception& e) {
    err = yaml_error(where, e.mark, e.msg);
    return false;
  }
}

// YAML text (named where in errors) into root, or its documents into docs.
inline bool parse_yaml(std::string_view text, std::string_view where, YAML::Node& root, std::string& err) {
  return yaml_try(where, err, [&] { root = YAML::Load(std::string(text)); return true; });
}
inline bool parse_yaml_all(std::string_view text, std::string_view where, std::vector<YAML::Node>& docs,
                           std::string& err) {
  return yaml_try(where, err, [&] { docs = YAML::LoadAll(std::string(text)); return true; });
}

// The YAML file at path into root; errors "path:line: message". A file that
// cannot be opened: "path: <cannot_open>" if given, else yaml-cpp's
// "path:0: bad file: path".
inline bool load_yaml_file(const std::string& path, YAML::Node& root, std::string& err,
                           std::string_view cannot_open = {}) {
  try {
    root = YAML::LoadFile(path);
    return true;
  } catch (const YAML::BadFile& e) {
    err = cannot_open.empty() ? yaml_error(path, e.mark, e.msg) : fmt::format("{}: {}", path, cannot_open);
  } catch (const YAML::Exception& e) {
    err = yaml_error(path, e.mark, e.msg);
  }
  return false;
}

struct YamlReader {
  const std::string& path;
  std::string& err;

  bool fail(const YAML::Node& n, const std::string& msg) {
    if (err.empty()) err = yaml_error(path, n.Mark(), msg);
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
