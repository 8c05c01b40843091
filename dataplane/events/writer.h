// EVE writer thread: drains every worker's event ring, hands each record to
// the sinks (sink.h, sinks.h) which format and write in large blocks, plus
// periodic stats lines. Runs off the worker cores.
#pragma once
#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "dataplane/core/control.h"
#include "dataplane/core/stats.h"
#include "dataplane/core/worker.h"
#include "dataplane/events/incidents.h"
#include "dataplane/events/sink.h"
#include "dataplane/events/sinks.h"

namespace spectre {

class EventWriter {
 public:
  using StatsFn = EventSink::StatsFn;
  // `out` may be null: events are drained and discarded. `fast` (may be
  // null) gets fast.log lines for alerts. While spectre-cp consumes `ctrl`,
  // EVE records go to it instead of `out`; fast.log and feature dumps stay local.
  EventWriter(std::vector<WorkerCtx*> workers, FILE* out, StatsFn stats, uint32_t stats_interval_s,
              FILE* fast = nullptr, FILE* features = nullptr, ControlLink* ctrl = nullptr,
              IncidentHook* incidents = nullptr, const IoCounters* io = nullptr);
  ~EventWriter();
  // One more destination after the built-in ones (before start(); not owned).
  // False when the registry is full.
  bool add_sink(EventSink* s) { return sinks_.add(s); }
  void start();
  // Drains what is left, writes a final stats line, flushes. Call after workers stopped.
  void stop();

 private:
  void run();
  void emit_stats();
  size_t drain();
  void flush() { sinks_.flush(); }
  std::vector<WorkerCtx*> workers_;
  EveRoute route_;
  EveFileSink eve_;
  ControlSink ctrl_;
  FastLogSink fast_;
  FeatureSink features_;
  std::unique_ptr<IncidentSink> incidents_;  // null: incidents off
  SinkRegistry sinks_;
  StatsFn stats_;
  uint32_t interval_s_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace spectre
