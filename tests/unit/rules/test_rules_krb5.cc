// Suricata's kerberos-keywords page: the documented examples parse, the value
// keywords become items on the internal (krb5.hdr) / (krb5.ticket_etype)
// buffers (layout in krb5_opts.cc), bad values are syntax errors.
#include "tests/unit/rules/rules_test_util.h"

using namespace spectre::rules;
using namespace spectre::rules::test;

TEST(RulesKrb5, DocumentedExamples) {
  for (const char* t : {
           R"(alert krb5 any any -> any any (msg:"Kerberos 5 AS-REQ message"; krb5_msg_type:10; sid:3; rev:1;))",
           R"(alert krb5 any any -> any any (msg:"Kerberos 5 ERROR message"; krb5_msg_type:30; sid:7; rev:1;))",
           R"(alert krb5 any any -> any any (msg:"Kerberos 5 des server name"; krb5_cname; content:"des"; sid:4; rev:1;))",
           R"(alert krb5 any any -> any any (msg:"Kerberos 5 krbtgt server name"; krb5_sname; content:"krbtgt"; sid:5; rev:1;))",
           R"(alert krb5 any any -> any any (msg:"Kerberos 5 error C_PRINCIPAL_UNKNOWN"; krb5_err_code:6; sid:6; rev:1;))",
           R"(alert krb5 any any -> any any (msg:"SURICATA Kerberos 5 weak encryption parameters"; flow:to_client; app-layer-event:krb5.weak_encryption; classtype:protocol-command-decode; sid:2226001; rev:1;))",
           R"(alert krb5 any any -> any any (msg:"SURICATA Kerberos 5 malformed request data"; flow:to_server; app-layer-event:krb5.malformed_data; classtype:protocol-command-decode; sid:2226000; rev:1;))",
           R"(alert krb5 any any -> any any (krb5.ticket_encryption: weak; sid:1;))",
           R"(alert krb5 any any -> any any (krb5.ticket_encryption: 23; sid:2;))",
           R"(alert krb5 any any -> any any (krb5.ticket_encryption: rc4-hmac,rc4-hmac-exp; sid:3;))",
           R"(alert tcp any any -> any 88 (app-layer-protocol:krb5; krb5.cname; content:"x"; sid:9;))",
       }) {
    Parsed p = parse(t);
    EXPECT_PARSE_OK(p);
  }
}

TEST(RulesKrb5, Items) {
  auto one = [](const std::string& o) { return opts(o, "krb5"); };
  Parsed m = one("krb5_msg_type:TGS_REP;");
  EXPECT_PARSE_OK(m);
  ASSERT_EQ(m.rule.items.size(), 1u);
  EXPECT_EQ(m.rule.items[0].buf, kKrb5Hdr);
  EXPECT_EQ(m.rule.items[0].byte.offset, 0);
  EXPECT_EQ(m.rule.items[0].byte.value, 13u);
  EXPECT_EQ(one("krb5_msg_type:>11;").rule.items[0].byte.op, ByteOp::Op::kGt);
  // Suricata's integer forms, shared with the other app keywords (push_uint_cmp).
  Parsed eq = one("krb5_msg_type:=11;");
  ASSERT_EQ(eq.rule.items.size(), 1u);
  EXPECT_EQ(eq.rule.items[0].byte.op, ByteOp::Op::kEq);
  EXPECT_EQ(eq.rule.items[0].byte.value, 11u);
  EXPECT_TRUE(one("krb5_msg_type:!11;").rule.items[0].byte.negated);
  Parsed range = one("krb5_msg_type:10-13;");
  ASSERT_EQ(range.rule.items.size(), 2u);  // exclusive: > 10 and < 13
  EXPECT_EQ(range.rule.items[0].byte.op, ByteOp::Op::kGt);
  EXPECT_EQ(range.rule.items[1].byte.value, 13u);
  EXPECT_FALSE(one("krb5_msg_type:256;").ok);
  EXPECT_FALSE(one("krb5_msg_type:13-10;").ok);
  Parsed e = one("krb5_err_code:25;");
  ASSERT_EQ(e.rule.items.size(), 2u);  // has an error code, its value (4 bytes at 2)
  EXPECT_EQ(e.rule.items[1].byte.nbytes, 4);
  EXPECT_EQ(e.rule.items[1].byte.offset, 2);
  EXPECT_EQ(e.rule.items[1].byte.value, 25u);
  Parsed w = one("krb5.ticket_encryption:!weak;");
  ASSERT_EQ(w.rule.items.size(), 2u);
  EXPECT_EQ(w.rule.items[1].byte.offset, 9);
  EXPECT_EQ(w.rule.items[1].byte.value, 0u);
  Parsed l = one("krb5.ticket_encryption: des-cbc-crc , -128,2 257;");  // Suricata's own parser test
  EXPECT_PARSE_OK(l);
  ASSERT_EQ(l.rule.items.size(), 1u);
  EXPECT_EQ(l.rule.items[0].kind, MatchItem::Kind::kPcre);
  EXPECT_EQ(l.rule.items[0].buf, kKrb5TicketEtype);
  EXPECT_EQ(l.rule.items[0].pcre.pattern, "^(?:1|-128|2|257)$");
  Parsed ev = one("app-layer-event:krb5.weak_encryption;");
  ASSERT_EQ(ev.rule.items.size(), 1u);
  EXPECT_EQ(ev.rule.items[0].byte.offset, 7);
  Parsed mal = one("app-layer-event:krb5.malformed_data;");  // message type 0: the event's own tx
  ASSERT_EQ(mal.rule.items.size(), 1u);
  EXPECT_EQ(mal.rule.items[0].buf, kKrb5Hdr);
  EXPECT_EQ(mal.rule.items[0].byte.offset, 0);
  EXPECT_EQ(mal.rule.items[0].byte.value, 0u);
  Parsed c = one("krb5_cname; content:\"alice\";");
  EXPECT_EQ(c.rule.items[0].buf, kKrb5Cname);
}

TEST(RulesKrb5, BadValues) {
  auto one = [](const std::string& o) { return opts(o, "krb5"); };
  EXPECT_SYNTAX_ERROR(one("krb5_msg_type:AS-REQUEST;"), "krb5_msg_type");
  EXPECT_SYNTAX_ERROR(one("krb5_msg_type:300;"), "krb5_msg_type");
  EXPECT_SYNTAX_ERROR(one("krb5_err_code;"), "needs a value");
  EXPECT_SYNTAX_ERROR(one("krb5.ticket_encryption:aes512;"), "not an encryption type");
  EXPECT_SYNTAX_ERROR(one("krb5.ticket_encryption:;"), "krb5.ticket_encryption");
  EXPECT_SYNTAX_ERROR(opts("krb5_cname; content:\"a\"; http.uri; content:\"b\";", "tcp"), "mixes buffers");
  EXPECT_SYNTAX_ERROR(opts("krb5_cname; content:\"a\";", "http"), "krb5 buffer in a http rule");
  EXPECT_UNSUPPORTED(one("krb5_msg_type:[10,12];"), "multi-integer");
}
