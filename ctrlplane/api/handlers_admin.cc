// /health, /openapi.json, /webhooks, /siem, /audit; /stream answers 501 when no
// hub is attached (/ml/*: handlers_ml.cc; /detect: handlers_detect.cc).
#include "ctrlplane/api/params.h"
#include "ctrlplane/api/service.h"
#include "ctrlplane/export/syslog_sink.h"
#include "ctrlplane/store/eve_rows.h"

namespace spectre::api {

extern const std::string_view kOpenApi;

namespace {
J webhook_json(const store::Webhook& w) {
  return J{{"id", w.id}, {"url", w.url}, {"events", w.events}, {"min_level", w.min_level}, {"secret_set", !w.secret.empty()}};
}

Response not_built(const char* what) {
  return error(501, std::string(what) + " is not built into this spectre-cp yet");
}

// Shape only (strings, known fields, format and level names); the target is
// parsed by the exporter (exporter::parse_syslog_target), which knows its rules.
bool check_siem(const J& b, std::string& err) {
  if (!b.is_object()) { err = "expected a JSON object"; return false; }
  for (auto& [k, v] : b.items()) {
    if (k != "target" && k != "format" && k != "min_level") { err = "unknown field '" + k + "'"; return false; }
    if (!v.is_string()) { err = k + ": expected a string"; return false; }
  }
  std::string f = b.value("format", "json"), l = b.value("min_level", "medium");
  exporter::SyslogOptions o;
  if (!exporter::parse_syslog_target(b.value("target", ""), o, err)) { err = "target: " + err; return false; }
  if (f != "json" && f != "cef" && f != "leef") { err = "format: expected json, cef or leef"; return false; }
  if (!valid_level(l)) { err = "min_level: expected info, low, medium, high or critical"; return false; }
  return true;
}

J siem_default() { return {{"target", ""}, {"format", "json"}, {"min_level", "medium"}}; }
}  // namespace

void ApiService::routes_admin() {
  router_.add("GET", "/api/v1/health", Role::kNone, [this](Request&) {
    store::StoreStats s = st_.stats();
    return json_response(200, J{{"status", "ok"}, {"dataplane", hooks_.dataplane ? hooks_.dataplane() : "detached"},
                                {"store", {{"alerts", s.alerts}, {"dropped", s.dropped}, {"queued", s.queued}}}}.dump());
  });
  router_.add("GET", "/api/v1/openapi.json", Role::kNone, [](Request&) { return json_response(200, std::string(kOpenApi)); });
  router_.add("GET", "/api/v1/webhooks", Role::kAdmin, [this](Request&) {
    J items = J::array();
    for (auto& w : st_.webhooks()) items.push_back(webhook_json(w));
    return json_response(200, J{{"items", items}}.dump());
  });
  router_.add("POST", "/api/v1/webhooks", Role::kAdmin, [this](Request& r) { return webhooks_post(r); });
  router_.add("DELETE", "/api/v1/webhooks/{id}", Role::kAdmin, [this](Request& r) {
    uint64_t id = 0;
    if (!parse_u64(r.params[0], id) || !id) return error(400, "bad id: expected a positive integer");
    if (!st_.delete_webhook(id)) return error(404, "no webhook " + std::to_string(id));
    if (hooks_.webhooks_changed) hooks_.webhooks_changed();
    return json_response(200, J{{"deleted", id}}.dump());
  });
  router_.add("GET", "/api/v1/siem", Role::kAdmin, [this](Request&) {
    if (hooks_.siem_current) return json_response(200, hooks_.siem_current().dump());
    auto s = st_.setting("siem");
    J j = s ? J::parse(*s, nullptr, false) : J();
    if (!j.is_object()) j = siem_default();
    return json_response(200, j.dump());
  });
  // Validated, applied to the running syslog exporter (which resolves the
  // target: an unknown host is a 400 and nothing changes), stored (the next
  // start applies it), audited with the previous value.
  router_.add("PUT", "/api/v1/siem", Role::kAdmin, [this](Request& r) {
    J b = J::parse(r.body, nullptr, false);
    std::string err;
    if (b.is_discarded()) return error(400, "body: expected a JSON object");
    if (!check_siem(b, err)) return error(400, err);
    std::string t = b.value("target", ""), f = b.value("format", "json"), l = b.value("min_level", "medium");
    J v = {{"target", t}, {"format", f}, {"min_level", l}};
    auto prev = st_.setting("siem");
    if (hooks_.siem_apply && !hooks_.siem_apply(t, f, l, err)) return error(400, err);
    if (!st_.set_setting("siem", v.dump())) return error(500, "store: not written (applied to the running exporter)");
    audit(r, "siem", hooks_.siem_apply ? "applied" : "stored", (prev ? *prev : siem_default().dump()) + " -> " + v.dump());
    return json_response(200, v.dump());
  });
  router_.add("GET", "/api/v1/audit", Role::kAdmin, [this](Request& r) {
    uint64_t limit = 100;
    if (r.query.count("limit") && (!parse_u64(r.query["limit"], limit) || !limit || limit > 10000))
      return error(400, "limit: expected 1..10000");
    J items = J::array();
    for (auto& e : st_.audit_log(size_t(limit)))
      items.push_back({{"ts", store::format_time(e.ts_ms)}, {"actor", e.actor}, {"action", e.action}, {"target", e.target},
                       {"detail", e.detail}});
    return json_response(200, J{{"items", items}}.dump(-1, ' ', false, J::error_handler_t::replace));
  });
  // The server hands these to the stream hub when one is attached (server.cc).
  router_.add("GET", "/api/v1/stream", Role::kViewer, [](Request& r) {
    if (r.header("upgrade").empty()) return error(400, "expected a WebSocket upgrade (Upgrade: websocket)");
    return not_built("the stream hub");
  });
  router_.add("GET", "/api/v1/stream/sse", Role::kViewer, [](Request&) { return not_built("the stream hub"); });
}

Response ApiService::webhooks_post(Request& r) {
  J b = J::parse(r.body, nullptr, false);
  if (b.is_discarded() || !b.is_object()) return error(400, "body: expected a JSON object");
  store::Webhook w;
  for (auto& [k, v] : b.items()) {
    if (k == "events") {
      if (!v.is_array() || v.empty()) return error(400, "events: expected a non-empty array of alert, incident");
      for (auto& e : v) {
        if (!e.is_string() || (e != "alert" && e != "incident")) return error(400, "events: expected alert or incident");
        w.events.push_back(e.get<std::string>());
      }
    } else if (k == "url" || k == "min_level" || k == "secret") {
      if (!v.is_string()) return error(400, k + ": expected a string");
    } else {
      return error(400, "unknown field '" + k + "'");
    }
  }
  w.url = b.value("url", "");
  if ((w.url.rfind("http://", 0) != 0 && w.url.rfind("https://", 0) != 0) || w.url.size() < 10 || w.url.size() > 2000)
    return error(400, "url: expected an http:// or https:// URL");
  if (w.events.empty()) w.events = {"alert", "incident"};
  w.min_level = b.value("min_level", "medium");
  if (!valid_level(w.min_level)) return error(400, "min_level: expected info, low, medium, high or critical");
  w.secret = b.value("secret", "");
  if (!w.secret.empty() && w.secret.size() < 16) return error(400, "secret: at least 16 characters");
  if (!st_.add_webhook(w)) return error(500, "store: not written");
  if (hooks_.webhooks_changed) hooks_.webhooks_changed();
  return json_response(201, webhook_json(w).dump());
}

void ApiService::routes() {
  routes_alerts();
  routes_incidents();
  routes_flows();
  routes_analytics();
  routes_admin();
  routes_ml();
  routes_detect();
}

}  // namespace spectre::api
