// The stream hub (ctrlplane/stream) inside spectre-cp's API: built on the
// API's io_context between ApiRuntime::open() and start(); the ingest
// publishes each stored alert / incident update to it (seq = the store id)
// and a resuming client older than the hub's ring is replayed from the store.
// Threads: publish() from the ingest thread, everything else on the io_context.
#pragma once

#include <memory>

#include "ctrlplane/api/ingest.h"
#include "ctrlplane/api/server.h"
#include "ctrlplane/stream/hub.h"

namespace spectre::api {

class LiveStream final : public stream::ReplaySource {
 public:
  LiveStream(boost::asio::io_context& io, Ingest& in, stream::StreamOptions o = {});
  ~LiveStream() override;
  // The server's hand-off for /api/v1/stream and /api/v1/stream/sse.
  StreamHooks hooks();
  // Ingest -> hub (set once, before events flow).
  void attach();
  void stop() { hub_.stop(); }
  void publish(stream::StreamEvent&& e) { hub_.publish(std::move(e)); }  // any thread
  stream::StreamStats stats() const { return hub_.stats(); }
  stream::LatencyMetrics::Snapshot latency() const { return hub_.latency_metrics().snapshot(); }
  bool replay(stream::Channel ch, uint64_t after, size_t max, std::vector<stream::StreamEvent>& out) override;

 private:
  Ingest& in_;
  stream::StreamHub hub_;
};

}  // namespace spectre::api
