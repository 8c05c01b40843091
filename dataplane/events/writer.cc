#include "dataplane/events/writer.h"

#include <chrono>

namespace spectre {

EventWriter::EventWriter(std::vector<WorkerCtx*> workers, FILE* out, StatsFn stats,
                         uint32_t stats_interval_s, FILE* fast, FILE* features, ControlLink* ctrl,
                         IncidentHook* incidents, const IoCounters* io)
    : workers_(std::move(workers)),
      route_{ctrl},
      eve_(out, route_),
      ctrl_(route_, workers_, io),
      fast_(fast),
      features_(features),
      stats_(std::move(stats)),
      interval_s_(stats_interval_s) {
  // Registration order is the order each record reaches the sinks.
  sinks_.add(&eve_);
  if (ctrl) sinks_.add(&ctrl_);
  if (fast) sinks_.add(&fast_);
  if (features) sinks_.add(&features_);
  if (incidents) {
    incidents_ = std::make_unique<IncidentSink>(incidents);
    sinks_.add(incidents_.get());
  }
}

EventWriter::~EventWriter() {
  if (thread_.joinable()) stop();
}

void EventWriter::start() { thread_ = std::thread([this] { run(); }); }

// Each record is read once and handed to every sink; at most 4096 flow and
// 1024 alert records per worker per pass so no worker starves the others.
size_t EventWriter::drain() {
  size_t n = 0;
  Event ev;
  route_.refresh();
  for (uint32_t wi = 0; wi < workers_.size(); wi++) {
    WorkerCtx* w = workers_[wi];
    for (int k = 0; k < 4096 && w->events.pop(ev); k++, n++) {
      if (ev.type == EventType::kFlow) sinks_.flow(wi, ev.flow);
    }
    for (int k = 0; k < 1024; k++, n++) {
      const AlertRecord* a = w->insp.alerts.peek();
      if (!a) break;
      sinks_.record(wi, *a);
      w->insp.alerts.release();
    }
  }
  route_.refresh();
  sinks_.end_pass();
  return n;
}

void EventWriter::run() {
  auto next_stats = std::chrono::steady_clock::now() + std::chrono::seconds(interval_s_);
  auto next_sync = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!stop_.load(std::memory_order_acquire)) {
    size_t n = drain();
    if (sinks_.pending() > (1 << 16)) flush();
    auto now = std::chrono::steady_clock::now();
    if (now >= next_stats) {
      emit_stats();
      next_stats = now + std::chrono::seconds(interval_s_);
    }
    if (n == 0) {
      flush();
      // Idle: stdio's buffers reach the files at least once a second (spectre-cp
      // tails the feature rows for drift and retraining; EVE readers tail too).
      if (now >= next_sync) {
        sinks_.sync();
        next_sync = now + std::chrono::seconds(1);
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  while (drain()) flush();
  route_.refresh();
  sinks_.finish();  // end of input: the open incidents close
  emit_stats();
}

// One stats line (to spectre-cp with per-worker WorkerStats, else to the EVE
// file), then everything buffered is written out.
void EventWriter::emit_stats() {
  route_.refresh();
  sinks_.stats(stats_);
  flush();
  sinks_.sync();
}

void EventWriter::stop() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

}  // namespace spectre
