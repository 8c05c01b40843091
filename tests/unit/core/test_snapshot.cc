// Snapshot publication and RCU (QSBR) reclamation.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "dataplane/core/snapshot.h"

namespace spectre {
namespace {

std::unique_ptr<Snapshot> snap(uint64_t gen) {
  Config c;
  c.max_flows = uint32_t(gen + 1);  // a field readers can cross-check
  return build_snapshot(c, gen);
}

TEST(Snapshot, BuildConvertsUnits) {
  Config c;
  c.timeouts_s[kTmoUdp] = 7;
  c.timeouts_s[kTmoTcpEstablished] = 4000000000u;
  c.defrag_timeout_s = 9;
  c.expire_budget = 77;
  auto s = build_snapshot(c, 5);
  EXPECT_EQ(s->generation, 5u);
  EXPECT_EQ(s->tmo_ns[kTmoUdp], 7000000000ull);
  EXPECT_EQ(s->tmo_ns[kTmoTcpEstablished], 4000000000ull * 1000000000ull);
  EXPECT_EQ(s->tmo_ns[kTmoTcpNew], 60000000000ull);
  EXPECT_EQ(s->defrag_timeout_ns, 9000000000ull);
  EXPECT_EQ(s->expire_budget, 77u);
  EXPECT_EQ(s->cfg.timeouts_s[kTmoUdp], 7u);
}

TEST(Snapshot, OnlineThreadDelaysReclaimUntilQuiescent) {
  SnapshotManager m(snap(1), 4);
  m.thread_online(0);
  const Snapshot* held = m.current();
  EXPECT_EQ(held->generation, 1u);
  m.quiescent(0);  // a quiescent state before publish does not count
  m.publish(snap(2));
  EXPECT_EQ(m.current()->generation, 2u);
  EXPECT_EQ(m.published(), 1u);
  EXPECT_EQ(m.freed(), 0u);
  EXPECT_EQ(m.reclaim(), 1u);
  EXPECT_EQ(held->generation, 1u);  // still readable (ASan would flag a free)
  m.quiescent(0);
  EXPECT_EQ(m.reclaim(), 0u);
  EXPECT_EQ(m.freed(), 1u);
  m.thread_offline(0);
}

TEST(Snapshot, EveryOnlineThreadMustPass) {
  SnapshotManager m(snap(1), 4);
  m.thread_online(1);
  m.thread_online(3);
  m.publish(snap(2));
  m.publish(snap(3));
  EXPECT_EQ(m.reclaim(), 2u);
  m.quiescent(1);
  EXPECT_EQ(m.reclaim(), 2u);
  EXPECT_EQ(m.freed(), 0u);
  m.quiescent(3);
  EXPECT_EQ(m.reclaim(), 0u);
  EXPECT_EQ(m.freed(), 2u);
  // A snapshot published after thread 3's last quiescent state waits again.
  m.quiescent(1);
  m.publish(snap(4));
  m.quiescent(1);
  EXPECT_EQ(m.reclaim(), 1u);
  m.thread_offline(3);  // going offline releases the grace period
  EXPECT_EQ(m.reclaim(), 0u);
  EXPECT_EQ(m.freed(), 3u);
  m.thread_offline(1);
}

TEST(Snapshot, OfflineThreadsDoNotBlock) {
  SnapshotManager m(snap(1), 2);
  m.publish(snap(2));  // nobody registered
  EXPECT_EQ(m.freed(), 1u);
  m.thread_online(0);
  m.thread_offline(0);
  m.publish(snap(3));
  EXPECT_EQ(m.freed(), 2u);  // publish() reclaims what it can at once
  EXPECT_EQ(m.reclaim(), 0u);
  m.wait_all();
  EXPECT_EQ(m.freed(), m.published());
}

TEST(Snapshot, WaitAllBlocksUntilReaderIsQuiescent) {
  SnapshotManager m(snap(1), 1);
  m.thread_online(0);
  m.publish(snap(2));
  std::atomic<bool> done{false};
  std::thread waiter([&] {
    m.wait_all();
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(done.load());
  m.quiescent(0);
  waiter.join();
  EXPECT_TRUE(done.load());
  EXPECT_EQ(m.freed(), 1u);
  m.thread_offline(0);
}

// A reader loops current()/quiescent() while the main thread publishes 1000
// snapshots. Under ASan, a snapshot freed while still held is reported.
TEST(Snapshot, TwoThreadStress) {
  SnapshotManager m(snap(0), 2);
  std::atomic<bool> stop{false}, ready{false};
  std::atomic<uint64_t> reads{0}, bad{0};
  std::thread reader([&] {
    m.thread_online(1);
    ready = true;
    uint64_t last = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const Snapshot* s = m.current();
      for (int i = 0; i < 4; i++) {  // hold it across a few reads
        uint64_t g = s->generation;
        if (s->cfg.max_flows != g + 1 || g < last) bad++;
        last = g;
      }
      reads++;
      m.quiescent(1);
    }
    m.thread_offline(1);
  });
  while (!ready) std::this_thread::yield();
  for (uint64_t g = 1; g <= 1000; g++) {
    m.publish(snap(g));
    m.reclaim();
    if (g % 100 == 0) std::this_thread::yield();
  }
  m.wait_all();  // the reader is still running: returns once it passes a quiescent point
  EXPECT_EQ(m.published(), 1000u);
  EXPECT_EQ(m.freed(), m.published());
  EXPECT_EQ(m.current()->generation, 1000u);
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace spectre
