// Microbenchmarks: threat-intel lookups (dataplane/intel/) on a set the size
// of the public feeds combined (abuse.ch + a MISP/STIX collection), keys in
// random order, half of them listed.
//   intel_ip/<indicators>       IPv4, /32s plus CIDRs of 4 prefix lengths
//   intel_domain/<indicators>   4-label names, suffix walk (listed: a parent)
//   intel_url/<indicators>      host + path
//   intel_ja3/<indicators>      32 hex digits
// Figures: ns per lookup (time / items).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "dataplane/intel/intel.h"

namespace spectre::micro {
namespace {

using intel::Indicator;
using intel::IntelSet;
using intel::Type;

struct Setup {
  std::unique_ptr<IntelSet> set;
  std::vector<uint32_t> v4;        // addresses looked up
  std::vector<std::string> names;  // domains / hosts / ja3
  std::vector<std::string> paths;
};

std::string hex(std::mt19937_64& r, int n) {
  static const char d[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < n; i++) s += d[r() & 15];
  return s;
}

const Setup& setup(Type t, uint32_t n) {
  static std::map<std::pair<int, uint32_t>, std::unique_ptr<Setup>> cache;
  auto& s = cache[{int(t), n}];
  if (s) return *s;
  s = std::make_unique<Setup>();
  std::mt19937_64 r(42);
  std::vector<Indicator> ind;
  std::string why;
  for (uint32_t i = 0; i < n; i++) {
    Indicator x;
    x.feed = "bench";
    switch (t) {
      case Type::kIp: {
        uint32_t a = uint32_t(r());
        static const uint8_t lens[] = {32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 32, 24};
        uint8_t len = lens[i % 20];  // 5% CIDRs (/24)
        x.type = Type::kIp;
        x.ip_ver = 4;
        x.prefix = len;
        uint32_t m = len ? a & (0xffffffffu << (32 - len)) : 0;
        x.addr[0] = uint8_t(m >> 24); x.addr[1] = uint8_t(m >> 16); x.addr[2] = uint8_t(m >> 8); x.addr[3] = uint8_t(m);
        s->v4.push_back(i % 2 ? a : uint32_t(r()));  // half listed
        break;
      }
      case Type::kDomain: {
        x.type = Type::kDomain;
        x.subdomains = true;
        x.key = hex(r, 10) + ".example" + std::to_string(i % 50);
        s->names.push_back(i % 2 ? "www.cdn." + x.key : "www.cdn." + hex(r, 10) + ".example7");
        break;
      }
      case Type::kUrl: {
        x.type = Type::kUrl;
        std::string host = hex(r, 8) + ".example", path = "/" + hex(r, 12) + "/file.bin";
        x.key = host + path;
        s->names.push_back(host);
        s->paths.push_back(i % 2 ? path : "/" + hex(r, 12) + "/file.bin");
        break;
      }
      default: {
        x.type = Type::kJa3;
        x.key = hex(r, 32);
        s->names.push_back(i % 2 ? x.key : hex(r, 32));
        break;
      }
    }
    ind.push_back(std::move(x));
  }
  s->set = std::make_unique<IntelSet>(std::move(ind), std::vector<intel::FeedSummary>{});
  std::shuffle(s->v4.begin(), s->v4.end(), r);
  return *s;
}

void intel_ip(benchmark::State& st) {
  const Setup& s = setup(Type::kIp, uint32_t(st.range(0)));
  size_t i = 0, hits = 0;
  for (auto _ : st) {
    uint32_t a = s.v4[i++ % s.v4.size()];
    uint8_t b[16] = {uint8_t(a >> 24), uint8_t(a >> 16), uint8_t(a >> 8), uint8_t(a)};
    intel::Hits h;
    s.set->match_ip(b, 4, 1, h);
    hits += h.n;
  }
  st.SetItemsProcessed(int64_t(st.iterations()));
  st.counters["hit_ratio"] = double(hits) / double(st.iterations());
}

template <Type T>
void intel_str(benchmark::State& st) {
  const Setup& s = setup(T, uint32_t(st.range(0)));
  size_t i = 0, hits = 0;
  for (auto _ : st) {
    size_t k = i++ % s.names.size();
    intel::Hits h;
    if (T == Type::kDomain) s.set->match_domain(s.names[k], 1, h);
    else if (T == Type::kUrl) s.set->match_http_url(s.names[k], s.paths[k], 1, h);
    else s.set->match_ja3(s.names[k], 1, h);
    hits += h.n;
  }
  st.SetItemsProcessed(int64_t(st.iterations()));
  st.counters["hit_ratio"] = double(hits) / double(st.iterations());
}

BENCHMARK(intel_ip)->Arg(1000)->Arg(100000)->Arg(1000000);
BENCHMARK(intel_str<Type::kDomain>)->Name("intel_domain")->Arg(1000)->Arg(100000)->Arg(1000000);
BENCHMARK(intel_str<Type::kUrl>)->Name("intel_url")->Arg(1000)->Arg(100000);
BENCHMARK(intel_str<Type::kJa3>)->Name("intel_ja3")->Arg(1000)->Arg(100000);

}  // namespace
}  // namespace spectre::micro
