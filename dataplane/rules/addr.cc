// Address and port expressions of a rule header:
//   expr := 'any' | atom | '$' VAR | '!' expr | '[' item (',' item)* ']'
//   item := ['!'] expr
// A list is the union of its positive items minus its negated items (Suricata
// semantics: [$HOME_NET,!10.0.0.1] is HOME_NET without 10.0.0.1). The result is
// flattened into the (any | include) minus exclude form of IpSet/PortSet; a
// form that does not fit it (e.g. excluding a set that itself has exclusions)
// is reported as unsupported.
#include <arpa/inet.h>

#include <cstring>
#include <set>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

constexpr int kMaxDepth = 32;  // nesting of lists and variables

// Parses one atom (no lists, no '!', no '$') into a range.
bool parse_atom(std::string_view s, IpRange& r, Status& st) {
  std::string a(s);
  // a-b range form.
  if (size_t dash = a.find('-'); dash != std::string::npos) {
    IpRange lo, hi;
    if (!parse_atom(a.substr(0, dash), lo, st) || !parse_atom(a.substr(dash + 1), hi, st)) return false;
    const size_t n = lo.ver == 4 ? 4 : 16;
    if (lo.ver != hi.ver || std::memcmp(lo.lo, hi.hi, n) > 0)
      return fail(st, "bad address range '" + a + "'");
    r = lo;
    std::memcpy(r.hi, hi.hi, 16);
    return true;
  }
  std::string host = a, mask;
  if (size_t slash = a.find('/'); slash != std::string::npos) {
    host = a.substr(0, slash);
    mask = a.substr(slash + 1);
  }
  int bits = -1;
  if (host.find(':') != std::string::npos) {
    if (inet_pton(AF_INET6, host.c_str(), r.lo) != 1) return fail(st, "bad IPv6 address '" + a + "'");
    r.ver = 6;
  } else {
    if (inet_pton(AF_INET, host.c_str(), r.lo) != 1) return fail(st, "bad address '" + a + "'");
    r.ver = 4;
  }
  const int width = r.ver == 4 ? 32 : 128;
  if (mask.empty()) {
    bits = width;
  } else if (r.ver == 4 && mask.find('.') != std::string::npos) {
    uint8_t m[4];
    if (inet_pton(AF_INET, mask.c_str(), m) != 1) return fail(st, "bad netmask in '" + a + "'");
    uint32_t mv = (uint32_t(m[0]) << 24) | (uint32_t(m[1]) << 16) | (uint32_t(m[2]) << 8) | m[3];
    bits = 0;
    while (bits < 32 && (mv & (0x80000000u >> bits))) ++bits;
    if (bits < 32 && (mv << bits) != 0) return fail(st, "non-contiguous netmask in '" + a + "'");
  } else {
    uint32_t b;
    if (!parse_u32(mask, b) || b > uint32_t(width)) return fail(st, "bad prefix length in '" + a + "'");
    bits = int(b);
  }
  const int n = width / 8;
  for (int i = 0; i < n; ++i) {
    int keep = bits - 8 * i;  // network bits in this byte
    uint8_t m = keep >= 8 ? 0xff : keep <= 0 ? 0 : uint8_t(0xff << (8 - keep));
    r.lo[i] = r.lo[i] & m;
    r.hi[i] = r.lo[i] | uint8_t(~m);
  }
  return true;
}

bool parse_atom(std::string_view s, PortRange& r, Status& st) {
  const std::string a(s);
  uint32_t lo = 0, hi = 65535;
  size_t colon = a.find(':');
  bool ok;
  if (colon == std::string::npos) {
    ok = parse_u32(s, lo) && lo <= 65535;
    hi = lo;
  } else {
    std::string_view l = s.substr(0, colon), h = s.substr(colon + 1);
    ok = !(l.empty() && h.empty());
    if (ok && !l.empty()) ok = parse_u32(l, lo) && lo <= 65535;
    if (ok && !h.empty()) ok = parse_u32(h, hi) && hi <= 65535;
    if (ok && lo > hi) return fail(st, "empty port range '" + a + "'");
  }
  if (!ok) return fail(st, "bad port '" + a + "'");
  r.lo = uint16_t(lo);
  r.hi = uint16_t(hi);
  return true;
}

template <class Set>
struct Parser {
  using Range = typename decltype(Set::include)::value_type;
  const std::map<std::string, std::string>& vars;
  const char* what;  // "address" or "port"
  Status& st;
  std::vector<std::string> stack;  // variables being expanded (cycle check)

  static void skip_ws(std::string_view s, size_t& i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }

  bool negate(const Set& in, Set& out) {
    out = Set{};
    if (in.exclude.empty()) {
      if (in.any) return fail(st, std::string("negated 'any' ") + what + " matches nothing");
      out.any = true;
      out.exclude = in.include;
      return true;
    }
    if (in.any) {  // !(any minus E) == E
      out.any = false;
      out.include = in.exclude;
      return true;
    }
    return unsup(st, std::string("unsupported: negation of an ") + what + " list that has exclusions");
  }

  bool combine(std::vector<Set>& pos, std::vector<Set>& neg, Set& out) {
    out = Set{};
    size_t with_excl = 0;
    for (const Set& p : pos) with_excl += !p.exclude.empty();
    if (pos.size() == 1) {
      out = pos[0];
    } else if (with_excl == 0 && !pos.empty()) {
      out.any = false;
      for (const Set& p : pos) {
        if (p.any) out.any = true;
        out.include.insert(out.include.end(), p.include.begin(), p.include.end());
      }
      if (out.any) out.include.clear();
    } else if (!pos.empty()) {
      return unsup(st, std::string("unsupported: ") + what + " list joining a negated group with other entries");
    }
    for (const Set& n : neg) {
      if (!n.exclude.empty())
        return unsup(st, std::string("unsupported: double negation in ") + what + " list");
      if (n.any) return fail(st, std::string("negated 'any' ") + what + " matches nothing");
      out.exclude.insert(out.exclude.end(), n.include.begin(), n.include.end());
    }
    return true;
  }

  bool var(std::string_view name, Set& out, int depth) {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return fail(st, std::string("undefined ") + what + " variable $" + std::string(name));
    for (const std::string& s : stack)
      if (s == name) return fail(st, std::string("variable cycle through $") + std::string(name));
    stack.emplace_back(name);
    const std::string_view v = it->second;
    size_t i = 0;
    bool ok = expr(v, i, out, depth + 1);
    if (ok) {
      skip_ws(v, i);
      if (i != v.size()) ok = fail(st, "junk after value of $" + std::string(name));
    }
    stack.pop_back();
    return ok;
  }

  bool expr(std::string_view s, size_t& i, Set& out, int depth) {
    if (depth > kMaxDepth) return fail(st, std::string(what) + " nested too deeply");
    skip_ws(s, i);
    if (i >= s.size()) return fail(st, std::string("empty ") + what);
    if (s[i] == '!') {
      Set inner;
      ++i;
      return expr(s, i, inner, depth + 1) && negate(inner, out);
    }
    if (s[i] == '[') return list(s, i, out, depth);
    size_t b = i;
    while (i < s.size() && s[i] != ',' && s[i] != ']' && s[i] != '[' && s[i] != ' ' && s[i] != '\t') ++i;
    std::string_view tok = s.substr(b, i - b);
    if (tok.empty()) return fail(st, std::string("empty ") + what + " in list");
    if (tok[0] == '$') return var(tok.substr(1), out, depth);
    out = Set{};
    if (tok == "any") return true;
    Range r;
    if (!parse_atom(tok, r, st)) return false;
    out.any = false;
    out.include.push_back(r);
    return true;
  }

  bool list(std::string_view s, size_t& i, Set& out, int depth) {
    ++i;  // '['
    std::vector<Set> pos, neg;
    for (;;) {
      skip_ws(s, i);
      bool negated = false;
      if (i < s.size() && s[i] == '!') {
        negated = true;
        ++i;
      }
      Set item;
      if (!expr(s, i, item, depth + 1)) return false;
      (negated ? neg : pos).push_back(std::move(item));
      skip_ws(s, i);
      if (i >= s.size()) return fail(st, std::string("unterminated ") + what + " list");
      if (s[i] == ']') {
        ++i;
        break;
      }
      if (s[i] != ',') return fail(st, std::string("expected ',' or ']' in ") + what + " list");
      ++i;
    }
    return combine(pos, neg, out);
  }

  bool parse(std::string_view text, Set& out) {
    size_t i = 0;
    if (!expr(text, i, out, 0)) return false;
    skip_ws(text, i);
    if (i != text.size()) return fail(st, std::string("junk after ") + what + " '" + std::string(text) + "'");
    return true;
  }
};

}  // namespace

bool parse_ip_set(std::string_view text, const Vars& vars, IpSet& out, Status& st) {
  Parser<IpSet> p{vars.address, "address", st, {}};
  return p.parse(text, out);
}

bool parse_port_set(std::string_view text, const Vars& vars, PortSet& out, Status& st) {
  Parser<PortSet> p{vars.port, "port", st, {}};
  return p.parse(text, out);
}

}  // namespace spectre::rules::detail

namespace spectre::rules {

bool parse_address_set(std::string_view text, const Vars& vars, IpSet& out, std::string& err) {
  detail::Status st;
  out = IpSet{};
  if (detail::parse_ip_set(text, vars, out, st)) return true;
  err = st.err;
  return false;
}

}  // namespace spectre::rules
