// Small text helpers shared by the spectre-ml subcommands (CSV and options).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
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

// One CSV line split like Python's csv module for a single line: fields between
// commas, double quotes group a field ("" inside quotes is one quote). Each field
// is trimmed. quoted_ok false: unbalanced quotes.
inline std::vector<std::string> split_csv(const std::string& s, bool* quoted_ok = nullptr) {
  std::vector<std::string> out;
  std::string cur;
  bool inq = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (inq) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') { cur += '"'; ++i; }
      else if (c == '"') inq = false;
      else cur += c;
    } else if (c == '"') inq = true;
    else if (c == ',') { out.push_back(trim(cur)); cur.clear(); }
    else cur += c;
  }
  out.push_back(trim(cur));
  if (quoted_ok) *quoted_ok = !inq;
  return out;
}

// Leading metadata columns of `spectre-dp --dump-features` rows. Some names
// (dst_port, proto) are also feature names later in the same header, so these
// columns are recognised by position and never used as features.
inline constexpr const char* kRowMetaColumns[] = {"flow_id", "phase",  "ts_start", "ts",   "src_ip",
                                                  "src_port", "dst_ip", "dst_port", "proto"};
inline constexpr size_t kNumRowMetaColumns = sizeof(kRowMetaColumns) / sizeof(kRowMetaColumns[0]);

// kNumRowMetaColumns when the header starts with the metadata columns, else 0.
inline size_t meta_prefix(const std::vector<std::string>& header) {
  if (header.size() < kNumRowMetaColumns) return 0;
  for (size_t i = 0; i < kNumRowMetaColumns; ++i)
    if (header[i] != kRowMetaColumns[i]) return 0;
  return kNumRowMetaColumns;
}

// Index of the first column named `name` at or after `from`, else -1.
inline int find_column(const std::vector<std::string>& header, const std::string& name, size_t from = 0) {
  for (size_t c = from; c < header.size(); ++c)
    if (header[c] == name) return static_cast<int>(c);
  return -1;
}

// Maps model features to CSV columns: by name among the columns after the
// metadata prefix (extra columns are ignored), else, when the header names none
// of them, by f0..fN. False with err listing the missing features.
inline bool map_features(const std::vector<std::string>& header, const std::vector<std::string>& names,
                         std::vector<int>& col, std::string& err) {
  const size_t from = meta_prefix(header);
  col.assign(names.size(), -1);
  std::string missing;
  size_t found = 0, nmissing = 0;
  for (size_t j = 0; j < names.size(); ++j) {
    col[j] = find_column(header, names[j], from);
    if (col[j] >= 0) { ++found; continue; }
    if (++nmissing <= 10) missing += (missing.empty() ? "" : ",") + names[j];
  }
  if (nmissing == 0) return true;
  if (found == 0) {  // generic names f0..fN
    bool all = true;
    for (size_t j = 0; j < names.size() && all; ++j)
      all = (col[j] = find_column(header, std::string(1, 'f').append(std::to_string(j)), from)) >= 0;
    if (all) return true;
  }
  err = "header has no column for " + std::to_string(nmissing) + " of the model's " + std::to_string(names.size()) +
        " features: " + missing + (nmissing > 10 ? ",..." : "");
  return false;
}

// A CSV of rows (feature dumps, labelled rows) read line by line: the header
// first, then each non-empty row with the header's cell count. Errors name
// the file and line ("PATH:LINE: ...").
class CsvRows {
 public:
  bool open(const std::string& path, std::string& err) {
    path_ = path;
    f_.open(path);
    if (!f_) { err = "cannot open " + path; return false; }
    std::string line;
    if (!std::getline(f_, line) || trim(line).empty()) { err = path + ": empty CSV (no header row)"; return false; }
    lineno_ = 1;
    header_ = split(line, ',');
    return true;
  }
  const std::vector<std::string>& header() const { return header_; }
  // The next row into cells: false at the end (err empty) or on a short or long row.
  bool next(std::vector<std::string>& cells, std::string& err) {
    std::string line;
    while (std::getline(f_, line)) {
      ++lineno_;
      if (trim(line).empty()) continue;
      cells = split(line, ',');
      if (cells.size() == header_.size()) return true;
      err = where() + ": " + std::to_string(cells.size()) + " cells, header has " + std::to_string(header_.size());
      return false;
    }
    return false;
  }
  // Appends cells[col[j]] as numbers to x; false + err on one that is not a number.
  bool append(const std::vector<std::string>& cells, const std::vector<int>& col, std::vector<double>& x,
              std::string& err) const {
    for (int c : col) {
      double v;
      if (!parse_number(cells[c], v)) {
        err = where() + ": not a number: '" + cells[c] + "' (column " + header_[c] + ")";
        return false;
      }
      x.push_back(v);
    }
    return true;
  }
  std::string where() const { return path_ + ":" + std::to_string(lineno_); }

 private:
  std::ifstream f_;
  std::string path_;
  size_t lineno_ = 0;
  std::vector<std::string> header_;
};

inline bool read_file(const std::string& path, std::string& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

// Exit codes of spectre-ml: 0 ok, 1 bad input, 2 wrong use.
inline constexpr int kOk = 0, kBadInput = 1, kUsage = 2;

inline int usage(const std::string& msg) {
  std::fprintf(stderr, "spectre-ml: %s\n(spectre-ml --help)\n", msg.c_str());
  return kUsage;
}

inline int bad(const std::string& msg) {
  std::fprintf(stderr, "spectre-ml: %s\n", msg.c_str());
  return kBadInput;
}

inline bool write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream o(path, std::ios::binary | std::ios::trunc);
  return o.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size())) && o.flush();
}

}  // namespace spectre::ml::cli
