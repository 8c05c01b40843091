// StreamHub flow control and resume over loopback: slow consumers (drop
// oldest with gap notices, disconnect), priority, resume from the ring and
// from a ReplaySource, SSE with Last-Event-ID.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "tests/unit/stream/hub_util.h"

namespace spectre::stream::test {
namespace {

// A client that does not read: the kernel buffers ~4 MB (send buffer) plus the
// receive buffer (128 kB, no autotuning while nothing is read); the rest backs up in the hub.
std::unique_ptr<WsClient> paused_client(uint16_t port) { return std::make_unique<WsClient>(port); }

constexpr size_t kPad = 16000;

TEST(StreamFlow, SlowClientDropOldestGetsGapThenContinues) {
  StreamOptions o = Hub::quiet();
  o.queue_limit = 64;
  o.slow_policy = SlowPolicy::kDropOldest;
  Hub h(o);
  auto c = paused_client(h.port());
  c->subscribe({{"channels", {"alerts"}}});
  const uint64_t n = 1500;  // 24 MB: far more than the socket buffers hold
  for (uint64_t s = 1; s <= n; ++s) h.hub->publish(event(s, 3, "S", "10.0.0.1", "10.0.0.2", "", kPad));
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().published == n; }));
  ASSERT_GT(h.hub->stats().dropped, 0u);

  std::vector<uint64_t> got;
  std::vector<json> gaps;
  bool after_gap = false;
  while (got.empty() || got.back() != n) {
    json j;
    try {
      j = c->recv();
    } catch (const std::exception& e) {
      auto st = h.hub->stats();
      FAIL() << e.what() << " after " << got.size() << " events, " << gaps.size() << " gaps; sent " << st.sent
             << " dropped " << st.dropped << " gaps " << st.gaps << " last " << (got.empty() ? 0 : got.back());
    }
    // The gap notice comes after the events before the dropped span and before those after it.
    if (j["type"] == "gap") {
      EXPECT_TRUE(got.empty() || got.back() < j["from_seq"].get<uint64_t>()) << j.dump();
      gaps.push_back(j);
      after_gap = true;
    } else if (j["type"] == "event") {
      got.push_back(j["seq"].get<uint64_t>());
      if (after_gap) {
        EXPECT_GT(got.back(), gaps.back()["to_seq"].get<uint64_t>()) << gaps.back().dump();
      }
      after_gap = false;
    }
  }
  ASSERT_FALSE(gaps.empty());
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end()));
  EXPECT_EQ(std::set<uint64_t>(got.begin(), got.end()).size(), got.size()) << "duplicate";
  std::set<uint64_t> have(got.begin(), got.end());
  uint64_t missed_total = 0;
  for (const json& g : gaps) {
    EXPECT_EQ(g["channel"], "alerts");
    missed_total += g["missed"].get<uint64_t>();
  }
  uint64_t missing = 0;
  for (uint64_t s = 1; s <= n; ++s) {
    if (have.count(s)) continue;
    ++missing;
    bool covered = std::any_of(gaps.begin(), gaps.end(), [&](const json& g) {
      return g["from_seq"].get<uint64_t>() <= s && s <= g["to_seq"].get<uint64_t>();
    });
    EXPECT_TRUE(covered) << "seq " << s << " lost without a gap notice";
  }
  EXPECT_EQ(missed_total, missing);
  EXPECT_EQ(missing + got.size(), n);
  EXPECT_EQ(h.hub->stats().dropped, missing);
  EXPECT_EQ(h.hub->stats().gaps, gaps.size());
  // The client goes on receiving live events.
  h.hub->publish(event(n + 1));
  EXPECT_EQ(c->recv_type("event")["seq"], n + 1);
  EXPECT_EQ(h.hub->stats().disconnects, 0u);
}

TEST(StreamFlow, SlowClientDisconnectPolicy) {
  StreamOptions o = Hub::quiet();
  o.queue_limit = 64;
  o.slow_policy = SlowPolicy::kDisconnect;
  Hub h(o);
  auto slow = paused_client(h.port());
  WsClient other(h.port());
  slow->subscribe({{"channels", {"alerts"}}});
  other.subscribe({{"channels", {"alerts"}}, {"filter", {{"signature", "F"}}}});  // the small events only
  const uint64_t n = 1500;
  for (uint64_t s = 1; s <= n; ++s) {
    bool small = s % 30 == 0;  // 50 of them: fewer than queue_limit even in one hub batch
    h.hub->publish(event(s, 3, small ? "F" : "S", "10.0.0.1", "10.0.0.2", "", small ? 0 : kPad));
  }
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().disconnects == 1 && h.hub->stats().clients == 1; }));
  std::vector<uint64_t> other_got;
  while (other_got.size() < n / 30) {
    json j = other.recv();
    if (j["type"] == "event") other_got.push_back(j["seq"].get<uint64_t>());
  }
  EXPECT_EQ(other_got.back(), n);  // the other client is unaffected
  size_t events = 0;
  EXPECT_THROW(
      for (;;) {
        if (slow->recv()["type"] == "event") ++events;
      },
      boost::system::system_error);
  EXPECT_LT(events, n);  // (possibly 0: one hub batch can overflow the queue at once)
  EXPECT_EQ(h.hub->stats().dropped, 0u);
}

TEST(StreamFlow, HigherSeverityFirstWhenBackedUp) {
  StreamOptions o = Hub::quiet();
  o.queue_limit = 100000;
  Hub h(o);
  auto c = paused_client(h.port());
  c->subscribe({{"channels", {"alerts"}}});
  const uint64_t low = 1000;  // 16 MB of severity-4 events: most wait in the hub's queue
  for (uint64_t s = 1; s <= low; ++s) h.hub->publish(event(s, 4, "L", "10.0.0.1", "10.0.0.2", "", kPad));
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().published == low; }));
  for (uint64_t s = low + 1; s <= low + 10; ++s) h.hub->publish(event(s, 1, "H", "10.0.0.1", "10.0.0.2"));
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().published == low + 10; }));
  std::vector<uint64_t> got;
  while (got.size() < low + 10) {
    json j = c->recv();
    if (j["type"] == "event") got.push_back(j["seq"].get<uint64_t>());
  }
  auto pos = [&](uint64_t s) { return std::find(got.begin(), got.end(), s) - got.begin(); };
  for (uint64_t s = low + 1; s <= low + 10; ++s) EXPECT_LT(pos(s), pos(low)) << s;
  EXPECT_EQ(std::set<uint64_t>(got.begin(), got.end()).size(), low + 10);
  EXPECT_EQ(h.hub->stats().dropped, 0u);
}

std::vector<uint64_t> events_until(WsClient& c, uint64_t last, std::vector<json>* gaps = nullptr) {
  std::vector<uint64_t> got;
  while (got.empty() || got.back() < last) {
    json j;
    try {
      j = c.recv();
    } catch (...) {
      ADD_FAILURE() << "timed out after " << ::testing::PrintToString(got);
      throw;
    }
    if (j["type"] == "event") got.push_back(j["seq"].get<uint64_t>());
    if (j["type"] == "gap" && gaps) gaps->push_back(j);
  }
  return got;
}

std::vector<uint64_t> range(uint64_t a, uint64_t b) {
  std::vector<uint64_t> v;
  for (uint64_t s = a; s <= b; ++s) v.push_back(s);
  return v;
}

TEST(StreamResume, FromRingAfterReconnect) {
  Hub h;
  {
    WsClient c(h.port());
    c.subscribe({{"channels", {"alerts"}}});
    for (uint64_t s = 1; s <= 10; ++s) h.hub->publish(event(s, 1 + s % 4));
    EXPECT_EQ(events_until(c, 10), range(1, 10));
    c.send({{"op", "ack"}, {"channel", "alerts"}, {"seq", 7}});
    ASSERT_TRUE(wait_for([&] {
      auto ci = h.hub->clients_info();
      return ci.size() == 1 && ci[0].acked[0] == 7;
    }));
    EXPECT_EQ(h.hub->clients_info()[0].last_sent[0], 10u);
  }  // connection dropped
  for (uint64_t s = 11; s <= 20; ++s) h.hub->publish(event(s, 1 + s % 4));
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().published == 20 && h.hub->stats().clients == 0; }));
  WsClient c(h.port());
  c.subscribe({{"channels", {"alerts"}}, {"resume", {{"alerts", 7}}}});
  EXPECT_EQ(events_until(c, 20), range(8, 20));  // no gap, no duplicate, in order
  h.hub->publish(event(21));
  h.hub->publish(event(22));
  EXPECT_EQ(events_until(c, 22), range(21, 22));
  EXPECT_EQ(h.hub->stats().replayed, 13u);
}

TEST(StreamResume, FromReplaySourceThenRingThenLive) {
  FakeReplay store;
  for (uint64_t s = 1; s <= 40; ++s) store.events.push_back(event(s, s % 2 ? 1 : 3));
  StreamOptions o = Hub::quiet();
  o.ring_size = 5;
  o.replay_batch = 4;
  Hub h(o, &store);
  for (uint64_t s = 1; s <= 30; ++s) h.hub->publish(event(s, s % 2 ? 1 : 3));  // ring keeps 26..30
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().published == 30; }));
  WsClient c(h.port());
  c.subscribe({{"channels", {"alerts"}}, {"resume", {{"alerts", 3}}}});
  EXPECT_EQ(events_until(c, 30), range(4, 30));
  EXPECT_GE(store.calls, 6);  // 22 events from the store, 4 at a time
  EXPECT_EQ(h.hub->stats().replay_queries, static_cast<uint64_t>(store.calls));
  h.hub->publish(event(31, 1));
  EXPECT_EQ(events_until(c, 31), range(31, 31));

  // With a filter: only the matching events of the span, still no gap.
  WsClient f(h.port());
  f.subscribe({{"channels", {"alerts"}}, {"filter", {{"min_severity", 1}}}, {"resume", {{"alerts", 20}}}});
  std::vector<uint64_t> odd;
  for (uint64_t s = 21; s <= 31; s += 2) odd.push_back(s);
  EXPECT_EQ(events_until(f, 31), odd);
}

TEST(StreamResume, StoreOnlyBeforeAnyPublish) {
  FakeReplay store;  // the hub restarted: nothing published yet, the store has 1..30
  for (uint64_t s = 1; s <= 30; ++s) store.events.push_back(event(s));
  StreamOptions o = Hub::quiet();
  o.replay_batch = 7;
  Hub h(o, &store);
  WsClient c(h.port());
  c.subscribe({{"channels", {"alerts"}}, {"resume", {{"alerts", 20}}}});
  EXPECT_EQ(events_until(c, 30), range(21, 30));
  ASSERT_TRUE(wait_for([&] { return h.hub->clients_info()[0].last_sent[0] == 30; }));
  h.hub->publish(event(31));
  EXPECT_EQ(events_until(c, 31), range(31, 31));
}

TEST(StreamResume, GapNoticeWhenOlderThanRingAndStore) {
  FakeReplay store;
  store.oldest_kept = 10;  // positions before 9 are out of retention
  StreamOptions o = Hub::quiet();
  o.ring_size = 5;
  for (ReplaySource* rs : {static_cast<ReplaySource*>(nullptr), static_cast<ReplaySource*>(&store)}) {
    Hub h(o, rs);
    for (uint64_t s = 1; s <= 30; ++s) h.hub->publish(event(s));
    ASSERT_TRUE(wait_for([&] { return h.hub->stats().published == 30; }));
    WsClient c(h.port());
    c.subscribe({{"channels", {"alerts"}}, {"resume", {{"alerts", 3}}}});
    std::vector<json> gaps;
    EXPECT_EQ(events_until(c, 30, &gaps), range(26, 30));
    ASSERT_EQ(gaps.size(), 1u);
    EXPECT_EQ(gaps[0]["missed"], 22);
    EXPECT_EQ(gaps[0]["from_seq"], 4);
    EXPECT_EQ(gaps[0]["to_seq"], 25);
  }
}

// Stats (StreamOptions::resumable false) keep no ring and are not replayed:
// resuming them gets a gap notice for what was published since, then live.
TEST(StreamResume, StatsAreNotReplayedAGapSaysWhatWasMissed) {
  FakeReplay store;
  for (uint64_t s = 1; s <= 10; ++s) store.events.push_back(event(s, 4, "", "", "", "", 0, Channel::kStats));
  Hub h(Hub::quiet(), &store);
  for (uint64_t s = 1; s <= 10; ++s) h.hub->publish(event(s, 4, "", "", "", "", 0, Channel::kStats));
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().published == 10; }));
  WsClient c(h.port());
  c.subscribe({{"channels", {"stats"}}, {"resume", {{"stats", 4}}}});
  h.hub->publish(event(11, 4, "", "", "", "", 0, Channel::kStats));
  std::vector<json> gaps;
  EXPECT_EQ(events_until(c, 11, &gaps), range(11, 11));
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0]["channel"], "stats");
  EXPECT_EQ(gaps[0]["missed"], 6);
  EXPECT_EQ(gaps[0]["from_seq"], 5);
  EXPECT_EQ(gaps[0]["to_seq"], 10);
  EXPECT_EQ(h.hub->stats().replayed, 0u);
  EXPECT_EQ(store.calls, 0);
  // A position at the head: nothing missed, no notice.
  WsClient d(h.port());
  d.subscribe({{"channels", {"stats"}}, {"resume", {{"stats", 11}}}});
  h.hub->publish(event(12, 4, "", "", "", "", 0, Channel::kStats));
  gaps.clear();
  EXPECT_EQ(events_until(d, 12, &gaps), range(12, 12));
  EXPECT_TRUE(gaps.empty());
}

TEST(StreamSse, EventsIdsAndLastEventId) {
  Hub h;
  std::string last;
  {
    SseClient s(h.port(), "/api/v1/stream/sse?channels=alerts&min_severity=2");
    ASSERT_NE(s.status.find("200"), std::string::npos) << s.status;
    EXPECT_EQ(s.next().data["type"], "subscribed");
    for (uint64_t q = 1; q <= 10; ++q) h.hub->publish(event(q, 1 + q % 4));
    std::vector<uint64_t> got;
    while (got.size() < 5) {  // severities 2,3,4,1,2,... : seqs 1,4,5,8,9
      SseEvent e = s.next_event();
      got.push_back(e.data["seq"].get<uint64_t>());
      EXPECT_EQ(e.id, "alerts:" + std::to_string(got.back()));
      last = e.id;
    }
    EXPECT_EQ(got, (std::vector<uint64_t>{1, 4, 5, 8, 9}));
  }
  for (uint64_t q = 11; q <= 20; ++q) h.hub->publish(event(q, 1 + q % 4));
  SseClient r(h.port(), "/api/v1/stream/sse?channels=alerts&min_severity=2", last);
  std::vector<uint64_t> got;
  while (got.size() < 5) got.push_back(r.next_event().data["seq"].get<uint64_t>());
  EXPECT_EQ(got, (std::vector<uint64_t>{12, 13, 16, 17, 20}));
  // ?resume= works as well, and ids list every channel's position.
  SseClient m(h.port(), "/api/v1/stream/sse?channels=alerts,incidents&resume=alerts:19");
  EXPECT_EQ(m.next_event().id, "alerts:20");
  h.hub->publish(event(1, 1, "i", "", "", "", 0, Channel::kIncidents));
  EXPECT_EQ(m.next_event().id, "alerts:20,incidents:1");
}

TEST(StreamSse, BadRequestsGet400) {
  Hub h;
  for (const char* t : {"/api/v1/stream/sse?channels=nope", "/api/v1/stream/sse?min_severity=0",
                        "/api/v1/stream/sse?ip=1.2.3", "/api/v1/stream/sse?colour=red"}) {
    SseClient s(h.port(), t);
    EXPECT_NE(s.status.find("400"), std::string::npos) << t << " " << s.status;
    EXPECT_NE(s.body().find("\"error\""), std::string::npos) << t;
  }
  SseClient bad_id(h.port(), "/api/v1/stream/sse?channels=alerts", "alerts:x");
  EXPECT_NE(bad_id.status.find("400"), std::string::npos);
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().clients == 0; }));
}

// The TLS variants compile (the API server hands over ssl_stream<tcp_stream>).
[[maybe_unused]] void instantiate_tls(StreamHub& hub, boost::beast::ssl_stream<boost::beast::tcp_stream>&& s,
                                      Request req) {
  hub.accept_websocket(std::move(s), req);
}
[[maybe_unused]] void instantiate_tls_sse(StreamHub& hub, boost::beast::ssl_stream<boost::beast::tcp_stream>&& s,
                                          Request req) {
  hub.accept_sse(std::move(s), req);
}

}  // namespace
}  // namespace spectre::stream::test
