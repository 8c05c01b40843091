// Kerberos 5 (Suricata's `krb5` app layer) over UDP and TCP port 88: one tx
// per AS-REQ, AS-REP, TGS-REQ, TGS-REP and KRB-ERROR (RFC 4120 section 5).
// Over TCP each message follows a 4-byte big-endian record marker; the record
// is gathered in the direction's pooled buffer (larger records are skipped
// and counted: the buffer is the bound). Messages are read with the bounded
// DER reader of core/der.h; a malformed or cut message is counted and gives
// no tx, never a crash.
//
// Buffers: krb5_cname / krb5_sname (each name component an instance; one
// BufferSet holds a single multi-buffer, so the name with more components
// gets it and the other has its first component only), the internal
// (krb5.hdr) the numeric keywords test (layout in krb5_opts.cc) and
// (krb5.ticket_etype), the ticket's etype as decimal digits. Strings for EVE
// live in AppMeta's http_* fields (one protocol per flow, see AppMeta).
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "dataplane/app/app_internal.h"
#include "dataplane/core/der.h"

namespace spectre {
namespace app {

namespace {

constexpr uint32_t kMaxParts = 8;      // name components inspected per name
constexpr uint32_t kMaxPadata = 16;    // PA-DATA entries looked at for PA-TGS-REQ

struct Name {
  BufferSet::Part parts[kMaxParts];
  uint32_t n = 0;
};

// PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF KerberosString }
bool principal(const der::Tlv& wrapped, Name& out) {
  der::Tlv seq, t;
  if (!der::inner(wrapped, seq) || !seq.constructed) return false;
  der::Cursor c(seq.val, uint32_t(seq.len));
  if (!c.ctx(0, t)) return false;
  if (!c.ctx(1, t)) return false;
  der::Tlv strs;
  if (!der::inner(t, strs) || !strs.constructed) return false;
  der::Cursor s(strs.val, uint32_t(strs.len));
  der::Tlv e;
  while (s.next(e))
    if (out.n < kMaxParts) out.parts[out.n++] = {e.val, uint32_t(e.len)};
  return s.ok;
}

// EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] OPTIONAL, cipher [2] }
bool etype_of(const der::Tlv& wrapped, int32_t& et) {
  der::Tlv seq, t, i;
  if (!der::inner(wrapped, seq) || !seq.constructed) return false;
  der::Cursor c(seq.val, uint32_t(seq.len));
  int64_t v;
  if (!c.ctx(0, t) || !der::inner(t, i) || !der::integer(i, v)) return false;
  et = int32_t(v);
  return true;
}

// Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0], realm [1], sname [2], enc-part [3] }
bool ticket(const der::Tlv& wrapped, Name* sname, int32_t& et) {
  der::Tlv app, seq, t;
  if (!der::inner(wrapped, app) || app.cls != 1 || app.tag != 1 || !der::inner(app, seq)) return false;
  der::Cursor c(seq.val, uint32_t(seq.len));
  if (!c.ctx(0, t) || !c.ctx(1, t) || !c.ctx(2, t)) return false;
  if (sname && !principal(t, *sname)) return false;
  return c.ctx(3, t) && etype_of(t, et);
}

struct Msg {
  uint8_t type = 0;
  Name cname, sname;
  const uint8_t* realm = nullptr;
  uint32_t realm_len = 0;
  bool has_etype = false, has_ticket = false, has_error = false;
  int32_t etype = 0, ticket_etype = 0, error = 0;
};

bool kstring(const der::Tlv& wrapped, Msg& m) {
  der::Tlv s;
  if (!der::inner(wrapped, s) || s.constructed) return false;
  m.realm = s.val;
  m.realm_len = uint32_t(s.len);
  return true;
}

// The ticket etype of a TGS-REQ: PA-TGS-REQ (type 1) holds an AP-REQ whose
// [3] is the ticket.
void tgs_padata(const der::Tlv& wrapped, Msg& m) {
  der::Tlv seq, pa;
  if (!der::inner(wrapped, seq)) return;
  der::Cursor c(seq.val, uint32_t(seq.len));
  for (uint32_t k = 0; k < kMaxPadata && c.next(pa); k++) {
    der::Cursor f(pa.val, uint32_t(pa.len));
    der::Tlv t, i, v, ap, apseq;
    int64_t type;
    if (!f.ctx(1, t) || !der::inner(t, i) || !der::integer(i, type) || type != 1) continue;
    if (!f.ctx(2, t) || !der::inner(t, v)) continue;
    // The OCTET STRING's content is the AP-REQ: [APPLICATION 14] SEQUENCE { [0] [1] [2] [3] ticket ..}
    if (der::read(v.val, uint32_t(v.len), ap) != der::Rc::kOk || ap.cls != 1 || ap.tag != 14 ||
        ap.len > ap.avail || !der::inner(ap, apseq))
      continue;
    der::Cursor a(apseq.val, uint32_t(apseq.len));
    if (a.ctx(0, t) && a.ctx(1, t) && a.ctx(2, t) && a.ctx(3, t) && ticket(t, nullptr, m.ticket_etype))
      m.has_ticket = true;
    return;
  }
}

// KDC-REQ ::= SEQUENCE { pvno [1], msg-type [2], padata [3] OPTIONAL, req-body [4] }
bool kdc_req(der::Cursor& c, Msg& m) {
  der::Tlv t, body;
  if (!c.ctx(1, t) || !c.ctx(2, t)) return false;
  if (c.ctx(3, t) && m.type == 12) tgs_padata(t, m);
  if (!c.ctx(4, t) || !der::inner(t, body)) return false;
  der::Cursor b(body.val, uint32_t(body.len));
  if (!b.ctx(0, t)) return false;  // kdc-options
  if (b.ctx(1, t) && !principal(t, m.cname)) return false;
  if (!b.ctx(2, t) || !kstring(t, m)) return false;
  if (b.ctx(3, t) && !principal(t, m.sname)) return false;
  return b.ok;
}

// KDC-REP ::= SEQUENCE { pvno [0], msg-type [1], padata [2] OPT, crealm [3],
//                        cname [4], ticket [5], enc-part [6] }
bool kdc_rep(der::Cursor& c, Msg& m) {
  der::Tlv t;
  if (!c.ctx(0, t) || !c.ctx(1, t)) return false;
  c.ctx(2, t);
  if (!c.ctx(3, t) || !kstring(t, m)) return false;
  if (!c.ctx(4, t) || !principal(t, m.cname)) return false;
  if (!c.ctx(5, t) || !ticket(t, &m.sname, m.ticket_etype)) return false;
  m.has_ticket = true;
  if (!c.ctx(6, t) || !etype_of(t, m.etype)) return false;
  m.has_etype = true;
  return true;
}

// KRB-ERROR ::= SEQUENCE { pvno [0], msg-type [1], ctime [2] OPT, cusec [3] OPT,
//   stime [4], susec [5], error-code [6], crealm [7] OPT, cname [8] OPT,
//   realm [9], sname [10], e-text [11] OPT, e-data [12] OPT }
bool krb_error(der::Cursor& c, Msg& m) {
  der::Tlv t, i;
  int64_t v;
  if (!c.ctx(0, t) || !c.ctx(1, t)) return false;
  c.ctx(2, t);
  c.ctx(3, t);
  if (!c.ctx(4, t) || !c.ctx(5, t)) return false;
  if (!c.ctx(6, t) || !der::inner(t, i) || !der::integer(i, v)) return false;
  m.error = int32_t(v);
  m.has_error = true;
  if (c.ctx(7, t) && !kstring(t, m)) return false;  // crealm: EVE's realm (Suricata)
  if (c.ctx(8, t) && !principal(t, m.cname)) return false;
  if (!c.ctx(9, t) || !c.ctx(10, t) || !principal(t, m.sname)) return false;
  return true;
}

bool parse(const uint8_t* p, uint32_t n, Msg& m) {
  der::Tlv app, seq;
  if (der::read(p, n, app) != der::Rc::kOk || app.cls != 1 || !app.constructed || app.len > app.avail) return false;
  if (!der::inner(app, seq) || seq.cls != 0 || seq.tag != 16) return false;
  m.type = uint8_t(app.tag);
  der::Cursor c(seq.val, uint32_t(seq.len));
  switch (app.tag) {
    case 10: case 12: return kdc_req(c, m);
    case 11: case 13: return kdc_rep(c, m);
    case 30: return krb_error(c, m);
    default: return false;
  }
}

void join(char* dst, size_t cap, const Name& nm) {
  size_t k = 0;
  for (uint32_t i = 0; i < nm.n && k + 1 < cap; i++) {
    if (i) dst[k++] = '/';
    size_t take = std::min<size_t>(nm.parts[i].len, cap - 1 - k);
    if (take) memcpy(dst + k, nm.parts[i].data, take);
    k += take;
  }
  dst[k] = 0;
  for (size_t i = 0; i < k; i++)
    if (dst[i] < 0x20) dst[i] = '?';  // control bytes never reach EVE raw
}

void name_buf(AppCtx& c, BufferSet& bs, rules::Buf b, const Name& nm, bool multi) {
  if (!nm.n) return;
  if (multi && nm.n > 1) {
    auto* parts = reinterpret_cast<BufferSet::Part*>(c.impl->alloc(nm.n * sizeof(BufferSet::Part)));
    if (parts) {
      for (uint32_t i = 0; i < nm.n; i++) parts[i] = {nm.parts[i].data, nm.parts[i].len};
      bs.set_multi(b, parts, nm.n);
      return;
    }
  }
  bs.set(b, nm.parts[0].data, nm.parts[0].len);
}

}  // namespace

// Suricata's list (weak: every etype but AES-SHA1/SHA2 and Camellia).
bool krb5_weak(int32_t e) { return !(e == 17 || e == 18 || e == 19 || e == 20 || e == 25 || e == 26); }

int krb5_probe(const uint8_t* p, uint32_t n, bool tcp) {
  if (tcp) {
    if (n < 4) return 2;
    uint32_t rec = uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3];
    if (rec == 0 || rec > 16384) return 0;  // Suricata's bound on a record
    p += 4, n -= 4;
  }
  der::Tlv app, seq;
  der::Rc r = der::read(p, n, app);
  if (r == der::Rc::kTruncated) return 2;
  if (r != der::Rc::kOk || app.cls != 1 || !app.constructed || app.tag >= 30) return 0;
  r = der::read(app.val, n - app.hdr, seq);
  if (r == der::Rc::kTruncated) return 2;
  if (r != der::Rc::kOk || seq.cls != 0 || seq.tag != 16 || !seq.constructed) return 0;
  // pvno, the first field ([0] or [1]): INTEGER 5, "a? 03 02 01 05".
  static const uint8_t kPvno[] = {0x03, 0x02, 0x01, 0x05};
  const uint8_t* q = seq.val;
  uint32_t qn = n - app.hdr - seq.hdr;
  if (qn == 0) return 2;
  if (q[0] != 0xa0 && q[0] != 0xa1) return 0;
  uint32_t k = std::min<uint32_t>(qn - 1, sizeof kPvno);
  if (memcmp(q + 1, kPvno, k) != 0) return 0;
  return k == sizeof kPvno ? 1 : 2;
}

namespace {
// Suricata's krb5.malformed_data: a message whose outer DER header cannot be
// read (cut or malformed; not other parse failures), raised on the flow's
// latest transaction, so not before the flow's first message. Here a tx of
// its own: (krb5.hdr) all zero (message type 0), not logged in EVE.
void malformed_event(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  der::Tlv t;
  AppMeta::Krb5& k = s->meta.krb5;
  if (!k.msg_type || der::read(p, n, t) == der::Rc::kOk) return;
  uint8_t* h = c.impl->alloc(10);
  if (!h) return;
  memset(h, 0, 10);
  BufferSet bs;
  bs.set(rules::kPayload, p, n);
  bs.set(rules::kKrb5Hdr, h, 10);
  const AppMeta::Krb5 keep = k;
  k = AppMeta::Krb5{};  // msg_type 0: inspection does not log it
  c.ctr.krb5_malformed_events++;
  sink.on_tx(d == 0, bs, s->meta);
  k = keep;
}
}  // namespace

bool krb5_message(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  c.impl->scratch_used = 0;
  Msg m;
  if (!parse(p, n, m)) {
    c.ctr.krb5_malformed++;
    malformed_event(c, s, d, p, n, sink);
    return false;
  }
  c.ctr.krb5_messages++;
  KrbDir& req = s->dir[0].u.krb;  // the flow's latest request type (KRB-ERROR's failed_request)
  AppMeta& a = s->meta;
  AppMeta::Krb5& k = a.krb5;
  k = AppMeta::Krb5{};
  k.msg_type = m.type;
  k.failed_request = m.type == 30 ? req.last_req : 0;
  if (m.type == 10 || m.type == 12) req.last_req = m.type;
  else req.last_req = 0;
  k.has_error = m.has_error;
  k.error_code = m.error;
  k.has_etype = m.has_etype;
  k.etype = m.etype;
  k.has_ticket_etype = m.has_ticket;
  k.ticket_etype = m.ticket_etype;
  k.has_cname = m.cname.n != 0;
  k.has_sname = m.sname.n != 0;
  k.has_realm = m.realm != nullptr;
  join(a.http_refer, sizeof a.http_refer, m.cname);
  join(a.http_url, sizeof a.http_url, m.sname);
  Name realm;
  if (m.realm) realm.parts[realm.n++] = {m.realm, m.realm_len};
  join(a.http_user_agent, sizeof a.http_user_agent, realm);

  BufferSet bs;
  bs.set(rules::kPayload, p, n);
  const bool sname_multi = m.sname.n >= m.cname.n;
  name_buf(c, bs, rules::kKrb5Sname, m.sname, sname_multi);
  name_buf(c, bs, rules::kKrb5Cname, m.cname, !sname_multi);
  if (uint8_t* h = c.impl->alloc(10)) {
    const uint32_t e = uint32_t(m.error);
    const uint8_t v[10] = {m.type, m.has_error, uint8_t(e >> 24), uint8_t(e >> 16), uint8_t(e >> 8), uint8_t(e),
                           m.has_etype, uint8_t(m.has_etype && krb5_weak(m.etype)), m.has_ticket,
                           uint8_t(m.has_ticket && krb5_weak(m.ticket_etype))};
    memcpy(h, v, sizeof v);
    bs.set(rules::kKrb5Hdr, h, sizeof v);
  }
  if (m.has_ticket) {
    if (uint8_t* t = c.impl->alloc(12)) {
      int w = snprintf(reinterpret_cast<char*>(t), 12, "%d", m.ticket_etype);
      bs.set(rules::kKrb5TicketEtype, t, uint32_t(w));
    }
  }
  sink.on_tx(d == 0, bs, a);
  return true;
}

void krb5_tcp_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  KrbDir& h = s->dir[d].u.krb;
  while (n) {
    if (h.hdr_n < 4) {  // the record marker
      h.hdr[h.hdr_n++] = *p++;
      n--;
      if (h.hdr_n < 4) continue;
      h.need = uint32_t(h.hdr[0] & 0x7f) << 24 | h.hdr[1] << 16 | h.hdr[2] << 8 | h.hdr[3];
      h.got = h.stored = 0;
      uint32_t cap = c.impl->buf_size;
      h.skip = h.need > cap || (h.hdr[0] & 0x80);  // too large for the buffer (or the reserved bit)
      if (h.skip) c.ctr.krb5_too_large++;
      else if (h.need) acquire(c, s, d);
      if (!h.need) {
        h.hdr_n = 0;
        continue;
      }
    }
    uint32_t k = std::min(n, h.need - h.got);
    if (!h.skip) {
      uint32_t cap = 0;
      uint8_t* st = storage(c, s, d, &cap);
      uint32_t keep = st ? std::min(k, cap - h.stored) : 0;
      if (keep) memcpy(st + h.stored, p, keep);
      h.stored += keep;
    }
    h.got += k;
    p += k;
    n -= k;
    if (h.got < h.need) return;
    if (!h.skip) {
      uint32_t cap = 0;
      uint8_t* st = storage(c, s, d, &cap);
      if (st && h.stored == h.need) krb5_message(c, s, d, st, h.stored, sink);
      else c.ctr.krb5_too_large++;  // the fallback area (pool empty) could not hold it
      release(c, s, d);
    }
    h.hdr_n = 0;
  }
}

}  // namespace app
}  // namespace spectre
