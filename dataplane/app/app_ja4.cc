// JA4 of a ClientHello (FoxIO's JA4 spec; 't' for TLS over TCP, 'q' for QUIC):
//   t<version><d|i><ciphers><extensions><alpn>_<sha256(sorted ciphers)[:12]>_
//   <sha256(sorted extensions without SNI and ALPN "_" signature algorithms)[:12]>
// GREASE values are ignored everywhere; counts are capped at 99; version is
// the highest of supported_versions, else the hello's; ALPN is the first and
// last character of the first value (of its hex form when either is not
// alphanumeric), "00" when absent. Lists and texts live in the per-call
// scratch (a hello of n bytes has at most n/2 values), so nothing allocates.
#include <algorithm>
#include <cctype>
#include <cstring>

#include "dataplane/app/app_internal.h"
#include "dataplane/app/app_x509.h"

namespace spectre::app {

namespace {

uint16_t rd16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
bool grease(uint16_t v) { return (v & 0x0F0F) == 0x0A0A && (v >> 8) == (v & 0xFF); }

const char* version_code(uint16_t v) {
  switch (v) {
    case 0x0304: return "13";
    case 0x0303: return "12";
    case 0x0302: return "11";
    case 0x0301: return "10";
    case 0x0300: return "s3";
    case 0x0002: return "s2";
    case 0xfeff: return "d1";
    case 0xfefd: return "d2";
    case 0xfefc: return "d3";
    default: return "00";
  }
}

// sha256 of "xxxx,xxxx,..." (+ "_" + the second list when given), first 12
// hex digits; "000000000000" when the first list is empty. False when out of
// scratch.
bool hash12(AppCtx::Impl& m, const uint16_t* a, uint32_t na, const uint16_t* b, uint32_t nb, char* out) {
  if (!na) {
    memcpy(out, "000000000000", 12);
    return true;
  }
  static const char hx[] = "0123456789abcdef";
  char* t = reinterpret_cast<char*>(m.alloc(5 * (na + nb) + 1));
  if (!t) return false;
  uint32_t k = 0;
  auto put = [&](const uint16_t* v, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
      if (i) t[k++] = ',';
      for (int s = 12; s >= 0; s -= 4) t[k++] = hx[(v[i] >> s) & 15];
    }
  };
  put(a, na);
  if (nb) {
    t[k++] = '_';
    put(b, nb);
  }
  uint8_t h[32];
  sha256(t, k, h);
  for (int i = 0; i < 6; i++) out[2 * i] = hx[h[i] >> 4], out[2 * i + 1] = hx[h[i] & 15];
  return true;
}

}  // namespace

void ja4_string(AppCtx::Impl& m, uint16_t ver, const uint8_t* cs, uint32_t cs_len, const uint8_t* ext,
                uint32_t ext_n, char out[37], char kind) {
  uint16_t* ciphers = reinterpret_cast<uint16_t*>(m.alloc(cs_len + 2));
  uint16_t* exts = reinterpret_cast<uint16_t*>(m.alloc(ext_n / 2 + 2));
  uint16_t* sigs = reinterpret_cast<uint16_t*>(m.alloc(ext_n + 2));
  if (!ciphers || !exts || !sigs) {
    out[0] = 0;
    return;
  }
  uint32_t nc = 0, ne = 0, nh = 0, ns = 0;  // ne: all non-GREASE extensions; nh: hashed ones
  for (uint32_t i = 0; i + 1 < cs_len; i += 2)
    if (!grease(rd16(cs + i))) ciphers[nc++] = rd16(cs + i);
  bool sni = false;
  uint16_t best = 0;
  char alpn[2] = {'0', '0'};
  for (uint32_t i = 0; i + 4 <= ext_n;) {
    uint16_t type = rd16(ext + i);
    uint32_t len = rd16(ext + i + 2);
    const uint8_t* d = ext + i + 4;
    if (len > ext_n - i - 4) break;
    i += 4 + len;
    if (grease(type)) continue;
    ne++;
    if (type == 0) sni = true;
    if (type != 0 && type != 16) exts[nh++] = type;
    if (type == 16 && len >= 3 && d[2] && 3u + d[2] <= len) {  // ALPN: list length, first value
      uint8_t f = d[3], l = d[2 + d[2]];
      if (std::isalnum(f) && std::isalnum(l)) {
        alpn[0] = char(f), alpn[1] = char(l);
      } else {
        static const char hx[] = "0123456789abcdef";
        alpn[0] = hx[f >> 4], alpn[1] = hx[l & 15];
      }
    } else if (type == 13 && len >= 2) {  // signature_algorithms, in order
      uint32_t l = std::min<uint32_t>(rd16(d), len - 2);
      for (uint32_t k = 0; k + 1 < l; k += 2)
        if (!grease(rd16(d + 2 + k))) sigs[ns++] = rd16(d + 2 + k);
    } else if (type == 43 && len >= 1) {  // supported_versions: the highest
      uint32_t l = std::min<uint32_t>(d[0], len - 1);
      for (uint32_t k = 0; k + 1 < l; k += 2) {
        uint16_t v = rd16(d + 1 + k);
        if (!grease(v) && v > best) best = v;
      }
    }
  }
  std::sort(ciphers, ciphers + nc);
  std::sort(exts, exts + nh);
  const char* vc = version_code(best ? best : ver);
  const uint32_t shown_c = std::min<uint32_t>(nc, 99), shown_e = std::min<uint32_t>(ne, 99);
  char* o = out;
  *o++ = kind, *o++ = vc[0], *o++ = vc[1], *o++ = sni ? 'd' : 'i';
  *o++ = char('0' + shown_c / 10), *o++ = char('0' + shown_c % 10);
  *o++ = char('0' + shown_e / 10), *o++ = char('0' + shown_e % 10);
  *o++ = alpn[0], *o++ = alpn[1], *o++ = '_';
  bool ok = hash12(m, ciphers, nc, nullptr, 0, o);
  o += 12;
  *o++ = '_';
  ok = ok && hash12(m, exts, nh, sigs, ns, o);
  o[12] = 0;
  if (!ok) out[0] = 0;
}

}  // namespace spectre::app
