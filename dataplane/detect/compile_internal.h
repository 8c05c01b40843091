// Compiler internals shared by compile.cc (validation, grouping, databases)
// and compile_rule.cc (one rule's flat form). Not part of the public API.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "dataplane/detect/detect_impl.h"

namespace spectre::detect_internal {

struct Analysis {
  uint32_t orig;
  uint8_t modes = 0;      // kMode* bits (payload categories); 0 for app rules
  bool app = false;       // app-layer rule
  uint8_t classes = 0;    // ProtoClass bits
  uint8_t dirs = 0;       // bit 0 to_server, bit 1 to_client
  bool not_on_held = false;  // kHdrNotOnHeld: a stream payload rule without payload offset/depth or stream_size
  int fp = -1;            // item index of the fast pattern, -1: none
  int decode_event = -1;  // decode-event rule: the Malformed reason (no groups: detect_decode_event)
  std::vector<uint32_t> pcre_ids;  // per item (kPcre), index into pcres
};

std::string lower(std::string s);
// Suricata EVE form: keys in order of first appearance, values grouped.
std::string metadata_json(const std::vector<std::pair<std::string, std::string>>& md);
rules::AppProto header_app(rules::Proto p);
SetRef add_ipset(const rules::IpSet& s, std::vector<IpRangeC>& pool);
SetRef add_portset(const rules::PortSet& s, std::vector<PortRangeC>& pool);
// Appends rule a.orig in its flat form (header, chains, items, flowbits, meta).
void add_rule(CompiledRuleset& out, const rules::RuleSet& rs, const Analysis& a);
// threshold.config over the added rules (compile_thresholds.cc); messages to rep.
void apply_thresholds(CompiledRuleset& out, const rules::RuleSet& rs, const ThresholdConfig& cfg,
                      CompileReport& rep);

}  // namespace spectre::detect_internal
