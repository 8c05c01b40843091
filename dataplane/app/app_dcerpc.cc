// DCERPC (Suricata's `dcerpc` app layer): connection-oriented PDUs (version
// 5) over TCP (port 135 or found by content) and inside SMB named pipes,
// connectionless PDUs (version 4) over UDP. A request or response is one tx
// when its last fragment is in: the stub data of its fragments reassembled
// in the second half of the direction's pooled buffer (longer stubs are
// cut, counted; dcerpc.stub_data has the first part). bind / bind_ack /
// alter_context(_resp) are txs with their context lists; the accepted
// contexts give requests their interface (dcerpc.iface). The per-tx numbers
// go to the internal (dcerpc.hdr) buffer (layout in rules/smb_opts.cc).
// Calls are kept apart by call id (the flow's SmbCtx): a response pairs
// with its own request, and a fragmented call interleaved with another is
// set aside and resumed (park / unpark).
//
// Errors: a header with another version or a fragment length shorter than
// its header is malformed (counted): over TCP the direction stops, inside
// SMB the rest of that SMB message is ignored. After a TCP gap (DCERPC over
// TCP) the direction resumes at the next plausible header (dce_gap).
#include <algorithm>
#include <cstring>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

namespace {

enum : uint8_t {
  kRequest = 0, kResponse = 2, kFault = 3, kBind = 11, kBindAck = 12, kBindNak = 13, kAlter = 14,
  kAlterResp = 15,
};
constexpr uint8_t kFirstFrag = 1, kLastFrag = 2, kObjectUuid = 0x80;

uint16_t rd16(const uint8_t* p, bool le) { return le ? uint16_t(p[0] | p[1] << 8) : uint16_t(p[0] << 8 | p[1]); }
uint32_t rd32(const uint8_t* p, bool le) {
  return le ? uint32_t(p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24)
            : uint32_t(uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]);
}
// A UUID as sent (first three fields in the sender's byte order) -> text order.
void uuid_text(const uint8_t* p, bool le, uint8_t out[16]) {
  memcpy(out, p, 16);
  if (!le) return;
  std::reverse(out, out + 4);
  std::reverse(out + 4, out + 6);
  std::reverse(out + 6, out + 8);
}

uint8_t* area(AppCtx& c, AppState* s, int d, uint32_t* cap) {
  uint32_t all = 0;
  uint8_t* st = storage(c, s, d, &all);
  *cap = all / 2;
  return st ? st + all / 2 : nullptr;
}

// The (dcerpc.hdr) buffer and the tx.
void emit(AppCtx& c, AppState* s, int d, const uint8_t* stub, uint32_t stub_n, AppSink& sink) {
  AppMeta::Smb& m = s->meta.smb;
  m.dce = 1;
  const uint32_t mark = c.impl->scratch_used;  // an SMB tx's views allocated before stay valid
  BufferSet bs;
  uint8_t* h = c.impl->alloc(23);
  if (h) {
    memset(h, 0, 23);
    h[22] = m.d_le;
    h[0] = m.d_type;
    h[1] = m.d_bits;
    h[2] = uint8_t(m.d_opnum >> 8), h[3] = uint8_t(m.d_opnum);
    for (uint32_t i = 0; i < m.nifs && (m.d_bits & 2) && !m.d_udp; i++) {
      if (m.ifs[i].ctx_id != m.req_ctx) continue;
      memcpy(h + 4, m.ifs[i].uuid, 16);
      h[20] = uint8_t(m.ifs[i].ver >> 8), h[21] = uint8_t(m.ifs[i].ver);
      break;
    }
    if (m.d_udp) {  // the interface is in every connectionless header (ifs[0])
      memcpy(h + 4, m.ifs[0].uuid, 16);
      h[20] = uint8_t(m.ifs[0].ver >> 8), h[21] = uint8_t(m.ifs[0].ver);
    }
    bs.set(rules::kDcerpcHdr, h, 23);
  }
  if (stub && (m.d_type == kRequest || m.d_type == kResponse)) bs.set(rules::kDcerpcStubData, stub, stub_n);
  // Over SMB no (smb.hdr): the SMB message's own tx has it (smb.version
  // matches once per SMB message, as Suricata's one tx per command).
  c.ctr.dcerpc_pdus++;
  sink.on_tx(d == 0, bs, s->meta);
  c.impl->scratch_used = mark;
  m.dce = 0;
}

// Whether the request's context is bound and accepted: (dcerpc.hdr) bit 2.
uint8_t ctx_bits(const AppMeta::Smb& m, uint16_t ctx) {
  for (uint32_t i = 0; i < m.nifs; i++)
    if (m.ifs[i].ctx_id == ctx && m.ifs[i].ack == 0) return 2;
  return 0;
}

// bind / alter_context body (after the 16-byte header): the contexts.
void bind_body(AppMeta::Smb& m, const uint8_t* b, uint32_t n, bool le) {
  m.nifs = 0;
  if (n < 12) return;
  uint32_t k = b[8], at = 12;
  for (uint32_t i = 0; i < k && at + 24 <= n; i++) {
    uint32_t nts = b[at + 2];
    if (m.nifs < 4) {
      AppMeta::Smb::Iface& f = m.ifs[m.nifs++];
      f.ctx_id = rd16(b + at, le);
      uuid_text(b + at + 4, le, f.uuid);
      f.ver = rd16(b + at + 20, le);
      f.ver_minor = rd16(b + at + 22, le);
      f.ack = 0xffff;
    }
    at += 24 + 20 * nts;
  }
}

// bind_ack / alter_context_resp body: results in the order of the contexts.
void bind_ack_body(AppMeta::Smb& m, const uint8_t* b, uint32_t n, bool le) {
  if (n < 10) return;
  uint32_t sec = rd16(b + 8, le);
  uint32_t at = 10 + sec;
  at += (4 - (16 + at) % 4) % 4;  // aligned to 4 from the PDU start
  if (at + 4 > n) return;
  uint32_t k = b[at];
  at += 4;
  for (uint32_t i = 0; i < k && at + 24 <= n; i++, at += 24)
    if (i < m.nifs) m.ifs[i].ack = rd16(b + at, le);
}

// Interleaved calls (per call id, as Suricata's DCERPC txs): the call whose
// fragments are in the direction's area is set aside into a pooled buffer
// when another call's fragment comes, and brought back at its next one.
void park(AppCtx& c, AppState* s, int d, SmbCtx& f, DceDir& x) {
  AppCtx::Impl& m = *c.impl;
  uint8_t& n = f.park_n[d];
  if (n == kDcePark) {  // full: the oldest is dropped
    m.free_list[m.free_n++] = f.park[d][0].buf;
    memmove(&f.park[d][0], &f.park[d][1], (kDcePark - 1) * sizeof f.park[d][0]);
    n--;
    c.ctr.dcerpc_calls_dropped++;
  }
  uint32_t cap = 0;
  const uint8_t* a = area(c, s, d, &cap);
  if (!m.free_n) {
    c.ctr.dcerpc_calls_dropped++;
  } else {
    const uint32_t buf = m.free_list[--m.free_n];
    const uint32_t k = a ? std::min(x.stub_n, cap) : 0;
    if (k) memcpy(m.mem.get() + size_t(buf) * m.buf_size, a, k);
    f.park[d][n++] = SmbCtx::DcePark{f.cur_call[d], buf, k, x.stub_total, x.frag_cnt, x.first};
  }
  x.stub_n = x.stub_total = 0;
  x.frag_cnt = 0;
  x.first = 0;
  f.cur_open[d] = 0;
}

void unpark(AppCtx& c, AppState* s, int d, SmbCtx& f, DceDir& x, uint32_t call) {
  for (uint32_t i = 0; i < f.park_n[d]; i++) {
    SmbCtx::DcePark& e = f.park[d][i];
    if (e.call_id != call) continue;
    AppCtx::Impl& m = *c.impl;
    acquire(c, s, d);
    uint32_t cap = 0;
    uint8_t* a = area(c, s, d, &cap);
    x.stub_n = a ? std::min(e.stub_n, cap) : 0;
    if (x.stub_n) memcpy(a, m.mem.get() + size_t(e.buf) * m.buf_size, x.stub_n);
    x.stub_total = e.stub_total, x.frag_cnt = e.frag_cnt, x.first = e.first;
    m.free_list[m.free_n++] = e.buf;
    memmove(&e, &e + 1, (f.park_n[d] - i - 1) * sizeof e);
    f.park_n[d]--;
    return;
  }
}

// A request / response fragment of call `call` starts: its call's stub into the area.
void switch_call(AppCtx& c, AppState* s, int d, DceDir& x, uint32_t call, bool first) {
  SmbCtx* f = smb_ctx(c, s, x.hdr[2] == kRequest);
  if (!f) return;
  if (f->cur_open[d] && f->cur_call[d] != call) park(c, s, d, *f, x);
  if (!first && !f->cur_open[d]) unpark(c, s, d, *f, x, call);
  f->cur_call[d] = call;
  f->cur_open[d] = 1;
}

// The header is complete: a new PDU starts.
void pdu_start(AppCtx& c, AppState* s, int d, DceDir& x) {
  const bool le = x.hdr[4] & 0x10;
  uint32_t frag = rd16(x.hdr + 8, le), auth = rd16(x.hdr + 10, le);
  uint8_t type = x.hdr[2];
  x.body_left = frag - x.need;
  x.skip = type == kRequest && (x.hdr[3] & kObjectUuid) ? uint8_t(std::min<uint32_t>(16, x.body_left)) : 0;
  x.stub_left = x.body_left - x.skip;
  if (auth) x.stub_left -= std::min(x.stub_left, auth + 8);  // the auth trailer is not stub data
  if (type == kRequest || type == kResponse) {
    switch_call(c, s, d, x, rd32(x.hdr + 12, le), x.hdr[3] & kFirstFrag);
    if (x.hdr[3] & kFirstFrag) {
      x.stub_n = x.stub_total = 0;
      x.frag_cnt = 0;
      x.first = 1;
    }
    x.frag_cnt++;
  } else {
    x.stub_n = 0;  // bind etc.: the body is gathered for its contexts
    x.stub_left = x.body_left;
  }
}

// A complete request into the flow's table (a repeated call id replaces
// its entry; full: the oldest dropped).
void pend_request(AppCtx& c, SmbCtx& f, const AppMeta::Smb& m) {
  uint32_t n = f.dpend_n;
  for (uint32_t i = 0; i < n; i++)
    if (f.dpend[i].call_id == m.req_call_id) {
      memmove(&f.dpend[i], &f.dpend[i + 1], (n - i - 1) * sizeof f.dpend[0]);
      n--;
      break;
    }
  if (n == kDcePend) {
    memmove(&f.dpend[0], &f.dpend[1], (kDcePend - 1) * sizeof f.dpend[0]);
    n--;
    c.ctr.dcerpc_pend_full++;
  }
  f.dpend[n] = SmbCtx::DcePend{m.req_call_id, m.req_stub_size, m.req_opnum, m.req_ctx, m.req_frag_cnt, m.req_bits};
  f.dpend_n = uint8_t(n + 1);
}

// A response: its request's entry (by call id) into the req_* fields.
bool pair_response(SmbCtx& f, AppMeta::Smb& m) {
  for (uint32_t i = 0; i < f.dpend_n; i++) {
    const SmbCtx::DcePend e = f.dpend[i];
    if (e.call_id != m.d_call_id) continue;
    memmove(&f.dpend[i], &f.dpend[i + 1], (f.dpend_n - i - 1) * sizeof e);
    f.dpend_n--;
    m.req_type = kRequest + 1, m.req_call_id = e.call_id, m.req_opnum = e.opnum, m.req_ctx = e.ctx_id;
    m.req_frag_cnt = e.frag_cnt, m.req_stub_size = e.stub_size, m.req_bits = e.bits;
    return true;
  }
  return false;
}

// The PDU's last byte is in.
void pdu_end(AppCtx& c, AppState* s, int d, DceDir& x, AppSink& sink) {
  AppMeta::Smb& m = s->meta.smb;
  const bool le = x.hdr[4] & 0x10;
  uint8_t type = x.hdr[2];
  uint32_t cap = 0;
  uint8_t* a = area(c, s, d, &cap);
  m.d_type = type;
  m.d_minor = x.hdr[1];
  m.d_le = le;
  m.d_call_id = rd32(x.hdr + 12, le);
  m.d_udp = 0;
  m.d_stub_size = 0;
  m.d_bits = 0;
  m.d_opnum = 0;
  if (type == kRequest || type == kResponse) {
    if (!(x.hdr[3] & kLastFrag)) return;  // more fragments to come
    m.d_frag_cnt = x.frag_cnt;
    m.d_stub_size = x.stub_total;
    SmbCtx* f = smb_ctx(c, s, false);
    if (f) f->cur_open[d] = 0;  // the call is complete
    if (type == kRequest) {
      m.req_ctx = rd16(x.hdr + 20, le);
      m.req_opnum = rd16(x.hdr + 22, le);
      m.req_bits = uint8_t((x.first ? 1 : 0) | ctx_bits(m, m.req_ctx) | 4);
      m.req_type = type + 1, m.req_call_id = m.d_call_id;
      m.req_frag_cnt = x.frag_cnt, m.req_stub_size = x.stub_total;
      m.d_bits = m.req_bits;
      m.d_opnum = m.req_opnum;
      if (f) pend_request(c, *f, m);
    } else if ((f && pair_response(*f, m)) || (m.req_type == kRequest + 1 && m.req_call_id == m.d_call_id)) {
      m.d_bits = m.req_bits;  // the answer to that request: its opnum and interface
      m.d_opnum = m.req_opnum;
    }
    emit(c, s, d, a, x.stub_n, sink);
    x.stub_n = x.stub_total = 0;
    x.first = 0;
    return;
  }
  if (type == kBind || type == kAlter) {
    if (a) bind_body(m, a, x.stub_n, le);
    m.req_type = uint8_t(type + 1);
  } else if (type == kBindAck || type == kAlterResp) {
    if (a) bind_ack_body(m, a, x.stub_n, le);
  }
  x.stub_n = 0;
  emit(c, s, d, nullptr, 0, sink);
}

}  // namespace

int dcerpc_probe(const uint8_t* p, uint32_t n) {
  // version 5, minor 0/1, a client's first PDU (bind, alter_context,
  // request), drep integer/char formats known, a fragment at least a header.
  if (n < 1) return 2;
  if (p[0] != 5) return 0;
  if (n > 1 && p[1] > 1) return 0;
  if (n > 2 && p[2] != kBind && p[2] != kAlter && p[2] != kRequest) return 0;
  if (n > 4 && (p[4] & 0xef) != 0) return 0;  // drep[0]: 0x10 little endian, 0x00 big; ASCII
  if (n < 10) return 2;
  uint32_t frag = rd16(p + 8, p[4] & 0x10);
  return frag >= 16 ? 1 : 0;
}

namespace {

// Whether the first n (<= 12) bytes can open a connection-oriented header:
// version 5.0 / 5.1, a known PDU type and data representation, a fragment
// length covering its header and auth trailer.
bool hdr_prefix_ok(const uint8_t* h, uint32_t n) {
  if (h[0] != 5 || (n > 1 && h[1] > 1) || (n > 2 && h[2] > 20) || (n > 4 && (h[4] & 0xef)) || (n > 5 && h[5] > 3) ||
      (n > 6 && h[6]) || (n > 7 && h[7]))
    return false;
  if (n < 12) return true;
  const bool le = h[4] & 0x10;
  uint32_t frag = rd16(h + 8, le), auth = rd16(h + 10, le), need = h[2] == kRequest || h[2] == kResponse ? 24 : 16;
  return frag >= need && (!auth || frag >= need + auth + 8);
}

// After a gap (DCERPC over TCP): slides over the bytes until 12 of them
// open a plausible header (Suricata looks for the next record too: its
// version bytes); the header is then read on from there. Returns the bytes
// consumed.
uint32_t resync(DceDir& x, const uint8_t* p, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    x.hdr[x.hdr_n++] = p[i];
    while (x.hdr_n && !hdr_prefix_ok(x.hdr, x.hdr_n)) memmove(x.hdr, x.hdr + 1, --x.hdr_n);
    if (x.hdr_n == 12) {
      x.gap = 0;
      return i + 1;
    }
  }
  return n;
}

}  // namespace

void dce_gap(AppCtx& c, AppState* s, int d) {
  c.ctr.truncated++;
  release(c, s, d);
  DceDir& x = s->dir[d].u.smb.dce;
  x = DceDir{};  // the PDU (and call) in progress is lost
  x.gap = 1;
  if (SmbCtx* f = smb_ctx(c, s, false)) f->cur_open[d] = 0;
}

bool dce_pending(const AppState* s, int d) {
  const DceDir& x = s->dir[d].u.smb.dce;
  return x.hdr_n || x.stub_n;
}

void dce_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  DceDir& x = s->dir[d].u.smb.dce;
  if (x.gap) {
    uint32_t k = resync(x, p, n);
    p += k, n -= k;
  }
  while (n && !x.dead) {
    if (x.hdr_n < 16 || x.hdr_n < x.need) {
      uint32_t want = x.hdr_n < 16 ? 16 : x.need;
      uint32_t k = std::min<uint32_t>(n, want - x.hdr_n);
      memcpy(x.hdr + x.hdr_n, p, k);
      x.hdr_n = uint8_t(x.hdr_n + k);
      p += k, n -= k;
      if (x.hdr_n < want) return;
      if (want == 16) {
        const bool le = x.hdr[4] & 0x10;
        uint32_t frag = rd16(x.hdr + 8, le), auth = rd16(x.hdr + 10, le);
        uint8_t type = x.hdr[2];
        x.need = type == kRequest || type == kResponse ? 24 : 16;
        if (x.hdr[0] != 5 || x.hdr[1] > 1 || frag < x.need || (auth && frag < x.need + auth + 8)) {
          c.ctr.dcerpc_malformed++;
          if (SmbCtx* f = smb_ctx(c, s, false)) f->cur_open[d] = 0;  // the call in progress is lost
          x.dead = 1;
          x.hdr_n = 0;
          x.stub_n = 0;
          return;
        }
        if (x.need > 16) continue;
      }
      pdu_start(c, s, d, x);
      if (!x.body_left) {
        pdu_end(c, s, d, x, sink);
        x.hdr_n = 0;
      }
      continue;
    }
    if (x.skip) {
      uint32_t k = std::min<uint32_t>(n, x.skip);
      x.skip = uint8_t(x.skip - k);
      x.body_left -= k;
      p += k, n -= k;
      if (!x.body_left) {
        pdu_end(c, s, d, x, sink);
        x.hdr_n = 0;
      }
      continue;
    }
    uint32_t k = std::min(n, x.body_left);
    uint32_t take = std::min(k, x.stub_left);
    if (take) {
      if (!x.stub_n && s->dir[d].buf == kNoBuf && !s->dir[d].fb) acquire(c, s, d);
      uint32_t cap = 0;
      uint8_t* a = area(c, s, d, &cap);
      uint32_t keep = a ? std::min(take, cap - std::min(cap, x.stub_n)) : 0;
      if (keep) memcpy(a + x.stub_n, p, keep);
      if (keep < take && (x.hdr[2] == kRequest || x.hdr[2] == kResponse) && x.stub_total <= cap) c.ctr.dcerpc_stub_cut++;
      x.stub_n += keep;
      x.stub_total += take;
      x.stub_left -= take;
    }
    x.body_left -= k;
    p += k, n -= k;
    if (!x.body_left) {
      pdu_end(c, s, d, x, sink);
      x.hdr_n = 0;
    }
  }
}

// Connectionless (UDP) PDUs: an 80-byte header, version 4.
bool dcerpc_udp_candidate(const uint8_t* p, uint32_t n) {
  if (n < 80 || p[0] != 4 || p[1] > 10 || (p[4] & 0xef) != 0) return false;
  uint32_t len = rd16(p + 74, p[4] & 0x10);
  return 80 + len <= n;
}

void dcerpc_udp(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  if (!dcerpc_udp_candidate(p, n)) {
    c.ctr.dcerpc_malformed++;
    return;
  }
  AppMeta::Smb& m = s->meta.smb;
  const bool le = p[4] & 0x10;
  uint8_t type = p[1];
  uint32_t len = rd16(p + 74, le), fragnum = rd16(p + 76, le);
  m.version = 0;
  m.d_udp = 1;
  m.d_le = le;
  m.d_type = type;
  m.d_minor = 0;
  m.d_call_id = rd32(p + 64, le);  // sequence number
  m.d_opnum = rd16(p + 68, le);
  m.d_frag_cnt = uint16_t(fragnum + 1);
  m.d_stub_size = len;
  m.nifs = 1;
  uuid_text(p + 24, le, m.ifs[0].uuid);
  m.ifs[0].ver = uint16_t(rd32(p + 56, le));  // if_vers: major in the low half
  m.ifs[0].ver_minor = uint16_t(rd32(p + 56, le) >> 16);
  m.ifs[0].ack = 0;
  m.ifs[0].ctx_id = 0;
  m.d_bits = uint8_t((fragnum == 0 ? 1 : 0) | 2 | 4);
  if (type == kRequest) m.req_type = kRequest + 1, m.req_opnum = m.d_opnum, m.req_call_id = m.d_call_id;
  emit(c, s, d, p + 80, len, sink);
}

uint32_t utf16_to_utf8(const uint8_t* p, uint32_t n, uint8_t* out) {
  uint32_t o = 0;
  for (uint32_t i = 0; i + 1 < n; i += 2) {
    uint32_t u = p[i] | p[i + 1] << 8;
    if (u >= 0xd800 && u < 0xdc00 && i + 3 < n) {
      uint32_t lo = p[i + 2] | p[i + 3] << 8;
      if (lo >= 0xdc00 && lo < 0xe000) {
        u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
        i += 2;
        out[o++] = uint8_t(0xf0 | u >> 18);
        out[o++] = uint8_t(0x80 | (u >> 12 & 63));
        out[o++] = uint8_t(0x80 | (u >> 6 & 63));
        out[o++] = uint8_t(0x80 | (u & 63));
        continue;
      }
    }
    if (u >= 0xd800 && u < 0xe000) u = 0xfffd;
    if (u < 0x80) {
      out[o++] = uint8_t(u);
    } else if (u < 0x800) {
      out[o++] = uint8_t(0xc0 | u >> 6);
      out[o++] = uint8_t(0x80 | (u & 63));
    } else {
      out[o++] = uint8_t(0xe0 | u >> 12);
      out[o++] = uint8_t(0x80 | (u >> 6 & 63));
      out[o++] = uint8_t(0x80 | (u & 63));
    }
  }
  return o;
}

}  // namespace app
}  // namespace spectre
