// TCP reassembly: targeted cases (randomized differential tests are in
// test_stream_random.cc).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "tests/unit/stream/stream_util.h"

namespace spectre {
namespace {

using stest::Dir;
using stest::kAck;
using stest::kFin;
using stest::kRst;
using stest::kSyn;

std::string pattern(size_t n, uint32_t seed = 1) {
  std::string s(n, '\0');
  std::mt19937 r(seed);
  for (auto& c : s) c = char('a' + r() % 26);
  return s;
}

TEST(StreamBasic, SizeAndZeroInit) {
  EXPECT_LE(sizeof(StreamDir), 24u);
  SegmentPool pool(10, 100);
  EXPECT_EQ(pool.free_chunks(), 10u);
  EXPECT_EQ(pool.chunks(), 10u);
  EXPECT_EQ(pool.chunk_bytes(), 100u);
  SegmentPool tiny(0, 0);  // degenerate sizes are clamped, not a crash
  EXPECT_EQ(tiny.free_chunks(), 0u);
  EXPECT_GE(tiny.chunk_bytes(), 1u);
}

TEST(StreamBasic, InOrderZeroCopy) {
  SegmentPool pool(16);
  Dir t(pool);
  t.syn(1000);
  std::string a = "hello ", b = "world", c = "!";
  t.seg(1001, a);
  t.seg(1007, b);
  t.seg(1012, c);
  EXPECT_EQ(t.sink.str(), "hello world!");
  ASSERT_EQ(t.sink.calls, 3u);
  EXPECT_EQ(t.sink.ptrs[0], reinterpret_cast<const uint8_t*>(a.data()));  // straight from the packet
  EXPECT_EQ(t.sink.ptrs[1], reinterpret_cast<const uint8_t*>(b.data()));
  EXPECT_TRUE(t.sink.gaps.empty());
  EXPECT_EQ(t.ctr.segments, 4u);
  EXPECT_EQ(t.ctr.bytes_delivered, 12u);
  EXPECT_EQ(t.d.delivered, 12u);
  EXPECT_EQ(t.d.next_seq, 1013u);
  EXPECT_EQ(pool.free_chunks(), 16u);
}

// The callback sees next_seq and delivered with its piece counted (stream_size
// of the chunk being inspected, as Suricata's next_seq - ISN): in order, after
// a hole is filled, and at the depth cut.
TEST(StreamBasic, CountersIncludeThePieceDuringTheCall) {
  struct Seen {
    const StreamDir* d;
    std::vector<std::pair<uint32_t, uint32_t>> at;  // (delivered, next_seq) per call
    static void cb(void* u, const uint8_t*, uint32_t, uint32_t) {
      Seen& s = *static_cast<Seen*>(u);
      s.at.emplace_back(s.d->delivered, s.d->next_seq);
    }
  };
  SegmentPool pool(16);
  StreamConfig cfg;
  cfg.depth = 10;
  StreamDir d{};
  StreamCounters ctr{};
  Seen seen{&d, {}};
  auto seg = [&](uint32_t seq, uint8_t fl, const std::string& b) {
    stream_segment(d, pool, cfg, seq, fl, reinterpret_cast<const uint8_t*>(b.data()), uint32_t(b.size()), ctr,
                   &Seen::cb, &seen);
  };
  seg(100, kSyn, "");
  seg(101, kAck, "abc");   // fast path
  seg(107, kAck, "ghi");   // held behind 104..106
  seg(104, kAck, "def");   // fills the hole: def, then ghi
  seg(110, kAck, "jklm");  // cut at depth 10: j
  using P = std::pair<uint32_t, uint32_t>;
  EXPECT_EQ(seen.at, (std::vector<P>{{3, 104}, {6, 107}, {9, 110}, {10, 114}}));
}

TEST(StreamBasic, SynDataIsStreamData) {
  // TCP Fast Open: the SYN's data starts at ISN + 1 and is delivered.
  SegmentPool pool(16);
  Dir t(pool);
  t.seg(5000, "SYNDATA", kSyn);
  EXPECT_EQ(t.sink.str(), "SYNDATA");
  EXPECT_EQ(t.d.next_seq, 5008u);
  t.seg(5000, "SYNDATA", kSyn);  // SYN retransmission with its data: old
  EXPECT_EQ(t.sink.str(), "SYNDATA");
  EXPECT_EQ(t.ctr.retransmits, 1u);
  t.seg(5008, "abc");
  t.seg(5000, kSyn, nullptr, 0);  // a bare SYN retransmission: ignored
  t.seg(5011, "d");
  EXPECT_EQ(t.sink.str(), "SYNDATAabcd");
  EXPECT_TRUE(t.d.state & kStreamSyn);
}

TEST(StreamBasic, IsnFromBareSyn) {
  SegmentPool pool(16);
  Dir t(pool);
  t.seg(5000, kSyn, nullptr, 0);
  t.seg(5000, "Xabc");  // first byte is the SYN's sequence number: old
  EXPECT_EQ(t.sink.str(), "abc");
}

TEST(StreamBasic, MidstreamOn) {
  SegmentPool pool(16);
  Dir t(pool);
  t.seg(777, "mid");
  t.seg(780, "stream");
  t.seg(770, "old-data");  // ends before the start (778): partly old
  EXPECT_EQ(t.sink.str(), "midstream");
  EXPECT_EQ(t.ctr.no_syn, 0u);
}

TEST(StreamBasic, MidstreamOff) {
  SegmentPool pool(16);
  StreamConfig cfg;
  cfg.midstream = false;
  Dir t(pool, cfg);
  t.seg(100, "lost");
  t.seg(104, "lost2");
  EXPECT_EQ(t.sink.calls, 0u);
  EXPECT_EQ(t.ctr.no_syn, 2u);
  t.syn(200);
  t.seg(201, "ok");
  EXPECT_EQ(t.sink.str(), "ok");
}

TEST(StreamBasic, PureAckDoesNotStartDirection) {
  SegmentPool pool(16);
  Dir t(pool);
  t.seg(50, kAck, nullptr, 0);
  t.seg(60, "x");
  EXPECT_EQ(t.sink.str(), "x");
  t.seg(99, kAck, nullptr, 0);  // zero-length, ahead: nothing
  t.seg(61, kAck, nullptr, 0);
  t.seg(10, kAck, nullptr, 0);
  t.seg(61, "y");
  EXPECT_EQ(t.sink.str(), "xy");
  EXPECT_EQ(t.sink.empty_calls, 0u);
  EXPECT_EQ(pool.free_chunks(), 16u);
}

TEST(StreamReorder, SimpleOutOfOrder) {
  SegmentPool pool(16, 4);  // clamped to 16-byte chunks
  Dir t(pool);
  t.syn(0);
  t.seg(8, "world, how are you doing today");  // offset 7, spans two 16-byte chunks
  t.seg(6, ", ");
  EXPECT_EQ(t.sink.calls, 0u);
  EXPECT_EQ(t.ctr.ooo_segments, 2u);
  EXPECT_EQ(pool.free_chunks(), 13u);
  t.seg(1, "hell");
  EXPECT_EQ(t.sink.str(), "hell");
  t.seg(5, "o");
  EXPECT_EQ(t.sink.str(), "hello, world, how are you doing today");
  EXPECT_EQ(pool.free_chunks(), 16u);
  EXPECT_EQ(t.d.ooo_bytes, 0u);
  EXPECT_EQ(t.d.ooo_chunks, 0u);
}

TEST(StreamReorder, RandomPermutations) {
  std::mt19937_64 rng(7);
  const std::string data = pattern(3000, 3);
  SegmentPool pool(256, 64);
  StreamConfig cfg;
  cfg.max_ooo_bytes = 1 << 20;
  for (int iter = 0; iter < 200; iter++) {
    std::vector<std::pair<uint32_t, uint32_t>> segs;  // (off, len)
    for (uint32_t off = 0; off < data.size();) {
      uint32_t len = std::min<uint32_t>(uint32_t(1 + rng() % 200), uint32_t(data.size()) - off);
      segs.emplace_back(off, len);
      off += len;
    }
    std::shuffle(segs.begin(), segs.end(), rng);
    Dir t(pool, cfg);
    const uint32_t isn = uint32_t(rng());
    t.syn(isn);
    for (auto [off, len] : segs) t.seg(isn + 1 + off, kAck, data.data() + off, len);
    ASSERT_EQ(t.sink.str(), data) << iter;
    EXPECT_TRUE(t.sink.gaps.empty());
    EXPECT_EQ(pool.free_chunks(), 256u);
    t.finish();
    EXPECT_EQ(t.sink.bytes.size(), data.size());
  }
}

TEST(StreamOverlap, RetransmitSameAndDifferent) {
  SegmentPool pool(16);
  Dir t(pool);
  t.syn(0);
  t.seg(1, "abcdef");
  t.seg(1, "abcdef");  // fully old, same
  t.seg(3, "XY");      // fully old, different: cannot compare, still a retransmit
  EXPECT_EQ(t.ctr.retransmits, 2u);
  t.seg(11, "klm");    // buffered
  t.seg(11, "KLM");    // differs from buffered: first wins
  EXPECT_EQ(t.ctr.overlap_diff, 1u);
  t.seg(11, "klm");    // identical duplicate of buffered data
  EXPECT_EQ(t.ctr.retransmits, 3u);
  t.seg(5, "efghij");  // partly old, fills the hole
  EXPECT_EQ(t.sink.str(), "abcdefghijklm");
  EXPECT_EQ(pool.free_chunks(), 16u);
}

TEST(StreamOverlap, PartialBothSides) {
  SegmentPool pool(16, 16);
  Dir t(pool);
  t.syn(0);
  t.seg(11, "0123456789");  // offsets 10..19
  // New segment 5..24 with different bytes: only 5..9 and 20..24 are new.
  t.seg(6, "ABCDEFGHIJKLMNOPQRST");
  EXPECT_EQ(t.ctr.overlap_diff, 1u);
  t.seg(1, "wxyz_____");  // offsets 0..8: 5..8 already buffered from the second segment
  EXPECT_EQ(t.ctr.overlap_diff, 2u);
  EXPECT_EQ(t.sink.str(), "wxyz_ABCDE0123456789PQRST");
  EXPECT_EQ(pool.free_chunks(), 16u);
}

TEST(StreamOverlap, InOrderSegmentOverlappingBuffered) {
  SegmentPool pool(16);
  Dir t(pool);
  t.syn(0);
  t.seg(6, "FGH");             // 5..7 buffered
  t.seg(11, "KL");             // 10..11 buffered
  const std::string seg = "abcdefghijklmn";
  t.seg(1, seg);  // in order, covers both: buffered bytes win
  EXPECT_EQ(t.sink.str(), "abcdeFGHijKLmn");
  EXPECT_EQ(t.ctr.overlap_diff, 1u);
  EXPECT_EQ(t.sink.ptrs[0], reinterpret_cast<const uint8_t*>(seg.data()));  // "abcde": no copy
  EXPECT_EQ(pool.free_chunks(), 16u);
}

TEST(StreamOverlap, DuplicateOutOfOrder) {
  SegmentPool pool(16);
  Dir t(pool);
  t.syn(0);
  for (int i = 0; i < 5; i++) t.seg(101, "dup");
  EXPECT_EQ(t.ctr.retransmits, 4u);
  EXPECT_EQ(t.d.ooo_bytes, 3u);
  EXPECT_EQ(pool.free_chunks(), 15u);
  t.seg(1, pattern(100));
  EXPECT_EQ(t.sink.str(), pattern(100) + "dup");
}

TEST(StreamGap, FinishSkipsHoles) {
  SegmentPool pool(16);
  Dir t(pool);
  t.syn(0);
  t.seg(1, "abc");
  t.seg(11, "klm");
  t.seg(21, "uvw", kFin);
  EXPECT_TRUE(t.d.state & kStreamFin);
  t.finish();
  EXPECT_EQ(t.sink.str(), "abcklmuvw");
  ASSERT_EQ(t.sink.gaps.size(), 2u);
  EXPECT_EQ(t.sink.gaps[0], (std::pair<size_t, uint32_t>{3, 7}));
  EXPECT_EQ(t.sink.gaps[1], (std::pair<size_t, uint32_t>{6, 7}));
  EXPECT_EQ(t.ctr.gaps, 2u);
  EXPECT_EQ(t.ctr.gap_bytes, 14u);
  EXPECT_EQ(t.ctr.ooo_limit_gaps, 0u);
  EXPECT_EQ(pool.free_chunks(), 16u);
  t.seg(15, "old");  // after finish: skipped data is old
  EXPECT_EQ(t.ctr.retransmits, 1u);
}

TEST(StreamGap, ReleaseReturnsChunks) {
  SegmentPool pool(16);
  Dir t(pool);
  t.syn(0);
  t.seg(11, "klm");
  t.seg(21, "uvw", kRst);
  EXPECT_TRUE(t.d.state & kStreamRst);
  EXPECT_EQ(pool.free_chunks(), 14u);
  stream_release(t.d, pool);
  EXPECT_EQ(pool.free_chunks(), 16u);
  EXPECT_EQ(t.d.ooo_head, 0u);
  EXPECT_EQ(t.sink.calls, 0u);
}

TEST(StreamLimit, OooLimitSkipsOldestHole) {
  SegmentPool pool(64, 256);
  StreamConfig cfg;
  cfg.max_ooo_bytes = 1000;
  Dir t(pool, cfg);
  t.syn(0);
  const std::string data = pattern(3000);
  t.seg(1, kAck, data.data(), 100);  // 0..99 delivered
  // Hole 100..199; 200..1199 buffered (1000 bytes, at the limit).
  for (uint32_t off = 200; off < 1200; off += 250) t.seg(1 + off, kAck, data.data() + off, 250);
  EXPECT_EQ(t.d.ooo_bytes, 1000u);
  EXPECT_EQ(t.sink.bytes.size(), 100u);
  // One more out-of-order segment: the hole is given up, the buffer flushed.
  t.seg(1 + 1300, kAck, data.data() + 1300, 100);
  EXPECT_EQ(t.ctr.ooo_limit_gaps, 1u);
  ASSERT_EQ(t.sink.gaps.size(), 1u);
  EXPECT_EQ(t.sink.gaps[0], (std::pair<size_t, uint32_t>{100, 100}));
  EXPECT_EQ(t.sink.bytes.size(), 1100u);
  EXPECT_EQ(t.d.ooo_bytes, 100u);  // 1300..1399 fits now
  t.seg(1 + 1200, kAck, data.data() + 1200, 100);
  t.seg(1 + 150, kAck, data.data() + 150, 100);  // into the skipped hole: old now
  t.finish();
  std::string want = data.substr(0, 100) + data.substr(200, 1200);
  EXPECT_EQ(t.sink.str(), want);
  EXPECT_EQ(t.ctr.gaps, 1u);
  EXPECT_EQ(t.ctr.gap_bytes, 100u);
  EXPECT_EQ(pool.free_chunks(), 64u);
}

TEST(StreamLimit, OversizedOooSegmentDeliveredAfterGap) {
  SegmentPool pool(64, 256);
  StreamConfig cfg;
  cfg.max_ooo_bytes = 500;
  Dir t(pool, cfg);
  t.syn(0);
  const std::string data = pattern(2000);
  t.seg(1 + 1000, kAck, data.data() + 1000, 800);  // larger than the limit: skip 0..999
  EXPECT_EQ(t.ctr.ooo_limit_gaps, 1u);
  EXPECT_EQ(t.sink.str(), data.substr(1000, 800));
  EXPECT_EQ(t.sink.ptrs[0], reinterpret_cast<const uint8_t*>(data.data() + 1000));
  EXPECT_EQ(t.ctr.gap_bytes, 1000u);
  EXPECT_EQ(pool.free_chunks(), 64u);
}

TEST(StreamLimit, ChunkCapForTinySegments) {
  SegmentPool pool(1000, 2048);
  StreamConfig cfg;
  cfg.max_ooo_bytes = 2048;  // cap: 16 chunks per direction
  Dir t(pool, cfg);
  t.syn(0);
  for (uint32_t i = 0; i < 100; i++) t.seg(1 + 10 + 2 * i, "x");  // 1-byte segments, spaced
  EXPECT_LE(t.d.ooo_chunks, 16u);
  EXPECT_GE(pool.free_chunks(), 1000u - 16u);
  EXPECT_GT(t.ctr.ooo_limit_gaps, 0u);
  t.finish();
  EXPECT_EQ(t.sink.bytes.size(), 100u);
  EXPECT_EQ(pool.free_chunks(), 1000u);
}

TEST(StreamLimit, ContiguousSmallSegmentsShareChunks) {
  SegmentPool pool(100, 2048);
  Dir t(pool);
  t.syn(0);
  const std::string data = pattern(4000);
  for (uint32_t off = 100; off < 4000; off += 10) t.seg(1 + off, kAck, data.data() + off, 10);
  EXPECT_EQ(t.d.ooo_chunks, 2u);  // 3900 bytes in 2 chunks of 2048
  EXPECT_EQ(t.d.ooo_bytes, 3900u);
  t.seg(1, kAck, data.data(), 100);
  EXPECT_EQ(t.sink.str(), data);
  EXPECT_EQ(pool.free_chunks(), 100u);
}

TEST(StreamLimit, PoolExhaustion) {
  SegmentPool pool(4, 64);
  Dir t(pool);
  t.syn(0);
  const std::string data = pattern(2000);
  // Every other 50-byte segment missing; each present one needs a chunk.
  for (uint32_t off = 100; off < 2000; off += 100) t.seg(1 + off, kAck, data.data() + off, 50);
  EXPECT_GT(t.ctr.pool_empty, 0u);
  EXPECT_LE(4u - pool.free_chunks(), 4u);
  t.finish();
  std::string want;
  for (uint32_t off = 100; off < 2000; off += 100) want += data.substr(off, 50);
  EXPECT_EQ(t.sink.str(), want);  // nothing lost for lack of memory: holes skipped early
  EXPECT_EQ(pool.free_chunks(), 4u);
}

TEST(StreamLimit, EmptyPoolFromOtherFlow) {
  SegmentPool pool(2, 64);
  Dir a(pool), b(pool);
  a.syn(0);
  b.syn(0);
  a.seg(101, pattern(128));  // takes both chunks
  EXPECT_EQ(pool.free_chunks(), 0u);
  b.seg(101, "bbb");  // no chunk: skip the hole, deliver
  EXPECT_EQ(b.ctr.pool_empty, 1u);
  EXPECT_EQ(b.sink.str(), "bbb");
  EXPECT_EQ(b.sink.gaps[0].second, 100u);
  a.finish();
  EXPECT_EQ(pool.free_chunks(), 2u);
}

TEST(StreamDepth, ExactInOrder) {
  SegmentPool pool(16);
  StreamConfig cfg;
  cfg.depth = 1000;
  Dir t(pool, cfg);
  t.syn(0);
  const std::string data = pattern(3000);
  for (uint32_t off = 0; off < 3000; off += 300) t.seg(1 + off, kAck, data.data() + off, 300);
  EXPECT_EQ(t.sink.str(), data.substr(0, 1000));
  EXPECT_EQ(t.ctr.depth_reached, 1u);
  EXPECT_EQ(t.d.delivered, 1000u);
  EXPECT_TRUE(stream_depth_reached(t.d));
  t.seg(1 + 3000, "more");
  t.finish();
  EXPECT_EQ(t.sink.bytes.size(), 1000u);
  EXPECT_EQ(t.ctr.depth_reached, 1u);
}

TEST(StreamDepth, ExactBoundaryAndBuffered) {
  for (uint32_t depth : {1u, 299u, 300u, 301u, 999u, 1200u}) {
    SegmentPool pool(64, 128);
    StreamConfig cfg;
    cfg.depth = depth;
    Dir t(pool, cfg);
    t.syn(~0u - 50);  // also across the wrap
    const std::string data = pattern(1500, depth);
    // Reverse order: everything buffered, then delivered by the first segment.
    for (int off = 1200; off >= 0; off -= 300)
      t.seg(~0u - 49 + uint32_t(off), kAck, data.data() + off, 300);
    EXPECT_EQ(t.sink.str(), data.substr(0, std::min(depth, 1500u))) << depth;
    EXPECT_EQ(t.ctr.depth_reached, depth <= 1500 ? 1u : 0u);
    EXPECT_EQ(pool.free_chunks(), 64u) << depth;
  }
}

TEST(StreamDepth, ReachedDuringFinish) {
  SegmentPool pool(64, 128);
  StreamConfig cfg;
  cfg.depth = 250;
  Dir t(pool, cfg);
  t.syn(0);
  const std::string data = pattern(1000);
  t.seg(1 + 100, kAck, data.data() + 100, 200);
  t.seg(1 + 400, kAck, data.data() + 400, 200);
  t.finish();
  EXPECT_EQ(t.sink.str(), data.substr(100, 200) + data.substr(400, 50));
  EXPECT_EQ(t.ctr.depth_reached, 1u);
  EXPECT_EQ(pool.free_chunks(), 64u);
}

TEST(StreamWrap, AcrossTwoToThe32) {
  SegmentPool pool(64, 64);
  const std::string data = pattern(1000);
  for (uint32_t isn : {0xffffff00u, 0xfffffffeu, 0xffffffffu, 0x7fffff00u}) {
    Dir t(pool);
    t.syn(isn);
    // 100-byte segments, odd ones first.
    for (uint32_t off = 100; off < 1000; off += 200) t.seg(isn + 1 + off, kAck, data.data() + off, 100);
    for (uint32_t off = 0; off < 1000; off += 200) t.seg(isn + 1 + off, kAck, data.data() + off, 100);
    t.seg(isn + 1, kAck, data.data(), 50);  // old
    EXPECT_EQ(t.sink.str(), data) << isn;
    EXPECT_EQ(t.d.next_seq, isn + 1 + 1000);
    EXPECT_EQ(pool.free_chunks(), 64u);
  }
}

TEST(StreamHuge, SixtyFourKiBOutOfOrder) {
  SegmentPool pool(200, 2048);
  StreamConfig cfg;  // max_ooo_bytes = 64 KiB: one 64 KiB segment fits exactly
  const std::string data = pattern(4 * 65536);
  Dir t(pool, cfg);
  t.syn(0);
  t.seg(1 + 65536, kAck, data.data() + 65536, 65536);
  EXPECT_EQ(t.d.ooo_bytes, 65536u);
  EXPECT_EQ(t.d.ooo_chunks, 32u);
  t.seg(1 + 3 * 65536, kAck, data.data() + 3 * 65536, 65536);  // over the limit: hole skipped
  EXPECT_EQ(t.ctr.ooo_limit_gaps, 1u);
  t.finish();
  EXPECT_EQ(t.sink.str(), data.substr(65536, 65536) + data.substr(3 * 65536));
  EXPECT_EQ(pool.free_chunks(), 200u);

  cfg.max_ooo_bytes = 1 << 20;
  Dir u(pool, cfg);
  u.syn(123);
  for (int k : {3, 1, 2, 0}) u.seg(124 + k * 65536, kAck, data.data() + k * 65536, 65536);
  EXPECT_EQ(u.sink.str(), data);
  EXPECT_EQ(u.ctr.gaps, 0u);
  EXPECT_EQ(pool.free_chunks(), 200u);
}

}  // namespace
}  // namespace spectre
