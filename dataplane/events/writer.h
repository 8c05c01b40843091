// EVE writer thread: drains every worker's event ring, formats JSON and writes
// in large blocks, plus periodic stats lines. Runs off the worker cores.
#pragma once
#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "dataplane/core/control.h"
#include "dataplane/core/stats.h"
#include "dataplane/core/worker.h"
#include "dataplane/events/incidents.h"

namespace spectre {

class EventWriter {
 public:
  using StatsFn = std::function<void(fmt::memory_buffer&)>;
  // `out` may be null: events are drained and discarded. `fast` (may be
  // null) gets fast.log lines for alerts.
  EventWriter(std::vector<WorkerCtx*> workers, FILE* out, StatsFn stats, uint32_t stats_interval_s,
              FILE* fast = nullptr, FILE* features = nullptr, ControlLink* ctrl = nullptr,
              IncidentHook* incidents = nullptr, const IoCounters* io = nullptr);
  ~EventWriter();
  void start();
  // Drains what is left, writes a final stats line, flushes. Call after workers stopped.
  void stop();

 private:
  void run();
  void push_worker_stats();
  void emit_stats(fmt::memory_buffer& buf);
  size_t drain(fmt::memory_buffer& buf);
  void flush(fmt::memory_buffer& buf);
  void sync_files();  // fflush of the EVE, fast and feature files (writer thread)
  // While spectre-cp consumes the control channel, EVE records go to it
  // instead of `out`; fast.log and feature dumps stay local.
  bool to_control() const;
  void send_line(uint32_t worker, std::string_view type, fmt::memory_buffer& line);
  // Incident records made by the hook since the last call: to the EVE buffer or spectre-cp.
  void put_incidents(fmt::memory_buffer& buf);
  IncidentHook* incidents_;  // null: incidents off
  const IoCounters* io_;     // main-thread counters for WorkerStats (may be null)
  ControlLink* ctrl_;
  fmt::memory_buffer fast_buf_, feat_buf_, line_;
  FILE* fast_;
  FILE* features_;
  std::vector<WorkerCtx*> workers_;
  FILE* out_;
  StatsFn stats_;
  uint32_t interval_s_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace spectre
