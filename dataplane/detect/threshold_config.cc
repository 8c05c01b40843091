// threshold.config parsing and its resolution against a rule set (control thread).
#include "dataplane/detect/threshold_config.h"

#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "dataplane/rules/loader.h"
#include "dataplane/rules/parse_internal.h"

namespace spectre {

namespace {

using rules::detail::parse_u32;
using rules::detail::trim;
using Kind = ThresholdEntry::Kind;

// Parts separated by commas outside [...] (suppress ip lists), trimmed.
std::vector<std::string_view> top_parts(std::string_view s) {
  std::vector<std::string_view> out;
  if (s.empty()) return out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); i++) {
    if (i < s.size() && s[i] == '[') depth++;
    if (i < s.size() && s[i] == ']') depth--;
    if (i == s.size() || (s[i] == ',' && depth == 0)) {
      out.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  return out;
}

// One logical line (comments and blanks removed, continuations joined).
// Returns an error message, empty when `e` is filled.
std::string parse_line(std::string_view line, const rules::Vars& vars, ThresholdEntry& e) {
  size_t sp = line.find_first_of(" \t");
  std::string_view kw = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : trim(line.substr(sp));
  if (kw == "suppress") e.kind = Kind::kSuppress;
  else if (kw == "threshold" || kw == "event_filter") e.kind = Kind::kThreshold;
  else if (kw == "rate_filter") e.kind = Kind::kRate;
  else return fmt::format("unknown entry '{}' (expected suppress, threshold, event_filter or rate_filter)", kw);
  std::map<std::string, std::string, std::less<>> kv;
  for (std::string_view p : top_parts(rest)) {
    size_t s2 = p.find_first_of(" \t");
    if (p.empty() || s2 == std::string_view::npos) return fmt::format("{}: bad part '{}'", kw, p);
    std::string key(p.substr(0, s2));
    if (kv.count(key)) return fmt::format("{}: '{}' given twice", kw, key);
    kv[key] = std::string(trim(p.substr(s2)));
  }
  auto num = [&](const char* k, uint32_t& v, bool nonzero) -> std::string {
    auto it = kv.find(k);
    if (it == kv.end()) return fmt::format("{}: missing {}", kw, k);
    if (!parse_u32(it->second, v) || (nonzero && v == 0)) return fmt::format("{}: bad {} '{}'", kw, k, it->second);
    kv.erase(it);
    return "";
  };
  std::string err;
  if (!(err = num("gen_id", e.gid, false)).empty() || !(err = num("sig_id", e.sid, false)).empty()) return err;
  if (e.gid == 0 && e.sid != 0) return fmt::format("{}: gen_id 0 with sig_id {} (sig_id must be 0 too)", kw, e.sid);
  auto take = [&](const char* k, std::string& v) {
    auto it = kv.find(k);
    if (it == kv.end()) return false;
    v = it->second;
    kv.erase(it);
    return true;
  };
  std::string track, v;
  const std::string kwz(kw);
  rules::detail::Status st;
  if (e.kind == Kind::kSuppress) {
    std::string ip;
    const bool has_track = take("track", track), has_ip = take("ip", ip);
    if (has_track != has_ip) return "suppress: track and ip go together";
    if (has_track) {
      if (track == "by_src") e.sup_track = ThresholdEntry::SupTrack::kBySrc;
      else if (track == "by_dst") e.sup_track = ThresholdEntry::SupTrack::kByDst;
      else if (track == "by_either") e.sup_track = ThresholdEntry::SupTrack::kByEither;
      else return fmt::format("suppress: bad track '{}' (by_src, by_dst or by_either)", track);
      std::string aerr;
      if (!rules::parse_address_set(ip, vars, e.ips, aerr)) return fmt::format("suppress: bad ip '{}': {}", ip, aerr);
    }
  } else {
    if (e.kind == Kind::kThreshold) {
      if (!take("type", v)) return fmt::format("{}: missing type", kw);
      if (!rules::detail::parse_threshold_type(v, kwz.c_str(), e.thr.type, st)) return st.err;
    }
    if (!take("track", track)) return fmt::format("{}: missing track", kw);
    if (!rules::detail::parse_threshold_track(track, kwz.c_str(), true, e.thr.track, st)) return st.err;
    if (!(err = num("count", e.thr.count, true)).empty() || !(err = num("seconds", e.thr.seconds, true)).empty())
      return err;
    if (e.kind == Kind::kRate) {
      if (!take("new_action", v)) return "rate_filter: missing new_action";
      if (v == "alert") e.new_action = rules::Action::kAlert;
      else if (v == "drop") e.new_action = rules::Action::kDrop;
      else if (v == "reject") e.new_action = rules::Action::kReject;
      else if (v == "pass") e.new_action = rules::Action::kPass;
      else if (v == "sdrop" || v == "log") return fmt::format("rate_filter: new_action {} is not supported", v);
      else return fmt::format("rate_filter: bad new_action '{}'", v);
      if (!(err = num("timeout", e.timeout, false)).empty()) return err;
    }
  }
  if (!kv.empty()) return fmt::format("{}: unknown part '{}'", kw, kv.begin()->first);
  return "";
}

}  // namespace

void parse_threshold_config(std::string_view text, const std::string& name, const rules::Vars& vars,
                            ThresholdConfig& out, std::vector<std::string>& messages) {
  rules::for_each_rule_line(text, false, [&](std::string_view line, uint32_t lineno) {
    if (line[0] == '#') return;
    ThresholdEntry e;
    e.where = fmt::format("{}:{}", name, lineno);
    std::string err = parse_line(line, vars, e);
    if (!err.empty()) {
      out.bad_lines++;
      messages.push_back(fmt::format("{}: {} (line skipped)", e.where, err));
      return;
    }
    out.entries.push_back(std::move(e));
  });
}

bool load_threshold_file(const std::string& path, const rules::Vars& vars, ThresholdConfig& out,
                         std::vector<std::string>& messages, std::string& err) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    err = fmt::format("{}: cannot read threshold file", path);
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  out = ThresholdConfig{};
  out.path = path;
  parse_threshold_config(ss.str(), path, vars, out, messages);
  return true;
}

namespace {

// Per rule while resolving: which config entry set the threshold slot (-1: the rule's own or none).
struct Slot {
  int32_t cfg_thr = -1;  // entry index that set the (effective) threshold
};

bool slot_taken(const RuleThresholds& r) { return r.has_threshold || r.has_detection_filter || r.rate >= 0; }

void apply(const ThresholdEntry& e, uint32_t idx, bool specific, RuleThresholds& r, Slot& s, uint32_t& lost) {
  if (e.kind == Kind::kSuppress) {
    if (e.sup_track == ThresholdEntry::SupTrack::kNone) r.noalert = true;
    else r.suppress.push_back(idx);
    return;
  }
  if (!specific || e.kind == Kind::kRate) {  // the rule's (or an earlier line's) setting wins
    if (slot_taken(r)) {
      lost++;
      return;
    }
  } else if (s.cfg_thr >= 0 || r.rate >= 0) {  // replaces the last one set: an earlier config line
    r.has_threshold = false;
    r.rate = -1;
  } else if (r.has_threshold) {
    r.has_threshold = false;
  } else {
    r.has_detection_filter = false;
  }
  if (e.kind == Kind::kRate) {
    r.rate = int32_t(idx);
  } else {
    r.has_threshold = true;
    r.threshold = e.thr;
  }
  s.cfg_thr = int32_t(idx);
}

}  // namespace

void resolve_thresholds(const ThresholdConfig& cfg, const std::vector<rules::Rule>& rules,
                        std::vector<RuleThresholds>& out, std::vector<std::string>& messages) {
  out.assign(rules.size(), RuleThresholds{});
  std::vector<Slot> slots(rules.size());
  std::map<std::pair<uint32_t, uint32_t>, std::vector<uint32_t>> by_id;
  for (uint32_t i = 0; i < rules.size(); i++) {
    const rules::Rule& r = rules[i];
    out[i].has_threshold = r.has_threshold;
    out[i].threshold = r.threshold;
    out[i].has_detection_filter = r.has_detection_filter;
    out[i].detection_filter = r.detection_filter;
    by_id[{r.gid, r.sid}].push_back(i);
  }
  for (uint32_t k = 0; k < cfg.entries.size(); k++) {
    const ThresholdEntry& e = cfg.entries[k];
    uint32_t lost = 0, hit = 0;
    if (e.sid != 0) {
      auto it = by_id.find({e.gid, e.sid});
      if (it == by_id.end()) {
        messages.push_back(fmt::format("{}: no loaded rule {}:{} (entry has no effect)", e.where, e.gid, e.sid));
        continue;
      }
      for (uint32_t i : it->second) apply(e, k, true, out[i], slots[i], lost), hit++;
    } else {
      for (uint32_t i = 0; i < rules.size(); i++)
        if (e.gid == 0 || rules[i].gid == e.gid) apply(e, k, false, out[i], slots[i], lost), hit++;
    }
    if (lost)
      messages.push_back(fmt::format("{}: {} of {} rule(s) keep their own threshold/detection_filter "
                                     "(it takes precedence over this entry)", e.where, lost, hit));
  }
}

}  // namespace spectre
