// Per-flow inspection state for flows that carry payload: TCP reassembly per
// direction, detection state (flowbits, pass) and the app-layer parser state.
// Slots live in one lazily-touched mapping per worker (only used slots cost
// memory); a Flow points at its slot by index. Worker thread only.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dataplane/app/app.h"
#include "dataplane/detect/detect.h"
#include "dataplane/stream/reassembly.h"
#include "dataplane/stream/tcp_track.h"

namespace spectre {

// Stream bytes kept per direction so a match spanning two chunks is seen:
// each chunk is inspected behind the previous chunk's last kStreamWindow bytes.
// Bounds how far apart the parts of one stream match may be (rules with
// longer spans across chunk boundaries miss; within one chunk they match).
constexpr uint32_t kStreamWindow = 1024;

struct SessionHdr {
  StreamDir sd[2];          // [0] to server, [1] to client
  TcpTrack trk;             // TCP session tracker (stream events)
  uint64_t stream_off[2];   // stream offset of the next delivered byte (gaps included)
  uint16_t tail_len[2];
  uint8_t tail[2][kStreamWindow];
  StreamPending pend[2];    // stream rules awaiting their other contents
  FlowDetectState det;
  uint32_t next_free;
  uint8_t ready;            // app state initialised
};

class SessionPool {
 public:
  explicit SessionPool(uint32_t slots);
  ~SessionPool();
  SessionPool(const SessionPool&) = delete;
  SessionPool& operator=(const SessionPool&) = delete;

  // 0 when full. The slot is zero-initialised with a fresh AppState.
  uint32_t alloc();
  void free(uint32_t idx);
  SessionHdr& hdr(uint32_t idx) { return *reinterpret_cast<SessionHdr*>(base_ + size_t(idx) * slot_); }
  AppState* app(uint32_t idx) { return reinterpret_cast<AppState*>(base_ + size_t(idx) * slot_ + hdr_bytes_); }
  uint32_t in_use() const { return in_use_; }
  uint32_t capacity() const { return slots_ - 1; }
  size_t slot_bytes() const { return slot_; }

 private:
  uint8_t* base_ = nullptr;
  size_t map_bytes_ = 0, slot_ = 0, hdr_bytes_ = 0;
  uint32_t slots_ = 0, free_head_ = 0, next_unused_ = 1, in_use_ = 0;
};

}  // namespace spectre
