// Recent alerts for `spectrectl alerts tail [-f]`: a bounded in-memory ring of
// EVE alert lines with a sequence number each. The event consumer (the ring
// reader of the shm channel) publishes; socket clients read or wait.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace spectre::cp {

struct AlertEvent {
  uint64_t seq = 0;
  int severity = 3;   // Suricata convention: 1 = most severe
  std::string eve;    // one EVE JSON object, no newline
  std::string text;   // one-line human rendering
};

// "1".."4" or high/medium/low/info (= 1..4). 0 and false on anything else.
bool parse_severity(std::string_view s, int& out);
// One-line rendering of an EVE alert; falls back to the raw line if it is not JSON.
std::string render_alert(std::string_view eve, int* severity_out = nullptr);

class AlertFeed {
 public:
  explicit AlertFeed(size_t capacity = 4096) : cap_(capacity) {}
  // Adds one EVE alert line (trailing newline allowed). Oldest alerts fall out.
  void publish(std::string_view eve);
  // The last n alerts with severity <= max_severity (0: any), oldest first.
  std::vector<AlertEvent> recent(size_t n, int max_severity) const;
  // Alerts with seq > after (and severity filter), waiting up to timeout for
  // any new alert; `after` advances to the newest sequence number seen.
  std::vector<AlertEvent> wait_after(uint64_t& after, int max_severity, std::chrono::milliseconds timeout);
  uint64_t last_seq() const;
  void wake_all() { cv_.notify_all(); }
  // Called with every published line (the analyst store's ingest); set before the first publish.
  void set_tap(std::function<void(std::string_view)> f) { tap_ = std::move(f); }

 private:
  size_t cap_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<AlertEvent> ring_;
  uint64_t seq_ = 0;
  std::function<void(std::string_view)> tap_;
};

}  // namespace spectre::cp
