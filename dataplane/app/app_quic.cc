// QUIC (Suricata's `quic` app layer): long and short headers of every
// version; for the client's Initial packets of version 1, drafts 23-32 and v2
// the payload is opened (app_quic_crypto.cc), its CRYPTO frames gathered
// (out of order, across the first kMaxInitials packets, up to kQuicCryptoMax
// bytes) until the ClientHello is whole; then SNI, JA3, JA4 ('q') and the
// google_user_agent transport parameter. gQUIC Q043-Q046: the plaintext
// CHLO's SNI, UAID and CYU fingerprint, as Suricata. Other versions (v2,
// Q050, T051, mvfst, Q039 and older): the version only.
//
// Cost: ~20 us per client Initial turned into a transaction (keys, header
// protection, GCM over ~1.2 KB, JA3/JA4; AppQuic.InitialCost on a shared
// 2-core VM), paid for the first Initial packets of a flow only; every later
// packet costs a header check.
//
// Transactions: one per direction: the client's when its hello is read (or
// given up on: version only), the server's at its first long header.
#include <algorithm>
#include <cstring>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

using rules::AppProto;

namespace {

constexpr uint32_t kMaxInitials = 8;  // client Initial packets tried per flow
constexpr uint32_t kMaxTags = 64;     // gQUIC CHLO tags read

uint32_t rd32(const uint8_t* p) { return (uint32_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; }
uint32_t le32(const uint8_t* p) { return uint32_t(p[0]) | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24); }

// RFC 9000 §16 variable-length integer at *i; false when it runs past n.
bool varint(const uint8_t* p, uint32_t n, uint32_t* i, uint64_t* v) {
  if (*i >= n) return false;
  uint32_t len = 1u << (p[*i] >> 6);
  if (len > n - *i) return false;
  uint64_t x = p[*i] & 0x3f;
  for (uint32_t k = 1; k < len; k++) x = (x << 8) | p[*i + k];
  *i += len;
  *v = x;
  return true;
}

bool digit(uint32_t c) { return c >= '0' && c <= '9'; }
bool gquic_version(uint32_t v) {  // "Q0dd"
  return (v >> 24) == 'Q' && ((v >> 16) & 0xff) == '0' && digit((v >> 8) & 0xff) && digit(v & 0xff);
}
bool known_version(uint32_t v) {
  return v == 1 || (v >> 8) == 0xff0000 || quic_is_v2(v) || (v >> 8) == 0xfaceb0 || gquic_version(v) ||
         ((v >> 24) == 'T' && ((v >> 16) & 0xff) == '0' && digit((v >> 8) & 0xff) && digit(v & 0xff));
}

// What Suricata prints: Q039 and Q043-Q046 by name, others in hex ("1", "ff00001d").
void version_text(uint32_t v, char (&out)[12]) {
  if (v == 0x51303339 || (v >= 0x51303433 && v <= 0x51303436)) {
    const char t[4] = {'Q', '0', char((v >> 8) & 0xff), char(v & 0xff)};
    copy_str(out, t, 4);
    return;
  }
  static const char hx[] = "0123456789abcdef";
  char t[8];
  int k = 0;
  for (int s = 28; s >= 0; s -= 4)
    if (k || ((v >> s) & 15) || s == 0) t[k++] = hx[(v >> s) & 15];
  copy_str(out, t, uint32_t(k));
}

// A parsed long header.
struct Long {
  uint32_t version = 0, end = 0, pn_off = 0;  // end: of this packet in the datagram
  uint8_t type = 0;                           // 0 Initial, 1 0-RTT, 2 Handshake, 3 Retry
  const uint8_t* dcid = nullptr;
  uint32_t dcid_len = 0;
  bool gquic_old = false;  // Q043 and older: public header, version after the CID
};

// The packet at p[0, n): false when it is not a long header we can frame.
bool long_header(const uint8_t* p, uint32_t n, Long& h) {
  if (n >= 13 && !(p[0] & 0x80) && (p[0] & 0x09) == 0x09 && gquic_version(rd32(p + 9))) {
    h.version = rd32(p + 9);  // gQUIC public header: flags, 8-byte CID, version
    h.gquic_old = true;
    h.end = n;
    return true;
  }
  if (n < 7 || (p[0] & 0x80) == 0) return false;
  h.version = rd32(p + 1);
  uint32_t i = 5;
  if (gquic_version(h.version)) {  // Q046+: one byte of both CID lengths (nibbles)
    h.end = n;
    return true;
  }
  h.dcid_len = p[i++];
  if (h.dcid_len > 20 || i + h.dcid_len >= n) return false;
  h.dcid = p + i;
  i += h.dcid_len;
  uint32_t scil = p[i++];
  if (scil > 20 || i + scil > n) return false;
  i += scil;
  h.type = (p[0] >> 4) & 3;
  if (quic_is_v2(h.version)) h.type = (h.type + 3) & 3;  // RFC 9369 §3.2: Initial 0b01 ... Retry 0b00
  if (h.version == 0 || h.type == 3) {  // version negotiation, Retry: the rest of the datagram
    h.end = n;
    return true;
  }
  uint64_t v;
  if (h.type == 0) {  // token
    if (!varint(p, n, &i, &v) || v > n - i) return false;
    i += uint32_t(v);
  }
  if (!varint(p, n, &i, &v) || v > n - i) return false;
  h.pn_off = i;
  h.end = i + uint32_t(v);
  return true;
}

// Records CRYPTO bytes [off, off + len) as held (sorted, merged ranges).
void add_range(QuicDir& q, uint32_t lo, uint32_t hi) {
  uint32_t nr = q.nr;
  uint16_t l[kQuicRanges + 1], h[kQuicRanges + 1];
  for (uint32_t k = 0; k < nr; k++) l[k] = q.lo[k], h[k] = q.hi[k];
  l[nr] = uint16_t(lo), h[nr] = uint16_t(hi), nr++;
  for (uint32_t a = 1; a < nr; a++)  // insertion sort by start
    for (uint32_t b = a; b > 0 && l[b] < l[b - 1]; b--) std::swap(l[b], l[b - 1]), std::swap(h[b], h[b - 1]);
  uint32_t out = 0;
  for (uint32_t k = 0; k < nr; k++) {
    if (out && l[k] <= h[out - 1]) {
      h[out - 1] = std::max(h[out - 1], h[k]);
      continue;
    }
    l[out] = l[k], h[out] = h[k], out++;
  }
  q.nr = uint8_t(std::min<uint32_t>(out, kQuicRanges));  // a fifth gap loses the last range
  for (uint32_t k = 0; k < q.nr; k++) q.lo[k] = l[k], q.hi[k] = h[k];
}

// The frames of an opened Initial: CRYPTO data into st (cap bytes). A
// packet's CRYPTO frames are added in offset order (clients shuffle them:
// Chrome's "chaos protection"), so only gaps between packets take ranges.
// False when a frame is malformed or not allowed in an Initial packet.
bool frames(QuicDir& q, const uint8_t* p, uint32_t n, uint8_t* st, uint32_t cap) {
  constexpr uint32_t kMaxFrames = 64;  // CRYPTO frames sorted per packet; more are added as they come
  struct Fr { uint32_t lo, hi; } fr[kMaxFrames];
  uint32_t nf = 0;
  uint32_t i = 0;
  uint64_t a, b, c, d;
  bool ok = true;
  while (i < n && ok) {
    uint8_t t = p[i++];
    if (t == 0x00 || t == 0x01) continue;  // PADDING, PING
    if (t == 0x02 || t == 0x03) {          // ACK: largest, delay, count, first range, ranges
      ok = varint(p, n, &i, &a) && varint(p, n, &i, &b) && varint(p, n, &i, &c) && varint(p, n, &i, &d);
      for (uint64_t k = 0; ok && k < c; k++) ok = varint(p, n, &i, &a) && varint(p, n, &i, &b);
      for (int k = 0; ok && t == 0x03 && k < 3; k++) ok = varint(p, n, &i, &a);
      continue;
    }
    if (t == 0x06) {  // CRYPTO: offset, length, data
      ok = varint(p, n, &i, &a) && varint(p, n, &i, &b) && b <= n - i;
      if (ok && a < cap) {
        uint32_t k = uint32_t(std::min<uint64_t>(b, cap - a));
        memcpy(st + a, p + i, k);
        if (k && nf < kMaxFrames) fr[nf++] = {uint32_t(a), uint32_t(a + k)};
        else if (k) add_range(q, uint32_t(a), uint32_t(a + k));
      }
      if (ok) i += uint32_t(b);
      continue;
    }
    if (t == 0x1c || t == 0x1d) {  // CONNECTION_CLOSE
      ok = varint(p, n, &i, &a) && (t == 0x1d || varint(p, n, &i, &b)) && varint(p, n, &i, &c) && c <= n - i;
      if (ok) i += uint32_t(c);
      continue;
    }
    ok = false;
  }
  std::sort(fr, fr + nf, [](const Fr& x, const Fr& y) { return x.lo < y.lo; });
  for (uint32_t k = 0; k < nf; k++) add_range(q, fr[k].lo, fr[k].hi);
  return ok;
}

// Hands a transaction of direction d on: version, and what the hello gave.
void emit(AppCtx& c, AppState* s, int d, uint32_t version, const HelloView* h, AppSink& sink) {
  AppMeta& m = s->meta;
  QuicDir& q = s->dir[d].u.quic;
  q.logged = 1;
  m.proto = AppProto::kQuic;
  m.quic_client = d == 0 && h;
  version_text(version, m.quic_version);
  BufferSet bs;
  uint8_t v[4] = {uint8_t(version >> 24), uint8_t(version >> 16), uint8_t(version >> 8), uint8_t(version)};
  bs.set(rules::kQuicVersion, v, 4);
  if (h) {
    m.http_user_agent[0] = 0;
    if (h->sni) bs.set(rules::kQuicSni, h->sni, h->sni_len);
    if (h->ua) {
      copy_str(m.http_user_agent, h->ua, h->ua_len);
      bs.set(rules::kQuicUa, h->ua, h->ua_len);
    }
    if (h->ja3) {
      bs.set(rules::kJa3Hash, reinterpret_cast<const uint8_t*>(m.ja3_hash), 32);
      bs.set(rules::kJa3String, reinterpret_cast<const uint8_t*>(h->ja3), h->ja3_len);
      if (m.ja4[0]) bs.set(rules::kJa4Hash, reinterpret_cast<const uint8_t*>(m.ja4), 36);
    }
    if (m.quic_cyu_hash[0]) {
      bs.set(rules::kQuicCyuHash, reinterpret_cast<const uint8_t*>(m.quic_cyu_hash), 32);
      bs.set(rules::kQuicCyuString, reinterpret_cast<const uint8_t*>(m.ja3s_string), strlen(m.ja3s_string));
    }
  }
  sink.on_tx(d == 0, bs, m);
}

// The ClientHello, once the CRYPTO stream holds it from offset 0.
void try_hello(AppCtx& c, AppState* s, uint32_t version, AppSink& sink) {
  QuicDir& q = s->dir[0].u.quic;
  uint32_t cap = 0;
  uint8_t* st = storage(c, s, 0, &cap);
  if (!st || !q.nr || q.lo[0] != 0 || q.hi[0] < 4) return;
  uint32_t need = 4 + ((uint32_t(st[1]) << 16) | (st[2] << 8) | st[3]);
  if (st[0] != 1 || need > std::min(cap, kQuicCryptoMax)) {  // not a ClientHello, or too big to hold
    q.done = 1;
    c.ctr.parse_errors++;
    emit(c, s, 0, version, nullptr, sink);
    return;
  }
  if (q.hi[0] < need) return;
  q.done = 1;
  HelloView h;
  s->meta.quic_cyu_hash[0] = 0;
  if (!client_hello_fields(*c.impl, s->meta, st + 4, need - 4, 'q', h)) {
    c.ctr.parse_errors++;
    emit(c, s, 0, version, nullptr, sink);
    return;
  }
  c.ctr.quic_hellos++;
  emit(c, s, 0, version, &h, sink);
}

// One client Initial of a version we decrypt.
void initial(AppCtx& c, AppState* s, const uint8_t* p, const Long& h, AppSink& sink) {
  QuicDir& q = s->dir[0].u.quic;
  if (++q.initials > kMaxInitials) {
    q.done = 1;
    emit(c, s, 0, h.version, nullptr, sink);
    return;
  }
  if (!q.dcid_len) {
    q.dcid_len = uint8_t(h.dcid_len);
    memcpy(q.dcid, h.dcid, h.dcid_len);
  }
  uint8_t* w = quic_work(*c.impl);
  uint32_t len = 0;
  int32_t at = w ? quic_open(*c.impl, h.version, q.dcid, q.dcid_len, p, h.end, h.pn_off, w, &len) : -1;
  if (at < 0 && w && (h.dcid_len != q.dcid_len || memcmp(h.dcid, q.dcid, h.dcid_len) != 0)) {
    // After a Retry the client derives new keys from the new DCID.
    at = quic_open(*c.impl, h.version, h.dcid, h.dcid_len, p, h.end, h.pn_off, w, &len);
    if (at >= 0) q.dcid_len = uint8_t(h.dcid_len), memcpy(q.dcid, h.dcid, h.dcid_len);
  }
  if (at < 0) {
    c.ctr.quic_decrypt_errors++;
    return;
  }
  c.ctr.quic_initials++;
  if (s->dir[0].buf == kNoBuf) acquire(c, s, 0);
  uint32_t cap = 0;
  uint8_t* st = storage(c, s, 0, &cap);
  if (!st || st == s->fallback[0]) {  // pool empty: no room for a hello
    release(c, s, 0);
    q.done = 1;
    emit(c, s, 0, h.version, nullptr, sink);
    return;
  }
  if (!frames(q, w + at, len, st, std::min(cap, kQuicCryptoMax))) c.ctr.quic_decrypt_errors++;
  try_hello(c, s, h.version, sink);
  if (q.done) release(c, s, 0);
}

// gQUIC Q043-Q046 client packet: the plaintext CHLO (a tag-value message),
// found by its "CHLO" tag. False when there is none.
bool chlo(AppCtx& c, AppState* s, const uint8_t* p, uint32_t n, uint32_t version, AppSink& sink) {
  const uint8_t* m = nullptr;
  for (uint32_t i = 0; i + 12 <= n && !m; i++)
    if (memcmp(p + i, "CHLO", 4) == 0) m = p + i;
  if (!m) return false;
  uint32_t left = uint32_t(p + n - m);
  uint32_t ntags = std::min<uint32_t>(m[4] | (m[5] << 8), kMaxTags);
  if (8 + 8 * ntags > left) ntags = (left - 8) / 8;
  const uint8_t* vals = m + 8 + 8 * ntags;
  uint32_t vleft = left - 8 - 8 * ntags, prev = 0;
  AppMeta& meta = s->meta;
  HelloView h;
  char* cyu = meta.ja3s_string;  // the CYU string (see AppMeta)
  const uint32_t cap = sizeof meta.ja3s_string - 1;
  uint32_t k = 0;
  const char* vs = version == 0x51303436 ? "46" : version == 0x51303433 ? "43" : "44";  // Q045: "44" as Suricata
  cyu[k++] = vs[0], cyu[k++] = vs[1], cyu[k++] = ',';
  for (uint32_t t = 0; t < ntags; t++) {
    const uint8_t* e = m + 8 + 8 * t;
    uint32_t end = le32(e + 4);
    uint32_t tl = 4;
    while (tl && e[tl - 1] == 0) tl--;
    if (t && k < cap) cyu[k++] = '-';
    for (uint32_t j = 0; j < tl && k < cap; j++) cyu[k++] = char(e[j]);
    if (end >= prev && end <= vleft) {
      if (memcmp(e, "SNI\0", 4) == 0) h.sni = vals + prev, h.sni_len = end - prev;
      if (memcmp(e, "UAID", 4) == 0) h.ua = vals + prev, h.ua_len = end - prev;
      prev = end;
    }
  }
  cyu[k] = 0;
  md5_hex(cyu, k, meta.quic_cyu_hash);
  meta.tls_sni[0] = meta.ja3_hash[0] = meta.ja3_string[0] = meta.ja4[0] = 0;
  if (h.sni) copy_str(meta.tls_sni, h.sni, h.sni_len);
  c.ctr.quic_hellos++;
  s->dir[0].u.quic.done = 1;
  emit(c, s, 0, version, &h, sink);
  return true;
}

}  // namespace

bool quic_candidate(const uint8_t* p, uint32_t n) {
  Long h;
  return long_header(p, n, h) && known_version(h.version) && (h.gquic_old || (p[0] & 0x40));
}

void quic_transport_params(const uint8_t* p, uint32_t n, HelloView& h) {
  uint32_t i = 0;
  uint64_t id, len;
  while (i < n && varint(p, n, &i, &id) && varint(p, n, &i, &len) && len <= n - i) {
    if (id == 0x3129) h.ua = p + i, h.ua_len = uint32_t(len);  // google_user_agent
    i += uint32_t(len);
  }
}

void quic_datagram(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  QuicDir& q = s->dir[d].u.quic;
  while (n && !(q.done && q.logged)) {
    Long h;
    if (!long_header(p, n, h) || h.end > n) {
      if (p[0] & 0x80) c.ctr.parse_errors++;  // a short header carries nothing for us
      return;
    }
    if (!q.version) q.version = h.version;
    const bool gq = gquic_version(h.version);
    if (d == 1 || q.done) {
      if (!q.logged) emit(c, s, d, h.version, nullptr, sink);
      return;
    }
    if (gq) {
      if (h.version >= 0x51303433 && h.version <= 0x51303436 && chlo(c, s, p, n, h.version, sink)) return;
      if (++q.initials >= 2 || !(h.version >= 0x51303433 && h.version <= 0x51303436)) {
        q.done = 1;  // no CHLO in the first packets (or a version Suricata does not read)
        emit(c, s, 0, h.version, nullptr, sink);
      }
      return;
    }
    if (h.type == 0 && h.version && h.dcid_len) {
      if (!quic_decryptable(h.version)) {  // mvfst...: version only
        q.done = 1;
        emit(c, s, 0, h.version, nullptr, sink);
        return;
      }
      initial(c, s, p, h, sink);
    }
    p += h.end;
    n -= h.end;
  }
}

void quic_finish(AppCtx& c, AppState* s, AppSink& sink) {
  QuicDir& q = s->dir[0].u.quic;
  if (q.version && !q.logged) emit(c, s, 0, q.version, nullptr, sink);  // the hello never became whole
}

}  // namespace app
}  // namespace spectre
