// HTTP/1.x: incremental framing (head, Content-Length / chunked / until-close
// bodies, pipelining) and, once per message, a full head parse that builds
// the inspection buffers.
//
// Cost: head bytes are copied once into the transaction buffer (memchr per
// line); body bytes are copied up to the body limit and only counted after.
// The head is parsed twice (framing when it ends, buffers when the message is
// handed over), both O(head size), once per message.
//
// Normalization of http.uri (libhtp's defaults, mostly): an absolute URI
// ("http://host/p") is reduced to its path and query; in the path every %XX
// escape is decoded except %2F and %00 (a separator or NUL only when raw), in
// the query only escapes of unreserved characters (A-Z a-z 0-9 - . _ ~);
// then "/./" segments are removed, "/../" removes the previous segment (never
// above the root) and empty segments ("//") are collapsed. Invalid escapes,
// '+', backslashes and case are left as they are. http.uri.raw is the URI as
// sent. Spaces in a URI are kept when the line ends in "HTTP/...".
// Header buffers: repeated headers are kept as separate lines (libhtp joins
// them with ", "); the specific buffers (user agent, host...) use the first
// occurrence. Folded lines are joined with one space.
// Bodies are dechunked and decoded (gzip/deflate, app_http_decomp.cc);
// file.data is the body in either direction (uploads too).
// Leniency as libhtp: junk after a chunk size is ignored, a chunk line
// without a size turns the rest of the direction into the body; the first
// Content-Length digits count ("5, 5"); Transfer-Encoding containing
// "chunked" in any case is chunked; a status code that is not 3 digits is
// code 0 with normal framing; a reply whose first line does not start with
// "http" (any case), or the reply to an HTTP/0.9 request, is all body.
#include <algorithm>

#include "dataplane/app/app_http2.h"
#include "dataplane/app/app_http_head.h"

namespace spectre {
namespace app {

using rules::AppProto;
using namespace rules;
using namespace h1;

namespace {

struct Framing {
  bool chunked = false;
  int64_t content_length = -1;
};

void framing(const uint8_t* h, const HeadView& v, Framing& fr) {
  uint8_t tmp[128];
  for (uint32_t i = 0; i < v.nh; i++) {
    const HdrEnt& e = v.h[i];
    if (e.vend - e.vstart > sizeof(tmp)) continue;
    if (ieq(h + e.name.off, e.name.len, "transfer-encoding")) {
      uint32_t n = header_value(h, e, tmp);
      for (uint32_t k = 0; k + 7 <= n; k++)
        if (ieq(tmp + k, 7, "chunked")) fr.chunked = true;
    } else if (ieq(h + e.name.off, e.name.len, "content-length") && fr.content_length < 0) {
      uint32_t n = header_value(h, e, tmp);
      int64_t x = 0;
      uint32_t k = 0;
      for (; k < n && tmp[k] >= '0' && tmp[k] <= '9' && x < (int64_t(1) << 50); k++)
        x = x * 10 + (tmp[k] - '0');
      // Leading digits count ("10, 10", "10 junk"): libhtp takes the first value.
      if (k && (k == n || tmp[k] < '0' || tmp[k] > '9')) fr.content_length = x;
    }
  }
}

// http.start (Suricata): the start line, "\r\n", each header as
// "Name: value\r\n" (all of them, cookies too), then "\r\n".
// http.header.raw: the header lines as received after the start line,
// through the empty line that ends them. Both in scratch; skipped when it is
// full. O(head size), once per message.
template <typename Put>
void put_start_and_raw(AppCtx::Impl& m, const uint8_t* st, uint32_t head_len, const HeadView& v,
                       const uint8_t* const* val, const uint32_t* vlen, Put&& put) {
  const uint8_t* lf = static_cast<const uint8_t*>(memchr(st, '\n', head_len));
  if (lf && uint32_t(lf - st) + 1 < head_len) {
    const uint32_t from = uint32_t(lf - st) + 1;
    put(kHttpHeaderRaw, st + from, head_len - from);
  }
  uint32_t cap = v.line.len + 4;
  for (uint32_t i = 0; i < v.nh; i++) cap += v.h[i].name.len + vlen[i] + 4;
  uint8_t* b = m.alloc(cap);
  if (!b) return;
  uint32_t o = 0;
  auto add = [&](const uint8_t* p, uint32_t n) {
    memcpy(b + o, p, n);
    o += n;
  };
  add(st + v.line.off, v.line.len);
  add(reinterpret_cast<const uint8_t*>("\r\n"), 2);
  for (uint32_t i = 0; i < v.nh; i++) {
    add(st + v.h[i].name.off, v.h[i].name.len);
    add(reinterpret_cast<const uint8_t*>(": "), 2);
    add(val[i], vlen[i]);
    add(reinterpret_cast<const uint8_t*>("\r\n"), 2);
  }
  add(reinterpret_cast<const uint8_t*>("\r\n"), 2);
  put(kHttpStart, b, o);
}

struct Pending {
  bool head, connect, v09;
};

void push_pending(AppState* s, bool head, bool connect, bool v09) {
  if (s->pend_n >= kMaxPending) return;
  s->pend_bits |= uint64_t((head ? 1 : 0) | (connect ? 2 : 0) | (v09 ? 4 : 0)) << (3 * s->pend_n);
  s->pend_n++;
}
Pending pop_pending(AppState* s) {
  if (!s->pend_n) return {false, false, false};
  Pending p{(s->pend_bits & 1) != 0, (s->pend_bits & 2) != 0, (s->pend_bits & 4) != 0};
  s->pend_bits >>= 3;
  s->pend_n--;
  return p;
}
bool next_pending_v09(const AppState* s) { return s->pend_n && (s->pend_bits & 4); }

uint32_t body_limit(AppCtx& c, bool req) {
  return req ? c.impl->cfg.request_body_limit : c.impl->cfg.response_body_limit;
}

// Content-Disposition's filename= value (quoted or up to ';'), as libhtp's
// users read it; false when there is none.
bool disposition_filename(const uint8_t* p, uint32_t n, const uint8_t** out, uint32_t* out_n) {
  for (uint32_t i = 0; i + 9 <= n; i++) {
    if (!ieq(p + i, 9, "filename=")) continue;
    uint32_t a = i + 9, b;
    if (a < n && p[a] == '"') {
      b = ++a;
      while (b < n && p[b] != '"') b++;
    } else {
      b = a;
      while (b < n && p[b] != ';') b++;
      while (b > a && is_ws(p[b - 1])) b--;
    }
    *out = p + a;
    *out_n = b - a;
    return b > a;
  }
  return false;
}

// The path of a request URI (absolute form: after the authority), without the query.
void uri_path(const uint8_t* u, uint32_t n, const uint8_t** out, uint32_t* out_n) {
  uint32_t a = 0;
  for (uint32_t i = 0; i + 2 < n && i < 8; i++)
    if (u[i] == ':' && u[i + 1] == '/' && u[i + 2] == '/') {
      a = i + 3;
      while (a < n && u[a] != '/') a++;
      break;
    }
  uint32_t b = a;
  while (b < n && u[b] != '?' && u[b] != '#') b++;
  *out = u + a;
  *out_n = b - a;
}

// A file's final record (EVE fileinfo): size, state, the digests of the
// whole file (streamed as it came: h.fh; with no state, those of a body
// kept whole). Digests also as buffers in `b`.
void file_meta(AppCtx& c, AppState* s, HttpDir& h, uint32_t kept, const uint8_t* body, bool cut,
               BufferSet* b) {
  AppMeta& a = s->meta;
  a.file_tx = true;
  a.file_size = h.dec_n ? h.dec_out : h.body_total;
  a.file_truncated = a.file_size > kept;
  a.file_incomplete = cut;
  const bool streamed = h.fh != 0;
  fhash_final(c, h.fh, a, b, !cut);
  if (!streamed && body && !a.file_truncated && !cut) file_hashes(c, a, b, body, kept);
}

// A body that may be a file (a response, a PUT) begins: its digest state.
void file_hash_start(AppCtx& c, HttpDir& h) {
  fhash_drop(c, h.fh);
  h.fh = fhash_take(c);
}

// http2.header_name of an HTTP/2 stream's message: the pseudo-headers in
// wire order, then each field (not the Host written from :authority).
void h2_header_names(AppCtx::Impl& m, const uint8_t* st, const HeadView& v, BufferSet& bs) {
  auto* parts = reinterpret_cast<BufferSet::Part*>(m.alloc((v.nh + 6) * sizeof(BufferSet::Part)));
  uint32_t n = 0;
  for (uint32_t i = 0; parts && i < m.h2_pseudo_n; i++) {
    const char* nm = app::kPseudo[m.h2_pseudo[i]];
    parts[n++] = {reinterpret_cast<const uint8_t*>(nm), uint32_t(strlen(nm))};
  }
  for (uint32_t i = 0; parts && i < v.nh; i++)
    if (!(v.h[i].name.len == 4 && memcmp(st + v.h[i].name.off, "Host", 4) == 0))
      parts[n++] = {st + v.h[i].name.off, v.h[i].name.len};
  if (n) bs.set_multi(kHttp2HeaderName, parts, n);
}

// Builds the buffers and meta of the message in direction d and calls on_tx.
// `end`: 0 inspected before its end (body limit), 1 complete, 2 cut short.
void emit(AppCtx& c, AppState* s, int d, AppSink& sink, int end = 1) {
  HttpDir& h = s->dir[d].u.http;
  AppCtx::Impl& m = *c.impl;
  uint32_t cap = 0;
  const uint8_t* st = storage(c, s, d, &cap);
  BufferSet bs;
  AppMeta& meta = s->meta;
  meta.proto = s->proto == AppProto::kHttp2 ? AppProto::kHttp2 : AppProto::kHttp;
  if (m.h2_hdr) bs.set(kHttp2Hdr, m.h2_hdr, kH2HdrBuf);  // an HTTP/2 stream's frame facts
  bool req = h.is_req;
  if (req) c.ctr.http_requests++;
  else c.ctr.http_responses++;
  h.emitted = 1;
  if (!st) {
    sink.on_tx(req, bs, meta);
    return;
  }
  m.scratch_used = 0;  // buffers of an earlier on_tx are dead
  HeadView& v = *reinterpret_cast<HeadView*>(m.alloc(sizeof(HeadView)));
  parse_head(st, h.head_len, req, v);
  bool full = !s->dir[d].fb;  // meta only from the fallback area
  auto put = [&](Buf b, const uint8_t* p, uint32_t n) {
    if (full) bs.set(b, p, n);
  };
  // Header values, each once, in scratch.
  const uint8_t* val[kMaxHeaders];
  uint32_t vlen[kMaxHeaders];
  for (uint32_t i = 0; i < v.nh; i++) {
    uint8_t* o = m.alloc(v.h[i].vend - v.h[i].vstart + 1);
    vlen[i] = header_value(st, v.h[i], o);
    val[i] = o;
  }
  auto hdr = [&](const char* lname, const uint8_t** p, uint32_t* n) {
    int i = find_header(st, v, lname);
    if (i < 0) return false;
    *p = val[i];
    *n = vlen[i];
    return true;
  };
  const uint8_t* p;
  uint32_t n;
  // http.header: "Name: value\r\n" per line, Cookie / Set-Cookie excluded;
  // http.header_names: "\r\n" + "Name\r\n" per line + "\r\n".
  if (v.nh) {
    uint32_t hb_cap = 0, nb_cap = 4;
    for (uint32_t i = 0; i < v.nh; i++) {
      hb_cap += v.h[i].name.len + vlen[i] + 4;
      nb_cap += v.h[i].name.len + 2;
    }
    uint8_t* hb = m.alloc(hb_cap);
    uint8_t* nb = m.alloc(nb_cap);
    uint32_t hn = 0, nn = 0;
    nb[nn++] = '\r';
    nb[nn++] = '\n';
    for (uint32_t i = 0; i < v.nh; i++) {
      const uint8_t* nm = st + v.h[i].name.off;
      uint32_t nl = v.h[i].name.len;
      memcpy(nb + nn, nm, nl);
      nn += nl;
      nb[nn++] = '\r';
      nb[nn++] = '\n';
      if (ieq(nm, nl, req ? "cookie" : "set-cookie")) continue;
      memcpy(hb + hn, nm, nl);
      hn += nl;
      hb[hn++] = ':';
      hb[hn++] = ' ';
      memcpy(hb + hn, val[i], vlen[i]);
      hn += vlen[i];
      hb[hn++] = '\r';
      hb[hn++] = '\n';
    }
    nb[nn++] = '\r';
    nb[nn++] = '\n';
    if (hn) put(kHttpHeader, hb, hn);
    put(kHttpHeaderNames, nb, nn);
  }
  if (m.h2_hdr && full) h2_header_names(m, st, v, bs);
  if (m.h2_hl && !req) h2_log_buf(m, bs);  // EVE's header lists, on the tx that logs the stream
  put_start_and_raw(m, st, h.head_len, v, val, vlen, put);
  if (hdr("content-type", &p, &n)) {
    put(kHttpContentType, p, n);
    if (!req) copy_str(meta.http_content_type, p, n);
  } else if (!req) {
    meta.http_content_type[0] = 0;
  }
  if (hdr("content-length", &p, &n)) put(kHttpContentLen, p, n);
  uint32_t body_off = h.head_len;
  uint32_t body_n = std::min<uint32_t>(h.body_stored, cap > body_off ? cap - body_off : 0);
  // The payload part of rules mixing payload and HTTP buffers: the head as
  // received and the stored (dechunked, decoded) body, contiguous here.
  put(kPayload, st, body_off + body_n);
  const bool put_req = req && v.a.len == 3 && memcmp(st + v.a.off, "PUT", 3) == 0;
  bool mp = false;  // a multipart/form-data request (app_multipart.cc)
  uint32_t mpk = 0;
  MpFile mpf[kMaxMpFiles];
  if (req) {
    put(kHttpMethod, st + v.a.off, v.a.len);
    put(kHttpUriRaw, st + v.b.off, v.b.len);
    uint8_t* nu = m.alloc(v.b.len + 2);
    put(kHttpUri, nu, normalize_uri(st + v.b.off, v.b.len, nu));
    if (v.c.len) put(kHttpProtocol, st + v.c.off, v.c.len);
    put(kHttpRequestLine, st + v.line.off, v.line.len);
    const uint8_t* hp;
    uint32_t hl;
    meta.http_hostname[0] = 0;
    if (hdr("host", &hp, &hl)) {
      put(kHttpHostRaw, hp, hl);  // as sent (case and port kept)
      uint8_t* lh = m.alloc(hl + 2);
      lh[0] = '.';  // lh[0..]: dotprefix form, lh[1..]: the host
      uint32_t ln = normalize_host(hp, hl, lh + 1);
      put(kHttpHostDot, lh, ln + 1);
      lh++;
      put(kHttpHost, lh, ln);
      copy_str(meta.http_hostname, lh, ln);
    }
    meta.http_user_agent[0] = 0;
    if (hdr("user-agent", &p, &n)) {
      put(kHttpUserAgent, p, n);
      copy_str(meta.http_user_agent, p, n);
    }
    if (hdr("cookie", &p, &n)) put(kHttpCookie, p, n);
    meta.http_refer[0] = 0;
    if (hdr("referer", &p, &n)) {
      put(kHttpReferer, p, n);
      copy_str(meta.http_refer, p, n);
    }
    // libhtp: a request Transfer-Encoding other than "chunked" (any case) is
    // "Invalid T-E value in request" (app-layer-event http.invalid_transfer_encoding_value_in_request).
    if (hdr("transfer-encoding", &p, &n) && !ieq(p, n, "chunked")) bs.events |= kEvHttpInvalidTeRequest;
    if (hdr("accept", &p, &n)) put(kHttpAccept, p, n);
    if (hdr("accept-encoding", &p, &n)) put(kHttpAcceptEnc, p, n);
    if (hdr("accept-language", &p, &n)) put(kHttpAcceptLang, p, n);
    if (hdr("connection", &p, &n)) put(kHttpConnection, p, n);
    const uint8_t* bp;
    uint32_t bn;
    mp = body_n && full && !put_req && hdr("content-type", &p, &n) && multipart_boundary(p, n, &bp, &bn);
    if (mp) mpk = multipart_files(st + body_off, body_n, bp, bn, mpf, kMaxMpFiles);
    if (body_n) {
      put(kHttpRequestBody, st + body_off, body_n);
      // Suricata's file.data: uploads too; of a multipart body its files only.
      if (!mp) put(kFileData, st + body_off, body_n);
    }
    copy_str(meta.http_url, st + v.b.off, v.b.len);
    copy_str(meta.http_method, st + v.a.off, v.a.len);
    copy_str(meta.http_protocol, st + v.c.off, v.c.len);
    meta.http_status = 0;
    meta.http_length = 0;
    meta.http_content_type[0] = 0;
  } else {
    if (v.b.len) put(kHttpStatCode, st + v.b.off, v.b.len);
    if (v.c.len) put(kHttpStatMsg, st + v.c.off, v.c.len);
    if (v.line.len) put(kHttpResponseLine, st + v.line.off, v.line.len);
    if (hdr("server", &p, &n)) put(kHttpServer, p, n);
    if (hdr("location", &p, &n)) put(kHttpLocation, p, n);
    if (body_n) {
      put(kHttpResponseBody, st + body_off, body_n);
      put(kFileData, st + body_off, body_n);
    }
    uint32_t code = 0;
    for (uint32_t i = 0; v.b.len == 3 && i < 3; i++) {
      uint8_t ch = st[v.b.off + i];
      if (ch < '0' || ch > '9') {
        code = 0;  // not a status code: none
        break;
      }
      code = code * 10 + (ch - '0');
    }
    meta.http_status = uint16_t(code);
    meta.http_length = h.body_total;
    if (!meta.http_protocol[0]) copy_str(meta.http_protocol, st + v.a.off, v.a.len);
  }
  // Files, as Suricata's: every response body and PUT bodies; named by
  // Content-Disposition (responses) or the request's URI path; the file
  // parts of multipart/form-data requests (app_multipart.cc).
  s->http_txs[d]++;
  h.file = body_n && full && (!req || put_req);
  const bool whole = end != 0 && h.body_total <= body_n;
  if (mpk) {
    meta.file_has_tx_id = true;
    meta.file_tx_id = s->http_txs[d] - 1;
    multipart_bufs(c, s, bs, mpf, mpk, whole);
  }
  if (h.file) {
    const uint8_t* fname = nullptr;
    uint32_t fn = 0;
    if (req || !hdr("content-disposition", &p, &n) || !disposition_filename(p, n, &fname, &fn)) {
      if (req) uri_path(st + v.b.off, v.b.len, &fname, &fn);
      else uri_path(reinterpret_cast<const uint8_t*>(meta.http_url), uint32_t(strlen(meta.http_url)), &fname, &fn);
    }
    copy_field(meta.file_name, sizeof meta.file_name, fname, fn);
    meta.file_has_tx_id = true;
    meta.file_tx_id = s->http_txs[d] - 1;
    file_bufs(c, s, bs, fname, fn, h.dec_n ? h.dec_out : h.body_total, st + body_off, body_n);
    if (end) {
      file_meta(c, s, h, body_n, st + body_off, end == 2, &bs);
      h.file = 0;
    }
  }
  sink.on_tx(req, bs, meta);
  meta.file_tx = false;
  if (mpk > 1) multipart_records(c, s, sink, req, mpf, mpk, whole);
}

// A file inspected before its end has ended: its log record alone.
// Its buffers are the digests alone (filemd5 & co inspected then).
void file_end(AppCtx& c, AppState* s, int d, AppSink& sink, bool cut) {
  HttpDir& h = s->dir[d].u.http;
  if (!h.file) return fhash_drop(c, h.fh);
  h.file = 0;
  c.impl->scratch_used = 0;
  BufferSet b;
  file_meta(c, s, h, 0, nullptr, cut, &b);
  sink.on_tx(h.is_req, b, s->meta);
  s->meta.file_tx = false;
}

void reset_msg(HttpDir& h) {
  uint8_t is_req = h.is_req;
  memset(&h, 0, sizeof(h));
  h.is_req = is_req;
  h.st = kHHead;
  h.first_line = 1;
}

// The message is complete: hand it over (unless done already) and get ready
// for the next one on the connection.
void complete(AppCtx& c, AppState* s, int d, AppSink& sink, bool cut = false) {
  HttpDir& h = s->dir[d].u.http;
  if (!h.emitted) emit(c, s, d, sink, cut ? 2 : 1);
  else if (!h.is_req) s->meta.http_length = h.body_total;
  if (h.emitted) file_end(c, s, d, sink, cut);
  decomp_release(c, h);
  fhash_drop(c, h.fh);  // not a file (no body)
  release(c, s, d);
  uint8_t st = h.st;
  reset_msg(h);
  if (st == kHTunnel) h.st = kHTunnel;
}

void body_data(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  HttpDir& h = s->dir[d].u.http;
  uint32_t cap = 0;
  uint8_t* st = h.emitted ? nullptr : storage(c, s, d, &cap);
  if (!st || s->dir[d].fb) {
    h.body_total += n;  // bytes on the wire (dechunked; compressed when encoded)
    if (h.fh && h.dec_n) decomp_feed(c, h, p, n, nullptr, 0);  // the rest of a file: digests only
    else fhash_update(c, h.fh, p, n);
    return;
  }
  uint32_t lim = std::min<uint32_t>(body_limit(c, h.is_req), cap - h.head_len);
  uint8_t* dst = st + h.head_len + h.body_stored;
  uint32_t k = n;  // wire bytes counted before a limit hand-over
  if (h.dec_n) {
    h.body_stored += decomp_feed(c, h, p, n, dst, lim - h.body_stored);  // digests of the output
  } else {
    fhash_update(c, h.fh, p, n);
    k = std::min(n, lim - h.body_stored);
    memcpy(dst, p, k);
    h.body_stored += k;
  }
  h.body_total += k;
  if (h.body_stored >= lim) {
    // Limit reached: inspect now (the meta length so far is the limit), only
    // count the rest of the body. A decoder cut by the decompression limit
    // waits for the end of the body instead.
    emit(c, s, d, sink, 0);
    if (!h.file) fhash_drop(c, h.fh);
    if (!h.fh) decomp_release(c, h);  // else the decoders go on for the digests
    release(c, s, d);
  }
  h.body_total += n - k;
}

void set_tunnel(AppCtx& c, AppState* s) {
  for (int d = 0; d < 2; d++) {
    HttpDir& h = s->dir[d].u.http;
    if (s->dir[d].det != kActive) continue;
    decomp_release(c, h);
    fhash_drop(c, h.fh);
    release(c, s, d);  // a request cut short by the switch is dropped
    h.st = kHTunnel;
  }
}

// Content-Encoding headers of a response with a body -> body decoders.
void start_decoding(AppCtx& c, HttpDir& h, const uint8_t* st, const HeadView& v) {
  uint8_t buf[4][128];
  const uint8_t* vals[4];
  uint32_t lens[4], n = 0;
  for (uint32_t i = 0; i < v.nh && n < 4; i++) {
    const HdrEnt& e = v.h[i];
    if (!ieq(st + e.name.off, e.name.len, "content-encoding") || e.vend - e.vstart > sizeof(buf[0])) continue;
    lens[n] = header_value(st, e, buf[n]);
    vals[n] = buf[n];
    n++;
  }
  if (n) decomp_start(c, h, vals, lens, n);
}

// The head of the message in direction d has ended.
void head_done(AppCtx& c, AppState* s, int d, AppSink& sink) {
  HttpDir& h = s->dir[d].u.http;
  uint32_t cap = 0;
  const uint8_t* st = storage(c, s, d, &cap);
  HeadView v;  // ~1 KiB of stack
  if (h.head_seen > h.head_len) c.ctr.truncated++;
  Framing fr;
  if (st) {
    parse_head(st, h.head_len, h.is_req, v);
    framing(st, v, fr);
  } else {
    v.nh = 0;
    v.a = v.b = v.c = Range{};
  }
  if (h.is_req) {
    bool ok = st && v.a.len && v.b.len;
    if (!ok && st) {
      c.ctr.parse_errors++;
      release(c, s, d);
      h.st = kHDead;
      return;
    }
    bool is_head = st && ieq(st + v.a.off, v.a.len, "head");
    bool is_connect = st && ieq(st + v.a.off, v.a.len, "connect");
    push_pending(s, is_head, is_connect, st && !v.c.len);  // no version: HTTP/0.9
    if ((fr.chunked || fr.content_length > 0) && st && !s->dir[d].fb && ieq(st + v.a.off, v.a.len, "put"))
      file_hash_start(c, h);
    if (fr.chunked) {
      h.st = kHChunkSize;
    } else if (fr.content_length > 0) {
      h.st = kHBodyLen;
      h.remaining = uint64_t(fr.content_length);
    } else {
      complete(c, s, d, sink);
    }
    return;
  }
  // Response. A status code that is not 3 digits is an anomaly, not the end
  // of the connection (libhtp goes on with the headers' framing).
  uint32_t code = 0;
  bool ok = st && v.b.len == 3;
  for (uint32_t i = 0; ok && i < 3; i++) {
    uint8_t ch = st[v.b.off + i];
    ok = ch >= '0' && ch <= '9';
    code = code * 10 + (ch - '0');
  }
  if (!ok) {
    if (st && !s->dir[d].fb) c.ctr.parse_errors++;
    code = 0;
  }
  if (code >= 100 && code < 200 && code != 101) {  // interim: the final response follows
    release(c, s, d);
    reset_msg(h);
    return;
  }
  Pending pr = pop_pending(s);
  if (code == 101 || (pr.connect && code >= 200 && code < 300)) {
    h.st = kHTunnel;
    const int up = code == 101 && st ? find_header(st, v, "upgrade") : -1;
    uint8_t uv[8];
    const bool h2c = up >= 0 && v.h[up].vend - v.h[up].vstart <= 8 && header_value(st, v.h[up], uv) == 3 &&
                     ieq(uv, 3, "h2c");
    complete(c, s, d, sink);
    set_tunnel(c, s);
    if (h2c) h2_upgrade(c, s);  // the rest of both directions is HTTP/2 (app_http2.cc)
    return;
  }
  if (pr.head || code == 204 || code == 304) {
    complete(c, s, d, sink);
    return;
  } else if (fr.chunked) {
    h.st = kHChunkSize;
  } else if (fr.content_length >= 0) {
    if (fr.content_length == 0) {
      complete(c, s, d, sink);
      return;
    }
    h.st = kHBodyLen;
    h.remaining = uint64_t(fr.content_length);
  } else {
    h.st = kHUntilClose;
  }
  if (st && !s->dir[d].fb) {
    file_hash_start(c, h);
    start_decoding(c, h, st, v);
  }
}

// Line tracking over head or trailer bytes [p, p+k) where only p[k-1] may be LF.
// Returns true when the line just ended is empty.
bool track_line(HttpDir& h, const uint8_t* p, uint32_t k, bool ends) {
  uint32_t pre = ends ? k - 1 : k;
  if (pre) {
    h.first_cr = (h.line_len == 0 && pre == 1 && p[0] == '\r');
    h.line_len = std::min<uint32_t>(h.line_len + pre, 1u << 30);
  }
  if (!ends) return false;
  bool empty = h.line_len == 0 || (h.line_len == 1 && h.first_cr);
  h.line_len = 0;
  h.first_cr = 0;
  return empty;
}

// libhtp's test (Firefox's): optional whitespace, then "http" in any case.
// True while undecided (fewer than 4 bytes after the blanks, line not ended).
bool looks_like_status(const uint8_t* p, uint32_t n, bool line_ended) {
  uint32_t i = 0;
  while (i < n && (is_ws(p[i]) || p[i] == '\r')) i++;
  if (n - i < 4) return !line_ended;
  return ieq(p + i, 4, "http");
}

bool has_http_version(const uint8_t* p, uint32_t n) {
  for (uint32_t i = 0; i + 5 <= n; i++)
    if (memcmp(p + i, "HTTP/", 5) == 0) return true;
  return false;
}

// Head bytes of direction d: stores them, tracks lines, decides the end of
// the head. Returns the bytes consumed (up to and including one LF).
uint32_t head_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  HttpDir& h = s->dir[d].u.http;
  uint32_t skipped = 0;
  if (!h.started) {
    while (skipped < n && (p[skipped] == '\r' || p[skipped] == '\n')) skipped++;
    if (skipped == n) return n;
    p += skipped;
    n -= skipped;
    acquire(c, s, d);
    h.started = 1;
    if (!h.is_req && next_pending_v09(s)) {  // the reply to HTTP/0.9 has no head
      pop_pending(s);
      h.st = kHUntilClose;
      return skipped;
    }
  }
  const uint8_t* lf = static_cast<const uint8_t*>(memchr(p, '\n', n));
  uint32_t k = lf ? uint32_t(lf - p) + 1 : n;
  uint32_t cap = 0;
  uint8_t* st = storage(c, s, d, &cap);
  uint32_t hcap = std::min(cap, c.impl->cfg.header_limit);
  if (st && h.head_len < hcap) {
    uint32_t w = std::min(k, hcap - h.head_len);
    memcpy(st + h.head_len, p, w);
    h.head_len += w;
  }
  h.head_seen += k;
  bool empty = track_line(h, p, k, lf != nullptr);
  // A reply whose first line does not start with "http" (decided after its
  // first 4 non-blank bytes or its end): libhtp, like browsers, reads it as
  // the body.
  if (h.first_line && !h.is_req && st && !s->dir[d].fb && h.head_seen == h.head_len &&
      !looks_like_status(st, h.head_len, lf != nullptr)) {
    pop_pending(s);
    h.body_stored = std::min(h.head_len, body_limit(c, false));
    h.body_total = h.head_seen;
    h.head_len = 0;
    h.st = kHUntilClose;
    return skipped + k;
  }
  if (!lf) return skipped + k;
  bool first = h.first_line;
  h.first_line = 0;
  bool end = empty && !first;
  if (first && h.is_req && st && h.head_seen == h.head_len) {
    // HTTP/0.9 request: a request line without a version has no headers.
    if (!has_http_version(st, h.head_len)) end = true;
  }
  if (end) head_done(c, s, d, sink);
  return skipped + k;
}

// One byte of a chunk-size line, as libhtp: leading whitespace and blank
// lines skipped, anything after the hex digits ignored. False: no digits at
// all (or an absurd size), and the rest of the direction is the body.
bool chunk_size_byte(HttpDir& h, uint8_t ch) {
  int hv = hexv(ch);
  if (ch == '\n') {
    if (!h.chunk_digits) {
      h.chunk_ext = 0;
      return true;
    }
    if (h.chunk_acc == 0) {
      h.st = kHTrailer;
      h.line_len = 0;
      h.first_cr = 0;
    } else {
      h.st = kHChunkData;
      h.remaining = h.chunk_acc;
    }
    h.chunk_acc = 0;
    h.chunk_digits = 0;
    h.chunk_ext = 0;
  } else if (h.chunk_ext || ch == '\r') {
  } else if (hv >= 0) {
    if (h.chunk_acc >= (uint64_t(1) << 40)) return false;
    h.chunk_acc = h.chunk_acc * 16 + uint64_t(hv);
    h.chunk_digits = 1;
  } else if (h.chunk_digits) {
    h.chunk_ext = 1;
  } else if (!is_ws(ch)) {
    return false;
  }
  return true;
}

}  // namespace

void http_start(AppState* s, int d, bool is_req) {
  HttpDir& h = s->dir[d].u.http;
  h.is_req = is_req;
  reset_msg(h);
}

void http_gap(AppCtx& c, AppState* s, int d, AppSink& sink) {
  HttpDir& h = s->dir[d].u.http;
  c.ctr.truncated++;
  fhash_drop(c, h.fh);  // bytes lost: the file is not seen whole
  if (h.st == kHUntilClose || h.st == kHTunnel || h.st == kHDead) return;
  if (h.st != kHHead && !h.emitted) emit(c, s, d, sink, 2);  // head done: what we have
  else if (h.st != kHHead) file_end(c, s, d, sink, true);
  decomp_release(c, h);
  fhash_drop(c, h.fh);
  release(c, s, d);
  h.st = kHDead;  // no resynchronisation: the rest of the direction is ignored
}

void http_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  HttpDir& h = s->dir[d].u.http;
  while (n > 0) {
    switch (h.st) {
      case kHHead: {
        uint32_t k = head_feed(c, s, d, p, n, sink);
        p += k;
        n -= k;
        break;
      }
      case kHBodyLen: {
        uint32_t k = uint32_t(std::min<uint64_t>(n, h.remaining));
        body_data(c, s, d, p, k, sink);
        h.remaining -= k;
        p += k;
        n -= k;
        if (!h.remaining) complete(c, s, d, sink);
        break;
      }
      case kHUntilClose:
        body_data(c, s, d, p, n, sink);
        return;
      case kHChunkSize: {
        uint8_t ch = *p++;
        n--;
        if (!chunk_size_byte(h, ch)) {
          p--, n++;  // this byte is body
          goto raw;
        }
        break;
      }
      case kHChunkData: {
        uint32_t k = uint32_t(std::min<uint64_t>(n, h.remaining));
        body_data(c, s, d, p, k, sink);
        h.remaining -= k;
        p += k;
        n -= k;
        if (!h.remaining) h.st = kHChunkCrlf;
        break;
      }
      case kHChunkCrlf: {  // the rest of the line after the chunk data (libhtp reads a line)
        const uint8_t* lf = static_cast<const uint8_t*>(memchr(p, '\n', n));
        uint32_t k = lf ? uint32_t(lf - p) + 1 : n;
        p += k;
        n -= k;
        if (lf) h.st = kHChunkSize;
        break;
      }
      case kHTrailer: {
        const uint8_t* lf = static_cast<const uint8_t*>(memchr(p, '\n', n));
        uint32_t k = lf ? uint32_t(lf - p) + 1 : n;
        bool empty = track_line(h, p, k, lf != nullptr);
        p += k;
        n -= k;
        if (empty) complete(c, s, d, sink);
        break;
      }
      case kHTunnel:
        if (s->proto == AppProto::kHttp2) h2_feed(c, s, d, p, n, sink);  // h2c: frames after the 101
        return;
      case kHDead:
        return;
    }
  }
  return;
raw:
  c.ctr.parse_errors++;
  h.st = kHUntilClose;
  h.chunk_acc = h.chunk_digits = h.chunk_ext = 0;
  if (n) body_data(c, s, d, p, n, sink);
}

void http_finish(AppCtx& c, AppState* s, int d, AppSink& sink) {
  HttpDir& h = s->dir[d].u.http;
  switch (h.st) {
    case kHUntilClose:
      complete(c, s, d, sink);
      break;
    case kHBodyLen: case kHChunkSize: case kHChunkData: case kHChunkCrlf: case kHTrailer:
      c.ctr.truncated++;
      complete(c, s, d, sink, true);
      break;
    default:
      break;
  }
  decomp_release(c, h);
  fhash_drop(c, h.fh);
  release(c, s, d);
}

void http_head_external(AppCtx& c, AppState* s, int d, bool end, AppSink& sink) {
  HttpDir& h = s->dir[d].u.http;
  if (end) {
    complete(c, s, d, sink);
    return;
  }
  h.st = kHUntilClose;  // the body ends with the stream (http_finish)
  uint32_t cap = 0;
  const uint8_t* st = storage(c, s, d, &cap);
  if (st && !s->dir[d].fb) {
    HeadView v;  // ~1 KiB of stack
    parse_head(st, h.head_len, h.is_req, v);
    if (!h.is_req || ieq(st + v.a.off, v.a.len, "put")) file_hash_start(c, h);
    if (!h.is_req) start_decoding(c, h, st, v);
  }
}

}  // namespace app
}  // namespace spectre
