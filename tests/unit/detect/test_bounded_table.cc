// BoundedTable (the threshold and xbits tables): find, claim of free and
// expired slots, refusal or eviction of the entry expiring first when the
// neighbourhood is full; capacity rounding.
#include <gtest/gtest.h>

#include "dataplane/detect/bounded_table.h"

namespace spectre::detect_internal {
namespace {

struct Key {
  uint32_t a, b;
};
struct Entry {
  Key key;
  uint64_t until_ns;  // 0: free
  bool live() const { return until_ns != 0; }
  bool reusable(uint64_t now) const { return !until_ns || now >= until_ns; }
};

TEST(BoundedTable, CapacityFindClaim) {
  BoundedTable<Key, Entry> t(100);
  EXPECT_EQ(t.capacity(), 128u);
  EXPECT_EQ((BoundedTable<Key, Entry>(3).capacity()), 16u);
  bool found, evicted;
  Entry* e = t.claim({1, 2}, 10, false, found, evicted);
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(found);
  e->key = {1, 2};
  e->until_ns = 50;
  EXPECT_EQ(t.find({1, 2}), e);
  EXPECT_EQ(t.find({2, 1}), nullptr);
  EXPECT_EQ(t.claim({1, 2}, 20, false, found, evicted), e);
  EXPECT_TRUE(found);
  e->until_ns = 0;  // freed
  EXPECT_EQ(t.find({1, 2}), nullptr);
}

// 16 slots and 8 probes: many keys fill every neighbourhood; then a new key
// is refused without eviction, or takes the probed entry expiring first.
TEST(BoundedTable, FullNeighbourhoodRefusesOrEvictsEarliest) {
  BoundedTable<Key, Entry> t(16);
  bool found, evicted;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < 64; i++) {
    Entry* e = t.claim({i, 0}, 0, false, found, evicted);
    if (!e) continue;
    e->key = {i, 0};
    e->until_ns = 1000 + i;
    kept++;
  }
  EXPECT_EQ(kept, 16u);  // every slot taken, the rest refused
  EXPECT_EQ(t.claim({999, 0}, 0, false, found, evicted), nullptr);
  Entry* e = t.claim({999, 0}, 0, true, found, evicted);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(evicted);
  // The evicted entry expires no later than any other entry of its probe window.
  const uint64_t victim = e->until_ns;
  uint32_t later = 0;
  for (uint32_t i = 0; i < 64; i++)
    if (const Entry* x = t.find({i, 0})) later += x->until_ns >= victim;
  EXPECT_GE(later, 8u);
  // After expiry (now >= until) the slot is reusable without eviction.
  Entry* r = t.claim({1000, 0}, 5000, false, found, evicted);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(evicted);
}

}  // namespace
}  // namespace spectre::detect_internal
