// JSON views of the store's rows (the OpenAPI document's Alert, Incident,
// Feedback) and the analyst-field parser shared by PATCH and bulk.
#include "ctrlplane/api/params.h"
#include "ctrlplane/api/service.h"
#include "ctrlplane/store/eve_rows.h"

namespace spectre::api {

namespace {
J parsed(const std::string& s) {
  J j = J::parse(s, nullptr, false);
  return j.is_discarded() ? J::object() : j;
}
}  // namespace

J alert_json(const store::AlertRow& a) {
  J j = alert_fields(a);
  j["eve"] = parsed(a.eve);
  return j;
}

namespace {
// The fields' object with "eve" added: the stored EVE text spliced in as it is
// (the store keeps what nlohmann dumped, so it is valid JSON): no parse and
// dump per row, the larger part of a list's cost.
std::string with_eve(const J& fields, const std::string& eve) {
  std::string s = fields.dump(-1, ' ', false, J::error_handler_t::replace);
  s.pop_back();
  s += ",\"eve\":";
  bool obj = eve.size() >= 2 && eve.front() == '{' && eve.back() == '}';
  s += obj ? std::string_view(eve) : std::string_view("{}");
  s += '}';
  return s;
}
}  // namespace

std::string alert_text(const store::AlertRow& a) { return with_eve(alert_fields(a), a.eve); }

std::string flow_text(const store::FlowRow& f) {
  J j{{"id", f.id},           {"timestamp", store::format_time(f.ts_ms)}, {"start", store::format_time(f.start_ms)},
      {"flow_id", f.flow_id}, {"src_ip", f.src_ip},     {"src_port", f.src_port},
      {"dest_ip", f.dest_ip}, {"dest_port", f.dest_port}, {"proto", f.proto},
      {"app_proto", f.app_proto}, {"bytes", f.bytes},   {"pkts", f.pkts},
      {"alerted", f.alerted}};
  return with_eve(j, f.eve);
}

J alert_fields(const store::AlertRow& a) {
  return J{{"id", a.id},
           {"timestamp", store::format_time(a.ts_ms)},
           {"severity", a.severity},
           {"gid", a.gid},
           {"sid", a.sid},
           {"rev", a.rev},
           {"signature", a.signature},
           {"category", a.category},
           {"src_ip", a.src_ip},
           {"src_port", a.src_port},
           {"dest_ip", a.dest_ip},
           {"dest_port", a.dest_port},
           {"proto", a.proto},
           {"app_proto", a.app_proto},
           {"status", a.status},
           {"assignee", a.assignee},
           {"classification", a.classification},
           {"incident_id", a.incident_id ? J(a.incident_id) : J(nullptr)},
           {"tactics", a.tactics},
           {"techniques", a.techniques}};
}

J incident_json(const store::IncidentRow& r) {
  return J{{"id", r.id},
           {"first_seen", store::format_time(r.first_ms)},
           {"last_seen", store::format_time(r.last_ms)},
           {"level", r.level},
           {"score", r.score},
           {"confidence", r.confidence},
           {"status", r.status},
           {"assignee", r.assignee},
           {"classification", r.classification},
           {"attacker", r.attacker},
           {"victim", r.victim},
           {"tactics", r.tactics},
           {"techniques", r.techniques},
           {"signatures", r.signatures},
           {"members_total", r.members_total},
           {"record", parsed(r.record)}};
}

J feedback_json(const store::Feedback& f) {
  return J{{"id", f.id},         {"target", f.target}, {"target_id", f.target_id}, {"verdict", f.verdict},
           {"reason", f.reason}, {"note", f.note},     {"author", f.author},       {"ts", store::format_time(f.ts_ms)}};
}

bool parse_set(const J& b, store::AnalystSet& s, std::string* comment, std::string& err) {
  if (!b.is_object()) { err = "expected a JSON object"; return false; }
  bool any = false;
  for (auto& [k, v] : b.items()) {
    if (k == "comment" && comment) {
      if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > 10000) {
        err = "comment: expected a string of 1..10000 characters";
        return false;
      }
      *comment = v.get<std::string>();
      any = true;
      continue;
    }
    if (k != "status" && k != "assignee" && k != "classification") { err = "unknown field '" + k + "'"; return false; }
    if (!v.is_string() || v.get<std::string>().size() > 200) { err = k + ": expected a string (at most 200 characters)"; return false; }
    std::string x = v.get<std::string>();
    if (k == "status" && !valid_status(x)) { err = "status: expected new, investigating, resolved or false_positive"; return false; }
    (k == "status" ? s.status : k == "assignee" ? s.assignee : s.classification) = x;
    any = true;
  }
  if (!any) { err = "nothing to change (status, assignee, classification or comment)"; return false; }
  return true;
}

std::string csv_field(std::string_view s) {
  std::string v(s);
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@')) v = "'" + v;  // spreadsheet formulas
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string o = "\"";
  for (char c : v) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

}  // namespace spectre::api
