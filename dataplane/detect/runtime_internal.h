// Runtime internals shared by runtime.cc (prefilter, candidates, match
// items), thresholds.cc (threshold, detection_filter, threshold.config at
// alert time) and extra_checks.cc (ip_proto, stream_size, xbits). Worker
// thread only. Not part of the public API.
#pragma once
#include <cstdint>
#include <cstring>

#include "dataplane/detect/bounded_table.h"
#include "dataplane/detect/detect_impl.h"
#include "dataplane/detect/xbits.h"

namespace spectre::detect_internal {

struct ThrKey {
  uint32_t gid, sid;
  uint8_t kind, ver, pad[2];  // kind 0: threshold, 1: detection_filter, 2: rate_filter
  uint8_t addr[32];
};
// 80 bytes per tracked (rule, address) entry.
struct ThrEntry {
  ThrKey key;
  uint64_t start_ns;   // window start
  uint64_t until_ns;   // free for reuse after this (window end, or rate_filter action end)
  uint64_t active_ns;  // rate_filter: when the new action began (valid while `active`)
  uint32_t count;
  bool used, active;
  bool live() const { return used; }
  bool reusable(uint64_t now) const { return !used || now > until_ns; }
};
static_assert(sizeof(ThrEntry) == 80, "threshold state per tracked entry (docs/ARCHITECTURE.md)");

}  // namespace spectre::detect_internal

namespace spectre {

struct DetectCtx::Impl {
  detect_internal::BoundedTable<detect_internal::ThrKey, detect_internal::ThrEntry> thr;
  detect_internal::XbitTable xbits;
  detect_internal::DsTable ds;  // dataset:set / unset overlay (datasets.h)
  Impl(uint32_t thr_slots, uint32_t xbit_slots, uint32_t ds_slots) : thr(thr_slots), xbits(xbit_slots), ds(ds_slots) {}
};

}  // namespace spectre

namespace spectre::detect_internal {

// Header sets (runtime.cc).
bool ip_in(const CompiledRuleset& rs, const SetRef& s, const uint8_t* a, uint8_t ver);
bool dsize_ok(const rules::Dsize& d, uint16_t n);

// thresholds.cc. Suricata's threshold / detection_filter decision (kind 0 /
// 1), per worker: true when the alert goes out.
bool threshold_allows(DetectCtx& c, const RuleMeta& m, const rules::Threshold& t, uint8_t kind,
                      const DetectPacket& p);
// rate_filter: true while the new action applies.
bool rate_active(DetectCtx& c, const RuleMeta& m, const GlobalThrC& g, const DetectPacket& p);
// threshold.config suppress with track/ip: the packet's address is in the set.
bool config_suppressed(const CompiledRuleset& rs, const GlobalThrC& g, const DetectPacket& p);

// extra_checks.cc (kHdrExtra): ip_proto, stream_size and xbit tests; then,
// after a match, the xbit commands.
bool extra_ok(DetectCtx& c, const CompiledRuleset& rs, const RuleCold& rc, const DetectPacket& p);
void xbit_actions(DetectCtx& c, const CompiledRuleset& rs, const RuleCold& rc, const DetectPacket& p);
// The rule's flowint operations in order on the flow's state, once the
// rest of the rule matched. False: a check failed (the changes made before it
// stay, as in Suricata), a set found the flow full (counted in *full), or no flow.
bool flowint_run(const CompiledRuleset& rs, const RuleCold& rc, FlowDetectState* f, uint64_t* full);

// pkt_checks.cc (kHdrPktHdr): the rule's IP/TCP header keywords on the
// packet's headers; false without them (stream chunks, transactions).
bool pkt_hdr_ok(const CompiledRuleset& rs, const RuleCold& rc, const DetectPacket& p);

// datasets.cc. A kDataset item on buffer d[0, n): whether it matches; a
// set / unset that matches is queued in ws.ds_pend for ds_commit().
bool ds_match(DetectCtx& c, const CompiledRuleset& rs, WorkerState& ws, uint32_t op, const uint8_t* d, uint32_t n);
// Applies the queued set / unset of a rule that matched.
void ds_commit(DetectCtx& c, WorkerState& ws);

}  // namespace spectre::detect_internal
