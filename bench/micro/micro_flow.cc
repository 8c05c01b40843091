// Microbenchmarks: FlowTable::lookup hits, keys in random order.
//   flow_lookup_hit/<flows>/<capacity>        one lookup per iteration
//   flow_lookup_burst32/<flows>/<capacity>    process_burst's pattern: prefetch the
//                                             buckets of 32 keys, then look them up
// Capacity matters: the bucket array is sized from it (the daemon's default is
// 1M flows in total), so 100k flows in a 1M table touch a 16 MiB bucket array.
#include <benchmark/benchmark.h>
#include <rte_cycles.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <vector>

#include "dataplane/flow/flow_table.h"

namespace spectre::micro {
namespace {

struct Entry {
  FlowKey key;
  uint32_t hash;
};

struct Setup {
  std::unique_ptr<FlowTable> table;
  std::vector<Entry> order;  // every inserted key once, shuffled
};

// Tables are built once per (flows, capacity) and reused across repetitions.
const Setup& setup(uint32_t n, uint32_t cap) {
  static std::map<std::pair<uint32_t, uint32_t>, std::unique_ptr<Setup>> cache;
  auto& s = cache[{n, cap}];
  if (s) return *s;
  s = std::make_unique<Setup>();
  s->table = std::make_unique<FlowTable>(cap);
  s->order.resize(n);
  const uint16_t novlan[2] = {0, 0};
  uint64_t evicted = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t a[4] = {198, 18, uint8_t(i >> 8), uint8_t(i)};
    uint32_t h = i * 2654435761u;
    uint8_t b[4] = {198, 19, uint8_t(h >> 24), uint8_t(h >> 16)};
    Entry& e = s->order[i];
    make_flow_key(e.key, a, b, 4, uint16_t(10000 + (i >> 16)), 443, 6, 4, novlan);
    e.hash = flow_hash(e.key);
    uint32_t idx = s->table->insert(e.key, e.hash, [&](const Flow&) { evicted++; });
    s->table->at(idx).last_ts = i;
    s->table->touch(idx, kTmoTcpEstablished);
  }
  if (evicted) s.reset();
  else std::shuffle(s->order.begin(), s->order.end(), std::mt19937_64(42));
  static const Setup empty;
  return s ? *s : empty;
}

void BM_LookupHit(benchmark::State& st) {
  const Setup& s = setup(uint32_t(st.range(0)), uint32_t(st.range(1)));
  if (!s.table) return st.SkipWithError("table too small: flows were evicted");
  const size_t n = s.order.size();
  size_t i = 0;
  uint64_t miss = 0;
  uint64_t t0 = rte_rdtsc();
  for (auto _ : st) {
    const Entry& e = s.order[i];
    if (++i == n) i = 0;
    uint32_t idx = s.table->lookup(e.key, e.hash);
    miss += idx == 0;
    benchmark::DoNotOptimize(idx);
  }
  st.counters["tsc_cycles"] = double(rte_rdtsc() - t0) / double(st.iterations());
  st.SetItemsProcessed(int64_t(st.iterations()));
  if (miss) st.SkipWithError("lookup missed an inserted key");
}

void BM_LookupBurst(benchmark::State& st) {
  const Setup& s = setup(uint32_t(st.range(0)), uint32_t(st.range(1)));
  if (!s.table) return st.SkipWithError("table too small: flows were evicted");
  constexpr size_t kB = 32;
  const size_t n = s.order.size() / kB * kB;
  if (n == 0) return st.SkipWithError("fewer flows than a burst");
  size_t i = 0;
  uint64_t miss = 0;
  uint64_t t0 = rte_rdtsc();
  for (auto _ : st) {
    const Entry* e = &s.order[i];
    i += kB;
    if (i == n) i = 0;
    for (size_t k = 0; k < kB; k++) s.table->prefetch_buckets(e[k].hash);
    for (size_t k = 0; k < kB; k++) {
      uint32_t idx = s.table->lookup(e[k].key, e[k].hash);
      miss += idx == 0;
      benchmark::DoNotOptimize(idx);
    }
  }
  st.counters["tsc_cycles_per_lookup"] = double(rte_rdtsc() - t0) / double(st.iterations() * kB);
  st.SetItemsProcessed(int64_t(st.iterations() * kB));
  if (miss) st.SkipWithError("lookup missed an inserted key");
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"flows", "capacity"});
  b->Args({1000, 1250});
  b->Args({100000, 125000});
  b->Args({100000, 1000000});  // the daemon's default table, 1 worker
  b->Args({1000000, 1250000});
}
BENCHMARK(BM_LookupHit)->Name("flow_lookup_hit")->Apply(shapes);
BENCHMARK(BM_LookupBurst)->Name("flow_lookup_burst32")->Apply(shapes);

}  // namespace
}  // namespace spectre::micro
