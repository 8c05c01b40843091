#include "dataplane/behave/stage.h"

#include <cstring>

#include <rte_cycles.h>
#include <rte_hash_crc.h>
#include <rte_pause.h>

#include "dataplane/core/inspect.h"
#include "dataplane/core/snapshot.h"
#include "dataplane/core/worker.h"

namespace spectre {

namespace behave {

Bus::Bus(uint32_t nworkers, uint32_t capacity) : nw_(nworkers) {
  rings_.resize(size_t(nworkers) * nworkers);
  for (uint32_t a = 0; a < nworkers; a++)
    for (uint32_t b = 0; b < nworkers; b++)
      if (a != b) rings_[a * nworkers + b] = std::make_unique<SpscRing<Summary>>(capacity);
}

uint32_t owner(const uint8_t* addr, uint32_t nw) { return nw <= 1 ? 0 : rte_hash_crc(addr, 16, 0xbe4a) % nw; }

}  // namespace behave

namespace {

using behave::Summary;

struct WorkerSink final : behave::Sink {
  explicit WorkerSink(WorkerCtx& w_) : w(w_) {}
  AlertRecord* claim() override { return claim_alert_slot(w); }
  void commit() override { w.insp.alerts.commit(); }
  WorkerCtx& w;
};

// UDP from a service port to a high port looks like a reply (reflection).
bool reply_like_udp(uint16_t sport, uint16_t dport) {
  if (sport < 1024 && dport >= 1024) return true;
  switch (sport) {  // amplification vectors above 1023
    case 1900: case 3283: case 3702: case 5683: case 10001: case 11211: case 27015: case 32414: case 37810:
    case 47808: case 4500: return dport != sport;
    default: return false;
  }
}

// Writes every field, no memset first: the memset's wide stores followed by
// narrow ones made the later 120-byte copy stall on store forwarding.
void fill(Summary& m, const Flow& f, behave::Kind k, uint64_t ts) {
  bool rev = f.bh & kBhRev;
  FlowEnds e = flow_ends(f);
  std::memcpy(m.src, rev ? e.dst : e.src, 16);
  std::memcpy(m.dst, rev ? e.src : e.dst, 16);
  m.sport = rev ? e.dport : e.sport;
  m.dport = rev ? e.sport : e.dport;
  int a = rev ? 1 : 0;
  m.pkts[0] = uint32_t(f.pkts[a]);
  m.pkts[1] = uint32_t(f.pkts[1 - a]);
  m.bytes[0] = f.bytes[a];
  m.bytes[1] = f.bytes[1 - a];
  m.ts = ts;
  m.first_ts = f.first_ts;
  m.last_ts = f.last_ts;
  m.flow_id = flow_id_of(f);
  m.kind = k;
  m.ip_ver = f.key.ip_ver;
  m.proto = f.key.proto;
  m.app_proto = f.app_proto;
  m.http_req = f.bh_http_req;
  m.http_deny = f.bh_http_deny;
  m.tcp_flags = rev ? f.tcp_flags_tc : f.tcp_flags_ts;
  uint16_t fl = 0;
  if (f.bh & kBhSyn) fl |= behave::kSynStart;
  if (f.bh & kBhUnsol) fl |= behave::kUnsolicited;
  if (f.bh & kBhMid) fl |= behave::kMidstream;
  if (f.bh & kBhAnswered) fl |= behave::kAnswered;
  if (f.bh & kBhRstRecv) fl |= behave::kRstByReceiver;
  if (f.key.proto == 6 && (f.flags & kFlowEstablished)) fl |= behave::kEstablished;
  m.flags = fl;
  m.route = 0;
  m.from = 0;
  std::memset(m.pad, 0, sizeof m.pad);
  m.clock = 0;
}

uint32_t drain(WorkerCtx& w, const behave::Settings& st, uint32_t budget);

// A full mailbox. Live: drop and count (never wait on another worker).
// Offline (nothing may be lost): wait, draining our own mailboxes meanwhile,
// so two workers filling each other's mailbox still both progress.
void push_full(WorkerCtx& w, const Snapshot& s, SpscRing<Summary>& r, const Summary& m) {
  behave::Ctx& b = *w.behave;
  if (!w.block_on_full) {
    b.eng.ctr.mailbox_drops++;
    return;
  }
  while (!r.push(m)) {
    drain(w, s.behave, 256);
    rte_pause();
  }
}

// Runs this worker's pending summaries: prefetch every table set, then process.
void run_pending(WorkerCtx& w, const behave::Settings& st) {
  behave::Ctx& b = *w.behave;
  if (!b.npend) return;
  for (uint32_t i = 0; i < b.npend; i++) b.eng.prefetch(st, b.pend[i], &b.pend_hash[i]);
  WorkerSink sink(w);
  for (uint32_t i = 0; i < b.npend; i++) b.eng.on_summary(st, b.pend[i], sink, &b.pend_hash[i]);
  b.npend = 0;
}

// Sends `m` to the owners of its source and destination hosts.
void route(WorkerCtx& w, const Snapshot& s, Summary& m) {
  behave::Ctx& b = *w.behave;
  uint32_t nw = b.bus ? b.bus->workers() : 1;
  uint32_t os = behave::owner(m.src, nw), od = behave::owner(m.dst, nw);
  m.from = uint8_t(b.id);
  m.clock = w.clock_ns;
  auto deliver = [&](uint32_t o, uint8_t r) {
    m.route = r;
    if (o == b.id) {
      if (b.npend == b.kPend) run_pending(w, s.behave);
      b.pend[b.npend++] = m;
    } else {
      SpscRing<Summary>& r = b.bus->ring(b.id, o);
      if (!r.push(m)) push_full(w, s, r, m);
      b.sent_clock[o] = m.clock;
    }
  };
  if (os == od) {
    deliver(os, behave::kToSrc | behave::kToDst);
  } else {
    deliver(os, behave::kToSrc);
    deliver(od, behave::kToDst);
  }
}

// Every 8th send is timed and counted 8 times: two rdtsc (~50 cycles here)
// cost as much as filling a summary.
void send(WorkerCtx& w, const Snapshot& s, const Flow& f, behave::Kind k, uint64_t ts) {
  behave::Ctx& b = *w.behave;
  const bool timed = (b.sends++ & 7) == 0;
  uint64_t t0 = timed ? rte_rdtsc() : 0;
  if (!b.bus || b.bus->workers() == 1) {  // one worker owns every host: straight into the batch
    if (b.npend == b.kPend) run_pending(w, s.behave);
    Summary& m = b.pend[b.npend++];
    fill(m, f, k, ts);
    m.route = behave::kToSrc | behave::kToDst;
    m.from = uint8_t(b.id);
    m.clock = w.clock_ns;
  } else {
    Summary m;
    fill(m, f, k, ts);
    route(w, s, m);
  }
  if (timed) b.eng.ctr.cyc_behave += 8 * (rte_rdtsc() - t0);
}

// Classifies the first packet of a flow.
void classify_start(Flow& f, const PacketInfo& p) {
  uint8_t b = kBhStarted;
  if (p.proto == 6) {
    uint8_t sa = p.tcp_flags & (kSyn | kAck);
    if (sa == kSyn) b |= kBhSyn;
    else if (f.flags & kFlowMidstream) b |= kBhMid | kBhDone;
    else b |= kBhUnsol | kBhDone;  // SYN-ACK, RST, ...: nothing will answer it
  } else if (p.proto == 17) {
    if (reply_like_udp(p.sport, p.dport)) b |= kBhUnsol;
  } else if (p.proto == 1 || p.proto == 58) {
    bool request = p.proto == 1 ? (p.icmp_type == 8 || p.icmp_type == 13 || p.icmp_type == 15 || p.icmp_type == 17)
                                : (p.icmp_type == 128 || p.icmp_type == 133 || p.icmp_type == 135);
    if (!request) b |= kBhUnsol;
  }
  f.bh = b;
}

}  // namespace

void behave_packet(WorkerCtx& w, const Snapshot& s, Flow& f, const PacketInfo& p, int dir) {
  if (!s.behave.c.enabled) return;
  if (!(f.bh & kBhStarted)) {
    classify_start(f, p);
    if (dir) f.bh |= kBhRev;
    send(w, s, f, behave::kStart, p.ts_ns);
    return;
  }
  int sender = (f.bh & kBhRev) ? 1 : 0;
  if (f.key.proto == 6) {
    if (f.flags & kFlowEstablished) f.bh |= kBhAnswered | kBhDone;
    else if (dir != sender && (p.tcp_flags & kRst)) f.bh |= kBhRstRecv | kBhDone;
    else return;
  } else {
    if (dir == sender) return;
    f.bh |= kBhAnswered | kBhDone;
  }
  send(w, s, f, behave::kAnswer, p.ts_ns);
}

void behave_relink(WorkerCtx& w, const Snapshot& s, const Flow& f, uint32_t prev_stamp) {
  const behave::Config& c = s.behave.c;
  if (!c.enabled || f.key.proto != 6 || !(f.flags & kFlowEstablished) || f.bh_http_req ||
      (f.bh & (kBhMid | kBhStarted)) != kBhStarted)
    return;
  uint32_t due = uint32_t((f.first_ts + uint64_t(c.slow_min_duration_s) * 1000000000ull) >> 20);
  if (int32_t(due - prev_stamp) <= 0 || int32_t(uint32_t(f.last_ts >> 20) - due) < 0) return;
  int a = (f.bh & kBhRev) ? 1 : 0;
  bool http = f.app_proto == uint8_t(rules::AppProto::kHttp);
  bool silent = f.app_proto == uint8_t(rules::AppProto::kUnknown) && f.bytes[a] <= f.pkts[a] * 80 &&
                f.bytes[1 - a] <= f.pkts[1 - a] * 80;  // header-only frames both ways
  if (http || silent) send(w, s, f, behave::kPartial, f.last_ts);
}

void behave_flow_end(WorkerCtx& w, const Flow& f) {
  const Snapshot* s = w.snap;
  if (!s || !s->behave.c.enabled || !(f.bh & kBhStarted)) return;
  send(w, *s, f, behave::kEnd, f.last_ts);
}

namespace {
// Drains every mailbox to this worker (bounded per call so a burst stays short).
uint32_t drain(WorkerCtx& w, const behave::Settings& st, uint32_t budget) {
  behave::Ctx& b = *w.behave;
  if (!b.bus) return 0;
  WorkerSink sink(w);
  uint32_t n = 0;
  for (uint32_t from = 0; from < b.bus->workers(); from++) {
    if (from == b.id) continue;
    SpscRing<Summary>& r = b.bus->ring(from, b.id);
    for (const Summary* m; n < budget && (m = r.peek()); n++) {
      if (m->clock > b.peer_clock[from]) b.peer_clock[from] = m->clock;
      b.eng.on_summary(st, *m, sink);
      r.release();
    }
  }
  return n;
}
}  // namespace

// A time every worker has reached: ours and the newest each peer sent.
uint64_t safe_clock(WorkerCtx& w) {
  behave::Ctx& b = *w.behave;
  uint64_t now = w.clock_ns;
  if (!b.bus) return now;
  for (uint32_t o = 0; o < b.bus->workers(); o++) {
    if (o == b.id) continue;
    if (b.peer_clock[o] < now) now = b.peer_clock[o];
    if (w.clock_ns >= b.sent_clock[o] + 1000000000ull) {  // heartbeat: our clock, nothing else
      Summary m{};
      m.kind = behave::kClock;
      m.from = uint8_t(b.id);
      m.clock = w.clock_ns;
      if (b.bus->ring(b.id, o).push(m)) b.sent_clock[o] = m.clock;
    }
  }
  return now;
}

void behave_poll(WorkerCtx& w, const Snapshot& s) {
  uint64_t t0 = rte_rdtsc();
  run_pending(w, s.behave);
  drain(w, s.behave, 4096);
  if (s.behave.c.enabled) {
    WorkerSink sink(w);
    w.behave->eng.sweep(s.behave, sink, 8, safe_clock(w));
  }
  w.behave->eng.ctr.cyc_behave += rte_rdtsc() - t0;
}

void behave_finish(WorkerCtx& w) {
  behave::Ctx& b = *w.behave;
  const Snapshot* s = w.snap;
  if (s) run_pending(w, s->behave);
  if (b.bus && b.bus->workers() > 1) {
    b.bus->flushed.fetch_add(1, std::memory_order_acq_rel);
    // Others may still be flushing into our mailboxes: keep them drained.
    while (b.bus->flushed.load(std::memory_order_acquire) < b.bus->workers()) {
      if (s) drain(w, s->behave, 4096);
      rte_pause();
    }
    if (s) while (drain(w, s->behave, 1u << 30)) {}
  }
  if (!s) return;
  WorkerSink sink(w);
  b.eng.end_all(s->behave, sink);
}

}  // namespace spectre
