// /detect: offline pcap analysis (detect_jobs.h). The upload limit is the
// server's per-path body limit (--detect-max-bytes); the results are the
// job's own, never the live store's.
#include "ctrlplane/api/detect_jobs.h"
#include "ctrlplane/api/service.h"

namespace spectre::api {

void ApiService::routes_detect() {
  DetectJobs* d = hooks_.detect;
  if (!d) {
    auto off = [](Request&) { return error(501, "offline pcap analysis (detect) is not enabled in this spectre-cp"); };
    router_.add("POST", "/api/v1/detect", Role::kAnalyst, off);
    for (const char* p : {"/api/v1/detect/{job}", "/api/v1/detect/{job}/alerts", "/api/v1/detect/{job}/incidents"})
      router_.add("GET", p, Role::kViewer, off);
    return;
  }
  router_.add("POST", "/api/v1/detect", Role::kAnalyst, [d](Request& r) {
    std::string id, err;
    int status = 0;
    if (!d->submit(r.body, id, status, err, r.who.name)) {
      Response e = error(status, err);
      if (status == 503) e.headers.emplace_back("Retry-After", "10");
      return e;
    }
    Response ok = json_response(202, J{{"job", id}}.dump());
    ok.headers.emplace_back("Location", "/api/v1/detect/" + id);
    return ok;
  });
  router_.add("GET", "/api/v1/detect/{job}", Role::kViewer, [d](Request& r) {
    J st;
    if (!d->status(r.params[0], st)) return error(404, "no detect job " + r.params[0] + " (unknown or expired)");
    return json_response(200, st.dump(-1, ' ', false, J::error_handler_t::replace));
  });
  router_.add("GET", "/api/v1/detect/{job}/alerts", Role::kViewer, [d](Request& r) {
    std::vector<store::AlertRow> rows;
    if (!d->alerts(r.params[0], rows)) return error(404, "no detect job " + r.params[0] + " (unknown or expired)");
    std::string s = "{\"items\":[";
    for (size_t i = 0; i < rows.size(); i++) {
      if (i) s += ',';
      s += alert_text(rows[i]);
    }
    s += "]}";
    return json_response(200, std::move(s));
  });
  router_.add("GET", "/api/v1/detect/{job}/incidents", Role::kViewer, [d](Request& r) {
    std::vector<store::IncidentRow> rows;
    if (!d->incidents(r.params[0], rows)) return error(404, "no detect job " + r.params[0] + " (unknown or expired)");
    J items = J::array();
    for (auto& x : rows) items.push_back(incident_json(x));
    return json_response(200, J{{"items", items}}.dump(-1, ' ', false, J::error_handler_t::replace));
  });
}

}  // namespace spectre::api
