#include "dataplane/core/divider.h"

#include <gtest/gtest.h>

#include <random>

namespace spectre {
namespace {

TEST(Divider, EdgeValuesMatchHardwareDivision) {
  const uint64_t ds[] = {1, 2, 3, 7, 10, 15000000000ull, 60000000000ull, 1ull << 32, (1ull << 63) - 1,
                         1ull << 63, ~0ull - 1, ~0ull};
  const uint64_t ns[] = {0, 1, 2, 3, 14999999999ull, 15000000000ull, 15000000001ull, 1ull << 63, ~0ull - 1, ~0ull};
  for (uint64_t d : ds)
    for (uint64_t n : ns) {
      EXPECT_EQ(Divider(d).div(n), n / d) << n << " / " << d;
      for (uint64_t k : {d - 1, d, d + 1, 2 * d - 1, 2 * d})  // around multiples of d
        EXPECT_EQ(Divider(d).div(k), k / d) << k << " / " << d;
    }
  EXPECT_EQ(Divider(0).div(12345), 12345u);  // 0 is taken as 1
}

TEST(Divider, RandomPacketTimesMatchHardwareDivision) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; i++) {
    uint64_t d = rng() >> (rng() % 64);
    if (!d) d = 1;
    Divider v(d);
    for (int j = 0; j < 200; j++) {
      uint64_t n = rng() >> (rng() % 64);
      ASSERT_EQ(v.div(n), n / d) << n << " / " << d;
      uint64_t q = n / d;  // the largest n of its quotient: where an estimate one low shows
      uint64_t top = q * d + (d - 1);
      if (top >= q * d) ASSERT_EQ(v.div(top), top / d) << top << " / " << d;
    }
  }
}

}  // namespace
}  // namespace spectre
