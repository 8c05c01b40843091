// FlowTable: index, LRU expiry per timeout class, eviction, flush, and a
// differential test against std::unordered_map.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <unordered_map>
#include <vector>

#include "dataplane/flow/flow_table.h"

namespace spectre {
namespace {

// Distinct IPv4/UDP key per id (24 bits of id in the source address).
FlowKey key_of(uint32_t id, uint8_t proto = 17) {
  const uint8_t a[4] = {10, uint8_t(id >> 16), uint8_t(id >> 8), uint8_t(id)};
  const uint8_t b[4] = {192, 168, 0, 1};
  const uint16_t vlan[2] = {0, 0};
  FlowKey k;
  make_flow_key(k, a, b, 4, uint16_t(1024 + id % 50000), 53, proto, 4, vlan);
  return k;
}

struct NoEvict {
  int calls = 0;
  void operator()(const Flow&) { calls++; }
};

// Inserts, stamps last_ts and links into class `cls`; session carries `id`.
uint32_t add(FlowTable& t, uint32_t id, uint64_t ts, uint8_t cls, std::vector<uint64_t>* evicted = nullptr) {
  FlowKey k = key_of(id);
  uint32_t idx = t.insert(k, flow_hash(k), [&](const Flow& f) {
    if (evicted) evicted->push_back(f.session);
    else ADD_FAILURE() << "unexpected eviction of " << f.session;
  });
  if (!idx) return 0;
  t.at(idx).last_ts = ts;
  t.at(idx).session = id;
  t.touch(idx, cls);
  return idx;
}

uint32_t find(const FlowTable& t, uint32_t id) {
  FlowKey k = key_of(id);
  return t.lookup(k, flow_hash(k));
}

TEST(FlowTable, InsertLookupRemove) {
  FlowTable t(16);
  EXPECT_EQ(t.capacity(), 16u);
  EXPECT_EQ(t.size(), 0u);
  FlowKey k = key_of(1);
  uint32_t h = flow_hash(k);
  EXPECT_EQ(t.lookup(k, h), 0u);
  NoEvict ne;
  uint32_t idx = t.insert(k, h, ne);
  ASSERT_NE(idx, 0u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.lookup(k, h), idx);
  EXPECT_TRUE(t.at(idx).key == k);
  EXPECT_EQ(t.at(idx).hash, h);
  EXPECT_EQ(t.at(idx).pkts[0] + t.at(idx).pkts[1] + t.at(idx).bytes[0] + t.at(idx).flags, 0u);
  t.at(idx).pkts[0] = 5;
  t.touch(idx, kTmoUdp);
  t.remove(idx);
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.lookup(k, h), 0u);
  // The freed entry is reused and reset.
  uint32_t again = t.insert(k, h, ne);
  EXPECT_EQ(again, idx);
  EXPECT_EQ(t.at(again).pkts[0], 0u);
  EXPECT_EQ(ne.calls, 0);
}

TEST(FlowTable, BothDirectionsFindTheSameFlow) {
  FlowTable t(8);
  const uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const uint16_t vlan[2] = {0x1005, 0};
  FlowKey fwd, rev;
  EXPECT_FALSE(make_flow_key(fwd, a, b, 16, 40000, 443, 6, 6, vlan));
  EXPECT_TRUE(make_flow_key(rev, b, a, 16, 443, 40000, 6, 6, vlan));
  NoEvict ne;
  uint32_t idx = t.insert(fwd, flow_hash(fwd), ne);
  EXPECT_EQ(t.lookup(rev, flow_hash(rev)), idx);
}

TEST(FlowTable, StaleIndexAfterRemoveDoesNotMatch) {
  FlowTable t(8);
  uint32_t idx = add(t, 1, 10, kTmoUdp);
  FlowKey k = key_of(1);
  t.remove(idx);
  EXPECT_EQ(t.at(idx).key.ip_ver, 0);
  EXPECT_FALSE(t.at(idx).key == k);
  EXPECT_EQ(find(t, 1), 0u);
  uint32_t idx2 = add(t, 2, 11, kTmoUdp);
  EXPECT_EQ(idx2, idx);
  EXPECT_FALSE(t.at(idx).key == k);
  EXPECT_TRUE(t.at(idx).key == key_of(2));
}

TEST(FlowTable, ExpireByClassOnlyWhatIsDueInOrder) {
  FlowTable t(64);
  uint64_t tmo[kTmoClassCount];
  std::fill(std::begin(tmo), std::end(tmo), 100);
  tmo[kTmoTcpNew] = 5;
  tmo[kTmoUdp] = 10;
  // Touches in time order, as the worker does.
  add(t, 1, 100, kTmoUdp);    // due after 110
  add(t, 2, 100, kTmoIcmp);   // due after 200
  add(t, 3, 101, kTmoTcpNew); // due after 106
  add(t, 4, 103, kTmoUdp);    // due after 113
  add(t, 5, 104, kTmoTcpNew); // due after 109
  add(t, 6, 108, kTmoUdp);    // due after 118
  std::vector<uint64_t> ended;
  auto on_end = [&](const Flow& f) { ended.push_back(f.session); };

  EXPECT_EQ(t.expire(110, tmo, 100, on_end), 2u);
  EXPECT_EQ(ended, (std::vector<uint64_t>{3, 5}));
  EXPECT_EQ(t.expire(111, tmo, 100, on_end), 1u);
  EXPECT_EQ(ended, (std::vector<uint64_t>{3, 5, 1}));
  EXPECT_EQ(t.expire(113, tmo, 100, on_end), 0u);  // flow 4 exactly at its deadline
  EXPECT_EQ(t.size(), 3u);

  // Refreshing flow 4 moves it behind flow 6.
  uint32_t i4 = find(t, 4);
  t.at(i4).last_ts = 150;
  t.touch(i4, kTmoUdp);
  EXPECT_EQ(t.expire(140, tmo, 100, on_end), 1u);
  EXPECT_EQ(ended.back(), 6u);
  EXPECT_NE(find(t, 4), 0u);
  EXPECT_NE(find(t, 2), 0u);
  EXPECT_EQ(find(t, 6), 0u);

  // Moving a flow to a class with a longer timeout keeps it.
  t.touch(i4, kTmoTcpEstablished);
  EXPECT_EQ(t.expire(201, tmo, 100, on_end), 1u);  // only the ICMP flow
  EXPECT_EQ(ended.back(), 2u);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.expire(251, tmo, 100, on_end), 1u);
  EXPECT_EQ(ended.back(), 4u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(FlowTable, ExpireHonoursBudget) {
  FlowTable t(64);
  uint64_t tmo[kTmoClassCount];
  std::fill(std::begin(tmo), std::end(tmo), 1);
  for (uint32_t i = 0; i < 10; i++) add(t, i, 10 + i, kTmoUdp);
  std::vector<uint64_t> ended;
  auto on_end = [&](const Flow& f) { ended.push_back(f.session); };
  EXPECT_EQ(t.expire(1000, tmo, 3, on_end), 3u);
  EXPECT_EQ(ended, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(t.size(), 7u);
  EXPECT_EQ(t.expire(1000, tmo, 3, on_end), 3u);
  EXPECT_EQ(t.expire(1000, tmo, 3, on_end), 3u);
  EXPECT_EQ(t.expire(1000, tmo, 3, on_end), 1u);
  EXPECT_EQ(t.expire(1000, tmo, 3, on_end), 0u);
  EXPECT_EQ(ended.size(), 10u);
  EXPECT_TRUE(std::is_sorted(ended.begin(), ended.end()));

  // The budget spans classes.
  add(t, 20, 1, kTmoTcpNew);
  add(t, 21, 2, kTmoTcpNew);
  add(t, 22, 3, kTmoUdp);
  add(t, 23, 4, kTmoUdp);
  ended.clear();
  EXPECT_EQ(t.expire(1000, tmo, 3, on_end), 3u);
  EXPECT_EQ(ended, (std::vector<uint64_t>{20, 21, 22}));
}

TEST(FlowTable, FullTableEvictsOldestIdle) {
  FlowTable t(4);
  add(t, 1, 5, kTmoTcpEstablished);
  add(t, 2, 7, kTmoUdp);
  add(t, 3, 10, kTmoUdp);
  add(t, 4, 20, kTmoIcmp);
  ASSERT_EQ(t.size(), 4u);
  std::vector<uint64_t> ev;
  ASSERT_NE(add(t, 5, 30, kTmoOther, &ev), 0u);
  EXPECT_EQ(ev, (std::vector<uint64_t>{1}));
  EXPECT_EQ(find(t, 1), 0u);
  EXPECT_NE(find(t, 5), 0u);
  EXPECT_EQ(t.size(), 4u);
  ASSERT_NE(add(t, 6, 31, kTmoOther, &ev), 0u);
  EXPECT_EQ(ev, (std::vector<uint64_t>{1, 2}));
  ASSERT_NE(add(t, 7, 32, kTmoOther, &ev), 0u);
  EXPECT_EQ(ev, (std::vector<uint64_t>{1, 2, 3}));
  for (uint32_t id : {4u, 5u, 6u, 7u}) EXPECT_NE(find(t, id), 0u) << id;
}

TEST(FlowTable, NoRoomWithoutLinkedFlows) {
  FlowTable z(0);
  NoEvict ne;
  FlowKey k = key_of(1);
  EXPECT_EQ(z.insert(k, flow_hash(k), ne), 0u);
  // Flows never touched are on no LRU list, so none can be evicted.
  FlowTable t(2);
  for (uint32_t id : {1u, 2u}) {
    FlowKey kk = key_of(id);
    ASSERT_NE(t.insert(kk, flow_hash(kk), ne), 0u);
  }
  FlowKey k3 = key_of(3);
  EXPECT_EQ(t.insert(k3, flow_hash(k3), ne), 0u);
  EXPECT_EQ(ne.calls, 0);
  EXPECT_EQ(t.size(), 2u);
}

TEST(FlowTable, BothBucketsFullEvictsOldestInThem) {
  FlowTable t(1024);
  const uint32_t h = 7;  // every key gets the same hash: two buckets, 16 slots
  std::vector<FlowKey> keys;
  std::vector<uint32_t> idxs;
  std::vector<uint64_t> ev;
  auto on_evict = [&](const Flow& f) { ev.push_back(f.session); };
  const uint64_t ts[17] = {50, 40, 60, 30, 70, 80, 90, 35, 100, 110, 120, 130, 140, 150, 160, 170, 180};
  for (uint32_t i = 0; i < 17; i++) {
    keys.push_back(key_of(i));
    uint32_t idx = t.insert(keys[i], h, on_evict);
    ASSERT_NE(idx, 0u) << i;
    t.at(idx).session = i;
    t.at(idx).last_ts = ts[i];
    idxs.push_back(idx);
    if (i < 16) {
      EXPECT_TRUE(ev.empty()) << i;
    }
  }
  EXPECT_EQ(ev, (std::vector<uint64_t>{3}));  // last_ts 30
  EXPECT_EQ(t.size(), 16u);
  for (uint32_t i = 0; i < 17; i++) {
    uint32_t got = t.lookup(keys[i], h);
    if (i == 3) {
      EXPECT_EQ(got, 0u);
    } else {
      ASSERT_NE(got, 0u) << i;
      EXPECT_TRUE(t.at(got).key == keys[i]) << i;
    }
  }
}

TEST(FlowTable, FlushEndsEveryFlow) {
  FlowTable t(32);
  std::set<uint64_t> want;
  uint8_t cls[] = {kTmoTcpNew, kTmoTcpEstablished, kTmoTcpClosing, kTmoTcpClosed, kTmoUdp, kTmoIcmp, kTmoOther, kTmoUdp};
  for (uint32_t i = 0; i < 8; i++) {
    add(t, i, i, cls[i]);
    want.insert(i);
  }
  std::multiset<uint64_t> got;
  t.flush([&](const Flow& f) { got.insert(f.session); });
  EXPECT_EQ(got, std::multiset<uint64_t>(want.begin(), want.end()));
  EXPECT_EQ(t.size(), 0u);
  for (uint32_t i = 0; i < 8; i++) EXPECT_EQ(find(t, i), 0u);
  EXPECT_NE(add(t, 100, 1, kTmoUdp), 0u);
  EXPECT_EQ(t.size(), 1u);
}

TEST(FlowTable, BytesFor) {
  // 1000 flows: 256 buckets of 64 B + 1001 flows of 128 B.
  EXPECT_EQ(FlowTable::bytes_for(1000), 256u * 64 + 1001u * 128);
  EXPECT_EQ(sizeof(Flow), 128u);
}

// Random inserts/removes/lookups/expiry against a std::unordered_map model.
TEST(FlowTable, DifferentialAgainstUnorderedMap) {
  constexpr uint32_t kCap = 2000, kIds = 5000;
  FlowTable t(kCap);
  struct M { uint32_t idx; uint64_t last_ts; uint8_t cls; };
  std::unordered_map<uint32_t, M> model;
  std::set<std::pair<uint64_t, uint32_t>> by_ts;  // (last_ts, id)
  std::mt19937 rng(4242);
  uint64_t tmo[kTmoClassCount];
  for (int c = 0; c < kTmoClassCount; c++) tmo[c] = 12000 + 3000 * uint64_t(c);
  uint64_t now = 1;
  uint64_t evictions = 0, expirations = 0;
  for (int op = 0; op < 300000; op++) {
    now += op % 25000 == 0 ? 15000 : 1;  // idle gaps make flows due
    uint32_t id = rng() % kIds;
    uint32_t r = rng() % 100;
    auto it = model.find(id);
    if (r < 50) {  // packet: update or create
      if (it != model.end()) {
        ASSERT_EQ(find(t, id), it->second.idx);
        t.at(it->second.idx).last_ts = now;
        t.touch(it->second.idx, it->second.cls);
        by_ts.erase({it->second.last_ts, id});
        by_ts.insert({now, id});
        it->second.last_ts = now;
      } else {
        ASSERT_EQ(find(t, id), 0u);
        FlowKey k = key_of(id);
        uint32_t idx = t.insert(k, flow_hash(k), [&](const Flow& f) {
          auto v = model.find(uint32_t(f.session));
          ASSERT_NE(v, model.end());
          EXPECT_EQ(by_ts.begin()->second, v->first);  // the oldest idle flow
          by_ts.erase({v->second.last_ts, v->first});
          model.erase(v);
          evictions++;
        });
        ASSERT_NE(idx, 0u);
        uint8_t cls = uint8_t(id % kTmoClassCount);
        t.at(idx).session = id;
        t.at(idx).last_ts = now;
        t.touch(idx, cls);
        model[id] = {idx, now, cls};
        by_ts.insert({now, id});
      }
    } else if (r < 75) {
      if (it != model.end()) {
        t.remove(it->second.idx);
        by_ts.erase({it->second.last_ts, id});
        model.erase(it);
      }
    } else if (r < 98) {
      uint32_t idx = find(t, id);
      if (it == model.end()) {
        ASSERT_EQ(idx, 0u);
      } else {
        ASSERT_EQ(idx, it->second.idx);
        ASSERT_TRUE(t.at(idx).key == key_of(id));
      }
    } else {
      uint32_t budget = 1 + rng() % 50;
      uint32_t n = t.expire(now, tmo, budget, [&](const Flow& f) {
        auto v = model.find(uint32_t(f.session));
        ASSERT_NE(v, model.end());
        EXPECT_LT(f.last_ts + tmo[v->second.cls], now);
        by_ts.erase({v->second.last_ts, v->first});
        model.erase(v);
        expirations++;
      });
      if (n < budget) {  // nothing due may be left behind
        for (const auto& [mid, m] : model) ASSERT_GE(m.last_ts + tmo[m.cls], now) << mid;
      }
    }
    ASSERT_EQ(t.size(), model.size()) << "op " << op;
  }
  ASSERT_EQ(by_ts.size(), model.size());
  EXPECT_GT(evictions, 100u);
  EXPECT_GT(expirations, 100u);
  for (const auto& [id, m] : model) ASSERT_EQ(find(t, id), m.idx);
  size_t flushed = 0;
  t.flush([&](const Flow&) { flushed++; });
  EXPECT_EQ(flushed, model.size());
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace spectre

namespace spectre {
namespace {
// The budget: one million concurrent flows in at most 512 MB. The
// table itself (flows + index) must stay at 144 B per flow (README figure).
TEST(FlowTableBudget, MillionFlowsFitTheBudget) {
  size_t b = FlowTable::bytes_for(1000000);
  EXPECT_LE(b, size_t(150) * 1000 * 1000);
  EXPECT_LE(double(b) / 1e6, 512.0);
  EXPECT_EQ(sizeof(Flow), 128u);
}
}  // namespace
}  // namespace spectre
