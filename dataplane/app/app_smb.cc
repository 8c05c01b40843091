// SMB1 / SMB2 / SMB3 over TCP (445, and 139 with its NetBIOS session
// request), Suricata's `smb` app layer: each SMB2 command (compounds split)
// or SMB1 message (its AndX chain) is one tx in its direction. Read:
// negotiate (dialect), session setup (NTLMSSP AUTHENTICATE: user, domain,
// host), tree connect (share path; the answer's share type: a pipe share
// names smb.named_pipe, others smb.share), create (file name), and the data
// of writes / reads / pipe ioctls / SMB1 transactions, handed to the DCERPC
// parser (app_dcerpc.cc) when the tree is a pipe or the data starts a PDU.
// Encrypted SMB3 messages (transform header) are counted and skipped.
// Answers pair with their request by message id (SMB1: pid + mid) through
// a 4-entry table in AppMeta::Smb (pair_request / pair_answer): the names a
// create / tree connect / session setup answer logs are its own request's.
// An async STATUS_PENDING interim answer makes no tx, as in Suricata.
// File transfers (READ / WRITE data on a created file) go to app_smb_file.cc
// as the bytes arrive (smb_file_bytes), not through the gathered message.
//
// Memory: a message is gathered in the first half of the direction's
// pooled buffer (a larger one: its first part, enough for every header read
// here; the rest is skipped); the buffer is returned after the message
// unless a DCERPC call is partly held in the second half.
//
// Errors: a field past its message is malformed (counted); the tx goes out
// with the fields before it. A NetBIOS length over 16 MiB stops the direction.
#include <algorithm>
#include <cstring>

#include "dataplane/app/app_internal.h"

namespace spectre {
namespace app {

namespace {

constexpr uint32_t kMaxNbss = 1u << 24;  // NetBIOS lengths are 17 bits (24 with the extension)
constexpr uint32_t kMaxChain = 8;        // SMB1 AndX / SMB2 compound commands read per message

uint16_t u16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t u32(const uint8_t* p) { return uint32_t(p[0] | p[1] << 8 | p[2] << 16 | uint32_t(p[3]) << 24); }
uint64_t u64(const uint8_t* p) { return u32(p) | uint64_t(u32(p + 4)) << 32; }

// One message being read: bounds-checked views, the tx's buffers.
struct Msg {
  AppCtx& c;
  AppState* s;
  int d;
  const uint8_t* p;
  uint32_t n;
  BufferSet bs;
  bool bad = false;
  AppSink* sink = nullptr;
  // Pairing (see pair_request / pair_answer): the tx's key and kind; an
  // answer's name field holding its request's name until end_tx restores it.
  uint32_t key = 0;
  uint8_t kind = 0;
  char* field = nullptr;
  char saved[64];
  // [off, off + len) inside the message, else malformed.
  bool in(uint32_t off, uint32_t len) {
    if (off <= n && len <= n - off) return true;
    bad = true;
    return false;
  }
  AppMeta::Smb& m() { return s->meta.smb; }
};

// A UTF-16LE (or, `ascii`, 8-bit) string into scratch as UTF-8: buffer b
// (when not kPayload) and the meta field dst.
const uint8_t* text(Msg& g, const uint8_t* p, uint32_t n, bool ascii, uint32_t* out_n) {
  if (ascii) {
    *out_n = n;
    return p;
  }
  uint8_t* o = g.c.impl->alloc(n / 2 * 3 + 4);
  if (!o) return *out_n = 0, nullptr;
  *out_n = utf16_to_utf8(p, n, o);
  while (*out_n && o[*out_n - 1] == 0) --*out_n;  // the terminating NUL
  return o;
}

bool pipe_share(const uint8_t* p, uint32_t n) {
  return n >= 4 && (p[n - 4] | 0x20) == 'i' && (p[n - 3] | 0x20) == 'p' && (p[n - 2] | 0x20) == 'c' && p[n - 1] == '$';
}

bool ipc_tree(const AppMeta::Smb& m, uint32_t tree) {
  for (uint32_t i = 0; i < m.ipc_n; i++)
    if (m.ipc_tree[i] == tree) return true;
  return false;
}

// The request's buffers (Suricata registers smb.named_pipe / smb.share to
// the server: one match per tree connect); the share type is known only from
// the answer, so an IPC$ path names the pipe share.
void share_bufs(Msg& g, bool pipe) {
  AppMeta::Smb& m = g.m();
  uint32_t n = uint32_t(strnlen(m.share, sizeof m.share));
  if (n && g.d == 0) g.bs.set(pipe ? rules::kSmbNamedPipe : rules::kSmbShare, reinterpret_cast<const uint8_t*>(m.share), n);
  m.tree_tx = 1;
}

void set_share(Msg& g, const uint8_t* p, uint32_t n, bool ascii) {
  uint32_t k = 0;
  const uint8_t* t = text(g, p, n, ascii, &k);
  if (t) copy_field(g.m().share, sizeof g.m().share, t, k);
}

// An NTLMSSP AUTHENTICATE message anywhere in a security blob (inside SPNEGO).
void ntlmssp(Msg& g, const uint8_t* b, uint32_t n) {
  static const uint8_t kSig[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
  const uint8_t* q = static_cast<const uint8_t*>(memmem(b, n, kSig, 8));
  if (!q) return;
  uint32_t k = uint32_t(b + n - q);
  if (k < 64 || u32(q + 8) != 3) return;
  bool uni = u32(q + 60) & 1;
  AppMeta::Smb& m = g.m();
  struct F { uint32_t at; rules::Buf b; char* dst; size_t cap; } fs[3] = {
      {28, rules::kSmbNtlmsspDomain, m.domain, sizeof m.domain},
      {36, rules::kSmbNtlmsspUser, m.user, sizeof m.user},
      {44, rules::kPayload, m.host, sizeof m.host}};
  for (const F& f : fs) {
    uint32_t len = u16(q + f.at), off = u32(q + f.at + 4);
    if (off > k || len > k - off) {
      g.bad = true;
      continue;
    }
    uint32_t tn = 0;
    const uint8_t* t = text(g, q + off, len, !uni, &tn);
    if (!t) continue;
    copy_field(f.dst, f.cap, t, tn);
    if (f.b != rules::kPayload) g.bs.set(f.b, t, tn);
  }
  m.ntlmssp = 1;
}

// Pipe data (DCERPC) of a write / read / ioctl / transaction.
void pipe_data(Msg& g, uint32_t tree, uint32_t off, uint32_t len, bool pipe = false) {
  if (!len || !g.in(off, len)) return;
  const uint8_t* p = g.p + off;
  DceDir& x = g.s->dir[g.d].u.smb.dce;
  bool ipc = pipe || ipc_tree(g.m(), tree);
  bool starts = len >= 3 && p[0] == 5 && p[1] <= 1 && p[2] <= 20;
  if (!ipc && !starts && !x.hdr_n && !x.stub_n) return;  // file data
  x.dead = 0;
  dce_feed(g.c, g.s, g.d, p, len, *g.sink);
}

}  // namespace

// SMB2: one command at h (64-byte header), its body after.
namespace {

struct Smb2 {
  Msg& g;
  uint32_t h;  // header offset in the message
  bool resp;
};

void smb2_command(Smb2& x, uint16_t cmd, uint32_t tree) {
  Msg& g = x.g;
  AppMeta::Smb& m = g.m();
  const uint32_t b = x.h + 64;  // body
  const uint8_t* H = g.p + x.h;
  switch (cmd) {
    case 0:  // NEGOTIATE (the client's own SMB2 negotiate ends the SMB1 start)
      if (x.resp && g.in(b, 6)) m.dialect = u16(g.p + b + 4);
      if (!x.resp) m.neg_smb1 = 0;
      break;
    case 1:  // SESSION_SETUP
      if (!x.resp && g.in(b, 16)) {
        uint32_t off = u16(g.p + b + 12), len = u16(g.p + b + 14);
        if (g.in(x.h + off, len)) ntlmssp(g, g.p + x.h + off, len);
      }
      break;
    case 3:  // TREE_CONNECT
      if (!x.resp && g.in(b, 8)) {
        uint32_t off = u16(g.p + b + 4), len = u16(g.p + b + 6);
        if (!g.in(x.h + off, len)) break;
        set_share(g, g.p + x.h + off, len, false);
        share_bufs(g, pipe_share(reinterpret_cast<const uint8_t*>(m.share), uint32_t(strlen(m.share))));
      } else if (x.resp && g.in(b, 4)) {
        m.share_type = g.p[b + 2] == 2 ? 2 : g.p[b + 2] == 3 ? 3 : 1;
        if (m.share_type == 2 && m.status == 0 && !ipc_tree(m, tree) && m.ipc_n < 4) m.ipc_tree[m.ipc_n++] = tree;
        share_bufs(g, m.share_type == 2);
      }
      break;
    case 5:  // CREATE
      if (!x.resp && g.in(b, 48)) {
        uint32_t off = u16(g.p + b + 44), len = u16(g.p + b + 46);
        uint32_t k = 0;
        const uint8_t* t = g.in(x.h + off, len) ? text(g, g.p + x.h + off, len, false, &k) : nullptr;
        if (t) copy_field(m.filename, sizeof m.filename, t, k);
      } else if (x.resp && m.status == 0 && g.in(b, 80) && !ipc_tree(m, tree)) {
        smb_file_open(g.c, g.s, g.p + b + 64, m.filename);  // its FileId (directories too, as Suricata)
      }
      break;
    case 6:  // CLOSE: the file's end
      if (!x.resp && g.in(b, 24)) smb_file_close(g.c, g.s, g.p + b + 8, *g.sink);
      break;
    case 8:  // READ: the answer's data (a file's: fed as it arrived, app_smb_file.cc)
      if (!x.resp && g.in(b, 32)) smb_file_read_req(g.c, g.s, g.key, g.p + b + 16, u64(g.p + b + 8));
      if (x.resp && m.status == 0 && g.in(b, 8) && !smb_file_window(g.c, g.s, g.d))
        pipe_data(g, tree, x.h + g.p[b + 2], u32(g.p + b + 4));
      break;
    case 9:  // WRITE
      if (!x.resp && g.in(b, 8) && !smb_file_window(g.c, g.s, g.d))
        pipe_data(g, tree, x.h + u16(g.p + b + 2), u32(g.p + b + 4));
      break;
    case 11:  // IOCTL: FSCTL_PIPE_TRANSCEIVE's input / output
      if (!x.resp && g.in(b, 32) && u32(g.p + b + 4) == 0x0011C017)
        pipe_data(g, tree, x.h + u32(g.p + b + 24), u32(g.p + b + 28), true);
      else if (x.resp && g.in(b, 40) && u32(g.p + b + 4) == 0x0011C017 && (m.status == 0 || m.status == 0x80000005))
        pipe_data(g, tree, x.h + u32(g.p + b + 32), u32(g.p + b + 36), true);
      break;
    default: break;
  }
  (void)H;
}

}  // namespace

namespace {

char* kind_field(AppMeta::Smb& m, uint8_t kind, size_t* cap) {
  *cap = kind == 1 ? sizeof m.filename : kind == 2 ? sizeof m.share : 0;
  return kind == 1 ? m.filename : kind == 2 ? m.share : nullptr;
}

// A request whose answer logs its names (g.kind): into the table, the
// latest of its kind; a full table drops its oldest entry.
void pair_request(Msg& g) {
  AppMeta::Smb& m = g.m();
  uint32_t n = m.pend_n;
  for (uint32_t i = 0; i < n; i++) {
    AppMeta::Smb::Pend& e = m.pend[i];
    if (e.key == g.key && e.kind == g.kind) {  // a repeated request: replaces it
      memmove(&m.pend[i], &m.pend[i + 1], (n - i - 1) * sizeof e);
      n--, i--;
    } else if (e.kind == g.kind) {
      e.flags &= uint8_t(~1);  // its name field is this request's now
    }
  }
  if (n == 4) {
    memmove(&m.pend[0], &m.pend[1], 3 * sizeof m.pend[0]);
    n = 3;
    g.c.ctr.smb_pair_full++;
  }
  AppMeta::Smb::Pend& e = m.pend[n];
  e.key = g.key;
  e.kind = g.kind;
  e.flags = uint8_t(1 | (g.kind == 3 && m.ntlmssp ? 2 : 0));
  size_t cap = 0;
  const char* f = kind_field(m, g.kind, &cap);
  size_t k = f ? strnlen(f, cap) : 0, keep = std::min(k, sizeof e.name - 1);
  if (keep) memcpy(e.name, f + k - keep, keep);  // the tail: the file's own name
  e.name[keep] = 0;
  m.pend_n = uint8_t(n + 1);
}

// An answer (of kind g.kind): its request's entry gives the names; its
// name field holds them until end_tx restores the latest request's.
void pair_answer(Msg& g) {
  AppMeta::Smb& m = g.m();
  int at = -1;
  for (uint32_t i = 0; i < m.pend_n; i++)
    if (m.pend[i].key == g.key && m.pend[i].kind == g.kind) at = int(i);
  size_t cap = 0;
  char* f = kind_field(m, g.kind, &cap);
  if (at < 0) {
    g.c.ctr.smb_unpaired++;
    if (f) memcpy(g.saved, f, cap), f[0] = 0, g.field = f;
    return;
  }
  const AppMeta::Smb::Pend e = m.pend[at];
  memmove(&m.pend[at], &m.pend[at + 1], (m.pend_n - at - 1) * sizeof e);
  m.pend_n--;
  if (e.kind == 3) m.ntlmssp = (e.flags & 3) == 3;  // the user fields are its request's
  if (f && !(e.flags & 1)) {
    memcpy(g.saved, f, cap);
    copy_field(f, cap, reinterpret_cast<const uint8_t*>(e.name), uint32_t(strlen(e.name)));
    g.field = f;
  }
}

// Starts a tx: the header's fields.
void begin_tx(Msg& g, uint8_t version, uint16_t cmd, uint32_t status, uint32_t tree, uint64_t sess) {
  AppMeta::Smb& m = g.m();
  m.version = version;
  m.command = cmd;
  m.status = status;
  m.tree_id = tree;
  m.session_id = sess;
  // filename / share / user..: the latest request's of its kind (flow
  // state); an answer gets its own request's by pair_answer.
  m.share_type = m.dce = m.tree_tx = m.ntlmssp = 0;
  g.bs = BufferSet();
  g.kind = version == 2 ? (cmd == 5 ? 1 : cmd == 3 ? 2 : cmd == 1 ? 3 : 0)
                        : (cmd == 0xa2 ? 1 : cmd == 0x75 ? 2 : cmd == 0x73 ? 3 : 0);
  g.field = nullptr;
  if (g.d == 0 && g.kind == 1) m.filename[0] = 0;
  if (g.d == 0 && g.kind == 2) m.share[0] = 0;
  if (g.d == 0 && g.kind == 3) m.user[0] = m.domain[0] = m.host[0] = 0;
  if (g.d == 1 && g.kind) pair_answer(g);
}

void end_tx(Msg& g, AppSink& sink) {
  AppMeta::Smb& m = g.m();
  uint8_t* v = g.c.impl->alloc(4);
  // smb.version: an SMB2 answer to an SMB1 negotiate belongs to that SMB1 tx.
  uint8_t ver = m.version == 2 && m.command == 0 && g.d == 1 && m.neg_smb1 ? 1 : m.version;
  if (v) v[0] = ver, v[1] = uint8_t(m.command >> 8), v[2] = uint8_t(m.command), v[3] = 0, g.bs.set(rules::kSmbHdr, v, 4);
  g.c.ctr.smb_messages++;
  if (g.bad) g.c.ctr.smb_malformed++;
  sink.on_tx(g.d == 0, g.bs, g.s->meta);
  if (g.d == 0 && g.kind) pair_request(g);
  static_assert(sizeof g.saved == sizeof AppMeta::Smb::filename && sizeof g.saved == sizeof AppMeta::Smb::share);
  if (g.field) memcpy(g.field, g.saved, sizeof g.saved), g.field = nullptr;
}

void smb2_message(Msg& g, AppSink& sink) {
  uint32_t at = 0;
  for (uint32_t i = 0; i < kMaxChain; i++) {
    if (!g.in(at, 64) || memcmp(g.p + at, "\xfeSMB", 4) != 0) {
      g.c.ctr.smb_malformed++;  // a short header or a bad compound offset: no tx
      break;
    }
    const uint8_t* H = g.p + at;
    uint32_t flags = u32(H + 16), next = u32(H + 20);
    uint16_t cmd = u16(H + 12);
    uint32_t tree = (flags & 2) ? 0 : u32(H + 36);  // async: no tree id
    g.key = u32(H + 24);  // the message id (async answers keep their request's)
    if ((flags & 1) && u32(H + 8) == 0x103) {
      // STATUS_PENDING: an interim answer, as in Suricata it completes no tx
      // (no tx, no EVE); the final answer pairs with the request.
      g.c.ctr.smb_messages++;
    } else {
      begin_tx(g, 2, cmd, u32(H + 8), tree, u64(H + 40));
      Smb2 x{g, at, (flags & 1) != 0};
      smb2_command(x, cmd, tree);
      end_tx(g, sink);
    }
    if (!next || next % 8 || next < 64 || next > g.n - at) break;
    at += next;
    g.bad = false;
  }
}

}  // namespace

// SMB1: the header (32 bytes), then a chain of (word count, words, byte count, bytes) blocks.
namespace {

void smb1_block(Msg& g, uint8_t cmd, uint32_t w, uint32_t wc, uint32_t bo, uint32_t bc, bool resp, bool uni,
                uint32_t tree) {
  AppMeta::Smb& m = g.m();
  const uint8_t* W = g.p + w;
  switch (cmd) {
    case 0x72:  // NEGOTIATE
      if (!resp) m.neg_smb1 = 1;
      else if (wc == 17) m.dialect = 1;  // NT LM 0.12
      break;
    case 0x73:  // SESSION_SETUP_ANDX, extended security: the blob opens the bytes
      if (!resp && wc == 12) {
        uint32_t len = u16(W + 14);
        if (g.in(bo, std::min(len, bc))) ntlmssp(g, g.p + bo, std::min(len, bc));
      }
      break;
    case 0x75:  // TREE_CONNECT_ANDX
      if (!resp && wc >= 4) {
        uint32_t at = bo + u16(W + 6);  // after the password
        if (uni && (at & 1)) at++;      // aligned to 2 from the header
        uint32_t end = bo + bc, k = at;
        if (at > end || !g.in(at, end - at)) break;
        if (uni) {
          while (k + 1 < end && (g.p[k] || g.p[k + 1])) k += 2;
        } else {
          while (k < end && g.p[k]) k++;
        }
        set_share(g, g.p + at, k - at, !uni);
        share_bufs(g, pipe_share(reinterpret_cast<const uint8_t*>(m.share), uint32_t(strlen(m.share))));
      } else if (resp && g.in(bo, std::min<uint32_t>(bc, 5)) && bc >= 3) {
        const uint8_t* sv = g.p + bo;  // service: "IPC", "A:", "LPT1:"
        m.share_type = !memcmp(sv, "IPC", 3) ? 2 : !memcmp(sv, "LPT", 3) ? 3 : 1;
        if (m.share_type == 2 && m.status == 0 && !ipc_tree(m, tree) && m.ipc_n < 4) m.ipc_tree[m.ipc_n++] = tree;
        share_bufs(g, m.share_type == 2);
      }
      break;
    case 0xa2:  // NT_CREATE_ANDX
      if (!resp && wc >= 24) {
        uint32_t len = u16(W + 5), at = bo;
        if (uni && (at & 1)) at++;
        uint32_t avail = at <= bo + bc ? bo + bc - at : 0, k = 0;
        const uint8_t* t = g.in(at, std::min(len, avail)) ? text(g, g.p + at, std::min(len, avail), !uni, &k) : nullptr;
        if (t) copy_field(m.filename, sizeof m.filename, t, k);
      } else if (resp && wc >= 34 && m.status == 0 && !ipc_tree(m, tree)) {
        uint8_t f[16];
        smb1_fid16(W + 5, f);
        smb_file_open(g.c, g.s, f, m.filename);  // its FID
      }
      break;
    case 0x04:  // CLOSE: the file's end
      if (!resp && wc >= 3) {
        uint8_t f[16];
        smb1_fid16(W, f);
        smb_file_close(g.c, g.s, f, *g.sink);
      }
      break;
    case 0x25:  // TRANSACTION (TransactNmPipe and other pipe calls)
      if (!resp && wc >= 14) pipe_data(g, tree, u16(W + 24), u16(W + 22));
      else if (resp && wc >= 10) pipe_data(g, tree, u16(W + 14), u16(W + 12));
      break;
    case 0x2f:  // WRITE_ANDX (a file's data: fed as it arrived, app_smb_file.cc)
      if (!resp && wc >= 12 && !smb_file_window(g.c, g.s, g.d)) pipe_data(g, tree, u16(W + 22), u16(W + 20));
      break;
    case 0x2e:  // READ_ANDX: the request names the file and offset for its answer
      if (!resp && wc >= 10) {
        uint8_t f[16];
        smb1_fid16(W + 4, f);
        smb_file_read_req(g.c, g.s, g.key, f, u32(W + 6) | (wc >= 12 ? uint64_t(u32(W + 20)) << 32 : 0));
      }
      if (resp && wc >= 12 && !smb_file_window(g.c, g.s, g.d)) pipe_data(g, tree, u16(W + 12), u16(W + 10));
      break;
    default: break;
  }
}

bool andx(uint8_t cmd) {
  return cmd == 0x73 || cmd == 0x75 || cmd == 0xa2 || cmd == 0x2f || cmd == 0x2e || cmd == 0x2d || cmd == 0x74 ||
         cmd == 0x24;
}

void smb1_message(Msg& g, AppSink& sink) {
  if (!g.in(0, 33)) return void(g.c.ctr.smb_malformed++);
  const uint8_t* H = g.p;
  uint8_t cmd = H[4];
  bool resp = H[9] & 0x80, uni = u16(H + 10) & 0x8000;
  uint32_t tree = u16(H + 24);
  g.key = uint32_t(u16(H + 26)) << 16 | u16(H + 30);  // pid, mid
  begin_tx(g, 1, cmd, u32(H + 5), tree, u16(H + 28));
  uint32_t at = 32;
  for (uint32_t i = 0; i < kMaxChain; i++) {
    if (!g.in(at, 1)) break;
    uint32_t wc = g.p[at], w = at + 1;
    if (!g.in(w, 2 * wc + 2)) break;
    uint32_t bc = u16(g.p + w + 2 * wc), bo = w + 2 * wc + 2;
    if (bo + bc > g.n) bc = g.n - bo;  // a cut message: what is here
    smb1_block(g, cmd, w, wc, bo, bc, resp, uni, tree);
    if (!andx(cmd) || wc < 2) break;
    uint8_t nx = g.p[w];
    uint32_t off = u16(g.p + w + 2);
    if (nx == 0xff || off <= at || off >= g.n) break;  // no further command (or a loop)
    cmd = nx;
    at = off;
  }
  end_tx(g, sink);
}

}  // namespace

namespace {

// A whole NetBIOS session message (or its kept part).
void smb_message(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  c.impl->scratch_used = 0;
  Msg g{c, s, d, p, n, BufferSet()};
  g.sink = &sink;
  if (n >= 4 && !memcmp(p, "\xfeSMB", 4)) smb2_message(g, sink);
  else if (n >= 4 && !memcmp(p, "\xffSMB", 4)) smb1_message(g, sink);
  else if (n >= 4 && !memcmp(p, "\xfdSMB", 4)) c.ctr.smb_encrypted++;
  else c.ctr.smb_malformed++;
}

// After a gap: slides an 8-byte window over the bytes until it holds a
// session message header followed by an SMB magic ("00 LL LL LL" with a
// length of at least an SMB1 header, then "\xfe|\xff|\xfd" "SMB"), as
// Suricata's SMB parser searches for the next record. On a hit the message
// starts with the magic stored; returns the bytes consumed.
uint32_t resync(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n) {
  SmbDir& h = s->dir[d].u.smb;
  uint8_t* w = h.dce.hdr;  // the window (the direction has no DCERPC state while resyncing)
  for (uint32_t i = 0; i < n; i++) {
    if (h.win_n == 8) memmove(w, w + 1, 7), h.win_n = 7;
    w[h.win_n++] = p[i];
    const uint32_t len = uint32_t(w[1]) << 16 | w[2] << 8 | w[3];
    if (h.win_n < 8 || w[0] || (w[4] != 0xfe && w[4] != 0xff && w[4] != 0xfd) || memcmp(w + 5, "SMB", 3) ||
        len < 32 || len >= kMaxNbss)
      continue;
    h.resync = h.win_n = 0;
    h.nb_type = 0, h.nb_n = 4, h.len = len, h.got = 4, h.stored = 0;
    acquire(c, s, d);
    uint32_t cap = 0;
    if (uint8_t* st = storage(c, s, d, &cap); st && cap / 2 >= 4) memcpy(st, w + 4, 4), h.stored = 4;
    h.dce = DceDir{};
    return i + 1;
  }
  return n;
}

}  // namespace

void smb_gap(AppCtx& c, AppState* s, int d) {
  if (s->proto == rules::AppProto::kDcerpc) return dce_gap(c, s, d);
  SmbDir& h = s->dir[d].u.smb;
  c.ctr.truncated++;
  release(c, s, d);
  h.dce = DceDir{};  // a DCERPC call in progress is lost with it
  if (SmbCtx* f = smb_ctx(c, s, false)) f->cur_open[d] = 0;
  smb_file_msg_end(c, s, d);  // a file's bytes lost: a hole in it
  h.nb_n = 0;
  h.resync = 1;
  h.win_n = 0;
}

void smb_feed(AppCtx& c, AppState* s, int d, const uint8_t* p, uint32_t n, AppSink& sink) {
  SmbDir& h = s->dir[d].u.smb;
  while (n) {
    if (h.resync) {
      uint32_t k = resync(c, s, d, p, n);
      p += k, n -= k;
      continue;
    }
    if (h.nb_n < 4) {
      if (h.nb_n == 0) h.nb_type = *p, h.len = 0;
      else h.len = h.len << 8 | *p;
      p++, n--;
      if (++h.nb_n < 4) continue;
      h.got = h.stored = 0;
      if (h.len >= kMaxNbss) {
        c.ctr.smb_malformed++;
        s->dir[d].det = kDead;
        release(c, s, d);
        return;
      }
      if (h.nb_type == 0 && h.len) acquire(c, s, d);  // session message; 0x81..0x85: session service, skipped
      if (!h.len) h.nb_n = 0;
      continue;
    }
    uint32_t cap = 0;
    uint8_t* st = h.nb_type == 0 ? storage(c, s, d, &cap) : nullptr;
    cap /= 2;  // the second half holds DCERPC stub data
    uint32_t k = std::min(n, h.len - h.got);
    uint32_t keep = st ? std::min(k, cap - std::min(cap, h.stored)) : 0;
    if (keep) memcpy(st + h.stored, p, keep);
    h.stored += keep;
    if (s->smbf && st) smb_file_bytes(c, s, d, st, h.len, h.got, p, k, sink);  // file data as it arrives
    h.got += k;
    p += k;
    n -= k;
    if (h.got < h.len) continue;
    h.nb_n = 0;
    if (h.nb_type != 0) continue;
    smb_message(c, s, d, st, h.stored, sink);
    smb_file_msg_end(c, s, d);
    if (!dce_pending(s, d)) release(c, s, d);
  }
}

}  // namespace app
}  // namespace spectre
