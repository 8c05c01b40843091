// flowint (flowint.rst's examples; engine and reference side by side) and
// hostbits (xbits per host: xbits.rst "no difference between hostbits and
// xbits with track ip_<src|dst>").
#include "tests/unit/detect/detect_util.h"

namespace spectre::detect_test {
namespace {

// "More than Five Usernames!": the count is raised on every match and the
// rule alerts only once it is over five; "Username Logged out" lowers it.
TEST(DetectFlowint, CountingUsernames) {
  Harness h;
  h.add(parse(R"(alert tcp any any -> any any (msg:"More than Five Usernames!"; content:"jonkman"; content:!"logout"; flowint:usernamecount,+,1; flowint:usernamecount,>,5; sid:1;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"Username Logged out"; content:"logout jonkman"; flowint:usernamecount,-,1; flowint:usernamecount,>,5; sid:2;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1000, 23);
  for (int i = 1; i <= 5; i++) EXPECT_EQ(h.pay(pk.p, "user jonkman"), Sids{}) << i;
  EXPECT_EQ(h.pay(pk.p, "user jonkman"), Sids{1});  // the sixth: 6 > 5
  EXPECT_EQ(h.pay(pk.p, "logout jonkman"), Sids{});  // 5: not > 5
  EXPECT_EQ(h.pay(pk.p, "user jonkman"), Sids{1});  // 6 again
  EXPECT_EQ(h.flow.nints, 1);
  EXPECT_EQ(h.flow.int_val[0], 6u);
}

// The login-fail example: notset -> =1, isset -> +1, alert when > 5; and a
// comparison against another variable ("fire this when it reach 6").
TEST(DetectFlowint, LoginFailsAndVariableOperand) {
  Harness h;
  h.add(parse(R"(alert tcp any any -> any any (msg:"Start a login count"; content:"login failed"; flowint:loginfail,notset; flowint:loginfail,=,1; noalert; sid:1;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"Counting Logins"; content:"login failed"; flowint:loginfail,isset; flowint:loginfail,+,1; noalert; sid:2;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"More than Five login fails"; content:"login failed"; flowint:loginfail,isset; flowint:loginfail,>,5; sid:3;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"max"; content:"GET"; flowint:maxvar,notset; flowint:maxvar,=,3; noalert; sid:4;))"));
  h.add(parse(R"(alert tcp any any -> any any (msg:"reach max"; content:"login failed"; flowint:maxvar,isset; flowint:loginfail,==,maxvar; sid:5;))"));
  h.compile();
  ASSERT_EQ(h.rep.rejected, 0u);
  Pkt pk(6, 1000, 21);
  // 1: rule 1 sets 1, then rule 2 (same packet, isset now) adds 1 -> 2.
  EXPECT_EQ(h.pay(pk.p, "login failed"), Sids{});
  EXPECT_EQ(h.pay(pk.p, "GET /"), Sids{});              // maxvar = 3
  EXPECT_EQ(h.pay(pk.p, "login failed"), Sids{5});      // 3 == maxvar
  EXPECT_EQ(h.pay(pk.p, "login failed"), Sids{});       // 4
  EXPECT_EQ(h.pay(pk.p, "login failed"), Sids{});       // 5: not > 5
  EXPECT_EQ(h.pay(pk.p, "login failed"), Sids{3});      // 6
  // Without a flow nothing of flowint matches (notset included).
  h.use_flow = false;
  EXPECT_EQ(h.pay(pk.p, "login failed"), Sids{});
}

TEST(DetectFlowint, BoundPerFlowAndParse) {
  Harness h;
  h.add(parse(R"(alert tcp any any -> any any (content:"a"; flowint:a,=,1; flowint:b,=,1; flowint:c,=,1; flowint:d,=,1; sid:1;))"));
  h.add(parse(R"(alert tcp any any -> any any (content:"e"; flowint:e,=,1; sid:2;))"));
  h.compile();
  Pkt pk(6, 1, 2);
  EXPECT_EQ(h.pay(pk.p, "a"), Sids{1});
  EXPECT_EQ(h.pay(pk.p, "e"), Sids{});  // a fifth variable: dropped, counted, no match
  EXPECT_EQ(h.ctx->ctr.flowint_full, 1u);
  auto bad = [](const std::string& o) {
    rules::Rule r;
    std::string err;
    bool u = false;
    return !rules::parse_rule("alert tcp any any -> any any (" + o + " sid:1;)", rules::Vars::suricata_defaults(), r,
                              err, u) && !u;
  };
  EXPECT_TRUE(bad("flowint:x,~,1;"));
  EXPECT_TRUE(bad("flowint:x,isset,1;"));
  EXPECT_TRUE(bad("flowint:x,+;"));
  EXPECT_TRUE(bad("flowint:x,=,1x;"));
}

// hostbits: set toward the server (dst), seen when that host is a source.
TEST(DetectFlowint, HostbitsShareTheXbitsTable) {
  rules::RuleSet rs;
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (content:"MARK"; hostbits:set,bad,track ip_dst,expire 10; noalert; sid:1;))"));
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (content:"HI"; hostbits:isset,bad,track ip_src; sid:2;))"));
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (content:"HI"; hostbits:isnotset,bad; sid:3;))"));  // default: ip_src
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (content:"OFF"; hostbits:unset,bad,src; noalert; sid:4;))"));
  rs.rules.push_back(parse(R"(alert tcp any any -> any any (content:"FLIP"; hostbits:toggle,bad,dst; noalert; sid:5;))"));
  CompileReport rep;
  std::string err;
  auto crs = compile_ruleset(rs, 1, rep, err);
  ASSERT_TRUE(crs) << err;
  DetectCtx ctx(0);
  auto run = [&](Pkt& k, const std::string& d, uint64_t t_s) {
    VecSink s;
    k.p.ts_ns = t_s * 1000000000ull;
    detect_payload(ctx, *crs, k.p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>(d.data()),
                   uint32_t(d.size()), s);
    return s.sids;
  };
  Pkt c2s(6, 40000, 80, 0x0a000001, 0xc0a80001), s2c(6, 80, 40000, 0xc0a80001, 0x0a000001);
  EXPECT_EQ(run(s2c, "HI", 1), Sids{3});
  EXPECT_EQ(run(c2s, "MARK", 2), Sids{});
  EXPECT_EQ(run(s2c, "HI", 3), Sids{2});
  EXPECT_EQ(run(c2s, "HI", 3), Sids{3});   // the client is not marked
  EXPECT_EQ(run(s2c, "HI", 13), Sids{3});  // expired
  EXPECT_EQ(run(c2s, "FLIP", 20), Sids{});  // toggled on for the server
  EXPECT_EQ(run(s2c, "HI", 21), Sids{2});
  EXPECT_EQ(run(s2c, "OFF", 22), Sids{});
  EXPECT_EQ(run(s2c, "HI", 23), Sids{3});
  bool u = false;
  rules::Rule r;
  EXPECT_FALSE(rules::parse_rule(R"(alert tcp any any -> any any (hostbits:set,x,track ip_pair; sid:9;))",
                                 rules::Vars::suricata_defaults(), r, err, u));
  EXPECT_TRUE(u);
}

}  // namespace
}  // namespace spectre::detect_test
