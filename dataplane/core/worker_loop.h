// One iteration of a worker's loop, shared by spectre-dp's workers
// (core/runtime.cc) and spectre-bench's measured loop (bench/runner.cc), so the
// benchmark measures the loop the dataplane runs.
//
// An rx source has `parts()` inputs polled in turn each iteration; `rx(i, mb,
// want)` fills up to `want` mbufs from input i, and `done(mb, n)` takes them
// back after process_burst (spectre-dp frees them; the bench re-enqueues them
// into its ring). A template forced inline, so the source's calls inline too:
// no call per loop iteration (checked in both binaries with nm).
#pragma once
#include <cstdint>

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/core/worker.h"

namespace spectre {

// Processes what each input of `src` has (at most `burst` per input, <= kMaxBurst),
// then runs the worker's timers. Returns the packets processed.
template <class Src>
[[gnu::always_inline]] inline uint32_t worker_poll_once(WorkerCtx& w, const Snapshot& s, Src& src, uint32_t burst,
                                                        uint64_t now) {
  rte_mbuf* mb[kMaxBurst];
  uint32_t got = 0;
  const unsigned parts = src.parts();
  for (unsigned i = 0; i < parts; i++) {
    const unsigned n = src.rx(i, mb, burst);
    if (!n) continue;
    process_burst(w, s, mb, uint16_t(n), now);
    src.done(mb, n);
    got += n;
  }
  worker_tick(w, s, now);
  return got;
}

// spectre-dp's source: the (port, queue) pairs this worker polls directly (RSS),
// then its ring from the offline reader or the software distributor.
struct PortRxSource {
  const std::pair<uint16_t, uint16_t>* queues = nullptr;
  unsigned nqueues = 0;
  rte_ring* ring = nullptr;

  unsigned parts() const { return nqueues + (ring ? 1 : 0); }
  unsigned rx(unsigned i, rte_mbuf** mb, unsigned want) const {
    if (i < nqueues) return rte_eth_rx_burst(queues[i].first, queues[i].second, mb, uint16_t(want));
    return rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(mb), want, nullptr);
  }
  static void done(rte_mbuf** mb, unsigned n) { rte_pktmbuf_free_bulk(mb, n); }
};

}  // namespace spectre
