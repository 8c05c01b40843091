// worker_poll_once (core/worker_loop.h), the loop iteration spectre-dp and
// spectre-bench share, over a scripted rx source and hand-made mbufs.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "dataplane/core/worker_loop.h"
#include "tests/unit/mbufs.h"
#include "tests/unit/pktbuild.h"

namespace spectre {
namespace {

using testutil::make_mbuf;
using testutil::MbufPtr;

// Input i hands out its mbufs, at most `want` per call; done() records what came back.
struct ScriptedSource {
  std::vector<std::vector<rte_mbuf*>> inputs;
  std::vector<unsigned> wants;
  std::vector<std::vector<rte_mbuf*>> returned;

  unsigned parts() const { return unsigned(inputs.size()); }
  unsigned rx(unsigned i, rte_mbuf** mb, unsigned want) {
    wants.push_back(want);
    auto& in = inputs[i];
    unsigned n = std::min<unsigned>(want, unsigned(in.size()));
    for (unsigned k = 0; k < n; k++) mb[k] = in[k];
    in.erase(in.begin(), in.begin() + n);
    return n;
  }
  void done(rte_mbuf** mb, unsigned n) { returned.emplace_back(mb, mb + n); }
};

pb::Bytes udp(uint16_t sport) {
  return pb::eth(0x0800, pb::ipv4({.src = pb::ip4("10.0.0.2"), .dst = pb::ip4("10.0.0.1"), .proto = 17},
                                  pb::udp(sport, 53, pb::pattern(10))));
}

TEST(WorkerLoop, PollsEveryInputProcessesAndHandsBack) {
  auto w = std::make_unique<WorkerCtx>(uint16_t(0), 64, DefragConfig{}, 1024);
  auto snap = build_snapshot(Config{}, 1);
  std::vector<MbufPtr> own;
  auto mk = [&](uint16_t sport) {
    own.push_back(make_mbuf(udp(sport), 1000000000ull));
    return own.back().get();
  };
  ScriptedSource src;
  src.inputs = {{mk(1000), mk(1001), mk(1002)}, {}, {mk(2000)}};
  const std::vector<rte_mbuf*> first = src.inputs[0], third = src.inputs[2];

  EXPECT_EQ(worker_poll_once(*w, *snap, src, 2, 0), 3u);  // 2 from input 0 (burst 2), 0, 1
  EXPECT_EQ(src.wants, (std::vector<unsigned>{2, 2, 2}));
  ASSERT_EQ(src.returned.size(), 2u);  // nothing handed back for the empty input
  EXPECT_EQ(src.returned[0], (std::vector<rte_mbuf*>{first[0], first[1]}));
  EXPECT_EQ(src.returned[1], (std::vector<rte_mbuf*>{third[0]}));
  EXPECT_EQ(w->ctr.dec.pkts, 3u);
  EXPECT_EQ(w->ctr.bursts, 2u);

  EXPECT_EQ(worker_poll_once(*w, *snap, src, 2, 0), 1u);  // the rest of input 0
  EXPECT_EQ(worker_poll_once(*w, *snap, src, 2, 0), 0u);  // all empty: timers only
  EXPECT_EQ(w->ctr.dec.pkts, 4u);
  EXPECT_EQ(src.returned.size(), 3u);
}

}  // namespace
}  // namespace spectre
