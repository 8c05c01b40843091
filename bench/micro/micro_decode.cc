// Microbenchmarks: decode_frame, flow_hash and dispatch_hash over 256
// rotating frames (different addresses/ports, same layout). Each reports
// items/s and "tsc_cycles" per call (TSC cycles measured around the loop).
#include <new>
#include <benchmark/benchmark.h>
#include <rte_cycles.h>

#include <vector>

#include "bench/micro/frames.h"
#include "dataplane/decode/decode.h"

namespace spectre::micro {
namespace {

constexpr uint32_t kFrames = 256;
constexpr uint32_t kStride = 128;

struct FrameSet {
  std::vector<uint8_t> buf;
  uint32_t len = 0;
  const uint8_t* at(uint64_t i) const { return buf.data() + (i & (kFrames - 1)) * kStride; }
};

FrameSet make_set(std::vector<uint8_t> (*make)(uint32_t)) {
  FrameSet s;
  s.buf.resize(kFrames * kStride);
  for (uint32_t i = 0; i < kFrames; i++) {
    std::vector<uint8_t> f = make(i);
    s.len = uint32_t(f.size());
    std::copy(f.begin(), f.end(), s.buf.begin() + i * kStride);
  }
  return s;
}

void set_cycles(benchmark::State& st, uint64_t t0) {
  uint64_t dt = rte_rdtsc() - t0;
  if (st.iterations()) st.counters["tsc_cycles"] = double(dt) / double(st.iterations());
  st.SetItemsProcessed(int64_t(st.iterations()));
}

void decode_bench(benchmark::State& st, std::vector<uint8_t> (*make)(uint32_t)) {
  FrameSet s = make_set(make);
  DecodeCounters c{};
  PacketInfo pi;
  uint64_t i = 0;
  uint64_t t0 = rte_rdtsc();
  for (auto _ : st) {
    new (&pi) PacketInfo;  // as process_burst does for each packet
    DecodeStatus r = decode_frame(s.at(i++), s.len, kLinkEthernet, pi, c);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(pi.hash);
  }
  set_cycles(st, t0);
  if (c.malformed_total) st.SkipWithError("frame decoded as malformed");
}

void BM_DecodeIpv4Tcp(benchmark::State& st) { decode_bench(st, ipv4_tcp_frame); }
void BM_DecodeIpv6Udp(benchmark::State& st) { decode_bench(st, ipv6_udp_frame); }
BENCHMARK(BM_DecodeIpv4Tcp)->Name("decode_frame/ipv4_tcp_ts");
BENCHMARK(BM_DecodeIpv6Udp)->Name("decode_frame/ipv6_udp");

void BM_FlowHash(benchmark::State& st) {
  FrameSet s = make_set(ipv4_tcp_frame);
  std::vector<FlowKey> keys(kFrames);
  DecodeCounters c{};
  for (uint32_t i = 0; i < kFrames; i++) {
    PacketInfo pi;
    decode_frame(s.at(i), s.len, kLinkEthernet, pi, c);
    keys[i] = pi.key;
  }
  uint64_t i = 0;
  uint64_t t0 = rte_rdtsc();
  for (auto _ : st) {
    uint32_t h = flow_hash(keys[i++ & (kFrames - 1)]);
    benchmark::DoNotOptimize(h);
  }
  set_cycles(st, t0);
}
BENCHMARK(BM_FlowHash)->Name("flow_hash/48B_key");

void dispatch_bench(benchmark::State& st, std::vector<uint8_t> (*make)(uint32_t)) {
  FrameSet s = make_set(make);
  uint64_t i = 0, zero = 0;
  uint64_t t0 = rte_rdtsc();
  for (auto _ : st) {
    uint32_t h = dispatch_hash(s.at(i++), s.len, kLinkEthernet);
    zero += h == 0;
    benchmark::DoNotOptimize(h);
  }
  set_cycles(st, t0);
  if (zero) st.SkipWithError("dispatch_hash returned 0 for an IP frame");
}
void BM_DispatchIpv4(benchmark::State& st) { dispatch_bench(st, ipv4_tcp_frame); }
void BM_DispatchIpv6(benchmark::State& st) { dispatch_bench(st, ipv6_udp_frame); }
BENCHMARK(BM_DispatchIpv4)->Name("dispatch_hash/ipv4");
BENCHMARK(BM_DispatchIpv6)->Name("dispatch_hash/ipv6");

}  // namespace
}  // namespace spectre::micro
