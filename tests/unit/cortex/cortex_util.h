// Helpers for the Cortex unit tests: detections built field by field.
#pragma once
#include <string>

#include "ctrlplane/cortex/cortex.h"

namespace spectre::cortex::test {

constexpr uint64_t kS = 1000000000ull;
constexpr uint64_t kT0 = 1700000000ull * kS;

inline Detection det(Kind k, const char* src, const char* dst, uint64_t ts, std::string_view technique = {},
                     uint16_t dport = 80) {
  Detection d;
  d.kind = k;
  uint8_t ver = 4;
  parse_addr(src, d.src, ver);
  parse_addr(dst, d.dst, d.ip_ver);
  d.ts_ns = ts;
  d.technique_id = technique;
  d.dport = dport;
  d.sport = 40000;
  d.proto = 6;
  d.sid = 1;
  d.msg = "test detection";
  if (k == Kind::kBehaviour) d.gid = kBehaviourGid;
  if (k == Kind::kMl) d.gid = kMlGid;
  return d;
}

inline AttackTable shipped_table() {
  AttackTable t;
  std::string err;
  t.load(embedded("attack/enterprise.tsv"), "enterprise.tsv", err);
  return t;
}

}  // namespace spectre::cortex::test
