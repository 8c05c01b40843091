// TCP reassembly: randomized differential tests against a "first write wins" model.
//
// A random byte stream is cut into random segments; some are dropped, duplicated or
// retransmitted with overlapping different bytes, and the arrival order is shuffled. The
// model records, per stream offset, the first byte written there (offsets before the start
// are never written). With buffers large enough, what reassembly delivers must equal the
// model exactly: the written bytes in order, each maximal unwritten run inside the stream
// reported once as a gap. With small limits (holes given up early), every delivered byte
// must still be the first write at its offset, pieces in order, and the stream must end at
// the highest byte written.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "tests/unit/stream/stream_util.h"

namespace spectre {
namespace {

using stest::Dir;
using stest::kAck;
using stest::kSyn;

struct Seg {
  uint32_t off;  // stream offset of the first byte (0: the byte after the SYN)
  std::vector<uint8_t> bytes;
};

struct Case {
  std::vector<Seg> segs;  // arrival order
  uint32_t len = 0;       // stream length
};

uint32_t pick(std::mt19937_64& r, uint32_t lo, uint32_t hi) {  // inclusive
  return lo + uint32_t(r() % (uint64_t(hi) - lo + 1));
}

Case make_case(std::mt19937_64& r, uint32_t max_len) {
  Case c;
  c.len = pick(r, 1, max_len);
  std::vector<uint8_t> data(c.len);
  for (auto& b : data) b = uint8_t(r());
  const uint32_t max_seg = pick(r, 0, 3) == 0 ? 8 : pick(r, 16, 1500);
  const double drop = pick(r, 0, 2) == 0 ? 0.0 : 0.08;
  std::vector<Seg> segs;
  for (uint32_t off = 0; off < c.len;) {
    uint32_t n = std::min(pick(r, 1, max_seg), c.len - off);
    Seg s{off, {data.begin() + off, data.begin() + off + n}};
    if (std::uniform_real_distribution<>(0, 1)(r) >= drop) segs.push_back(s);
    if (pick(r, 0, 9) == 0) segs.push_back(s);  // duplicate
    off += n;
  }
  // Overlapping retransmissions, same or different bytes, possibly past the end.
  const uint32_t extra = pick(r, 0, 3) == 0 ? 0 : pick(r, 1, 12);
  for (uint32_t i = 0; i < extra; i++) {
    uint32_t a = pick(r, 0, c.len - 1);
    uint32_t n = pick(r, 1, std::min<uint32_t>(max_seg * 2, 3000));
    Seg s{a, std::vector<uint8_t>(n)};
    const bool same = pick(r, 0, 1) == 0;
    for (uint32_t k = 0; k < n; k++) s.bytes[k] = same && a + k < c.len ? data[a + k] : uint8_t(r());
    segs.push_back(std::move(s));
  }
  switch (pick(r, 0, 3)) {
    case 0: std::shuffle(segs.begin(), segs.end(), r); break;
    case 1:  // local reordering: swaps within a small window
      for (size_t i = 0; i + 1 < segs.size(); i++)
        if (pick(r, 0, 3) == 0) std::swap(segs[i], segs[std::min(segs.size() - 1, i + pick(r, 1, 4))]);
      break;
    default: {  // in order, but the extras (at the end) moved to random places
      for (uint32_t i = 0; i < extra && segs.size() > 1; i++) {
        size_t j = pick(r, 0, uint32_t(segs.size() - 1));
        std::swap(segs[j], segs.back());
      }
    }
  }
  c.segs = std::move(segs);
  return c;
}

// First write wins over offsets >= base (base: 0 with a SYN, else the first data segment).
struct Model {
  std::vector<int16_t> first;  // -1: never written
  uint32_t base = 0, end = 0;  // end: one past the highest byte written
  Model(const Case& c, bool syn) {
    uint32_t maxend = 0;
    for (auto& s : c.segs) maxend = std::max<uint32_t>(maxend, s.off + uint32_t(s.bytes.size()));
    first.assign(maxend, -1);
    bool started = syn;
    for (auto& s : c.segs) {
      if (s.bytes.empty()) continue;
      if (!started) {
        started = true;
        base = s.off;
      }
      for (uint32_t k = 0; k < s.bytes.size(); k++) {
        uint32_t o = s.off + k;
        if (o >= base && first[o] < 0) {
          first[o] = s.bytes[k];
          end = std::max(end, o + 1);
        }
      }
    }
  }
};

void send(Dir& t, const Case& c, uint32_t isn, bool syn) {
  if (syn) t.syn(isn);
  for (auto& s : c.segs) t.seg(isn + 1 + s.off, kAck, s.bytes.data(), uint32_t(s.bytes.size()));
  t.finish();
}

uint32_t random_isn(std::mt19937_64& r) {
  switch (pick(r, 0, 3)) {
    case 0: return uint32_t(0) - pick(r, 1, 4000);  // the stream crosses 2^32
    case 1: return 0x7fffffffu - pick(r, 0, 4000);  // crosses the int32 sign boundary
    default: return uint32_t(r());
  }
}

// Exact comparison when no limit can be hit.
TEST(StreamRandom, DifferentialUnlimited) {
  std::mt19937_64 r(20240601);
  const uint32_t max_len = 6000;
  // At worst one chunk per segment (tiny segments in reverse order).
  const uint32_t n = 2 * max_len + 3100;
  SegmentPool pools[3] = {SegmentPool(n, 16), SegmentPool(n, 100), SegmentPool(n, 2048)};
  for (int iter = 0; iter < 2500; iter++) {
    const Case c = make_case(r, max_len);
    const bool syn = pick(r, 0, 2) != 0;
    SegmentPool& pool = pools[iter % 3];
    StreamConfig cfg;
    cfg.max_ooo_bytes = 1u << 30;
    cfg.depth = pick(r, 0, 4) == 0 ? pick(r, 1, c.len) : 0;
    cfg.midstream = true;
    Dir t(pool, cfg);
    const uint32_t isn = random_isn(r);
    send(t, c, isn, syn);
    SCOPED_TRACE(::testing::Message() << "iter " << iter << " syn " << syn << " depth " << cfg.depth
                                      << " segs " << c.segs.size());

    const Model m(c, syn);
    std::vector<uint8_t> want;
    std::vector<std::pair<size_t, uint32_t>> want_gaps;
    uint32_t hole = 0;
    for (uint32_t o = m.base; o < m.end; o++) {
      if (cfg.depth && want.size() == cfg.depth) break;
      if (m.first[o] < 0) {
        hole++;
        continue;
      }
      if (hole) want_gaps.emplace_back(want.size(), hole);
      hole = 0;
      want.push_back(uint8_t(m.first[o]));
    }
    ASSERT_EQ(t.sink.bytes, want);
    ASSERT_EQ(t.sink.gaps, want_gaps);
    ASSERT_EQ(t.sink.empty_calls, 0u);
    EXPECT_EQ(t.ctr.bytes_delivered, want.size());
    EXPECT_EQ(t.ctr.gaps, want_gaps.size());
    EXPECT_EQ(t.ctr.ooo_limit_gaps, 0u);
    EXPECT_EQ(t.ctr.pool_empty, 0u);
    EXPECT_EQ(t.ctr.depth_reached, cfg.depth && want.size() == cfg.depth ? 1u : 0u);
    if (!cfg.depth && (syn || m.end)) {
      EXPECT_EQ(t.d.next_seq, isn + 1 + m.end);
    }
    ASSERT_EQ(pool.free_chunks(), pool.chunks());
    EXPECT_EQ(t.d.ooo_bytes, 0u);
    EXPECT_EQ(t.d.ooo_chunks, 0u);
  }
}

// Checks that hold under any limit: pieces in order, each delivered byte is the first
// write at its offset, the stream ends at the highest byte written, counters agree.
void check_invariants(const Dir& t, const Case& c, bool syn, uint32_t isn) {
  const Model m(c, syn);
  const auto& s = t.sink;
  ASSERT_EQ(s.empty_calls, 0u);
  uint64_t gap_sum = 0;
  for (auto& g : s.gaps) gap_sum += g.second;
  ASSERT_EQ(s.pos, s.bytes.size() + gap_sum);
  for (size_t i = 0; i < s.bytes.size(); i++) {
    const uint64_t o = m.base + s.offs[i];
    ASSERT_LT(o, m.first.size()) << i;
    ASSERT_EQ(m.first[o], s.bytes[i]) << "byte " << i << " offset " << o;
  }
  if (!t.cfg.depth || s.bytes.size() < t.cfg.depth) {
    ASSERT_EQ(s.pos, m.end - m.base);  // nothing lost at the end
    if (syn || m.end) {  // else no data: never started
      ASSERT_EQ(t.d.next_seq, isn + 1 + m.end);
    }
  } else {
    ASSERT_EQ(s.bytes.size(), t.cfg.depth);
  }
  EXPECT_EQ(t.ctr.bytes_delivered, s.bytes.size());
  EXPECT_EQ(t.ctr.gaps, s.gaps.size());
  EXPECT_EQ(t.ctr.gap_bytes, gap_sum);
  EXPECT_LE(t.ctr.ooo_limit_gaps, t.ctr.gaps);
}

TEST(StreamRandom, DifferentialLimited) {
  std::mt19937_64 r(99);
  uint64_t limit_gaps = 0, pool_empty = 0;
  for (int iter = 0; iter < 2500; iter++) {
    const Case c = make_case(r, 5000);
    const bool syn = pick(r, 0, 2) != 0;
    SegmentPool pool(pick(r, 0, 24), pick(r, 16, 600));
    StreamConfig cfg;
    cfg.max_ooo_bytes = pick(r, 0, 3000);
    cfg.depth = pick(r, 0, 4) == 0 ? pick(r, 1, c.len) : 0;
    Dir t(pool, cfg);
    const uint32_t isn = random_isn(r);
    send(t, c, isn, syn);
    SCOPED_TRACE(::testing::Message() << "iter " << iter << " syn " << syn << " depth " << cfg.depth
                                      << " max_ooo " << cfg.max_ooo_bytes << " chunks "
                                      << pool.chunks() << "x" << pool.chunk_bytes());
    check_invariants(t, c, syn, isn);
    if (HasFatalFailure()) return;
    ASSERT_EQ(pool.free_chunks(), pool.chunks());
    limit_gaps += t.ctr.ooo_limit_gaps;
    pool_empty += t.ctr.pool_empty;
  }
  EXPECT_GT(limit_gaps, 100u);  // the limits were really exercised
  EXPECT_GT(pool_empty, 100u);
}

// Many flows interleaved on one small shared pool.
TEST(StreamRandom, ManyFlowsSharedPool) {
  std::mt19937_64 r(5);
  for (int round = 0; round < 20; round++) {
    SegmentPool pool(pick(r, 8, 64), pick(r, 64, 512));
    StreamConfig cfg;
    cfg.max_ooo_bytes = pick(r, 500, 20000);
    const int nflows = 40;
    std::vector<Case> cases;
    std::vector<std::unique_ptr<Dir>> dirs;
    std::vector<uint32_t> isns;
    std::vector<size_t> next(nflows, 0);
    for (int f = 0; f < nflows; f++) {
      cases.push_back(make_case(r, 4000));
      dirs.push_back(std::make_unique<Dir>(pool, cfg));
      isns.push_back(random_isn(r));
      dirs[f]->syn(isns[f]);
    }
    for (int left = nflows; left;) {
      int f = int(pick(r, 0, nflows - 1));
      if (next[f] == cases[f].segs.size()) continue;
      const Seg& s = cases[f].segs[next[f]++];
      dirs[f]->seg(isns[f] + 1 + s.off, kAck, s.bytes.data(), uint32_t(s.bytes.size()));
      if (next[f] == cases[f].segs.size()) {
        left--;
        if (pick(r, 0, 1)) dirs[f]->finish();  // flows end at different times
      }
    }
    for (int f = 0; f < nflows; f++) {
      dirs[f]->finish();
      SCOPED_TRACE(::testing::Message() << "round " << round << " flow " << f);
      check_invariants(*dirs[f], cases[f], true, isns[f]);
      if (HasFatalFailure()) return;
    }
    ASSERT_EQ(pool.free_chunks(), pool.chunks());
  }
}

// Release in the middle of a flow returns every chunk.
TEST(StreamRandom, ReleaseMidway) {
  std::mt19937_64 r(11);
  SegmentPool pool(512, 128);
  for (int iter = 0; iter < 300; iter++) {
    const Case c = make_case(r, 5000);
    Dir t(pool);
    t.syn(0);
    size_t stop = pick(r, 0, uint32_t(c.segs.size()));
    for (size_t i = 0; i < stop; i++)
      t.seg(1 + c.segs[i].off, kAck, c.segs[i].bytes.data(), uint32_t(c.segs[i].bytes.size()));
    stream_release(t.d, pool);
    ASSERT_EQ(pool.free_chunks(), 512u);
  }
}

}  // namespace
}  // namespace spectre
