// Where the event writer's records go: one EventSink per destination (EVE
// file, control channel, fast.log, feature CSV, incidents), held in a small
// fixed SinkRegistry. The writer reads each record of a worker's rings once
// and hands it to every sink in registration order. Writer thread only.
//
// To add a destination: derive from EventSink, override the calls it cares
// about (all default to nothing), and add it to the writer's registry before
// start() (EventWriter::add_sink). A sink never sees or calls the others,
// except through SinkRegistry::eve_lines for records it makes itself.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

#include <fmt/format.h>

#include "dataplane/events/event.h"

namespace spectre {

class SinkRegistry;

class EventSink {
 public:
  using StatsFn = std::function<void(fmt::memory_buffer&)>;
  virtual ~EventSink() = default;
  // One call per record, in ring order; `worker` is the worker's index.
  virtual void on_flow(uint32_t /*worker*/, const FlowRecord& /*r*/) {}
  virtual void on_alert(uint32_t /*worker*/, const AlertRecord& /*a*/) {}   // kind kAlert
  virtual void on_app_tx(uint32_t /*worker*/, const AlertRecord& /*a*/) {}  // kind kAppTx
  virtual void on_feature_row(uint32_t /*worker*/, const AlertRecord& /*a*/) {}
  // EVE lines made on the writer thread (incidents), each newline-terminated.
  virtual void on_eve_lines(std::string_view /*type*/, std::string_view /*lines*/) {}
  // After each drain pass over every worker; `reg` reaches the other sinks.
  virtual void end_pass(SinkRegistry& /*reg*/) {}
  // End of input (after the last pass).
  virtual void finish(SinkRegistry& /*reg*/) {}
  // A periodic stats line: `fill` appends the JSON line.
  virtual void on_stats(const StatsFn& /*fill*/) {}
  // Bytes buffered and not yet written (the writer flushes above 64 KiB).
  virtual size_t pending() const { return 0; }
  virtual void flush() {}  // buffered bytes to the destination
  virtual void sync() {}   // and stdio's buffers to the file (fflush)
};

// Fixed capacity, no allocation; the writer owns the sinks' lifetimes.
class SinkRegistry {
 public:
  static constexpr size_t kMax = 8;
  bool add(EventSink* s) {
    if (!s || n_ == kMax) return false;
    sinks_[n_++] = s;
    return true;
  }
  size_t size() const { return n_; }
  template <class F>
  void each(F&& f) {
    for (size_t i = 0; i < n_; i++) f(*sinks_[i]);
  }
  void flow(uint32_t w, const FlowRecord& r) { each([&](EventSink& s) { s.on_flow(w, r); }); }
  // By kind: alert, app-layer transaction or feature row.
  void record(uint32_t w, const AlertRecord& a);
  void eve_lines(std::string_view type, std::string_view lines) {
    each([&](EventSink& s) { s.on_eve_lines(type, lines); });
  }
  void end_pass() { each([&](EventSink& s) { s.end_pass(*this); }); }
  void finish() { each([&](EventSink& s) { s.finish(*this); }); }
  void stats(const EventSink::StatsFn& fill) { each([&](EventSink& s) { s.on_stats(fill); }); }
  size_t pending() {
    size_t m = 0;
    each([&](EventSink& s) { m = s.pending() > m ? s.pending() : m; });
    return m;
  }
  void flush() { each([](EventSink& s) { s.flush(); }); }
  void sync() { each([](EventSink& s) { s.sync(); }); }

 private:
  std::array<EventSink*, kMax> sinks_{};
  size_t n_ = 0;
};

inline void SinkRegistry::record(uint32_t w, const AlertRecord& a) {
  switch (a.kind) {
    case AlertRecord::kAppTx: each([&](EventSink& s) { s.on_app_tx(w, a); }); break;
    case AlertRecord::kFeatureRow: each([&](EventSink& s) { s.on_feature_row(w, a); }); break;
    default: each([&](EventSink& s) { s.on_alert(w, a); }); break;
  }
}

}  // namespace spectre
