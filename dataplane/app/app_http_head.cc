// HTTP/1 head parsing: see app_http_head.h and the comment at the top of app_http.cc.
#include "dataplane/app/app_http_head.h"

#include <cstring>

namespace spectre {
namespace app {
namespace h1 {

bool ieq(const uint8_t* p, uint32_t n, const char* lit) {
  size_t l = strlen(lit);
  if (n != l) return false;
  for (uint32_t i = 0; i < n; i++)
    if (lower(p[i]) != uint8_t(lit[i])) return false;
  return true;
}

void parse_head(const uint8_t* h, uint32_t n, bool req, HeadView& v) {
  v.nh = 0;
  v.line = v.a = v.b = v.c = Range{};
  const uint8_t* lf = static_cast<const uint8_t*>(memchr(h, '\n', n));
  uint32_t e = lf ? uint32_t(lf - h) : n;
  uint32_t next = lf ? e + 1 : n;
  if (e && h[e - 1] == '\r') e--;
  v.line = {0, e};
  // Start line: three fields separated by runs of SP/HT; the third is the rest.
  uint32_t i = 0;
  Range* f[3] = {&v.a, &v.b, &v.c};
  for (int k = 0; k < 3; k++) {
    while (i < e && is_ws(h[i])) i++;
    uint32_t st = i;
    if (k == 2) {
      uint32_t en = e;
      while (en > st && is_ws(h[en - 1])) en--;
      *f[k] = {st, en - st};
      break;
    }
    while (i < e && !is_ws(h[i])) i++;
    *f[k] = {st, i - st};
  }
  if (req && v.c.len > 5) {
    // Spaces in the URI (libhtp): the protocol is the last token when it is
    // "HTTP/..."; the URI is everything between the method and it.
    uint32_t ls = v.c.off + v.c.len;
    while (ls > v.c.off && !is_ws(h[ls - 1])) ls--;
    if (ls > v.c.off && v.c.off + v.c.len - ls >= 5 && memcmp(h + ls, "HTTP/", 5) == 0) {
      uint32_t ue = ls;
      while (ue > v.b.off && is_ws(h[ue - 1])) ue--;
      v.b.len = ue - v.b.off;
      v.c = {ls, v.c.off + v.c.len - ls};
    }
  }
  uint32_t pos = next;
  while (pos < n) {
    lf = static_cast<const uint8_t*>(memchr(h + pos, '\n', n - pos));
    if (!lf) break;
    uint32_t le = uint32_t(lf - h);
    uint32_t nx = le + 1;
    if (le > pos && h[le - 1] == '\r') le--;
    if (le == pos) break;  // empty line: end of head
    if (is_ws(h[pos])) {
      if (v.nh) v.h[v.nh - 1].vend = le;  // folded continuation
    } else if (v.nh < kMaxHeaders) {
      const uint8_t* colon = static_cast<const uint8_t*>(memchr(h + pos, ':', le - pos));
      if (colon) {
        uint32_t ce = uint32_t(colon - h);
        uint32_t ne = ce;
        while (ne > pos && is_ws(h[ne - 1])) ne--;
        if (ne > pos) v.h[v.nh++] = {{pos, ne - pos}, ce + 1, le};
      }
    }
    pos = nx;
  }
}

uint32_t header_value(const uint8_t* h, const HdrEnt& e, uint8_t* out) {
  uint32_t o = 0, p = e.vstart;
  while (p < e.vend) {
    const uint8_t* lf = static_cast<const uint8_t*>(memchr(h + p, '\n', e.vend - p));
    uint32_t le = lf ? uint32_t(lf - h) : e.vend;
    uint32_t s = p, t = le;
    while (s < t && is_ws(h[s])) s++;
    while (t > s && (is_ws(h[t - 1]) || h[t - 1] == '\r')) t--;
    if (t > s) {
      if (o) out[o++] = ' ';
      memcpy(out + o, h + s, t - s);
      o += t - s;
    }
    p = le + 1;
  }
  return o;
}

int find_header(const uint8_t* h, const HeadView& v, const char* lname) {
  for (uint32_t i = 0; i < v.nh; i++)
    if (ieq(h + v.h[i].name.off, v.h[i].name.len, lname)) return int(i);
  return -1;
}

}  // namespace h1
}  // namespace app
}  // namespace spectre
