// HTTP body decoding: gzip and deflate Content-Encodings, as tolerant as
// libhtp. The format of each layer is taken from its first two bytes, not
// from the header's name (servers mislabel: "deflate" bodies are zlib-wrapped
// or raw, sometimes gzip): 1f 8b is gzip, a valid zlib header is zlib, the
// rest raw deflate. Coding names: gzip, x-gzip, deflate, x-deflate (any case,
// comma/space separated, over repeated headers); identity is skipped; any
// other coding as the outermost one leaves the body as it is. At most
// kMaxLayers codings are undone, the outermost first. Corrupt data: what was
// decoded stays and the rest of that layer passes through raw (libhtp's
// passthrough), counted.
//
// Memory: each decoder is a fixed slot (z_stream + a 48 KiB arena zlib
// allocates from: ~7 KiB state + 32 KiB window) from a per-worker pool taken
// when a compressed body starts; nothing is allocated per packet. An empty
// pool leaves the body raw, counted.
// Cost: inflate runs only while the body store has room and the
// decompression limit is not reached; after that the compressed bytes are
// only counted (a bomb costs at most limit bytes of output).
#include <zlib.h>

#include <algorithm>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {
namespace {

enum DecState : uint8_t { kSniff = 0, kInflate, kEnded, kPass };

struct DecSlot {
  z_stream zs;
  uint32_t used;  // arena bytes handed to zlib
  uint8_t state, hdr_n;
  uint8_t hdr[2];  // the first two bytes decide the format
};
constexpr uint32_t kHdrSize = (sizeof(DecSlot) + 15) & ~15u;
constexpr uint32_t kArena = 48 * 1024;
constexpr uint32_t kSlotSize = kHdrSize + kArena;

voidpf arena_alloc(voidpf opaque, uInt items, uInt size) {
  DecSlot* s = static_cast<DecSlot*>(opaque);
  size_t n = (size_t(items) * size + 15) & ~size_t(15);
  if (n > kArena - s->used) return Z_NULL;  // inflate answers Z_MEM_ERROR
  uint8_t* p = reinterpret_cast<uint8_t*>(s) + kHdrSize + s->used;
  s->used += uint32_t(n);
  return p;
}
void arena_free(voidpf, voidpf) {}  // the arena is reset when the slot is taken again

DecSlot& slot(AppCtx& c, uint16_t id) {
  return *reinterpret_cast<DecSlot*>(c.impl->dec_mem.get() + size_t(id - 1) * kSlotSize);
}

bool start_inflate(DecSlot& s) {
  const uint8_t a = s.hdr[0], b = s.hdr[1];
  int wbits = -15;                                                  // raw deflate
  if (a == 0x1f && b == 0x8b) wbits = 15 + 16;                      // gzip
  else if ((a & 0x0f) == 8 && (a >> 4) <= 7 && ((a << 8) | b) % 31 == 0) wbits = 15;  // zlib
  memset(&s.zs, 0, sizeof(s.zs));
  s.zs.zalloc = arena_alloc;
  s.zs.zfree = arena_free;
  s.zs.opaque = &s;
  s.used = 0;
  return inflateInit2(&s.zs, wbits) == Z_OK;
}

uint8_t lower(uint8_t ch) { return (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch; }
bool tok_is(const uint8_t* p, uint32_t n, const char* lit) {
  if (n != strlen(lit)) return false;
  for (uint32_t i = 0; i < n; i++)
    if (lower(p[i]) != uint8_t(lit[i])) return false;
  return true;
}

// 1: gzip or deflate, 0: identity (skipped), -1: a coding we do not undo.
int coding(const uint8_t* p, uint32_t n) {
  if (tok_is(p, n, "gzip") || tok_is(p, n, "x-gzip") || tok_is(p, n, "deflate") ||
      tok_is(p, n, "x-deflate"))
    return 1;
  return tok_is(p, n, "identity") ? 0 : -1;
}

uint32_t layer(AppCtx& c, HttpDir& h, int i, const uint8_t* p, uint32_t n, uint8_t* dst, uint32_t room);

// Output of layer i (decoded or passed through) to the next layer or dst.
// The decoded body feeds the file's digests whole (h.fh): decoding then
// goes on past a full dst (the body store), only the decompression limit stops it.
uint32_t emit_out(AppCtx& c, HttpDir& h, int i, const uint8_t* p, uint32_t n, uint8_t* dst, uint32_t room) {
  if (i + 1 < h.dec_n) return layer(c, h, i + 1, p, n, dst, room);
  fhash_update(c, h.fh, p, n);
  uint32_t k = std::min(n, room);
  if (k) memcpy(dst, p, k);
  if (k < n && !h.fh) h.dec_stop = 1;
  return k;
}

// Inflates p[0..n) of layer i; output goes on through emit_out.
uint32_t inflate_some(AppCtx& c, HttpDir& h, int i, DecSlot& s, const uint8_t* p, uint32_t n,
                      uint8_t* dst, uint32_t room) {
  const uint32_t limit = c.impl->cfg.decompress_limit;
  uint8_t tmp[4096];  // between layers and as the landing area of the last one
  uint32_t wrote = 0;
  s.zs.next_in = const_cast<Bytef*>(p);
  s.zs.avail_in = n;
  while (s.zs.avail_in && !h.dec_stop) {
    if (h.dec_out >= limit) {  // a bomb (or just a big body): cut, counted once
      c.ctr.http_decompress_cut++;
      h.dec_stop = 1;
      fhash_drop(c, h.fh);  // the file is not seen whole: no digests
      break;
    }
    if (wrote >= room && !h.fh) {
      h.dec_stop = 1;
      break;
    }
    uint32_t cap = std::min<uint32_t>(sizeof(tmp), limit - h.dec_out);
    s.zs.next_out = tmp;
    s.zs.avail_out = cap;
    int rc = inflate(&s.zs, Z_NO_FLUSH);
    uint32_t got = cap - s.zs.avail_out;
    h.dec_out += got;
    if (got) wrote += emit_out(c, h, i, tmp, got, dst + wrote, room - wrote);
    if (rc == Z_STREAM_END) {  // data after the end is ignored (as libhtp)
      s.state = kEnded;
      break;
    }
    if (rc == Z_BUF_ERROR && !got) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {  // corrupt: the rest of this layer raw
      c.ctr.http_decompress_errors++;
      s.state = kPass;
      uint32_t left = s.zs.avail_in;
      if (left && !h.dec_stop)
        wrote += emit_out(c, h, i, p + (n - left), left, dst + wrote, room - wrote);
      break;
    }
  }
  return wrote;
}

uint32_t layer(AppCtx& c, HttpDir& h, int i, const uint8_t* p, uint32_t n, uint8_t* dst, uint32_t room) {
  DecSlot& s = slot(c, h.dec[i]);
  uint32_t wrote = 0;
  if (s.state == kSniff) {
    while (n && s.hdr_n < 2) s.hdr[s.hdr_n++] = *p++, n--;
    if (s.hdr_n < 2) return 0;
    if (start_inflate(s)) {
      s.state = kInflate;
      wrote = inflate_some(c, h, i, s, s.hdr, 2, dst, room);
    } else {
      c.ctr.http_decompress_errors++;
      s.state = kPass;
      wrote = emit_out(c, h, i, s.hdr, 2, dst, room);
    }
  }
  if (!n || h.dec_stop) return wrote;
  switch (s.state) {
    case kInflate: return wrote + inflate_some(c, h, i, s, p, n, dst + wrote, room - wrote);
    case kPass: return wrote + emit_out(c, h, i, p, n, dst + wrote, room - wrote);
    default: return wrote;  // ended: trailing bytes ignored
  }
}

}  // namespace

void decomp_init(AppCtx::Impl& m) {
  m.dec_n = std::min<uint32_t>(m.cfg.decompress_streams, 0xfffe);
  // Default-initialised: slot pages are touched only when a decoder is used.
  m.dec_mem.reset(new uint8_t[size_t(m.dec_n) * kSlotSize + 1]);
  m.dec_free.reset(new uint16_t[m.dec_n + 1]);
  for (uint32_t i = 0; i < m.dec_n; i++) m.dec_free[i] = uint16_t(m.dec_n - i);  // ids 1.., 1 first
  m.dec_free_n = m.dec_n;
}

void decomp_start(AppCtx& c, HttpDir& h, const uint8_t* const* vals, const uint32_t* lens, uint32_t nvals) {
  // Codings in the order applied; the last one is undone first.
  int kinds[16];
  uint32_t nk = 0;
  for (uint32_t v = 0; v < nvals; v++) {
    const uint8_t* p = vals[v];
    uint32_t n = lens[v], i = 0;
    while (i < n) {
      while (i < n && (p[i] == ',' || p[i] == ' ' || p[i] == '\t')) i++;
      uint32_t st = i;
      while (i < n && p[i] != ',' && p[i] != ' ' && p[i] != '\t') i++;
      if (i == st) continue;
      int k = coding(p + st, i - st);
      if (k == 0) continue;
      if (nk == 16) return;  // absurd header: left raw
      kinds[nk++] = k;
    }
  }
  uint32_t want = 0;
  while (want < nk && want < uint32_t(kMaxLayers) && kinds[nk - 1 - want] == 1) want++;
  if (!want) return;
  AppCtx::Impl& m = *c.impl;
  if (m.dec_free_n < want) {
    c.ctr.http_decompress_pool_empty++;
    return;
  }
  for (uint32_t i = 0; i < want; i++) {
    uint16_t id = m.dec_free[--m.dec_free_n];
    DecSlot& s = slot(c, id);
    s.state = kSniff;
    s.hdr_n = 0;
    s.used = 0;
    h.dec[i] = id;
  }
  h.dec_n = uint8_t(want);
  h.dec_stop = 0;
  h.dec_out = 0;
  c.ctr.http_decompressed++;
}

uint32_t decomp_feed(AppCtx& c, HttpDir& h, const uint8_t* p, uint32_t n, uint8_t* dst, uint32_t room) {
  if (!h.dec_n || h.dec_stop || !n) return 0;
  return layer(c, h, 0, p, n, dst, room);
}

void decomp_release(AppCtx& c, HttpDir& h) {
  AppCtx::Impl& m = *c.impl;
  for (int i = 0; i < h.dec_n; i++) {
    if (h.dec[i]) m.dec_free[m.dec_free_n++] = h.dec[i];
    h.dec[i] = 0;
  }
  h.dec_n = 0;
}

}  // namespace app

uint32_t app_decoders_free(const AppCtx& c) { return c.impl->dec_free_n; }
uint32_t app_decoders_size(const AppCtx& c) { return c.impl->dec_n; }

}  // namespace spectre
