// spectre-bench-cortex: detections per second ingested and correlated by
// Cortex (ctrlplane/cortex/) with the shipped rules and tables, on one core.
//
//   spectre-bench-cortex [--detections N] [--attackers A] [--victims V] [--flows-pct P]
//                        [--seed S] [--json FILE] [--eve FILE]
//
// The stream is synthetic and built before timing: A attackers, each against
// random victims, each detection a random step of a kill chain (discovery,
// credential access, command and control, exfiltration) or unrelated noise
// (policy classtypes that stay unmapped), signatures with ET metadata, ML and
// behaviour alerts; P% flow records when the rules use flows. Time advances
// 1 ms per detection. The JSON report goes to stdout (and --json FILE);
// --eve FILE writes the throughput pass's incident records (to check that a
// change keeps the output byte for byte).
//
// Latency: a second pass over the same stream with a fresh Cortex times each
// ingest (detection in -> correlation and incident state updated, records
// handed to the sink) with the steady clock; p50/p99/p999/max in ns (the
// clock reads add ~20-40 ns each; the throughput pass has none). Memory:
// the fixed sizes per correlation group and risk-tracked entity, the bytes
// held by each incident open at the end of the stream (mean, max) and their
// bound, the process's peak RSS over the throughput pass (stream included)
// and that peak less the RSS before Cortex was made (cortex_rss_kb).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ctrlplane/cortex/cortex.h"

using namespace spectre::cortex;

namespace {

struct Opts {
  uint64_t detections = 2000000, attackers = 2000, victims = 20000, flows_pct = 20, seed = 1;
  std::string json, eve;
};

bool parse(int argc, char** argv, Opts& o) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto num = [&](uint64_t& v) {
      if (i + 1 >= argc) return false;
      char* end = nullptr;
      v = strtoull(argv[++i], &end, 10);
      return end && !*end;
    };
    if (a == "--detections" ? !num(o.detections) : a == "--attackers" ? !num(o.attackers)
        : a == "--victims" ? !num(o.victims) : a == "--flows-pct" ? !num(o.flows_pct)
        : a == "--seed" ? !num(o.seed) : false)
      return false;
    if (a == "--json" || a == "--eve") {
      if (i + 1 >= argc) return false;
      (a == "--json" ? o.json : o.eve) = argv[++i];
    } else if (a != "--detections" && a != "--attackers" && a != "--victims" && a != "--flows-pct" && a != "--seed") {
      return false;
    }
  }
  return o.attackers && o.victims && o.detections && o.flows_pct <= 100;
}

void put_v4(uint8_t (&a)[16], uint32_t ip) {
  std::memset(a, 0, 16);
  a[0] = uint8_t(ip >> 24), a[1] = uint8_t(ip >> 16), a[2] = uint8_t(ip >> 8), a[3] = uint8_t(ip);
}

std::vector<Detection> stream(const Opts& o) {
  std::mt19937_64 rnd(o.seed);
  static const char* const kTech[] = {"T1046", "T1110", "T1071", "T1041", "T1190", "T1595"};
  static const char* const kDet[] = {"scan", "bruteforce", "beacon", "exfil"};
  std::vector<Detection> v(o.detections);
  uint64_t t = 1700000000ull * 1000000000ull;
  for (auto& d : v) {
    t += 1000000;
    d.ts_ns = t;
    uint32_t atk = 0xcb007100u + uint32_t(rnd() % o.attackers);           // outside
    uint32_t vic = 0x0a000000u + uint32_t(rnd() % o.victims);             // 10/8
    uint32_t step = uint32_t(rnd() % 8);
    put_v4(d.src, atk);
    put_v4(d.dst, vic);
    d.sport = uint16_t(1024 + rnd() % 60000);
    d.dport = step == 1 ? 22 : 443;
    d.proto = 6;
    d.msg = "bench detection";
    if (rnd() % 100 < o.flows_pct) {
      d.kind = Kind::kFlow;
      d.established = true;
      d.duration_ns = (rnd() % 200) * 1000000000ull;
      d.bytes_out = rnd() % 20000000;
      continue;
    }
    if (step >= 6) {  // noise: unmapped policy alerts
      d.kind = Kind::kSignature;
      d.sid = 2000000 + uint32_t(rnd() % 1000);
      d.category = "Potential Corporate Privacy Violation";
      continue;
    }
    if (step == 2 || step == 3) std::swap(d.src, d.dst);  // C2 / exfil: the victim calls out
    switch (rnd() % 3) {
      case 0: d.kind = Kind::kSignature, d.sid = 2100000 + step, d.technique_id = kTech[step]; break;
      case 1: d.kind = Kind::kBehaviour, d.gid = kBehaviourGid, d.detector = kDet[step % 4], d.sid = step % 4 + 1; break;
      default: d.kind = Kind::kMl, d.gid = kMlGid, d.ml_class = step == 4 ? "web_attack" : "c2_exfil",
               d.confidence = 0.9f; break;
    }
  }
  return v;
}

// Per-ingest latency over the stream (a fresh Cortex): p50, p99, p999, max (ns).
std::vector<uint64_t> latencies(std::vector<Detection>& v) {
  Config c;
  std::string err;
  auto cx = Cortex::create(c, err);
  uint64_t sink = 0;
  cx->set_sink([&](std::string_view l) { sink += l.size(); });
  std::vector<uint64_t> ns;
  ns.reserve(v.size());
  for (auto& d : v) {
    auto t0 = std::chrono::steady_clock::now();
    cx->ingest(d);
    ns.push_back(uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count()));
  }
  cx->finish();
  std::sort(ns.begin(), ns.end());
  auto q = [&](double p) { return ns[std::min(ns.size() - 1, size_t(p * double(ns.size())))]; };
  return {q(0.5), q(0.99), q(0.999), ns.back()};
}

// VmHWM (peak) or VmRSS (now) of this process, in KB.
uint64_t status_kb(const char* key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind(key, 0) == 0) return strtoull(line.c_str() + strlen(key), nullptr, 10);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Opts o;
  if (!parse(argc, argv, o)) {
    fmt::print(stderr, "usage: spectre-bench-cortex [--detections N] [--attackers A] [--victims V] [--flows-pct P] "
                       "[--seed S] [--json FILE] [--eve FILE]\n");
    return 2;
  }
  // The stream first: the RSS before Cortex exists is subtracted from the throughput pass's peak.
  std::vector<Detection> v = stream(o);
  const uint64_t base_kb = status_kb("VmRSS:");
  Config c;
  std::string err;
  auto cx = Cortex::create(c, err);
  if (!cx) {
    fmt::print(stderr, "spectre-bench-cortex: {}\n", err);
    return 1;
  }
  uint64_t records = 0, bytes = 0;
  FILE* eve = o.eve.empty() ? nullptr : fopen(o.eve.c_str(), "w");
  if (!o.eve.empty() && !eve) {
    fmt::print(stderr, "spectre-bench-cortex: cannot write {}\n", o.eve);
    return 1;
  }
  cx->set_sink([&](std::string_view l) {
    records++, bytes += l.size();
    if (eve) fmt::print(eve, "{}\n", l);
  });
  // Wall and this thread's CPU time: on a shared machine the CPU figure is the one to compare.
  auto cpu = [] {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
  };
  double c0 = cpu();
  auto t0 = std::chrono::steady_clock::now();
  for (auto& d : v) cx->ingest(d);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cs = cpu() - c0;
  // Bytes held by the incidents open at the end of the stream (measured, not timed).
  uint64_t inc_n = 0, inc_sum = 0, inc_max = 0;
  cx->incidents().each_open([&](const Incident& i) {
    uint64_t b = Incidents::footprint(i);
    inc_n++, inc_sum += b, inc_max = std::max(inc_max, b);
  });
  c0 = cpu();
  t0 = std::chrono::steady_clock::now();
  cx->finish();
  s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  cs += cpu() - c0;
  if (eve) fclose(eve);
  const uint64_t peak_kb = status_kb("VmHWM:");  // before the latency pass's second Cortex
  std::vector<uint64_t> lat = latencies(v);
  const auto& cc = cx->correlator().ctr;
  const auto& ic = cx->incidents().ctr;
  std::string j = fmt::format(
      "{{\"tool\":\"spectre-bench-cortex\",\"records\":{},\"detections\":{},\"flows\":{},\"attackers\":{},"
      "\"victims\":{},\"seconds\":{:.4f},\"records_per_s\":{:.0f},\"cpu_seconds\":{:.4f},"
      "\"records_per_cpu_s\":{:.0f},\"cpu_ns_per_record\":{:.1f},"
      "\"rules\":{{\"base\":{},\"correlations\":{}}},\"mapped\":{},\"unmapped\":{},\"matches\":{},"
      "\"incidents\":{{\"opened\":{},\"closed\":{},\"evicted\":{},\"level_changes\":{},\"eve_records\":{},"
      "\"eve_bytes\":{}}},\"groups\":{{\"in_use\":{},\"created\":{},\"evicted\":{},\"expired\":{},"
      "\"bytes_each\":{},\"members_lost\":{}}},\"incident_bytes\":{{\"open\":{},\"mean\":{},\"max\":{},\"bound\":{}}},"
      "\"entity_bytes_each\":{},\"entities_tracked\":{},"
      "\"latency_ns\":{{\"p50\":{},\"p99\":{},\"p999\":{},\"max\":{}}},\"peak_rss_kb\":{},\"cortex_rss_kb\":{}}}\n",
      v.size(), cx->detections(), v.size() - cx->detections(), o.attackers, o.victims, s, double(v.size()) / s, cs,
      double(v.size()) / cs, cs * 1e9 / double(v.size()), cx->rules().selectors.size(), cx->rules().correlations.size(), cx->mapper().mapped,
      cx->mapper().unmapped_total, cc.matches, ic.opened, ic.closed, ic.evicted, ic.level_changes, records, bytes,
      cx->correlator().groups_in_use(), cc.groups_created, cc.groups_evicted, cc.groups_expired, Correlator::group_bytes(),
      cc.members_lost, inc_n, inc_n ? inc_sum / inc_n : 0, inc_max, cx->incidents().bytes_bound(), EntityRisk::kEntityBytes,
      cx->entity_risk().size(), lat[0], lat[1], lat[2], lat[3], peak_kb, peak_kb > base_kb ? peak_kb - base_kb : 0);
  fmt::print("{}", j);
  if (!o.json.empty()) {
    FILE* f = fopen(o.json.c_str(), "w");
    if (!f) return 1;
    fputs(j.c_str(), f);
    fclose(f);
  }
  // Sanity: every record was seen, something correlated, every incident closed.
  return cx->detections() + (v.size() - cx->detections()) == v.size() && cc.matches > 0 && ic.opened == ic.closed ? 0 : 3;
}
