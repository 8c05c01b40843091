// Flow records and stats in spectre-cp's API: the flow filter, the ingest of
// the link's flows (seq = store id, publish, replay, drops when the flows'
// share of the store queue is full), GET /api/v1/flows (filters, cursor,
// the OpenAPI document's required fields), and the stats message builder.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "ctrlplane/api/flow_filter.h"
#include "ctrlplane/api/ingest.h"
#include "ctrlplane/api/params.h"
#include "ctrlplane/api/runtime.h"
#include "ctrlplane/api/service.h"
#include "ctrlplane/api/stats_feed.h"
#include "ctrlplane/store/eve_rows.h"
#include "ctrlplane/store/sqlite_store.h"

using namespace spectre::api;
namespace st = spectre::store;
namespace stream = spectre::stream;
namespace ex = spectre::exporter;

namespace {

constexpr uint64_t kT0ns = 1764547200000000000ull;  // 2025-12-01T00:00:00Z

struct FlowEnv {
  std::string dir;
  std::unique_ptr<st::SqliteStore> store;
  explicit FlowEnv(size_t flow_cap = 16384) {
    char t[] = "/tmp/api-flows-XXXXXX";
    dir = mkdtemp(t);
    st::SqliteOptions o;
    o.path = dir + "/s.db";
    o.flow_queue_capacity = flow_cap;
    std::string err;
    store = st::SqliteStore::open(o, err);
    EXPECT_TRUE(store) << err;
  }
  ~FlowEnv() {
    store->close();
    std::filesystem::remove_all(dir);
  }
};

// Flow i: 10.0.0.(i%5) -> 192.168.1.1:(80|53), i*100 bytes, alerted when i % 4 == 0; ends at T0 + i s.
ex::CpFlow cp_flow(int i) {
  ex::CpFlow f;
  f.flow_id = 1000 + uint64_t(i);
  f.src_ip = "10.0.0." + std::to_string(i % 5);
  f.dst_ip = "192.168.1.1";
  f.src_port = uint16_t(30000 + i);
  f.dst_port = i % 2 ? 53 : 80;
  f.proto = i % 2 ? "UDP" : "TCP";
  f.app_proto = i % 2 ? "dns" : "http";
  f.pkts_toserver = uint64_t(i) + 1;
  f.pkts_toclient = 1;
  f.bytes_toserver = uint64_t(i) * 100;
  f.start_ns = kT0ns + uint64_t(i) * 1000000000ull - 500000000ull;
  f.end_ns = kT0ns + uint64_t(i) * 1000000000ull;
  f.state = "closed";
  f.reason = "timeout";
  f.alerted = i % 4 == 0;
  return f;
}

}  // namespace

TEST(ApiFlowFilter, ModesThresholdsAndSample) {
  using M = FlowFilterOptions::Mode;
  FlowFilterOptions::Mode m;
  EXPECT_TRUE(parse_flow_mode("alerted", m) && m == M::kAlerted);
  EXPECT_FALSE(parse_flow_mode("some", m));
  FlowFilter off;  // the default: nothing kept
  EXPECT_FALSE(off.pass(true, 1 << 20, 1000));
  FlowFilter alerted({M::kAlerted, 0, 0, 1});
  EXPECT_FALSE(alerted.pass(false, 1 << 20, 1000));
  EXPECT_TRUE(alerted.pass(true, 0, 0));
  FlowFilter big({M::kAll, 1000, 5, 1});
  EXPECT_FALSE(big.pass(false, 999, 100));
  EXPECT_FALSE(big.pass(false, 5000, 4));
  EXPECT_TRUE(big.pass(false, 1000, 5));
  // 1 in 3 of the flows that pass the thresholds: the 1st, 4th, 7th... of those.
  FlowFilter sample({M::kAll, 100, 0, 3});
  std::vector<int> kept;
  for (int i = 0; i < 20; i++)
    if (sample.pass(false, i % 2 ? 50 : 200, 1)) kept.push_back(i);  // odd i are below the threshold
  EXPECT_EQ(kept, (std::vector<int>{0, 6, 12, 18}));
  EXPECT_EQ(sample.seen(), 20u);
  EXPECT_EQ(sample.passed(), 4u);
}

TEST(ApiFlowFilter, ApiConfigSectionAndCommandLinePrecedence) {
  FlowEnv e;  // for its temp directory
  auto write = [&](const std::string& text) {
    std::ofstream(e.dir + "/c.yaml") << text;
    return e.dir + "/c.yaml";
  };
  ApiCli o;
  std::string err;
  ASSERT_TRUE(load_api_config(write("api:\n  flows: {store: alerted, min_bytes: 100, min_packets: 2, sample: 4}\n"
                                    "  stats_period_ms: 500\n"), o, err)) << err;
  EXPECT_EQ(o.flows.mode, FlowFilterOptions::Mode::kAlerted);
  EXPECT_EQ(o.flows.min_bytes, 100u);
  EXPECT_EQ(o.flows.min_packets, 2u);
  EXPECT_EQ(o.flows.sample, 4u);
  EXPECT_EQ(o.stats_period_ms, 500u);
  ApiCli cli;  // --store-flows all --stats-period 2000 given: the file changes neither
  const char* argv[] = {"spectre-cp", "--store-flows", "all", "--stats-period", "2000"};
  for (int i = 1; i < 5; i++) ASSERT_EQ(parse_api_option(5, const_cast<char**>(argv), i, cli, err), 1) << err;
  ASSERT_TRUE(load_api_config(e.dir + "/c.yaml", cli, err)) << err;
  EXPECT_EQ(cli.flows.mode, FlowFilterOptions::Mode::kAll);
  EXPECT_EQ(cli.flows.min_bytes, 0u);
  EXPECT_EQ(cli.stats_period_ms, 2000u);
  for (const char* bad : {"api:\n  flows: {store: some}\n", "api:\n  flows: {sample: 0}\n", "api:\n  flow: {}\n",
                          "api:\n  stats_period_ms: 10\n", "store: {}\n", "api: [\n"}) {
    ApiCli x;
    EXPECT_FALSE(load_api_config(write(bad), x, err)) << bad;
  }
}

TEST(ApiIngestFlows, FilteredStoredPublishedAndReplayed) {
  FlowEnv e;
  Ingest in(*e.store);
  std::vector<stream::StreamEvent> pub;
  in.set_publish([&](stream::StreamEvent&& ev) { pub.push_back(std::move(ev)); });
  in.on_flow(cp_flow(4));
  EXPECT_TRUE(pub.empty());  // off by default
  in.set_flow_filter({FlowFilterOptions::Mode::kAlerted, 0, 0, 1});
  for (int i = 0; i < 20; i++) in.on_flow(cp_flow(i));
  ASSERT_EQ(pub.size(), 5u);  // i = 0, 4, 8, 12, 16
  for (size_t k = 0; k < pub.size(); k++) {
    EXPECT_EQ(pub[k].channel, stream::Channel::kFlows);
    EXPECT_EQ(pub[k].seq, k + 1);  // seq == the store id
    J j = J::parse(pub[k].json);
    EXPECT_EQ(j["id"], k + 1);
    EXPECT_EQ(j["flow_id"], 1000 + 4 * k);
    EXPECT_TRUE(j["alerted"].get<bool>());
    EXPECT_EQ(j["eve"]["event_type"], "flow");  // formatted when the data plane sent no EVE line
    EXPECT_EQ(j["timestamp"], st::format_time(int64_t(kT0ns / 1000000) + int64_t(4 * k) * 1000));
  }
  EXPECT_EQ(pub[1].category, "http");  // the stream filter's category is app_proto
  // An EVE flow line (spectre-cp --fake-events) takes the same filter.
  const std::string line = R"({"timestamp":"2025-12-01T00:01:00Z","flow_id":9,"event_type":"flow","src_ip":"10.0.0.9",)"
                           R"("src_port":1,"dest_ip":"10.0.0.8","dest_port":2,"proto":"TCP","flow":{"alerted":)";
  in.on_flow_eve(line + "false}}");
  in.on_flow_eve(line + "true}}");
  in.on_flow_eve("not json");
  ASSERT_EQ(pub.size(), 6u);
  EXPECT_EQ(pub[5].seq, 6u);
  EXPECT_EQ(J::parse(pub[5].json)["flow_id"], 9);
  EXPECT_EQ(in.bad_lines(), 1u);
  pub.pop_back();
  e.store->flush();
  std::vector<stream::StreamEvent> rep;
  ASSERT_TRUE(in.replay(stream::Channel::kFlows, 2, 100, rep));
  ASSERT_EQ(rep.size(), 4u);  // 3..6
  EXPECT_EQ(rep[0].seq, 3u);
  EXPECT_EQ(rep[0].json, pub[2].json);  // the stored row is the published object
  rep.clear();
  EXPECT_FALSE(in.replay(stream::Channel::kStats, 0, 100, rep));  // stats are not kept
  J s = J::parse(in.flow_stats_json());
  EXPECT_EQ(s["flows"]["mode"], "alerted");
  EXPECT_EQ(s["flows"]["seen"], 22);
  EXPECT_EQ(s["flows"]["kept"], 6);
}

// A flood of flows against a 4-row flow share: the drops are counted by the
// ingest and the store alike, and every published seq is a stored row.
TEST(ApiIngestFlows, FullQueueCountsDrops) {
  FlowEnv e(4);
  Ingest in(*e.store);
  in.set_flow_filter({FlowFilterOptions::Mode::kAll, 0, 0, 1});
  uint64_t published = 0, last = 0;
  bool increasing = true;
  in.set_publish([&](stream::StreamEvent&& ev) {
    increasing &= ev.seq == last + 1;
    last = ev.seq;
    published++;
  });
  for (int i = 0; i < 20000; i++) in.on_flow(cp_flow(i));
  e.store->flush();
  EXPECT_GT(in.flows_dropped(), 0u);
  EXPECT_EQ(in.flows_dropped(), e.store->stats().flows_dropped);
  EXPECT_EQ(published + in.flows_dropped(), 20000u);
  EXPECT_TRUE(increasing);
  EXPECT_EQ(e.store->stats().flows, published);
  J s = J::parse(in.flow_stats_json());
  EXPECT_EQ(s["flows"]["kept"], published);
  EXPECT_EQ(s["flows"]["dropped"], in.flows_dropped());
}

TEST(ApiFlows, ListFiltersCursorAndDocumentFields) {
  FlowEnv e;
  Ingest in(*e.store);
  in.set_flow_filter({FlowFilterOptions::Mode::kAll, 0, 0, 1});
  for (int i = 0; i < 30; i++) in.on_flow(cp_flow(i));
  e.store->flush();
  TokenStore tk;
  tk.add("viewer-token", {"v", Role::kViewer});
  ApiService svc(*e.store, std::move(tk), ServiceOptions{});
  auto get = [&](std::map<std::string, std::string> q, const std::string& token = "viewer-token") {
    Request r;
    r.method = "GET";
    r.path = "/api/v1/flows";
    r.query = std::move(q);
    if (!token.empty()) r.headers["authorization"] = "Bearer " + token;
    return svc.handle(r);
  };
  Request d;
  d.method = "GET";
  d.path = "/api/v1/openapi.json";
  J doc = J::parse(svc.handle(d).body);
  ASSERT_TRUE(doc["paths"].contains("/flows"));
  auto required = doc["components"]["schemas"]["Flow"]["required"];
  EXPECT_EQ(get({}, "").status, 401);
  auto pages = [&](std::map<std::string, std::string> q) {
    std::vector<uint64_t> ids;
    q["limit"] = "4";
    for (int guard = 0; guard < 50; guard++) {
      Response r = get(q);
      EXPECT_EQ(r.status, 200) << r.body;
      J j = J::parse(r.body);
      for (auto& it : j["items"]) {
        for (auto& k : required) EXPECT_TRUE(it.contains(k.get<std::string>())) << k;
        ids.push_back(it["id"].get<uint64_t>());
      }
      if (j["next_cursor"].is_null()) break;
      q["cursor"] = j["next_cursor"].get<std::string>();
    }
    return ids;
  };
  auto want = [](auto pred) {
    std::vector<uint64_t> v;
    for (int i = 29; i >= 0; i--)
      if (pred(i)) v.push_back(uint64_t(i + 1));
    return v;
  };
  EXPECT_EQ(pages({}), want([](int) { return true; }));
  EXPECT_EQ(pages({{"ip", "10.0.0.3"}}), want([](int i) { return i % 5 == 3; }));
  EXPECT_EQ(pages({{"ip", "192.168.1.1"}, {"port", "53"}}), want([](int i) { return i % 2 == 1; }));
  EXPECT_EQ(pages({{"cidr", "10.0.0.0/31"}}), want([](int i) { return i % 5 < 2; }));
  EXPECT_EQ(pages({{"proto", "udp"}, {"app_proto", "dns"}}), want([](int i) { return i % 2 == 1; }));
  EXPECT_EQ(pages({{"min_bytes", "2000"}, {"from", "2025-12-01T00:00:10Z"}, {"to", "2025-12-01T00:00:25Z"}}),
            want([](int i) { return i >= 20 && i <= 25; }));
  for (auto bad : std::vector<std::map<std::string, std::string>>{
           {{"port", "70000"}}, {{"cidr", "10.0.0.0/40"}}, {{"ip", "x"}}, {{"severity", "1"}}, {{"min_bytes", "-1"}},
           {{"proto", "T C P"}}, {{"cursor", encode_cursor('a', 5, 1)}}, {{"limit", "0"}}})
    EXPECT_EQ(get(bad).status, 400) << bad.begin()->first;
}

TEST(ApiStats, MessageDetachedAttachedAndRates) {
  StatsBuilder b;
  const std::string store = R"({"flows":{"mode":"none","seen":0,"kept":0,"dropped":0},"alerts_dropped":0,"bad_lines":0})";
  J j = J::parse(b.build(DpSample{}, 1764547200000, 1000, store));
  EXPECT_EQ(j["dataplane"], "detached");
  EXPECT_FALSE(j.contains("packets"));
  EXPECT_EQ(j["store"]["flows"]["mode"], "none");
  DpSample s;
  s.attached = true;
  s.workers = 2;
  s.ts_ns = kT0ns;
  s.packets = 1000;
  s.bytes = 100000;
  s.alerts = 3;
  j = J::parse(b.build(s, 1764547200000, 1000, store));
  EXPECT_EQ(j["dataplane"], "attached");
  EXPECT_EQ(j["packets"], 1000);
  EXPECT_EQ(j["rates"]["window_s"], 0.0);  // one sample: no rate yet
  s.ts_ns += 2000000000ull;  // 2 s later
  s.packets += 4000;
  s.bytes += 400000;
  s.alerts += 10;
  j = J::parse(b.build(s, 1764547202000, 1000, store));
  EXPECT_DOUBLE_EQ(j["rates"]["packets_per_s"].get<double>(), 2000.0);
  EXPECT_DOUBLE_EQ(j["rates"]["bytes_per_s"].get<double>(), 200000.0);
  EXPECT_DOUBLE_EQ(j["rates"]["alerts_per_s"].get<double>(), 5.0);
  EXPECT_DOUBLE_EQ(j["rates"]["window_s"].get<double>(), 2.0);
  j = J::parse(b.build(s, 1764547203000, 1000, store));  // the same sample again: the same rates
  EXPECT_DOUBLE_EQ(j["rates"]["packets_per_s"].get<double>(), 2000.0);
  s.ts_ns += 1000000000ull;  // a restarted data plane: counters went back
  s.packets = 10;
  j = J::parse(b.build(s, 1764547204000, 1000, store));
  EXPECT_DOUBLE_EQ(j["rates"]["packets_per_s"].get<double>(), 0.0);
  EXPECT_EQ(j["packets"], 10);
}
