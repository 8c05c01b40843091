// The worker bus (bus/bus.h): rank order, ties in subscription order,
// capacity refusal, and the worker's own wiring.
#include <gtest/gtest.h>

#include <string>

#include "dataplane/bus/bus.h"

namespace spectre {
namespace {

struct Msg {
  int v;
};

// Each subscriber appends its tag and the message's value to the log it is given.
struct Tagged {
  std::string* log;
  char tag;
};
void note(void* c, const Msg& m) {
  auto* t = static_cast<Tagged*>(c);
  *t->log += t->tag;
  *t->log += char('0' + m.v);
}

TEST(Bus, RunsByRankThenSubscriptionOrder) {
  std::string log;
  Tagged out{&log, 'o'}, ml{&log, 'm'}, insp{&log, 'i'}, ml2{&log, 'n'};
  bus::Topic<Msg, 4> t;
  ASSERT_TRUE(t.subscribe(note, &out, bus::kRankOutput));
  ASSERT_TRUE(t.subscribe(note, &ml, bus::kRankMl));
  ASSERT_TRUE(t.subscribe(note, &insp, bus::kRankInspect));
  ASSERT_TRUE(t.subscribe(note, &ml2, bus::kRankMl));  // same rank: after the first
  t.publish({7});
  EXPECT_EQ(log, "i7m7n7o7");
  log.clear();
  t.publish({3});
  EXPECT_EQ(log, "i3m3n3o3");
}

TEST(Bus, FullTopicRefuses) {
  std::string log;
  Tagged a{&log, 'a'}, b{&log, 'b'}, c{&log, 'c'};
  bus::Topic<Msg, 2> t;
  EXPECT_EQ(t.capacity(), 2);
  EXPECT_FALSE(t.subscribe(nullptr, &a, 1));
  EXPECT_EQ(t.size(), 0);
  EXPECT_TRUE(t.subscribe(note, &a, 5));
  EXPECT_TRUE(t.subscribe(note, &b, 5));
  EXPECT_FALSE(t.subscribe(note, &c, 1));  // full, whatever its rank
  EXPECT_EQ(t.size(), 2);
  t.publish({1});
  EXPECT_EQ(log, "a1b1");
}

TEST(Bus, EmptyTopicPublishesToNobody) {
  bus::Topic<Msg, 3> t;
  t.publish({1});
  EXPECT_EQ(t.size(), 0);
}

TEST(Bus, NewSubscriberLeavesTheOthersInPlace) {
  std::string log;
  Tagged insp{&log, 'i'}, ml{&log, 'm'}, out{&log, 'o'}, det{&log, 'd'};
  bus::Topic<Msg, 4> t;
  t.subscribe(note, &insp, bus::kRankInspect);
  t.subscribe(note, &ml, bus::kRankMl);
  t.subscribe(note, &out, bus::kRankOutput);
  t.publish({1});
  EXPECT_EQ(log, "i1m1o1");
  log.clear();
  ASSERT_TRUE(t.subscribe(note, &det, bus::kRankIntel + 1));  // a new detector, before the output
  t.publish({2});
  EXPECT_EQ(log, "i2m2d2o2");
}

}  // namespace
}  // namespace spectre
