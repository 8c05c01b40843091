// Kerberos keywords with values (Suricata's kerberos-keywords page), rewritten
// as byte_test / content / pcre items on the internal buffers of each krb5
// message (app_krb5.cc). (krb5.hdr), 10 bytes:
//   [0] message type, [1] has an error code, [2..5] error code (big endian),
//   [6] has a reply encryption, [7] it is weak, [8] has a ticket encryption,
//   [9] it is weak.
// (krb5.ticket_etype): the ticket's etype as decimal digits ("-128", "23").
//   krb5_msg_type:10 / AS_REQ / >11    -> byte_test:1,=,10,0 (or the operator)
//   krb5_err_code:25                   -> byte_test:1,=,1,1; byte_test:4,=,25,2
//   krb5.ticket_encryption:weak        -> byte_test:1,=,1,8; byte_test:1,=,1,9
//   krb5.ticket_encryption:!weak       -> byte_test:1,=,1,8; byte_test:1,=,0,9
//   krb5.ticket_encryption:rc4-hmac,18 -> pcre:"/^(?:23|18)$/" on (krb5.ticket_etype)
//   app-layer-event:krb5.weak_encryption -> byte_test:1,=,1,7
//   app-layer-event:krb5.malformed_data -> byte_test:1,=,0,0 (app_krb5.cc
//     raises it as a tx of its own with (krb5.hdr) all zero)
// Numbers take Suricata's unsigned forms: N, <N, >N, <=N, >=N, !N, N-M
// (exclusive). As in Suricata an etype list has no '!' per item (a negative
// number is a negative etype), only "!weak" negates. The sticky buffers
// (krb5_cname, krb5_sname) are in buffers.cc.
#include <cctype>
#include <cstdint>
#include <vector>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

using Op = ByteOp::Op;

void push_test(Ctx& c, int32_t off, uint8_t nbytes, Op op, uint64_t v, bool neg = false) {
  push_byte_test(c, kKrb5Hdr, off, nbytes, op, v, neg);
}

// An unsigned comparison of `nbytes` at `off`.
bool push_cmp(Ctx& c, std::string_view kw, std::string_view v, int32_t off, uint8_t nbytes, uint32_t max) {
  return push_uint_cmp(c, kKrb5Hdr, kw, v, off, nbytes, max);
}

bool opt_msg_type(Ctx& c, std::string_view v) {
  static const std::pair<const char*, uint8_t> kNames[] = {
      {"AS_REQ", 10}, {"AS_REP", 11}, {"TGS_REQ", 12}, {"TGS_REP", 13}, {"AP_REQ", 14}, {"AP_REP", 15},
      {"SAFE", 20},   {"PRIV", 21},   {"CRED", 22},    {"ERROR", 30}};
  v = trim(v);
  for (auto& [n, t] : kNames) {
    std::string_view nv = n;
    bool eq = nv.size() == v.size();
    for (size_t i = 0; eq && i < nv.size(); i++) eq = std::toupper(uint8_t(v[i])) == nv[i];
    if (eq) {
      push_test(c, 0, 1, Op::kEq, t);
      return true;
    }
  }
  return push_cmp(c, "krb5_msg_type", v, 0, 1, 255);
}

// Suricata's etype names (kerberos-parser's), or a signed number.
bool etype_value(std::string_view s, int32_t& out) {
  static const std::pair<const char*, int32_t> kNames[] = {
      {"des-cbc-crc", 1}, {"des-cbc-md4", 2}, {"des-cbc-md5", 3}, {"des3-cbc-md5", 5}, {"des3-cbc-sha1", 7},
      {"dsaWithSHA1-CmsOID", 9}, {"md5WithRSAEncryption-CmsOID", 10}, {"sha1WithRSAEncryption-CmsOID", 11},
      {"rc2CBC-EnvOID", 12}, {"rsaEncryption-EnvOID", 13}, {"rsaES-OAEP-ENV-OID", 14},
      {"des-ede3-cbc-Env-OID", 15}, {"des3-cbc-sha1-kd", 16}, {"aes128-cts-hmac-sha1-96", 17},
      {"aes256-cts-hmac-sha1-96", 18}, {"aes128-cts-hmac-sha256-128", 19}, {"aes256-cts-hmac-sha384-192", 20},
      {"rc4-hmac", 23}, {"rc4-hmac-exp", 24}, {"camellia128-cts-cmac", 25}, {"camellia256-cts-cmac", 26},
      {"subkey-keymaterial", 65}, {"rc4-md4", -128}, {"rc4-plain2", -129}, {"rc4-lm", -130}, {"rc4-sha", -131},
      {"des-plain", -132}, {"rc4-hmac-OLD", -133}, {"rc4-plain-OLD", -134}, {"rc4-hmac-OLD-exp", -135},
      {"rc4-plain-OLD-exp", -136}, {"rc4-plain", -140}, {"rc4-plain-exp", -141}};
  for (auto& [n, v] : kNames)
    if (s == n) return out = v, true;
  return parse_i32(s, out);
}

bool opt_ticket_encryption(Ctx& c, std::string_view v) {
  v = trim(v);
  if (v == "weak" || v == "!weak") {
    push_test(c, 8, 1, Op::kEq, 1);
    push_test(c, 9, 1, Op::kEq, v == "weak" ? 1 : 0);
    return true;
  }
  // Items separated by commas and/or spaces.
  std::string alt;
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && (v[i] == ' ' || v[i] == ',')) i++;
    size_t j = i;
    while (j < v.size() && (std::isalnum(uint8_t(v[j])) || v[j] == '-')) j++;
    if (j == i) {
      if (i < v.size()) return fail(c.st, "krb5.ticket_encryption: bad item at '" + std::string(v.substr(i)) + "'");
      break;
    }
    int32_t e;
    if (!etype_value(v.substr(i, j - i), e))
      return fail(c.st, "krb5.ticket_encryption: '" + std::string(v.substr(i, j - i)) + "' is not an encryption type");
    if (!alt.empty()) alt += '|';
    alt += std::to_string(e);
    i = j;
  }
  if (alt.empty()) return fail(c.st, "krb5.ticket_encryption needs weak, !weak or a list of encryption types");
  MatchItem it;
  it.kind = MatchItem::Kind::kPcre;
  it.buf = kKrb5TicketEtype;
  it.pcre.pattern = "^(?:" + alt + ")$";
  c.r.items.push_back(std::move(it));
  return true;
}

}  // namespace

bool opt_krb5_weak_event(Ctx& c) {
  push_test(c, 7, 1, Op::kEq, 1);
  return true;
}

bool opt_krb5_malformed_event(Ctx& c) {
  push_test(c, 0, 1, Op::kEq, 0);  // message type 0: only the malformed_data tx has it
  return true;
}

bool opt_krb5(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled) {
  handled = true;
  if (name != "krb5_msg_type" && name != "krb5_err_code" && name != "krb5.ticket_encryption") {
    handled = false;  // krb5_cname / krb5_sname: sticky buffers (buffers.cc)
    return true;
  }
  if (!has_value) return fail(c.st, std::string(name) + " needs a value");
  v = trim(v);
  if (!v.empty() && v[0] == '[')  // Suricata 8's multi-integer form
    return unsup(c.st, "unsupported: " + std::string(name) + " multi-integer value");
  if (name == "krb5_msg_type") return opt_msg_type(c, v);
  if (name == "krb5_err_code") {
    push_test(c, 1, 1, Op::kEq, 1);  // only KRB-ERROR messages carry one
    return push_cmp(c, name, v, 2, 4, 0x7fffffff);
  }
  return opt_ticket_encryption(c, v);
}

}  // namespace spectre::rules::detail

namespace spectre::rules::detail {

// asn1:bitstring_overflow, double_overflow, oversize_length N,
// absolute_offset N | relative_offset [-]N (options separated by commas
// and/or spaces, as Suricata's parser takes them). One match item on the
// current buffer; the checks run in detect (core/der.h asn1_match).
bool opt_asn1(Ctx& c, std::string_view v) {
  MatchItem it;
  it.kind = MatchItem::Kind::kAsn1;
  it.buf = c.cur;
  Asn1& a = it.asn1;
  bool any = false, abs = false;
  std::vector<std::string_view> words;
  for (size_t i = 0; i < v.size();) {
    while (i < v.size() && (v[i] == ',' || std::isspace(uint8_t(v[i])))) i++;
    size_t j = i;
    while (j < v.size() && v[j] != ',' && !std::isspace(uint8_t(v[j]))) j++;
    if (j > i) words.push_back(v.substr(i, j - i));
    i = j;
  }
  for (size_t i = 0; i < words.size(); i++) {
    std::string_view w = words[i];
    auto number = [&](int64_t lo, int64_t hi, int64_t& out) {
      int32_t x;
      if (i + 1 >= words.size() || !parse_i32(words[i + 1], x) || x < lo || x > hi) return false;
      out = x;
      i++;
      return true;
    };
    int64_t n = 0;
    if (w == "bitstring_overflow") {
      a.bitstring_overflow = any = true;
    } else if (w == "double_overflow") {
      a.double_overflow = any = true;
    } else if (w == "oversize_length") {
      if (!number(0, INT32_MAX, n)) return fail(c.st, "asn1: oversize_length needs a number");
      a.has_oversize = any = true;
      a.oversize_length = uint32_t(n);
    } else if (w == "absolute_offset" || w == "relative_offset") {
      const bool rel = w == "relative_offset";
      if (abs || a.relative) return fail(c.st, "asn1: one absolute_offset or relative_offset");
      if (!number(rel ? -65535 : 0, 65535, n)) return fail(c.st, "asn1: " + std::string(w) + " needs a number");
      (rel ? a.relative : abs) = true;
      a.offset = int32_t(n);
    } else {
      return fail(c.st, "asn1: unknown option '" + std::string(w) + "'");
    }
  }
  if (!any) return fail(c.st, "asn1 needs bitstring_overflow, double_overflow or oversize_length");
  c.r.items.push_back(std::move(it));
  return true;
}

}  // namespace spectre::rules::detail
