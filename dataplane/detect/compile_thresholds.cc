// threshold.config applied to a compiled ruleset (control thread, after the
// rules are added): effective threshold/detection_filter, noalert, and the
// per-rule suppress-by-address and rate_filter data read at alert time.
#include <fmt/format.h>

#include "dataplane/detect/compile_internal.h"
#include "dataplane/detect/threshold_config.h"

namespace spectre::detect_internal {

void apply_thresholds(CompiledRuleset& out, const rules::RuleSet& rs, const ThresholdConfig& cfg,
                      CompileReport& rep) {
  std::vector<RuleThresholds> per;
  resolve_thresholds(cfg, rs.rules, per, rep.messages);
  out.gthr.clear();
  std::vector<SetRef> sets(cfg.entries.size());  // per suppress entry, added to ip_pool on first use
  std::vector<bool> added(cfg.entries.size(), false);
  for (uint32_t i = 0; i < out.hdr.size(); i++) {
    RuleCold& c = out.cold[i];
    HdrQuick& h = out.hdr[i];
    const RuleThresholds& t = per[c.orig];
    h.flags &= ~uint32_t(kHdrThreshold | kHdrDetFilter | kHdrGlobalThr);
    if (t.has_threshold) h.flags |= kHdrThreshold;
    if (t.has_detection_filter) h.flags |= kHdrDetFilter;
    c.threshold = t.threshold;
    c.detection_filter = t.detection_filter;
    if (t.noalert) h.flags |= kHdrNoAlert;
    if (t.suppress.empty() && t.rate < 0) continue;
    GlobalThrC g;
    g.sup_begin = uint32_t(out.suppress.size());
    for (uint32_t k : t.suppress) {
      if (!added[k]) sets[k] = add_ipset(cfg.entries[k].ips, out.ip_pool), added[k] = true;
      out.suppress.push_back(SuppressC{uint8_t(cfg.entries[k].sup_track), sets[k]});
    }
    g.sup_end = uint32_t(out.suppress.size());
    if (t.rate >= 0) {
      const ThresholdEntry& e = cfg.entries[uint32_t(t.rate)];
      g.has_rate = true;
      g.rate = e.thr;
      g.timeout_s = e.timeout;
      g.rate_pass = e.new_action == rules::Action::kPass;
      g.rate_meta = uint32_t(out.rate_meta.size());
      RuleMeta m = out.meta[i];
      m.action = e.new_action;
      out.rate_meta.push_back(std::move(m));
    }
    c.gthr = uint32_t(out.gthr.size());
    h.flags |= kHdrGlobalThr;
    out.gthr.push_back(std::move(g));
  }
}

}  // namespace spectre::detect_internal
