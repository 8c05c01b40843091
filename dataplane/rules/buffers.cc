// Buffer keywords: sticky buffers (`http.uri; content:...`), legacy content
// modifiers (`content:...; http_uri;`), and end-of-rule buffer checks.
#include <cctype>

#include "dataplane/rules/parse_internal.h"

namespace spectre::rules::detail {
namespace {

struct BufKw {
  const char* name;
  Buf buf;
};

// Suricata content modifiers that move the preceding content into a buffer.
// In Snort 3 rules the same names are sticky buffers.
constexpr BufKw kLegacy[] = {
    {"http_uri", kHttpUri},           {"http_raw_uri", kHttpUriRaw},
    {"http_method", kHttpMethod},     {"http_host", kHttpHost},
    {"http_user_agent", kHttpUserAgent}, {"http_header", kHttpHeader},
    {"http_cookie", kHttpCookie},     {"http_stat_code", kHttpStatCode},
    {"http_stat_msg", kHttpStatMsg},  {"http_client_body", kHttpRequestBody},
    {"http_server_body", kHttpResponseBody},
    {"http_raw_header", kHttpHeaderRaw}, {"http_raw_host", kHttpHostRaw},
};
// Legacy modifiers for buffers we do not extract.
constexpr const char* kLegacyUnsupported[] = {"http_raw_cookie"};

// Sticky-buffer aliases besides the canonical names of buf_name().
constexpr BufKw kStickyAliases[] = {
    {"http_protocol", kHttpProtocol},   {"http_request_line", kHttpRequestLine},
    {"http_header_names", kHttpHeaderNames}, {"http_referer", kHttpReferer},
    {"http_content_type", kHttpContentType}, {"http_content_len", kHttpContentLen},
    {"http_accept", kHttpAccept},       {"http_connection", kHttpConnection},
    {"http_response_line", kHttpResponseLine}, {"http_server", kHttpServer},
    {"http_location", kHttpLocation},   {"http.server_body", kHttpResponseBody},
    {"file_data", kFileData},
    {"http_accept_enc", kHttpAcceptEnc}, {"http_accept_lang", kHttpAcceptLang},
    {"http_start", kHttpStart},
    {"dns_query", kDnsQuery},           {"tls_sni", kTlsSni},
    {"ja3_hash", kJa3Hash},             {"ja3_string", kJa3String},
    {"ja3s_hash", kJa3sHash},           {"ja3s_string", kJa3sString},
    {"tls_cert_subject", kTlsCertSubject}, {"tls_cert_issuer", kTlsCertIssuer},
    {"tls_cert_serial", kTlsCertSerial}, {"tls_cert_fingerprint", kTlsCertFingerprint},
    {"ssh_proto", kSshProto},           {"ssh_software", kSshSoftware},
    {"krb5.cname", kKrb5Cname},         {"krb5.sname", kKrb5Sname},
    {"dce_stub_data", kDcerpcStubData}, {"smb_named_pipe", kSmbNamedPipe}, {"smb_share", kSmbShare},
};

bool close_sticky(Ctx& c) {
  if (c.sticky && c.r.items.size() == c.sticky_start)
    return fail(c.st, std::string("sticky buffer ") + c.sticky_kw + " has no match after it");
  return true;
}

bool set_sticky(Ctx& c, Buf b, const char* kw) {
  if (!close_sticky(c)) return false;
  c.cur = b;
  c.sticky = b != kPayload;
  c.sticky_kw = kw;
  c.sticky_start = c.r.items.size();
  c.cur_xform = 0;
  c.xform_start = c.r.items.size();
  c.b64_data = c.b64_decode = false;
  return true;
}

// 0: payload, 1: http, 2: dns, 3: tls, 4: smtp, 5: ftp, 6: quic; 7: JA3/JA4
// of a ClientHello (TLS or QUIC, as in Suricata); 8: sip; 9: ssh; 10: mqtt; 11: krb5;
// 12: smb / dcerpc.
constexpr int kFamJa = 7;
int family(Buf b) {
  if (b == kPayload || is_header_buf(b) || is_addr_buf(b)) return 0;  // header buffers go with any protocol's packets
  if (b >= kQuicVersion && b <= kQuicCyuString) return 6;
  if (b >= kSipMethod && b <= kSipContentLength) return 8;
  if (b >= kMqttClientId && b <= kMqttHdr) return 10;
  if (b >= kKrb5Cname && b <= kKrb5TicketEtype) return 11;
  if (b >= kSmbNamedPipe && b <= kDcerpcHdr) return 12;  // smb and dcerpc (DCERPC rides SMB pipes)
  if (b == kHttp2Hdr || b == kHttp2HeaderName || b == kHttp2Headers) return 1;  // http2.* go with the http buffers
  if (b == kJa3Hash || b == kJa3String || b == kJa4Hash) return kFamJa;
  if (b >= kSshProto && b <= kSshHasshServer) return 9;
  if (b >= kFileName && b <= kFileSha256) return 0;  // every protocol with files
  if (b == kSmtpHelo || b == kSmtpMailFrom || b == kSmtpRcptTo) return 4;
  if (b >= kFtpCommand && b <= kFtpBounce) return 5;
  if (b == kDnsQuery || b == kDnsQueryDot) return 2;
  if (b >= kTlsSni) return 3;
  return 1;
}

}  // namespace

bool opt_buffer(Ctx& c, std::string_view name, bool& handled) {
  handled = true;
  if (name == "dotprefix" && c.sticky && c.r.items.size() == c.sticky_start && !c.cur_xform) {
    // "." + the buffer right after its sticky keyword: a prefiltered buffer of
    // its own where the app layer provides one; else the generic transform.
    Buf dot = c.cur == kDnsQuery ? kDnsQueryDot : c.cur == kTlsSni ? kTlsSniDot
            : c.cur == kHttpHost ? kHttpHostDot : kPayload;
    if (dot != kPayload) {
      c.cur = dot;
      return true;
    }
  }
  if (name == "pkt_data" || name == "raw_data") return set_sticky(c, kPayload, "pkt_data");
  // HASSH buffers exist in one direction each (Suricata registers ssh.hassh
  // to_server, ssh.hassh.server to_client): the server's are the same
  // buffers in to_client transactions.
  if (name == "ssh.hassh" || name == "ssh.hassh.string" || name == "ssh.hassh.server" ||
      name == "ssh.hassh.server.string") {
    bool srv = name.starts_with("ssh.hassh.server");
    c.ssh_dir |= srv ? kFlowToClient : kFlowToServer;
    return set_sticky(c, name.ends_with(".string") ? kSshHasshString : kSshHassh,
                      srv ? (name.ends_with(".string") ? "ssh.hassh.server.string" : "ssh.hassh.server")
                          : buf_name(name.ends_with(".string") ? kSshHasshString : kSshHassh));
  }
  for (const char* u : kLegacyUnsupported)
    if (name == u) return unsup(c.st, "unsupported keyword: " + std::string(name));
  for (const BufKw& k : kLegacy) {
    if (name != k.name) continue;
    if (c.snort3 || c.last_content < 0) {  // Snort 3 sticky form
      c.snort3 = true;
      return set_sticky(c, k.buf, k.name);
    }
    if (c.sticky)
      return fail(c.st, std::string(k.name) + " can't modify a content under sticky buffer " + c.sticky_kw);
    MatchItem& it = c.r.items[size_t(c.last_content)];
    if (it.buf != kPayload)
      return fail(c.st, std::string(k.name) + ": content already has buffer " + buf_name(it.buf));
    it.buf = k.buf;
    return true;
  }
  for (int b = 1; b < kBufCount; ++b)
    if (name == buf_name(Buf(b))) return set_sticky(c, Buf(b), buf_name(Buf(b)));
  for (const BufKw& k : kStickyAliases)
    if (name == k.name) return set_sticky(c, k.buf, k.name);
  handled = false;
  return true;
}

bool check_buffers(Ctx& c) {
  if (!close_sticky(c)) return false;
  int fam = 0;
  bool ja = false;
  for (const MatchItem& it : c.r.items) {
    if (it.kind == MatchItem::Kind::kContent && (it.buf == kHttpHost || it.buf == kHttpHostDot)) {
      for (char ch : it.content.bytes)
        if (std::isupper(uint8_t(ch)))
          return fail(c.st, "http.host content must be lowercase (the buffer is normalised): \"" +
                                it.content.bytes + "\"");
    }
    const int f = family(it.buf);
    ja |= f == kFamJa;
    if (f == 0 || f == kFamJa) continue;
    if (fam != 0 && f != fam)
      return fail(c.st, std::string("rule mixes buffers of different protocols (") + buf_name(it.buf) + ")");
    fam = f;
  }
  for (const MatchItem& it : c.r.items) {  // a header buffer the rule's protocol cannot have
    const Proto p = c.r.hdr.proto;
    if ((it.buf == kTcpHdr && (p == Proto::kUdp || p == Proto::kIcmp)) ||
        (it.buf == kUdpHdr && p != Proto::kIp && p != Proto::kUdp && p != Proto::kDns) ||
        ((it.buf == kIcmpv4Hdr || it.buf == kIcmpv6Hdr) && p != Proto::kIp && p != Proto::kIcmp))
      return fail(c.st, std::string(buf_name(it.buf)) + " in a rule whose protocol has no such header");
  }
  static const char* const kFam[] = {"", "http", "dns", "tls", "smtp", "ftp", "quic", "", "sip", "ssh", "mqtt", "krb5", "smb"};
  const Proto p = c.r.hdr.proto;
  const int pf = p == Proto::kHttp || p == Proto::kHttp2 ? 1 : p == Proto::kDns ? 2 : p == Proto::kTls ? 3
               : p == Proto::kSmtp ? 4 : p == Proto::kFtp ? 5 : p == Proto::kQuic ? 6 : p == Proto::kSip ? 8
               : p == Proto::kSsh ? 9 : p == Proto::kMqtt ? 10 : p == Proto::kKrb5 ? 11
               : p == Proto::kSmb || p == Proto::kDcerpc ? 12 : 0;
  if (ja) {  // ja3.* / ja4.hash: a TLS buffer unless the rule is QUIC's
    if (fam == 0) fam = pf == 6 ? 6 : 3;
    else if (fam != 3 && fam != 6)
      return fail(c.st, std::string("rule mixes buffers of different protocols (ja3/ja4 with ") + kFam[fam] + ")");
  }
  if (c.ssh_dir) {  // client and server HASSH together, or against the rule's flow direction
    uint16_t both = kFlowToServer | kFlowToClient;
    if ((c.ssh_dir & both) == both || ((c.r.flow & both) && (c.r.flow & both) != c.ssh_dir))
      return unsup(c.st, "ssh.hassh and ssh.hassh.server buffers in opposite directions never match");
    c.r.flow |= c.ssh_dir;
  }
  // file.data (family http by default) is also SMTP attachments and ftp-data.
  if (fam == 1 && (p == Proto::kSmtp || p == Proto::kFtpData || p == Proto::kSmb)) {
    bool only_file = true;
    for (const MatchItem& it : c.r.items)
      if (family(it.buf) == 1 && it.buf != kFileData) only_file = false;
    if (only_file) fam = 0;
  }
  // DCERPC buffers alone come over UDP too (connectionless DCERPC; Snort 3's udp dce_* rules).
  bool dce_only = fam == 12;
  for (const MatchItem& it : c.r.items)
    if (family(it.buf) == 12 && it.buf != kDcerpcHdr && it.buf != kDcerpcStubData) dce_only = false;
  if (fam != 0) {
    if (pf != 0 && pf != fam)
      return fail(c.st, std::string(kFam[fam]) + " buffer in a " + kFam[pf] + " rule");
    if (p == Proto::kIcmp || (p == Proto::kUdp && fam != 2 && fam != 6 && fam != 8 && fam != 11 && !dce_only))
      return fail(c.st, std::string(kFam[fam]) + " buffer in a " + (p == Proto::kIcmp ? "icmp" : "udp") + " rule");
  }
  return true;
}

}  // namespace spectre::rules::detail

namespace spectre::rules::detail {

namespace {
// N, =N, !N, <N, >N, <=N, >=N, N<>M (exclusive), N<=>M (inclusive, Snort 3) into `b`.
bool parse_size(std::string_view v, Bsize& b) {
  uint32_t x = 0, y = 0;
  bool ok;
  if (v.starts_with("=")) v = trim(v.substr(1));  // Snort 3's explicit equality
  if (size_t q = v.find("<=>"); q != std::string_view::npos) {  // Snort 3: inclusive
    ok = parse_u32(trim(v.substr(0, q)), x) && parse_u32(trim(v.substr(q + 3)), y) && x <= y && y < 0xffffffffu;
    if (x == 0) {  // 0 <= n <= y: n < y + 1
      b.op = uint8_t(Dsize::Op::kLt);
      x = y + 1;
    } else {       // x - 1 < n < y + 1
      b.op = uint8_t(Dsize::Op::kRange);
      x -= 1;
      y += 1;
    }
  } else if (size_t q = v.find("<>"); q != std::string_view::npos) {
    ok = parse_u32(trim(v.substr(0, q)), x) && parse_u32(trim(v.substr(q + 2)), y) && x < y;
    b.op = uint8_t(Dsize::Op::kRange);
  } else if (v.starts_with("<=")) {
    ok = parse_u32(trim(v.substr(2)), x) && x < 0xffffffffu;
    b.op = uint8_t(Dsize::Op::kLt);
    x += 1;
  } else if (v.starts_with(">=")) {
    ok = parse_u32(trim(v.substr(2)), x) && x > 0;
    b.op = uint8_t(Dsize::Op::kGt);
    x -= ok ? 1 : 0;
  } else if (!v.empty() && (v[0] == '<' || v[0] == '>' || v[0] == '!')) {
    b.op = uint8_t(v[0] == '<' ? Dsize::Op::kLt : v[0] == '>' ? Dsize::Op::kGt : Dsize::Op::kNe);
    ok = parse_u32(trim(v.substr(1)), x);
  } else {
    b.op = uint8_t(Dsize::Op::kEq);
    ok = parse_u32(trim(v), x);
  }
  if (!ok) return false;
  b.lo = x;
  b.hi = b.op == uint8_t(Dsize::Op::kRange) ? y : x;
  return true;
}
}  // namespace

// bsize: the length of the active sticky buffer.
bool opt_bsize(Ctx& c, std::string_view v) {
  if (!c.sticky) return fail(c.st, "bsize needs a sticky buffer");
  MatchItem it;
  it.kind = MatchItem::Kind::kBsize;
  it.buf = c.cur;
  if (!parse_size(v, it.bsize)) return fail(c.st, "bsize: bad value '" + std::string(v) + "'");
  c.r.items.push_back(it);
  return true;
}

// bufferlen (Snort 3): the length of the active sticky buffer, as bsize.
// `relative` (the bytes left after the cursor) and bufferlen on the packet
// payload (no sticky buffer) are not supported.
bool opt_bufferlen(Ctx& c, std::string_view v) {
  auto p = split(v, ',');
  if (p.size() == 2 && p[1] == "relative") return unsup(c.st, "unsupported: bufferlen relative");
  if (p.size() != 1) return fail(c.st, "bufferlen: bad value '" + std::string(v) + "'");
  if (!c.sticky) return unsup(c.st, "unsupported: bufferlen on the packet payload");
  MatchItem it;
  it.kind = MatchItem::Kind::kBsize;
  it.buf = c.cur;
  if (!parse_size(p[0], it.bsize)) return fail(c.st, "bufferlen: bad value '" + std::string(v) + "'");
  c.r.items.push_back(it);
  return true;
}

// urilen:SIZE[,norm|raw]: the length of http.uri (or http.uri.raw), as a bsize
// item on that buffer; it does not change the active sticky buffer.
bool opt_urilen(Ctx& c, std::string_view v) {
  MatchItem it;
  it.kind = MatchItem::Kind::kBsize;
  it.buf = kHttpUri;
  std::string_view size = v;
  if (size_t comma = v.find(','); comma != std::string_view::npos) {
    std::string_view mod = trim(v.substr(comma + 1));
    if (mod == "raw") it.buf = kHttpUriRaw;
    else if (mod != "norm") return fail(c.st, "urilen: unknown modifier '" + std::string(mod) + "'");
    size = v.substr(0, comma);
  }
  if (!parse_size(trim(size), it.bsize)) return fail(c.st, "urilen: bad value '" + std::string(v) + "'");
  c.r.items.push_back(it);
  return true;
}

}  // namespace spectre::rules::detail
