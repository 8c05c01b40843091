// The inspection stage through process_burst: reassembly + app layer +
// detection, with real parsed and compiled rules.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <rte_ip.h>

#include "dataplane/core/worker.h"
#include "dataplane/events/eve.h"
#include "dataplane/rules/parser.h"
#include "tests/unit/mbufs.h"
#include "tests/unit/pktbuild.h"

using namespace spectre;
using pb::Bytes;

namespace {

constexpr uint64_t kSec = 1000000000ull;

using testutil::make_mbuf;
using testutil::MbufPtr;

std::shared_ptr<const CompiledRuleset> compile(const std::vector<std::string>& texts) {
  rules::RuleSet rs;
  rs.vars = rules::Vars::suricata_defaults();
  for (const auto& t : texts) {
    rules::Rule r;
    std::string err;
    bool unsupported = false;
    EXPECT_TRUE(rules::parse_rule(t, rs.vars, r, err, unsupported)) << t << ": " << err;
    rs.rules.push_back(std::move(r));
  }
  CompileReport rep;
  std::string err;
  auto c = compile_ruleset(rs, 1, rep, err);
  EXPECT_TRUE(c) << err;
  return c;
}

const pb::Ip4 kCli = pb::ip4("198.18.0.2"), kSrv = pb::ip4("198.18.0.1");

struct Rig {
  explicit Rig(const std::vector<std::string>& rules)
      : w(std::make_unique<WorkerCtx>(uint16_t(0), 256, DefragConfig{}, 1024)), snap(build_snapshot(Config{}, 1)) {
    snap->rules = compile(rules);
  }
  std::unique_ptr<WorkerCtx> w;
  std::unique_ptr<Snapshot> snap;
  uint64_t ts = 1700000000 * kSec;
  uint32_t cseq = 1000, sseq = 9000;

  void send(const Bytes& frame) {
    auto m = make_mbuf(frame, ts += 1000);
    rte_mbuf* p = m.get();
    process_burst(*w, *snap, &p, 1, 0);
  }
  Bytes tcp(bool to_server, uint8_t flags, uint32_t seq, const Bytes& payload = {}) {
    pb::Ip4 s = to_server ? kCli : kSrv, d = to_server ? kSrv : kCli;
    uint16_t sp = to_server ? 40000 : 80, dp = to_server ? 80 : 40000;
    return pb::eth(0x0800, pb::ipv4({.src = s, .dst = d, .proto = 6},
                                    pb::tcp({.sport = sp, .dport = dp, .seq = seq, .flags = flags, .payload = payload})));
  }
  void handshake() {
    send(tcp(true, kSyn, cseq++));
    send(tcp(false, kSyn | kAck, sseq++));
    send(tcp(true, kAck, cseq));
  }
  // Client data at offset `off` from the first data byte.
  void cdata(uint32_t off, const std::string& s) {
    send(tcp(true, kAck | kPsh, cseq + off, Bytes(s.begin(), s.end())));
  }
  void sdata(uint32_t off, const std::string& s) {
    send(tcp(false, kAck | kPsh, sseq + off, Bytes(s.begin(), s.end())));
  }
  std::map<uint32_t, int> alerts() {  // sid -> count
    std::map<uint32_t, int> out;
    while (const AlertRecord* a = w->insp.alerts.peek()) {
      if (a->kind == AlertRecord::kAppTx) {
        txlog.push_back(*a);
      } else {
        out[a->sid]++;
        last = *a;
      }
      w->insp.alerts.release();
    }
    return out;
  }
  std::vector<FlowRecord> flush() {
    worker_flush(*w);
    std::vector<FlowRecord> out;
    Event e;
    while (w->events.pop(e)) out.push_back(e.flow);
    return out;
  }
  AlertRecord last{};
  std::vector<AlertRecord> txlog;
};

Bytes str(const std::string& s) { return Bytes(s.begin(), s.end()); }

}  // namespace

TEST(Inspect, ContentSplitAcrossSegmentsMatchesOnce) {
  Rig r({"alert tcp any any -> any 80 (msg:\"split\"; flow:to_server; content:\"evil-payload\"; sid:1;)"});
  r.handshake();
  r.cdata(0, "xxxx evil-pa");
  r.cdata(12, "yload yyy");
  auto a = r.alerts();
  EXPECT_EQ(a[1], 1);
  EXPECT_EQ(r.last.to_server, true);
  EXPECT_EQ(r.last.dport, 80);
  EXPECT_EQ(r.last.flow_pkts[0], 4u);  // SYN, ACK and the two data packets so far
  EXPECT_EQ(r.last.flow_pkts[1], 1u);
  fmt::memory_buffer b;
  format_alert(b, r.last);
  std::string line = fmt::to_string(b);
  EXPECT_NE(line.find("\"flow\":{\"pkts_toserver\":4,\"pkts_toclient\":1,"), std::string::npos) << line;
  EXPECT_NE(line.find("\"signature_id\":1,"), std::string::npos) << line;
  auto f = r.flush();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_TRUE(f[0].flags & kFlowAlerted);
}

TEST(Inspect, OutOfOrderSegmentsMatchOnce) {
  Rig r({"alert tcp any any -> any 80 (msg:\"ooo\"; content:\"evil-payload\"; sid:2;)"});
  r.handshake();
  r.cdata(12, "yload yyy");  // ahead of the hole: buffered
  EXPECT_TRUE(r.alerts().empty());
  r.cdata(0, "xxxx evil-pa");
  EXPECT_EQ(r.alerts()[2], 1);
  r.flush();
  EXPECT_TRUE(r.alerts().empty());
}

TEST(Inspect, RetransmissionWithOtherBytesFirstWins) {
  Rig r({"alert tcp any any -> any any (msg:\"first\"; content:\"AAAAAAAA\"; sid:3;)",
         "alert tcp any any -> any any (msg:\"second\"; content:\"BBBBBBBB\"; sid:4;)"});
  r.handshake();
  r.cdata(8, "AAAAAAAA");   // out of order first version
  r.cdata(8, "BBBBBBBB");   // retransmission, other bytes
  r.cdata(0, "12345678");
  auto a = r.alerts();
  EXPECT_EQ(a[3], 1);
  EXPECT_EQ(a.count(4), 0u);
}

TEST(Inspect, HttpBuffersAndAppProto) {
  Rig r({"alert http any any -> any any (msg:\"uri\"; http.uri; content:\"/evil.php\"; sid:10;)",
         "alert http any any -> any any (msg:\"ua\"; content:\"BadBot\"; http_user_agent; sid:11;)",
         "alert http any any -> any any (msg:\"status\"; http.stat_code; content:\"404\"; sid:12;)",
         "alert http any any -> any any (msg:\"not here\"; http.uri; content:\"/good\"; sid:13;)",
         "alert http any any -> any any (msg:\"urilen\"; urilen:13; sid:14;)",
         "alert http any any -> any any (msg:\"urilen no\"; urilen:<13; sid:15;)"});
  r.handshake();
  std::string req = "GET /evil.php?a=1 HTTP/1.1\r\nHost: example.org\r\nUser-Agent: BadBot/1.0\r\n\r\n";
  r.cdata(0, req.substr(0, 20));
  r.cdata(20, req.substr(20));
  r.sdata(0, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabc");
  auto a = r.alerts();
  EXPECT_EQ(a[10], 1);
  EXPECT_EQ(a[11], 1);
  EXPECT_EQ(a[12], 1);
  EXPECT_EQ(a.count(13), 0u);
  EXPECT_EQ(a[14], 1);  // "/evil.php?a=1" is 13 bytes
  EXPECT_EQ(a.count(15), 0u);
  EXPECT_TRUE(r.last.has_app);
  EXPECT_EQ(r.last.app_proto, uint8_t(rules::AppProto::kHttp));
  EXPECT_STREQ(r.last.app.http_hostname, "example.org");
  auto f = r.flush();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].app_proto, uint8_t(rules::AppProto::kHttp));
}

TEST(Inspect, DnsQueryOverUdp) {
  Rig r({"alert dns any any -> any any (msg:\"dns\"; dns.query; content:\"bad.example\"; nocase; sid:20;)",
         "alert dns any any -> any any (msg:\"dot\"; dns.query; dotprefix; content:\".example.com\"; endswith; "
         "bsize:20; sid:21;)",
         "alert dns any any -> any any (msg:\"size\"; dns.query; content:\"example\"; bsize:<19; sid:22;)"});
  Bytes q = {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  for (const char* l : {"www", "BAD", "example", "com"}) {
    q.push_back(uint8_t(strlen(l)));
    q.insert(q.end(), l, l + strlen(l));
  }
  q.insert(q.end(), {0, 0, 1, 0, 1});
  r.send(pb::eth(0x0800, pb::ipv4({.src = kCli, .dst = kSrv, .proto = 17}, pb::udp(5353, 53, q))));
  auto a = r.alerts();
  EXPECT_EQ(a[20], 1);
  EXPECT_EQ(a[21], 1);  // ".www.BAD.example.com" is 20 bytes
  EXPECT_EQ(a.count(22), 0u);  // the name is 19 bytes
  EXPECT_TRUE(r.last.has_app);
  EXPECT_STREQ(r.last.app.dns_rrname, "www.BAD.example.com");
}

TEST(Inspect, PassRuleSuppressesFlow) {
  Rig r({"pass tcp any any -> any 80 (msg:\"pass\"; content:\"trusted\"; sid:30;)",
         "alert tcp any any -> any 80 (msg:\"bad\"; content:\"bad\"; sid:31;)"});
  r.handshake();
  r.cdata(0, "trusted bad");
  r.cdata(11, " more bad");
  EXPECT_TRUE(r.alerts().empty());
}

TEST(Inspect, RulesSwapBetweenBurstsTakesEffect) {
  Rig r({"alert udp any any -> any any (msg:\"old\"; content:\"ping\"; sid:40;)"});
  auto udp = [&](const char* s) {
    return pb::eth(0x0800, pb::ipv4({.src = kCli, .dst = kSrv, .proto = 17}, pb::udp(1111, 2222, str(s))));
  };
  r.send(udp("ping"));
  EXPECT_EQ(r.alerts()[40], 1);
  auto next = std::make_unique<Snapshot>(*r.snap);
  next->generation++;
  next->rules = compile({"alert udp any any -> any any (msg:\"new\"; content:\"ping\"; sid:41;)"});
  r.snap = std::move(next);
  r.send(udp("ping"));
  auto a = r.alerts();
  EXPECT_EQ(a.count(40), 0u);
  EXPECT_EQ(a[41], 1);
}

TEST(Inspect, ChecksumValidationSkipsBadPackets) {
  Rig r({"alert udp any any -> any any (msg:\"x\"; content:\"ping\"; sid:50;)"});
  r.snap->checksum_validate = true;
  Bytes good = pb::eth(0x0800, pb::ipv4({.src = kCli, .dst = kSrv, .proto = 17}, pb::udp(1111, 2222, str("ping"))));
  // The builder leaves both checksums 0: fill the IPv4 one (UDP 0 means none).
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(good.data() + 14);
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  r.send(good);
  EXPECT_EQ(r.alerts()[50], 1);
  Bytes bad = good;
  bad[14 + 10] ^= 0xff;  // break the IPv4 header checksum
  r.send(bad);
  EXPECT_TRUE(r.alerts().empty());
  EXPECT_EQ(r.w->insp.ctr.checksum_invalid, 1u);
}

TEST(Inspect, TransactionLogsOncePerHttpExchangeAndPerDnsMessage) {
  Rig r({"alert udp any any -> any any (msg:\"never\"; content:\"zzzz\"; sid:60;)"});
  r.snap->app_events = true;
  r.handshake();
  r.cdata(0, "GET /a HTTP/1.1\r\nHost: h.example\r\n\r\n");
  r.sdata(0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_TRUE(r.alerts().empty());
  // HTTP: one line when the response completes, and its body is a file: a fileinfo line.
  ASSERT_EQ(r.txlog.size(), 2u);
  const AlertRecord& t = r.txlog[0];
  EXPECT_FALSE(t.app.file_tx);
  EXPECT_TRUE(r.txlog[1].app.file_tx);
  EXPECT_EQ(r.txlog[1].app.file_size, 2u);
  EXPECT_STREQ(r.txlog[1].app.file_name, "/a");
  EXPECT_EQ(t.app_proto, uint8_t(rules::AppProto::kHttp));
  EXPECT_EQ(t.app.http_status, 200);
  EXPECT_STREQ(t.app.http_hostname, "h.example");
  EXPECT_EQ(t.sport, 40000);  // client first
  fmt::memory_buffer b;
  format_app_event(b, t);
  std::string line = fmt::to_string(b);
  EXPECT_NE(line.find("\"event_type\":\"http\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"status\":200"), std::string::npos) << line;
  fmt::memory_buffer fb;
  format_app_event(fb, r.txlog[1]);
  std::string fl = fmt::to_string(fb);
  EXPECT_NE(fl.find("\"event_type\":\"fileinfo\""), std::string::npos) << fl;
  EXPECT_NE(fl.find("\"http\":{"), std::string::npos) << fl;
  EXPECT_NE(fl.find("\"filename\":\"/a\""), std::string::npos) << fl;
}

// A subscriber added to the worker's app_tx topic sees each transaction
// direction after the behaviour stage counted it and before it is logged.
struct TxSeen {
  WorkerCtx* w;
  std::vector<std::tuple<bool, uint16_t, int, bool>> tx;  // to_server, status, flow's HTTP requests, logged yet
};
void tx_seen(void* c, const bus::AppTx& m) {
  auto* t = static_cast<TxSeen*>(c);
  t->tx.emplace_back(m.to_server, m.meta.http_status, m.f.bh_http_req, t->w->insp.alerts.peek() != nullptr);
}

TEST(Inspect, AppTxReachesANewSubscriberBeforeTheLog) {
  Rig r({"alert udp any any -> any any (msg:\"never\"; content:\"zzzz\"; sid:60;)"});
  r.snap->app_events = true;
  TxSeen seen{r.w.get(), {}};
  ASSERT_TRUE(r.w->bus.app_tx.subscribe(tx_seen, &seen, bus::kRankIntel + 1));
  r.handshake();
  r.cdata(0, "GET /a HTTP/1.1\r\nHost: h.example\r\n\r\n");
  r.sdata(0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_EQ(seen.tx.size(), 2u);
  EXPECT_EQ(seen.tx[0], std::make_tuple(true, uint16_t(0), 1, false));
  EXPECT_EQ(seen.tx[1], std::make_tuple(false, uint16_t(200), 1, false));
  r.alerts();
  EXPECT_EQ(r.txlog.size(), 2u);  // logged after the subscribers
}

// Offline, a flow ended by a timeout sweep logs what it still held (here a
// response delimited by the connection's end) with no packet of its own. The
// sweep runs between two packets of a burst: the earlier packet's pcap_cnt and
// pkt_src must not leak into those records (they then depended on where the
// burst boundaries fell, which varies from run to run).
TEST(Inspect, RecordsOfASweptFlowBelongToNoPacket) {
  Rig r({"alert udp any any -> any any (msg:\"never\"; content:\"zzzz\"; sid:60;)"});
  r.snap->app_events = true;
  for (uint64_t& t : r.snap->tmo_ns) t = 5 * kSec;
  r.handshake();
  r.cdata(0, "GET /a HTTP/1.0\r\n\r\n");
  r.sdata(0, "HTTP/1.0 200 OK\r\n\r\npartial");  // ends with the connection
  r.alerts();
  const size_t before = r.txlog.size();
  std::vector<MbufPtr> own;
  std::vector<rte_mbuf*> ms;
  for (uint16_t k = 0; k < kMaxBurst; k++) {  // other flows 10 s later, one burst: a sweep is due inside it
    Bytes f = pb::eth(0x0800, pb::ipv4({.src = kCli, .dst = kSrv, .proto = 17}, pb::udp(50000 + k, 9999, str("x"))));
    own.push_back(make_mbuf(f, r.ts + 10 * kSec + k * 1000));
    mbuf_meta(own.back().get())->pcap_cnt = 1000 + k;
    ms.push_back(own.back().get());
  }
  process_burst(*r.w, *r.snap, ms.data(), kMaxBurst, 0);
  r.alerts();
  ASSERT_GT(r.txlog.size(), before);  // the response (and its file) at the flow's end
  for (size_t i = before; i < r.txlog.size(); i++) {
    EXPECT_EQ(r.txlog[i].pcap_cnt, 0u) << i;
    EXPECT_EQ(r.txlog[i].pkt_src, kPktSrcNone) << i;
  }
}

// A flow picked up midstream on a data packet: that data is new to the
// stream wherever its sequence number lies. With a sequence number at or past
// 2^31 it was taken for a retransmission (compared with the unset next byte,
// 0) and alerted twice, as a held packet and from the stream (bittorrent.pcap,
// sid 2181: 39 alerts against Snort's 24).
TEST(Inspect, MidstreamFirstDataAlertsOnceAnywhereInSequenceSpace) {
  for (uint32_t seq : {1000u, 0x7fffffffu, 0x80000000u, 0xc5ccf44eu, 0xfffffff0u}) {
    SCOPED_TRACE(seq);
    Rig r({"alert tcp any any -> any any (msg:\"bt\"; flow:to_server,established; content:\"|13|BitTorrent protocol\"; "
           "depth:20; sid:70;)"});
    r.cseq = seq;
    r.cdata(0, "\x13" "BitTorrent protocol and the rest of the handshake");
    EXPECT_EQ(r.alerts(), (std::map<uint32_t, int>{{70, 1}}));
    r.cdata(50, "more data");  // the next segment: nothing new to match
    EXPECT_TRUE(r.alerts().empty());
  }
}

TEST(Inspect, HeaderOnlyRulesOncePerFlowDirection) {
  Rig r({"alert ip 198.18.0.2 any -> any any (msg:\"rep\"; sid:70;)",
         "alert ip any any <> 198.18.0.1 any (msg:\"rep both\"; sid:71;)",
         "alert tcp any any -> any any (msg:\"per packet\"; flowbits:isnotset,x; sid:72;)",
         "alert ip [198.18.0.0/30,10.0.0.0/8] any -> any any (msg:\"cidr\"; sid:73;)",
         "alert ip [198.18.0.4/30,198.18.0.3] any -> any any (msg:\"neighbours\"; sid:74;)"});
  r.handshake();
  r.cdata(0, "abc");
  r.sdata(0, "def");
  r.cdata(3, "ghi");
  auto a = r.alerts();
  EXPECT_EQ(a[70], 1);  // first client packet only
  EXPECT_EQ(a[71], 2);  // first packet of each direction
  EXPECT_EQ(a[72], 6);  // has a flowbit check: every packet
  EXPECT_EQ(a[73], 2);  // both endpoints are in 198.18.0.0/30: first packet each way
  EXPECT_EQ(a.count(74), 0u);
}

TEST(Inspect, HeaderOnlyRuleWithMixedAddressFamilies) {
  Rig r({"alert ip [203.0.113.9,2001:db8::1] any -> any any (msg:\"mixed list\"; sid:80;)"});
  auto v6 = [](const char* s, const char* d) {
    return pb::eth(0x86dd, pb::ipv6({.src = pb::ip6(s), .dst = pb::ip6(d), .nh = 17}, pb::udp(1000, 2000, str("x"))));
  };
  r.send(v6("2001:db8::1", "2001:db8::2"));
  r.send(v6("2001:db8::3", "2001:db8::2"));
  r.send(pb::eth(0x0800, pb::ipv4({.src = pb::ip4("203.0.113.9"), .dst = kSrv, .proto = 17}, pb::udp(1, 2, str("y")))));
  r.send(pb::eth(0x0800, pb::ipv4({.src = pb::ip4("203.0.113.8"), .dst = kSrv, .proto = 17}, pb::udp(1, 2, str("y")))));
  EXPECT_EQ(r.alerts()[80], 2);  // the listed IPv6 and IPv4 sources, not their neighbours
}

TEST(Inspect, FastPatternInEarlierChunkStillMatches) {
  // The prefilter only scans new bytes (plus a pattern's overlap); the rule
  // whose fast pattern came a chunk earlier must still alert, once.
  Rig r({"alert tcp any any -> any 80 (msg:\"two parts\"; content:\"LONG-FAST-PATTERN-HERE\"; "
         "content:\"tail2\"; distance:0; sid:90;)",
         "alert tcp any any -> any 80 (msg:\"far\"; content:\"ANOTHER-LONG-PATTERN\"; content:\"zz\"; "
         "distance:0; sid:91;)"});
  r.handshake();
  std::string a = "LONG-FAST-PATTERN-HERE" + std::string(200, '.');
  r.cdata(0, a);
  r.cdata(uint32_t(a.size()), std::string(300, '-'));  // no second part yet
  r.cdata(uint32_t(a.size() + 300), "tail2 end");
  std::string b = "ANOTHER-LONG-PATTERN" + std::string(100, '.');
  uint32_t off = uint32_t(a.size() + 300 + 9);
  r.cdata(off, b);
  r.cdata(off + uint32_t(b.size()), std::string(1500, '#'));  // pushes the pattern out of the 1 KiB tail
  r.cdata(off + uint32_t(b.size()) + 1500, "zz");
  auto al = r.alerts();
  EXPECT_EQ(al[90], 1);
  EXPECT_EQ(al.count(91), 0u);  // parts further apart than the kept window
}

TEST(Inspect, TcpFlagsRuleWithThresholdSeesEachSyn) {
  Rig r({"alert tcp any any -> any any (msg:\"syn burst\"; flags:S,12; "
         "threshold: type threshold, track by_src, count 3, seconds 60; sid:100;)",
         "alert tcp any any -> any any (msg:\"synack\"; flags:SA; sid:101;)",
         "alert tcp any any -> any any (msg:\"not ack\"; flags:!A; content:\"zz\"; sid:102;)"});
  for (uint16_t port = 1000; port < 1007; port++) {  // 7 SYNs to different ports: a scan
    r.send(pb::eth(0x0800, pb::ipv4({.src = kCli, .dst = kSrv, .proto = 6},
                                    pb::tcp({.sport = 40000, .dport = port, .seq = 1, .flags = kSyn}))));
  }
  r.handshake();
  r.cdata(0, "zz");  // PSH|ACK: flags:!A does not hold
  auto a = r.alerts();
  EXPECT_EQ(a[100], 2);  // every 3rd SYN: 3rd and 6th (the handshake's SYN is the 8th)
  EXPECT_EQ(a[101], 1);  // the SYN-ACK of the handshake
  EXPECT_EQ(a.count(102), 0u);
}

TEST(Inspect, StreamOffsetDepthPerChunk) {
  // Suricata and Snort anchor offset/depth/startswith per inspected chunk: a
  // keep-alive connection's later responses match a depth-anchored status.
  Rig r({"alert tcp any 80 -> any any (msg:\"403\"; content:\"HTTP/1.1 403\"; depth:12; sid:120;)",
         "alert tcp any any -> any 80 (msg:\"et style\"; content:\"cmd=\"; offset:0; depth:1460; sid:121;)",
         "alert tcp any any -> any 80 (msg:\"starts\"; content:\"GET \"; startswith; sid:122;)",
         "alert tcp any any -> any 80 (msg:\"data at\"; content:\"GET\"; depth:3; isdataat:!20; sid:123;)"});
  r.handshake();
  std::string rq = "GET /a HTTP/1.1\r\n\r\n";  // 19 bytes: isdataat:!20 holds per chunk
  std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  std::string no = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
  uint32_t c = 0, s = 0;
  for (const std::string* resp : {&ok, &no, &ok, &no, &no}) {
    r.cdata(c, rq);
    c += uint32_t(rq.size());
    r.sdata(s, *resp);
    s += uint32_t(resp->size());
  }
  r.cdata(c, "POST /x HTTP/1.1\r\n\r\ncmd=1");
  c += 25;
  r.cdata(c, "padding GET ");  // "GET " not at the chunk start
  auto a = r.alerts();
  EXPECT_EQ(a[120], 3);  // the 2nd, 4th and 5th responses
  EXPECT_EQ(a[121], 1);  // at 20 of the 6th request chunk (stream offset 115)
  EXPECT_EQ(a[122], 5);
  EXPECT_EQ(a[123], 5);
}

TEST(Inspect, StreamDepthDoesNotReachIntoTheTail) {
  Rig r({"alert tcp any any -> any 80 (msg:\"anchored\"; content:\"magic\"; depth:10; sid:125;)",
         "alert tcp any any -> any 80 (msg:\"split\"; content:\"spl\"; content:\"it!\"; distance:0; sid:126;)"});
  r.handshake();
  r.cdata(0, "xx magic");         // first chunk: within depth
  r.cdata(8, "0123456789 magic");  // at 11 of this chunk: beyond depth 10
  r.cdata(24, "spl");
  r.cdata(27, "it! ");             // unanchored contents still match across chunks
  auto a = r.alerts();
  EXPECT_EQ(a[125], 1);
  EXPECT_EQ(a[126], 1);
}

TEST(Inspect, TcpFastOpenSynDataIsInspected) {
  Rig r({"alert tcp any any -> any 80 (msg:\"tfo\"; content:\"GET /tfo\"; startswith; sid:127;)",
         "alert tcp any any -> any 80 (msg:\"after\"; content:\"more\"; sid:128;)"});
  std::string syn = "GET /tfo HTTP/1.1\r\n\r\n";
  r.send(r.tcp(true, kSyn, r.cseq, Bytes(syn.begin(), syn.end())));
  r.cseq += 1;
  r.send(r.tcp(false, kSyn | kAck, r.sseq++));
  r.cdata(uint32_t(syn.size()), "more");
  r.send(r.tcp(true, kSyn, r.cseq - 1, Bytes(syn.begin(), syn.end())));  // retransmitted SYN: old data
  auto a = r.alerts();
  EXPECT_EQ(a[127], 1);
  EXPECT_EQ(a[128], 1);
}

TEST(Inspect, RulesWithoutContentPerPacketUnlessIpOnly) {
  // Suricata's rule types: a rule with only addresses and ports is IP-only
  // (once per flow direction; ports measured with suricata -r 7.0.10); a flow
  // keyword or a negated address make it a packet rule, inspected on every packet.
  Rig r({"alert tcp any any -> any 80 (msg:\"ports\"; sid:130;)",
         "alert tcp any any -> any any (msg:\"ip only\"; sid:131;)",
         "alert tcp any any -> any any (msg:\"flow\"; flow:to_server; sid:132;)",
         "alert tcp any any -> ![198.18.0.9] any (msg:\"like ip only\"; sid:133;)",
         "alert udp any any -> any any (msg:\"UDP no flow direction\"; sid:1601;)",
         "alert udp any any -> any any (msg:\"UDP with flow direction\"; flow:to_server; sid:1001;)"});
  r.handshake();
  r.cdata(0, "abc");
  r.sdata(0, "def");
  r.cdata(3, "ghi");
  for (int i = 0; i < 3; i++)
    r.send(pb::eth(0x0800, pb::ipv4({.src = kCli, .dst = kSrv, .proto = 17}, pb::udp(5000, 53, str("q")))));
  auto a = r.alerts();
  EXPECT_EQ(a[130], 1);  // the client's first packet (the server's direction does not match the port)
  EXPECT_EQ(a[131], 2);
  EXPECT_EQ(a[132], 4);
  EXPECT_EQ(a[133], 6);
  EXPECT_EQ(a[1601], 1);  // documented as IP-only
  EXPECT_EQ(a[1001], 3);  // documented as a packet rule
}
