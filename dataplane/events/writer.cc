#include "dataplane/events/writer.h"

#include <chrono>

#include "dataplane/events/eve.h"

namespace spectre {

EventWriter::EventWriter(std::vector<WorkerCtx*> workers, FILE* out, StatsFn stats,
                         uint32_t stats_interval_s, FILE* fast, FILE* features)
    : fast_(fast), features_(features), workers_(std::move(workers)), out_(out), stats_(std::move(stats)),
      interval_s_(stats_interval_s) {}

EventWriter::~EventWriter() {
  if (thread_.joinable()) stop();
}

void EventWriter::start() { thread_ = std::thread([this] { run(); }); }

size_t EventWriter::drain(fmt::memory_buffer& buf) {
  size_t n = 0;
  Event ev;
  for (WorkerCtx* w : workers_) {
    for (int k = 0; k < 4096 && w->events.pop(ev); k++, n++) {
      if (out_ && ev.type == EventType::kFlow) format_flow(buf, ev.flow);
    }
    for (int k = 0; k < 1024; k++, n++) {
      const AlertRecord* a = w->insp.alerts.peek();
      if (!a) break;
      if (a->kind == AlertRecord::kAppTx) {
        if (out_) format_app_event(buf, *a);
      } else if (a->kind == AlertRecord::kFeatureRow) {
        if (features_) format_feature_row(feat_buf_, *a);
      } else {
        if (out_) format_alert(buf, *a);
        if (fast_) format_fast(fast_buf_, *a);
      }
      w->insp.alerts.release();
    }
  }
  return n;
}

void EventWriter::flush(fmt::memory_buffer& buf) {
  if (out_ && buf.size()) fwrite(buf.data(), 1, buf.size(), out_);
  buf.clear();
  if (fast_ && fast_buf_.size()) fwrite(fast_buf_.data(), 1, fast_buf_.size(), fast_);
  fast_buf_.clear();
  if (features_ && feat_buf_.size()) fwrite(feat_buf_.data(), 1, feat_buf_.size(), features_);
  feat_buf_.clear();
}

void EventWriter::run() {
  fmt::memory_buffer buf;
  auto next_stats = std::chrono::steady_clock::now() + std::chrono::seconds(interval_s_);
  while (!stop_.load(std::memory_order_acquire)) {
    size_t n = drain(buf);
    if (buf.size() > (1 << 16)) flush(buf);
    auto now = std::chrono::steady_clock::now();
    if (now >= next_stats) {
      if (out_) stats_(buf);
      flush(buf);
      if (out_) fflush(out_);
      if (fast_) fflush(fast_);
      next_stats = now + std::chrono::seconds(interval_s_);
    }
    if (n == 0) {
      flush(buf);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  while (drain(buf)) flush(buf);
  if (out_) stats_(buf);
  flush(buf);
  if (out_) fflush(out_);
  if (fast_) fflush(fast_);
  if (features_) fflush(features_);
}

void EventWriter::stop() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

}  // namespace spectre
