// Worker pipeline (decode -> defrag -> flow -> events) over hand-made mbufs:
// no EAL or mempool needed, only the fields process_burst() reads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <tuple>
#include <memory>
#include <vector>

#include "dataplane/core/worker.h"
#include "tests/unit/mbufs.h"
#include "tests/unit/pktbuild.h"

namespace spectre {
namespace {

using pb::Bytes;
constexpr uint64_t kMs = 1000000ull, kSec = 1000000000ull;

using testutil::make_mbuf;
using testutil::MbufPtr;

struct Pkt {
  Bytes frame;
  uint64_t ts;
};

struct Rig {
  explicit Rig(Config cfg = {}, uint32_t max_flows = 64)
      : w(std::make_unique<WorkerCtx>(uint16_t(3), max_flows, DefragConfig{}, 1024)),
        snap(build_snapshot(cfg, 1)) {}
  std::unique_ptr<WorkerCtx> w;
  std::unique_ptr<Snapshot> snap;

  void burst(const std::vector<Pkt>& pkts) {
    std::vector<MbufPtr> own;
    std::vector<rte_mbuf*> ms;
    for (const Pkt& p : pkts) {
      own.push_back(make_mbuf(p.frame, p.ts));
      ms.push_back(own.back().get());
    }
    process_burst(*w, *snap, ms.data(), uint16_t(ms.size()), 0);
  }
  std::vector<FlowRecord> drain() {
    std::vector<FlowRecord> out;
    Event e;
    while (w->events.pop(e)) out.push_back(e.flow);
    return out;
  }
};

const pb::Ip4 kClient = pb::ip4("10.0.0.2"), kServer = pb::ip4("10.0.0.1");  // client sorts higher

Bytes tcp(bool to_server, uint8_t flags, Bytes payload = {}) {
  pb::Ip4 s = to_server ? kClient : kServer, d = to_server ? kServer : kClient;
  uint16_t sp = to_server ? 40000 : 80, dp = to_server ? 80 : 40000;
  return pb::eth(0x0800, pb::ipv4({.src = s, .dst = d, .proto = 6},
                                  pb::tcp({.sport = sp, .dport = dp, .flags = flags, .payload = payload})));
}
Bytes udp(uint16_t sport, uint16_t dport = 53, size_t n = 10) {
  return pb::eth(0x0800, pb::ipv4({.src = kClient, .dst = kServer, .proto = 17}, pb::udp(sport, dport, pb::pattern(n))));
}

bool addr_is(const uint8_t (&a)[16], const pb::Ip4& want) {
  uint8_t z[12] = {};
  return std::memcmp(a, want.data(), 4) == 0 && std::memcmp(a + 4, z, 12) == 0;
}

TEST(Worker, TcpHandshakeToCloseInitiatorFirst) {
  Rig rig;
  std::vector<Pkt> p = {
      {tcp(true, kSyn), 1 * kSec},
      {tcp(false, kSyn | kAck), 1 * kSec + 1 * kMs},
      {tcp(true, kAck), 1 * kSec + 2 * kMs},
      {tcp(true, kPsh | kAck, pb::pattern(100)), 1 * kSec + 3 * kMs},
      {tcp(false, kAck), 1 * kSec + 4 * kMs},
      {tcp(true, kFin | kAck), 1 * kSec + 5 * kMs},
      {tcp(false, kFin | kAck), 1 * kSec + 6 * kMs},
      {tcp(true, kAck), 1 * kSec + 7 * kMs},
  };
  rig.burst(p);
  EXPECT_EQ(rig.w->flows.size(), 1u);
  EXPECT_TRUE(rig.drain().empty());
  worker_flush(*rig.w);
  std::vector<FlowRecord> ev = rig.drain();
  ASSERT_EQ(ev.size(), 1u);
  const FlowRecord& r = ev[0];
  EXPECT_TRUE(addr_is(r.src, kClient));
  EXPECT_TRUE(addr_is(r.dst, kServer));
  EXPECT_EQ(r.sport, 40000);
  EXPECT_EQ(r.dport, 80);
  EXPECT_EQ(r.pkts[0], 5u);
  EXPECT_EQ(r.pkts[1], 3u);
  EXPECT_EQ(r.bytes[0], 4 * 54u + 154u);
  EXPECT_EQ(r.bytes[1], 3 * 54u);
  EXPECT_EQ(r.first_ts, 1 * kSec);
  EXPECT_EQ(r.last_ts, 1 * kSec + 7 * kMs);
  EXPECT_EQ(r.tcp_flags_ts, kSyn | kAck | kPsh | kFin);
  EXPECT_EQ(r.tcp_flags_tc, kSyn | kAck | kFin);
  EXPECT_EQ(r.tcp_state, TcpState::kClosed);
  EXPECT_EQ(r.reason, EndReason::kShutdown);
  EXPECT_EQ(r.flags & (kFlowSeenToServer | kFlowSeenToClient | kFlowFinToServer | kFlowFinToClient | kFlowMidstream),
            kFlowSeenToServer | kFlowSeenToClient | kFlowFinToServer | kFlowFinToClient);
  EXPECT_EQ(r.ip_ver, 4);
  EXPECT_EQ(r.proto, 6);
  EXPECT_EQ(r.worker, 3);
  EXPECT_NE(r.flow_id, 0u);
  EXPECT_LT(r.flow_id, 1ull << 51);
  EXPECT_EQ(rig.w->ctr.dec.pkts, 8u);
  EXPECT_EQ(rig.w->ctr.dec.bytes, 7 * 54u + 154u);
  EXPECT_EQ(rig.w->ctr.flow.created, 1u);
  EXPECT_EQ(rig.w->ctr.flow.ended_shutdown, 1u);
  EXPECT_EQ(rig.w->ctr.flow.active, 0u);
  EXPECT_EQ(rig.w->flows.size(), 0u);
}

TEST(Worker, SynAckSeenFirstMakesReceiverTheInitiator) {
  Rig rig;
  rig.burst({{tcp(false, kSyn | kAck), kSec}, {tcp(true, kAck), kSec + kMs}});
  worker_flush(*rig.w);
  std::vector<FlowRecord> ev = rig.drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(addr_is(ev[0].src, kClient));
  EXPECT_EQ(ev[0].sport, 40000);
  EXPECT_EQ(ev[0].pkts[0], 1u);  // the ACK, to server
  EXPECT_EQ(ev[0].pkts[1], 1u);  // the SYN-ACK, to client
  EXPECT_EQ(ev[0].tcp_state, TcpState::kEstablished);
}

TEST(Worker, MidstreamFlowAndSameFlowAcrossBursts) {
  Rig rig;
  rig.burst({{tcp(false, kAck, pb::pattern(10)), kSec}});
  rig.burst({{tcp(true, kAck), 2 * kSec}});
  worker_flush(*rig.w);
  std::vector<FlowRecord> ev = rig.drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(addr_is(ev[0].src, kServer));  // first packet's sender
  EXPECT_NE(ev[0].flags & kFlowMidstream, 0);
  EXPECT_EQ(ev[0].pkts[0], 1u);
  EXPECT_EQ(ev[0].pkts[1], 1u);
}

TEST(Worker, FragmentedUdpIsOneFlowPacket) {
  Bytes body = pb::udp(5353, 53, pb::pattern(40));  // 48 bytes
  auto frag = [&](uint16_t off, size_t n, bool mf) {
    return pb::eth(0x0800, pb::ipv4({.src = kClient, .dst = kServer, .proto = 17, .id = 42, .frag_off = off, .mf = mf},
                                    pb::slice(body, off, n)));
  };
  Bytes f1 = frag(0, 24, true), f2 = frag(24, 24, false);
  for (bool split : {false, true}) {
    SCOPED_TRACE(split ? "two bursts" : "one burst");
    Rig rig;
    if (split) {
      rig.burst({{f2, kSec}});
      EXPECT_EQ(rig.w->flows.size(), 0u);
      EXPECT_EQ(rig.w->defrag.in_flight(), 1u);
      rig.burst({{f1, kSec + kMs}});
    } else {
      rig.burst({{f1, kSec}, {f2, kSec + kMs}});
    }
    EXPECT_EQ(rig.w->defrag.in_flight(), 0u);  // released at the end of the burst
    worker_flush(*rig.w);
    std::vector<FlowRecord> ev = rig.drain();
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].proto, 17);
    EXPECT_EQ(ev[0].sport, 5353);
    EXPECT_EQ(ev[0].dport, 53);
    EXPECT_EQ(ev[0].pkts[0], 1u);
    EXPECT_EQ(ev[0].bytes[0], f1.size() + f2.size());
    EXPECT_EQ(rig.w->ctr.dec.ipv4_frags, 2u);
    EXPECT_EQ(rig.w->ctr.dec.pkts, 2u);
  }
}

TEST(Worker, TimeoutByTickAndByLatePacket) {
  Config cfg;
  cfg.timeouts_s[kTmoUdp] = 5;
  Rig rig(cfg);
  rig.burst({{udp(1000), 1 * kSec}, {udp(2000), 3 * kSec}});
  worker_tick(*rig.w, *rig.snap, 6 * kSec);  // flow 1000 idle exactly 5 s: kept
  EXPECT_TRUE(rig.drain().empty());
  worker_tick(*rig.w, *rig.snap, 6 * kSec + 1);
  std::vector<FlowRecord> ev = rig.drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].sport, 1000);
  EXPECT_EQ(ev[0].reason, EndReason::kTimeout);
  EXPECT_EQ(rig.w->ctr.flow.ended_timeout, 1u);

  // A packet arriving after the timeout, before any tick, ends the old flow first.
  rig.burst({{udp(2000), 9 * kSec}});
  ev = rig.drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].sport, 2000);
  EXPECT_EQ(ev[0].reason, EndReason::kTimeout);
  EXPECT_EQ(ev[0].last_ts, 3 * kSec);
  EXPECT_EQ(rig.w->flows.size(), 1u);
  worker_flush(*rig.w);
  ev = rig.drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].first_ts, 9 * kSec);
  EXPECT_EQ(ev[0].reason, EndReason::kShutdown);
}

// Offline, the same packets give the same flow records however they are cut
// into bursts and however often the loop ticks: timeouts are swept every 32
// packets at that packet's time, and at the end at the last packet's time.
// Some packets are 10 s behind the others (as in merged or generated captures).
TEST(Worker, OfflineRecordsDoNotDependOnBurstsOrTicks) {
  Config cfg;
  cfg.timeouts_s[kTmoUdp] = 5;
  std::vector<Pkt> pkts;
  for (uint64_t k = 0; k < 300; k++) {
    uint16_t flow = uint16_t(1000 + (k * 7) % 20);
    if (k >= 60 && flow >= 1015) continue;  // these go quiet and time out
    uint64_t ts = 20 * kSec + k * 100 * kMs - (k % 50 == 49 ? 10 * kSec : 0);
    pkts.push_back({udp(flow), ts});
  }
  auto run = [&](size_t per_burst, bool tick) {
    Rig rig(cfg);
    std::vector<std::tuple<uint16_t, EndReason, uint64_t, uint64_t, uint64_t>> out;
    for (size_t i = 0; i < pkts.size(); i += per_burst) {
      rig.burst(std::vector<Pkt>(pkts.begin() + long(i), pkts.begin() + long(std::min(pkts.size(), i + per_burst))));
      if (tick) worker_tick(*rig.w, *rig.snap, 0);
    }
    worker_flush(*rig.w);
    for (const FlowRecord& r : rig.drain()) out.emplace_back(r.sport, r.reason, r.first_ts, r.last_ts, r.pkts[0]);
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto ref = run(kMaxBurst, false);
  size_t timeouts = 0, shutdowns = 0;
  for (const auto& r : ref) (std::get<1>(r) == EndReason::kTimeout ? timeouts : shutdowns)++;
  EXPECT_GE(timeouts, 5u);  // the quiet flows at least
  EXPECT_EQ(shutdowns, 15u);
  for (size_t per : {size_t(1), size_t(5), size_t(31), size_t(kMaxBurst)})
    for (bool tick : {false, true}) {
      SCOPED_TRACE(testing::Message() << per << " per burst, tick " << tick);
      EXPECT_EQ(run(per, tick), ref);
    }
}

// A later -r input that starts earlier than the newest time seen begins a new
// epoch: the earlier input's flows end (as at shutdown), and the new input's
// flows are timed out on its own clock, not killed by the old one.
TEST(Worker, EarlierInputStartsANewEpoch) {
  Config cfg;
  cfg.timeouts_s[kTmoUdp] = 5;
  Rig rig(cfg);
  auto file_burst = [&](uint16_t file, const std::vector<Pkt>& pkts) {
    std::vector<MbufPtr> own;
    std::vector<rte_mbuf*> ms;
    for (const Pkt& p : pkts) {
      own.push_back(make_mbuf(p.frame, p.ts));
      mbuf_meta(own.back().get())->file_idx = file;
      ms.push_back(own.back().get());
    }
    process_burst(*rig.w, *rig.snap, ms.data(), uint16_t(ms.size()), 0);
    worker_tick(*rig.w, *rig.snap, 0);
  };
  file_burst(1, {{udp(1000), 1000 * kSec}, {udp(1000), 1001 * kSec}});
  file_burst(2, {{udp(2000), 10 * kSec}});
  std::vector<FlowRecord> ev = rig.drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].sport, 1000);
  EXPECT_EQ(ev[0].reason, EndReason::kShutdown);
  file_burst(2, {{udp(2000), 12 * kSec}});
  EXPECT_TRUE(rig.drain().empty());
  // A later input that continues in time (a rotated capture) keeps its flows.
  file_burst(3, {{udp(2000), 14 * kSec}});
  EXPECT_TRUE(rig.drain().empty());
  worker_flush(*rig.w);
  ev = rig.drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].pkts[0], 3u);
  EXPECT_EQ(ev[0].reason, EndReason::kShutdown);
}

TEST(Worker, TcpReuseAfterCloseInOneBurst) {
  Rig rig;
  rig.burst({{tcp(true, kSyn), kSec}, {tcp(false, kSyn | kAck), kSec + 1}, {tcp(true, kAck), kSec + 2}});
  // RST, then a new SYN on the same 5-tuple, then its SYN-ACK: all in one burst.
  rig.burst({{tcp(true, kRst), 2 * kSec}, {tcp(true, kSyn), 2 * kSec + 1}, {tcp(false, kSyn | kAck), 2 * kSec + 2}});
  std::vector<FlowRecord> ev = rig.drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, EndReason::kForced);
  EXPECT_EQ(ev[0].pkts[0], 3u);
  EXPECT_EQ(ev[0].pkts[1], 1u);
  EXPECT_EQ(ev[0].tcp_state, TcpState::kClosed);
  worker_flush(*rig.w);
  ev = rig.drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].first_ts, 2 * kSec + 1);
  EXPECT_EQ(ev[0].pkts[0], 1u);
  EXPECT_EQ(ev[0].pkts[1], 1u);
  EXPECT_EQ(ev[0].tcp_state, TcpState::kSynRecv);
}

TEST(Worker, FullTableEvictsOldest) {
  Rig rig(Config{}, 2);
  rig.burst({{udp(1), 1 * kSec}, {udp(2), 2 * kSec}, {udp(3), 3 * kSec}});
  std::vector<FlowRecord> ev = rig.drain();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].sport, 1);
  EXPECT_EQ(ev[0].reason, EndReason::kForced);
  EXPECT_EQ(rig.w->ctr.flow.evicted, 1u);
  EXPECT_EQ(rig.w->ctr.flow.active, 2u);
  EXPECT_EQ(rig.w->ctr.flow_insert_failed, 0u);
}

TEST(Worker, NonIpAndMalformedMakeNoFlows) {
  Rig rig;
  Bytes arp = pb::eth(0x0806, pb::fill(28, 0));
  Bytes bad = udp(1);
  bad.resize(30);
  rig.burst({{arp, kSec}, {bad, kSec}});
  EXPECT_EQ(rig.w->flows.size(), 0u);
  EXPECT_EQ(rig.w->ctr.dec.not_ip, 1u);
  EXPECT_EQ(rig.w->ctr.dec.malformed_total, 1u);
  EXPECT_EQ(rig.w->ctr.dec.malformed[kIpv4Trunc], 1u);
  EXPECT_EQ(rig.w->ctr.dec.pkts, 2u);
}


// A detector added to the worker's bus, as a newcomer would: it sees each flow
// start and end, the end before the flow's record is written, and the
// records are those of a worker without it.
struct Seen {
  WorkerCtx* w;
  std::vector<uint16_t> started, ended;
  std::vector<size_t> records_before;  // records already in the ring at each end
  std::vector<EndReason> why;
};
void seen_start(void* c, const bus::FlowStart& m) {
  static_cast<Seen*>(c)->started.push_back(flow_ends(m.f).sport);
}
void seen_end(void* c, const bus::FlowEnd& m) {
  auto* s = static_cast<Seen*>(c);
  s->ended.push_back(flow_ends(m.f).sport);
  s->why.push_back(m.why);
  s->records_before.push_back(s->w->ctr.flow.ended_forced + s->w->ctr.flow.ended_shutdown);
}

TEST(Worker, NewBusSubscriberSeesStartsAndEndsBeforeTheRecord) {
  Rig plain(Config{}, 2), rig(Config{}, 2);
  Seen seen{rig.w.get(), {}, {}, {}, {}};
  ASSERT_TRUE(rig.w->bus.flow_start.subscribe(seen_start, &seen, bus::kRankIntel + 1));
  ASSERT_TRUE(rig.w->bus.flow_end.subscribe(seen_end, &seen, bus::kRankIntel + 1));
  std::vector<Pkt> p = {{udp(1), 1 * kSec}, {udp(2), 2 * kSec}, {udp(3), 3 * kSec}};  // 3 evicts 1
  for (Rig* r : {&plain, &rig}) {
    r->burst(p);
    worker_flush(*r->w);
  }
  EXPECT_EQ(seen.started, (std::vector<uint16_t>{1, 2, 3}));
  EXPECT_EQ(seen.ended, (std::vector<uint16_t>{1, 2, 3}));
  EXPECT_EQ(seen.why, (std::vector<EndReason>{EndReason::kForced, EndReason::kShutdown, EndReason::kShutdown}));
  EXPECT_EQ(seen.records_before, (std::vector<size_t>{0, 1, 2}));  // the output subscriber runs after it
  std::vector<FlowRecord> a = plain.drain(), b = rig.drain();
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (size_t i = 0; i < a.size(); i++) {
    EXPECT_EQ(a[i].flow_id, b[i].flow_id) << i;
    EXPECT_EQ(a[i].sport, b[i].sport) << i;
    EXPECT_EQ(a[i].pkts[0], b[i].pkts[0]) << i;
    EXPECT_EQ(a[i].reason, b[i].reason) << i;
  }
}

}  // namespace
}  // namespace spectre
