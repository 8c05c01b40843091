// Buffer transforms, semantics from Suricata's "Transformations" page:
// to_lowercase/to_uppercase (ASCII), strip_whitespace (drops isspace bytes),
// compress_whitespace (a run of whitespace becomes one space), url_decode
// ('+' -> space, %HH -> byte; anything else kept, %uXXXX not decoded),
// dotprefix ("." + buffer), header_lowercase (names lowercased up to ':',
// values kept to the end of the line), xor (repeating key), from_base64
// (from `offset`, at most `bytes` input bytes; rfc4648 stops at the first byte
// outside the alphabet, rfc2045 skips such bytes, strict gives nothing when
// one occurs), pcrexform (the first capture group; no match: unchanged).
#include "dataplane/detect/transforms.h"

#include <algorithm>
#include <cstring>

#include "dataplane/detect/detect_impl.h"

namespace spectre::detect_internal {
namespace {

bool is_space(uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

int hexv(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int b64v(uint8_t c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '+' ? 62 : c == '/' ? 63 : -1;
}

// out has room for kXformMax bytes; returns the output length.
uint32_t base64(const rules::Transform& t, const uint8_t* in, uint32_t n, uint8_t* out) {
  if (t.b64_offset >= n) return 0;
  in += t.b64_offset;
  n -= t.b64_offset;
  if (t.b64_bytes && t.b64_bytes < n) n = t.b64_bytes;
  uint32_t o = 0, acc = 0, bits = 0;
  for (uint32_t i = 0; i < n && o < kXformMax; i++) {
    int v = b64v(in[i]);
    if (v < 0) {
      if (in[i] == '=' || t.b64_mode == 0) break;  // padding, or rfc4648: stop
      if (t.b64_mode == 2) return 0;               // strict: invalid input
      continue;                                    // rfc2045: skip
    }
    acc = acc << 6 | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = uint8_t(acc >> bits);
    }
  }
  return o;
}

}  // namespace

uint32_t base64_decode(const uint8_t* d, uint32_t n, uint8_t* out) {
  uint32_t o = 0, acc = 0, bits = 0;
  for (uint32_t i = 0; i < n && o < kXformMax; i++) {
    if (is_space(d[i])) continue;
    int v = b64v(d[i]);
    if (v < 0) break;
    acc = acc << 6 | uint32_t(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = uint8_t(acc >> bits);
    }
  }
  return o;
}

std::string build_xform(const std::vector<rules::Transform>& steps, XformC& out) {
  out.steps = steps;
  out.re.assign(steps.size(), nullptr);
  for (size_t i = 0; i < steps.size(); i++) {
    if (steps[i].kind != rules::Transform::Kind::kPcreXform) continue;
    int ec = 0;
    PCRE2_SIZE eo = 0;
    out.re[i] = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(steps[i].arg.data()), steps[i].arg.size(), 0, &ec, &eo,
                              nullptr);
    uint32_t caps = 0;
    if (out.re[i]) pcre2_pattern_info(out.re[i], PCRE2_INFO_CAPTURECOUNT, &caps);
    if (!out.re[i] || caps < 1) {
      free_xform(out);
      return "pcrexform \"" + steps[i].arg + "\": " + (caps < 1 ? "needs a capture group" : "does not compile");
    }
  }
  return {};
}

void free_xform(XformC& x) {
  for (auto*& r : x.re)
    if (r) pcre2_code_free(r), r = nullptr;
}

uint32_t xform_pairs(const XformC& x) {
  uint32_t m = 0;
  for (auto* r : x.re) {
    uint32_t caps = 0;
    if (r && pcre2_pattern_info(r, PCRE2_INFO_CAPTURECOUNT, &caps) == 0) m = std::max(m, caps + 1);
  }
  return m;
}

bool apply_xform(const XformC& x, WorkerState& ws, const uint8_t*& d, uint32_t& n) {
  using K = rules::Transform::Kind;
  bool whole = true;
  for (size_t s = 0; s < x.steps.size(); s++) {
    const rules::Transform& t = x.steps[s];
    uint8_t* out = d == ws.xbuf[0].get() ? ws.xbuf[1].get() : ws.xbuf[0].get();  // never the input
    const uint32_t cap = kXformMax;
    if (n > cap) n = cap, whole = false;
    uint32_t o = 0;
    switch (t.kind) {
      case K::kToLower: case K::kToUpper:
        for (uint32_t i = 0; i < n; i++) {
          uint8_t c = d[i];
          out[i] = t.kind == K::kToLower ? (c >= 'A' && c <= 'Z' ? c + 32 : c) : (c >= 'a' && c <= 'z' ? c - 32 : c);
        }
        o = n;
        break;
      case K::kStripWs:
        for (uint32_t i = 0; i < n; i++)
          if (!is_space(d[i])) out[o++] = d[i];
        break;
      case K::kCompressWs:
        for (uint32_t i = 0; i < n; i++) {
          if (!is_space(d[i])) out[o++] = d[i];
          else if (i == 0 || !is_space(d[i - 1])) out[o++] = ' ';
        }
        break;
      case K::kUrlDecode:
        for (uint32_t i = 0; i < n; i++) {
          int h, l;
          if (d[i] == '+') out[o++] = ' ';
          else if (d[i] == '%' && i + 2 < n && (h = hexv(d[i + 1])) >= 0 && (l = hexv(d[i + 2])) >= 0)
            out[o++] = uint8_t(h << 4 | l), i += 2;
          else out[o++] = d[i];
        }
        break;
      case K::kDotPrefix:
        out[o++] = '.';
        if (n >= cap) n = cap - 1, whole = false;
        std::memcpy(out + 1, d, n);
        o += n;
        break;
      case K::kHeaderLower: {
        bool name = true;
        for (uint32_t i = 0; i < n; i++) {
          uint8_t c = d[i];
          if (name && c >= 'A' && c <= 'Z') c += 32;
          if (c == ':') name = false;
          if (c == '\n') name = true;
          out[o++] = c;
        }
        break;
      }
      case K::kXor:
        for (uint32_t i = 0; i < n; i++) out[i] = d[i] ^ uint8_t(t.arg[i % t.arg.size()]);
        o = n;
        break;
      case K::kFromBase64: o = base64(t, d, n, out); break;
      case K::kPcreXform: {
        int rc = pcre2_match(x.re[s], d, n, 0, 0, ws.md, ws.mctx);
        if (rc < 2) continue;  // no match (or no group): the buffer is unchanged
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(ws.md);
        if (ov[2] == PCRE2_UNSET) continue;
        o = uint32_t(ov[3] - ov[2]);
        std::memmove(out, d + ov[2], o);
        break;
      }
    }
    d = out;
    n = o;
  }
  return whole;
}

}  // namespace spectre::detect_internal
