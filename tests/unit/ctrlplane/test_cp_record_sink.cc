// spectre-cp's record sinks: every registered consumer sees every record once,
// in order; the flow struct is built when any sink asks for it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ctrlplane/cp/record_sink.h"

namespace spectre::cp {
namespace {

namespace ex = spectre::exporter;

struct LogSink : RecordSink {
  std::vector<std::string>* log;
  std::string name;
  bool want = false;
  int asked = 0;
  LogSink(std::vector<std::string>* l, std::string n, bool w = false) : log(l), name(std::move(n)), want(w) {}
  void on_alert(const ex::CpAlert& a, std::string_view eve) override {
    log->push_back(name + ":alert:" + std::to_string(a.sid) + ":" + std::string(eve));
  }
  bool wants_flow_struct(bool) override {
    asked++;
    return want;
  }
  void on_flow(const ex::CpFlow* f, std::string_view eve) override {
    log->push_back(name + ":flow:" + (f ? std::to_string(f->flow_id) : "-") + ":" + std::string(eve));
  }
  void on_eve_line(std::string_view eve) override { log->push_back(name + ":line:" + std::string(eve)); }
};

TEST(RecordSinks, EverySinkSeesEveryRecordOnceInOrder) {
  std::vector<std::string> log;
  RecordSinks r;
  r.add(std::make_unique<LogSink>(&log, "a"));
  r.add(std::make_unique<RecordSink>());  // overrides nothing: sees nothing, breaks nothing
  r.add(std::make_unique<LogSink>(&log, "b"));
  ex::CpAlert a;
  a.sid = 7;
  r.alert(a, "{\"x\":1}");
  ex::CpFlow f;
  f.flow_id = 9;
  r.flow(&f, "");
  r.eve_line("{\"i\":2}");
  EXPECT_EQ(log, (std::vector<std::string>{"a:alert:7:{\"x\":1}", "b:alert:7:{\"x\":1}", "a:flow:9:", "b:flow:9:",
                                           "a:line:{\"i\":2}", "b:line:{\"i\":2}"}));
}

TEST(RecordSinks, FlowStructWhenAnySinkWantsIt) {
  std::vector<std::string> log;
  RecordSinks r;
  auto* a = new LogSink(&log, "a");
  auto* b = new LogSink(&log, "b", true);
  r.add(std::unique_ptr<RecordSink>(a));
  r.add(std::unique_ptr<RecordSink>(b));
  EXPECT_TRUE(r.wants_flow_struct(true));
  EXPECT_EQ(a->asked, 1);  // every sink is asked (the syslog sink caches its answer)
  EXPECT_EQ(b->asked, 1);
  b->want = false;
  EXPECT_FALSE(r.wants_flow_struct(true));
}

TEST(RecordSinks, FeedAndLatencyInTheBuiltRegistry) {
  AlertFeed feed;
  ShmLinkSinks in;
  in.alerts = &feed;
  AlertLatencySink* lat = nullptr;
  RecordSinks r = make_record_sinks(in, lat);
  ASSERT_NE(lat, nullptr);
  EXPECT_EQ(r.size(), 2u);  // feed, latency
  ex::CpAlert sig;
  sig.ts_ns = 1;
  ex::CpAlert model;
  model.ml = ex::CpMl{};
  r.alert(sig, R"({"event_type":"alert","alert":{"severity":2}})");
  r.alert(model, R"({"event_type":"alert","alert":{"severity":3}})");
  auto got = feed.recent(10, 0);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].severity, 2);
  std::vector<uint32_t> v;
  uint64_t n = 0;
  lat->snapshot(v, n);
  EXPECT_EQ(n, 1u);  // model alerts carry no arrival time
  EXPECT_EQ(v.size(), 1u);
}

}  // namespace
}  // namespace spectre::cp
