// Microbenchmarks: set lookups (rules/dataset.h) as dataset / filemd5 do them.
//   dataset_lookup_string/<values>  100k random 8-64 byte strings; half the
//                                   lookups hit, half miss (near misses: one byte changed)
//   dataset_lookup_md5/<values>     16-byte keys, same mix
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "dataplane/rules/dataset.h"

namespace spectre::micro {
namespace {

void run(benchmark::State& st, rules::SetType t, uint32_t fixed) {
  std::mt19937 rng(3);
  rules::DataSet set("b", t, false);
  std::vector<std::string> probes;
  for (int64_t i = 0; i < st.range(0); i++) {
    std::string v(fixed ? fixed : 8 + rng() % 57, ' ');
    for (auto& ch : v) ch = char(rng());
    set.insert(reinterpret_cast<const uint8_t*>(v.data()), uint32_t(v.size()));
    if (probes.size() < 4096) {
      probes.push_back(v);
      v[v.size() / 2] ^= 1;
      probes.push_back(v);
    }
  }
  for (size_t i = 0; probes.size() < 4096; i++) probes.push_back(probes[i]);  // 4096: index by mask
  size_t k = 0, hits = 0;
  for (auto _ : st) {
    const std::string& p = probes[k++ & 4095];
    hits += set.find(reinterpret_cast<const uint8_t*>(p.data()), uint32_t(p.size()));
  }
  benchmark::DoNotOptimize(hits);
  st.counters["hit_pct"] = 100.0 * double(hits) / double(k);
  st.counters["MiB"] = double(set.memory()) / (1 << 20);
}

void BM_dataset_string(benchmark::State& st) { run(st, rules::SetType::kString, 0); }
void BM_dataset_md5(benchmark::State& st) { run(st, rules::SetType::kMd5, 16); }
BENCHMARK(BM_dataset_string)->Name("dataset_lookup_string")->Arg(1000)->Arg(100000)->Arg(1000000);
BENCHMARK(BM_dataset_md5)->Name("dataset_lookup_md5")->Arg(1000)->Arg(1000000);

}  // namespace
}  // namespace spectre::micro
