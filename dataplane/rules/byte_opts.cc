// byte_test and byte_jump (Suricata's payload keywords; formats from its
// documentation):
//   byte_test:<nbytes>, [!]<op>, <value>, <offset> [, relative] [, big|little]
//             [, string, hex|dec|oct] [, bitmask <mask>]
//   byte_jump:<nbytes>, <offset> [, relative] [, multiplier <m>] [, big|little]
//             [, string, hex|dec|oct] [, align] [, from_beginning] [, from_end]
//             [, post_offset <n>] [, bitmask <mask>]
//   base64_decode[:bytes N][, offset N][, relative]; base64_data
//   byte_extract:<nbytes>, <offset>, <name> [, relative] [, multiplier <m>]
//             [, big|little] [, string [, hex|dec|oct]] [, align 2|4] [, bitmask <mask>]
//   byte_math:bytes <n>, offset <o>, oper <+|-|*|/|<<|>>>, rvalue <v|var>,
//             result <name> [, relative] [, endian big|little] [, string hex|dec|oct] [, bitmask <mask>]
// Variables (the names above) replace numbers in later byte_test value and
// offset, byte_jump offset, isdataat and content offset/depth/distance/within
// of the same buffer. `dce` (Snort): the byte order is the DCERPC PDU's
// (its data representation, (dcerpc.hdr)[22]); the item reads the stub data
// (dce_stub_data) when no sticky buffer is active, and fails outside DCERPC
// transactions.
#include <cctype>
#include <charconv>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

bool is_name(std::string_view v) { return is_var_name(v); }

// Decimal or 0x-hex unsigned 64-bit number.
bool parse_u64(std::string_view s, uint64_t& v) {
  s = trim(s);
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  return ec == std::errc() && p == s.data() + s.size();
}

// Number, or (when `var` is given) a variable of the active buffer.
bool num_i32(Ctx& c, std::string_view kw, std::string_view what, std::string_view v, int32_t& out,
             uint8_t* var = nullptr) {
  if (parse_i32(v, out)) return true;
  if (is_name(v)) {
    if (!var) return unsup(c.st, "unsupported: variable '" + std::string(v) + "' in " + std::string(kw) + " " + std::string(what));
    out = 0;
    return use_var(c, v, kw, *var);
  }
  return fail(c.st, "bad " + std::string(kw) + " " + std::string(what) + " '" + std::string(v) + "'");
}

// The options after the fixed fields, shared by both keywords. `jump`: byte_jump.
bool common_opts(Ctx& c, std::string_view kw, const std::vector<std::string_view>& parts, size_t from,
                 ByteOp& b, bool jump) {
  bool endian = false;
  for (size_t i = from; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    size_t sp = p.find_first_of(" \t");
    std::string_view name = sp == std::string_view::npos ? p : p.substr(0, sp);
    std::string_view val = sp == std::string_view::npos ? std::string_view() : trim(p.substr(sp));
    auto no_val = [&]() { return val.empty() ? true : fail(c.st, std::string(kw) + ": " + std::string(name) + " takes no value"); };
    if (name == "relative") {
      if (!no_val()) return false;
      b.relative = true;
    } else if (name == "big" || name == "little") {
      if (!no_val()) return false;
      if (endian) return fail(c.st, std::string(kw) + ": endianness given twice");
      endian = true;
      b.little = name == "little";
    } else if (name == "string") {
      // "string, dec" (Suricata) or "string dec"; "string" alone: decimal (Snort 3's default)
      std::string_view t = val;
      auto is_base = [](std::string_view x) { return x == "hex" || x == "dec" || x == "oct"; };
      if (t.empty() && i + 1 < parts.size() && is_base(parts[i + 1])) t = parts[++i];
      if (t.empty()) b.base = 10;
      else if (t == "hex") b.base = 16;
      else if (t == "dec") b.base = 10;
      else if (t == "oct") b.base = 8;
      else return fail(c.st, std::string(kw) + ": string needs hex, dec or oct");
    } else if (name == "hex" || name == "dec" || name == "oct") {  // Snort 2 spelling without "string"
      b.base = name == "hex" ? 16 : name == "dec" ? 10 : 8;
    } else if (name == "bitmask") {
      if (!parse_u64(val, b.bitmask) || b.bitmask == 0) return fail(c.st, std::string(kw) + ": bad bitmask");
    } else if (name == "dce") {
      if (!no_val()) return false;
      if (endian) return fail(c.st, std::string(kw) + ": dce with an endianness");
      endian = true;
      b.dce = true;
    } else if (jump && name == "multiplier") {
      uint32_t m;
      if (!parse_u32(val, m) || m == 0 || m > 65535) return fail(c.st, "byte_jump: bad multiplier");
      b.multiplier = m;
    } else if (jump && name == "align") {
      if (!no_val()) return false;
      b.align = true;
    } else if (jump && name == "from_beginning") {
      if (!no_val()) return false;
      b.from_beginning = true;
    } else if (jump && name == "from_end") {
      if (!no_val()) return false;
      b.from_end = true;
    } else if (jump && name == "post_offset") {
      if (!num_i32(c, kw, "post_offset", val, b.post_offset)) return false;
    } else {
      return fail(c.st, std::string(kw) + ": unknown option '" + std::string(p) + "'");
    }
  }
  if (b.from_beginning && b.from_end) return fail(c.st, "byte_jump: from_beginning and from_end");
  if (b.base && b.little) return fail(c.st, std::string(kw) + ": string with little endian");
  const uint32_t max = b.base ? 20 : 8;
  // 0 bytes: byte_jump from_end reads nothing; else a string number runs to
  // the buffer end (ET Open: `http.content_len; byte_test:0,=,0,0,string,dec`).
  if (b.nbytes > max || (b.nbytes == 0 && !b.from_end && !b.base))
    return fail(c.st, std::string(kw) + ": " + std::to_string(b.nbytes) + " bytes (1.." + std::to_string(max) + ")");
  return true;
}

bool push(Ctx& c, MatchItem::Kind k, const ByteOp& b) {
  MatchItem it;
  it.kind = k;
  it.buf = b.dce && c.cur == kPayload ? kDcerpcStubData : c.cur;
  it.byte = b;
  c.r.items.push_back(std::move(it));
  return true;
}

bool nbytes_of(Ctx& c, std::string_view kw, std::string_view v, ByteOp& b) {
  uint32_t n;
  if (parse_u32(v, n) && n <= 255) {
    b.nbytes = uint8_t(n);
    return true;
  }
  if (is_name(v)) return unsup(c.st, "unsupported: variable '" + std::string(v) + "' in " + std::string(kw));
  return fail(c.st, "bad " + std::string(kw) + " byte count '" + std::string(v) + "'");
}

}  // namespace

bool opt_byte_test(Ctx& c, std::string_view v) {
  auto parts = split(v, ',');
  if (parts.size() < 4) return fail(c.st, "byte_test needs <bytes>,<op>,<value>,<offset>");
  ByteOp b;
  if (!nbytes_of(c, "byte_test", parts[0], b)) return false;
  std::string_view op = parts[1];
  if (!op.empty() && op[0] == '!') {
    b.negated = true;
    op = trim(op.substr(1));
    if (op.empty()) op = "=";  // Snort: "!" alone is "not equal"
  }
  using Op = ByteOp::Op;
  if (op == "<") b.op = Op::kLt;
  else if (op == ">") b.op = Op::kGt;
  else if (op == "=") b.op = Op::kEq;
  else if (op == "<=") b.op = Op::kLe;
  else if (op == ">=") b.op = Op::kGe;
  else if (op == "&") b.op = Op::kAnd;
  else if (op == "^") b.op = Op::kXor;
  else return fail(c.st, "byte_test: bad operator '" + std::string(parts[1]) + "'");
  if (is_name(parts[2])) {
    if (!use_var(c, parts[2], "byte_test", b.var_value)) return false;
  } else if (!parse_u64(parts[2], b.value)) {
    return fail(c.st, "byte_test: bad value '" + std::string(parts[2]) + "'");
  }
  if (!num_i32(c, "byte_test", "offset", parts[3], b.offset, &b.var_offset)) return false;
  return common_opts(c, "byte_test", parts, 4, b, false) && push(c, MatchItem::Kind::kByteTest, b);
}

bool opt_byte_jump(Ctx& c, std::string_view v) {
  auto parts = split(v, ',');
  if (parts.size() < 2) return fail(c.st, "byte_jump needs <bytes>,<offset>");
  ByteOp b;
  if (!nbytes_of(c, "byte_jump", parts[0], b)) return false;
  if (!num_i32(c, "byte_jump", "offset", parts[1], b.offset, &b.var_offset)) return false;
  return common_opts(c, "byte_jump", parts, 2, b, true) && push(c, MatchItem::Kind::kByteJump, b);
}

bool parse_u32_max(std::string_view s, uint32_t max, uint32_t& out) {
  return parse_u32(trim(s), out) && out <= max;
}

void push_byte_test(Ctx& c, Buf b, int32_t off, uint8_t nbytes, ByteOp::Op op, uint64_t v, bool neg) {
  MatchItem it;
  it.kind = MatchItem::Kind::kByteTest;
  it.buf = b;
  it.byte.op = op;
  it.byte.nbytes = nbytes;
  it.byte.offset = off;
  it.byte.value = v;
  it.byte.negated = neg;
  c.r.items.push_back(std::move(it));
}

bool push_uint_cmp(Ctx& c, Buf b, std::string_view kw, std::string_view v, int32_t off, uint8_t nbytes,
                   uint32_t max) {
  using Op = ByteOp::Op;
  v = trim(v);
  uint32_t lo = 0, hi = 0;
  const std::string bad = std::string(kw) + ": bad value '" + std::string(v) + "'";
  if (size_t q = v.find('-'); q != std::string_view::npos && q > 0) {
    if (!parse_u32_max(v.substr(0, q), max, lo) || !parse_u32_max(v.substr(q + 1), max, hi) || lo >= hi)
      return fail(c.st, bad);
    push_byte_test(c, b, off, nbytes, Op::kGt, lo);
    push_byte_test(c, b, off, nbytes, Op::kLt, hi);
    return true;
  }
  Op op = Op::kEq;
  bool neg = false;
  if (v.starts_with("<=")) op = Op::kLe, v = v.substr(2);
  else if (v.starts_with(">=")) op = Op::kGe, v = v.substr(2);
  else if (v.starts_with("<")) op = Op::kLt, v = v.substr(1);
  else if (v.starts_with(">")) op = Op::kGt, v = v.substr(1);
  else if (v.starts_with("!")) neg = true, v = v.substr(1);
  else if (v.starts_with("=")) v = v.substr(1);
  if (!parse_u32_max(v, max, lo)) return fail(c.st, bad);
  push_byte_test(c, b, off, nbytes, op, lo, neg);
  return true;
}

bool is_var_name(std::string_view v) { return !v.empty() && (std::isalpha(uint8_t(v[0])) || v[0] == '_'); }

bool use_var(Ctx& c, std::string_view name, std::string_view kw, uint8_t& slot) {
  for (size_t i = 0; i < c.r.byte_vars.size(); i++) {
    if (c.r.byte_vars[i] != name) continue;
    if (c.var_chain[i] != (uint32_t(c.cur) << 8 | c.cur_xform))
      return unsup(c.st, "unsupported: variable '" + std::string(name) + "' in " + std::string(kw) +
                             " of another buffer than its byte_extract/byte_math");
    slot = uint8_t(i + 1);
    return true;
  }
  return fail(c.st, "unknown variable '" + std::string(name) + "' in " + std::string(kw) +
                        " (no byte_extract/byte_math defines it before)");
}

namespace {
// Declares `name` as the next variable of the active buffer.
bool new_var(Ctx& c, std::string_view kw, std::string_view name, uint8_t& slot) {
  if (!is_var_name(name)) return fail(c.st, std::string(kw) + ": bad variable name '" + std::string(name) + "'");
  for (const auto& v : c.r.byte_vars)
    if (v == name) return fail(c.st, std::string(kw) + ": variable '" + std::string(name) + "' defined twice");
  if (c.r.byte_vars.size() >= kMaxByteVars)
    return fail(c.st, std::string(kw) + ": more than " + std::to_string(kMaxByteVars) + " variables");
  c.r.byte_vars.emplace_back(name);
  c.var_chain.push_back(uint32_t(c.cur) << 8 | c.cur_xform);
  slot = uint8_t(c.r.byte_vars.size());
  return true;
}
}  // namespace

bool opt_byte_extract(Ctx& c, std::string_view v) {
  auto parts = split(v, ',');
  if (parts.size() < 3) return fail(c.st, "byte_extract needs <bytes>,<offset>,<name>");
  ByteOp b;
  if (!nbytes_of(c, "byte_extract", parts[0], b)) return false;
  if (!num_i32(c, "byte_extract", "offset", parts[1], b.offset)) return false;
  std::vector<std::string_view> rest;  // the options common_opts knows, after align is taken out
  for (size_t i = 3; i < parts.size(); i++) {
    std::string_view p = parts[i];
    if (p.starts_with("align")) {
      uint32_t a;
      if (!parse_u32(trim(p.substr(5)), a) || (a != 2 && a != 4)) return fail(c.st, "byte_extract: align must be 2 or 4");
      b.align_to = uint8_t(a);
    } else if (p.starts_with("multiplier")) {
      uint32_t m;
      if (!parse_u32(trim(p.substr(10)), m) || m == 0 || m > 65535) return fail(c.st, "byte_extract: bad multiplier");
      b.multiplier = m;
    } else {
      rest.push_back(p);
    }
  }
  rest.insert(rest.begin(), parts.begin(), parts.begin() + 3);
  if (!common_opts(c, "byte_extract", rest, 3, b, false)) return false;
  if (b.nbytes == 0) return fail(c.st, "byte_extract: 0 bytes");
  return new_var(c, "byte_extract", parts[2], b.var_out) && push(c, MatchItem::Kind::kByteExtract, b);
}

bool opt_byte_math(Ctx& c, std::string_view v) {
  ByteOp b;
  bool has_bytes = false, has_offset = false, has_oper = false, has_rvalue = false;
  std::string_view result;
  std::vector<std::string_view> rest{"", ""};  // common_opts reads from index 2
  for (std::string_view p : split(v, ',')) {
    const size_t sp = p.find_first_of(" \t");
    std::string_view k = p.substr(0, sp), val = sp == std::string_view::npos ? "" : trim(p.substr(sp));
    if (k == "bytes") {
      if (!nbytes_of(c, "byte_math", val, b)) return false;
      has_bytes = true;
    } else if (k == "offset") {
      if (!num_i32(c, "byte_math", "offset", val, b.offset)) return false;
      has_offset = true;
    } else if (k == "oper") {
      if (val == "+" || val == "-" || val == "*" || val == "/") b.math_op = uint8_t(val[0]);
      else if (val == "<<") b.math_op = '<';
      else if (val == ">>") b.math_op = '>';
      else return fail(c.st, "byte_math: bad oper '" + std::string(val) + "'");
      has_oper = true;
    } else if (k == "rvalue") {
      if (is_name(val)) {
        if (!use_var(c, val, "byte_math rvalue", b.var_value)) return false;
      } else if (!parse_u64(val, b.value) || b.value > 0xffffffffu) {
        return fail(c.st, "byte_math: bad rvalue '" + std::string(val) + "'");
      }
      has_rvalue = true;
    } else if (k == "result") {
      result = val;
    } else if (k == "endian") {
      rest.push_back(val);  // big | little
    } else {
      rest.push_back(p);
    }
  }
  if (!has_bytes || !has_offset || !has_oper || !has_rvalue || result.empty())
    return fail(c.st, "byte_math needs bytes, offset, oper, rvalue and result");
  if (!common_opts(c, "byte_math", rest, 2, b, false)) return false;
  if (b.nbytes == 0 || (!b.base && b.nbytes > 4)) return fail(c.st, "byte_math: bytes must be 1..4 (binary) or 1..10 (string)");
  return new_var(c, "byte_math", result, b.var_out) && push(c, MatchItem::Kind::kByteMath, b);
}

bool opt_base64_decode(Ctx& c, std::string_view v) {
  MatchItem it;
  it.kind = MatchItem::Kind::kBase64Decode;
  it.buf = c.cur;
  for (std::string_view p : split(v, ',')) {
    if (p.empty()) continue;
    size_t sp = p.find_first_of(" \t");
    std::string_view k = p.substr(0, sp), val = sp == std::string_view::npos ? "" : trim(p.substr(sp));
    uint32_t x = 0;
    if (k == "relative" && val.empty()) it.byte.relative = true;
    else if (k == "bytes" && parse_u32(val, x) && x > 0) it.b64_bytes = x;
    else if (k == "offset" && parse_u32(val, x)) it.b64_offset = x;
    else return fail(c.st, "base64_decode: bad option '" + std::string(p) + "'");
  }
  if (c.b64_data) return fail(c.st, "base64_decode after base64_data");
  c.r.items.push_back(std::move(it));
  c.b64_decode = true;
  return true;
}

bool opt_base64_data(Ctx& c) {
  if (!c.b64_decode) return fail(c.st, "base64_data needs a base64_decode before it in its buffer");
  if (c.b64_data) return fail(c.st, "base64_data given twice");
  MatchItem it;
  it.kind = MatchItem::Kind::kBase64Data;
  it.buf = c.cur;
  c.r.items.push_back(std::move(it));
  c.b64_data = true;
  return true;
}

}  // namespace spectre::rules::detail
