// Per-worker flow table (worker thread only; no locks).
//
// Index: 2-choice bucketized hash, 8 slots (32-bit signature + flow index) per
// 64-byte bucket, buckets = 2 * max_flows / 8, so a lookup reads 2 cache lines
// plus the flow. Flows live in a preallocated array; free entries are chained.
// Each timeout class keeps an LRU list ordered by last packet time, so expiry
// pops list heads and "evict the oldest idle flow" compares a few heads.
// Memory: 128 B flow + 16 B index = 144 B per flow (1M flows: 144 MB).
#pragma once
#include <cstdint>
#include <cstddef>

#include <rte_prefetch.h>

#include "dataplane/core/counter_def.h"
#include "dataplane/flow/counters.h"
#include "dataplane/flow/flow.h"

namespace spectre {

struct FlowTableCounters {
  SPECTRE_FLOW_COUNTERS(SPECTRE_COUNTER_FIELD)  // dataplane/flow/counters.h
};

class FlowTable {
 public:
  explicit FlowTable(uint32_t max_flows);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  static size_t bytes_for(uint32_t max_flows);

  // Prefetch both candidate buckets for `hash` (first stage of a burst).
  void prefetch_buckets(uint32_t hash) const;
  // Returns the flow index for `key`, 0 if absent. Also prefetches the flow.
  uint32_t lookup(const FlowKey& key, uint32_t hash) const;
  // First slot whose signature matches (0 if none), key unchecked; prefetches the flow.
  uint32_t candidate(uint32_t hash) const;
  // Inserts a new flow; the table must not already hold `key`. When full,
  // the oldest idle flow is first passed to `on_evict` and removed.
  // Returns 0 only if eviction could not make room (never when max_flows > 0).
  template <typename OnEnd>
  uint32_t insert(const FlowKey& key, uint32_t hash, OnEnd&& on_evict);

  // Moves `idx` to the tail of `cls` (call after updating last_ts).
  void touch(uint32_t idx, uint8_t cls);
  // Removes a flow (after its end record has been emitted).
  void remove(uint32_t idx);

  // Calls on_end(flow) and removes each flow idle past its class timeout at
  // `now`, at most `budget` flows. Returns how many expired.
  template <typename OnEnd>
  uint32_t expire(uint64_t now_ns, const uint64_t tmo_ns[kTmoClassCount], uint32_t budget,
                  OnEnd&& on_end);
  // Calls on_end(flow) for every flow and empties the table.
  template <typename OnEnd>
  void flush(OnEnd&& on_end);

  Flow& at(uint32_t idx) { return flows_[idx]; }
  uint32_t index_of(const Flow& f) const { return uint32_t(&f - flows_); }
  const Flow& at(uint32_t idx) const { return flows_[idx]; }
  uint32_t size() const { return used_; }
  uint32_t capacity() const { return max_; }

 private:
  static constexpr uint8_t kUnlinked = 0xff;
  struct alignas(64) Bucket {
    uint32_t sig[8];
    uint32_t idx[8];
  };
  uint32_t bucket2(uint32_t hash) const {
    return uint32_t((uint64_t(hash) * 0x9e3779b97f4a7c15ull) >> 32) & mask_;
  }
  uint32_t oldest_idle() const;
  // Free entries: the chain of removed flows, then the never-used tail from
  // next_unused_ (so start-up touches no flow memory). Valid when used_ < max_.
  uint32_t peek_free() const { return free_head_ ? free_head_ : next_unused_; }
  void take_free(uint32_t idx) {
    if (free_head_ && idx == free_head_) free_head_ = flows_[idx].lru_next;
    else next_unused_++;
  }
  bool index_insert(uint32_t hash, uint32_t idx);
  void index_remove(uint32_t hash, uint32_t idx);
  void lru_unlink(uint32_t idx);
  void lru_push(uint32_t idx, uint8_t cls);

  Bucket* buckets_ = nullptr;
  Flow* flows_ = nullptr;        // [0] unused: index 0 is null
  uint32_t mask_ = 0;
  uint32_t max_ = 0;
  uint32_t used_ = 0;
  uint32_t free_head_ = 0;
  uint32_t next_unused_ = 1;
  uint32_t lru_head_[kTmoClassCount] = {};
  uint32_t lru_tail_[kTmoClassCount] = {};
};

inline void FlowTable::prefetch_buckets(uint32_t hash) const {
  rte_prefetch0(&buckets_[hash & mask_]);
  rte_prefetch0(&buckets_[bucket2(hash)]);
}

inline uint32_t FlowTable::candidate(uint32_t hash) const {
  const Bucket* bs[2] = {&buckets_[hash & mask_], &buckets_[bucket2(hash)]};
  for (const Bucket* b : bs)
    for (int i = 0; i < 8; i++)
      if (b->sig[i] == hash && b->idx[i]) {
        const Flow* f = &flows_[b->idx[i]];
        rte_prefetch0(f);
        rte_prefetch0(&f->first_ts);
        return b->idx[i];
      }
  return 0;
}

template <typename OnEnd>
uint32_t FlowTable::insert(const FlowKey& key, uint32_t hash, OnEnd&& on_evict) {
  if (used_ == max_) {
    uint32_t victim = oldest_idle();
    if (!victim) return 0;
    on_evict(flows_[victim]);
    remove(victim);
  }
  uint32_t idx = peek_free();
  if (!index_insert(hash, idx)) {
    // Both buckets full (vanishingly rare at 50% load): evict the oldest flow
    // in them and retry once.
    uint32_t victim = 0;
    const Bucket* bs[2] = {&buckets_[hash & mask_], &buckets_[bucket2(hash)]};
    for (const Bucket* b : bs)
      for (uint32_t i : b->idx)
        if (i && (!victim || flows_[i].last_ts < flows_[victim].last_ts)) victim = i;
    if (!victim) return 0;
    on_evict(flows_[victim]);
    remove(victim);
    idx = peek_free();
    if (!index_insert(hash, idx)) return 0;
  }
  take_free(idx);
  Flow& nf = flows_[idx];
  nf = Flow{};
  nf.key = key;
  nf.hash = hash;
  nf.tmo_class = kUnlinked;
  used_++;
  return idx;
}

template <typename OnEnd>
uint32_t FlowTable::expire(uint64_t now_ns, const uint64_t tmo_ns[kTmoClassCount],
                           uint32_t budget, OnEnd&& on_end) {
  uint32_t n = 0;
  for (uint8_t c = 0; c < kTmoClassCount && n < budget; c++) {
    while (n < budget) {
      uint32_t h = lru_head_[c];
      if (!h || flows_[h].last_ts + tmo_ns[c] >= now_ns) break;
      on_end(flows_[h]);
      remove(h);
      n++;
    }
  }
  return n;
}

template <typename OnEnd>
void FlowTable::flush(OnEnd&& on_end) {
  for (uint8_t c = 0; c < kTmoClassCount; c++)
    while (uint32_t h = lru_head_[c]) {
      on_end(flows_[h]);
      remove(h);
    }
}

}  // namespace spectre
