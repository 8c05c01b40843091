// One stream client's state, independent of its transport (WebSocket or
// SSE): subscriptions with filters, the bounded priority queue with the
// slow-consumer policy, aggregation windows, resume cursors, acks.
// Everything here runs on the hub's strand.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <boost/asio/steady_timer.hpp>
#include <nlohmann/json_fwd.hpp>

#include "ctrlplane/stream/event.h"
#include "ctrlplane/stream/filter.h"

namespace spectre::stream {

class StreamHub;

// One published event, shared by the ring and every client's queue; the
// envelope is serialised once, not per client.
struct Item {
  StreamEvent ev;
  std::string msg;   // {"type":"event","channel":..,"seq":..,"data":..}
  IpAddr src, dst;
};
using ItemPtr = std::shared_ptr<const Item>;
ItemPtr make_item(StreamEvent ev);
int64_t mono_ns();  // steady clock, ns (the clock of StreamEvent::published_ns)

// What a session writes next: an event (item set, or an aggregate in text) or a control message.
struct OutMsg {
  ItemPtr item;
  std::string text;
  Channel ch = Channel::kAlerts;
  uint64_t seq = 0;  // 0: control message (no SSE id)
  bool replay = false;  // from the resume backlog, not live
  std::string_view body() const { return item ? std::string_view(item->msg) : std::string_view(text); }
};

struct ChannelSub {
  bool on = false;
  Filter filter;
  uint32_t aggregate_ms = 0;
  bool catching_up = false;  // resuming: events come from the ring/store by cursor, not live
  uint64_t cursor = 0;       // next refill takes seq > cursor
  uint64_t hw = 0;           // highest seq queued or replayed to this client: nothing at or below is sent again
  uint64_t last_sent = 0;
  uint64_t acked = 0;
  uint64_t gap_missed = 0, gap_from = 0, gap_to = 0;  // pending gap notice
};

struct ClientInfo {
  uint64_t id = 0;
  bool sse = false;
  std::array<bool, kChannels> subscribed{};
  std::array<uint64_t, kChannels> acked{}, last_sent{};
  size_t queued = 0;
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(StreamHub& hub, bool sse);
  virtual ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  virtual void wake() = 0;       // the queue has something: write if idle
  virtual void close_now() = 0;  // hard close (policy, hub stop)
  // Socket writes so far: {completed in place, asynchronous}.
  virtual std::pair<uint64_t, uint64_t> writes() const { return {0, 0}; }

  // Hub side.
  bool offer(const ItemPtr& it);  // live event that passed the filter; true: newly touched, wake later
  void push_replay(ItemPtr it) { replay_q_.push_back(std::move(it)); }
  void note_gap(Channel ch, uint64_t missed, uint64_t from, uint64_t to);
  void push_control(std::string json);  // and wake
  void push_heartbeat();
  ChannelSub& sub(Channel ch) { return sub_[static_cast<size_t>(ch)]; }
  bool catching_up() const;
  ClientInfo info() const;

  // Session side.
  bool pop(OutMsg& m);
  // The session stopped framing with events still queued (the socket is the bottleneck).
  void set_backed_up(bool b) { backed_up_ = b; }
  size_t queued() const { return queued_; }
  void flush_sent_count();  // events popped since the last call -> the hub's `sent` (one atomic add per write)
  void handle_text(std::string_view text);  // one WebSocket message
  // SSE: subscription from the request's query and Last-Event-ID. False with a reason when malformed.
  bool subscribe_query(std::string_view target, std::string_view last_event_id, std::string& reason);
  std::string sse_id() const;  // "alerts:124,incidents:7": every subscribed channel's last seq sent

  uint64_t id = 0;
  uint64_t mark = 0;      // hub fan-out dedup (src and dest both indexed)
  bool touched = false;   // queued something during the current hub batch
  bool closed = false;
  bool detached = false;

 protected:
  void error(std::string reason);
  void cancel_timers() { agg_timer_.cancel(); }
  StreamHub& hub_;

 private:
  struct Agg {
    uint64_t first_seq = 0, count = 0;
    ItemPtr last;
  };
  bool enqueue(ItemPtr it);
  void aggregate(const ItemPtr& it, uint32_t window_ms);
  void arm_agg_timer();
  void flush_aggregates(bool all);
  bool pop_gap(OutMsg& m);
  bool subscribe(const nlohmann::json& j, std::string& reason);
  bool apply_subscription(const std::array<bool, kChannels>& chans, const Filter& f, uint32_t agg_ms,
                          const std::array<int64_t, kChannels>& resume);
  void op_ack(const nlohmann::json& j);

  bool sse_;
  std::array<ChannelSub, kChannels> sub_;
  // By severity 1..4, each entry with its arrival number: FIFO across buckets
  // while the client keeps up, highest severity first once it is backed up.
  std::array<std::deque<std::pair<uint64_t, ItemPtr>>, 4> q_;
  size_t queued_ = 0;
  uint64_t arrivals_ = 0;
  bool backed_up_ = false;
  uint64_t popped_ = 0;  // events popped, not yet added to the hub's counter
  std::deque<ItemPtr> replay_q_;          // resume: oldest first, before live events
  std::deque<std::string> control_;
  bool gaps_pending_ = false;
  std::unordered_map<std::string, Agg> agg_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> agg_order_;
  boost::asio::steady_timer agg_timer_;
  bool agg_armed_ = false;
};

}  // namespace spectre::stream
