// IPv4/IPv6 reassembly: ordering, duplicates, overlaps (first data wins),
// IPv6 next-header patching, limits, timeouts, eviction, and a differential
// test against a per-block first-wins model.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "dataplane/decode/defrag.h"
#include "tests/unit/decode/decode_util.h"

namespace spectre::test {
namespace {

using pb::Bytes;

constexpr uint64_t kSec = 1000000000ull;

Bytes frag4(uint16_t id, uint16_t off, bool mf, const Bytes& data, uint8_t proto = 17,
            pb::Ip4 src = kA4, std::vector<pb::Vlan> vlans = {}) {
  return pb::eth(0x0800, pb::ipv4({.src = src, .dst = kB4, .proto = proto, .id = id, .frag_off = off, .mf = mf}, data),
                 vlans);
}

// IPv6 fragment; `hbh` puts an 8-byte hop-by-hop header before the fragment header.
Bytes frag6(uint32_t id, uint16_t off, bool more, const Bytes& data, uint8_t nh = 17, bool hbh = false) {
  Bytes pl = pb::cat({pb::frag6(nh, off, more, id), data});
  if (hbh) pl = pb::cat({pb::ext6(44, 8), pl});
  return pb::eth(0x86dd, pb::ipv6({.src = kA6, .dst = kB6, .nh = uint8_t(hbh ? 0 : 44)}, pl));
}

struct Harness {
  explicit Harness(DefragConfig cfg = {}) : df(cfg) {}
  Defrag df;
  Defrag::Done done{};
  // Decodes `frame` (must be a fragment) and feeds it; true on completion.
  bool add(const Bytes& frame, uint64_t ts = kSec, uint32_t frame_len = 0) {
    PacketInfo pi{};
    DecodeCounters c{};
    EXPECT_EQ(decode_frame(frame.data(), uint32_t(frame.size()), kLinkEthernet, pi, c), DecodeStatus::kFragment);
    return df.add(pi, ts, frame_len ? frame_len : uint32_t(frame.size()), done);
  }
  Bytes result() const { return Bytes(done.l3, done.l3 + done.len); }
};

TEST(Defrag, InOrderIpv4) {
  Bytes body = pb::udp(1111, 2222, pb::pattern(40));  // 48 bytes
  Harness h;
  Bytes f1 = frag4(77, 0, true, pb::slice(body, 0, 16));
  Bytes f2 = frag4(77, 16, true, pb::slice(body, 16, 16));
  Bytes f3 = frag4(77, 32, false, pb::slice(body, 32, 16));
  EXPECT_FALSE(h.add(f1));
  EXPECT_FALSE(h.add(f2));
  EXPECT_EQ(h.df.in_flight(), 1u);
  ASSERT_TRUE(h.add(f3));
  EXPECT_EQ(h.result(), pb::ipv4({.src = kA4, .dst = kB4, .proto = 17, .id = 77}, body));
  EXPECT_EQ(h.done.len, 68u);
  EXPECT_EQ(h.done.ethertype, 0x0800);
  EXPECT_EQ(h.done.frame_bytes, f1.size() + f2.size() + f3.size());
  EXPECT_EQ(h.df.counters.fragments, 3u);
  EXPECT_EQ(h.df.counters.reassembled, 1u);

  PacketInfo pi{};
  DecodeCounters c{};
  ASSERT_EQ(decode_ip(h.done.l3, h.done.len, h.done.ethertype, pi, c), DecodeStatus::kOk);
  EXPECT_EQ(pi.sport, 1111);
  EXPECT_EQ(pi.dport, 2222);
  EXPECT_EQ(pi.payload_len, 40);

  EXPECT_EQ(h.df.in_flight(), 1u);  // held until release
  h.df.release(h.done.slot);
  EXPECT_EQ(h.df.in_flight(), 0u);
  h.df.release(-1);
  h.df.release(1 << 20);
  EXPECT_EQ(h.df.in_flight(), 0u);
}

TEST(Defrag, OutOfOrderAndFrameBytes) {
  Bytes body = pb::pattern(45, 3, 7);
  Harness h;
  EXPECT_FALSE(h.add(frag4(9, 40, false, pb::slice(body, 40, 5), 253), kSec, 300));
  EXPECT_FALSE(h.add(frag4(9, 0, true, pb::slice(body, 0, 24), 253), kSec, 100));
  ASSERT_TRUE(h.add(frag4(9, 24, true, pb::slice(body, 24, 16), 253), kSec, 200));
  EXPECT_EQ(h.result(), pb::ipv4({.src = kA4, .dst = kB4, .proto = 253, .id = 9}, body));
  EXPECT_EQ(h.done.frame_bytes, 600u);
}

TEST(Defrag, Duplicates) {
  Bytes body = pb::pattern(24);
  Harness h;
  Bytes a = frag4(5, 0, true, pb::slice(body, 0, 16), 253);
  Bytes b = frag4(5, 16, false, pb::slice(body, 16, 8), 253);
  EXPECT_FALSE(h.add(a));
  EXPECT_FALSE(h.add(a));
  ASSERT_TRUE(h.add(b));
  EXPECT_EQ(h.result(), pb::ipv4({.src = kA4, .dst = kB4, .proto = 253, .id = 5}, body));
  EXPECT_EQ(h.done.frame_bytes, 2 * a.size() + b.size());
  EXPECT_EQ(h.df.counters.fragments, 3u);
}

TEST(Defrag, OverlapFirstDataWins) {
  auto run = [](std::vector<Bytes> frames) {
    Harness h;
    for (size_t i = 0; i + 1 < frames.size(); i++) EXPECT_FALSE(h.add(frames[i]));
    EXPECT_TRUE(h.add(frames.back()));
    return Bytes(h.done.l3 + 20, h.done.l3 + h.done.len);
  };
  Bytes A = frag4(1, 0, true, pb::fill(16, 'a'), 253);    // [0,16)
  Bytes B = frag4(1, 8, false, pb::fill(16, 'b'), 253);   // [8,24)
  EXPECT_EQ(run({A, B}), pb::cat({pb::fill(16, 'a'), pb::fill(8, 'b')}));
  EXPECT_EQ(run({B, A}), pb::cat({pb::fill(8, 'a'), pb::fill(16, 'b')}));

  // A later fragment entirely inside earlier data changes nothing.
  Bytes A24 = frag4(2, 0, true, pb::fill(24, 'a'), 253);
  Bytes in = frag4(2, 8, true, pb::fill(8, 'i'), 253);
  Bytes C = frag4(2, 24, false, pb::fill(8, 'c'), 253);
  EXPECT_EQ(run({A24, in, C}), pb::cat({pb::fill(24, 'a'), pb::fill(8, 'c')}));

  // A straddling fragment arriving first keeps its blocks.
  Bytes X = frag4(3, 16, true, pb::fill(16, 'x'), 253);   // [16,32)
  Bytes A3 = frag4(3, 0, true, pb::fill(24, 'a'), 253);   // [0,24)
  Bytes L = frag4(3, 32, false, pb::fill(8, 'l'), 253);
  EXPECT_EQ(run({X, A3, L}), pb::cat({pb::fill(16, 'a'), pb::fill(16, 'x'), pb::fill(8, 'l')}));
}

TEST(Defrag, Ipv6NoExtHeaders) {
  Bytes body = pb::udp(5000, 6000, pb::pattern(24));  // 32 bytes
  Harness h;
  EXPECT_FALSE(h.add(frag6(0xabcdef01, 16, false, pb::slice(body, 16, 16))));
  ASSERT_TRUE(h.add(frag6(0xabcdef01, 0, true, pb::slice(body, 0, 16))));
  EXPECT_EQ(h.done.ethertype, 0x86dd);
  EXPECT_EQ(h.result(), pb::ipv6({.src = kA6, .dst = kB6, .nh = 17}, body));
}

TEST(Defrag, Ipv6HopByHopBeforeFragmentHeader) {
  Bytes body = pb::udp(5000, 6000, pb::pattern(24));
  Harness h;
  EXPECT_FALSE(h.add(frag6(42, 0, true, pb::slice(body, 0, 16), 17, true)));
  ASSERT_TRUE(h.add(frag6(42, 16, false, pb::slice(body, 16, 16), 17, true)));
  Bytes r = h.result();
  ASSERT_EQ(r.size(), 48u + 32u);
  EXPECT_EQ(r[4], 0);
  EXPECT_EQ(r[5], 40);   // payload length: HBH + body, no fragment header
  EXPECT_EQ(r[6], 0);    // still hop-by-hop
  EXPECT_EQ(r[40], 17);  // HBH next header patched from 44 to UDP
  EXPECT_EQ(r, pb::ipv6({.src = kA6, .dst = kB6, .nh = 0}, pb::cat({pb::ext6(17, 8), body})));
  PacketInfo pi{};
  DecodeCounters c{};
  ASSERT_EQ(decode_ip(h.done.l3, h.done.len, h.done.ethertype, pi, c), DecodeStatus::kOk);
  EXPECT_EQ(pi.proto, 17);
  EXPECT_EQ(pi.l4_off, 48);
  EXPECT_EQ(pi.sport, 5000);
  EXPECT_EQ(pi.payload_len, 24);
}

TEST(Defrag, TooManyFragments) {
  Harness h({.max_datagrams = 4, .max_frags = 3});
  for (uint16_t off = 0; off < 24; off += 8) EXPECT_FALSE(h.add(frag4(1, off, true, pb::fill(8, 1))));
  EXPECT_EQ(h.df.in_flight(), 1u);
  EXPECT_FALSE(h.add(frag4(1, 24, true, pb::fill(8, 1))));
  EXPECT_EQ(h.df.counters.too_many_frags, 1u);
  EXPECT_EQ(h.df.in_flight(), 0u);
  // Exactly max_frags fragments still reassemble.
  EXPECT_FALSE(h.add(frag4(2, 0, true, pb::fill(8, 1))));
  EXPECT_FALSE(h.add(frag4(2, 8, true, pb::fill(8, 1))));
  EXPECT_TRUE(h.add(frag4(2, 16, false, pb::fill(3, 1))));
  EXPECT_EQ(h.df.counters.too_many_frags, 1u);
}

TEST(Defrag, TimeoutFromFirstFragment) {
  Harness h({.timeout_ns = 5 * kSec});
  EXPECT_FALSE(h.add(frag4(1, 0, true, pb::fill(8, 1)), 1 * kSec));
  EXPECT_FALSE(h.add(frag4(1, 8, true, pb::fill(8, 1)), 5 * kSec));
  h.df.expire(6 * kSec);  // exactly at the deadline: kept
  EXPECT_EQ(h.df.in_flight(), 1u);
  EXPECT_EQ(h.df.counters.timeouts, 0u);
  h.df.expire(6 * kSec + 1);
  EXPECT_EQ(h.df.in_flight(), 0u);
  EXPECT_EQ(h.df.counters.timeouts, 1u);
  // The rest arrives too late: a new datagram without its first fragment.
  EXPECT_FALSE(h.add(frag4(1, 16, false, pb::fill(8, 1)), 7 * kSec));
  EXPECT_EQ(h.df.in_flight(), 1u);

  h.df.set_timeout(100 * kSec);
  h.df.expire(50 * kSec);
  EXPECT_EQ(h.df.in_flight(), 1u);
  EXPECT_EQ(h.df.counters.timeouts, 1u);
}

// A fragment of a datagram past its timeout starts a new datagram whether or
// not expire() ran first: the result does not depend on when it last ran.
TEST(Defrag, LateFragmentTimesOutWithoutASweep) {
  for (bool sweep : {false, true}) {
    SCOPED_TRACE(sweep ? "swept" : "not swept");
    Harness h({.timeout_ns = 5 * kSec});
    EXPECT_FALSE(h.add(frag4(1, 0, true, pb::fill(8, 1)), 1 * kSec));
    if (sweep) h.df.expire(6 * kSec + 1);
    EXPECT_FALSE(h.add(frag4(1, 8, false, pb::fill(8, 1)), 6 * kSec + 1));
    EXPECT_EQ(h.df.counters.timeouts, 1u);
    EXPECT_EQ(h.df.in_flight(), 1u);
  }
  Harness h({.timeout_ns = 5 * kSec});
  EXPECT_FALSE(h.add(frag4(1, 0, true, pb::fill(8, 1)), 1 * kSec));
  EXPECT_TRUE(h.add(frag4(1, 8, false, pb::fill(8, 1)), 6 * kSec));  // at the deadline: kept
  EXPECT_EQ(h.df.counters.timeouts, 0u);
}

TEST(Defrag, PoolExhaustionEvictsOldest) {
  Harness h({.max_datagrams = 2});
  EXPECT_FALSE(h.add(frag4(1, 0, true, pb::fill(8, 1)), 1 * kSec));
  EXPECT_FALSE(h.add(frag4(2, 0, true, pb::fill(8, 2)), 2 * kSec));
  EXPECT_FALSE(h.add(frag4(3, 0, true, pb::fill(8, 3)), 3 * kSec));
  EXPECT_EQ(h.df.counters.evicted, 1u);
  EXPECT_EQ(h.df.in_flight(), 2u);
  ASSERT_TRUE(h.add(frag4(2, 8, false, pb::fill(4, 2)), 4 * kSec));  // id 2 survived
  h.df.release(h.done.slot);
  EXPECT_FALSE(h.add(frag4(1, 8, false, pb::fill(4, 1)), 5 * kSec));  // id 1 lost its head
  ASSERT_TRUE(h.add(frag4(3, 8, false, pb::fill(4, 3)), 6 * kSec));
  EXPECT_EQ(h.result(), pb::ipv4({.src = kA4, .dst = kB4, .proto = 17, .id = 3}, pb::fill(12, 3)));
  EXPECT_EQ(h.df.counters.evicted, 1u);
}

TEST(Defrag, HeldSlotIsNeitherMatchedNorEvicted) {
  Harness h({.max_datagrams = 1});
  EXPECT_FALSE(h.add(frag4(1, 0, true, pb::fill(8, 'x'))));
  ASSERT_TRUE(h.add(frag4(1, 8, false, pb::fill(8, 'y'))));
  Bytes before = h.result();
  Defrag::Done keep = h.done;
  EXPECT_FALSE(h.add(frag4(1, 0, true, pb::fill(8, 'z'))));  // pool busy: dropped
  EXPECT_EQ(h.df.counters.evicted, 0u);
  EXPECT_EQ(Bytes(keep.l3, keep.l3 + keep.len), before);
  h.df.release(keep.slot);
  EXPECT_FALSE(h.add(frag4(1, 0, true, pb::fill(8, 'z'))));
  EXPECT_EQ(h.df.in_flight(), 1u);
}

TEST(Defrag, ConflictingLastFragment) {
  Harness h;
  EXPECT_FALSE(h.add(frag4(1, 16, false, pb::fill(8, 1))));   // ends at 24
  EXPECT_FALSE(h.add(frag4(1, 24, false, pb::fill(8, 1))));   // ends at 32
  EXPECT_EQ(h.df.counters.conflicts, 1u);
  EXPECT_EQ(h.df.in_flight(), 0u);
  // A duplicate last fragment is not a conflict.
  EXPECT_FALSE(h.add(frag4(2, 8, false, pb::fill(5, 1))));
  EXPECT_FALSE(h.add(frag4(2, 8, false, pb::fill(5, 1))));
  EXPECT_TRUE(h.add(frag4(2, 0, true, pb::fill(8, 1))));
  EXPECT_EQ(h.df.counters.conflicts, 1u);
}

TEST(Defrag, DatagramIdentity) {
  Harness h;
  pb::Ip4 other = pb::ip4("10.0.0.9");
  // Same id, different source / protocol / VLAN: four datagrams.
  EXPECT_FALSE(h.add(frag4(7, 0, true, pb::fill(8, 'a'), 253)));
  EXPECT_FALSE(h.add(frag4(7, 0, true, pb::fill(8, 'b'), 253, other)));
  EXPECT_FALSE(h.add(frag4(7, 0, true, pb::fill(8, 'c'), 17)));
  EXPECT_FALSE(h.add(frag4(7, 0, true, pb::fill(8, 'd'), 253, kA4, {{0x8100, 3}})));
  EXPECT_EQ(h.df.in_flight(), 4u);
  ASSERT_TRUE(h.add(frag4(7, 8, false, pb::fill(1, 'B'), 253, other)));
  EXPECT_EQ(h.result(), pb::ipv4({.src = other, .dst = kB4, .proto = 253, .id = 7}, Bytes{'b', 'b', 'b', 'b', 'b', 'b', 'b', 'b', 'B'}));
}

TEST(Defrag, Ipv6HeaderTooLong) {
  Harness h;
  // 40 + 520-byte HBH: the unfragmentable part exceeds the 512-byte room.
  Bytes big = pb::eth(0x86dd, pb::ipv6({.src = kA6, .dst = kB6, .nh = 0},
                                       pb::cat({pb::ext6(44, 520), pb::frag6(17, 0, true, 1), pb::fill(8, 0)})));
  EXPECT_FALSE(h.add(big));
  EXPECT_EQ(h.df.counters.hdr_too_long, 1u);
  EXPECT_EQ(h.df.in_flight(), 0u);
}

TEST(Defrag, Ipv4OptionsOfFirstFragmentKept) {
  Harness h;
  Bytes opts = {1, 1, 1, 1};
  EXPECT_FALSE(h.add(frag4(3, 8, false, pb::fill(4, 'b'), 253)));
  Bytes first = pb::eth(0x0800, pb::ipv4({.src = kA4, .dst = kB4, .proto = 253, .id = 3, .mf = true, .opts = opts},
                                         pb::fill(8, 'a')));
  ASSERT_TRUE(h.add(first));
  EXPECT_EQ(h.result(), pb::ipv4({.src = kA4, .dst = kB4, .proto = 253, .id = 3, .opts = opts},
                                 pb::cat({pb::fill(8, 'a'), pb::fill(4, 'b')})));
}

// Datagrams at the 64 KiB limit: IPv4 total length may not exceed 65535.
TEST(Defrag, Ipv4SizeLimit) {
  Bytes big = pb::pattern(65000, 1, 3);
  for (uint32_t tail : {515u, 516u}) {
    SCOPED_TRACE(tail);
    Harness h({.max_datagrams = 1});
    EXPECT_FALSE(h.add(frag4(1, 0, true, big, 253)));
    bool done = h.add(frag4(1, 65000, false, pb::fill(tail, 9), 253));
    if (tail == 515) {
      ASSERT_TRUE(done);
      EXPECT_EQ(h.done.len, 65535u);
      EXPECT_EQ(h.done.l3[2], 0xff);
      EXPECT_EQ(h.done.l3[3], 0xff);
      EXPECT_EQ(Bytes(h.done.l3 + 20, h.done.l3 + 65020), big);
      EXPECT_EQ(h.done.l3[65534], 9);
    } else {
      EXPECT_FALSE(done);
      EXPECT_EQ(h.df.counters.conflicts, 1u);
      EXPECT_EQ(h.df.in_flight(), 0u);
    }
  }
}

// Largest IPv6 payload (65535): rebuilt and decoded (UDP length 65535).
TEST(Defrag, Ipv6MaxPayload) {
  Bytes body = pb::udp(7, 9, pb::pattern(65527, 5, 11));
  ASSERT_EQ(body.size(), 65535u);
  Harness h({.max_datagrams = 1});
  EXPECT_FALSE(h.add(frag6(5, 0, true, pb::slice(body, 0, 65000))));
  ASSERT_TRUE(h.add(frag6(5, 65000, false, pb::slice(body, 65000, 535))));
  ASSERT_EQ(h.done.len, 40u + 65535u);
  EXPECT_EQ(h.done.l3[4], 0xff);
  EXPECT_EQ(h.done.l3[5], 0xff);
  EXPECT_EQ(Bytes(h.done.l3 + 40, h.done.l3 + h.done.len), body);
  PacketInfo pi{};
  DecodeCounters c{};
  ASSERT_EQ(decode_ip(h.done.l3, h.done.len, h.done.ethertype, pi, c), DecodeStatus::kOk);
  EXPECT_EQ(pi.sport, 7);
  EXPECT_EQ(pi.payload_off, 48);
  EXPECT_EQ(pi.payload_len, 65527);
}

// PacketInfo::l3_len is 16 bits: an IPv6 datagram longer than 65535 bytes
// in total (40 + payload length), only possible after reassembly, wraps.
TEST(Defrag, Ipv6MaxPayloadL3Len) {
  Bytes body = pb::udp(7, 9, pb::pattern(65527));
  Harness h({.max_datagrams = 1});
  EXPECT_FALSE(h.add(frag6(5, 0, true, pb::slice(body, 0, 65000))));
  ASSERT_TRUE(h.add(frag6(5, 65000, false, pb::slice(body, 65000, 535))));
  PacketInfo pi{};
  DecodeCounters c{};
  ASSERT_EQ(decode_ip(h.done.l3, h.done.len, h.done.ethertype, pi, c), DecodeStatus::kOk);
  EXPECT_EQ(uint32_t(pi.l3_len), h.done.len);  // 65575; today 39
}

// Differential: random fragment streams for one datagram at a time, checked
// against a per-8-byte-block "first data wins" model, including the exact
// fragment that completes the datagram.
TEST(Defrag, RandomStreamsMatchFirstWinsModel) {
  std::mt19937 rng(777);
  Harness h({.max_datagrams = 4, .max_frags = 1000});
  for (int dg = 0; dg < 300; dg++) {
    SCOPED_TRACE(dg);
    const bool v6 = dg % 2;
    const uint32_t total = 9 + rng() % 300;
    const uint32_t nblocks = (total + 7) / 8;
    Bytes model(total, 0);
    std::vector<bool> have(nblocks, false);
    bool seen_first = false, seen_last = false, complete = false;
    uint32_t id = 1000 + uint32_t(dg);
    for (int step = 0; step < 2000 && !complete; step++) {
      bool last = rng() % 4 == 0;
      // A last fragment at offset 0 would be a whole datagram, not a fragment.
      uint32_t b0 = last ? 1 + rng() % (nblocks - 1) : rng() % nblocks;
      uint32_t off = b0 * 8, len;
      if (last) {
        len = total - off;
      } else {
        uint32_t maxb = (total - 1) / 8 - b0;  // MF data stays below the last partial block
        if (off >= (total - 1) / 8 * 8) { off = 0; b0 = 0; maxb = (total - 1) / 8; }
        if (maxb == 0) continue;
        len = 8 * (1 + rng() % maxb);
      }
      Bytes data(len);
      for (auto& x : data) x = uint8_t(rng());
      for (uint32_t b = b0; b * 8 < off + len; b++)
        if (!have[b]) {
          have[b] = true;
          for (uint32_t i = b * 8; i < std::min(b * 8 + 8, off + len); i++) model[i] = data[i - off];
        }
      seen_first |= off == 0;
      seen_last |= last;
      bool want = seen_first && seen_last && std::all_of(have.begin(), have.end(), [](bool x) { return x; });
      Bytes f = v6 ? frag6(id, uint16_t(off), !last, data, 253) : frag4(uint16_t(id), uint16_t(off), !last, data, 253);
      bool got = h.add(f, kSec);
      ASSERT_EQ(got, want) << "step " << step << " off " << off << " len " << len;
      complete = got;
    }
    ASSERT_TRUE(complete);
    uint32_t hdr = v6 ? 40 : 20;
    ASSERT_EQ(h.done.len, hdr + total);
    EXPECT_EQ(Bytes(h.done.l3 + hdr, h.done.l3 + h.done.len), model);
    if (v6) {
      EXPECT_EQ(h.done.l3[6], 253);
      EXPECT_EQ(h.done.l3[4] << 8 | h.done.l3[5], int(total));
    } else {
      EXPECT_EQ(h.done.l3[2] << 8 | h.done.l3[3], int(hdr + total));
      EXPECT_EQ(h.done.l3[6] | h.done.l3[7], 0);
    }
    h.df.release(h.done.slot);
    ASSERT_EQ(h.df.in_flight(), 0u);
  }
  EXPECT_EQ(h.df.counters.reassembled, 300u);
  EXPECT_EQ(h.df.counters.conflicts + h.df.counters.evicted + h.df.counters.too_many_frags, 0u);
}

}  // namespace
}  // namespace spectre::test
