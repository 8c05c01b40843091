// Cortex's Reflex response: entity risk, the playbook and the automatic
// actions of an incident, decided when a record is written (opened, level
// changed), not per member detection.
#include <chrono>

#include <fmt/format.h>

#include "ctrlplane/cortex/cortex.h"

namespace spectre::cortex {

void Cortex::on_record(Incident& inc, const char* event, const char* reason) {
  std::string_view ev = event;
  add_entity_risk(inc);
  if (ev == "opened" || ev == "level_changed") respond(inc, event);
  if (ev == "closed" && responder_ && responder_->has_done()) collect_actions();
  if (!sink_) return;
  format_to(rec_, inc, event, reason);
  sink_(std::string_view(rec_.data(), rec_.size()));
}

// The rise of the incident's score since its last contribution goes to its entity.
void Cortex::add_entity_risk(Incident& inc) {
  const Val& ent = inc.by == IncidentBy::kVictim ? inc.victim : inc.attacker;
  double rise = inc.risk.score - inc.risk_given;
  if (rise > 0) {
    inc.entity_risk = erisk_->add(ent, rise, inc.last_seen, inc.risk_given == 0);
    inc.risk_given = inc.risk.score;
  } else {
    inc.entity_risk = erisk_->value(ent, inc.last_seen);
  }
  inc.entity_incidents = erisk_->incidents(ent);
}

void Cortex::respond(Incident& inc, const char* event) {
  inc.playbook = playbooks_.match(inc, inc.entity_risk);
  if (!inc.playbook) return;
  const Playbook& p = *inc.playbook;
  auto record = [&](const char* action, std::string target, std::string result) {
    if (inc.actions.size() >= Incident::kMaxActions) return false;
    inc.actions.push_back({wall_ns(), action, std::move(target), std::move(result)});
    return true;
  };
  for (AutoAction a : p.automatic) {
    uint8_t bit = uint8_t(1u << uint8_t(a));
    if (inc.auto_done & bit) continue;  // once per incident
    inc.auto_done |= bit;
    const char* name = auto_action_name(a);
    bool web = a == AutoAction::kWebhook;
    if (!responder_) {
      actions_refused_++;
      record(name, web ? "soar" : "attackers", "not run: automatic actions are off (incidents.response.enabled)");
      continue;
    }
    const ResponseConfig& rc = responder_->config();
    if (web ? rc.webhook.empty() : rc.block_command.empty()) {
      record(name, "", web ? "not run: no incidents.response.webhook" : "not run: no incidents.response.block_command");
      continue;
    }
    std::vector<std::string> targets;
    if (web) targets.push_back(rc.webhook);
    for (size_t k = 0; !web && k < inc.attackers.size() && targets.size() < rc.max_targets; k++) {
      std::string addr = val_addr_str(inc.attackers[k]);
      if (const Asset* x = assets_.find(inc.attackers[k])) {  // never block our own assets automatically
        record(name, addr, "not run: known asset " + x->name);
        continue;
      }
      auto [it, fresh] = blocked_.try_emplace(inc.attackers[k], inc.id);
      if (!fresh) {
        record(name, addr, fmt::format("not run: already blocked for incident {}", it->second));
        continue;
      }
      if (blocked_.size() > (1u << 16)) blocked_.erase(it);  // bounded; a repeat is then blocked again
      targets.push_back(addr);
    }
    for (auto& t : targets) {
      uint32_t slot = uint32_t(inc.actions.size());
      if (!record(name, t, "pending")) break;
      Responder::Job j{inc.id, slot, a, t, web ? format(inc, event, "") : std::string(), p.name};
      if (!responder_->submit(std::move(j))) inc.actions[slot].result = "failed: action queue full (dropped)";
    }
  }
}

void Cortex::collect_actions() {
  if (!responder_) return;
  for (auto& d : responder_->take()) {
    Incident* inc = inc_->find(d.incident);  // a closed incident: the audit file has it
    if (inc && d.slot < inc->actions.size()) inc->actions[d.slot] = std::move(d.rec);
  }
}

bool Cortex::set_status(uint64_t id, const std::string& status) {
  if (!valid_status(status)) return false;
  collect_actions();
  return inc_->set_status(id, status);
}

}  // namespace spectre::cortex
