// dataset / datarep / filemd5 & co at detection time (see datasets.h).
// Semantics follow Suricata's detect-dataset.c / detect-datarep.c: an empty
// buffer never matches; isset matches a value in the set, isnotset one that
// is not (or that cannot be a value of the set's type); set matches a value
// not yet in the set and adds it once the whole rule matched; unset matches
// a value in the set and removes it then; datarep compares the value's
// reputation (no match when the value is not in the set).
#include <algorithm>

#include "dataplane/detect/runtime_internal.h"

namespace spectre::detect_internal {

namespace {

using Cmd = rules::DatasetUse::Cmd;
using Op = rules::DatasetUse::Op;

void make_key(const DsOp& op, rules::SetType t, const uint8_t* k, uint32_t n, DsKey& key) {
  key = DsKey{};
  key.name = op.name;
  if (t != rules::SetType::kString) {  // fixed size, <= 32 bytes
    key.len = uint8_t(n);
    memcpy(key.k, k, n);
    return;
  }
  const uint64_t h = rules::set_hash(k, n);
  memcpy(key.k, &h, 8);
  memcpy(key.k + 8, &n, 4);
  memcpy(key.k + 12, k, std::min<uint32_t>(n, 20));
}

bool rep_ok(Op op, uint32_t have, uint32_t want) {
  switch (op) {
    case Op::kGt: return have > want;
    case Op::kLt: return have < want;
    case Op::kGe: return have >= want;
    case Op::kLe: return have <= want;
    case Op::kEq: return have == want;
  }
  return false;
}

}  // namespace

bool ds_match(DetectCtx& c, const CompiledRuleset& rs, WorkerState& ws, uint32_t opi, const uint8_t* d, uint32_t n) {
  const DsOp& op = rs.ds_ops[opi];
  const rules::DataSet& set = *rs.datasets[op.set];
  const Cmd cmd = static_cast<Cmd>(op.cmd);
  if (!d || n == 0) return false;
  uint8_t tmp[16];
  const uint8_t* k;
  uint32_t kn;
  if (!rules::key_for(set.type(), d, n, tmp, k, kn)) return cmd == Cmd::kIsNotSet;
  uint32_t rep = 0;
  bool in = set.find(k, kn, &rep);
  DsKey key;
  if (op.dynamic) {  // this worker's own additions and removals first
    make_key(op, set.type(), k, kn, key);
    if (const DsEntry* e = c.impl->ds.find(key)) in = e->until_ns == 1;
  }
  switch (cmd) {
    case Cmd::kIsSet: return in;
    case Cmd::kIsNotSet: return !in;
    case Cmd::kRep: return in && rep_ok(static_cast<Op>(op.op), rep, op.value);
    case Cmd::kSet: case Cmd::kUnset: {
      if (in != (cmd == Cmd::kUnset)) return false;
      for (uint8_t i = 0; i < ws.ds_npend; i++)  // the same item again (backtracking): queued once
        if (ws.ds_pend[i].cmd == op.cmd && memcmp(&ws.ds_pend[i].key, &key, sizeof key) == 0) return true;
      if (ws.ds_npend == kMaxDsPending) {
        ws.ds_dropped = true;
        return true;
      }
      ws.ds_pend[ws.ds_npend++] = DsPending{key, op.cmd};
      return true;
    }
  }
  return false;
}

void ds_commit(DetectCtx& c, WorkerState& ws) {
  if (ws.ds_dropped) c.ctr.dataset_full++;
  for (uint8_t i = 0; i < ws.ds_npend; i++) {
    const DsPending& p = ws.ds_pend[i];
    bool found = false, evicted = false;
    DsEntry* e = c.impl->ds.claim(p.key, 0, false, found, evicted);
    if (!e) {
      c.ctr.dataset_full++;
      continue;
    }
    e->key = p.key;
    e->until_ns = p.cmd == uint8_t(Cmd::kSet) ? 1 : 2;
  }
  ws.ds_npend = 0;
  ws.ds_dropped = false;
}

}  // namespace spectre::detect_internal
