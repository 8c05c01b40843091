// StreamHub: live event streams over WebSocket and SSE (issue 14, item 3).
//
// Threading: publish() may be called from any thread; it appends to a
// bounded handoff under a mutex held for one push_back (never across I/O)
// and posts one drain to the hub's strand per batch (run batch_delay later). Everything else (rings,
// clients, fan-out, sessions' I/O handlers) runs on that strand of the API
// server's io_context, so the hub needs no further locking; stats() reads
// relaxed atomics.
//
// Lifetime: call stop(), let the io_context finish (or stop it), then destroy
// the hub before the io_context. Sessions never touch the hub from their
// destructors.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "ctrlplane/stream/client.h"
#include "ctrlplane/stream/event.h"
#include "ctrlplane/stream/latency_metrics.h"

namespace spectre::stream {

namespace net = boost::asio;
using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Strand = net::strand<net::io_context::executor_type>;

class StreamHub {
 public:
  StreamHub(net::io_context& io, StreamOptions opts = {});
  ~StreamHub();
  StreamHub(const StreamHub&) = delete;
  StreamHub& operator=(const StreamHub&) = delete;

  // Older events for resume; may be null (then resume reaches back as far as the ring).
  // Set before the first client connects.
  void set_replay_source(ReplaySource* src) { replay_ = src; }

  // Thread-safe, never waits on I/O; over handoff_limit the event is counted and dropped.
  void publish(StreamEvent ev);

  // The API server has authenticated `req` (GET /api/v1/stream with Upgrade:
  // websocket, or GET /api/v1/stream/sse). S: beast::tcp_stream or
  // beast::ssl_stream<beast::tcp_stream> (TLS already negotiated). Thread-safe.
  template <class S>
  void accept_websocket(S&& stream, Request req);
  template <class S>
  void accept_sse(S&& stream, Request req);

  StreamStats stats() const;
  // Closes every session and stops the heartbeat; thread-safe.
  void stop();
  // Runs fn on the strand and waits (tests, diagnostics; not from the strand itself).
  std::vector<ClientInfo> clients_info();
  // With measure_latency: deliveries by publish -> framed delay, kLatencyBucketUs
  // buckets, the last one for everything longer. Same waiting as clients_info().
  static constexpr int64_t kLatencyBucketUs = 50;
  static constexpr size_t kLatencyBuckets = 4000;  // 200 ms
  std::vector<uint64_t> latency_histogram();
  // The same deliveries in Prometheus buckets with their sum, readable from any thread (/metrics).
  const LatencyMetrics& latency_metrics() const { return latency_metrics_; }
  // Socket writes by the sessions so far: completed in place / asynchronous.
  struct WriteCounts {
    uint64_t direct = 0, async = 0;
  };
  WriteCounts write_counts();

  // --- for sessions and clients (on the strand) ---
  const StreamOptions& options() const { return opts_; }
  Strand& strand() { return strand_; }
  bool admit(const std::shared_ptr<Client>& c);  // false: max_clients reached (counted)
  void detach(Client* c);
  void subscriptions_changed(Channel ch) { index_[static_cast<size_t>(ch)].dirty = true; }
  void refill(Client& c);  // resume: the next events of every catching-up channel
  uint64_t head(Channel ch) const { return rings_[static_cast<size_t>(ch)].head; }
  void count_sent(uint64_t n) { sent_.fetch_add(n, std::memory_order_relaxed); }
  void record_latency(int64_t ns) {
    size_t i = ns <= 0 ? 0 : static_cast<size_t>(ns / (kLatencyBucketUs * 1000));
    ++latency_[std::min(i, kLatencyBuckets)];
    latency_metrics_.record(ns);
  }

  struct Counters {
    std::atomic<uint64_t> clients_total{0}, rejected{0}, published{0}, handoff_dropped{0}, bad_seq{0}, aggregated{0},
        dropped{0}, gaps{0}, disconnects{0}, replayed{0}, replay_queries{0}, heartbeats{0}, bad_messages{0},
        acks{0};
  };
  Counters& counters() { return ctr_; }

 private:
  struct Ring {
    std::deque<ItemPtr> items;
    uint64_t head = 0;                  // last seq published
    uint64_t covered_after = UINT64_MAX;  // the ring holds every published seq > this
  };
  struct PrefixKey {
    std::array<uint8_t, 17> b{};
    bool operator==(const PrefixKey& o) const { return b == o.b; }
  };
  struct PrefixHash {
    size_t operator()(const PrefixKey& k) const;
  };
  static PrefixKey prefix_key(const IpAddr& a, uint8_t bits);
  struct Index {
    bool dirty = true;
    std::vector<Client*> scan;  // subscribed without an address filter
    std::unordered_map<PrefixKey, std::vector<Client*>, PrefixHash> by_net;
    std::vector<uint8_t> prefix_lens;
  };

  void drain();
  void fan_out(const ItemPtr& it);
  void rebuild_index(size_t ch);
  void deliver(Client* c, const ItemPtr& it);
  void heartbeat_tick();
  void arm_heartbeat();
  bool refill_channel(Client& c, Channel ch);
  bool replay_from_store(Client& c, Channel ch, ChannelSub& s, const Ring& r);

  net::io_context& io_;
  StreamOptions opts_;
  Strand strand_;
  ReplaySource* replay_ = nullptr;

  std::mutex handoff_mu_;
  std::vector<StreamEvent> handoff_;  // guarded by handoff_mu_
  bool drain_posted_ = false;         // guarded by handoff_mu_
  std::vector<StreamEvent> batch_;    // strand only

  std::array<Ring, kChannels> rings_;
  std::array<Index, kChannels> index_;
  std::unordered_map<Client*, std::shared_ptr<Client>> clients_;
  std::vector<Client*> touched_;
  std::vector<uint64_t> latency_;  // strand only; sized when measure_latency
  LatencyMetrics latency_metrics_;  // written on the strand, read by the scrape
  WriteCounts writes_;             // strand only: sessions that ended, plus live ones on request
  uint64_t next_id_ = 1;
  uint64_t mark_ = 0;
  net::steady_timer heartbeat_;
  net::steady_timer batch_timer_;
  bool stopped_ = false;

  Counters ctr_;
  std::atomic<uint64_t> sent_{0}, nclients_{0};
};

}  // namespace spectre::stream

#include "ctrlplane/stream/session.h"
