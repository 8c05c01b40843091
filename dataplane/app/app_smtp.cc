// SMTP: commands and replies, the envelope (HELO/EHLO, MAIL FROM, RCPT TO),
// DATA and BDAT messages with their top-level headers and MIME parts;
// attachments (base64 and quoted-printable decoded) go to file.data, as
// Suricata's SMTP parser hands them to file detection. STARTTLS accepted by a
// 220 reply hands the flow to the TLS parser (Suricata's protocol change).
//
// Transactions handed to the sink:
//  - to_server at DATA/BDAT: smtp.helo, smtp.mail_from, smtp.rcpt_to (the
//    first recipient; each further recipient in a tx of its own);
//  - to_server per attachment: file.data (decoded, up to the body limit);
//  - to_client at the reply to the end of the message (or at flow end when
//    no reply came): no buffers, the meta for the `smtp`/`email` EVE event.
//
// Storage: the client direction needs a pooled buffer (line, header, MIME
// boundaries and the attachment); without one (pool empty, tiny limits) the
// direction only counts. The server direction keeps its reply line in
// whatever storage it has (fallback area included).
#include <algorithm>
#include <cstring>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

using rules::AppProto;

bool ieq_prefix(const uint8_t* p, uint32_t n, const char* w) {
  uint32_t k = 0;
  for (; w[k]; k++) {
    if (k >= n) return false;
    uint8_t a = p[k], b = uint8_t(w[k]);
    if (a >= 'A' && a <= 'Z') a = uint8_t(a + 32);
    if (b >= 'A' && b <= 'Z') b = uint8_t(b + 32);
    if (a != b) return false;
  }
  return true;
}

void copy_field(char* dst, size_t cap, const uint8_t* p, uint32_t n) {
  size_t k = std::min<size_t>(n, cap - 1);
  memcpy(dst, p, k);
  dst[k] = 0;
}

namespace {

enum SmtpMode : uint8_t { kSmCmd = 0, kSmData, kSmBdat, kSmOff };
// Queued command kinds awaiting a reply.
enum Pend : uint8_t { kPOther = 1, kPData, kPDataEnd, kPStartTls };

// Client-side storage layout (bytes of the pooled buffer).
constexpr uint32_t kLineCap = 1024;  // RFC 5321: lines are at most 1000 bytes
constexpr uint32_t kHdrOff = 1024, kHdrCap = 512;  // one (unfolded) header line
constexpr uint32_t kBndOff = 1536, kBndCap = 76;   // two MIME boundaries (RFC 2046: <= 70)
constexpr uint32_t kCmdOff = 1696, kCmdCap = 96;   // commands between BDAT chunks
constexpr uint32_t kFileOff = 1792;
constexpr uint32_t kMinCap = 2048;

struct Ctx {
  AppCtx& c;
  AppState* s;
  AppSink& sink;
  SmtpDir& m;      // client direction state
  uint8_t* st;     // client storage
  uint32_t cap;
};

const uint8_t* skip_ws(const uint8_t* p, const uint8_t* e) {
  while (p < e && (*p == ' ' || *p == '\t')) p++;
  return p;
}

uint32_t trim_len(const uint8_t* p, uint32_t n) {
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r')) n--;
  return n;
}

void push_pend(SmtpDir& m, uint8_t kind) {
  if (m.pend_n >= 16) return;  // a client pipelining more than 16 commands: replies unmatched
  m.pend |= uint64_t(kind) << (4 * m.pend_n);
  m.pend_n++;
}

uint8_t pop_pend(SmtpDir& m) {
  if (!m.pend_n) return 0;
  uint8_t k = uint8_t(m.pend & 0xF);
  m.pend >>= 4;
  m.pend_n--;
  return k;
}

// A mail transaction starts (MAIL FROM, or DATA without one): the envelope
// and the message fields of the previous one are dropped.
void new_mail(AppState* s, SmtpDir& m) {
  AppMeta& a = s->meta;
  a.smtp_mail_from[0] = 0;
  a.smtp_rcpt_n = 0;
  for (auto& r : a.smtp_rcpt_to) r[0] = 0;
  a.email_from[0] = a.email_to[0] = a.email_cc[0] = a.email_subject[0] = 0;
  a.email_attach_n = 0;
  for (auto& x : a.email_attach) x[0] = 0;
  a.email_done = false;
  a.file_name[0] = 0;
  m.envelope_sent = m.logged = 0;
  m.bdat_open = 0;
}

// The envelope as buffers (at DATA / first BDAT).
void send_envelope(Ctx& x) {
  if (x.m.envelope_sent) return;
  x.m.envelope_sent = 1;
  AppMeta& a = x.s->meta;
  BufferSet b;
  auto put = [&](rules::Buf id, const char* v) {
    if (v[0]) b.set(id, reinterpret_cast<const uint8_t*>(v), uint32_t(strlen(v)));
  };
  put(rules::kSmtpHelo, a.smtp_helo);
  put(rules::kSmtpMailFrom, a.smtp_mail_from);
  put(rules::kSmtpRcptTo, a.smtp_rcpt_to[0]);
  x.sink.on_tx(true, b, a);
  uint32_t kept = std::min<uint32_t>(a.smtp_rcpt_n, 4);
  for (uint32_t i = 1; i < kept; i++) {
    BufferSet r;
    r.set(rules::kSmtpRcptTo, reinterpret_cast<const uint8_t*>(a.smtp_rcpt_to[i]),
          uint32_t(strlen(a.smtp_rcpt_to[i])));
    x.sink.on_tx(true, r, a);
  }
  x.c.ctr.smtp_mails++;
}

// The transaction's log record (to_client, no buffers).
void log_mail(AppCtx& c, AppState* s, AppSink& sink) {
  SmtpDir& m = s->dir[0].u.smtp;
  if (m.logged) return;
  m.logged = 1;
  BufferSet none;
  sink.on_tx(false, none, s->meta);
}

// ---- MIME -------------------------------------------------------------------

uint32_t file_cap(const Ctx& x) {
  uint32_t room = x.cap > kFileOff ? x.cap - kFileOff : 0;
  return std::min(room, x.c.impl->cfg.response_body_limit);
}

void file_put(Ctx& x, const uint8_t* p, uint32_t n) {
  SmtpDir& m = x.m;
  m.file_total += n;
  fhash_update(x.c, m.fh, p, n);
  uint32_t room = file_cap(x) - std::min(m.file_len, file_cap(x));
  uint32_t k = std::min(room, n);
  memcpy(x.st + kFileOff + m.file_len, p, k);
  m.file_len += k;
}

void file_open(Ctx& x) {
  SmtpDir& m = x.m;
  AppMeta& a = x.s->meta;
  m.file_open = 1;
  fhash_drop(x.c, m.fh);
  m.fh = fhash_take(x.c);
  m.file_len = 0;
  m.file_total = 0;
  m.b64n = 0;
  m.b64acc = 0;
  m.crlf_pend = 0;
  if (a.email_attach_n < 4) copy_field(a.email_attach[a.email_attach_n], sizeof a.email_attach[0],
                                       reinterpret_cast<const uint8_t*>(a.file_name),
                                       uint32_t(strlen(a.file_name)));
  if (a.email_attach_n < 255) a.email_attach_n++;
}

void file_close(Ctx& x) {
  SmtpDir& m = x.m;
  if (!m.file_open) return;
  m.file_open = 0;
  AppMeta& a = x.s->meta;
  a.file_size = m.file_total;
  a.file_truncated = m.file_total > m.file_len;
  a.file_tx = true;
  BufferSet b;
  b.set(rules::kFileData, x.st + kFileOff, m.file_len);
  const bool streamed = m.fh != 0;
  fhash_final(x.c, m.fh, a, &b, true);  // the whole decoded attachment
  if (!streamed && !a.file_truncated) file_hashes(x.c, a, &b, x.st + kFileOff, m.file_len);
  file_bufs(x.c, x.s, b, reinterpret_cast<const uint8_t*>(a.file_name), uint32_t(strlen(a.file_name)),
            m.file_total, x.st + kFileOff, m.file_len);
  x.c.ctr.smtp_attachments++;
  x.sink.on_tx(true, b, a);
  a.file_tx = false;
}

int b64v(uint8_t ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  if (ch == '+') return 62;
  if (ch == '/') return 63;
  return -1;
}

// Decoded bytes go out in runs of up to 48 (one stack buffer, no allocation).
void decode_b64(Ctx& x, const uint8_t* p, uint32_t n) {
  SmtpDir& m = x.m;
  uint8_t out[64];
  uint32_t o = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (p[i] == '=') {  // padding: flush the partial quantum
      if (m.b64n == 2) out[o++] = uint8_t(m.b64acc >> 4);
      else if (m.b64n == 3) { out[o++] = uint8_t(m.b64acc >> 10); out[o++] = uint8_t(m.b64acc >> 2); }
      m.b64n = 0;
      m.b64acc = 0;
    } else {
      int v = b64v(p[i]);
      if (v < 0) continue;  // whitespace and junk are skipped, as MIME decoders do
      m.b64acc = (m.b64acc << 6) | uint32_t(v);
      if (++m.b64n == 4) {
        out[o++] = uint8_t(m.b64acc >> 16);
        out[o++] = uint8_t(m.b64acc >> 8);
        out[o++] = uint8_t(m.b64acc);
        m.b64n = 0;
        m.b64acc = 0;
      }
    }
    if (o >= 48) { file_put(x, out, o); o = 0; }
  }
  if (o) file_put(x, out, o);
}

// One line (without CRLF) of a quoted-printable or plain part. `partial`: a
// piece of a line longer than the line area (no line break after it).
void decode_line(Ctx& x, const uint8_t* p, uint32_t n, bool partial) {
  SmtpDir& m = x.m;
  static const uint8_t kCrlf[2] = {'\r', '\n'};
  if (m.crlf_pend) file_put(x, kCrlf, 2);
  m.crlf_pend = 0;
  if (m.enc != 2) {
    file_put(x, p, n);
    m.crlf_pend = !partial;
    return;
  }
  uint8_t out[64];
  uint32_t o = 0;
  bool soft = false;
  uint32_t e = trim_len(p, n);  // trailing whitespace is not part of QP text
  for (uint32_t i = 0; i < e; i++) {
    uint8_t ch = p[i];
    if (ch == '=') {
      if (i + 1 == e) { soft = true; break; }
      int h = i + 1 < e ? hexv(p[i + 1]) : -1, l = i + 2 < e ? hexv(p[i + 2]) : -1;
      if (h >= 0 && l >= 0) { ch = uint8_t(h * 16 + l); i += 2; }
    }
    out[o++] = ch;
    if (o == sizeof out) { file_put(x, out, o); o = 0; }
  }
  if (o) file_put(x, out, o);
  m.crlf_pend = !partial && !soft;
}

}  // namespace

bool header_param(const uint8_t* v, uint32_t n, const char* name, const uint8_t** out, uint32_t* on,
                  bool blank_ends) {
  uint32_t nl = uint32_t(strlen(name));
  for (uint32_t i = 0; i + nl < n; i++) {
    if ((i == 0 || v[i - 1] == ';' || v[i - 1] == ' ' || v[i - 1] == '\t') && ieq_prefix(v + i, n - i, name) &&
        v[i + nl] == '=') {
      uint32_t j = i + nl + 1, k;
      if (j < n && v[j] == '"') {
        j++;
        for (k = j; k < n && v[k] != '"'; k++) {}
      } else {
        for (k = j; k < n && v[k] != ';' && (!blank_ends || (v[k] != ' ' && v[k] != '\t')); k++) {}
        while (k > j && (v[k - 1] == ' ' || v[k - 1] == '\t')) k--;
      }
      *out = v + j;
      *on = k - j;
      return true;
    }
  }
  return false;
}

namespace {

// One unfolded header of the message or of a MIME part.
void mime_header(Ctx& x, const uint8_t* h, uint32_t n) {
  SmtpDir& m = x.m;
  AppMeta& a = x.s->meta;
  const uint8_t* colon = static_cast<const uint8_t*>(memchr(h, ':', n));
  if (!colon) return;
  uint32_t name_n = uint32_t(colon - h);
  const uint8_t* v = skip_ws(colon + 1, h + n);
  uint32_t vn = trim_len(v, uint32_t(h + n - v));
  auto is = [&](const char* w) { return name_n == strlen(w) && ieq_prefix(h, name_n, w); };
  const uint8_t* pv;
  uint32_t pn;
  if (is("content-type")) {
    if (ieq_prefix(v, vn, "multipart/") && header_param(v, vn, "boundary", &pv, &pn) && pn &&
        pn <= kBndCap && m.nb < 2) {
      memcpy(x.st + kBndOff + m.nb * kBndCap, pv, pn);
      m.blen[m.nb++] = uint8_t(pn);
      m.multi = 1;
    }
    if (header_param(v, vn, "name", &pv, &pn)) {
      m.attach = 1;
      if (!a.file_name[0]) copy_field(a.file_name, sizeof a.file_name, pv, pn);
    }
  } else if (is("content-disposition")) {
    if (ieq_prefix(v, vn, "attachment")) m.attach = 1;
    if (header_param(v, vn, "filename", &pv, &pn)) {
      m.attach = 1;
      copy_field(a.file_name, sizeof a.file_name, pv, pn);
    }
  } else if (is("content-transfer-encoding")) {
    m.enc = ieq_prefix(v, vn, "base64") ? 1 : ieq_prefix(v, vn, "quoted-printable") ? 2 : 0;
  } else if (m.top) {
    if (is("from")) copy_field(a.email_from, sizeof a.email_from, v, vn);
    else if (is("to")) copy_field(a.email_to, sizeof a.email_to, v, vn);
    else if (is("cc")) copy_field(a.email_cc, sizeof a.email_cc, v, vn);
    else if (is("subject")) copy_field(a.email_subject, sizeof a.email_subject, v, vn);
  }
}

void flush_header(Ctx& x) {
  if (x.m.hdr_len) mime_header(x, x.st + kHdrOff, x.m.hdr_len);
  x.m.hdr_len = 0;
}

// A new header block (message or part) begins.
void part_begin(Ctx& x, bool top) {
  SmtpDir& m = x.m;
  m.hdrs = 1;
  m.top = top;
  m.attach = m.enc = m.multi = 0;
  m.hdr_len = 0;
  x.s->meta.file_name[0] = 0;
}

// Boundary line "--b" or "--b--" of a known boundary: index, or -1.
int boundary_of(const Ctx& x, const uint8_t* l, uint32_t n, bool* end) {
  if (n < 3 || l[0] != '-' || l[1] != '-') return -1;
  for (int i = x.m.nb - 1; i >= 0; i--) {
    uint32_t bl = x.m.blen[i];
    if (n < 2 + bl || memcmp(l + 2, x.st + kBndOff + i * kBndCap, bl) != 0) continue;
    uint32_t rest = trim_len(l + 2 + bl, n - 2 - bl);
    *end = rest >= 2 && l[2 + bl] == '-' && l[3 + bl] == '-';
    if (rest == 0 || *end) return i;
  }
  return -1;
}

// One line of the message (dot-unstuffed, without CRLF).
void msg_line(Ctx& x, const uint8_t* l, uint32_t n, bool partial) {
  SmtpDir& m = x.m;
  if (m.hdrs) {
    if (n == 0 && !partial) {  // end of the header block
      flush_header(x);
      m.hdrs = 0;
      if (!m.multi && m.attach) file_open(x);
      return;
    }
    if ((l[0] == ' ' || l[0] == '\t') && m.hdr_len) {  // folded continuation
      uint32_t k = std::min(n, kHdrCap - m.hdr_len);
      memcpy(x.st + kHdrOff + m.hdr_len, l, k);
      m.hdr_len = uint16_t(m.hdr_len + k);
      return;
    }
    flush_header(x);
    uint32_t k = std::min(n, kHdrCap);
    memcpy(x.st + kHdrOff, l, k);
    m.hdr_len = uint16_t(k);
    return;
  }
  bool end = false;
  int b = partial ? -1 : boundary_of(x, l, n, &end);
  if (b >= 0) {
    file_close(x);
    if (end) {  // epilogue of boundary b: ignored up to an outer boundary
      m.nb = uint8_t(b);
      m.attach = m.enc = 0;
    } else {
      m.nb = uint8_t(b + 1);
      part_begin(x, false);
    }
    return;
  }
  if (!m.file_open) return;
  if (m.enc == 1) decode_b64(x, l, n);
  else decode_line(x, l, n, partial);
}

void msg_begin(Ctx& x) {
  x.m.nb = 0;
  x.m.file_open = 0;
  fhash_drop(x.c, x.m.fh);
  part_begin(x, true);
}

void msg_end(Ctx& x) {
  if (x.m.hdrs) flush_header(x);
  // A single-part message that is itself an attachment ends without a blank line after it.
  file_close(x);
  x.m.hdrs = 0;
  x.s->meta.email_done = true;
}

// ---- commands ---------------------------------------------------------------

// Argument of "MAIL FROM:<a> SIZE=1": "<a>" (up to the first blank after '>').
uint32_t addr_len(const uint8_t* v, uint32_t n) {
  const uint8_t* gt = static_cast<const uint8_t*>(memchr(v, '>', n));
  if (gt && v[0] == '<') return uint32_t(gt - v) + 1;
  uint32_t k = 0;
  while (k < n && v[k] != ' ') k++;
  return k;
}

void command(Ctx& x, const uint8_t* l, uint32_t n) {
  SmtpDir& m = x.m;
  AppMeta& a = x.s->meta;
  n = trim_len(l, n);
  const uint8_t* e = l + n;
  if (ieq_prefix(l, n, "HELO ") || ieq_prefix(l, n, "EHLO ")) {
    const uint8_t* v = skip_ws(l + 5, e);
    copy_field(a.smtp_helo, sizeof a.smtp_helo, v, uint32_t(e - v));
    push_pend(m, kPOther);
  } else if (ieq_prefix(l, n, "MAIL FROM:")) {
    new_mail(x.s, m);
    const uint8_t* v = skip_ws(l + 10, e);
    copy_field(a.smtp_mail_from, sizeof a.smtp_mail_from, v, addr_len(v, uint32_t(e - v)));
    push_pend(m, kPOther);
  } else if (ieq_prefix(l, n, "RCPT TO:")) {
    const uint8_t* v = skip_ws(l + 8, e);
    if (a.smtp_rcpt_n < 4)
      copy_field(a.smtp_rcpt_to[a.smtp_rcpt_n], sizeof a.smtp_rcpt_to[0], v, addr_len(v, uint32_t(e - v)));
    if (a.smtp_rcpt_n < 255) a.smtp_rcpt_n++;
    push_pend(m, kPOther);
  } else if (n == 4 && ieq_prefix(l, n, "DATA")) {
    if (m.logged) new_mail(x.s, m);  // DATA without a new MAIL FROM
    send_envelope(x);
    push_pend(m, kPData);
    m.mode = kSmData;
    msg_begin(x);
  } else if (ieq_prefix(l, n, "BDAT ")) {
    const uint8_t* v = skip_ws(l + 5, e);
    uint64_t len = 0;
    int digits = 0;
    while (v < e && *v >= '0' && *v <= '9' && digits < 18) len = len * 10 + (*v++ - '0'), digits++;
    if (!digits) { push_pend(m, kPOther); return; }
    v = skip_ws(v, e);
    m.bdat_last = ieq_prefix(v, uint32_t(e - v), "LAST");
    if (!m.envelope_sent || m.logged) {
      if (m.logged) new_mail(x.s, m);
      send_envelope(x);
      msg_begin(x);
    }
    m.bdat_left = len;
    m.mode = kSmBdat;
    m.bdat_open = !m.bdat_last;
    if (!len) {  // "BDAT 0 LAST"
      m.mode = kSmCmd;
      if (m.bdat_last) { msg_end(x); push_pend(m, kPDataEnd); } else push_pend(m, kPOther);
    }
  } else if (n == 8 && ieq_prefix(l, n, "STARTTLS")) {
    push_pend(m, kPStartTls);
  } else if (n == 4 && ieq_prefix(l, n, "RSET")) {
    new_mail(x.s, m);
    push_pend(m, kPOther);
  } else {
    push_pend(m, kPOther);
  }
}

// The server accepted STARTTLS: the TLS parser takes the flow over.
void to_tls(AppCtx& c, AppState* s) {
  for (int d = 0; d < 2; d++) {
    release(c, s, d);
    s->dir[d].det = kActive;
    memset(&s->dir[d].u, 0, sizeof(s->dir[d].u));
  }
  s->proto = AppProto::kTls;
  s->meta.proto = AppProto::kTls;
  c.ctr.detected[static_cast<int>(AppProto::kTls)]++;
}

// A reply line (server direction). Returns false when the flow left SMTP.
bool reply(AppCtx& c, AppState* s, const uint8_t* l, uint32_t n, AppSink& sink) {
  if (n < 3 || l[0] < '1' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' || l[2] > '9') return true;
  if (n > 3 && l[3] == '-') return true;  // continuation of a multi-line reply
  int code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
  SmtpDir& m = s->dir[0].u.smtp;
  if (s->dir[0].det != kActive) return true;
  uint8_t k = pop_pend(m);
  if (k == kPStartTls && code == 220) {
    to_tls(c, s);
    return false;
  }
  if (k == kPData && code != 354 && m.mode == kSmData) m.mode = kSmCmd;  // DATA refused
  if (k == kPDataEnd) log_mail(c, s, sink);
  return true;
}

// Line assembly in `st` (cap bytes). Calls f(line, n, partial) per line;
// f returns false to stop. Returns bytes consumed.
template <class F>
uint32_t lines(uint8_t* st, uint32_t cap, uint16_t& len, const uint8_t* p, uint32_t n, F&& f) {
  uint32_t i = 0;
  while (i < n) {
    const uint8_t* lf = static_cast<const uint8_t*>(memchr(p + i, '\n', n - i));
    uint32_t k = lf ? uint32_t(lf - (p + i)) : n - i;
    uint32_t room = cap - len;
    if (k > room) {  // the line outgrows the area: hand on what is there as a piece
      memcpy(st + len, p + i, room);
      i += room;
      len = 0;
      if (!f(st, cap, true)) return i;
      continue;
    }
    memcpy(st + len, p + i, k);
    len = uint16_t(len + k);
    i += k;
    if (!lf) break;
    i++;  // the LF
    uint32_t ln = len;
    if (ln && st[ln - 1] == '\r') ln--;
    len = 0;
    if (!f(st, ln, false)) return i;
  }
  return i;
}

void client_feed(AppCtx& c, AppState* s, const uint8_t* p, uint32_t n, AppSink& sink) {
  Dir& dr = s->dir[0];
  SmtpDir& m = dr.u.smtp;
  uint32_t cap;
  uint8_t* st = storage(c, s, 0, &cap);
  if (!st || cap < kMinCap) {
    c.ctr.truncated++;
    dr.det = kDead;
    release(c, s, 0);
    return;
  }
  Ctx x{c, s, sink, m, st, cap};
  while (n) {
    if (m.mode == kSmBdat) {  // chunk bytes, not dot-terminated
      uint32_t k = uint32_t(std::min<uint64_t>(m.bdat_left, n));
      lines(st, kLineCap, m.line_len, p, k, [&](const uint8_t* l, uint32_t ln, bool part) {
        msg_line(x, l, ln, part);
        return true;
      });
      p += k;
      n -= k;
      m.bdat_left -= k;
      if (!m.bdat_left) {
        // Chunks split the message anywhere (RFC 3030): a line goes on in the
        // next chunk; only the last chunk's unterminated line is handed on.
        if (m.line_len && m.bdat_last) {
          msg_line(x, st, m.line_len, false);
          m.line_len = 0;
        }
        m.mode = kSmCmd;
        if (m.bdat_last) { msg_end(x); push_pend(m, kPDataEnd); } else push_pend(m, kPOther);
      }
      continue;
    }
    uint8_t mode0 = m.mode;
    bool between = m.bdat_open && m.mode == kSmCmd;  // keep the message's partial line
    uint32_t used = lines(between ? st + kCmdOff : st, between ? kCmdCap : kLineCap,
                          between ? m.cmd_len : m.line_len, p, n,
                          [&](const uint8_t* l, uint32_t ln, bool part) {
      if (m.mode == kSmData) {
        if (!part && ln == 1 && l[0] == '.') {
          msg_end(x);
          m.mode = kSmCmd;
          push_pend(m, kPDataEnd);
          return true;
        }
        if (!part && ln && l[0] == '.') { l++; ln--; }  // dot-stuffing
        msg_line(x, l, ln, part);
        return true;
      }
      if (!part) command(x, l, ln);
      return m.mode == mode0;  // BDAT: the chunk bytes follow right after the line
    });
    p += used;
    n -= used;
    if (m.mode == mode0 && used == 0) break;
  }
}

}  // namespace

void smtp_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  if (d == 0) {
    if (s->dir[0].buf == kNoBuf && !s->dir[0].fb) acquire(c, s, 0);
    client_feed(c, s, p, n, sink);
    return;
  }
  s->dir[1].fb = 1;  // replies need only a line: the 256-byte fallback area, no pooled buffer
  uint32_t cap;
  uint8_t* st = storage(c, s, 1, &cap);
  uint16_t& len = s->dir[1].u.smtp.line_len;
  lines(st, cap, len, p, n, [&](const uint8_t* l, uint32_t ln, bool part) {
    return part || reply(c, s, l, ln, sink);
  });
}

void smtp_finish(AppCtx& c, AppState* s, AppSink& sink) {
  Dir& dr = s->dir[0];
  if (dr.det == kActive) {
    uint32_t cap;
    uint8_t* st = storage(c, s, 0, &cap);
    SmtpDir& m = dr.u.smtp;
    if (st && cap >= kMinCap && (m.mode == kSmData || m.mode == kSmBdat)) {
      Ctx x{c, s, sink, m, st, cap};
      msg_end(x);  // the flow ended inside the message: what came is inspected
    }
  }
  SmtpDir& m = dr.u.smtp;
  // Like Suricata, a session that never completed a mail is still logged
  // once it said HELO/EHLO or MAIL FROM.
  if (!m.logged && (m.envelope_sent || s->meta.smtp_helo[0] || s->meta.smtp_mail_from[0]))
    log_mail(c, s, sink);
  fhash_drop(c, m.fh);  // an attachment open after a gap
}

}  // namespace app
}  // namespace spectre
