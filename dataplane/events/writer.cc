#include "dataplane/events/writer.h"

#include <chrono>

#include "dataplane/core/stats.h"
#include "dataplane/events/eve.h"

namespace spectre {

EventWriter::EventWriter(std::vector<WorkerCtx*> workers, FILE* out, StatsFn stats,
                         uint32_t stats_interval_s, FILE* fast, FILE* features, ControlLink* ctrl,
                         IncidentHook* incidents, const IoCounters* io)
    : incidents_(incidents), io_(io), ctrl_(ctrl), fast_(fast), features_(features), workers_(std::move(workers)), out_(out), stats_(std::move(stats)),
      interval_s_(stats_interval_s) {}

EventWriter::~EventWriter() {
  if (thread_.joinable()) stop();
}

void EventWriter::start() { thread_ = std::thread([this] { run(); }); }

bool EventWriter::to_control() const { return ctrl_ && ctrl_->consumer_attached(); }

void EventWriter::send_line(uint32_t worker, std::string_view type, fmt::memory_buffer& line) {
  size_t len = line.size();
  while (len && line.data()[len - 1] == '\n') len--;
  ctrl_->push_eve_line(worker, type, std::string_view(line.data(), len));
  line.clear();
}

size_t EventWriter::drain(fmt::memory_buffer& buf) {
  size_t n = 0;
  Event ev;
  const bool cp = to_control();  // once per drain; a dead spectre-cp is noticed within ~10 ms
  auto trimmed = [this] {
    size_t len = line_.size();
    while (len && line_.data()[len - 1] == '\n') len--;
    return std::string_view(line_.data(), len);
  };
  for (uint32_t wi = 0; wi < workers_.size(); wi++) {
    WorkerCtx* w = workers_[wi];
    for (int k = 0; k < 4096 && w->events.pop(ev); k++, n++) {
      if (ev.type != EventType::kFlow) continue;
      if (incidents_) incidents_->on_flow(ev.flow);
      if (cp) {
        line_.clear();
        format_flow(line_, ev.flow);
        ctrl_->push_flow(wi, ev.flow, trimmed());
      } else if (out_) {
        format_flow(buf, ev.flow);
      }
    }
    for (int k = 0; k < 1024; k++, n++) {
      const AlertRecord* a = w->insp.alerts.peek();
      if (!a) break;
      if (a->kind == AlertRecord::kAppTx) {
        if (cp) {
          line_.clear();
          format_app_event(line_, *a);
          send_line(wi, rules::app_proto_name(rules::AppProto(a->app_proto)), line_);
        } else if (out_) {
          format_app_event(buf, *a);
        }
      } else if (a->kind == AlertRecord::kFeatureRow) {
        if (features_) format_feature_row(feat_buf_, *a);
      } else {
        if (cp) {
          line_.clear();
          format_alert(line_, *a);
          ctrl_->push_alert(wi, *a, trimmed());
        } else if (out_) {
          format_alert(buf, *a);
        }
        if (fast_) format_fast(fast_buf_, *a);
        if (incidents_) incidents_->on_alert(*a);
      }
      w->insp.alerts.release();
    }
  }
  if (incidents_) put_incidents(buf);
  return n;
}

void EventWriter::put_incidents(fmt::memory_buffer& buf) {
  if (!to_control()) {
    if (out_) incidents_->take(buf);
    else line_.clear(), incidents_->take(line_), line_.clear();
    return;
  }
  fmt::memory_buffer all;
  if (!incidents_->take(all)) return;
  std::string_view s(all.data(), all.size());
  for (size_t p = 0, q; p < s.size(); p = q + 1) {
    q = s.find('\n', p);
    line_.clear();
    line_.append(s.substr(p, q - p));
    send_line(0, "incident", line_);
  }
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
  auto next_sync = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!stop_.load(std::memory_order_acquire)) {
    size_t n = drain(buf);
    if (buf.size() > (1 << 16)) flush(buf);
    auto now = std::chrono::steady_clock::now();
    if (now >= next_stats) {
      emit_stats(buf);
      next_stats = now + std::chrono::seconds(interval_s_);
    }
    if (n == 0) {
      flush(buf);
      // Idle: stdio's buffers reach the files at least once a second (spectre-cp
      // tails the feature rows for drift and retraining; EVE readers tail too).
      if (now >= next_sync) {
        sync_files();
        next_sync = now + std::chrono::seconds(1);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  while (drain(buf)) flush(buf);
  if (incidents_) {  // end of input: the open incidents close
    incidents_->finish();
    put_incidents(buf);
  }
  emit_stats(buf);
  sync_files();
}

void EventWriter::sync_files() {
  if (out_) fflush(out_);
  if (fast_) fflush(fast_);
  if (features_) fflush(features_);
}

// One stats line (to spectre-cp with per-worker WorkerStats, else to the EVE
// file), then everything buffered is written out.
void EventWriter::emit_stats(fmt::memory_buffer& buf) {
  if (to_control()) {
    line_.clear();
    stats_(line_);
    send_line(0, "stats", line_);
    push_worker_stats();
  } else if (out_) {
    stats_(buf);
  }
  flush(buf);
  sync_files();
}

void EventWriter::stop() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

}  // namespace spectre

namespace spectre {

// One WorkerStats message per worker, into that worker's event ring.
void EventWriter::push_worker_stats() {
  uint64_t ts = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count());
  uint64_t io[kIoCounterCount] = {};
  if (io_) io_counter_values(*io_, io);
  uint64_t v[kWorkerCounterCount];
  for (uint32_t wi = 0; wi < workers_.size(); wi++) {
    Totals s = snapshot(*workers_[wi]);
    worker_counter_values(s, v);
    ctrl_->push_stats(wi, ts, s.w, s.ml, s.det.alerts + s.ml.alerts + s.behave.alerts, v, io);
  }
}

}  // namespace spectre
