// Match options: content and its modifiers, pcre, isdataat.
#include <cctype>
#include <cstring>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A modifier value: an integer, or a byte_extract / byte_math variable of
// the content's buffer (slot in `var`).
bool mod_int(Ctx& c, std::string_view name, std::string_view v, int32_t& out, uint8_t& var) {
  var = 0;
  if (parse_i32(v, out)) return true;
  if (is_var_name(v)) {
    out = 0;
    return use_var(c, v, name, var);
  }
  return fail(c.st, "bad " + std::string(name) + " value '" + std::string(v) + "'");
}

// The content the modifier `name` applies to: the last content of the rule
// (Suricata), which must be in the active sticky buffer if one is set.
Content* target_content(Ctx& c, std::string_view name) {
  if (c.last_content < 0) {
    fail(c.st, std::string(name) + " needs a preceding content");
    return nullptr;
  }
  MatchItem& it = c.r.items[size_t(c.last_content)];
  if (c.sticky && it.buf != c.cur) {
    fail(c.st, std::string(name) + " needs a preceding content in " + buf_name(c.cur));
    return nullptr;
  }
  return &it.content;
}

bool apply_modifier(Ctx& c, Content& ct, std::string_view n, std::string_view v, bool has_value) {
  Status& st = c.st;
  const int32_t len = int32_t(ct.bytes.size());
  const std::string ns(n);
  auto no_value = [&]() { return has_value && !v.empty() ? fail(st, ns + " takes no value") : true; };
  auto relative_conflict = [&](bool relative) {
    if (ct.startswith) return fail(st, "startswith can't be mixed with " + ns + " on one content");
    if (relative ? (ct.has_offset || ct.has_depth) : (ct.has_distance || ct.has_within))
      return fail(st, "can't mix relative (distance/within) and absolute (offset/depth) modifiers on one content");
    return true;
  };
  int32_t x = 0;
  if (n == "rawbytes") return no_value();  // accepted, no effect
  if (n == "nocase") {
    if (!no_value()) return false;
    if (ct.nocase) return fail(st, "multiple nocase on one content");
    ct.nocase = true;
  } else if (n == "fast_pattern") {
    // fast_pattern, fast_pattern:only and fast_pattern:offset,length all
    // select this content as the prefilter; the part selection is ignored.
    if (has_value && !v.empty() && v != "only") {
      auto p = split(v, ',');
      int32_t a, b;
      if (p.size() != 2 || !parse_i32(p[0], a) || !parse_i32(p[1], b) || a < 0 || b <= 0)
        return fail(st, "bad fast_pattern value '" + std::string(v) + "'");
    }
    if (ct.fast_pattern) return fail(st, "multiple fast_pattern on one content");
    if (c.fast_patterns++ > 0) return fail(st, "fast_pattern set on more than one content");
    ct.fast_pattern = true;
  } else if (n == "offset") {
    if (!mod_int(c, n, v, x, ct.var_offset)) return false;
    if (ct.has_offset) return fail(st, "multiple offset on one content");
    if (x < 0) return fail(st, "offset must not be negative");
    if (!relative_conflict(false)) return false;
    ct.has_offset = true;
    ct.offset = x;
  } else if (n == "depth") {
    if (!mod_int(c, n, v, x, ct.var_depth)) return false;
    if (ct.has_depth) return fail(st, "multiple depth on one content");
    if (!relative_conflict(false)) return false;
    if (x < len && !ct.var_depth) return fail(st, "depth " + std::to_string(x) + " is smaller than the content length " + std::to_string(len));
    ct.has_depth = true;
    ct.depth = x;
  } else if (n == "distance") {
    if (!mod_int(c, n, v, x, ct.var_distance)) return false;
    if (ct.has_distance) return fail(st, "multiple distance on one content");
    if (!relative_conflict(true)) return false;
    ct.has_distance = true;
    ct.distance = x;
  } else if (n == "within") {
    if (!mod_int(c, n, v, x, ct.var_within)) return false;
    if (ct.has_within) return fail(st, "multiple within on one content");
    if (!relative_conflict(true)) return false;
    if (x < len && !ct.var_within) return fail(st, "within " + std::to_string(x) + " is smaller than the content length " + std::to_string(len));
    ct.has_within = true;
    ct.within = x;
  } else if (n == "startswith") {
    if (!no_value()) return false;
    if (ct.startswith) return fail(st, "multiple startswith on one content");
    if (ct.has_offset || ct.has_depth || ct.has_distance || ct.has_within)
      return fail(st, "startswith can't be mixed with offset, depth, distance or within on one content");
    ct.startswith = true;  // same as offset 0, depth len
    ct.has_depth = true;
    ct.depth = len;
  } else if (n == "endswith") {
    if (!no_value()) return false;
    if (ct.endswith) return fail(st, "multiple endswith on one content");
    ct.endswith = true;
  } else {
    return unsup(st, "unsupported content modifier: " + ns);
  }
  return true;
}

}  // namespace

bool decode_content(std::string_view s, std::string& out, Status& st) {
  out.clear();
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (ch == '|') {
      size_t end = s.find('|', i + 1);
      if (end == std::string_view::npos) return fail(st, "unterminated |hex| block in content");
      int hi = -1;
      for (size_t j = i + 1; j < end; ++j) {
        if (s[j] == ' ' || s[j] == '\t') {
          if (hi >= 0) return fail(st, "odd number of hex digits in content");
          continue;
        }
        const int d = hexval(s[j]);
        if (d < 0) return fail(st, std::string("bad hex digit '") + s[j] + "' in content");
        if (hi < 0) {
          hi = d;
        } else {
          out.push_back(char(hi << 4 | d));
          hi = -1;
        }
      }
      if (hi >= 0) return fail(st, "odd number of hex digits in content");
      i = end;
    } else if (ch == '\\') {
      if (i + 1 >= s.size() || !std::strchr("\";\\:|", s[i + 1]))
        return fail(st, "bad escape in content (only \\\" \\; \\\\ \\: \\| are valid)");
      out.push_back(s[++i]);
    } else if (ch == '"') {
      return fail(st, "unescaped '\"' in content");
    } else {
      out.push_back(ch);
    }
  }
  if (out.empty()) return fail(st, "empty content");
  return true;
}

bool opt_content(Ctx& c, std::string_view v) {
  MatchItem it;
  it.kind = MatchItem::Kind::kContent;
  it.buf = c.cur;
  if (!v.empty() && v[0] == '!') {
    it.content.negated = true;
    v = trim(v.substr(1));
  }
  if (v.empty() || v[0] != '"') return fail(c.st, "content needs a quoted value");
  size_t q = 1;
  while (q < v.size() && v[q] != '"') q += v[q] == '\\' ? 2 : 1;
  if (q >= v.size()) return fail(c.st, "unterminated content string");
  if (!decode_content(v.substr(1, q - 1), it.content.bytes, c.st)) return false;
  std::string_view rest = trim(v.substr(q + 1));
  c.r.items.push_back(std::move(it));
  c.last_content = int(c.r.items.size() - 1);
  if (rest.empty()) return true;
  // Snort 3: content:"x",depth 4,nocase,fast_pattern
  if (rest[0] != ',') return fail(c.st, "junk after content string");
  auto parts = split(rest.substr(1), ',');
  Content& ct = c.r.items.back().content;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view p = parts[i];
    size_t sp = p.find_first_of(" \t");
    std::string_view name = sp == std::string_view::npos ? p : p.substr(0, sp);
    std::string_view val = sp == std::string_view::npos ? std::string_view() : trim(p.substr(sp));
    if (name == "fast_pattern_offset" || name == "fast_pattern_length") continue;
    if (!apply_modifier(c, ct, name, val, !val.empty())) return false;
  }
  return true;
}

bool opt_content_modifier(Ctx& c, std::string_view name, std::string_view v, bool has_value) {
  if (name == "rawbytes" && c.last_content < 0) return true;
  Content* ct = target_content(c, name);
  return ct && apply_modifier(c, *ct, name, v, has_value);
}

bool opt_pcre(Ctx& c, std::string_view v) {
  Status& st = c.st;
  MatchItem it;
  it.kind = MatchItem::Kind::kPcre;
  Pcre& p = it.pcre;
  if (!v.empty() && v[0] == '!') {
    p.negated = true;
    v = trim(v.substr(1));
  }
  // Quoted as documented; Suricata also reads an unquoted /pattern/flags.
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  else if (v.empty() || (v[0] != '/' && v[0] != '!')) return fail(st, "pcre needs a quoted value");
  if (!v.empty() && v[0] == '!') {
    if (p.negated) return fail(st, "pcre negated twice");
    p.negated = true;
    v.remove_prefix(1);
  }
  const size_t last = v.rfind('/');
  if (v.empty() || v[0] != '/' || last == 0 || last == std::string_view::npos)
    return fail(st, "pcre must look like \"/pattern/flags\"");
  p.pattern = std::string(v.substr(1, last - 1));
  if (p.pattern.empty()) return fail(st, "empty pcre pattern");
  bool has_buf = false;
  Buf buf = c.cur;
  auto set_buf = [&](Buf b, char f) {
    if (has_buf) return fail(st, std::string("pcre has more than one buffer flag (") + f + ")");
    if (c.sticky && b != c.cur && c.cur == kFileData && (b == kHttpResponseBody || b == kHttpRequestBody))
      b = kFileData;  // file.data is the body of either direction: P and Q name it too (ET Open 2071 in phishing)
    if (c.sticky && b != c.cur)
      return fail(st, std::string("pcre flag ") + f + " conflicts with sticky buffer " + buf_name(c.cur));
    has_buf = true;
    buf = b;
    return true;
  };
  bool ungreedy = false, anchored = false;
  for (char f : v.substr(last + 1)) {
    bool ok = true;
    switch (f) {
      case 'i': p.caseless = true; break;
      case 's': p.dotall = true; break;
      case 'm': p.multiline = true; break;
      case 'x': p.extended = true; break;
      case 'R': p.relative = true; break;
      case 'G': ungreedy = true; break;
      case 'B': case 'O': break;  // rawbytes / match-limit override: no effect
      case 'U': ok = set_buf(kHttpUri, f); break;
      case 'I': ok = set_buf(kHttpUriRaw, f); break;
      case 'M': ok = set_buf(kHttpMethod, f); break;
      case 'H': ok = set_buf(kHttpHeader, f); break;
      case 'C': ok = set_buf(kHttpCookie, f); break;
      case 'P': ok = set_buf(kHttpRequestBody, f); break;
      case 'Q': ok = set_buf(kHttpResponseBody, f); break;
      case 'S': ok = set_buf(kHttpStatCode, f); break;
      case 'Y': ok = set_buf(kHttpStatMsg, f); break;
      case 'V': ok = set_buf(kHttpUserAgent, f); break;
      case 'W': ok = set_buf(kHttpHost, f); break;
      case 'A': anchored = true; break;
      case 'E': case 'D': case 'Z': case 'K':
        return unsup(st, std::string("unsupported: pcre flag ") + f);
      default:
        return fail(st, std::string("unknown pcre flag '") + f + "'");
    }
    if (!ok) return false;
  }
  if (ungreedy) {
    // PCRE2 inline option; verbs like (*UTF) must stay first, so leave those.
    if (p.pattern.starts_with("(*")) return unsup(st, "unsupported: pcre flag G with a leading (*VERB)");
    p.pattern = "(?U)" + p.pattern;
  }
  if (anchored) {
    // Snort's A: the match starts at the buffer's start (as ^ without m).
    if (p.relative) return unsup(st, "unsupported: pcre flags A and R together");
    if (p.pattern.starts_with("(*")) return unsup(st, "unsupported: pcre flag A with a leading (*VERB)");
    p.pattern = "\\A(?:" + p.pattern + (p.extended ? "\n)" : ")");  // x: a trailing comment ends at the newline
  }
  it.buf = buf;
  c.r.items.push_back(std::move(it));
  return true;
}

bool opt_isdataat(Ctx& c, std::string_view v) {
  MatchItem it;
  it.kind = MatchItem::Kind::kIsDataAt;
  it.buf = c.cur;
  auto parts = split(v, ',');
  std::string_view n = parts[0];
  if (!n.empty() && n[0] == '!') {
    it.isdataat.negated = true;
    n = trim(n.substr(1));
  }
  uint32_t x = 0;
  if (is_var_name(n)) {
    if (!use_var(c, n, "isdataat", it.isdataat.var_n)) return false;
  } else if (!parse_u32(n, x) || x > 65535) {
    return fail(c.st, "bad isdataat value '" + std::string(v) + "'");
  }
  it.isdataat.n = int32_t(x);
  for (size_t i = 1; i < parts.size(); ++i) {
    if (parts[i] == "relative") it.isdataat.relative = true;
    else if (parts[i] == "rawbytes") continue;
    else return fail(c.st, "bad isdataat option '" + std::string(parts[i]) + "'");
  }
  c.r.items.push_back(std::move(it));
  return true;
}

}  // namespace spectre::rules::detail
