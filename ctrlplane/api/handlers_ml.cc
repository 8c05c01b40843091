// /api/v1/ml/*: model status, drift, importance, retrain jobs, promote and
// rollback through the MlPort (spectre-cp's learning loop); the analysts'
// feedback rates and the recent alerts' contributions from the store.
#include <cmath>
#include <map>

#include "ctrlplane/api/service.h"
#include "ctrlplane/store/eve_rows.h"

namespace spectre::api {

namespace {
constexpr size_t kRecentAlerts = 500;  // alerts read for "recent" contributions: bounded work per request
constexpr size_t kFeedbackExport = 100000;  // verdicts exported per request (newest)

Response answer(const MlAnswer& a) { return json_response(a.status, a.body); }

Response no_port() {
  return error(503, "model management is not configured in this spectre-cp (no learning loop)");
}

// Mean |contribution| per feature over the top features of the newest alerts' ml objects.
J recent_contributions(store::Store& st, size_t& alerts_used) {
  store::AlertQuery q;
  q.limit = kRecentAlerts;
  std::vector<store::AlertRow> rows;
  std::string err;
  std::map<std::string, std::pair<double, uint64_t>> sum;
  alerts_used = 0;
  if (st.list_alerts(q, rows, err))
    for (const auto& a : rows) {
      J eve = J::parse(a.eve, nullptr, false);
      if (!eve.is_object() || !eve.contains("ml") || !eve["ml"].is_object()) continue;
      const J& top = eve["ml"].value("top_features", J::array());
      if (!top.is_array() || top.empty()) continue;
      alerts_used++;
      for (const J& f : top)
        if (f.is_object() && f.contains("name") && f["name"].is_string() && f.contains("contribution") &&
            f["contribution"].is_number()) {
          auto& s = sum[f["name"].get<std::string>()];
          s.first += std::fabs(f["contribution"].get<double>());
          s.second++;
        }
    }
  std::vector<std::pair<std::string, double>> v;
  for (auto& [name, s] : sum) v.emplace_back(name, s.first / double(alerts_used));
  std::stable_sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.second > y.second; });
  J out = J::array();
  for (auto& [name, c] : v) out.push_back({{"feature", name}, {"contribution", c}});
  return out;
}
// One ml/feedback.h line per stored verdict; an alert's verdict carries its
// flow_id, rule and model class from the stored EVE record (labels for retraining).
std::string feedback_jsonl(store::Store& st) {
  std::string out;
  for (const store::Feedback& f : st.feedback_all(kFeedbackExport)) {
    J line = {{"id", f.id}, {"target", f.target}, {"target_id", f.target_id}, {"verdict", f.verdict},
              {"reason", f.reason}, {"note", f.note}, {"author", f.author}, {"ts", store::format_time(f.ts_ms)}};
    if (f.target == "alert")
      if (auto a = st.get_alert(f.target_id)) {
        line["gid"] = a->gid;
        line["sid"] = a->sid;
        line["signature"] = a->signature;
        J eve = J::parse(a->eve, nullptr, false);
        if (eve.is_object()) {
          if (eve.contains("flow_id") && (eve["flow_id"].is_number() || eve["flow_id"].is_string()))
            line["flow_id"] = eve["flow_id"].is_string() ? eve["flow_id"].get<std::string>() : eve["flow_id"].dump();
          if (eve.contains("ml") && eve["ml"].is_object() && eve["ml"].contains("class") && eve["ml"]["class"].is_string())
            line["class"] = eve["ml"]["class"];
        }
      }
    out += line.dump(-1, ' ', false, J::error_handler_t::replace);
    out += '\n';
  }
  return out;
}
}  // namespace

void ApiService::routes_ml() {
  router_.add("GET", "/api/v1/ml/feedback", Role::kViewer, [this](Request&) {
    if (hooks_.ml) return answer(hooks_.ml->feedback_rates(feedback_jsonl(st_)));
    J rules = J::array();  // without the learning loop: per-rule rates from the store alone
    for (auto& [sid, tf] : st_.feedback_by_rule()) {
      double n = double(tf.first + tf.second);
      rules.push_back({{"sid", sid}, {"tp", tf.first}, {"fp", tf.second}, {"fp_rate", n ? double(tf.second) / n : 0.0}});
    }
    return json_response(200, J{{"rules", rules}, {"classes", J::array()}}.dump());
  });
  router_.add("GET", "/api/v1/ml/feedback/export", Role::kAnalyst, [this](Request&) {
    Response r = json_response(200, feedback_jsonl(st_));
    r.content_type = "application/x-ndjson";
    return r;
  });
  router_.add("GET", "/api/v1/ml/status", Role::kViewer,
              [this](Request&) { return hooks_.ml ? answer(hooks_.ml->status()) : no_port(); });
  router_.add("GET", "/api/v1/ml/drift", Role::kViewer,
              [this](Request&) { return hooks_.ml ? answer(hooks_.ml->drift()) : no_port(); });
  router_.add("GET", "/api/v1/ml/importance", Role::kViewer, [this](Request&) {
    J out = {{"method", nullptr}, {"model", J::array()}};
    if (hooks_.ml) {
      MlAnswer a = hooks_.ml->importance();
      if (a.status != 200) return answer(a);
      J m = J::parse(a.body, nullptr, false);
      if (m.is_object()) out = m;
    }
    size_t used = 0;
    out["recent"] = recent_contributions(st_, used);
    out["recent_alerts"] = used;
    return json_response(200, out.dump(-1, ' ', false, J::error_handler_t::replace));
  });
  router_.add("POST", "/api/v1/ml/retrain", Role::kAdmin,
              [this](Request& r) { return hooks_.ml ? answer(hooks_.ml->retrain(r.who.name, feedback_jsonl(st_))) : no_port(); });
  router_.add("GET", "/api/v1/ml/jobs/{job}", Role::kViewer,
              [this](Request& r) { return hooks_.ml ? answer(hooks_.ml->job(r.params[0])) : no_port(); });
  router_.add("POST", "/api/v1/ml/promote", Role::kAdmin, [this](Request& r) {
    if (!hooks_.ml) return no_port();
    J b;
    Response f;
    if (!body_json(r, b, f)) return f;
    if (!b.contains("version") || !(b["version"].is_string() || b["version"].is_number_integer()))
      return error(400, "version: expected the version (or sha256) of a registered model");
    std::string v = b["version"].is_string() ? b["version"].get<std::string>() : std::to_string(b["version"].get<int64_t>());
    return answer(hooks_.ml->promote(v, r.who.name));
  });
  router_.add("POST", "/api/v1/ml/rollback", Role::kAdmin,
              [this](Request& r) { return hooks_.ml ? answer(hooks_.ml->rollback(r.who.name)) : no_port(); });
}

}  // namespace spectre::api
