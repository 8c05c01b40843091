// /incidents: list, detail (timeline from the update rows, the latest
// record's explanation, members, risk, response), PATCH, bulk, feedback;
// the PDF reports of an incident and of a time range.
#include <fmt/format.h>

#include "ctrlplane/api/params.h"
#include "ctrlplane/api/pdf.h"
#include "ctrlplane/api/service.h"
#include "ctrlplane/store/eve_rows.h"

namespace spectre::api {

void ApiService::routes_incidents() {
  router_.add("GET", "/api/v1/incidents", Role::kViewer, [this](Request& r) { return list_incidents(r); });
  router_.add("GET", "/api/v1/incidents/{id}", Role::kViewer, [this](Request& r) { return incident_detail(r); });
  router_.add("PATCH", "/api/v1/incidents/{id}", Role::kAnalyst, [this](Request& r) { return patch_one(r, true); });
  router_.add("POST", "/api/v1/incidents/bulk", Role::kAnalyst, [this](Request& r) { return bulk(r, true); });
  router_.add("POST", "/api/v1/incidents/{id}/feedback", Role::kAnalyst, [this](Request& r) { return add_feedback(r, true); });
  router_.add("GET", "/api/v1/incidents/{id}/report.pdf", Role::kViewer, [this](Request& r) { return incident_pdf(r); });
  router_.add("GET", "/api/v1/reports.pdf", Role::kViewer, [this](Request& r) { return range_pdf(r); });
}

Response ApiService::list_incidents(Request& r) {
  store::IncidentQuery q;
  std::string err;
  if (!incident_query(r, q, err)) return error(400, err);
  q.q_scan_rows = opt_.q_scan_rows;
  std::vector<store::IncidentRow> rows;
  store::ListStop stop;  // q= the index cannot narrow: a bounded scan, continued by the cursor (as /alerts)
  if (!st_.list_incidents(q, rows, err, &stop)) return error(500, "store: " + err);
  J items = J::array();
  for (auto& i : rows) items.push_back(incident_json(i));
  J next = rows.size() == q.limit ? J(encode_cursor('i', rows.back().id)) : J(nullptr);
  J out{{"items", std::move(items)}, {"next_cursor", next}};
  if (stop.cut && rows.size() != q.limit)  // the cursor goes on after the last incident the scan tested
    out["next_cursor"] = encode_cursor('i', stop.id), out["partial"] = {{"scanned", stop.scanned}};
  return json_response(200, out.dump(-1, ' ', false, J::error_handler_t::replace));
}

namespace {
bool get_id(const Request& r, uint64_t& id) { return !r.params.empty() && parse_u64(r.params[0], id) && id > 0; }

const J& inner(const J& record) {
  static const J empty = J::object();
  auto it = record.find("incident");
  return it != record.end() && it->is_object() ? *it : empty;
}

J detail_json(store::Store& st, const store::IncidentRow& row) {
  J j = incident_json(row);
  const J& in = inner(j["record"]);
  j["timeline"] = J::array();
  for (auto& u : st.incident_updates(row.id, 1000))
    j["timeline"].push_back({{"ts", store::format_time(u.ts_ms)}, {"kind", u.event}, {"summary", u.event + ": level " + u.level}});
  j["members"] = in.contains("members") && in["members"].is_array() ? in["members"] : J::array();
  j["explanation"] = in.contains("explanation") ? in["explanation"] : J(nullptr);
  J risk = in.contains("risk") && in["risk"].is_object() ? in["risk"] : J::object();
  j["risk"] = risk.contains("components") && risk["components"].is_object() ? risk["components"] : J::object();
  j["response"] = in.contains("response") && in["response"].is_object() ? in["response"] : J(nullptr);
  j["feedback"] = J::array();
  for (auto& f : st.feedback("incident", row.id)) j["feedback"].push_back(feedback_json(f));
  j["comments"] = J::array();
  for (auto& c : st.comments("incident", row.id))
    j["comments"].push_back({{"ts", store::format_time(c.ts_ms)}, {"author", c.author}, {"text", c.text}});
  return j;
}

Response pdf_response(std::string body, const std::string& name) {
  Response r;
  r.content_type = "application/pdf";
  r.body = std::move(body);
  r.headers.emplace_back("Content-Disposition", "inline; filename=\"" + name + "\"");
  return r;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "-" : s;
}
}  // namespace

Response ApiService::incident_detail(Request& r) {
  uint64_t id = 0;
  if (!get_id(r, id)) return error(400, "bad id: expected a positive integer");
  auto row = st_.get_incident(id);
  if (!row) return error(404, "no incident " + std::to_string(id));
  return json_response(200, detail_json(st_, *row).dump(-1, ' ', false, J::error_handler_t::replace));
}

Response ApiService::incident_pdf(Request& r) {
  uint64_t id = 0;
  if (!get_id(r, id)) return error(400, "bad id: expected a positive integer");
  auto row = st_.get_incident(id);
  if (!row) return error(404, "no incident " + std::to_string(id));
  J d = detail_json(st_, *row);
  std::vector<PdfLine> l;
  l.push_back({fmt::format("Level {} - score {:.1f} - confidence {:.2f} - status {}", row->level, row->score,
                           row->confidence, row->status)});
  l.push_back({"First seen " + store::format_time(row->first_ms) + ", last seen " + store::format_time(row->last_ms)});
  l.push_back({"Attacker " + (row->attacker.empty() ? "-" : row->attacker) + ", victim " +
               (row->victim.empty() ? "-" : row->victim)});
  l.push_back({"Tactics: " + join(row->tactics)});
  l.push_back({"Techniques: " + join(row->techniques)});
  l.push_back({"Assignee: " + (row->assignee.empty() ? "-" : row->assignee) + ", classification: " +
               (row->classification.empty() ? "-" : row->classification)});
  if (d["explanation"].is_object() && d["explanation"].contains("summary") && d["explanation"]["summary"].is_string())
    l.push_back({"Explanation", 12}), l.push_back({d["explanation"]["summary"].get<std::string>()});
  l.push_back({"Timeline", 12});
  for (auto& t : d["timeline"]) l.push_back({t["ts"].get<std::string>() + "  " + t["summary"].get<std::string>()});
  l.push_back({fmt::format("Member detections ({} in total)", row->members_total), 12});
  for (auto& m : d["members"])
    l.push_back({m.value("timestamp", "") + "  " + m.value("kind", "") + "  " + m.value("signature", "")});
  return pdf_response(make_pdf("InfraSpectre incident " + std::to_string(id), l), "incident-" + std::to_string(id) + ".pdf");
}

// The range's alert counts (from the aggregates), top signatures and talkers, and its incidents.
Response ApiService::range_pdf(Request& r) {
  int64_t from = 0, to = 0;
  std::string err;
  for (auto& [k, v] : r.query)
    if (k != "from" && k != "to") return error(400, "unknown parameter '" + k + "'");
  if (!time_range(r, now_ms(), 86400000, from, to, err)) return error(400, err);
  std::vector<PdfLine> l;
  l.push_back({"From " + store::format_time(from) + " to " + store::format_time(to)});
  l.push_back({"Alerts by severity", 12});
  for (auto& k : st_.top(store::Dim::kSeverity, from, to, 10)) l.push_back({"severity " + k.key + ": " + std::to_string(k.count)});
  l.push_back({"Top signatures", 12});
  for (auto& k : st_.top(store::Dim::kSignature, from, to, 15)) l.push_back({std::to_string(k.count) + "  " + k.key});
  l.push_back({"Top talkers", 12});
  for (auto& k : st_.top(store::Dim::kSrc, from, to, 10)) l.push_back({std::to_string(k.count) + "  " + k.key});
  store::IncidentQuery q;
  q.from_ms = from;
  q.to_ms = to;
  q.limit = 200;
  std::vector<store::IncidentRow> inc;
  st_.list_incidents(q, inc, err);
  l.push_back({"Incidents (" + std::to_string(inc.size()) + (inc.size() == 200 ? ", the newest 200)" : ")"), 12});
  for (auto& i : inc)
    l.push_back({fmt::format("#{} {} score {:.1f} {} -> {} [{}] {}", i.id, i.level, i.score, i.attacker, i.victim, i.status,
                             store::format_time(i.last_ms))});
  return pdf_response(make_pdf("InfraSpectre report", l), "report.pdf");
}

}  // namespace spectre::api
