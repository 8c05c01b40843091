// Counters declared once (dataplane/core/counter_table.h): every listed
// counter reaches the stats event at its path with its own value and the
// Prometheus export under prom_name() with its type; paths and names are
// unique; add_totals() sums (kMax: keeps the larger).
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>
#include <string>
#include <string_view>

#include "ctrlplane/export/metrics_server.h"
#include "dataplane/core/counter_table.h"
#include "dataplane/core/stats.h"
#include "ml/json.h"

using namespace spectre;
namespace js = spectre::ml::json;

namespace {

// Gives every listed counter of `t` a distinct value: base + its index in kWorkerCounters.
void fill_distinct(Totals& t, uint64_t base) {
  uint64_t n = 0;
#define FILL_ONE(f, path, kind, help) src.f = base + n++;
#define FILL_GROUP(list, member) \
  {                              \
    auto& src = t.member;        \
    list(FILL_ONE)               \
  }
  SPECTRE_WORKER_COUNTER_GROUPS(FILL_GROUP)
#undef FILL_GROUP
#undef FILL_ONE
}

void fill_distinct(IoCounters& io, uint64_t base) {
  uint64_t n = 0;
#define FILL_IO(f, path, kind, help) io.f = base + n++;
  SPECTRE_IO_COUNTERS(FILL_IO)
#undef FILL_IO
}

// The node at dotted `path` under `obj`, or kNone.
uint32_t at_path(const js::Doc& d, uint32_t obj, std::string_view path) {
  while (obj != js::kNone) {
    size_t dot = path.find('.');
    std::string_view key = path.substr(0, dot);
    if (d.type(obj) != js::Type::Object) return js::kNone;
    obj = d.find(obj, key);
    if (dot == std::string_view::npos) return obj;
    path.remove_prefix(dot + 1);
  }
  return js::kNone;
}

std::string stats_json(const Totals& t, const IoCounters& io) {
  fmt::memory_buffer b;
  format_stats_event(b, t, io, 1700000000000000000ull, 12.0);
  return std::string(b.data(), b.size());
}

}  // namespace

TEST(Counters, PathsAndPrometheusNamesAreUniqueAndWellFormed) {
  std::set<std::string> paths, names;
  auto check = [&](const CounterDesc& d) {
    std::string p = d.path;
    EXPECT_TRUE(paths.insert(p).second) << "path twice: " << p;
    EXPECT_TRUE(names.insert(prom_name(d)).second) << "Prometheus name twice: " << prom_name(d);
    EXPECT_FALSE(p.empty());
    EXPECT_NE(p.front(), '.');
    EXPECT_NE(p.back(), '.');
    EXPECT_EQ(p.find(".."), std::string::npos) << p;
    for (char c : p) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.') << p;
    EXPECT_GT(std::string_view(d.help).size(), 3u) << p;
  };
  for (const CounterDesc& d : kWorkerCounters) check(d);
  for (const CounterDesc& d : kIoCounters) check(d);
  // A path may not be both a value and an object ("flow" and "flow.x").
  for (const std::string& p : paths)
    for (const std::string& q : paths) EXPECT_NE(q.rfind(p + ".", 0), 0u) << p << " is a prefix of " << q;
  EXPECT_EQ(prom_name(kWorkerCounters[0]), "spectre_dp_decoder_pkts_total");
}

TEST(Counters, EveryListedCounterIsInTheStatsEventWithItsValue) {
  Totals t;
  IoCounters io;
  fill_distinct(t, 1000);
  fill_distinct(io, 5000);
  std::string j = stats_json(t, io);
  js::Doc d;
  std::string err;
  ASSERT_TRUE(d.parse(j, err)) << err << "\n" << j;
  uint32_t st = d.find(d.root(), "stats");
  ASSERT_NE(st, js::kNone);
  auto expect_at = [&](const CounterDesc& c, uint64_t want) {
    uint32_t n = at_path(d, st, c.path);
    int64_t v = -1;
    EXPECT_TRUE(n != js::kNone && d.to_int(n, v)) << "stats." << c.path << " (" << c.field << ") missing";
    EXPECT_EQ(uint64_t(v), want) << "stats." << c.path << " does not hold " << c.field;
  };
  for (size_t i = 0; i < kWorkerCounterCount; i++) expect_at(kWorkerCounters[i], 1000 + i);
  for (size_t i = 0; i < kIoCounterCount; i++) expect_at(kIoCounters[i], 5000 + i);
  // Written by hand beside the lists: still there.
  for (const char* p : {"uptime", "decoder.event", "flow.ended", "workers", "loop.max_us", "loop.hist_log2_us",
                        "app_layer.flow.http", "app_layer.smb.flows", "ml.host_evictions", "intel.hits", "intel.feeds"})
    EXPECT_NE(at_path(d, st, p), js::kNone) << "stats." << p;
}

TEST(Counters, NoObjectOfTheStatsEventHasAKeyTwice) {
  Totals t;
  IoCounters io;
  std::string j = stats_json(t, io);
  js::Doc d;
  std::string err;
  ASSERT_TRUE(d.parse(j, err)) << err;
  // Pre-order nodes: each object's members are its direct children.
  std::function<void(uint32_t, std::string)> walk = [&](uint32_t i, std::string where) {
    std::set<std::string> keys;
    for (uint32_t c = d.first(i); c != js::kNone; c = d.next(c)) {
      const js::Node& n = d.at(c);
      std::string key(j.data() + n.key_off, n.key_len);
      EXPECT_TRUE(keys.insert(key).second) << where << "." << key << " twice";
      if (d.type(c) == js::Type::Object) walk(c, where + "." + key);
    }
  };
  walk(d.root(), "");
}

TEST(Counters, EveryListedCounterIsExportedToPrometheus) {
  exporter::MetricsSnapshot s;
  for (uint32_t w = 0; w < 2; w++) {
    exporter::CpWorkerStats x;
    x.worker = w;
    for (size_t i = 0; i < kWorkerCounterCount; i++) x.counters.push_back(w * 100000 + 1000 + i);
    s.stats.workers.push_back(x);
  }
  for (size_t i = 0; i < kIoCounterCount; i++) s.stats.io_counters.push_back(5000 + i);
  std::string text = exporter::render_prometheus(s, 0);
  auto has = [&](const std::string& line) { return text.find("\n" + line + "\n") != std::string::npos; };
  for (size_t i = 0; i < kWorkerCounterCount; i++) {
    const CounterDesc& c = kWorkerCounters[i];
    std::string n = prom_name(c);
    EXPECT_TRUE(has("# TYPE " + n + " " + prom_type(c))) << n;
    EXPECT_TRUE(has(n + "{worker=\"0\"} " + std::to_string(1000 + i))) << n;
    EXPECT_TRUE(has(n + "{worker=\"1\"} " + std::to_string(101000 + i))) << n;
  }
  for (size_t i = 0; i < kIoCounterCount; i++) {
    std::string n = prom_name(kIoCounters[i]);
    EXPECT_TRUE(has("# TYPE " + n + " " + prom_type(kIoCounters[i]))) << n;
    EXPECT_TRUE(has(n + " " + std::to_string(5000 + i))) << n;
  }
  // A vector of another length (other lists) is not exported.
  s.stats.workers[0].counters.pop_back();
  s.stats.workers[1].counters.clear();
  s.stats.io_counters.clear();
  text = exporter::render_prometheus(s, 0);
  EXPECT_EQ(text.find("spectre_dp_"), std::string::npos);
}

TEST(Counters, AddTotalsSumsEveryCounterAndKeepsTheLargestOfKMax) {
  Totals a, b;
  fill_distinct(a, 10);
  fill_distinct(b, 1000);
  a.w.loop_hist[3] = 2, b.w.loop_hist[3] = 5;
  a.app.detected[1] = 7, b.app.detected[1] = 1;
  uint64_t va[kWorkerCounterCount], vb[kWorkerCounterCount], vs[kWorkerCounterCount];
  worker_counter_values(a, va);
  worker_counter_values(b, vb);
  add_totals(a, b);
  worker_counter_values(a, vs);
  for (size_t i = 0; i < kWorkerCounterCount; i++) {
    uint64_t want = kWorkerCounters[i].kind == CounterKind::kMax ? std::max(va[i], vb[i]) : va[i] + vb[i];
    EXPECT_EQ(vs[i], want) << kWorkerCounters[i].path;
  }
  EXPECT_EQ(a.w.loop_hist[3], 7u);
  EXPECT_EQ(a.app.detected[1], 8u);
  EXPECT_NE(counters_layout(), 0u);
}
