#include "dataplane/core/session.h"

#include <cstring>
#include <new>

#include <sys/mman.h>

namespace spectre {

SessionPool::SessionPool(uint32_t slots) : slots_(slots + 1) {  // index 0 is null
  hdr_bytes_ = (sizeof(SessionHdr) + 63) & ~size_t(63);
  slot_ = (hdr_bytes_ + app_state_size() + 63) & ~size_t(63);
  map_bytes_ = slot_ * slots_;
  // Reserved, not committed: pages are touched only as slots are first used.
  void* p = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  base_ = static_cast<uint8_t*>(p);
}

SessionPool::~SessionPool() {
  if (base_) munmap(base_, map_bytes_);
}

uint32_t SessionPool::alloc() {
  uint32_t idx;
  if (free_head_) {
    idx = free_head_;
    free_head_ = hdr(idx).next_free;
  } else if (next_unused_ < slots_) {
    idx = next_unused_++;
  } else {
    return 0;
  }
  SessionHdr& h = *new (&hdr(idx)) SessionHdr{};
  app_state_init(app(idx));
  h.ready = 1;
  in_use_++;
  return idx;
}

void SessionPool::free(uint32_t idx) {
  hdr(idx).next_free = free_head_;
  free_head_ = idx;
  in_use_--;
}

}  // namespace spectre
