// IP and TCP header keywords (rules::HdrCheck), in the syntax of both
// Suricata's header-keywords page and Snort 3's rule options:
//   ttl, tos, id, fragoffset, seq, ack, window:  N  =N  !N  <N  >N  <=N  >=N
//       A-B (Suricata, exclusive)  A<>B (Snort, exclusive)  A<=>B (Snort, inclusive)
//       tos also takes hex as xNN (Suricata)
//   fragbits:[+*!]<MDR...> (the modifier may also follow the bits, Snort 2's form)
//   ipopts:<rr|eol|nop|ts|sec|esec|lsrr|ssrr|satid|any>
//   sameip
//   rpc:<program>[,<version>|*[,<procedure>|*]]   (Suricata's rpc: a SunRPC CALL
//       in the packet payload, after TCP's 4-byte record mark: the 24-byte
//       call header present, message type 0 and the given numbers, as
//       isdataat and byte_tests on packets only, i.e. flow:no_stream)
#include <cctype>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

using Field = HdrCheck::Field;
using Op = HdrCheck::Op;

bool num(std::string_view s, uint32_t max, bool hex_ok, uint32_t& out) {
  s = trim(s);
  if (hex_ok && s.size() > 1 && (s[0] == 'x' || s[0] == 'X')) {
    uint32_t x = 0;
    for (char ch : s.substr(1)) {
      if (!std::isxdigit(uint8_t(ch)) || x > (max >> 4)) return false;
      x = x * 16 + uint32_t(std::isdigit(uint8_t(ch)) ? ch - '0' : (std::tolower(uint8_t(ch)) - 'a' + 10));
    }
    if (x > max) return false;
    out = x;
    return true;
  }
  return parse_u32_max(s, max, out);
}

// The numeric forms above into c; false on bad syntax or an empty range.
bool parse_cmp(std::string_view v, uint32_t max, bool hex_ok, HdrCheck& c) {
  v = trim(v);
  size_t p;
  if ((p = v.find("<=>")) != std::string_view::npos) {
    c.op = Op::kRangeIn;
    return p > 0 && num(v.substr(0, p), max, hex_ok, c.lo) && num(v.substr(p + 3), max, hex_ok, c.hi) && c.lo <= c.hi;
  }
  if ((p = v.find("<>")) != std::string_view::npos ||
      ((p = v.find('-')) != std::string_view::npos && p > 0)) {
    const size_t w = v[p] == '-' ? 1 : 2;
    c.op = Op::kRange;
    return p > 0 && num(v.substr(0, p), max, hex_ok, c.lo) && num(v.substr(p + w), max, hex_ok, c.hi) &&
           c.lo < c.hi;
  }
  c.op = Op::kEq;
  if (v.starts_with("<=")) c.op = Op::kLe, v.remove_prefix(2);
  else if (v.starts_with(">=")) c.op = Op::kGe, v.remove_prefix(2);
  else if (v.starts_with("<")) c.op = Op::kLt, v.remove_prefix(1);
  else if (v.starts_with(">")) c.op = Op::kGt, v.remove_prefix(1);
  else if (v.starts_with("!")) c.op = Op::kNe, v.remove_prefix(1);
  else if (v.starts_with("=")) v.remove_prefix(1);
  if (!num(v, max, hex_ok, c.lo)) return false;
  c.hi = c.lo;
  return true;
}

bool parse_fragbits(std::string_view v, HdrCheck& c) {
  v = trim(v);
  auto mode_of = [](char ch) -> int { return ch == '+' ? 1 : ch == '*' ? 2 : ch == '!' ? 3 : -1; };
  if (!v.empty() && mode_of(v.front()) >= 0) {
    c.mode = uint8_t(mode_of(v.front()));
    v = trim(v.substr(1));
  } else if (!v.empty() && mode_of(v.back()) >= 0) {
    c.mode = uint8_t(mode_of(v.back()));
    v = trim(v.substr(0, v.size() - 1));
  }
  for (char ch : v) {
    switch (std::toupper(uint8_t(ch))) {
      case 'M': c.lo |= 1; break;
      case 'D': c.lo |= 2; break;
      case 'R': c.lo |= 4; break;
      default: return false;
    }
  }
  return c.lo != 0;
}

bool parse_ipopts(std::string_view v, HdrCheck& c) {
  struct Name { const char* n; uint32_t type; };
  static constexpr Name kOpts[] = {
      {"eol", 0}, {"nop", 1}, {"rr", 7}, {"ts", 68}, {"sec", 130}, {"lsrr", 131},
      {"esec", 133}, {"satid", 136}, {"ssrr", 137}, {"any", HdrCheck::kAnyIpopt},
  };
  v = trim(v);
  for (const Name& o : kOpts)
    if (v == o.n) {
      c.lo = o.type;
      return true;
    }
  return false;
}

bool opt_rpc(Ctx& c, std::string_view v) {
  const Proto pr = c.r.hdr.proto;
  if (pr != Proto::kTcp && pr != Proto::kUdp) return unsup(c.st, "unsupported: rpc outside a tcp or udp rule");
  if (c.r.flow & kFlowOnlyStream) return fail(c.st, "rpc with flow:only_stream");
  auto p = split(v, ',');
  if (p.empty() || p.size() > 3) return fail(c.st, "rpc needs <program>[,<version>|*[,<procedure>|*]]");
  const int32_t base = pr == Proto::kTcp ? 4 : 0;  // TCP: the record mark first
  MatchItem need;  // xid, type, rpcvers, prog, vers, proc: 24 bytes (Suricata's minimum)
  need.kind = MatchItem::Kind::kIsDataAt;
  need.buf = kPayload;
  need.isdataat.n = base + 23;
  c.r.items.push_back(need);
  push_byte_test(c, kPayload, base + 4, 4, ByteOp::Op::kEq, 0);  // CALL (the RPC version is not checked)
  for (size_t i = 0; i < p.size(); i++) {
    uint32_t x;
    if (i > 0 && p[i] == "*") continue;
    if (!parse_u32(p[i], x)) return fail(c.st, "rpc: bad number '" + std::string(p[i]) + "'");
    push_byte_test(c, kPayload, base + 12 + 4 * int32_t(i), 4, ByteOp::Op::kEq, x);
  }
  c.r.flow |= kFlowNoStream;  // the packet's payload, as Suricata reads it
  return true;
}

}  // namespace

bool opt_pkt_hdr(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled) {
  struct Kw { const char* n; Field f; uint32_t max; };
  static constexpr Kw kKw[] = {
      {"ttl", Field::kTtl, 255}, {"tos", Field::kTos, 255}, {"id", Field::kIpId, 65535},
      {"fragoffset", Field::kFragOffset, 8191}, {"seq", Field::kSeq, 0xffffffffu},
      {"ack", Field::kAck, 0xffffffffu}, {"window", Field::kWindow, 65535},
      {"fragbits", Field::kFragbits, 0}, {"ipopts", Field::kIpopts, 0}, {"sameip", Field::kSameip, 0},
  };
  const Kw* kw = nullptr;
  for (const Kw& k : kKw)
    if (name == k.n) kw = &k;
  handled = kw != nullptr || name == "rpc";
  if (!handled) return true;
  if (name == "rpc") return has_value && !trim(v).empty() ? opt_rpc(c, trim(v)) : fail(c.st, "rpc needs a value");
  const std::string ns(name);
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);  // Suricata: id:"1"
  HdrCheck h;
  h.field = kw->f;
  if (kw->f == Field::kSameip) {
    if (has_value && !trim(v).empty()) return fail(c.st, "sameip takes no value");
  } else if (!has_value || trim(v).empty()) {
    return fail(c.st, ns + " needs a value");
  } else if (kw->f == Field::kFragbits) {
    if (!parse_fragbits(v, h)) return fail(c.st, "bad fragbits '" + std::string(v) + "' ([+*!] and M, D, R)");
  } else if (kw->f == Field::kIpopts) {
    for (const HdrCheck& o : c.r.hdr_checks)
      if (o.field == Field::kIpopts) return fail(c.st, "more than one ipopts (one option per rule)");
    if (!parse_ipopts(v, h)) return unsup(c.st, "unsupported: ipopts " + std::string(v));
  } else if (!parse_cmp(v, kw->max, kw->f == Field::kTos, h)) {
    return fail(c.st, "bad " + ns + " '" + std::string(v) + "'");
  }
  c.r.hdr_checks.push_back(h);
  return true;
}

}  // namespace spectre::rules::detail
