// SSH: the banner ("SSH-protoversion-softwareversion SP comments CRLF", RFC
// 4253 4.2) and the KEXINIT of each side, for ssh.proto / ssh.software and
// HASSH (salesforce/hassh, as Suricata computes it: md5 of
// "kex;encryption;mac;compression" with the client-to-server lists for the
// client's KEXINIT and the server-to-client lists for the server's).
//
// One tx per direction, handed on once: when that side's KEXINIT is parsed,
// or when it can no longer come (NEWKEYS, SSH-1, a gap, the flow's end). The
// tx that completes both sides (or the last one) carries meta.ssh_log: the
// flow's EVE `ssh` event. After NEWKEYS the direction is encrypted: ignored.
//
// Memory: the banner line lives in the direction's fallback area (256 bytes,
// the flow's life); a KEXINIT is stored in a pooled buffer (none free, or
// larger than the buffer: no HASSH, counted) and held until the flow's EVE
// event is handed on (normally one round trip later; at the latest the
// flow's end or a gap), so that tx can carry both sides' HASSH strings
// (kSshHasshString and the internal kSshHasshPeer). AppMeta keeps only the
// md5s: the strings (up to ~1 KB each) stay out of every alert record. No
// allocation; the hassh strings are built in the per-call scratch.
#include <algorithm>
#include <cstring>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

namespace {

enum SshPhase : uint8_t { kBanner = 0, kRecords, kDone };

constexpr uint8_t kMaxPreLines = 8;         // lines a server may send before its banner
constexpr uint32_t kMaxRecord = 256 * 1024;  // larger packet_length: not SSH (dead)
constexpr uint8_t kMsgKexinit = 20, kMsgNewkeys = 21;

struct Banner {
  const uint8_t* proto = nullptr;
  const uint8_t* soft = nullptr;
  uint32_t proto_n = 0, soft_n = 0;
};

// "SSH-2.0-OpenSSH_8.4p1 Debian-5": proto "2.0", software "OpenSSH_8.4p1"
// (up to the first space; the rest is comments). False when not a banner.
bool parse_banner(const uint8_t* l, uint32_t n, Banner& b) {
  if (n < 4 || memcmp(l, "SSH-", 4) != 0) return false;
  uint32_t i = 4;
  while (i < n && l[i] != '-' && l[i] != ' ') i++;
  b.proto = l + 4;
  b.proto_n = i - 4;
  if (i >= n || l[i] != '-' || !b.proto_n) return false;
  uint32_t s = ++i;
  while (i < n && l[i] != ' ') i++;
  b.soft = l + s;
  b.soft_n = i - s;
  return true;
}

bool banner_of(AppState* s, int d, Banner& b) {
  const SshDir& h = s->dir[d].u.ssh;
  return h.phase != kBanner && parse_banner(s->fallback[d], h.line_len, b);
}

// Name-list i of a KEXINIT payload (after the message code); false when the
// payload ends early.
bool name_list(const uint8_t* p, uint32_t n, int want, const uint8_t** out, uint32_t* out_n) {
  uint32_t at = 16;  // cookie
  for (int i = 0; i <= want; i++) {
    if (at + 4 > n) return false;
    uint32_t len = (uint32_t(p[at]) << 24) | (p[at + 1] << 16) | (p[at + 2] << 8) | p[at + 3];
    at += 4;
    if (len > n - at) return false;
    if (i == want) {
      *out = p + at;
      *out_n = len;
      return true;
    }
    at += len;
  }
  return false;
}

// Side d's KEXINIT is still in its pooled buffer (parsed: kex_len complete).
bool kex_held(AppState* s, int d) {
  return s->dir[d].u.ssh.kex_held && s->dir[d].buf != kNoBuf;
}

// The hassh string of side d's held KEXINIT, built in scratch ("kex;enc;mac;
// comp" with the client-to-server lists for the client, server-to-client for
// the server). False when malformed or out of scratch.
bool build_hassh(AppCtx& c, AppState* s, int d, const uint8_t** out, uint32_t* out_n) {
  SshDir& h = s->dir[d].u.ssh;
  uint32_t cap;
  const uint8_t* p = storage(c, s, d, &cap);
  const uint8_t* lst[4];
  uint32_t ln[4];
  // kex (0), then encryption, mac, compression: c2s 2, 4, 6; s2c 3, 5, 7.
  const int idx[4] = {0, 2 + d, 4 + d, 6 + d};
  bool ok = p && h.kex_len == h.kex_need;
  for (int i = 0; ok && i < 4; i++) ok = name_list(p, h.kex_len, idx[i], &lst[i], &ln[i]);
  if (!ok) return false;
  uint8_t* hs = c.impl->alloc(h.kex_len + 4);  // the lists fit in the payload
  if (!hs) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; i++) {
    if (i) hs[n++] = ';';
    memcpy(hs + n, lst[i], ln[i]);
    n += ln[i];
  }
  *out = hs;
  *out_n = n;
  return true;
}

// Releases side d's held KEXINIT (never one still arriving: kex_keep).
void drop_kex(AppCtx& c, AppState* s, int d) {
  SshDir& h = s->dir[d].u.ssh;
  if (h.kex_held && !h.kex_keep) release(c, s, d);
  h.kex_held = 0;
}

// The flow's EVE event strings: both sides' hassh strings from their held
// KEXINITs as the internal buffers (ssh.hassh.client) / (ssh.hassh.server)
// (for the record only: no rule names them), then the KEXINITs released.
void event_strings(AppCtx& c, AppState* s, BufferSet& b) {
  for (int k = 0; k < 2; k++) {
    const uint8_t* hs;
    uint32_t n;
    if (kex_held(s, k) && build_hassh(c, s, k, &hs, &n))
      b.set(k == 0 ? rules::kSshHasshClient : rules::kSshHasshServer, hs, n);
  }
}

// The tx of direction d: banner buffers, and the hassh ones when `hs` is set.
void emit(AppCtx& c, AppState* s, int d, const uint8_t* hs, uint32_t hs_n, bool final, AppSink& sink) {
  SshDir& h = s->dir[d].u.ssh;
  if (h.emitted) return;
  h.emitted = 1;
  const Dir& o = s->dir[d ^ 1];
  AppMeta& a = s->meta;
  a.ssh_log = final || o.u.ssh.emitted || o.det == kDead || o.det == kRejected;
  h.logged = a.ssh_log;
  BufferSet b;
  Banner bn;
  if (banner_of(s, d, bn)) {
    b.set(rules::kSshProto, bn.proto, bn.proto_n);
    b.set(rules::kSshSoftware, bn.soft, bn.soft_n);
  }
  if (hs) {
    b.set(rules::kSshHassh, reinterpret_cast<const uint8_t*>(a.ssh_hassh[d]), 32);
    b.set(rules::kSshHasshString, hs, hs_n);
  }
  if (a.ssh_log) event_strings(c, s, b);
  sink.on_tx(d == 0, b, a);
  if (a.ssh_log) {
    drop_kex(c, s, 0);
    drop_kex(c, s, 1);
  }
  a.ssh_log = false;
}

void banner_line(AppCtx& c, AppState* s, int d, AppSink& sink) {
  SshDir& h = s->dir[d].u.ssh;
  uint32_t n = h.line_len;
  const uint8_t* l = s->fallback[d];
  if (n && l[n - 1] == '\r') h.line_len = uint16_t(--n);
  Banner b;
  if (!parse_banner(l, n, b)) {
    h.line_len = 0;
    if (++h.lines > kMaxPreLines) {
      h.phase = kDone;
      c.ctr.parse_errors++;
    }
    return;
  }
  c.ctr.ssh_banners++;
  AppMeta& a = s->meta;
  copy_field(a.ssh_proto[d], sizeof a.ssh_proto[d], b.proto, b.proto_n);
  copy_field(a.ssh_software[d], sizeof a.ssh_software[d], b.soft, b.soft_n);
  h.phase = kRecords;
  // SSH-1 (not 1.99, which speaks 2): no KEXINIT of this form follows.
  if (b.proto_n >= 2 && b.proto[0] == '1' && b.proto[1] == '.' &&
      !(b.proto_n == 4 && memcmp(b.proto, "1.99", 4) == 0)) {
    h.phase = kDone;
    emit(c, s, d, nullptr, 0, false, sink);
  }
}

// The stored KEXINIT: hassh into meta, the tx handed on; the KEXINIT stays
// held for the flow's EVE event (emit releases it).
void kexinit_done(AppCtx& c, AppState* s, int d, AppSink& sink) {
  SshDir& h = s->dir[d].u.ssh;
  h.kex_keep = 0;
  h.kex_held = 1;
  const uint8_t* hs = nullptr;
  uint32_t hs_n = 0;
  if (build_hassh(c, s, d, &hs, &hs_n)) {
    md5_hex(hs, hs_n, s->meta.ssh_hassh[d]);
    c.ctr.ssh_kexinits++;
  } else {
    hs = nullptr;
    c.ctr.parse_errors++;
    drop_kex(c, s, d);
  }
  emit(c, s, d, hs, hs_n, false, sink);
}

// A record header is complete: decide what to do with its body.
bool record_start(AppCtx& c, AppState* s, int d, AppSink& sink) {
  SshDir& h = s->dir[d].u.ssh;
  uint32_t len = (uint32_t(h.hdr[0]) << 24) | (h.hdr[1] << 16) | (h.hdr[2] << 8) | h.hdr[3];
  uint8_t pad = h.hdr[4], msg = h.hdr[5];
  if (len < 2 || len > kMaxRecord || pad > len - 2) {  // not the binary packet protocol
    c.ctr.parse_errors++;
    emit(c, s, d, nullptr, 0, false, sink);
    h.phase = kDone;
    return false;
  }
  h.rec_left = len - 2;
  if (msg == kMsgNewkeys) {
    emit(c, s, d, nullptr, 0, false, sink);
    h.phase = kDone;  // the rest of this direction is encrypted
    return false;
  }
  if (msg == kMsgKexinit && !h.emitted) {
    h.kex_need = len - 2 - pad;
    h.kex_len = 0;
    AppCtx::Impl& m = *c.impl;
    if (m.free_n && h.kex_need <= m.buf_size) {  // never the fallback area: it holds the banner
      acquire(c, s, d);
      h.kex_keep = 1;
    } else {  // this side's KEXINIT goes by unread: hand on the banner now
      c.ctr.ssh_kex_skipped++;
      if (!m.free_n) c.ctr.tx_pool_empty++;
      emit(c, s, d, nullptr, 0, false, sink);
    }
  }
  return true;
}

}  // namespace

void ssh_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  SshDir& h = s->dir[d].u.ssh;
  while (n && h.phase != kDone) {
    if (h.phase == kBanner) {
      const uint8_t* lf = static_cast<const uint8_t*>(memchr(p, '\n', n));
      uint32_t k = lf ? uint32_t(lf - p) : n;
      uint32_t take = std::min<uint32_t>(k, kFallbackSize - 1 - h.line_len);
      memcpy(s->fallback[d] + h.line_len, p, take);  // a longer banner is cut
      h.line_len = uint16_t(h.line_len + take);
      if (!lf) return;
      p += k + 1;
      n -= k + 1;
      banner_line(c, s, d, sink);
      continue;
    }
    if (h.hdr_n < 6) {
      uint32_t k = std::min<uint32_t>(n, 6u - h.hdr_n);
      memcpy(h.hdr + h.hdr_n, p, k);
      h.hdr_n = uint8_t(h.hdr_n + k);
      p += k;
      n -= k;
      if (h.hdr_n < 6) continue;  // all of n taken: the header waits for more
      if (!record_start(c, s, d, sink)) return;
    }
    uint32_t k = std::min(n, h.rec_left);
    if (h.kex_keep && h.kex_len < h.kex_need) {
      uint32_t cap;
      uint8_t* st = storage(c, s, d, &cap);
      uint32_t put = std::min(k, h.kex_need - h.kex_len);
      memcpy(st + h.kex_len, p, put);
      h.kex_len += put;
    }
    p += k;
    n -= k;
    h.rec_left -= k;
    if (!h.rec_left) {
      h.hdr_n = 0;
      if (h.kex_keep) kexinit_done(c, s, d, sink);
    }
  }
}

void ssh_flush(AppCtx& c, AppState* s, int d, AppSink& sink) {
  SshDir& h = s->dir[d].u.ssh;
  if (h.kex_keep) {  // an incomplete KEXINIT (a held, parsed one stays for the event)
    release(c, s, d);
    h.kex_keep = 0;
  }
  Banner bn;
  if (banner_of(s, d, bn)) emit(c, s, d, nullptr, 0, false, sink);
  h.phase = kDone;
}

void ssh_finish(AppCtx& c, AppState* s, AppSink& sink) {
  auto live = [&](int d) { return s->dir[d].det == kActive || s->dir[d].det == kDead; };
  int pend[2], np = 0;
  for (int d = 0; d < 2; d++) {
    SshDir& h = s->dir[d].u.ssh;
    if (!live(d)) continue;
    if (h.kex_keep) {
      release(c, s, d);
      h.kex_keep = 0;
    }
    Banner bn;
    if (!h.emitted && banner_of(s, d, bn)) pend[np++] = d;
  }
  // Pending sides: the last one handed on completes the EVE event.
  for (int i = 0; i < np; i++) emit(c, s, pend[i], nullptr, 0, i == np - 1, sink);
  if (np || s->dir[0].u.ssh.logged || s->dir[1].u.ssh.logged) return;
  // One side was handed on while the other was open, and the other never
  // showed a banner: the event alone (no buffers).
  for (int d = 0; d < 2; d++)
    if (live(d) && s->dir[d].u.ssh.emitted) {
      s->meta.ssh_log = true;
      s->dir[d].u.ssh.logged = 1;
      BufferSet strings;  // no rule buffers: the side was inspected already
      event_strings(c, s, strings);
      sink.on_tx(d == 0, strings, s->meta);
      drop_kex(c, s, d);
      s->meta.ssh_log = false;
      return;
    }
}

}  // namespace app
}  // namespace spectre
