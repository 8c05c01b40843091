// SMB file transfers, as Suricata's SMB file tracking: the data of READ
// answers and WRITE requests (SMB2; SMB1 READ_ANDX / WRITE_ANDX) on a file a
// CREATE (NT_CREATE_ANDX) opened is a file, fed to
// the machinery HTTP bodies and ftp-data use (file.data with its first
// bytes, file.name / file.size / file.magic / file.md5.., the EVE fileinfo
// event with the flow's smb object, app_proto smb).
//
// The CREATE answer's FileId names the file (its request's name, paired by
// message id in app_smb.cc); a READ answer gets its FileId and offset from
// its request (paired by message id here). Offsets may come out of order:
// each chunk is placed at its offset in the kept part, and the bytes from
// offset 0 received without a hole (`next`) plus up to kSmbRanges ranges
// beyond it are tracked, as Suricata's file tracker buffers out-of-order
// chunks. The file ends at its CLOSE request, or at the flow's end; a hole
// left (or the flow ending first) logs it TRUNCATED. Digests of files of
// any size, streamed in file order (hash_in_order; a hole: none); file.data
// is inspected once, when the kept part is full or at the end.
//
// Only non-compound SMB2 messages (SMB1: the READ_ANDX / WRITE_ANDX first in
// its chain) carry file data here (the usual READ / WRITE);
// one file is collected per direction at a time (another's data meanwhile
// is counted smb_file_busy and not tracked). Data is streamed from the TCP
// bytes as they arrive: messages are not gathered past their headers.
//
// Memory: the flow's SmbCtx from the worker's pool (also the DCERPC call
// tables, app_dcerpc.cc), one pooled transaction buffer per direction while
// a file is collected. No allocation.
#include <algorithm>
#include <cstring>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

namespace {

uint16_t u16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t u32(const uint8_t* p) { return uint32_t(p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24); }
uint64_t u64(const uint8_t* p) { return u32(p) | uint64_t(u32(p + 4)) << 32; }

// The 16-byte FileId (persistent, volatile) as one key; Windows and Samba
// make the volatile part unique per open.
uint64_t fid_key(const uint8_t* f) { return u64(f) * 0x9e3779b97f4a7c15ull ^ u64(f + 8); }

SmbCtx* ctx_of(AppCtx& c, const AppState* s) { return s->smbf ? &c.impl->smbf[s->smbf - 1] : nullptr; }

uint32_t kept_cap(AppCtx& c, int d) {
  const AppConfig& k = c.impl->cfg;
  return std::min(c.impl->buf_size, d == 0 ? k.request_body_limit : k.response_body_limit);
}

uint8_t* area(AppCtx& c, const SmbXfer& x) {
  return x.buf == kNoBuf ? nullptr : c.impl->mem.get() + size_t(x.buf) * c.impl->buf_size;
}

// (file.size) as decimal digits in scratch.
void size_buf(AppCtx& c, BufferSet& b, uint64_t size) {
  uint8_t tmp[20], *o = c.impl->alloc(20);
  if (!o) return;
  uint32_t k = 0;
  do tmp[k++] = uint8_t('0' + size % 10); while ((size /= 10) && k < 20);
  for (uint32_t i = 0; i < k; i++) o[i] = tmp[k - 1 - i];
  b.set(rules::kFileSize, o, k);
}

// The file's buffers and record. `last`: its end (fileinfo logged, state
// from `cut`); else the kept part is full: file.data inspected now, and
// (file.size) at the end only, when the size is known (Suricata's filesize).
// The smb object logged with it is the file's READ / WRITE, as Suricata's.
void emit(AppCtx& c, AppState* s, int d, bool last, bool cut, AppSink& sink) {
  SmbXfer& x = ctx_of(c, s)->x[d];
  AppMeta& a = s->meta;
  const uint8_t* st = area(c, x);
  const uint32_t kept = st ? uint32_t(std::min<uint64_t>(x.next, kept_cap(c, d))) : 0;
  copy_field(a.file_name, sizeof a.file_name, reinterpret_cast<const uint8_t*>(x.name), uint32_t(strlen(x.name)));
  a.file_size = x.size;
  a.file_truncated = x.size > kept;
  a.file_incomplete = last && (cut || x.gap || x.nr || x.next < x.size);
  a.file_has_tx_id = false;
  a.file_tx = last;
  clear_file_hashes(a);
  BufferSet b;
  const bool streamed = x.fh != 0;
  if (last) fhash_final(c, x.fh, a, &b, !a.file_incomplete && x.hashed == x.size);
  if (st && !x.inspected) {
    b.set(rules::kFileData, st, kept);
    if (last && !streamed && !a.file_truncated && !a.file_incomplete) file_hashes(c, a, &b, st, kept);
    file_bufs(c, s, b, reinterpret_cast<const uint8_t*>(x.name), uint32_t(strlen(x.name)), x.size, st, kept);
    if (!last) b.mask.w[rules::kFileSize >> 6] &= ~(uint64_t(1) << (rules::kFileSize & 63));
    x.inspected = 1;
  } else if (last && st) {
    size_buf(c, b, x.size);
  }
  AppMeta::Smb& m = a.smb;
  const uint16_t cmd = m.command;
  const uint32_t status = m.status;
  char fname[sizeof m.filename];
  memcpy(fname, m.filename, sizeof fname);
  m.command = d == 1 ? 8 : 9, m.status = 0;
  copy_field(m.filename, sizeof m.filename, reinterpret_cast<const uint8_t*>(x.name), uint32_t(strlen(x.name)));
  a.file_part = !last;  // the early part: inspected, not logged (the READ's own tx was)
  if (last || !b.mask.empty()) sink.on_tx(d == 0, b, a);
  a.file_part = false;
  m.command = cmd, m.status = status;
  memcpy(m.filename, fname, sizeof fname);
  if (last) {
    c.ctr.smb_files++;
    if (a.file_incomplete) c.ctr.smb_file_truncated++;
  }
  a.file_tx = a.file_incomplete = false;
}

void end_xfer(AppCtx& c, AppState* s, int d, bool cut, AppSink& sink) {
  SmbXfer& x = ctx_of(c, s)->x[d];
  if (!x.active) return;
  emit(c, s, d, true, cut, sink);
  if (x.buf != kNoBuf) c.impl->free_list[c.impl->free_n++] = x.buf;
  x.buf = kNoBuf;
  x.active = 0;
  fhash_drop(c, x.fh);
}

// The digests take the file in order: bytes at `hashed` as they come, then
// what the kept part holds of the ranges a hole's filling joined. Data out
// of order that was not kept (past the kept part): no digests, as a file
// with a hole.
void hash_in_order(AppCtx& c, SmbXfer& x, uint64_t lo, const uint8_t* p, uint32_t n, uint32_t cap) {
  if (!x.fh) return;
  const uint64_t hi = lo + n;
  if (lo <= x.hashed && hi > x.hashed) {
    fhash_update(c, x.fh, p + (x.hashed - lo), size_t(hi - x.hashed));
    x.hashed = hi;
  } else if (lo > x.hashed && (hi > cap || !area(c, x))) {
    return fhash_drop(c, x.fh);
  }
  if (x.next > x.hashed) {
    const uint8_t* st = area(c, x);
    if (!st || x.next > cap) return fhash_drop(c, x.fh);
    fhash_update(c, x.fh, st + x.hashed, size_t(x.next - x.hashed));
    x.hashed = x.next;
  }
}

// Bytes [off, off + n) of the file: kept at their offset, coverage updated.
void feed(AppCtx& c, AppState* s, int d, uint64_t off, const uint8_t* p, uint32_t n, AppSink& sink) {
  SmbXfer& x = ctx_of(c, s)->x[d];
  if (!n) return;
  const uint64_t lo = off, hi = off + n;
  x.size = std::max(x.size, hi);
  const uint32_t cap = kept_cap(c, d);
  if (uint8_t* st = area(c, x); st && lo < cap) memcpy(st + lo, p, size_t(std::min<uint64_t>(hi, cap) - lo));
  if (lo <= x.next) {
    x.next = std::max(x.next, hi);
    for (bool more = true; more;) {  // ranges the hole's filling reaches
      more = false;
      for (uint32_t i = 0; i < x.nr; i++)
        if (x.lo[i] <= x.next) {
          x.next = std::max(x.next, x.hi[i]);
          x.lo[i] = x.lo[x.nr - 1], x.hi[i] = x.hi[--x.nr];
          more = true;
          break;
        }
    }
  } else {
    uint64_t a = lo, b = hi;
    for (uint32_t i = 0; i < x.nr;)  // merge the ranges it touches
      if (x.lo[i] <= b && a <= x.hi[i]) {
        a = std::min(a, x.lo[i]), b = std::max(b, x.hi[i]);
        x.lo[i] = x.lo[x.nr - 1], x.hi[i] = x.hi[--x.nr];
      } else {
        i++;
      }
    if (x.nr < kSmbRanges) x.lo[x.nr] = a, x.hi[x.nr++] = b;
    else x.gap = 1;  // too many holes: this range is not tracked
  }
  hash_in_order(c, x, lo, p, n, cap);
  if (!x.inspected && x.buf != kNoBuf && x.next >= cap) emit(c, s, d, false, false, sink);
}

int find_open(const SmbCtx& f, uint64_t fid) {
  for (uint32_t i = 0; i < f.open_n; i++)
    if (f.open[i].fid == fid) return int(i);
  return -1;
}

// The READ request paired with an answer (by message id / pid + mid), taken out.
bool take_read(SmbCtx& f, uint32_t key, uint64_t* fid, uint64_t* off) {
  for (uint32_t i = 0; i < f.rd_n; i++) {
    if (f.rd[i].key != key) continue;
    *fid = f.rd[i].fid, *off = f.rd[i].off;
    memmove(&f.rd[i], &f.rd[i + 1], (f.rd_n - i - 1) * sizeof f.rd[0]);
    f.rd_n--;
    return true;
  }
  return false;
}

// A file data window: the file, its offset, the data's place in the message.
struct Window { uint64_t fid = 0, off = 0; uint32_t doff = 0, len = 0; };

// SMB2 (not a compound): a WRITE request or a READ answer (not the interim).
bool window_smb2(SmbCtx& f, int d, const uint8_t* H, Window& w) {
  if (u32(H + 20)) return false;
  const uint16_t cmd = u16(H + 12);
  const bool resp = u32(H + 16) & 1;
  if (d == 0 && cmd == 9 && !resp) {  // DataOffset, Length, Offset, FileId
    w.doff = u16(H + 66), w.len = u32(H + 68), w.off = u64(H + 72), w.fid = fid_key(H + 80);
    return true;
  }
  if (d != 1 || cmd != 8 || !resp || u32(H + 8) == 0x103) return false;
  if (!take_read(f, u32(H + 24), &w.fid, &w.off) || u32(H + 8) != 0) return false;  // an error: no data
  w.doff = H[66], w.len = u32(H + 68);
  return true;
}

// SMB1: WRITE_ANDX (14 words) / READ_ANDX answer (12) first in its chain;
// offsets from the SMB header as in SMB2.
bool window_smb1(SmbCtx& f, int d, const uint8_t* H, Window& w) {
  const uint8_t cmd = H[4], wc = H[32];
  const bool resp = H[9] & 0x80;
  const uint8_t* W = H + 33;
  if (d == 0 && cmd == 0x2f && !resp && wc == 14) {
    uint8_t k[16];
    smb1_fid16(W + 4, k);
    w.fid = fid_key(k), w.off = u32(W + 6) | uint64_t(u32(W + 24)) << 32;
    w.len = u16(W + 20) | uint32_t(u16(W + 18)) << 16, w.doff = u16(W + 22);
    return true;
  }
  if (d != 1 || cmd != 0x2e || !resp || wc != 12) return false;
  const uint32_t key = uint32_t(u16(H + 26)) << 16 | u16(H + 30);
  if (!take_read(f, key, &w.fid, &w.off) || u32(H + 5) != 0) return false;
  w.len = u16(W + 10) | uint32_t(u16(W + 14)) << 16, w.doff = u16(W + 12);
  return true;
}

// The current message (its first bytes in st) is a READ answer or a WRITE
// request on an open file: its data window, the transfer started.
void decide(AppCtx& c, AppState* s, int d, const uint8_t* st, uint32_t msg_len) {
  SmbCtx& f = *ctx_of(c, s);
  SmbXfer& x = f.x[d];
  x.w_state = 2;
  Window w;
  const bool smb2 = !memcmp(st, "\xfeSMB", 4);
  if (!(smb2 ? window_smb2(f, d, st, w) : !memcmp(st, "\xffSMB", 4) && window_smb1(f, d, st, w))) return;
  const uint64_t fid = w.fid, off = w.off;
  uint32_t doff = w.doff, len = w.len;
  const int o = find_open(f, fid);
  if (o < 0 || doff < (smb2 ? 64u : 32u) || doff > msg_len) return;
  if (x.active && x.fid != fid) return void(c.ctr.smb_file_busy++);
  if (!x.active) {
    x.active = 1;
    x.fid = fid;
    x.next = x.size = 0;
    x.nr = x.gap = x.inspected = 0;
    x.hashed = 0;
    fhash_drop(c, x.fh);
    x.fh = fhash_take(c);
    memcpy(x.name, f.open[o].name, sizeof x.name);
    AppCtx::Impl& m = *c.impl;
    if (m.free_n) x.buf = m.free_list[--m.free_n];
    else x.buf = kNoBuf, c.ctr.tx_pool_empty++;
  }
  len = std::min(len, msg_len - doff);
  x.w_lo = doff, x.w_hi = doff + len;
  x.w_off = off;
  x.size = std::max(x.size, off + len);  // announced: bytes lost later leave a hole
  x.w_state = 1;
}

}  // namespace

void smb_files_init(AppCtx::Impl& m) {
  m.smbf_n = std::min<uint32_t>(m.cfg.smb_flows, 65535);
  m.smbf.reset(new SmbCtx[m.smbf_n + 1]);  // default-initialised: untouched until used
  m.smbf_free.reset(new uint16_t[m.smbf_n + 1]);
  for (uint32_t i = 0; i < m.smbf_n; i++) m.smbf_free[i] = uint16_t(m.smbf_n - 1 - i);
  m.smbf_free_n = m.smbf_n;
}

void smb1_fid16(const uint8_t* fid, uint8_t out[16]) {
  memset(out, 0, 16);
  memcpy(out, "SMB1", 4);  // never an SMB2 FileId's persistent half in practice
  out[4] = fid[0], out[5] = fid[1];
}

SmbCtx* smb_ctx(AppCtx& c, AppState* s, bool take) {
  AppCtx::Impl& m = *c.impl;
  if (!s->smbf && take) {
    if (!m.smbf_free_n) {
      c.ctr.smb_no_ctx++;
      return nullptr;
    }
    s->smbf = uint16_t(m.smbf_free[--m.smbf_free_n] + 1);
    SmbCtx& f = m.smbf[s->smbf - 1];
    f.open_n = f.rd_n = f.dpend_n = 0;
    for (SmbXfer& x : f.x) x.active = x.w_state = 0, x.buf = kNoBuf, x.fh = 0;
    for (int d = 0; d < 2; d++) f.park_n[d] = f.cur_open[d] = 0;
  }
  return ctx_of(c, s);
}

void smb_file_open(AppCtx& c, AppState* s, const uint8_t* fid, const char* name) {
  if (!smb_ctx(c, s, true)) return;
  SmbCtx& f = *ctx_of(c, s);
  const uint64_t k = fid_key(fid);
  int at = find_open(f, k);
  if (at < 0) {
    if (f.open_n == kSmbOpens) {
      memmove(&f.open[0], &f.open[1], (kSmbOpens - 1) * sizeof f.open[0]);
      f.open_n--;
      c.ctr.smb_file_table_full++;
    }
    at = f.open_n++;
  }
  f.open[at].fid = k;
  copy_field(f.open[at].name, sizeof f.open[at].name, reinterpret_cast<const uint8_t*>(name),
             uint32_t(strlen(name)));
}

void smb_file_read_req(AppCtx& c, AppState* s, uint32_t key, const uint8_t* fid, uint64_t off) {
  SmbCtx* f = ctx_of(c, s);
  const uint64_t k = fid_key(fid);
  if (!f || find_open(*f, k) < 0) return;
  if (f->rd_n == kSmbReads) {
    memmove(&f->rd[0], &f->rd[1], (kSmbReads - 1) * sizeof f->rd[0]);
    f->rd_n--;
    c.ctr.smb_file_reads_full++;
  }
  f->rd[f->rd_n++] = SmbCtx::Read{k, off, key};
}

void smb_file_close(AppCtx& c, AppState* s, const uint8_t* fid, AppSink& sink) {
  SmbCtx* f = ctx_of(c, s);
  if (!f) return;
  const uint64_t k = fid_key(fid);
  for (int d = 0; d < 2; d++)
    if (f->x[d].active && f->x[d].fid == k) end_xfer(c, s, d, false, sink);
  if (int at = find_open(*f, k); at >= 0) {
    memmove(&f->open[at], &f->open[at + 1], (f->open_n - at - 1) * sizeof f->open[0]);
    f->open_n--;
  }
}

void smb_file_bytes(AppCtx& c, AppState* s, int d, const uint8_t* st, uint32_t msg_len, uint32_t got,
                    const uint8_t* p, uint32_t k, AppSink& sink) {
  SmbXfer& x = ctx_of(c, s)->x[d];
  const uint32_t end = got + k;
  if (x.w_state == 0) {
    if (end < 4) return;
    // header + the WRITE request's / READ answer's words: SMB2 64 + 48 / 16, SMB1 33 + 28 / 24
    const uint32_t need = st[0] == 0xfe ? (d == 0 ? 112 : 80) : (d == 0 ? 61 : 57);
    if (end < need) return;  // the bytes so far are all stored (the kept half is >= 128)
    decide(c, s, d, st, msg_len);
    if (x.w_state != 1) return;
    if (x.w_lo < got) {  // window bytes already stored
      const uint32_t e = std::min(x.w_hi, got);
      feed(c, s, d, x.w_off, st + x.w_lo, e - x.w_lo, sink);
    }
  }
  if (x.w_state != 1) return;
  const uint32_t a = std::max(x.w_lo, got), b = std::min(x.w_hi, end);
  if (a < b) feed(c, s, d, x.w_off + (a - x.w_lo), p + (a - got), b - a, sink);
}

bool smb_file_window(AppCtx& c, const AppState* s, int d) {
  return s->smbf && ctx_of(c, s)->x[d].w_state == 1;
}

void smb_file_msg_end(AppCtx& c, AppState* s, int d) {
  if (s->smbf) ctx_of(c, s)->x[d].w_state = 0;
}

void smb_file_finish(AppCtx& c, AppState* s, AppSink& sink) {
  if (!s->smbf) return;
  for (int d = 0; d < 2; d++) end_xfer(c, s, d, true, sink);
  AppCtx::Impl& m = *c.impl;
  SmbCtx& f = *ctx_of(c, s);
  for (int d = 0; d < 2; d++)  // DCERPC calls set aside, never completed
    for (uint32_t i = 0; i < f.park_n[d]; i++) m.free_list[m.free_n++] = f.park[d][i].buf;
  m.smbf_free[m.smbf_free_n++] = uint16_t(s->smbf - 1);
  s->smbf = 0;
}

}  // namespace app
}  // namespace spectre
