// HTTP/1 head parsing (app_http_head.cc): the start line's three fields and
// the header entries as offsets into the head, once per message; used by
// app_http.cc to build the buffers and to frame the body.
#pragma once

#include <cstdint>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {
namespace h1 {

struct Range {
  uint32_t off = 0, len = 0;
};
struct HdrEnt {
  Range name;
  uint32_t vstart, vend;  // raw value: after ':' to the end of the last continuation line
};
struct HeadView {
  Range line, a, b, c;  // request: method uri protocol; response: protocol status message
  uint32_t nh = 0;
  HdrEnt h[kMaxHeaders];
};

inline bool is_ws(uint8_t ch) { return ch == ' ' || ch == '\t'; }
inline uint8_t lower(uint8_t ch) { return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch; }

bool ieq(const uint8_t* p, uint32_t n, const char* lit);  // p equals the lowercase lit, any case
// Splits the head into the start line and header entries. Bytes after the
// last LF (a head cut by the limit) are ignored.
void parse_head(const uint8_t* h, uint32_t n, bool req, HeadView& v);
// Header value: continuation lines joined by one space, each trimmed.
// Writes into out (capacity >= vend - vstart) and returns the length.
uint32_t header_value(const uint8_t* h, const HdrEnt& e, uint8_t* out);
// The index of the first header named lname (lowercase), or -1.
int find_header(const uint8_t* h, const HeadView& v, const char* lname);

}  // namespace h1
}  // namespace app
}  // namespace spectre
