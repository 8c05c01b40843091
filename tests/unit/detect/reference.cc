// Naive reference evaluator: see reference.h for the semantics.
#include "dataplane/core/der.h"
#include "tests/unit/detect/reference.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>
#include <string>

namespace spectre::detect_ref {

using rules::MatchItem;

struct RefEngine::R {
  const rules::Rule* rule;
  std::vector<pcre2_code*> re;  // per item (null for non-pcre)
  bool ok = true;
};

RefEngine::RefEngine(const rules::RuleSet& rs) {
  std::vector<R*> pass, rest;
  for (const auto& rule : rs.rules) {
    R* r = new R;
    r->rule = &rule;
    for (const auto& it : rule.items) {
      pcre2_code* c = nullptr;
      if (it.kind == MatchItem::Kind::kPcre) {
        uint32_t o = (it.pcre.caseless ? PCRE2_CASELESS : 0) | (it.pcre.dotall ? PCRE2_DOTALL : 0) |
                     (it.pcre.multiline ? PCRE2_MULTILINE : 0) | (it.pcre.extended ? PCRE2_EXTENDED : 0);
        int e;
        PCRE2_SIZE eo;
        c = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(it.pcre.pattern.c_str()), it.pcre.pattern.size(), o, &e, &eo,
                          nullptr);
        if (!c) r->ok = false;
      }
      r->re.push_back(c);
    }
    (rule.hdr.action == rules::Action::kPass ? pass : rest).push_back(r);
  }
  order_ = pass;
  order_.insert(order_.end(), rest.begin(), rest.end());
}

RefEngine::~RefEngine() {
  for (R* r : order_) {
    for (auto* c : r->re)
      if (c) pcre2_code_free(c);
    delete r;
  }
}

namespace {

bool addr_in_range(const rules::IpRange& r, const uint8_t* a, uint8_t ver) {
  if (r.ver != ver) return false;
  int n = ver == 4 ? 4 : 16;
  for (int i = 0; i < n; i++) {  // lo <= a, lexicographic
    if (a[i] != r.lo[i]) {
      if (a[i] < r.lo[i]) return false;
      break;
    }
  }
  for (int i = 0; i < n; i++) {
    if (a[i] != r.hi[i]) return a[i] < r.hi[i];
  }
  return true;
}

bool ipset_has(const rules::IpSet& s, const uint8_t* a, uint8_t ver) {
  if (s.any && s.exclude.empty()) return true;
  if (!a) return false;
  bool in = s.any;
  for (const auto& r : s.include) in = in || addr_in_range(r, a, ver);
  for (const auto& r : s.exclude) in = in && !addr_in_range(r, a, ver);
  return in;
}

bool portset_has(const rules::PortSet& s, uint16_t p) {
  bool in = s.any;
  for (const auto& r : s.include) in = in || (p >= r.lo && p <= r.hi);
  for (const auto& r : s.exclude) in = in && !(p >= r.lo && p <= r.hi);
  return in;
}

bool proto_ok(rules::Proto pr, uint8_t ip, rules::AppProto app) {
  using P = rules::Proto;
  switch (pr) {
    case P::kIp: return true;
    case P::kTcp: return ip == 6;
    case P::kUdp: return ip == 17;
    case P::kIcmp: return ip == 1 || ip == 58;
    case P::kHttp: return ip == 6 && app == rules::AppProto::kHttp;
    case P::kTls: return ip == 6 && app == rules::AppProto::kTls;
    case P::kDns: return (ip == 6 || ip == 17) && app == rules::AppProto::kDns;
    case P::kFtp: return ip == 6 && app == rules::AppProto::kFtp;
    default: break;  // the other app protocols are not modelled
  }
  return false;
}

char low(char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }

bool bytes_at(const uint8_t* d, uint32_t n, long s, const rules::Content& c) {
  if (s < 0 || s + long(c.bytes.size()) > long(n)) return false;
  for (size_t i = 0; i < c.bytes.size(); i++) {
    char x = char(d[s + i]), y = c.bytes[i];
    if (c.nocase ? low(x) != low(y) : x != y) return false;
  }
  return true;
}

struct Items {
  std::vector<const MatchItem*> it;
  std::vector<pcre2_code*> re;
  const uint8_t* d;
  uint32_t n;
  pcre2_match_data* md;
  long anchor = 0;  // stream chunk: where absolute positions start (its first new byte)
  std::string decoded;  // base64_decode output
  unsigned long long vars[8] = {};  // byte_extract / byte_math values, by Rule::byte_vars index
  long var_or(uint8_t v, long def) const {
    return v ? long(std::min<unsigned long long>(vars[v - 1], 0x7fffffffull)) : def;
  }
  rules::Content resolved(const rules::Content& c) const {
    rules::Content r = c;
    r.offset = int32_t(var_or(c.var_offset, c.offset));
    r.depth = int32_t(var_or(c.var_depth, c.depth));
    r.distance = int32_t(var_or(c.var_distance, c.distance));
    r.within = int32_t(var_or(c.var_within, c.within));
    return r;
  }

  bool occurs(const rules::Content& c, long s, long prev) const {
    long m = long(c.bytes.size()), lo, hi;
    if (c.has_distance || c.has_within) {
      long dist = c.has_distance ? c.distance : 0;
      lo = std::max(0L, prev + dist);
      hi = c.has_within ? std::min(long(n), prev + dist + c.within) : long(n);
    } else if (c.startswith) {
      lo = anchor;
      hi = n;
      if (s != anchor) return false;
    } else if (c.has_offset || c.has_depth) {
      lo = anchor + (c.has_offset ? c.offset : 0);
      hi = c.has_depth ? std::min(long(n), lo + c.depth) : long(n);
    } else {
      lo = 0;
      hi = n;
    }
    if (s < lo || s + m > hi) return false;
    if (c.endswith && s + m != long(n)) return false;
    return bytes_at(d, n, s, c);
  }

  bool from(size_t k, long prev) {
    if (k == it.size()) return true;
    const MatchItem& mi = *it[k];
    if (mi.kind == MatchItem::Kind::kContent) {
      const rules::Content c = resolved(mi.content);
      if (c.negated) {
        for (long s = 0; s <= long(n); s++)
          if (occurs(c, s, prev)) return false;
        return from(k + 1, prev);
      }
      for (long s = 0; s <= long(n); s++)
        if (occurs(c, s, prev) && from(k + 1, s + long(c.bytes.size()))) return true;
      return false;
    }
    if (mi.kind == MatchItem::Kind::kBsize) {  // written out independently of the engine
      const auto& b = mi.bsize;
      using Op = rules::Dsize::Op;
      bool ok = b.op == uint8_t(Op::kEq)   ? n == b.lo
                : b.op == uint8_t(Op::kNe) ? n != b.lo
                : b.op == uint8_t(Op::kLt) ? n < b.lo
                : b.op == uint8_t(Op::kGt) ? n > b.lo
                                           : (n > b.lo && n < b.hi);
      return ok ? from(k + 1, prev) : false;
    }
    if (mi.kind == MatchItem::Kind::kBase64Decode) {
      long pos = (mi.byte.relative ? prev : anchor) + long(mi.b64_offset);
      if (pos < 0 || pos >= long(n)) return false;
      long end = mi.b64_bytes ? std::min(long(n), pos + long(mi.b64_bytes)) : long(n);
      static const std::string al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      decoded.clear();
      uint32_t acc = 0, bits = 0;
      for (long i = pos; i < end; i++) {
        char c = char(d[i]);
        if (c == ' ' || (c >= '\t' && c <= '\r')) continue;
        size_t v = al.find(c);
        if (v == std::string::npos) break;
        acc = (acc << 6) | uint32_t(v);
        bits += 6;
        if (bits >= 8) {
          bits -= 8;
          decoded += char((acc >> bits) & 0xff);
        }
      }
      return !decoded.empty() && from(k + 1, prev);
    }
    if (mi.kind == MatchItem::Kind::kBase64Data) {
      const std::string copy = decoded;
      Items sub = *this;
      sub.d = reinterpret_cast<const uint8_t*>(copy.data());
      sub.n = uint32_t(copy.size());
      sub.anchor = 0;
      return sub.from(k + 1, 0);
    }
    if (mi.kind == MatchItem::Kind::kByteTest || mi.kind == MatchItem::Kind::kByteJump ||
        mi.kind == MatchItem::Kind::kByteExtract || mi.kind == MatchItem::Kind::kByteMath) {
      rules::ByteOp b = mi.byte;
      b.offset = int32_t(var_or(b.var_offset, b.offset));
      if (b.var_value) b.value = vars[b.var_value - 1];
      long pos = (b.relative ? prev : anchor) + b.offset;
      unsigned long long v = 0;
      if (b.nbytes || (b.base && !b.from_end)) {
        long nb = b.nbytes ? b.nbytes : std::min(20L, long(n) - pos);  // string of 0 bytes: to the end
        if (pos < 0 || nb <= 0 || pos + nb > long(n)) return false;
        std::string txt;
        for (long i = 0; i < nb; i++) {
          if (b.base) txt += char(d[pos + i]);
          else if (b.little) v += (unsigned long long)d[pos + i] << (8 * i);
          else v = v * 256 + d[pos + i];
        }
        if (b.base) {  // leading digits of the base, at least one
          size_t k = 0;
          const std::string digits = std::string("0123456789abcdef").substr(0, b.base);
          while (k < txt.size() && digits.find(char(std::tolower(uint8_t(txt[k])))) != std::string::npos) k++;
          if (k == 0) return false;
          try {
            v = std::stoull(txt.substr(0, k), nullptr, b.base);
          } catch (const std::out_of_range&) {
            return false;
          }
        }
        if (b.bitmask) {
          v &= b.bitmask;
          for (uint64_t m = b.bitmask; !(m & 1); m >>= 1) v >>= 1;
        }
      }
      if (mi.kind == MatchItem::Kind::kByteExtract) {
        unsigned long long x = v * b.multiplier;
        if (b.align_to && x % b.align_to) x += b.align_to - x % b.align_to;
        vars[b.var_out - 1] = x;
        return from(k + 1, pos + b.nbytes);
      }
      if (mi.kind == MatchItem::Kind::kByteMath) {
        unsigned long long r = b.value, x = v;
        switch (b.math_op) {
          case '+': x = v + r; break;
          case '-': x = v - r; break;
          case '*': x = v * r; break;
          case '/': if (r == 0) return false; x = v / r; break;
          case '<': x = r >= 64 ? 0 : v << r; break;
          case '>': x = r >= 64 ? 0 : v >> r; break;
        }
        vars[b.var_out - 1] = x;
        return from(k + 1, prev);
      }
      if (mi.kind == MatchItem::Kind::kByteTest) {
        using Op = rules::ByteOp::Op;
        bool m = b.op == Op::kLt ? v < b.value : b.op == Op::kGt ? v > b.value : b.op == Op::kEq ? v == b.value
               : b.op == Op::kLe ? v <= b.value : b.op == Op::kGe ? v >= b.value
               : b.op == Op::kAnd ? (v & b.value) != 0 : (v ^ b.value) != 0;
        return m != b.negated && from(k + 1, prev);
      }
      if (v > (1ull << 32)) return false;
      long long j = (long long)v * b.multiplier;
      if (b.align && j % 4) j += 4 - j % 4;
      long long start = b.from_beginning ? anchor : b.from_end ? long(n) : pos + b.nbytes;
      j += start + b.post_offset;
      return j >= 0 && j < long(n) && from(k + 1, long(j));
    }
    if (mi.kind == MatchItem::Kind::kAsn1) {  // the decoder is shared (core/der.h); the offsets are checked here
      const long pos = (mi.asn1.relative ? prev : anchor) + mi.asn1.offset;
      if (pos < 0 || pos >= long(n)) return false;
      der::Asn1Check o;
      o.bitstring = mi.asn1.bitstring_overflow, o.dbl = mi.asn1.double_overflow;
      o.oversize = mi.asn1.has_oversize, o.oversize_len = mi.asn1.oversize_length;
      return der::asn1_match(o, d + pos, uint32_t(n - pos)) && from(k + 1, prev);
    }
    if (mi.kind == MatchItem::Kind::kIsDataAt) {
      const long at = var_or(mi.isdataat.var_n, mi.isdataat.n);
      bool has = mi.isdataat.relative ? prev + at <= long(n) : anchor + at < long(n);
      return has != mi.isdataat.negated ? from(k + 1, prev) : false;
    }
    long base = mi.pcre.relative ? prev : 0;
    PCRE2_SIZE start = 0;
    while (start <= PCRE2_SIZE(n - base)) {
      int rc = pcre2_match(re[k], d + base, n - base, start, 0, md, nullptr);
      if (rc < 0) break;
      if (mi.pcre.negated) return false;
      PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      PCRE2_SIZE s0 = ov[0], e0 = ov[1];
      if (from(k + 1, base + long(e0))) return true;
      start = std::max(s0, start) + 1;
    }
    return mi.pcre.negated ? from(k + 1, prev) : false;
  }
};

// IP/TCP header keywords on the packet's raw headers (the engine's
// pkt_checks.cc, written again): a field the packet lacks (IPv4-only fields
// on IPv6, TCP fields elsewhere) fails the check.
bool hdr_checks_hold(const std::vector<rules::HdrCheck>& hs, const DetectPacket& p) {
  using F = rules::HdrCheck::Field;
  using O = rules::HdrCheck::Op;
  const uint8_t* ip = p.l3;
  const bool v4 = p.ip_ver == 4;
  const uint8_t* tcp = p.proto == 6 && p.l4_hlen >= 20 ? ip + p.l4_off : nullptr;
  auto u16 = [](const uint8_t* b) { return long(b[0]) * 256 + b[1]; };
  for (const auto& h : hs) {
    long x = -1;  // -1: absent
    switch (h.field) {
      case F::kTtl: x = v4 ? ip[8] : ip[7]; break;
      case F::kTos: x = v4 ? ip[1] : -1; break;
      case F::kIpId: x = v4 ? u16(ip + 4) : -1; break;
      case F::kFragOffset: x = v4 ? u16(ip + 6) % 8192 : -1; break;
      case F::kSeq: x = tcp ? u16(tcp + 4) * 65536 + u16(tcp + 6) : -1; break;
      case F::kAck: x = tcp ? u16(tcp + 8) * 65536 + u16(tcp + 10) : -1; break;
      case F::kWindow: x = tcp ? u16(tcp + 14) : -1; break;
      case F::kFragbits: {
        if (!v4) return false;
        const int have = (ip[6] & 0x80 ? 4 : 0) | (ip[6] & 0x40 ? 2 : 0) | (ip[6] & 0x20 ? 1 : 0);
        const int want = int(h.lo);
        const bool ok = h.mode == 0 ? have == want : h.mode == 1 ? (have & want) == want
                      : h.mode == 2 ? (have & want) != 0 : (have & want) == 0;
        if (!ok) return false;
        continue;
      }
      case F::kIpopts: {
        if (!v4) return false;
        std::vector<uint32_t> types;  // options present, in order, up to EOL
        const uint32_t hl = p.l4_off;
        for (uint32_t i = 20; i < hl; i += ip[i] == 1 ? 1 : ip[i + 1]) {
          types.push_back(ip[i]);
          if (ip[i] == 0 || (ip[i] != 1 && (i + 1 >= hl || ip[i + 1] < 2))) break;
        }
        const bool ok = h.lo == rules::HdrCheck::kAnyIpopt ? hl > 20
                                                           : std::find(types.begin(), types.end(), h.lo) != types.end();
        if (!ok) return false;
        continue;
      }
      case F::kSameip:
        if (!p.src || !p.dst || memcmp(p.src, p.dst, v4 ? 4 : 16) != 0) return false;
        continue;
    }
    if (x < 0) return false;
    const long lo = long(h.lo), hi = long(h.hi);
    const bool ok = h.op == O::kEq ? x == lo : h.op == O::kNe ? x != lo : h.op == O::kLt ? x < lo
                  : h.op == O::kGt ? x > lo : h.op == O::kLe ? x <= lo : h.op == O::kGe ? x >= lo
                  : h.op == O::kRange ? (x > lo && x < hi) : (x >= lo && x <= hi);
    if (!ok) return false;
  }
  return true;
}

// Suricata's IP-only type (addresses and ports, no negated address, no flow
// keyword, no flowbit test, a plain protocol): first packet per direction.
bool ip_only_rule(const rules::Rule& r) {
  if (r.has_stream_size || !r.xbits.empty() || !r.stream_event.empty()) return false;
  if (!r.hdr_checks.empty()) return false;
  if (!r.items.empty() || r.has_dsize || r.has_flags || r.icmp.any() || r.flow) return false;
  for (const auto& fb : r.flowbits)
    if (fb.cmd == rules::Flowbit::Cmd::kIsSet || fb.cmd == rules::Flowbit::Cmd::kIsNotSet) return false;
  const auto& h = r.hdr;
  using P = rules::Proto;
  if (h.proto != P::kIp && h.proto != P::kTcp && h.proto != P::kUdp && h.proto != P::kIcmp) return false;
  return h.src.exclude.empty() && h.dst.exclude.empty();
}

// Suricata's transforms, written out plainly (see transforms.cc for the rules).
std::string transform(const std::vector<rules::Transform>& chain, std::string s) {
  using K = rules::Transform::Kind;
  auto sp = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; };
  for (const auto& t : chain) {
    std::string o;
    switch (t.kind) {
      case K::kToLower: for (char c : s) o += char(std::tolower(uint8_t(c))); break;
      case K::kToUpper: for (char c : s) o += char(std::toupper(uint8_t(c))); break;
      case K::kStripWs: for (char c : s) if (!sp(c)) o += c; break;
      case K::kCompressWs:
        for (size_t i = 0; i < s.size(); i++)
          if (!sp(s[i])) o += s[i];
          else if (i == 0 || !sp(s[i - 1])) o += ' ';
        break;
      case K::kUrlDecode:
        for (size_t i = 0; i < s.size(); i++) {
          if (s[i] == '+') { o += ' '; continue; }
          if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(uint8_t(s[i + 1])) && std::isxdigit(uint8_t(s[i + 2]))) {
            o += char(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
            continue;
          }
          o += s[i];
        }
        break;
      case K::kDotPrefix: o = "." + s; break;
      case K::kHeaderLower: {
        bool name = true;
        for (char c : s) {
          o += name ? char(std::tolower(uint8_t(c))) : c;
          if (c == ':') name = false;
          if (c == '\n') name = true;
        }
        break;
      }
      case K::kXor: for (size_t i = 0; i < s.size(); i++) o += char(s[i] ^ t.arg[i % t.arg.size()]); break;
      case K::kFromBase64: {
        static const std::string al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        std::string in = t.b64_offset < s.size() ? s.substr(t.b64_offset) : "";
        if (t.b64_bytes && t.b64_bytes < in.size()) in.resize(t.b64_bytes);
        uint32_t acc = 0, bits = 0;
        bool bad = false;
        for (char c : in) {
          size_t v = al.find(c);
          if (v == std::string::npos) {
            if (c == '=' || t.b64_mode == 0) break;
            if (t.b64_mode == 2) { bad = true; break; }
            continue;
          }
          acc = (acc << 6) | uint32_t(v);
          bits += 6;
          if (bits >= 8) { bits -= 8; o += char((acc >> bits) & 0xff); }
        }
        if (bad) o.clear();
        break;
      }
      case K::kPcreXform: {
        int e;
        PCRE2_SIZE eo;
        pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(t.arg.c_str()), t.arg.size(), 0, &e, &eo, nullptr);
        pcre2_match_data* md = pcre2_match_data_create(16, nullptr);
        o = s;
        if (re && pcre2_match(re, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, md, nullptr) >= 2) {
          PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
          if (ov[2] != PCRE2_UNSET) o = s.substr(ov[2], ov[3] - ov[2]);
        }
        pcre2_match_data_free(md);
        if (re) pcre2_code_free(re);
        break;
      }
    }
    s = o;
  }
  return s;
}

bool bit_has(const RefFlow* f, const std::string& n) {
  return f && std::find(f->bits.begin(), f->bits.end(), n) != f->bits.end();
}

}  // namespace

bool RefEngine::allow(const R& r, int kind, const DetectPacket& p) {
  const rules::Threshold& t = kind ? r.rule->detection_filter : r.rule->threshold;
  std::string who;
  int n = p.ip_ver == 4 ? 4 : 16;
  auto addr = [&](const uint8_t* a) { return a ? std::string(reinterpret_cast<const char*>(a), n) : std::string(); };
  using T = rules::Threshold::Track;
  if (t.track == T::kBySrc) who = "s" + addr(p.src);
  if (t.track == T::kByDst) who = "d" + addr(p.dst);
  if (t.track == T::kByBoth) who = "b" + addr(p.src) + "|" + addr(p.dst);
  auto key = std::make_tuple(r.rule->gid, r.rule->sid, kind, who);
  auto it = thr_.find(key);
  uint64_t win = uint64_t(t.seconds) * 1000000000ull;
  uint32_t count;
  if (it == thr_.end() || p.ts_ns < it->second.first || p.ts_ns - it->second.first > win) {  // Suricata: ts <= start + seconds is in the window
    thr_[key] = {p.ts_ns, 1};
    it = thr_.find(key);
  } else {
    it->second.second++;
  }
  count = it->second.second;
  switch (t.type) {
    case rules::Threshold::Type::kLimit: return count <= t.count;
    case rules::Threshold::Type::kThreshold:
      if (count >= t.count) {
        it->second.second = 0;
        return true;
      }
      return false;
    case rules::Threshold::Type::kBoth: return count == t.count;
    case rules::Threshold::Type::kDetectionFilter: return count > t.count;
  }
  return true;
}

std::vector<uint32_t> RefEngine::payload(const DetectPacket& p, PayloadMode mode, const uint8_t* d, uint32_t n,
                                         RefFlow* f) {
  BufferSet b;
  b.set(rules::kPayload, d, n);
  // Header buffers from the raw bytes (not from the engine's header_buffer()):
  // IPv4 IHL * 4; IPv6 the fixed 40 bytes plus what the packet says precedes
  // L4 (l4_off); TCP data offset * 4; UDP 8; ICMP the packet's l4_hlen.
  if (p.l3 && mode != PayloadMode::kStreamChunk) {
    const uint8_t* l4 = p.l3 + p.l4_off;
    if (p.ip_ver == 4) b.set(rules::kIpv4Hdr, p.l3, uint32_t(p.l3[0] & 15) * 4);
    if (p.ip_ver == 6) b.set(rules::kIpv6Hdr, p.l3, std::max<uint32_t>(40, p.l4_off));
    if (p.proto == 6) b.set(rules::kTcpHdr, l4, uint32_t(l4[12] >> 4) * 4);
    if (p.proto == 17) b.set(rules::kUdpHdr, l4, 8);
    if (p.proto == 1 && p.ip_ver == 4) b.set(rules::kIcmpv4Hdr, l4, p.l4_hlen);
    if (p.proto == 58 && p.ip_ver == 6) b.set(rules::kIcmpv6Hdr, l4, p.l4_hlen);
  }
  return run(p, static_cast<int>(mode), b, f);
}

std::vector<uint32_t> RefEngine::app(const DetectPacket& p, const BufferSet& b, RefFlow* f) { return run(p, 3, b, f); }

std::vector<uint32_t> RefEngine::run(const DetectPacket& p, int mode, const BufferSet& bufs, RefFlow* f) {
  std::vector<uint32_t> out;
  if (f && f->passed) return out;
  pcre2_match_data* md = pcre2_match_data_create(32, nullptr);
  for (R* rp : order_) {
    const R& r = *rp;
    const rules::Rule& ru = *r.rule;
    if (!r.ok) continue;
    if (!ru.decode_event.empty()) continue;  // matches only packets the decoder rejected
    bool any_payload = false, any_app = false;
    bool any_hdr = false;  // header buffers: packet keywords like dsize
    for (const auto& it : ru.items)
      (rules::is_header_buf(it.buf) ? any_hdr : it.buf == rules::kPayload ? any_payload : any_app) = true;
    if (ru.app_events) any_app = true;  // app-layer-event: a transaction rule
    if (mode == 3 && (ru.app_events & ~bufs.events)) continue;
    const bool os = ru.flow & rules::kFlowOnlyStream, ns = ru.flow & rules::kFlowNoStream;
    bool applies;
    switch (mode) {
      case 0: applies = !any_app && !os; break;  // held (below): a stream rule only with offset/depth
      case 1: applies = !any_app && !os && (ru.items.empty() || ru.has_dsize || ru.has_flags || ru.icmp.any() || ns || any_hdr ||
                                            !ru.hdr_checks.empty()); break;
      case 2: applies = !any_app && !ru.has_dsize && !ru.has_flags && !ru.icmp.any() && !ns && !any_hdr &&
                        ru.hdr_checks.empty() && (any_payload || os); break;
      default: applies = any_app; break;
    }
    if (!applies) continue;
    if (mode == 0 && p.held && any_payload && !ns && !ru.has_dsize && !ru.has_flags && !ru.icmp.any() && !any_hdr &&
        ru.hdr_checks.empty()) {
      bool anchored = ru.has_stream_size;
      for (const auto& it : ru.items)
        anchored |= it.buf == rules::kPayload && it.kind == rules::MatchItem::Kind::kContent &&
                    (it.content.has_offset || it.content.has_depth || it.content.startswith);
      if (!anchored) continue;
    }
    if (mode != 3 && !p.first_in_dir && ip_only_rule(ru)) continue;
    // stream-event: the packet must have raised it (packet modes only carry events).
    if (!ru.stream_event.empty() && !(p.stream_events & stream_event_bit(ru.stream_event))) continue;
    bool all_present = true;
    for (const auto& it : ru.items) all_present = all_present && bufs.has(it.buf);
    if (!all_present) continue;
    // header
    if (!proto_ok(ru.hdr.proto, p.proto, p.app_proto)) continue;
    if (ru.has_app_proto && ((p.app_proto == ru.app_proto) == ru.app_proto_negated)) continue;
    const uint16_t fl = ru.flow;
    if ((fl & (rules::kFlowEstablished | rules::kFlowNotEstablished | rules::kFlowToServer | rules::kFlowToClient)) &&
        !p.has_flow)
      continue;
    if ((fl & rules::kFlowEstablished) && !p.established) continue;
    if ((fl & rules::kFlowNotEstablished) && p.established) continue;
    if ((fl & rules::kFlowToServer) && !p.to_server) continue;
    if ((fl & rules::kFlowToClient) && p.to_server) continue;
    const auto& h = ru.hdr;
    bool fwd = ipset_has(h.src, p.src, p.ip_ver) && ipset_has(h.dst, p.dst, p.ip_ver) &&
               portset_has(h.sport, p.sport) && portset_has(h.dport, p.dport);
    bool rev = h.bidir && ipset_has(h.src, p.dst, p.ip_ver) && ipset_has(h.dst, p.src, p.ip_ver) &&
               portset_has(h.sport, p.dport) && portset_has(h.dport, p.sport);
    if (!fwd && !rev) continue;
    if (ru.has_dsize && mode != 2 && mode != 3) {
      const auto& ds = ru.dsize;
      uint16_t x = p.dsize;
      bool ok = false;
      switch (ds.op) {
        case rules::Dsize::Op::kEq: ok = x == ds.lo; break;
        case rules::Dsize::Op::kNe: ok = x != ds.lo; break;
        case rules::Dsize::Op::kLt: ok = x < ds.lo; break;
        case rules::Dsize::Op::kGt: ok = x > ds.lo; break;
        case rules::Dsize::Op::kRange: ok = x > ds.lo && x < ds.hi; break;
      }
      if (!ok) continue;
    }
    if (ru.has_flags) {  // a packet keyword: TCP packets only
      if (mode == 2 || mode == 3 || p.proto != 6) continue;
      const uint8_t f = p.tcp_flags & uint8_t(~ru.flags_ignore), want = ru.flags_set;
      bool ok = ru.flags_mode == 1 ? (f & want) == want : ru.flags_mode == 2 ? (f & want) != 0
              : ru.flags_mode == 3 ? (f & want) == 0 : f == want;
      if (!ok) continue;
    }
    if (ru.icmp.any()) {  // ICMP packet keywords: packets only
      if (mode == 2 || mode == 3 || (p.proto != 1 && p.proto != 58)) continue;
      auto cmp = [](const rules::Dsize& ds, long x) {
        switch (ds.op) {
          case rules::Dsize::Op::kEq: return x == ds.lo;
          case rules::Dsize::Op::kNe: return x != ds.lo;
          case rules::Dsize::Op::kLt: return x < ds.lo;
          case rules::Dsize::Op::kGt: return x > ds.lo;
          case rules::Dsize::Op::kRange: return x > ds.lo && x < ds.hi;
        }
        return false;
      };
      const auto& m = ru.icmp;
      if (m.has_type && !cmp(m.type, p.icmp_type)) continue;
      if (m.has_code && !cmp(m.code, p.icmp_code)) continue;
      if ((m.has_id && (!p.icmp_echo || !cmp(m.id, p.icmp_id))) || (m.has_seq && (!p.icmp_echo || !cmp(m.seq, p.icmp_seq))))
        continue;
    }
    if (!ru.hdr_checks.empty() && (mode == 2 || mode == 3 || !p.l3 || !hdr_checks_hold(ru.hdr_checks, p))) continue;
    // ip_proto (like dsize on the protocol number) and stream_size (both sides
    // as the packet reports them; none without a TCP session). xbits: not modelled.
    if (ru.has_ip_proto) {
      const auto& ds = ru.ip_proto;
      const long x = p.proto;
      bool ok = ds.op == rules::Dsize::Op::kEq ? x == ds.lo : ds.op == rules::Dsize::Op::kNe ? x != ds.lo
              : ds.op == rules::Dsize::Op::kLt ? x < ds.lo : ds.op == rules::Dsize::Op::kGt ? x > ds.lo
              : (x > ds.lo && x < ds.hi);
      if (!ok) continue;
    }
    bool ss_ok = true;
    for (int si = 0; si < 2; si++) {
      if (!(si ? ru.has_stream_size2 : ru.has_stream_size)) continue;
      if (!p.has_stream) {
        ss_ok = false;
        break;
      }
      const auto& ss = si ? ru.stream_size2 : ru.stream_size;
      auto test = [&](uint64_t v) {
        using Op = rules::StreamSize::Op;
        return ss.op == Op::kLt ? v < ss.value : ss.op == Op::kGt ? v > ss.value : ss.op == Op::kEq ? v == ss.value
             : ss.op == Op::kNe ? v != ss.value : ss.op == Op::kLe ? v <= ss.value : v >= ss.value;
      };
      const bool cl = test(p.stream_size[0]), sv = test(p.stream_size[1]);
      using Side = rules::StreamSize::Side;
      ss_ok = ss_ok && (ss.side == Side::kClient ? cl : ss.side == Side::kServer ? sv : ss.side == Side::kBoth ? cl && sv : cl || sv);
    }
    if (!ss_ok) continue;
    // flowbit checks
    bool fb_ok = true;
    for (const auto& fb : ru.flowbits) {
      bool want;
      if (fb.cmd == rules::Flowbit::Cmd::kIsSet) want = true;
      else if (fb.cmd == rules::Flowbit::Cmd::kIsNotSet) want = false;
      else continue;
      int good = 0;
      for (const auto& nm : fb.names) good += bit_has(f, nm) == want;
      fb_ok = fb_ok && (fb.any_of ? good > 0 : good == int(fb.names.size()));
    }
    if (!fb_ok) continue;
    // items, buffer by buffer
    bool items_ok = true;
    for (int bx = 0; bx < rules::kBufCount * 256 && items_ok; bx++) {
      const int b = bx % rules::kBufCount, xf = bx / rules::kBufCount;
      if (xf > int(ru.xforms.size())) break;
      Items st;
      for (size_t i = 0; i < ru.items.size(); i++)
        if (ru.items[i].buf == b && ru.items[i].xform == xf) {
          st.it.push_back(&ru.items[i]);
          st.re.push_back(r.re[i]);
        }
      if (st.it.empty()) continue;
      // A multi-buffer matches when one of its instances does.
      const bool multi = b == bufs.multi_buf && bufs.multi_n > 1;
      const uint32_t inst = multi ? bufs.multi_n : 1;
      bool any = false;
      for (uint32_t k = 0; k < inst && !any; k++) {
        static const uint8_t zero[1] = {0};
        std::string tx;
        const uint8_t* d = multi ? bufs.multi[k].data : bufs.data[b];
        st.d = d ? d : zero;
        st.n = d ? (multi ? bufs.multi[k].len : bufs.len[b]) : 0;
        if (xf) {
          tx = transform(ru.xforms[xf - 1], std::string(reinterpret_cast<const char*>(st.d), st.n));
          st.d = reinterpret_cast<const uint8_t*>(tx.data());
          st.n = uint32_t(tx.size());
        }
        st.md = md;
        st.anchor = mode == 2 && b == rules::kPayload ? p.stream_new_from : 0;
        any = st.from(0, st.anchor);
        // Stream window: a match within the old tail alone was reported before.
        if (any && st.anchor) {
          st.n = uint32_t(st.anchor);
          any = !st.from(0, st.anchor);
        }
      }
      items_ok = any;
    }
    if (!items_ok) continue;
    // flowint (flowint.rst): operations in rule order on the flow's named
    // integers; a failed check is no match, the changes before it stay.
    if (!ru.flowints.empty()) {
      if (!f) continue;
      std::map<std::string, uint32_t> vals(f->ints.begin(), f->ints.end());
      bool ok = true;
      for (const auto& fi : ru.flowints) {
        using Op = rules::Flowint::Op;
        const bool has = vals.count(fi.name) > 0;
        if (fi.op == Op::kIsSet || fi.op == Op::kNotSet) {
          ok = has == (fi.op == Op::kIsSet);
        } else if (!fi.var.empty() && !vals.count(fi.var)) {
          ok = false;
        } else {
          const uint32_t v = fi.var.empty() ? fi.value : vals[fi.var];
          const uint32_t a = has ? vals[fi.name] : 0;
          switch (fi.op) {
            case Op::kSet: case Op::kAdd: case Op::kSub:
              if (!has && vals.size() >= 4) ok = false;  // four variables per flow (the engine's bound)
              else vals[fi.name] = fi.op == Op::kSet ? v : fi.op == Op::kAdd ? a + v : a - v;
              break;
            case Op::kEq: ok = has && a == v; break;
            case Op::kNe: ok = has && a != v; break;
            case Op::kLt: ok = has && a < v; break;
            case Op::kGt: ok = has && a > v; break;
            case Op::kLe: ok = has && a <= v; break;
            default: ok = has && a >= v; break;
          }
        }
        if (!ok) break;
      }
      f->ints.assign(vals.begin(), vals.end());
      if (!ok) continue;
    }
    // matched: actions
    bool noalert = false;
    for (const auto& fb : ru.flowbits) {
      if (fb.cmd == rules::Flowbit::Cmd::kNoAlert) noalert = true;
      if (!f) continue;
      for (const auto& nm : fb.names) {
        bool has = bit_has(f, nm), want = has;
        if (fb.cmd == rules::Flowbit::Cmd::kSet) want = true;
        if (fb.cmd == rules::Flowbit::Cmd::kUnset) want = false;
        if (fb.cmd == rules::Flowbit::Cmd::kToggle) want = !has;
        if (want && !has && f->bits.size() < 7) f->bits.push_back(nm);
        if (!want && has) f->bits.erase(std::find(f->bits.begin(), f->bits.end(), nm));
      }
    }
    if (noalert) continue;
    if (ru.has_detection_filter && !allow(r, 1, p)) continue;
    if (ru.has_threshold && !allow(r, 0, p)) continue;
    if (h.action == rules::Action::kPass) {
      if (f) f->passed = true;
      out.clear();
      break;
    }
    out.push_back(ru.sid);
  }
  pcre2_match_data_free(md);
  return out;
}

}  // namespace spectre::detect_ref
