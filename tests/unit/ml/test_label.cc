// spectre-ml label: the lab's episode matching rule (lab/score.py assign) on
// hand-made cases, one or more per rule, and labels.csv / rows parsing.
// tests/e2e/test_spectre_ml_label.py compares the CLI with score.py itself.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ml/label.h"

using namespace spectre::ml;

namespace {

const char* kHeader = "episode_id,class,mitre_technique,attacker_ip,victim_ip,proto,victim_port,start_ts,end_ts\n";

LabelSet labels(const std::string& body) {
  LabelSet ls;
  std::string err;
  EXPECT_TRUE(parse_labels(kHeader + body, "labels.csv", ls, err)) << err;
  return ls;
}

FlowView flow(const std::string& src, int64_t sport, const std::string& dst, int64_t dport,
              const std::string& proto, double start, double end) {
  FlowView f;
  parse_ip(src, f.src);
  parse_ip(dst, f.dst);
  f.sport = sport;
  f.dport = dport;
  f.proto = norm_proto(proto);
  f.start = start;
  f.end = end;
  return f;
}

// Class of the first matched episode, or "benign".
std::string cls(const LabelSet& ls, const FlowView& f, double slack = 1.0) {
  const auto e = match_episodes(ls, f, slack);
  return e.empty() ? "benign" : ls.episodes[e[0]].cls;
}

std::vector<std::string> ids(const LabelSet& ls, const FlowView& f, double slack = 1.0) {
  std::vector<std::string> out;
  for (size_t e : match_episodes(ls, f, slack)) out.push_back(ls.episodes[e].id);
  return out;
}

}  // namespace

TEST(LabelMatch, ExactPairEitherDirection) {
  const LabelSet ls = labels("1,web_sqli,T1190,10.0.0.9,10.0.0.2,tcp,80,100,200\n");
  EXPECT_EQ(cls(ls, flow("10.0.0.9", 40000, "10.0.0.2", 80, "6", 150, 151)), "web_sqli");
  // Victim-initiated: the victim's side port is sport; dst_port also accepted.
  EXPECT_EQ(cls(ls, flow("10.0.0.2", 80, "10.0.0.9", 40000, "6", 150, 151)), "web_sqli");
  EXPECT_EQ(cls(ls, flow("10.0.0.2", 5555, "10.0.0.9", 80, "6", 150, 151)), "web_sqli");
  EXPECT_EQ(cls(ls, flow("10.0.0.9", 40000, "10.0.0.3", 80, "6", 150, 151)), "benign");  // other victim
  EXPECT_EQ(cls(ls, flow("10.0.0.8", 40000, "10.0.0.2", 80, "6", 150, 151)), "benign");  // other attacker
  EXPECT_EQ(cls(ls, flow("10.0.0.9", 80, "10.0.0.2", 443, "6", 150, 151)), "benign");     // attacker's port 80 only
  EXPECT_EQ(cls(ls, flow("10.0.0.9", 40000, "10.0.0.2", 81, "6", 150, 151)), "benign");   // wrong port
  EXPECT_EQ(cls(ls, flow("10.0.0.9", 40000, "10.0.0.2", 80, "17", 150, 151)), "benign");  // wrong proto
  EXPECT_EQ(cls(ls, flow("not-an-ip", 40000, "10.0.0.2", 80, "6", 150, 151)), "benign");
}

TEST(LabelMatch, CidrAttackerAndVictim) {
  const LabelSet ls = labels(
      "1,scan_syn,T1046,198.18.10.0/24,,tcp,,100,200\n"
      "2,exfiltration,T1048,2001:db8::/32,2001:db8:1::7,,,100,200\n"
      "3,c2_beacon,T1071.001,10.1.0.5,10.2.0.0/16,,443,100,200\n"
      "4,dns_tunnel,T1071.004,10.9.9.77/8,,udp,,100,200\n");  // host bits ignored: 10.0.0.0/8
  EXPECT_EQ(cls(ls, flow("198.18.10.200", 1, "8.8.8.8", 22, "tcp", 150, 150)), "scan_syn");
  EXPECT_EQ(cls(ls, flow("198.18.11.1", 1, "8.8.8.8", 22, "tcp", 150, 150)), "benign");
  EXPECT_EQ(cls(ls, flow("2001:db8:ffff::1", 1, "2001:db8:1::7", 22, "tcp", 150, 150)), "exfiltration");
  EXPECT_EQ(cls(ls, flow("2001:db8:1:0:0:0:0:7", 1, "2001:db8:5::1", 22, "tcp", 150, 150)), "exfiltration");
  EXPECT_EQ(cls(ls, flow("2001:db9::1", 1, "2001:db8:1::7", 22, "tcp", 150, 150)), "benign");
  EXPECT_EQ(cls(ls, flow("10.2.200.1", 50000, "10.1.0.5", 443, "tcp", 150, 150)), "c2_beacon");
  EXPECT_EQ(cls(ls, flow("10.3.0.1", 50000, "10.1.0.5", 443, "tcp", 150, 150)), "benign");
  EXPECT_EQ(cls(ls, flow("10.200.1.1", 5, "1.1.1.1", 53, "udp", 150, 150)), "dns_tunnel");
  // IPv4 network never holds an IPv6 address (nor the reverse).
  EXPECT_EQ(cls(ls, flow("::ffff:198.18.10.1", 1, "8.8.8.8", 22, "tcp", 150, 150)), "benign");
}

TEST(LabelMatch, EmptyVictimProtoPortMeanAny) {
  const LabelSet ls = labels("1,scan_udp,T1046,10.0.0.9,,,,100,200\n");
  EXPECT_EQ(cls(ls, flow("10.0.0.9", 1, "1.2.3.4", 9, "udp", 150, 150)), "scan_udp");
  EXPECT_EQ(cls(ls, flow("5.6.7.8", 1, "10.0.0.9", 9, "47", 150, 150)), "scan_udp");
  EXPECT_EQ(cls(ls, flow("10.0.0.9", -1, "1.2.3.4", -1, "", 150, 150)), "scan_udp");
}

TEST(LabelMatch, ProtoByNameOrNumber) {
  for (const char* p : {"tcp", "TCP", "6", " Tcp "}) {
    const LabelSet ls = labels(std::string("1,scan_syn,T1046,10.0.0.9,10.0.0.2,") + p + ",,100,200\n");
    EXPECT_EQ(cls(ls, flow("10.0.0.9", 1, "10.0.0.2", 22, "6", 150, 150)), "scan_syn") << p;
    EXPECT_EQ(cls(ls, flow("10.0.0.9", 1, "10.0.0.2", 22, "TCP", 150, 150)), "scan_syn") << p;
    EXPECT_EQ(cls(ls, flow("10.0.0.9", 1, "10.0.0.2", 22, "17", 150, 150)), "benign") << p;
  }
  EXPECT_EQ(norm_proto("17"), "UDP");
  EXPECT_EQ(norm_proto("58"), "IPV6-ICMP");
  EXPECT_EQ(norm_proto("132"), "SCTP");
  EXPECT_EQ(norm_proto("47"), "47");
  EXPECT_EQ(norm_proto("06"), "06");  // as score.py: only the exact numbers are named
}

TEST(LabelMatch, IcmpBetweenThePairMatchesAnyProtoAndPort) {
  const LabelSet ls = labels("1,scan_udp,T1046,10.0.0.9,10.0.0.2,udp,53,100,200\n"
                             "2,scan_syn,T1046,fd00::9,fd00::2,tcp,22,100,200\n");
  EXPECT_EQ(cls(ls, flow("10.0.0.2", 0, "10.0.0.9", 0, "1", 150, 150)), "scan_udp");  // port unreachable back
  EXPECT_EQ(cls(ls, flow("10.0.0.9", -1, "10.0.0.2", -1, "icmp", 150, 150)), "scan_udp");
  EXPECT_EQ(cls(ls, flow("10.0.0.3", 0, "10.0.0.9", 0, "1", 150, 150)), "benign");  // not the pair
  EXPECT_EQ(cls(ls, flow("10.0.0.2", 0, "10.0.0.9", 0, "1", 300, 300)), "benign");  // outside the window
  EXPECT_EQ(cls(ls, flow("fd00::2", 0, "fd00::9", 0, "58", 150, 150)), "scan_syn");
  EXPECT_EQ(cls(ls, flow("fd00::2", 0, "fd00::9", 0, "icmpv6", 150, 150)), "scan_syn");
}

TEST(LabelMatch, SlackEdges) {
  const LabelSet ls = labels("1,dos_synflood,T1498.001,10.0.0.9,10.0.0.2,tcp,80,100.5,200.25\n");
  auto at = [&](double s, double e, double slack) { return cls(ls, flow("10.0.0.9", 1, "10.0.0.2", 80, "6", s, e), slack); };
  EXPECT_EQ(at(90, 99.5, 1.0), "dos_synflood");     // end == start_ts - slack
  EXPECT_EQ(at(90, 99.49, 1.0), "benign");
  EXPECT_EQ(at(201.25, 300, 1.0), "dos_synflood");  // start == end_ts + slack
  EXPECT_EQ(at(201.26, 300, 1.0), "benign");
  EXPECT_EQ(at(90, 100.5, 0.0), "dos_synflood");
  EXPECT_EQ(at(90, 100.49, 0.0), "benign");
  EXPECT_EQ(at(50, 400, 0.0), "dos_synflood");  // flow spans the whole episode
  EXPECT_EQ(at(150, 150, 0.0), "dos_synflood");
}

TEST(LabelMatch, MostSpecificEpisodesWin) {
  // 1: attacker only (0 points); 2: victim+proto (2); 3: victim+proto+port (3);
  // 4 and 5: victim+proto+port too, later start; 6: same start as 5, smaller id.
  const LabelSet ls = labels(
      "1,scan_masscan,T1046,10.0.0.9,,,,100,200\n"
      "2,bruteforce_ssh,T1110.001,10.0.0.9,10.0.0.2,tcp,,100,200\n"
      "3,web_sqli,T1190,10.0.0.9,10.0.0.2,tcp,80,120,200\n"
      "4,web_xss,T1190,10.0.0.9,10.0.0.2,tcp,80,110,200\n"
      "5,web_cmdinj,T1190,10.0.0.9,10.0.0.3,tcp,80,130,200\n"
      "06,web_traversal,T1190,10.0.0.9,10.0.0.3,tcp,80,130,200\n");
  const FlowView a = flow("10.0.0.9", 1, "10.0.0.2", 80, "tcp", 150, 150);
  EXPECT_EQ(ids(ls, a), (std::vector<std::string>{"4", "3"}));  // earliest start first
  EXPECT_EQ(cls(ls, a), "web_xss");
  EXPECT_EQ(ids(ls, flow("10.0.0.9", 1, "10.0.0.2", 22, "tcp", 150, 150)), std::vector<std::string>{"2"});
  EXPECT_EQ(ids(ls, flow("10.0.0.9", 1, "10.0.0.4", 22, "tcp", 150, 150)), std::vector<std::string>{"1"});
  // Same start: id order ("06" < "5" as strings, like score.py's sort).
  EXPECT_EQ(ids(ls, flow("10.0.0.9", 1, "10.0.0.3", 80, "tcp", 150, 150)), (std::vector<std::string>{"06", "5"}));
  // After every window (end_ts + slack = 201): nothing.
  EXPECT_EQ(ids(ls, flow("10.0.0.9", 1, "10.0.0.2", 80, "tcp", 201.5, 202)), std::vector<std::string>{});
  const LabelSet ls2 = labels("1,web_xss,T1190,10.0.0.9,10.0.0.2,tcp,80,300,400\n"
                              "2,scan_masscan,T1046,10.0.0.9,,,,100,200\n");
  // The specific episode does not overlap: the generic one keeps the flow.
  EXPECT_EQ(cls(ls2, flow("10.0.0.9", 1, "10.0.0.2", 80, "tcp", 150, 150)), "scan_masscan");
}

TEST(LabelMatch, EpisodeWithSeveralRows) {
  // One episode, one row per victim: its start is the earliest row's.
  const LabelSet ls = labels("7,scan_connect,T1046,10.0.0.9,10.0.0.2,tcp,,150,160\n"
                             "8,scan_syn,T1046,10.0.0.9,10.0.0.2,tcp,,120,160\n"
                             "7,scan_connect,T1046,10.0.0.9,10.0.0.5,tcp,,100,110\n");
  ASSERT_EQ(ls.episodes.size(), 2u);
  EXPECT_EQ(ls.episodes[0].start, 100);
  EXPECT_EQ(ls.episodes[0].end, 160);
  EXPECT_EQ(cls(ls, flow("10.0.0.9", 1, "10.0.0.2", 22, "tcp", 155, 155)), "scan_connect");
  EXPECT_EQ(cls(ls, flow("10.0.0.9", 1, "10.0.0.5", 22, "tcp", 105, 105)), "scan_connect");
  EXPECT_EQ(cls(ls, flow("10.0.0.9", 1, "10.0.0.5", 22, "tcp", 155, 155)), "benign");
}

TEST(LabelParse, TimesAndErrors) {
  const LabelSet ls = labels("1,web_xss,T1190,10.0.0.9,,,,2024-01-01T00:00:00.5+0000,2024-01-01T00:01:00Z\n"
                             "2,web_xss,T1190,10.0.0.9,,,,2024-01-01T01:00:00+01:00,1704067260.25\n"
                             "3,web_xss,T1190,10.0.0.9,,,80.0,1704067200,1704067201\n");
  EXPECT_EQ(ls.rules[0].start, 1704067200.5);
  EXPECT_EQ(ls.rules[0].end, 1704067260.0);
  EXPECT_EQ(ls.rules[1].start, 1704067200.0);
  EXPECT_EQ(ls.rules[2].port, 80);
  struct Case { std::string text, expect; } bad[] = {
      {"episode_id,class\n1,x\n", "lacks column(s) mitre_technique"},
      {std::string(kHeader) + "1,benign,T,10.0.0.1,,,,1,2\n", "reserved"},
      {std::string(kHeader) + "1,x,T,,,,,1,2\n", "attacker_ip must not be empty"},
      {std::string(kHeader) + "1,x,T,10.0.0.256,,,,1,2\n", "not an address or CIDR"},
      {std::string(kHeader) + "1,x,T,10.0.0.1,10.0.0.0/33,,,1,2\n", "victim_ip"},
      {std::string(kHeader) + "1,x,T,10.0.0.1,,,http,1,2\n", "victim_port"},
      {std::string(kHeader) + "1,x,T,10.0.0.1,,,,2,1\n", "end_ts is before start_ts"},
      {std::string(kHeader) + "1,x,T,10.0.0.1,,,,yesterday,1\n", "start_ts"},
      {std::string(kHeader) + "1,x,T,10.0.0.1,,,,1,2\n1,y,T,10.0.0.1,,,,1,2\n", "has class 'y' here"},
      {std::string(kHeader) + "1,x,T,10.0.0.1,,,,1,2,extra\n", "more fields"},
      {std::string(kHeader) + ",x,T,10.0.0.1,,,,1,2\n", "must not be empty"},
      {"", "empty labels file"},
  };
  for (const auto& c : bad) {
    LabelSet l;
    std::string err;
    EXPECT_FALSE(parse_labels(c.text, "l.csv", l, err)) << c.text;
    EXPECT_NE(err.find(c.expect), std::string::npos) << "got: " << err << "\nwant: " << c.expect;
  }
  // Extra columns, a BOM, quoted fields, blank lines, CRLF are fine.
  LabelSet l;
  std::string err;
  ASSERT_TRUE(parse_labels("\xEF\xBB\xBFnote,episode_id,class,mitre_technique,attacker_ip,victim_ip,proto,victim_port,"
                           "start_ts,end_ts\r\n\r\n\"a, b\",1,\"web_xss\",T1190,10.0.0.9,,,,1,2\r\n,,,,,,,,,\n",
                           "l.csv", l, err)) << err;
  ASSERT_EQ(l.rules.size(), 1u);
  EXPECT_EQ(l.episodes[0].cls, "web_xss");
}

TEST(LabelRows, AppendsLabelAndEpisode) {
  const LabelSet ls = labels("e1,scan_syn,T1046,10.0.0.9,,tcp,,100,200\n");
  const std::string rows =
      "flow_id,phase,ts_start,ts,src_ip,src_port,dst_ip,dst_port,proto,duration_s,dst_port,proto\n"
      "1,k4,150.000000,150.100000,10.0.0.9,4000,10.0.0.2,22,6,0.1,22,6\n"
      "2,end,150.000000,150.100000,10.0.0.8,4000,10.0.0.2,22,6,,22,6\r\n"
      "\n"
      "3,end,201.000000,202.000000,10.0.0.2,22,10.0.0.9,4000,6,1,4000,6\n";
  std::string out, err;
  LabelSummary sum;
  ASSERT_TRUE(label_rows(rows, "rows.csv", ls, 1.0, out, sum, err)) << err;
  EXPECT_EQ(out,
            "flow_id,phase,ts_start,ts,src_ip,src_port,dst_ip,dst_port,proto,duration_s,dst_port,proto,label,episode_id\n"
            "1,k4,150.000000,150.100000,10.0.0.9,4000,10.0.0.2,22,6,0.1,22,6,scan_syn,e1\n"
            "2,end,150.000000,150.100000,10.0.0.8,4000,10.0.0.2,22,6,,22,6,benign,\n"
            "3,end,201.000000,202.000000,10.0.0.2,22,10.0.0.9,4000,6,1,4000,6,scan_syn,e1\n");
  EXPECT_EQ(sum.rows, 3u);
  EXPECT_EQ(sum.rows_per_label.at("scan_syn"), 2u);
  EXPECT_EQ(sum.rows_per_label.at("benign"), 1u);
  EXPECT_EQ(sum.rows_per_episode[0], 2u);

  struct Case { std::string text, expect; } bad[] = {
      {"flow_id,ts\n1,2\n", "no 'ts_start' column"},
      {rows.substr(0, rows.find('\n')) + ",label\n", "already has a 'label' column"},
      {"ts_start,ts,src_ip,src_port,dst_ip,dst_port,proto\n1,2,a,1,b,2,6,9\n", "8 cells, header has 7"},
      {"ts_start,ts,src_ip,src_port,dst_ip,dst_port,proto\nx,2,a,1,b,2,6\n", "ts_start 'x' is not a time"},
      {"ts_start,ts,src_ip,src_port,dst_ip,dst_port,proto\n1,2,a,70000,b,2,6\n", "not a port"},
      {"", "empty CSV"},
  };
  for (const auto& c : bad) {
    EXPECT_FALSE(label_rows(c.text, "rows.csv", ls, 1.0, out, sum, err)) << c.text;
    EXPECT_NE(err.find(c.expect), std::string::npos) << "got: " << err << "\nwant: " << c.expect;
  }
}

TEST(LabelIp, ParseAndContain) {
  IpNet n;
  IpAddr a;
  ASSERT_TRUE(parse_net("192.168.1.77/20", n));
  EXPECT_TRUE(n.is_net);
  EXPECT_EQ(n.prefix, 20);
  ASSERT_TRUE(parse_ip("192.168.15.255", a));
  EXPECT_TRUE(n.contains(a));
  ASSERT_TRUE(parse_ip("192.168.16.0", a));
  EXPECT_FALSE(n.contains(a));
  ASSERT_TRUE(parse_net("0.0.0.0/0", n));
  EXPECT_TRUE(n.contains(a));
  ASSERT_TRUE(parse_net("::/0", n));
  EXPECT_FALSE(n.contains(a));
  EXPECT_FALSE(parse_net("1.2.3.4/", n));
  EXPECT_FALSE(parse_net("1.2.3.4/-1", n));
  EXPECT_FALSE(parse_net("::1/129", n));
  EXPECT_FALSE(parse_ip("1.2.3", a));
  EXPECT_EQ(a.family, 0);
}
