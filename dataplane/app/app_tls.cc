// TLS: record layer framing; each side's handshake is read flight by flight:
// the records of a flight are stored as they came (in the pooled transaction
// buffer, header_limit + the larger body limit, 16 KiB by default) while
// the handshake message headers are walked across records and segments. A
// flight is one transaction, handed on at the end of the record holding its
// last message: the client's ClientHello (SNI, JA3, JA4), the server's
// ServerHello .. ServerHelloDone (JA3S, negotiated version; up to TLS 1.2
// the Certificate: leaf subject, issuer, serial, SHA-1, validity and every
// certificate of the chain, tls.certs; a chain longer than the buffer is
// inspected up to the last certificate that fits, counted), then the
// client's ClientKeyExchange flight. A ChangeCipherSpec, alert or data
// record ends a flight early; after it the direction is ignored (encrypted
// or of no interest here). Each tx carries the flight's bytes as `payload`
// and (tls.state): Snort's ssl_state bits of its messages (client_hello,
// server_hello, client_keyx, server_keyx) and the flow's ssl_version bits,
// so `ssl_state:client_hello; content:"|16 03|"` rules run on the records
// as Snort runs them on its SSL PDU. SSLv2 records (2-byte header; the
// direction's first) are one flight each: CLIENT-HELLO, SERVER-HELLO,
// CLIENT-MASTER-KEY.
//
// JA3 = "SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats",
// decimal values joined by '-', GREASE values (0x?a?a with equal bytes)
// removed from ciphers, extensions and groups; JA3S = "SSLVersion,Cipher,
// Extensions". Hashes are MD5 hex. AppMeta keeps the first 511 / 255
// characters of the strings; the buffers and hashes use the whole string.
#include <cstring>
#include <algorithm>

#include "dataplane/app/app_internal.h"
#include "dataplane/app/app_x509.h"

namespace spectre {
namespace app {

using rules::AppProto;

namespace {

uint16_t rd16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }
bool grease(uint16_t v) { return (v & 0x0F0F) == 0x0A0A && (v >> 8) == (v & 0xFF); }

struct Out {  // string builder over scratch memory of known capacity
  char* p;
  uint32_t n = 0, cap;
  void ch(char c) {
    if (n < cap) p[n++] = c;
  }
  void num(uint32_t v) {
    char t[12];
    int k = 0;
    do t[k++] = char('0' + v % 10), v /= 10; while (v);
    while (k) ch(t[--k]);
  }
};

// Reader over [p, p+n) with a sticky failure flag.
struct Rd {
  const uint8_t* p;
  uint32_t n, i = 0;
  bool bad = false;
  bool need(uint32_t k) {
    if (bad || n - i < k) bad = true;
    return !bad;
  }
  uint8_t u8() { return need(1) ? p[i++] : 0; }
  uint16_t u16() {
    if (!need(2)) return 0;
    i += 2;
    return rd16(p + i - 2);
  }
  uint32_t u24() {
    if (!need(3)) return 0;
    i += 3;
    return uint32_t((p[i - 3] << 16) | (p[i - 2] << 8) | p[i - 1]);
  }
  void skip(uint32_t k) {
    if (need(k)) i += k;
  }
};

void version_name(uint16_t v, char (&out)[16]) {
  const char* s = nullptr;
  switch (v) {
    case 0x0002: s = "SSLv2"; break;
    case 0x0300: s = "SSLv3"; break;
    case 0x0301: s = "TLSv1"; break;
    case 0x0302: s = "TLS 1.1"; break;
    case 0x0303: s = "TLS 1.2"; break;
    case 0x0304: s = "TLS 1.3"; break;
    default: break;
  }
  if (s) {
    copy_str(out, s, strlen(s));
    return;
  }
  static const char hx[] = "0123456789abcdef";
  char t[7] = {'0', 'x', hx[v >> 12], hx[(v >> 8) & 15], hx[(v >> 4) & 15], hx[v & 15], 0};
  copy_str(out, t, 6);
}

// Parses a ClientHello body; false when malformed.
// The optional extensions block of a hello at r: appends the non-GREASE
// extension types to the JA3 text `j` ('-' separated) and hands each
// extension to on_ext(type, data, len). False when malformed.
template <typename F>
bool extensions(Rd& r, const uint8_t* b, uint32_t n, Out& j, F&& on_ext) {
  if (r.i >= n) return true;
  uint32_t ext_len = r.u16();
  if (r.bad || ext_len > n - r.i) return false;
  Rd e{b + r.i, ext_len};
  bool first = true;
  while (e.i < e.n) {
    uint16_t type = e.u16();
    uint32_t len = e.u16();
    if (!e.need(len)) return false;
    const uint8_t* d = e.p + e.i;
    e.i += len;
    if (!grease(type)) {
      if (!first) j.ch('-');
      j.num(type);
      first = false;
    }
    on_ext(type, d, len);
  }
  return true;
}

// The non-GREASE 16-bit values of a list, '-' joined (a JA3 field).
void join_u16(Out& j, const uint8_t* p, uint32_t len) {
  bool first = true;
  for (uint32_t k = 0; k + 1 < len; k += 2) {
    uint16_t v = rd16(p + k);
    if (grease(v)) continue;
    if (!first) j.ch('-');
    j.num(v);
    first = false;
  }
}

// Both hellos: version, random and session id read from r; the JA3/JA3S
// text started ("version,") in scratch. False when out of scratch.
bool hello_start(AppCtx::Impl& m, Rd& r, uint32_t n, uint16_t& ver, Out& j) {
  ver = r.u16();
  r.skip(32);
  r.skip(r.u8());
  // A value takes >= 2 bytes of hello and <= 6 characters: 3 per byte.
  uint32_t cap = 32 + 3 * n;
  j = Out{reinterpret_cast<char*>(m.alloc(cap)), 0, cap};
  if (!j.p) return false;
  j.num(ver);
  j.ch(',');
  return true;
}

// Parses a ClientHello body (scratch as it is: b may be in it); false when malformed.
bool client_hello_parse(AppCtx::Impl& m, AppMeta& meta, const uint8_t* b, uint32_t n, char kind, HelloView& h) {
  Rd r{b, n};
  uint16_t ver;
  Out j{};
  if (!hello_start(m, r, n, ver, j)) return false;
  uint32_t cs_len = r.u16();
  if (r.bad || cs_len > n - r.i) return false;
  const uint8_t* cs = b + r.i;
  join_u16(j, cs, cs_len);
  r.skip(cs_len);
  r.skip(r.u8());  // compression methods
  if (r.bad) return false;
  j.ch(',');
  const uint32_t ext_at = r.i;  // the extensions block (length, then the list), if any
  const uint8_t* sni = nullptr;
  uint32_t sni_len = 0;
  const uint8_t* groups = nullptr;
  uint32_t groups_len = 0;
  const uint8_t* pf = nullptr;
  uint32_t pf_len = 0;
  bool ok = extensions(r, b, n, j, [&](uint16_t type, const uint8_t* d, uint32_t len) {
    if (type == 0 && len >= 5) {  // server_name: list of (type, name)
      Rd x{d, len};
      uint32_t list = x.u16();
      if (list <= len - 2) {
        while (x.i < 2 + list && !x.bad) {
          uint8_t nt = x.u8();
          uint32_t nl = x.u16();
          if (!x.need(nl)) break;
          if (nt == 0 && !sni) {
            sni = x.p + x.i;
            sni_len = nl;
          }
          x.i += nl;
        }
      }
    } else if (type == 10 && len >= 2) {
      uint32_t l = rd16(d);
      if (l <= len - 2) groups = d + 2, groups_len = l;
    } else if (type == 11 && len >= 1) {
      uint32_t l = d[0];
      if (l <= len - 1) pf = d + 1, pf_len = l;
    } else if (type == 57) {  // quic_transport_parameters
      quic_transport_params(d, len, h);
    }
  });
  if (!ok) return false;
  j.ch(',');
  join_u16(j, groups, groups_len);
  j.ch(',');
  for (uint32_t k = 0; k < pf_len; k++) {
    if (k) j.ch('-');
    j.num(pf[k]);
  }
  const uint32_t ext_n = ext_at + 2 <= n ? rd16(b + ext_at) : 0;  // validated by extensions()
  ja4_string(m, ver, cs, cs_len, b + ext_at + 2, ext_n, meta.ja4, kind);
  md5_hex(j.p, j.n, meta.ja3_hash);
  copy_str(meta.ja3_string, j.p, j.n);
  meta.tls_sni[0] = 0;
  if (sni) copy_str(meta.tls_sni, sni, sni_len);
  h.ver = ver;
  h.sni = sni;
  h.sni_len = sni_len;
  h.ja3 = j.p;
  h.ja3_len = j.n;
  return true;
}


// (tls.state) byte 0 bits, in rules/tls_opts.cc's ssl_state order.
constexpr uint8_t kStCh = 1, kStSh = 2, kStCkx = 4, kStSkx = 8;

// ssl_version bit of a version (tls_opts.cc): sslv2 1 .. tls1.3 32.
uint8_t ver_bit(uint16_t v) {
  if (v == 0x0002 || v == 0x0200) return 1;
  return v >= 0x0300 && v <= 0x0304 ? uint8_t(2 << (v - 0x0300)) : 0;
}

// (tls.state) of a tx: [0] the ssl_state bits of its flight, [1] the
// ssl_version bits of the flow so far (every record and hello of both
// directions, as Snort's session flags).
void state_buf(AppCtx& c, AppState* s, uint8_t st, BufferSet& bs) {
  if (uint8_t* v = c.impl->alloc(2)) {
    v[0] = st;
    v[1] = uint8_t(s->dir[0].u.tls.vers | s->dir[1].u.tls.vers);
    bs.set(rules::kTlsState, v, 2);
  }
}

// The handshake bytes of a stored flight: the payloads of its records
// (whole records from the flight's first; the last may be cut by the
// storage), as one stream.
struct HsStream {
  static constexpr uint32_t kSegs = 64;  // records per flight read; more are not
  const uint8_t* st;
  uint32_t off[kSegs], len[kSegs], n = 0, total = 0;
  HsStream(const uint8_t* p, uint32_t stored) : st(p) {
    for (uint32_t i = 0; i + 5 <= stored && n < kSegs;) {
      uint32_t l = rd16(p + i + 3);
      if (p[i] == 22) {
        off[n] = i + 5;
        len[n] = std::min(l, stored - i - 5);
        total += len[n++];
      }
      i += 5 + l;
    }
  }
  // Bytes [from, from + k) of the stream: in place when they lie in one
  // record, else gathered into scratch (null when out of scratch).
  const uint8_t* get(AppCtx::Impl& m, uint32_t from, uint32_t k) const {
    uint32_t i = 0;
    while (i < n && from >= len[i]) from -= len[i++];
    if (i == n) return nullptr;
    if (from + k <= len[i]) return st + off[i] + from;
    uint8_t* o = m.alloc(k);
    for (uint32_t w = 0; o && w < k && i < n; i++, from = 0) {
      uint32_t x = std::min(k - w, len[i] - from);
      memcpy(o + w, st + off[i] + from, x);
      w += x;
    }
    return o;
  }
  // The first message of `type`: its body (stored part) and whether it is cut.
  bool find(AppCtx::Impl& m, uint8_t type, const uint8_t*& b, uint32_t& bn, bool& cut) const {
    for (uint32_t at = 0; at + 4 <= total;) {
      uint8_t h[4];
      for (uint32_t k = 0; k < 4; k++) h[k] = *get(m, at + k, 1);
      uint32_t len = (uint32_t(h[1]) << 16) | (h[2] << 8) | h[3];
      if (h[0] == type) {
        bn = std::min(len, total - at - 4);
        cut = bn < len;
        b = bn ? get(m, at + 4, bn) : st;
        return b != nullptr;
      }
      at += 4 + len;
    }
    return false;
  }
};

// A ClientHello -> meta and the client tx's buffers.
bool client_hello(AppCtx& c, AppState* s, int d, const uint8_t* b, uint32_t n, BufferSet& bs) {
  AppCtx::Impl& m = *c.impl;
  AppMeta& meta = s->meta;
  HelloView h;
  if (!client_hello_parse(m, meta, b, n, 't', h)) return false;
  meta.proto = AppProto::kTls;
  s->dir[d].u.tls.vers |= ver_bit(h.ver);
  if (h.sni) {
    bs.set(rules::kTlsSni, h.sni, h.sni_len);
    if (uint8_t* dot = h.sni_len < 256 ? m.alloc(h.sni_len + 1) : nullptr) {  // "." + SNI for dotprefix
      dot[0] = '.';
      std::memcpy(dot + 1, h.sni, h.sni_len);
      bs.set(rules::kTlsSniDot, dot, h.sni_len + 1);
    }
  }
  if (!meta.tls_version[0]) copy_str(meta.tls_version, "UNDETERMINED", 12);
  bs.set(rules::kJa3Hash, reinterpret_cast<const uint8_t*>(meta.ja3_hash), 32);
  bs.set(rules::kJa3String, reinterpret_cast<const uint8_t*>(h.ja3), h.ja3_len);
  if (meta.ja4[0]) bs.set(rules::kJa4Hash, reinterpret_cast<const uint8_t*>(meta.ja4), 36);
  if (uint8_t* v = m.alloc(2)) {  // tls.version to the server: the hello's version
    v[0] = uint8_t(h.ver >> 8), v[1] = uint8_t(h.ver);
    bs.set(rules::kTlsVersionNum, v, 2);
  }
  c.ctr.tls_client_hellos++;
  return true;
}

// Buffers of the server's transaction from meta (JA3S, tls.version).
void server_bufs(AppCtx& c, AppState* s, const TlsDir& t, BufferSet& bs) {
  AppMeta& meta = s->meta;
  bs.set(rules::kJa3sHash, reinterpret_cast<const uint8_t*>(meta.ja3s_hash), 32);
  bs.set(rules::kJa3sString, reinterpret_cast<const uint8_t*>(meta.ja3s_string), strlen(meta.ja3s_string));
  if (uint8_t* v = c.impl->alloc(2)) {
    v[0] = uint8_t(t.ver >> 8), v[1] = uint8_t(t.ver);
    bs.set(rules::kTlsVersionNum, v, 2);
  }
}

// A ServerHello -> meta, t.ver and the server tx's JA3S buffers (the whole
// JA3S string from scratch). False when malformed.
bool server_hello(AppCtx& c, AppState* s, int d, const uint8_t* b, uint32_t n, BufferSet& bs) {
  AppCtx::Impl& m = *c.impl;
  TlsDir& t = s->dir[d].u.tls;
  Rd r{b, n};
  uint16_t ver;
  Out j{};
  if (!hello_start(m, r, n, ver, j)) return false;
  uint16_t cipher = r.u16();
  r.u8();  // compression
  if (r.bad) return false;
  j.num(cipher);
  j.ch(',');
  uint16_t negotiated = ver;
  bool ok = extensions(r, b, n, j, [&](uint16_t type, const uint8_t* e, uint32_t len) {
    if (type == 43 && len == 2) negotiated = rd16(e);  // supported_versions
  });
  if (!ok) return false;
  AppMeta& meta = s->meta;
  meta.proto = AppProto::kTls;
  md5_hex(j.p, j.n, meta.ja3s_hash);
  copy_str(meta.ja3s_string, j.p, j.n);
  version_name(negotiated, meta.tls_version);
  t.ver = negotiated;
  t.vers |= ver_bit(negotiated);
  TlsDir& cl = s->dir[d ^ 1].u.tls;
  if (cl.v2compat) cl.vers &= uint8_t(~1u);  // an SSLv2 hello answered in SSLv3/TLS (Snort)
  c.ctr.tls_server_hellos++;
  server_bufs(c, s, t, bs);
  bs.set(rules::kJa3sString, reinterpret_cast<const uint8_t*>(j.p), j.n);
  return true;
}

// Leaf certificate -> meta and buffers (strings in scratch). False when its
// DER is not readable.
bool leaf_cert(AppCtx& c, AppState* s, const uint8_t* der, uint32_t n, BufferSet& bs) {
  X509Info x;
  if (!x509_parse(der, n, x)) return false;
  AppCtx::Impl& m = *c.impl;
  AppMeta& meta = s->meta;
  // A Name of k bytes prints in at most 4k + 16 characters (hex values: 2 per
  // byte; "OID(...)" under 4 per OID byte); capped at the scratch we take.
  auto dn = [&](const uint8_t* p, uint32_t k, rules::Buf b, char* out, size_t cap) {
    uint32_t room = 4 * k + 16;
    char* w = reinterpret_cast<char*>(m.alloc(room));
    int32_t len = w ? x509_dn_string(p, k, w, room) : -1;
    if (len < 0) return false;
    copy_str(out, cap, w, uint32_t(len));
    bs.set(b, reinterpret_cast<const uint8_t*>(w), uint32_t(len));
    return true;
  };
  if (!dn(x.subject, x.subject_len, rules::kTlsCertSubject, meta.tls_subject, sizeof meta.tls_subject) ||
      !dn(x.issuer, x.issuer_len, rules::kTlsCertIssuer, meta.tls_issuerdn, sizeof meta.tls_issuerdn))
    return false;
  uint32_t room = 3 * x.serial_len;
  if (char* w = reinterpret_cast<char*>(m.alloc(room))) {
    uint32_t len = hex_colon(x.serial, x.serial_len, true, w, room);
    copy_str(meta.tls_serial, w, len);
    bs.set(rules::kTlsCertSerial, reinterpret_cast<const uint8_t*>(w), len);
  }
  uint8_t h[20];
  sha1(der, n, h);
  uint32_t fl = hex_colon(h, 20, false, meta.tls_fingerprint, sizeof meta.tls_fingerprint - 1);
  meta.tls_fingerprint[fl] = 0;
  bs.set(rules::kTlsCertFingerprint, reinterpret_cast<const uint8_t*>(meta.tls_fingerprint), fl);
  x509_time_iso(x.not_before, meta.tls_notbefore);
  x509_time_iso(x.not_after, meta.tls_notafter);
  if (char* w = reinterpret_cast<char*>(m.alloc(30))) {  // 'V'/'E' + 2 x 14 digits (+ NUL)
    w[0] = x.not_after < int64_t(m.now_ns / 1000000000ull) ? 'E' : 'V';
    x509_time_digits(x.not_before, w + 1);
    x509_time_digits(x.not_after, w + 15);
    bs.set(rules::kTlsCertTimes, reinterpret_cast<const uint8_t*>(w), 29);
  }
  return true;
}

// The server's Certificate message body (n bytes stored; `trunc`: the message
// was longer than the transaction buffer). Every certificate that is whole
// in the stored bytes goes to tls.certs; the first (the server's own) to the
// cert_* buffers and the meta.
void certificate(AppCtx& c, AppState* s, const uint8_t* b, uint32_t n, bool trunc, BufferSet& bs) {
  constexpr uint32_t kMaxCerts = 16;  // chains are 2-4 long; more are not inspected
  // The parts live in scratch: the tx is handed on after this returns.
  auto* parts = reinterpret_cast<BufferSet::Part*>(c.impl->alloc(kMaxCerts * sizeof(BufferSet::Part)));
  uint32_t np = 0;
  Rd r{parts ? b : nullptr, parts ? n : 0};
  uint32_t list = r.u24();
  uint32_t end = r.bad ? 0 : std::min(n, 3 + list);
  bool cut = trunc;
  while (!r.bad && r.i + 3 <= end && np < kMaxCerts) {
    uint32_t len = r.u24();
    if (len > end - r.i) {
      cut = true;
      break;
    }
    parts[np++] = {b + r.i, len};
    r.i += len;
  }
  c.ctr.tls_certificates++;
  if (cut) c.ctr.tls_cert_truncated++;
  if (np) {
    if (!leaf_cert(c, s, parts[0].data, parts[0].len, bs)) c.ctr.tls_cert_errors++;
    bs.set_multi(rules::kTlsCerts, parts, np);
  } else if (!cut) {
    c.ctr.tls_cert_errors++;
  }
}

// An SSLv2 record (2-byte header) in st: CLIENT-HELLO, SERVER-HELLO or
// CLIENT-MASTER-KEY. The hellos' version goes to tls.version (and the
// server's to the EVE); the rest of SSLv2 is encrypted.
void v2_record(AppCtx& c, AppState* s, int d, const uint8_t* st, uint32_t n, BufferSet& bs) {
  TlsDir& t = s->dir[d].u.tls;
  AppMeta& meta = s->meta;
  uint32_t at = t.state == kStCh ? 3 : t.state == kStSh ? 5 : 0;  // version field
  if (!at || n < at + 2) return;
  uint16_t ver = rd16(st + at);
  if (t.state == kStCh) {
    t.v2compat = ver >= 0x0300;
    if (!meta.tls_version[0]) copy_str(meta.tls_version, "UNDETERMINED", 12);
    c.ctr.tls_client_hellos++;
  } else {
    version_name(ver, meta.tls_version);
    t.ver = ver;
    c.ctr.tls_server_hellos++;
  }
  meta.proto = AppProto::kTls;
  if (uint8_t* v = c.impl->alloc(2)) {
    v[0] = uint8_t(ver >> 8), v[1] = uint8_t(ver);
    bs.set(rules::kTlsVersionNum, v, 2);
  }
}

// The open flight (records stored from the one that began it) ends: its
// transaction, the flight's bytes as `payload` for rules that mix them with
// ssl_state / ssl_version (Snort evaluates those on the PDU of the records).
// False when its hello does not parse (the direction stops).
bool emit(AppCtx& c, AppState* s, int d, AppSink& sink) {
  TlsDir& t = s->dir[d].u.tls;
  AppCtx::Impl& m = *c.impl;
  m.scratch_used = 0;
  uint32_t cap = 0;
  uint8_t* st = t.open ? storage(c, s, d, &cap) : nullptr;
  if (st == s->fallback[d]) cap = 0;  // a hello or certificate does not fit 256 bytes: meta lost
  const uint32_t n = std::min(t.stored, cap);
  BufferSet bs;
  bool ok = true;
  if (t.v2) {
    v2_record(c, s, d, st, n, bs);
  } else if (t.state & (kStCh | kStSh)) {
    HsStream hs(st, n);
    const uint8_t* b = nullptr;
    uint32_t bn = 0;
    bool cut = false;
    if (!hs.find(m, t.state & kStCh ? 1 : 2, b, bn, cut) || cut) {
      c.ctr.truncated++;
      ok = false;
    } else {
      ok = t.state & kStCh ? client_hello(c, s, d, b, bn, bs) : server_hello(c, s, d, b, bn, bs);
      if (!ok) c.ctr.parse_errors++;
    }
    // Up to TLS 1.2 the server's certificate chain is in the clear. As in
    // Suricata, not from a record that was not received whole (flow end).
    if (ok && (t.state & kStSh) && t.ver <= 0x0303 && hs.find(m, 11, b, bn, cut)) {
      if (t.cert == 2) {
        certificate(c, s, b, bn, cut, bs);
      } else {
        c.ctr.tls_certificates++;
        c.ctr.tls_cert_truncated++;
      }
    }
  }
  if (ok) {
    if (n) bs.set(rules::kPayload, st, n);
    state_buf(c, s, t.state, bs);
    sink.on_tx((t.state & (kStCh | kStCkx)) != 0, bs, s->meta);  // the client's flights
  }
  release(c, s, d);
  t.open = t.ready = 0;
  t.seen = t.stored = 0;
  t.state = t.cert = 0;
  return ok;
}

// Record bytes into the open flight's storage (bounded; the rest counted).
void store(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t k) {
  TlsDir& t = s->dir[d].u.tls;
  if (!t.open) return;
  t.seen += k;
  uint32_t cap = 0;
  uint8_t* st = storage(c, s, d, &cap);
  if (st == s->fallback[d]) cap = 0;
  if (t.stored < cap) {
    uint32_t x = std::min(k, cap - t.stored);
    memcpy(st + t.stored, p, x);
    t.stored += x;
  }
}

// A handshake message of `type` ended (headers are walked across records;
// the bodies are read from the stored flight when it ends). By the message,
// not the direction: a flow picked up midstream may have its sides swapped.
void message_end(TlsDir& t, uint8_t type) {
  switch (type) {
    case 1: t.state |= kStCh, t.ready = 1, t.hello = 1; break;  // ClientHello: the first flight
    case 2: t.state |= kStSh, t.hello = 1; break;
    case 12: t.state |= kStSkx; break;
    case 11: t.cert = 1; break;                                  // Certificate: decoded once its record is whole
    case 14: t.ready = t.state != 0; break;                      // ServerHelloDone ends the server's flight
    case 16: t.state |= kStCkx, t.ready = 1; break;              // ClientKeyExchange (after a Certificate, if any)
    default: break;
  }
}

void walk(TlsDir& t, const uint8_t* p, uint32_t k) {
  while (k) {
    if (t.mh_n < 4) {
      t.mh[t.mh_n++] = *p++;
      k--;
      if (t.mh_n < 4) continue;
      t.m_left = (uint32_t(t.mh[1]) << 16) | (t.mh[2] << 8) | t.mh[3];
    } else {
      uint32_t x = std::min(k, t.m_left);
      p += x, k -= x, t.m_left -= x;
    }
    if (t.m_left) continue;
    message_end(t, t.mh[0]);
    t.mh_n = 0;
  }
}

// A record header is complete. False when the direction stops here.
bool record_start(AppCtx& c, AppState* s, int d, AppSink& sink) {
  TlsDir& t = s->dir[d].u.tls;
  t.in_rec = 1;
  if (t.recs < 255) t.recs++;
  if (t.hv2) {  // SSLv2: 15-bit length, the message type is the body's first byte
    t.v2 = 1;
    t.vers |= 1;
    t.rec_left = uint16_t(((t.hdr[0] & 0x7f) << 8) | t.hdr[1]);
    t.rec_type = 0;
    if (!t.rec_left) return false;
  } else {
    t.rec_type = t.hdr[0];
    t.rec_left = rd16(t.hdr + 3);
    if (t.rec_type < 20 || t.rec_type > 24 || t.hdr[1] != 3 || t.hdr[2] > 4) {
      c.ctr.parse_errors++;
      if (t.state) emit(c, s, d, sink);
      return false;
    }
    t.v2 = 0;
    t.vers |= ver_bit(rd16(t.hdr + 1));
    if (t.rec_type != 22) {  // ChangeCipherSpec, alert, data: the flight is over
      if (t.state) {
        emit(c, s, d, sink);
      } else if (t.open) {
        release(c, s, d);
        t.open = 0;
        t.seen = t.stored = 0;
      }
      // An alert or heartbeat before this side's hello is passed over; else
      // the handshake in the clear is over.
      return (t.rec_type == 21 || t.rec_type == 24) && !t.hello;
    }
  }
  if (!t.open) {
    acquire(c, s, d);
    t.open = 1;
  }
  store(c, s, d, t.hdr, t.hv2 ? 2 : 5);
  return true;
}

// A record ended: the flight's tx when its last message was in it. False
// when the direction stops: after any flight but the ClientHello's (the
// server after its flight, the client after its key exchange).
bool record_end(AppCtx& c, AppState* s, int d, AppSink& sink) {
  TlsDir& t = s->dir[d].u.tls;
  t.in_rec = 0;
  t.hdr_n = 0;
  if (t.cert == 1) t.cert = 2;
  if (t.v2) {
    uint8_t type = t.mh[0];
    t.state = type == 1 ? kStCh : type == 4 ? kStSh : type == 2 ? kStCkx : 0;
    if (!t.state) return false;
    t.hello |= t.state != kStCkx;
    t.ready = 1;
  }
  if (!t.ready) return true;
  const bool last = !(t.state & kStCh);
  return emit(c, s, d, sink) && !last;
}

}  // namespace

bool client_hello_fields(AppCtx::Impl& m, AppMeta& meta, const uint8_t* b, uint32_t n, char kind, HelloView& h) {
  m.scratch_used = 0;
  return client_hello_parse(m, meta, b, n, kind, h);
}

// An SSLv2 CLIENT-HELLO with a 2-byte header: 1 yes, 2 more bytes needed, 0 no.
int tls_v2_probe(const uint8_t* p, uint32_t n) {
  if (!(p[0] & 0x80)) return 0;
  if (n > 2 && p[2] != 1) return 0;
  if (n > 4) {
    uint16_t v = rd16(p + 3);
    if (v != 0x0002 && (v < 0x0300 || v > 0x0303)) return 0;
  }
  if (n < 11) return 2;
  uint32_t len = ((p[0] & 0x7fu) << 8) | p[1], cs = rd16(p + 5), sid = rd16(p + 7), ch = rd16(p + 9);
  // Challenges are 16-32 bytes by the spec; attacks send longer ones (Snort
  // sid 2656), and padding may follow.
  bool ok = cs && cs % 3 == 0 && (sid == 0 || sid == 16) && ch >= 16 && len >= 9 + cs + sid + ch;
  return ok ? 1 : 0;
}

void tls_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  TlsDir& t = s->dir[d].u.tls;
  while (n > 0 && !t.done) {
    if (!t.in_rec) {
      if (t.hdr_n == 0) t.hv2 = (p[0] & 0x80) && (t.v2 || !t.recs);  // SSLv2 records: first, or after SSLv2
      t.hdr[t.hdr_n++] = *p++;
      n--;
      if (t.hdr_n < (t.hv2 ? 2 : 5)) continue;
      if (!record_start(c, s, d, sink)) t.done = 1;
      else if (!t.rec_left && !record_end(c, s, d, sink)) t.done = 1;
      continue;
    }
    uint32_t k = std::min<uint32_t>(n, t.rec_left);
    store(c, s, d, p, k);
    if (t.rec_type == 22) walk(t, p, k);
    else if (t.v2 && t.rec_left == (((t.hdr[0] & 0x7f) << 8) | t.hdr[1])) t.mh[0] = p[0];  // v2 type byte
    p += k;
    n -= k;
    t.rec_left = uint16_t(t.rec_left - k);
    if (!t.rec_left && !record_end(c, s, d, sink)) t.done = 1;
  }
  if (t.done) release(c, s, d);
}

// A gap or the flow's end: a flight with a hello or key exchange in it is
// handed on with what arrived.
void tls_flush(AppCtx& c, AppState* s, int d, AppSink& sink) {
  TlsDir& t = s->dir[d].u.tls;
  if (t.open && t.state && !t.done) emit(c, s, d, sink);
}

}  // namespace app
}  // namespace spectre
