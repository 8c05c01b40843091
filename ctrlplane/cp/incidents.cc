#include "ctrlplane/cp/incidents.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ctrlplane/cortex/eve_input.h"
#include "ctrlplane/export/siem_format.h"

namespace spectre::cp {

namespace {
using J = nlohmann::json;

int cef_sev(std::string_view l) {
  return l == "critical" ? 10 : l == "high" ? 8 : l == "medium" ? 5 : l == "low" ? 3 : 1;
}
std::string join(const J& a, const char* key = nullptr) {
  std::string s;
  if (!a.is_array()) return s;
  for (auto& e : a) {
    const J& v = key ? e.value(key, J()) : e;
    if (v.is_string()) s += (s.empty() ? "" : ",") + v.get<std::string>();
  }
  return s;
}
uint64_t ts_ms(const J& i) {
  uint64_t ns = 0;
  cortex::parse_eve_time(i.value("last_seen", ""), ns);
  return ns / 1000000;
}
bool parse_rec(std::string_view line, J& i) {
  J j = J::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.contains("incident")) return false;
  i = std::move(j["incident"]);
  return true;
}
}  // namespace

int incident_syslog_severity(std::string_view l) {
  return l == "critical" ? 2 : l == "high" ? 3 : l == "medium" ? 4 : l == "low" ? 5 : 6;
}

std::string incident_cef(std::string_view line, std::string_view version) {
  J i;
  if (!parse_rec(line, i)) return {};
  std::string lvl = i["risk"].value("level", "info"), out = "CEF:0|InfraSpectre|spectre|";
  exporter::cef_escape_header(out, version);
  out += "|incident:" + i.value("event", "") + "|";
  exporter::cef_escape_header(out, i["explanation"].value("summary", ""));
  std::string atk = join(i["entities"]["attackers"]), vic = join(i["entities"]["victims"]);
  std::string a1 = atk.substr(0, atk.find(',')), v1 = vic.substr(0, vic.find(','));
  out += fmt::format("|{}|rt={} {}={} {}={} ", cef_sev(lvl), ts_ms(i), a1.find(':') != std::string::npos ? "c6a2" : "src",
                     a1, v1.find(':') != std::string::npos ? "c6a3" : "dst", v1);
  auto kv = [&](const char* k, const std::string& v) {
    out += k;
    out += '=';
    exporter::cef_escape_value(out, v);
    out += ' ';
  };
  kv("cs1Label", "incidentId");
  kv("cs1", std::to_string(i.value("incident_id", 0ull)));
  kv("cs2Label", "status");
  kv("cs2", i.value("status", ""));
  kv("cs3Label", "level");
  kv("cs3", lvl);
  kv("cs4Label", "tactics");
  kv("cs4", join(i["mitre"]["tactics"], "id"));
  kv("cs5Label", "campaignId");
  kv("cs5", std::to_string(i.value("campaign_id", 0ull)));
  kv("cs6Label", "playbook");
  kv("cs6", i["response"].is_object() ? i["response"].value("playbook", "") : "");
  kv("cfp1Label", "riskScore");
  out += fmt::format("cfp1={}", i["risk"].value("score", 0.0));
  return out;
}

std::string incident_leef(std::string_view line, std::string_view version) {
  J i;
  if (!parse_rec(line, i)) return {};
  std::string lvl = i["risk"].value("level", "info"), out = "LEEF:2.0|InfraSpectre|spectre|";
  exporter::leef_escape_header(out, version);
  out += "|incident:" + i.value("event", "") + "|x09|";
  std::string atk = join(i["entities"]["attackers"]), vic = join(i["entities"]["victims"]);
  auto kv = [&](const char* k, const std::string& v, bool first = false) {
    if (!first) out += '\t';
    out += k;
    out += '=';
    exporter::leef_escape_value(out, v);
  };
  kv("devTime", std::to_string(ts_ms(i)), true);
  kv("devTimeFormat", "epoch ms");  // as the alerts' LEEF
  kv("src", atk.substr(0, atk.find(',')));
  kv("dst", vic.substr(0, vic.find(',')));
  kv("sev", std::to_string(cef_sev(lvl)));
  kv("incidentId", std::to_string(i.value("incident_id", 0ull)));
  kv("status", i.value("status", ""));
  kv("level", lvl);
  kv("riskScore", fmt::format("{}", i["risk"].value("score", 0.0)));
  kv("tactics", join(i["mitre"]["tactics"], "id"));
  kv("campaignId", std::to_string(i.value("campaign_id", 0ull)));
  kv("attackers", atk);
  kv("victims", vic);
  kv("summary", i["explanation"].value("summary", ""));
  return out;
}

std::unique_ptr<LiveIncidents> LiveIncidents::create(cortex::Config c, IncidentOutputs out, std::string& err) {
  c.response.post = [](const std::string& url, const std::string& secret, uint32_t timeout_ms, const std::string& body,
                       std::string* e) {
    exporter::WebhookOptions o;
    o.url = url;
    o.secret = secret;
    o.timeout_ms = timeout_ms;
    o.connect_timeout_ms = std::min<uint32_t>(timeout_ms, 3000);
    return exporter::WebhookSink::post_once(o, body, e);
  };
  std::unique_ptr<LiveIncidents> l(new LiveIncidents);
  l->out_ = out;
  l->cx_ = cortex::Cortex::create(c, err);
  if (!l->cx_) return nullptr;
  l->cx_->set_sink([p = l.get()](std::string_view line) { p->on_record(line); });
  return l;
}

void LiveIncidents::on_eve(std::string_view line) {
  std::lock_guard g(mu_);
  lines_++;
  std::string err;
  switch (cortex::detection_from_eve(line, ed_, err)) {
    case cortex::EveParse::kBad: bad_++; return;
    case cortex::EveParse::kSkip: return;
    case cortex::EveParse::kFlow:
      if (!cx_->wants_flows()) return;
      [[fallthrough]];
    case cortex::EveParse::kDetection:
      by_kind_[uint8_t(ed_.d.kind)]++;
      cx_->ingest(ed_.d);
      last_wall_ = cortex::wall_ns();
      clock_at_last_ = cx_->clock();
  }
}

void LiveIncidents::tick(uint64_t wall) {
  std::lock_guard g(mu_);
  if (!last_wall_ || wall < last_wall_ + 1000000000ull) return;
  // The clock as of the last line plus the quiet wall time since (Cortex keeps the larger).
  cx_->advance_clock(clock_at_last_ + (wall - last_wall_));
}

void LiveIncidents::finish() {
  std::lock_guard g(mu_);
  cx_->finish();
}

// Keeps at most out_.keep records: the oldest closed goes first, else the oldest; never `keep_id`.
void LiveIncidents::trim(uint64_t keep_id) {
  while (recs_.size() > out_.keep) {
    auto victim = recs_.end();
    for (auto it = recs_.begin(); it != recs_.end(); ++it) {
      if (it->first == keep_id) continue;
      if (victim == recs_.end()) victim = it;
      if (!it->second.open) { victim = it; break; }
    }
    if (victim == recs_.end()) return;
    recs_.erase(victim);
  }
}

// Called with mu_ held (from inside the Cortex).
void LiveIncidents::on_record(std::string_view line) {
  J i;
  if (!parse_rec(line, i)) return;
  uint64_t id = i.value("incident_id", 0ull);
  Rec& r = recs_[id];
  r.line = std::string(line);
  r.event = i.value("event", "");
  r.status = i.value("status", "");
  r.level = i["risk"].value("level", "info");
  r.score = i["risk"].value("score", 0.0);
  r.summary = i["explanation"].value("summary", "");
  r.first_seen = i.value("first_seen", "");
  r.last_seen = i.value("last_seen", "");
  r.attackers = join(i["entities"]["attackers"]);
  r.victims = join(i["entities"]["victims"]);
  r.open = r.event != "closed";
  trim(id);  // may not erase `r`
  if (out_.eve) out_.eve->write_line(line);
  if (out_.record_tap) out_.record_tap(line);
  int lvl = 0;
  for (int k = 0; k < 5; k++)
    if (r.level == cortex::risk_level_name(cortex::RiskLevel(k))) lvl = k;
  if (lvl < int(out_.min_level)) return;
  exported_++;
  uint64_t ts = 0;
  cortex::parse_eve_time(r.last_seen, ts);
  if (out_.syslog) {  // the format and the SIEM min_level of the moment (PUT /siem may change them)
    out_.syslog->send_leveled(lvl, ts, incident_syslog_severity(r.level), "incident",
                              [&](exporter::SyslogFormat f, std::string_view v) {
                                return f == exporter::SyslogFormat::kCef    ? incident_cef(line, v)
                                       : f == exporter::SyslogFormat::kLeef ? incident_leef(line, v)
                                                                            : std::string(line);
                              });
  }
  if (out_.webhook) out_.webhook->post(std::string(line));
}

Reply LiveIncidents::list(const Request& q) {
  std::lock_guard g(mu_);
  J arr = J::array();
  std::string text = fmt::format("{:>5}  {:<14} {:<8} {:>5}  {:<6} {:<26} {}\n", "ID", "STATUS", "LEVEL", "SCORE",
                                 "STATE", "LAST SEEN", "ATTACKERS -> VICTIMS: SUMMARY");
  size_t n = q.n > 0 ? size_t(q.n) : 100, shown = 0;
  for (auto it = recs_.rbegin(); it != recs_.rend() && shown < n; ++it) {
    const Rec& r = it->second;
    if (!r.open && !q.all) continue;
    shown++;
    arr.push_back({{"incident_id", it->first}, {"status", r.status}, {"level", r.level}, {"score", r.score},
                   {"open", r.open}, {"first_seen", r.first_seen}, {"last_seen", r.last_seen},
                   {"attackers", r.attackers}, {"victims", r.victims}, {"summary", r.summary}});
    text += fmt::format("{:>5}  {:<14} {:<8} {:>5.1f}  {:<6} {:<26} {} -> {}: {}\n", it->first, r.status, r.level,
                        r.score, r.open ? "open" : "closed", r.last_seen, r.attackers, r.victims, r.summary);
  }
  if (!shown) text = q.all ? "no incidents\n" : "no open incidents (--all lists closed ones too)\n";
  Reply rep;
  rep.result = J{{"incidents", arr}}.dump();
  rep.text = text;
  return rep;
}

Reply LiveIncidents::show(const Request& q) {
  std::lock_guard g(mu_);
  cx_->collect_actions();
  auto it = recs_.find(uint64_t(q.id));
  if (it == recs_.end()) return failure(kExitFailed, fmt::format("no incident {}", q.id));
  const Rec& r = it->second;
  std::string line = r.line;
  if (r.open)  // the current state (actions finished since the last record, members that joined)
    if (const cortex::Incident* inc = cx_->incidents().find_const(uint64_t(q.id)))
      line = cx_->format(*inc, "current", "");
  J i;
  parse_rec(line, i);
  std::string t = fmt::format("incident {}  {}  {} {:.1f} (confidence {})  campaign {}  {}\n", q.id, r.status,
                              r.level, r.score, i["risk"].value("confidence", 0.0), i.value("campaign_id", 0ull),
                              r.open ? "open" : "closed");
  t += fmt::format("  {} .. {}\n  attackers {}  victims {}\n  tactics {}\n  {}\n", r.first_seen, r.last_seen,
                   r.attackers, r.victims, join(i["mitre"]["tactics"], "name"), r.summary);
  for (auto& s : i["explanation"]["steps"]) t += "    - " + s.get<std::string>() + "\n";
  if (i["response"].is_object()) {
    auto& p = i["response"];
    t += "  playbook " + p.value("playbook", "") + ": " + p.value("title", "") + "\n";
    for (auto& a : p["actions"]) t += "    action: " + a.get<std::string>() + "\n";
    t += "    escalation: " + p.value("escalation", "") + "\n";
    for (auto& a : p["investigation"]) t += "    investigate: " + a.get<std::string>() + "\n";
    for (auto& a : p["audit"])
      t += fmt::format("    {} {} {} -> {}\n", a.value("time", ""), a.value("action", ""), a.value("target", ""),
                       a.value("result", ""));
  }
  Reply rep;
  rep.result = i.dump();
  rep.text = t;
  return rep;
}

Reply LiveIncidents::set_status(const Request& q) {
  std::lock_guard g(mu_);
  auto it = recs_.find(uint64_t(q.id));
  if (it == recs_.end()) return failure(kExitFailed, fmt::format("no incident {}", q.id));
  // A raw socket request bypasses spectrectl's check: a bad status must not pass for "closed".
  if (!cortex::valid_status(q.status)) return failure(kExitUsage, fmt::format("bad status '{}'", q.status));
  if (!cx_->set_status(uint64_t(q.id), q.status)) {
    // Closed: the verdict is recorded on the kept record and written to EVE.
    J j = J::parse(it->second.line, nullptr, false);
    if (j.is_discarded()) return failure(kExitFailed, "incident record unreadable");
    j["incident"]["status"] = q.status;
    j["incident"]["event"] = "status_changed";
    j["incident"].erase("closed_reason");
    std::string line = j.dump(-1, ' ', false, J::error_handler_t::replace);
    on_record(line);
    recs_[uint64_t(q.id)].open = false;
  }
  Reply rep;
  rep.result = J{{"incident_id", q.id}, {"status", q.status}}.dump();
  rep.text = fmt::format("incident {}: status {}\n", q.id, q.status);
  return rep;
}

void LiveIncidents::fill_metrics(exporter::MetricsSnapshot& s) {
  std::lock_guard g(mu_);
  uint64_t open[5] = {};
  cx_->incidents().each_open([&](const cortex::Incident& inc) { open[uint8_t(inc.risk.level) % 5]++; });
  for (int k = 0; k < 5; k++)
    s.extra.push_back({"spectre_incidents_open", "Open incidents by risk level.", "gauge",
                       {{"level", cortex::risk_level_name(cortex::RiskLevel(k))}}, double(open[k])});
  for (int k = 0; k < int(cortex::Kind::kKindEnd); k++)
    if (k != int(cortex::Kind::kCorrelation))
      s.extra.push_back({"spectre_detections_total", "Detections (and flow records) ingested by Cortex, by kind.",
                         "counter", {{"kind", cortex::kind_name(cortex::Kind(k))}}, double(by_kind_[k])});
  const auto& c = cx_->incidents().ctr;
  s.extra.push_back({"spectre_incidents_opened_total", "Incidents opened.", "counter", {}, double(c.opened)});
  s.extra.push_back({"spectre_incidents_closed_total", "Incidents closed.", "counter", {}, double(c.closed)});
  s.extra.push_back({"spectre_correlation_matches_total", "Correlation rule matches.", "counter", {},
                     double(cx_->correlator().ctr.matches)});
  s.extra.push_back({"spectre_incident_lines_bad_total", "EVE lines Cortex could not read.", "counter", {}, double(bad_)});
}

std::string LiveIncidents::report() {
  std::lock_guard g(mu_);
  return cx_->report();
}

}  // namespace spectre::cp
