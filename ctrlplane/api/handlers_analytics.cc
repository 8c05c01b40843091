// /analytics/trends, /analytics/top, /dashboard, /search: the aggregates
// (hourly buckets) answer trends, tops and the dashboard, never row scans.
#include "ctrlplane/api/params.h"
#include "ctrlplane/api/service.h"
#include "ctrlplane/store/eve_rows.h"

namespace spectre::api {

namespace {
bool only(const Request& r, std::initializer_list<const char*> names, std::string& err) {
  for (auto& [k, v] : r.query) {
    bool ok = false;
    for (const char* n : names) ok |= k == n;
    if (!ok) { err = "unknown parameter '" + k + "'"; return false; }
  }
  return true;
}
std::string q_or(const Request& r, const char* k, const char* dflt) {
  auto it = r.query.find(k);
  return it == r.query.end() ? dflt : it->second;
}
}  // namespace

void ApiService::routes_analytics() {
  router_.add("GET", "/api/v1/analytics/trends", Role::kViewer, [this](Request& r) { return trends(r); });
  router_.add("GET", "/api/v1/analytics/top", Role::kViewer, [this](Request& r) { return top(r); });
  router_.add("GET", "/api/v1/dashboard", Role::kViewer, [this](Request& r) { return dashboard(r); });
  router_.add("GET", "/api/v1/search", Role::kViewer, [this](Request& r) { return search(r); });
}

Response ApiService::trends(Request& r) {
  std::string err;
  if (!only(r, {"from", "to", "bucket", "by", "limit"}, err)) return error(400, err);
  std::string bucket = q_or(r, "bucket", "hour"), by = q_or(r, "by", "severity");
  int64_t bms = bucket == "hour" ? 3600000 : bucket == "day" ? 86400000 : bucket == "week" ? 7 * 86400000LL : 0;
  if (!bms) return error(400, "bucket: expected hour, day or week");
  store::Dim d;
  if (by == "severity") d = store::Dim::kSeverity;
  else if (by == "category") d = store::Dim::kCategory;
  else if (by == "signature") d = store::Dim::kSignature;
  else if (by == "tactic") d = store::Dim::kTactic;
  else return error(400, "by: expected severity, category, signature or tactic");
  int64_t from = 0, to = 0;
  if (!time_range(r, now_ms(), 86400000, from, to, err)) return error(400, err);
  if ((to - from) / bms > 5000) return error(400, "range too long for the bucket (at most 5000 buckets)");
  uint64_t limit = 10;
  if (r.query.count("limit") && (!parse_u64(r.query["limit"], limit) || limit < 1 || limit > 100))
    return error(400, "limit: expected 1..100 series");
  J series = J::array();
  for (auto& s : st_.trends(d, from, to, bms, size_t(limit))) {
    J pts = J::array();
    for (auto& p : s.points) pts.push_back({{"t", store::format_time(p.t_ms)}, {"count", p.count}});
    series.push_back({{"key", s.key}, {"points", std::move(pts)}});
  }
  return json_response(200, J{{"bucket", bucket}, {"by", by}, {"from", store::format_time(from)},
                              {"to", store::format_time(to)}, {"series", std::move(series)}}
                                .dump(-1, ' ', false, J::error_handler_t::replace));
}

Response ApiService::top(Request& r) {
  std::string err;
  if (!only(r, {"what", "from", "to", "limit"}, err)) return error(400, err);
  std::string what = q_or(r, "what", "talkers");
  store::Dim d;
  if (what == "talkers") d = store::Dim::kSrc;
  else if (what == "signatures") d = store::Dim::kSignature;
  else if (what == "tactics") d = store::Dim::kTactic;
  else if (what == "assets") d = store::Dim::kDest;
  else return error(400, "what: expected talkers, signatures, tactics or assets");
  int64_t from = 0, to = 0;
  if (!time_range(r, now_ms(), 86400000, from, to, err)) return error(400, err);
  uint64_t limit = 10;
  if (r.query.count("limit") && (!parse_u64(r.query["limit"], limit) || limit < 1 || limit > 1000))
    return error(400, "limit: expected 1..1000");
  J items = J::array();
  for (auto& k : st_.top(d, from, to, size_t(limit))) items.push_back({{"key", k.key}, {"count", k.count}});
  return json_response(200, J{{"what", what}, {"from", store::format_time(from)}, {"to", store::format_time(to)},
                              {"items", std::move(items)}}.dump(-1, ' ', false, J::error_handler_t::replace));
}

Response ApiService::dashboard(Request& r) {
  if (!r.query.empty() && !(r.query.size() == 1 && r.query.count("token"))) return error(400, "no parameters expected");
  int64_t now = now_ms();
  J rates = hooks_.rates ? hooks_.rates() : J{{"alerts_per_min", 0}, {"incidents_per_min", 0}, {"events_per_s", 0}};
  J threats = J::array();
  for (auto& k : st_.top(store::Dim::kSignature, now - 86400000, now, 5)) threats.push_back({{"key", k.key}, {"count", k.count}});
  J by_sev = J::object();
  uint64_t total = 0;
  for (auto& k : st_.top(store::Dim::kSeverity, 0, now + 365 * 86400000LL, 10)) by_sev[k.key] = k.count, total += k.count;
  J by_level = J::object();
  uint64_t open = 0;
  for (auto& [lvl, n] : st_.open_incidents_by_level()) by_level[lvl] = n, open += n;
  store::StoreStats s = st_.stats();
  J sys = {{"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start_).count()},
           {"store_rows", s.alerts + s.updates + s.flows},
           {"store_bytes", s.bytes},
           {"dropped", s.dropped},
           {"queued", s.queued},
           {"dataplane", hooks_.dataplane ? hooks_.dataplane() : "detached"}};
  return json_response(200, J{{"rates", rates},
                              {"top_threats", threats},
                              {"alerts", {{"total", total}, {"by_severity", by_sev}}},
                              {"incidents", {{"open", open}, {"by_level", by_level}}},
                              {"system", sys}}.dump(-1, ' ', false, J::error_handler_t::replace));
}

Response ApiService::search(Request& r) {
  std::string err;
  if (!only(r, {"q", "limit"}, err)) return error(400, err);
  std::string q = q_or(r, "q", "");
  if (q.empty()) return error(400, "q: required");
  if (q.size() > 200) return error(400, "q: at most 200 characters");
  uint64_t limit = 20;
  if (r.query.count("limit") && (!parse_u64(r.query["limit"], limit) || limit < 1 || limit > 200))
    return error(400, "limit: expected 1..200");
  store::AlertQuery aq;
  aq.q = q;
  aq.limit = size_t(limit);
  aq.q_scan_rows = opt_.q_scan_rows;
  store::IncidentQuery iq;
  iq.q = q;
  iq.limit = size_t(limit);
  iq.q_scan_rows = opt_.q_scan_rows;
  std::vector<store::AlertRow> al;
  std::vector<store::IncidentRow> in;
  store::ListStop stop, istop;  // a term the index cannot narrow: bounded scans of the alerts and the incidents
  if (!st_.list_alerts(aq, al, err, &stop) || !st_.list_incidents(iq, in, err, &istop)) return error(500, "store: " + err);
  J a = J::array(), i = J::array();
  for (auto& x : al) a.push_back(alert_json(x));
  for (auto& x : in) i.push_back(incident_json(x));
  J out{{"alerts", a}, {"incidents", i}};
  if (stop.cut) out["alerts_partial"] = {{"scanned", stop.scanned}};
  if (istop.cut) out["incidents_partial"] = {{"scanned", istop.scanned}};
  return json_response(200, out.dump(-1, ' ', false, J::error_handler_t::replace));
}

}  // namespace spectre::api
