// Cortex correlation engine: runs the RuleSet over detections in arrival order,
// with event time from the detections (offline runs are deterministic).
// State per (correlation, group-by value) lives in a fixed pool with an LRU:
// a full pool evicts the least recently updated group (counted). One thread.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "ctrlplane/cortex/rules.h"

namespace spectre::cortex {

// A detection as remembered by a group or an incident (no pointers into the source).
struct Member {
  uint64_t ts = 0;
  Val attacker, victim;
  uint32_t gid = 0, sid = 0;
  uint16_t technique = 0;
  uint8_t tactic = 0, severity = 3;
  Kind kind = Kind::kSignature;
  char msg[47] = {};
  char tag[24] = {};               // behaviour detector or ML class
  static Member of(const Detection& d, const AttackTable& t);
};

constexpr size_t kGroupSlots = kMaxCountBound + 1;
constexpr size_t kGroupMembers = 8;
static_assert(kGroupSlots <= 32, "Group::used has a bit per slot");

// The header, the key and the member references come first: a fresh group
// writes lines 0-2 (and a value slot), a lookup of a one- or two-value key
// reads line 0 only, an update those and the slots it uses. Members are
// references into the correlator's ring (one 128-byte copy per detection,
// written in order) instead of 8 copies per group: a group is 704 bytes, not
// 1.6 KB, and a random group's first touch writes 8 bytes for its member, not
// two cold cache lines.
struct alignas(64) Group {
  uint64_t last_ts = 0;
  uint32_t used = 0;               // bit per ts/vh slot that holds a value
  uint16_t corr = 0;
  uint8_t nkey = 0, nmem = 0, mem_head = 0;
  Val key[kMaxGroupBy];
  uint64_t mem[kGroupMembers];  // ring sequence numbers of the latest contributing detections
  // event_count: times; value_count: (value hash, time); temporal: time per
  // rule; temporal_ordered: the latest 32/rules times of each rule.
  uint64_t ts[kGroupSlots];
  uint64_t vh[kGroupSlots];
  uint64_t t(size_t i) const { return used >> i & 1 ? ts[i] : 0; }
  void set_t(size_t i, uint64_t v) { ts[i] = v, used |= 1u << i; }
};

// A correlation that matched: its group, the detection that completed it and
// the detections that contributed (oldest first).
struct Match {
  const Correlation* rule;
  uint16_t corr;
  const Group* group;
  const Detection* trigger;
  // Into the correlator's member ring, valid during the on_match call only:
  // the group's members within its window (newest - timespan .. newest) that
  // the ring still holds, oldest first.
  const Member* members[kGroupMembers];
  uint8_t nmembers;
  uint64_t count;  // the value the condition held on
};

struct CorrCounters {
  uint64_t events = 0, selector_hits = 0, matches = 0, groups_created = 0, groups_evicted = 0, groups_expired = 0;
  uint64_t members_lost = 0;  // members of a match that the ring had overwritten (older than ring_size() detections)
};

class Correlator {
 public:
  Correlator(const RuleSet& rs, const AttackTable& t, uint32_t max_groups);
  using OnMatch = std::function<void(const Match&)>;
  void set_on_match(OnMatch f) { on_match_ = std::move(f); }
  void process(const Detection& d);
  CorrCounters ctr;
  size_t groups_in_use() const { return npool_ - free_.size(); }
  static size_t group_bytes();  // a group with its key and index slots
  size_t ring_size() const { return ring_mask_ + 1; }  // detections whose member a group can hand to a match

 private:
  struct Key {
    Val v[kMaxGroupBy];
    // corr | n << 16, stored and compared as one word: a 2- and a 1-byte store
    // read back by one 4-byte load fail to forward (as in update's values).
    uint32_t id;
    uint16_t corr() const { return uint16_t(id); }
    uint8_t n() const { return uint8_t(id >> 16); }
    bool operator==(const Key& o) const;
    bool is(const Group& g) const;  // the group's key (compared in the group: its header is read next anyway)
  };
  struct KeyHash { size_t operator()(const Key& k) const; };
  // One event (a detection or a match of a referenced correlation) for one correlation.
  void update(uint16_t ci, const Detection& d, uint64_t mseq, const Val* key_in, uint32_t ref_mask);
  int32_t find_or_make(const Key& k, uint64_t now);
  void prefetch_next(int n);
  void unlink(int32_t i);
  void link_tail(int32_t i);
  void release(int32_t i);
  bool evaluate(const Correlation& c, Group& g, uint64_t t, uint32_t ref_mask, const Val* vals, uint64_t& count);
  const RuleSet& rs_;
  const AttackTable& t_;
  // The pool on transparent huge pages where the kernel allows (madvise): a
  // random group per event otherwise costs a page walk as well as a miss.
  struct Unmap { size_t bytes; void operator()(void* p) const; };
  std::unique_ptr<Group[], Unmap> pool_;
  size_t npool_ = 0;
  std::vector<int32_t> free_;
  // Members of the latest ring_size() detections that joined a group (power
  // of two, 8 per group: 128 bytes a group), with each entry's sequence
  // number (a group's reference to an overwritten entry is a lost member).
  std::unique_ptr<Member[], Unmap> ring_;
  std::vector<uint64_t> ring_seq_;
  size_t ring_mask_ = 0;
  uint64_t seq_ = 0;               // the last entry written (0: none; sequence numbers start at 1)
  uint64_t add_member(const Detection& d);
  void match(const Correlation& c, uint16_t ci, Group& g, const Detection& d, uint64_t count);
  // Per group, beside the pool so that the LRU, the index's probes and the
  // expiry check touch 8-24 bytes a group, not a group's cache lines.
  struct Lru { int32_t prev = -1, next = -1; uint64_t expire = 0; };  // expire: last_ts + timespan
  std::vector<Lru> lru_;
  std::vector<uint64_t> khash_;  // KeyHash of the group's key
  // Open addressing (linear probing, 2 slots per group, g -1 empty): no allocation per group.
  // A slot keeps the key hash's low 32 bits: probes and the backward shift of
  // deletion compare and find home slots without reading khash_ or the group
  // (each a cache miss per probe when groups churn).
  struct Slot { int32_t g = -1; uint32_t h = 0; };
  std::vector<Slot> index_;
  size_t mask_ = 0;
  int32_t find(const Key& k, uint64_t h, size_t& pos) const;
  void index_erase(size_t pos);
  int32_t head_ = -1, tail_ = -1;
  // Per (kind, tactic): the selectors whose kind and tactic filters pass (their
  // other filters still run); with more than 64 selectors every one is tried.
  uint64_t cand_[uint8_t(Kind::kKindEnd)][64] = {};
  bool use_cand_ = false;
  OnMatch on_match_;
  int depth_ = 0;
};

}  // namespace spectre::cortex
