// GET /api/v1/alerts/{id}/explain (see explain.h).
#include "ctrlplane/api/explain.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

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

// The number of option `key` ("sid", "gid") of a rule: after '(' or ';', spaces allowed.
uint32_t option_number(const std::string& rule, const char* key) {
  const size_t kl = std::strlen(key);
  for (size_t p = rule.find(key); p != std::string::npos; p = rule.find(key, p + 1)) {
    size_t b = p;
    while (b > 0 && (rule[b - 1] == ' ' || rule[b - 1] == '\t')) b--;
    if (b == 0 || (rule[b - 1] != ';' && rule[b - 1] != '(')) continue;
    size_t e = p + kl;
    while (e < rule.size() && rule[e] == ' ') e++;
    if (e >= rule.size() || rule[e] != ':') continue;
    e++;
    while (e < rule.size() && rule[e] == ' ') e++;
    uint64_t v = 0;
    size_t d = e;
    while (d < rule.size() && rule[d] >= '0' && rule[d] <= '9' && v < (1ull << 32)) v = v * 10 + uint64_t(rule[d++] - '0');
    return d > e && v < (1ull << 32) ? uint32_t(v) : 0;
  }
  return 0;
}

// The rule files of the configured paths (a directory: its *.rules, sorted).
std::vector<std::string> rule_files(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!std::filesystem::is_directory(p, ec)) {
      out.push_back(p);
      continue;
    }
    std::vector<std::string> dir;
    for (const auto& e : std::filesystem::directory_iterator(p, ec))
      if (e.path().extension() == ".rules") dir.push_back(e.path().string());
    std::sort(dir.begin(), dir.end());
    out.insert(out.end(), dir.begin(), dir.end());
  }
  return out;
}

}  // namespace

void RuleTexts::parse(const std::string& text, Map& out) {
  std::istringstream in(text);
  std::string line, rule;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && line.back() == '\\') {  // continued on the next line
      rule += line.substr(0, line.size() - 1);
      continue;
    }
    rule += line;
    size_t b = rule.find_first_not_of(" \t");
    if (b != std::string::npos && rule[b] != '#' && rule.find('(') != std::string::npos) {
      const uint32_t sid = option_number(rule, "sid");
      const uint32_t gid = option_number(rule, "gid");
      if (sid) out[{gid ? gid : 1, sid}] = rule.substr(b);
    }
    rule.clear();
  }
}

std::string RuleTexts::stamp() const {
  std::string s;
  for (const auto& f : rule_files(paths_)) {
    struct stat sb {};
    s += f + (::stat(f.c_str(), &sb) == 0 ? ":" + std::to_string(sb.st_size) + ":" + std::to_string(sb.st_mtim.tv_sec) +
                                                "." + std::to_string(sb.st_mtim.tv_nsec)
                                          : ":absent") + "\n";
  }
  return s;
}

std::string RuleTexts::find(uint32_t gid, uint32_t sid, std::string& why) {
  if (paths_.empty()) {
    why = "spectre-cp was given no rule files (--api-rules) and the alert's EVE carries no alert.rule";
    return "";
  }
  std::lock_guard g(mu_);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch()).count();
  if (checked_ms_ < 0 || now - checked_ms_ >= 5000) {
    checked_ms_ = now;
    if (std::string s = stamp(); s != stamp_) {
      stamp_ = s;
      map_.clear();
      for (const auto& f : rule_files(paths_)) {
        std::ifstream in(f, std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        parse(ss.str(), map_);
      }
    }
  }
  auto it = map_.find({gid, sid});
  if (it != map_.end()) return it->second;
  why = "no rule " + std::to_string(gid) + ":" + std::to_string(sid) + " in the " + std::to_string(map_.size()) +
        " rules of the --api-rules files";
  return "";
}

Response explain_alert(store::Store& st, MlPort* port, uint64_t id, RuleTexts* rules) {
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
                 {"category", a->category}, {"text", nullptr}, {"text_source", nullptr},
                 {"metadata", al.contains("metadata") ? al["metadata"] : J(nullptr)}};
  std::string why;
  if (al.contains("rule") && al["rule"].is_string()) {
    out["rule"]["text"] = al["rule"], out["rule"]["text_source"] = "eve";
  } else if (a->gid == 9000 || a->gid == 9100) {
    why = "a model or behaviour alert has no rule text";
  } else if (std::string t = rules ? rules->find(a->gid, a->sid, why) : std::string(); !t.empty()) {
    out["rule"]["text"] = t, out["rule"]["text_source"] = "rule files";
  } else if (!rules) {
    why = "no rule files configured and the alert's EVE carries no alert.rule";
  }
  if (!why.empty()) out["rule"]["text_note"] = why;
  J buffers = J::object();
  for (const char* k : kBuffers)
    if (eve.contains(k)) buffers[k] = eve[k];
  out["buffers"] = buffers;
  out["incident"] = incident_part(st, find_incident(st, *a, eve));
  return json_response(200, out.dump(-1, ' ', false, J::error_handler_t::replace));
}

}  // namespace spectre::api
