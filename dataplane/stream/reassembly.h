// TCP reassembly, one StreamDir per flow direction. In-order data is handed
// on straight from the packet (no copy); out-of-order segments are copied into
// fixed-size chunks of a per-worker SegmentPool until the gap closes.
// Overlap policy: first data wins (bytes already delivered or buffered are
// kept; a retransmission with different bytes is counted, never re-delivered).
//
// Threads: a worker's own StreamDirs and SegmentPool only.
#pragma once
#include <cstdint>
#include <memory>

#include "dataplane/core/counter_def.h"
#include "dataplane/stream/counters.h"

namespace spectre {

struct StreamConfig {
  uint32_t depth = 1u << 20;        // bytes delivered per direction, then stop (0: unlimited)
  uint32_t max_ooo_bytes = 65536;   // buffered out-of-order bytes per direction
  bool midstream = true;            // pick up sessions whose SYN was not seen
  bool async_oneside = false;       // a handshake seen from one side only establishes the flow (flow/flow_tcp.h)
};

struct StreamCounters {
  SPECTRE_STREAM_COUNTERS(SPECTRE_COUNTER_FIELD)  // dataplane/stream/counters.h
};

// Fixed pool of chunks, allocated once per worker (one allocation; data pages are
// touched on first use). chunk_bytes is clamped to [16, 16 MiB].
class SegmentPool {
 public:
  explicit SegmentPool(uint32_t chunks, uint32_t chunk_bytes = 2048);
  ~SegmentPool();
  uint32_t free_chunks() const;
  uint32_t chunks() const;       // as constructed (index 0, the null chunk, not counted)
  uint32_t chunk_bytes() const;
  struct Impl;
 private:
  friend struct StreamOps;
  std::unique_ptr<Impl> impl_;
};

// 24 bytes. A zero-initialized StreamDir is a fresh direction.
struct StreamDir {
  uint32_t next_seq = 0;   // next byte to deliver
  uint32_t delivered = 0;  // bytes delivered (capped at depth)
  uint32_t ooo_head = 0;   // pool chunk list, sorted by seq; 0 = empty
  uint32_t ooo_bytes = 0;
  uint32_t depth = 0;      // cfg.depth copied when the direction starts (0: unlimited)
  uint16_t ooo_chunks = 0; // chunks in the list (capped per direction, see reassembly.cc)
  uint8_t state = 0;       // implementation flags (initialized, fin seen, depth reached, ...)
};
static_assert(sizeof(StreamDir) <= 24);

// Called for each contiguous in-order piece. `gap_before`: bytes skipped just
// before this piece (0 normally). Data is valid only during the call; the
// direction's next_seq and delivered already count the piece.
using StreamDeliver = void (*)(void* user, const uint8_t* data, uint32_t len, uint32_t gap_before);

// One TCP segment in this direction. `flags` are the TCP flags (SYN sets the
// ISN; data on a SYN, TCP Fast Open, is delivered from ISN + 1). Delivers what became in order.
void stream_segment(StreamDir& d, SegmentPool& pool, const StreamConfig& cfg, uint32_t seq,
                    uint8_t flags, const uint8_t* data, uint32_t len, StreamCounters& ctr,
                    StreamDeliver deliver, void* user);

// StreamDir::state bits. FIN and RST use the TCP flag values.
enum : uint8_t {
  kStreamFin = 0x01, kStreamSyn = 0x02, kStreamRst = 0x04,  // seen in this direction
  kStreamInit = 0x10,                                       // next_seq is valid
  kStreamDepth = 0x20,                                      // depth reached: data ignored
};
inline bool stream_depth_reached(const StreamDir& d) { return d.state & kStreamDepth; }

// Flow end: skips remaining holes (counted as gaps), delivers what is buffered,
// and returns every chunk to the pool.
void stream_finish(StreamDir& d, SegmentPool& pool, StreamCounters& ctr, StreamDeliver deliver,
                   void* user);

// Returns chunks without delivering (flow evicted with no consumer).
void stream_release(StreamDir& d, SegmentPool& pool);

}  // namespace spectre
