// Stream hub types shared with the API server (docs: issue 14 contract):
// channels, the published event, the replay source over the store, options
// and counters.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spectre::stream {

enum class Channel : uint8_t { kAlerts, kIncidents, kFlows, kStats };
inline constexpr size_t kChannels = 4;

const char* channel_name(Channel ch);
// False for an unknown name.
bool parse_channel(std::string_view name, Channel& out);

struct StreamEvent {
  Channel channel = Channel::kAlerts;
  uint64_t seq = 0;   // per channel, increasing, starts at 1
  int severity = 3;   // 1 (most severe) .. 4; incidents: critical/high 1, medium 2, low 3, info 4
  std::string key;    // aggregation key (alerts: "sid:src_ip:dest_ip"); may be empty
  std::string json;   // the event's JSON object (as the REST API returns it)
  std::string signature, src_ip, dest_ip, category, level;  // for filters
  int64_t published_ns = 0;  // set by publish() when StreamOptions::measure_latency (steady clock)
};

// Implemented by the API server over the store; called on the hub's strand.
class ReplaySource {
 public:
  virtual ~ReplaySource() = default;
  // Events of `ch` with seq > after, oldest first, at most max. False when
  // `after` is older than retention.
  virtual bool replay(Channel ch, uint64_t after, size_t max, std::vector<StreamEvent>& out) = 0;
};

enum class SlowPolicy : uint8_t { kDropOldest, kDisconnect };

struct StreamOptions {
  size_t queue_limit = 4096;          // events queued per client before the slow-consumer policy applies
  SlowPolicy slow_policy = SlowPolicy::kDropOldest;
  std::chrono::milliseconds heartbeat{10000};
  // The hub takes published events in batches at most this often: each client's
  // events of a batch go out in one socket write (at 1,000 clients the socket
  // writes are the cost), for at most this much added latency. 0: at once.
  std::chrono::microseconds batch_delay{5000};
  size_t ring_size = 65536;           // per channel, for resume without the store
  size_t max_clients = 2000;
  size_t handoff_limit = 262144;      // events published but not yet taken by the hub; beyond: counted drop
  size_t replay_batch = 512;          // events fetched per refill of a resuming client
  size_t write_buffer = 32768;        // bytes framed per client before waiting for the socket
  size_t max_message = 65536;         // largest client message accepted
  uint32_t max_aggregate_ms = 60000;
  // Plain TCP: try one non-blocking send() per flush before going asynchronous
  // (coalesce.h). Off only to compare (spectre-streambench --direct-write 0).
  bool direct_write = true;
  // Histogram of publish() -> framed for the socket write, per live event
  // delivered (StreamHub::latency_histogram): the hub's share of the latency.
  bool measure_latency = false;
  // Channels a client may resume (ring, then ReplaySource). The others (stats:
  // a fresh sample every period, nothing worth replaying) keep no ring; a
  // resume asking for them gets a gap notice for what it missed and goes live.
  std::array<bool, kChannels> resumable{true, true, true, false};
};

// Counters for /metrics (monotonic except clients).
struct StreamStats {
  uint64_t clients = 0;            // connected now
  uint64_t clients_total = 0;      // accepted since start
  uint64_t rejected = 0;           // refused: max_clients
  uint64_t published = 0;          // events taken by the hub
  uint64_t handoff_dropped = 0;    // publish() over handoff_limit
  uint64_t bad_seq = 0;            // published with seq 0, not above the channel's last, or a bad channel: dropped
  uint64_t sent = 0;               // event messages framed to clients (an aggregate counts once)
  uint64_t aggregated = 0;         // events folded into an aggregate message
  uint64_t dropped = 0;            // events dropped from slow clients' queues
  uint64_t gaps = 0;               // gap notices sent
  uint64_t disconnects = 0;        // slow clients disconnected by policy
  uint64_t replayed = 0;           // events sent from the ring or the replay source on resume
  uint64_t replay_queries = 0;     // ReplaySource::replay calls
  uint64_t heartbeats = 0;
  uint64_t bad_messages = 0;       // malformed client messages (answered with an error)
  uint64_t acks = 0;
};

}  // namespace spectre::stream
