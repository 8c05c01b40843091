#include "dataplane/flow/flow_table.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include <rte_prefetch.h>

namespace spectre {

namespace {
constexpr size_t kHuge = 2u << 20;

// Table memory: 2 MiB-aligned anonymous mapping advised for transparent huge
// pages. Buckets are hit at random; with 4 KiB pages nearly every lookup at
// 100k flows also missed the TLB.
void* table_alloc(size_t bytes) {
  size_t len = (bytes + kHuge - 1) & ~(kHuge - 1);
  void* p = mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  uintptr_t a = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~uintptr_t(kHuge - 1);
  size_t head = a - reinterpret_cast<uintptr_t>(p);
  if (head) munmap(p, head);
  munmap(reinterpret_cast<void*>(a + len), kHuge - head);
  madvise(reinterpret_cast<void*>(a), len, MADV_HUGEPAGE);  // best effort
  return reinterpret_cast<void*>(a);
}
void table_free(void* p, size_t bytes) {
  if (p) munmap(p, (bytes + kHuge - 1) & ~(kHuge - 1));
}

uint32_t bucket_count(uint32_t max_flows) {
  uint64_t want = (uint64_t(max_flows) * 2 + 7) / 8;  // 50% slot load
  uint32_t n = 2;
  while (n < want) n <<= 1;
  return n;
}
}  // namespace

size_t FlowTable::bytes_for(uint32_t max_flows) {
  return size_t(bucket_count(max_flows)) * sizeof(Bucket) + (size_t(max_flows) + 1) * sizeof(Flow);
}

FlowTable::FlowTable(uint32_t max_flows) : max_(max_flows) {
  uint32_t nb = bucket_count(max_flows);
  mask_ = nb - 1;
  buckets_ = static_cast<Bucket*>(table_alloc(size_t(nb) * sizeof(Bucket)));
  flows_ = static_cast<Flow*>(table_alloc((size_t(max_flows) + 1) * sizeof(Flow)));
  if (!buckets_ || !flows_) {
    table_free(buckets_, size_t(nb) * sizeof(Bucket));
    table_free(flows_, (size_t(max_flows) + 1) * sizeof(Flow));
    throw std::bad_alloc();
  }
  // Fresh anonymous mappings are zero: nothing to clear, pages fault in on use.
}

FlowTable::~FlowTable() {
  table_free(buckets_, size_t(mask_ + 1) * sizeof(Bucket));
  table_free(flows_, (size_t(max_) + 1) * sizeof(Flow));
}

uint32_t FlowTable::lookup(const FlowKey& key, uint32_t hash) const {
  const Bucket* bs[2] = {&buckets_[hash & mask_], &buckets_[bucket2(hash)]};
  for (const Bucket* b : bs)
    for (int i = 0; i < 8; i++)
      if (b->sig[i] == hash && b->idx[i] && flows_[b->idx[i]].key == key) return b->idx[i];
  return 0;
}

bool FlowTable::index_insert(uint32_t hash, uint32_t idx) {
  Bucket* b1 = &buckets_[hash & mask_];
  Bucket* b2 = &buckets_[bucket2(hash)];
  int n1 = 0, n2 = 0;
  for (int i = 0; i < 8; i++) {
    n1 += b1->idx[i] != 0;
    n2 += b2->idx[i] != 0;
  }
  Bucket* b = n1 <= n2 ? b1 : b2;  // the emptier of the two choices
  for (int i = 0; i < 8; i++)
    if (!b->idx[i]) {
      b->sig[i] = hash;
      b->idx[i] = idx;
      return true;
    }
  return false;
}

void FlowTable::index_remove(uint32_t hash, uint32_t idx) {
  Bucket* bs[2] = {&buckets_[hash & mask_], &buckets_[bucket2(hash)]};
  for (Bucket* b : bs)
    for (int i = 0; i < 8; i++)
      if (b->idx[i] == idx) {
        b->idx[i] = 0;
        return;
      }
}

void FlowTable::lru_unlink(uint32_t idx) {
  Flow& f = flows_[idx];
  uint8_t c = f.tmo_class;
  if (c == kUnlinked) return;
  if (f.lru_prev) flows_[f.lru_prev].lru_next = f.lru_next; else lru_head_[c] = f.lru_next;
  if (f.lru_next) flows_[f.lru_next].lru_prev = f.lru_prev; else lru_tail_[c] = f.lru_prev;
  f.lru_prev = f.lru_next = 0;
  f.tmo_class = kUnlinked;
}

void FlowTable::lru_push(uint32_t idx, uint8_t c) {
  Flow& f = flows_[idx];
  f.tmo_class = c;
  f.lru_next = 0;
  f.lru_prev = lru_tail_[c];
  if (lru_tail_[c]) flows_[lru_tail_[c]].lru_next = idx; else lru_head_[c] = idx;
  lru_tail_[c] = idx;
}

void FlowTable::touch(uint32_t idx, uint8_t cls) {
  if (lru_tail_[cls] == idx && flows_[idx].tmo_class == cls) return;  // already newest
  lru_unlink(idx);
  lru_push(idx, cls);
}

void FlowTable::remove(uint32_t idx) {
  Flow& f = flows_[idx];
  lru_unlink(idx);
  index_remove(f.hash, idx);
  f.key.ip_ver = 0;  // a stale index held in a burst no longer matches any key
  f.lru_next = free_head_;
  free_head_ = idx;
  used_--;
}

uint32_t FlowTable::oldest_idle() const {
  uint32_t best = 0;
  for (uint8_t c = 0; c < kTmoClassCount; c++) {
    uint32_t h = lru_head_[c];
    if (h && (!best || flows_[h].last_ts < flows_[best].last_ts)) best = h;
  }
  return best;
}

}  // namespace spectre
