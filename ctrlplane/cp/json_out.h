// Small JSON writer for the control plane (socket protocol, registry index,
// audit log). Reading uses ml/json.h. Not on any packet path.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ml/json.h"

namespace spectre::cp {

// Appends `s` as a JSON string literal (quotes included). Control characters
// are escaped as \u00XX; other bytes are copied (UTF-8 passes through).
void json_escape(std::string& out, std::string_view s);

// Streaming writer: commas are inserted automatically.
//   JsonOut j; j.begin_obj(); j.kv("ok", true); j.key("list").begin_arr(); ... j.end_arr(); j.end_obj();
class JsonOut {
 public:
  JsonOut& begin_obj();
  JsonOut& end_obj();
  JsonOut& begin_arr();
  JsonOut& end_arr();
  JsonOut& key(std::string_view k);
  JsonOut& str(std::string_view v);
  JsonOut& num(int64_t v);
  JsonOut& unum(uint64_t v);
  JsonOut& dbl(double v);  // non-finite values are written as null
  JsonOut& boolean(bool v);
  JsonOut& null();
  JsonOut& raw(std::string_view json);  // an already serialised value

  JsonOut& kv(std::string_view k, std::string_view v) { return key(k).str(v); }
  JsonOut& kv(std::string_view k, const char* v) { return key(k).str(v); }
  JsonOut& kv(std::string_view k, const std::string& v) { return key(k).str(v); }
  JsonOut& kv(std::string_view k, bool v) { return key(k).boolean(v); }
  JsonOut& kv(std::string_view k, int v) { return key(k).num(v); }
  JsonOut& kv(std::string_view k, int64_t v) { return key(k).num(v); }
  JsonOut& kv(std::string_view k, uint32_t v) { return key(k).unum(v); }
  JsonOut& kv(std::string_view k, uint64_t v) { return key(k).unum(v); }
  JsonOut& kv(std::string_view k, double v) { return key(k).dbl(v); }

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void sep();
  std::string out_;
  std::vector<bool> first_;  // per open container: no member written yet
  bool after_key_ = false;
};

// Convenience readers over ml::json::Doc (missing or wrongly typed -> default).
std::string jget_str(const ml::json::Doc& d, uint32_t obj, std::string_view key,
                     const std::string& def = {});
int64_t jget_int(const ml::json::Doc& d, uint32_t obj, std::string_view key, int64_t def = 0);
bool jget_bool(const ml::json::Doc& d, uint32_t obj, std::string_view key, bool def = false);

}  // namespace spectre::cp
