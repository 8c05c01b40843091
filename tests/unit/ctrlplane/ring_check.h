// Test payloads for the shm rings: length and content are functions of the
// message's sequence number, so the consumer checks every byte without
// sharing state with the producer; both sides also fold an order-dependent
// checksum over the messages they published / received.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "ctrlplane/shm_channel.h"

namespace spectre::ctrl::testing {

inline constexpr uint16_t kData = 1;
inline constexpr uint16_t kEnd = 2;

inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// 1..max_len bytes.
inline uint32_t payload_len(uint64_t seq, uint64_t salt, uint32_t max_len) {
  return 1 + static_cast<uint32_t>(mix64(seq ^ salt) % max_len);
}

inline void fill_payload(uint64_t seq, uint64_t salt, uint8_t* p, uint32_t len) {
  uint32_t i = 0;
  for (uint64_t w = 0; i < len; ++w) {
    const uint64_t v = mix64(seq * 0x100000001b3ull + w + salt);
    const uint32_t n = len - i < 8 ? len - i : 8;
    std::memcpy(p + i, &v, n);
    i += n;
  }
}

inline bool check_payload(uint64_t seq, uint64_t salt, const uint8_t* p, uint32_t len) {
  uint32_t i = 0;
  for (uint64_t w = 0; i < len; ++w) {
    const uint64_t v = mix64(seq * 0x100000001b3ull + w + salt);
    const uint32_t n = len - i < 8 ? len - i : 8;
    if (std::memcmp(p + i, &v, n) != 0) return false;
    i += n;
  }
  return true;
}

// Order-dependent fold of (seq, first and last 8 bytes, length).
inline uint64_t fold(uint64_t acc, uint64_t seq, const uint8_t* p, uint32_t len) {
  uint64_t a = 0, b = 0;
  std::memcpy(&a, p, len < 8 ? len : 8);
  std::memcpy(&b, p + (len > 8 ? len - 8 : 0), len < 8 ? len : 8);
  return mix64(acc ^ seq) ^ mix64(a + 31 * b + len);
}

inline std::string unique_name(const char* tag) {
  static int counter = 0;
  return std::string("ut-") + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

// Unlinks the segment at scope end (tests must not leave /dev/shm litter).
struct ShmGuard {
  std::string name;
  ~ShmGuard() {
    std::string err;
    ShmChannel::unlink(name, err);
  }
};

}  // namespace spectre::ctrl::testing
