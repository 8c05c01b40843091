// Data-plane end of the control channel (ctrlplane/shm_channel.h): creates the
// instance's shared-memory segment, publishes events to spectre-cp and runs its
// commands. The data plane never waits for the control plane: a full event
// ring drops the message and counts it (sequence numbers show the gap).
//
// Threads: create() and poll() on the main thread; the push_* functions and
// consumer_attached() on the event writer thread only (the single producer of
// every event ring); respond() on the main thread.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "ctrlplane/shm_channel.h"
#include "dataplane/events/event.h"

namespace spectre {

struct WorkerCounters;
struct MlCounters;

// What the runtime does for a command (main thread). The loads run off the
// main lcore and are answered later with respond(id, ...); a refusal changes nothing.
class ControlActions {
 public:
  virtual ~ControlActions() = default;
  virtual std::string status_json() = 0;
  virtual std::string stats_json() = 0;
  // Validates and publishes a model (shadow: scored beside the active one,
  // never alerts; shadow with an empty path clears the shadow).
  virtual void load_model(uint64_t id, const std::string& path, bool shadow) = 0;
  virtual void reload_config(uint64_t id) = 0;
  // Rule reload (of `files` when given, else of the configured rules). False
  // with `msg`: refused now (answered by the caller).
  virtual bool start_rules_reload(uint64_t id, const std::vector<std::string>& files, std::string& msg) = 0;
};

struct ControlConfig {
  std::string instance;          // segment /dev/shm/spectre-<instance>
  uint32_t event_ring_kb = 4096; // per worker
  uint32_t mode = 0600;          // segment file mode
  int64_t gid = -1;              // group owning the segment (-1: keep)
};

class ControlLink {
 public:
  static std::unique_ptr<ControlLink> create(const ControlConfig& cfg, uint32_t workers, std::string& err);
  ~ControlLink();

  // Main thread, once per housekeeping pass: heartbeat, then every queued command.
  void poll(ControlActions& act);
  void respond(uint64_t id, bool ok, const std::string& msg, const std::string& json = "");

  // Writer thread. consumer_attached() is re-checked by the caller once per drain.
  bool consumer_attached() const;
  void push_alert(uint32_t worker, const AlertRecord& a, std::string_view eve);
  void push_flow(uint32_t worker, const FlowRecord& r, std::string_view eve);
  void push_eve_line(uint32_t worker, std::string_view event_type, std::string_view eve);
  // c, ml: the histograms; counters: kWorkerCounters' values (dataplane/core/counter_table.h), io: kIoCounters'.
  void push_stats(uint32_t worker, uint64_t ts_ns, const WorkerCounters& c, const MlCounters& ml, uint64_t alerts,
                  std::span<const uint64_t> counters, std::span<const uint64_t> io);
  const ctrl::ShmChannel& channel() const { return *ch_; }

 private:
  ControlLink() = default;
  void push(uint32_t worker, uint16_t type);
  std::unique_ptr<ctrl::ShmChannel> ch_;
  std::vector<ctrl::RingProducer> events_;
  ctrl::RingConsumer commands_;
  ctrl::RingProducer responses_;
  flatbuffers::FlatBufferBuilder fbb_{4096};   // writer thread
  flatbuffers::FlatBufferBuilder rfbb_{4096};  // main thread
  mutable int32_t checked_pid_ = 0;   // consumer liveness cache (writer thread)
  mutable bool checked_alive_ = false;
  mutable std::chrono::steady_clock::time_point checked_at_{};
};

}  // namespace spectre
