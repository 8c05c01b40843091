// StreamHub over loopback: subscriptions and filters, aggregation,
// heartbeats, malformed client messages, max clients.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "tests/unit/stream/hub_util.h"

namespace spectre::stream::test {
namespace {

TEST(StreamFilter, ParsesCidrAndFields) {
  Cidr c;
  ASSERT_TRUE(parse_cidr("10.1.0.0/16", c));
  IpAddr a, b, v6;
  ASSERT_TRUE(parse_ip("10.1.200.3", a));
  ASSERT_TRUE(parse_ip("10.2.0.1", b));
  EXPECT_TRUE(c.contains(a));
  EXPECT_FALSE(c.contains(b));
  ASSERT_TRUE(parse_cidr("2001:db8::/32", c));
  ASSERT_TRUE(parse_ip("2001:db8:1::5", v6));
  EXPECT_TRUE(c.contains(v6));
  EXPECT_FALSE(c.contains(a));
  ASSERT_TRUE(parse_cidr("192.0.2.7", c));  // bare address: host prefix
  ASSERT_TRUE(parse_ip("192.0.2.7", a));
  EXPECT_TRUE(c.contains(a));
  for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "x", "10.0.0.0/", "::/129", "1.2.3.4/-1"})
    EXPECT_FALSE(parse_cidr(bad, c)) << bad;

  Filter f;
  std::string reason;
  EXPECT_TRUE(parse_filter(nlohmann::json::parse(R"({"min_severity":2,"ip":"10.0.0.0/8","level":"high"})"), f,
                           reason));
  EXPECT_EQ(f.min_severity, 2);
  EXPECT_TRUE(f.has_ip);
  EXPECT_FALSE(parse_filter(nlohmann::json::parse(R"({"min_severity":9})"), f, reason));
  EXPECT_FALSE(parse_filter(nlohmann::json::parse(R"({"colour":"red"})"), f, reason));
  EXPECT_FALSE(parse_filter(nlohmann::json::parse(R"({"signature":5})"), f, reason));
  EXPECT_FALSE(reason.empty());
}

std::vector<uint64_t> read_seqs(WsClient& c, size_t n) {
  std::vector<uint64_t> out;
  while (out.size() < n) {
    json j = c.recv();
    if (j["type"] == "event") out.push_back(j["seq"].get<uint64_t>());
  }
  return out;
}

TEST(StreamHub, SubscribeAndFilter) {
  Hub h;
  WsClient all(h.port()), sev(h.port()), net(h.port()), sig(h.port()), cat(h.port()), inc(h.port());
  all.subscribe({{"channels", {"alerts"}}});
  sev.subscribe({{"channels", {"alerts"}}, {"filter", {{"min_severity", 2}}}});
  net.subscribe({{"channels", {"alerts"}}, {"filter", {{"ip", "10.1.0.0/16"}}}});
  sig.subscribe({{"channels", {"alerts"}}, {"filter", {{"signature", "ET SCAN"}}}});
  cat.subscribe({{"channels", {"alerts"}}, {"filter", {{"category", "cat4"}, {"ip", "10.9.9.9"}}}});
  inc.subscribe({{"channels", {"incidents"}}, {"filter", {{"level", "high"}}}});

  std::vector<uint64_t> want_all, want_sev, want_net, want_sig, want_cat;
  for (uint64_t s = 1; s <= 60; ++s) {
    int severity = 1 + static_cast<int>(s % 4);
    std::string signature = s % 5 == 0 ? "ET SCAN nmap" : "ET POLICY x";
    std::string src = s % 3 == 0 ? "10.1." + std::to_string(s) + ".1" : "172.16.0.1";
    std::string dst = s % 7 == 0 ? "10.9.9.9" : "10.2.0.1";
    h.hub->publish(event(s, severity, signature, src, dst));
    want_all.push_back(s);
    if (severity <= 2) want_sev.push_back(s);
    if (s % 3 == 0) want_net.push_back(s);
    if (s % 5 == 0) want_sig.push_back(s);
    if (severity == 4 && s % 7 == 0) want_cat.push_back(s);
  }
  h.hub->publish(event(1, 1, "x", "", "", "", 0, Channel::kIncidents));
  h.hub->publish(event(2, 3, "x", "", "", "", 0, Channel::kIncidents));
  h.hub->publish(event(3, 1, "x", "", "", "", 0, Channel::kIncidents));

  EXPECT_EQ(read_seqs(all, want_all.size()), want_all);
  EXPECT_EQ(read_seqs(sev, want_sev.size()), want_sev);
  EXPECT_EQ(read_seqs(net, want_net.size()), want_net);
  EXPECT_EQ(read_seqs(sig, want_sig.size()), want_sig);
  EXPECT_EQ(read_seqs(cat, want_cat.size()), want_cat);
  EXPECT_EQ(read_seqs(inc, 2), (std::vector<uint64_t>{1, 3}));
  // Nothing else was sent to anyone.
  size_t total = want_all.size() + want_sev.size() + want_net.size() + want_sig.size() + want_cat.size() + 2;
  EXPECT_EQ(h.hub->stats().sent, total);
  EXPECT_EQ(h.hub->stats().published, 63u);

  // After unsubscribe nothing more arrives: the next message is the pong.
  all.send({{"op", "unsubscribe"}, {"channels", {"alerts"}}});
  all.recv_type("unsubscribed");
  h.hub->publish(event(61, 2));
  EXPECT_EQ(read_seqs(sev, 1), std::vector<uint64_t>{61});
  all.send({{"op", "ping"}});
  EXPECT_EQ(all.recv()["type"], "pong");
}

TEST(StreamHub, EventEnvelope) {
  Hub h;
  WsClient c(h.port());
  json sub = c.subscribe({{"channels", {"alerts", "flows"}}});
  EXPECT_EQ(sub["seq"]["alerts"], 0);
  h.hub->publish(event(1, 2, "ET TROJAN y", "10.0.0.1", "10.0.0.2"));
  json j = c.recv();
  EXPECT_EQ(j["type"], "event");
  EXPECT_EQ(j["channel"], "alerts");
  EXPECT_EQ(j["seq"], 1);
  EXPECT_EQ(j["data"]["signature"], "ET TROJAN y");
  EXPECT_FALSE(j.contains("count"));
}

TEST(StreamHub, NonIncreasingSeqIsCountedAndDropped) {
  Hub h;
  WsClient c(h.port());
  c.subscribe({{"channels", {"alerts"}}});
  h.hub->publish(event(5));
  h.hub->publish(event(3));  // older than the channel's last
  h.hub->publish(event(5));  // repeated
  h.hub->publish(event(0));  // seqs start at 1
  StreamEvent bad = event(9);
  bad.channel = static_cast<Channel>(7);
  h.hub->publish(bad);
  h.hub->publish(event(6));
  EXPECT_EQ(c.recv()["seq"], 5);
  EXPECT_EQ(c.recv()["seq"], 6);
  EXPECT_EQ(h.hub->stats().bad_seq, 4u);
  EXPECT_EQ(h.hub->stats().published, 2u);
}

TEST(StreamHub, Aggregation) {
  Hub h;
  WsClient c(h.port());
  c.subscribe({{"channels", {"alerts"}}, {"aggregate_ms", 300}});
  for (uint64_t s = 1; s <= 5; ++s) h.hub->publish(event(s, 3, "A", "10.0.0.1", "10.0.0.2", "k1"));
  h.hub->publish(event(6, 3, "B", "10.0.0.1", "10.0.0.2", "k2"));
  h.hub->publish(event(7, 3, "C", "10.0.0.1", "10.0.0.2", ""));  // no key: not held
  h.hub->publish(event(8, 3, "B", "10.0.0.1", "10.0.0.2", "k2"));
  json first = c.recv();
  EXPECT_EQ(first["seq"], 7);  // immediately, before the windows close
  std::map<std::string, json> agg;
  for (int i = 0; i < 2; ++i) {
    json j = c.recv();
    agg[j["data"]["signature"].get<std::string>()] = j;
  }
  ASSERT_EQ(agg.size(), 2u);
  EXPECT_EQ(agg["A"]["count"], 5);
  EXPECT_EQ(agg["A"]["first_seq"], 1);
  EXPECT_EQ(agg["A"]["seq"], 5);
  EXPECT_EQ(agg["A"]["data"]["id"], 5);  // the last event's data
  EXPECT_EQ(agg["B"]["count"], 2);
  EXPECT_EQ(agg["B"]["first_seq"], 6);
  EXPECT_EQ(agg["B"]["seq"], 8);
  EXPECT_EQ(h.hub->stats().aggregated, 5u);  // 4 folded into A, 1 into B
  // A new window: a single event is sent plainly.
  h.hub->publish(event(9, 3, "A", "10.0.0.1", "10.0.0.2", "k1"));
  json j = c.recv();
  EXPECT_EQ(j["seq"], 9);
  EXPECT_FALSE(j.contains("count"));
}

TEST(StreamHub, Heartbeats) {
  StreamOptions o;
  o.heartbeat = std::chrono::milliseconds(100);
  Hub h(o);
  WsClient c(h.port());
  c.subscribe({{"channels", {"alerts", "incidents"}}});
  h.hub->publish(event(41));
  EXPECT_EQ(c.recv_type("event")["seq"], 41);
  auto t0 = std::chrono::steady_clock::now();
  json hb = c.recv_type("heartbeat");
  json hb2 = c.recv_type("heartbeat");
  auto dt = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(hb["seq"]["alerts"], 41);
  EXPECT_EQ(hb["seq"]["incidents"], 0);
  EXPECT_FALSE(hb["seq"].contains("flows"));
  EXPECT_EQ(hb2["ts"].get<std::string>().size(), 20u);  // 2026-12-07T07:00:00Z
  EXPECT_LT(dt, std::chrono::milliseconds(1500));
  EXPECT_GE(h.hub->stats().heartbeats, 2u);
}

TEST(StreamHub, MalformedMessagesGetErrors) {
  Hub h;
  WsClient c(h.port());
  const char* bad[] = {
      "not json",
      "[1,2]",
      R"({"op":"nope"})",
      R"({"op":"subscribe","channels":["bogus"]})",
      R"({"op":"subscribe","channels":[]})",
      R"({"op":"subscribe","channels":["alerts"],"filter":{"ip":"300.1.1.1"}})",
      R"({"op":"subscribe","channels":["alerts"],"aggregate_ms":-5})",
      R"({"op":"subscribe","channels":["alerts"],"resume":{"alerts":"x"}})",
      R"({"op":"ack","channel":"alerts"})",
  };
  for (const char* m : bad) {
    c.send_raw(m);
    json j = c.recv();
    EXPECT_EQ(j["type"], "error") << m;
    EXPECT_FALSE(j["reason"].get<std::string>().empty()) << m;
  }
  c.send_raw(std::string("\x01\x02\x03", 3), false);
  EXPECT_EQ(c.recv()["type"], "error");
  EXPECT_EQ(h.hub->stats().bad_messages, std::size(bad) + 1);
  // Still usable.
  c.subscribe({{"channels", {"alerts"}}});
  h.hub->publish(event(1));
  EXPECT_EQ(c.recv()["seq"], 1);
  c.send({{"op", "ping"}});
  EXPECT_EQ(c.recv()["type"], "pong");
  EXPECT_EQ(h.hub->stats().clients, 1u);
}

TEST(StreamHub, OversizedMessageClosesOnlyThatClient) {
  StreamOptions o = Hub::quiet();
  o.max_message = 1024;
  Hub h(o);
  WsClient big(h.port()), ok(h.port());
  ok.subscribe({{"channels", {"alerts"}}});
  big.send_raw(std::string(4096, ' '));
  EXPECT_THROW(big.recv(), boost::system::system_error);
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().clients == 1; }));
  h.hub->publish(event(1));
  EXPECT_EQ(ok.recv()["seq"], 1);
}

TEST(StreamHub, MaxClients) {
  StreamOptions o = Hub::quiet();
  o.max_clients = 2;
  Hub h(o);
  auto a = std::make_unique<WsClient>(h.port());
  WsClient b(h.port());
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().clients == 2; }));
  try {
    WsClient c(h.port());
    ADD_FAILURE() << "third client accepted";
  } catch (const boost::system::system_error& e) {
    EXPECT_EQ(e.code(), boost::beast::websocket::error::upgrade_declined) << e.what();
  }
  SseClient s(h.port(), "/api/v1/stream/sse?channels=alerts");
  EXPECT_NE(s.status.find("503"), std::string::npos) << s.status;
  EXPECT_EQ(h.hub->stats().rejected, 2u);
  a.reset();  // a slot frees
  ASSERT_TRUE(wait_for([&] { return h.hub->stats().clients == 1; }));
  WsClient d(h.port());
  d.subscribe({{"channels", {"alerts"}}});
  EXPECT_EQ(h.hub->stats().clients, 2u);
}

}  // namespace
}  // namespace spectre::stream::test
