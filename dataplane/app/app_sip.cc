// SIP (Suricata's `sip` app layer) over UDP (one message per datagram) and
// over TCP (stream-reassembled; a message is its head up to the empty line
// and Content-Length body bytes, RFC 3261 18.3). Per message: the start line,
// a request ("INVITE sip:bob@example.com SIP/2.0": sip.method, sip.uri,
// sip.protocol, sip.request_line) or a response ("SIP/2.0 180 Ringing":
// sip.protocol, sip.stat_code, sip.stat_msg, sip.response_line), and the
// header buffers sip.from, sip.to, sip.via (every Via: a multi-buffer),
// sip.user_agent, sip.content_type, sip.content_length, long or compact
// names (f, t, v, c, l) in any case; the first From/To/... counts.
//
// Errors: a message whose first line is not a start line is a parse error
// (counted); over UDP the flow stays SIP; over TCP the direction stops (it
// cannot be framed any more). A TCP head larger than the pooled buffer
// likewise. A message that outgrows the buffer is handed on when the buffer is
// full (counted as truncated), the rest of its body skipped.
#include <algorithm>
#include <cstring>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

using rules::AppProto;

namespace {

constexpr uint32_t kMaxLine = 1024;  // a start line longer than this is not read
constexpr uint32_t kMaxVia = 16;     // Via headers inspected per message
constexpr uint32_t kMaxSipHeaders = 128;  // header lines looked at per message

bool token_ch(uint8_t ch) {  // RFC 3261 token characters
  return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
         strchr("-.!%*_+`'~", ch) != nullptr;
}

// The first line of p (without CR LF); false when there is no line end
// within kMaxLine bytes.
bool first_line(const uint8_t* p, uint32_t n, uint32_t* len) {
  for (uint32_t i = 0; i < n && i < kMaxLine; i++)
    if (p[i] == '\n') {
      *len = i && p[i - 1] == '\r' ? i - 1 : i;
      return true;
    }
  return false;
}

struct Start {
  const uint8_t *a = nullptr, *b = nullptr, *c = nullptr;  // the three parts
  uint32_t al = 0, bl = 0, cl = 0;
  bool response = false;
  uint16_t code = 0;
};

// "METHOD SP URI SP SIP/x.y" or "SIP/x.y SP ddd SP reason".
bool start_line(const uint8_t* p, uint32_t n, Start& s) {
  const uint8_t* sp1 = static_cast<const uint8_t*>(memchr(p, ' ', n));
  if (!sp1 || sp1 == p) return false;
  uint32_t rest = uint32_t(p + n - sp1 - 1);
  const uint8_t* sp2 = static_cast<const uint8_t*>(memchr(sp1 + 1, ' ', rest));
  s.a = p, s.al = uint32_t(sp1 - p);
  if (s.al >= 7 && memcmp(p, "SIP/", 4) == 0) {  // a response
    if (rest < 3 || !sp2 || sp2 - sp1 != 4) return false;
    for (int k = 1; k <= 3; k++)
      if (sp1[k] < '0' || sp1[k] > '9') return false;
    s.response = true;
    s.code = uint16_t((sp1[1] - '0') * 100 + (sp1[2] - '0') * 10 + (sp1[3] - '0'));
    s.b = sp1 + 1, s.bl = 3;
    s.c = sp2 + 1, s.cl = uint32_t(p + n - sp2 - 1);
    return s.code >= 100;
  }
  for (uint32_t i = 0; i < s.al; i++)
    if (!token_ch(p[i])) return false;
  if (!sp2 || sp2 == sp1 + 1) return false;
  s.b = sp1 + 1, s.bl = uint32_t(sp2 - sp1 - 1);
  s.c = sp2 + 1, s.cl = uint32_t(p + n - sp2 - 1);
  return s.cl >= 5 && memcmp(s.c, "SIP/", 4) == 0;
}

bool ieq(const uint8_t* p, uint32_t n, const char* w) {
  return strlen(w) == n && ieq_prefix(p, n, w);
}

// The header buffer of a header name (long or compact form), or kPayload.
rules::Buf header_buf(const uint8_t* nm, uint32_t n) {
  if (ieq(nm, n, "from") || ieq(nm, n, "f")) return rules::kSipFrom;
  if (ieq(nm, n, "to") || ieq(nm, n, "t")) return rules::kSipTo;
  if (ieq(nm, n, "via") || ieq(nm, n, "v")) return rules::kSipVia;
  if (ieq(nm, n, "user-agent")) return rules::kSipUserAgent;
  if (ieq(nm, n, "content-type") || ieq(nm, n, "c")) return rules::kSipContentType;
  if (ieq(nm, n, "content-length") || ieq(nm, n, "l")) return rules::kSipContentLength;
  return rules::kPayload;
}

// Header lines of the head p[0, n) (after the start line) into buffers.
// Values without leading and trailing white space; continuation lines
// (starting with SP/HT) are skipped.
void header_bufs(AppCtx& c, const uint8_t* p, uint32_t n, BufferSet& bs) {
  auto* via = reinterpret_cast<BufferSet::Part*>(c.impl->alloc(kMaxVia * sizeof(BufferSet::Part)));
  uint32_t nvia = 0, lines = 0;
  while (n && lines++ < kMaxSipHeaders) {
    const uint8_t* lf = static_cast<const uint8_t*>(memchr(p, '\n', n));
    uint32_t ll = lf ? uint32_t(lf - p) : n;
    uint32_t adv = lf ? ll + 1 : n;
    if (ll && p[ll - 1] == '\r') ll--;
    if (!ll) break;  // the empty line ends the head
    const uint8_t* colon = static_cast<const uint8_t*>(memchr(p, ':', ll));
    if (colon && p[0] != ' ' && p[0] != '\t') {
      uint32_t nl = uint32_t(colon - p);
      while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t')) nl--;
      const uint8_t* v = colon + 1;
      uint32_t vl = uint32_t(p + ll - v);
      while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
      while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
      rules::Buf b = header_buf(p, nl);
      if (b == rules::kSipVia) {
        if (via && nvia < kMaxVia) via[nvia++] = {v, vl};
      } else if (b != rules::kPayload && !bs.has(b)) {
        bs.set(b, v, vl);
      }
    }
    p += adv;
    n -= adv;
  }
  if (nvia) bs.set_multi(rules::kSipVia, via, nvia);
}

// Case-insensitive: the Content-Length (or "l") value of a head; -1: none,
// -2: not a number.
int64_t content_length(const uint8_t* p, uint32_t n) {
  uint32_t lines = 0;
  while (n && lines++ < kMaxSipHeaders) {
    const uint8_t* lf = static_cast<const uint8_t*>(memchr(p, '\n', n));
    uint32_t ll = lf ? uint32_t(lf - p) : n, adv = lf ? ll + 1 : n;
    const uint8_t* colon = static_cast<const uint8_t*>(memchr(p, ':', ll));
    if (colon) {
      uint32_t nl = uint32_t(colon - p);
      while (nl && (p[nl - 1] == ' ' || p[nl - 1] == '\t')) nl--;
      if (header_buf(p, nl) == rules::kSipContentLength) {
        const uint8_t* v = colon + 1;
        const uint8_t* e = p + ll;
        while (v < e && (*v == ' ' || *v == '\t')) v++;
        int64_t x = 0;
        int digits = 0;
        for (; v < e && *v >= '0' && *v <= '9' && digits < 10; v++, digits++) x = x * 10 + (*v - '0');
        while (v < e && (*v == ' ' || *v == '\t' || *v == '\r')) v++;
        return digits && v == e ? x : -2;
      }
    }
    p += adv;
    n -= adv;
  }
  return -1;
}

// The prefixes of SIP requests a TCP probe recognises anywhere (RFC 3261
// and its extensions' methods, followed by a SIP or tel URI).
const char* const kMethods[] = {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE",
                                "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"};

// Whether p[0, n) starts like "<w> <scheme>"; 0 no, 1 yes, 2 a prefix of it.
int prefix_of(const uint8_t* p, uint32_t n, const char* w, uint32_t wl) {
  uint32_t k = std::min(n, wl);
  if (memcmp(p, w, k) != 0) return 0;
  return k < wl ? 2 : 1;
}

int method_uri(const uint8_t* p, uint32_t n, uint32_t ml) {
  if (n <= ml) return 2;
  int best = 0;
  for (const char* sch : {"sip:", "sips:", "tel:"}) {
    int r = prefix_of(p + ml + 1, n - ml - 1, sch, uint32_t(strlen(sch)));
    if (r == 1) return 1;
    best = std::max(best, r);
  }
  return best;
}

}  // namespace

bool sip_candidate(const uint8_t* p, uint32_t n) {
  uint32_t len;
  Start s;
  if (!first_line(p, n, &len) || !start_line(p, len, s)) return false;
  if (s.response) return memcmp(p, "SIP/2.0 ", 8) == 0;
  // A request names a SIP, SIPS or tel URI (HTTP's "GET / HTTP/1.1" does not).
  return (s.bl >= 4 && (memcmp(s.b, "sip:", 4) == 0 || memcmp(s.b, "tel:", 4) == 0)) ||
         (s.bl >= 5 && memcmp(s.b, "sips:", 5) == 0);
}

int sip_probe(const uint8_t* p, uint32_t n, bool port) {
  if (!n) return 2;
  int r = prefix_of(p, n, "SIP/2.0 ", 8);
  if (r == 1) return n < 9 ? 2 : (p[8] >= '1' && p[8] <= '6');
  int best = r;
  for (const char* m : kMethods) {
    uint32_t ml = uint32_t(strlen(m));
    int k = prefix_of(p, n, m, ml);
    if (k == 2) best = 2;
    if (k != 1) continue;
    if (n > ml && p[ml] != ' ') continue;
    int u = method_uri(p, n, ml);
    if (u == 1) return 1;
    best = std::max(best, u);
  }
  if (best || !port) return best;
  // On the SIP port: an extension method (a token) with a SIP URI.
  uint32_t i = 0;
  while (i < n && token_ch(p[i])) i++;
  if (i == n) return 2;
  if (!i || p[i] != ' ') return 0;
  return method_uri(p, n, i);
}

bool sip_message(AppCtx& c, AppState* st, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  // The previous message's views are gone (its on_tx returned): the scratch
  // restarts, so many messages in one segment cannot exhaust it.
  c.impl->scratch_used = 0;
  uint32_t len;
  Start s;
  if (!first_line(p, n, &len) || !start_line(p, len, s)) return false;
  AppMeta& m = st->meta;
  m.proto = AppProto::kSip;
  BufferSet bs;
  bs.set(rules::kPayload, p, n);  // the message, for rules mixing payload and sip buffers
  uint32_t skip = len + (p[len] == '\r' ? 2 : 1);
  header_bufs(c, p + skip, n - skip, bs);
  if (s.response) {
    m.http_status = s.code;  // SIP fields in the http_* ones (see AppMeta)
    copy_str(m.http_protocol, s.a, s.al);
    copy_str(m.sip_reason, s.c, s.cl);
    bs.set(rules::kSipProtocol, s.a, s.al);
    bs.set(rules::kSipStatCode, s.b, s.bl);
    bs.set(rules::kSipStatMsg, s.c, s.cl);
    bs.set(rules::kSipResponseLine, p, len);
    c.ctr.sip_responses++;
  } else {
    m.http_status = 0;
    copy_str(m.http_method, s.a, s.al);
    copy_str(m.http_url, s.b, s.bl);
    copy_str(m.http_protocol, s.c, s.cl);
    bs.set(rules::kSipMethod, s.a, s.al);
    bs.set(rules::kSipUri, s.b, s.bl);
    bs.set(rules::kSipProtocol, s.c, s.cl);
    bs.set(rules::kSipRequestLine, p, len);
    c.ctr.sip_requests++;
  }
  sink.on_tx(d == 0, bs, m);
  return true;
}

// TCP: bytes into the direction's pooled buffer until the head ends, then
// Content-Length body bytes; the message is handed on whole (or cut at the
// buffer), and the next one starts. CR/LF between messages (keep-alives,
// RFC 5626 3.5.1) are skipped.
void sip_tcp_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  SipDir& h = s->dir[d].u.sip;
  while (n) {
    if (h.phase == 0) {  // between messages
      while (n && (*p == '\r' || *p == '\n')) p++, n--;
      if (!n) return;
      acquire(c, s, d);
      h.phase = 1;
      h.stored = h.head = 0;
    }
    uint32_t cap;
    uint8_t* st = storage(c, s, d, &cap);
    if (h.phase == 1) {  // the head: up to and including the empty line
      uint32_t from = h.stored > 3 ? h.stored - 3 : 0;
      uint32_t k = std::min(n, cap - h.stored);
      memcpy(st + h.stored, p, k);
      h.stored += k;
      uint32_t end = 0;
      for (uint32_t i = from; i + 1 < h.stored && !end; i++) {
        if (st[i] != '\n') continue;
        if (st[i + 1] == '\n') end = i + 2;
        else if (i + 2 < h.stored && st[i + 1] == '\r' && st[i + 2] == '\n') end = i + 3;
      }
      if (!end) {
        if (h.stored == cap) {  // a head larger than the buffer: cannot frame the stream
          c.ctr.parse_errors++;
          s->dir[d].det = kDead;
          release(c, s, d);
          return;
        }
        return;  // all of n is stored
      }
      uint32_t extra = h.stored - end;  // body bytes already stored
      p += k - extra;
      n -= k - extra;
      h.stored = end;
      h.head = end;
      int64_t cl = content_length(st, end);
      if (cl == -2) c.ctr.parse_errors++;
      h.body_left = cl > 0 ? uint64_t(cl) : 0;
      h.phase = 2;
    }
    if (h.phase == 3) {  // the rest of a body that outgrew the buffer (its message was handed on)
      uint32_t k = uint32_t(std::min<uint64_t>(n, h.body_left));
      h.body_left -= k;
      p += k;
      n -= k;
      if (!h.body_left) h.phase = 0;
      continue;
    }
    // The body: kept while it fits. A message that outgrows the buffer is
    // handed on when the buffer is full (a huge Content-Length cannot hold
    // it back), the rest skipped.
    uint32_t k = uint32_t(std::min<uint64_t>(n, h.body_left));
    uint32_t keep = std::min(k, cap - h.stored);
    memcpy(st + h.stored, p, keep);
    h.stored += keep;
    h.body_left -= keep;
    p += keep;
    n -= keep;
    if (h.body_left && h.stored < cap) return;
    if (h.body_left) c.ctr.truncated++;
    if (!sip_message(c, s, d, st, h.stored, sink)) {
      c.ctr.parse_errors++;
      s->dir[d].det = kDead;  // not SIP: the stream cannot be framed any more
      release(c, s, d);
      return;
    }
    h.phase = h.body_left ? 3 : 0;
    release(c, s, d);
  }
}

}  // namespace app
}  // namespace spectre
