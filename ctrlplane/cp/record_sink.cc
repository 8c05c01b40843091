#include "ctrlplane/cp/record_sink.h"

#include <algorithm>
#include <chrono>

namespace spectre::cp {

namespace ex = spectre::exporter;

namespace {

// Alerts (EVE lines) to the alerts feed: the alerts stream and GET /alerts.
class FeedSink final : public RecordSink {
 public:
  explicit FeedSink(AlertFeed* f) : f_(f) {}
  void on_alert(const ex::CpAlert&, std::string_view eve) override { f_->publish(eve); }

 private:
  AlertFeed* f_;
};

// Every record to the EVE file; a flow without the data plane's line is
// formatted from its struct.
class EveSink final : public RecordSink {
 public:
  explicit EveSink(ex::EveFileSink* e) : e_(e) {}
  void on_alert(const ex::CpAlert& a, std::string_view) override { e_->write(a); }
  bool wants_flow_struct(bool have_eve) override { return !have_eve; }
  void on_flow(const ex::CpFlow* f, std::string_view eve) override {
    if (f) e_->write(*f);
    else e_->write_line(eve);
  }
  void on_eve_line(std::string_view eve) override { e_->write_line(eve); }
  void fill_metrics(ex::MetricsSnapshot& s) override {
    auto e = e_->stats();
    s.extra.push_back({"spectre_cp_eve_lines_total", "EVE lines written.", "counter", {}, double(e.lines)});
    s.extra.push_back({"spectre_cp_eve_dropped_total", "EVE lines dropped (buffer full).", "counter", {},
                       double(e.dropped)});
    s.extra.push_back({"spectre_cp_eve_rotations_total", "EVE file rotations.", "counter", {}, double(e.rotations)});
  }

 private:
  ex::EveFileSink* e_;
};

// Alerts as RFC 5424 messages; flows too when the format is JSON.
class SyslogRecordSink final : public RecordSink {
 public:
  explicit SyslogRecordSink(ex::SyslogSink* y) : y_(y) {}
  void on_alert(const ex::CpAlert& a, std::string_view) override { y_->send(a); }
  bool wants_flow_struct(bool) override { return flows_ = y_->wants_flows(); }
  void on_flow(const ex::CpFlow* f, std::string_view) override {
    if (f && flows_) y_->send(*f);
  }
  void fill_metrics(ex::MetricsSnapshot& s) override {
    auto y = y_->stats();
    s.extra.push_back({"spectre_cp_syslog_sent_total", "Syslog messages sent.", "counter", {}, double(y.sent)});
    s.extra.push_back({"spectre_cp_syslog_dropped_total", "Syslog messages dropped.", "counter", {},
                       double(y.dropped)});
  }

 private:
  ex::SyslogSink* y_;
  bool flows_ = false;  // wants_flows() as asked for the current flow
};

class WebhookRecordSink final : public RecordSink {
 public:
  explicit WebhookRecordSink(ex::WebhookSink* h) : h_(h) {}
  void on_alert(const ex::CpAlert& a, std::string_view) override { h_->post(a); }
  void fill_metrics(ex::MetricsSnapshot& s) override {
    auto h = h_->stats();
    s.extra.push_back({"spectre_cp_webhook_delivered_total", "Webhook posts delivered.", "counter", {},
                       double(h.delivered)});
    s.extra.push_back({"spectre_cp_webhook_failed_total", "Webhook posts given up or dropped.", "counter", {},
                       double(h.failed + h.dropped)});
  }

 private:
  ex::WebhookSink* h_;
};

// Ended flows to the analyst store and the flows channel (--store-flows).
class FlowTapSink final : public RecordSink {
 public:
  explicit FlowTapSink(std::function<void(const ex::CpFlow&)> tap) : tap_(std::move(tap)) {}
  bool wants_flow_struct(bool) override { return true; }
  void on_flow(const ex::CpFlow* f, std::string_view) override {
    if (f) tap_(*f);
  }

 private:
  std::function<void(const ex::CpFlow&)> tap_;
};

// Cortex: alerts, and flows with an EVE line as context for its rules.
class IncidentRecordSink final : public RecordSink {
 public:
  explicit IncidentRecordSink(LiveIncidents* i) : i_(i) {}
  void on_alert(const ex::CpAlert&, std::string_view eve) override { i_->on_eve(eve); }
  void on_flow(const ex::CpFlow*, std::string_view eve) override {
    if (!eve.empty()) i_->on_eve(eve);
  }
  void fill_metrics(ex::MetricsSnapshot& s) override { i_->fill_metrics(s); }

 private:
  LiveIncidents* i_;
};

}  // namespace

// Model alerts carry their flow's last packet time, not an arrival: skipped.
void AlertLatencySink::on_alert(const ex::CpAlert& a, std::string_view) {
  if (a.ml) return;
  uint64_t now = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
  uint64_t us = now > a.ts_ns ? (now - a.ts_ns) / 1000 : 0;
  uint32_t v = uint32_t(std::min<uint64_t>(us, UINT32_MAX));
  std::lock_guard<std::mutex> g(mu_);
  if (us_.size() < kWindow) us_.push_back(v);
  else us_[n_ % kWindow] = v;
  n_++;
}

void AlertLatencySink::snapshot(std::vector<uint32_t>& v, uint64_t& n) const {
  std::lock_guard<std::mutex> g(mu_);
  v = us_;
  n = n_;
}

RecordSinks make_record_sinks(const ShmLinkSinks& in, AlertLatencySink*& latency) {
  RecordSinks r;
  if (in.alerts) r.add(std::make_unique<FeedSink>(in.alerts));
  if (in.eve) r.add(std::make_unique<EveSink>(in.eve));
  auto lat = std::make_unique<AlertLatencySink>();
  latency = lat.get();
  r.add(std::move(lat));
  if (in.syslog) r.add(std::make_unique<SyslogRecordSink>(in.syslog));
  if (in.webhook) r.add(std::make_unique<WebhookRecordSink>(in.webhook));
  if (in.flow_tap) r.add(std::make_unique<FlowTapSink>(in.flow_tap));
  if (in.incidents) r.add(std::make_unique<IncidentRecordSink>(in.incidents));
  return r;
}

}  // namespace spectre::cp
