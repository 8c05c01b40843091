// Behaviour detectors over per-flow summaries: per-entity sliding windows in
// fixed-size 4-way set-associative tables, episodes, and alerts. One Engine
// per worker; it sees the summaries of the hosts that worker owns (route.h).
// No allocation after construction; no shared state.
//
// Memory per tracked entity (sizeof, stated in README): source host 448 B,
// (source, destination, service) pair 448 B, destination 448 B; checked by
// static_asserts in engine.cc. Tables are reserved, not committed: only
// touched sets cost memory.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dataplane/behave/config.h"
#include "dataplane/behave/counters.h"
#include "dataplane/core/counter_def.h"
#include "dataplane/events/event.h"

namespace spectre::behave {

// kClock: only the sender's clock. kPartial: a TCP flow still open
// slowdos.min_duration after its start with no completed HTTP request or no
// request byte (sent once per flow, from the flow stage's relink path).
enum Kind : uint8_t { kStart, kAnswer, kEnd, kClock, kPartial };

enum SumFlags : uint16_t {
  kSynStart = 1,            // TCP, first packet a SYN (a connection attempt)
  kUnsolicited = 2,    // TCP started by SYN-ACK/RST/other, or UDP from a service port to a high port
  kEstablished = 4,    // TCP handshake completed (or midstream pickup)
  kAnswered = 8,       // the receiver sent something back (UDP/ICMP), or the TCP handshake completed
  kRstByReceiver = 16, // refused
  kMidstream = 32,
};

enum Route : uint8_t { kToSrc = 1, kToDst = 2 };

// A flow as the behaviour stage sees it: oriented from the host that sent the
// first packet (src) to the other (dst). 120 bytes, copied through mailboxes.
struct Summary {
  uint64_t ts;                 // event time (packet time): first packet, answer, or last packet
  uint64_t first_ts, last_ts;
  uint64_t flow_id;
  uint64_t bytes[2];           // [0] src -> dst
  uint32_t pkts[2];
  uint8_t src[16], dst[16];
  uint16_t sport, dport;
  uint16_t flags;              // SumFlags
  uint8_t kind, ip_ver, proto, app_proto;
  uint8_t http_req, http_deny; // HTTP requests completed, 401/403 responses (saturating)
  uint8_t route;               // Route: which parts the receiving engine processes
  uint8_t from;                // sending worker
  uint8_t tcp_flags;           // TCP flags src sent so far (OR)
  uint8_t pad[3];
  uint64_t clock;              // the sender's packet clock when sent (mailboxes are FIFO)
};
static_assert(sizeof(Summary) == 120);

struct Counters {
  SPECTRE_BEHAVE_COUNTERS(SPECTRE_COUNTER_FIELD)  // dataplane/behave/counters.h
};

// Where alerts go (the worker's alert ring, or a test's vector).
class Sink {
 public:
  virtual ~Sink() = default;
  virtual AlertRecord* claim() = 0;  // null: dropped (counted by the sink)
  virtual void commit() = 0;
};

// Table hashes of a summary's source, (source, destination, service) and
// destination keys, computed once by prefetch() and reused by on_summary()
// (about 60 cycles of multiply chains per summary). 0: not computed.
struct KeyHashes {
  uint64_t src = 0, pair = 0, vic = 0;
};

struct Sizes {
  uint32_t sources = 16384, pairs = 32768, victims = 8192;
};

class Engine {
 public:
  Engine(const Sizes& sz, uint16_t worker);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Processes the parts of `m` named by m.route. ~100-300 cycles + the table misses.
  void on_summary(const Settings& s, const Summary& m, Sink& out, const KeyHashes* h = nullptr);
  // Prefetches the table sets on_summary(m) will read (callers batch
  // summaries so that the misses overlap instead of adding up).
  void prefetch(const Settings& s, const Summary& m, KeyHashes* h = nullptr) const;
  // Ends episodes idle at `now` for longer than their window (at most
  // `budget` open episodes examined per call). `now` must be a time every
  // worker feeding this engine has reached (stage.cc: the minimum of the
  // workers' clocks), else a lagging worker's events would restart episodes.
  void sweep(const Settings& s, Sink& out, uint32_t budget, uint64_t now);
  // End of input: every open episode ends.
  void end_all(const Settings& s, Sink& out);
  Counters ctr{};
  uint64_t clock() const { return clock_; }
  static size_t src_entry_bytes();
  static size_t pair_entry_bytes();
  static size_t victim_entry_bytes();

  struct Src;
  struct Pair;
  struct Victim;
  struct Episode;

 private:
  void on_src(const Settings& s, const Summary& m, Sink& out);
  void on_pair(const Settings& s, const Summary& m, Sink& out);
  void on_exfil(const Settings& s, const Summary& m, Sink& out);
  void on_victim(const Settings& s, const Summary& m, Sink& out);
  void on_slow(const Settings& s, const Summary& m, Sink& out);
  void scan_step(const Settings& s, const Summary& m, Sink& out, Src* e, bool fresh);
  template <class E>
  E* find(E* table, uint32_t sets, const E& key, uint64_t hash, uint64_t ts, Sink& out, const Settings& s);
  // Returns whether an episode of the entry is still open.
  bool end_entry_episodes(const Settings& s, Sink& out, void* entry, int table, uint64_t now, bool force);
  template <class E> void note_open(E* e, E* table, int t);
  void* entry_at(uint32_t ref);

  // Lookup keys: zeroed once, only their key fields written per lookup
  // (zeroing a 448-byte key per summary part cost more than the lookup).
  Src* ksrc_ = nullptr;
  Pair* kpair_ = nullptr;
  Victim* kvic_ = nullptr;
  Src* src_ = nullptr;
  Pair* pair_ = nullptr;
  Victim* vic_ = nullptr;
  uint32_t src_sets_, pair_sets_, vic_sets_;
  size_t map_bytes_[3] = {};
  uint64_t clock_ = 0;
  KeyHashes cur_{};              // of the summary on_summary is processing
  // Entries with an open episode (table << 28 | index): what the sweep and
  // the end of input walk, so their cost follows the open episodes, not the
  // table sizes. Full: counted, and end_all falls back to a table scan.
  static constexpr uint32_t kMaxOpen = 4096;
  uint32_t open_[kMaxOpen];
  uint32_t nopen_ = 0, open_cursor_ = 0;
  uint64_t sweep_due_ = 0;       // event time of the next sweep pass
  bool open_overflow_ = false;
  uint16_t worker_;
};

}  // namespace spectre::behave
