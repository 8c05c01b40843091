// Lock-free single-producer single-consumer byte ring for variable-size
// messages, living in shared memory (ctrlplane/shm_channel.h maps it). The
// producer never blocks: a push that does not fit returns false and counts a
// drop. Every push attempt consumes a sequence number, so the consumer sees a
// dropped message as a jump in sequence numbers and counts it as a gap.
//
// Memory layout of one ring (offsets inside the segment, all 64-aligned):
//   RingCtl (kRingCtlBytes) | data[capacity]
// A record is MsgHeader (16 bytes) + payload padded to 8 bytes. A record never
// wraps: when fewer bytes than the record remain before the end of the data
// area, the producer skips them. If at least 16 bytes remain it writes a skip
// marker header (type kMsgSkip); if only 8 remain, both sides skip them
// implicitly (a header cannot fit there).
//
// Positions (head, tail) are byte counts since creation (never wrap in 64
// bits); offset = position & (capacity - 1).
//
// Ordering: the producer writes the record, then stores tail with release; the
// consumer loads tail with acquire before reading records below it. The consumer
// stores head with release after it is done reading a record; the producer
// loads head with acquire before overwriting bytes below it. Each side keeps
// the other's index cached in its process-local endpoint and reloads it only
// when the cached value says full/empty, so the shared lines move rarely.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace spectre::ctrl {

struct MsgHeader {
  uint16_t type;
  uint16_t flags;
  uint32_t length;  // payload bytes, without padding
  uint64_t seq;     // per ring, one per push attempt
};
static_assert(sizeof(MsgHeader) == 16);

inline constexpr uint16_t kMsgSkip = 0xFFFF;  // reserved type: rest of the data area is padding
inline constexpr uint32_t kRingCtlBytes = 256;
inline constexpr uint32_t kRingMinBytes = 4096;
inline constexpr uint32_t kRingMaxBytes = 1u << 28;  // 256 MiB per ring

inline constexpr uint32_t record_bytes(uint32_t len) { return 16 + ((len + 7u) & ~7u); }

enum class RingKind : uint32_t { Event = 1, Command = 2, Response = 3 };

// Control block at the start of every ring, in shared memory. Counters are
// single-writer (the side named in the comment) and read by anyone.
struct RingCtl {
  // Producer line.
  alignas(64) std::atomic<uint64_t> tail;  // bytes published (release)
  std::atomic<uint64_t> next_seq;          // seq of the next attempt
  std::atomic<uint64_t> drops;             // attempts refused (full or oversize)
  std::atomic<uint64_t> pushed;            // messages published
  std::atomic<uint64_t> oversize;          // attempts longer than max_payload (in drops too)
  // Consumer line.
  alignas(64) std::atomic<uint64_t> head;  // bytes released (release)
  std::atomic<uint64_t> expected_seq;      // seq the consumer expects next
  std::atomic<uint64_t> gaps;              // seq numbers never seen (sum of jumps)
  std::atomic<uint64_t> received;          // messages consumed
  std::atomic<uint64_t> corrupt;           // bad headers met (the visible rest was discarded)
  std::atomic<uint64_t> reordered;         // seq lower than expected (must stay 0)
  // Immutable after creation.
  alignas(64) uint32_t capacity;
  uint32_t kind;   // RingKind
  uint32_t index;  // worker for event rings
  uint32_t reserved;
};
static_assert(sizeof(RingCtl) <= kRingCtlBytes);
static_assert(std::atomic<uint64_t>::is_always_lock_free, "shared-memory atomics must be lock-free");

// A consumed message; data points into the ring and stays valid until pop().
struct Message {
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t length = 0;
  uint64_t seq = 0;
  const uint8_t* data = nullptr;
};

// Producer endpoint (process-local state + pointers into the segment). Only one
// producer per ring may exist at a time across all processes.
class RingProducer {
 public:
  RingProducer() = default;
  RingProducer(RingCtl* ctl, uint8_t* data) { bind(ctl, data); }
  // Continues from the ring's current tail and sequence (re-attaching producer).
  void bind(RingCtl* ctl, uint8_t* data) {
    ctl_ = ctl;
    data_ = data;
    cap_ = ctl->capacity;
    mask_ = cap_ - 1;
    tail_ = ctl->tail.load(std::memory_order_relaxed);
    seq_ = ctl->next_seq.load(std::memory_order_relaxed);
    drops_ = ctl->drops.load(std::memory_order_relaxed);
    pushed_ = ctl->pushed.load(std::memory_order_relaxed);
    head_cache_ = ctl->head.load(std::memory_order_acquire);
  }
  bool valid() const { return ctl_ != nullptr; }

  // Largest payload: half the ring, so a record always fits an empty ring even
  // after a skip at the end.
  uint32_t max_payload() const { return cap_ / 2 - 16; }

  // Copies len bytes as one message. Never blocks; false (and one drop
  // counted) when the ring is full or len > max_payload(). Cost: one memcpy,
  // a few local compares, two stores on the producer line; the consumer's line
  // is read only when the cached head says full.
  bool try_push(uint16_t type, const void* bytes, uint32_t len, uint16_t flags = 0) {
    uint8_t* p = try_claim(len);
    if (!p) return false;
    if (len) std::memcpy(p, bytes, len);
    commit(type, flags);
    return true;
  }

  // In place: claim room for len payload bytes (null = dropped, counted, seq
  // consumed), write them, then commit(). At most one claim outstanding.
  uint8_t* try_claim(uint32_t len) {
    const uint64_t seq = seq_++;
    ctl_->next_seq.store(seq_, std::memory_order_relaxed);
    if (len > max_payload()) {
      ctl_->oversize.store(ctl_->oversize.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      return drop();
    }
    const uint32_t rec = record_bytes(len);
    uint64_t pos = tail_;
    const uint32_t to_end = cap_ - static_cast<uint32_t>(pos & mask_);
    const uint32_t pad = to_end < rec ? to_end : 0;
    if (!room(pad + rec)) return drop();
    if (pad) {
      if (pad >= sizeof(MsgHeader)) {
        auto* skip = reinterpret_cast<MsgHeader*>(data_ + (pos & mask_));
        *skip = MsgHeader{kMsgSkip, 0, pad - 16, seq};
      }
      pos += pad;
    }
    auto* h = reinterpret_cast<MsgHeader*>(data_ + (pos & mask_));
    h->length = len;
    h->seq = seq;
    claim_pos_ = pos;
    claim_end_ = pos + rec;
    return data_ + (pos & mask_) + sizeof(MsgHeader);
  }
  void commit(uint16_t type, uint16_t flags = 0) {
    auto* h = reinterpret_cast<MsgHeader*>(data_ + (claim_pos_ & mask_));
    h->type = type;
    h->flags = flags;
    tail_ = claim_end_;
    ++pushed_;
    ctl_->pushed.store(pushed_, std::memory_order_relaxed);
    ctl_->tail.store(tail_, std::memory_order_release);  // publishes the record (pairs with consumer's acquire)
  }

  // True when a len-byte message would fit now. Consumes no sequence number:
  // a producer that must not lose (offline runs) waits on this before try_push.
  bool can_push(uint32_t len) {
    if (len > max_payload()) return false;
    const uint32_t rec = record_bytes(len);
    const uint32_t to_end = cap_ - static_cast<uint32_t>(tail_ & mask_);
    return room((to_end < rec ? to_end : 0) + rec);
  }

  uint64_t drops() const { return drops_; }
  uint64_t pushed() const { return pushed_; }
  uint64_t next_seq() const { return seq_; }
  uint32_t capacity() const { return cap_; }
  // Bytes in use (approximate: reads the consumer's head).
  uint64_t used_bytes() const { return tail_ - ctl_->head.load(std::memory_order_relaxed); }

 private:
  bool room(uint32_t need) {
    if (tail_ + need - head_cache_ <= cap_) return true;
    head_cache_ = ctl_->head.load(std::memory_order_acquire);  // pairs with consumer's release
    return tail_ + need - head_cache_ <= cap_;
  }
  uint8_t* drop() {
    ++drops_;
    ctl_->drops.store(drops_, std::memory_order_relaxed);
    return nullptr;
  }

  RingCtl* ctl_ = nullptr;
  uint8_t* data_ = nullptr;
  uint32_t cap_ = 0, mask_ = 0;
  uint64_t tail_ = 0, head_cache_ = 0, seq_ = 0, drops_ = 0, pushed_ = 0;
  uint64_t claim_pos_ = 0, claim_end_ = 0;
};

// Consumer endpoint. Only one consumer per ring at a time across all processes.
// Never trusts the producer's bytes: a header that does not fit below tail or
// inside the data area is counted as corrupt and everything visible is
// discarded (the sequence gap then shows what was lost).
class RingConsumer {
 public:
  RingConsumer() = default;
  RingConsumer(RingCtl* ctl, uint8_t* data) { bind(ctl, data); }
  // Continues from the ring's current head: messages produced while no consumer
  // was attached are still there (or were counted as drops by the producer).
  void bind(RingCtl* ctl, uint8_t* data) {
    ctl_ = ctl;
    data_ = data;
    cap_ = ctl->capacity;
    mask_ = cap_ - 1;
    head_ = ctl->head.load(std::memory_order_relaxed);
    next_ = head_;
    expected_ = ctl->expected_seq.load(std::memory_order_relaxed);
    gaps_ = ctl->gaps.load(std::memory_order_relaxed);
    received_ = ctl->received.load(std::memory_order_relaxed);
    tail_cache_ = ctl->tail.load(std::memory_order_acquire);
  }
  bool valid() const { return ctl_ != nullptr; }

  // The oldest message, without consuming it. False when empty.
  bool peek(Message& m) {
    for (;;) {
      uint64_t h = head_;
      if (h == tail_cache_) {
        tail_cache_ = ctl_->tail.load(std::memory_order_acquire);  // pairs with producer's release
        if (h == tail_cache_) return false;
      }
      const uint64_t avail = tail_cache_ - h;
      const uint32_t to_end = cap_ - static_cast<uint32_t>(h & mask_);
      if (avail > cap_) return corrupt();
      if (to_end < sizeof(MsgHeader)) {  // implicit skip of an 8-byte tail end
        if (avail < to_end) return corrupt();
        skip(to_end);
        continue;
      }
      MsgHeader hd;
      std::memcpy(&hd, data_ + (h & mask_), sizeof hd);
      if (hd.type == kMsgSkip) {
        if (avail < to_end) return corrupt();
        skip(to_end);
        continue;
      }
      if (hd.length > cap_ / 2) return corrupt();
      const uint32_t rec = record_bytes(hd.length);
      if (rec > to_end || rec > avail) return corrupt();
      m.type = hd.type;
      m.flags = hd.flags;
      m.length = hd.length;
      m.seq = hd.seq;
      m.data = data_ + (h & mask_) + sizeof(MsgHeader);
      next_ = h + rec;
      return true;
    }
  }

  // Consumes the message returned by the last peek(): counts a gap when its
  // seq jumped, then frees its bytes for the producer.
  void pop(const Message& m) {
    account(m.seq);
    head_ = next_;
    publish();
  }

  // Calls f(const Message&) for up to max messages, releasing the ring space
  // every 32 messages and at the end. Returns the number handled.
  template <typename F>
  size_t drain(F&& f, size_t max = SIZE_MAX) {
    size_t n = 0;
    Message m;
    while (n < max && peek(m)) {
      f(static_cast<const Message&>(m));
      account(m.seq);
      head_ = next_;
      if ((++n & 31) == 0) publish();
    }
    if (n & 31) publish();
    return n;
  }

  uint64_t gaps() const { return gaps_; }
  uint64_t received() const { return received_; }
  uint64_t reordered() const { return reordered_; }
  uint64_t corrupt_count() const { return corrupt_; }
  uint64_t expected_seq() const { return expected_; }
  uint32_t capacity() const { return cap_; }
  // Bytes waiting (approximate).
  uint64_t used_bytes() const { return ctl_->tail.load(std::memory_order_relaxed) - head_; }

 private:
  void account(uint64_t seq) {
    if (seq >= expected_) {
      gaps_ += seq - expected_;
    } else {
      ++reordered_;
      ctl_->reordered.store(reordered_, std::memory_order_relaxed);
    }
    expected_ = seq + 1;
    ++received_;
  }
  void skip(uint32_t n) {
    head_ += n;
    ctl_->head.store(head_, std::memory_order_release);
  }
  void publish() {
    ctl_->expected_seq.store(expected_, std::memory_order_relaxed);
    ctl_->gaps.store(gaps_, std::memory_order_relaxed);
    ctl_->received.store(received_, std::memory_order_relaxed);
    ctl_->head.store(head_, std::memory_order_release);  // frees the bytes (pairs with producer's acquire)
  }
  bool corrupt() {
    ++corrupt_;
    ctl_->corrupt.store(ctl_->corrupt.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    head_ = tail_cache_;
    next_ = head_;
    publish();
    return false;
  }

  RingCtl* ctl_ = nullptr;
  uint8_t* data_ = nullptr;
  uint32_t cap_ = 0, mask_ = 0;
  uint64_t head_ = 0, next_ = 0, tail_cache_ = 0, expected_ = 0;
  uint64_t gaps_ = 0, received_ = 0, reordered_ = 0, corrupt_ = 0;
};

}  // namespace spectre::ctrl
