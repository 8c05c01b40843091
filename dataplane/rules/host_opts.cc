// Packet and host keywords (Suricata's formats, from its documentation):
//   ip_proto:[!|<|>]<number or name>      (ip-keywords: ip_proto)
//   stream_size:<server|client|both|either>,<op>,<bytes>   op: < > = != <= >=
//   xbits:<set|unset|toggle|isset|isnotset>,<name>,track <ip_src|ip_dst|ip_pair>[,expire <s>]
#include <cctype>
#include <cstring>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

struct ProtoName {
  const char* name;
  uint8_t num;
};
// The names Suricata resolves through the system's protocol table that rules use.
constexpr ProtoName kProtoNames[] = {
    {"ip", 0},    {"icmp", 1}, {"igmp", 2},  {"ipip", 4},  {"tcp", 6},         {"egp", 8},
    {"udp", 17},  {"ipv6", 41}, {"rsvp", 46}, {"gre", 47},  {"esp", 50},        {"ah", 51},
    {"ipv6-icmp", 58}, {"icmpv6", 58}, {"eigrp", 88}, {"ospf", 89}, {"pim", 103}, {"vrrp", 112},
    {"l2tp", 115}, {"sctp", 132},
};

bool proto_number(std::string_view v, uint16_t& out) {
  uint32_t x;
  if (parse_u32(v, x)) {
    if (x > 255) return false;
    out = uint16_t(x);
    return true;
  }
  for (const ProtoName& p : kProtoNames)
    if (v == p.name) {
      out = p.num;
      return true;
    }
  return false;
}

}  // namespace

bool opt_ip_proto(Ctx& c, std::string_view v) {
  if (c.r.has_ip_proto) return fail(c.st, "more than one ip_proto");
  Dsize d;
  d.op = Dsize::Op::kEq;
  if (!v.empty() && (v[0] == '!' || v[0] == '<' || v[0] == '>')) {
    d.op = v[0] == '!' ? Dsize::Op::kNe : v[0] == '<' ? Dsize::Op::kLt : Dsize::Op::kGt;
    v = trim(v.substr(1));
  }
  if (!proto_number(v, d.lo)) return fail(c.st, "ip_proto: bad protocol '" + std::string(v) + "'");
  d.hi = d.lo;
  c.r.has_ip_proto = true;
  c.r.ip_proto = d;
  return true;
}

bool opt_stream_size(Ctx& c, std::string_view v) {
  if (c.r.has_stream_size2) return fail(c.st, "more than two stream_size");
  auto p = split(v, ',');
  if (p.size() != 3) return fail(c.st, "stream_size needs <side>,<operator>,<bytes>");
  StreamSize s;
  using Side = StreamSize::Side;
  using Op = StreamSize::Op;
  if (p[0] == "server") s.side = Side::kServer;
  else if (p[0] == "client") s.side = Side::kClient;
  else if (p[0] == "both") s.side = Side::kBoth;
  else if (p[0] == "either") s.side = Side::kEither;
  else return fail(c.st, "stream_size: bad side '" + std::string(p[0]) + "' (server, client, both, either)");
  if (p[1] == "<") s.op = Op::kLt;
  else if (p[1] == ">") s.op = Op::kGt;
  else if (p[1] == "=") s.op = Op::kEq;
  else if (p[1] == "!=") s.op = Op::kNe;
  else if (p[1] == "<=") s.op = Op::kLe;
  else if (p[1] == ">=") s.op = Op::kGe;
  else return fail(c.st, "stream_size: bad operator '" + std::string(p[1]) + "'");
  if (!parse_u32(p[2], s.value)) return fail(c.st, "stream_size: bad size '" + std::string(p[2]) + "'");
  if (c.r.hdr.proto != Proto::kTcp && c.r.hdr.proto != Proto::kIp && c.r.hdr.proto != Proto::kHttp &&
      c.r.hdr.proto != Proto::kTls && c.r.hdr.proto != Proto::kDns)
    return fail(c.st, "stream_size needs a TCP rule");
  (c.r.has_stream_size ? c.r.has_stream_size2 : c.r.has_stream_size) = true;
  (c.r.has_stream_size2 ? c.r.stream_size2 : c.r.stream_size) = s;
  return true;
}

// app-layer-event:<proto>.<event>: the HTTP events our parser raises; others skip.
bool opt_app_event(Ctx& c, std::string_view v) {
  if (v == "http.invalid_transfer_encoding_value_in_request") {
    if (c.r.hdr.proto != Proto::kHttp && c.r.hdr.proto != Proto::kTcp)
      return fail(c.st, "app-layer-event http.* needs an http or tcp rule");
    c.r.app_events |= kEvHttpInvalidTeRequest;
    return true;
  }
  if (v == "krb5.weak_encryption" || v == "krb5.malformed_data") {  // Suricata's krb5 events
    if (c.r.hdr.proto != Proto::kKrb5 && c.r.hdr.proto != Proto::kTcp && c.r.hdr.proto != Proto::kUdp)
      return fail(c.st, "app-layer-event krb5.* needs a krb5, tcp or udp rule");
    return v == "krb5.weak_encryption" ? opt_krb5_weak_event(c) : opt_krb5_malformed_event(c);
  }
  return unsup(c.st, "unsupported: app-layer-event " + std::string(v));
}

// decode-event:<layer>.<event> (Suricata decode-layer.rst). The name is
// checked against the decoder's events when the rule is compiled.
bool opt_decode_event(Ctx& c, std::string_view v) {
  if (v.empty() || v.size() > 64 || v.find('.') == std::string_view::npos)
    return fail(c.st, "decode-event needs a name like ipv4.trunc_pkt");
  for (char ch : v)
    if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '.' ||
          ch == '_'))
      return fail(c.st, "decode-event: bad event name '" + std::string(v) + "'");
  if (!c.r.decode_event.empty()) return fail(c.st, "decode-event given twice");
  c.r.decode_event = std::string(v);
  return true;
}

// stream-event:<event> (Suricata's stream-events.rules): checked against the
// events this engine raises when the rule is compiled.
bool opt_stream_event(Ctx& c, std::string_view v) {
  if (v.empty() || v.size() > 64) return fail(c.st, "stream-event needs a name like pkt_retransmission");
  for (char ch : v)
    if (!(std::islower(static_cast<unsigned char>(ch)) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '_'))
      return fail(c.st, "stream-event: bad event name '" + std::string(v) + "'");
  if (c.r.hdr.proto != Proto::kTcp && c.r.hdr.proto != Proto::kIp)
    return fail(c.st, "stream-event needs a tcp rule");
  if (!c.r.stream_event.empty()) return fail(c.st, "stream-event given twice");
  c.r.stream_event = std::string(v);
  return true;
}

bool opt_xbits(Ctx& c, std::string_view v) {
  auto p = split(v, ',');
  if (p.size() < 3) return fail(c.st, "xbits needs <command>,<name>,track <ip_src|ip_dst|ip_pair>");
  Xbit x;
  using Cmd = Flowbit::Cmd;
  if (p[0] == "set") x.cmd = Cmd::kSet;
  else if (p[0] == "unset") x.cmd = Cmd::kUnset;
  else if (p[0] == "toggle") x.cmd = Cmd::kToggle;
  else if (p[0] == "isset") x.cmd = Cmd::kIsSet;
  else if (p[0] == "isnotset") x.cmd = Cmd::kIsNotSet;
  else return fail(c.st, "xbits: bad command '" + std::string(p[0]) + "'");
  if (p[1].empty()) return fail(c.st, "xbits: empty name");
  for (char ch : p[1])
    if (!is_ident_char(ch) && ch != '/') return fail(c.st, "xbits: bad name '" + std::string(p[1]) + "'");
  x.name = std::string(p[1]);
  bool has_track = false;
  for (size_t i = 2; i < p.size(); i++) {
    size_t sp = p[i].find_first_of(" \t");
    std::string_view k = p[i].substr(0, sp), val = sp == std::string_view::npos ? "" : trim(p[i].substr(sp));
    if (k == "track") {
      using T = Xbit::Track;
      if (val == "ip_src") x.track = T::kIpSrc;
      else if (val == "ip_dst") x.track = T::kIpDst;
      else if (val == "ip_pair") x.track = T::kIpPair;
      else if (val == "tx") return unsup(c.st, "unsupported: xbits track tx");
      else return fail(c.st, "xbits: bad track '" + std::string(val) + "'");
      has_track = true;
    } else if (k == "expire") {
      if (!parse_u32(val, x.expire) || x.expire == 0) return fail(c.st, "xbits: bad expire '" + std::string(val) + "'");
    } else {
      return fail(c.st, "xbits: unknown option '" + std::string(p[i]) + "'");
    }
  }
  if (!has_track) return fail(c.st, "xbits needs track ip_src, ip_dst or ip_pair");
  c.r.xbits.push_back(std::move(x));
  return true;
}

// hostbits (Suricata): xbits kept per host; xbits.rst: "no difference
// between hostbits and xbits with track ip_<src|dst>". The direction may be
// given as "track ip_src", "ip_src" or "src" (default: the source).
bool opt_hostbits(Ctx& c, std::string_view v) {
  auto p = split(v, ',');
  if (p.size() < 2) return fail(c.st, "hostbits needs <command>,<name>[,track ip_src|ip_dst][,expire <s>]");
  std::string x(p[0]);
  x += ",";
  x += p[1];
  bool has_track = false;
  for (size_t i = 2; i < p.size(); i++) {
    std::string_view a = p[i];
    if (a == "src" || a == "ip_src" || a == "dst" || a == "ip_dst") {
      x += std::string(",track ") + (a.find("src") != std::string_view::npos ? "ip_src" : "ip_dst");
      has_track = true;
      continue;
    }
    if (a == "both" || a == "track ip_pair") return unsup(c.st, "unsupported: hostbits " + std::string(a));
    if (a.starts_with("track")) has_track = true;
    x += ",";
    x += a;
  }
  if (!has_track) x += ",track ip_src";
  if (!opt_xbits(c, x)) {
    if (c.st.err.starts_with("xbits")) c.st.err.replace(0, 5, "hostbits");
    return false;
  }
  return true;
}

// flowint:<name>,<isset|notset|isnotset>  /  flowint:<name>,<op>,<value|var>
// op: = + - (modify) or == != < > <= >= (compare).
bool opt_flowint(Ctx& c, std::string_view v) {
  auto p = split(v, ',');
  if (p.size() < 2 || p.size() > 3) return fail(c.st, "flowint needs <name>,<op>[,<value>]");
  Flowint f;
  if (p[0].empty()) return fail(c.st, "flowint: empty name");
  for (char ch : p[0])
    if (!is_ident_char(ch)) return fail(c.st, "flowint: bad name '" + std::string(p[0]) + "'");
  f.name = std::string(p[0]);
  using Op = Flowint::Op;
  static const std::pair<const char*, Op> kOps[] = {
      {"isset", Op::kIsSet}, {"notset", Op::kNotSet}, {"isnotset", Op::kNotSet}, {"=", Op::kSet},
      {"+", Op::kAdd},       {"-", Op::kSub},         {"==", Op::kEq},         {"!=", Op::kNe},
      {"<", Op::kLt},        {">", Op::kGt},          {"<=", Op::kLe},         {">=", Op::kGe}};
  bool found = false;
  for (const auto& [name, op] : kOps)
    if (p[1] == name) f.op = op, found = true;
  if (!found) return fail(c.st, "flowint: bad operator '" + std::string(p[1]) + "'");
  const bool unary = f.op == Op::kIsSet || f.op == Op::kNotSet;
  if (unary != (p.size() == 2)) return fail(c.st, "flowint: " + std::string(p[1]) + (unary ? " takes no value" : " needs a value"));
  if (!unary) {
    if (!parse_u32(p[2], f.value)) {
      if (p[2].empty() || !is_var_name(p[2])) return fail(c.st, "flowint: bad value '" + std::string(p[2]) + "'");
      f.var = std::string(p[2]);
    }
  }
  c.r.flowints.push_back(std::move(f));
  return true;
}

}  // namespace spectre::rules::detail
