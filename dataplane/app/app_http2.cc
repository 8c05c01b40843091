// HTTP/2 over cleartext (RFC 9113): prior knowledge (the client preface) or
// an h2c upgrade. Frames are read incrementally; each stream's request and
// response are HTTP transactions built by the HTTP/1 machinery (app_http.cc)
// from a synthesized head ("GET /p HTTP/2\r\nHost: a\r\nname: value\r\n\r\n")
// and the DATA bytes as the body, so the http.* buffers, normalisation,
// body limits, gzip and files work as for HTTP/1 (as Suricata maps its http
// keywords onto HTTP/2). :authority is the Host (written first, before a
// host header). Frames on stream 0, and frames of a stream whose message
// was already handed on, are transactions of their own carrying only the
// (http2.hdr) buffer (http2.frametype & co, rules/http2_opts.cc), as
// Suricata makes a transaction per stream-0 frame.
//
// Memory: a flow's HTTP/2 state (HPACK tables, header block assembly, its
// stream table) is a slot of a fixed per-worker pool (AppConfig::http2_flows,
// ~27 KiB each, touched on use; when it is empty, a context idle for a
// second with no message open is taken back, counted). Stream records
// (~2.7 KiB) come from a second per-worker pool shared by the flows
// (AppConfig::http2_streams, 2048): a flow holds at most kH2Streams (256)
// open; past that, or with the pool empty, a new one finishes the flow's
// oldest early (counted), and a flow with none to finish is refused
// (counted, not tracked). The streams' messages use pooled transaction
// buffers like HTTP/1's. Without a slot the flow is labelled only.
// Errors (counted in http2_malformed / http2_hpack_errors, never fatal to
// the process): a malformed control frame is skipped; a header block that
// cannot be decoded (too large, bad HPACK) loses the direction's HPACK state,
// so the rest of that direction is ignored.
#include <algorithm>

#include "dataplane/app/app_http2.h"

namespace spectre {
namespace app {

using rules::AppProto;

namespace {

constexpr uint8_t kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";  // 24 bytes
enum : uint8_t { kData = 0, kHeaders, kPriority, kRst, kSettings, kPush, kPing, kGoaway, kWindow, kCont };
enum : uint8_t { kFlEndStream = 1, kFlAck = 1, kFlEndHeaders = 4, kFlPadded = 8, kFlPriority = 0x20 };

// Frame facts of one direction of a transaction (the keywords' values).
struct H2Info {
  uint16_t types;        // bit t: a frame of type t (0..9) was seen
  uint8_t has_err, has_prio, has_win, has_size, prio;
  uint32_t err, win, size;
  uint8_t set_has[6];    // SETTINGS parameters 1..6: last value
  uint32_t set_val[6];
};

// The request fields of a stream, put back into AppMeta before its response
// is handed on (streams interleave: AppMeta holds the latest request).
struct H2Req {
  uint8_t saved;
  char url[sizeof(AppMeta::http_url)], host[sizeof(AppMeta::http_hostname)];
  char ua[sizeof(AppMeta::http_user_agent)], method[sizeof(AppMeta::http_method)];
  char refer[sizeof(AppMeta::http_refer)];
};

struct H2Stream {
  uint32_t id;           // 0: free slot
  uint32_t seq;          // creation order (the oldest is finished first)
  uint32_t buf[2];       // the pooled buffer of each direction's message
  uint8_t fb[2];
  uint8_t st[2];         // 0 no message yet, 1 head handed to the HTTP machinery, 2 done
  uint32_t txs0;         // the flow's request count when bound (a change: the request was handed on)
  HttpDir http[2];
  H2Info info[2];
  H2Req req;
  // The pseudo-headers of each direction's head in wire order (kPseudo
  // indexes): http2.header_name lists them, as Suricata's does.
  uint8_t ps_order[2][6], ps_n[2];
  uint16_t hl_n[2];
  uint8_t hl[2][kH2HdrLog];  // EVE's request/response header lists (h2_log_buf)
};

struct H2Dir {
  uint8_t hdr[9], hdr_n;
  uint8_t preface;       // preface bytes still to skip
  uint8_t dead;          // HPACK state lost or framing broken: the rest is ignored
  uint8_t type, flags;
  uint32_t sid, len, got;
  uint8_t pad_known, pad;  // DATA: the pad length byte read (PADDED)
  uint8_t ctl_n;
  uint8_t ctl[64];       // the first bytes of a control frame
  // Header block being assembled (HEADERS/PUSH_PROMISE + CONTINUATION).
  uint8_t hb_open, hb_es, hb_over, hb_push;
  uint8_t hb_has_prio, hb_prio;  // HEADERS with the PRIORITY flag: its weight
  uint32_t hb_sid, hb_n, frame_at;
  uint8_t hb[kH2Block];
  HpackTable table;      // the peer's encoder state, as decoded here
  uint8_t hdrbuf[kH2HdrBuf];
};

// The flow's open streams: ids and their records in the worker's stream
// pool, unordered (a closed one is replaced by the last). Lookups scan ids
// (n is the open count: usually a few; at most kH2Streams, ~1 KiB of ids).
struct H2Conn {
  H2Dir dir[2];
  uint32_t ids[kH2Streams];
  uint16_t slot[kH2Streams];
  uint32_t n;
  uint32_t seq;
  AppState* owner;       // the flow holding the slot (a reclaimed slot stops it)
  uint64_t last_ns;      // time of its latest bytes
};

// A context idle this long with no message open may be taken for a new flow
// when the pool is empty (closed TCP flows linger for their timeout).
constexpr uint64_t kH2IdleNs = 1000000000ull;

struct NullSink final : AppSink {
  void on_tx(bool, const BufferSet&, const AppMeta&) override {}
};

H2Stream* pool_stream(AppCtx& c, uint32_t i) {
  return reinterpret_cast<H2Stream*>(c.impl->h2_st_mem.get() + size_t(i) * sizeof(H2Stream));
}

H2Conn* conn(AppCtx& c, AppState* s) {
  if (!s->h2) return nullptr;
  return reinterpret_cast<H2Conn*>(c.impl->h2_mem.get() + size_t(s->h2 - 1) * sizeof(H2Conn));
}

uint32_t be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
void put32(uint8_t* o, uint32_t v) {
  for (int i = 0; i < 4; i++) o[i] = uint8_t(v >> (24 - 8 * i));
}

// The (http2.hdr) buffer of a transaction direction: [0..1] frame-type bits
// (big-endian), [2] has error, [3..6] error code, [7] has priority, [8]
// weight, [9] has window, [10..13] increment, [14] has size update,
// [15..18] size, then per SETTINGS id 1..6: [19 + 5(id-1)] has, value (4).
void fill_hdr(const H2Info& f, uint8_t* o) {
  o[0] = uint8_t(f.types >> 8), o[1] = uint8_t(f.types);
  o[2] = f.has_err, put32(o + 3, f.err);
  o[7] = f.has_prio, o[8] = f.prio;
  o[9] = f.has_win, put32(o + 10, f.win);
  o[14] = f.has_size, put32(o + 15, f.size);
  for (int i = 0; i < 6; i++) o[19 + 5 * i] = f.set_has[i], put32(o + 20 + 5 * i, f.set_val[i]);
}
static_assert(19 + 5 * 6 <= kH2HdrBuf);

void save_req(H2Req& r, const AppMeta& m) {
  r.saved = 1;
  memcpy(r.url, m.http_url, sizeof m.http_url);
  memcpy(r.host, m.http_hostname, sizeof m.http_hostname);
  memcpy(r.ua, m.http_user_agent, sizeof m.http_user_agent);
  memcpy(r.method, m.http_method, sizeof m.http_method);
  memcpy(r.refer, m.http_refer, sizeof m.http_refer);
}

// The stream's message of direction d runs on the HTTP/1 machinery through
// the direction's Dir (its union is free: HTTP/2 keeps its state in the pool).
void bind(AppCtx& c, AppState* s, H2Conn& k, int d, H2Stream& st) {
  Dir& dr = s->dir[d];
  dr.u.http = st.http[d];
  dr.buf = st.buf[d];
  dr.fb = st.fb[d];
  fill_hdr(st.info[d], k.dir[d].hdrbuf);
  c.impl->h2_hdr = k.dir[d].hdrbuf;
  c.impl->h2_pseudo = st.ps_order[d];
  c.impl->h2_pseudo_n = st.ps_n[d];
  c.impl->h2_hl = st.hl[0];
  c.impl->h2_hl_n = st.hl_n;
  AppMeta& m = s->meta;
  m.h2_stream = st.id;
  m.h2_ctrl = 0;
  st.txs0 = s->http_txs[0];
  if (d == 1 && st.req.saved) {
    memcpy(m.http_url, st.req.url, sizeof m.http_url);
    memcpy(m.http_hostname, st.req.host, sizeof m.http_hostname);
    memcpy(m.http_user_agent, st.req.ua, sizeof m.http_user_agent);
    memcpy(m.http_method, st.req.method, sizeof m.http_method);
    memcpy(m.http_refer, st.req.refer, sizeof m.http_refer);
  }
}
void unbind(AppCtx& c, AppState* s, int d, H2Stream& st) {
  Dir& dr = s->dir[d];
  const AppMeta& m = s->meta;
  if (d == 0 && s->http_txs[0] != st.txs0) save_req(st.req, m);  // ~1.2 KB copied once per request
  st.http[d] = dr.u.http;
  st.buf[d] = dr.buf;
  st.fb[d] = dr.fb;
  dr.buf = kNoBuf;
  dr.fb = 0;
  c.impl->h2_hdr = nullptr;
  c.impl->h2_pseudo = nullptr;
  c.impl->h2_pseudo_n = 0;
  c.impl->h2_hl = nullptr;
  c.impl->h2_hl_n = nullptr;
}

// A transaction of frames alone (stream 0, or after the stream's message).
void ctrl_tx(AppCtx& c, AppState* s, H2Conn& k, int d, const H2Info& f, uint32_t sid, AppSink& sink) {
  BufferSet bs;
  fill_hdr(f, k.dir[d].hdrbuf);
  bs.set(rules::kHttp2Hdr, k.dir[d].hdrbuf, kH2HdrBuf);
  s->meta.proto = AppProto::kHttp2;
  s->meta.h2_stream = sid;
  s->meta.h2_ctrl = 1;
  sink.on_tx(d == 0, bs, s->meta);
  s->meta.h2_ctrl = 0;
}

H2Stream* find(AppCtx& c, H2Conn& k, uint32_t id) {
  for (uint32_t i = 0; i < k.n; i++)
    if (k.ids[i] == id) return pool_stream(c, k.slot[i]);
  return nullptr;
}

// Both messages done: the record goes back to the worker's pool.
void maybe_free(AppCtx& c, H2Conn& k, H2Stream& st) {
  if (st.st[0] != 2 || st.st[1] != 2 || !st.id) return;
  for (uint32_t i = 0; i < k.n; i++) {
    if (k.ids[i] != st.id) continue;
    AppCtx::Impl& m = *c.impl;
    m.h2_st_free[m.h2_st_free_n++] = k.slot[i];
    k.n--;
    k.ids[i] = k.ids[k.n];
    k.slot[i] = k.slot[k.n];
    break;
  }
  st.id = 0;
}

// Finishes the stream's open messages (what was received). `free`: the
// slot is released; else (RST_STREAM) a message not begun may still come
// (a response crossing the reset), as Suricata keeps the transaction.
void close_stream(AppCtx& c, AppState* s, H2Conn& k, H2Stream& st, AppSink& sink, bool free = true) {
  for (int d = 0; d < 2; d++) {
    if (st.st[d] == 1) {
      bind(c, s, k, d, st);
      http_finish(c, s, d, sink);
      unbind(c, s, d, st);
      st.st[d] = 2;
    }
    if (free) st.st[d] = 2;
  }
  maybe_free(c, k, st);
}

// A record for stream `id` from the worker's pool. The flow at kH2Streams
// open, or the pool empty, finishes the flow's oldest stream early (counted
// in streams_evicted); with the pool empty and no stream of its own the new
// stream is not tracked (null; its headers still update HPACK; counted in
// streams_refused).
H2Stream* open_stream(AppCtx& c, AppState* s, H2Conn& k, uint32_t id, AppSink& sink) {
  AppCtx::Impl& m = *c.impl;
  if (k.n == kH2Streams || (!m.h2_st_free_n && k.n)) {
    H2Stream* old = pool_stream(c, k.slot[0]);
    for (uint32_t i = 1; i < k.n; i++) {
      H2Stream* o = pool_stream(c, k.slot[i]);
      if (o->seq < old->seq) old = o;
    }
    c.ctr.http2_streams_evicted++;
    close_stream(c, s, k, *old, sink);
  }
  if (!m.h2_st_free_n) {
    c.ctr.http2_streams_refused++;
    return nullptr;
  }
  uint16_t i = m.h2_st_free[--m.h2_st_free_n];
  H2Stream* slot = pool_stream(c, i);
  memset(static_cast<void*>(slot), 0, sizeof(*slot));
  slot->id = id;
  slot->seq = ++k.seq;
  slot->buf[0] = slot->buf[1] = kNoBuf;
  k.ids[k.n] = id;
  k.slot[k.n++] = i;
  c.ctr.http2_streams++;
  return slot;
}

// HPACK fields -> the head of a message (or nowhere: trailers, pushes,
// untracked streams, which are decoded for the table's sake only).
struct HeadWriter final : HpackSink {
  uint8_t* pseudo;         // kH2Pseudo bytes of the worker: values live only while the block is decoded
  uint16_t ps_off[6] = {}, ps_len[6] = {};  // by kPseudo index
  uint32_t ps_n = 0;
  uint8_t* order = nullptr;  // the head's pseudo-headers in wire order (null: not kept)
  uint8_t* order_n = nullptr;
  uint8_t* log = nullptr;    // the head's header list for EVE (null: not kept)
  uint16_t* log_n = nullptr;
  bool log_cut = false;
  // One list entry: 2-byte name length (0xffff: a table size update, value
  // its 4 bytes), name, 2-byte value length, value.
  void log_entry(const uint8_t* nm, uint32_t nl, const uint8_t* v, uint32_t vl) {
    if (!log || log_cut) return;  // a prefix of the list: nothing after a left-out entry
    if (*log_n + 4u + (nl == 0xffff ? 0 : nl) + vl > kH2HdrLog) {
      log_cut = true;
      return;
    }
    uint8_t* o = log + *log_n;
    o[0] = uint8_t(nl), o[1] = uint8_t(nl >> 8);
    if (nl && nl != 0xffff) memcpy(o + 2, nm, nl);
    uint32_t at = 2 + (nl == 0xffff ? 0 : nl);
    o[at] = uint8_t(vl), o[at + 1] = uint8_t(vl >> 8);
    memcpy(o + at + 2, v, vl);
    *log_n = uint16_t(*log_n + at + 2 + vl);
  }
  uint8_t* out = nullptr;  // the head storage (null: discard)
  uint32_t cap = 0, n = 0;
  bool req = true, line_done = false, cut = false;
  H2Info* info = nullptr;
  explicit HeadWriter(uint8_t* ps) : pseudo(ps) {}

  void put(const void* p, uint32_t k) {
    uint32_t w = std::min(k, cap - n);
    memcpy(out + n, p, w);
    n += w;
    cut |= w < k;
  }
  void put(const char* z) { put(z, uint32_t(strlen(z))); }
  void pseudo_val(int i, const uint8_t** p, uint32_t* l) {
    *p = pseudo + ps_off[i];
    *l = ps_len[i];
  }
  void start_line() {
    if (line_done || !out) return;
    line_done = true;
    const uint8_t* v;
    uint32_t l;
    if (req) {
      pseudo_val(0, &v, &l);
      put(v, l);
      put(" ");
      pseudo_val(1, &v, &l);
      if (!l) pseudo_val(2, &v, &l);  // CONNECT: the authority
      put(v, l);
      put(" HTTP/2\r\n");
      pseudo_val(2, &v, &l);
      if (l) put("Host: "), put(v, l), put("\r\n");
    } else {
      put("HTTP/2 ");
      pseudo_val(4, &v, &l);
      put(v, l);
      put("\r\n");
    }
  }
  void field(const uint8_t* nm, uint32_t nl, const uint8_t* v, uint32_t vl, bool c) override {
    cut |= c;
    if (!out) return;
    log_entry(nm, nl, v, vl);
    if (nl && nm[0] == ':') {
      for (int i = 0; i < 6; i++) {
        if (nl != strlen(kPseudo[i]) || memcmp(nm, kPseudo[i], nl) != 0) continue;
        if (order && *order_n < 6) order[(*order_n)++] = uint8_t(i);
        if (ps_len[i]) continue;
        uint32_t w = std::min<uint32_t>(vl, kH2Pseudo - ps_n);
        memcpy(pseudo + ps_n, v, w);
        ps_off[i] = uint16_t(ps_n);
        ps_len[i] = uint16_t(w);
        ps_n += w;
        cut |= w < vl;
      }
      return;
    }
    start_line();
    put(nm, nl);
    put(": ");
    put(v, vl);
    put("\r\n");
  }
  void size_update(uint32_t sz) override {
    const uint8_t b[4] = {uint8_t(sz), uint8_t(sz >> 8), uint8_t(sz >> 16), uint8_t(sz >> 24)};
    if (out) log_entry(nullptr, 0xffff, b, 4);
    if (!info) return;
    info->has_size = 1;
    info->size = sz;
  }
};

// A complete header block of direction d.
void header_block(AppCtx& c, AppState* s, H2Conn& k, int d, AppSink& sink) {
  H2Dir& D = k.dir[d];
  D.hb_open = 0;
  if (D.hb_over) {
    c.ctr.http2_hpack_errors++;
    D.dead = 1;
    return;
  }
  H2Stream* st = D.hb_push ? nullptr : find(c, k, D.hb_sid);
  if (!st && !D.hb_push && d == 0 && (D.hb_sid & 1)) st = open_stream(c, s, k, D.hb_sid, sink);
  bool head = st && st->st[d] == 0;
  uint8_t* tmp = c.impl->h2_tmp.get();  // HPACK strings, then the pseudo-header values
  HeadWriter w(tmp + 2 * kHpackStr);
  w.req = d == 0;
  H2Info scratch_info{};
  w.info = st ? &st->info[d] : &scratch_info;
  if (D.hb_has_prio) w.info->has_prio = 1, w.info->prio = D.hb_prio;
  if (head) {
    bind(c, s, k, d, *st);
    http_start(s, d, d == 0);
    acquire(c, s, d);
    uint32_t cap = 0;
    w.out = storage(c, s, d, &cap);
    w.cap = std::min(cap, c.impl->cfg.header_limit) - 2;  // room for the final CRLF
    w.order = st->ps_order[d];
    w.order_n = &st->ps_n[d];
    if (c.want_h2_log) w.log = st->hl[d], w.log_n = &st->hl_n[d];
  }
  HpackErr e = hpack_decode(D.table, D.hb, D.hb_n, tmp, w);
  if (e != HpackErr::kOk) {
    c.ctr.http2_hpack_errors++;
    D.dead = 1;
    if (head) {  // a head we cannot trust is not handed on
      release(c, s, d);
      unbind(c, s, d, *st);
      st->st[d] = 2;
      maybe_free(c, k, *st);
    }
    return;
  }
  if (w.cut || w.log_cut) c.ctr.truncated++;
  if (head) {
    w.start_line();
    if (w.out) {
      w.cap += 2;
      w.put("\r\n");
    }
    HttpDir& h = s->dir[d].u.http;
    h.head_len = h.head_seen = w.n;
    h.started = 1;
    h.first_line = 0;
    st->st[d] = 1;
    c.impl->h2_pseudo_n = st->ps_n[d];  // decoded after bind()
    st->info[d].types |= 1u << kHeaders;
    fill_hdr(st->info[d], D.hdrbuf);
    http_head_external(c, s, d, D.hb_es, sink);
    unbind(c, s, d, *st);
    if (D.hb_es) st->st[d] = 2;
    maybe_free(c, k, *st);
  } else if (st && st->st[d] == 1 && D.hb_es) {  // trailers end the message
    bind(c, s, k, d, *st);
    http_finish(c, s, d, sink);
    unbind(c, s, d, *st);
    st->st[d] = 2;
    maybe_free(c, k, *st);
  }
}

// The current frame's payload bytes.
void payload(AppCtx& c, AppState* s, H2Conn& k, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  H2Dir& D = k.dir[d];
  switch (D.type) {
    case kData: {
      uint32_t at = D.got;  // offset of p in the payload
      if ((D.flags & kFlPadded) && !D.pad_known) {
        D.pad = p[0];
        D.pad_known = 1;
        p++, n--, at++;
        if (D.pad >= D.len) c.ctr.http2_malformed++;
      }
      const uint32_t pad = (D.flags & kFlPadded) ? D.pad : 0;
      const uint32_t data_end = pad < D.len ? D.len - pad : 0;  // a bad pad length: no data
      if (at >= data_end || !n) return;
      n = std::min(n, data_end - at);
      H2Stream* st = find(c, k, D.sid);
      if (!st || st->st[d] != 1) return;
      bind(c, s, k, d, *st);
      http_feed(c, s, d, p, n, sink);
      unbind(c, s, d, *st);
      return;
    }
    case kHeaders: case kPush: case kCont: {
      if (D.hb_n + n > kH2Block) {
        D.hb_over = 1;
        return;
      }
      memcpy(D.hb + D.hb_n, p, n);
      D.hb_n += n;
      return;
    }
    default: {
      uint32_t w = std::min<uint32_t>(n, sizeof D.ctl - D.ctl_n);
      memcpy(D.ctl + D.ctl_n, p, w);
      D.ctl_n = uint8_t(D.ctl_n + w);
    }
  }
}

// HEADERS / PUSH_PROMISE: strips padding, priority, promised id from the
// fragment just appended. False when malformed.
bool strip_fragment(H2Dir& D) {
  if (D.hb_over) return true;
  uint8_t* f = D.hb + D.frame_at;
  uint32_t len = D.len, pre = 0, pad = 0;
  if (D.flags & kFlPadded) {
    if (!len) return false;
    pad = f[0];
    pre = 1;
  }
  if (D.type == kHeaders && (D.flags & kFlPriority)) {
    if (len < pre + 5) return false;
    D.hb_has_prio = 1, D.hb_prio = f[pre + 4];
    pre += 5;
  }
  if (D.type == kPush) pre += 4;
  if (uint64_t(pre) + pad > len) return false;
  memmove(f, f + pre, len - pre - pad);
  D.hb_n = D.frame_at + len - pre - pad;
  return true;
}

// A control frame (or the end of a DATA frame) is complete.
void control(AppCtx& c, AppState* s, H2Conn& k, int d, AppSink& sink) {
  H2Dir& D = k.dir[d];
  H2Stream* st = D.sid ? find(c, k, D.sid) : nullptr;
  bool open = st && st->st[d] == 1;
  H2Info local{};
  H2Info& f = open ? st->info[d] : local;
  if (D.type < 16) f.types |= uint16_t(1u << D.type);  // unknown types past 15 have no bit (http2.frametype: 0..15)
  const uint8_t* p = D.ctl;
  bool ok = true;
  switch (D.type) {
    case kData:
      if (!D.sid) c.ctr.http2_malformed++;
      if (open && (D.flags & kFlEndStream)) {
        bind(c, s, k, d, *st);
        http_finish(c, s, d, sink);
        unbind(c, s, d, *st);
        st->st[d] = 2;
        maybe_free(c, k, *st);
      }
      return;
    case kPriority:
      ok = D.len == 5 && D.sid;
      if (ok) f.has_prio = 1, f.prio = p[4];
      break;
    case kRst:
      ok = D.len == 4 && D.sid;
      if (ok) f.has_err = 1, f.err = be32(p);
      break;
    case kSettings:
      ok = D.len % 6 == 0 && !D.sid && (!(D.flags & kFlAck) || !D.len);
      for (uint32_t i = 0; ok && i + 6 <= std::min<uint32_t>(D.len, sizeof D.ctl); i += 6) {
        uint32_t id = uint32_t(p[i]) << 8 | p[i + 1];
        if (id >= 1 && id <= 6) f.set_has[id - 1] = 1, f.set_val[id - 1] = be32(p + i + 2);
      }
      break;
    case kPing:
      ok = D.len == 8 && !D.sid;
      break;
    case kGoaway:
      ok = D.len >= 8 && !D.sid;
      if (ok) f.has_err = 1, f.err = be32(p + 4);
      break;
    case kWindow:
      ok = D.len == 4;
      if (ok) f.has_win = 1, f.win = be32(p) & 0x7fffffffu;
      break;
    default:
      break;  // unknown types are ignored (RFC 9113 4.1)
  }
  if (!ok) {
    c.ctr.http2_malformed++;
    return;
  }
  if (!open) ctrl_tx(c, s, k, d, f, D.sid, sink);
  if (D.type == kRst && st) close_stream(c, s, k, *st, sink, false);
}

// The 9-byte header of a frame is in; false: the direction stops.
bool begin_frame(AppCtx& c, H2Dir& D) {
  const uint8_t* h = D.hdr;
  D.len = uint32_t(h[0]) << 16 | h[1] << 8 | h[2];
  D.type = h[3];
  D.flags = h[4];
  D.sid = be32(h + 5) & 0x7fffffffu;
  D.got = 0;
  D.ctl_n = 0;
  D.pad_known = 0;
  c.ctr.http2_frames++;
  if (D.hb_open && (D.type != kCont || D.sid != D.hb_sid)) return false;  // 6.10: CONTINUATION must follow
  if (D.type == kHeaders || D.type == kPush) {
    if (!D.sid) return false;
    D.hb_open = 1;
    D.hb_sid = D.sid;
    D.hb_n = 0;
    D.hb_over = 0;
    D.hb_push = D.type == kPush;
    D.hb_es = D.type == kHeaders && (D.flags & kFlEndStream);
    D.hb_has_prio = 0;
  } else if (D.type == kCont && !D.hb_open) {
    return false;
  }
  D.frame_at = D.hb_n;
  return true;
}

void end_frame(AppCtx& c, AppState* s, H2Conn& k, int d, AppSink& sink) {
  H2Dir& D = k.dir[d];
  if (D.type == kHeaders || D.type == kPush) {
    if (!strip_fragment(D)) {
      c.ctr.http2_malformed++;
      D.dead = 1;  // the block cannot be decoded: HPACK state lost
      return;
    }
  }
  if ((D.type == kHeaders || D.type == kPush || D.type == kCont) && (D.flags & kFlEndHeaders)) {
    header_block(c, s, k, d, sink);
    return;
  }
  if (D.type != kHeaders && D.type != kPush && D.type != kCont) control(c, s, k, d, sink);
}

}  // namespace

void h2_log_buf(AppCtx::Impl& m, BufferSet& bs) {
  static_assert(sizeof(H2Stream::hl[0]) == kH2HdrLog);
  const uint32_t a = m.h2_hl_n[0], b = m.h2_hl_n[1];
  if (!(a + b)) return;  // nothing kept (want_h2_log off)
  uint8_t* o = m.alloc(2 + a + b);
  if (!o) return;
  o[0] = uint8_t(a), o[1] = uint8_t(a >> 8);
  memcpy(o + 2, m.h2_hl, a);
  memcpy(o + 2 + a, m.h2_hl + kH2HdrLog, b);
  bs.set(rules::kHttp2Headers, o, 2 + a + b);
}

size_t h2_conn_size() { return sizeof(H2Conn); }
size_t h2_stream_size() { return sizeof(H2Stream); }
uint32_t h2_streams_free(const AppCtx& c) { return c.impl->h2_st_free_n; }

int h2_probe(const uint8_t* p, uint32_t n) {
  uint32_t k = std::min<uint32_t>(n, 16);
  if (memcmp(p, kPreface, k) != 0) return 0;
  return k < 16 ? 2 : 1;
}

void h2_init_pool(AppCtx::Impl& m) {
  m.h2_n = m.cfg.http2_flows;
  m.h2_mem.reset(new uint8_t[size_t(m.h2_n) * sizeof(H2Conn) + 1]);
  m.h2_free.reset(new uint16_t[m.h2_n + 1]);
  for (uint32_t i = 0; i < m.h2_n; i++) m.h2_free[i] = uint16_t(m.h2_n - 1 - i);
  m.h2_free_n = m.h2_n;
  m.h2_tmp.reset(new uint8_t[2 * kHpackStr + kH2Pseudo]);
  m.h2_st_n = std::min<uint32_t>(m.cfg.http2_streams, 65535);
  m.h2_st_mem.reset(new uint8_t[size_t(m.h2_st_n) * sizeof(H2Stream) + 1]);
  m.h2_st_free.reset(new uint16_t[m.h2_st_n + 1]);
  for (uint32_t i = 0; i < m.h2_st_n; i++) m.h2_st_free[i] = uint16_t(m.h2_st_n - 1 - i);
  m.h2_st_free_n = m.h2_st_n;
}

namespace {
// The least recently active context idle for kH2IdleNs with no message or
// header block open goes back to the pool; its flow stops (its HPACK state
// is gone). O(pool), only when the pool is empty.
bool reclaim(AppCtx& c) {
  AppCtx::Impl& m = *c.impl;
  H2Conn* best = nullptr;
  uint32_t best_i = 0;
  for (uint32_t i = 0; i < m.h2_n; i++) {
    H2Conn* k = reinterpret_cast<H2Conn*>(m.h2_mem.get() + size_t(i) * sizeof(H2Conn));
    if (!k->owner || m.now_ns < k->last_ns + kH2IdleNs || k->dir[0].hb_open || k->dir[1].hb_open) continue;
    bool open = false;
    for (uint32_t j = 0; j < k->n; j++) {
      const H2Stream* st = pool_stream(c, k->slot[j]);
      open |= st->st[0] == 1 || st->st[1] == 1;
    }
    if (!open && (!best || k->last_ns < best->last_ns)) best = k, best_i = i;
  }
  if (!best) return false;
  for (uint32_t j = 0; j < best->n; j++) {  // streams waiting for a message: dropped
    pool_stream(c, best->slot[j])->id = 0;
    m.h2_st_free[m.h2_st_free_n++] = best->slot[j];
  }
  best->n = 0;
  AppState* o = best->owner;
  o->h2 = 0;
  o->dir[0].det = o->dir[1].det = kDead;
  best->owner = nullptr;
  m.h2_free[m.h2_free_n++] = uint16_t(best_i);
  c.ctr.http2_reclaimed++;
  return true;
}

H2Conn* take_conn(AppCtx& c, AppState* s) {
  if (s->h2) return conn(c, s);
  AppCtx::Impl& m = *c.impl;
  if (!m.h2_free_n && !reclaim(c)) {
    c.ctr.http2_no_ctx++;
    s->dir[0].det = s->dir[1].det = kDead;  // labelled only
    return nullptr;
  }
  s->h2 = uint16_t(m.h2_free[--m.h2_free_n] + 1);
  H2Conn* k = conn(c, s);
  for (int d = 0; d < 2; d++) {
    H2Dir& D = k->dir[d];
    memset(static_cast<void*>(&D), 0, offsetof(H2Dir, hb));
    hpack_init(D.table);
  }
  k->dir[0].preface = sizeof kPreface - 1;
  k->n = 0;
  k->seq = 0;
  k->owner = s;
  k->last_ns = m.now_ns;
  return k;
}
}  // namespace

void h2_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  H2Conn* k = take_conn(c, s);
  if (!k) return;
  k->last_ns = c.impl->now_ns;
  H2Dir& D = k->dir[d];
  while (n && !D.dead) {
    if (D.preface) {
      uint32_t off = uint32_t(sizeof kPreface - 1) - D.preface;
      uint32_t w = std::min<uint32_t>(n, D.preface);
      if (memcmp(p, kPreface + off, w) != 0) {
        c.ctr.http2_malformed++;
        D.dead = 1;
        return;
      }
      D.preface = uint8_t(D.preface - w);
      p += w, n -= w;
      continue;
    }
    if (D.hdr_n < 9) {
      uint32_t w = std::min<uint32_t>(n, 9u - D.hdr_n);
      memcpy(D.hdr + D.hdr_n, p, w);
      D.hdr_n = uint8_t(D.hdr_n + w);
      p += w, n -= w;
      if (D.hdr_n < 9) return;
      if (!begin_frame(c, D)) {
        c.ctr.http2_malformed++;
        D.dead = 1;
        return;
      }
    }
    uint32_t w = std::min(n, D.len - D.got);
    if (w) payload(c, s, *k, d, p, w, sink);
    D.got += w;
    p += w, n -= w;
    if (D.got == D.len) {
      D.hdr_n = 0;
      end_frame(c, s, *k, d, sink);
    }
  }
}

void h2_gap(AppCtx& c, AppState* s, int d, AppSink& sink) {
  H2Conn* k = conn(c, s);
  c.ctr.truncated++;
  if (!k) return;
  k->dir[d].dead = 1;  // frame boundaries and HPACK state are lost
  uint16_t open[kH2Streams];  // a copy: freed streams leave the table
  uint32_t n = k->n;
  memcpy(open, k->slot, n * sizeof open[0]);
  for (uint32_t i = 0; i < n; i++) {
    H2Stream& st = *pool_stream(c, open[i]);
    if (st.st[d] != 1) continue;
    bind(c, s, *k, d, st);
    http_gap(c, s, d, sink);
    unbind(c, s, d, st);
    st.st[d] = 2;
    maybe_free(c, *k, st);
  }
}

void h2_finish(AppCtx& c, AppState* s, AppSink& sink) {
  H2Conn* k = conn(c, s);
  if (!k) return;
  while (k->n) close_stream(c, s, *k, *pool_stream(c, k->slot[0]), sink);
  c.impl->h2_free[c.impl->h2_free_n++] = uint16_t(s->h2 - 1);
  k->owner = nullptr;
  s->h2 = 0;
}

void h2_upgrade(AppCtx& c, AppState* s) {
  for (int d = 0; d < 2; d++) {
    decomp_release(c, s->dir[d].u.http);
    fhash_drop(c, s->dir[d].u.http.fh);
    release(c, s, d);
  }
  s->proto = AppProto::kHttp2;
  s->meta.proto = AppProto::kHttp2;
  c.ctr.detected[int(AppProto::kHttp2)]++;
  H2Conn* k = take_conn(c, s);
  if (!k) return;
  // Stream 1 is the upgrade request (handed on as HTTP/1): its response comes as HTTP/2.
  NullSink none;  // a fresh context has no stream to finish
  H2Stream* st = open_stream(c, s, *k, 1, none);
  if (!st) return;
  st->st[0] = 2;
  save_req(st->req, s->meta);  // the HTTP/1.1 request just handed on
}

}  // namespace app
}  // namespace spectre
