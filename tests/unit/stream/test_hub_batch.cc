// Write batching under the stream sessions (coalesce.h, session.h): frames
// coalesced into one socket write keep their order and sequence numbers,
// whether the socket takes them in place (direct send) or only in part (the
// rest goes asynchronously), and a backlog larger than write_buffer leaves in
// several buffers without loss or reordering.
#include <gtest/gtest.h>

#include <thread>

#include <boost/beast/core/tcp_stream.hpp>

#include "tests/unit/stream/hub_util.h"

namespace spectre::stream::test {
namespace {

namespace beast = boost::beast;

std::string body_of(uint64_t seq, size_t pad = 0) {
  return R"({"seq":)" + std::to_string(seq) + R"(,"pad":")" + std::string(pad, 'x') + "\"}";
}

// Reads server frames (FIN, text, unmasked) from a blocking socket until `want` bodies are in.
std::vector<uint64_t> read_seqs(tcp::socket& s, size_t want) {
  std::vector<uint64_t> seqs;
  std::string buf;
  char tmp[65536];
  size_t pos = 0;
  while (seqs.size() < want) {
    size_t n = s.read_some(net::buffer(tmp));
    buf.append(tmp, n);
    for (;;) {
      if (buf.size() - pos < 2) break;
      EXPECT_EQ(static_cast<unsigned char>(buf[pos]), 0x81u);
      size_t len = static_cast<unsigned char>(buf[pos + 1]) & 0x7f, hdr = 2;
      if (len == 126) {
        if (buf.size() - pos < 4) break;
        len = (static_cast<unsigned char>(buf[pos + 2]) << 8) | static_cast<unsigned char>(buf[pos + 3]);
        hdr = 4;
      } else if (len == 127) {
        if (buf.size() - pos < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(buf[pos + 2 + i]);
        hdr = 10;
      }
      if (buf.size() - pos < hdr + len) break;
      seqs.push_back(json::parse(buf.substr(pos + hdr, len))["seq"].get<uint64_t>());
      pos += hdr + len;
    }
  }
  return seqs;
}

struct SocketPair {
  net::io_context io;
  tcp::socket peer{io}, server{io};
  SocketPair() {
    tcp::acceptor acc(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    peer.connect(acc.local_endpoint());
    acc.accept(server);
  }
};

TEST(StreamCoalescer, OneFlushIsOneDirectWriteInOrder) {
  SocketPair sp;
  Coalescer<beast::tcp_stream> co(net::make_strand(sp.io), beast::tcp_stream(std::move(sp.server)));
  for (uint64_t s = 1; s <= 100; ++s) append_ws_frame(co, body_of(s));
  co.flush();
  EXPECT_EQ(co.direct_writes(), 1u);
  EXPECT_EQ(co.async_writes(), 0u);
  EXPECT_FALSE(co.busy());
  EXPECT_EQ(co.pending(), 0u);
  std::vector<uint64_t> seqs = read_seqs(sp.peer, 100);
  ASSERT_EQ(seqs.size(), 100u);
  for (uint64_t s = 1; s <= 100; ++s) EXPECT_EQ(seqs[s - 1], s);
}

TEST(StreamCoalescer, DirectWriteOffGoesAsyncSameBytes) {
  SocketPair sp;
  Coalescer<beast::tcp_stream> co(net::make_strand(sp.io), beast::tcp_stream(std::move(sp.server)), false);
  for (uint64_t s = 1; s <= 10; ++s) append_ws_frame(co, body_of(s));
  co.flush();
  EXPECT_TRUE(co.busy());
  sp.io.run();
  EXPECT_EQ(co.direct_writes(), 0u);
  EXPECT_EQ(co.async_writes(), 1u);
  std::vector<uint64_t> seqs = read_seqs(sp.peer, 10);
  for (uint64_t s = 1; s <= 10; ++s) EXPECT_EQ(seqs[s - 1], s);
}

// The socket takes only part of the buffer: the rest goes asynchronously, and
// frames appended meanwhile follow it, in order, after on_drained.
TEST(StreamCoalescer, PartialDirectWriteContinuesAsyncInOrder) {
  SocketPair sp;
  sp.server.set_option(net::socket_base::send_buffer_size(16384));
  sp.peer.set_option(net::socket_base::receive_buffer_size(16384));
  Coalescer<beast::tcp_stream> co(net::make_strand(sp.io), beast::tcp_stream(std::move(sp.server)));
  int drained = 0;
  co.on_drained([&] { ++drained; });
  const uint64_t first = 2000, second = 500;  // ~2.2 MB, far more than both socket buffers
  for (uint64_t s = 1; s <= first; ++s) append_ws_frame(co, body_of(s, 1000));
  co.flush();
  ASSERT_TRUE(co.busy()) << "the socket took 2 MB in place";
  for (uint64_t s = first + 1; s <= first + second; ++s) append_ws_frame(co, body_of(s, 1000));
  co.flush();  // a write is in flight: stays pending
  EXPECT_GT(co.pending(), 0u);
  std::thread th([&] { sp.io.run(); });
  std::vector<uint64_t> seqs = read_seqs(sp.peer, first + second);
  th.join();
  ASSERT_EQ(seqs.size(), first + second);
  for (uint64_t s = 1; s <= first + second; ++s) ASSERT_EQ(seqs[s - 1], s);
  EXPECT_GE(co.async_writes(), 1u);
  EXPECT_GE(drained, 1);
  EXPECT_FALSE(co.failed());
}

class StreamBatch : public ::testing::TestWithParam<bool> {};

// One hub batch for one client is one socket write, events in seq order.
TEST_P(StreamBatch, OneBatchOneWriteInSeqOrder) {
  StreamOptions o = Hub::quiet();
  o.batch_delay = std::chrono::milliseconds(200);
  o.direct_write = GetParam();
  Hub h(o);
  WsClient c(h.port());
  c.subscribe({{"channels", {"alerts"}}});
  ASSERT_TRUE(wait_for([&] { auto w = h.hub->write_counts(); return w.direct + w.async >= 2; }));  // 101, subscribed
  auto w0 = h.hub->write_counts();
  for (uint64_t s = 1; s <= 50; ++s) h.hub->publish(event(s, 1 + s % 4));
  for (uint64_t s = 1; s <= 50; ++s) {
    json j = c.recv();
    ASSERT_EQ(j["type"], "event") << j.dump();
    EXPECT_EQ(j["seq"].get<uint64_t>(), s);
    EXPECT_EQ(j["data"]["id"].get<uint64_t>(), s);
  }
  auto w1 = h.hub->write_counts();
  EXPECT_EQ(w1.direct - w0.direct + w1.async - w0.async, 1u);
  EXPECT_EQ(w1.direct - w0.direct, GetParam() ? 1u : 0u);
  EXPECT_EQ(h.hub->stats().sent, 50u);
}

// A batch of ~3 MB for a reading client leaves in write_buffer-sized writes
// (a posted pump between them): everything arrives, in order, nothing dropped.
TEST_P(StreamBatch, BacklogOverWriteBufferArrivesInOrder) {
  StreamOptions o = Hub::quiet();
  o.batch_delay = std::chrono::milliseconds(100);
  o.queue_limit = 10000;
  o.direct_write = GetParam();
  Hub h(o);
  WsClient c(h.port());
  c.subscribe({{"channels", {"alerts"}}});
  const uint64_t n = 3000;
  // One severity: a backed-up client is served by severity (the stated priority), FIFO within one.
  for (uint64_t s = 1; s <= n; ++s) h.hub->publish(event(s, 2, "S", "10.0.0.1", "10.0.0.2", "", 1000));
  for (uint64_t s = 1; s <= n; ++s) {
    json j = c.recv();
    ASSERT_EQ(j["type"], "event") << j.dump();
    ASSERT_EQ(j["seq"].get<uint64_t>(), s);
  }
  auto st = h.hub->stats();
  EXPECT_EQ(st.dropped, 0u);
  EXPECT_EQ(st.gaps, 0u);
  EXPECT_EQ(st.sent, n);
  auto w = h.hub->write_counts();
  EXPECT_GE(w.direct + w.async, n * 1000 / o.write_buffer);  // several buffers, not one per event
  EXPECT_LT(w.direct + w.async, n / 4);
}

INSTANTIATE_TEST_SUITE_P(DirectWrite, StreamBatch, ::testing::Bool());

// The hub's latency histogram counts every live delivery once.
TEST(StreamBatchLatency, HistogramCountsDeliveries) {
  StreamOptions o = Hub::quiet();
  o.measure_latency = true;
  o.batch_delay = std::chrono::milliseconds(1);
  Hub h(o);
  WsClient c(h.port());
  c.subscribe({{"channels", {"alerts"}}});
  for (uint64_t s = 1; s <= 20; ++s) h.hub->publish(event(s));
  for (uint64_t s = 1; s <= 20; ++s) ASSERT_EQ(c.recv_type("event")["seq"].get<uint64_t>(), s);
  std::vector<uint64_t> lat = h.hub->latency_histogram();
  ASSERT_EQ(lat.size(), StreamHub::kLatencyBuckets + 1);
  uint64_t total = 0;
  for (uint64_t v : lat) total += v;
  EXPECT_EQ(total, 20u);
  EXPECT_EQ(lat[0], 0u);  // at least the 1 ms batch delay: not in the first 50 us bucket
  LatencyMetrics::Snapshot m = h.hub->latency_metrics().snapshot();  // /metrics' buckets: the same deliveries
  uint64_t in_m = 0;
  for (uint64_t v : m.counts) in_m += v;
  EXPECT_EQ(in_m, 20u);
  EXPECT_GE(m.sum_ns, 1000000u);  // the first event waited the 1 ms batch delay
}

}  // namespace
}  // namespace spectre::stream::test
