// shm rings: single-thread model check (order, fullness, skip markers,
// oversize) and two-thread stress per ring with a slow consumer: every
// message arrives intact and in order unless counted as a drop, and the
// consumer's gap count equals the producer's drop count.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <random>
#include <thread>
#include <vector>

#include "ctrlplane/shm_channel.h"
#include "tests/unit/ctrlplane/ring_check.h"

namespace spectre::ctrl {
namespace {

using namespace testing;

struct ProducerResult {
  uint64_t attempts = 0, drops = 0, pushed = 0, sum = 0, bytes = 0;
};
struct ConsumerResult {
  uint64_t received = 0, gaps = 0, mismatches = 0, reordered = 0, corrupt = 0, sum = 0;
  uint64_t last_seq = 0;
  bool end_seen = false;
};

// Pushes n attempts of payload_len(seq) bytes (never waiting), then an end
// marker (waiting for room, so it is never dropped). Odd seqs are written in
// place with try_claim, even ones copied with try_push.
// Runs at least n attempts and until min_pushed messages were accepted (the
// machine is shared: the consumer thread may get little CPU for a while).
ProducerResult produce(RingProducer p, uint64_t n, uint64_t salt, uint32_t max_len, uint64_t min_pushed = 0) {
  ProducerResult r;
  std::vector<uint8_t> buf(max_len);
  uint64_t fails = 0;
  for (uint64_t i = 0; i < n || p.pushed() < min_pushed; ++i) {
    const uint64_t seq = p.next_seq();
    const uint32_t len = payload_len(seq, salt, max_len);
    bool ok;
    if (seq & 1) {
      uint8_t* dst = p.try_claim(len);
      ok = dst != nullptr;
      if (ok) {
        fill_payload(seq, salt, dst, len);
        r.sum = fold(r.sum, seq, dst, len);
        p.commit(kData);
      }
    } else {
      fill_payload(seq, salt, buf.data(), len);
      ok = p.try_push(kData, buf.data(), len);
      if (ok) r.sum = fold(r.sum, seq, buf.data(), len);
    }
    r.attempts++;
    if (ok) {
      r.bytes += record_bytes(len);
      fails = 0;
    } else if (++fails % 1024 == 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));  // bounds the attempts, still drops
    }
  }
  while (!p.can_push(8)) std::this_thread::yield();
  const uint64_t end = 0xE17D;
  EXPECT_TRUE(p.try_push(kEnd, &end, sizeof end));
  r.drops = p.drops();
  r.pushed = p.pushed();
  return r;
}

// Drains until the end marker. slow_every: after that many messages, sleep
// for sleep_us (so the ring fills and the producer drops).
ConsumerResult consume(RingConsumer c, uint64_t salt, uint32_t max_len, uint64_t slow_every, int sleep_us) {
  ConsumerResult r;
  uint64_t since_sleep = 0;
  while (!r.end_seen) {
    const size_t got = c.drain([&](const Message& m) {
      if (m.type == kEnd) {
        r.end_seen = true;
        r.last_seq = m.seq;
        return;
      }
      if (m.type != kData || m.length != payload_len(m.seq, salt, max_len) ||
          !check_payload(m.seq, salt, m.data, m.length)) {
        r.mismatches++;
        return;
      }
      r.sum = fold(r.sum, m.seq, m.data, m.length);
      r.last_seq = m.seq;
    }, r.end_seen ? 0 : 256);
    since_sleep += got;
    if (slow_every && since_sleep >= slow_every) {
      since_sleep = 0;
      std::this_thread::sleep_for(std::chrono::microseconds(sleep_us));
    }
    if (!got) std::this_thread::yield();
  }
  r.received = c.received();
  r.gaps = c.gaps();
  r.reordered = c.reordered();
  r.corrupt = c.corrupt_count();
  return r;
}

void expect_consistent(const ProducerResult& p, const ConsumerResult& c, const RingCtl& ctl) {
  EXPECT_TRUE(c.end_seen);
  EXPECT_EQ(c.mismatches, 0u);
  EXPECT_EQ(c.reordered, 0u);
  EXPECT_EQ(c.corrupt, 0u);
  EXPECT_EQ(c.gaps, p.drops) << "consumer-side gaps must equal producer-side drops";
  EXPECT_EQ(c.received + p.drops, p.attempts + 1);  // + end marker
  EXPECT_EQ(c.received, p.pushed);
  EXPECT_EQ(c.last_seq, p.attempts);  // the end marker took the last seq
  EXPECT_EQ(c.sum, p.sum);
  // The shared counters say the same as the endpoints.
  EXPECT_EQ(ctl.drops.load(), p.drops);
  EXPECT_EQ(ctl.gaps.load(), c.gaps);
  EXPECT_EQ(ctl.received.load(), c.received);
  EXPECT_EQ(ctl.head.load(), ctl.tail.load());
}

TEST(ShmRing, StressSlowConsumerCountsEveryDrop) {
  const std::string name = unique_name("stress");
  ShmGuard guard{name};
  std::string err;
  RingSizes sizes{64u << 10, 4096, 4096};
  auto dp = ShmChannel::create(name, 1, sizes, err);
  ASSERT_TRUE(dp) << err;
  auto cp = ShmChannel::attach(name, err);
  ASSERT_TRUE(cp) << err;
  const uint64_t n = 2'000'000, salt = 0x5eed;
  ConsumerResult cr;
  std::thread consumer([&] { cr = consume(cp->event_consumer(0), salt, 2048, 20000, 2000); });
  ProducerResult pr = produce(dp->event_producer(0), n, salt, 2048, 300'000);
  consumer.join();
  std::printf("  attempts %lu, received %lu, drops %lu, gaps %lu, bytes through the ring %lu\n",
              (unsigned long)pr.attempts, (unsigned long)cr.received, (unsigned long)pr.drops,
              (unsigned long)cr.gaps, (unsigned long)pr.bytes);
  expect_consistent(pr, cr, cp->event_ring(0));
  EXPECT_GT(pr.drops, 0u) << "the slow consumer should have let the ring fill";
  EXPECT_GT(cr.received, 300'000u);
  EXPECT_GT(pr.bytes, 100u * sizes.event_bytes) << "the ring should have wrapped many times";
}

// One producer and one consumer thread on every ring of a channel at once.
TEST(ShmRing, StressAllRingsConcurrently) {
  const std::string name = unique_name("allrings");
  ShmGuard guard{name};
  std::string err;
  RingSizes sizes{16u << 10, 8u << 10, 32u << 10};
  auto dp = ShmChannel::create(name, 2, sizes, err);
  ASSERT_TRUE(dp) << err;
  auto cp = ShmChannel::attach(name, err);
  ASSERT_TRUE(cp) << err;
  const uint64_t n = 300'000;
  struct Pair {
    RingProducer p;
    RingConsumer c;
    const RingCtl* ctl;
    uint32_t max_len;
    ProducerResult pr;
    ConsumerResult cr;
  };
  std::vector<Pair> pairs = {
      {dp->event_producer(0), cp->event_consumer(0), &cp->event_ring(0), 2048, {}, {}},
      {dp->event_producer(1), cp->event_consumer(1), &cp->event_ring(1), 2048, {}, {}},
      {cp->command_producer(), dp->command_consumer(), &cp->command_ring(), 1024, {}, {}},
      {dp->response_producer(), cp->response_consumer(), &cp->response_ring(), 2048, {}, {}},
  };
  std::vector<std::thread> threads;
  for (size_t i = 0; i < pairs.size(); ++i) {
    Pair& pr = pairs[i];
    threads.emplace_back([&pr, i, n] { pr.pr = produce(pr.p, n, 77 + i, pr.max_len); });
    threads.emplace_back([&pr, i] { pr.cr = consume(pr.c, 77 + i, pr.max_len, 5000, 1000); });
  }
  for (auto& t : threads) t.join();
  for (auto& p : pairs) {
    SCOPED_TRACE(p.ctl->kind);
    expect_consistent(p.pr, p.cr, *p.ctl);
  }
}

// A producer that waits for room (can_push) loses nothing.
TEST(ShmRing, WaitingProducerLosesNothing) {
  const std::string name = unique_name("wait");
  ShmGuard guard{name};
  std::string err;
  auto dp = ShmChannel::create(name, 1, RingSizes{8192, 4096, 4096}, err);
  ASSERT_TRUE(dp) << err;
  auto cp = ShmChannel::attach(name, err);
  ASSERT_TRUE(cp) << err;
  const uint64_t n = 200'000, salt = 9;
  ConsumerResult cr;
  std::thread consumer([&] { cr = consume(cp->event_consumer(0), salt, 600, 10000, 500); });
  RingProducer p = dp->event_producer(0);
  ProducerResult pr;
  std::vector<uint8_t> buf(600);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t seq = p.next_seq();
    const uint32_t len = payload_len(seq, salt, 600);
    fill_payload(seq, salt, buf.data(), len);
    while (!p.can_push(len)) std::this_thread::yield();
    ASSERT_TRUE(p.try_push(kData, buf.data(), len));
    pr.sum = fold(pr.sum, seq, buf.data(), len);
    pr.attempts++;
  }
  const uint64_t end = 1;
  while (!p.can_push(8)) std::this_thread::yield();
  ASSERT_TRUE(p.try_push(kEnd, &end, 8));
  pr.drops = p.drops();
  pr.pushed = p.pushed();
  consumer.join();
  EXPECT_EQ(pr.drops, 0u);
  EXPECT_EQ(cr.gaps, 0u);
  EXPECT_EQ(cr.received, n + 1);
  expect_consistent(pr, cr, cp->event_ring(0));
}

// Single thread against a model (a deque of what was accepted): pops return
// exactly the accepted messages in order; a push is refused only when the
// bytes in use plus the record (and any skip before it) exceed the capacity.
// Both skip kinds (>= 16-byte marker and the implicit 8-byte end) occur.
TEST(ShmRing, ModelCheckWithSkipMarkers) {
  const std::string name = unique_name("model");
  ShmGuard guard{name};
  std::string err;
  auto ch = ShmChannel::create(name, 1, RingSizes{4096, 4096, 4096}, err);
  ASSERT_TRUE(ch) << err;
  RingProducer p = ch->event_producer(0);
  RingConsumer c = ch->event_consumer(0);
  const RingCtl& ctl = ch->event_ring(0);
  std::mt19937_64 rng(42);
  struct Want {
    uint64_t seq;
    uint32_t len;
  };
  std::deque<Want> model;
  uint64_t refused = 0, pad8 = 0, pad_marker = 0, expected_gaps = 0;
  std::vector<uint8_t> buf(p.max_payload());
  for (int step = 0; step < 200000; ++step) {
    if (rng() % 100 < 55) {
      // Mostly small, sometimes large, sometimes multiples of 8 so that 8-byte
      // ends occur.
      uint32_t len = rng() % 4 == 0 ? rng() % (p.max_payload() + 1) : rng() % 200;
      if (rng() % 3 == 0) len &= ~7u;
      const uint64_t seq = p.next_seq();
      fill_payload(seq, 1, buf.data(), len);
      const uint64_t tail = ctl.tail.load(), head = ctl.head.load();
      const uint32_t to_end = 4096 - static_cast<uint32_t>(tail & 4095);
      const uint32_t rec = record_bytes(len);
      const uint32_t pad = to_end < rec ? to_end : 0;
      const bool fits = (tail - head) + pad + rec <= 4096;
      const bool ok = p.try_push(kData, buf.data(), len);
      ASSERT_EQ(ok, fits) << "step " << step;
      if (ok) {
        model.push_back({seq, len});
        if (pad == 8) pad8++;
        if (pad >= 16) pad_marker++;
      } else {
        refused++;
        expected_gaps++;
      }
    } else {
      Message m;
      const bool got = c.peek(m);
      ASSERT_EQ(got, !model.empty()) << "step " << step;
      if (!got) continue;
      ASSERT_EQ(m.seq, model.front().seq);
      ASSERT_EQ(m.length, model.front().len);
      ASSERT_TRUE(check_payload(m.seq, 1, m.data, m.length));
      c.pop(m);
      model.pop_front();
    }
  }
  Message m;
  while (c.peek(m)) {
    ASSERT_EQ(m.seq, model.front().seq);
    c.pop(m);
    model.pop_front();
  }
  EXPECT_TRUE(model.empty());
  EXPECT_GT(refused, 0u);
  EXPECT_GT(pad8, 0u);
  EXPECT_GT(pad_marker, 0u);
  EXPECT_EQ(p.drops(), refused);
  // Drops after the last received message are not visible as a gap yet.
  EXPECT_LE(c.gaps(), expected_gaps);
  EXPECT_EQ(c.corrupt_count(), 0u);
}

TEST(ShmRing, OversizeRefusedAndCounted) {
  const std::string name = unique_name("oversize");
  ShmGuard guard{name};
  std::string err;
  auto ch = ShmChannel::create(name, 1, RingSizes{8192, 4096, 4096}, err);
  ASSERT_TRUE(ch) << err;
  RingProducer p = ch->event_producer(0);
  RingConsumer c = ch->event_consumer(0);
  EXPECT_EQ(p.max_payload(), 4096u - 16);
  std::vector<uint8_t> big(p.max_payload() + 1, 0xab);
  EXPECT_FALSE(p.try_push(kData, big.data(), p.max_payload() + 1));
  EXPECT_EQ(p.drops(), 1u);
  EXPECT_EQ(ch->event_ring(0).oversize.load(), 1u);
  EXPECT_FALSE(p.can_push(p.max_payload() + 1));
  // The largest payload fits an empty ring, also across the end.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(p.try_push(kData, big.data(), p.max_payload()));
    Message m;
    ASSERT_TRUE(c.peek(m));
    EXPECT_EQ(m.length, p.max_payload());
    EXPECT_EQ(m.seq, 2 * uint64_t(i) + 1);
    c.pop(m);
    ASSERT_TRUE(p.try_push(kData, big.data(), 100));  // shifts the next one's start
    ASSERT_TRUE(c.peek(m));
    c.pop(m);
  }
  EXPECT_EQ(c.gaps(), 1u);  // seq 0 was the oversize attempt
  // Empty payloads are messages too.
  ASSERT_TRUE(p.try_push(7, nullptr, 0));
  Message m;
  ASSERT_TRUE(c.peek(m));
  EXPECT_EQ(m.type, 7);
  EXPECT_EQ(m.length, 0u);
}

}  // namespace
}  // namespace spectre::ctrl
