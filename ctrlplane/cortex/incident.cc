#include "ctrlplane/cortex/incident.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace spectre::cortex {

namespace {
const char* const kRiskLevels[] = {"info", "low", "medium", "high", "critical"};
double sev_score(uint8_t sev) { return sev <= 1 ? 100 : sev == 2 ? 75 : sev == 3 ? 50 : 25; }
double level_score(Level l) {
  static const double k[] = {20, 40, 60, 80, 100};
  return k[uint8_t(l) % 5];
}
template <typename T>
bool has(const std::vector<T>& v, const T& x) { return std::find(v.begin(), v.end(), x) != v.end(); }
}  // namespace

bool valid_status(std::string_view s) {
  return s == "new" || s == "investigating" || s == "resolved" || s == "false_positive";
}

const char* risk_level_name(RiskLevel l) { return kRiskLevels[uint8_t(l) % 5]; }

// Symmetric: a pair is the same whichever end plays the attacker in a detection.
Val pair_val(const Val& a, const Val& v) {
  bool lt = a.hi < v.hi || (a.hi == v.hi && a.lo < v.lo);
  const Val& x = lt ? a : v;
  const Val& y = lt ? v : a;
  return Val{x.hi * 0x9e3779b97f4a7c15ull ^ y.hi, x.lo * 0xc2b2ae3d27d4eb4full ^ (y.lo + 0x165667b19e3779f9ull)};
}

Incidents::Incidents(const RuleSet& rs, const AttackTable& t, IncidentLimits lim, ReflexConfig rc,
                     const AssetSet* assets, const EntityRisk* erisk)
    : rs_(rs), t_(t), lim_(lim), rc_(rc), assets_(assets), erisk_(erisk), by_attacker_(lim.max_open),
      by_victim_(lim.max_open), by_pair_(lim.max_open) {}

void EntityIndex::resize(size_t max_entries) {
  std::vector<Slot> old = std::move(slots_);
  size_t n = 16;
  while (n < 2 * max_entries) n <<= 1;
  slots_.assign(n, Slot{});
  mask_ = n - 1;
  n_ = 0;
  for (const Slot& x : old)
    if (x.inc) set(x.key, x.inc);
}

void EntityIndex::set(const Val& k, Incident* inc) {
  if (2 * (n_ + 1) > slots_.size()) resize(slots_.size());  // not with max_open respected: one per open incident
  size_t p = home(k);
  while (slots_[p].inc && slots_[p].key != k) p = (p + 1) & mask_;
  if (!slots_[p].inc) n_++;
  slots_[p] = Slot{k, inc};
}

void EntityIndex::erase(const Val& k, const Incident* inc) {
  size_t p = home(k);
  while (slots_[p].inc && slots_[p].key != k) p = (p + 1) & mask_;
  if (!slots_[p].inc || slots_[p].inc != inc) return;
  slots_[p] = Slot{};
  n_--;
  for (size_t j = (p + 1) & mask_; slots_[j].inc; j = (j + 1) & mask_) {  // backward shift
    size_t h = home(slots_[j].key);
    if (p <= j ? (h <= p || h > j) : (h <= p && h > j)) {
      slots_[p] = slots_[j];
      slots_[j] = Slot{};
      p = j;
    }
  }
}

Incident* Incidents::lookup(IncidentBy by, const Val& a, const Val& v) {
  auto& m = by == IncidentBy::kAttacker ? by_attacker_ : by == IncidentBy::kVictim ? by_victim_ : by_pair_;
  return m.find(by == IncidentBy::kAttacker ? a : by == IncidentBy::kVictim ? v : pair_val(a, v));  // entries go at close
}

void Incidents::add_member(Incident& inc, const Member& m, const Detection* d, bool dedupe) {
  // A detection reaches an incident through a match and through its entity: count it once.
  if (dedupe)  // members are in time order: only those of the same time can be it
    for (auto x = std::lower_bound(inc.members.begin(), inc.members.end(), m.ts,
                                   [](const Member& e, uint64_t ts) { return e.ts < ts; });
         x != inc.members.end() && x->ts == m.ts; ++x)
      if (x->sid == m.sid && x->gid == m.gid && x->kind == m.kind && x->attacker == m.attacker) return;
  inc.members_total++;
  if (m.kind != Kind::kFlow && uint8_t(m.kind) < kDetectionKinds) inc.counts[uint8_t(m.kind)]++;
  inc.first_seen = inc.first_seen ? std::min(inc.first_seen, m.ts) : m.ts;
  inc.last_seen = std::max(inc.last_seen, m.ts);
  if (inc.members.size() < lim_.max_members) {
    auto pos = std::upper_bound(inc.members.begin(), inc.members.end(), m.ts,
                                [](uint64_t ts, const Member& x) { return ts < x.ts; });
    inc.members.insert(pos, m);
  } else {
    ctr.member_overflow++;
  }
  auto note = [&](auto& list, auto id) {  // (id, first seen), kept in time order
    if (!id) return;
    for (auto& e : list)
      if (e.first == id) {
        if (m.ts >= e.second) return;
        e.second = m.ts;  // seen earlier than thought (late arrival)
        std::stable_sort(list.begin(), list.end(), [](auto& x, auto& y) { return x.second < y.second; });
        return;
      }
    if (list.size() >= lim_.max_list) return;
    list.push_back({id, m.ts});
    std::stable_sort(list.begin(), list.end(), [](auto& x, auto& y) { return x.second < y.second; });
  };
  note(inc.tactics, m.tactic);
  note(inc.techniques, m.technique);
  if (m.kind == Kind::kSignature && inc.sids.size() < lim_.max_list && !has(inc.sids, std::make_pair(m.gid, m.sid)))
    inc.sids.push_back({m.gid, m.sid});
  if (m.kind == Kind::kFlow) {  // context (a long session, an upload): no roles, no stage
    inc.flows++;
    return;
  }
  bool new_att = inc.attackers.size() < lim_.max_list && !has(inc.attackers, m.attacker);
  bool new_vic = inc.victims.size() < lim_.max_list && !has(inc.victims, m.victim);
  if (new_att) inc.attackers.push_back(m.attacker);
  if (new_vic) inc.victims.push_back(m.victim);
  add_context(inc, m, d, new_att, new_vic);
  uint8_t k = uint8_t(m.kind);
  if (m.kind == Kind::kSignature) inc.max_sig = std::max(inc.max_sig, sev_score(m.severity));
  if (m.kind == Kind::kBehaviour) inc.max_anomaly = std::max(inc.max_anomaly, sev_score(m.severity));
  if (d && d->kind == Kind::kMl) inc.max_anomaly = std::max(inc.max_anomaly, 100.0 * d->confidence);
  if (d && k < kDetectionKinds) inc.max_conf[k] = std::max(inc.max_conf[k], double(d->confidence));
  else if (k < kDetectionKinds && !d)  // a member known only from a match: the kind's default confidence
    inc.max_conf[k] = std::max(inc.max_conf[k], m.kind == Kind::kSignature ? (m.severity <= 2 ? 0.7 : 0.5) : 0.6);
  auto& tags = m.kind == Kind::kMl ? inc.ml_classes : inc.behaviours;
  if ((m.kind == Kind::kMl || m.kind == Kind::kBehaviour) && m.tag[0] && tags.size() < 8 &&
      !has(tags, std::string(m.tag)))
    tags.emplace_back(m.tag);
}

// Intel hits and asset facts: asset lookups happen once per entity an incident gains.
void Incidents::add_context(Incident& inc, const Member& m, const Detection* d, bool new_att, bool new_vic) {
  if (assets_) {
    auto note = [&](const Val& a, bool victim) {
      const Asset* x = assets_->find(a);
      if (!x || inc.assets.size() >= lim_.max_list) return;
      for (auto& f : inc.assets)
        if (f.addr == a) return;
      inc.assets.push_back({x, a, victim});
    };
    if (new_vic) note(m.victim, true);
    if (new_att) note(m.attacker, false);
  }
  if (m.kind != Kind::kIntel) return;
  // A member known only from a match carries its message, not the feed's fields.
  std::string ind = d ? std::string(d->evidence.empty() ? d->msg : d->evidence) : std::string(m.msg);
  for (auto& f : inc.intel)
    if (f.indicator == ind) {
      f.hits++;
      f.first_seen = std::min(f.first_seen, m.ts);
      if (d) f.confidence = std::max(f.confidence, double(d->confidence));
      return;
    }
  if (inc.intel.size() >= 8) return;
  inc.intel.push_back({d ? std::string(d->feed) : std::string(), ind, d ? std::string(d->threat) : std::string(m.tag),
                       d ? double(d->confidence) : 0.6, m.ts, 1});
}

void Incidents::on_match(const Match& m) {
  const Correlation& c = *m.rule;
  if (c.incident == IncidentBy::kNone) return;
  Member trig = Member::of(*m.trigger, t_);
  Incident* inc = lookup(c.incident, trig.attacker, trig.victim);
  bool fresh = !inc;
  if (fresh) {
    if (open_.size() >= lim_.max_open) {  // the least recently seen goes
      auto old = std::min_element(open_.begin(), open_.end(),
                                  [](auto& x, auto& y) { return x.second.last_seen < y.second.last_seen; });
      ctr.evicted++;
      close(old->first, "evicted");
    }
    uint64_t id = next_id_++;
    inc = &open_[id];
    inc->id = id;
    inc->by = c.incident;
    inc->attacker = trig.attacker;
    inc->victim = trig.victim;
    if (erisk_) {  // before this incident adds to it: its entity's history
      const Val& ent = c.incident == IncidentBy::kVictim ? trig.victim : trig.attacker;
      inc->prior_risk = erisk_->value(ent, trig.ts);
      inc->prior_incidents = erisk_->incidents(ent);
    }
    // Campaign: the attacker's earlier campaign, else the campaign in which this
    // attacker was a victim (it moved laterally), else a new one.
    auto ca = campaign_of_attacker_.find(trig.attacker);
    auto cv = campaign_of_victim_.find(trig.attacker);
    inc->campaign = ca != campaign_of_attacker_.end() ? ca->second : cv != campaign_of_victim_.end() ? cv->second : id;
    if (inc->campaign == id) ctr.campaigns++;
    if (campaign_of_attacker_.size() < (1u << 20)) campaign_of_attacker_.emplace(trig.attacker, inc->campaign);
    if (campaign_of_victim_.size() < (1u << 20)) campaign_of_victim_.emplace(trig.victim, inc->campaign);
    auto& idx = c.incident == IncidentBy::kAttacker ? by_attacker_ : c.incident == IncidentBy::kVictim ? by_victim_ : by_pair_;
    idx.set(c.incident == IncidentBy::kAttacker ? trig.attacker : c.incident == IncidentBy::kVictim
                                                                     ? trig.victim : pair_val(trig.attacker, trig.victim), inc);
    ctr.opened++;
  }
  for (uint8_t k = 0; k < m.nmembers; k++) {
    const Member& mm = *m.members[k];
    bool trig = mm.ts == m.trigger->ts_ns && mm.sid == m.trigger->sid && mm.kind == m.trigger->kind;
    add_member(*inc, mm, trig ? m.trigger : nullptr, true);
  }
  inc->counts[uint8_t(Kind::kCorrelation)]++;
  bool found = false;
  for (auto& r : inc->rules)
    if (r.first == m.corr) r.second++, found = true;
  if (!found) inc->rules.push_back({m.corr, 1});
  inc->max_rule_level = std::max(inc->max_rule_level, c.level);
  inc->max_conf[uint8_t(Kind::kCorrelation)] = 0.8;
  inc->risk = score(*inc);
  if (fresh) {
    inc->emitted_level = inc->risk.level;
    next_idle_ = std::min(next_idle_, inc->last_seen + lim_.close_idle_ns);
    if (emit_) emit_(*inc, "opened", "");
  } else {
    refresh(*inc);
  }
}

void Incidents::refresh(Incident& inc) {
  ctr.updated++;
  inc.risk = score(inc);
  if (inc.risk.level != inc.emitted_level) {
    inc.emitted_level = inc.risk.level;
    ctr.level_changes++;
    if (emit_) emit_(inc, "level_changed", "");
  }
}

// The incident's lines, then the first line of each list that add_member
// reads (separate heap blocks): asked for together, where add_member met them
// one miss after another (~60% of its samples on the default bench stream).
void Incidents::prefetch(const Incident& inc) {
  const char* p = reinterpret_cast<const char*>(&inc);
  for (size_t o = 0; o < offsetof(Incident, risk); o += 64) __builtin_prefetch(p + o);
  __builtin_prefetch(inc.tactics.data());
  __builtin_prefetch(inc.techniques.data());
  __builtin_prefetch(inc.sids.data());
  __builtin_prefetch(inc.attackers.data());
  __builtin_prefetch(inc.victims.data());
  __builtin_prefetch(inc.behaviours.data());
  __builtin_prefetch(inc.ml_classes.data());
}

void Incidents::on_detection(const Detection& d) {
  if (open_.empty() || d.kind == Kind::kFlow) return;
  // Roles first: most detections join no incident, so the member (~130 bytes) is built only on a hit.
  bool rev = d.attacker_is_dst(t_.outbound(d.tactic));  // as Member::of: an intel hit may fix the side
  Val atk = addr_val(rev ? d.dst : d.src, d.ip_ver), vic = addr_val(rev ? d.src : d.dst, d.ip_ver);
  Incident* seen[3] = {by_attacker_.empty() ? nullptr : lookup(IncidentBy::kAttacker, atk, vic),
                       by_victim_.empty() ? nullptr : lookup(IncidentBy::kVictim, atk, vic),
                       by_pair_.empty() ? nullptr : lookup(IncidentBy::kPair, atk, vic)};
  if (!seen[0] && !seen[1] && !seen[2]) return;
  for (const Incident* x : seen)
    if (x) prefetch(*x);
  Member m = Member::of(d, t_);
  for (int i = 0; i < 3; i++) {
    if (!seen[i] || (i > 0 && seen[i] == seen[0]) || (i > 1 && seen[i] == seen[1])) continue;
    add_member(*seen[i], m, &d, false);
    refresh(*seen[i]);
  }
}

void Incidents::close(uint64_t id, const char* reason) {
  auto it = open_.find(id);
  if (it == open_.end()) return;
  Incident& inc = it->second;
  if (inc.status == "new" || inc.status == "investigating") inc.status = "resolved";  // an operator's verdict stays
  ctr.closed++;
  if (emit_) emit_(inc, "closed", reason);
  auto& idx = inc.by == IncidentBy::kAttacker ? by_attacker_ : inc.by == IncidentBy::kVictim ? by_victim_ : by_pair_;
  idx.erase(inc.by == IncidentBy::kAttacker ? inc.attacker : inc.by == IncidentBy::kVictim
                                                                 ? inc.victim : pair_val(inc.attacker, inc.victim), &inc);
  open_.erase(it);
}

namespace {
// libstdc++ unordered_map: a node is the value, a next pointer and the cached
// hash; one bucket pointer per element at load factor 1.
template <typename V> constexpr size_t node_bytes() { return sizeof(V) + 3 * sizeof(void*); }
size_t str_heap(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }
template <typename T> size_t vec_heap(const std::vector<T>& v) { return v.capacity() * sizeof(T); }
}  // namespace

size_t Incidents::footprint(const Incident& inc) {
  size_t n = node_bytes<std::pair<const uint64_t, Incident>>() + 2 * EntityIndex::kSlotBytes;
  n += vec_heap(inc.members) + vec_heap(inc.tactics) + vec_heap(inc.techniques) + vec_heap(inc.sids) +
       vec_heap(inc.rules) + vec_heap(inc.attackers) + vec_heap(inc.victims) + vec_heap(inc.intel) +
       vec_heap(inc.assets) + vec_heap(inc.actions) + vec_heap(inc.ml_classes) + vec_heap(inc.behaviours);
  for (auto& s : inc.ml_classes) n += str_heap(s);
  for (auto& s : inc.behaviours) n += str_heap(s);
  for (auto& f : inc.intel) n += str_heap(f.feed) + str_heap(f.indicator) + str_heap(f.threat);
  for (auto& a : inc.actions) n += str_heap(a.action) + str_heap(a.target) + str_heap(a.result);
  return n + str_heap(inc.status);
}

// Vectors at their bound (growth by doubling may reserve up to 2x; not counted),
// intel and action strings at 64 bytes.
size_t Incidents::bytes_bound() const {
  size_t n = node_bytes<std::pair<const uint64_t, Incident>>() + 2 * EntityIndex::kSlotBytes;
  n += lim_.max_members * sizeof(Member);
  n += lim_.max_list * (sizeof(std::pair<uint8_t, uint64_t>) + sizeof(std::pair<uint16_t, uint64_t>) +
                        sizeof(std::pair<uint32_t, uint32_t>) + 2 * sizeof(Val) + sizeof(AssetFact));
  n += 64 * sizeof(std::pair<uint16_t, uint64_t>);  // correlation rules (at most 64)
  n += 16 * (sizeof(std::string) + 24);             // ML classes and behaviours (8 each)
  n += 8 * (sizeof(IntelFact) + 3 * 64) + Incident::kMaxActions * (sizeof(ActionRecord) + 3 * 64);
  return n;
}

Incident* Incidents::find(uint64_t id) {
  auto it = open_.find(id);
  return it == open_.end() ? nullptr : &it->second;
}

bool Incidents::set_status(uint64_t id, const std::string& status) {
  Incident* inc = find(id);
  if (!inc) return false;
  inc->status = status;
  if (emit_) emit_(*inc, "status_changed", "");
  return true;
}

void Incidents::advance(uint64_t now) {
  if (now < last_sweep_ + 1000000000ull) return;  // a sweep per second of packet time
  last_sweep_ = now;
  // last_seen only grows, so no incident can be idle before the earliest
  // expiry found by the last full pass (or set by one opened since): skip the pass.
  if (now <= next_idle_) return;
  std::vector<uint64_t> idle;
  next_idle_ = UINT64_MAX;
  for (auto& [id, inc] : open_)
    if (inc.last_seen + lim_.close_idle_ns < now) idle.push_back(id);
    else next_idle_ = std::min(next_idle_, inc.last_seen + lim_.close_idle_ns);
  std::sort(idle.begin(), idle.end());
  for (uint64_t id : idle) close(id, "idle");
}

void Incidents::close_all(const char* reason) {
  std::vector<uint64_t> ids;
  for (auto& [id, inc] : open_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (uint64_t id : ids) close(id, reason);
}

// Context: the best intel confidence x 100, or the most critical victim
// asset (criticality x 25; a crown jewel 100), whichever is higher. A scan
// incident whose attackers are all authorized scanners is capped at low.
Risk Incidents::context(const Incident& inc, Risk r) const {
  for (auto& f : inc.intel) r.intel = std::max(r.intel, std::round(f.confidence * 100));
  bool victim_known = false, all_scanners = !inc.attackers.empty();
  for (auto& f : inc.assets)
    if (f.victim) {
      victim_known = true;
      r.asset = std::max(r.asset, f.asset->crown_jewel ? 100.0 : 25.0 * f.asset->criticality);
    }
  r.context = std::max(r.intel, r.asset);
  r.has_context = rc_.context_available || !inc.intel.empty() || victim_known;
  const Asset* scanner = nullptr;
  if (!assets_ || assets_->assets.empty()) all_scanners = false;  // no asset file: no scanner (no lookups)
  for (size_t k = 0; all_scanners && k < inc.attackers.size(); k++) {
    const Asset* x = assets_->find(inc.attackers[k]);
    if (!x || !x->scanner) all_scanners = false;
    else scanner = x;
  }
  if (!all_scanners) return r;  // the tactics below matter only for a scanner's incident
  // What a vulnerability scanner does: reconnaissance, discovery, exploit and
  // login checks (initial access, execution, privilege escalation, credential
  // access). C2, exfiltration, lateral movement, impact...: not a scan.
  static const char* const kScan[] = {"TA0043", "TA0007", "TA0001", "TA0002", "TA0004", "TA0006"};
  bool scans_only = true;
  for (auto& [ta, ts] : inc.tactics)
    if (std::find(std::begin(kScan), std::end(kScan), t_.tactics[ta].id) == std::end(kScan)) scans_only = false;
  if (all_scanners && scans_only && inc.intel.empty()) r.scanner = scanner;
  return r;
}

Risk Incidents::score(const Incident& inc) const {
  Risk r;
  r.signature = inc.max_sig;
  r.anomaly = inc.max_anomaly;
  if (!inc.rules.empty()) {
    // The rule's level, raised by each ATT&CK stage beyond two and each further rule.
    double extra = 10.0 * std::max<int>(0, int(inc.tactics.size()) - 2) + 10.0 * double(inc.rules.size() - 1);
    r.correlation = std::min(100.0, level_score(inc.max_rule_level) + extra);
  }
  r = context(inc, r);
  double wsum = rc_.w_signature + rc_.w_anomaly + rc_.w_correlation + (r.has_context ? rc_.w_context : 0);
  if (wsum <= 0) wsum = 1;
  double s = (rc_.w_signature * r.signature + rc_.w_anomaly * r.anomaly + rc_.w_correlation * r.correlation +
              (r.has_context ? rc_.w_context * r.context : 0)) / wsum;
  if (rc_.history_points > 0 && inc.prior_risk > 0)
    r.history = std::round(rc_.history_points * std::min(1.0, inc.prior_risk / std::max(rc_.history_full, 1e-9)) * 10) / 10;
  r.score = r.uncapped = std::round(std::min(100.0, s + r.history) * 10) / 10;
  if (r.scanner) r.score = std::min(r.score, rc_.t_low);  // an authorized scanner's scans: low at most
  // Independent kinds agreeing (noisy-OR of each kind's best confidence).
  double miss = 1;
  int kinds = 0;
  for (int k = 0; k < kDetectionKinds; k++)
    if (inc.counts[k] && inc.max_conf[k] > 0) miss *= 1 - std::min(0.99, inc.max_conf[k]), kinds++;
  r.confidence = kinds ? std::round((1 - miss) * 100) / 100 : 0;
  r.level = r.score >= rc_.t_critical ? RiskLevel::kCritical : r.score >= rc_.t_high ? RiskLevel::kHigh
            : r.score >= rc_.t_medium ? RiskLevel::kMedium : r.score >= rc_.t_low ? RiskLevel::kLow : RiskLevel::kInfo;
  r.wsum = wsum;
  r.kinds = kinds;
  return r;
}

std::vector<std::string> Incidents::explain(const Incident& inc) const {
  const Risk& r = inc.risk;
  std::vector<std::string> steps;
  auto step = [&](const char* name, double w, double c, std::string why) {
    steps.push_back(fmt::format("{}: {:.0f} x weight {:.2f}/{:.2f} = {:.1f} ({})", name, c, w, r.wsum, w * c / r.wsum, why));
  };
  step("signatures", rc_.w_signature, r.signature,
       inc.counts[0] ? fmt::format("{} alerts, {} signatures, highest severity scores {:.0f}", inc.counts[0],
                                   inc.sids.size(), r.signature) : "no signature alert");
  step("anomaly", rc_.w_anomaly, r.anomaly,
       fmt::format("{} ML and {} behaviour detections", inc.counts[1], inc.counts[2]));
  std::string rules;
  for (auto& [ci, n] : inc.rules) rules += fmt::format("{}{} x{}", rules.empty() ? "" : ", ", rs_.correlations[ci].name, n);
  step("correlation", rc_.w_correlation, r.correlation,
       inc.rules.empty() ? std::string("no correlation rule") :
       fmt::format("rules {}; level {}; {} tactics", rules, level_name(inc.max_rule_level), inc.tactics.size()));
  for (auto& f : inc.intel)
    steps.push_back(fmt::format("intel: {} on feed {} (threat {}, confidence {:.2f}, {} hits)", f.indicator,
                                f.feed.empty() ? "?" : f.feed, f.threat.empty() ? "unknown" : f.threat, f.confidence,
                                f.hits));
  for (auto& f : inc.assets)
    steps.push_back(fmt::format("asset: {} {} is {} (owner {}, role {}, criticality {}{}{})", f.victim ? "victim" : "attacker",
                                val_addr_str(f.addr), f.asset->name, f.asset->owner.empty() ? "?" : f.asset->owner,
                                f.asset->role.empty() ? "?" : f.asset->role, f.asset->criticality,
                                f.asset->tags.empty() ? "" : ", tags ", fmt::join(f.asset->tags, " ")));
  if (r.has_context)
    step("context", rc_.w_context, r.context,
         fmt::format("intel {:.0f} (best feed confidence x 100), asset {:.0f} (victim criticality x 25, crown jewel 100); "
                     "the higher counts", r.intel, r.asset));
  else
    steps.push_back(fmt::format("context: no intel hit and no asset fact about a victim, its weight {:.2f} is shared out",
                                rc_.w_context));
  steps.push_back(history_step(inc));
  if (r.scanner)
    steps.push_back(fmt::format("business rule: the attacker is authorized scanner {} (owner {}) and the incident is "
                                "made only of scanning stages (reconnaissance, discovery, exploit and login checks): score {:.1f} capped at {:.0f}",
                                r.scanner->name, r.scanner->owner.empty() ? "?" : r.scanner->owner, r.uncapped,
                                rc_.t_low));
  steps.push_back(fmt::format("confidence {:.2f} from {} independent kinds; level {} (thresholds {:.0f}/{:.0f}/{:.0f}/{:.0f})",
                                r.confidence, r.kinds, risk_level_name(r.level), rc_.t_low, rc_.t_medium, rc_.t_high,
                                rc_.t_critical));
  return steps;
}

// The history factor, named in every explanation (also when it adds nothing).
std::string Incidents::history_step(const Incident& inc) const {
  const char* who = inc.by == IncidentBy::kVictim ? "victim" : "attacker";
  std::string ent = val_addr_str(inc.by == IncidentBy::kVictim ? inc.victim : inc.attacker);
  if (rc_.history_points <= 0) return "history: off (incidents.entity_risk.history_points 0)";
  if (inc.prior_risk <= 0)
    return fmt::format("history: {} {} had no accumulated risk from earlier incidents when this one opened: +0", who, ent);
  return fmt::format("history: {} {} had accumulated risk {:.1f} from {} earlier incidents when this one opened: "
                     "+{:.1f} ({:.0f} x min(1, {:.1f}/{:.0f}))", who, ent, inc.prior_risk, inc.prior_incidents,
                     inc.risk.history, rc_.history_points, inc.prior_risk, rc_.history_full);
}

std::string Incidents::summary(const Incident& inc) const {
  std::string who = val_addr_str(inc.attacker), whom;
  for (size_t i = 0; i < inc.victims.size() && i < 3; i++) whom += (i ? ", " : "") + val_addr_str(inc.victims[i]);
  if (inc.victims.size() > 3) whom += fmt::format(" and {} more", inc.victims.size() - 3);
  if (inc.by == IncidentBy::kVictim) {
    who = inc.attackers.size() == 1 ? val_addr_str(inc.attackers[0]) : fmt::format("{} sources", inc.attackers.size());
    whom = val_addr_str(inc.victim);
  }
  std::string chain;
  for (auto& [ta, ts] : inc.tactics) chain += (chain.empty() ? "" : " -> ") + t_.tactics[ta].name;
  uint64_t mins = (inc.last_seen - inc.first_seen) / 60000000000ull;
  std::string facts;
  for (auto& f : inc.assets)
    if (f.victim && f.asset->crown_jewel) facts += fmt::format("; crown jewel {}", f.asset->name);
  if (!inc.intel.empty())
    facts += fmt::format("; intel {}{}", inc.intel[0].indicator,
                         inc.intel[0].threat.empty() ? "" : " (" + inc.intel[0].threat + ")");
  if (inc.risk.scanner) facts += fmt::format("; authorized scanner {}, capped", inc.risk.scanner->name);
  return fmt::format("{} against {}: {} over {} min ({} detections; {}){}; risk {:.0f} {}", who, whom,
                     chain.empty() ? std::string("no ATT&CK stage") : chain, mins, inc.members_total - inc.flows,
                     inc.rules.empty() ? "" : rs_.correlations[inc.rules[0].first].title, facts, inc.risk.score,
                     risk_level_name(inc.risk.level));
}

}  // namespace spectre::cortex
