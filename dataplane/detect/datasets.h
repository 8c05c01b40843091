// Set lookups for dataset / datarep / filemd5 & co (rules/dataset.h) at
// detection time, and the per-worker overlay of dataset:set / unset.
//
// Suricata shares one set between its threads; here nothing writable is
// shared between workers, so values a rule adds or removes go into the
// worker's own bounded table (DetectCtx, 48 bytes a slot, kept across rule
// reloads: keyed by the set's name hash). Another worker does not see them
// (flows of one host that RSS spreads over workers each learn a value
// once). A full neighbourhood (8 probes) drops the change, counted in
// DetectCounters::dataset_full. Worker thread only; no allocation.
#pragma once
#include <cstdint>
#include <cstring>

#include "dataplane/detect/bounded_table.h"

namespace spectre::detect_internal {

// Fixed types: the value's bytes (len <= 32). Strings (len 0): 64-bit hash,
// length and the first 20 bytes; two strings collide only when all agree.
struct DsKey {
  uint32_t name;      // xbit_name_hash of the set's name
  uint8_t len, pad[3];
  uint8_t k[32];
};
struct DsEntry {
  DsKey key;
  uint64_t until_ns;  // 0: free; 1: value added; 2: value removed (a base value unset)
  bool live() const { return until_ns != 0; }
  bool reusable(uint64_t) const { return until_ns == 0; }
};
static_assert(sizeof(DsEntry) == 48, "dataset overlay per slot (docs/ARCHITECTURE.md)");
using DsTable = BoundedTable<DsKey, DsEntry>;

// One dataset / datarep use in a compiled rule (CItem::pcre indexes these).
struct DsOp {
  uint32_t set;       // CompiledRuleset::datasets index
  uint32_t name;      // xbit_name_hash of the set's name (overlay key)
  uint32_t value;     // datarep
  uint8_t cmd;        // rules::DatasetUse::Cmd
  uint8_t op;         // rules::DatasetUse::Op
  bool dynamic;       // some rule sets or unsets values of this set: consult the overlay
};

// A set / unset to apply once the whole rule matched (Suricata's postmatch).
struct DsPending {
  DsKey key;
  uint8_t cmd;
};
constexpr int kMaxDsPending = 4;  // per rule evaluation; more are dropped (counted as dataset_full)

}  // namespace spectre::detect_internal
