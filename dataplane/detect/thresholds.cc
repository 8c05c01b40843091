// Thresholds at alert time (worker thread): the rule's threshold and
// detection_filter, threshold.config suppress-by-address and rate_filter.
// State per (rule, tracked address) in the worker's BoundedTable (8 probes,
// evicts the entry expiring first when full: threshold_table_full).
#include <algorithm>

#include "dataplane/detect/runtime_internal.h"
#include "dataplane/detect/threshold_config.h"

namespace spectre {

DetectCtx::DetectCtx(uint32_t wid, uint32_t slots, uint32_t xbit_slots, uint32_t ds_slots)
    : worker_id(wid), impl(std::make_unique<Impl>(slots, xbit_slots, ds_slots)) {}
DetectCtx::~DetectCtx() = default;

}  // namespace spectre

namespace spectre::detect_internal {
namespace {

ThrKey thr_key(const RuleMeta& m, rules::Threshold::Track track, uint8_t kind, const DetectPacket& p) {
  ThrKey k{};
  k.gid = m.gid;
  k.sid = m.sid;
  k.kind = kind;
  size_t an = p.ip_ver == 4 ? 4 : 16;
  using T = rules::Threshold::Track;
  if (track != T::kByRule) {
    k.ver = p.ip_ver;
    if ((track == T::kBySrc || track == T::kByBoth) && p.src) memcpy(k.addr, p.src, an);
    if ((track == T::kByDst) && p.dst) memcpy(k.addr, p.dst, an);
    if (track == T::kByBoth && p.dst) memcpy(k.addr + 16, p.dst, an);
  }
  return k;
}

// The entry of `k`; a new one (`fresh`, count 0) in a free or expired slot,
// else in place of the probed entry that expires first (counted in
// threshold_table_full). Never fails, never allocates.
ThrEntry& thr_entry(DetectCtx& c, const ThrKey& k, uint64_t ts, bool& fresh) {
  bool found, evicted;
  ThrEntry* e = c.impl->thr.claim(k, ts, true, found, evicted);
  fresh = !found;
  if (found) return *e;
  if (evicted) c.ctr.threshold_table_full++;
  *e = ThrEntry{};
  e->key = k;
  e->used = true;
  e->start_ns = ts;
  return *e;
}

}  // namespace

// An event at ts belongs to the window started at `start` iff ts <= start +
// seconds (as Suricata 7/8 compare); a later one starts a new window with count 1.
bool threshold_allows(DetectCtx& c, const RuleMeta& m, const rules::Threshold& t, uint8_t kind,
                      const DetectPacket& p) {
  bool fresh;
  ThrEntry* e = &thr_entry(c, thr_key(m, t.track, kind, p), p.ts_ns, fresh);
  const uint64_t win = uint64_t(t.seconds) * 1000000000ull;
  if (fresh || p.ts_ns - e->start_ns > win || p.ts_ns < e->start_ns) {
    e->start_ns = p.ts_ns;
    e->count = 1;
  } else {
    e->count++;
  }
  e->until_ns = e->start_ns + win;
  using Ty = rules::Threshold::Type;
  switch (t.type) {
    case Ty::kLimit: return e->count <= t.count;
    case Ty::kThreshold:
      if (e->count >= t.count) {
        e->count = 0;
        return true;
      }
      return false;
    case Ty::kBoth: return e->count == t.count;
    case Ty::kDetectionFilter: return e->count > t.count;
  }
  return true;
}

// Suricata's IsThresholdReached: more than `count` matches within `seconds`
// switch the new action on for `timeout` seconds; the match that finds it
// expired is not counted.
bool rate_active(DetectCtx& c, const RuleMeta& m, const GlobalThrC& g, const DetectPacket& p) {
  bool fresh;
  ThrEntry& e = thr_entry(c, thr_key(m, g.rate.track, 2, p), p.ts_ns, fresh);
  const uint64_t win = uint64_t(g.rate.seconds) * 1000000000ull, tmo = uint64_t(g.timeout_s) * 1000000000ull;
  bool on = false;
  if (fresh) {
    e.count = 1;
  } else if (e.active) {
    if (p.ts_ns - e.active_ns > tmo) e.active = false;
    else on = true;
  } else if (p.ts_ns >= e.start_ns && p.ts_ns - e.start_ns <= win) {
    if (++e.count > g.rate.count) {
      e.active = on = true;
      e.active_ns = p.ts_ns;
    }
  } else {
    e.start_ns = p.ts_ns;
    e.count = 1;
  }
  e.until_ns = std::max(e.start_ns + win, e.active ? e.active_ns + tmo : 0);
  return on;
}

// The suppress entry's set lives once in the ruleset's address pool, shared
// by every rule it names (SuppressC::ips).
bool config_suppressed(const CompiledRuleset& rs, const GlobalThrC& g, const DetectPacket& p) {
  for (uint32_t k = g.sup_begin; k < g.sup_end; k++) {
    const SuppressC& s = rs.suppress[k];
    const bool src = s.track != uint8_t(ThresholdEntry::SupTrack::kByDst);
    const bool dst = s.track != uint8_t(ThresholdEntry::SupTrack::kBySrc);
    if ((src && p.src && ip_in(rs, s.ips, p.src, p.ip_ver)) || (dst && p.dst && ip_in(rs, s.ips, p.dst, p.ip_ver)))
      return true;
  }
  return false;
}

}  // namespace spectre::detect_internal
