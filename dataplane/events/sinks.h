// The event writer's destinations, one EventSink each (sink.h). EVE records go
// to spectre-cp while it consumes the control channel, else to the EVE file:
// the two sinks share an EveRoute the writer refreshes once per pass.
#pragma once
#include <cstdio>
#include <vector>

#include "dataplane/core/control.h"
#include "dataplane/core/stats.h"
#include "dataplane/core/worker.h"
#include "dataplane/events/incidents.h"
#include "dataplane/events/sink.h"

namespace spectre {

struct EveRoute {
  ControlLink* ctrl = nullptr;
  bool cp = false;  // spectre-cp attached: a dead one is noticed within ~10 ms
  void refresh() { cp = ctrl && ctrl->consumer_attached(); }
};

// EVE JSON lines to `out` (null: nothing written) while no spectre-cp is attached.
class EveFileSink final : public EventSink {
 public:
  EveFileSink(FILE* out, const EveRoute& route) : out_(out), route_(route) {}
  void on_flow(uint32_t w, const FlowRecord& r) override;
  void on_alert(uint32_t w, const AlertRecord& a) override;
  void on_app_tx(uint32_t w, const AlertRecord& a) override;
  void on_eve_lines(std::string_view type, std::string_view lines) override;
  void on_stats(const StatsFn& fill) override;
  size_t pending() const override { return buf_.size(); }
  void flush() override;
  void sync() override;

 private:
  bool on() const { return out_ && !route_.cp; }
  FILE* out_;
  const EveRoute& route_;
  fmt::memory_buffer buf_;
};

// The same records to spectre-cp over the control channel, plus the
// per-worker WorkerStats with each stats line.
class ControlSink final : public EventSink {
 public:
  ControlSink(const EveRoute& route, const std::vector<WorkerCtx*>& workers, const IoCounters* io)
      : route_(route), workers_(workers), io_(io) {}
  void on_flow(uint32_t w, const FlowRecord& r) override;
  void on_alert(uint32_t w, const AlertRecord& a) override;
  void on_app_tx(uint32_t w, const AlertRecord& a) override;
  void on_eve_lines(std::string_view type, std::string_view lines) override;
  void on_stats(const StatsFn& fill) override;

 private:
  std::string_view trimmed() const;  // line_ without its newline
  void push_worker_stats();
  const EveRoute& route_;
  const std::vector<WorkerCtx*>& workers_;
  const IoCounters* io_;  // main-thread counters for WorkerStats (may be null)
  fmt::memory_buffer line_;
};

// A local file written in blocks from a buffer (null file: nothing kept).
class BufferedFileSink : public EventSink {
 public:
  explicit BufferedFileSink(FILE* f) : f_(f) {}
  size_t pending() const override { return buf_.size(); }
  void flush() override;
  void sync() override;

 protected:
  FILE* f_;
  fmt::memory_buffer buf_;
};

// Suricata fast.log lines for alerts (stays local with or without spectre-cp).
class FastLogSink final : public BufferedFileSink {
 public:
  using BufferedFileSink::BufferedFileSink;
  void on_alert(uint32_t w, const AlertRecord& a) override;
};

// --dump-features CSV rows (local).
class FeatureSink final : public BufferedFileSink {
 public:
  using BufferedFileSink::BufferedFileSink;
  void on_feature_row(uint32_t w, const AlertRecord& a) override;
};

// Cortex (incidents.h): alerts and flows in; the incident lines it makes go
// back through the registry as EVE lines at the end of each pass.
class IncidentSink final : public EventSink {
 public:
  explicit IncidentSink(IncidentHook* hook) : hook_(hook) {}
  void on_flow(uint32_t w, const FlowRecord& r) override;
  void on_alert(uint32_t w, const AlertRecord& a) override;
  void end_pass(SinkRegistry& reg) override;
  void finish(SinkRegistry& reg) override;

 private:
  IncidentHook* hook_;
  fmt::memory_buffer lines_;
};

}  // namespace spectre
