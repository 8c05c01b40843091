// DNS over UDP (one message per datagram) and TCP (2-byte length prefix,
// message reassembled in the transaction buffer).
//
// Names are decoded to dotted form (raw label bytes; a '.' inside a label is
// not escaped). Compression pointers are followed at most 16 times per name,
// so a pointer loop ends as a parse error. dns.query is the first question's
// name on queries and on responses (Suricata matches dns.query on requests
// only; we also set it on answers so rules on either direction can use it).
// A message without a question (mDNS answers) reports its first answer's name.
#include <cstring>
#include <algorithm>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

using rules::AppProto;

namespace {

constexpr int kMaxJumps = 16;

uint16_t rd16(const uint8_t* p) { return uint16_t((p[0] << 8) | p[1]); }

// Decodes the name at *off. On success *off is just past it (past the first
// pointer when compressed) and out holds up to 255 bytes (+NUL). `limit`
// bounds the message bytes that may be read (the stored part).
bool read_name(const uint8_t* m, uint32_t limit, uint32_t* off, char* out, uint32_t* out_len) {
  uint32_t pos = *off, o = 0, end = 0;
  bool jumped = false;
  for (int jumps = 0;;) {
    if (pos >= limit) return false;
    uint8_t l = m[pos];
    if (l == 0) {
      if (!jumped) end = pos + 1;
      break;
    }
    if ((l & 0xC0) == 0xC0) {
      if (pos + 1 >= limit) return false;
      if (!jumped) end = pos + 2;
      jumped = true;
      if (++jumps > kMaxJumps) return false;
      pos = uint32_t(((l & 0x3F) << 8) | m[pos + 1]);
      continue;
    }
    if (l & 0xC0) return false;  // extended label types are obsolete
    if (pos + 1 + l > limit) return false;
    if (o + (o ? 1 : 0) + l > 255) return false;  // longer than a name may be
    if (o) out[o++] = '.';
    memcpy(out + o, m + pos + 1, l);
    o += l;
    pos += 1 + l;
  }
  out[o] = 0;
  *out_len = o;
  *off = end;
  return true;
}

bool skip_name(const uint8_t* m, uint32_t limit, uint32_t* off) {
  char tmp[256];
  uint32_t n;
  return read_name(m, limit, off, tmp, &n);
}

}  // namespace

bool dns_header_plausible(const uint8_t* p, uint32_t n, bool hint) {
  if (n < 12) return false;
  uint8_t opcode = (p[2] >> 3) & 0xF;
  if (opcode == 3 || opcode > 6) return false;
  uint32_t qd = rd16(p + 4), an = rd16(p + 6), ns = rd16(p + 8), ar = rd16(p + 10);
  bool qr = p[2] & 0x80;
  if (!qr && (p[3] & 0xF) != 0 && !hint) return false;  // rcode in a query
  if (qd == 0 && !(hint && an > 0)) return false;
  if (!hint && qd > 8) return false;
  // A question takes at least 5 bytes, a record 11.
  return 12 + uint64_t(qd) * 5 + (uint64_t(an) + ns + ar) * 11 <= n;
}

bool dns_message(AppCtx& c, AppState* s, const uint8_t* p, uint32_t n, bool strict,
                 bool truncated, AppSink& sink) {
  if (!dns_header_plausible(p, truncated ? 0xffff : n, !strict)) return false;
  if (n < 12) return false;
  uint16_t qd = rd16(p + 4), an = rd16(p + 6), ns = rd16(p + 8), ar = rd16(p + 10);
  char name[256];
  uint32_t name_len = 0;
  uint16_t rrtype = 0;
  bool have_name = false;
  uint32_t off = 12;
  for (uint32_t i = 0; i < qd; i++) {
    char tmp[256];
    uint32_t tl;
    if (!read_name(p, n, &off, i ? tmp : name, i ? &tl : &name_len)) return false;
    if (off + 4 > n) return false;
    if (i == 0) {
      rrtype = rd16(p + off);
      have_name = true;
      uint16_t qclass = rd16(p + off + 2) & 0x7FFF;  // mDNS: top bit is unicast-response
      if (strict && !(qclass == 1 || qclass == 3 || qclass == 4 || qclass == 254 ||
                      qclass == 255))
        return false;
    }
    off += 4;
  }
  // Records: checked to the end when strict (or the message is complete).
  uint32_t rr = uint32_t(an) + ns + ar;
  bool records_ok = true;
  for (uint32_t i = 0; i < rr; i++) {
    uint32_t at = off;
    if (!skip_name(p, n, &off) || off + 10 > n) {
      records_ok = false;
      break;
    }
    if (!have_name && i == 0) {
      uint32_t o2 = at;
      read_name(p, n, &o2, name, &name_len);
      rrtype = rd16(p + off);
      have_name = true;
    }
    uint32_t rdlen = rd16(p + off + 8);
    off += 10;
    if (off + rdlen > n) {
      records_ok = false;
      break;
    }
    off += rdlen;
  }
  if (!records_ok && !truncated) return false;
  if (strict && !truncated && off != n) return false;
  if (!have_name) return false;

  set_proto(c, s, AppProto::kDns);
  bool resp = p[2] & 0x80;
  AppMeta& m = s->meta;
  m.proto = AppProto::kDns;
  copy_str(m.dns_rrname, name, name_len);
  m.dns_rrtype = rrtype;
  m.dns_id = rd16(p);
  m.dns_rcode = p[3] & 0xF;
  m.dns_is_response = resp;
  m.dns_answers = an;
  if (resp) c.ctr.dns_answers++;
  else c.ctr.dns_queries++;
  BufferSet bs;  // dns.query is the request's name only, as in Suricata 7
  bs.set(rules::kPayload, p, n);  // the message, for rules mixing payload and dns.query
  char dot[sizeof name + 1];  // "." + name for dotprefix
  if (!resp) {
    bs.set(rules::kDnsQuery, reinterpret_cast<const uint8_t*>(name), name_len);
    dot[0] = '.';
    std::memcpy(dot + 1, name, name_len);
    bs.set(rules::kDnsQueryDot, reinterpret_cast<const uint8_t*>(dot), name_len + 1);
  }
  sink.on_tx(!resp, bs, m);
  return true;
}

void dns_tcp_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, bool hint,
                  AppSink& sink) {
  Dir& dr = s->dir[d];
  DnsTcpDir& t = dr.u.dns;
  while (n > 0) {
    if (t.len_n < 2) {
      if (t.len_n == 0) t.lenb0 = *p;
      else t.msg_len = uint32_t((t.lenb0 << 8) | *p);
      t.len_n++;
      p++, n--;
      if (t.len_n == 2) {
        t.got = t.stored = 0;
        acquire(c, s, d);
      }
      continue;
    }
    uint32_t cap = 0;
    uint8_t* st = storage(c, s, d, &cap);
    uint32_t k = std::min(n, t.msg_len - t.got);
    if (st && t.stored < cap) {
      uint32_t w = std::min(k, cap - t.stored);
      memcpy(st + t.stored, p, w);
      t.stored += w;
    }
    t.got += k;
    p += k;
    n -= k;
    if (t.got < t.msg_len) continue;
    // One whole message.
    bool trunc = t.stored < t.msg_len;
    if (trunc) c.ctr.truncated++;
    bool ours = s->proto == AppProto::kUnknown || s->proto == AppProto::kDns;
    bool ok = ours && st && dns_message(c, s, st, t.stored, !hint, trunc, sink);
    release(c, s, d);
    t.len_n = 0;
    if (!ok) {
      if (dr.det == kDnsCand) {
        reject_dir(c, s, d);
        return;
      }
      c.ctr.parse_errors++;
    } else {
      dr.det = kActive;
    }
  }
}

}  // namespace app
}  // namespace spectre
