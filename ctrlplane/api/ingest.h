// spectre-cp's event ingest into the analyst store: each EVE alert line and
// incident record becomes a store row (enqueued, never blocking) whose id is
// the stream seq of the contract (alerts: the alert id; incidents: the update
// row id), then goes to the stream publisher if one is set. Ended flows the
// filter keeps (flow_filter.h; none by default) likewise: seq = the flow row
// id. Also the replay of stored events for stream resume, and the live rates.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "ctrlplane/api/flow_filter.h"
#include "ctrlplane/api/webhooks.h"
#include "ctrlplane/export/event.h"
#include "ctrlplane/store/store.h"
#include "ctrlplane/stream/event.h"

namespace spectre::api {

class Ingest {
 public:
  explicit Ingest(store::Store& s) : st_(s) {}
  void set_publish(std::function<void(stream::StreamEvent&&)> f) { publish_ = std::move(f); }  // before events flow
  void set_webhooks(WebhookDispatcher* w) { hooks_ = w; }  // before events flow
  void on_alert(std::string_view eve_line);
  void on_incident(std::string_view record_line);
  // An ended flow from the data-plane link: filtered, then enqueued (never
  // blocks: a full flow share of the store queue drops and counts) and published.
  void set_flow_filter(FlowFilterOptions o) { flows_ = std::make_unique<FlowFilter>(o); }  // before events flow
  const FlowFilter* flow_filter() const { return flows_.get(); }
  void on_flow(const exporter::CpFlow& f);
  void on_flow_eve(std::string_view eve_line);  // an EVE flow line (spectre-cp --fake-events); others: bad_lines
  uint64_t flows_dropped() const { return flows_dropped_; }
  // {"flows":{"mode","seen","kept","dropped"},"alerts_dropped","bad_lines"} (the stats channel's "store").
  std::string flow_stats_json() const;
  // The stream's replay over the store: events of channel ch with seq > after,
  // oldest first, at most max; false when `after` is older than what is kept.
  bool replay(stream::Channel ch, uint64_t after, size_t max, std::vector<stream::StreamEvent>& out);
  nlohmann::json rates();  // {"alerts_per_min","incidents_per_min","events_per_s"} over the last minute
  uint64_t bad_lines() const { return bad_; }
  uint64_t dropped() const { return dropped_; }

  static stream::StreamEvent alert_event(const store::AlertRow& a);
  static stream::StreamEvent incident_event(const store::IncidentRow& r, uint64_t seq);
  static stream::StreamEvent flow_event(const store::FlowRow& f);
  static store::FlowRow flow_row(const exporter::CpFlow& f);

 private:
  void count(int kind);
  void store_flow(store::FlowRow f);
  store::Store& st_;
  std::function<void(stream::StreamEvent&&)> publish_;
  WebhookDispatcher* hooks_ = nullptr;
  std::unique_ptr<FlowFilter> flows_ = std::make_unique<FlowFilter>();
  std::atomic<uint64_t> bad_{0}, dropped_{0}, flows_dropped_{0};
  std::mutex rmu_;
  // Per-second counts of the last minute: [second % 60] = {alerts, incidents}, stamped with the second.
  std::array<std::array<uint64_t, 3>, 60> sec_{};
};

}  // namespace spectre::api
