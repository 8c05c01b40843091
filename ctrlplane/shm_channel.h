// Control-plane channel: one POSIX shared-memory segment "/spectre-<name>"
// (/dev/shm/spectre-<name>) created by the data plane and attached by the
// control plane. It holds a versioned header and SPSC message rings
// (ctrlplane/shm_ring.h):
//   event ring per worker   worker        -> control plane (alerts, flows, stats)
//   command ring            control plane -> data plane
//   response ring           data plane    -> control plane
// Payloads are opaque bytes (flatbuffers of schemas/ctrl.fbs in practice).
//
// Segment layout (version 1):
//   ShmHeader, padded to kShmHeaderBytes (4 KiB)
//   ring blocks in order: event[0..workers-1], command, response;
//   each is RingCtl (kRingCtlBytes) followed by its data area (power of two).
// magic (offset 0, 8 bytes) and layout_version (offset 8, 4 bytes) keep their
// place in every future version so any tool can report a mismatch.
//
// Setup and teardown are not on the packet path (they allocate, make system
// calls); ring endpoints obtained here are the fast path.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ctrlplane/shm_ring.h"

namespace spectre::ctrl {

inline constexpr uint64_t kShmMagic = 0x314d485352544353ull;  // "SCTRSHM1" little-endian
inline constexpr uint32_t kShmLayoutVersion = 1;
inline constexpr uint32_t kShmHeaderBytes = 4096;
inline constexpr uint32_t kShmMaxWorkers = 256;
inline constexpr size_t kShmNameMax = 48;  // instance name characters: [A-Za-z0-9_.-]

// ready field values.
inline constexpr uint32_t kShmInitialising = 0;
inline constexpr uint32_t kShmReady = 1;

struct ShmHeader {
  uint64_t magic;           // kShmMagic, written last at creation
  uint32_t layout_version;  // kShmLayoutVersion
  uint32_t header_bytes;    // kShmHeaderBytes
  uint64_t total_bytes;     // whole segment
  int32_t creator_pid;
  uint32_t num_workers;
  uint64_t creator_start;   // creator's start time (/proc/<pid>/stat field 22), against pid reuse
  uint32_t event_ring_bytes;
  uint32_t command_ring_bytes;
  uint32_t response_ring_bytes;
  uint32_t ring_ctl_bytes;  // kRingCtlBytes
  char instance[64];        // NUL-terminated instance name
  uint64_t created_unix_ns;
  std::atomic<uint32_t> ready;        // kShmReady once every ring is initialised
  std::atomic<int32_t> consumer_pid;  // control plane holding the consumer side (0: none)
  // Data-plane liveness: bumped by heartbeat() (main lcore, e.g. every 100 ms).
  alignas(64) std::atomic<uint64_t> heartbeat;
  std::atomic<uint64_t> heartbeat_mono_ns;  // CLOCK_MONOTONIC (system-wide) of the last beat
};
static_assert(sizeof(ShmHeader) <= kShmHeaderBytes);
// Fixed in every layout version (tools read them before anything else).
static_assert(offsetof(ShmHeader, layout_version) == 8);
static_assert(offsetof(ShmHeader, total_bytes) == 16);
static_assert(offsetof(ShmHeader, creator_pid) == 24);

struct RingSizes {
  uint32_t event_bytes = 1u << 20;     // per worker
  uint32_t command_bytes = 64u << 10;
  uint32_t response_bytes = 256u << 10;
};

struct Liveness {
  uint64_t heartbeat = 0;
  uint64_t heartbeat_mono_ns = 0;
  uint64_t age_ns = 0;       // now - heartbeat_mono_ns (0 if never beaten)
  int32_t creator_pid = 0;
  bool creator_alive = false;
};

// Bytes of a segment with these parameters (0 if a parameter is out of range).
uint64_t shm_segment_bytes(uint32_t workers, const RingSizes& sizes);
// "/spectre-<name>"; empty if the name is invalid.
std::string shm_object_name(const std::string& name);

class ShmChannel {
 public:
  // Data plane: creates "/spectre-<name>" with the given mode (fchmod, so the
  // umask does not apply) and group (fchown; gid_t(-1) keeps the caller's).
  // A leftover segment whose creator is dead (or that was never finished) is
  // unlinked first; one whose creator lives is refused. Null + err on failure.
  static std::unique_ptr<ShmChannel> create(const std::string& name, uint32_t workers, const RingSizes& sizes,
                                            std::string& err, mode_t mode = 0600, gid_t group = gid_t(-1));
  // Control plane: maps an existing segment after checking magic, version,
  // sizes and ring headers; refuses anything else with a clear err and never
  // touches bytes outside the segment. exclusive: claims the consumer side
  // (refused while another live process holds it); false for read-only tools
  // that only look at the header and counters.
  static std::unique_ptr<ShmChannel> attach(const std::string& name, std::string& err, bool exclusive = true);
  // Removes the name (mappings stay valid until detached). False + err if absent.
  static bool unlink(const std::string& name, std::string& err);

  ~ShmChannel();
  ShmChannel(const ShmChannel&) = delete;
  ShmChannel& operator=(const ShmChannel&) = delete;

  // Unmaps (and releases the consumer claim). Endpoints become invalid.
  void detach();
  bool attached() const { return base_ != nullptr; }

  // Endpoints. Each continues from the ring's current state; the caller must
  // ensure one producer and one consumer per ring. A non-exclusive (read-only)
  // attachment gets invalid endpoints (valid() == false).
  RingProducer event_producer(uint32_t worker) const;
  RingConsumer event_consumer(uint32_t worker) const;
  RingProducer command_producer() const;
  RingConsumer command_consumer() const;
  RingProducer response_producer() const;
  RingConsumer response_consumer() const;
  // Raw control block (counters for metrics: drops, gaps, occupancy).
  const RingCtl& event_ring(uint32_t worker) const;
  const RingCtl& command_ring() const;
  const RingCtl& response_ring() const;

  // Data plane: bump the liveness counter and timestamp.
  void heartbeat();
  Liveness liveness() const;
  // Control plane: true when the data plane behind this mapping is gone or the
  // name now refers to another segment (a restarted data plane): re-attach.
  bool replaced() const;

  const ShmHeader& header() const { return *reinterpret_cast<const ShmHeader*>(base_); }
  uint32_t workers() const { return workers_; }
  const std::string& name() const { return name_; }
  const std::string& object_name() const { return object_; }
  bool creator() const { return creator_; }

 private:
  ShmChannel() = default;
  RingCtl* ring_ctl(uint32_t index) const;
  uint8_t* ring_data(uint32_t index) const;

  uint8_t* base_ = nullptr;
  uint64_t bytes_ = 0;
  uint32_t workers_ = 0;
  uint64_t ring_offset_[kShmMaxWorkers + 2] = {};
  std::string name_, object_;
  ino_t inode_ = 0;
  dev_t dev_ = 0;
  bool creator_ = false;
  bool claimed_ = false;
  bool read_only_ = false;
};

}  // namespace spectre::ctrl
