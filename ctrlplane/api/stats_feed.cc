#include "ctrlplane/api/stats_feed.h"

#include <fmt/format.h>

#include "ctrlplane/api/ingest.h"
#include "ctrlplane/store/eve_rows.h"

namespace spectre::api {

std::string StatsBuilder::build(const DpSample& s, int64_t now_ms, int64_t period_ms, const std::string& store_json) {
  std::string head = fmt::format(R"({{"ts":"{}","period_ms":{},"dataplane":"{}")", store::format_time(now_ms),
                                 period_ms, s.attached ? "attached" : "detached");
  if (!s.attached || !s.ts_ns) {
    prev_ = {};
    window_s_ = 0;
    return head + R"(,"store":)" + store_json + "}";
  }
  // Rates over the interval between the last two samples the data plane sent
  // (its eve.stats_interval); a counter going back (a restarted data plane) restarts them.
  if (s.ts_ns != prev_.ts_ns) {
    bool back = s.packets < prev_.packets || s.bytes < prev_.bytes || s.drops < prev_.drops || s.alerts < prev_.alerts;
    if (prev_.ts_ns && s.ts_ns > prev_.ts_ns && !back) {
      window_s_ = double(s.ts_ns - prev_.ts_ns) / 1e9;
      rate_[0] = double(s.packets - prev_.packets) / window_s_;
      rate_[1] = double(s.bytes - prev_.bytes) / window_s_;
      rate_[2] = double(s.drops - prev_.drops) / window_s_;
      rate_[3] = double(s.alerts - prev_.alerts) / window_s_;
    } else {
      window_s_ = 0;
      for (double& r : rate_) r = 0;
    }
    prev_ = s;
  }
  return head + fmt::format(
      R"(,"workers":{},"sample_ts":"{}","packets":{},"bytes":{},"drops":{},"alerts":{},"flows_active":{},)"
      R"("events_dropped":{},"rates":{{"packets_per_s":{:.3f},"bytes_per_s":{:.3f},"drops_per_s":{:.3f},)"
      R"("alerts_per_s":{:.3f},"window_s":{:.3f}}},"store":{}}})",
      s.workers, store::format_time(int64_t(s.ts_ns / 1000000)), s.packets, s.bytes, s.drops, s.alerts,
      s.flows_active, s.events_dropped, rate_[0], rate_[1], rate_[2], rate_[3], window_s_, store_json);
}

StatsFeed::StatsFeed(boost::asio::io_context& io, Ingest& in, std::function<void(stream::StreamEvent&&)> publish,
                     std::chrono::milliseconds period, Source src)
    : in_(in), publish_(std::move(publish)), period_(period), src_(std::move(src)), timer_(io) {}

void StatsFeed::start() {
  if (period_.count() <= 0) return;
  next_ = std::chrono::steady_clock::now() + period_;
  arm();
}

// At fixed points (start + k * period), so the cadence does not drift by each tick's cost.
void StatsFeed::arm() {
  timer_.expires_at(next_);
  timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopped_) tick();
  });
}

void StatsFeed::stop() {
  stopped_ = true;
  timer_.cancel();
}

void StatsFeed::tick() {
  DpSample s = src_ ? src_() : DpSample{};
  stream::StreamEvent e;
  e.channel = stream::Channel::kStats;
  e.seq = ++seq_;
  e.severity = 4;
  e.json = b_.build(s, int64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch()).count()),
                    period_.count(), in_.flow_stats_json());
  publish_(std::move(e));
  next_ += period_;
  if (next_ < std::chrono::steady_clock::now()) next_ = std::chrono::steady_clock::now() + period_;  // fell behind
  arm();
}

}  // namespace spectre::api
