// spectre-cp's consumers of the data plane's records (alerts feed for the
// streams, EVE file, syslog, webhooks, the analyst store's flow tap, Cortex
// incidents), one RecordSink each, in a RecordSinks registry the shm link
// hands every record to, in registration order, on its reader thread.
//
// To add a consumer: derive from RecordSink, override what it needs, and add
// it in make_record_sinks (record_sink.cc). A sink must not block: queue and
// do I/O on its own thread as the exporters do.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "ctrlplane/cp/alerts.h"
#include "ctrlplane/cp/incidents.h"
#include "ctrlplane/export/eve_file_sink.h"
#include "ctrlplane/export/event.h"
#include "ctrlplane/export/metrics_server.h"
#include "ctrlplane/export/syslog_sink.h"
#include "ctrlplane/export/webhook_sink.h"

namespace spectre::cp {

// Where events go; every pointer may be null (not configured). Not owned.
struct ShmLinkSinks {
  AlertFeed* alerts = nullptr;
  exporter::EveFileSink* eve = nullptr;
  exporter::SyslogSink* syslog = nullptr;    // alerts; flows too in JSON format
  exporter::WebhookSink* webhook = nullptr;  // alerts
  exporter::MetricsServer* metrics = nullptr;
  LiveIncidents* incidents = nullptr;        // Cortex: alerts and flows (EVE lines) in
  // Ended flows to the analyst store (its filter decides); called on the reader thread, must not block.
  std::function<void(const exporter::CpFlow&)> flow_tap;
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  // `eve`: the alert's EVE line (the data plane's, or formatted from `a`).
  virtual void on_alert(const exporter::CpAlert& /*a*/, std::string_view /*eve*/) {}
  // True when this sink needs the flow as a struct; `have_eve`: the data
  // plane sent its EVE line. Asked once per flow, before on_flow.
  virtual bool wants_flow_struct(bool /*have_eve*/) { return false; }
  // `f`: null unless some sink wanted the struct; `eve` may be empty.
  virtual void on_flow(const exporter::CpFlow* /*f*/, std::string_view /*eve*/) {}
  // Other EVE lines (app-layer, incidents, stats), non-empty.
  virtual void on_eve_line(std::string_view /*eve*/) {}
  virtual void fill_metrics(exporter::MetricsSnapshot& /*s*/) {}
};

class RecordSinks {
 public:
  void add(std::unique_ptr<RecordSink> s) { sinks_.push_back(std::move(s)); }
  size_t size() const { return sinks_.size(); }
  template <class F>
  void each(F&& f) {
    for (auto& s : sinks_) f(*s);
  }
  void alert(const exporter::CpAlert& a, std::string_view eve) {
    each([&](RecordSink& s) { s.on_alert(a, eve); });
  }
  bool wants_flow_struct(bool have_eve) {
    bool w = false;
    each([&](RecordSink& s) { w = s.wants_flow_struct(have_eve) || w; });
    return w;
  }
  void flow(const exporter::CpFlow* f, std::string_view eve) {
    each([&](RecordSink& s) { s.on_flow(f, eve); });
  }
  void eve_line(std::string_view eve) {
    each([&](RecordSink& s) { s.on_eve_line(eve); });
  }
  void fill_metrics(exporter::MetricsSnapshot& m) {
    each([&](RecordSink& s) { s.fill_metrics(m); });
  }

 private:
  std::vector<std::unique_ptr<RecordSink>> sinks_;
};

// Signature alerts' latency, packet arrival (the alert's timestamp) to the
// EVE line handed to the EVE writer: registered right after the EVE sink.
class AlertLatencySink final : public RecordSink {
 public:
  static constexpr size_t kWindow = 65536;
  void on_alert(const exporter::CpAlert& a, std::string_view eve) override;
  // The last kWindow latencies (us, unordered) and how many were measured.
  void snapshot(std::vector<uint32_t>& v, uint64_t& n) const;

 private:
  mutable std::mutex mu_;
  std::vector<uint32_t> us_;  // ring
  uint64_t n_ = 0;
};

// The configured consumers in their order: alerts feed, EVE file, latency,
// syslog, webhook, flow tap, incidents. `latency` is set to the latency sink.
RecordSinks make_record_sinks(const ShmLinkSinks& in, AlertLatencySink*& latency);

}  // namespace spectre::cp
