// The store's flow records: the migration from the previous schema version,
// list filters and keyset pages, replay by id, retention, and the flows'
// share of the ingest queue (drops counted, alerts not crowded out).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "ctrlplane/store/eve_rows.h"
#include "ctrlplane/store/sqlite_store.h"
#include "tests/unit/store/store_util.h"

using namespace spectre::store;
using namespace spectre::store::testing;

namespace {

FlowRow flow(int64_t ts, const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
             uint64_t bytes, const std::string& proto = "TCP", const std::string& app = "") {
  FlowRow f;
  f.ts_ms = ts;
  f.start_ms = ts - 500;
  f.flow_id = uint64_t(ts) * 7;
  f.src_ip = src;
  f.src_port = sport;
  f.dest_ip = dst;
  f.dest_port = dport;
  f.proto = proto;
  f.app_proto = app;
  f.bytes = bytes;
  f.pkts = bytes / 100 + 1;
  f.eve = "{\"event_type\":\"flow\"}";
  return f;
}

std::vector<uint64_t> ids(SqliteStore& s, FlowQuery q) {
  std::vector<uint64_t> out;
  std::string err;
  for (int guard = 0; guard < 1000; guard++) {
    std::vector<FlowRow> page;
    EXPECT_TRUE(s.list_flows(q, page, err)) << err;
    for (auto& f : page) out.push_back(f.id);
    if (page.size() < q.limit) break;
    q.before_id = page.back().id;
    q.before_ts = page.back().ts_ms;
  }
  return out;
}

}  // namespace

// A file of the previous version (everything up to the flows migration) with
// an alert and a flow row keeps both; the flow gains its flow id and alerted
// flag from its EVE and the new indexes exist; new flows continue its ids.
TEST(StoreFlows, MigratesPreviousVersionKeepingRows) {
  TmpDb t;
  {
    Db d;
    std::string err;
    ASSERT_TRUE(d.open(t.path, true, err)) << err;
    ASSERT_TRUE(migrate(d, err, kFlowsSchemaVersion - 1)) << err;
    ASSERT_EQ(d.scalar("PRAGMA user_version"), kFlowsSchemaVersion - 1);
    ASSERT_TRUE(d.exec("INSERT INTO alerts(id,ts,severity,sid,signature,src_ip,dest_ip,eve) "
                       "VALUES(9, 1764547200000, 2, 2001, 'OLD', '10.0.0.1', '10.0.0.2', '{}');"
                       "INSERT INTO flows(id,ts,src_ip,dest_ip,src_port,dest_port,proto,app_proto,bytes,pkts,eve) "
                       "VALUES(41, 1764547201000, '10.0.0.1', '10.0.0.2', 5000, 80, 'TCP', 'http', 900, 9,"
                       " '{\"flow_id\":123456,\"flow\":{\"alerted\":true}}');", &err))
        << err;
  }
  auto s = open_store(t.path);
  Db d;
  std::string err;
  ASSERT_TRUE(d.open(t.path, false, err));
  EXPECT_EQ(d.scalar("PRAGMA user_version"), kSchemaVersion);
  for (const char* ix : {"flows_ts", "flows_src", "flows_dest", "flows_sport", "flows_dport"})
    EXPECT_EQ(d.scalar(std::string("SELECT count(*) FROM sqlite_master WHERE type='index' AND name='") + ix + "'"), 1)
        << ix;
  EXPECT_TRUE(s->get_alert(9));
  std::vector<FlowRow> v;
  ASSERT_TRUE(s->list_flows(FlowQuery{}, v, err)) << err;
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].id, 41u);
  EXPECT_EQ(v[0].flow_id, 123456u);
  EXPECT_TRUE(v[0].alerted);
  EXPECT_EQ(v[0].start_ms, v[0].ts_ms);
  EXPECT_EQ(v[0].app_proto, "http");
  EXPECT_EQ(s->enqueue_flow(flow(kT0, "10.0.0.5", 1, "10.0.0.6", 2, 10)), 42u);
  s->flush();
  EXPECT_EQ(s->stats().flows, 2u);
}

TEST(StoreFlows, FiltersAndKeysetPages) {
  TmpDb t;
  auto s = open_store(t.path);
  // 60 flows; i % 3: 9.9.9.9 as source, as destination, or absent; ports 53/443/80; bytes i * 100.
  for (int i = 0; i < 60; i++) {
    std::string src = i % 3 == 0 ? "9.9.9.9" : "10.1.0." + std::to_string(i);
    std::string dst = i % 3 == 1 ? "9.9.9.9" : "172.16.0.1";
    uint16_t port = i % 4 == 0 ? 53 : i % 4 == 1 ? 443 : 80;
    auto f = flow(kT0 + (i % 10) * 1000, src, uint16_t(40000 + i), dst, port, uint64_t(i) * 100,
                  port == 53 ? "UDP" : "TCP", port == 53 ? "dns" : port == 443 ? "tls" : "http");
    if (i == 7) f.src_port = 53, f.dest_port = 53;  // both sides: listed once
    EXPECT_EQ(s->enqueue_flow(f), uint64_t(i + 1));
  }
  s->flush();
  auto want = [](auto pred) {
    std::vector<std::pair<int64_t, uint64_t>> v;  // (ts, id), the list's order
    for (int i = 0; i < 60; i++)
      if (pred(i)) v.emplace_back(kT0 + (i % 10) * 1000, uint64_t(i + 1));
    std::sort(v.rbegin(), v.rend());
    std::vector<uint64_t> out;
    for (auto& p : v) out.push_back(p.second);
    return out;
  };
  FlowQuery q;
  q.limit = 7;
  EXPECT_EQ(ids(*s, q), want([](int) { return true; }));
  q.ip = "9.9.9.9";
  EXPECT_EQ(ids(*s, q), want([](int i) { return i % 3 != 2; }));
  q.port = 53;  // with an address: a residual on either port
  EXPECT_EQ(ids(*s, q), want([](int i) { return i % 3 != 2 && (i % 4 == 0 || i == 7); }));
  q = {};
  q.limit = 5;
  q.port = 53;
  EXPECT_EQ(ids(*s, q), want([](int i) { return i % 4 == 0 || i == 7; }));
  q = {};
  q.cidr = IpRange{0x0a010000u, 0x0a01ffffu};  // 10.1.0.0/16: sources of i % 3 != 0
  EXPECT_EQ(ids(*s, q), want([](int i) { return i % 3 != 0; }));
  q = {};
  q.proto = "UDP";
  q.app_proto = "dns";
  EXPECT_EQ(ids(*s, q), want([](int i) { return i % 4 == 0; }));
  q = {};
  q.min_bytes = 5000;
  q.from_ms = kT0 + 2000;
  q.to_ms = kT0 + 8000;
  EXPECT_EQ(ids(*s, q), want([](int i) { return i >= 50 && i % 10 >= 2 && i % 10 <= 8; }));
  std::vector<FlowRow> after;
  ASSERT_TRUE(s->flows_after(55, 100, after));
  ASSERT_EQ(after.size(), 5u);
  EXPECT_EQ(after.front().id, 56u);
  EXPECT_EQ(after.back().id, 60u);
  EXPECT_EQ(s->min_flow_id(), 1u);
  EXPECT_EQ(s->max_flow_id(), 60u);
}

// Flows may hold only their share of the queue: a flood is dropped and
// counted (as flows) while alerts, interleaved, all get in.
TEST(StoreFlows, FullFlowShareDropsAndCountsButLeavesRoomForAlerts) {
  TmpDb t;
  auto s = open_store(t.path, 200, 8);
  uint64_t ok = 0, zero = 0, alerts = 0;
  for (int i = 0; i < 20000; i++) {
    (s->enqueue_flow(flow(kT0 + i, "1.1.1.1", 1, "2.2.2.2", 2, 100)) ? ok : zero)++;
    if (i % 200 == 0) {
      AlertRow a;
      a.ts_ms = kT0 + i;
      a.src_ip = "1.1.1.1";
      a.dest_ip = "2.2.2.2";
      a.eve = "{}";
      alerts += s->enqueue_alert(a) ? 1 : 0;
    }
  }
  s->flush();
  auto st = s->stats();
  EXPECT_GT(zero, 0u);  // 20,000 flows outrun an 8-row share
  EXPECT_EQ(st.flows_dropped, zero);
  EXPECT_EQ(st.dropped, zero);
  EXPECT_EQ(alerts, 100u);  // at most 8 flows + 100 alerts queued: under 200
  EXPECT_EQ(st.flows, ok);
  EXPECT_EQ(s->max_flow_id(), ok);  // ids of accepted rows only
}

TEST(StoreFlows, RetentionByAge) {
  TmpDb t;
  auto s = open_store(t.path);
  for (int i = 0; i < 100; i++) s->enqueue_flow(flow(kT0 + int64_t(i) * 60000, "1.1.1.1", 1, "2.2.2.2", 2, 10));
  s->flush();
  RetentionPolicy age;
  age.max_age_ms = 40LL * 60000;
  EXPECT_EQ(s->apply_retention(age, kT0 + 100LL * 60000), 60u);
  EXPECT_EQ(s->min_flow_id(), 61u);
  EXPECT_EQ(s->stats().flows, 40u);
}

TEST(StoreFlows, RowFromEveLine) {
  FlowRow f;
  ASSERT_TRUE(flow_from_eve(
      R"({"timestamp":"2025-12-01T00:00:02.000000+0000","flow_id":77,"event_type":"flow","src_ip":"10.0.0.1",)"
      R"("src_port":1234,"dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP","app_proto":"http","flow":{)"
      R"("pkts_toserver":3,"pkts_toclient":2,"bytes_toserver":300,"bytes_toclient":200,)"
      R"("start":"2025-12-01T00:00:01.000000+0000","alerted":true}})",
      f));
  EXPECT_EQ(f.ts_ms, kT0 + 2000);
  EXPECT_EQ(f.start_ms, kT0 + 1000);
  EXPECT_EQ(f.flow_id, 77u);
  EXPECT_EQ(f.bytes, 500u);
  EXPECT_EQ(f.pkts, 5u);
  EXPECT_TRUE(f.alerted);
}
