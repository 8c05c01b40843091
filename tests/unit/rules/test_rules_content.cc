// Content, its modifiers, pcre, isdataat and the inspection buffers.
#include "tests/unit/rules/rules_test_util.h"

using namespace spectre::rules;
using namespace spectre::rules::test;

namespace {
const Content& first_content(const Parsed& p) { return p.rule.items.at(0).content; }
}  // namespace

TEST(RulesContent, HexAndEscapes) {
  Parsed p = opts(R"(content:"GET |20 2f|x|0d0A|\"\;\\\:";)");
  EXPECT_PARSE_OK(p);
  EXPECT_EQ(first_content(p).bytes, std::string("GET  /x\r\n\";\\:"));
  EXPECT_EQ(p.rule.items[0].buf, kPayload);
  EXPECT_EQ(opts(R"(content:"|00 01 ff|";)").rule.items[0].content.bytes, std::string("\x00\x01\xff", 3));
  EXPECT_TRUE(first_content(opts(R"(content:!"evil";)")).negated);
  EXPECT_TRUE(first_content(opts(R"(content: ! "evil";)")).negated);
  EXPECT_SYNTAX_ERROR(opts(R"(content:"|0g|";)"), "bad hex digit");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"|012|";)"), "odd number");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"|0 1|";)"), "odd number");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"|01";)"), "unterminated");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"a\x";)"), "bad escape");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"";)"), "empty content");
  EXPECT_SYNTAX_ERROR(opts(R"(content:abc;)"), "quoted");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"a"b";)"), "junk after content");
}

TEST(RulesContent, Modifiers) {
  Parsed p = opts(R"(content:"abc"; nocase; offset:2; depth:10; fast_pattern; rawbytes;
                     content:"de"; distance:-1; within:5; endswith;)");
  EXPECT_PARSE_OK(p);
  const Content& a = p.rule.items[0].content;
  EXPECT_TRUE(a.nocase && a.fast_pattern && a.has_offset && a.has_depth);
  EXPECT_EQ(a.offset, 2);
  EXPECT_EQ(a.depth, 10);
  EXPECT_FALSE(a.has_distance || a.has_within || a.startswith || a.endswith);
  const Content& b = p.rule.items[1].content;
  EXPECT_TRUE(b.has_distance && b.has_within && b.endswith && !b.nocase);
  EXPECT_EQ(b.distance, -1);
  EXPECT_EQ(b.within, 5);
  Parsed s = opts(R"(content:"abcd"; startswith;)");
  EXPECT_TRUE(first_content(s).startswith && first_content(s).has_depth);
  EXPECT_EQ(first_content(s).depth, 4);
  EXPECT_EQ(first_content(s).offset, 0);
  for (const char* fp : {"fast_pattern:only;", "fast_pattern:1,2;"})
    EXPECT_TRUE(first_content(opts(std::string("content:\"abcd\"; ") + fp)).fast_pattern) << fp;
  // Relative modifiers on the first content are relative to the buffer start.
  EXPECT_PARSE_OK(opts(R"(content:"abc"; distance:0; within:3;)"));
  // Only negated contents is fine.
  EXPECT_PARSE_OK(opts(R"(content:!"abc"; content:!"def";)"));
}

TEST(RulesContent, ModifierErrors) {
  EXPECT_SYNTAX_ERROR(opts(R"(nocase; content:"a";)"), "nocase needs a preceding content");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"abcd"; depth:3;)"), "depth 3 is smaller");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"abcd"; within:2;)"), "within 2 is smaller");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"abcd"; startswith; distance:1;)"), "startswith");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"abcd"; distance:1; startswith;)"), "startswith");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"abcd"; offset:1; distance:1;)"), "can't mix relative");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"abcd"; nocase; nocase;)"), "multiple nocase");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"abcd"; depth:4; depth:5;)"), "multiple depth");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"ab"; fast_pattern; content:"cd"; fast_pattern;)"), "more than one content");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"abcd"; offset:-1;)"), "negative");
}

TEST(RulesContent, ModifierVariableMustBeDefined) {
  EXPECT_SYNTAX_ERROR(opts(R"(content:"abcd"; distance:myvar;)"), "unknown variable 'myvar' in distance");
  EXPECT_PARSE_OK(opts(R"(byte_extract:1,0,myvar; content:"abcd"; distance:myvar;)"));
  EXPECT_SYNTAX_ERROR(opts(R"(content:"abcd"; depth:1x;)"), "bad depth");
}

TEST(RulesContent, Snort3CommaModifiers) {
  Parsed p = opts(R"(content:"BN|10 00|",depth 6; content:"|05 00|",depth 2,offset 8,nocase,fast_pattern;)");
  EXPECT_PARSE_OK(p);
  EXPECT_EQ(p.rule.items[0].content.depth, 6);
  const Content& b = p.rule.items[1].content;
  EXPECT_TRUE(b.has_offset && b.nocase && b.fast_pattern);
  EXPECT_EQ(b.offset, 8);
  EXPECT_EQ(b.depth, 2);
  EXPECT_SYNTAX_ERROR(opts(R"(content:"abc",depth 2;)"), "smaller");
}

TEST(RulesContent, Pcre) {
  Parsed p = opts(R"(pcre:"/a\;b\"c/ismxR";)");
  EXPECT_PARSE_OK(p);
  const Pcre& r = p.rule.items[0].pcre;
  EXPECT_EQ(p.rule.items[0].kind, MatchItem::Kind::kPcre);
  EXPECT_EQ(r.pattern, "a\\;b\\\"c");  // kept as written: PCRE reads \; as ;
  EXPECT_TRUE(r.caseless && r.dotall && r.multiline && r.extended && r.relative && !r.negated);
  EXPECT_TRUE(opts(R"(pcre:!"/x/";)").rule.items[0].pcre.negated);
  EXPECT_TRUE(opts(R"(pcre:"!/x/";)").rule.items[0].pcre.negated);
  EXPECT_EQ(opts(R"(pcre:"/x/G";)").rule.items[0].pcre.pattern, "(?U)x");
  EXPECT_PARSE_OK(opts(R"(pcre:"/^["']?post/Ri";)"));  // unescaped quote, as in ET Open
  EXPECT_PARSE_OK(opts(R"(pcre:"/x/BO";)"));
  const std::pair<char, Buf> flags[] = {{'U', kHttpUri}, {'I', kHttpUriRaw}, {'M', kHttpMethod},
                                        {'H', kHttpHeader}, {'C', kHttpCookie}, {'P', kHttpRequestBody},
                                        {'Q', kHttpResponseBody}, {'S', kHttpStatCode}, {'Y', kHttpStatMsg},
                                        {'V', kHttpUserAgent}, {'W', kHttpHost}};
  for (auto [f, b] : flags) {
    Parsed q = opts(std::string("pcre:\"/x/") + f + "\";");
    EXPECT_PARSE_OK(q);
    EXPECT_EQ(q.rule.items[0].buf, b) << f;
  }
  // (A, Snort's anchor, is supported: test_rules_snort3.cc)
  for (char f : {'E', 'D', 'Z', 'K'}) EXPECT_UNSUPPORTED(opts(std::string("pcre:\"/x/") + f + "\";"), "pcre flag");
  EXPECT_SYNTAX_ERROR(opts(R"(pcre:"/x/q";)"), "unknown pcre flag");
  EXPECT_SYNTAX_ERROR(opts(R"(pcre:"/x/UH";)"), "more than one buffer flag");
  EXPECT_SYNTAX_ERROR(opts(R"(pcre:"x";)"), "/pattern/flags");
  EXPECT_SYNTAX_ERROR(opts(R"(pcre:"//";)"), "empty pcre");
  EXPECT_SYNTAX_ERROR(opts(R"(http.uri; pcre:"/x/H";)"), "conflicts with sticky");
  Parsed s = opts(R"(http.uri; pcre:"/x/U";)");
  EXPECT_EQ(s.rule.items[0].buf, kHttpUri);
}

TEST(RulesContent, IsDataAt) {
  Parsed p = opts(R"(content:"a"; isdataat:!10,relative; isdataat:5;)");
  EXPECT_PARSE_OK(p);
  const IsDataAt& a = p.rule.items[1].isdataat;
  EXPECT_EQ(p.rule.items[1].kind, MatchItem::Kind::kIsDataAt);
  EXPECT_TRUE(a.negated && a.relative);
  EXPECT_EQ(a.n, 10);
  EXPECT_FALSE(p.rule.items[2].isdataat.negated || p.rule.items[2].isdataat.relative);
  EXPECT_PARSE_OK(opts("isdataat:1,relative,rawbytes;"));
  EXPECT_SYNTAX_ERROR(opts("isdataat:1,bogus;"), "bad isdataat option");
  EXPECT_SYNTAX_ERROR(opts("isdataat:var,relative;"), "unknown variable");
}

TEST(RulesBuffers, StickyForms) {
  for (int b = 1; b < kBufCount; ++b) {
    const std::string name = buf_name(Buf(b));
    if (name[0] == '(') continue;  // internal buffers of value keywords (tls.version): no sticky name
    // Header buffers need a protocol that has that header (ip has them all).
    Parsed p = opts(name + "; content:\"x\"; pcre:\"/y/\"; isdataat:1,relative;", is_header_buf(Buf(b)) ? "ip" : "tcp");
    EXPECT_PARSE_OK(p);
    for (const MatchItem& it : p.rule.items) EXPECT_EQ(it.buf, Buf(b)) << name;
  }
  const std::pair<const char*, Buf> aliases[] = {
      {"dns_query", kDnsQuery}, {"tls_sni", kTlsSni}, {"ja3_hash", kJa3Hash}, {"ja3_string", kJa3String},
      {"file_data", kFileData}, {"file.data", kFileData}, {"http.server_body", kHttpResponseBody}, {"http_content_type", kHttpContentType},
      {"http_header_names", kHttpHeaderNames}, {"http_referer", kHttpReferer}};
  for (auto [name, b] : aliases) {
    Parsed p = opts(std::string(name) + "; content:\"x\";");
    EXPECT_PARSE_OK(p);
    EXPECT_EQ(p.rule.items.at(0).buf, b) << name;
  }
  // Sticky applies to all following items until another one; pkt_data resets.
  Parsed p = opts(R"(content:"a"; http.uri; content:"b"; content:"c"; http.header; content:"d"; pkt_data; content:"e";)");
  EXPECT_PARSE_OK(p);
  const Buf want[] = {kPayload, kHttpUri, kHttpUri, kHttpHeader, kPayload};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(p.rule.items[i].buf, want[i]) << i;
  EXPECT_SYNTAX_ERROR(opts(R"(http.uri; http.header; content:"x";)"), "has no match");
  EXPECT_SYNTAX_ERROR(opts(R"(content:"x"; http.uri;)"), "has no match");
}

TEST(RulesBuffers, LegacyModifiers) {
  const std::pair<const char*, Buf> legacy[] = {
      {"http_uri", kHttpUri}, {"http_raw_uri", kHttpUriRaw}, {"http_method", kHttpMethod},
      {"http_host", kHttpHost}, {"http_user_agent", kHttpUserAgent}, {"http_header", kHttpHeader},
      {"http_cookie", kHttpCookie}, {"http_stat_code", kHttpStatCode}, {"http_stat_msg", kHttpStatMsg},
      {"http_client_body", kHttpRequestBody}, {"http_server_body", kHttpResponseBody}};
  for (auto [name, b] : legacy) {
    // Modifies the preceding content only; the next content stays in payload.
    Parsed p = opts(std::string("content:\"a\"; content:\"x\"; ") + name + "; nocase; content:\"y\"; distance:0;");
    EXPECT_PARSE_OK(p);
    EXPECT_EQ(p.rule.items[0].buf, kPayload) << name;
    EXPECT_EQ(p.rule.items[1].buf, b) << name;
    EXPECT_TRUE(p.rule.items[1].content.nocase);
    EXPECT_EQ(p.rule.items[2].buf, kPayload) << name;
  }
  for (const char* u : {"http_raw_cookie"})
    EXPECT_UNSUPPORTED(opts(std::string("content:\"a\"; ") + u + ";"), std::string("unsupported keyword: ") + u);
  // Raw header and host: legacy modifiers of http.header.raw / http.host.raw (case kept).
  Parsed raw = opts(R"(content:"X-Evil|3a|"; http_raw_header; content:"Example.COM"; http_raw_host;)");
  EXPECT_PARSE_OK(raw);
  EXPECT_EQ(raw.rule.items[0].buf, kHttpHeaderRaw);
  EXPECT_EQ(raw.rule.items[1].buf, kHttpHostRaw);
  EXPECT_SYNTAX_ERROR(opts(R"(content:"a"; http_uri; http_header;)"), "already has buffer");
  EXPECT_SYNTAX_ERROR(opts(R"(http.header; content:"a"; http_uri;)"), "sticky buffer");
  // http.host content must be lowercase, in either form.
  EXPECT_SYNTAX_ERROR(opts(R"(content:"Example.com"; http_host;)"), "lowercase");
  EXPECT_SYNTAX_ERROR(opts(R"(http.host; content:"EXAMPLE";)"), "lowercase");
  EXPECT_PARSE_OK(opts(R"(http.host; content:"example.com";)"));
}

TEST(RulesBuffers, Snort3StickyLegacyNames) {
  // No preceding content: the Snort 3 reading, http_uri is sticky.
  Parsed p = opts(R"(http_uri; content:"/a"; content:"b"; http_header; content:"c"; pkt_data; content:"d"; http_client_body; content:"e";)");
  EXPECT_PARSE_OK(p);
  const Buf want[] = {kHttpUri, kHttpUri, kHttpHeader, kPayload, kHttpRequestBody};
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(p.rule.items[i].buf, want[i]) << i;
  // `service` marks a Snort 3 rule: legacy names are sticky from the start.
  Parsed s = opts(R"(content:"x"; http_uri; content:"/y"; service:http;)");
  EXPECT_PARSE_OK(s);
  EXPECT_EQ(s.rule.items[0].buf, kPayload);
  EXPECT_EQ(s.rule.items[1].buf, kHttpUri);
}

TEST(RulesBuffers, ProtocolConsistency) {
  EXPECT_SYNTAX_ERROR(opts(R"(dns.query; content:"x";)", "http"), "dns buffer in a http rule");
  EXPECT_SYNTAX_ERROR(opts(R"(http.uri; content:"x";)", "udp"), "udp rule");
  EXPECT_SYNTAX_ERROR(opts(R"(http.uri; content:"x"; tls.sni; content:"y";)"), "mixes buffers");
  EXPECT_PARSE_OK(opts(R"(dns.query; content:"x";)", "udp"));
  EXPECT_PARSE_OK(opts(R"(tls.sni; content:"x"; ja3.hash; content:"y";)", "tls"));
}
