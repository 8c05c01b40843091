// Behaviour stage of the worker: turns flow events into Summaries (first
// packet, answer, end), routes each to the worker that owns its source host
// and the one that owns its destination host, and runs the Engine there.
//
// Routing makes a host's state whole: owner(host) = hash(address) % workers.
// Each worker has a fixed SPSC mailbox to every other worker (nw x nw rings,
// created at start); owners drain theirs once per burst and tick. Live, a
// full mailbox drops and counts (behaviour.mailbox_drops), never waits: two
// workers waiting on each other's full mailbox would deadlock. Offline the
// sender waits, draining its own mailboxes meanwhile (both progress). With
// one worker there is no mailbox. Nothing else is shared.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/behave/engine.h"
#include "dataplane/events/spsc_ring.h"
#include "dataplane/flow/flow.h"

namespace spectre {

struct WorkerCtx;
struct Snapshot;
struct Flow;
struct PacketInfo;

// Flow::bh bits.
enum BehaveFlowBits : uint8_t {
  kBhStarted = 1,   // start summary sent
  kBhRev = 2,       // first packet came from the responder side: it is the sender
  kBhSyn = 4,       // first packet a TCP SYN
  kBhUnsol = 8,     // unsolicited start (SYN-ACK/RST first, UDP reply-like, ICMP error/reply)
  kBhAnswered = 16,
  kBhRstRecv = 32,  // refused by the receiver
  kBhDone = 64,     // no more per-packet checks
  kBhMid = 128,     // TCP midstream pickup
};

namespace behave {

// nw x nw mailboxes (the diagonal unused), created on the main thread.
class Bus {
 public:
  Bus(uint32_t nworkers, uint32_t capacity);
  uint32_t workers() const { return nw_; }
  SpscRing<Summary>& ring(uint32_t from, uint32_t to) { return *rings_[from * nw_ + to]; }
  // End of input: workers that flushed their flows (their last summaries are
  // in the mailboxes); release/acquire orders those pushes before the count.
  std::atomic<uint32_t> flushed{0};

 private:
  uint32_t nw_;
  std::vector<std::unique_ptr<SpscRing<Summary>>> rings_;
};

// Worker owning `addr` (16 bytes). Same function on every worker.
uint32_t owner(const uint8_t* addr, uint32_t nworkers);

constexpr uint32_t kMaxWorkers = 128;

struct Ctx {
  Ctx(uint16_t worker, const Sizes& sz, Bus* bus) : eng(sz, worker), bus(bus), id(worker) {}
  Engine eng;
  Bus* bus;       // null or one worker: direct calls
  uint16_t id;
  uint32_t sends = 0;  // summaries sent; every 8th is timed (see send())
  // Newest clock received from each peer, and the clock last sent to it
  // (a kClock heartbeat goes out when ours advanced by 1 s).
  uint64_t peer_clock[kMaxWorkers] = {};
  uint64_t sent_clock[kMaxWorkers] = {};
  // Summaries for this worker's own engine, processed at the end of the
  // burst with their table sets prefetched together (misses overlap).
  static constexpr uint32_t kPend = 64;
  Summary pend[kPend];
  KeyHashes pend_hash[kPend];
  uint32_t npend = 0;
};

}  // namespace behave

// Flow stage hooks. behave_packet after the flow stage counted the packet,
// while the flow is not kBhDone (first packet, then until answered: a few
// cycles). behave_flow_end before the flow's slot is freed.
void behave_packet(WorkerCtx& w, const Snapshot& s, Flow& f, const PacketInfo& p, int dir);
void behave_flow_end(WorkerCtx& w, const Flow& f);
// Flow stage's LRU relink (core/stages.h flow_update: at most once per ~1 s of a flow's
// packets, never per packet). Sends the kPartial summary of a TCP flow whose
// age passed slowdos.min_duration since its previous relink (`prev_stamp`,
// Flow::lru_stamp units): exactly once per flow, no flag needed. Only flows
// with no completed HTTP request: HTTP with a partial request, or nothing
// recognised and no payload either way. A few compares when it does not send.
void behave_relink(WorkerCtx& w, const Snapshot& s, const Flow& f, uint32_t prev_stamp);
// HTTP transaction direction completed (inspection): counts requests and 401/403 answers on the flow.
inline void behave_http(Flow& f, bool to_server, uint16_t status) {
  if (to_server) { if (f.bh_http_req < 255) f.bh_http_req++; }
  else if ((status == 401 || status == 403) && f.bh_http_deny < 255) f.bh_http_deny++;
}
// Each worker tick (once per loop): runs pending summaries, drains this
// worker's mailboxes, ends idle episodes.
void behave_poll(WorkerCtx& w, const Snapshot& s);
// End of input, after the flow table was flushed: waits until every worker
// flushed (draining meanwhile), drains, ends every open episode.
void behave_finish(WorkerCtx& w);

}  // namespace spectre
