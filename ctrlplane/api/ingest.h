// spectre-cp's event ingest into the analyst store: each EVE alert line and
// incident record becomes a store row (enqueued, never blocking) whose id is
// the stream seq of the contract (alerts: the alert id; incidents: the update
// row id), then goes to the stream publisher if one is set. Also the
// replay of stored events for stream resume, and the live rates.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <mutex>

#include <nlohmann/json.hpp>

#include "ctrlplane/api/webhooks.h"
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
  // The stream's replay over the store: events of channel ch with seq > after,
  // oldest first, at most max; false when `after` is older than what is kept.
  bool replay(stream::Channel ch, uint64_t after, size_t max, std::vector<stream::StreamEvent>& out);
  nlohmann::json rates();  // {"alerts_per_min","incidents_per_min","events_per_s"} over the last minute
  uint64_t bad_lines() const { return bad_; }
  uint64_t dropped() const { return dropped_; }

  static stream::StreamEvent alert_event(const store::AlertRow& a);
  static stream::StreamEvent incident_event(const store::IncidentRow& r, uint64_t seq);

 private:
  void count(int kind);
  store::Store& st_;
  std::function<void(stream::StreamEvent&&)> publish_;
  WebhookDispatcher* hooks_ = nullptr;
  std::atomic<uint64_t> bad_{0}, dropped_{0};
  std::mutex rmu_;
  // Per-second counts of the last minute: [second % 60] = {alerts, incidents}, stamped with the second.
  std::array<std::array<uint64_t, 3>, 60> sec_{};
};

}  // namespace spectre::api
