// The EVE "incident" record, written straight into a reused buffer: no JSON
// tree, no allocation per value (the tree built with nlohmann::ordered_json
// cost ~1.3 M instructions for a ~6 KB record, most of it nodes and their
// frees). The bytes are those nlohmann's dump(-1) gave: same key order, its
// number formatting (nlohmann::detail::to_chars for doubles) and its string
// escaping (ensure_ascii off; a string with invalid UTF-8 goes through
// nlohmann itself, whose replacement of bad bytes is kept).
#include <cmath>
#include <cstring>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ctrlplane/cortex/cortex.h"
#include "dataplane/events/json.h"

namespace spectre::cortex {

namespace {

using Buf = fmt::memory_buffer;

// Appends JSON text; commas are the caller's (the record's shape is fixed).
struct Out {
  Buf& b;
  uint64_t day_s = UINT64_MAX;  // the day (since the epoch) whose "YYYY-MM-DDT" is cached
  char day[12] = {};

  void raw(std::string_view s) { b.append(s.data(), s.data() + s.size()); }
  void ch(char c) { b.push_back(c); }
  // nlohmann's escaping with ensure_ascii off: " \ and control characters; DEL
  // and valid UTF-8 as they are.
  void str(std::string_view s) {
    static const char hx[] = "0123456789abcdef";
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    for (size_t i = 0; i < s.size(); i++)
      if (p[i] >= 0x80) {
        int l = utf8_len(p + i, s.size() - i);
        if (!l) return slow_str(s);
        i += size_t(l) - 1;
      }
    ch('"');
    size_t run = 0;  // bytes copied as they are, appended in one go
    for (size_t i = 0; i < s.size(); i++) {
      uint8_t c = p[i];
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      b.append(s.data() + run, s.data() + i);
      run = i + 1;
      const char* e = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                      : c == '\t' ? "\\t" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : nullptr;
      if (e) {
        raw(e);
      } else {
        const char u[] = {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15]};
        b.append(u, u + 6);
      }
    }
    b.append(s.data() + run, s.data() + s.size());
    ch('"');
  }
  void slow_str(std::string_view s) {  // invalid UTF-8 (rare): nlohmann's replacement bytes
    raw(nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  void u(uint64_t v) {
    fmt::format_int f(v);
    b.append(f.data(), f.data() + f.size());
  }
  void d(double v) {  // as nlohmann: shortest round trip, "x.0" for whole numbers, null if not finite
    if (!std::isfinite(v)) return raw("null");
    char tmp[64];
    char* end = nlohmann::detail::to_chars(tmp, tmp + sizeof tmp, v);
    b.append(tmp, end);
  }
  void boolean(bool v) { raw(v ? "true" : "false"); }
  void key(std::string_view k) {  // "k": (keys are plain ASCII)
    ch('"');
    raw(k);
    raw("\":");
  }
  // "2023-11-14T22:13:20.001000+0000": gmtime once per day of the record, the rest by arithmetic.
  void iso(uint64_t ns) {
    uint64_t s = ns / 1000000000ull;
    if (s / 86400 != day_s) {
      time_t t = time_t(s);
      struct tm tm;
      gmtime_r(&t, &tm);
      fmt::format_to_n(day, sizeof day, "{:04}-{:02}-{:02}T", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
      day_s = s / 86400;
    }
    uint32_t sec = uint32_t(s % 86400), us = uint32_t((ns / 1000) % 1000000);
    char t[34] = {'"'};
    std::memcpy(t + 1, day, 11);
    auto two = [&](int at, uint32_t v) { t[at] = char('0' + v / 10), t[at + 1] = char('0' + v % 10); };
    two(12, sec / 3600), t[14] = ':', two(15, sec / 60 % 60), t[17] = ':', two(18, sec % 60), t[20] = '.';
    for (int i = 26; i >= 21; i--) t[i] = char('0' + us % 10), us /= 10;
    std::memcpy(t + 27, "+0000\"", 6);
    b.append(t, t + 33);
  }
  // An address as val_addr_str gives it; IPv4 (the common case) without inet_ntop.
  void addr(const Val& v) {
    if (v.hi != 0 || (v.lo >> 32) != 0xffff) return str(val_addr_str(v));
    char tmp[18], *p = tmp;
    *p++ = '"';
    for (int k = 3; k >= 0; k--) {
      unsigned o = unsigned(v.lo >> (8 * k)) & 0xff;
      if (o >= 100) *p++ = char('0' + o / 100);
      if (o >= 10) *p++ = char('0' + o / 10 % 10);
      *p++ = char('0' + o % 10);
      *p++ = k ? '.' : '"';
    }
    b.append(tmp, p);
  }
  template <typename T, typename F>
  void arr(const T& list, F&& each) {
    ch('[');
    bool first = true;
    for (auto& x : list) {
      if (!first) ch(',');
      first = false;
      each(x);
    }
    ch(']');
  }
  void strs(const std::vector<std::string>& v) { arr(v, [&](const std::string& s) { str(s); }); }
};

}  // namespace

void Cortex::write_response(Buf& buf, const Incident& inc) const {
  Out o{buf};
  if (!inc.playbook) return o.raw("null");
  const Playbook& p = *inc.playbook;
  o.raw("{\"playbook\":");
  o.str(p.name);
  o.raw(",\"title\":");
  o.str(p.title);
  o.raw(",\"actions\":");
  o.strs(p.actions);
  o.raw(",\"escalation\":");
  o.str(p.escalation);
  o.raw(",\"investigation\":");
  o.strs(p.investigation);
  o.raw(",\"automatic\":");
  o.arr(p.automatic, [&](AutoAction a) { o.str(auto_action_name(a)); });
  o.raw(",\"audit\":");
  o.arr(inc.actions, [&](const ActionRecord& r) {
    o.raw("{\"time\":");
    o.iso(r.time_ns);
    o.raw(",\"action\":");
    o.str(r.action);
    o.raw(",\"target\":");
    o.str(r.target);
    o.raw(",\"result\":");
    o.str(r.result);
    o.ch('}');
  });
  o.ch('}');
}

std::string Cortex::format(const Incident& inc, const char* event, const char* reason) const {
  Buf b;
  format_to(b, inc, event, reason);
  return std::string(b.data(), b.size());
}

void Cortex::format_to(Buf& buf, const Incident& inc, const char* event, const char* reason) const {
  buf.clear();
  Out o{buf};
  o.raw("{\"timestamp\":");
  o.iso(inc.last_seen);
  o.raw(",\"event_type\":\"incident\",\"incident\":{\"incident_id\":");
  o.u(inc.id);
  o.raw(",\"event\":");
  o.str(event);
  if (reason && *reason) o.raw(",\"closed_reason\":"), o.str(reason);
  o.raw(",\"status\":");
  o.str(inc.status);
  o.raw(",\"entity\":");
  o.raw(inc.by == IncidentBy::kAttacker ? "\"attacker\"" : inc.by == IncidentBy::kVictim ? "\"victim\"" : "\"pair\"");
  o.raw(",\"first_seen\":");
  o.iso(inc.first_seen);
  o.raw(",\"last_seen\":");
  o.iso(inc.last_seen);
  o.raw(",\"entities\":{\"attackers\":");
  o.arr(inc.attackers, [&](const Val& v) { o.addr(v); });
  o.raw(",\"victims\":");
  o.arr(inc.victims, [&](const Val& v) { o.addr(v); });
  o.raw("},\"detections\":{");
  for (int k = 0; k < kDetectionKinds; k++) {
    o.key(kind_name(Kind(k)));
    o.u(inc.counts[k]);
    o.ch(',');
  }
  o.key("total");
  o.u(inc.members_total - inc.flows);
  o.raw(",\"flows\":");
  o.u(inc.flows);
  o.raw("},\"signature_ids\":");
  o.arr(inc.sids, [&](const std::pair<uint32_t, uint32_t>& s) {
    if (s.first == 1) return o.u(s.second);
    fmt::format_to(fmt::appender(buf), "\"{}:{}\"", s.first, s.second);
  });
  o.raw(",\"ml_classes\":");
  o.strs(inc.ml_classes);
  o.raw(",\"behaviours\":");
  o.strs(inc.behaviours);
  o.raw(",\"mitre\":{\"attack_version\":");
  o.str(table_.version);
  auto stage = [&](const auto& e, const std::string& id, const std::string& name) {
    o.raw("{\"id\":");
    o.str(id);
    o.raw(",\"name\":");
    o.str(name);
    o.raw(",\"first_seen\":");
    o.iso(e.second);
    o.ch('}');
  };
  o.raw(",\"tactics\":");
  o.arr(inc.tactics, [&](const auto& e) { stage(e, table_.tactics[e.first].id, table_.tactics[e.first].name); });
  o.raw(",\"techniques\":");
  o.arr(inc.techniques, [&](const auto& e) { stage(e, table_.techniques[e.first].id, table_.techniques[e.first].name); });
  o.raw("},\"correlations\":");
  o.arr(inc.rules, [&](const std::pair<uint16_t, uint64_t>& r) {
    o.raw("{\"name\":");
    o.str(rules_.correlations[r.first].name);
    o.raw(",\"title\":");
    o.str(rules_.correlations[r.first].title);
    o.raw(",\"matches\":");
    o.u(r.second);
    o.ch('}');
  });
  o.raw(",\"campaign_id\":");
  o.u(inc.campaign);
  write_risk(buf, inc);
  write_context(buf, inc);
  o.raw(",\"response\":");
  write_response(buf, inc);
  o.raw(",\"members\":");
  o.arr(inc.members, [&](const Member& m) {
    o.raw("{\"timestamp\":");
    o.iso(m.ts);
    o.raw(",\"kind\":\"");
    o.raw(kind_name(m.kind));
    o.raw("\",\"attacker\":");
    o.addr(m.attacker);
    o.raw(",\"victim\":");
    o.addr(m.victim);
    if (m.kind == Kind::kSignature || m.kind == Kind::kMl || m.kind == Kind::kBehaviour)
      o.raw(",\"signature_id\":"), o.u(m.sid), o.raw(",\"gid\":"), o.u(m.gid);
    if (m.technique) o.raw(",\"technique\":"), o.str(table_.techniques[m.technique].id);
    if (m.tactic) o.raw(",\"tactic\":"), o.str(table_.tactics[m.tactic].id);
    o.raw(",\"signature\":");
    o.str(m.msg);
    o.ch('}');
  });
  o.raw(",\"members_dropped\":");
  o.u(inc.members_total - inc.members.size());
  o.raw("}}");
}

// "risk": score, level, confidence, components, the authorized-scanner cap, the entity's accumulated risk.
void Cortex::write_risk(Buf& buf, const Incident& inc) const {
  Out o{buf};
  const Risk& r = inc.risk;
  o.raw(",\"risk\":{\"score\":");
  o.d(r.score);
  o.raw(",\"level\":");
  o.str(risk_level_name(r.level));
  o.raw(",\"confidence\":");
  o.d(r.confidence);
  o.raw(",\"components\":{\"signatures\":");
  o.d(r.signature);
  o.raw(",\"anomaly\":");
  o.d(r.anomaly);
  o.raw(",\"correlation\":");
  o.d(r.correlation);
  o.raw(",\"context\":");
  o.d(r.context);
  o.raw("},\"history\":{\"points\":");
  o.d(r.history);
  o.raw(",\"prior_risk\":");
  o.d(std::round(inc.prior_risk * 10) / 10);
  o.raw(",\"prior_incidents\":");
  o.u(inc.prior_incidents);
  o.ch('}');
  if (r.scanner) {
    o.raw(",\"capped\":{\"from\":");
    o.d(r.uncapped);
    o.raw(",\"rule\":\"authorized-scanner\",\"asset\":");
    o.str(r.scanner->name);
    o.ch('}');
  }
  o.raw(",\"entity\":{\"address\":");
  o.addr(inc.by == IncidentBy::kVictim ? inc.victim : inc.attacker);
  o.raw(",\"score\":");
  o.d(std::round(inc.entity_risk * 10) / 10);
  o.raw(",\"incidents\":");
  o.u(inc.entity_incidents);
  o.raw(",\"notable\":");
  o.boolean(inc.entity_risk >= cfg_.entity_risk.threshold);
  o.raw("}}");
}

// "intel", "assets", "explanation".
void Cortex::write_context(Buf& buf, const Incident& inc) const {
  Out o{buf};
  o.raw(",\"intel\":");
  o.arr(inc.intel, [&](const IntelFact& f) {
    o.raw("{\"feed\":");
    o.str(f.feed);
    o.raw(",\"indicator\":");
    o.str(f.indicator);
    o.raw(",\"threat\":");
    o.str(f.threat);
    o.raw(",\"confidence\":");
    o.d(std::round(f.confidence * 100) / 100);
    o.raw(",\"first_seen\":");
    o.iso(f.first_seen);
    o.raw(",\"hits\":");
    o.u(f.hits);
    o.ch('}');
  });
  o.raw(",\"assets\":");
  o.arr(inc.assets, [&](const AssetFact& f) {
    o.raw("{\"address\":");
    o.addr(f.addr);
    o.raw(f.victim ? ",\"as\":\"victim\",\"name\":" : ",\"as\":\"attacker\",\"name\":");
    o.str(f.asset->name);
    o.raw(",\"owner\":");
    o.str(f.asset->owner);
    o.raw(",\"role\":");
    o.str(f.asset->role);
    o.raw(",\"criticality\":");
    o.u(f.asset->criticality);
    o.raw(",\"tags\":");
    o.strs(f.asset->tags);
    o.ch('}');
  });
  o.raw(",\"explanation\":{\"summary\":");
  o.str(inc_->summary(inc));
  o.raw(",\"steps\":");
  o.strs(inc_->explain(inc));
  o.ch('}');
}

}  // namespace spectre::cortex
