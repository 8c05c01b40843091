// One JSON object's members written into a string (the EVE app objects of
// app_eve.cc and app_smb_eve.cc): commas between members, empty strings left
// out unless `always`. Writer thread only.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/events/json.h"

namespace spectre {

// JSON string (quotes included).
inline void jstr(std::string& out, std::string_view s) {
  out += '"';
  json_escape(out, s);
  out += '"';
}

struct JsonObj {
  std::string& out;
  bool first = true;
  void key(const char* k) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += k;
    out += "\":";
  }
  void str(const char* k, const char* v, bool always = false) {
    if (!v[0] && !always) return;
    key(k);
    jstr(out, v);
  }
  void num(const char* k, uint64_t v) {
    key(k);
    out += std::to_string(v);
  }
  // "k":{"hash":..,"string":..} (JA3, JA3S, CYU), when the hash is known;
  // k null: the bare object (a list element).
  void hash_obj(const char* k, const char* hash, const char* string) {
    if (!hash[0]) return;
    if (k) key(k);
    out += '{';
    JsonObj j{out};
    j.str("hash", hash);
    j.str("string", string);
    out += '}';
  }
};

}  // namespace spectre
