// Microbenchmark: YARA scan cost per byte (dataplane/yaramatch/scan.cc) — what
// a worker spends on each extracted file. Random bytes of the argument's size
// scanned by one Scanner bound to a set of 20 rules (text strings, nocase and
// wide strings, hex strings with jumps, a regex), none matching; the
// yara_scan_hit variant plants every rule's pattern. bytes_per_second is the
// throughput of one core; yara_scanner_create is the once-per-rule-set cost
// of a worker's scanner.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <fstream>
#include <random>
#include <string>

#include "dataplane/yaramatch/scan.h"

namespace spectre::micro {
namespace {

std::string rule_text() {
  std::string t;
  for (int i = 0; i < 5; i++) {
    t += "rule text" + std::to_string(i) + " { strings: $a = \"spectre-bench-text-" + std::to_string(i) +
         "\" $b = \"Invoke-Bench" + std::to_string(i) + "\" nocase condition: any of them }\n";
    t += "rule wide" + std::to_string(i) + " { strings: $w = \"bench-wide-" + std::to_string(i) +
         "\" wide ascii condition: $w }\n";
    t += "rule hex" + std::to_string(i) + " { strings: $h = { 4D 5A 9" + std::to_string(i) +
         " 00 [2-8] 50 45 00 00 } condition: $h }\n";
    t += "rule re" + std::to_string(i) + " { strings: $r = /bench-re-" + std::to_string(i) +
         "[0-9]{4}\\.(exe|dll)/ condition: $r }\n";
  }
  return t;
}

std::shared_ptr<const yara::RuleSet> rules() {
  static std::shared_ptr<const yara::RuleSet> rs = [] {
    const std::string p = "/tmp/spectre-micro-yara-" + std::to_string(getpid()) + ".yar";
    std::ofstream(p) << rule_text();
    std::string err;
    auto r = yara::compile({p}, false, err);
    unlink(p.c_str());
    return r;
  }();
  return rs;
}

std::string data(size_t n, bool hits) {
  std::mt19937 rng(7);
  std::string d(n, '\0');
  for (auto& c : d) c = char(rng());
  if (hits)
    for (int i = 0; i < 5; i++) {
      const std::string m = "spectre-bench-text-" + std::to_string(i);
      d.replace(size_t(i + 1) * (n / 7), m.size(), m);
    }
  return d;
}

void scan(benchmark::State& st, bool hits) {
  auto rs = rules();
  if (!rs) return st.SkipWithError("YARA rules did not compile");
  yara::Scanner sc;
  sc.bind(rs, 10);
  const std::string d = data(size_t(st.range(0)), hits);
  YaraEventMeta m{};
  for (auto _ : st) {
    sc.scan(reinterpret_cast<const uint8_t*>(d.data()), uint32_t(d.size()), m);
    benchmark::DoNotOptimize(m.n);
  }
  if (m.n != (hits ? 4 : 0)) st.SkipWithError("unexpected matches");
  st.SetBytesProcessed(int64_t(st.iterations()) * int64_t(d.size()));
}
void yara_scan(benchmark::State& st) { scan(st, false); }
void yara_scan_hit(benchmark::State& st) { scan(st, true); }
BENCHMARK(yara_scan)->Arg(8192)->Arg(65536)->Arg(1 << 20)->Unit(benchmark::kMicrosecond);
BENCHMARK(yara_scan_hit)->Arg(65536)->Unit(benchmark::kMicrosecond);

void yara_scanner_create(benchmark::State& st) {
  auto rs = rules();
  if (!rs) return st.SkipWithError("YARA rules did not compile");
  for (auto _ : st) {
    yara::Scanner sc;
    benchmark::DoNotOptimize(sc.bind(rs, 10));
  }
}
BENCHMARK(yara_scanner_create)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace spectre::micro
