// Small text helpers shared by the spectre-ml subcommands (CSV and options).
#pragma once
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace spectre::ml::cli {

inline std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

// Fields between `sep`, each trimmed; a trailing separator gives an empty last field.
inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(trim(s.substr(start, p == std::string::npos ? std::string::npos : p - start)));
    if (p == std::string::npos) break;
    start = p + 1;
  }
  return out;
}

// A number, or NaN for an empty cell or "nan"; surrounding blanks are ignored.
inline bool parse_number(const std::string& s, double& v) {
  const std::string t = trim(s);
  if (t.empty() || t == "nan" || t == "NaN" || t == "NAN") {
    v = std::nan("");
    return true;
  }
  char* end = nullptr;
  v = std::strtod(t.c_str(), &end);
  return end && *end == '\0';
}

inline bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

}  // namespace spectre::ml::cli
