// Behaviour detectors (dataplane/behave/engine.*): each detector on its
// scenario with its evidence and one start alert, episode growth and end,
// window bounds, eviction, routing over two engines = one engine, and the
// near misses that must not alert.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "dataplane/behave/engine.h"
#include "dataplane/behave/stage.h"

namespace spectre::behave {
namespace {

constexpr uint64_t kS = 1000000000ull;
constexpr uint64_t kT0 = 1704067200ull * kS;

struct VecSink final : Sink {
  std::vector<AlertRecord> v;
  AlertRecord slot;
  AlertRecord* claim() override { return &slot; }
  void commit() override { v.push_back(slot); }
  int count(uint8_t det, uint8_t stage) const {
    int n = 0;
    for (const auto& a : v) n += a.behave.detector == det && a.behave.stage == stage;
    return n;
  }
};

void addr(uint8_t* out, const std::string& s) {
  std::memset(out, 0, 16);
  inet_pton(AF_INET, s.c_str(), out);
}
std::string ip(const uint8_t* a) {
  char b[32];
  inet_ntop(AF_INET, a, b, sizeof b);
  return b;
}

// One flow's three summaries.
struct F {
  std::string src, dst;
  uint16_t sport = 40000, dport = 80;
  uint8_t proto = 6;
  uint64_t start = 0, dur = kS / 10;
  uint64_t bytes_out = 500, bytes_in = 800;
  uint16_t flags = kSynStart;  // at start
  bool established = true;     // TCP handshake done (else answered for UDP)
  bool answered = true;
  bool rst = false;            // refused
  bool client_rst = false;     // the client reset it (tcp flags at the end)
  uint64_t partial = 0;        // > 0: a kPartial summary this long after the start
  uint8_t http_req = 1, http_deny = 0;
  uint32_t pkts_out = 5;
};

Summary base(const F& f, Kind k, uint64_t ts, uint64_t id) {
  Summary m{};
  m.kind = k;
  m.ts = ts;
  m.first_ts = f.start;
  m.last_ts = f.start + f.dur;
  m.flow_id = id;
  addr(m.src, f.src);
  addr(m.dst, f.dst);
  m.sport = f.sport;
  m.dport = f.dport;
  m.proto = f.proto;
  m.ip_ver = 4;
  m.bytes[0] = f.bytes_out;
  m.bytes[1] = f.bytes_in;
  m.pkts[0] = f.pkts_out;
  m.pkts[1] = 4;
  m.http_req = f.http_req;
  m.http_deny = f.http_deny;
  m.route = kToSrc | kToDst;
  return m;
}

// The summaries of a flow in time order: start, answer (if any), end.
std::vector<Summary> summaries(const F& f, uint64_t id) {
  std::vector<Summary> out;
  Summary s = base(f, kStart, f.start, id);
  s.flags = f.flags;
  out.push_back(s);
  uint16_t fl = f.flags;
  if (f.rst) {
    fl |= kRstByReceiver;
    Summary a = base(f, kAnswer, f.start + 1000, id);
    a.flags = fl;
    out.push_back(a);
  } else if (f.answered) {
    fl |= kAnswered | (f.proto == 6 && f.established ? kEstablished : 0);
    Summary a = base(f, kAnswer, f.start + 1000, id);
    a.flags = fl;
    out.push_back(a);
  }
  if (f.partial) {
    Summary p = base(f, kPartial, f.start + f.partial, id);
    p.flags = fl;
    out.push_back(p);
  }
  Summary e = base(f, kEnd, f.start + f.dur, id);
  e.flags = fl;
  if (f.client_rst) e.tcp_flags = 0x06;  // SYN, RST
  out.push_back(e);
  return out;
}

// HOME_NET [10.0.0.0/8], parsed as the snapshot parses it.
rules::IpSet home_set(const std::string& text) {
  rules::IpSet s;
  std::string err;
  EXPECT_TRUE(rules::parse_address_set(text, rules::Vars::suricata_defaults(), s, err)) << err;
  return s;
}
const rules::IpSet kHome10 = home_set("[10.0.0.0/8]");

struct Rig {
  explicit Rig(Sizes sz = Sizes{}) : eng(sz, 0) { build_settings(Config{}, &kHome10, st); }
  void feed(const std::vector<F>& flows) {
    std::vector<Summary> all;
    uint64_t id = 1;
    for (const F& f : flows)
      for (const Summary& m : summaries(f, id++)) all.push_back(m);
    std::stable_sort(all.begin(), all.end(), [](const Summary& a, const Summary& b) { return a.ts < b.ts; });
    for (const Summary& m : all) eng.on_summary(st, m, sink);
  }
  void finish() { eng.end_all(st, sink); }
  Settings st;
  Engine eng;
  VecSink sink;
};

TEST(Behave, EntrySizesAsDocumented) {
  EXPECT_EQ(Engine::src_entry_bytes(), 448u);
  EXPECT_EQ(Engine::pair_entry_bytes(), 448u);
  EXPECT_EQ(Engine::victim_entry_bytes(), 448u);
  EXPECT_EQ(sizeof(Flow), 128u);
}

TEST(Behave, VerticalScanOneStartWithEvidenceThenEnd) {
  Rig r;
  std::vector<F> fl;
  for (int p = 1; p <= 200; p++) {
    F f{"10.0.0.66", "10.0.0.10"};
    f.dport = uint16_t(p);
    f.start = kT0 + uint64_t(p) * (kS / 50);
    f.rst = true;
    f.dur = 1000;
    fl.push_back(f);
  }
  r.feed(fl);
  ASSERT_EQ(r.sink.count(kScan, 0), 1);
  EXPECT_EQ(r.sink.count(kSynFlood, 0), 0) << "a scan of one host is not a SYN flood";
  const AlertRecord& a = r.sink.v.front();
  EXPECT_EQ(a.gid, kGid);
  EXPECT_EQ(a.sid, uint32_t(kScan));
  EXPECT_EQ(ip(a.src), "10.0.0.66");
  // The few-port rule starts it at the 4th refused port; grow alerts follow.
  EXPECT_GE(a.behave.distinct_ports, 3.5f);
  EXPECT_LE(a.behave.distinct_ports, 5.5f);
  EXPECT_GE(a.behave.attempts, 4u);
  EXPECT_LE(a.behave.distinct_dsts, 1.5f);
  EXPECT_GE(a.behave.failed_ratio, 0.7f);
  EXPECT_GE(a.behave.nids, 1);
  EXPECT_NE(std::string(a.metadata).find("T1046"), std::string::npos);
  ASSERT_GE(r.sink.count(kScan, 1), 2) << "200 probes: the episode grew 4x, twice";
  float most = 0;
  for (const auto& x : r.sink.v) most = std::max(most, x.behave.distinct_ports);
  EXPECT_GE(most, 50.f);
  r.finish();
  EXPECT_EQ(r.sink.count(kScan, 2), 1);
  EXPECT_EQ(r.sink.v.back().behave.flows, 200u);
}

// nmap -sV -p 22,53,80,443,8080 of one host: the SYN phase is refused on the
// closed ports and reset by the prober on the open ones (half-open), then a
// few version-probe connections carry data. Detected from five ports.
TEST(Behave, FewPortServiceScan) {
  Rig r;
  std::vector<F> fl;
  const uint16_t ports[] = {22, 53, 80, 443, 8080};
  for (int i = 0; i < 5; i++) {
    F f{"10.0.0.66", "10.0.0.12"};
    f.dport = ports[i];
    f.sport = 45000;
    f.start = kT0 + uint64_t(i) * kS / 1000;
    f.dur = 1000;
    f.bytes_out = 60;
    f.pkts_out = 1;
    if (ports[i] == 80 || ports[i] == 443) {  // open: SYN-ACK, the prober's RST
      f.answered = false;
      f.client_rst = true;
      f.bytes_out = 128;
      f.pkts_out = 2;
    } else {
      f.rst = true;
    }
    fl.push_back(f);
  }
  for (int i = 0; i < 4; i++) {  // version probes: full connections with data
    F f{"10.0.0.66", "10.0.0.12"};
    f.dport = i % 2 ? 443 : 80;
    f.sport = uint16_t(46000 + i);
    f.start = kT0 + kS / 10 + uint64_t(i) * kS;
    fl.push_back(f);
  }
  r.feed(fl);
  r.finish();
  ASSERT_EQ(r.sink.count(kScan, 0), 1);
  const AlertRecord& a = r.sink.v.front();
  EXPECT_EQ(ip(a.src), "10.0.0.66");
  EXPECT_GE(a.behave.distinct_ports, 3.5f);
  EXPECT_GE(a.behave.attempts, 4u);
  EXPECT_EQ(r.sink.count(kScan, 2), 1);
  // The same with the rule off (few_ports: 0): nothing.
  Rig off;
  Config c;
  c.scan_few_ports = 0;
  build_settings(c, &kHome10, off.st);
  off.feed(fl);
  off.finish();
  EXPECT_TRUE(off.sink.v.empty());
}

// nmap -sU -p 53,67,69,123,137,161,500,514,1900,5353 against one host: closed
// ports answer with ICMP (another flow) or not at all; one port answers. Seen
// while it runs (unanswered starts), not when the UDP flows time out.
TEST(Behave, FewPortUdpScan) {
  const uint16_t ports[] = {53, 67, 69, 123, 137, 161, 500, 514, 1900, 5353};
  std::vector<F> fl;
  for (int i = 0; i < 10; i++) {
    F f{"10.0.0.77", "10.0.0.13"};
    f.proto = 17;
    f.flags = 0;
    f.sport = 40581;
    f.dport = ports[i];
    f.start = kT0 + uint64_t(i) * kS / 1000;
    f.dur = 300 * kS;  // ended only by the flow timeout, long after
    f.answered = ports[i] == 123;
    fl.push_back(f);
  }
  Rig r;
  r.feed(fl);
  ASSERT_EQ(r.sink.count(kScan, 0), 1);
  const AlertRecord& a = r.sink.v.front();
  EXPECT_LT(a.ts_ns, kT0 + kS);  // while the probes go out
  EXPECT_EQ(ip(a.src), "10.0.0.77");
  EXPECT_GE(a.behave.attempts, 6u);
  r.finish();
  Rig off;
  Config c;
  c.scan_few_udp = 0;
  build_settings(c, &kHome10, off.st);
  off.feed(fl);
  off.finish();
  EXPECT_EQ(off.sink.count(kScan, 0), 0);
}

// Near misses of the UDP rule: LAN chatter to multicast and broadcast on many
// ports, a client retrying one silent service, a client of three services of
// one host (answered or not), a QUIC client of many servers, a host to itself,
// a host probing five ports of a silent host.
TEST(Behave, UdpChatterAndRetriesAreNotAScan) {
  std::vector<F> fl;
  const char* mc[] = {"224.0.0.251", "224.0.0.252", "239.255.255.250", "10.0.0.255", "255.255.255.255"};
  const uint16_t mp[] = {5353, 5355, 1900, 137, 138, 67, 161, 427};
  for (int i = 0; i < 40; i++) {
    F f{"10.0.0.40", mc[i % 5]};
    f.proto = 17;
    f.flags = 0;
    f.sport = uint16_t(5000 + i);
    f.dport = mp[i % 8];
    f.start = kT0 + uint64_t(i) * kS;
    f.answered = false;
    fl.push_back(f);
  }
  for (int i = 0; i < 20; i++) {  // a syslog client to a silent collector
    F f{"10.0.0.41", "10.0.0.60"};
    f.proto = 17;
    f.flags = 0;
    f.sport = uint16_t(6000 + i);
    f.dport = 514;
    f.start = kT0 + uint64_t(i) * kS;
    f.answered = false;
    fl.push_back(f);
  }
  const uint16_t svc[] = {53, 123, 161};
  for (int i = 0; i < 12; i++) {  // DNS, NTP, SNMP to one server, half unanswered
    F f{"10.0.0.42", "10.0.0.61"};
    f.proto = 17;
    f.flags = 0;
    f.sport = uint16_t(7000 + i);
    f.dport = svc[i % 3];
    f.start = kT0 + uint64_t(i) * kS;
    f.answered = i % 2;
    fl.push_back(f);
  }
  for (int i = 0; i < 30; i++) {  // a QUIC client of 10 servers, 3 ports each, half unanswered
    F f{"10.0.0.44", "198.51.100." + std::to_string(10 + i % 10)};
    f.proto = 17;
    f.flags = 0;
    f.sport = uint16_t(9000 + i);
    f.dport = uint16_t(443 + i / 10);
    f.start = kT0 + uint64_t(i) * kS / 10;
    f.answered = i % 2;
    fl.push_back(f);
  }
  for (int i = 0; i < 8; i++) {  // a host to its own address on 8 ports (loopback tests)
    F f{"10.0.0.45", "10.0.0.45"};
    f.proto = 17;
    f.flags = 0;
    f.sport = 9500;
    f.dport = uint16_t(2000 + i);
    f.start = kT0 + uint64_t(i) * kS / 10;
    f.answered = false;
    fl.push_back(f);
  }
  for (int i = 0; i < 5; i++) {  // five ports: under few_udp_ports (6)
    F f{"10.0.0.43", "10.0.0.62"};
    f.proto = 17;
    f.flags = 0;
    f.sport = 8000;
    f.dport = uint16_t(1000 + i);
    f.start = kT0 + uint64_t(i) * kS;
    f.answered = false;
    fl.push_back(f);
  }
  Rig r;
  r.feed(fl);
  r.finish();
  EXPECT_EQ(r.sink.count(kScan, 0), 0);
}

// Near misses of the few-port rule: a browser whose connections to two ports
// are refused or cancelled (reset right after the handshake), a client of six
// servers refused on one port each, a client refused on three ports of a host.
TEST(Behave, RefusedAndCancelledConnectionsAreNotAFewPortScan) {
  Rig r;
  std::vector<F> fl;
  for (int i = 0; i < 40; i++) {
    F f{"10.0.0.31", "198.51.100.10"};
    f.dport = i % 13 ? 443 : 80;
    f.sport = uint16_t(30000 + i);
    f.start = kT0 + uint64_t(i) * kS / 4;
    if (i % 5 == 1) f.rst = true;
    if (i % 5 == 2) {  // preconnect cancelled: established, reset without data
      f.client_rst = true;
      f.bytes_out = 190;
      f.pkts_out = 3;
    }
    fl.push_back(f);
  }
  for (int i = 0; i < 6; i++) {
    F f{"10.0.0.32", "10.0.5." + std::to_string(i + 1)};
    f.dport = 8443;
    f.start = kT0 + uint64_t(i) * kS;
    f.rst = true;
    fl.push_back(f);
  }
  for (int i = 0; i < 12; i++) {
    F f{"10.0.0.33", "10.0.0.12"};
    const uint16_t p[] = {80, 443, 8080};
    f.dport = p[i % 3];
    f.sport = uint16_t(32000 + i);
    f.start = kT0 + uint64_t(i) * kS;
    f.rst = true;
    fl.push_back(f);
  }
  r.feed(fl);
  r.finish();
  EXPECT_TRUE(r.sink.v.empty()) << r.sink.v.size() << " alerts, first " << (r.sink.v.empty() ? "" : r.sink.v[0].msg);
}


TEST(Behave, MonitoringPollingManyHostsIsNotAScan) {
  Rig r;
  std::vector<F> fl;
  for (int round = 0; round < 3; round++)
    for (int h = 1; h <= 60; h++) {
      F f{"10.0.0.35", "10.0.1." + std::to_string(h)};
      f.proto = 17;
      f.dport = 161;
      f.flags = 0;
      f.start = kT0 + uint64_t(round) * 60 * kS + uint64_t(h) * kS / 100;
      fl.push_back(f);
    }
  r.feed(fl);
  r.finish();
  EXPECT_TRUE(r.sink.v.empty());
}

TEST(Behave, SpoofedSynFloodThenIdleEnd) {
  Rig r;
  std::mt19937 g(1);
  std::vector<F> fl;
  for (int i = 0; i < 2000; i++) {
    F f{"100." + std::to_string(g() % 200) + "." + std::to_string(g() % 256) + "." + std::to_string(1 + g() % 250),
        "10.0.0.20"};
    f.start = kT0 + uint64_t(i) * 5 * kS / 1000;
    f.answered = false;
    f.dur = 0;
    fl.push_back(f);
  }
  r.feed(fl);
  ASSERT_EQ(r.sink.count(kSynFlood, 0), 1);
  for (const auto& a : r.sink.v)
    if (a.behave.detector == kSynFlood && a.behave.stage == 0) {
      EXPECT_GE(a.behave.half_open_per_s, 20.f);
      EXPECT_GE(a.behave.sources, 10u);
      EXPECT_EQ(ip(a.dst), "10.0.0.20");
      EXPECT_EQ(a.dport, 80);
    }
  // 30 s later (beyond the 10 s flood window) the sweep ends it.
  r.eng.sweep(r.st, r.sink, 100, kT0 + 40 * kS);
  EXPECT_EQ(r.sink.count(kSynFlood, 2), 1);
  r.finish();
  EXPECT_EQ(r.sink.count(kSynFlood, 2), 1) << "ended once";
  EXPECT_EQ(r.sink.count(kScan, 0), 0);
}

// A peer worker's late summaries (timestamped inside the idle window of an
// episode that has just ended) do not restart it; new activity later does.
TEST(Behave, LateSummariesJoinTheEndedEpisode) {
  Rig r;
  std::mt19937 g(2);
  auto flood = [&](uint64_t t0, int n) {
    std::vector<F> fl;
    for (int i = 0; i < n; i++) {
      F f{"100." + std::to_string(g() % 200) + ".7." + std::to_string(1 + g() % 250), "10.0.0.20"};
      f.start = t0 + uint64_t(i) * 5 * kS / 1000;
      f.answered = false;
      f.dur = 0;
      fl.push_back(f);
    }
    return fl;
  };
  r.feed(flood(kT0, 2000));  // 10 s of SYNs
  r.eng.sweep(r.st, r.sink, 100, kT0 + 40 * kS);
  ASSERT_EQ(r.sink.count(kSynFlood, 0), 1);
  ASSERT_EQ(r.sink.count(kSynFlood, 2), 1);
  r.feed(flood(kT0 + 10 * kS, 400));  // late: 10-12 s, inside the ended episode's window
  EXPECT_EQ(r.sink.count(kSynFlood, 0), 1) << "late summaries restarted the episode";
  r.feed(flood(kT0 + 100 * kS, 2000));  // a new flood a minute later
  EXPECT_EQ(r.sink.count(kSynFlood, 0), 2);
}

TEST(Behave, SshBruteForceGrowsAndEnds) {
  Rig r;
  std::vector<F> fl;
  for (int i = 0; i < 60; i++) {
    F f{"10.0.0.70", "10.0.0.22"};
    f.dport = 22;
    f.sport = uint16_t(50000 + i);
    f.start = kT0 + uint64_t(i) * kS / 2;
    f.dur = kS / 4;
    fl.push_back(f);
  }
  r.feed(fl);
  r.finish();
  EXPECT_EQ(r.sink.count(kBruteForce, 0), 1);
  EXPECT_EQ(r.sink.count(kBruteForce, 1), 1) << "12 -> 48 attempts: one grow";
  EXPECT_EQ(r.sink.count(kBruteForce, 2), 1);
  EXPECT_EQ(r.sink.count(kBeacon, 0), 0);
  EXPECT_GE(r.sink.v.front().behave.attempts, 12u);
}

TEST(Behave, BruteForceWindowBound) {
  // 11 sessions, then the 12th 70 s later: never 12 in one 60 s window.
  Rig r;
  std::vector<F> fl;
  for (int i = 0; i < 12; i++) {
    F f{"10.0.0.71", "10.0.0.22"};
    f.dport = 22;
    f.start = kT0 + (i < 11 ? uint64_t(i) * kS : 81 * kS);
    fl.push_back(f);
  }
  r.feed(fl);
  EXPECT_EQ(r.sink.count(kBruteForce, 0), 0);
  F f{"10.0.0.71", "10.0.0.22"};
  f.dport = 22;
  std::vector<F> more;
  for (int i = 0; i < 11; i++) {
    f.start = kT0 + 82 * kS + uint64_t(i) * kS;
    more.push_back(f);
  }
  r.feed(more);
  EXPECT_EQ(r.sink.count(kBruteForce, 0), 1) << "12 within the window";
}

TEST(Behave, HttpAuthFailuresAreBruteForce) {
  Rig r;
  std::vector<F> fl;
  for (int i = 0; i < 4; i++) {
    F f{"10.0.0.72", "10.0.0.25"};
    f.dport = 8080;
    f.http_deny = 5;  // keep-alive: 5 answers 401 per connection
    f.start = kT0 + uint64_t(i) * kS;
    fl.push_back(f);
  }
  r.feed(fl);
  EXPECT_EQ(r.sink.count(kBruteForce, 0), 1);
}

TEST(Behave, MailPollingAndKerberosAreNotBruteForce) {
  Rig r;
  std::vector<F> fl;
  for (int i = 0; i < 12; i++) {  // IMAPS every 5 minutes, logins succeed
    F f{"10.0.0.34", "10.0.0.143"};
    f.dport = 993;
    f.start = kT0 + uint64_t(i) * 300 * kS;
    fl.push_back(f);
  }
  for (int i = 0; i < 30; i++) {  // a logon's Kerberos exchanges
    F f{"10.0.0.36", "10.0.0.8"};
    f.dport = 88;
    f.start = kT0 + uint64_t(i) * kS / 5;
    fl.push_back(f);
  }
  r.feed(fl);
  r.finish();
  EXPECT_TRUE(r.sink.v.empty());
}

std::vector<F> periodic(const std::string& s, const std::string& d, uint16_t port, uint8_t proto, int n,
                        uint64_t every, int64_t jitter, uint32_t seed) {
  std::mt19937_64 g(seed);
  std::vector<F> fl;
  for (int i = 0; i < n; i++) {
    F f{s, d};
    f.dport = port;
    f.proto = proto;
    f.flags = proto == 6 ? kSynStart : 0;
    f.sport = uint16_t(30000 + i);
    int64_t j = jitter ? int64_t(g() % uint64_t(2 * jitter)) - jitter : 0;
    f.start = kT0 + uint64_t(i) * every + uint64_t(j + 5 * int64_t(kS));
    f.bytes_out = 300 + g() % 30;
    fl.push_back(f);
  }
  return fl;
}

TEST(Behave, BeaconWithJitter) {
  Rig r;
  r.feed(periodic("10.0.0.80", "203.0.113.50", 8443, 6, 14, 30 * kS, 2 * int64_t(kS), 3));
  r.finish();
  ASSERT_EQ(r.sink.count(kBeacon, 0), 1);
  const AlertRecord& a = r.sink.v.front();
  EXPECT_LE(a.behave.intervals_cv, 0.25f);
  EXPECT_NEAR(a.behave.mean_interval_s, 30.f, 2.f);
  EXPECT_EQ(r.sink.count(kBeacon, 2), 1);
}

TEST(Behave, PeriodicBenignIsNotBeacon) {
  Rig r;
  r.feed(periodic("10.0.0.33", "10.0.0.123", 123, 17, 14, 64 * kS, 0, 1));    // NTP
  r.feed(periodic("10.0.0.34", "10.0.0.143", 993, 6, 12, 300 * kS, 0, 2));    // IMAPS polling
  {  // human-driven: Poisson arrivals, mean 30 s
    std::mt19937_64 g(4);
    std::exponential_distribution<double> gap(1.0 / 30);
    std::vector<F> fl = periodic("10.0.0.37", "203.0.113.9", 443, 6, 14, 0, 0, 4);
    double t = 0;
    for (F& f : fl) f.start = kT0 + uint64_t((t += gap(g)) * 1e9);
    r.feed(fl);
  }
  r.feed(periodic("10.0.0.38", "203.0.113.10", 5000, 17, 14, 60 * kS, 0, 5));  // UDP keepalive
  r.finish();
  EXPECT_TRUE(r.sink.v.empty());
}

TEST(Behave, AllowListSilencesBeacon) {
  Config c;
  Cidr src;
  ASSERT_TRUE(parse_cidr("10.0.0.80/32", src));
  c.allow.push_back({src, Cidr{}, 8443, uint8_t(1u << kBeacon)});
  Rig r;
  build_settings(c, nullptr, r.st);
  r.feed(periodic("10.0.0.80", "203.0.113.50", 8443, 6, 14, 30 * kS, 0, 3));
  r.finish();
  EXPECT_TRUE(r.sink.v.empty());
}

TEST(Behave, ExfilAboveBaselineButNotBackupToHome) {
  Rig r;
  std::vector<F> fl;
  for (int i = 0; i < 5; i++) {  // baseline: a few KB per window
    F f{"10.0.0.100", "198.51.100.99"};
    f.dport = 443;
    f.start = kT0 + uint64_t(i) * 70 * kS;
    f.bytes_out = 4000;
    fl.push_back(f);
  }
  F up{"10.0.0.100", "198.51.100.7"};
  up.dport = 443;
  up.start = kT0 + 400 * kS;
  up.dur = 20 * kS;
  up.bytes_out = 30000000;
  fl.push_back(up);
  F backup{"10.0.0.32", "10.0.0.200"};
  backup.dport = 873;
  backup.start = kT0 + 500 * kS;
  backup.dur = 600 * kS;
  backup.bytes_out = 3000000000ull;
  fl.push_back(backup);
  for (int i = 0; i < 12; i++) {  // a host that uploads ~1.5 MB every minute...
    F f{"10.0.0.101", "198.51.100.50"};
    f.dport = 443;
    f.sport = uint16_t(41000 + i);
    f.start = kT0 + uint64_t(i) * 60 * kS;
    f.bytes_out = 1500000;
    fl.push_back(f);
  }
  F big{"10.0.0.101", "198.51.100.51"};  // ...then 6 MB elsewhere: under 10x its baseline
  big.dport = 443;
  big.start = kT0 + 730 * kS;
  big.bytes_out = 6000000;
  fl.push_back(big);
  F small{"10.0.0.102", "198.51.100.52"};  // a new host: 3.5 MB, under min_bytes (4 MB)
  small.dport = 443;
  small.start = kT0 + 100 * kS;
  small.bytes_out = 3500000;
  fl.push_back(small);
  r.feed(fl);
  r.finish();
  ASSERT_EQ(r.sink.count(kExfil, 0), 1);
  const AlertRecord& a = r.sink.v.front();
  EXPECT_EQ(ip(a.dst), "198.51.100.7");
  EXPECT_GE(a.behave.bytes_out, 30000000u);
  EXPECT_LT(a.behave.baseline_bytes, 10000u);
  EXPECT_EQ(r.sink.count(kExfil, 2), 1);
}

// Slow DoS is counted mid-flow (kPartial, sent by the stage once a flow has
// been open min_duration with its request incomplete), while the attack runs:
// the start alert comes before any of the flows ended.
TEST(Behave, SlowlorisWhileItHappensButNotUploadsOrFewLongPolls) {
  Rig r;
  std::vector<F> fl;
  for (int i = 0; i < 20; i++) {
    F f{"10.0.0.90", "10.0.0.23"};
    f.sport = uint16_t(50000 + i);
    f.start = kT0 + uint64_t(i) * kS / 10;
    f.dur = 60 * kS;
    f.partial = 6 * kS;
    f.bytes_out = 700;  // ~117 B/s by then
    f.pkts_out = 8;
    f.http_req = 0;  // never completed
    fl.push_back(f);
    F k = f;  // a slow upload: request incomplete at 6 s, but 200 KB sent
    k.src = "10.0.0.91";
    k.dst = "10.0.0.24";
    k.bytes_out = 200000;
    fl.push_back(k);
    F c = f;  // a partial summary of a completed request (keep-alive): not counted
    c.src = "10.0.0.92";
    c.dst = "10.0.0.25";
    c.http_req = 1;
    fl.push_back(c);
    if (i < 5) {  // long polls / websockets: few connections
      F w = f;
      w.src = "10.0.0.93";
      w.dst = "10.0.0.26";
      fl.push_back(w);
    }
  }
  r.feed(fl);
  ASSERT_EQ(r.sink.count(kSlowDos, 0), 1);
  const AlertRecord& a = r.sink.v.front();
  EXPECT_EQ(a.behave.attempts, 15u);
  EXPECT_EQ(ip(a.dst), "10.0.0.23");
  EXPECT_EQ(a.dport, 80);
  EXPECT_LT(a.behave.last_seen, kT0 + 10 * kS) << "alerted while the connections were open";
  r.finish();
  EXPECT_EQ(r.sink.count(kSlowDos, 2), 1);
  EXPECT_EQ(r.sink.v.size(), 2u);
  // End summaries alone (the old end-of-flow path) count nothing.
  Rig e;
  for (F& f : fl) f.partial = 0;
  e.feed(fl);
  e.finish();
  EXPECT_TRUE(e.sink.v.empty());
}

TEST(Behave, ReflectionFlood) {
  Rig r;
  std::vector<F> fl;
  for (int i = 0; i < 600; i++) {
    F f{"192.0.2." + std::to_string(1 + i % 50), "10.0.0.24"};
    f.proto = 17;
    f.flags = kUnsolicited;
    f.sport = 123;
    f.dport = uint16_t(1024 + i);
    f.answered = false;
    f.start = kT0 + uint64_t(i) * kS / 100;
    fl.push_back(f);
  }
  r.feed(fl);
  r.finish();
  EXPECT_EQ(r.sink.count(kFlood, 0), 1);
  EXPECT_EQ(r.sink.count(kScan, 0), 0) << "reflected replies are not probes";
}

TEST(Behave, ResolverAndCdnNearMisses) {
  Rig r;
  std::vector<F> fl;
  for (int i = 0; i < 600; i++) {  // many names, one resolver
    F f{"10.0.0.30", "10.0.0.53"};
    f.proto = 17;
    f.flags = 0;
    f.sport = uint16_t(20000 + i);
    f.dport = 53;
    f.start = kT0 + uint64_t(i) * kS / 10;
    fl.push_back(f);
  }
  for (int i = 0; i < 40; i++) {  // HTTPS to one CDN address and to 40
    F a{"10.0.0.31", "198.51.100.10"};
    a.dport = 443;
    a.sport = uint16_t(30000 + i);
    a.start = kT0 + uint64_t(i) * kS / 4;
    fl.push_back(a);
    F b{"10.0.0.31", "198.51.100." + std::to_string(20 + i)};
    b.dport = 443;
    b.sport = uint16_t(31000 + i);
    b.start = kT0 + 12 * kS + uint64_t(i) * kS / 4;
    fl.push_back(b);
  }
  r.feed(fl);
  r.finish();
  EXPECT_TRUE(r.sink.v.empty());
}

TEST(Behave, EvictionCountedAndEndsOpenEpisodes) {
  Sizes sz{16, 16, 16};
  Rig r(sz);
  std::vector<F> fl;
  for (int i = 0; i < 60; i++) {  // a brute force opens an episode...
    F f{"10.0.0.70", "10.0.0.22"};
    f.dport = 22;
    f.start = kT0 + uint64_t(i) * kS / 10;
    fl.push_back(f);
  }
  for (int i = 0; i < 400; i++) {  // ...then many other pairs push it out
    F f{"10.0.3." + std::to_string(i % 250), "10.0.4." + std::to_string(i / 250)};
    f.dport = uint16_t(1000 + i);
    f.start = kT0 + 7 * kS + uint64_t(i) * kS / 100;
    fl.push_back(f);
  }
  r.feed(fl);
  EXPECT_GT(r.eng.ctr.evictions, 0u);
  EXPECT_EQ(r.sink.count(kBruteForce, 0), 1);
  EXPECT_EQ(r.sink.count(kBruteForce, 2), 1) << "the evicted entry's episode ended";
  r.finish();
  EXPECT_EQ(r.sink.count(kBruteForce, 2), 1);
}

// Two engines fed as the mailboxes would (each part to the owner of its
// host) give the alerts of one engine that sees everything.
TEST(Behave, TwoOwnersEqualOne) {
  std::vector<F> fl;
  std::mt19937 g(9);
  for (int p = 1; p <= 120; p++) {  // scan
    F f{"10.0.0.66", "10.0.0.10"};
    f.dport = uint16_t(p);
    f.start = kT0 + uint64_t(p) * kS / 50;
    f.rst = true;
    fl.push_back(f);
  }
  for (int i = 0; i < 1500; i++) {  // flood
    F f{"100." + std::to_string(g() % 200) + ".1." + std::to_string(1 + g() % 250), "10.0.0.20"};
    f.start = kT0 + 30 * kS + uint64_t(i) * kS / 200;
    f.answered = false;
    fl.push_back(f);
  }
  for (int i = 0; i < 30; i++) {  // brute force
    F f{"10.0.0.70", "10.0.0.22"};
    f.dport = 22;
    f.start = kT0 + 50 * kS + uint64_t(i) * kS;
    fl.push_back(f);
  }
  for (const F& f : periodic("10.0.0.80", "203.0.113.50", 8443, 6, 12, 30 * kS, kS, 1)) fl.push_back(f);
  std::vector<Summary> all;
  uint64_t id = 1;
  for (const F& f : fl)
    for (const Summary& m : summaries(f, id++)) all.push_back(m);
  std::stable_sort(all.begin(), all.end(), [](const Summary& a, const Summary& b) { return a.ts < b.ts; });

  Rig one;
  for (const Summary& m : all) one.eng.on_summary(one.st, m, one.sink);
  one.finish();
  Rig two[2];
  int parts[2] = {0, 0};
  for (Summary m : all) {
    uint32_t os = owner(m.src, 2), od = owner(m.dst, 2);
    if (os == od) {
      m.route = kToSrc | kToDst;
      two[os].eng.on_summary(two[os].st, m, two[os].sink);
      parts[os]++;
    } else {
      m.route = kToSrc;
      two[os].eng.on_summary(two[os].st, m, two[os].sink);
      m.route = kToDst;
      two[od].eng.on_summary(two[od].st, m, two[od].sink);
      parts[os]++;
      parts[od]++;
    }
  }
  two[0].finish();
  two[1].finish();
  EXPECT_GT(parts[0], 0);
  EXPECT_GT(parts[1], 0);
  using K = std::tuple<int, std::string, std::string, int>;
  auto keys = [](const std::vector<AlertRecord>& v) {
    std::multiset<K> s;
    for (const auto& a : v) s.insert({a.behave.detector, ip(a.src), ip(a.dst), a.behave.stage});
    return s;
  };
  std::multiset<K> a = keys(one.sink.v), b = keys(two[0].sink.v);
  for (const K& k : keys(two[1].sink.v)) b.insert(k);
  // A flood's src_ip is a sample source: compare floods by victim only.
  auto norm = [](std::multiset<K> s) {
    std::multiset<K> o;
    for (K k : s) {
      if (std::get<0>(k) == kSynFlood) std::get<1>(k) = "*";
      o.insert(k);
    }
    return o;
  };
  EXPECT_EQ(norm(a), norm(b));
  EXPECT_EQ(one.sink.count(kScan, 0) + one.sink.count(kSynFlood, 0) + one.sink.count(kBruteForce, 0) +
                one.sink.count(kBeacon, 0),
            4);
}

}  // namespace
}  // namespace spectre::behave
