// HPACK (RFC 7541): integers, literal and Huffman strings, the static table
// and a bounded dynamic table. Cost: ~8 operations per Huffman-coded bit;
// an insertion that evicts moves the table (<= 4 KiB), once per field.
#include <algorithm>
#include <cstring>

#include "dataplane/app/app_http2.h"

namespace spectre {
namespace app {
namespace {

struct Static {
  const char* name;
  const char* value;
};
// RFC 7541 Appendix A.
constexpr Static kStatic[61] = {
    {":authority", ""}, {":method", "GET"}, {":method", "POST"}, {":path", "/"},
    {":path", "/index.html"}, {":scheme", "http"}, {":scheme", "https"}, {":status", "200"},
    {":status", "204"}, {":status", "206"}, {":status", "304"}, {":status", "400"},
    {":status", "404"}, {":status", "500"}, {"accept-charset", ""}, {"accept-encoding", "gzip, deflate"},
    {"accept-language", ""}, {"accept-ranges", ""}, {"accept", ""}, {"access-control-allow-origin", ""},
    {"age", ""}, {"allow", ""}, {"authorization", ""}, {"cache-control", ""},
    {"content-disposition", ""}, {"content-encoding", ""}, {"content-language", ""}, {"content-length", ""},
    {"content-location", ""}, {"content-range", ""}, {"content-type", ""}, {"cookie", ""},
    {"date", ""}, {"etag", ""}, {"expect", ""}, {"expires", ""},
    {"from", ""}, {"host", ""}, {"if-match", ""}, {"if-modified-since", ""},
    {"if-none-match", ""}, {"if-range", ""}, {"if-unmodified-since", ""}, {"last-modified", ""},
    {"link", ""}, {"location", ""}, {"max-forwards", ""}, {"proxy-authenticate", ""},
    {"proxy-authorization", ""}, {"range", ""}, {"referer", ""}, {"refresh", ""},
    {"retry-after", ""}, {"server", ""}, {"set-cookie", ""}, {"strict-transport-security", ""},
    {"transfer-encoding", ""}, {"user-agent", ""}, {"vary", ""}, {"via", ""},
    {"www-authenticate", ""},
};

// Symbols ordered by (code length, code): RFC 7541 Appendix B (canonical).
constexpr uint16_t kHuffSym[257] = {
    48, 49, 50, 97, 99, 101, 105, 111, 115, 116, 32, 37, 45, 46, 47, 51,
    52, 53, 54, 55, 56, 57, 61, 65, 95, 98, 100, 102, 103, 104, 108, 109,
    110, 112, 114, 117, 58, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76,
    77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 89, 106, 107, 113, 118,
    119, 120, 121, 122, 38, 42, 44, 59, 88, 90, 33, 34, 40, 41, 63, 39,
    43, 124, 35, 62, 0, 36, 64, 91, 93, 126, 94, 125, 60, 96, 123, 92,
    195, 208, 128, 130, 131, 162, 184, 194, 224, 226, 153, 161, 167, 172, 176, 177,
    179, 209, 216, 217, 227, 229, 230, 129, 132, 133, 134, 136, 146, 154, 156, 160,
    163, 164, 169, 170, 173, 178, 181, 185, 186, 187, 189, 190, 196, 198, 228, 232,
    233, 1, 135, 137, 138, 139, 140, 141, 143, 147, 149, 150, 151, 152, 155, 157,
    158, 165, 166, 168, 174, 175, 180, 182, 183, 188, 191, 197, 231, 239, 9, 142,
    144, 145, 148, 159, 171, 206, 215, 225, 236, 237, 199, 207, 234, 235, 192, 193,
    200, 201, 202, 205, 210, 213, 218, 219, 238, 240, 242, 243, 255, 203, 204, 211,
    212, 214, 221, 222, 223, 241, 244, 245, 246, 247, 248, 250, 251, 252, 253, 254,
    2, 3, 4, 5, 6, 7, 8, 11, 12, 14, 15, 16, 17, 18, 19, 20,
    21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 127, 220, 249, 10, 13, 22,
    256,
};
// Symbols per code length (index = bits, 5..30); the codes follow canonically.
constexpr uint8_t kHuffCount[31] = {0, 0, 0,  0,  0,  10, 26, 32, 6, 0,  5,  3,  2,  6,  2, 3,
                                    0, 0, 0,  3,  8,  13, 26, 29, 12, 4, 15, 19, 29, 0, 4};

struct Canon {
  uint32_t first[32];   // first code of each length
  uint16_t off[32];     // index in kHuffSym of that code
};
constexpr Canon make_canon() {
  Canon c{};
  uint32_t code = 0, idx = 0;
  for (int l = 1; l < 31; l++) {
    code = (code + (l > 1 ? kHuffCount[l - 1] : 0)) << 1;
    if (l == 1) code = 0;
    c.first[l] = code;
    c.off[l] = uint16_t(idx);
    idx += kHuffCount[l];
  }
  return c;
}
constexpr Canon kCanon = make_canon();

// Prefix integer (RFC 7541 5.1) of `bits` bits at p[*i]; at most 2^28 + prefix.
bool read_int(const uint8_t* p, uint32_t n, uint32_t* i, int bits, uint32_t* out) {
  if (*i >= n) return false;
  uint32_t mask = (1u << bits) - 1;
  uint32_t v = p[(*i)++] & mask;
  if (v < mask) {
    *out = v;
    return true;
  }
  for (int shift = 0; shift <= 21; shift += 7) {
    if (*i >= n) return false;
    uint8_t b = p[(*i)++];
    v += uint32_t(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;  // longer than 4 continuation bytes: no sane field is that large
}

// The entry at 1-based `idx` (static then dynamic); false when out of range.
bool lookup(const HpackTable& t, uint32_t idx, const uint8_t** np, uint32_t* nl, const uint8_t** vp,
            uint32_t* vl) {
  if (idx == 0) return false;
  if (idx <= 61) {
    const Static& e = kStatic[idx - 1];
    *np = reinterpret_cast<const uint8_t*>(e.name);
    *nl = uint32_t(strlen(e.name));
    *vp = reinterpret_cast<const uint8_t*>(e.value);
    *vl = uint32_t(strlen(e.value));
    return true;
  }
  uint32_t k = idx - 62;
  if (k >= t.n) return false;
  const HpackTable::Ent& e = t.ent[t.n - 1 - k];
  *np = t.data + e.off;
  *nl = e.nlen;
  *vp = t.data + e.off + e.nlen;
  *vl = e.vlen;
  return true;
}

void evict_one(HpackTable& t) {
  const HpackTable::Ent e0 = t.ent[0];
  uint32_t b = uint32_t(e0.nlen) + e0.vlen;
  memmove(t.data, t.data + b, t.used - b);
  t.used -= b;
  t.size -= b + 32;
  for (uint32_t i = 1; i < t.n; i++) {
    t.ent[i - 1] = t.ent[i];
    t.ent[i - 1].off = uint16_t(t.ent[i - 1].off - b);
  }
  t.n--;
}

void fit(HpackTable& t, uint32_t max) {
  while (t.n && t.size > max) evict_one(t);
}

// RFC 7541 4.4: an entry larger than the table empties it and is not added.
void insert(HpackTable& t, const uint8_t* np, uint32_t nl, const uint8_t* vp, uint32_t vl) {
  uint64_t sz = uint64_t(nl) + vl + 32;
  if (sz > t.max_size) {
    fit(t, 0);
    return;
  }
  fit(t, t.max_size - uint32_t(sz));
  t.ent[t.n] = {uint16_t(t.used), uint16_t(nl), uint16_t(vl)};
  memcpy(t.data + t.used, np, nl);
  memcpy(t.data + t.used + nl, vp, vl);
  t.used += nl + vl;
  t.size += uint32_t(sz);
  t.n++;
}

// A string literal (RFC 7541 5.2) into out (kHpackStr bytes).
HpackErr read_str(const uint8_t* p, uint32_t n, uint32_t* i, uint8_t* out, uint32_t* len, bool* cut) {
  if (*i >= n) return HpackErr::kTruncated;
  bool huff = p[*i] & 0x80;
  uint32_t l;
  if (!read_int(p, n, i, 7, &l)) return HpackErr::kInteger;
  if (l > n - *i) return HpackErr::kTruncated;
  const uint8_t* s = p + *i;
  *i += l;
  if (huff) return hpack_huffman(s, l, out, kHpackStr, len, cut) ? HpackErr::kOk : HpackErr::kHuffman;
  *len = std::min(l, kHpackStr);
  *cut = *cut || l > kHpackStr;
  memcpy(out, s, *len);
  return HpackErr::kOk;
}

}  // namespace

void hpack_init(HpackTable& t) {
  t.max_size = kHpackTable;
  t.size = t.n = t.used = 0;
}

bool hpack_huffman(const uint8_t* p, uint32_t n, uint8_t* out, uint32_t cap, uint32_t* out_n, bool* cut) {
  uint32_t code = 0, len = 0, o = 0;
  for (uint32_t i = 0; i < n; i++) {
    for (int b = 7; b >= 0; b--) {
      code = (code << 1) | ((p[i] >> b) & 1);
      len++;
      if (len >= 5 && code >= kCanon.first[len] && code - kCanon.first[len] < kHuffCount[len]) {
        uint16_t sym = kHuffSym[kCanon.off[len] + code - kCanon.first[len]];
        if (sym == 256) return false;  // EOS inside a string is an error (5.2)
        if (o < cap) out[o++] = uint8_t(sym);
        else *cut = true;
        code = len = 0;
      } else if (len >= 30) {
        return false;
      }
    }
  }
  // Padding: at most 7 bits, all ones (the EOS prefix).
  if (len > 7 || code != (1u << len) - 1) return false;
  *out_n = o;
  return true;
}

HpackErr hpack_decode(HpackTable& t, const uint8_t* p, uint32_t n, uint8_t* tmp, HpackSink& sink) {
  uint8_t* nbuf = tmp;
  uint8_t* vbuf = tmp + kHpackStr;
  uint32_t i = 0;
  bool fields = false;
  while (i < n) {
    uint8_t b = p[i];
    const uint8_t *np, *vp;
    uint32_t nl, vl, idx;
    bool cut = false;
    if (b & 0x80) {  // indexed field
      if (!read_int(p, n, &i, 7, &idx)) return HpackErr::kInteger;
      if (!lookup(t, idx, &np, &nl, &vp, &vl)) return HpackErr::kIndex;
      sink.field(np, nl, vp, vl, false);
      fields = true;
      continue;
    }
    if ((b & 0xe0) == 0x20) {  // dynamic table size update: only before the fields
      uint32_t sz;
      if (!read_int(p, n, &i, 5, &sz)) return HpackErr::kInteger;
      if (fields) return HpackErr::kSizeUpdate;
      sink.size_update(sz);
      t.max_size = std::min(sz, kHpackTable);
      fit(t, t.max_size);
      continue;
    }
    bool incr = (b & 0xc0) == 0x40;  // else without indexing (0000) or never indexed (0001)
    if (!read_int(p, n, &i, incr ? 6 : 4, &idx)) return HpackErr::kInteger;
    if (idx) {
      const uint8_t* ivp;
      uint32_t ivl;
      if (!lookup(t, idx, &np, &nl, &ivp, &ivl)) return HpackErr::kIndex;
      memcpy(nbuf, np, nl);  // the entry may be evicted by this insertion
      np = nbuf;
    } else {
      HpackErr e = read_str(p, n, &i, nbuf, &nl, &cut);
      if (e != HpackErr::kOk) return e;
      np = nbuf;
    }
    HpackErr e = read_str(p, n, &i, vbuf, &vl, &cut);
    if (e != HpackErr::kOk) return e;
    vp = vbuf;
    if (incr) insert(t, np, nl, vp, vl);
    sink.field(np, nl, vp, vl, cut);
    fields = true;
  }
  return HpackErr::kOk;
}

}  // namespace app
}  // namespace spectre
