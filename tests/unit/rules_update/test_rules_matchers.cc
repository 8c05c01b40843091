// spectre-rules matchers and modify filters: every example of
// suricata-update's documentation (doc/update.rst "Rule Matching" and the
// sample enable.conf, disable.conf, drop.conf, modify.conf), plus our
// extensions (sid ranges, classtype:).
#include <gtest/gtest.h>

#include "ctrlplane/rules_update/matchers.h"

using namespace spectre::rules_update;

namespace {

RuleEntry rule(const std::string& line, const std::string& group = "rules/emerging-misc.rules") {
  RuleEntry r;
  bool comment = false;
  EXPECT_TRUE(parse_rule_line(line, r, comment)) << line;
  r.group = group;
  return r;
}

Matcher matcher(const std::string& text) {
  Matcher m;
  std::string err;
  EXPECT_TRUE(parse_matcher(text, m, err)) << text << ": " << err;
  return m;
}

const char* kHeartbleed =
    "alert tls any any -> any any (msg:\"ET EXPLOIT Possible OpenSSL HeartBleed Large HeartBeat Response\"; "
    "content:\"|18 03|\"; classtype:bad-unknown; sid:2018377; rev:3; "
    "metadata:affected_product Any, attack_target Any, deployment Perimeter;)";
const char* k2019401 =
    "alert tcp any any -> any any (msg:\"ET SCAN something\"; flags:S; threshold: type both, track by_src, "
    "count 5, seconds 60; classtype:attempted-recon; sid:2019401; rev:2;)";
const char* kMs08 =
    "alert tcp any any -> any 445 (msg:\"ET EXPLOIT MS08-067 attempt\"; content:\"x\"; classtype:attempted-admin; "
    "sid:2008690; rev:4;)";
const char* kTrojan =
    "alert http any any -> any any (msg:\"ET TROJAN beacon\"; content:\"/gate\"; classtype:trojan-activity; "
    "sid:2020000; rev:1;)";
const char* kNoalertDrop =
    "drop tcp any any -> any any (msg:\"flowbit setter\"; content:\"x\"; flowbits:set,a; flowbits:noalert; "
    "sid:2020001; rev:1;)";

}  // namespace

TEST(RulesUpdateParse, ReadsRuleFields) {
  RuleEntry r = rule(kHeartbleed);
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(r.gid, 1u);
  EXPECT_EQ(r.sid, 2018377u);
  EXPECT_EQ(r.rev, 3u);
  EXPECT_EQ(r.action, "alert");
  EXPECT_EQ(r.proto, "tls");
  EXPECT_EQ(r.classtype, "bad-unknown");
  EXPECT_EQ(metadata_value(r, "deployment"), "Perimeter");
  RuleEntry n = rule(kNoalertDrop);
  EXPECT_TRUE(n.noalert);
}

TEST(RulesUpdateParse, CommentedRuleIsDisabledProseIsNot) {
  RuleEntry r;
  bool comment = false;
  ASSERT_TRUE(parse_rule_line(std::string("#") + k2019401, r, comment));
  EXPECT_TRUE(comment);
  EXPECT_FALSE(r.enabled);
  EXPECT_EQ(format_rule(r), std::string("# ") + k2019401);
  EXPECT_FALSE(parse_rule_line("# alert on everything (see the README)", r, comment));
  EXPECT_FALSE(parse_rule_line("# just a comment", r, comment));
  EXPECT_FALSE(parse_rule_line("alert tcp any any -> any any (msg:\"no sid\";)", r, comment));
  EXPECT_FALSE(comment);
}

TEST(RulesUpdateParse, EscapedSemicolonInMsgIsNotAnOptionEnd) {
  RuleEntry r = rule("alert tcp any any -> any any (msg:\"a\\; sid:5\"; sid:7; rev:1;)");
  EXPECT_EQ(r.sid, 7u);
  EXPECT_EQ(r.msg, "a; sid:5");
}

TEST(RulesUpdateParse, TextStatsCountEnabledDisabledUnparsable) {
  TextStats st;
  const std::string text = std::string(k2019401) + "\n# " + kMs08 + "\n# a comment\n\ngarbage line\n" + kTrojan +
                           "\nalert tcp any any -> any any (msg:\"cont\"; \\\n  sid:3; rev:1;)\n";
  auto rules = parse_rules_text(text, "x.rules", 0, st);
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(st.rules, 4u);
  EXPECT_EQ(st.enabled, 3u);
  EXPECT_EQ(st.disabled, 1u);
  EXPECT_EQ(st.unparsable, 1u);
  ASSERT_EQ(st.problems.size(), 1u);
  EXPECT_EQ(st.problems[0], "x.rules:5: not a rule with a sid, left out");
  EXPECT_EQ(rules[3].sid, 3u);  // continuation joined
}

// disable.conf / enable.conf / drop.conf: "1:2019401" and "2019401".
TEST(RulesUpdateMatch, SignatureIdWithAndWithoutGid) {
  RuleEntry r = rule(k2019401);
  EXPECT_TRUE(matcher("1:2019401").match(r));
  EXPECT_TRUE(matcher("2019401").match(r));
  EXPECT_FALSE(matcher("3:2019401").match(r));
  EXPECT_FALSE(matcher("2019402").match(r));
  EXPECT_TRUE(matcher("2019400, 1:2019401").match(r));  // comma lists, as suricata-update parses them
}

TEST(RulesUpdateMatch, SidRangeExtension) {
  RuleEntry r = rule(k2019401);
  EXPECT_TRUE(matcher("2019400-2019499").match(r));
  EXPECT_TRUE(matcher("1:2019401-2019401").match(r));
  EXPECT_FALSE(matcher("2019402-2019499").match(r));
  Matcher m;
  std::string err;
  EXPECT_FALSE(parse_matcher("2019499-2019400", m, err));  // reversed range
}

// "re:heartbleed" and "re:MS(0[7-9]|10)-\d+"; "All regular expression matches are case insensitive."
TEST(RulesUpdateMatch, RegexOverTheWholeRuleCaseInsensitive) {
  EXPECT_TRUE(matcher("re:heartbleed").match(rule(kHeartbleed)));  // the rule says HeartBleed
  EXPECT_FALSE(matcher("re:heartbleed").match(rule(kMs08)));
  EXPECT_TRUE(matcher("re:MS(0[7-9]|10)-\\d+").match(rule(kMs08)));
  EXPECT_FALSE(matcher("re:MS(0[7-9]|10)-\\d+").match(rule(kHeartbleed)));
  EXPECT_TRUE(matcher("re:classtype:trojan-activity").match(rule(kTrojan)));
  Matcher m;
  std::string err;
  EXPECT_FALSE(parse_matcher("re:(unclosed", m, err));
  EXPECT_NE(err.find("bad regular expression"), std::string::npos);
}

// "group:emerging-icmp.rules", "group:emerging-dos", "group:emerging*", "group:*deleted*".
TEST(RulesUpdateMatch, GroupIsTheFileNameWithOrWithoutExtension) {
  RuleEntry icmp = rule(kMs08, "rules/emerging-icmp.rules");
  RuleEntry dos = rule(kMs08, "rules/emerging-dos.rules");
  RuleEntry del = rule(kMs08, "rules/emerging-deleted.rules");
  RuleEntry local = rule(kMs08, "/etc/spectre/local.rules");
  EXPECT_TRUE(matcher("group:emerging-icmp.rules").match(icmp));
  EXPECT_FALSE(matcher("group:emerging-icmp.rules").match(dos));
  EXPECT_TRUE(matcher("group:emerging-dos").match(dos));
  EXPECT_FALSE(matcher("group:emerging-dos").match(icmp));
  for (const RuleEntry* r : {&icmp, &dos, &del}) EXPECT_TRUE(matcher("group:emerging*").match(*r));
  EXPECT_FALSE(matcher("group:emerging*").match(local));
  EXPECT_TRUE(matcher("group:*deleted*").match(del));
  EXPECT_FALSE(matcher("group:*deleted*").match(dos));
  EXPECT_TRUE(matcher("emerging-dos.rules").match(dos));  // a bare name ending in .rules is a group
  EXPECT_FALSE(matcher("group:rules/emerging-dos").match(dos));  // no path in a group
}

// "filename:rules/*deleted*", "filename:*/emerging-dos.rules".
TEST(RulesUpdateMatch, FilenameIsThePathWithWildcards) {
  RuleEntry dos = rule(kMs08, "rules/emerging-dos.rules");
  RuleEntry del = rule(kMs08, "rules/emerging-deleted.rules");
  EXPECT_TRUE(matcher("filename:rules/*deleted*").match(del));
  EXPECT_FALSE(matcher("filename:rules/*deleted*").match(dos));
  EXPECT_TRUE(matcher("filename:*/emerging-dos.rules").match(dos));
  EXPECT_FALSE(matcher("filename:emerging-dos.rules").match(dos));  // the whole path must match
}

// "metadata: deployment perimeter" matches "metadata:affected_product Any, attack_target Any, deployment Perimeter".
TEST(RulesUpdateMatch, MetadataKeyValueCaseInsensitive) {
  EXPECT_TRUE(matcher("metadata: deployment perimeter").match(rule(kHeartbleed)));
  EXPECT_TRUE(matcher("metadata:Deployment Perimeter").match(rule(kHeartbleed)));
  EXPECT_FALSE(matcher("metadata: deployment internal").match(rule(kHeartbleed)));
  EXPECT_FALSE(matcher("metadata: deployment perimeter").match(rule(kMs08)));
  Matcher m;
  std::string err;
  EXPECT_FALSE(parse_matcher("metadata: deployment", m, err));
}

TEST(RulesUpdateMatch, ClasstypeExtensionAndAll) {
  EXPECT_TRUE(matcher("classtype:trojan-activity").match(rule(kTrojan)));
  EXPECT_FALSE(matcher("classtype:trojan-activity").match(rule(kMs08)));
  EXPECT_TRUE(matcher("*").match(rule(kMs08)));
}

// "multi:group:emerging-web_specific_apps;re:wordpress;re:cve[-,]201[6-9];"
TEST(RulesUpdateMatch, MultiNeedsAll) {
  const std::string base = "alert http any any -> any any (msg:\"ET WEB_SPECIFIC_APPS WordPress plugin ";
  RuleEntry hit = rule(base + "CVE-2017-1\"; content:\"x\"; sid:1; rev:1;)", "rules/emerging-web_specific_apps.rules");
  RuleEntry old = rule(base + "CVE-2012-1\"; content:\"x\"; sid:2; rev:1;)", "rules/emerging-web_specific_apps.rules");
  RuleEntry other = rule(base + "CVE-2017-1\"; content:\"x\"; sid:3; rev:1;)", "rules/emerging-web_client.rules");
  Matcher m = matcher("multi:group:emerging-web_specific_apps;re:wordpress;re:cve[-,]201[6-9];");
  ASSERT_EQ(m.parts.size(), 3u);
  EXPECT_TRUE(m.match(hit));
  EXPECT_FALSE(m.match(old));
  EXPECT_FALSE(m.match(other));
}

TEST(RulesUpdateMatch, BadLinesAreErrorsWithFileAndLine) {
  std::vector<Matcher> out;
  std::string err;
  EXPECT_TRUE(parse_matcher_text("# comment\n\n2019401 # trailing comment\nre:heartbleed\n", "d.conf", out, err)) << err;
  EXPECT_EQ(out.size(), 2u);
  out.clear();
  EXPECT_FALSE(parse_matcher_text("2019401\nnot a matcher\n", "d.conf", out, err));
  EXPECT_EQ(err.rfind("d.conf:2: not a matcher: 'not a matcher'", 0), 0u) << err;
}

TEST(RulesUpdateModify, ShellSplitLikeShlex) {
  std::vector<std::string> t;
  ASSERT_TRUE(shell_split("re:. \"^drop(.*)noalert(.*)\" \"alert\\\\1noalert\\\\2\"", t));
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[1], "^drop(.*)noalert(.*)");
  EXPECT_EQ(t[2], "alert\\1noalert\\2");
  ASSERT_TRUE(shell_split("a 'b c' d\\ e", t));
  EXPECT_EQ(t, (std::vector<std::string>{"a", "b c", "d e"}));
  EXPECT_FALSE(shell_split("a \"b", t));
}

namespace {
std::string modify(const std::string& conf_line, const RuleEntry& r, bool expect_change = true) {
  ModifyFilter f;
  std::string err;
  EXPECT_TRUE(parse_modify(conf_line, f, err)) << conf_line << ": " << err;
  Policy p;
  p.modify.push_back(f);
  std::vector<RuleEntry> v{r};
  PolicyCounts c;
  apply_policy(p, v, c);
  EXPECT_EQ(c.modified, expect_change ? 1u : 0u) << conf_line;
  return format_rule(v[0]);
}
}  // namespace

// modify.conf: 2019401 "seconds \d+" "seconds 3600"
TEST(RulesUpdateModify, SecondsOfOneRule) {
  const std::string out = modify("2019401 \"seconds \\d+\" \"seconds 3600\"", rule(k2019401));
  EXPECT_NE(out.find("count 5, seconds 3600;"), std::string::npos) << out;
  modify("2019401 \"seconds \\d+\" \"seconds 3600\"", rule(kTrojan), false);  // other sids untouched
}

// modify.conf: re:classtype:trojan-activity "(alert)(.*)" "drop\\2"
TEST(RulesUpdateModify, BackReferenceTrojanToDrop) {
  const std::string out = modify("re:classtype:trojan-activity \"(alert)(.*)\" \"drop\\\\2\"", rule(kTrojan));
  EXPECT_EQ(out, std::string(kTrojan).replace(0, 5, "drop"));
  modify("re:classtype:trojan-activity \"(alert)(.*)\" \"drop\\\\2\"", rule(kMs08), false);
}

// update.rst: re:. ^alert drop  and  re:. "^drop(.*)noalert(.*)" "alert\\1noalert\\2"
TEST(RulesUpdateModify, DocumentedAlertToDropAndBack) {
  EXPECT_EQ(modify("re:. ^alert drop", rule(kMs08)), std::string(kMs08).replace(0, 5, "drop"));
  const std::string back = modify("re:. \"^drop(.*)noalert(.*)\" \"alert\\\\1noalert\\\\2\"", rule(kNoalertDrop));
  EXPECT_EQ(back, std::string(kNoalertDrop).replace(0, 4, "alert"));
}

// modify.conf (Oinkmaster): modifysid * "^drop(.*)noalert(.*)" | "alert${1}noalert${2}"
TEST(RulesUpdateModify, OinkmasterModifysid) {
  const std::string out = modify("modifysid * \"^drop(.*)noalert(.*)\" | \"alert${1}noalert${2}\"", rule(kNoalertDrop));
  EXPECT_EQ(out, std::string(kNoalertDrop).replace(0, 4, "alert"));
}

TEST(RulesUpdateModify, DisabledRuleIsModifiedInItsWrittenForm) {
  RuleEntry r = rule(kMs08);
  r.enabled = false;
  // "^alert" does not match "# alert ...", as in suricata-update (it modifies the formatted rule).
  EXPECT_EQ(modify("re:. ^alert drop", r, false), std::string("# ") + kMs08);
  EXPECT_EQ(modify("2008690 \"rev:4\" \"rev:5\"", r), "# " + std::string(kMs08).replace(std::string(kMs08).find("rev:4"), 5, "rev:5"));
}

TEST(RulesUpdateModify, RefusedForms) {
  ModifyFilter f;
  std::string err;
  EXPECT_FALSE(parse_modify("metadata: deployment perimeter \"a\" \"b\"", f, err));  // 4 words
  EXPECT_FALSE(parse_modify("\"metadata: deployment perimeter\" \"a\" \"b\"", f, err));
  EXPECT_NE(err.find("not available for modify"), std::string::npos) << err;
  EXPECT_FALSE(parse_modify("2019401 \"(\" \"x\"", f, err));
  EXPECT_FALSE(parse_modify("2019401 \"a\"", f, err));
  // A modification that breaks the rule (or its sid) is refused and the rule kept.
  ASSERT_TRUE(parse_modify("2019401 \"sid:2019401\" \"sid:7\"", f, err)) << err;
  Policy p;
  p.modify.push_back(f);
  std::vector<RuleEntry> v{rule(k2019401)};
  PolicyCounts c;
  apply_policy(p, v, c);
  EXPECT_EQ(c.modify_invalid, 1u);
  EXPECT_EQ(v[0].text, k2019401);
}

// Order per rule as suricata-update: disable, enable, drop, modify.
TEST(RulesUpdatePolicy, DisableThenEnableThenDrop) {
  Policy p;
  p.disable.push_back(matcher("group:emerging-misc"));
  p.enable.push_back(matcher("2019401"));
  p.drop.push_back(matcher("re:heartbleed"));
  p.drop.push_back(matcher("2020001"));  // noalert: not converted
  std::vector<RuleEntry> v{rule(k2019401), rule(kMs08), rule(kHeartbleed, "x/other.rules"),
                           rule(std::string(kNoalertDrop).replace(0, 4, "alert"), "x/other.rules")};
  RuleEntry commented = rule(kTrojan, "x/other.rules");
  commented.enabled = false;  // "# alert ..." in its source
  p.enable.push_back(matcher("2020000"));
  v.push_back(commented);
  PolicyCounts c;
  apply_policy(p, v, c);
  EXPECT_TRUE(v[0].enabled);   // disabled by group, enabled again by sid
  EXPECT_FALSE(v[1].enabled);  // disabled by group
  EXPECT_EQ(v[2].action, "drop");
  EXPECT_EQ(v[2].text.rfind("drop tls any any", 0), 0u);
  EXPECT_EQ(v[3].action, "alert");  // noalert rules are not converted (suricata-update)
  EXPECT_TRUE(v[4].enabled);   // a commented-out source rule enabled by enable.conf
  EXPECT_EQ(c.disabled, 2u);
  EXPECT_EQ(c.enabled, 2u);
  EXPECT_EQ(c.dropped, 1u);
}

// suricata-update's flowbit resolution: the disabled setter of a flowbit an
// enabled rule tests is enabled with noalert; setters nobody needs stay off.
TEST(RulesUpdatePolicy, FlowbitSettersOfEnabledCheckersAreEnabledNoalert) {
  RuleEntry setter = rule("alert tcp any any -> any any (msg:\"set\"; content:\"a\"; flowbits:set,x.login; sid:1; rev:1;)");
  RuleEntry chain = rule("alert tcp any any -> any any (msg:\"mid\"; flowbits:isset,x.pre; content:\"b\"; "
                         "flowbits:set,x.a|x.b; sid:2; rev:1;)");
  RuleEntry pre = rule("alert tcp any any -> any any (msg:\"pre\"; content:\"c\"; flowbits:toggle,x.pre; sid:3; rev:1;)");
  RuleEntry checker = rule("alert tcp any any -> any any (msg:\"chk\"; flowbits:isset,x.login; flowbits:isnotset,x.b; "
                           "content:\"d\"; sid:4; rev:1;)");
  RuleEntry unrelated = rule("alert tcp any any -> any any (msg:\"u\"; content:\"e\"; flowbits:set,x.other; sid:5; rev:1;)");
  EXPECT_EQ(chain.flowbits_set, (std::vector<std::string>{"x.a", "x.b"}));
  EXPECT_EQ(checker.flowbits_check, (std::vector<std::string>{"x.login", "x.b"}));
  std::vector<RuleEntry> v{setter, chain, pre, checker, unrelated};
  for (int i : {0, 1, 2, 4}) v[size_t(i)].enabled = false;
  const auto enabled = resolve_flowbits(v);
  // 1 and 2 (needed by 4), then 3 (needed by 2, once 2 is enabled).
  EXPECT_EQ(enabled, (std::vector<std::string>{"1:1", "1:2", "1:3"}));
  EXPECT_TRUE(v[0].enabled && v[0].noalert);
  EXPECT_NE(v[0].text.find("flowbits:set,x.login; noalert; sid:1;"), std::string::npos) << v[0].text;
  EXPECT_TRUE(v[2].enabled);
  EXPECT_FALSE(v[4].enabled);
  EXPECT_EQ(v[3].text.find("noalert"), std::string::npos);  // the checker itself is untouched
  bool comment = false;
  RuleEntry again;
  ASSERT_TRUE(parse_rule_line(v[0].text, again, comment));
  EXPECT_TRUE(again.noalert);
}
