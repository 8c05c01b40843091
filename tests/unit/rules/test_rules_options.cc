// Non-payload options, identity keywords and unsupported keywords.
#include "tests/unit/rules/rules_test_util.h"

using namespace spectre::rules;
using namespace spectre::rules::test;

TEST(RulesOptions, Identity) {
  Parsed p = parse(R"(alert tcp any any -> any any (msg:"a \"q\" \; b\\"; sid:123; rev:4; gid:2;
      classtype:trojan-activity; priority:2; reference:url,example.com/a; reference:cve,2020-1;
      metadata:created_at 2020_01_01, former_category MALWARE; target:dest_ip; service:http;))");
  EXPECT_PARSE_OK(p);
  const Rule& r = p.rule;
  EXPECT_EQ(r.msg, "a \"q\" ; b\\");
  EXPECT_EQ(r.sid, 123u);
  EXPECT_EQ(r.rev, 4u);
  EXPECT_EQ(r.gid, 2u);
  EXPECT_EQ(r.classtype, "trojan-activity");
  EXPECT_EQ(r.priority, 2);
  ASSERT_EQ(r.references.size(), 2u);
  EXPECT_EQ(r.references[0], "url,example.com/a");
  ASSERT_EQ(r.metadata.size(), 2u);
  EXPECT_EQ(r.metadata[1], std::make_pair(std::string("former_category"), std::string("MALWARE")));
  EXPECT_EQ(r.target, "dest_ip");
  EXPECT_EQ(opts("").rule.gid, 1u);
  EXPECT_SYNTAX_ERROR(parse("alert tcp any any -> any any (msg:\"x\";)"), "missing sid");
  EXPECT_SYNTAX_ERROR(parse("alert tcp any any -> any any (sid:0;)"), "sid 0");
  EXPECT_SYNTAX_ERROR(parse("alert tcp any any -> any any (sid:abc;)"), "bad sid");
  EXPECT_SYNTAX_ERROR(opts("priority:0;"), "bad priority");
  EXPECT_SYNTAX_ERROR(opts("target:both;"), "target");
  EXPECT_SYNTAX_ERROR(opts("msg:unquoted;"), "quoted");
  EXPECT_SYNTAX_ERROR(opts("msg;"), "needs a value");
  EXPECT_SYNTAX_ERROR(opts("foo bar:1;"), "bad option name");
  EXPECT_PARSE_OK(parse("alert tcp any any -> any any (sid:1)"));  // final ';' optional
}

TEST(RulesOptions, Flow) {
  const std::pair<const char*, uint16_t> cases[] = {
      {"established", kFlowEstablished}, {"not_established", kFlowNotEstablished},
      {"stateless", kFlowStateless}, {"to_server", kFlowToServer}, {"from_client", kFlowToServer},
      {"to_client", kFlowToClient}, {"from_server", kFlowToClient}, {"only_stream", kFlowOnlyStream},
      {"no_stream", kFlowNoStream}};
  for (auto [name, bit] : cases) EXPECT_EQ(opts(std::string("flow:") + name + ";").rule.flow, bit) << name;
  EXPECT_EQ(opts("flow: established , to_server;").rule.flow, kFlowEstablished | kFlowToServer);
  EXPECT_UNSUPPORTED(opts("flow:no_frag;"), "flow:no_frag");
  EXPECT_UNSUPPORTED(opts("flow:only_frag;"), "flow:only_frag");
  EXPECT_SYNTAX_ERROR(opts("flow:to_server,to_client;"), "conflict");
  EXPECT_SYNTAX_ERROR(opts("flow:established,stateless;"), "conflict");
  EXPECT_SYNTAX_ERROR(opts("flow:only_stream,no_stream;"), "conflict");
  EXPECT_SYNTAX_ERROR(opts("flow:sideways;"), "bad flow option");
  EXPECT_SYNTAX_ERROR(opts("flow:established; flow:to_server;"), "more than one flow");
}

TEST(RulesOptions, Flowbits) {
  Parsed p = opts("flowbits:set,a.b; flowbits:isset,x|y; flowbits:isnotset,n; flowbits:unset,u&v; "
                  "flowbits:toggle,t; flowbits:noalert; noalert;");
  EXPECT_PARSE_OK(p);
  const auto& f = p.rule.flowbits;
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f[0].cmd, Flowbit::Cmd::kSet);
  EXPECT_EQ(f[0].names, std::vector<std::string>{"a.b"});
  EXPECT_EQ(f[1].cmd, Flowbit::Cmd::kIsSet);
  EXPECT_TRUE(f[1].any_of);
  EXPECT_EQ(f[1].names, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(f[2].cmd, Flowbit::Cmd::kIsNotSet);
  EXPECT_EQ(f[3].cmd, Flowbit::Cmd::kUnset);
  EXPECT_FALSE(f[3].any_of);
  EXPECT_EQ(f[3].names, (std::vector<std::string>{"u", "v"}));
  EXPECT_EQ(f[4].cmd, Flowbit::Cmd::kToggle);
  EXPECT_EQ(f[5].cmd, Flowbit::Cmd::kNoAlert);
  EXPECT_EQ(f[6].cmd, Flowbit::Cmd::kNoAlert);
  EXPECT_SYNTAX_ERROR(opts("flowbits:set,a|b;"), "only works with isset");
  EXPECT_SYNTAX_ERROR(opts("flowbits:isset,a|b&c;"), "mix");
  EXPECT_SYNTAX_ERROR(opts("flowbits:set;"), "needs one name");
  EXPECT_SYNTAX_ERROR(opts("flowbits:noalert,x;"), "takes no name");
  EXPECT_SYNTAX_ERROR(opts("flowbits:flip,x;"), "bad flowbits command");
  EXPECT_SYNTAX_ERROR(opts("flowbits:isset,a||b;"), "empty flowbit name");
}

TEST(RulesOptions, ThresholdAndDetectionFilter) {
  Parsed p = opts("threshold: type limit, track by_src, count 1, seconds 60;");
  EXPECT_PARSE_OK(p);
  EXPECT_TRUE(p.rule.has_threshold);
  EXPECT_EQ(p.rule.threshold.type, Threshold::Type::kLimit);
  EXPECT_EQ(p.rule.threshold.track, Threshold::Track::kBySrc);
  EXPECT_EQ(p.rule.threshold.count, 1u);
  EXPECT_EQ(p.rule.threshold.seconds, 60u);
  Parsed q = opts("threshold:seconds 5,count 10,track by_both,type both;");  // any order
  EXPECT_EQ(q.rule.threshold.type, Threshold::Type::kBoth);
  EXPECT_EQ(q.rule.threshold.track, Threshold::Track::kByBoth);
  EXPECT_EQ(q.rule.threshold.count, 10u);
  EXPECT_EQ(opts("threshold:type threshold,track by_dst,count 2,seconds 3;").rule.threshold.track,
            Threshold::Track::kByDst);
  EXPECT_EQ(opts("threshold:type threshold,track by_rule,count 2,seconds 3;").rule.threshold.type,
            Threshold::Type::kThreshold);
  Parsed d = opts("detection_filter:track by_dst, count 5, seconds 30;");
  EXPECT_PARSE_OK(d);
  EXPECT_TRUE(d.rule.has_detection_filter && !d.rule.has_threshold);
  EXPECT_EQ(d.rule.detection_filter.type, Threshold::Type::kDetectionFilter);
  EXPECT_EQ(d.rule.detection_filter.track, Threshold::Track::kByDst);
  EXPECT_EQ(d.rule.detection_filter.count, 5u);
  EXPECT_EQ(d.rule.detection_filter.seconds, 30u);
  EXPECT_SYNTAX_ERROR(opts("threshold:type limit,track by_src,count 1;"), "needs type, track, count and seconds");
  EXPECT_SYNTAX_ERROR(opts("detection_filter:type limit,track by_src,count 1,seconds 2;"), "unknown part");
  EXPECT_SYNTAX_ERROR(opts("threshold:type sometimes,track by_src,count 1,seconds 1;"), "bad threshold type");
  EXPECT_SYNTAX_ERROR(opts("threshold:type limit,track by_src,count x,seconds 1;"), "bad count");
  EXPECT_UNSUPPORTED(opts("threshold:type limit,track by_flow,count 1,seconds 1;"), "by_flow");
  EXPECT_UNSUPPORTED(opts("threshold:type backoff,track by_src,count 1,seconds 1;"), "backoff");
}

TEST(RulesOptions, Dsize) {
  struct C {
    const char* text;
    Dsize::Op op;
    uint16_t lo, hi;
  } cases[] = {{"300", Dsize::Op::kEq, 300, 300},   {"!0", Dsize::Op::kNe, 0, 0},
               {"<10", Dsize::Op::kLt, 10, 10},     {"> 10", Dsize::Op::kGt, 10, 10},
               {"5<>10", Dsize::Op::kRange, 5, 10}, {"<=10", Dsize::Op::kLt, 11, 11},
               {">=10", Dsize::Op::kGt, 9, 9},      {"5<=>10", Dsize::Op::kRange, 4, 11}};
  for (const C& c : cases) {
    Parsed p = opts(std::string("dsize:") + c.text + ";");
    EXPECT_PARSE_OK(p);
    EXPECT_TRUE(p.rule.has_dsize);
    EXPECT_EQ(p.rule.dsize.op, c.op) << c.text;
    EXPECT_EQ(p.rule.dsize.lo, c.lo) << c.text;
    EXPECT_EQ(p.rule.dsize.hi, c.hi) << c.text;
  }
  for (const char* bad : {"10<>5", "70000", "abc", ">=0", "<"})
    EXPECT_SYNTAX_ERROR(opts(std::string("dsize:") + bad + ";"), "bad dsize");
  EXPECT_SYNTAX_ERROR(opts("dsize:1; dsize:2;"), "more than one dsize");
}

TEST(RulesOptions, AppLayerProtocol) {
  const std::pair<const char*, AppProto> cases[] = {{"http", AppProto::kHttp}, {"dns", AppProto::kDns},
                                                    {"tls", AppProto::kTls}, {"failed", AppProto::kFailed}};
  for (auto [name, p] : cases) {
    Parsed r = opts(std::string("app-layer-protocol:") + name + ";");
    EXPECT_PARSE_OK(r);
    EXPECT_TRUE(r.rule.has_app_proto && !r.rule.app_proto_negated);
    EXPECT_EQ(r.rule.app_proto, p);
  }
  Parsed n = opts("app-layer-protocol:!tls;");
  EXPECT_TRUE(n.rule.app_proto_negated);
  EXPECT_EQ(n.rule.app_proto, AppProto::kTls);
  EXPECT_EQ(opts("app-layer-protocol:ssh;").rule.app_proto, AppProto::kSsh);
  EXPECT_UNSUPPORTED(opts("app-layer-protocol:rdp;"), "app-layer-protocol rdp");
  EXPECT_UNSUPPORTED(opts("app-layer-protocol:http,final;"), "mode");
}

TEST(RulesOptions, UnsupportedKeywords) {
  for (const char* kw : {"geoip:src,RU", "ssh.hassh.server.raw", "http2.header", "lua:x.lua", "tls.store"}) {
    Parsed p = opts(std::string(kw) + ";");
    std::string name(kw);
    name = name.substr(0, name.find(':'));
    EXPECT_UNSUPPORTED(p, "unsupported keyword: " + name);
  }
  EXPECT_UNSUPPORTED(opts("http.uri:foo; content:\"a\";"), "with arguments");
}

TEST(RulesOptions, Urilen) {
  Parsed p = parse("alert http any any -> any any (msg:\"x\"; http.method; content:\"GET\"; urilen:>100; "
                   "content:\"a\"; sid:1;)");
  ASSERT_TRUE(p.ok) << p.err;
  ASSERT_EQ(p.rule.items.size(), 3u);
  EXPECT_EQ(p.rule.items[1].kind, MatchItem::Kind::kBsize);
  EXPECT_EQ(p.rule.items[1].buf, kHttpUri);
  EXPECT_EQ(p.rule.items[1].bsize.op, uint8_t(Dsize::Op::kGt));
  EXPECT_EQ(p.rule.items[2].buf, kHttpMethod);  // the sticky buffer stays
  p = parse("alert http any any -> any any (msg:\"x\"; urilen:5<>9,raw; sid:1;)");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.rule.items[0].buf, kHttpUriRaw);
  EXPECT_EQ(p.rule.items[0].bsize.hi, 9u);
  EXPECT_FALSE(parse("alert http any any -> any any (msg:\"x\"; urilen:5,odd; sid:1;)").ok);
  EXPECT_FALSE(parse("alert udp any any -> any any (msg:\"x\"; urilen:5; sid:1;)").ok);
}

TEST(RulesOptions, TcpFlags) {
  Parsed p = opts("flags:S,12;");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_TRUE(p.rule.has_flags);
  EXPECT_EQ(p.rule.flags_set, 0x02);
  EXPECT_EQ(p.rule.flags_ignore, 0xc0);
  EXPECT_EQ(p.rule.flags_mode, 0);
  p = opts("flags:+SA;");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.rule.flags_set, 0x12);
  EXPECT_EQ(p.rule.flags_mode, 1);
  p = opts("flags:FPU*;");  // Snort's trailing modifier
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.rule.flags_set, 0x29);
  EXPECT_EQ(p.rule.flags_mode, 2);
  p = opts("flags:0;");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.rule.flags_set, 0);
  EXPECT_FALSE(opts("flags:SX;").ok);
  EXPECT_FALSE(opts("flags:S; flags:A;").ok);
  EXPECT_FALSE(parse("alert udp any any -> any any (msg:\"x\"; flags:S; sid:1;)").ok);
}

TEST(RulesOptions, BsizeAndDotprefix) {
  Parsed p = opts("dns.query; dotprefix; content:\".evil.example\"; endswith; bsize:>10;");
  ASSERT_TRUE(p.ok) << p.err;
  ASSERT_EQ(p.rule.items.size(), 2u);
  EXPECT_EQ(p.rule.items[0].buf, kDnsQueryDot);
  EXPECT_EQ(p.rule.items[1].kind, MatchItem::Kind::kBsize);
  EXPECT_EQ(p.rule.items[1].buf, kDnsQueryDot);
  EXPECT_EQ(p.rule.items[1].bsize.op, uint8_t(Dsize::Op::kGt));
  EXPECT_EQ(p.rule.items[1].bsize.lo, 10u);
  p = opts("tls.sni; bsize:5<>20; content:\"x\";");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.rule.items[0].bsize.op, uint8_t(Dsize::Op::kRange));
  EXPECT_EQ(p.rule.items[0].bsize.hi, 20u);
  p = opts("http.host; bsize:<=7; content:\"a\";");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.rule.items[0].bsize.op, uint8_t(Dsize::Op::kLt));
  EXPECT_EQ(p.rule.items[0].bsize.lo, 8u);
  EXPECT_FALSE(opts("bsize:10; content:\"a\";").ok);               // no sticky buffer
  p = opts("http.uri; dotprefix; content:\"a\";");  // the generic transform
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.rule.items[0].buf, kHttpUri);
  EXPECT_EQ(p.rule.items[0].xform, 1);
  // After a match (ET Open 2044076): the following items inspect "." + query, the earlier ones the query.
  p = opts("dns.query; content:\"rs-\"; startswith; dotprefix; content:\".rustdesk.com\"; endswith;");
  ASSERT_TRUE(p.ok) << p.err;
  EXPECT_EQ(p.rule.items[0].xform, 0);
  EXPECT_EQ(p.rule.items[1].xform, 1);
  EXPECT_EQ(p.rule.items[1].buf, kDnsQuery);
}

TEST(RulesOptions, AppProtocolRules) {
  Parsed p = parse(R"(alert http $HOME_NET any -> $EXTERNAL_NET any (msg:"ET test"; flow:established,to_server;
      http.method; content:"POST"; http.uri; content:"/gate.php"; endswith; fast_pattern;
      http.user_agent; content:"Mozilla"; startswith; http.header_names; content:!"Referer";
      classtype:trojan-activity; sid:2000001; rev:3;))");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 4u);
  EXPECT_EQ(p.rule.items[1].buf, kHttpUri);
  EXPECT_TRUE(p.rule.items[1].content.endswith && p.rule.items[1].content.fast_pattern);
  EXPECT_TRUE(p.rule.items[3].content.negated);
  EXPECT_EQ(p.rule.items[3].buf, kHttpHeaderNames);
}

namespace spectre::rules::test {
namespace {

TEST(RulesIssue12, UricontentIsContentInHttpUri) {
  auto p = opts(R"(uricontent:"/admin"; nocase; content:"x";)");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 2u);
  EXPECT_EQ(p.rule.items[0].buf, kHttpUri);
  EXPECT_EQ(p.rule.items[0].content.bytes, "/admin");
  EXPECT_TRUE(p.rule.items[0].content.nocase);
  EXPECT_EQ(p.rule.items[1].buf, kPayload);
}

TEST(RulesIssue12, PcreUnquotedFlowbitSlashTag) {
  auto p = opts(R"(pcre:/ab+c/i; pcre:!/zz/R;)");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 2u);
  EXPECT_EQ(p.rule.items[0].pcre.pattern, "ab+c");
  EXPECT_TRUE(p.rule.items[0].pcre.caseless);
  EXPECT_TRUE(p.rule.items[1].pcre.negated);
  EXPECT_TRUE(p.rule.items[1].pcre.relative);
  EXPECT_SYNTAX_ERROR(opts("pcre:abc;"), "quoted");
  auto f = opts("flowbits:set,ET.http/ua; flowbits:isset,a/b|c;");
  EXPECT_PARSE_OK(f);
  ASSERT_EQ(f.rule.flowbits.size(), 2u);
  EXPECT_EQ(f.rule.flowbits[0].names[0], "ET.http/ua");
  EXPECT_EQ(f.rule.flowbits[1].names.size(), 2u);
  EXPECT_SYNTAX_ERROR(opts("flowbits:set,a b;"), "bad flowbit name");
  EXPECT_PARSE_OK(opts("content:\"x\"; tag:session,10,packets;"));
  EXPECT_PARSE_OK(opts("content:\"x\"; tag:host,60,seconds,src;"));
}

TEST(RulesIssue12, TcpPktTcpStreamAndTransactionalDirection) {
  auto pk = parse(R"(alert tcp-pkt any any -> any any (msg:"tcp-pkt, anchored content"; content:"abc"; startswith; sid:203;))");
  EXPECT_PARSE_OK(pk);
  EXPECT_EQ(pk.rule.hdr.proto, Proto::kTcp);
  EXPECT_EQ(pk.rule.flow, kFlowNoStream);
  auto st = parse(R"(alert tcp-stream any any -> any any (msg:"tcp-stream, simple content"; content:"abc"; sid:102;))");
  EXPECT_PARSE_OK(st);
  EXPECT_EQ(st.rule.flow, kFlowOnlyStream);
  auto ipo = parse(R"(alert tcp-stream any any -> any any (msg:"tcp-stream, no content"; sid:101;))");
  EXPECT_PARSE_OK(ipo);
  EXPECT_EQ(ipo.rule.flow, 0);  // no payload: a plain tcp rule (IP-only here)
  EXPECT_SYNTAX_ERROR(parse(R"(alert tcp-pkt any any -> any any (content:"a"; flow:only_stream; sid:1;))"), "contradicts");
  EXPECT_UNSUPPORTED(parse(R"(alert http any any => any any (http.uri; content:"/a"; sid:1;))"), "'=>'");
}

TEST(RulesIssue12, DetectionFilterUniqueOnIsReported) {
  EXPECT_UNSUPPORTED(opts("flags:S; detection_filter:track by_src, count 10, seconds 60, unique_on dst_port;"),
                     "unique_on");
  EXPECT_SYNTAX_ERROR(opts("flags:S; detection_filter:track by_src, count 10, seconds 60, unique_on foo;"),
                      "unique_on");
}

TEST(RulesIssue12, PcreBodyFlagUnderFileData) {
  auto p = opts(R"(file.data; content:"<form"; pcre:"/action=.{0,20}login/Qi";)", "http");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 2u);
  EXPECT_EQ(p.rule.items[1].buf, kFileData);
  EXPECT_SYNTAX_ERROR(opts(R"(http.uri; content:"a"; pcre:"/b/Q";)", "http"), "conflicts");
}

TEST(RulesIssue12, ByteKeywordsParse) {
  auto p = opts("content:\"ab\"; byte_test:2,!&,0x80,-1,relative,little; byte_jump:1,0,relative,multiplier 4,align,post_offset -2;");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 3u);
  const auto& t = p.rule.items[1].byte;
  EXPECT_EQ(p.rule.items[1].kind, MatchItem::Kind::kByteTest);
  EXPECT_EQ(t.nbytes, 2);
  EXPECT_TRUE(t.negated);
  EXPECT_EQ(t.op, ByteOp::Op::kAnd);
  EXPECT_EQ(t.value, 0x80u);
  EXPECT_EQ(t.offset, -1);
  EXPECT_TRUE(t.relative && t.little);
  const auto& j = p.rule.items[2].byte;
  EXPECT_EQ(p.rule.items[2].kind, MatchItem::Kind::kByteJump);
  EXPECT_EQ(j.multiplier, 4u);
  EXPECT_TRUE(j.align);
  EXPECT_EQ(j.post_offset, -2);
  // Variables (byte_extract / byte_math) in later items of the same buffer.
  p = opts("byte_extract:2,0,len,relative,little,multiplier 2,align 4; content:\"x\"; distance:len; within:len; "
           "isdataat:len,relative; byte_test:2,!=,len,len;");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.byte_vars, std::vector<std::string>{"len"});
  EXPECT_EQ(p.rule.items[0].kind, MatchItem::Kind::kByteExtract);
  EXPECT_EQ(p.rule.items[0].byte.var_out, 1);
  EXPECT_EQ(p.rule.items[0].byte.multiplier, 2u);
  EXPECT_EQ(p.rule.items[0].byte.align_to, 4);
  EXPECT_TRUE(p.rule.items[0].byte.little && p.rule.items[0].byte.relative);
  EXPECT_EQ(p.rule.items[1].content.var_distance, 1);
  EXPECT_EQ(p.rule.items[1].content.var_within, 1);
  EXPECT_EQ(p.rule.items[2].isdataat.var_n, 1);
  EXPECT_EQ(p.rule.items[3].byte.var_value, 1);
  EXPECT_EQ(p.rule.items[3].byte.var_offset, 1);
  p = opts("byte_math:bytes 2, offset 0, oper <<, rvalue 3, result x, endian little; byte_math:bytes 1,offset 2,oper /,rvalue x,result y; byte_test:1,=,y,0;");
  EXPECT_PARSE_OK(p);
  EXPECT_EQ(p.rule.items[0].kind, MatchItem::Kind::kByteMath);
  EXPECT_EQ(p.rule.items[0].byte.math_op, '<');
  EXPECT_EQ(p.rule.items[0].byte.value, 3u);
  EXPECT_TRUE(p.rule.items[0].byte.little);
  EXPECT_EQ(p.rule.items[1].byte.var_value, 1);
  EXPECT_EQ(p.rule.items[1].byte.var_out, 2);
  EXPECT_SYNTAX_ERROR(opts("content:\"x\"; distance:len;"), "unknown variable");
  EXPECT_SYNTAX_ERROR(opts("byte_extract:2,0,a; byte_extract:1,0,a;"), "defined twice");
  EXPECT_SYNTAX_ERROR(opts("byte_math:bytes 1, offset 0, oper %, rvalue 1, result r;"), "bad oper");
  EXPECT_SYNTAX_ERROR(opts("byte_math:bytes 1, offset 0, oper +, rvalue 1;"), "needs");
  EXPECT_SYNTAX_ERROR(opts("byte_extract:2,0,a,align 3;"), "align");
  EXPECT_UNSUPPORTED(opts("byte_extract:2,0,a; http.uri; content:\"x\"; distance:a;", "http"), "another buffer");
  Parsed dce = opts("byte_extract:2,0,a,dce;");
  EXPECT_PARSE_OK(dce);
  EXPECT_TRUE(dce.rule.items[0].byte.dce);
  EXPECT_EQ(dce.rule.items[0].buf, kDcerpcStubData);  // no sticky buffer: the stub data
  // DCERPC buffers in udp rules (connectionless DCERPC); SMB ones are not.
  EXPECT_PARSE_OK(opts("dce_iface:uuid 3919286a-b10c-11d0-9ba8-00c04fd92ef5; dce_stub_data; byte_test:4,>,256,0,dce;", "udp"));
  EXPECT_SYNTAX_ERROR(opts("smb.share; content:\"x\";", "udp"), "udp rule");
}

}  // namespace
}  // namespace spectre::rules::test

namespace spectre::rules::test {
namespace {
// TLS value keywords (Suricata's tls-keywords page) become items on TLS buffers.
TEST(RulesOptions, TlsValueKeywords) {
  Parsed p = opts("tls.version:1.2; tls_cert_expired; tls.cert_notafter:2015<>2017-06; tls.cert_notbefore:<2016-01-02T03:04:05;", "tls");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 5u);
  EXPECT_EQ(p.rule.items[0].buf, kTlsVersionNum);
  EXPECT_EQ(p.rule.items[0].content.bytes, std::string("\x03\x03", 2));
  EXPECT_EQ(p.rule.items[1].content.bytes, "E");
  EXPECT_EQ(p.rule.items[2].byte.value, 20150101000000ull);
  EXPECT_EQ(p.rule.items[2].byte.op, ByteOp::Op::kGt);
  EXPECT_EQ(p.rule.items[2].byte.offset, 15);
  EXPECT_EQ(p.rule.items[3].byte.value, 20170601000000ull);
  EXPECT_EQ(p.rule.items[4].byte.value, 20160102030405ull);
  EXPECT_EQ(p.rule.items[4].byte.offset, 1);
  EXPECT_EQ(opts("tls.version:0x7f12;", "tls").rule.items[0].content.bytes, std::string("\x7f\x12", 2));
  Parsed l = opts("tls.issuerdn:!\"CN=Google-Internet-Authority\"; tls_cert_subject; content:\"x\";", "tls");
  EXPECT_PARSE_OK(l);
  ASSERT_EQ(l.rule.items.size(), 2u);
  EXPECT_TRUE(l.rule.items[0].content.negated);
  EXPECT_EQ(l.rule.items[0].buf, kTlsCertIssuer);
  EXPECT_EQ(l.rule.items[1].buf, kTlsCertSubject);
  EXPECT_SYNTAX_ERROR(opts("tls.version:2.0;", "tls"), "tls.version");
  EXPECT_SYNTAX_ERROR(opts("tls.cert_notafter:>2015-13;", "tls"), "bad date");
  EXPECT_SYNTAX_ERROR(opts("tls_cert_valid:1;", "tls"), "takes no value");
}
// Suricata's ssh-keywords page: sticky buffers and the legacy value keywords.
TEST(RulesOptions, SshKeywords) {
  Parsed p = opts("ssh.proto; content:\"2.0\"; ssh_software; content:\"openssh\"; nocase;", "ssh");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 2u);
  EXPECT_EQ(p.rule.items[0].buf, kSshProto);
  EXPECT_EQ(p.rule.items[1].buf, kSshSoftware);
  // HASSH: the client's buffers exist to_server, the server's to_client.
  Parsed h = opts("ssh.hassh; content:\"ec7378c1a92f5a8dde7e8b7a1ddf33d1\";", "ssh");
  EXPECT_PARSE_OK(h);
  EXPECT_EQ(h.rule.items[0].buf, kSshHassh);
  EXPECT_EQ(h.rule.flow, kFlowToServer);
  Parsed hs = opts("flow:established; ssh.hassh.server.string; content:\"umac-64-etm@openssh.com\";", "ssh");
  EXPECT_PARSE_OK(hs);
  EXPECT_EQ(hs.rule.items[0].buf, kSshHasshString);
  EXPECT_EQ(hs.rule.flow, kFlowEstablished | kFlowToClient);
  EXPECT_UNSUPPORTED(opts("flow:to_server; ssh.hassh.server; content:\"a\";", "ssh"), "opposite directions");
  EXPECT_UNSUPPORTED(opts("ssh.hassh; content:\"a\"; ssh.hassh.server; content:\"b\";", "ssh"), "opposite");
  // ssh.protoversion: exact, or 2_compat (2.x or 1.99); ssh.softwareversion: a prefix.
  Parsed v = opts("ssh.protoversion:1.10;", "ssh");
  EXPECT_PARSE_OK(v);
  ASSERT_EQ(v.rule.items.size(), 1u);
  EXPECT_EQ(v.rule.items[0].buf, kSshProto);
  EXPECT_EQ(v.rule.items[0].content.bytes, "1.10");
  EXPECT_TRUE(v.rule.items[0].content.endswith);
  EXPECT_EQ(v.rule.items[0].content.depth, 4);
  Parsed c = opts("ssh.protoversion:2_compat;", "ssh");
  EXPECT_PARSE_OK(c);
  EXPECT_EQ(c.rule.items[0].kind, MatchItem::Kind::kPcre);
  EXPECT_EQ(c.rule.items[0].pcre.pattern, "^(?:2|1\\.99)");
  Parsed s = opts("ssh.softwareversion:\"OpenSSH\";", "ssh");
  EXPECT_PARSE_OK(s);
  EXPECT_EQ(s.rule.items[0].buf, kSshSoftware);
  EXPECT_EQ(s.rule.items[0].content.bytes, "OpenSSH");
  EXPECT_FALSE(s.rule.items[0].content.endswith);
  EXPECT_EQ(opts("ssh.softwareversion:PuTTY_2.123;", "ssh").rule.items[0].content.bytes, "PuTTY_2.123");
  EXPECT_SYNTAX_ERROR(opts("ssh.protoversion:two;", "ssh"), "ssh.protoversion");
  EXPECT_SYNTAX_ERROR(opts("ssh.softwareversion:\"a/b\";", "ssh"), "ssh.softwareversion");
  EXPECT_SYNTAX_ERROR(opts("ssh.proto; content:\"2.0\";", "http"), "ssh buffer in a http rule");
  EXPECT_SYNTAX_ERROR(opts("ssh.proto; content:\"2.0\"; http.uri; content:\"x\";", "tcp"), "mixes buffers");
}

// Suricata's mqtt-keywords page: sticky buffers, and the value keywords as
// items on the internal (mqtt.hdr) buffer (layout in mqtt_opts.cc).
TEST(RulesOptions, MqttKeywords) {
  for (const char* b : {"mqtt.connect.clientid", "mqtt.connect.username", "mqtt.connect.password",
                        "mqtt.connect.willtopic", "mqtt.connect.willmessage", "mqtt.connect.protocol_string",
                        "mqtt.publish.topic", "mqtt.publish.message", "mqtt.subscribe.topic",
                        "mqtt.unsubscribe.topic"}) {
    Parsed r = opts(std::string(b) + "; content:\"x\";", "mqtt");
    EXPECT_PARSE_OK(r);
    EXPECT_EQ(std::string(buf_name(r.rule.items[0].buf)), b);
  }
  auto one = [](const std::string& o) { return opts(o, "mqtt"); };
  Parsed t = one("mqtt.type:CONNECT;");
  EXPECT_PARSE_OK(t);
  ASSERT_EQ(t.rule.items.size(), 1u);
  EXPECT_EQ(t.rule.items[0].buf, kMqttHdr);
  EXPECT_EQ(t.rule.items[0].content.bytes, std::string(1, '\x01'));
  EXPECT_EQ(t.rule.items[0].content.depth, 1);
  EXPECT_EQ(one("mqtt.type:unsuback;").rule.items[0].content.bytes, std::string(1, '\x0b'));
  EXPECT_EQ(one("mqtt.type:2;").rule.items[0].content.bytes, std::string(1, '\x02'));
  EXPECT_EQ(one("mqtt.type:UNASSIGNED;").rule.items[0].content.bytes, std::string(1, '\0'));
  Parsed f = one("mqtt.flags:dup,!retain;");
  EXPECT_PARSE_OK(f);
  ASSERT_EQ(f.rule.items.size(), 2u);
  EXPECT_EQ(f.rule.items[0].byte.op, ByteOp::Op::kAnd);
  EXPECT_EQ(f.rule.items[0].byte.value, 8u);
  EXPECT_FALSE(f.rule.items[0].byte.negated);
  EXPECT_EQ(f.rule.items[1].byte.value, 1u);
  EXPECT_TRUE(f.rule.items[1].byte.negated);
  Parsed q = one("mqtt.qos:2;");
  EXPECT_PARSE_OK(q);
  EXPECT_EQ(q.rule.items[0].byte.offset, 2);
  EXPECT_EQ(q.rule.items[0].byte.value, 2u);
  Parsed rc = one("mqtt.type:UNSUBACK; mqtt.reason_code:17;");
  EXPECT_PARSE_OK(rc);
  ASSERT_EQ(rc.rule.items.size(), 3u);  // type, has a reason code, its value
  EXPECT_EQ(rc.rule.items[2].byte.offset, 4);
  EXPECT_EQ(rc.rule.items[2].byte.value, 17u);
  EXPECT_PARSE_OK(one("mqtt.connack.return_code:134;"));
  Parsed range = one("mqtt.protocol_version:3-5;");
  EXPECT_PARSE_OK(range);
  ASSERT_EQ(range.rule.items.size(), 2u);
  EXPECT_EQ(range.rule.items[0].byte.op, ByteOp::Op::kGt);
  EXPECT_EQ(range.rule.items[1].byte.op, ByteOp::Op::kLt);
  EXPECT_EQ(one("mqtt.protocol_version:>=4;").rule.items[0].byte.op, ByteOp::Op::kGe);
  EXPECT_PARSE_OK(one("mqtt.connack.session_present:true;"));
  EXPECT_PARSE_OK(one("mqtt.connect.flags:username,password,!will;"));
  EXPECT_EQ(one("mqtt.connect.flags:clean_session;").rule.items[1].byte.value, 2u);
  EXPECT_SYNTAX_ERROR(one("mqtt.type:CONNECTX;"), "mqtt.type");
  EXPECT_SYNTAX_ERROR(one("mqtt.qos:3;"), "mqtt.qos");
  EXPECT_SYNTAX_ERROR(one("mqtt.flags:dup,foo;"), "unknown flag");
  EXPECT_SYNTAX_ERROR(one("mqtt.connect.flags:;"), "needs");
  EXPECT_SYNTAX_ERROR(one("mqtt.protocol_version:5-3;"), "mqtt.protocol_version");
  EXPECT_SYNTAX_ERROR(one("mqtt.connack.session_present:maybe;"), "session_present");
  EXPECT_SYNTAX_ERROR(opts("mqtt.publish.topic; content:\"x\";", "http"), "mqtt buffer in a http rule");
  EXPECT_SYNTAX_ERROR(opts("mqtt.publish.topic; content:\"x\";", "udp"), "udp rule");
  EXPECT_UNSUPPORTED(one("mqtt.connect.nonexistent:1;"), "mqtt.connect.nonexistent");
  EXPECT_UNSUPPORTED(one("mqtt.type:[1,2];"), "multi-integer");
}

// Suricata's file-keywords page: filename and fileext assume nocase, fileext
// is the whole extension, filesize compares the size (units 1024-based).
TEST(RulesOptions, FileKeywords) {
  Parsed p = opts("filename:\"secret\"; fileext:\"pdf\";", "http");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 2u);
  EXPECT_EQ(p.rule.items[0].buf, kFileName);
  EXPECT_EQ(p.rule.items[0].content.bytes, "secret");
  EXPECT_TRUE(p.rule.items[0].content.nocase);
  EXPECT_FALSE(p.rule.items[0].content.endswith);
  EXPECT_EQ(p.rule.items[1].content.bytes, ".pdf");
  EXPECT_TRUE(p.rule.items[1].content.nocase && p.rule.items[1].content.endswith);
  EXPECT_TRUE(opts("fileext:!\"exe\";", "smtp").rule.items[0].content.negated);
  EXPECT_PARSE_OK(opts("file.name; content:\"examplefilename\";", "ftp-data"));
  struct { const char* v; std::vector<std::pair<ByteOp::Op, uint64_t>> want; } sz[] = {
      {"100", {{ByteOp::Op::kEq, 100}}},
      {"100<>200", {{ByteOp::Op::kGt, 100}, {ByteOp::Op::kLt, 200}}},
      {">100MB", {{ByteOp::Op::kGt, 100ull << 20}}},
      {"<100MB", {{ByteOp::Op::kLt, 100ull << 20}}},
      {"2KB", {{ByteOp::Op::kEq, 2048}}},
  };
  for (auto& t : sz) {
    Parsed f = opts(std::string("filesize:") + t.v + ";", "http");
    EXPECT_PARSE_OK(f);
    ASSERT_EQ(f.rule.items.size(), t.want.size()) << t.v;
    for (size_t i = 0; i < t.want.size(); i++) {
      EXPECT_EQ(f.rule.items[i].kind, MatchItem::Kind::kByteTest);
      EXPECT_EQ(f.rule.items[i].buf, kFileSize);
      EXPECT_EQ(f.rule.items[i].byte.op, t.want[i].first) << t.v;
      EXPECT_EQ(f.rule.items[i].byte.value, t.want[i].second) << t.v;
      EXPECT_EQ(f.rule.items[i].byte.base, 10);
    }
  }
  EXPECT_SYNTAX_ERROR(opts("filesize:200<>100;", "http"), "filesize");
  EXPECT_SYNTAX_ERROR(opts("filesize:lots;", "http"), "filesize");
  EXPECT_SYNTAX_ERROR(opts("filename;", "http"), "filename needs a value");
  EXPECT_PARSE_OK(opts("filestore; fileext:\"exe\";", "http"));
  EXPECT_PARSE_OK(opts("filestore:request,file; fileext:\"exe\";", "http"));
  EXPECT_PARSE_OK(opts("filemd5:md5-blacklist;", "http"));  // a hash list (test_rules_dataset.cc)
  Parsed m = opts("filemagic:\"executable for MS Windows\";", "http");
  EXPECT_PARSE_OK(m);
  EXPECT_EQ(m.rule.items[0].buf, kFileMagic);
  EXPECT_TRUE(m.rule.items[0].content.nocase);
  EXPECT_PARSE_OK(opts("file.magic; content:\"PDF document\";", "smtp"));
}

}  // namespace
}  // namespace spectre::rules::test
