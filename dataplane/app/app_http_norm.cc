// http.uri and http.host normalisation (libhtp's defaults, mostly; see the
// comment at the top of app_http.cc). Pure functions over one message's
// bytes, O(length), writing into caller-provided scratch.
#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {
namespace {

uint8_t lower(uint8_t ch) { return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch; }

}  // namespace

int hexv(uint8_t ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

// Normalized URI into out (capacity >= n + 1).
uint32_t normalize_uri(const uint8_t* u, uint32_t n, uint8_t* out) {
  // Absolute URI: skip scheme and authority.
  uint32_t start = 0;
  for (uint32_t i = 0; i < n && i < 16; i++) {
    if (u[i] == ':' ) {
      if (i > 0 && i + 2 < n && u[i + 1] == '/' && u[i + 2] == '/') {
        uint32_t j = i + 3;
        while (j < n && u[j] != '/' && u[j] != '?' && u[j] != '#') j++;
        start = j;
      }
      break;
    }
    if (!((u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') || u[i] == '+' ||
          u[i] == '-' || u[i] == '.'))
      break;
  }
  // Percent-decoding.
  uint8_t* dec = out;  // decode in place in out, then normalize the path in place
  uint32_t dn = 0;
  if (start > 0 && (start == n || u[start] != '/')) dec[dn++] = '/';
  bool in_path = true;
  for (uint32_t i = start; i < n; i++) {
    if (u[i] == '?' || u[i] == '#') in_path = false;
    if (u[i] == '%' && i + 2 < n && hexv(u[i + 1]) >= 0 && hexv(u[i + 2]) >= 0) {
      uint8_t ch = uint8_t(hexv(u[i + 1]) * 16 + hexv(u[i + 2]));
      // Path: every escape but %2F (a separator only when raw) and %00, as
      // libhtp. Query: every escape but %00 ("%20 ... normalizing it" to a
      // space, Suricata's http.uri documentation; issue 12's
      // `GET /?id=1%20UNION%20SELECT` against content:"UNION SELECT").
      if (in_path ? (ch != '/' && ch != 0 && ch != '?' && ch != '#') : ch != 0) {
        dec[dn++] = ch;
        i += 2;
        continue;
      }
    }
    dec[dn++] = u[i];
  }
  uint32_t pe = 0;
  while (pe < dn && dec[pe] != '?' && dec[pe] != '#') pe++;
  if (pe == 0 || dec[0] != '/') return dn;  // "*", relative: left alone
  // Path segments, written over the decoded path (output never overtakes input).
  uint32_t o = 0, i = 0;
  bool trailing = false;
  while (i < pe) {
    i++;  // the '/'
    uint32_t s = i;
    while (i < pe && dec[i] != '/') i++;
    uint32_t len = i - s;
    trailing = (i == pe) && (len == 0 || (len == 1 && dec[s] == '.') ||
                             (len == 2 && dec[s] == '.' && dec[s + 1] == '.'));
    if (len == 0 || (len == 1 && dec[s] == '.')) continue;
    if (len == 2 && dec[s] == '.' && dec[s + 1] == '.') {
      while (o > 0 && dec[o - 1] != '/') o--;
      if (o > 0) o--;
      continue;
    }
    dec[o++] = '/';
    memmove(dec + o, dec + s, len);
    o += len;
  }
  if (o == 0 || trailing) dec[o++] = '/';
  memmove(dec + o, dec + pe, dn - pe);
  return o + (dn - pe);
}

// Host: trimmed, port removed, lowercased.
uint32_t normalize_host(const uint8_t* h, uint32_t n, uint8_t* out) {
  uint32_t e = n;
  if (n && h[0] == '[') {
    const uint8_t* rb = static_cast<const uint8_t*>(memchr(h, ']', n));
    if (rb) e = uint32_t(rb - h) + 1;
  } else {
    for (uint32_t i = n; i-- > 0;) {
      if (h[i] == ':') {
        bool digits = true;
        for (uint32_t k = i + 1; k < n; k++) digits &= (h[k] >= '0' && h[k] <= '9');
        if (digits) e = i;
        break;
      }
    }
  }
  while (e > 0 && h[e - 1] == '.') e--;
  for (uint32_t i = 0; i < e; i++) out[i] = lower(h[i]);
  return e;
}

}  // namespace app
}  // namespace spectre
