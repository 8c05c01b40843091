// HTTP request bodies in multipart/form-data (uploads), as Suricata hands
// them to file detection through libhtp: the boundary comes from the request's
// Content-Type ("multipart/form-data" with a boundary= parameter, any case);
// each part whose Content-Disposition has a filename= is a file whose content
// is the part's data (up to the CRLF before the next delimiter). A file not
// followed by a delimiter (missing final boundary) is TRUNCATED.
//
// Works on the stored body (dechunked, contiguous), so segment and chunk
// splits do not matter. Cost: one memmem per part over the kept body, once per
// request; nothing allocated but the part list in the tx scratch.
#include <algorithm>
#include <cstring>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

namespace {

const uint8_t* find(const uint8_t* p, const uint8_t* e, const uint8_t* w, uint32_t wn) {
  if (p >= e) return nullptr;
  return static_cast<const uint8_t*>(memmem(p, size_t(e - p), w, wn));
}

// The end of the line starting at p (after its LF), or e.
const uint8_t* line_end(const uint8_t* p, const uint8_t* e) {
  const uint8_t* lf = p < e ? static_cast<const uint8_t*>(memchr(p, '\n', size_t(e - p))) : nullptr;
  return lf ? lf + 1 : e;
}

// A delimiter line "--boundary" at p: true; *last when it is "--boundary--".
bool delimiter(const uint8_t* p, const uint8_t* e, const uint8_t* b, uint32_t bn, bool* last) {
  if (uint32_t(e - p) < bn + 2 || p[0] != '-' || p[1] != '-' || memcmp(p + 2, b, bn) != 0) return false;
  const uint8_t* q = p + 2 + bn;
  *last = e - q >= 2 && q[0] == '-' && q[1] == '-';
  return true;
}

// The part's headers from p; its filename (when any) and where its data starts (e when they do not end).
const uint8_t* part_headers(const uint8_t* p, const uint8_t* e, MpFile& f, bool* is_file) {
  *is_file = false;
  while (p < e) {
    const uint8_t* le = line_end(p, e);
    uint32_t n = uint32_t(le - p);
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r')) n--;
    if (le == e && (le[-1] != '\n')) return e;  // headers cut short
    if (!n) return le;                           // the empty line: data follows
    if (ieq_prefix(p, n, "content-disposition:") &&
        header_param(p + 20, n - 20, "filename", &f.name, &f.name_n, false))
      *is_file = true;
    p = le;
  }
  return e;
}

}  // namespace

bool multipart_boundary(const uint8_t* ct, uint32_t n, const uint8_t** b, uint32_t* bn) {
  uint32_t i = 0;
  while (i < n && (ct[i] == ' ' || ct[i] == '\t')) i++;
  if (!ieq_prefix(ct + i, n - i, "multipart/form-data")) return false;
  // RFC 2046: <= 70; libhtp is laxer
  return header_param(ct + i, n - i, "boundary", b, bn, false) && *bn > 0 && *bn <= 200;
}

uint32_t multipart_files(const uint8_t* body, uint32_t n, const uint8_t* b, uint32_t bn, MpFile* out,
                         uint32_t max) {
  const uint8_t* e = body + n;
  // The delimiter: "--boundary" at the start of the body or of a line.
  uint8_t dl[2 + 2 + 200];
  dl[0] = '\n', dl[1] = '-', dl[2] = '-';
  memcpy(dl + 3, b, bn);
  const uint32_t dn = 3 + bn;
  const uint8_t* p = body;
  bool last = false;
  if (!delimiter(p, e, b, bn, &last)) {
    p = find(body, e, dl, dn);  // after a preamble
    if (!p) return 0;
    p++;
  }
  uint32_t k = 0;
  while (!last && k < max) {
    const uint8_t* hs = line_end(p, e);  // skip the delimiter line (transport padding)
    MpFile f{};
    bool is_file;
    const uint8_t* ds = part_headers(hs, e, f, &is_file);
    bool at_ds;  // a delimiter right after the headers: empty data (lenient)
    const uint8_t* nx = ds < e && delimiter(ds, e, b, bn, &at_ds) ? ds - 1 : find(ds, e, dl, dn);  // its LF
    const uint8_t* de = nx ? nx : e;
    if (nx && de > ds && de[-1] == '\r') de--;  // the CRLF before a delimiter belongs to it
    if (nx && de < ds) de = ds;
    if (is_file) {
      f.data = ds;
      f.n = uint32_t(de - ds);
      f.closed = nx != nullptr;
      out[k++] = f;
    }
    if (!nx) break;
    p = nx + 1;
    delimiter(p, e, b, bn, &last);
  }
  return k;
}

namespace {

// One file's record fields into a: closed files are CLOSED with digests; a
// file the body ended in (no delimiter after it) is TRUNCATED; one cut by the
// body limit (`whole` false) keeps the size seen, without digests.
void file_fields(AppCtx& c, AppMeta& a, const MpFile& f, bool whole, BufferSet* b) {
  a.file_tx = true;
  copy_field(a.file_name, sizeof a.file_name, f.name, f.name_n);
  a.file_size = f.n;
  a.file_truncated = !f.closed && !whole;
  a.file_incomplete = !f.closed && whole;
  clear_file_hashes(a);
  if (f.closed) file_hashes(c, a, b, f.data, f.n);
}

}  // namespace

void multipart_bufs(AppCtx& c, AppState* s, BufferSet& bs, const MpFile* f, uint32_t k, bool whole) {
  if (!k) return;
  auto* parts = bs.multi ? nullptr : reinterpret_cast<BufferSet::Part*>(c.impl->alloc(k * sizeof(BufferSet::Part)));
  if (parts && k > 1) {
    for (uint32_t i = 0; i < k; i++) parts[i] = {f[i].data, f[i].n};
    bs.set_multi(rules::kFileData, parts, k);  // a rule matches when one file satisfies it
  } else {
    bs.set(rules::kFileData, f[0].data, f[0].n);
  }
  file_bufs(c, s, bs, f[0].name, f[0].name_n, f[0].n, f[0].data, f[0].n);
  file_fields(c, s->meta, f[0], whole, &bs);
}

void multipart_records(AppCtx& c, AppState* s, AppSink& sink, bool req, const MpFile* f, uint32_t k,
                       bool whole) {
  for (uint32_t i = 1; i < k; i++) {
    BufferSet tmp, none;  // tmp: file_bufs' buffers (magic), not inspected again
    file_bufs(c, s, tmp, f[i].name, f[i].name_n, f[i].n, f[i].data, f[i].n);
    file_fields(c, s->meta, f[i], whole, nullptr);
    sink.on_tx(req, none, s->meta);
  }
  s->meta.file_tx = false;
}

}  // namespace app
}  // namespace spectre
