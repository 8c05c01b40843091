// SPSC ring: capacity rounding, full/empty, wrap-around, 2-thread stress.
#include <gtest/gtest.h>

#include <thread>

#include "dataplane/events/event.h"
#include "dataplane/events/spsc_ring.h"

namespace spectre {
namespace {

TEST(SpscRing, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(SpscRing<int>(1).capacity(), 1u);
  EXPECT_EQ(SpscRing<int>(5).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(8).capacity(), 8u);
  EXPECT_EQ(SpscRing<int>(1000).capacity(), 1024u);
}

TEST(SpscRing, FullAndEmpty) {
  SpscRing<uint64_t> r(4);
  uint64_t v = 99;
  EXPECT_FALSE(r.pop(v));
  EXPECT_EQ(v, 99u);
  EXPECT_EQ(r.size(), 0u);
  for (uint64_t i = 0; i < 4; i++) EXPECT_TRUE(r.push(i));
  EXPECT_EQ(r.size(), 4u);
  EXPECT_FALSE(r.push(100));
  EXPECT_TRUE(r.pop(v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(r.push(4));
  EXPECT_FALSE(r.push(101));
  for (uint64_t i = 1; i <= 4; i++) {
    ASSERT_TRUE(r.pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(r.pop(v));
  EXPECT_EQ(r.size(), 0u);
}

TEST(SpscRing, WrapAroundKeepsOrder) {
  SpscRing<uint32_t> r(8);
  uint32_t next_in = 0, next_out = 0;
  // Batches of 5 against capacity 8: the indices wrap at every position.
  for (int round = 0; round < 100; round++) {
    for (int i = 0; i < 5; i++) ASSERT_TRUE(r.push(next_in++));
    uint32_t v;
    for (int i = 0; i < 5; i++) {
      ASSERT_TRUE(r.pop(v));
      ASSERT_EQ(v, next_out++);
    }
    ASSERT_FALSE(r.pop(v));
  }
  // Fill to the brim after wrapping.
  for (uint32_t i = 0; i < 8; i++) ASSERT_TRUE(r.push(1000 + i));
  EXPECT_FALSE(r.push(0));
  uint32_t v;
  for (uint32_t i = 0; i < 8; i++) {
    ASSERT_TRUE(r.pop(v));
    EXPECT_EQ(v, 1000 + i);
  }
}

TEST(SpscRing, CarriesEvents) {
  SpscRing<Event> r(2);
  Event e{};
  e.type = EventType::kFlow;
  e.flow.flow_id = 12345;
  e.flow.src[15] = 7;
  e.flow.sport = 443;
  ASSERT_TRUE(r.push(e));
  Event out{};
  ASSERT_TRUE(r.pop(out));
  EXPECT_EQ(out.flow.flow_id, 12345u);
  EXPECT_EQ(out.flow.src[15], 7);
  EXPECT_EQ(out.flow.sport, 443);
}

// One producer pushes 10 million sequence numbers through a small ring; the
// consumer checks order and that none is lost or duplicated.
TEST(SpscRing, TwoThreadStressTenMillion) {
  constexpr uint64_t kN = 10'000'000;
  SpscRing<uint64_t> r(1024);
  std::thread producer([&] {
    for (uint64_t i = 0; i < kN; i++) {
      int spins = 0;
      while (!r.push(i)) {
        if (++spins % 64 == 0) std::this_thread::yield();
      }
    }
  });
  uint64_t expect = 0, sum = 0, mismatches = 0;
  int spins = 0;
  while (expect < kN) {
    uint64_t v;
    if (!r.pop(v)) {
      if (++spins % 64 == 0) std::this_thread::yield();
      continue;
    }
    if (v != expect) mismatches++;
    sum += v;
    expect++;
  }
  producer.join();
  uint64_t v;
  EXPECT_FALSE(r.pop(v));
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(sum, kN * (kN - 1) / 2);
  EXPECT_EQ(r.size(), 0u);
}

}  // namespace
}  // namespace spectre
