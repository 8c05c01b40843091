// HTTP/2 keywords (Suricata's http2-keywords page) as byte_test items on the
// (http2.hdr) buffer whose layout app_http2.cc writes (see http2_opts.cc);
// `alert http2` and app-layer-protocol:http2; http buffers in http2 rules.
#include "tests/unit/rules/rules_test_util.h"

using namespace spectre::rules;
using namespace spectre::rules::test;

namespace {

Parsed one(const std::string& o) { return opts(o, "http2"); }

void expect_test(const MatchItem& it, int32_t off, uint8_t nbytes, ByteOp::Op op, uint64_t v, bool neg = false) {
  EXPECT_EQ(it.kind, MatchItem::Kind::kByteTest);
  EXPECT_EQ(it.buf, kHttp2Hdr);
  EXPECT_EQ(it.byte.offset, off);
  EXPECT_EQ(it.byte.nbytes, nbytes);
  EXPECT_EQ(it.byte.op, op);
  EXPECT_EQ(it.byte.value, v);
  EXPECT_EQ(it.byte.negated, neg);
}

TEST(RulesHttp2, FrameType) {
  Parsed g = one("http2.frametype:GOAWAY;");
  EXPECT_PARSE_OK(g);
  ASSERT_EQ(g.rule.items.size(), 1u);
  expect_test(g.rule.items[0], 0, 2, ByteOp::Op::kAnd, 1u << 7);
  EXPECT_EQ(one("http2.frametype:settings;").rule.items[0].byte.value, 1u << 4);
  EXPECT_EQ(one("http2.frametype:9;").rule.items[0].byte.value, 1u << 9);
  EXPECT_UNSUPPORTED(one("http2.frametype:NOPE;"), "http2.frametype");
  EXPECT_UNSUPPORTED(one("http2.frametype:[1,2];"), "multi-integer");
}

TEST(RulesHttp2, ErrorCodePriorityWindowSizeUpdate) {
  Parsed e = one("http2.errorcode: INADEQUATE_SECURITY;");  // the docs' spacing
  EXPECT_PARSE_OK(e);
  ASSERT_EQ(e.rule.items.size(), 2u);
  expect_test(e.rule.items[0], 2, 1, ByteOp::Op::kEq, 1);
  expect_test(e.rule.items[1], 3, 4, ByteOp::Op::kEq, 12);
  EXPECT_EQ(one("http2.errorcode: NO_ERROR;").rule.items[1].byte.value, 0u);
  EXPECT_EQ(one("http2.errorcode:>2;").rule.items[1].byte.op, ByteOp::Op::kGt);
  Parsed p = one("http2.priority:32-64;");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 3u);
  expect_test(p.rule.items[0], 7, 1, ByteOp::Op::kEq, 1);
  expect_test(p.rule.items[1], 8, 1, ByteOp::Op::kGt, 32);
  expect_test(p.rule.items[2], 8, 1, ByteOp::Op::kLt, 64);
  EXPECT_EQ(one("http2.priority:>100;").rule.items[1].byte.op, ByteOp::Op::kGt);
  EXPECT_SYNTAX_ERROR(one("http2.priority:300;"), "http2.priority");
  Parsed w = one("http2.window:<100000;");
  EXPECT_PARSE_OK(w);
  expect_test(w.rule.items[1], 10, 4, ByteOp::Op::kLt, 100000);
  Parsed s = one("http2.size_update:>4096;");
  EXPECT_PARSE_OK(s);
  expect_test(s.rule.items[0], 14, 1, ByteOp::Op::kEq, 1);
  expect_test(s.rule.items[1], 15, 4, ByteOp::Op::kGt, 4096);
  EXPECT_SYNTAX_ERROR(one("http2.window;"), "needs a value");
}

TEST(RulesHttp2, Settings) {
  Parsed a = one("http2.settings:SETTINGS_ENABLE_PUSH=0;");
  EXPECT_PARSE_OK(a);
  ASSERT_EQ(a.rule.items.size(), 2u);
  expect_test(a.rule.items[0], 19 + 5, 1, ByteOp::Op::kEq, 1);
  expect_test(a.rule.items[1], 20 + 5, 4, ByteOp::Op::kEq, 0);
  Parsed b = one("http2.settings:SETTINGS_HEADER_TABLE_SIZE>4096;");
  EXPECT_PARSE_OK(b);
  expect_test(b.rule.items[1], 20, 4, ByteOp::Op::kGt, 4096);
  Parsed c = one("http2.settings:SETTINGS_MAX_CONCURRENT_STREAMS;");  // sent, any value
  EXPECT_PARSE_OK(c);
  ASSERT_EQ(c.rule.items.size(), 1u);
  EXPECT_EQ(c.rule.items[0].byte.offset, 19 + 10);
  EXPECT_UNSUPPORTED(one("http2.settings:SETTINGS_FOO=1;"), "http2.settings");
}

TEST(RulesHttp2, ProtocolAndBuffers) {
  Parsed h = parse("alert http2 any any -> any any (http.uri; content:\"/x\"; http2.frametype:HEADERS; sid:1;)");
  EXPECT_PARSE_OK(h);
  EXPECT_EQ(h.rule.hdr.proto, Proto::kHttp2);
  EXPECT_PARSE_OK(opts("app-layer-protocol:http2; http2.frametype:DATA;", "tcp"));
  Parsed ap = opts("app-layer-protocol:http2;", "tcp");
  EXPECT_PARSE_OK(ap);
  EXPECT_EQ(ap.rule.app_proto, AppProto::kHttp2);
  EXPECT_PARSE_OK(opts("http2.window:1;", "http"));  // http rules run on HTTP/2 flows too
  EXPECT_SYNTAX_ERROR(opts("http2.window:1;", "dns"), "http buffer in a dns rule");
  EXPECT_SYNTAX_ERROR(opts("dns.query; content:\"x\";", "http2"), "dns buffer in a http rule");
  EXPECT_STREQ(app_proto_name(AppProto::kHttp2), "http2");
}

}  // namespace
