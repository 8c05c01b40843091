// The stats stream channel: every `period` (1 s by default) one message with
// the data plane's counters summed over its workers (from the WorkerStats the
// shared-memory link last received: cumulative packets, bytes, drops, alerts,
// flows_active, events_dropped) and per-second rates between the last two
// samples, or "dataplane":"detached" when no data plane is attached, plus the
// store's flow ingest counters. Runs on a timer of the API's io_context; not
// kept for replay (StreamOptions::resumable).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ctrlplane/stream/event.h"

namespace spectre::api {

class Ingest;

// The data plane's counters, summed over workers; attached false: none.
struct DpSample {
  bool attached = false;
  uint32_t workers = 0;    // workers that sent a sample
  uint64_t ts_ns = 0;      // the newest sample's time (the data plane's wall clock)
  uint64_t packets = 0, bytes = 0, drops = 0, alerts = 0, flows_active = 0, events_dropped = 0;
};

class StatsBuilder {
 public:
  // The message's JSON for this sample (rates from the previous distinct sample).
  std::string build(const DpSample& s, int64_t now_ms, int64_t period_ms, const std::string& store_json);

 private:
  DpSample prev_{};
  double rate_[4] = {0, 0, 0, 0};  // packets, bytes, drops, alerts per second
  double window_s_ = 0;
};

class StatsFeed {
 public:
  using Source = std::function<DpSample()>;
  StatsFeed(boost::asio::io_context& io, Ingest& in, std::function<void(stream::StreamEvent&&)> publish,
            std::chrono::milliseconds period, Source src);
  void start();
  void stop();  // on the io_context's thread or after it stopped
  uint64_t published() const { return seq_; }

 private:
  void tick();
  void arm();
  Ingest& in_;
  std::function<void(stream::StreamEvent&&)> publish_;
  std::chrono::milliseconds period_;
  Source src_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::time_point next_{};
  StatsBuilder b_;
  uint64_t seq_ = 0;
  bool stopped_ = false;
};

}  // namespace spectre::api
