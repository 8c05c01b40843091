// A worker's typed publish/subscribe (as Snort 3's DataBus, but fixed-size):
// one Topic per event kind, each a fixed array of subscribers (a function
// pointer and its context pointer) registered when the worker is built.
// Publishing is a loop of indirect calls: no allocation, no lock; a worker's
// bus is used by its own thread only.
//
// Order: subscribers run by rank (Rank below, lower first), subscribers of
// equal rank in the order they subscribed. To add a subscriber (a new
// detector), write `void fn(void* ctx, const FlowEnd& m)` (or AppTx, FlowStart) and subscribe it at
// worker construction with its rank (core/worker.cc wire_bus); the others are
// untouched. A full topic refuses (subscribe returns false): raise its capacity.
#pragma once
#include <cstdint>

#include "dataplane/flow/flow.h"

namespace spectre {

struct Snapshot;
struct AppMeta;

namespace bus {

// Subscriber ranks, the documented order of the stages on every topic.
enum Rank : uint8_t {
  kRankInspect = 10,  // stream and app-layer flush, detection (may still alert)
  kRankMl = 20,       // features and scoring points
  kRankBehave = 30,   // behaviour detectors
  kRankIntel = 40,    // threat intelligence
  kRankOutput = 90,   // records leave the worker last, after every stage saw the event
};

template <class Msg, int Cap>
class Topic {
  static_assert(Cap > 0 && Cap <= 255);

 public:
  using Fn = void (*)(void* ctx, const Msg& m);

  // Inserts after every subscriber of rank <= `rank`. False: full or no function.
  bool subscribe(Fn fn, void* ctx, uint8_t rank) {
    if (!fn || n_ == Cap) return false;
    int at = n_;
    while (at > 0 && subs_[at - 1].rank > rank) {
      subs_[at] = subs_[at - 1];
      at--;
    }
    subs_[at] = {fn, ctx, rank};
    n_++;
    return true;
  }

  void publish(const Msg& m) const {
    for (uint8_t i = 0; i < n_; i++) subs_[i].fn(subs_[i].ctx, m);
  }

  int size() const { return n_; }
  static constexpr int capacity() { return Cap; }

 private:
  struct Sub {
    Fn fn;
    void* ctx;
    uint8_t rank;
  };
  Sub subs_[Cap]{};
  uint8_t n_ = 0;
};

// A flow was created for its first packet (published before the packet is counted).
struct FlowStart {
  const Snapshot& s;
  Flow& f;
  uint32_t idx;  // the flow's slot in the worker's table
  uint64_t ts;   // the first packet's time, ns
};

// A flow ends (timeout, forced, shutdown); its slot is freed after the publish.
struct FlowEnd {
  const Snapshot* s;  // null: a flush before any burst
  Flow& f;
  EndReason why;
};

// An app-layer transaction direction completed (the inspection stage's parser
// callback): published before the transaction is logged and detected.
struct AppTx {
  Flow& f;
  bool to_server;
  const AppMeta& meta;
  uint64_t ts;  // the current packet's time, ns
};

// One per worker.
struct WorkerBus {
  Topic<FlowStart, 4> flow_start;
  Topic<FlowEnd, 8> flow_end;
  Topic<AppTx, 8> app_tx;
};

}  // namespace bus
}  // namespace spectre
