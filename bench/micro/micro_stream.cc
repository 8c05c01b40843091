// Microbenchmarks: TCP reassembly (dataplane/stream), one direction, 1460-byte segments.
//   stream_inorder            every segment in order: the zero-copy fast path
//   stream_reorder/<pct>      pct% of segments swapped with their successor: the first of
//                             each pair is copied into chunks, then drained
//   stream_after_depth        segments after the direction reached its depth
// The delivery callback only sums lengths, so the figures are reassembly's own cost.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>

#include <random>
#include <vector>

#include "dataplane/stream/reassembly.h"

namespace spectre::micro {
namespace {

constexpr uint32_t kMss = 1460;

void sink(void* u, const uint8_t*, uint32_t len, uint32_t gap) {
  *static_cast<uint64_t*>(u) += len + gap;
}

void BM_InOrder(benchmark::State& st) {
  std::vector<uint8_t> data(kMss, 0x41);
  SegmentPool pool(1024);
  StreamConfig cfg;
  cfg.depth = 0;
  StreamDir d{};
  StreamCounters ctr{};
  uint64_t got = 0;
  uint32_t seq = 0xfff00000u;  // wraps during the run
  stream_segment(d, pool, cfg, seq, 0x02, nullptr, 0, ctr, sink, &got);
  seq++;
  uint64_t t0 = rte_rdtsc();
  for (auto _ : st) {
    stream_segment(d, pool, cfg, seq, 0x10, data.data(), kMss, ctr, sink, &got);
    seq += kMss;
  }
  st.counters["tsc_cycles"] = double(rte_rdtsc() - t0) / double(st.iterations());
  st.SetBytesProcessed(int64_t(st.iterations()) * kMss);
  if (got != uint64_t(st.iterations()) * kMss || ctr.gaps) st.SkipWithError("lost data");
}

void BM_Reorder(benchmark::State& st) {
  const uint32_t pct = uint32_t(st.range(0));
  constexpr uint32_t kN = 1024;  // order pattern, repeated
  std::vector<uint32_t> order(kN);
  for (uint32_t i = 0; i < kN; i++) order[i] = i;
  std::mt19937 rng(1);
  for (uint32_t i = 0; i + 1 < kN; i++)
    if (rng() % 100 < pct) {
      std::swap(order[i], order[i + 1]);
      i++;
    }
  std::vector<uint8_t> data(kMss, 0x42);
  SegmentPool pool(1024);
  StreamConfig cfg;
  cfg.depth = 0;
  StreamDir d{};
  StreamCounters ctr{};
  uint64_t got = 0;
  const uint32_t isn = 12345;
  stream_segment(d, pool, cfg, isn, 0x02, nullptr, 0, ctr, sink, &got);
  uint32_t k = 0, base = isn + 1;
  uint64_t t0 = rte_rdtsc();
  for (auto _ : st) {
    stream_segment(d, pool, cfg, base + order[k] * kMss, 0x10, data.data(), kMss, ctr, sink, &got);
    if (++k == kN) {
      k = 0;
      base += kN * kMss;
    }
  }
  st.counters["tsc_cycles"] = double(rte_rdtsc() - t0) / double(st.iterations());
  st.counters["ooo_pct"] = 100.0 * double(ctr.ooo_segments) / double(ctr.segments);
  st.SetBytesProcessed(int64_t(st.iterations()) * kMss);
  const bool gaps = ctr.gaps != 0;  // (finish may skip one hole: the run can stop mid-pair)
  stream_finish(d, pool, ctr, sink, &got);
  if (gaps || pool.free_chunks() != pool.chunks()) st.SkipWithError("lost data");
}

void BM_AfterDepth(benchmark::State& st) {
  std::vector<uint8_t> data(kMss, 0x43);
  SegmentPool pool(16);
  StreamConfig cfg;
  cfg.depth = kMss;
  StreamDir d{};
  StreamCounters ctr{};
  uint64_t got = 0;
  uint32_t seq = 1;
  stream_segment(d, pool, cfg, seq, 0x10, data.data(), kMss, ctr, sink, &got);
  seq += kMss;
  uint64_t t0 = rte_rdtsc();
  for (auto _ : st) {
    stream_segment(d, pool, cfg, seq, 0x10, data.data(), kMss, ctr, sink, &got);
    seq += kMss;
  }
  st.counters["tsc_cycles"] = double(rte_rdtsc() - t0) / double(st.iterations());
  if (got != kMss) st.SkipWithError("depth not honored");
}

BENCHMARK(BM_InOrder)->Name("stream_inorder");
BENCHMARK(BM_Reorder)->Name("stream_reorder")->ArgName("pct")->Arg(10)->Arg(50);
BENCHMARK(BM_AfterDepth)->Name("stream_after_depth");

}  // namespace
}  // namespace spectre::micro
