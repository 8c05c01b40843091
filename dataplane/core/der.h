// A minimal bounded ASN.1 BER/DER reader (no allocation, no recursion): one
// TLV header at a time over a byte range, for Kerberos (app_krb5.cc) and the
// `asn1` rule keyword (detect). Lengths come from the input and are checked
// against the bytes present before any use; tags and lengths longer than 4
// bytes are refused (no legitimate object needs them here).
#pragma once
#include <cstdint>

namespace spectre::der {

enum class Rc : uint8_t { kOk, kTruncated, kBad };

struct Tlv {
  uint8_t cls = 0;          // 0 universal, 1 application, 2 context, 3 private
  bool constructed = false;
  bool indefinite = false;  // BER 0x80: the content runs to an end-of-contents pair
  uint32_t tag = 0;
  uint32_t hdr = 0;         // header bytes (identifier + length)
  uint64_t len = 0;         // the declared length (indefinite: 0)
  const uint8_t* val = nullptr;
  uint32_t avail = 0;       // content bytes present (min(len, what follows the header))
};

// Reads the TLV header at p[0..n). kTruncated: the header itself is cut;
// kBad: malformed (tag or length over 4 bytes, indefinite primitive, 0xff
// length byte). On kOk the declared length may exceed the bytes present:
// `avail` says how many are there (strict callers compare it with `len`).
inline Rc read(const uint8_t* p, uint32_t n, Tlv& t) {
  t = Tlv{};
  if (n < 2) return Rc::kTruncated;
  uint32_t i = 0;
  const uint8_t id = p[i++];
  t.cls = id >> 6;
  t.constructed = id & 0x20;
  t.tag = id & 0x1f;
  if (t.tag == 0x1f) {  // high tag number: base-128, at most 4 bytes
    t.tag = 0;
    for (int k = 0;; k++) {
      if (i >= n) return Rc::kTruncated;
      if (k == 4) return Rc::kBad;
      const uint8_t b = p[i++];
      t.tag = t.tag << 7 | (b & 0x7f);
      if (!(b & 0x80)) break;
    }
  }
  if (i >= n) return Rc::kTruncated;
  const uint8_t l0 = p[i++];
  if (l0 < 0x80) {
    t.len = l0;
  } else if (l0 == 0x80) {
    if (!t.constructed) return Rc::kBad;
    t.indefinite = true;
  } else {
    const uint32_t k = l0 & 0x7f;
    if (k > 4) return Rc::kBad;  // 0xff (reserved) too
    if (n - i < k) return Rc::kTruncated;
    for (uint32_t j = 0; j < k; j++) t.len = t.len << 8 | p[i++];
  }
  t.hdr = i;
  t.val = p + i;
  const uint64_t rest = n - i;
  t.avail = uint32_t(t.indefinite ? rest : (t.len < rest ? t.len : rest));
  return Rc::kOk;
}

// A strict cursor over the elements of one constructed value: every element
// must fit whole inside it, definite lengths only (DER). `ok` turns false at
// the first violation and stays false.
struct Cursor {
  const uint8_t* p = nullptr;
  uint32_t n = 0, at = 0;
  bool ok = true;
  Cursor() = default;
  Cursor(const uint8_t* d, uint32_t len) : p(d), n(len) {}
  bool more() const { return ok && at < n; }
  // The next element; false at the end or on a malformed one (ok false).
  bool next(Tlv& t) {
    if (!more()) return false;
    if (read(p + at, n - at, t) != Rc::kOk || t.indefinite || t.len > t.avail) return ok = false;
    at += t.hdr + uint32_t(t.len);
    return true;
  }
  // The next element if it is context tag [k] (constructed); else leaves the
  // cursor where it is and returns false (ok unchanged when it is another tag).
  bool ctx(uint32_t k, Tlv& t) {
    if (!more()) return false;
    uint32_t save = at;
    if (!next(t)) return false;
    if (t.cls == 2 && t.tag == k) return true;
    at = save;
    return false;
  }
};

// The value of a DER INTEGER as int64 (at most 8 content bytes, sign-extended).
inline bool integer(const Tlv& t, int64_t& v) {
  if (t.cls != 0 || t.tag != 2 || t.constructed || t.len == 0 || t.len > 8 || t.len > t.avail) return false;
  uint64_t u = (t.val[0] & 0x80) ? ~uint64_t(0) : 0;
  for (uint32_t i = 0; i < t.len; i++) u = u << 8 | t.val[i];
  v = int64_t(u);
  return true;
}

// An EXPLICIT [k] wrapper's single inner element.
inline bool inner(const Tlv& outer, Tlv& t) {
  Cursor c(outer.val, uint32_t(outer.len));
  return c.next(t);
}

}  // namespace spectre::der

namespace spectre::der {

// Suricata's `asn1` keyword checks over BER objects from p[0..n): up to
// kMaxFrames top-level objects, nesting up to kMaxFrames deep (Suricata's
// max_frames, 30). An object whose header is malformed or whose declared
// length runs past the data ends the walk (Suricata's decoder stops there).
struct Asn1Check {
  bool bitstring = false;      // bitstring_overflow: unused bits > 8 * length
  bool dbl = false;            // double_overflow: REAL in decimal form longer than 256
  bool oversize = false;       // oversize_length N: a declared length > N
  uint32_t oversize_len = 0;
};
constexpr int kAsn1MaxFrames = 30;

inline bool asn1_match(const Asn1Check& o, const uint8_t* p, uint32_t n) {
  uint32_t ends[kAsn1MaxFrames];  // end offset of each open constructed object (0xffffffff: indefinite)
  int depth = 0, frames = 0;
  uint32_t at = 0;
  while (at < n) {
    while (depth && ends[depth - 1] != 0xffffffffu && at >= ends[depth - 1]) depth--;
    if (!depth && ++frames > kAsn1MaxFrames) return false;
    Tlv t;
    if (read(p + at, n - at, t) != Rc::kOk) return false;
    if (depth && ends[depth - 1] == 0xffffffffu && t.cls == 0 && t.tag == 0 && t.len == 0 && !t.constructed) {
      depth--;  // end-of-contents of an indefinite-length object
      at += t.hdr;
      continue;
    }
    if (!t.indefinite && t.len > t.avail) return false;
    if (o.oversize && !t.indefinite && t.len > o.oversize_len) return true;
    if (t.cls == 0 && !t.constructed && t.len > 0) {
      if (o.bitstring && t.tag == 3 && uint64_t(t.val[0]) > t.len * 8) return true;
      if (o.dbl && t.tag == 9 && (t.val[0] & 0xc0) == 0 && t.len > 256) return true;
    }
    if (t.constructed) {
      if (depth == kAsn1MaxFrames) return false;
      ends[depth++] = t.indefinite ? 0xffffffffu : at + t.hdr + uint32_t(t.len);
      at += t.hdr;
    } else {
      at += t.hdr + uint32_t(t.len);
    }
  }
  return false;
}

}  // namespace spectre::der
