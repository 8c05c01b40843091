// /alerts: list, detail, PATCH, bulk, feedback, export; the PATCH/bulk/
// feedback code shared with /incidents.
#include <algorithm>

#include "ctrlplane/api/explain.h"
#include "ctrlplane/api/params.h"
#include "ctrlplane/api/service.h"
#include "ctrlplane/store/eve_rows.h"

namespace spectre::api {

namespace {
constexpr size_t kBulkMax = 10000;

bool id_param(const Request& r, uint64_t& id, Response& fail) {
  if (r.params.empty() || !parse_u64(r.params[0], id) || id == 0) {
    fail = error(400, "bad id '" + (r.params.empty() ? std::string() : r.params[0]) + "': expected a positive integer");
    return false;
  }
  return true;
}

}  // namespace

bool body_json(const Request& r, J& j, Response& fail) {
  j = J::parse(r.body, nullptr, false);
  if (r.body.empty() || j.is_discarded() || !j.is_object()) { fail = error(400, "body: expected a JSON object"); return false; }
  return true;
}

void ApiService::routes_alerts() {
  router_.add("GET", "/api/v1/alerts", Role::kViewer, [this](Request& r) { return list_alerts(r); });
  router_.add("GET", "/api/v1/alerts/export", Role::kViewer, [this](Request& r) { return export_alerts(r); });
  router_.add("GET", "/api/v1/alerts/{id}", Role::kViewer, [this](Request& r) { return alert_detail(r); });
  router_.add("PATCH", "/api/v1/alerts/{id}", Role::kAnalyst, [this](Request& r) { return patch_one(r, false); });
  router_.add("POST", "/api/v1/alerts/bulk", Role::kAnalyst, [this](Request& r) { return bulk(r, false); });
  router_.add("POST", "/api/v1/alerts/{id}/feedback", Role::kAnalyst, [this](Request& r) { return add_feedback(r, false); });
  router_.add("GET", "/api/v1/alerts/{id}/explain", Role::kViewer, [this](Request& r) {
    uint64_t id = 0;
    Response f;
    if (!id_param(r, id, f)) return f;
    return explain_alert(st_, hooks_.ml, id, hooks_.rules);  // explain.cc
  });
}

Response ApiService::list_alerts(Request& r) {
  store::AlertQuery q;
  std::string err;
  if (!alert_query(r, q, err)) return error(400, err);
  q.q_scan_rows = opt_.q_scan_rows;
  std::vector<store::AlertRow> rows;
  store::ListStop stop;  // q= the index cannot narrow: a bounded scan, continued by the cursor
  if (!st_.list_alerts(q, rows, err, &stop)) return error(500, "store: " + err);
  std::string body = ts_page_body(rows, q.limit, 'a', alert_text);
  if (stop.cut && rows.size() != q.limit) {  // "null}" becomes the last row the scan tested, and partial
    body.resize(body.size() - 5);
    body += "\"" + encode_cursor('a', stop.id, stop.ts) + "\",\"partial\":{\"scanned\":" + std::to_string(stop.scanned) + "}}";
  }
  return json_response(200, body);
}

Response ApiService::alert_detail(Request& r) {
  uint64_t id = 0;
  Response f;
  if (!id_param(r, id, f)) return f;
  auto a = st_.get_alert(id);
  if (!a) return error(404, "no alert " + std::to_string(id));
  J j = alert_json(*a);
  j["feedback"] = J::array();
  for (auto& fb : st_.feedback("alert", id)) j["feedback"].push_back(feedback_json(fb));
  j["comments"] = J::array();
  for (auto& c : st_.comments("alert", id))
    j["comments"].push_back({{"ts", store::format_time(c.ts_ms)}, {"author", c.author}, {"text", c.text}});
  return json_response(200, j.dump(-1, ' ', false, J::error_handler_t::replace));
}

Response ApiService::patch_one(Request& r, bool incident) {
  uint64_t id = 0;
  Response f;
  J b;
  if (!id_param(r, id, f) || !body_json(r, b, f)) return f;
  store::AnalystSet s;
  std::string comment, err;
  if (!parse_set(b, s, &comment, err)) return error(400, err);
  const char* kind = incident ? "incident" : "alert";
  bool exists = incident ? bool(st_.get_incident(id)) : bool(st_.get_alert(id));
  if (!exists) return error(404, std::string("no ") + kind + " " + std::to_string(id));
  std::vector<uint64_t> missing;
  if (s.status || s.assignee || s.classification)
    incident ? st_.update_incidents({id}, s, missing) : st_.update_alerts({id}, s, missing);
  if (incident && s.status && hooks_.incident_status) hooks_.incident_status(id, *s.status);
  if (!comment.empty()) st_.add_comment(kind, id, {now_ms(), r.who.name, comment});
  if (incident) return json_response(200, incident_json(*st_.get_incident(id)).dump(-1, ' ', false, J::error_handler_t::replace));
  return json_response(200, alert_json(*st_.get_alert(id)).dump(-1, ' ', false, J::error_handler_t::replace));
}

// Up to 10,000 ids in one transaction; unknown ids come back in "missing".
Response ApiService::bulk(Request& r, bool incident) {
  J b;
  Response f;
  if (!body_json(r, b, f)) return f;
  if (!b.contains("ids") || !b["ids"].is_array()) return error(400, "ids: expected an array of ids");
  if (b["ids"].empty()) return error(400, "ids: empty");
  if (b["ids"].size() > kBulkMax) return error(413, "ids: at most 10000 ids per request, got " + std::to_string(b["ids"].size()));
  std::vector<uint64_t> ids;
  ids.reserve(b["ids"].size());
  for (auto& x : b["ids"]) {
    if (!x.is_number_unsigned() || x.get<uint64_t>() == 0) return error(400, "ids: expected positive integers");
    ids.push_back(x.get<uint64_t>());
  }
  for (auto& [k, v] : b.items())
    if (k != "ids" && k != "set") return error(400, "unknown field '" + k + "'");
  if (!b.contains("set")) return error(400, "set: required (status, assignee, classification)");
  store::AnalystSet s;
  std::string err;
  if (!parse_set(b["set"], s, nullptr, err)) return error(400, "set: " + err);
  std::vector<uint64_t> missing;
  uint64_t n = incident ? st_.update_incidents(ids, s, missing) : st_.update_alerts(ids, s, missing);
  if (incident && s.status && hooks_.incident_status) {
    std::sort(missing.begin(), missing.end());
    for (uint64_t id : ids)
      if (!std::binary_search(missing.begin(), missing.end(), id)) hooks_.incident_status(id, *s.status);
  }
  return json_response(200, J{{"updated", n}, {"missing", missing}}.dump());
}

Response ApiService::add_feedback(Request& r, bool incident) {
  uint64_t id = 0;
  Response f;
  J b;
  if (!id_param(r, id, f) || !body_json(r, b, f)) return f;
  for (auto& [k, v] : b.items()) {
    if (k != "verdict" && k != "reason" && k != "note") return error(400, "unknown field '" + k + "'");
    if (!v.is_string() || v.get<std::string>().size() > 2000) return error(400, k + ": expected a string (at most 2000 characters)");
  }
  std::string verdict = b.value("verdict", "");
  if (verdict != "true_positive" && verdict != "false_positive")
    return error(400, "verdict: expected true_positive or false_positive");
  const char* kind = incident ? "incident" : "alert";
  bool exists = incident ? bool(st_.get_incident(id)) : bool(st_.get_alert(id));
  if (!exists) return error(404, std::string("no ") + kind + " " + std::to_string(id));
  store::Feedback fb{0, kind, id, verdict, b.value("reason", ""), b.value("note", ""), r.who.name, now_ms()};
  if (!st_.add_feedback(fb)) return error(500, "store: feedback not written");
  return json_response(201, feedback_json(fb).dump(-1, ' ', false, J::error_handler_t::replace));
}

// CSV (a header line, RFC 4180) or JSON lines of the list filters, newest
// first, at most `max` rows (default 100,000; the service's export_max).
Response ApiService::export_alerts(Request& r) {
  std::string fmt = r.query.count("format") ? r.query["format"] : "jsonl";
  if (fmt != "csv" && fmt != "jsonl") return error(400, "format: expected csv or jsonl");
  uint64_t max = 100000;
  if (r.query.count("max") && (!parse_u64(r.query["max"], max) || max == 0 || max > opt_.export_max))
    return error(400, "max: expected 1.." + std::to_string(opt_.export_max));
  store::AlertQuery q;
  std::string err;
  if (!alert_query(r, q, err, {"format", "max"})) return error(400, err);
  Response resp;
  resp.content_type = fmt == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson";
  resp.headers.emplace_back("Content-Disposition", std::string("attachment; filename=\"alerts.") + fmt + "\"");
  if (fmt == "csv")
    resp.body = "id,timestamp,severity,gid,sid,rev,signature,category,src_ip,src_port,dest_ip,dest_port,proto,app_proto,"
                "status,assignee,classification,incident_id\r\n";
  uint64_t n = 0;
  std::vector<store::AlertRow> rows;
  while (n < max) {
    q.limit = size_t(std::min<uint64_t>(1000, max - n));
    rows.clear();
    if (!st_.list_alerts(q, rows, err)) return error(500, "store: " + err);
    for (auto& a : rows) {
      if (fmt == "jsonl") {
        resp.body += alert_text(a) + "\n";
        continue;
      }
      resp.body += std::to_string(a.id) + "," + store::format_time(a.ts_ms) + "," + std::to_string(a.severity) + "," +
                   std::to_string(a.gid) + "," + std::to_string(a.sid) + "," + std::to_string(a.rev) + "," +
                   csv_field(a.signature) + "," + csv_field(a.category) + "," + csv_field(a.src_ip) + "," +
                   std::to_string(a.src_port) + "," + csv_field(a.dest_ip) + "," + std::to_string(a.dest_port) + "," +
                   csv_field(a.proto) + "," + csv_field(a.app_proto) + "," + csv_field(a.status) + "," +
                   csv_field(a.assignee) + "," + csv_field(a.classification) + "," +
                   (a.incident_id ? std::to_string(a.incident_id) : std::string()) + "\r\n";
    }
    n += rows.size();
    if (rows.size() < q.limit) break;
    q.before_id = rows.back().id;
    q.before_ts = rows.back().ts_ms;
  }
  return resp;
}

}  // namespace spectre::api
