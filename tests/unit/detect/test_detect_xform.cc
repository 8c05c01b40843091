// Transforms over parsed rules: the examples of Suricata's "Transformations"
// page as cases (engine and reference side by side through the Harness).
#include "tests/unit/detect/detect_util.h"

namespace spectre::detect_test {
namespace {

BufferSet one(rules::Buf k, const std::string& v) {
  BufferSet b;
  b.set(k, reinterpret_cast<const uint8_t*>(v.data()), uint32_t(v.size()));
  return b;
}

// A DNS query as the app layer hands it over: dns.query and its dotprefix buffer.
struct DnsQ {
  std::string q, dot;
  BufferSet b;
  explicit DnsQ(std::string s) : q(std::move(s)), dot("." + q) {
    b.set(rules::kDnsQuery, reinterpret_cast<const uint8_t*>(q.data()), uint32_t(q.size()));
    b.set(rules::kDnsQueryDot, reinterpret_cast<const uint8_t*>(dot.data()), uint32_t(dot.size()));
  }
};

TEST(DetectXform, SuricataDocumentedExamples) {
  Harness h;
  h.add(parse(R"(alert http any any -> any any (file_data; strip_whitespace; content:"window.navigate("; sid:1;))"));
  h.add(parse(R"(alert dns any any -> any any (dns.query; dotprefix; content:".microsoft.com"; sid:2;))"));
  h.add(parse(R"(alert dns any any -> any any (dns.query; dotprefix; content:".microsoft.com"; endswith; sid:3;))"));
  h.add(parse(R"(alert dns any any -> any any (dns.query; dotprefix; content:".co.uk"; endswith; sid:4;))"));
  h.add(parse(R"(alert http any any -> any any (http.uri; to_lowercase; content:"this text has been converted to lowercase"; sid:5;))"));
  h.add(parse(R"(alert http any any -> any any (http.uri; to_uppercase; content:"THIS TEXT HAS BEEN CONVERTED TO UPPERCASE"; sid:6;))"));
  h.add(parse(R"(alert http any any -> any any (msg:"HTTP with pcrexform"; http.request_line; pcrexform:"[a-zA-Z]+\s+(.*)\s+HTTP"; content:"/dropper.php"; startswith; sid:7;))"));
  h.add(parse(R"(alert http any any -> any any (msg:"HTTP with xor"; http.uri; xor:"0d0ac8ff"; content:"password="; sid:8;))"));
  h.add(parse(R"(alert http any any -> any any (msg:"HTTP authorization"; http.header_names; header_lowercase; content:"authorization:"; sid:9;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u) << (h.rep.messages.empty() ? "" : h.rep.messages[0]);
  Pkt web(6, 40000, 80);
  web.p.app_proto = rules::AppProto::kHttp;
  Pkt cli(6, 80, 40000);
  cli.p.app_proto = rules::AppProto::kHttp;
  cli.p.to_server = false;
  EXPECT_EQ(h.app(cli.p, one(rules::kFileData, "<script>window.navigate  \t(x)</script>")), (Sids{1}));
  EXPECT_EQ(h.app(cli.p, one(rules::kFileData, "window.navig ate(")), (Sids{1}));
  EXPECT_EQ(h.app(cli.p, one(rules::kFileData, "window.navigate;(")), (Sids{}));
  Pkt dns(17, 5353, 53);
  dns.p.app_proto = rules::AppProto::kDns;
  EXPECT_EQ(h.app(dns.p, DnsQ("windows.update.microsoft.com").b), (Sids{2, 3}));
  EXPECT_EQ(h.app(dns.p, DnsQ("maps.microsoft.com.au").b), (Sids{2}));
  EXPECT_EQ(h.app(dns.p, DnsQ("windows.update.fakemicrosoft.com").b), (Sids{}));
  EXPECT_EQ(h.app(dns.p, DnsQ("maps.google.co.uk").b), (Sids{4}));
  EXPECT_EQ(h.app(dns.p, DnsQ("maps.google.co.nl").b), (Sids{}));
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, "/This Text Has Been Converted To Lowercase")), (Sids{5}));
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, "/this text has been converted to uppercase")), (Sids{6}));
  EXPECT_EQ(h.app(web.p, one(rules::kHttpRequestLine, "GET /dropper.php HTTP/1.1")), (Sids{7}));
  EXPECT_EQ(h.app(web.p, one(rules::kHttpRequestLine, "GET /x/dropper.php HTTP/1.1")), (Sids{}));  // not at the start
  std::string key = "\x0d\x0a\xc8\xff", plain = "password=secret", x;
  for (size_t i = 0; i < plain.size(); i++) x += char(plain[i] ^ key[i % 4]);
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, x)), (Sids{8}));
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, plain)), (Sids{}));
  EXPECT_EQ(h.app(web.p, one(rules::kHttpHeaderNames, "Host: a\r\nAuthorization: Basic X\r\n")), (Sids{9}));
}

TEST(DetectXform, UrlDecodeCompressBase64Chains) {
  Harness h;
  h.add(parse(R"(alert http any any -> any any (http.uri; url_decode; content:"/a b/<script>"; sid:1;))"));
  h.add(parse(R"(alert http any any -> any any (http.uri; url_decode; to_lowercase; compress_whitespace; content:"select * from"; sid:2;))"));
  h.add(parse(R"(alert http any any -> any any (http.uri; content:"q="; http.uri; from_base64:offset 4; content:"cmd.exe"; sid:3;))"));
  h.add(parse(R"(alert http any any -> any any (http.cookie; from_base64:bytes 10, mode rfc2045; content:"admin"; sid:4;))"));
  h.add(parse(R"(alert http any any -> any any (http.cookie; from_base64:mode strict; content:"admin"; sid:5;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u) << (h.rep.messages.empty() ? "" : h.rep.messages[0]);
  Pkt web(6, 40000, 80);
  web.p.app_proto = rules::AppProto::kHttp;
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, "/a+b/%3Cscript%3e%zz")), (Sids{1}));
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, "/x?q=SELECT%20%20%09*+FROM%20t")), (Sids{2}));
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, "/?q=Y21kLmV4ZQ==")), (Sids{3}));  // base64 of "cmd.exe"
  EXPECT_EQ(h.app(web.p, one(rules::kHttpCookie, "YW Rt\naW4=")), (Sids{4}));  // rfc2045 skips the junk
  EXPECT_EQ(h.app(web.p, one(rules::kHttpCookie, "YWRtaW4=")), (Sids{4, 5}));
}

TEST(DetectXform, TransformAfterMatchesStartsANewInstance) {
  Harness h;  // ET Open 2044076's shape
  h.add(parse(R"(alert dns any any -> any any (dns.query; content:"rs-"; startswith; fast_pattern; pcre:"/[a-z]{2}/Ri"; dotprefix; content:".rustdesk.com"; nocase; endswith; sid:1;))"));
  h.add(parse(R"(alert http any any -> any any (http.uri; content:"/A"; to_lowercase; content:"/a/b"; startswith; sid:2;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u) << (h.rep.messages.empty() ? "" : h.rep.messages[0]);
  Pkt dns(17, 5353, 53);
  dns.p.app_proto = rules::AppProto::kDns;
  EXPECT_EQ(h.app(dns.p, DnsQ("rs-ny.rustdesk.com").b), (Sids{1}));
  EXPECT_EQ(h.app(dns.p, DnsQ("rs-ny.fakerustdesk.com").b), (Sids{}));
  EXPECT_EQ(h.app(dns.p, DnsQ("xrs-ny.rustdesk.com").b), (Sids{}));  // "rs-" must start the query
  Pkt web(6, 40000, 80);
  web.p.app_proto = rules::AppProto::kHttp;
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, "/A/B")), (Sids{2}));
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, "/a/b")), (Sids{}));  // "/A" is matched before the transform
}

TEST(DetectBase64, DecodeAndData) {
  Harness h;
  // Suricata's base64 keywords page example, in the sticky form.
  h.add(parse(R"(alert http any any -> any any (msg:"Example"; http.uri; content:"somestring"; base64_decode:bytes 8, offset 1, relative; base64_data; content:"test"; sid:10001; rev:1;))"));
  // ET Open style on the payload: decode after the header block, anchored match in the decoded data.
  h.add(parse(R"(alert tcp any any -> any any (content:"|0d 0a 0d 0a|"; base64_decode:offset 0,relative; base64_data; content:"|78 9f 3e 22|"; startswith; content:"IPM"; distance:0; sid:2;))"));
  h.add(parse(R"(alert tcp any any -> any any (content:"AUTH "; base64_decode:relative; base64_data; content:"admin:"; startswith; sid:3;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u) << (h.rep.messages.empty() ? "" : h.rep.messages[0]);
  Pkt web(6, 40000, 80);
  web.p.app_proto = rules::AppProto::kHttp;
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, "/somestring?dGVzdA==")), (Sids{10001}));
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, "/somestring?dGVzdA")), (Sids{10001}));  // "test" from 6 chars
  EXPECT_EQ(h.app(web.p, one(rules::kHttpUri, "/somestringdGVzdA==")), (Sids{}));      // offset 1 skips a 'd'
  Pkt pk(6, 40000, 25);
  // base64 of 78 9f 3e 22 "IPM.Note": eJ8+IklQTS5Ob3Rl
  EXPECT_EQ(h.pay(pk.p, "X-Hdr: 1\r\n\r\neJ8+Ik\r\nlQTS5Ob3Rl\r\n"), (Sids{2}));  // line breaks are skipped
  EXPECT_EQ(h.pay(pk.p, "X-Hdr: 1\r\n\r\nIklQTS5Ob3Rl"), (Sids{}));
  // Two "AUTH " occurrences: only the second decodes to "admin:" (the first is retried past).
  EXPECT_EQ(h.pay(pk.p, "AUTH dXNlcjpwdw==\r\nAUTH YWRtaW46c2VjcmV0\r\n"), (Sids{3}));
  EXPECT_EQ(h.pay(pk.p, "AUTH !!!!"), (Sids{}));
}

TEST(DetectXform, ParseRules) {
  auto bad = [](const std::string& o, bool& unsup) {
    rules::Rule r;
    std::string err;
    return !rules::parse_rule("alert http any any -> any any (" + o + " sid:1;)", rules::Vars::suricata_defaults(), r,
                              err, unsup);
  };
  bool u = false;
  EXPECT_TRUE(bad("to_lowercase; content:\"a\";", u));  // no sticky buffer
  EXPECT_TRUE(u);
  EXPECT_TRUE(bad("http.uri; xor:\"0d0\"; content:\"a\";", u));
  EXPECT_FALSE(u);
  EXPECT_TRUE(bad("http.uri; to_sha256; content:\"a\";", u));
  EXPECT_TRUE(u);
  EXPECT_TRUE(bad("base64_data; content:\"a\";", u));  // no base64_decode before
  EXPECT_FALSE(u);
  EXPECT_TRUE(bad("content:\"a\"; base64_decode:bytes x; base64_data; content:\"b\";", u));
  EXPECT_FALSE(u);
  rules::Rule r;
  std::string err;
  bool unsup = false;
  ASSERT_TRUE(rules::parse_rule(
      R"(alert http any any -> any any (http.uri; to_lowercase; strip_whitespace; content:"a"; http.host; content:"b"; http.uri; content:"C"; sid:1;))",
      rules::Vars::suricata_defaults(), r, err, unsup)) << err;
  ASSERT_EQ(r.xforms.size(), 1u);
  EXPECT_EQ(r.xforms[0].size(), 2u);
  EXPECT_EQ(r.items[0].xform, 1);
  EXPECT_EQ(r.items[1].xform, 0);
  EXPECT_EQ(r.items[2].xform, 0);  // a new http.uri without transforms
}

}  // namespace
}  // namespace spectre::detect_test
