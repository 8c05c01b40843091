// ip_proto, stream_size, xbits: Suricata's documented forms (ip-keywords,
// flow-keywords stream_size, xbits.rst) and the bad inputs around them.
#include "tests/unit/rules/rules_test_util.h"

namespace spectre::rules::test {
namespace {

TEST(RulesHost, IpProto) {
  Parsed p = opts("ip_proto:17;", "ip");
  EXPECT_PARSE_OK(p);
  EXPECT_TRUE(p.rule.has_ip_proto);
  EXPECT_EQ(p.rule.ip_proto.op, Dsize::Op::kEq);
  EXPECT_EQ(p.rule.ip_proto.lo, 17);
  p = opts("ip_proto:!47;", "ip");
  EXPECT_PARSE_OK(p);
  EXPECT_EQ(p.rule.ip_proto.op, Dsize::Op::kNe);
  EXPECT_EQ(p.rule.ip_proto.lo, 47);
  p = opts("ip_proto:>134;", "ip");
  EXPECT_EQ(p.rule.ip_proto.op, Dsize::Op::kGt);
  p = opts("ip_proto:gre;", "ip");  // names as in the system's protocol table
  EXPECT_PARSE_OK(p);
  EXPECT_EQ(p.rule.ip_proto.lo, 47);
  EXPECT_SYNTAX_ERROR(opts("ip_proto:256;", "ip"), "ip_proto");
  EXPECT_SYNTAX_ERROR(opts("ip_proto:nosuch;", "ip"), "ip_proto");
  EXPECT_SYNTAX_ERROR(opts("ip_proto:6; ip_proto:17;", "ip"), "more than one");
}

TEST(RulesHost, StreamSize) {
  Parsed p = opts("stream_size:server,<,5;");
  EXPECT_PARSE_OK(p);
  EXPECT_TRUE(p.rule.has_stream_size);
  EXPECT_EQ(p.rule.stream_size.side, StreamSize::Side::kServer);
  EXPECT_EQ(p.rule.stream_size.op, StreamSize::Op::kLt);
  EXPECT_EQ(p.rule.stream_size.value, 5u);
  p = opts("stream_size:either,!=,1;");
  EXPECT_PARSE_OK(p);
  EXPECT_EQ(p.rule.stream_size.side, StreamSize::Side::kEither);
  EXPECT_EQ(p.rule.stream_size.op, StreamSize::Op::kNe);
  EXPECT_EQ(opts("stream_size:both,>=,10;").rule.stream_size.op, StreamSize::Op::kGe);
  EXPECT_EQ(opts("stream_size:client,<=,10;").rule.stream_size.op, StreamSize::Op::kLe);
  EXPECT_SYNTAX_ERROR(opts("stream_size:middle,<,5;"), "bad side");
  EXPECT_SYNTAX_ERROR(opts("stream_size:server,<>,5;"), "bad operator");
  EXPECT_SYNTAX_ERROR(opts("stream_size:server,<;"), "stream_size needs");
  EXPECT_SYNTAX_ERROR(opts("stream_size:server,<,5;", "udp"), "TCP");
  // ET Open: one for each side in one rule.
  p = opts("stream_size:client,=,1; stream_size:server,=,10;");
  EXPECT_PARSE_OK(p);
  EXPECT_TRUE(p.rule.has_stream_size && p.rule.has_stream_size2);
  EXPECT_EQ(p.rule.stream_size2.side, StreamSize::Side::kServer);
  EXPECT_EQ(p.rule.stream_size2.value, 10u);
  EXPECT_SYNTAX_ERROR(opts("stream_size:client,=,1; stream_size:server,=,10; stream_size:both,>,1;"), "more than two");
}

TEST(RulesHost, Xbits) {
  Parsed p = opts("xbits:set,ET.dropsite,track ip_src;");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.xbits.size(), 1u);
  EXPECT_EQ(p.rule.xbits[0].cmd, Flowbit::Cmd::kSet);
  EXPECT_EQ(p.rule.xbits[0].name, "ET.dropsite");
  EXPECT_EQ(p.rule.xbits[0].track, Xbit::Track::kIpSrc);
  EXPECT_EQ(p.rule.xbits[0].expire, 30u);  // default
  // ET Open spells it with spaces after the commas.
  p = opts("xbits:set, ET.PROPFIND, track ip_src, expire 360;");
  EXPECT_PARSE_OK(p);
  EXPECT_EQ(p.rule.xbits[0].name, "ET.PROPFIND");
  EXPECT_EQ(p.rule.xbits[0].expire, 360u);
  p = opts("xbits:isset,ET.Cisco_ABypass,track ip_pair,expire 60; xbits:unset,x,track ip_dst;");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.xbits.size(), 2u);
  EXPECT_EQ(p.rule.xbits[0].track, Xbit::Track::kIpPair);
  EXPECT_EQ(p.rule.xbits[1].cmd, Flowbit::Cmd::kUnset);
  EXPECT_EQ(p.rule.xbits[1].track, Xbit::Track::kIpDst);
  EXPECT_UNSUPPORTED(opts("xbits:set,a,track tx;"), "track tx");
  EXPECT_SYNTAX_ERROR(opts("xbits:set,a;"), "xbits needs");
  EXPECT_SYNTAX_ERROR(opts("xbits:set,a,expire 5;"), "track");
  EXPECT_SYNTAX_ERROR(opts("xbits:flip,a,track ip_src;"), "bad command");
  EXPECT_SYNTAX_ERROR(opts("xbits:set,a,track ip_src,expire 0;"), "expire");
  EXPECT_SYNTAX_ERROR(opts("xbits:set,a,track host;"), "bad track");
}

TEST(RulesHost, AppLayerEvent) {
  Parsed p = opts("app-layer-event:http.invalid_transfer_encoding_value_in_request; content:\"x\";", "http");
  EXPECT_PARSE_OK(p);
  EXPECT_EQ(p.rule.app_events, uint32_t(kEvHttpInvalidTeRequest));
  EXPECT_UNSUPPORTED(opts("app-layer-event:http.request_field_too_long;", "http"), "app-layer-event http.request_field_too_long");
  EXPECT_SYNTAX_ERROR(opts("app-layer-event:http.invalid_transfer_encoding_value_in_request;", "dns"), "needs an http");
}

}  // namespace
}  // namespace spectre::rules::test
