// Snort 3 spellings the community rules use: bufferlen (as bsize), dce_iface
// with `uuid`/`version` names, quoted dce_opnum, byte_test `string` without a
// base, and the IP/TCP header keywords' Snort range forms.
#include "tests/unit/rules/rules_test_util.h"

namespace spectre::rules::test {
namespace {

Parsed s3(const std::string& options) {  // Snort 3 style (service: sticky http_* buffers)
  return parse("alert tcp any any -> any 80 ( msg:\"t\"; flow:to_server,established; " + options +
               " service:http; sid:1; )");
}

const MatchItem* bsize_item(const Rule& r) {
  for (const auto& it : r.items)
    if (it.kind == MatchItem::Kind::kBsize) return &it;
  return nullptr;
}

TEST(RulesSnort3, BufferlenIsBsizeOfTheStickyBuffer) {
  Parsed p = s3(R"(http_raw_uri; content:"/main.php",fast_pattern,nocase; bufferlen:9;)");
  EXPECT_PARSE_OK(p);
  const MatchItem* b = bsize_item(p.rule);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->buf, kHttpUriRaw);
  EXPECT_EQ(b->bsize.op, uint8_t(Dsize::Op::kEq));
  EXPECT_EQ(b->bsize.lo, 9u);
  // Snort's inclusive range 50<=>150 is 49 < n < 151; 0<=>7 is n < 8; A<>B stays exclusive.
  p = s3(R"(http_uri; content:"/a"; bufferlen:50<=>150;)");
  EXPECT_PARSE_OK(p);
  ASSERT_NE(b = bsize_item(p.rule), nullptr);
  EXPECT_EQ(b->buf, kHttpUri);
  EXPECT_EQ(b->bsize.op, uint8_t(Dsize::Op::kRange));
  EXPECT_EQ(b->bsize.lo, 49u);
  EXPECT_EQ(b->bsize.hi, 151u);
  p = s3(R"(http_uri; content:"/a"; bufferlen:0<=>7;)");
  ASSERT_NE(b = bsize_item(p.rule), nullptr);
  EXPECT_EQ(b->bsize.op, uint8_t(Dsize::Op::kLt));
  EXPECT_EQ(b->bsize.lo, 8u);
  p = s3(R"(http_uri; content:"/a"; bufferlen:<=64;)");
  ASSERT_NE(b = bsize_item(p.rule), nullptr);
  EXPECT_EQ(b->bsize.op, uint8_t(Dsize::Op::kLt));
  EXPECT_EQ(b->bsize.lo, 65u);
  p = s3(R"(http_uri; content:"/a"; bufferlen:=5;)");
  ASSERT_NE(b = bsize_item(p.rule), nullptr);
  EXPECT_EQ(b->bsize.lo, 5u);
  // relative and the packet payload: skipped (unsupported), not errors; bad sizes are errors.
  p = s3(R"(http_uri; content:"/a"; bufferlen:5,relative;)");
  EXPECT_FALSE(p.ok);
  EXPECT_TRUE(p.unsupported) << p.err;
  p = opts(R"(content:"x"; bufferlen:5;)");
  EXPECT_FALSE(p.ok);
  EXPECT_TRUE(p.unsupported) << p.err;
  for (const char* bad : {"bufferlen:x;", "bufferlen:9<=>5;", "bufferlen:5,foo;"}) {
    p = s3(std::string(R"(http_uri; content:"/a"; )") + bad);
    EXPECT_FALSE(p.ok) << bad;
    EXPECT_FALSE(p.unsupported) << bad;
  }
}

TEST(RulesSnort3, DceNamedArgumentsAndQuotedOpnum) {
  const std::string hdr = "alert tcp any any -> any [135,139,445] ( msg:\"d\"; flow:to_server,established; ";
  Parsed p = parse(hdr + "dce_iface:uuid 4b324fc8-1670-01d3-1278-5a47bf6ee188; dce_opnum:\"15\"; "
                         "service:dcerpc; sid:1; )");
  EXPECT_PARSE_OK(p);
  Parsed q = parse(hdr + "dce_iface:4b324fc8-1670-01d3-1278-5a47bf6ee188; dce_opnum:15; service:dcerpc; sid:1; )");
  EXPECT_PARSE_OK(q);
  ASSERT_EQ(p.rule.items.size(), q.rule.items.size());  // the same checks either way
  for (size_t i = 0; i < p.rule.items.size(); i++) {
    EXPECT_EQ(p.rule.items[i].kind, q.rule.items[i].kind);
    EXPECT_EQ(p.rule.items[i].content.bytes, q.rule.items[i].content.bytes);
    EXPECT_EQ(p.rule.items[i].pcre.pattern, q.rule.items[i].pcre.pattern);
  }
  EXPECT_PARSE_OK(parse(hdr + "dce_iface:uuid 4b324fc8-1670-01d3-1278-5a47bf6ee188, version >2, any_frag; sid:1; )"));
  EXPECT_PARSE_OK(parse(hdr + "dce_opnum:\"1-2\"; sid:1; )"));
  EXPECT_FALSE(parse(hdr + "dce_iface:uuid 4b324fc8; sid:1; )").ok);
}

TEST(RulesSnort3, ByteTestStringDefaultsToDecimal) {
  Parsed p = opts(R"(content:"x"; byte_test:5,>,256,0,relative,string;)");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 2u);
  EXPECT_EQ(p.rule.items[1].byte.base, 10);
  p = opts(R"(content:"x"; byte_test:5,>,256,0,string,hex,relative;)");
  EXPECT_PARSE_OK(p);
  EXPECT_EQ(p.rule.items[1].byte.base, 16);
  EXPECT_TRUE(p.rule.items[1].byte.relative);
  EXPECT_FALSE(opts(R"(content:"x"; byte_test:5,>,256,0,string bin;)").ok);
}

TEST(RulesSnort3, PcreAnchored) {
  Parsed p = opts(R"(pcre:"/[a-z\d]{100}/AGi";)");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 1u);
  EXPECT_EQ(p.rule.items[0].pcre.pattern, "\\A(?:(?U)[a-z\\d]{100})");
  EXPECT_TRUE(p.rule.items[0].pcre.caseless);
  p = opts(R"(content:"x"; pcre:"/y/AR";)");
  EXPECT_FALSE(p.ok);
  EXPECT_TRUE(p.unsupported) << p.err;
}

TEST(RulesSnort3, SipMethodAndStatCode) {
  Parsed p = parse("alert udp any any -> any 5060 ( msg:\"m\"; sip_method:invite,cancel; sid:1; )");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 1u);
  EXPECT_EQ(p.rule.items[0].buf, kSipMethod);
  EXPECT_EQ(p.rule.items[0].pcre.pattern, "^(?:invite|cancel)$");
  EXPECT_TRUE(p.rule.items[0].pcre.caseless);
  p = parse("alert udp any any -> any 5060 ( msg:\"m\"; sip_stat_code:4,180; sid:1; )");
  EXPECT_PARSE_OK(p);
  ASSERT_EQ(p.rule.items.size(), 1u);
  EXPECT_EQ(p.rule.items[0].buf, kSipStatCode);
  EXPECT_EQ(p.rule.items[0].pcre.pattern, "^(?:4\\d\\d|180)$");
  for (const char* bad : {"sip_method:in(vite;", "sip_method:;", "sip_stat_code:7;", "sip_stat_code:42;",
                          "sip_stat_code:099;"})
    EXPECT_FALSE(parse(std::string("alert udp any any -> any 5060 ( msg:\"m\"; ") + bad + " sid:1; )").ok) << bad;
  EXPECT_FALSE(parse("alert icmp any any -> any any ( msg:\"m\"; sip_method:invite; sid:1; )").ok);
  p = parse("alert udp any any -> any 5060 ( msg:\"m\"; sip_header; content:\"() {\"; service:sip; sid:1; )");
  EXPECT_FALSE(p.ok);
  EXPECT_TRUE(p.unsupported) << p.err;
}

TEST(RulesSnort3, HeaderKeywordRanges) {
  Parsed p = opts("ttl:>220; id:10<=>20; window:1<>9; seq:0; ack:!0; tos:!8; fragbits:M+; fragoffset:>0; ipopts:rr; sameip;");
  EXPECT_PARSE_OK(p);
  using F = HdrCheck::Field;
  using O = HdrCheck::Op;
  ASSERT_EQ(p.rule.hdr_checks.size(), 10u);
  const auto& h = p.rule.hdr_checks;
  EXPECT_TRUE(h[0].field == F::kTtl && h[0].op == O::kGt && h[0].lo == 220);
  EXPECT_TRUE(h[1].field == F::kIpId && h[1].op == O::kRangeIn && h[1].lo == 10 && h[1].hi == 20);
  EXPECT_TRUE(h[2].field == F::kWindow && h[2].op == O::kRange && h[2].lo == 1 && h[2].hi == 9);
  EXPECT_TRUE(h[3].field == F::kSeq && h[3].op == O::kEq && h[3].lo == 0);
  EXPECT_TRUE(h[4].field == F::kAck && h[4].op == O::kNe);
  EXPECT_TRUE(h[5].field == F::kTos && h[5].op == O::kNe && h[5].lo == 8);
  EXPECT_TRUE(h[6].field == F::kFragbits && h[6].mode == 1 && h[6].lo == 1);
  EXPECT_TRUE(h[7].field == F::kFragOffset && h[7].op == O::kGt && h[7].lo == 0);
  EXPECT_TRUE(h[8].field == F::kIpopts && h[8].lo == 7);
  EXPECT_TRUE(h[9].field == F::kSameip);
}

}  // namespace
}  // namespace spectre::rules::test
