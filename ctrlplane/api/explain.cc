// GET /api/v1/alerts/{id}/explain (see explain.h).
#include "ctrlplane/api/explain.h"

#include "ctrlplane/api/service.h"

namespace spectre::api {

namespace {

// EVE members that show what a rule or model looked at (Suricata's payload
// fields and the app-layer objects spectre-dp logs with an alert).
constexpr const char* kBuffers[] = {"payload", "payload_printable", "packet", "http", "dns", "tls", "smtp", "email",
                                    "ftp", "ftp_data", "quic", "sip", "ssh", "mqtt", "krb5", "smb", "dcerpc",
                                    "fileinfo", "files", "app_proto"};

J ml_part(const J& eve, MlPort* port, J& out) {
  const J ml = eve.contains("ml") && eve["ml"].is_object() ? eve["ml"] : J(nullptr);
  if (ml.is_null()) return ml;
  if (port) {
    MlAnswer a = port->explain(eve.dump(-1, ' ', false, J::error_handler_t::replace));
    J full = J::parse(a.body, nullptr, false);
    if (a.status == 200 && full.is_object() && full.contains("contributions")) {
      out["contributions"] = full["contributions"];
      out["contributions_source"] = "model";
      for (const char* k : {"model", "method", "row", "bias"}) out[k] = full.value(k, J(nullptr));
      out["note"] = "every feature's contribution, recomputed by the model on the flow's dumped row";
      return ml;
    }
    if (full.is_object() && full.contains("error")) out["model_error"] = full["error"];
  }
  J top = J::array();  // what the data plane computed when it alerted (its top features)
  for (const J& f : ml.value("top_features", J::array()))
    if (f.is_object()) top.push_back({{"feature", f.value("name", "")}, {"value", f.value("value", J(nullptr))},
                                      {"contribution", f.value("contribution", J(nullptr))}});
  out["contributions"] = top;
  out["contributions_source"] = "alert";
  out["note"] = "the data plane's top features of the alert (the row is not kept for a full explanation)";
  return ml;
}

// The incident whose members name this alert (gid, sid, timestamp): alerts are
// stored before Cortex makes incidents, so their incident_id is rarely set.
// Bounded: the newest 100 incidents of each of the alert's two addresses.
uint64_t find_incident(store::Store& st, const store::AlertRow& a, const J& eve) {
  if (a.incident_id) return a.incident_id;
  const std::string ts = eve.value("timestamp", "");
  if (ts.empty()) return 0;
  for (const std::string& ip : {a.src_ip, a.dest_ip}) {
    store::IncidentQuery q;
    q.ip = ip;
    std::vector<store::IncidentRow> rows;
    std::string err;
    if (ip.empty() || !st.list_incidents(q, rows, err)) continue;
    for (const auto& r : rows) {
      const J rec = J::parse(r.record, nullptr, false);
      if (!rec.is_object() || !rec.contains("incident") || !rec["incident"].is_object()) continue;
      for (const J& m : rec["incident"].value("members", J::array()))
        if (m.is_object() && m.value("timestamp", "") == ts && m.value("gid", 0u) == a.gid &&
            m.value("signature_id", 0u) == a.sid)
          return r.id;
    }
  }
  return 0;
}

J incident_part(store::Store& st, uint64_t incident_id) {
  if (!incident_id) return nullptr;
  auto row = st.get_incident(incident_id);
  if (!row) return J{{"id", incident_id}, {"explanation", nullptr}};
  J rec = J::parse(row->record, nullptr, false);
  const J in = rec.is_object() && rec.contains("incident") ? rec["incident"] : J::object();
  return J{{"id", incident_id}, {"level", row->level}, {"status", row->status},
           {"explanation", in.is_object() && in.contains("explanation") ? in["explanation"] : J(nullptr)}};
}

}  // namespace

Response explain_alert(store::Store& st, MlPort* port, uint64_t id) {
  auto a = st.get_alert(id);
  if (!a) return error(404, "no alert " + std::to_string(id));
  J eve = J::parse(a->eve, nullptr, false);
  if (!eve.is_object()) eve = J::object();
  J out = {{"id", id}, {"kind", a->gid == 9000 ? "ml" : a->gid == 9100 ? "behaviour" : "signature"}};
  out["contributions"] = J::array();
  out["ml"] = ml_part(eve, port, out);
  if (out["ml"].is_null()) out["note"] = "the alert carries no ML verdict";
  const J al = eve.contains("alert") && eve["alert"].is_object() ? eve["alert"] : J::object();
  out["rule"] = {{"gid", a->gid}, {"sid", a->sid}, {"rev", a->rev}, {"signature", a->signature},
                 {"category", a->category}, {"text", al.contains("rule") ? al["rule"] : J(nullptr)},
                 {"metadata", al.contains("metadata") ? al["metadata"] : J(nullptr)}};
  J buffers = J::object();
  for (const char* k : kBuffers)
    if (eve.contains(k)) buffers[k] = eve[k];
  out["buffers"] = buffers;
  out["incident"] = incident_part(st, find_incident(st, *a, eve));
  return json_response(200, out.dump(-1, ' ', false, J::error_handler_t::replace));
}

}  // namespace spectre::api
