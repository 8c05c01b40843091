// FTP: the control channel (commands and replies) and the data channel.
//
// Each client command is a to_server transaction with ftp.command (the verb)
// and ftp.command_data (the rest of the line); each final reply completes it
// (a to_client transaction with no buffers, the meta of the `ftp` EVE event).
// PASV/EPSV replies and PORT/EPRT commands announce the port of a data
// connection: an expectation in the worker's table (bounded, 60 s) makes the
// next flow with that responder port `ftp-data`, whose bytes are file.data
// (kept up to the body limit; handed on when full or at the flow's end), as
// Suricata's ftp-data files. An accepted AUTH TLS ends inspection of the
// channel (encrypted).
#include <algorithm>
#include <cstring>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

using rules::AppProto;

namespace {

constexpr uint32_t kLineCap = 1024;
constexpr uint64_t kExpectNs = 60ull * 1000000000ull;  // data connection within a minute

uint32_t trim(const uint8_t* p, uint32_t n) {
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r')) n--;
  return n;
}

// Announces a data connection to `port`. The table is per worker and small:
// expired entries are reused first, then the oldest (counted).
void expect(AppCtx& c, AppState* s, uint16_t port) {
  AppCtx::Impl& m = *c.impl;
  uint32_t slot = m.expect_n;
  if (m.expect_n < AppCtx::Impl::kExpect) {
    m.expect_n++;
  } else {
    slot = 0;
    for (uint32_t i = 0; i < m.expect_n; i++) {
      if (m.expect[i].until_ns < m.now_ns) { slot = i; break; }
      if (m.expect[i].until_ns < m.expect[slot].until_ns) slot = i;
    }
    if (m.expect[slot].until_ns >= m.now_ns) c.ctr.ftp_expect_full++;
  }
  AppCtx::Impl::Expect& e = m.expect[slot];
  e.port = port;
  e.until_ns = m.now_ns + kExpectNs;
  e.cmd = 0;
  e.name[0] = 0;
  s->dir[0].u.ftp.exp_slot = uint8_t(slot + 1);
  s->meta.ftp_dyn_port = port;
}

// "h1,h2,h3,h4,p1,p2" somewhere in v: the port, or 0.
uint16_t port_of_hostport(const uint8_t* v, uint32_t n) {
  uint32_t num[6], k = 0, i = 0;
  if (const void* par = memchr(v, '(', n)) i = uint32_t(static_cast<const uint8_t*>(par) - v);
  while (i < n && (v[i] < '0' || v[i] > '9')) i++;
  while (k < 6 && i < n) {
    uint32_t x = 0;
    int dg = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9' && dg < 4) x = x * 10 + (v[i++] - '0'), dg++;
    if (!dg || x > 255) return 0;
    num[k++] = x;
    if (k < 6) {
      if (i >= n || v[i] != ',') return 0;
      i++;
    }
  }
  return k == 6 ? uint16_t(num[4] * 256 + num[5]) : 0;
}

// "(|||port|)" (EPSV reply) or "|af|addr|port|" (EPRT): the last field.
uint16_t port_of_extended(const uint8_t* v, uint32_t n) {
  const uint8_t* bar = static_cast<const uint8_t*>(memchr(v, '|', n));
  if (!bar || bar + 1 >= v + n) return 0;
  uint8_t d = bar[1] == '|' ? '|' : bar[0];  // the delimiter is the first one seen
  int seen = 0;
  uint32_t x = 0;
  for (const uint8_t* p = bar; p < v + n; p++) {
    if (*p == d) {
      if (++seen == 4) return x && x < 65536 ? uint16_t(x) : 0;
      x = 0;
    } else if (seen == 3 && *p >= '0' && *p <= '9') {
      x = x * 10 + (*p - '0');
      if (x > 65535) return 0;
    }
  }
  return 0;
}

// Suricata's ftpbounce: the "h1,h2,h3,h4," of a PORT argument (1-3 digits
// each, blanks allowed before a comma) is an IPv4 address other than the
// flow initiator's. On IPv6 flows it is compared with the first 4 bytes of
// the address, as Suricata does (so it always differs in practice).
bool bounce(const AppCtx& c, const uint8_t* v, uint32_t n) {
  if (!c.flow_src) return false;
  uint32_t i = 0;
  while (i < n && (v[i] < '0' || v[i] > '9')) i++;
  uint8_t ip[4];
  for (int k = 0; k < 4; k++) {
    uint32_t x = 0, dg = 0;
    while (i < n && v[i] >= '0' && v[i] <= '9' && dg < 4) x = x * 10 + (v[i++] - '0'), dg++;
    if (!dg || dg > 3 || x > 255) return false;
    while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
    if (i >= n || v[i++] != ',') return false;
    ip[k] = uint8_t(x);
  }
  return memcmp(ip, c.flow_src, 4) != 0;
}

void command(AppCtx& c, AppState* s, const uint8_t* l, uint32_t n, AppSink& sink) {
  const uint32_t full = n;
  n = trim(l, n);
  if (!n) return;
  uint32_t vn = 0;
  while (vn < n && l[vn] != ' ') vn++;
  const uint8_t* arg = l + vn;
  uint32_t an = n - vn;
  while (an && *arg == ' ') arg++, an--;
  AppMeta& a = s->meta;
  copy_field(a.ftp_command, sizeof a.ftp_command, l, vn);
  for (char* p = a.ftp_command; *p; p++)
    if (*p >= 'a' && *p <= 'z') *p = char(*p - 32);  // verbs are case-insensitive; logged upper case
  copy_field(a.ftp_command_data, sizeof a.ftp_command_data, arg, an);
  a.ftp_code = 0;
  a.ftp_reply[0] = 0;
  a.ftp_dyn_port = 0;
  c.ctr.ftp_commands++;
  FtpDir& f = s->dir[0].u.ftp;
  if (vn == 4 && ieq_prefix(l, vn, "PORT")) {
    if (uint16_t p = port_of_hostport(arg, an)) { expect(c, s, p); a.ftp_passive = false; }
  } else if (vn == 4 && ieq_prefix(l, vn, "EPRT")) {
    if (uint16_t p = port_of_extended(arg, an)) { expect(c, s, p); a.ftp_passive = false; }
  } else if (vn == 4 && (ieq_prefix(l, vn, "RETR") || ieq_prefix(l, vn, "STOR") ||
                         ieq_prefix(l, vn, "APPE") || ieq_prefix(l, vn, "STOU"))) {
    uint32_t slot = f.exp_slot;
    if (slot && slot <= c.impl->expect_n) {
      AppCtx::Impl::Expect& e = c.impl->expect[slot - 1];
      e.cmd = ieq_prefix(l, vn, "RETR") ? 1 : 2;
      copy_field(e.name, sizeof e.name, arg, an);
    }
  }
  BufferSet b;
  b.set(rules::kFtpCommand, l, vn);
  if (an) b.set(rules::kFtpCommandData, arg, an);  // "PASV": no command data buffer
  static const uint8_t kOne = 1;
  if (vn == 4 && ieq_prefix(l, vn, "PORT") && bounce(c, arg, an)) {
    b.set(rules::kFtpBounce, &kOne, 1);
    c.ctr.ftp_bounces++;
  }
  b.set(rules::kPayload, l, full);  // the command line, for rules mixing payload and ftp buffers
  sink.on_tx(true, b, a);
}

void reply(AppCtx& c, AppState* s, const uint8_t* l, uint32_t n, AppSink& sink) {
  FtpDir& f = s->dir[1].u.ftp;
  n = trim(l, n);
  bool coded = n >= 3 && l[0] >= '1' && l[0] <= '5' && l[1] >= '0' && l[1] <= '9' && l[2] >= '0' && l[2] <= '9';
  uint16_t code = coded ? uint16_t((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0')) : 0;
  AppMeta& a = s->meta;
  if (f.multi) {  // inside "123-...": ends with "123 "
    if (!(coded && code == f.multi_code && (n == 3 || l[3] == ' '))) return;
    f.multi = 0;
  } else {
    if (!coded) return;
    const uint8_t* t = l + std::min<uint32_t>(n, 4);
    copy_field(a.ftp_reply, sizeof a.ftp_reply, t, uint32_t(l + n - t));
    if (n > 3 && l[3] == '-') {
      f.multi = 1;
      f.multi_code = code;
      return;
    }
  }
  a.ftp_code = code;
  if (code == 227) {
    if (uint16_t p = port_of_hostport(l + 3, n - 3)) { expect(c, s, p); a.ftp_passive = true; }
  } else if (code == 229) {
    if (uint16_t p = port_of_extended(l + 3, n - 3)) { expect(c, s, p); a.ftp_passive = true; }
  } else if (code == 234 && ieq_prefix(reinterpret_cast<const uint8_t*>(a.ftp_command), 4, "AUTH")) {
    s->dir[0].u.ftp.tls = s->dir[1].u.ftp.tls = 1;  // the rest is TLS
  }
  BufferSet none;
  sink.on_tx(false, none, a);
  a.ftp_command[0] = a.ftp_command_data[0] = 0;  // a later unsolicited reply has no command
}

}  // namespace

void ftp_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  Dir& dr = s->dir[d];
  FtpDir& f = dr.u.ftp;
  if (f.tls) return;
  uint32_t cap;
  uint8_t* st = storage(c, s, d, &cap);
  if (!st) {
    if (d == 0) acquire(c, s, d);  // commands: up to 1 KiB lines; replies: the fallback area
    else dr.fb = 1;
    st = storage(c, s, d, &cap);
  }
  cap = std::min(cap, kLineCap);
  while (n && !f.tls) {
    const uint8_t* lf = static_cast<const uint8_t*>(memchr(p, '\n', n));
    uint32_t k = lf ? uint32_t(lf - p) : n;
    if (!f.line_over) {
      uint32_t room = cap - f.line_len;
      uint32_t take = std::min(k, room);
      memcpy(st + f.line_len, p, take);
      f.line_len = uint16_t(f.line_len + take);
      if (take < k) {
        f.line_over = 1;  // the line is cut to the area; the rest is skipped
        c.ctr.truncated++;
      }
    }
    if (!lf) return;
    p += k + 1;
    n -= k + 1;
    uint32_t ln = f.line_len;
    f.line_len = 0;
    f.line_over = 0;
    if (d == 0) command(c, s, st, ln, sink);
    else reply(c, s, st, ln, sink);
  }
}

bool ftp_data_expected(AppCtx& c, AppState* s, uint16_t port) {
  AppCtx::Impl& m = *c.impl;
  for (uint32_t i = 0; i < m.expect_n; i++) {
    AppCtx::Impl::Expect& e = m.expect[i];
    if (e.port != port || e.until_ns < m.now_ns) continue;
    for (int d = 0; d < 2; d++) {
      s->dir[d].det = kActive;
      memset(&s->dir[d].u, 0, sizeof(s->dir[d].u));
      s->dir[d].u.ftp.data_cmd = e.cmd;
    }
    copy_field(s->meta.file_name, sizeof s->meta.file_name, reinterpret_cast<const uint8_t*>(e.name),
               uint32_t(strlen(e.name)));
    s->meta.ftp_command[0] = 0;
    if (e.cmd) memcpy(s->meta.ftp_command, e.cmd == 1 ? "RETR" : "STOR", 5);
    e.until_ns = 0;  // used up; the slot is reused
    e.port = 0;
    set_proto(c, s, AppProto::kFtpData);
    c.ctr.ftp_data_flows++;
    return true;
  }
  return false;
}

namespace {

// The kept part as file.data; `last`: the transfer is over (fileinfo logged).
void data_emit(AppCtx& c, AppState* s, int d, AppSink& sink, bool last) {
  FtpDir& f = s->dir[d].u.ftp;
  uint32_t cap;
  uint8_t* st = storage(c, s, d, &cap);
  if (!st || f.line_over) return;  // line_over: already handed on
  f.line_over = 1;
  AppMeta& a = s->meta;
  a.file_size = f.file_total;
  a.file_truncated = f.file_total > f.file_len;
  a.file_tx = last;
  clear_file_hashes(a);
  BufferSet b;
  b.set(rules::kFileData, st, f.file_len);
  const bool streamed = f.fh != 0;
  if (last) fhash_final(c, f.fh, a, &b, s->dir[d].det != kDead);  // a gap: no digests
  if (last && !streamed && !a.file_truncated) file_hashes(c, a, &b, st, f.file_len);
  file_bufs(c, s, b, reinterpret_cast<const uint8_t*>(a.file_name), uint32_t(strlen(a.file_name)), f.file_total,
            st, f.file_len);
  sink.on_tx(d == 0, b, a);
  a.file_tx = false;
}

}  // namespace

void ftp_data_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  FtpDir& f = s->dir[d].u.ftp;
  if (!f.file_total && n) f.fh = fhash_take(c);  // the transfer's first bytes
  f.file_total += n;
  fhash_update(c, f.fh, p, n);
  if (f.line_over) return;  // the kept part was inspected already
  if (s->dir[d].buf == kNoBuf && !s->dir[d].fb) acquire(c, s, d);
  uint32_t cap;
  uint8_t* st = storage(c, s, d, &cap);
  if (!st) return;
  cap = std::min(cap, c.impl->cfg.response_body_limit);
  uint32_t k = std::min(n, cap - std::min(cap, f.file_len));
  memcpy(st + f.file_len, p, k);
  f.file_len += k;
  if (f.file_len >= cap) data_emit(c, s, d, sink, false);
}

void ftp_data_finish(AppCtx& c, AppState* s, AppSink& sink) {
  for (int d = 0; d < 2; d++)
    if (s->dir[d].u.ftp.file_total) {
      FtpDir& f = s->dir[d].u.ftp;
      if (!f.line_over) {
        data_emit(c, s, d, sink, true);
        continue;
      }
      // Inspected early (the kept part filled up): the log record of the
      // whole transfer, its digests as buffers (filemd5 & co inspected then).
      AppMeta& a = s->meta;
      a.file_size = f.file_total;
      a.file_truncated = true;
      a.file_tx = true;
      c.impl->scratch_used = 0;
      BufferSet b;
      fhash_final(c, f.fh, a, &b, s->dir[d].det != kDead);
      sink.on_tx(d == 0, b, a);
      a.file_tx = false;
    }
  for (int d = 0; d < 2; d++) fhash_drop(c, s->dir[d].u.ftp.fh);  // a gap released the kept part first
}

}  // namespace app
}  // namespace spectre
