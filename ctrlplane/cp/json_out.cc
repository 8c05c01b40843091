#include "ctrlplane/cp/json_out.h"

#include <cmath>
#include <cstdio>

namespace spectre::cp {

void json_escape(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
}

void JsonOut::sep() {
  if (after_key_) { after_key_ = false; return; }
  if (!first_.empty()) {
    if (!first_.back()) out_ += ',';
    first_.back() = false;
  }
}

JsonOut& JsonOut::begin_obj() { sep(); out_ += '{'; first_.push_back(true); return *this; }
JsonOut& JsonOut::end_obj() { out_ += '}'; first_.pop_back(); return *this; }
JsonOut& JsonOut::begin_arr() { sep(); out_ += '['; first_.push_back(true); return *this; }
JsonOut& JsonOut::end_arr() { out_ += ']'; first_.pop_back(); return *this; }

JsonOut& JsonOut::key(std::string_view k) {
  sep();
  json_escape(out_, k);
  out_ += ':';
  after_key_ = true;
  return *this;
}

JsonOut& JsonOut::str(std::string_view v) { sep(); json_escape(out_, v); return *this; }
JsonOut& JsonOut::num(int64_t v) { sep(); out_ += std::to_string(v); return *this; }
JsonOut& JsonOut::unum(uint64_t v) { sep(); out_ += std::to_string(v); return *this; }
JsonOut& JsonOut::dbl(double v) {
  sep();
  if (!std::isfinite(v)) { out_ += "null"; return *this; }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  out_ += buf;
  return *this;
}
JsonOut& JsonOut::boolean(bool v) { sep(); out_ += v ? "true" : "false"; return *this; }
JsonOut& JsonOut::null() { sep(); out_ += "null"; return *this; }
JsonOut& JsonOut::raw(std::string_view json) { sep(); out_ += json; return *this; }

std::string jget_str(const ml::json::Doc& d, uint32_t obj, std::string_view key, const std::string& def) {
  uint32_t i = d.find(obj, key);
  if (i == ml::json::kNone || d.type(i) != ml::json::Type::String) return def;
  return d.str(i);
}

int64_t jget_int(const ml::json::Doc& d, uint32_t obj, std::string_view key, int64_t def) {
  uint32_t i = d.find(obj, key);
  int64_t v = 0;
  if (i == ml::json::kNone || d.type(i) != ml::json::Type::Number || !d.to_int(i, v)) return def;
  return v;
}

bool jget_bool(const ml::json::Doc& d, uint32_t obj, std::string_view key, bool def) {
  uint32_t i = d.find(obj, key);
  if (i == ml::json::kNone || d.type(i) != ml::json::Type::Bool) return def;
  return d.raw(i) == "true";
}

}  // namespace spectre::cp
