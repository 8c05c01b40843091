// The REST API without sockets: authentication (bearer tokens, roles), the
// per-token rate limit, routing, the handlers over the Store, auditing of
// every change, and the console's static files. The Beast server
// (server.h) feeds it parsed requests; tests call handle() directly.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include <nlohmann/json.hpp>

#include "ctrlplane/api/auth.h"
#include "ctrlplane/api/ml_port.h"
#include "ctrlplane/api/router.h"
#include "ctrlplane/store/store.h"

namespace spectre::api {

class DetectJobs;
class RuleTexts;  // explain.h
using J = nlohmann::json;

struct ServiceOptions {
  double rate = 50, burst = 100;     // default per-token bucket (requests/s, burst)
  std::string console_dir;           // static files at / ("" : none)
  size_t export_max = 1000000;       // rows an export may return
  size_t q_scan_rows = 50000;        // q= the index cannot narrow: rows a list page tests at most (ListStop)
};

struct ServiceHooks {
  std::function<std::string()> dataplane;  // "attached" | "detached"
  std::function<J()> rates;                // {"alerts_per_min","incidents_per_min","events_per_s"}
  std::function<void()> webhooks_changed;  // after POST/DELETE /webhooks (the dispatcher reloads)
  // An analyst's incident status (PATCH, bulk) to the live brain (spectrectl and the EVE file see it).
  std::function<void(uint64_t id, const std::string& status)> incident_status;
  MlPort* ml = nullptr;  // /ml/* model management; null: those routes answer 503
  RuleTexts* rules = nullptr;  // /alerts/{id}/explain's rule text (--api-rules); null: the EVE's only
  DetectJobs* detect = nullptr;            // offline pcap analysis (/detect); null: 501
  // PUT /siem onto the running syslog exporter (API thread; it resolves the target):
  // false + err (400's reason) when refused. Null: the settings are only stored.
  std::function<bool(const std::string& target, const std::string& format, const std::string& min_level,
                     std::string& err)> siem_apply;
  // GET /siem: the running exporter's {target, format, min_level} (API thread). Null: the stored settings.
  std::function<J()> siem_current;
};

class ApiService {
 public:
  ApiService(store::Store& s, TokenStore tokens, ServiceOptions o, ServiceHooks h = {});
  Response handle(Request& r);  // never throws
  // Stream hand-off check (GET /api/v1/stream[/sse]): token (header or ?token=), role, rate.
  bool authorize(Request& r, Role min_role, Response& fail);
  const Router& router() const { return router_; }
  store::Store& store() { return st_; }
  void audit(const Request& r, const std::string& action, const std::string& target, const std::string& detail);
  static int64_t now_ms();

 private:
  void routes();
  void routes_alerts();
  void routes_incidents();
  void routes_flows();
  void routes_analytics();
  void routes_admin();
  void routes_ml();
  void routes_detect();
  Response serve_static(const Request& r);
  Response dispatch(Request& r);
  // Shared by alerts and incidents.
  Response patch_one(Request& r, bool incident);
  Response bulk(Request& r, bool incident);
  Response add_feedback(Request& r, bool incident);
  Response list_alerts(Request& r);
  Response export_alerts(Request& r);
  Response alert_detail(Request& r);
  Response list_incidents(Request& r);
  Response incident_detail(Request& r);
  Response trends(Request& r);
  Response top(Request& r);
  Response dashboard(Request& r);
  Response search(Request& r);
  Response incident_pdf(Request& r);
  Response range_pdf(Request& r);
  Response webhooks_post(Request& r);

  store::Store& st_;
  TokenStore tokens_;
  ServiceOptions opt_;
  ServiceHooks hooks_;
  RateLimiter limiter_;
  Router router_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// JSON of the store's rows, as the OpenAPI document describes them.
J alert_json(const store::AlertRow& a);
J alert_fields(const store::AlertRow& a);      // without "eve"
std::string alert_text(const store::AlertRow& a);  // alert_json's text, the EVE spliced in unparsed
J incident_json(const store::IncidentRow& r);
std::string flow_text(const store::FlowRow& f);  // the Flow object, the EVE spliced in as alert_text does
J feedback_json(const store::Feedback& f);
// Analyst fields of a PATCH / bulk "set" object; false + reason on a bad field.
bool parse_set(const J& body, store::AnalystSet& s, std::string* comment, std::string& err);
std::string csv_field(std::string_view s);
// The request body as a JSON object; false with a 400 in fail otherwise.
bool body_json(const Request& r, J& j, Response& fail);  // RFC 4180 quoting; a leading =+-@ is prefixed with '

}  // namespace spectre::api
