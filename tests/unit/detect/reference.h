// Naive reference evaluator for differential tests of the detection engine.
// No Hyperscan, no grouping, no pruning: every rule is checked against every
// call, and match items are checked by trying every position of every
// content (full recursive backtracking). pcre items use PCRE2 without JIT.
// Written independently of dataplane/detect (it shares only the rule AST and
// the public DetectPacket/BufferSet/PayloadMode types).
//
// Semantics (the engine must agree):
// * Items are grouped by buffer; per buffer, in rule order. "prev" is the end
//   of the last positive content/pcre match (0 at the start).
// * content window: relative (distance/within): [max(0, prev+dist), min(len, prev+dist+within)]
//   (no within: to len); startswith: at A; offset/depth: [A+offset, min(len, A+offset+depth)];
//   else [0, len]. A (the anchor) is 0, or for a stream chunk its first new byte
//   (DetectPacket::stream_new_from): offset/depth/startswith/absolute isdataat count
//   per inspected chunk, and a leading relative item starts at A. A stream chunk
//   alerts only if the rule does not also match the old tail [0, A) alone.
//   An occurrence at s needs lo <= s and s+m <= hi; endswith also s+m == len.
//   Positive: some occurrence lets the rest match. Negated: no occurrence.
// * pcre: subject = buffer (or buffer from prev when R); matches are found by
//   restarting one byte after the previous match start; negated: no match.
// * isdataat n: absolute A + n < len; relative prev + n <= len; "!" inverts.
// * IP-only rules (addresses only: no items, dsize, flags, flow, flowbit test,
//   port or negated address; protocol ip/tcp/udp/icmp) only when first_in_dir.
// * Pass rules are evaluated first; a matching pass rule ends the call
//   without alerts and marks the flow passed. Flowbit set/unset/toggle when
//   the rule matches (7 bits at most per flow), then noalert, then
//   detection_filter, then threshold (per gid/sid/track key).
// * IP/TCP header keywords (ttl, tos, id, fragbits, fragoffset, ipopts, sameip,
//   seq, ack, window): packet modes only, on DetectPacket::l3 (none: no match);
//   IPv4-only fields fail on IPv6, TCP fields on other protocols.
// * flowint: after the items, in rule order on the flow's integers (4 per
//   flow); a failed check is no match, changes made before it stay.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "dataplane/detect/detect.h"

namespace spectre::detect_ref {

struct RefFlow {
  std::vector<std::string> bits;  // at most 7
  bool passed = false;
  std::vector<std::pair<std::string, uint32_t>> ints;  // flowint values, at most 4
};

class RefEngine {
 public:
  explicit RefEngine(const rules::RuleSet& rs);
  ~RefEngine();
  RefEngine(const RefEngine&) = delete;
  RefEngine& operator=(const RefEngine&) = delete;

  // sids alerted, in order. `f` may be null (no flow state).
  std::vector<uint32_t> payload(const DetectPacket& p, PayloadMode mode, const uint8_t* d, uint32_t n, RefFlow* f);
  std::vector<uint32_t> app(const DetectPacket& p, const BufferSet& b, RefFlow* f);

 private:
  struct R;
  std::vector<R*> order_;  // pass rules first
  std::map<std::tuple<uint32_t, uint32_t, int, std::string>, std::pair<uint64_t, uint32_t>> thr_;
  std::vector<uint32_t> run(const DetectPacket& p, int mode, const BufferSet& b, RefFlow* f);
  bool allow(const R& r, int kind, const DetectPacket& p);
};

}  // namespace spectre::detect_ref
