// TLS keywords with values (Suricata's tls-keywords page): tls.version,
// tls_cert_expired / tls_cert_valid, tls.cert_notbefore / tls.cert_notafter
// and the legacy tls.subject / tls.issuerdn / tls.fingerprint. Each becomes
// ordinary match items on a TLS buffer, so detection needs nothing new:
//   tls.version:1.2        -> content "|03 03|", depth 2 on (tls.version)
//   tls_cert_expired       -> content "E", depth 1 on (tls.cert_times)
//   tls.cert_notafter:>2015 -> byte_test:14,>,20150101000000,15,string,dec
// (tls.cert_times is 'V'/'E', notBefore and notAfter as YYYYMMDDHHMMSS.)
// Snort's ssl_state / ssl_version -> a pcre over (tls.state) (opt_ssl_flags).
// Sticky buffers and their legacy names are in buffers.cc.
#include <cctype>
#include <cstdio>
#include <initializer_list>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

void push_content(Ctx& c, Buf b, std::string bytes, bool negated) {
  MatchItem it;
  it.kind = MatchItem::Kind::kContent;
  it.buf = b;
  it.content.has_depth = true;
  it.content.depth = int32_t(bytes.size());
  it.content.bytes = std::move(bytes);
  it.content.negated = negated;
  c.r.items.push_back(std::move(it));
}

// tls.version: "1.0".."1.3" or a hex version ("0x7f12").
bool opt_tls_version(Ctx& c, std::string_view v) {
  uint32_t ver = 0;
  if (v == "1.0") ver = 0x0301;
  else if (v == "1.1") ver = 0x0302;
  else if (v == "1.2") ver = 0x0303;
  else if (v == "1.3") ver = 0x0304;
  else if (v.size() > 2 && v.size() <= 6 && (v.substr(0, 2) == "0x" || v.substr(0, 2) == "0X")) {
    for (char ch : v.substr(2)) {
      if (!std::isxdigit(uint8_t(ch))) return fail(c.st, "tls.version: bad value '" + std::string(v) + "'");
      ver = ver * 16 + uint32_t(std::isdigit(uint8_t(ch)) ? ch - '0' : std::tolower(ch) - 'a' + 10);
    }
  } else {
    return fail(c.st, "tls.version: bad value '" + std::string(v) + "' (1.0, 1.1, 1.2, 1.3 or 0xNNNN)");
  }
  push_content(c, kTlsVersionNum, std::string{char(ver >> 8), char(ver & 0xff)}, false);
  return true;
}

// A date as YYYYMMDDHHMMSS, missing fields at their lowest (Suricata's
// formats: YYYY, YYYY-MM, YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS]; "2015" is
// 2015-01-01T00:00:00 as in Suricata).
bool parse_date(std::string_view s, uint64_t& out) {
  static const char* const kSep = "--T::";
  static const uint32_t kMax[] = {9999, 12, 31, 23, 59, 59};
  static const uint32_t kLow[] = {0, 1, 1, 0, 0, 0};
  uint32_t f[6];
  size_t i = 0;
  int n = 0;
  for (; n < 6 && i < s.size(); n++) {
    if (n > 0) {
      if (s[i] != kSep[n - 1] && !(n == 3 && s[i] == ' ')) return false;
      i++;
    }
    size_t w = n == 0 ? 4 : 2, k = 0;
    uint32_t v = 0;
    for (; k < w && i < s.size() && std::isdigit(uint8_t(s[i])); k++, i++) v = v * 10 + uint32_t(s[i] - '0');
    if (k != w || v > kMax[n] || v < kLow[n]) return false;
    f[n] = v;
  }
  if (i != s.size() || n == 0 || n == 4) return false;  // HH without MM is not a format
  out = 0;
  for (int k = 0; k < 6; k++) out = out * (k == 0 ? 1 : 100) + (k < n ? f[k] : kLow[k]);
  return true;
}

void push_cmp(Ctx& c, int32_t offset, ByteOp::Op op, uint64_t value) {
  MatchItem it;
  it.kind = MatchItem::Kind::kByteTest;
  it.buf = kTlsCertTimes;
  it.byte.op = op;
  it.byte.nbytes = 14;
  it.byte.base = 10;
  it.byte.offset = offset;
  it.byte.value = value;
  c.r.items.push_back(std::move(it));
}

// tls.cert_notbefore / notafter: DATE (equal), <DATE, >DATE, DATE<>DATE
// (exclusive), to the second, as Suricata compares them.
bool opt_tls_time(Ctx& c, std::string_view kw, std::string_view v, int32_t offset) {
  uint64_t a, b;
  using Op = ByteOp::Op;
  const std::string bad = std::string(kw) + ": bad date '" + std::string(v) + "'";
  if (size_t r = v.find("<>"); r != std::string_view::npos) {
    if (!parse_date(trim(v.substr(0, r)), a) || !parse_date(trim(v.substr(r + 2)), b)) return fail(c.st, bad);
    push_cmp(c, offset, Op::kGt, a);
    push_cmp(c, offset, Op::kLt, b);
  } else if (!v.empty() && (v[0] == '<' || v[0] == '>')) {
    if (!parse_date(trim(v.substr(1)), a)) return fail(c.st, bad);
    push_cmp(c, offset, v[0] == '<' ? Op::kLt : Op::kGt, a);
  } else {
    if (!parse_date(v, a)) return fail(c.st, bad);
    push_cmp(c, offset, Op::kEq, a);
  }
  return true;
}

// tls.subject:"..." and friends: a case-sensitive substring match, '!' negates.
bool opt_tls_legacy(Ctx& c, std::string_view kw, std::string_view v, Buf b) {
  bool neg = !v.empty() && v[0] == '!';
  if (neg) v = trim(v.substr(1));
  if (v.size() < 2 || v.front() != '"' || v.back() != '"')
    return fail(c.st, std::string(kw) + " needs a quoted value");
  MatchItem it;
  it.kind = MatchItem::Kind::kContent;
  it.buf = b;
  it.content.bytes = unescape(v.substr(1, v.size() - 2));
  it.content.negated = neg;
  if (it.content.bytes.empty()) return fail(c.st, std::string(kw) + ": empty value");
  c.r.items.push_back(std::move(it));
  return true;
}

// Snort's ssl_state / ssl_version: a comma list of names, each maybe '!';
// the list matches when any plain name's bit is set or any '!' name's bit
// is clear in byte `at` of (tls.state) (app_tls.cc). Compiled to a pcre
// over that byte: the class of the byte values that match.
bool opt_ssl_flags(Ctx& c, std::string_view kw, std::string_view v, int at,
                   const std::initializer_list<std::string_view>& names) {
  uint32_t pos = 0, neg = 0;
  for (std::string_view p : split(v, ',')) {
    bool n = !p.empty() && p[0] == '!';
    if (n) p = trim(p.substr(1));
    uint32_t bit = 0, k = 0;
    for (std::string_view nm : names) {
      if (p == nm) bit = 1u << k;
      k++;
    }
    if (!bit) return fail(c.st, std::string(kw) + ": unknown value '" + std::string(p) + "'");
    (n ? neg : pos) |= bit;
  }
  const uint32_t all = (1u << names.size()) - 1;
  std::string cls;
  char hex[16];
  for (uint32_t b = 0; b <= all; b++) {
    if (!((b & pos) || (~b & neg & all))) continue;
    std::snprintf(hex, sizeof hex, "\\x{%02x}", b);
    cls += hex;
  }
  if (cls.empty()) return fail(c.st, std::string(kw) + ": never matches");
  MatchItem it;
  it.kind = MatchItem::Kind::kPcre;
  it.buf = kTlsState;
  it.pcre.pattern = at ? "^[\\x{00}-\\x{ff}][" : "^[";
  it.pcre.pattern += cls;
  it.pcre.pattern += ']';
  c.r.items.push_back(std::move(it));
  return true;
}

}  // namespace

bool opt_tls(Ctx& c, std::string_view n, std::string_view v, bool has_value, bool& handled) {
  handled = true;
  auto need = [&]() { return has_value && !v.empty() ? true : fail(c.st, std::string(n) + " needs a value"); };
  auto none = [&]() { return !has_value ? true : fail(c.st, std::string(n) + " takes no value"); };
  if (n == "tls.version") return need() && opt_tls_version(c, v);
  if (n == "ssl_state")
    return need() && opt_ssl_flags(c, n, v, 0, {"client_hello", "server_hello", "client_keyx", "server_keyx", "unknown"});
  if (n == "ssl_version")
    return need() && opt_ssl_flags(c, n, v, 1, {"sslv2", "sslv3", "tls1.0", "tls1.1", "tls1.2", "tls1.3"});
  if (n == "tls_cert_expired") return none() && (push_content(c, kTlsCertTimes, "E", false), true);
  if (n == "tls_cert_valid") return none() && (push_content(c, kTlsCertTimes, "V", false), true);
  if (n == "tls.cert_notbefore" || n == "tls_cert_notbefore") return need() && opt_tls_time(c, n, v, 1);
  if (n == "tls.cert_notafter" || n == "tls_cert_notafter") return need() && opt_tls_time(c, n, v, 15);
  if (has_value) {  // the legacy forms; without a value these names are no keywords
    if (n == "tls.subject") return opt_tls_legacy(c, n, v, kTlsCertSubject);
    if (n == "tls.issuerdn") return opt_tls_legacy(c, n, v, kTlsCertIssuer);
    if (n == "tls.fingerprint") return opt_tls_legacy(c, n, v, kTlsCertFingerprint);
  }
  handled = false;
  return true;
}

}  // namespace spectre::rules::detail
