// dataset / datarep / filemd5 & co: option parsing (the documented forms of
// Suricata's datasets and file-keywords pages, bad forms refused with a
// message), the set file loaders, lookups, and the loader's resolution of
// set files relative to the rule file.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "dataplane/rules/dataset.h"
#include "dataplane/rules/loader.h"
#include "tests/unit/rules/rules_test_util.h"

namespace fs = std::filesystem;
using namespace spectre::rules;
using spectre::rules::test::opts;

namespace {

using Cmd = DatasetUse::Cmd;

const DatasetUse& use(const test::Parsed& p, size_t i = 0) { return p.rule.datasets.at(i); }

TEST(RulesDataset, DocumentedDatasetForms) {
  auto a = opts("http.user_agent; dataset:isset,ua-seen,type string,load ua-seen.lst;", "http");
  EXPECT_PARSE_OK(a);
  ASSERT_EQ(a.rule.items.size(), 1u);
  EXPECT_EQ(a.rule.items[0].kind, MatchItem::Kind::kDataset);
  EXPECT_EQ(a.rule.items[0].buf, kHttpUserAgent);
  EXPECT_EQ(a.rule.items[0].ds, 1);
  EXPECT_EQ(use(a).cmd, Cmd::kIsSet);
  EXPECT_EQ(use(a).name, "ua-seen");
  EXPECT_TRUE(use(a).has_type);
  EXPECT_EQ(use(a).type, SetType::kString);
  EXPECT_EQ(use(a).load, "ua-seen.lst");
  // The page's examples: set with state, memcap and hashsize; unset; isnotset
  // without a type (a set named by another rule or the config).
  auto b = opts("http.user_agent; dataset:set,http-ua-seen, type string, state http-ua-seen.csv, memcap 10mb, "
                "hashsize 1024;", "http");
  EXPECT_PARSE_OK(b);
  EXPECT_EQ(use(b).cmd, Cmd::kSet);
  EXPECT_TRUE(use(b).state);
  EXPECT_EQ(use(b).load, "http-ua-seen.csv");
  EXPECT_EQ(use(b).save, "http-ua-seen.csv");
  EXPECT_EQ(use(b).memcap, 10ull << 20);
  EXPECT_EQ(use(b).hashsize, 1024u);
  auto c = opts("dns.query; dataset:unset,dns-bl, type string, save dns-bl.lst;", "dns");
  EXPECT_PARSE_OK(c);
  EXPECT_EQ(use(c).cmd, Cmd::kUnset);
  EXPECT_EQ(use(c).save, "dns-bl.lst");
  EXPECT_TRUE(use(c).load.empty());
  auto d = opts("dns.query; dataset:isnotset,dns-bl;", "dns");
  EXPECT_PARSE_OK(d);
  EXPECT_EQ(use(d).cmd, Cmd::kIsNotSet);
  EXPECT_FALSE(use(d).has_type);
  for (const char* t : {"md5", "sha256", "ipv4", "ip"})
    EXPECT_PARSE_OK(opts(std::string("tls.sni; dataset:isset,s,type ") + t + ";", "tls")) << t;
  // Transform-aware: the item follows the buffer's transform chain.
  auto x = opts("http.user_agent; to_lowercase; dataset:isset,ua,type string;", "http");
  EXPECT_PARSE_OK(x);
  EXPECT_EQ(x.rule.items.at(0).xform, 1);
  auto csv = opts("http.host; dataset:isset,h,type string,load h.lst,format csv;", "http");
  EXPECT_PARSE_OK(csv);
}

TEST(RulesDataset, DocumentedDatarepForms) {
  auto a = opts("dns.query; datarep:dns_md5, >, 200, load dns_md5.rep, type md5, memcap 100mb, hashsize 2048;", "dns");
  EXPECT_PARSE_OK(a);
  EXPECT_EQ(use(a).cmd, Cmd::kRep);
  EXPECT_EQ(use(a).op, DatasetUse::Op::kGt);
  EXPECT_EQ(use(a).value, 200u);
  EXPECT_EQ(use(a).type, SetType::kMd5);
  EXPECT_EQ(use(a).format, SetFormat::kDatarep);
  EXPECT_EQ(use(a).load, "dns_md5.rep");
  const std::pair<const char*, DatasetUse::Op> ops[] = {
      {"<", DatasetUse::Op::kLt}, {">=", DatasetUse::Op::kGe}, {"<=", DatasetUse::Op::kLe}, {"==", DatasetUse::Op::kEq}};
  for (auto [s, op] : ops) {
    auto p = opts(std::string("dns.query; datarep:dns_string, ") + s + ", 65535, load x.rep, type string;", "dns");
    EXPECT_PARSE_OK(p);
    EXPECT_EQ(use(p).op, op) << s;
  }
}

TEST(RulesDataset, FileHashKeywords) {
  auto a = opts("filemd5:md5-blacklist;", "http");
  EXPECT_PARSE_OK(a);
  EXPECT_EQ(a.rule.items.at(0).buf, kFileMd5);
  EXPECT_EQ(use(a).cmd, Cmd::kIsSet);
  EXPECT_EQ(use(a).type, SetType::kMd5);
  EXPECT_EQ(use(a).format, SetFormat::kHashList);
  EXPECT_EQ(use(a).load, "md5-blacklist");
  auto b = opts("filemd5:!md5-whitelist;", "http");
  EXPECT_PARSE_OK(b);
  EXPECT_EQ(use(b).cmd, Cmd::kIsNotSet);
  auto c = opts("filesha1:\"sha1.lst\"; filesha256:!sha256.lst;", "smtp");
  EXPECT_PARSE_OK(c);
  EXPECT_EQ(c.rule.items.at(0).buf, kFileSha1);
  EXPECT_EQ(use(c, 0).load, "sha1.lst");
  EXPECT_EQ(c.rule.items.at(1).buf, kFileSha256);
  EXPECT_EQ(use(c, 1).cmd, Cmd::kIsNotSet);
  // With other file keywords and a sticky buffer before: the sticky buffer is kept.
  auto d = opts("http.uri; content:\"/x\"; filemd5:l; content:\"y\";", "http");
  EXPECT_PARSE_OK(d);
  EXPECT_EQ(d.rule.items.at(2).buf, kHttpUri);
}

TEST(RulesDataset, BadFormsRefusedWithAMessage) {
  EXPECT_SYNTAX_ERROR(opts("dataset:isset,x,type string;", "http"), "sticky buffer");
  EXPECT_SYNTAX_ERROR(opts("content:\"a\"; datarep:x,>,1;"), "sticky buffer");
  EXPECT_SYNTAX_ERROR(opts("http.uri; dataset:check,x;", "http"), "action 'check'");
  EXPECT_SYNTAX_ERROR(opts("http.uri; dataset:isset;", "http"), "<action>,<name>");
  EXPECT_SYNTAX_ERROR(opts("http.uri; dataset:isset,x,type sha1;", "http"), "bad type 'sha1'");
  EXPECT_SYNTAX_ERROR(opts("http.uri; dataset:isset,x,type string,state a,load b;", "http"), "'state' can not be mixed");
  EXPECT_SYNTAX_ERROR(opts("http.uri; dataset:isset,x,type string,load a,load b;", "http"), "only appear once");
  EXPECT_SYNTAX_ERROR(opts("http.uri; dataset:isset,x,type string,colour red;", "http"), "bad option 'colour red'");
  EXPECT_SYNTAX_ERROR(opts("http.uri; dataset:isset,x,type;", "http"), "needs a value");
  EXPECT_SYNTAX_ERROR(opts("http.uri; dataset:isset,x,type string,memcap lots;", "http"), "bad option");
  EXPECT_SYNTAX_ERROR(opts("http.uri; dataset:isset;", "http"), "<action>,<name>");
  EXPECT_SYNTAX_ERROR(opts("http.uri; dataset;", "http"), "needs a value");
  EXPECT_SYNTAX_ERROR(opts("http.uri; datarep:x,!=,5,type string;", "http"), "bad operator");
  EXPECT_SYNTAX_ERROR(opts("http.uri; datarep:x,>,70000,type string;", "http"), "0..65535");
  EXPECT_SYNTAX_ERROR(opts("http.uri; datarep:x,>;", "http"), "<name>,<operator>,<value>");
  EXPECT_SYNTAX_ERROR(opts("http.uri; datarep:x,>,1,state s;", "http"), "bad option");
  EXPECT_SYNTAX_ERROR(opts("filemd5:;", "http"), "needs a file name");
  EXPECT_SYNTAX_ERROR(opts("filesha256:!;", "http"), "needs a file name");
  EXPECT_UNSUPPORTED(opts("http.host; dataset:isset,bad,type string,load b.json,format json,value_key host;", "http"),
                     "JSON");
  // A sticky buffer with nothing but a set lookup is complete.
  EXPECT_PARSE_OK(opts("http.uri; dataset:isset,x,type string; http.host; content:\"a\";", "http"));
}

// ---- file formats and lookups ------------------------------------------------

std::string b64(const std::string& s) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string o;
  size_t i = 0;
  for (; i + 2 < s.size(); i += 3) {
    uint32_t v = uint8_t(s[i]) << 16 | uint8_t(s[i + 1]) << 8 | uint8_t(s[i + 2]);
    for (int j = 3; j >= 0; j--) o += k[(v >> (6 * j)) & 63];
  }
  if (s.size() - i == 1) {
    uint32_t v = uint8_t(s[i]) << 16;
    o += k[v >> 18], o += k[(v >> 12) & 63], o += "==";
  } else if (s.size() - i == 2) {
    uint32_t v = uint8_t(s[i]) << 16 | uint8_t(s[i + 1]) << 8;
    o += k[v >> 18], o += k[(v >> 12) & 63], o += k[(v >> 6) & 63], o += '=';
  }
  return o;
}

bool has(const DataSet& s, const std::string& v, uint32_t* rep = nullptr) {
  return s.find(reinterpret_cast<const uint8_t*>(v.data()), uint32_t(v.size()), rep);
}

TEST(RulesDatasetFile, StringSetIsBase64PerLine) {
  DataSet s("ua", SetType::kString, false);
  SetLoadStats st;
  // The page's example: Mozilla/4.0 (compatible; ) as base64; a comment, blank
  // and CRLF lines; a value without padding.
  parse_set_text("TW96aWxsYS80LjAgKGNvbXBhdGlibGU7ICk=\n# comment\n\r\n" + b64("curl/8.0") + "\r\nYWI\n", SetFormat::kDataset,
                 s, st);
  EXPECT_EQ(st.bad, 0u) << st.first_bad;
  EXPECT_EQ(st.values, 3u);
  EXPECT_EQ(st.skipped, 2u);
  EXPECT_TRUE(has(s, "Mozilla/4.0 (compatible; )"));
  EXPECT_TRUE(has(s, "curl/8.0"));
  EXPECT_TRUE(has(s, "ab"));
  EXPECT_FALSE(has(s, "curl/8.0 "));  // near misses
  EXPECT_FALSE(has(s, "Curl/8.0"));
  EXPECT_FALSE(has(s, "curl/8."));
}

TEST(RulesDatasetFile, MalformedLinesCountedWithTheFirstLine) {
  DataSet s("x", SetType::kString, false);
  SetLoadStats st;
  parse_set_text(b64("ok") + "\nnot base64!\n" + b64("ok2") + "\nYQ=x\nA\n", SetFormat::kDataset, s, st);
  EXPECT_EQ(st.values, 2u);
  EXPECT_EQ(st.bad, 3u);
  EXPECT_EQ(st.first_bad_line, 2u);
  EXPECT_NE(st.first_bad.find("base64"), std::string::npos);
  DataSet m("m", SetType::kMd5, false);
  SetLoadStats sm;
  parse_set_text("2f8d0355f0032c3e6311c6408d7c2dc2\n2f8d0355f0032c3e6311c6408d7c2dc\nzz8d0355f0032c3e6311c6408d7c2dc2\n",
                 SetFormat::kDataset, m, sm);
  EXPECT_EQ(sm.values, 1u);
  EXPECT_EQ(sm.bad, 2u);
  EXPECT_NE(sm.first_bad.find("32 hex digits"), std::string::npos);
  DataSet e("e", SetType::kString, false);
  SetLoadStats se;
  parse_set_text("", SetFormat::kDataset, e, se);
  EXPECT_EQ(se.values + se.bad + se.lines, 0u);
  EXPECT_EQ(e.size(), 0u);
  EXPECT_FALSE(has(e, "a"));
}

TEST(RulesDatasetFile, HashAndAddressTypes) {
  DataSet m("m", SetType::kMd5, false);
  SetLoadStats st;
  // md5sum output (the file-keywords page) and bare hashes, either case.
  parse_set_text("2f8d0355f0032c3e6311c6408d7c2dc2  util-path.c\nB9CF5CF347A70E02FDE975FC4E117760\n",
                 SetFormat::kHashList, m, st);
  EXPECT_EQ(st.bad, 0u) << st.first_bad;
  std::string k;
  std::string why;
  ASSERT_TRUE(parse_set_value(SetType::kMd5, "b9cf5cf347a70e02fde975fc4e117760", k, why));
  EXPECT_TRUE(has(m, k));
  ASSERT_TRUE(parse_set_value(SetType::kMd5, "b9cf5cf347a70e02fde975fc4e117761", k, why));
  EXPECT_FALSE(has(m, k));
  EXPECT_FALSE(parse_set_value(SetType::kSha256, std::string(63, 'a'), k, why));
  EXPECT_TRUE(parse_set_value(SetType::kSha256, std::string(64, 'a'), k, why));
  EXPECT_EQ(k.size(), 32u);
  EXPECT_TRUE(parse_set_value(SetType::kSha1, std::string(40, 'F'), k, why));
  EXPECT_EQ(k.size(), 20u);
  // ipv4 and ip (IPv4 stored mapped, IPv6 as is).
  DataSet ip("ip", SetType::kIp, false);
  SetLoadStats si;
  parse_set_text("192.0.2.1\n2001:db8::1\n::ffff:198.51.100.7\n10.0.0.300\n", SetFormat::kDataset, ip, si);
  EXPECT_EQ(si.values, 3u);
  EXPECT_EQ(si.bad, 1u);
  const uint8_t v4[4] = {192, 0, 2, 1}, v4b[4] = {198, 51, 100, 7}, v4c[4] = {192, 0, 2, 2};
  uint8_t tmp[16];
  const uint8_t* kp;
  uint32_t kn;
  ASSERT_TRUE(key_for(SetType::kIp, v4, 4, tmp, kp, kn));
  EXPECT_TRUE(ip.find(kp, kn));
  ASSERT_TRUE(key_for(SetType::kIp, v4b, 4, tmp, kp, kn));
  EXPECT_TRUE(ip.find(kp, kn));
  ASSERT_TRUE(key_for(SetType::kIp, v4c, 4, tmp, kp, kn));
  EXPECT_FALSE(ip.find(kp, kn));
  EXPECT_FALSE(key_for(SetType::kIpv4, tmp, 16, tmp, kp, kn));  // wrong size: no lookup
  EXPECT_FALSE(key_for(SetType::kString, tmp, 0, tmp, kp, kn));  // empty: no lookup
  DataSet v("v4", SetType::kIpv4, false);
  SetLoadStats sv;
  parse_set_text("192.0.2.1\n2001:db8::1\n", SetFormat::kDataset, v, sv);
  EXPECT_EQ(sv.values, 1u);
  EXPECT_EQ(sv.bad, 1u);  // ipv4 sets take no IPv6
  EXPECT_TRUE(v.find(v4, 4));
}

TEST(RulesDatasetFile, DatarepValueCommaReputation) {
  DataSet r("rep", SetType::kString, true);
  SetLoadStats st;
  parse_set_text(b64("bad.example") + ",200\n" + b64("ok.example") + ", 0\n" + b64("x") + "\n" + b64("y") +
                     ",65536\n" + b64("z") + ",-1\n" + b64("bad.example") + ",201\n",
                 SetFormat::kDatarep, r, st);
  EXPECT_EQ(st.values, 3u);
  EXPECT_EQ(st.bad, 3u);
  EXPECT_EQ(st.first_bad_line, 3u);
  EXPECT_EQ(r.duplicates(), 1u);
  uint32_t rep = 0;
  EXPECT_TRUE(has(r, "bad.example", &rep));
  EXPECT_EQ(rep, 201u);  // the later line wins
  EXPECT_TRUE(has(r, "ok.example", &rep));
  EXPECT_EQ(rep, 0u);
}

TEST(RulesDatasetFile, ManyValuesAllFoundNoneInvented) {
  DataSet s("big", SetType::kString, false);
  std::mt19937 rng(7);
  std::set<std::string> in;
  for (int i = 0; i < 20000; i++) {
    std::string v(1 + rng() % 40, ' ');
    for (auto& ch : v) ch = char(rng());
    in.insert(v);
    ASSERT_TRUE(s.insert(reinterpret_cast<const uint8_t*>(v.data()), uint32_t(v.size())));
  }
  EXPECT_EQ(s.size(), in.size());
  for (const auto& v : in) ASSERT_TRUE(has(s, v));
  int wrong = 0;
  for (int i = 0; i < 20000; i++) {
    std::string v(1 + rng() % 40, ' ');
    for (auto& ch : v) ch = char(rng());
    wrong += has(s, v) != (in.count(v) != 0);
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_LE(s.memory(), 20000u * (40 + 2 * 24) + 65536 * 24);  // load <= 1/2: two slots a value at most (+ rounding)
  DataSet f("fixed", SetType::kMd5, false);
  EXPECT_FALSE(f.insert(reinterpret_cast<const uint8_t*>("short"), 5));  // wrong size for the type
}

// Every set file parser and the option parser on random input: no crash,
// every line accounted for, parsed values found again.
TEST(RulesDatasetFile, FuzzParsers) {
  std::mt19937 rng(12);
  const char alphabet[] = "AZaz09+/=,# \t\r\n.:fF!x";
  const SetType types[] = {SetType::kString, SetType::kMd5, SetType::kSha1, SetType::kSha256, SetType::kIpv4,
                           SetType::kIp};
  const SetFormat fmts[] = {SetFormat::kDataset, SetFormat::kDatarep, SetFormat::kHashList};
  for (int i = 0; i < 100000; i++) {
    std::string t(rng() % 48, ' ');
    for (auto& ch : t) ch = rng() % 4 ? alphabet[rng() % (sizeof alphabet - 1)] : char(rng());
    DataSet s("f", types[i % 6], false);
    SetLoadStats st;
    parse_set_text(t, fmts[(i / 6) % 3], s, st);
    ASSERT_EQ(st.values + st.bad + st.skipped, st.lines) << t;
    ASSERT_LE(s.size(), st.values);
  }
  const char* parts[] = {"isset", "set", "unset", "isnotset", "x", ",", " ", "type", "string", "md5", "load",
                         "state", "save", "memcap", "10mb", "hashsize", "1", ">", "==", "format", "json", "!"};
  for (int i = 0; i < 20000; i++) {
    std::string v;
    for (int k = rng() % 10; k > 0; k--) v += parts[rng() % (sizeof parts / sizeof *parts)];
    auto kw = i % 3 == 0 ? "dataset:" : i % 3 == 1 ? "datarep:" : "filesha256:";
    auto p = opts(std::string("http.uri; ") + kw + v + ";", "http");
    if (!p.ok) ASSERT_FALSE(p.err.empty()) << v;
    else ASSERT_EQ(p.rule.datasets.size(), 1u) << v;
  }
}

// ---- the loader: files relative to the rule file ----------------------------

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("spectre-sets-" + std::to_string(getpid()) + "-" +
                                     std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(p / "data");
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(p, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(p / name) << text;
    return (p / name).string();
  }
};

bool any_message(const LoadReport& rep, const std::string& a, const std::string& b = "") {
  for (const auto& m : rep.messages)
    if (m.find(a) != std::string::npos && m.find(b) != std::string::npos) return true;
  return false;
}

TEST(RulesDatasetLoad, RelativeToTheRuleFileAndRefusals) {
  TempDir t;
  t.write("ua.lst", b64("EvilBot") + "\n");
  t.write("bad.lst", b64("a") + "\n\n!!\n");
  t.write("md5.lst", "2f8d0355f0032c3e6311c6408d7c2dc2  a.exe\n");
  const std::string hdr = "alert http any any -> any any (msg:\"m\"; ";
  const std::string rules =
      hdr + "http.user_agent; dataset:isset,ua,type string,load ua.lst; sid:1;)\n" +
      hdr + "http.user_agent; dataset:isnotset,ua; sid:2;)\n" +                            // named before: ok
      hdr + "http.user_agent; dataset:isset,nope,type string,load missing.lst; sid:3;)\n" +  // refused
      hdr + "http.user_agent; dataset:isset,b,type string,load bad.lst; sid:4;)\n" +         // refused: line 3
      hdr + "http.user_agent; dataset:isset,ua,type md5; sid:5;)\n" +                       // clash: type
      hdr + "http.host; datarep:ua,>,1; sid:6;)\n" +                                        // clash: dataset
      hdr + "http.user_agent; dataset:isset,untyped; sid:7;)\n" +                           // no type
      hdr + "filemd5:md5.lst; sid:8;)\n" + hdr + "filemd5:!md5.lst; sid:9;)\n" +
      hdr + "http.user_agent; dataset:set,seen,type string,state seen.lst; sid:10;)\n" +    // state: empty, warned
      hdr + "http.user_agent; dataset:isset,tiny,type string,load ua.lst,memcap 16; sid:11;)\n";
  LoadOptions o;
  o.files = {t.write("s.rules", rules)};
  o.data_dir = (t.p / "data").string();
  RuleSet rs;
  LoadReport rep;
  std::string err;
  ASSERT_TRUE(load_rules(o, rs, rep, err)) << err;
  std::set<uint32_t> sids;
  for (const auto& r : rs.rules) sids.insert(r.sid);
  EXPECT_EQ(sids, (std::set<uint32_t>{1, 2, 8, 9, 10}));
  EXPECT_EQ(rep.skipped, 6u) << rep.summary();
  EXPECT_TRUE(any_message(rep, "s.rules:3: skipped", "missing.lst: no such file"));
  EXPECT_TRUE(any_message(rep, "s.rules:4: skipped", "bad.lst:3: not base64"));
  EXPECT_TRUE(any_message(rep, "s.rules:5: skipped", "has type string at"));
  EXPECT_TRUE(any_message(rep, "s.rules:6: skipped", "used as a dataset"));
  EXPECT_TRUE(any_message(rep, "s.rules:7: skipped", "'type' is needed"));
  EXPECT_TRUE(any_message(rep, "s.rules:11: skipped", "memcap"));
  EXPECT_TRUE(any_message(rep, "s.rules:10:", "does not exist yet"));
  EXPECT_TRUE(any_message(rep, "warning", "not written at exit"));
  EXPECT_EQ(rep.skip_reasons["dataset: set file unreadable"], 1u);
  EXPECT_EQ(rep.skip_reasons["dataset: set file malformed"], 1u);
  // One set per name: rules 1 and 2 share it; the two filemd5 rules share the list.
  EXPECT_EQ(rs.rules[0].datasets[0].set, rs.rules[1].datasets[0].set);
  EXPECT_EQ(rs.rules[2].datasets[0].set, rs.rules[3].datasets[0].set);
  const DataSet& ua = *rs.datasets.at(size_t(rs.rules[0].datasets[0].set));
  EXPECT_EQ(ua.size(), 1u);
  EXPECT_TRUE(has(ua, "EvilBot"));
  // The state file is read from the data dir when it exists.
  t.write("data/seen.lst", b64("known") + "\n");
  ASSERT_TRUE(load_rules(o, rs, rep, err)) << err;
  bool found = false;
  for (const auto& r : rs.rules)
    if (r.sid == 10) found = has(*rs.datasets.at(size_t(r.datasets[0].set)), "known");
  EXPECT_TRUE(found);
  // --strict: a refused set is fatal like any skip.
  o.strict = true;
  EXPECT_FALSE(load_rules(o, rs, rep, err));
  EXPECT_NE(err.find("strict"), std::string::npos);
}

}  // namespace
