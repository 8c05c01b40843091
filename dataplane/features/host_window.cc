#include "dataplane/features/host_window.h"

#include <cmath>
#include <cstring>
#include <new>

#include <sys/mman.h>

namespace spectre {

namespace {

constexpr uint32_t kBits = 128;  // per bitmap and sub-window: estimates up to ~600 distinct

inline uint64_t mix(const uint8_t* a, size_t n, uint64_t seed) {
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v;
    std::memcpy(&v, a + i, 8);
    h = (h ^ v) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
  }
  return h;
}

// Linear counting: n ~= -m ln(zeros/m); all bits set caps at m ln m. The
// values for zeros = 1..m from a table of the same floats (two logarithms per
// scored row were ~100 cycles).
struct EstimateTable {
  float v[kBits + 1];
  EstimateTable() {
    v[0] = 0;
    for (uint32_t z = 1; z <= kBits; z++) v[z] = float(-double(kBits) * std::log(double(z) / kBits));
  }
};
const EstimateTable kEstimate;

float estimate(const uint64_t (&bits)[2]) {
  int ones = __builtin_popcountll(bits[0]) + __builtin_popcountll(bits[1]);
  int zeros = int(kBits) - ones;
  if (zeros == 0) zeros = 1;
  return kEstimate.v[zeros];
}

}  // namespace

struct HostWindow::Entry {
  uint8_t addr[16];
  uint64_t last_epoch;           // 0: empty (epochs start at 1)
  uint64_t epoch[kSlots];        // sub-window held by each slot
  uint64_t dsts[kSlots][2], ports[kSlots][2];
  uint32_t conns[kSlots], done[kSlots], failed[kSlots];
};

HostWindow::HostWindow(uint32_t hosts, uint64_t window_ns) {
  uint32_t n = 4;
  while (n < hosts && n < (1u << 26)) n <<= 1;
  sets_ = n / 4;
  slot_ = Divider(window_ns / kSlots);  // 0 -> 1
  map_bytes_ = size_t(n) * sizeof(Entry);
  // Reserved, not committed: only touched sets cost memory.
  void* p = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  table_ = static_cast<Entry*>(p);
}

HostWindow::~HostWindow() {
  if (table_) munmap(table_, map_bytes_);
}

const HostWindow::Entry* HostWindow::find(const uint8_t* src) const {
  const Entry* set = table_ + (mix(src, 16, 1) & (sets_ - 1)) * 4;
  for (int i = 0; i < 4; i++)
    if (set[i].last_epoch && std::memcmp(set[i].addr, src, 16) == 0) return &set[i];
  return nullptr;
}

HostWindow::Entry* HostWindow::find(const uint8_t* src, bool create, uint64_t epoch) {
  Entry* set = table_ + (mix(src, 16, 1) & (sets_ - 1)) * 4;
  Entry* victim = &set[0];
  for (int i = 0; i < 4; i++) {
    Entry& e = set[i];
    if (e.last_epoch && std::memcmp(e.addr, src, 16) == 0) {
      if (epoch > e.last_epoch) e.last_epoch = epoch;
      return &e;
    }
    if (e.last_epoch < victim->last_epoch) victim = &e;
  }
  if (!create) return nullptr;
  if (victim->last_epoch) evictions_++;
  std::memset(victim, 0, sizeof(Entry));
  std::memcpy(victim->addr, src, 16);
  victim->last_epoch = epoch;
  return victim;
}

namespace {
// The slot for `epoch` (>= every epoch stored), cleared when it held an older sub-window.
template <class E>
uint32_t slot_for(E& e, uint64_t epoch) {
  uint32_t s = uint32_t(epoch % HostWindow::kSlots);
  if (e.epoch[s] != epoch) {
    e.epoch[s] = epoch;
    e.dsts[s][0] = e.dsts[s][1] = e.ports[s][0] = e.ports[s][1] = 0;
    e.conns[s] = e.done[s] = e.failed[s] = 0;
  }
  return s;
}
}  // namespace

void HostWindow::flow_started(const uint8_t* src, const uint8_t* dst, uint16_t dport, uint64_t ts_ns) {
  uint64_t epoch = slot_.div(ts_ns) + 1;
  Entry* e = find(src, true, epoch);
  if (epoch < e->last_epoch) epoch = e->last_epoch;  // late: credit the newest sub-window
  uint32_t s = slot_for(*e, epoch);
  uint64_t hd = mix(dst, 16, 2) % kBits;
  uint8_t pb[16] = {uint8_t(dport), uint8_t(dport >> 8)};
  uint64_t hp = mix(pb, 16, 3) % kBits;  // fully mixed: sequential ports must collide like random ones
  e->dsts[s][hd >> 6] |= 1ull << (hd & 63);
  e->ports[s][hp >> 6] |= 1ull << (hp & 63);
  e->conns[s]++;
}

void HostWindow::flow_outcome(const uint8_t* src, bool failed, uint64_t ts_ns) {
  uint64_t epoch = slot_.div(ts_ns) + 1;
  Entry* e = find(src, true, epoch);
  // An unanswered flow's outcome is known only when it expires, stamped with
  // its last packet: credit it to the newest sub-window, never clear that one.
  if (epoch < e->last_epoch) epoch = e->last_epoch;
  uint32_t s = slot_for(*e, epoch);
  e->done[s]++;
  if (failed) e->failed[s]++;
}

HostStats HostWindow::stats(const uint8_t* src, uint64_t ts_ns) const {
  HostStats r;
  const Entry* e = find(src);
  if (!e) return r;
  uint64_t epoch = slot_.div(ts_ns) + 1;
  if (epoch < e->last_epoch) epoch = e->last_epoch;  // as of the host's newest sub-window
  uint64_t d[2] = {0, 0}, p[2] = {0, 0};
  uint32_t conns = 0, done = 0, failed = 0;
  for (uint32_t s = 0; s < kSlots; s++) {
    // Sub-windows epoch-3 .. epoch (a later one can exist when time ran backwards).
    if (e->epoch[s] + kSlots <= epoch || e->epoch[s] > epoch) continue;
    d[0] |= e->dsts[s][0]; d[1] |= e->dsts[s][1];
    p[0] |= e->ports[s][0]; p[1] |= e->ports[s][1];
    conns += e->conns[s];
    done += e->done[s];
    failed += e->failed[s];
  }
  r.distinct_dsts = estimate(d);
  r.distinct_dports = estimate(p);
  r.conns = float(conns);
  r.failed_ratio = done ? float(failed) / float(done) : 0.0f;
  return r;
}

}  // namespace spectre
