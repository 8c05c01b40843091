// Resume: a client that subscribes with a position gets every event after it,
// from the store (ReplaySource) while the position is older than the ring,
// then from the ring, then live. The cursor moves strictly forward and live
// events of a catching-up channel are not queued (the cursor reaches them in
// the ring), so nothing is sent twice and nothing is skipped.
#include <algorithm>

#include "ctrlplane/stream/hub.h"

namespace spectre::stream {

namespace {

bool passes(const ChannelSub& s, const Item& it) {
  if (!s.filter.match_rest(it.ev)) return false;
  return !s.filter.has_ip || s.filter.ip.contains(it.src) || s.filter.ip.contains(it.dst);
}

}  // namespace

void StreamHub::refill(Client& c) {
  for (size_t i = 0; i < kChannels; ++i) {
    ChannelSub& s = c.sub(static_cast<Channel>(i));
    if (!s.on || !s.catching_up) continue;
    // A filter may reject a whole batch: keep going (bounded) until something is queued.
    for (int round = 0; round < 64 && s.catching_up; ++round) {
      if (refill_channel(c, static_cast<Channel>(i))) return;
    }
    if (s.catching_up) return;  // more next time the client's queue runs dry
  }
}

// True when it queued events (or a gap notice) for the client.
bool StreamHub::refill_channel(Client& c, Channel ch) {
  ChannelSub& s = c.sub(ch);
  const Ring& r = rings_[static_cast<size_t>(ch)];
  if (r.covered_after == UINT64_MAX || s.cursor < r.covered_after) return replay_from_store(c, ch, s, r);
  auto first = std::upper_bound(r.items.begin(), r.items.end(), s.cursor,
                                [](uint64_t seq, const ItemPtr& it) { return seq < it->ev.seq; });
  bool queued = false;
  size_t n = 0;
  for (auto it = first; it != r.items.end() && n < opts_.replay_batch; ++it, ++n) {
    s.cursor = (*it)->ev.seq;
    if (!passes(s, **it)) continue;
    c.push_replay(*it);
    queued = true;
  }
  if (s.cursor >= r.head) {  // caught up: live from here
    s.catching_up = false;
    s.cursor = r.head;
    s.hw = std::max(s.hw, r.head);
  }
  return queued;
}

// The position is older than the ring: ask the store. Without a store, or
// when the store no longer has it, the client gets a gap notice for the span
// it cannot have and continues from the ring.
bool StreamHub::replay_from_store(Client& c, Channel ch, ChannelSub& s, const Ring& r) {
  std::vector<StreamEvent> evs;
  bool ok = false;
  if (replay_) {
    ctr_.replay_queries.fetch_add(1, std::memory_order_relaxed);
    ok = replay_->replay(ch, s.cursor, opts_.replay_batch, evs);
  }
  if (ok && !evs.empty()) {
    bool queued = false;
    for (StreamEvent& ev : evs) {
      if (ev.seq <= s.cursor || ev.channel != ch) continue;  // defensive: keep the cursor monotonic
      s.cursor = ev.seq;
      ItemPtr it = make_item(std::move(ev));
      if (!passes(s, *it)) continue;
      c.push_replay(std::move(it));
      queued = true;
    }
    if (r.covered_after == UINT64_MAX && evs.size() < opts_.replay_batch) {
      // Nothing published since start: the store's end is the live edge.
      s.catching_up = false;
      s.hw = std::max(s.hw, s.cursor);
    }
    return queued;
  }
  if (r.covered_after == UINT64_MAX) {  // no ring yet and the store has nothing newer
    s.catching_up = false;
    s.hw = std::max(s.hw, s.cursor);
    if (!ok && replay_) c.push_control(R"({"type":"error","reason":"resume position is older than retention"})");
    return !ok && replay_;
  }
  // The store has nothing between the cursor and the ring (or no store): a gap.
  c.note_gap(ch, r.covered_after - s.cursor, s.cursor + 1, r.covered_after);
  s.cursor = r.covered_after;
  return true;
}

}  // namespace spectre::stream
