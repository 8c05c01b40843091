// Rule parser: header, option tokenizer and dispatch, whole-rule checks.
// Option handlers live in options.cc and buffers.cc; addresses in addr.cc.
#include "dataplane/rules/parser.h"

#include <charconv>
#include <cstring>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules {
namespace detail {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t p = s.find(sep);
    out.push_back(trim(s.substr(0, p)));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

bool parse_u32(std::string_view s, uint32_t& v) {
  s = trim(s);
  if (s.empty() || s[0] == '-' || s[0] == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_i32(std::string_view s, int32_t& v) {
  s = trim(s);
  if (s.empty() || s[0] == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool is_ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && std::strchr("\";\\:", s[i + 1])) ++i;
    out.push_back(s[i]);
  }
  return out;
}

namespace {

// ---- header ---------------------------------------------------------------

bool parse_action(std::string_view a, Action& out, Status& st) {
  if (a == "alert") out = Action::kAlert;
  else if (a == "pass") out = Action::kPass;
  else if (a == "drop") out = Action::kDrop;
  else if (a == "reject") out = Action::kReject;
  else if (a == "sdrop" || a == "rejectsrc" || a == "rejectdst" || a == "rejectboth" || a == "rewrite" ||
           a == "log" || a == "block" || a == "react" || a == "config")
    return unsup(st, "unsupported action: " + std::string(a));
  else
    return fail(st, "unknown action '" + std::string(a) + "'");
  return true;
}

// Protocols Suricata knows but we do not inspect: a rule using them is skipped.
constexpr const char* kOtherProtos[] = {
    "http2", "dcerpc", "nfs",
    "dhcp", "snmp", "rdp", "modbus", "dnp3", "enip", "ntp", "tftp", "ikev2", "ike",
    "rfb", "imap", "pop3", "telnet", "irc", "bittorrent-dht", "pgsql", "websocket", "ldap",
    "sctp", "ipv4", "ipv6", "ip4", "ip6", "dnp3", "nntp", "msn", "ssl", "jabber", "doh2"};

bool parse_proto(std::string_view p, Header& h, Status& st) {
  if (p == "ip" || p == "pkthdr") h.proto = Proto::kIp;  // pkthdr: any packet, decoded or not (decode-event)
  else if (p == "tcp") h.proto = Proto::kTcp;
  else if (p == "tcp-pkt" || p == "tcp-stream") h.proto = Proto::kTcp;  // flow bits set in parse_rule
  else if (p == "udp") h.proto = Proto::kUdp;
  else if (p == "icmp") h.proto = Proto::kIcmp;
  else if (p == "icmpv4" || p == "icmpv6") h.proto = Proto::kIcmp;  // family pinned in parse_rule
  else if (p == "http" || p == "http1") h.proto = Proto::kHttp;
  else if (p == "dns") h.proto = Proto::kDns;
  else if (p == "tls") h.proto = Proto::kTls;
  else if (p == "smtp") h.proto = Proto::kSmtp;
  else if (p == "ftp") h.proto = Proto::kFtp;
  else if (p == "ftp-data") h.proto = Proto::kFtpData;
  else if (p == "smb") h.proto = Proto::kSmb;
  else if (p == "quic") h.proto = Proto::kQuic;
  else if (p == "sip") h.proto = Proto::kSip;
  else if (p == "ssh") h.proto = Proto::kSsh;
  else if (p == "mqtt") h.proto = Proto::kMqtt;
  else if (p == "krb5") h.proto = Proto::kKrb5;
  else if (p == "dcerpc") h.proto = Proto::kDcerpc;  // before kOtherProtos (which still lists it)
  else if (p == "http2") h.proto = Proto::kHttp2;
  else {
    for (const char* o : kOtherProtos)
      if (p == o) return unsup(st, "unsupported protocol: " + std::string(p));
    return fail(st, "unknown protocol '" + std::string(p) + "'");
  }
  return true;
}

// Whitespace-separated header tokens; brackets may contain spaces.
std::vector<std::string_view> header_tokens(std::string_view h) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < h.size()) {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) ++i;
    if (i >= h.size()) break;
    size_t b = i;
    int depth = 0;
    while (i < h.size() && (depth > 0 || (h[i] != ' ' && h[i] != '\t'))) {
      if (h[i] == '[') ++depth;
      else if (h[i] == ']' && depth > 0) --depth;
      ++i;
    }
    out.push_back(h.substr(b, i - b));
  }
  return out;
}

bool parse_header(std::string_view text, const Vars& vars, Header& h, Status& st) {
  auto t = header_tokens(text);
  if (t.size() != 7)
    return fail(st, "header needs 7 fields (action proto src sport dir dst dport), got " + std::to_string(t.size()));
  if (!parse_action(t[0], h.action, st) || !parse_proto(t[1], h, st)) return false;
  if (t[4] == "->") h.bidir = false;
  else if (t[4] == "<>") h.bidir = true;
  else if (t[4] == "=>")  // Suricata 8 transactional rules: both directions of one transaction
    return unsup(st, "unsupported direction '=>' (transactional rule)");
  else if (t[4] == "<-") return fail(st, "direction '<-' is not valid (use '->' or '<>')");
  else return fail(st, "bad direction '" + std::string(t[4]) + "'");
  if (!parse_ip_set(t[2], vars, h.src, st) || !parse_port_set(t[3], vars, h.sport, st) ||
      !parse_ip_set(t[5], vars, h.dst, st) || !parse_port_set(t[6], vars, h.dport, st))
    return false;
  // icmpv4 / icmpv6: kIcmp matches both families (Suricata's "icmp"); pin the
  // family by excluding the other one from the source set.
  if (t[1] == "icmpv4" || t[1] == "icmpv6") {
    IpRange other;
    other.ver = t[1] == "icmpv4" ? 6 : 4;
    std::memset(other.hi, 0xff, sizeof other.hi);
    h.src.exclude.push_back(other);
  }
  return true;
}

// ---- options --------------------------------------------------------------

struct Opt {
  std::string_view name, value;
  bool has_value = false;
};

bool split_options(std::string_view body, std::vector<Opt>& out, Status& st) {
  size_t i = 0;
  const size_t n = body.size();
  while (i < n) {
    while (i < n && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) ++i;
    if (i >= n) break;
    size_t b = i;
    while (i < n && body[i] != ':' && body[i] != ';') ++i;
    Opt o;
    o.name = trim(body.substr(b, i - b));
    if (o.name.empty()) return fail(st, "empty option name");
    for (char c : o.name)
      if (!is_ident_char(c)) return fail(st, "bad option name '" + std::string(o.name) + "'");
    if (i < n && body[i] == ':') {
      // Like Suricata, a value ends at the first ';' not escaped by '\\',
      // quotes or not (an unescaped quote inside a pcre is fine).
      size_t v = ++i;
      while (i < n && body[i] != ';') i += body[i] == '\\' ? 2 : 1;
      if (i > n) i = n;
      o.value = trim(body.substr(v, i - v));
      o.has_value = true;
    }
    if (i < n) ++i;  // ';' (a missing final ';' is tolerated)
    out.push_back(o);
  }
  return true;
}

// A quoted value: returns the inside, or fails.
bool quoted(std::string_view v, std::string_view name, std::string_view& in, Status& st) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"')
    return fail(st, std::string(name) + " needs a quoted value");
  in = v.substr(1, v.size() - 2);
  return true;
}

bool need_value(const Opt& o, Status& st) {
  if (!o.has_value || o.value.empty()) return fail(st, std::string(o.name) + " needs a value");
  return true;
}

bool opt_metadata(Rule& r, std::string_view v) {
  for (std::string_view item : split(v, ',')) {
    if (item.empty()) continue;
    size_t sp = item.find_first_of(" \t");
    if (sp == std::string_view::npos) r.metadata.emplace_back(std::string(item), "");
    else r.metadata.emplace_back(std::string(item.substr(0, sp)), std::string(trim(item.substr(sp))));
  }
  return true;
}

// Options that set rule identity and reporting fields. `handled` tells the
// caller whether `o` was one of them.
bool opt_info(Ctx& c, const Opt& o, bool& handled) {
  Rule& r = c.r;
  Status& st = c.st;
  const std::string_view n = o.name, v = o.value;
  handled = true;
  if (n == "msg") {
    std::string_view in;
    if (!need_value(o, st) || !quoted(v, n, in, st)) return false;
    r.msg = unescape(in);
  } else if (n == "sid" || n == "rev" || n == "gid") {
    uint32_t x;
    if (!need_value(o, st) || !parse_u32(v, x)) return fail(st, "bad " + std::string(n) + " '" + std::string(v) + "'");
    if (n == "sid" && x == 0) return fail(st, "sid 0 is not valid");
    (n == "sid" ? r.sid : n == "rev" ? r.rev : r.gid) = x;
  } else if (n == "classtype") {
    if (!need_value(o, st)) return false;
    for (char ch : v)
      if (!is_ident_char(ch)) return fail(st, "bad classtype '" + std::string(v) + "'");
    r.classtype = std::string(v);
  } else if (n == "priority") {
    uint32_t x;
    if (!need_value(o, st) || !parse_u32(v, x) || x < 1 || x > 255)
      return fail(st, "bad priority '" + std::string(v) + "' (1..255)");
    r.priority = int(x);
  } else if (n == "reference") {
    if (!need_value(o, st)) return false;
    r.references.emplace_back(v);
  } else if (n == "metadata") {
    if (!need_value(o, st)) return false;
    opt_metadata(r, v);
  } else if (n == "target") {
    if (v != "src_ip" && v != "dest_ip") return fail(st, "target must be src_ip or dest_ip");
    r.target = std::string(v);
  } else if (n == "service" || n == "prefilter") {
    // Informational here: Snort 3 service lists and Suricata's prefilter hint.
  } else {
    handled = false;
  }
  return true;
}

bool dispatch(Ctx& c, const Opt& o) {
  bool handled = false;
  if (!opt_info(c, o, handled)) return false;
  if (handled) return true;
  const std::string_view n = o.name, v = o.value;
  Status& st = c.st;
  if (n == "content") return need_value(o, st) && opt_content(c, v);
  if (n == "pcre") return need_value(o, st) && opt_pcre(c, v);
  if (n == "uricontent") {  // Snort 2 / Suricata legacy: content + http_uri
    bool h = false;
    return need_value(o, st) && opt_content(c, v) && opt_buffer(c, "http_uri", h) && (h || fail(st, "uricontent"));
  }
  if (n == "tag") return need_value(o, st);  // parsed; tagging of later packets is not done
  if (n == "isdataat") return need_value(o, st) && opt_isdataat(c, v);
  if (n == "asn1") return need_value(o, st) && opt_asn1(c, v);
  if (n == "byte_test") return need_value(o, st) && opt_byte_test(c, v);
  if (n == "byte_jump") return need_value(o, st) && opt_byte_jump(c, v);
  if (n == "byte_extract") return need_value(o, st) && opt_byte_extract(c, v);
  if (n == "byte_math") return need_value(o, st) && opt_byte_math(c, v);
  if (n == "base64_decode") return opt_base64_decode(c, v);
  if (n == "base64_data") return o.has_value ? fail(st, "base64_data takes no value") : opt_base64_data(c);
  if (n == "ftpbounce") {  // the tx is a PORT command naming another host (app_ftp.cc sets the buffer)
    if (o.has_value) return fail(st, "ftpbounce takes no value");
    push_byte_test(c, kFtpBounce, 0, 1, ByteOp::Op::kEq, 1);
    return true;
  }
  if (n == "flow") return need_value(o, st) && opt_flow(c, v);
  if (n == "flowbits") return need_value(o, st) && opt_flowbits(c, v);
  if (n == "noalert") return o.has_value ? fail(st, "noalert takes no value") : opt_flowbits(c, "noalert");
  if (n == "threshold") return need_value(o, st) && opt_threshold(c, v, false);
  if (n == "detection_filter") return need_value(o, st) && opt_threshold(c, v, true);
  if (n == "dsize") return need_value(o, st) && opt_dsize(c, v);
  if (n == "itype" || n == "icode" || n == "icmp_id" || n == "icmp_seq") return need_value(o, st) && opt_icmp(c, n, v);
  if (n == "bsize") return need_value(o, st) && opt_bsize(c, v);
  if (n == "urilen") return need_value(o, st) && opt_urilen(c, v);
  if (n == "bufferlen") return need_value(o, st) && opt_bufferlen(c, v);
  if (n == "flags") return need_value(o, st) && opt_flags(c, v);
  if (n == "app-layer-protocol") return need_value(o, st) && opt_app_proto(c, v);
  if (n == "ip_proto") return need_value(o, st) && opt_ip_proto(c, v);
  if (n == "stream_size") return need_value(o, st) && opt_stream_size(c, v);
  if (n == "xbits") return need_value(o, st) && opt_xbits(c, v);
  if (n == "app-layer-event") return need_value(o, st) && opt_app_event(c, v);
  if (n == "decode-event") return need_value(o, st) && opt_decode_event(c, v);
  if (n == "stream-event") return need_value(o, st) && opt_stream_event(c, v);
  if (n == "hostbits") return need_value(o, st) && opt_hostbits(c, v);
  if (n == "flowint") return need_value(o, st) && opt_flowint(c, v);
  if (n == "nocase" || n == "offset" || n == "depth" || n == "distance" || n == "within" ||
      n == "startswith" || n == "endswith" || n == "fast_pattern" || n == "rawbytes")
    return opt_content_modifier(c, n, v, o.has_value);
  if (!opt_pkt_hdr(c, n, v, o.has_value, handled)) return false;
  if (handled) return true;
  if (!opt_snort3(c, n, v, o.has_value, handled)) return false;
  if (handled) return true;
  if (!opt_tls(c, n, v, o.has_value, handled)) return false;
  if (handled) return true;
  if (!opt_ssh(c, n, v, o.has_value, handled)) return false;
  if (handled) return true;
  if (!opt_mqtt(c, n, v, o.has_value, handled)) return false;
  if (handled) return true;
  if (!opt_krb5(c, n, v, o.has_value, handled)) return false;
  if (handled) return true;
  if (!opt_smb(c, n, v, o.has_value, handled)) return false;
  if (handled) return true;
  if (!opt_http2(c, n, v, o.has_value, handled)) return false;
  if (handled) return true;
  if (!opt_file(c, n, v, o.has_value, handled)) return false;
  if (handled) return true;
  if (!opt_set(c, n, v, o.has_value, handled)) return false;
  if (handled) return true;
  if (!opt_buffer(c, n, handled)) return false;  // first: dotprefix may select a buffer of its own
  if (handled) {
    if (o.has_value) return unsup(st, "unsupported: " + std::string(n) + " with arguments");
    return true;
  }
  if (!opt_transform(c, n, v, o.has_value, handled)) return false;
  if (handled) return true;
  return unsup(st, "unsupported keyword: " + std::string(n));
}

// Snort 3 rules put sticky buffers before contents (`http_uri; content:...`)
// where Suricata uses the same names as content modifiers after them. A rule
// with Snort-3-only syntax (service, comma options in content) is read the
// Snort 3 way from its first option.
bool looks_snort3(const std::vector<Opt>& opts) {
  for (const Opt& o : opts) {
    if (o.name == "service") return true;
    if (o.name == "content") {
      size_t q = o.value.rfind('"');
      if (q != std::string_view::npos && trim(o.value.substr(q + 1)).starts_with(",")) return true;
    }
  }
  return false;
}

}  // namespace
}  // namespace detail

bool parse_rule(std::string_view text, const Vars& vars, Rule& out, std::string& err, bool& unsupported) {
  using namespace detail;
  Rule r;
  r.file = out.file;
  r.line = out.line;
  Status st;
  auto done = [&](bool ok) {
    if (ok) {
      out = std::move(r);
      err.clear();
      unsupported = false;
    } else {
      err = st.err.empty() ? "parse error" : st.err;
      unsupported = st.unsupported;
    }
    return ok;
  };
  text = trim(text);
  const size_t lp = text.find('(');
  if (lp == std::string_view::npos) return done(fail(st, "missing '(' option list"));
  if (text.back() != ')') return done(fail(st, "rule must end with ')'"));
  if (!parse_header(text.substr(0, lp), vars, r.hdr, st)) return done(false);
  std::vector<Opt> opts;
  if (!split_options(text.substr(lp + 1, text.size() - lp - 2), opts, st)) return done(false);
  Ctx c(r);
  c.snort3 = looks_snort3(opts);
  for (const Opt& o : opts) {
    const size_t before = r.items.size();
    if (!dispatch(c, o)) {
      st = c.st;
      return done(false);
    }
    for (size_t i = before; i < r.items.size(); i++) {  // new items of the sticky buffer see its transforms
      if (c.sticky && r.items[i].buf == c.cur) r.items[i].xform = c.cur_xform;
      if (c.b64_data && r.items[i].buf == c.cur && r.items[i].kind != MatchItem::Kind::kBase64Data)
        r.items[i].b64 = true;
    }
  }
  // tcp-pkt: payload on packets only (like flow:no_stream); tcp-stream: on the
  // reassembled stream only (flow:only_stream). Without payload items both are
  // plain tcp rules (Suricata's rule-types page: IP-only when addresses only).
  const std::string_view proto_tok = header_tokens(text.substr(0, lp))[1];
  if ((proto_tok == "tcp-pkt" || proto_tok == "tcp-stream") && !r.items.empty()) {
    const uint16_t bit = proto_tok == "tcp-pkt" ? kFlowNoStream : kFlowOnlyStream;
    if (r.flow & (kFlowNoStream | kFlowOnlyStream) & ~bit)
      return done(fail(st, std::string(proto_tok) + " contradicts its flow option"));
    r.flow |= bit;
  }
  if (!check_buffers(c)) {
    st = c.st;
    return done(false);
  }
  if (r.sid == 0) return done(fail(st, "missing sid"));
  return done(true);
}

}  // namespace spectre::rules
