// DCERPC and SMB keywords with values (Suricata's dcerpc-keywords and
// smb-keywords pages), rewritten as byte_test / content / pcre items on the
// internal buffers the parsers fill per transaction (app_smb.cc,
// app_dcerpc.cc):
//   (smb.hdr), 4 bytes: [0] SMB version of the tx (1, or 2 for SMB2/3),
//     [1..2] command (big endian), [3] 0.
//   (dcerpc.hdr), 23 bytes: [0] PDU type (0 request, 2 response, 11 bind..),
//     [1] bits: 1 the call's first fragment was seen, 2 the call's context
//     is bound and accepted ([4..21] valid), 4 the tx is (or answers) a
//     request ([2..3] valid); [2..3] opnum, [4..19] interface UUID in its
//     text order, [20..21] interface major version (big endian), [22] 1 when
//     the PDU is little endian (byte_test/byte_jump dce).
//   dcerpc.iface:U[,<op>V][,any_frag] -> request/response; bound; (first
//     fragment unless any_frag); content U at 4; byte_test:2,<op>,V,20
//   dcerpc.opnum:12,18-24          -> bit 4; pcre over [2..3] (each value
//     or range as byte alternatives, exact)
//   smb.version:1                  -> byte_test:1,=,1,0 on (smb.hdr)
// dce_iface / dce_opnum are the older names of the first two. The sticky
// buffers (smb.named_pipe, smb.share, smb.ntlmssp_*, dcerpc.stub_data) are
// in buffers.cc.
#include <cstdio>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

using Op = ByteOp::Op;

int hexv(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

// "367abb81-9844-35f1-ad32-98f038001003" -> 16 bytes in text order.
bool parse_uuid(std::string_view s, std::string& out) {
  if (s.size() != 36) return false;
  out.clear();
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
      i++;
      continue;
    }
    int a = hexv(s[i]), b = hexv(s[i + 1]);
    if (a < 0 || b < 0) return false;
    out += char(a << 4 | b);
    i += 2;
  }
  return out.size() == 16;
}

bool u16(std::string_view s, uint32_t& out) { return parse_u32(trim(s), out) && out <= 65535; }

bool opt_iface(Ctx& c, std::string_view kw, std::string_view v) {
  std::vector<std::string_view> parts;
  while (true) {
    size_t q = v.find(',');
    parts.push_back(trim(v.substr(0, q)));
    if (q == std::string_view::npos) break;
    v = v.substr(q + 1);
  }
  // Snort 3 names its arguments: `uuid U[, version <op>V][, any_frag]`.
  for (auto& p : parts)
    for (std::string_view pre : {"uuid ", "version "})
      if (p.starts_with(pre)) p = trim(p.substr(pre.size()));
  std::string uuid;
  if (!parse_uuid(parts[0], uuid)) return fail(c.st, std::string(kw) + ": bad UUID '" + std::string(parts[0]) + "'");
  bool any_frag = false, has_ver = false;
  Op op = Op::kEq;
  bool neg = false;
  uint32_t ver = 0;
  for (size_t i = 1; i < parts.size(); i++) {
    std::string_view p = parts[i];
    if (p == "any_frag") {
      if (any_frag) return fail(c.st, std::string(kw) + ": any_frag twice");
      any_frag = true;
      continue;
    }
    if (has_ver || p.empty()) return fail(c.st, std::string(kw) + ": bad option '" + std::string(p) + "'");
    if (p[0] == '<') op = Op::kLt, p = p.substr(1);
    else if (p[0] == '>') op = Op::kGt, p = p.substr(1);
    else if (p[0] == '!') neg = true, p = p.substr(1);
    else if (p[0] == '=') p = p.substr(1);
    if (!u16(p, ver)) return fail(c.st, std::string(kw) + ": bad version '" + std::string(parts[i]) + "'");
    has_ver = true;
  }
  push_byte_test(c, kDcerpcHdr, 0, 1, Op::kAnd, 0xfd, true);  // request (0) or response (2)
  push_byte_test(c, kDcerpcHdr, 1, 1, Op::kAnd, 2);
  if (!any_frag) push_byte_test(c, kDcerpcHdr, 1, 1, Op::kAnd, 1);
  MatchItem it;
  it.kind = MatchItem::Kind::kContent;
  it.buf = kDcerpcHdr;
  it.content.bytes = uuid;
  it.content.has_offset = it.content.has_depth = true;
  it.content.offset = 4;
  it.content.depth = 16;
  c.r.items.push_back(std::move(it));
  if (has_ver) push_byte_test(c, kDcerpcHdr, 20, 2, op, ver, neg);
  return true;
}

// The 16-bit big-endian values lo..hi as a regex alternation over two bytes.
void range_re(uint32_t lo, uint32_t hi, std::string& re) {
  char b[96];
  uint32_t h1 = lo >> 8, l1 = lo & 255, h2 = hi >> 8, l2 = hi & 255;
  if (!re.empty()) re += '|';
  if (h1 == h2) {
    snprintf(b, sizeof b, "\\x{%02x}[\\x{%02x}-\\x{%02x}]", h1, l1, l2);
    re += b;
    return;
  }
  snprintf(b, sizeof b, "\\x{%02x}[\\x{%02x}-\\x{ff}]", h1, l1);
  re += b;
  if (h2 - h1 > 1) {
    snprintf(b, sizeof b, "|[\\x{%02x}-\\x{%02x}][\\x{00}-\\x{ff}]", h1 + 1, h2 - 1);
    re += b;
  }
  snprintf(b, sizeof b, "|\\x{%02x}[\\x{00}-\\x{%02x}]", h2, l2);
  re += b;
}

bool opt_opnum(Ctx& c, std::string_view kw, std::string_view v) {
  std::string alts;
  int n = 0;
  while (true) {
    size_t q = v.find(',');
    std::string_view p = trim(v.substr(0, q));
    uint32_t lo = 0, hi = 0;
    size_t d = p.find('-');
    bool ok = d == std::string_view::npos ? u16(p, lo) && u16(p, hi)
                                          : u16(p.substr(0, d), lo) && u16(p.substr(d + 1), hi) && lo <= hi;
    if (!ok) return fail(c.st, std::string(kw) + ": bad opnum '" + std::string(p) + "' (N, N-M, lists of them)");
    if (++n > 64) return fail(c.st, std::string(kw) + ": more than 64 opnums or ranges");
    range_re(lo, hi, alts);
    if (q == std::string_view::npos) break;
    v = v.substr(q + 1);
  }
  push_byte_test(c, kDcerpcHdr, 1, 1, Op::kAnd, 4);
  MatchItem it;
  it.kind = MatchItem::Kind::kPcre;
  it.buf = kDcerpcHdr;
  it.pcre.pattern = "^[\\x{00}-\\x{ff}]{2}(?:";
  it.pcre.pattern += alts;
  it.pcre.pattern += ')';
  c.r.items.push_back(std::move(it));
  return true;
}

bool opt_version(Ctx& c, std::string_view v) { return push_uint_cmp(c, kSmbHdr, "smb.version", v, 0, 1, 255); }

}  // namespace

bool opt_smb(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled) {
  handled = true;
  const bool iface = name == "dcerpc.iface" || name == "dce_iface";
  const bool opnum = name == "dcerpc.opnum" || name == "dce_opnum";
  if (!iface && !opnum && name != "smb.version") {
    handled = false;
    return true;
  }
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = trim(v.substr(1, v.size() - 2));  // Snort 3: dce_opnum:"15"
  if (!has_value || v.empty()) return fail(c.st, std::string(name) + " needs a value");
  if (iface) return opt_iface(c, name, v);
  if (opnum) return opt_opnum(c, name, v);
  return opt_version(c, v);
}

}  // namespace spectre::rules::detail
