// Per-source-host behaviour over a sliding window (schemas/features.def
// host_*): distinct responders and responder ports (linear-counting bitmaps),
// flows started, and flow outcomes (answered vs unanswered/reset). Lets a
// flow's features show that its initiator is scanning or brute-forcing.
//
// Fixed memory: 4-way set-associative table, lazily touched mapping; a full
// set evicts the entry seen least recently. The window is kSlots sub-windows
// of window/kSlots each, so it slides in steps of 15 s (default 60 s window).
// Worker thread only. Hosts are per worker: with symmetric RSS a host's flows
// to different peers may land on different workers, which then each see a
// part (exact with one worker, like Suricata's per-thread thresholds).
#pragma once
#include <cstddef>
#include <cstdint>

#include "dataplane/core/divider.h"

namespace spectre {

struct HostStats {
  float distinct_dsts = 0, distinct_dports = 0, conns = 0, failed_ratio = 0;
};

class HostWindow {
 public:
  static constexpr uint32_t kSlots = 4;
  // `hosts` is rounded up to a power of two (>= 4); `window_ns` > 0.
  HostWindow(uint32_t hosts, uint64_t window_ns);
  ~HostWindow();
  HostWindow(const HostWindow&) = delete;
  HostWindow& operator=(const HostWindow&) = delete;

  // A flow from `src` to `dst`:`dport` started at ts. ~40 cycles + one cache miss.
  void flow_started(const uint8_t* src, const uint8_t* dst, uint16_t dport, uint64_t ts_ns);
  // Its outcome became known: answered, or reset / never answered.
  void flow_outcome(const uint8_t* src, bool failed, uint64_t ts_ns);
  // Window figures for `src` at ts, or at the host's newest sub-window when
  // that is later (an expired flow's end row sees what is known now); zeros
  // for an unknown host. Late events are credited to the newest sub-window.
  HostStats stats(const uint8_t* src, uint64_t ts_ns) const;
  uint64_t evictions() const { return evictions_; }
  uint32_t capacity() const { return sets_ * 4; }

 private:
  struct Entry;
  Entry* find(const uint8_t* src, bool create, uint64_t epoch);
  const Entry* find(const uint8_t* src) const;
  Entry* table_ = nullptr;
  size_t map_bytes_ = 0;
  uint32_t sets_ = 0;
  Divider slot_;                 // packet time -> sub-window
  uint64_t evictions_ = 0;
};

}  // namespace spectre
