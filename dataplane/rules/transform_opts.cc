// Transform keywords (Suricata "Transformations"): to_lowercase, to_uppercase,
// strip_whitespace, compress_whitespace, url_decode, dotprefix,
// header_lowercase, xor:"<hex key>", from_base64[:bytes N, offset N, mode M],
// pcrexform:"<regex>". They follow a sticky buffer and chain in rule order;
// after matches of the buffer they start a new instance of it (the matches
// before keep the earlier form). to_md5/to_sha1/to_sha256 are not supported.
#include <algorithm>
#include <cctype>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

bool hex_key(std::string_view v, std::string& out) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return false;
  v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() % 2) return false;
  for (size_t i = 0; i < v.size(); i += 2) {
    auto hv = [](char ch) { return std::isdigit(uint8_t(ch)) ? ch - '0' : (std::tolower(uint8_t(ch)) - 'a' + 10); };
    if (!std::isxdigit(uint8_t(v[i])) || !std::isxdigit(uint8_t(v[i + 1]))) return false;
    out.push_back(char(hv(v[i]) << 4 | hv(v[i + 1])));
  }
  return true;
}

// from_base64 options: "bytes N", "offset N", "mode strict|rfc4648|rfc2045".
bool b64_opts(Ctx& c, std::string_view v, Transform& t) {
  for (std::string_view p : split(v, ',')) {
    if (p.empty()) continue;
    size_t sp = p.find_first_of(" \t");
    std::string_view k = p.substr(0, sp), val = sp == std::string_view::npos ? "" : trim(p.substr(sp));
    if (!val.empty() && val[0] == ':') val = trim(val.substr(1));
    uint32_t x;
    if (k == "bytes" && parse_u32(val, x) && x > 0) t.b64_bytes = x;
    else if (k == "offset" && parse_u32(val, x)) t.b64_offset = x;
    else if (k == "mode" && (val == "rfc4648" || val == "rfc2045" || val == "strict"))
      t.b64_mode = val == "rfc4648" ? 0 : val == "rfc2045" ? 1 : 2;
    else return fail(c.st, "from_base64: bad option '" + std::string(p) + "'");
  }
  return true;
}

}  // namespace

bool opt_transform(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled) {
  using K = Transform::Kind;
  static constexpr struct { const char* name; K kind; bool value; } kTab[] = {
      {"to_lowercase", K::kToLower, false},   {"to_uppercase", K::kToUpper, false},
      {"strip_whitespace", K::kStripWs, false}, {"compress_whitespace", K::kCompressWs, false},
      {"url_decode", K::kUrlDecode, false},   {"dotprefix", K::kDotPrefix, false},
      {"header_lowercase", K::kHeaderLower, false}, {"xor", K::kXor, true},
      {"from_base64", K::kFromBase64, false}, {"pcrexform", K::kPcreXform, true},
  };
  handled = false;
  if (name == "to_md5" || name == "to_sha1" || name == "to_sha256")
    return handled = true, unsup(c.st, "unsupported keyword: " + std::string(name));
  const auto* e = std::find_if(std::begin(kTab), std::end(kTab), [&](const auto& x) { return name == x.name; });
  if (e == std::end(kTab)) return true;
  handled = true;
  const std::string n(name);
  if (!c.sticky) return unsup(c.st, "unsupported: " + n + " outside a sticky buffer");
  if (e->value && (!has_value || v.empty())) return fail(c.st, n + " needs a value");
  if (!e->value && e->kind != K::kFromBase64 && has_value && !v.empty()) return fail(c.st, n + " takes no value");
  Transform t;
  t.kind = e->kind;
  if (t.kind == K::kXor && !hex_key(v, t.arg)) return fail(c.st, "xor needs a quoted hex key of whole bytes");
  if (t.kind == K::kPcreXform) {
    if (v.size() < 3 || v.front() != '"' || v.back() != '"') return fail(c.st, "pcrexform needs a quoted regex");
    t.arg = std::string(v.substr(1, v.size() - 2));
  }
  if (t.kind == K::kFromBase64 && has_value && !b64_opts(c, v, t)) return false;
  if (c.r.xforms.size() >= 250) return fail(c.st, "too many transform chains");
  // After matches of the buffer (ET Open does this with dotprefix) the
  // following items inspect a new instance: the chain so far plus this one.
  if (!c.cur_xform || c.r.items.size() != c.xform_start) {
    std::vector<Transform> chain = c.cur_xform ? c.r.xforms[c.cur_xform - 1] : std::vector<Transform>{};
    c.r.xforms.push_back(std::move(chain));
    c.cur_xform = uint8_t(c.r.xforms.size());
    c.xform_start = c.r.items.size();
  }
  c.r.xforms[c.cur_xform - 1].push_back(std::move(t));
  return true;
}

}  // namespace spectre::rules::detail
