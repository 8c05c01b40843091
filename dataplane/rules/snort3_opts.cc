// Snort 3's SIP keywords, as pcre items on the sip.* buffers the SIP parser
// fills per message (a rule with them is a transaction rule):
//   sip_method:[!]m1[,m2...]      sip.method is one of them (any case), or none with '!'
//   sip_stat_code:c1[,c2...]      sip.stat_code is one of them; one digit N means Nxx
// `sip_header` (all header lines as one buffer) has no sip.* counterpart: skipped.
#include <cctype>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

void push_pcre(Ctx& c, Buf b, std::string pattern, bool caseless, bool negated) {
  MatchItem it;
  it.kind = MatchItem::Kind::kPcre;
  it.buf = b;
  it.pcre.pattern = std::move(pattern);
  it.pcre.caseless = caseless;
  it.pcre.negated = negated;
  c.r.items.push_back(std::move(it));
}

bool sip_method(Ctx& c, std::string_view v) {
  v = trim(v);
  const bool neg = !v.empty() && v[0] == '!';
  if (neg) v = trim(v.substr(1));
  std::string alt;
  for (std::string_view m : split(v, ',')) {
    if (m.empty()) return fail(c.st, "sip_method: empty method");
    for (char ch : m)
      if (!std::isalpha(uint8_t(ch)) && ch != '_' && ch != '-')
        return fail(c.st, "sip_method: bad method '" + std::string(m) + "'");
    if (!alt.empty()) alt += '|';
    alt += m;
  }
  push_pcre(c, kSipMethod, "^(?:" + alt + ")$", true, neg);
  return true;
}

bool sip_stat_code(Ctx& c, std::string_view v) {
  std::string alt;
  for (std::string_view s : split(v, ',')) {
    uint32_t x;
    if (!parse_u32(s, x) || !((s.size() == 1 && x >= 1 && x <= 6) || (s.size() == 3 && x >= 100)))
      return fail(c.st, "sip_stat_code: bad code '" + std::string(s) + "' (1..6 for a class, or 100..999)");
    if (!alt.empty()) alt += '|';
    alt += s;
    if (s.size() == 1) alt += "\\d\\d";
  }
  push_pcre(c, kSipStatCode, "^(?:" + alt + ")$", false, false);
  return true;
}

}  // namespace

bool opt_snort3(Ctx& c, std::string_view name, std::string_view v, bool has_value, bool& handled) {
  handled = name == "sip_method" || name == "sip_stat_code";
  if (!handled) return true;
  if (!has_value || trim(v).empty()) return fail(c.st, std::string(name) + " needs a value");
  const Proto pr = c.r.hdr.proto;
  if (pr != Proto::kUdp && pr != Proto::kTcp && pr != Proto::kIp && pr != Proto::kSip)
    return fail(c.st, std::string(name) + " needs a sip, udp or tcp rule");
  return name == "sip_method" ? sip_method(c, v) : sip_stat_code(c, v);
}

}  // namespace spectre::rules::detail
