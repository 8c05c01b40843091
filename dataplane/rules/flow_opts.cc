// Non-payload options: flow, flowbits, threshold, detection_filter, dsize,
// app-layer-protocol.
#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {

bool opt_flow(Ctx& c, std::string_view v) {
  if (c.seen_flow) return fail(c.st, "more than one flow option");
  c.seen_flow = true;
  uint16_t f = 0;
  for (std::string_view o : split(v, ',')) {
    uint16_t bit;
    if (o == "established") bit = kFlowEstablished;
    else if (o == "not_established") bit = kFlowNotEstablished;
    else if (o == "stateless") bit = kFlowStateless;
    else if (o == "to_server" || o == "from_client") bit = kFlowToServer;
    else if (o == "to_client" || o == "from_server") bit = kFlowToClient;
    else if (o == "only_stream") bit = kFlowOnlyStream;
    else if (o == "no_stream") bit = kFlowNoStream;
    else if (o == "no_frag" || o == "only_frag") return unsup(c.st, "unsupported: flow:" + std::string(o));
    else return fail(c.st, "bad flow option '" + std::string(o) + "'");
    if (f & bit) return fail(c.st, "flow option '" + std::string(o) + "' given twice");
    f |= bit;
  }
  auto both = [&](uint16_t a, uint16_t b) { return (f & a) && (f & b); };
  if (both(kFlowToServer, kFlowToClient)) return fail(c.st, "flow: to_server and to_client conflict");
  if (both(kFlowEstablished, kFlowNotEstablished) || both(kFlowEstablished, kFlowStateless) ||
      both(kFlowNotEstablished, kFlowStateless))
    return fail(c.st, "flow: established, not_established and stateless conflict");
  if (both(kFlowOnlyStream, kFlowNoStream)) return fail(c.st, "flow: only_stream and no_stream conflict");
  c.r.flow |= f;  // keeps a no_stream set by an earlier rpc
  return true;
}

bool opt_flowbits(Ctx& c, std::string_view v) {
  auto parts = split(v, ',');
  Flowbit fb;
  const std::string_view cmd = parts[0];
  if (cmd == "set") fb.cmd = Flowbit::Cmd::kSet;
  else if (cmd == "isset") fb.cmd = Flowbit::Cmd::kIsSet;
  else if (cmd == "isnotset") fb.cmd = Flowbit::Cmd::kIsNotSet;
  else if (cmd == "unset") fb.cmd = Flowbit::Cmd::kUnset;
  else if (cmd == "toggle") fb.cmd = Flowbit::Cmd::kToggle;
  else if (cmd == "noalert") fb.cmd = Flowbit::Cmd::kNoAlert;
  else return fail(c.st, "bad flowbits command '" + std::string(cmd) + "'");
  if (fb.cmd == Flowbit::Cmd::kNoAlert) {
    if (parts.size() != 1) return fail(c.st, "flowbits:noalert takes no name");
    c.r.flowbits.push_back(fb);
    return true;
  }
  if (parts.size() != 2 || parts[1].empty()) return fail(c.st, "flowbits:" + std::string(cmd) + " needs one name");
  const std::string_view names = parts[1];
  const bool has_or = names.find('|') != std::string_view::npos;
  const bool has_and = names.find('&') != std::string_view::npos;
  if (has_or && has_and) return fail(c.st, "flowbits names mix '|' and '&'");
  if (has_or && fb.cmd != Flowbit::Cmd::kIsSet && fb.cmd != Flowbit::Cmd::kIsNotSet)
    return fail(c.st, "flowbits '|' (any of) only works with isset and isnotset");
  fb.any_of = has_or;
  for (std::string_view n : split(names, has_or ? '|' : '&')) {
    if (n.empty()) return fail(c.st, "empty flowbit name in '" + std::string(names) + "'");
    for (char ch : n)  // Suricata also takes '/' in names (ET Open: "ET.http/ua")
      if (!is_ident_char(ch) && ch != '/') return fail(c.st, "bad flowbit name '" + std::string(n) + "'");
    fb.names.emplace_back(n);
  }
  c.r.flowbits.push_back(std::move(fb));
  return true;
}

bool parse_threshold_type(std::string_view v, const char* kw, Threshold::Type& t, Status& st) {
  if (v == "limit") t = Threshold::Type::kLimit;
  else if (v == "threshold") t = Threshold::Type::kThreshold;
  else if (v == "both") t = Threshold::Type::kBoth;
  else if (v == "backoff") return unsup(st, std::string("unsupported: ") + kw + " type backoff");
  else return fail(st, std::string(kw) + ": bad threshold type '" + std::string(v) + "' (limit, threshold or both)");
  return true;
}

bool parse_threshold_track(std::string_view v, const char* kw, bool allow_rule, Threshold::Track& t, Status& st) {
  if (v == "by_src") t = Threshold::Track::kBySrc;
  else if (v == "by_dst") t = Threshold::Track::kByDst;
  else if (v == "by_both") t = Threshold::Track::kByBoth;
  else if (v == "by_rule" && allow_rule) t = Threshold::Track::kByRule;
  else if (v == "by_flow") return unsup(st, std::string("unsupported: ") + kw + " track by_flow");
  else return fail(st, std::string(kw) + ": bad track '" + std::string(v) + "'");
  return true;
}

// threshold: type T, track K, count N, seconds S (any order).
// detection_filter: track K, count N, seconds S.
bool opt_threshold(Ctx& c, std::string_view v, bool df) {
  const char* kw = df ? "detection_filter" : "threshold";
  if (df ? c.r.has_detection_filter : c.r.has_threshold) return fail(c.st, std::string("more than one ") + kw);
  Threshold t;
  t.type = Threshold::Type::kDetectionFilter;
  t.track = Threshold::Track::kBySrc;
  bool has_type = false, has_track = false, has_count = false, has_seconds = false;
  for (std::string_view p : split(v, ',')) {
    size_t sp = p.find_first_of(" \t");
    if (sp == std::string_view::npos) return fail(c.st, std::string(kw) + ": bad part '" + std::string(p) + "'");
    std::string_view k = p.substr(0, sp), val = trim(p.substr(sp));
    if (k == "type" && !df) {
      if (!parse_threshold_type(val, kw, t.type, c.st)) return false;
      has_type = true;
    } else if (k == "track") {
      if (!parse_threshold_track(val, kw, true, t.track, c.st)) return false;
      has_track = true;
    } else if (k == "count" || k == "seconds") {
      uint32_t x;
      if (!parse_u32(val, x) || x == 0) return fail(c.st, std::string(kw) + ": bad " + std::string(k));
      (k == "count" ? t.count : t.seconds) = x;
      (k == "count" ? has_count : has_seconds) = true;
    } else if (df && k == "unique_on") {  // Suricata 8: count distinct ports; parsed, not supported yet
      if (val != "src_port" && val != "dst_port") return fail(c.st, "detection_filter: unique_on src_port or dst_port");
      return unsup(c.st, "unsupported: detection_filter unique_on");
    } else {
      return fail(c.st, std::string(kw) + ": unknown part '" + std::string(k) + "'");
    }
  }
  if ((!df && !has_type) || !has_track || !has_count || !has_seconds)
    return fail(c.st, std::string(kw) + (df ? " needs track, count and seconds" : " needs type, track, count and seconds"));
  if (df) {
    c.r.has_detection_filter = true;
    c.r.detection_filter = t;
  } else {
    c.r.has_threshold = true;
    c.r.threshold = t;
  }
  return true;
}

// Integer syntax of dsize, itype and icode for values up to `max`: N, !N, <N,
// >N, <=N, >=N, N<>M (exclusive), N<=>M (inclusive, Snort 3).
static bool parse_int_cmp(std::string_view v, Dsize& d, uint32_t max) {
  uint32_t a = 0, b = 0;
  auto num = [&](std::string_view s, uint32_t& x) { return parse_u32(s, x) && x <= max; };
  bool ok;
  if (size_t p = v.find("<=>"); p != std::string_view::npos) {
    ok = num(v.substr(0, p), a) && num(v.substr(p + 3), b) && a <= b && b < 65535;
    d.op = Dsize::Op::kRange;
    if (ok && a == 0) {  // 0 <= x <= b
      d.op = Dsize::Op::kLt;
      d.lo = d.hi = uint16_t(b + 1);
    } else if (ok) {
      d.lo = uint16_t(a - 1);
      d.hi = uint16_t(b + 1);
    }
  } else if (size_t q = v.find("<>"); q != std::string_view::npos) {
    ok = num(v.substr(0, q), a) && num(v.substr(q + 2), b) && a < b;
    d.op = Dsize::Op::kRange;
    d.lo = uint16_t(a);
    d.hi = uint16_t(b);
  } else if (v.starts_with("<=") || v.starts_with(">=")) {
    ok = num(trim(v.substr(2)), a);
    if (v[0] == '<') {
      ok = ok && a < 65535;
      d.op = Dsize::Op::kLt;
      a += 1;
    } else {
      ok = ok && a > 0;  // ">=0" would always be true: refused
      d.op = Dsize::Op::kGt;
      if (ok) a -= 1;
    }
    d.lo = d.hi = uint16_t(a);
  } else if (!v.empty() && (v[0] == '<' || v[0] == '>' || v[0] == '!')) {
    d.op = v[0] == '<' ? Dsize::Op::kLt : v[0] == '>' ? Dsize::Op::kGt : Dsize::Op::kNe;
    ok = num(trim(v.substr(1)), a);
    d.lo = d.hi = uint16_t(a);
  } else {
    d.op = Dsize::Op::kEq;
    ok = num(v, a);
    d.lo = d.hi = uint16_t(a);
  }
  return ok;
}

bool opt_dsize(Ctx& c, std::string_view v) {
  if (c.r.has_dsize) return fail(c.st, "more than one dsize");
  Dsize d;
  if (!parse_int_cmp(v, d, 65535)) return fail(c.st, "bad dsize '" + std::string(v) + "'");
  c.r.has_dsize = true;
  c.r.dsize = d;
  return true;
}

// itype / icode (integer syntax, 0..255), icmp_id / icmp_seq (0..65535:
// Suricata's number, or Snort 3's integer forms).
bool opt_icmp(Ctx& c, std::string_view name, std::string_view v) {
  IcmpMatch& m = c.r.icmp;
  const bool type = name == "itype", code = name == "icode", id = name == "icmp_id";
  bool& has = type ? m.has_type : code ? m.has_code : id ? m.has_id : m.has_seq;
  if (has) return fail(c.st, "more than one " + std::string(name));
  Dsize& d = type ? m.type : code ? m.code : id ? m.id : m.seq;
  if (!parse_int_cmp(v, d, type || code ? 255 : 65535))
    return fail(c.st, "bad " + std::string(name) + " '" + std::string(v) + "'");
  has = true;
  return true;
}

bool opt_app_proto(Ctx& c, std::string_view v) {
  if (c.seen_app_proto) return fail(c.st, "more than one app-layer-protocol");
  c.seen_app_proto = true;
  if (v.find(',') != std::string_view::npos) return unsup(c.st, "unsupported: app-layer-protocol with a mode");
  bool neg = false;
  if (!v.empty() && v[0] == '!') {
    neg = true;
    v = trim(v.substr(1));
  }
  AppProto p;
  if (v == "http" || v == "http1") p = AppProto::kHttp;
  else if (v == "dns") p = AppProto::kDns;
  else if (v == "tls") p = AppProto::kTls;
  else if (v == "smtp") p = AppProto::kSmtp;
  else if (v == "ftp") p = AppProto::kFtp;
  else if (v == "ftp-data") p = AppProto::kFtpData;
  else if (v == "smb") p = AppProto::kSmb;
  else if (v == "quic") p = AppProto::kQuic;
  else if (v == "sip") p = AppProto::kSip;
  else if (v == "ssh") p = AppProto::kSsh;
  else if (v == "mqtt") p = AppProto::kMqtt;
  else if (v == "krb5") p = AppProto::kKrb5;
  else if (v == "dcerpc") p = AppProto::kDcerpc;
  else if (v == "http2") p = AppProto::kHttp2;
  else if (v == "failed") p = AppProto::kFailed;
  else if (v == "unknown") p = AppProto::kUnknown;
  else return unsup(c.st, "unsupported: app-layer-protocol " + std::string(v));
  c.r.has_app_proto = true;
  c.r.app_proto_negated = neg;
  c.r.app_proto = p;
  return true;
}

// flags:[+*!]<FSRPAUCE12 or 0>[,<ignored flags>]
bool opt_flags(Ctx& c, std::string_view v) {
  if (c.r.has_flags) return fail(c.st, "more than one flags");
  Proto pr = c.r.hdr.proto;
  if (pr != Proto::kTcp && pr != Proto::kIp && pr != Proto::kHttp && pr != Proto::kTls && pr != Proto::kSmtp &&
      pr != Proto::kFtp && pr != Proto::kFtpData && pr != Proto::kSmb && pr != Proto::kSsh &&
      pr != Proto::kMqtt && pr != Proto::kDcerpc &&
      pr != Proto::kHttp2)
    return fail(c.st, "flags needs a tcp rule");
  auto bits = [](std::string_view s, uint8_t& out) {
    out = 0;
    for (char ch : s) {
      switch (ch) {
        case 'F': case 'f': out |= 0x01; break;
        case 'S': case 's': out |= 0x02; break;
        case 'R': case 'r': out |= 0x04; break;
        case 'P': case 'p': out |= 0x08; break;
        case 'A': case 'a': out |= 0x10; break;
        case 'U': case 'u': out |= 0x20; break;
        case 'E': case 'e': case '2': out |= 0x40; break;
        case 'C': case 'c': case '1': out |= 0x80; break;
        case '0': break;
        case ' ': break;
        default: return false;
      }
    }
    return true;
  };
  std::string_view val = trim(v), ign;
  if (size_t comma = val.find(','); comma != std::string_view::npos) {
    ign = trim(val.substr(comma + 1));
    val = trim(val.substr(0, comma));
  }
  uint8_t mode = 0;
  if (!val.empty() && (val[0] == '+' || val[0] == '*' || val[0] == '!')) {
    mode = val[0] == '+' ? 1 : val[0] == '*' ? 2 : 3;
    val.remove_prefix(1);
  } else if (!val.empty() && (val.back() == '+' || val.back() == '*' || val.back() == '!')) {
    mode = val.back() == '+' ? 1 : val.back() == '*' ? 2 : 3;  // Snort's trailing form
    val.remove_suffix(1);
  }
  uint8_t set = 0, ignore = 0;
  if (val.empty() || !bits(val, set) || !bits(ign, ignore))
    return fail(c.st, "flags: bad value '" + std::string(v) + "'");
  c.r.has_flags = true;
  c.r.flags_set = set;
  c.r.flags_ignore = ignore;
  c.r.flags_mode = mode;
  return true;
}

}  // namespace spectre::rules::detail
