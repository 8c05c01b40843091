// SIP over UDP (Suricata's `sip` app layer): one message per datagram, its
// start line only: a request ("INVITE sip:bob@example.com SIP/2.0") gives
// sip.method, sip.uri, sip.protocol and sip.request_line; a response
// ("SIP/2.0 180 Ringing") sip.protocol, sip.stat_code, sip.stat_msg and
// sip.response_line. Header buffers (sip.from, sip.via, ...) and SIP over
// TCP are not read. A datagram whose first line is not a start line is a
// parse error (counted); the flow stays SIP.
#include <cstring>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

using rules::AppProto;

namespace {

constexpr uint32_t kMaxLine = 1024;  // a start line longer than this is not read

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

bool sip_message(AppCtx& c, AppState* st, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  uint32_t len;
  Start s;
  if (!first_line(p, n, &len) || !start_line(p, len, s)) return false;
  AppMeta& m = st->meta;
  m.proto = AppProto::kSip;
  BufferSet bs;
  bs.set(rules::kPayload, p, n);  // the message, for rules mixing payload and sip buffers
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

}  // namespace app
}  // namespace spectre
