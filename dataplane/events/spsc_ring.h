// Single-producer single-consumer ring of fixed-size slots. Lock-free;
// producer and consumer indices sit on separate cache lines and each side
// caches the other's index to touch the shared line only when needed.
#pragma once
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace spectre {

template <typename T>
class SpscRing {
 public:
  explicit SpscRing(uint32_t capacity_pow2) {
    cap_ = 1;
    while (cap_ < capacity_pow2) cap_ <<= 1;
    mask_ = cap_ - 1;
    slots_ = static_cast<T*>(std::aligned_alloc(64, ((sizeof(T) * cap_) + 63) & ~size_t(63)));
    if (!slots_) throw std::bad_alloc();
  }
  ~SpscRing() { std::free(slots_); }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer. False when full.
  bool push(const T& v) {
    uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_cache_ >= cap_) {
      head_cache_ = head_.load(std::memory_order_acquire);  // pairs with pop's release
      if (t - head_cache_ >= cap_) return false;
    }
    slots_[t & mask_] = v;
    tail_.store(t + 1, std::memory_order_release);  // publishes the slot
    return true;
  }
  // Producer, in place for large records: claim() a slot (null when full),
  // fill it, then commit(). At most one claim outstanding.
  T* claim() {
    uint64_t t = tail_.load(std::memory_order_relaxed);
    if (t - head_cache_ >= cap_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (t - head_cache_ >= cap_) return nullptr;
    }
    return &slots_[t & mask_];
  }
  void commit() { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  // Consumer, in place: peek() the oldest slot (null when empty), then release().
  const T* peek() {
    uint64_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (h == tail_cache_) return nullptr;
    }
    return &slots_[h & mask_];
  }
  void release() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  // Consumer. False when empty.
  bool pop(T& out) {
    uint64_t h = head_.load(std::memory_order_relaxed);
    if (h == tail_cache_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);  // pairs with push's release
      if (h == tail_cache_) return false;
    }
    out = slots_[h & mask_];
    head_.store(h + 1, std::memory_order_release);  // frees the slot
    return true;
  }
  // Approximate, any thread.
  uint64_t size() const {
    return tail_.load(std::memory_order_relaxed) - head_.load(std::memory_order_relaxed);
  }
  uint32_t capacity() const { return cap_; }

 private:
  alignas(64) std::atomic<uint64_t> head_{0};  // consumer writes
  uint64_t tail_cache_ = 0;                    // consumer's copy of tail_
  alignas(64) std::atomic<uint64_t> tail_{0};  // producer writes
  uint64_t head_cache_ = 0;                    // producer's copy of head_
  alignas(64) T* slots_ = nullptr;
  uint32_t cap_ = 0, mask_ = 0;
};

}  // namespace spectre
