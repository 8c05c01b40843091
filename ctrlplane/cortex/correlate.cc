#include "ctrlplane/cortex/correlate.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <new>

#include <sys/mman.h>
#ifdef __AVX__
#include <immintrin.h>
#endif

namespace spectre::cortex {

Member Member::of(const Detection& d, const AttackTable& t) {
  Member m;
  m.ts = d.ts_ns;
  bool rev = d.attacker_is_dst(t.outbound(d.tactic));
  m.attacker = addr_val(rev ? d.dst : d.src, d.ip_ver);
  m.victim = addr_val(rev ? d.src : d.dst, d.ip_ver);
  m.gid = d.gid;
  m.sid = d.sid;
  m.technique = d.technique;
  m.tactic = d.tactic;
  m.severity = d.severity;
  m.kind = d.kind;
  size_t n = std::min(d.msg.size(), sizeof m.msg - 1);
  if (n) std::memcpy(m.msg, d.msg.data(), n);  // an empty view's data() may be null
  m.msg[n] = 0;
  std::string_view tag = d.kind == Kind::kMl ? d.ml_class : d.detector;
  n = std::min(tag.size(), sizeof m.tag - 1);
  if (n) std::memcpy(m.tag, tag.data(), n);
  m.tag[n] = 0;
  return m;
}

namespace {
// One 16-byte store. GCC builds a vector from two registers through a stack
// slot (two 8-byte stores read back by one 16-byte load) even from intrinsics,
// hence the asm.
inline void store_val(Val& out, const Val& v) {
#ifdef __AVX__
  static_assert(sizeof(Val) == 16 && offsetof(Val, lo) == 8);
  __m128i x;
  asm("vmovq %1, %0\n\tvpinsrq $1, %2, %0, %0" : "=&x"(x) : "r"(v.hi), "r"(v.lo));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(&out), x);
#else
  out = v;
#endif
}
// Value by value: the values were just written one 16-byte store each, and a
// wider load (memcpy/std::copy: a libc call with masked AVX-512 moves, or one
// 64-byte move) fails to forward from them and waits for every older store,
// such as the new group's cold lines.
inline void copy_vals(Val* dst, const Val* src, size_t n) {
  for (size_t i = 0; i < n; i++) store_val(dst[i], src[i]);
}
}  // namespace

bool Correlator::Key::operator==(const Key& o) const {
  if (id != o.id) return false;
  for (uint8_t i = 0; i < n(); i++)
    if (v[i] != o.v[i]) return false;
  return true;
}

bool Correlator::Key::is(const Group& g) const {
  if ((uint32_t(g.corr) | uint32_t(g.nkey) << 16) != id) return false;
  for (uint8_t i = 0; i < n(); i++)
    if (g.key[i] != v[i]) return false;
  return true;
}

size_t Correlator::KeyHash::operator()(const Key& k) const {
  uint64_t h = 0x9e3779b97f4a7c15ull * (k.corr() + 1);
  for (uint8_t i = 0; i < k.n(); i++) h = (h ^ ValHash()(k.v[i])) * 0xff51afd7ed558ccdull;
  return size_t(h ^ (h >> 31));
}

// A group, its LRU links, key hash, free-list entry, two index slots and its
// share of the member ring (8 members and their sequence numbers).
size_t Correlator::group_bytes() {
  return sizeof(Group) + sizeof(Lru) + 8 + sizeof(int32_t) + 2 * sizeof(Slot) + kGroupMembers * (sizeof(Member) + 8);
}

void Correlator::Unmap::operator()(void* p) const { munmap(p, bytes); }

namespace {
// Zeroed memory on transparent huge pages where the kernel allows (madvise):
// a random group or ring entry otherwise costs a page walk as well as a miss.
void* map_huge(size_t& bytes) {
  bytes = (bytes + (2u << 20) - 1) & ~size_t((2u << 20) - 1);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  madvise(p, bytes, MADV_HUGEPAGE);  // advice only: 4 KB pages if refused
  return p;
}
}  // namespace

Correlator::Correlator(const RuleSet& rs, const AttackTable& t, uint32_t max_groups)
    : rs_(rs), t_(t), npool_(std::max<uint32_t>(max_groups, 16)), lru_(npool_), khash_(npool_) {
  size_t bytes = npool_ * sizeof(Group);
  pool_ = std::unique_ptr<Group[], Unmap>(static_cast<Group*>(map_huge(bytes)), Unmap{bytes});
  std::uninitialized_default_construct_n(pool_.get(), npool_);  // trivially destructible
  size_t r = 1;
  while (r < kGroupMembers * npool_) r <<= 1;
  bytes = r * sizeof(Member);
  ring_ = std::unique_ptr<Member[], Unmap>(static_cast<Member*>(map_huge(bytes)), Unmap{bytes});
  std::uninitialized_default_construct_n(ring_.get(), r);
  ring_seq_.assign(r, 0);
  ring_mask_ = r - 1;
  free_.reserve(npool_);
  for (int32_t i = int32_t(npool_) - 1; i >= 0; i--) free_.push_back(i);
  size_t n = 1;
  while (n < 2 * npool_) n <<= 1;
  index_.assign(n, Slot{});
  mask_ = n - 1;
  use_cand_ = rs.selectors.size() <= 64;
  for (size_t si = 0; use_cand_ && si < rs.selectors.size(); si++) {
    const Selector& x = rs.selectors[si];
    for (uint8_t k = 0; k < uint8_t(Kind::kKindEnd); k++)
      for (uint8_t ta = 0; ta < 64; ta++)
        if ((x.kinds >> k & 1) && (!x.tactics || (x.tactics >> ta & 1))) cand_[k][ta] |= uint64_t(1) << si;
  }
}

// Slot of k in the index (found: returns the group), else the empty slot that ends the probe.
int32_t Correlator::find(const Key& k, uint64_t h, size_t& pos) const {
  for (pos = h & mask_;; pos = (pos + 1) & mask_) {
    const Slot s = index_[pos];
    if (s.g < 0 || (s.h == uint32_t(h) && k.is(pool_[size_t(s.g)]))) return s.g;
  }
}

// Backward-shift deletion keeps every probe sequence unbroken.
void Correlator::index_erase(size_t pos) {
  index_[pos] = Slot{};
  for (size_t j = (pos + 1) & mask_; index_[j].g >= 0; j = (j + 1) & mask_) {
    size_t home = index_[j].h & mask_;  // mask_ < 2^32
    bool movable = pos <= j ? (home <= pos || home > j) : (home <= pos && home > j);
    if (movable) {
      index_[pos] = index_[j];
      index_[j] = Slot{};
      pos = j;
    }
  }
}

void Correlator::unlink(int32_t i) {
  Lru& g = lru_[size_t(i)];
  (g.prev >= 0 ? lru_[size_t(g.prev)].next : head_) = g.next;
  (g.next >= 0 ? lru_[size_t(g.next)].prev : tail_) = g.prev;
  g.prev = g.next = -1;
}

void Correlator::link_tail(int32_t i) {
  Lru& g = lru_[size_t(i)];
  g.prev = tail_;
  g.next = -1;
  (tail_ >= 0 ? lru_[size_t(tail_)].next : head_) = i;
  tail_ = i;
}

// By its index slot, found from the hash: the (cold) group itself is not read.
void Correlator::release(int32_t i) {
  unlink(i);
  size_t pos = khash_[size_t(i)] & mask_;
  while (index_[pos].g >= 0 && index_[pos].g != i) pos = (pos + 1) & mask_;
  if (index_[pos].g == i) index_erase(pos);
  free_.push_back(i);
}

int32_t Correlator::find_or_make(const Key& k, uint64_t now) {
  size_t pos;
  const uint64_t h = KeyHash()(k);
  int32_t hit = find(k, h, pos);
  if (hit >= 0) {
    unlink(hit);
    link_tail(hit);
    return hit;
  }
  // Drop up to two idle groups from the LRU head (their window has passed).
  for (int n = 0; n < 2 && head_ >= 0; n++) {
    if (lru_[size_t(head_)].expire >= now) break;
    release(head_);
    ctr.groups_expired++;
  }
  if (free_.empty()) {
    release(head_);
    ctr.groups_evicted++;
  }
  int32_t i = free_.back();
  free_.pop_back();
  Group& g = pool_[size_t(i)];
  g.corr = k.corr();
  g.nkey = k.n();
  copy_vals(g.key, k.v, k.n());
  g.nmem = g.mem_head = 0;
  g.used = 0;
  g.last_ts = 0;
  khash_[size_t(i)] = h;
  lru_[size_t(i)].expire = 0;
  find(k, h, pos);  // releases above may have moved the probe's end
  index_[pos] = Slot{i, uint32_t(h)};
  link_tail(i);
  ctr.groups_created++;
  return i;
}

// Written in order: the ring's lines are cold only once per 128 bytes of input.
uint64_t Correlator::add_member(const Detection& d) {
  const uint64_t s = ++seq_;
  ring_[s & ring_mask_] = Member::of(d, t_);
  ring_seq_[s & ring_mask_] = s;
  return s;
}

// Most updates make a group: from the free list or, the pool full, by
// evicting the LRU head. The lines the next n would touch (the group's first
// three, its key hash and index slot) are asked for before the first update,
// so that their misses overlap instead of following each other.
void Correlator::prefetch_next(int n) {
  auto lines = [&](int32_t i) {
    const char* g = reinterpret_cast<const char*>(&pool_[size_t(i)]);
    __builtin_prefetch(g, 1);
    __builtin_prefetch(g + 64, 1);
    __builtin_prefetch(g + 128, 1);
  };
  if (!free_.empty()) {
    for (size_t k = 0; k < size_t(n) && k < free_.size(); k++) lines(free_[free_.size() - 1 - k]);
    return;
  }
  for (int32_t h = head_; n-- > 0 && h >= 0; h = lru_[size_t(h)].next) {
    lines(h);
    __builtin_prefetch(&index_[khash_[size_t(h)] & mask_], 1);
  }
}

void Correlator::process(const Detection& d) {
  ctr.events++;
  uint32_t masks[64] = {};
  uint16_t touched[64];
  int nt = 0;
  auto take = [&](size_t si) {
    if (!rs_.selectors[si].matches(d, t_)) return;
    ctr.selector_hits++;
    for (auto [ci, ri] : rs_.sel_users[si]) {
      if (ci >= 64) continue;
      if (!masks[ci]) touched[nt++] = ci;
      masks[ci] |= 1u << ri;
    }
  };
  if (use_cand_ && uint8_t(d.kind) < uint8_t(Kind::kKindEnd) && d.tactic < 64) {
    for (uint64_t c = cand_[uint8_t(d.kind)][d.tactic]; c; c &= c - 1) take(size_t(__builtin_ctzll(c)));
  } else {
    for (size_t si = 0; si < rs_.selectors.size(); si++) take(si);
  }
  if (!nt) return;
  prefetch_next(nt);
  // Insertion sort of a few: std::sort's memmove of 2-byte elements (masked
  // AVX-512 loads, which do not forward from stores) was 4-7% of samples.
  for (int i = 1; i < nt; i++)
    for (int j = i; j > 0 && touched[j] < touched[j - 1]; j--) std::swap(touched[j], touched[j - 1]);
  const uint64_t ms = add_member(d);  // once per detection, for every group it joins
  for (int i = 0; i < nt; i++) update(touched[i], d, ms, nullptr, masks[touched[i]]);
}

void Correlator::update(uint16_t ci, const Detection& d, uint64_t ms, const Val* key_in, uint32_t ref_mask) {
  const Correlation& c = rs_.correlations[ci];
  // One 16-byte store per value: GCC copied a returned Val through a stack
  // temporary as two 8-byte stores read back by one 16-byte load, a failed
  // store forward that waits for every older store to retire (the cold group
  // and ring lines of the updates before): ~80% of this function's samples.
  auto fv = [&](const FieldRef& f, Val& out) {
    if (f.slot >= 0 && key_in) {
      out = key_in[f.slot];
      return;
    }
    store_val(out, field_value(d, f.field, t_));
  };
  // The same detection may belong to different groups through different
  // referenced rules (aliases): one update per distinct key.
  Key keys[kMaxRefs];
  Val vals[kMaxRefs];
  for (uint32_t ri = 0; ri < c.refs.size(); ri++) {
    if (!(ref_mask >> ri & 1)) continue;
    keys[ri].id = ci | uint32_t(c.group_by.size()) << 16;
    for (size_t g = 0; g < c.group_by.size(); g++) fv(c.refs[ri].group[g], keys[ri].v[g]);
    if (c.type == CorrType::kValueCount) fv(c.refs[ri].value, vals[ri]);
  }
  uint32_t todo = ref_mask;
  while (todo) {
    uint32_t first = uint32_t(__builtin_ctz(todo)), sub = 0;
    for (uint32_t ri = first; ri < c.refs.size(); ri++)
      if ((todo >> ri & 1) && keys[ri] == keys[first]) sub |= 1u << ri;
    todo &= ~sub;
    int32_t gi = find_or_make(keys[first], d.ts_ns);
    Group& g = pool_[size_t(gi)];
    g.last_ts = std::max(g.last_ts, d.ts_ns);
    lru_[size_t(gi)].expire = g.last_ts + c.timespan_ns;
    g.mem[g.mem_head] = ms;
    g.mem_head = uint8_t((g.mem_head + 1) % kGroupMembers);
    if (g.nmem < kGroupMembers) g.nmem++;
    uint64_t count = 0;
    if (!evaluate(c, g, d.ts_ns, sub, vals, count)) continue;
    Val key[kMaxGroupBy];
    copy_vals(key, g.key, g.nkey);
    match(c, ci, g, d, count);
    if (depth_ < 16) {  // rules referring to this one (the set is acyclic; 16 bounds the chain)
      depth_++;
      for (auto [cj, rj] : rs_.corr_users[ci]) update(cj, d, ms, key, 1u << rj);
      depth_--;
    }
  }
}

// Hands the group's members within its window to on_match, then starts the
// group over (like Sigma back ends' "reset" action).
void Correlator::match(const Correlation& c, uint16_t ci, Group& g, const Detection& d, uint64_t count) {
  ctr.matches++;
  Match m;
  m.rule = &c, m.corr = ci, m.group = &g, m.trigger = &d, m.nmembers = 0, m.count = count;
  // Sigma: the events of a correlation lie within its timespan; a group that
  // outlived it keeps older members, which are not part of this match.
  const uint64_t lo = g.last_ts > c.timespan_ns ? g.last_ts - c.timespan_ns : 0;  // evaluate's window
  for (uint8_t k = 0; k < g.nmem; k++) {
    const uint64_t s = g.mem[(g.mem_head + kGroupMembers - g.nmem + k) % kGroupMembers];
    if (ring_seq_[s & ring_mask_] != s) {
      ctr.members_lost++;
      continue;
    }
    const Member* x = &ring_[s & ring_mask_];
    if (x->ts >= lo) m.members[m.nmembers++] = x;
  }
  for (uint8_t k = 1; k < m.nmembers; k++)  // insertion sort by time (at most 8), stable
    for (uint8_t j = k; j > 0 && m.members[j]->ts < m.members[j - 1]->ts; j--) std::swap(m.members[j], m.members[j - 1]);
  g.nmem = g.mem_head = 0;
  g.used = 0;
  if (on_match_) on_match_(m);
}

namespace {
// Keeps the latest times of slots [lo, lo + n): t replaces the oldest, or the
// first free slot (these types never store 0, so a free slot is the oldest).
void keep_latest(Group& g, size_t lo, size_t n, uint64_t t) {
  uint32_t range = uint32_t(((uint64_t(1) << n) - 1) << lo), free = ~g.used & range;
  size_t slot = lo;
  if (free) {
    slot = size_t(__builtin_ctz(free));
  } else {
    for (size_t i = lo + 1; i < lo + n; i++)
      if (g.ts[i] < g.ts[slot]) slot = i;
  }
  if (g.t(slot) < t) g.set_t(slot, t);
}
}  // namespace

// Windows are anchored at the group's newest detection time, not at arrival:
// the data plane's workers run at different paces, so a detection may arrive
// after later ones (e.g. a flow record at expiry, an owner's behaviour alert).
bool Correlator::evaluate(const Correlation& c, Group& g, uint64_t t, uint32_t sub, const Val* vals, uint64_t& count) {
  const uint64_t span = c.timespan_ns, anchor = g.last_ts;
  const uint64_t lo = anchor > span ? anchor - span : 0;  // window [newest - timespan, newest], both ends in
  auto in = [&](uint64_t x) { return x != 0 && x >= lo; };
  count = 0;
  auto count_used = [&] {
    for (uint32_t u = g.used; u; u &= u - 1) count += in(g.ts[__builtin_ctz(u)]);
  };
  switch (c.type) {
    case CorrType::kEventCount:  // one event however many referenced rules it matched
      keep_latest(g, 0, kGroupSlots, t);
      count_used();
      break;
    case CorrType::kValueCount: {
      for (uint32_t ri = 0; ri < c.refs.size(); ri++) {
        if (!(sub >> ri & 1)) continue;
        uint64_t h = ValHash()(vals[ri]) | 1;  // never 0 (an unused slot's)
        size_t slot = kGroupSlots;
        for (uint32_t u = g.used; u && slot == kGroupSlots; u &= u - 1)
          if (g.vh[__builtin_ctz(u)] == h) slot = size_t(__builtin_ctz(u));
        if (slot == kGroupSlots) {  // new value: a free or the stalest slot
          slot = 0;
          for (size_t i = 1; i < kGroupSlots; i++)
            if (g.t(i) < g.t(slot)) slot = i;
          g.vh[slot] = h;
          g.set_t(slot, 0);
        }
        g.set_t(slot, std::max(g.ts[slot], t));
      }
      count_used();
      break;
    }
    case CorrType::kTemporal:
      for (uint32_t ri = 0; ri < c.refs.size(); ri++)
        if (sub >> ri & 1) g.set_t(ri, std::max(g.t(ri), t));
      for (uint32_t ri = 0; ri < c.refs.size(); ri++) count += in(g.t(ri));
      break;
    case CorrType::kTemporalOrdered: {
      // The latest K times per rule; a chain t0 <= t1 <= ... with t_last - t0 <=
      // timespan is searched over them (K = 32 / rules: at most 8 x 4 x 8 steps).
      const size_t n = c.refs.size(), k = kGroupSlots / n;
      for (uint32_t ri = 0; ri < n; ri++)
        if (sub >> ri & 1) keep_latest(g, ri * k, k, t);
      // Over the used slots only (a fresh group has one).
      auto used_of = [&](size_t ri) { return uint32_t(g.used >> (ri * k)) & uint32_t((uint64_t(1) << k) - 1); };
      for (uint32_t u0 = used_of(0); u0; u0 &= u0 - 1) {
        uint64_t s = g.ts[__builtin_ctz(u0)], prev = s;
        if (!s) continue;
        uint64_t len = 1;
        for (size_t ri = 1; ri < n; ri++) {
          uint64_t best = 0;
          for (uint32_t u = used_of(ri); u; u &= u - 1) {
            uint64_t x = g.ts[ri * k + size_t(__builtin_ctz(u))];
            if (x && x >= prev && x - s <= span && (!best || x < best)) best = x;
          }
          if (!best) break;
          prev = best;
          len++;
        }
        count = std::max(count, len);
      }
      break;
    }
  }
  return count > 0 && c.cond.holds(count);
}

}  // namespace spectre::cortex
