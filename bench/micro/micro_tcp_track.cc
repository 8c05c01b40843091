// Microbenchmarks: the TCP session tracker (dataplane/stream/tcp_track.h), the
// per-packet state machine behind stream-event rules.
//   tcp_track_established   an established session: a 1460-byte data packet
//                           to the server, then the server's ACK (the hot path)
//   tcp_track_mix           64 sessions interleaved, each: 3-way handshake,
//                           two data packets each way with their ACKs, and a
//                           close (FIN, ACK, FIN, ACK); then anew
// tsc_cycles is per packet (TSC cycles, so comparable across runs on one
// machine); events counts the stream events raised (0: clean traffic).
#include <benchmark/benchmark.h>
#include <rte_cycles.h>

#include <array>
#include <vector>

#include "dataplane/stream/tcp_track.h"

namespace spectre::micro {
namespace {

constexpr uint8_t kF = 0x01, kS = 0x02, kP = 0x08, kA = 0x10;
constexpr uint16_t kMss = 1460, kWin = 65535;

struct Step {
  int dir;
  uint8_t flags;
  uint32_t seq, ack;  // relative to the client's / server's ISN
  uint16_t len;
};

// One session, client ISN c, server ISN s (offsets added at run time).
const std::vector<Step>& session_steps() {
  static const std::vector<Step> k = [] {
    std::vector<Step> v = {{0, kS, 0, 0, 0}, {1, kS | kA, 0, 1, 0}, {0, kA, 1, 1, 0}};
    uint32_t c = 1, s = 1;
    for (int i = 0; i < 2; i++) {
      v.push_back({0, kP | kA, c, s, kMss});
      c += kMss;
      v.push_back({1, kA, s, c, 0});
      v.push_back({1, kP | kA, s, c, kMss});
      s += kMss;
      v.push_back({0, kA, c, s, 0});
    }
    v.push_back({0, kF | kA, c, s, 0});
    v.push_back({1, kA, s, c + 1, 0});
    v.push_back({1, kF | kA, s, c + 1, 0});
    v.push_back({0, kA, c + 1, s + 1, 0});
    return v;
  }();
  return k;
}

void BM_Established(benchmark::State& st) {
  TcpTrack t{};
  const TcpTrackCfg cfg{};
  uint32_t c = 1000, s = 500000;
  uint64_t ev = tcp_track(t, TcpTrackPkt{c, 0, kWin, 0, kS}, 0, cfg);
  ev |= tcp_track(t, TcpTrackPkt{s, c + 1, kWin, 0, kS | kA}, 1, cfg);
  c++, s++;
  ev |= tcp_track(t, TcpTrackPkt{c, s, kWin, 0, kA}, 0, cfg);
  const uint64_t t0 = rte_rdtsc();
  for (auto _ : st) {
    ev |= tcp_track(t, TcpTrackPkt{c, s, kWin, kMss, kP | kA}, 0, cfg);
    c += kMss;
    ev |= tcp_track(t, TcpTrackPkt{s, c, kWin, 0, kA}, 1, cfg);
    benchmark::DoNotOptimize(t);
  }
  st.counters["tsc_cycles"] = double(rte_rdtsc() - t0) / double(2 * st.iterations());
  st.counters["events"] = double(ev != 0);
  st.SetItemsProcessed(int64_t(2 * st.iterations()));
}

void BM_Mix(benchmark::State& st) {
  constexpr int kSessions = 64;
  std::array<TcpTrack, kSessions> tr{};
  const TcpTrackCfg cfg{};
  const std::vector<Step>& steps = session_steps();
  uint32_t base = 1000;
  size_t k = 0;
  uint64_t ev = 0, pkts = 0;
  const uint64_t t0 = rte_rdtsc();
  for (auto _ : st) {
    const Step& x = steps[k];
    for (int i = 0; i < kSessions; i++) {  // the same step in every session, as interleaved flows
      const uint32_t c = base + uint32_t(i) * 7919u, s = c * 3u;
      const uint32_t seq = x.dir ? s + x.seq : c + x.seq;
      const uint32_t ack = (x.flags & kA) ? (x.dir ? c + x.ack : s + x.ack) : 0;
      ev |= tcp_track(tr[size_t(i)], TcpTrackPkt{seq, ack, kWin, x.len, x.flags}, x.dir, cfg);
    }
    pkts += kSessions;
    if (++k == steps.size()) {  // all closed: start new sessions on fresh ISNs
      k = 0;
      base += 1000003u;
      tr.fill(TcpTrack{});
    }
    benchmark::DoNotOptimize(tr);
  }
  st.counters["tsc_cycles"] = double(rte_rdtsc() - t0) / double(pkts);
  st.counters["events"] = double(ev != 0);
  st.SetItemsProcessed(int64_t(pkts));
}

}  // namespace

BENCHMARK(BM_Established)->Name("tcp_track_established");
BENCHMARK(BM_Mix)->Name("tcp_track_mix");

}  // namespace spectre::micro
