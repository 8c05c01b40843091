// Rule header: actions, protocols, directions, address and port sets, variables.
#include <bitset>
#include <random>

#include "dataplane/rules/parse_internal.h"
#include "tests/unit/rules/rules_test_util.h"

using namespace spectre::rules;
using namespace spectre::rules::test;

namespace {
Parsed hdr(const std::string& h, const Vars& v = Vars::suricata_defaults()) {
  return parse(h + " (msg:\"x\"; sid:1;)", v);
}
}  // namespace

TEST(RulesHeader, ActionsAndProtocols) {
  EXPECT_EQ(hdr("alert tcp any any -> any any").rule.hdr.action, Action::kAlert);
  EXPECT_EQ(hdr("pass udp any any -> any any").rule.hdr.action, Action::kPass);
  EXPECT_EQ(hdr("drop ip any any -> any any").rule.hdr.action, Action::kDrop);
  EXPECT_EQ(hdr("reject icmp any any -> any any").rule.hdr.action, Action::kReject);
  EXPECT_UNSUPPORTED(hdr("sdrop tcp any any -> any any"), "unsupported action: sdrop");
  EXPECT_UNSUPPORTED(hdr("rewrite tcp any any -> any any"), "rewrite");
  EXPECT_SYNTAX_ERROR(hdr("alertx tcp any any -> any any"), "unknown action");
  const std::pair<const char*, Proto> protos[] = {
      {"tcp", Proto::kTcp}, {"udp", Proto::kUdp}, {"icmp", Proto::kIcmp}, {"ip", Proto::kIp},
      {"http", Proto::kHttp}, {"http1", Proto::kHttp}, {"dns", Proto::kDns}, {"tls", Proto::kTls},
      {"smtp", Proto::kSmtp}, {"ftp", Proto::kFtp}, {"ftp-data", Proto::kFtpData}, {"smb", Proto::kSmb},
      {"quic", Proto::kQuic}, {"sip", Proto::kSip}};
  for (auto [name, p] : protos) {
    Parsed r = hdr(std::string("alert ") + name + " any any -> any any");
    EXPECT_PARSE_OK(r);
    EXPECT_EQ(r.rule.hdr.proto, p) << name;
  }
  EXPECT_EQ(hdr("alert tcp-pkt any any -> any any").rule.hdr.proto, Proto::kTcp);  // flow bits: test_rules_options
  EXPECT_EQ(hdr("alert tcp-stream any any -> any any").rule.hdr.proto, Proto::kTcp);
  EXPECT_EQ(hdr("alert ssh any any -> any any").rule.hdr.proto, Proto::kSsh);
  EXPECT_EQ(hdr("alert dcerpc any any -> any any").rule.hdr.proto, Proto::kDcerpc);
  EXPECT_EQ(hdr("alert http2 any any -> any any").rule.hdr.proto, Proto::kHttp2);
  EXPECT_UNSUPPORTED(hdr("alert nfs any any -> any any"), "nfs");
  EXPECT_SYNTAX_ERROR(hdr("alert foo any any -> any any"), "unknown protocol");
}

TEST(RulesHeader, IcmpFamilies) {
  uint8_t v4[4] = {1, 2, 3, 4}, v6[16] = {0x20, 0x01};
  Parsed a = hdr("alert icmpv6 any any -> any any");
  EXPECT_PARSE_OK(a);
  EXPECT_EQ(a.rule.hdr.proto, Proto::kIcmp);
  EXPECT_FALSE(a.rule.hdr.src.contains(v4, 4));
  EXPECT_TRUE(a.rule.hdr.src.contains(v6, 6));
  Parsed b = hdr("alert icmpv4 any any -> any any");
  EXPECT_TRUE(b.rule.hdr.src.contains(v4, 4));
  EXPECT_FALSE(b.rule.hdr.src.contains(v6, 6));
  Parsed c = hdr("alert icmp any any -> any any");  // both families
  EXPECT_TRUE(c.rule.hdr.src.contains(v4, 4) && c.rule.hdr.src.contains(v6, 6));
}

TEST(RulesHeader, Directions) {
  EXPECT_FALSE(hdr("alert tcp any any -> any any").rule.hdr.bidir);
  EXPECT_TRUE(hdr("alert tcp any any <> any any").rule.hdr.bidir);
  EXPECT_SYNTAX_ERROR(hdr("alert tcp any any <- any any"), "'<-' is not valid");
  EXPECT_UNSUPPORTED(hdr("alert tcp any any => any any"), "transactional");  // Suricata 8: parsed, skipped
  EXPECT_SYNTAX_ERROR(hdr("alert tcp any any -> any"), "7 fields");
  EXPECT_SYNTAX_ERROR(parse("alert tcp any any -> any any msg:\"x\"; sid:1;"), "missing '('");
  EXPECT_SYNTAX_ERROR(parse("alert tcp any any -> any any (sid:1;"), "end with ')'");
}

TEST(RulesHeader, Addresses) {
  Parsed r = hdr("alert tcp 10.1.2.0/24 any -> [192.168.1.1,172.16.0.0/12,2001:db8::/32] any");
  EXPECT_PARSE_OK(r);
  const IpSet& s = r.rule.hdr.src;
  EXPECT_FALSE(s.any);
  EXPECT_TRUE(has_ip(s, "10.1.2.0") && has_ip(s, "10.1.2.255"));
  EXPECT_FALSE(has_ip(s, "10.1.3.0") || has_ip(s, "10.1.1.255"));
  const IpSet& d = r.rule.hdr.dst;
  EXPECT_TRUE(has_ip(d, "192.168.1.1") && has_ip(d, "172.31.255.255") && has_ip(d, "2001:db8:ffff::1"));
  EXPECT_FALSE(has_ip(d, "192.168.1.2") || has_ip(d, "172.32.0.0") || has_ip(d, "2001:db9::"));
  EXPECT_FALSE(has_ip(d, "::ffff:192.168.1.1"));  // families do not mix
  // Host bits are masked off; netmask form; ranges; single IPv6.
  Parsed m = hdr("alert tcp 10.1.2.3/255.255.0.0 any -> [1.1.1.5-1.1.1.9,::1] any");
  EXPECT_PARSE_OK(m);
  EXPECT_TRUE(has_ip(m.rule.hdr.src, "10.1.0.0") && has_ip(m.rule.hdr.src, "10.1.255.255"));
  EXPECT_TRUE(has_ip(m.rule.hdr.dst, "1.1.1.5") && has_ip(m.rule.hdr.dst, "1.1.1.9") && has_ip(m.rule.hdr.dst, "::1"));
  EXPECT_FALSE(has_ip(m.rule.hdr.dst, "1.1.1.10") || has_ip(m.rule.hdr.dst, "::2"));
  EXPECT_SYNTAX_ERROR(hdr("alert tcp 10.1.2.300 any -> any any"), "bad address");
  EXPECT_SYNTAX_ERROR(hdr("alert tcp 10.0.0.0/33 any -> any any"), "prefix");
  EXPECT_SYNTAX_ERROR(hdr("alert tcp [10.0.0.1 any -> any any"), "7 fields");
  EXPECT_SYNTAX_ERROR(hdr("alert tcp [10.0.0.1,] any -> any any"), "empty address");
  EXPECT_SYNTAX_ERROR(hdr("alert tcp 2001:zz::1 any -> any any"), "bad IPv6");
}

TEST(RulesHeader, AddressNegationAndVars) {
  Parsed r = hdr("alert tcp $EXTERNAL_NET any -> $HOME_NET any");
  EXPECT_PARSE_OK(r);
  const IpSet& ext = r.rule.hdr.src;
  EXPECT_TRUE(ext.any);
  EXPECT_EQ(ext.exclude.size(), 3u);
  EXPECT_TRUE(has_ip(ext, "8.8.8.8") && has_ip(ext, "2001:db8::1"));
  EXPECT_FALSE(has_ip(ext, "10.9.9.9") || has_ip(ext, "192.168.0.1") || has_ip(ext, "172.20.0.1"));
  const IpSet& home = r.rule.hdr.dst;
  EXPECT_FALSE(home.any);
  EXPECT_EQ(home.include.size(), 3u);
  EXPECT_TRUE(has_ip(home, "10.9.9.9"));
  // Negation inside a list: include + exclude.
  Parsed l = hdr("alert tcp [$HOME_NET,!10.0.0.5] any -> !$EXTERNAL_NET any");
  EXPECT_PARSE_OK(l);
  EXPECT_EQ(l.rule.hdr.src.include.size(), 3u);
  EXPECT_EQ(l.rule.hdr.src.exclude.size(), 1u);
  EXPECT_TRUE(has_ip(l.rule.hdr.src, "10.0.0.4") && !has_ip(l.rule.hdr.src, "10.0.0.5"));
  EXPECT_TRUE(has_ip(l.rule.hdr.dst, "10.0.0.5") && !has_ip(l.rule.hdr.dst, "8.8.8.8"));
  // Only negated items: any minus them; nested lists.
  Parsed n = hdr("alert tcp [!1.2.3.4,![5.6.7.8,9.9.9.0/24]] any -> [[1.1.1.1],[2.2.2.2]] any");
  EXPECT_PARSE_OK(n);
  EXPECT_TRUE(n.rule.hdr.src.any);
  EXPECT_FALSE(has_ip(n.rule.hdr.src, "9.9.9.9") || has_ip(n.rule.hdr.src, "1.2.3.4"));
  EXPECT_TRUE(has_ip(n.rule.hdr.src, "9.9.8.9"));
  EXPECT_TRUE(has_ip(n.rule.hdr.dst, "2.2.2.2") && !has_ip(n.rule.hdr.dst, "3.3.3.3"));
  // AIM_SERVERS -> EXTERNAL_NET -> !HOME_NET, resolved recursively.
  EXPECT_TRUE(has_ip(hdr("alert tcp $AIM_SERVERS any -> any any").rule.hdr.src, "8.8.8.8"));
  EXPECT_UNSUPPORTED(hdr("alert tcp [1.0.0.0/8,!$EXTERNAL_NET] any -> any any"), "double negation");
  EXPECT_SYNTAX_ERROR(hdr("alert tcp !any any -> any any"), "matches nothing");
  EXPECT_SYNTAX_ERROR(hdr("alert tcp $NOPE any -> any any"), "undefined address variable $NOPE");
  EXPECT_SYNTAX_ERROR(hdr("alert tcp $HTTP_PORTS any -> any any"), "undefined address variable $HTTP_PORTS");
  Vars v;
  v.address = {{"A", "[$B,1.1.1.1]"}, {"B", "$A"}};
  EXPECT_SYNTAX_ERROR(hdr("alert tcp $A any -> any any", v), "cycle");
}

TEST(RulesHeader, Ports) {
  Parsed r = hdr("alert tcp any [80,8000:8080,!8008] -> any $HTTP_PORTS");
  EXPECT_PARSE_OK(r);
  const PortSet& s = r.rule.hdr.sport;
  EXPECT_TRUE(s.contains(80) && s.contains(8000) && s.contains(8080) && !s.contains(8008) && !s.contains(81));
  EXPECT_TRUE(r.rule.hdr.dport.contains(80) && !r.rule.hdr.dport.contains(81));
  Parsed o = hdr("alert tcp any 1024: -> any :1023");
  EXPECT_TRUE(o.rule.hdr.sport.contains(1024) && o.rule.hdr.sport.contains(65535) && !o.rule.hdr.sport.contains(1023));
  EXPECT_TRUE(o.rule.hdr.dport.contains(0) && o.rule.hdr.dport.contains(1023) && !o.rule.hdr.dport.contains(1024));
  Parsed n = hdr("alert tcp any $SHELLCODE_PORTS -> any !$SHELLCODE_PORTS");
  EXPECT_TRUE(n.rule.hdr.sport.any && !n.rule.hdr.sport.contains(80) && n.rule.hdr.sport.contains(81));
  EXPECT_TRUE(!n.rule.hdr.dport.any && n.rule.hdr.dport.contains(80) && !n.rule.hdr.dport.contains(81));
  Parsed f = hdr("alert tcp any $FILE_DATA_PORTS -> any any");
  EXPECT_TRUE(f.rule.hdr.sport.contains(110) && f.rule.hdr.sport.contains(80) && !f.rule.hdr.sport.contains(25));
  EXPECT_SYNTAX_ERROR(hdr("alert tcp any 70000 -> any any"), "bad port");
  EXPECT_SYNTAX_ERROR(hdr("alert tcp any 90:80 -> any any"), "empty port range");
  EXPECT_SYNTAX_ERROR(hdr("alert tcp any : -> any any"), "bad port");
  EXPECT_SYNTAX_ERROR(hdr("alert tcp any $HOME_NET -> any any"), "undefined port variable");
}

// Differential: random port expressions against a bitset model of Suricata's
// list semantics (union of positives, minus negated items; '!' complements).
namespace {
struct PortGen {
  std::mt19937 rng{12345};
  int pick(int n) { return int(rng() % unsigned(n)); }
  // Returns text and fills the model set.
  std::string gen(int depth, std::bitset<65536>& out) {
    int k = pick(depth > 2 ? 3 : 5);
    if (k == 0) {
      unsigned p = rng() % 200;
      out.reset();
      out.set(p);
      return std::to_string(p);
    }
    if (k == 1) {
      unsigned a = rng() % 200, b = a + rng() % 50;
      out.reset();
      for (unsigned i = a; i <= b; ++i) out.set(i);
      return std::to_string(a) + ":" + std::to_string(b);
    }
    if (k == 2) {
      unsigned a = 65400 + rng() % 100;
      out.reset();
      for (unsigned i = a; i <= 65535; ++i) out.set(i);
      return std::to_string(a) + ":";
    }
    if (k == 3) {
      std::bitset<65536> in;
      std::string t = "!" + gen(depth + 1, in);
      out = ~in;
      return t;
    }
    int n = 1 + pick(4);
    std::bitset<65536> pos, neg;
    bool any_pos = false;
    std::string t = "[";
    for (int i = 0; i < n; ++i) {
      std::bitset<65536> item;
      bool negated = pick(3) == 0;
      std::string s = gen(depth + 1, item);
      // A '!' at the start of a list item is the list's exclusion syntax.
      while (s[0] == '!') s = gen(depth + 1, item);
      if (i) t += ",";
      t += negated ? "!" + s : s;
      if (negated) neg |= item;
      else {
        pos |= item;
        any_pos = true;
      }
    }
    out = (any_pos ? pos : ~std::bitset<65536>()) & ~neg;
    return t + "]";
  }
};
}  // namespace

TEST(RulesHeader, PortSetsMatchModel) {
  PortGen g;
  int checked = 0, unsupported = 0;
  for (int iter = 0; iter < 400; ++iter) {
    std::bitset<65536> model;
    std::string text = g.gen(0, model);
    if (model.none()) continue;  // e.g. "!0:65535": an error either way
    PortSet ps;
    spectre::rules::detail::Status st;
    if (!spectre::rules::detail::parse_port_set(text, Vars{}, ps, st)) {
      EXPECT_TRUE(st.unsupported) << text << ": " << st.err;
      ++unsupported;
      continue;
    }
    ++checked;
    for (uint32_t p = 0; p < 65536; p += (p < 300 || p > 65300) ? 1 : 97)
      ASSERT_EQ(ps.contains(uint16_t(p)), model[p]) << text << " port " << p;
  }
  EXPECT_GT(checked, 200);
  std::printf("port expressions: %d checked, %d unsupported\n", checked, unsupported);
}

// SMTP / FTP sticky buffers (Suricata's smtp.helo, smtp.mail_from,
// smtp.rcpt_to, ftp.command, ftp.command_data) and file.data in mail and
// ftp-data rules; app-layer-protocol names.
TEST(RulesHeader, MailAndFtpBuffers) {
  EXPECT_PARSE_OK(opts("smtp.helo; content:\"localhost\";", "smtp"));
  EXPECT_PARSE_OK(opts("smtp.mail_from; content:\"spam\"; smtp.rcpt_to; content:\"x@\";", "smtp"));
  EXPECT_PARSE_OK(opts("file.data; content:\"MZ\";", "smtp"));
  EXPECT_PARSE_OK(opts("file_data; content:\"MZ\";", "ftp-data"));
  EXPECT_PARSE_OK(opts("ftp.command; content:\"PASS\"; ftp.command_data; content:\"anonymous\";", "ftp"));
  EXPECT_PARSE_OK(opts("smtp.helo; content:\"x\";", "tcp"));
  EXPECT_SYNTAX_ERROR(opts("smtp.helo; content:\"x\";", "http"), "smtp buffer in a http rule");
  EXPECT_SYNTAX_ERROR(opts("ftp.command; content:\"x\";", "smtp"), "ftp buffer in a smtp rule");
  EXPECT_SYNTAX_ERROR(opts("http.uri; content:\"x\";", "smtp"), "http buffer in a smtp rule");
  EXPECT_SYNTAX_ERROR(opts("smtp.helo; content:\"x\"; ftp.command; content:\"y\";", "tcp"),
                      "mixes buffers");
  for (const char* p : {"smtp", "ftp", "ftp-data", "smb"}) {
    Parsed r = opts(std::string("app-layer-protocol:") + p + ";");
    EXPECT_PARSE_OK(r);
    EXPECT_EQ(std::string(app_proto_name(r.rule.app_proto)), p);
  }
  EXPECT_PARSE_OK(opts("flags:S;", "smtp"));
}

// QUIC and SIP buffers (Suricata's quic.* and sip.* keywords); ja3/ja4 of a
// QUIC ClientHello in quic rules, as Suricata; app-layer-protocol names.
TEST(RulesHeader, QuicAndSipBuffers) {
  EXPECT_PARSE_OK(opts("quic.version; content:\"Q046\";", "quic"));
  EXPECT_PARSE_OK(opts("quic.cyu.hash; content:\"7b3ceb1adc974ad360cfa634e8d0a730\";", "quic"));
  EXPECT_PARSE_OK(opts("quic.cyu.string; content:\"46,PAD-SNI-VER\";", "quic"));
  EXPECT_PARSE_OK(opts("quic.sni; content:\"example.com\"; quic.ua; content:\"Chrome\";", "quic"));
  EXPECT_PARSE_OK(opts("quic.sni; content:\"a\"; ja3.hash; content:\"b\"; ja4.hash; content:\"q13\";", "quic"));
  EXPECT_PARSE_OK(opts("ja4.hash; content:\"q13\";", "quic"));
  EXPECT_PARSE_OK(opts("ja3.hash; content:\"x\"; tls.sni; content:\"y\";", "tls"));
  EXPECT_PARSE_OK(opts("quic.sni; content:\"x\";", "udp"));
  EXPECT_SYNTAX_ERROR(opts("tls.sni; content:\"x\";", "quic"), "tls buffer in a quic rule");
  EXPECT_SYNTAX_ERROR(opts("quic.sni; content:\"x\"; tls.sni; content:\"y\";", "ip"), "mixes buffers");
  EXPECT_SYNTAX_ERROR(opts("quic.sni; content:\"x\";", "tls"), "quic buffer in a tls rule");
  EXPECT_PARSE_OK(opts("sip.method; content:\"INVITE\"; sip.uri; content:\"sip:\";", "sip"));
  EXPECT_PARSE_OK(opts("sip.request_line; content:\"REGISTER\"; sip.protocol; content:\"SIP/2.0\";", "sip"));
  EXPECT_PARSE_OK(opts("sip.stat_code; content:\"100\"; sip.stat_msg; content:\"Trying\";", "sip"));
  EXPECT_PARSE_OK(opts("sip.response_line; content:\"SIP/2.0 100\";", "udp"));
  EXPECT_SYNTAX_ERROR(opts("sip.method; content:\"x\";", "quic"), "sip buffer in a quic rule");
  // Suricata 8's header buffers, on sip over UDP and TCP rules.
  for (const char* b : {"sip.from", "sip.to", "sip.via", "sip.user_agent", "sip.content_type", "sip.content_length"}) {
    Parsed r = opts(std::string(b) + "; content:\"x\";", "sip");
    EXPECT_PARSE_OK(r);
    EXPECT_EQ(std::string(buf_name(r.rule.items[0].buf)), b);
    EXPECT_PARSE_OK(opts(std::string(b) + "; content:\"x\";", "tcp"));
  }
  EXPECT_SYNTAX_ERROR(opts("sip.from; content:\"x\";", "mqtt"), "sip buffer in a mqtt rule");
  EXPECT_EQ(hdr("alert mqtt any any -> any any").rule.hdr.proto, Proto::kMqtt);
  for (const char* p : {"quic", "sip", "mqtt"}) {
    Parsed r = opts(std::string("app-layer-protocol:") + p + ";");
    EXPECT_PARSE_OK(r);
    EXPECT_EQ(std::string(app_proto_name(r.rule.app_proto)), p);
  }
}
