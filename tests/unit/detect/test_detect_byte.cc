// byte_test / byte_jump over parsed rules: Suricata's documented examples
// (payload-keywords: byte_test, byte_jump) as cases, engine and reference side
// by side (Harness compares them on every call).
#include "tests/unit/detect/detect_util.h"

namespace spectre::detect_test {
namespace {

rules::Rule parse(const std::string& opts, uint32_t sid) {
  return detect_test::parse("alert tcp any any -> any any (" + opts + " sid:" + std::to_string(sid) + ";)");
}

rules::Rule parse_icmp(const std::string& opts, uint32_t sid) {
  return detect_test::parse("alert icmp any any -> any any (" + opts + " sid:" + std::to_string(sid) + ";)");
}

TEST(DetectByte, SuricataByteTestExamples) {
  Harness h;
  h.add(parse(R"(content:"|00 01 00 02|"; byte_test:2,=,0x01,0;)", 1));
  h.add(parse(R"(content:"|00 01 00 02|"; byte_test:2,=,0x03,2,relative;)", 2));
  h.add(parse(R"(content:"|00 01 00 02|"; byte_test:2,!=,0x06,0;)", 3));
  h.add(parse(R"(content:"|00 01 00 02|"; byte_test:2,>,1000,1,relative;)", 4));
  h.add(parse(R"(content:"|00 01 00 02|"; byte_test:2,&,0x01,12,relative;)", 5));
  h.add(parse(R"(content:"foobar"; byte_test:4,=,1337,1,relative,string,dec;)", 6));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1000, 80);
  // 00 01 | 00 02 | 00 03 ...: bytes 0-1 = 1, after the content (offset 4) + 2: 0x0003.
  // Offsets after the content (4): +1 -> ff 00 = 65280; +2 -> 00 03; +12 -> 00 01.
  std::string a = bin({0, 1, 0, 2, 0, 0xff, 0, 3}) + std::string(8, '\0') + bin({0, 1});
  EXPECT_EQ(h.pay(pk.p, a), (Sids{1, 2, 3, 4, 5}));
  std::string b = bin({0, 1, 0, 2, 0, 0, 0, 6});
  EXPECT_EQ(h.pay(pk.p, b), (Sids{1, 3}));  // 2: 0x0006 is not 3; 4: 0 is not > 1000; 5: past the end
  EXPECT_EQ(h.pay(pk.p, "xxfoobar 1337yy"), (Sids{6}));
  EXPECT_EQ(h.pay(pk.p, "xxfoobar 1336yy"), (Sids{}));
}

TEST(DetectByte, SuricataByteJumpExamples) {
  Harness h;
  h.add(parse(R"(content:"Alice"; byte_jump:2,0; content:"Bob";)", 1));
  h.add(parse(R"(byte_jump:2,0; byte_jump:2,0,relative; content:"foobar"; distance:0; within:6;)", 2));
  h.add(parse(R"(byte_jump:0,0, from_end, post_offset -8; content:"|6c 33 33 74|"; distance:0; within:4;)", 3));
  h.add(parse(R"(content:"LEN"; byte_jump:1,0,relative,multiplier 2,align; content:"END"; within:3;)", 4));
  h.add(parse(R"(content:"HDR"; byte_jump:2,-5,relative,from_beginning,little; content:"X"; within:1;)", 5));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1000, 80);
  // 2: jump 2 bytes (0x0002) past the 2 read, then 2 more from there, then foobar.
  EXPECT_EQ(h.pay(pk.p, bin({0, 2, 'z', 'z', 0, 1, 'q'}) + "foobar"), (Sids{2}));
  EXPECT_EQ(h.pay(pk.p, bin({0, 2, 'z', 'z', 0, 2, 'q'}) + "foobar"), (Sids{}));
  // 3: 8 bytes before the end: l33t then 4 more bytes.
  EXPECT_EQ(h.pay(pk.p, "....l33t1234"), (Sids{3}));
  EXPECT_EQ(h.pay(pk.p, "...l33t12345"), (Sids{}));
  // 1: the jump lands inside the buffer; Bob is searched anywhere (not relative).
  EXPECT_EQ(h.pay(pk.p, bin({0, 3}) + "Alice..Bob"), (Sids{1}));
  EXPECT_EQ(h.pay(pk.p, bin({0x7f, 0}) + "Alice Bob"), (Sids{}));  // jump beyond the end
  // 4: value 3 * 2 = 6, aligned to 8: END right after 8 bytes past the length byte.
  EXPECT_EQ(h.pay(pk.p, "LEN" + bin({3}) + "12345678END"), (Sids{4}));
  EXPECT_EQ(h.pay(pk.p, "LEN" + bin({3}) + "123456END"), (Sids{}));
  // 5: the 2 bytes before "HDR" (little endian) are a position from the buffer start.
  EXPECT_EQ(h.pay(pk.p, "ab" + bin({7, 0}) + "HDRX"), (Sids{5}));
  EXPECT_EQ(h.pay(pk.p, "ab" + bin({6, 0}) + "HDRX"), (Sids{}));
}

TEST(DetectByte, StringBasesBitmaskNegation) {
  Harness h;
  h.add(parse(R"(content:"len="; byte_test:4,>,255,0,relative,string,hex;)", 1));
  h.add(parse(R"(content:"mode="; byte_test:3,=,8,0,relative,string,oct;)", 2));
  h.add(parse(R"(content:"F"; byte_test:1,!&,0x80,0,relative;)", 3));
  h.add(parse(R"(content:"F"; byte_test:2,=,5,0,relative,bitmask 0x0ff0;)", 4));
  h.add(parse(R"(content:"L"; byte_test:4,>,65536,0,relative,little;)", 5));
  h.add(parse(R"(content:"CL:"; byte_test:0,=,0,0,relative,string,dec;)", 6));  // ET Open's idiom
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1000, 80);
  EXPECT_EQ(h.pay(pk.p, "len=1fF;"), (Sids{1, 3}));  // "1fF" = 511 > 255; 3: ';' after "F" has no 0x80 bit
  EXPECT_EQ(h.pay(pk.p, "len=zz"), (Sids{}));       // no digits: no match
  EXPECT_EQ(h.pay(pk.p, "mode=010"), (Sids{2}));
  EXPECT_EQ(h.pay(pk.p, "F" + bin({0x00, 0x50})), (Sids{3, 4}));  // 0x0050 & 0x0ff0 = 0x50 >> 4 = 5
  EXPECT_EQ(h.pay(pk.p, "F" + bin({0x80, 0x50})), (Sids{4}));  // the mask drops the 0x80
  EXPECT_EQ(h.pay(pk.p, "L" + bin({0, 0, 2, 0})), (Sids{5}));  // 0x00020000 little endian
  EXPECT_EQ(h.pay(pk.p, "L" + bin({0, 2, 0, 0})), (Sids{}));
  EXPECT_EQ(h.pay(pk.p, "CL:0"), (Sids{6}));
  EXPECT_EQ(h.pay(pk.p, "CL:00012"), (Sids{5}));  // 6: 12; 5: ":000" after "L" is > 65536
  EXPECT_EQ(h.pay(pk.p, "CL:"), (Sids{}));
}

TEST(DetectByte, ParseErrorsAndUnsupported) {
  auto p = [](const std::string& o, bool& unsup) {
    rules::Rule r;
    std::string err;
    unsup = false;
    return rules::parse_rule("alert tcp any any -> any any (" + o + " sid:1;)", rules::Vars::suricata_defaults(), r,
                             err, unsup);
  };
  bool u;
  EXPECT_FALSE(p("byte_test:2,=,var,0;", u));  // no byte_extract defines var: an error
  EXPECT_FALSE(u);
  EXPECT_TRUE(p("byte_test:2,=,1,0,dce;", u));  // Snort's DCERPC byte order (test_detect_smb.cc)
  EXPECT_FALSE(p("byte_test:9,=,1,0;", u));
  EXPECT_FALSE(u);
  EXPECT_FALSE(p("byte_test:2,~,1,0;", u));
  EXPECT_FALSE(u);
  EXPECT_FALSE(p("byte_test:2,=,1;", u));
  EXPECT_FALSE(u);
  EXPECT_FALSE(p("byte_jump:2,0,from_beginning,from_end;", u));
  EXPECT_FALSE(u);
  EXPECT_FALSE(p("byte_jump:2,0,frobnicate;", u));
  EXPECT_FALSE(u);
  EXPECT_TRUE(p("byte_jump:4,-2,relative,from_beginning,little,post_offset 3,bitmask 0xff00;", u));
  EXPECT_TRUE(p("byte_test:10,>,5,0,string,dec,relative;", u));
}

}  // namespace
}  // namespace spectre::detect_test

namespace spectre::detect_test {
namespace {

TEST(DetectIcmp, TypeCodeIdSeq) {
  Harness h;
  // Suricata's documented icmp_id/icmp_seq example rule (GPL SCAN Broadscan Smurf Scanner).
  h.add(parse_icmp(R"(dsize:4; icmp_id:0; icmp_seq:0; itype:8;)", 1));
  h.add(parse_icmp(R"(itype:>10;)", 2));
  h.add(parse_icmp(R"(itype:3; icode:1<>4;)", 3));
  h.add(parse_icmp(R"(icmp_seq:7;)", 4));
  h.add(parse_icmp(R"(icode:!0; content:"x";)", 5));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  auto pkt = [](uint8_t type, uint8_t code, bool echo, uint16_t id, uint16_t seq) {
    Pkt pk(1, 0, 0);
    pk.p.icmp_type = type;
    pk.p.icmp_code = code;
    pk.p.icmp_echo = echo;
    pk.p.icmp_id = id;
    pk.p.icmp_seq = seq;
    return pk;
  };
  EXPECT_EQ(h.pay(pkt(8, 0, true, 0, 0).p, "abcd"), (Sids{1}));
  EXPECT_EQ(h.pay(pkt(8, 0, true, 1, 0).p, "abcd"), (Sids{}));
  EXPECT_EQ(h.pay(pkt(8, 0, true, 0, 7).p, "abcde"), (Sids{4}));
  EXPECT_EQ(h.pay(pkt(3, 7, false, 0, 7).p, "x"), (Sids{5}));  // not echo: icmp_seq cannot match
  EXPECT_EQ(h.pay(pkt(3, 3, false, 0, 0).p, "y"), (Sids{3}));
  EXPECT_EQ(h.pay(pkt(13, 0, true, 0, 0).p, "y"), (Sids{2}));
  EXPECT_EQ(h.pay(pkt(13, 0, true, 0, 0).p, "y", PayloadMode::kStreamChunk), (Sids{}));  // packet keywords
  Pkt tcp(6, 1000, 80);
  EXPECT_EQ(h.pay(tcp.p, "x"), (Sids{}));
}

// byte_extract (payload-keywords.rst: its three examples) and byte_math;
// variables in content distance/within, byte_test value, isdataat.
TEST(DetectByte, SuricataByteExtractExamples) {
  Harness h;
  h.add(parse(R"(content:"Alice"; byte_extract:2,0,size; content:"Bob"; distance:size; within:3;)", 1));
  h.add(parse(R"(content:"|00 FF|"; byte_extract:1,0,len,relative; content:"|5c 00|"; distance:2; within:len;)", 2));
  h.add(parse(R"(content:"|00 FF|"; byte_extract:2,0,cmp_ver,relative; content:"FooBar"; distance:0; byte_test:2,=,cmp_ver,0;)", 3));
  h.compile();
  EXPECT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1, 2);
  EXPECT_EQ(h.pay(pk.p, bin({0, 5}) + "AliceBob"), Sids{1});
  EXPECT_EQ(h.pay(pk.p, bin({0, 4}) + "AliceBob"), Sids{});  // Bob must start 4 after the size
  EXPECT_EQ(h.pay(pk.p, bin({0, 0xff, 6}) + "AB" + bin({0x5c, 0}) + "xx"), Sids{2});
  EXPECT_EQ(h.pay(pk.p, bin({0, 0xff, 1}) + "AB" + bin({0x5c, 0}) + "xx"), Sids{});  // within 1 is too short
  EXPECT_EQ(h.pay(pk.p, bin({0x12, 0x34, 0, 0xff, 0x12, 0x34}) + "FooBar"), Sids{3});
  EXPECT_EQ(h.pay(pk.p, bin({0x12, 0x35, 0, 0xff, 0x12, 0x34}) + "FooBar"), Sids{});
}

TEST(DetectByte, ByteExtractOptionsAndByteMath) {
  Harness h;
  // ET Open shape (TLS record length): a 3-byte length after a content, compared later.
  h.add(parse(R"(content:"|16 03|"; byte_extract:3,0,frag_len,relative; byte_test:3,!=,frag_len,0,relative;)", 1));
  // 2: n = byte * 2 rounded up to 4 decides where "E" must be (payload-keywords: byte_extract multiplier, align).
  h.add(parse(R"(content:"L"; byte_extract:1,0,n,relative,multiplier 2,align 4; content:"E"; distance:n; within:1;)", 2));
  h.add(parse(R"(content:"|ff ff|"; byte_math:bytes 1, offset 1, oper +, rvalue 1, result var, relative; byte_test:1,=,var,2,relative;)", 3));
  h.add(parse(R"(content:"D"; byte_math:bytes 1, offset 0, oper /, rvalue 0, result q, relative;)", 4));
  h.add(parse(R"(content:"S"; byte_extract:1,0,sh,relative; byte_math:bytes 1, offset 0, oper <<, rvalue sh, result w, relative; byte_test:1,=,w,1,relative;)", 5));
  h.compile();
  EXPECT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1, 2);
  EXPECT_EQ(h.pay(pk.p, bin({0x16, 3, 0, 0, 5, 0, 0, 6})), Sids{1});
  EXPECT_EQ(h.pay(pk.p, bin({0x16, 3, 0, 0, 5, 0, 0, 5})), Sids{});
  // n = 3 * 2 = 6, aligned up to 8: "E" right after 8 bytes. Without the
  // alignment it would sit after 6, without the multiplier after 3 (-> 4).
  EXPECT_EQ(h.pay(pk.p, "L" + bin({3}) + "12345678E"), Sids{2});
  EXPECT_EQ(h.pay(pk.p, "L" + bin({3}) + "123456E78"), Sids{});
  EXPECT_EQ(h.pay(pk.p, "L" + bin({3}) + "1234E678"), Sids{});
  EXPECT_EQ(h.pay(pk.p, "L" + bin({4}) + "12345678E"), Sids{2});  // 4 * 2 = 8 is aligned already
  EXPECT_EQ(h.pay(pk.p, bin({0xff, 0xff, 0, 5, 6})), Sids{3});
  EXPECT_EQ(h.pay(pk.p, bin({0xff, 0xff, 0, 5, 7})), Sids{});
  EXPECT_EQ(h.pay(pk.p, "D" + bin({9})), Sids{});  // division by zero: no match
  EXPECT_EQ(h.pay(pk.p, "S" + bin({2, 3, 12})), Sids{5});  // 3 << 2 = 12
  EXPECT_EQ(h.pay(pk.p, "S" + bin({2, 3, 13})), Sids{});
}

// byte_math's documented shape (payload-keywords: byte_math): a number after
// two contents plus rvalue 248, then compared. Expected values by hand:
// 0x00000007 + 248 = 255 (0xff); 0x00000008 + 248 = 256 does not fit one byte.
TEST(DetectByte, SuricataByteMathExample) {
  Harness h;
  h.add(parse(R"(content:"|00 04 93 F3|"; content:"|00 00 00 07|"; distance:4; within:4; byte_math:bytes 4, offset 0, oper +, rvalue 248, result var, relative; byte_test:1,=,var,4,relative;)", 1));
  h.add(parse(R"(content:"N"; byte_extract:1,0,ev,relative; byte_math:bytes 1, offset 1, oper +, rvalue ev, result sum, relative; byte_test:2,=,sum,2,relative;)", 2));
  h.compile();
  EXPECT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1, 2);
  const std::string head = bin({0, 4, 0x93, 0xf3}) + "abcd" + bin({0, 0, 0, 7});
  EXPECT_EQ(h.pay(pk.p, head + bin({0, 0, 0, 7, 0xff})), Sids{1});
  EXPECT_EQ(h.pay(pk.p, head + bin({0, 0, 0, 7, 0xfe})), Sids{});
  EXPECT_EQ(h.pay(pk.p, head + bin({0, 0, 0, 8, 0xff})), Sids{});  // 256 != 255
  // 2: ev = 5 (after N, position moves past it); byte_math reads 1 byte at
  // that position + 1: 8; 5 + 8 = 13. byte_math does not move the position,
  // so byte_test reads 2 bytes at position + 2: 0x000d.
  EXPECT_EQ(h.pay(pk.p, "N" + bin({5, 9, 8, 0, 13})), Sids{2});
  EXPECT_EQ(h.pay(pk.p, "N" + bin({5, 9, 8, 0, 14})), Sids{});
}

TEST(DetectByte, ByteExtractAlignAndIsDataAt) {
  Harness h;
  h.add(parse(R"(content:"L"; byte_extract:1,0,n,relative,multiplier 2,align 4; isdataat:n,relative;)", 1));
  h.compile();
  Pkt pk(6, 1, 2);
  EXPECT_EQ(h.pay(pk.p, "L" + bin({3}) + "12345678"), Sids{1});   // 3*2=6 -> 8: 8 bytes left
  EXPECT_EQ(h.pay(pk.p, "L" + bin({3}) + "1234567"), Sids{});     // near miss: 7 left
}

// A variable read by an absolute item depends on where a relative
// byte_extract read it: a failure there must retry the earlier content's next
// occurrence (the second "K" gives offset 2, the first 15).
TEST(DetectByte, VariableFailureRetriesEarlierOccurrence) {
  Harness h;
  h.add(parse(R"(content:"K"; byte_extract:1,0,v,relative,string,hex; content:"Z"; offset:v;)", 1));
  h.add(parse(R"(content:"K"; byte_extract:1,0,v,relative,string,hex; byte_test:1,=,v,0,string,hex;)", 2));
  h.compile();
  Pkt pk(6, 1, 2);
  EXPECT_EQ(h.pay(pk.p, "KfK2xxZ"), Sids{1});
  EXPECT_EQ(h.pay(pk.p, "KfKexxZ"), Sids{});  // near miss: 15 and 14 both past the Z
  EXPECT_EQ(h.pay(pk.p, "3K5K3"), Sids{2});   // the second K's 3 equals the first byte
}

}  // namespace
}  // namespace spectre::detect_test
