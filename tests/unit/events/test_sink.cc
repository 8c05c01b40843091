// The event writer's sink registry: every registered sink sees every record
// once, in ring order, and a sink added later changes nothing for the others.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/events/eve.h"
#include "dataplane/events/sink.h"
#include "dataplane/events/writer.h"

namespace spectre {
namespace {

// Records what it is handed, as "<call>:<worker>:<id>".
struct LogSink : EventSink {
  std::vector<std::string> seen;
  int stats = 0, finished = 0, passes = 0;
  void on_flow(uint32_t w, const FlowRecord& r) override { add("flow", w, r.flow_id); }
  void on_alert(uint32_t w, const AlertRecord& a) override { add("alert", w, a.flow_id); }
  void on_app_tx(uint32_t w, const AlertRecord& a) override { add("app", w, a.flow_id); }
  void on_feature_row(uint32_t w, const AlertRecord& a) override { add("row", w, a.flow_id); }
  void on_eve_lines(std::string_view type, std::string_view lines) override {
    seen.push_back(std::string(type) + ":" + std::string(lines));
  }
  void end_pass(SinkRegistry&) override { passes++; }
  void finish(SinkRegistry&) override { finished++; }
  void on_stats(const StatsFn&) override { stats++; }
  void add(const char* what, uint32_t w, uint64_t id) {
    seen.push_back(std::string(what) + ":" + std::to_string(w) + ":" + std::to_string(id));
  }
};

// Only alerts: the other calls keep their defaults.
struct AlertOnly : EventSink {
  std::vector<uint64_t> ids;
  void on_alert(uint32_t, const AlertRecord& a) override { ids.push_back(a.flow_id); }
};

FlowRecord flow(uint64_t id) {
  FlowRecord r{};
  r.flow_id = id;
  r.ip_ver = 4;
  r.proto = 17;
  r.src[0] = 10, r.dst[0] = 10, r.dst[3] = 2;
  r.sport = 5353, r.dport = 53;
  r.first_ts = r.last_ts = 1704110400000000000ull + id;
  return r;
}

std::unique_ptr<AlertRecord> record(AlertRecord::Kind kind, uint64_t id) {
  auto a = std::make_unique<AlertRecord>();
  std::memset(a.get(), 0, sizeof(AlertRecord));
  a->kind = kind;
  a->flow_id = id;
  a->ts_ns = 1704110400000000000ull + id;
  a->ip_ver = 4;
  a->proto = 6;
  a->sid = uint32_t(1000 + id);
  a->rev = 1;
  a->gid = 1;
  std::snprintf(a->msg, sizeof a->msg, "test %llu", (unsigned long long)id);
  return a;
}

TEST(SinkRegistry, EverySinkSeesEveryRecordOnceInOrder) {
  SinkRegistry reg;
  LogSink a, b;
  AlertOnly only;
  ASSERT_TRUE(reg.add(&a));
  ASSERT_TRUE(reg.add(&only));
  ASSERT_TRUE(reg.add(&b));
  reg.flow(0, flow(1));
  reg.record(1, *record(AlertRecord::kAlert, 2));
  reg.record(1, *record(AlertRecord::kAppTx, 3));
  reg.record(0, *record(AlertRecord::kFeatureRow, 4));
  reg.record(0, *record(AlertRecord::kAlert, 5));
  reg.eve_lines("incident", "{}\n");
  reg.end_pass();
  const std::vector<std::string> want = {"flow:0:1", "alert:1:2", "app:1:3", "row:0:4", "alert:0:5", "incident:{}\n"};
  EXPECT_EQ(a.seen, want);
  EXPECT_EQ(b.seen, want);
  EXPECT_EQ(only.ids, (std::vector<uint64_t>{2, 5}));
  EXPECT_EQ(a.passes, 1);
  EXPECT_EQ(b.passes, 1);
}

TEST(SinkRegistry, FixedCapacity) {
  SinkRegistry reg;
  std::vector<AlertOnly> s(SinkRegistry::kMax + 1);
  for (size_t i = 0; i < SinkRegistry::kMax; i++) EXPECT_TRUE(reg.add(&s[i]));
  EXPECT_FALSE(reg.add(&s.back()));
  EXPECT_FALSE(SinkRegistry().add(nullptr));
  EXPECT_EQ(reg.size(), SinkRegistry::kMax);
}

// Two workers with flows and alert-ring records, drained by a real writer.
struct Rig {
  Rig() {
    for (int i = 0; i < 2; i++)
      ws.push_back(std::make_unique<WorkerCtx>(uint16_t(i), 64, DefragConfig{}, 1024));
    for (int i = 0; i < 2; i++) {
      WorkerCtx& w = *ws[i];
      for (uint64_t f = 0; f < 3; f++) {
        Event ev{};
        ev.type = EventType::kFlow;
        ev.flow = flow(100 * i + f);
        EXPECT_TRUE(w.events.push(ev));
      }
      for (uint64_t k = 0; k < 3; k++) {
        AlertRecord* slot = w.insp.alerts.claim();
        EXPECT_NE(slot, nullptr);
        *slot = *record(k == 1 ? AlertRecord::kAppTx : AlertRecord::kAlert, 100 * i + 10 + k);
        w.insp.alerts.commit();
      }
    }
  }
  std::vector<WorkerCtx*> ptrs() {
    std::vector<WorkerCtx*> p;
    for (auto& w : ws) p.push_back(w.get());
    return p;
  }
  std::vector<std::unique_ptr<WorkerCtx>> ws;
};

std::string slurp(FILE* f) {
  std::string s;
  std::rewind(f);
  char b[4096];
  for (size_t n; (n = std::fread(b, 1, sizeof b, f)) > 0;) s.append(b, n);
  return s;
}

// EVE and fast.log bytes of a run of `rig`'s records, with `extra` registered or not.
std::pair<std::string, std::string> run_writer(EventSink* extra) {
  Rig rig;
  FILE* eve = std::tmpfile();
  FILE* fast = std::tmpfile();
  {
    EventWriter wr(rig.ptrs(), eve, [](fmt::memory_buffer& b) { b.append(std::string_view("{\"event_type\":\"stats\"}\n")); },
                   3600, fast);
    if (extra) EXPECT_TRUE(wr.add_sink(extra));
    wr.start();
    wr.stop();
  }
  auto r = std::make_pair(slurp(eve), slurp(fast));
  std::fclose(eve);
  std::fclose(fast);
  return r;
}

TEST(EventWriterSinks, TestSinkSeesEachRecordOnceInRingOrder) {
  LogSink t;
  run_writer(&t);
  const std::vector<std::string> want = {"flow:0:0",    "flow:0:1",    "flow:0:2",    "alert:0:10", "app:0:11",
                                         "alert:0:12",  "flow:1:100",  "flow:1:101",  "flow:1:102", "alert:1:110",
                                         "app:1:111",   "alert:1:112"};
  EXPECT_EQ(t.seen, want);
  EXPECT_EQ(t.finished, 1);
  EXPECT_EQ(t.stats, 1);  // the final stats line
  EXPECT_GE(t.passes, 1);
}

TEST(EventWriterSinks, AddedSinkLeavesEveAndFastBytesUnchanged) {
  auto plain = run_writer(nullptr);
  LogSink t;
  auto with = run_writer(&t);
  EXPECT_EQ(plain.first, with.first);
  EXPECT_EQ(plain.second, with.second);
  // The EVE file holds the records in ring order, then the stats line.
  Rig rig;
  fmt::memory_buffer want;
  for (int i = 0; i < 2; i++) {
    for (uint64_t f = 0; f < 3; f++) format_flow(want, flow(100 * i + f));
    for (uint64_t k = 0; k < 3; k++) {
      auto a = record(k == 1 ? AlertRecord::kAppTx : AlertRecord::kAlert, 100 * i + 10 + k);
      if (k == 1) format_app_event(want, *a);
      else format_alert(want, *a);
    }
  }
  want.append(std::string_view("{\"event_type\":\"stats\"}\n"));
  EXPECT_EQ(plain.first, std::string(want.data(), want.size()));
  fmt::memory_buffer fast;
  for (int i = 0; i < 2; i++)
    for (uint64_t k : {0, 2}) format_fast(fast, *record(AlertRecord::kAlert, 100 * i + 10 + k));
  EXPECT_EQ(plain.second, std::string(fast.data(), fast.size()));
}

}  // namespace
}  // namespace spectre
