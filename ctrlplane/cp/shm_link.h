// The real DataPlaneLink: spectre-cp's end of a running spectre-dp's shared-
// memory channel (ctrlplane/shm_channel.h, messages of schemas/ctrl.fbs).
//
// One reader thread owns the consumer side: it drains every worker's event
// ring and the response ring, fans events out (alerts tail feed, EVE file,
// syslog, webhook, Prometheus), and watches the segment. When the data plane
// dies or is replaced by a restarted one it detaches, fails the waiting
// commands and retries attach every `retry`; each successful attach runs the
// on_attach callback (re-sync of the registry's model) on a helper thread,
// because that callback sends commands whose responses this reader delivers.
//
// Delivery is at least once across a kill of spectre-cp: the ring's head is
// published every 32 messages, so up to 31 already-exported events may be
// read again after a restart. Messages the data plane could not push (ring
// full, nobody reading) show up as sequence gaps and are counted.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ctrlplane/cp/alerts.h"
#include "ctrlplane/cp/dataplane_link.h"
#include "ctrlplane/cp/incidents.h"
#include "ctrlplane/cp/record_sink.h"
#include "ctrlplane/export/eve_file_sink.h"
#include "ctrlplane/export/metrics_server.h"
#include "ctrlplane/export/syslog_sink.h"
#include "ctrlplane/export/webhook_sink.h"
#include "ctrlplane/shm_channel.h"

namespace spectre::cp {

// ShmLinkSinks: record_sink.h.

// The workers' last WorkerStats summed (stats stream channel).
struct WorkerTotals {
  bool attached = false;  // attached to a data plane whose process is alive
  uint32_t workers = 0;   // workers that sent a sample since the attach
  uint64_t ts_ns = 0;     // the newest sample's time
  WorkerStats sum;
};

struct ShmLinkOptions {
  std::string instance = "default";
  std::chrono::milliseconds retry{500};           // attach attempts while detached
  std::chrono::milliseconds heartbeat_max_age{3000};  // older: the data plane is not alive
  std::chrono::milliseconds status_timeout{2000};  // info()'s Status command
  size_t recent_flows = 10000;                      // ended flows kept for `flows top`
  std::chrono::milliseconds metrics_every{500};     // MetricsSnapshot publication
};

struct ShmRingCounters {
  std::string ring;  // "event0".., "response"
  uint64_t received = 0, gaps = 0, producer_drops = 0, pushed = 0, corrupt = 0, reordered = 0;
  uint64_t used_bytes = 0, capacity = 0;
  uint64_t gaps_at_attach = 0;  // gaps already counted when this spectre-cp attached
};

struct ShmLinkCounters {
  bool attached = false;
  uint64_t attaches = 0;      // successful attaches by this process
  uint64_t events = 0;        // event messages handled by this process
  uint64_t alerts = 0, flows = 0, eve_lines = 0, worker_stats = 0;
  uint64_t invalid = 0;       // failed flatbuffer verification or unknown type
  uint64_t responses = 0, stale_responses = 0;  // stale: nobody waiting (timed out, or an older cp's)
  uint64_t gaps = 0;          // sum over event rings since the data plane started
  uint64_t gaps_session = 0;  // of those, seen since this process attached
  uint64_t producer_drops = 0;
  std::string last_error;     // why the last attach failed
  // Signature-alert latency, packet arrival (the alert's timestamp: the data
  // plane's clock in live mode) to the EVE line handed to the EVE writer, over
  // the last AlertLatencySink::kWindow alerts (meaningless for offline captures).
  uint64_t latency_count = 0;
  double latency_p50_us = 0, latency_p99_us = 0, latency_max_us = 0;
  std::vector<ShmRingCounters> rings;
};

class ShmDataPlaneLink : public DataPlaneLink {
 public:
  ShmDataPlaneLink(ShmLinkOptions opt, ShmLinkSinks sinks);
  ~ShmDataPlaneLink() override;
  ShmDataPlaneLink(const ShmDataPlaneLink&) = delete;
  ShmDataPlaneLink& operator=(const ShmDataPlaneLink&) = delete;

  // Set before start(): runs after every successful attach, on a helper thread.
  void set_on_attach(std::function<void()> f) { on_attach_ = std::move(f); }
  // Starts the reader thread (which attaches when it can). Idempotent.
  void start();
  // Stops both threads and detaches; waiting commands fail. Idempotent.
  void stop();
  // Waits until attached (true) or the timeout passes (false).
  bool wait_attached(std::chrono::milliseconds timeout);

  bool send(const Command& cmd, Response& resp, std::chrono::milliseconds timeout) override;
  bool alive() override;
  DataPlaneInfo info() override;

  ShmLinkCounters counters() const;
  std::string counters_json() const;  // one JSON object (stats --json "channel")
  std::string counters_text() const;  // a few lines for stats' human output
  // Ended flows received recently, largest bytes first.
  std::vector<FlowEntry> top_flows(size_t n) const;
  std::string flows_scope() const;    // what top_flows covers, for the output
  WorkerTotals worker_totals() const;

 private:
  struct Pending {
    bool done = false;
    bool ok = false;
    bool transport_fail = false;  // detached while waiting
    std::string message, json;
  };
  struct LastStats {
    bool have = false;
    uint64_t ts_ns = 0;
    WorkerStats s;  // summary, from `counters` (events_dropped: events and alerts dropped)
    std::vector<uint64_t> lat_bounds_ns, lat_counts;  // model latency, when the data plane sends it
    // The listed counters (dataplane/core/counter_table.h), when their layout is ours.
    std::vector<uint64_t> counters, io_counters;
    uint64_t get(size_t i) const { return i < counters.size() ? counters[i] : 0; }
  };

  void run();
  bool try_attach();
  void detach(const std::string& why);
  size_t drain_events();
  size_t drain_responses();
  void handle_event(uint32_t worker, const ctrl::Message& m);
  void publish_metrics();
  void sync_loop();
  // One command/response exchange. False: not attached or no answer in time.
  bool exchange(uint8_t kind, const std::vector<std::string>& args, uint32_t count, Pending& out,
                std::chrono::milliseconds timeout, std::string& err);
  bool status_json(std::string& json, std::string& err, std::chrono::milliseconds timeout);
  void fill_stats(const std::string& stats_line, Response& resp);

  ShmLinkOptions opt_;
  ShmLinkSinks sinks_;
  AlertLatencySink* latency_ = nullptr;  // owned by records_
  RecordSinks records_;  // every consumer of alerts, flows and EVE lines (record_sink.h)
  std::function<void()> on_attach_;

  // Channel and command producer: replaced by the reader, used by send().
  mutable std::mutex chan_mu_;
  std::condition_variable chan_cv_;  // attach / detach / responses
  std::unique_ptr<ctrl::ShmChannel> ch_;
  ctrl::RingProducer cmd_;
  std::map<uint64_t, Pending*> waiting_;  // by command id
  uint64_t next_id_ = 0;
  uint64_t attach_gen_ = 0;
  bool stopping_ = false;
  std::string last_error_;

  // Reader thread only (consumers follow ch_).
  std::vector<ctrl::RingConsumer> ev_;
  ctrl::RingConsumer resp_;
  exporter::AlertCounters alert_counts_;
  std::chrono::steady_clock::time_point next_metrics_{};

  // Shared state for readers of counters / stats / flows.
  mutable std::mutex state_mu_;
  std::vector<LastStats> last_stats_;
  std::vector<uint64_t> gaps_at_attach_;
  DataPlaneInfo info_;  // last known (stale when detached)
  uint64_t rules_loaded_ = 0;
  std::deque<FlowEntry> flows_;
  uint64_t flows_seen_ = 0;

  std::atomic<bool> attached_{false};
  std::atomic<uint64_t> attaches_{0}, events_{0}, alerts_{0}, flows_n_{0}, eve_lines_{0}, wstats_{0};
  std::atomic<uint64_t> invalid_{0}, responses_{0}, stale_{0};

  std::atomic<bool> stop_{false};
  std::thread reader_, syncer_;
  uint64_t synced_gen_ = 0;  // syncer: last attach generation handled (under chan_mu_)
};

// Printable address of a FlowKey half pair (IPv4 as a.b.c.d).
std::string flow_key_addr(uint64_t hi, uint64_t lo, uint8_t ip_version);

}  // namespace spectre::cp
