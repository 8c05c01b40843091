#include "ctrlplane/cortex/cortex.h"

#include <cmath>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "dataplane/core/yaml_reader.h"

namespace spectre::cortex {

struct Embedded { const char* name; std::string_view text; };
extern const Embedded kEmbedded[];

std::string_view embedded(std::string_view name) {
  for (const Embedded* e = kEmbedded; e->name; e++)
    if (name == e->name) return e->text;
  return {};
}

namespace {

bool read_file(const std::string& path, std::string& out, std::string& err) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    err = fmt::format("{}: cannot open", path);
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

// A shipped file, or the named one. `shown` names it in errors.
bool text_of(const std::string& path, const char* builtin, std::string& text, std::string& shown, std::string& err) {
  if (path.empty()) {
    text = std::string(embedded(builtin));
    shown = fmt::format("(built-in) ctrlplane/cortex/{}", builtin);
    return true;
  }
  shown = path;
  return read_file(path, text, err);
}

bool parse_span(YamlReader& L, const YAML::Node& n, uint64_t& ns) {
  std::string s;
  if (!L.str(n, s) || s.size() < 2) return L.fail(n, "expected a duration such as 30m, 1h");
  uint64_t mul = s.back() == 's' ? 1 : s.back() == 'm' ? 60 : s.back() == 'h' ? 3600 : s.back() == 'd' ? 86400 : 0;
  char* end = nullptr;
  uint64_t v = strtoull(s.c_str(), &end, 10);
  if (!mul || end != s.c_str() + s.size() - 1 || !v) return L.fail(n, "expected a duration such as 30m, 1h");
  ns = v * mul * 1000000000ull;
  return true;
}

// incidents.response: the automatic actions (off unless enabled: true).
template <typename Rel>
bool parse_response(YamlReader& L, const YAML::Node& n, Rel&& rel, ResponseConfig& r) {
  return L.each(n, "incidents.response", [&](const std::string& k, const YAML::Node& v) {
    if (k == "enabled") return L.boolean(v, r.enabled);
    if (k == "webhook") return L.str(v, r.webhook);
    if (k == "webhook_secret") return L.str(v, r.webhook_secret);
    if (k == "block_command") {
      r.block_command.clear();
      if (!v.IsSequence()) return L.fail(v, "block_command: expected a list (program and arguments; no shell)");
      return L.strs(v, r.block_command) && (!r.block_command.empty() || L.fail(v, "block_command: empty"));
    }
    if (k == "timeout") {
      uint64_t ns = 0;
      if (!parse_span(L, v, ns)) return false;
      if (ns > 600ull * 1000000000) return L.fail(v, "timeout: at most 10m");
      r.timeout_ms = uint32_t(ns / 1000000);
      return true;
    }
    if (k == "audit") return L.str(v, r.audit_file) && (r.audit_file = rel(r.audit_file), true);
    if (k == "max_targets") return L.u32(v, r.max_targets, 1, 256);
    if (k == "queue") return L.u32(v, r.queue_max, 1, 65536);
    return false;
  });
}

}  // namespace

bool parse_config(const YAML::Node& n, const std::string& path, const std::string& dir, Config& c, std::string& err) {
  YamlReader L{path, err};
  auto rel = [&](std::string p) { return p.empty() || p[0] == '/' || dir.empty() ? p : dir + "/" + p; };
  c.configured = true;
  return L.each(n, "incidents", [&](const std::string& k, const YAML::Node& v) {
    if (k == "enabled") return L.boolean(v, c.enabled);
    if (k == "rules") {
      c.rule_files.clear();
      if (!L.strs(v, c.rule_files)) return false;
      for (auto& f : c.rule_files) f = rel(f);
      return true;
    }
    if (k == "mapping") return L.str(v, c.mapping_file) && (c.mapping_file = rel(c.mapping_file), true);
    if (k == "assets") return L.str(v, c.assets_file) && (c.assets_file = rel(c.assets_file), true);
    if (k == "attack_table") return L.str(v, c.attack_table) && (c.attack_table = rel(c.attack_table), true);
    if (k == "max_groups") return L.u32(v, c.max_groups, 16, 1u << 24);
    if (k == "max_open") return L.u32(v, c.limits.max_open, 1, 1u << 20);
    if (k == "max_members") return L.u32(v, c.limits.max_members, 1, 4096);
    if (k == "close_idle") return parse_span(L, v, c.limits.close_idle_ns);
    if (k == "weights")
      return L.each(v, "incidents.weights", [&](const std::string& wk, const YAML::Node& wv) {
        double* w = wk == "signatures" ? &c.reflex.w_signature : wk == "anomaly" ? &c.reflex.w_anomaly
                    : wk == "correlation" ? &c.reflex.w_correlation : wk == "context" ? &c.reflex.w_context : nullptr;
        return w && L.num(wv, *w, 0, 1);
      });
    if (k == "playbooks") return L.str(v, c.playbook_file) && (c.playbook_file = c.playbook_file == "none" ? c.playbook_file : rel(c.playbook_file), true);
    if (k == "response") return parse_response(L, v, rel, c.response);
    if (k == "entity_risk")
      return L.each(v, "incidents.entity_risk", [&](const std::string& ek, const YAML::Node& ev) {
        if (ek == "half_life") return parse_span(L, ev, c.entity_risk.half_life_ns);
        if (ek == "window") return parse_span(L, ev, c.entity_risk.window_ns);
        if (ek == "threshold") return L.num(ev, c.entity_risk.threshold, 0, 1e9);
        if (ek == "max_entities") return L.u32(ev, c.entity_risk.max_entities, 16, 1u << 24);
        if (ek == "history_points") return L.num(ev, c.reflex.history_points, 0, 100);
        return false;
      });
    if (k == "levels")
      return L.each(v, "incidents.levels", [&](const std::string& lk, const YAML::Node& lv) {
        double* t = lk == "low" ? &c.reflex.t_low : lk == "medium" ? &c.reflex.t_medium
                    : lk == "high" ? &c.reflex.t_high : lk == "critical" ? &c.reflex.t_critical : nullptr;
        return t && L.num(lv, *t, 0, 100);
      });
    return false;
  });
}

std::unique_ptr<Cortex> Cortex::create(const Config& c, std::string& err) {
  std::unique_ptr<Cortex> x(new Cortex);
  x->cfg_ = c;
  std::string text, shown;
  if (!text_of(c.attack_table, "attack/enterprise.tsv", text, shown, err) || !x->table_.load(text, shown, err))
    return nullptr;
  x->mapper_ = std::make_unique<Mapper>(x->table_);
  if (!text_of(c.mapping_file, "tables/mapping.yaml", text, shown, err) || !x->mapper_->load(text, shown, err))
    return nullptr;
  x->mapper_->load_classification(embedded("classification.config"));
  std::vector<std::string> files = c.rule_files;
  if (files.empty()) files.push_back("");
  for (auto& f : files)
    if (!text_of(f, "rules/default.yaml", text, shown, err) || !x->rules_.add(text, shown, x->table_, err))
      return nullptr;
  if (!x->rules_.finish(err)) return nullptr;
  if (x->rules_.correlations.size() > 64) {
    err = "more than 64 correlation rules";
    return nullptr;
  }
  if (!c.assets_file.empty() &&
      (!read_file(c.assets_file, text, err) || !x->assets_.load(text, c.assets_file, err)))
    return nullptr;
  if (c.playbook_file != "none" &&
      (!text_of(c.playbook_file, "playbooks/default.yaml", text, shown, err) ||
       !x->playbooks_.load(text, shown, x->table_, err)))
    return nullptr;
  x->erisk_ = std::make_unique<EntityRisk>(c.entity_risk);
  if (c.response.enabled) {
    x->responder_ = std::make_unique<Responder>(c.response);
    if (!x->responder_->start(err)) return nullptr;
  }
  x->corr_ = std::make_unique<Correlator>(x->rules_, x->table_, c.max_groups);
  ReflexConfig rc = c.reflex;
  rc.history_full = c.entity_risk.threshold;  // the full history points at a "notable" entity
  x->inc_ = std::make_unique<Incidents>(x->rules_, x->table_, c.limits, rc, &x->assets_, x->erisk_.get());
  x->corr_->set_on_match([p = x.get()](const Match& m) { p->inc_->on_match(m); });
  x->inc_->set_emit([p = x.get()](Incident& i, const char* ev, const char* why) { p->on_record(i, ev, why); });
  return x;
}

void Cortex::ingest(Detection& d) {
  if (d.kind == Kind::kFlow) {
    flows_++;
    d.tactic = 0;
    d.technique = 0;
  } else {
    detections_++;
    if (assets_.allow(d)) return;  // a known periodic job: silenced, counted per entry
    mapper_->map(d);
  }
  now_ = std::max(now_, d.ts_ns);
  inc_->on_detection(d);
  if (d.kind != Kind::kFlow || rules_.uses_flows) corr_->process(d);
  inc_->advance(now_);
  if (responder_ && responder_->has_done()) collect_actions();
}

void Cortex::advance_clock(uint64_t t) {
  now_ = std::max(now_, t);
  inc_->advance(now_);
  if (responder_ && responder_->has_done()) collect_actions();
}

void Cortex::finish() {
  if (responder_) {  // bounded: each action is bounded by the timeout
    responder_->drain(uint32_t(std::min<uint64_t>(60000, 2ull * cfg_.response.timeout_ms + 1000)));
    collect_actions();
  }
  inc_->close_all("end_of_input");
}

std::string Cortex::report() const {
  const auto& cc = corr_->ctr;
  const auto& ic = inc_->ctr;
  std::string s = fmt::format(
      "  incidents: {} detections ({} mapped to ATT&CK {}, {} unmapped), {} flows; {} correlation matches; "
      "incidents {} opened, {} closed, {} evicted, {} level changes, {} campaigns; groups {} in use of {}, {} evicted, "
      "{} expired ({} B each), {} match members past the member ring; incident at most {} B\n",
      detections_, mapper_->mapped, table_.version, mapper_->unmapped_total, flows_, cc.matches, ic.opened, ic.closed,
      ic.evicted, ic.level_changes, ic.campaigns, corr_->groups_in_use(), cfg_.max_groups, cc.groups_evicted,
      cc.groups_expired, Correlator::group_bytes(), cc.members_lost, inc_->bytes_bound());
  if (!cfg_.assets_file.empty())
    s += fmt::format("    assets: {} entries, {} allow entries from {}; {} detections silenced by the allow-list\n",
                     assets_.assets.size(), assets_.allowed.size(), cfg_.assets_file, assets_.silenced);
  for (auto& e : assets_.allowed)
    if (e.hits) s += fmt::format("    allowed {} x{}\n", e.name, e.hits);
  for (auto& [k, u] : mapper_->unmapped)
    s += fmt::format("    unmapped {}:{} x{}: {} ({})\n", k.first, k.second, u.count, u.msg, u.reason);
  return s;
}

}  // namespace spectre::cortex
