// JSON string escaping shared by every EVE writer (writer thread and compile
// time only). Control characters and bytes that are not valid UTF-8 become
// \u00XX (the byte value), so the output is always valid JSON.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spectre {

// Length of a valid UTF-8 sequence at p (n bytes left), 0 if invalid.
inline int utf8_len(const uint8_t* p, size_t n) {
  uint8_t c = p[0];
  int len;
  uint32_t min;
  if (c >= 0xC2 && c <= 0xDF) len = 2, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, min = 0x10000;
  else return 0;
  if (size_t(len) > n) return 0;
  uint32_t cp = c & (0x7F >> len);
  for (int i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

// Appends `s` escaped, without quotes. Out: std::string or fmt::memory_buffer.
template <typename Out>
void json_escape(Out& out, std::string_view s) {
  static const char hx[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    const char* e = nullptr;
    switch (c) {
      case '"': e = "\\\""; break;
      case '\\': e = "\\\\"; break;
      case '\n': e = "\\n"; break;
      case '\r': e = "\\r"; break;
      case '\t': e = "\\t"; break;
      case '\b': e = "\\b"; break;
      case '\f': e = "\\f"; break;
      default: break;
    }
    if (e) {
      out.push_back(e[0]);
      out.push_back(e[1]);
      continue;
    }
    if (c >= 0x20 && c < 0x7F) {
      out.push_back(char(c));
      continue;
    }
    if (c >= 0x80) {
      if (int l = utf8_len(p + i, n - i)) {
        for (int k = 0; k < l; k++) out.push_back(char(p[i + size_t(k)]));
        i += size_t(l) - 1;
        continue;
      }
    }
    for (char ch : {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15]}) out.push_back(ch);
  }
}

}  // namespace spectre
