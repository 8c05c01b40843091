#include "dataplane/behave/engine.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include <sys/mman.h>

#include "dataplane/behave/episode.h"

namespace spectre::behave {

namespace {

constexpr uint32_t kSlots = 4;   // sub-windows per window: it slides in quarter steps (Settings::slot_div)
constexpr uint32_t kKeep = 16;   // connection starts kept per pair

// N bytes at p, 8 at a time, the tail zero-padded. N is a constant so every
// copy has a constant size (a variable one was a libc call: ~90 instructions
// per summary).
template <size_t N>
inline uint64_t mix(const void* p, uint64_t seed) {
  const uint8_t* a = static_cast<const uint8_t*>(p);
  uint64_t h = seed ^ 0x9e3779b97f4a7c15ull;
  auto step = [&h](uint64_t v) {
    h = (h ^ v) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
  };
  for (size_t i = 0; i + 8 <= N; i += 8) {
    uint64_t v;
    std::memcpy(&v, a + i, 8);
    step(v);
  }
  if constexpr (N % 8 != 0) {
    uint64_t v = 0;
    std::memcpy(&v, a + (N - N % 8), N % 8);
    step(v);
  }
  return h;
}

// 256-bit linear-counting bitmap: estimates up to ~1,000 distinct values.
struct Bits256 {
  uint64_t w[4];
  void add(uint64_t h) { w[(h >> 6) & 3] |= 1ull << (h & 63); }
};
// -m ln(zeros / m) for m = 128 and 256 bits, zeros 1..m: the same floats as
// computing it (a logarithm cost ~70 instructions, twice per scan check).
struct EstimateTable {
  float v128[129], v256[257];
  EstimateTable() {
    v128[0] = v256[0] = 0;
    for (int z = 1; z <= 128; z++) v128[z] = float(-128.0 * std::log(double(z) / 128));
    for (int z = 1; z <= 256; z++) v256[z] = float(-256.0 * std::log(double(z) / 256));
  }
};
const EstimateTable kEstimate;

// Linear counting over nwords (2 or 4) 64-bit words; all bits set caps at m ln m.
float estimate(const uint64_t* w, int nwords) {
  int ones = 0;
  for (int i = 0; i < nwords; i++) ones += __builtin_popcountll(w[i]);
  int m = nwords * 64, zeros = m - ones;
  if (zeros == 0) zeros = 1;
  return nwords == 4 ? kEstimate.v256[zeros] : kEstimate.v128[zeros];
}

// Sub-window `ts` falls in: epoch ts/slot_ns + 1 (0 = empty slot). Returns the
// slot, cleared when it held an older sub-window; null when the event is
// older than the window the slot now holds (dropped).
template <class S>
S* slot_at(S* slots, uint64_t ts, const Divider& slot) {
  uint32_t e = uint32_t(slot.div(ts) + 1);
  S& s = slots[e % kSlots];
  if (s.epoch == e) return &s;
  if (s.epoch > e) return nullptr;
  std::memset(&s, 0, sizeof(S));
  s.epoch = e;
  return &s;
}
// Whether slot epoch `e` is inside the window ending at `now` (an epoch).
inline bool live(uint32_t e, uint32_t now) { return e && e <= now && e + kSlots > now; }

}  // namespace

struct SrcSlot {
  uint32_t epoch;
  uint16_t probes, ok, failed, rejected;  // rejected: refused, or reset by the prober (scan_few_ports)
  uint16_t udp, udp_ok;          // UDP probes to unicast hosts, and those answered (scan_few_udp)
  uint64_t dsts[4], ports[4];    // distinct destinations; distinct (destination, port)
};
struct PairSlot {
  uint32_t epoch;
  uint16_t attempts, deny;
  uint64_t bytes_out;
};
struct VicSlot {
  uint32_t epoch;
  uint32_t syn, syn_ok, unsol, unsol_ans, slow;
  uint64_t srcs[2];              // distinct sources (128 bits: up to ~500)
  uint64_t ports[2];             // distinct destination ports
};

struct Engine::Src {
  uint8_t addr[16];
  uint8_t ver, used, listed, pad[5];
  uint64_t last_ts;
  SrcSlot slot[kSlots];
  Episode scan;
  uint8_t last_dst[16];          // newest target (the alert's dest_ip)
  uint64_t win_bytes;            // outbound bytes in the current exfil window
  uint32_t win_epoch;
  float baseline;                // EWMA of outbound bytes per window
};
struct Engine::Pair {
  uint8_t src[16], dst[16];
  uint16_t dport;
  uint8_t proto, ver, used, nstart, nsize, listed;
  uint64_t last_ts;
  PairSlot slot[kSlots];
  uint64_t starts[kKeep];      // connection starts, ascending
  uint32_t sizes[kKeep];       // bytes of the latest ended connections (ring)
  Episode ep[2];                 // [0] bruteforce (or exfil when dport == 0), [1] beacon
  uint8_t pad2[16];
};
struct Engine::Victim {
  uint8_t addr[16];
  uint16_t dport;                // 0: the whole host (floods); else the service (slow DoS)
  uint8_t proto, ver, used, multi_port, listed, pad;
  uint64_t last_ts;
  VicSlot slot[kSlots];
  Episode ep[2];                 // [0] synflood or slowdos, [1] flood
  uint8_t last_src[16];          // a source of the latest flow (the alert's src_ip)
  uint16_t first_port, pad2[3];
  uint8_t pad3[40];
};
static_assert(sizeof(Engine::Src) == 448, "README states 448 B per source host");
static_assert(sizeof(Engine::Pair) == 448, "README states 448 B per pair");
static_assert(sizeof(Engine::Victim) == 448, "README states 448 B per destination");

size_t Engine::src_entry_bytes() { return sizeof(Src); }
size_t Engine::pair_entry_bytes() { return sizeof(Pair); }
size_t Engine::victim_entry_bytes() { return sizeof(Victim); }

namespace {
template <class E>
E* reserve(uint32_t want, uint32_t& sets, size_t& bytes) {
  uint32_t n = 4;
  while (n < want && n < (1u << 26)) n <<= 1;
  sets = n / 4;
  bytes = size_t(n) * sizeof(E);
  // Reserved, not committed: only touched sets cost memory.
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<E*>(p);
}

bool same(const Engine::Src& a, const Engine::Src& b) { return std::memcmp(a.addr, b.addr, 16) == 0 && a.ver == b.ver; }
bool same(const Engine::Pair& a, const Engine::Pair& b) {
  return a.dport == b.dport && a.proto == b.proto && a.ver == b.ver && std::memcmp(a.src, b.src, 16) == 0 &&
         std::memcmp(a.dst, b.dst, 16) == 0;
}
bool same(const Engine::Victim& a, const Engine::Victim& b) {
  return a.dport == b.dport && a.proto == b.proto && a.ver == b.ver && std::memcmp(a.addr, b.addr, 16) == 0;
}
uint64_t key_hash(const Engine::Src& k) { return mix<17>(k.addr, 1); }
uint64_t key_hash(const Engine::Pair& k) { return mix<36>(k.src, 2); }
uint64_t key_hash(const Engine::Victim& k) { return mix<20>(k.addr, 3); }
}  // namespace

Engine::Engine(const Sizes& sz, uint16_t worker) : worker_(worker) {
  src_ = reserve<Src>(sz.sources, src_sets_, map_bytes_[0]);
  pair_ = reserve<Pair>(sz.pairs, pair_sets_, map_bytes_[1]);
  vic_ = reserve<Victim>(sz.victims, vic_sets_, map_bytes_[2]);
  ksrc_ = new Src{};
  kpair_ = new Pair{};
  kvic_ = new Victim{};
}

Engine::~Engine() {
  munmap(src_, map_bytes_[0]);
  munmap(pair_, map_bytes_[1]);
  munmap(vic_, map_bytes_[2]);
  delete ksrc_;
  delete kpair_;
  delete kvic_;
}

// The entry for `key` (the key fields of a zeroed E), created if absent; a
// full set evicts the entry seen least recently (its open episodes end first).
template <class E>
E* Engine::find(E* table, uint32_t sets, const E& key, uint64_t hash, uint64_t ts, Sink& out,
                const Settings& s) {
  E* set = table + ((hash ? hash : key_hash(key)) & (sets - 1)) * 4;
  E* victim = &set[0];
  for (int i = 0; i < 4; i++) {
    E& e = set[i];
    if (e.used && same(e, key)) {
      if (ts > e.last_ts) e.last_ts = ts;
      return &e;
    }
    if (!e.used || (victim->used && e.last_ts < victim->last_ts)) victim = &e;
  }
  if (victim->used) {
    ctr.evictions++;
    int t = std::is_same_v<E, Src> ? 0 : std::is_same_v<E, Pair> ? 1 : 2;
    end_entry_episodes(s, out, victim, t, clock_, true);
  }
  uint8_t listed = victim->listed;  // a reference in open_ stays valid for the slot
  std::memcpy(static_cast<void*>(victim), &key, sizeof(E));
  victim->listed = listed;
  victim->used = 1;
  victim->last_ts = ts;
  return victim;
}

// Whether a summary can count for brute force or beaconing (else no pair lookup).
static bool pair_relevant(const Settings& s, const Summary& m) {
  if (m.flags & kUnsolicited) return false;
  bool beacon_ok = !s.beacon_excluded(m.dport) && (m.proto == 6 || s.c.beacon_udp);
  if (m.kind == kAnswer) return beacon_ok && !(m.flags & kRstByReceiver);
  if (m.kind != kEnd) return false;
  if (m.http_deny) return true;
  return (m.flags & kEstablished) && (s.is_auth(m.dport) || beacon_ok);
}

namespace {
template <class E>
uint64_t prefetch_set(const E* table, uint32_t sets, const E& key) {
  uint64_t h = key_hash(key);
  const E* set = table + (h & (sets - 1)) * 4;
  for (int i = 0; i < 4; i++) __builtin_prefetch(&set[i]);  // the line with used, key, last_ts
  return h;
}
}  // namespace

void Engine::prefetch(const Settings& s, const Summary& m, KeyHashes* h) const {
  KeyHashes kh;
  if (!h) h = &kh;
  if (m.kind == kClock || m.kind == kPartial) return;  // kPartial: one slow-DoS lookup, rare
  if (m.route & kToSrc) {
    Src& k = *ksrc_;
    std::memcpy(k.addr, m.src, 16);
    k.ver = m.ip_ver;
    h->src = prefetch_set(src_, src_sets_, k);
    if ((m.proto == 6 || m.proto == 17) && pair_relevant(s, m)) {
      Pair& p = *kpair_;
      std::memcpy(p.src, m.src, 16);
      std::memcpy(p.dst, m.dst, 16);
      p.dport = m.dport;
      p.proto = m.proto;
      p.ver = m.ip_ver;
      h->pair = prefetch_set(pair_, pair_sets_, p);
    }
  }
  if ((m.route & kToDst) && !(m.flags & kMidstream)) {
    Victim& v = *kvic_;
    std::memcpy(v.addr, m.dst, 16);
    v.ver = m.ip_ver;
    v.dport = 0;
    v.proto = 0;
    h->vic = prefetch_set(vic_, vic_sets_, v);
  }
}

void Engine::on_summary(const Settings& s, const Summary& m, Sink& out, const KeyHashes* h) {
  if (m.kind == kClock) return;
  cur_ = h ? *h : KeyHashes{};
  if (m.ts > clock_) clock_ = m.ts;
  if (m.kind == kPartial) {  // only slow DoS reads it (the source's owner ignores it)
    if (m.route & kToDst) {
      ctr.summaries++;
      on_slow(s, m, out);
    }
    return;
  }
  if (m.route & kToSrc) {
    ctr.summaries++;
    on_src(s, m, out);
    // Table lookups are the cost (a cache miss each): only what can count.
    if ((m.proto == 6 || m.proto == 17) && pair_relevant(s, m)) on_pair(s, m, out);
    // Outbound volume: flows of >= 64 KiB (smaller ones only feed the source's baseline).
    if (m.kind == kEnd && m.bytes[0] >= 65536) on_exfil(s, m, out);
  }
  if (m.route & kToDst) {
    ctr.summaries++;
    on_victim(s, m, out);
  }
}

// A TCP probe reset by the prober itself before it sent data: a SYN scan's
// RST to the SYN-ACK, or a connect scan closing right after the handshake.
// A client that sends its request first and then resets does not count.
static bool prober_reset(const Summary& m) {
  return m.proto == 6 && (m.flags & kSynStart) && (m.tcp_flags & 0x04) && m.pkts[0] <= 3 && m.pkts[1] >= 1 &&
         m.bytes[0] <= uint64_t(m.pkts[0]) * 80;
}

// A probe: a connection attempt whose failure says something (TCP SYN, UDP
// or ICMP to a service), not a reply-like packet or a midstream pickup.
// A UDP probe to another host's unicast address (mDNS, LLMNR, NetBIOS and SSDP chatter goes
// to multicast or broadcast addresses).
static bool unicast_udp(const Summary& m) {
  if (m.proto != 17 || std::memcmp(m.src, m.dst, 16) == 0) return false;  // a host talking to itself
  if (m.ip_ver == 6) return m.dst[0] != 0xff;
  const uint8_t* a = m.dst;  // IPv4: the first 4 bytes
  return (a[0] & 0xf0) != 0xe0 && a[3] != 255 && a[0] != 255;
}

static bool is_probe(const Summary& m) {
  if (m.flags & (kMidstream | kUnsolicited)) return false;
  return m.proto == 6 ? bool(m.flags & kSynStart) : true;
}

void Engine::on_src(const Settings& s, const Summary& m, Sink& out) {
  Src& key = *ksrc_;
  std::memcpy(key.addr, m.src, 16);
  key.ver = m.ip_ver;
  Src* e = find(src_, src_sets_, key, cur_.src, m.ts, out, s);
  // Exfiltration baseline: EWMA (1/8) of outbound bytes per window, closed windows only.
  if (m.kind == kEnd && m.bytes[0]) {
    uint32_t we = uint32_t(s.window_div.div(m.ts)) + 1;
    if (we > e->win_epoch) {
      if (e->win_epoch) {
        e->baseline = 0.875f * e->baseline + 0.125f * float(e->win_bytes);
        for (uint32_t k = e->win_epoch + 1; k < we && k < e->win_epoch + 64; k++) e->baseline *= 0.875f;
      }
      e->win_epoch = we;
      e->win_bytes = 0;
    }
    e->win_bytes += m.bytes[0];
  }
  if (!is_probe(m)) return;
  SrcSlot* sl = slot_at(e->slot, m.ts, s.slot_div);
  if (!sl) return;
  bool fresh = false;
  if (m.kind == kStart) {
    sl->probes++;
    if (unicast_udp(m)) sl->udp++;
    Bits256 d, p;
    std::memcpy(d.w, sl->dsts, 32);
    std::memcpy(p.w, sl->ports, 32);
    uint64_t hd = mix<16>(m.dst, 7);
    d.add(hd);
    p.add(hd ^ mix<2>(&m.dport, 9));
    std::memcpy(sl->dsts, d.w, 32);
    std::memcpy(sl->ports, p.w, 32);
    std::memcpy(e->last_dst, m.dst, 16);
    fresh = true;
  } else if (m.kind == kAnswer) {
    if (m.flags & kRstByReceiver) { sl->failed++; sl->rejected++; } else sl->ok++;
    if (unicast_udp(m)) sl->udp_ok++;
  } else {
    if (!(m.flags & (kAnswered | kRstByReceiver))) sl->failed++;  // ended unanswered
    if (prober_reset(m)) sl->rejected++;
  }
  scan_step(s, m, out, e, fresh);
}

// Scan decision for source `e` after slot updates: the window's figures; the
// bitmaps (and their logarithms) only when the failures could make a scan.
void Engine::scan_step(const Settings& s, const Summary& m, Sink& out, Src* e, bool fresh) {
  uint32_t now = uint32_t(s.slot_div.div(e->last_ts) + 1);
  uint32_t probes = 0, ok = 0, failed = 0, rejected = 0, udp = 0, udp_ok = 0;
  for (const SrcSlot& x : e->slot)
    if (live(x.epoch, now)) {
      probes += x.probes; ok += x.ok; failed += x.failed; rejected += x.rejected;
      udp += x.udp; udp_ok += x.udp_ok;
    }
  // Unanswered so far: counted as probes go out, so a scan is seen while it runs.
  uint32_t silent = udp > udp_ok ? udp - udp_ok : 0;
  const Config& cc = s.c;
  bool few_tcp = cc.scan_few_ports && rejected >= cc.scan_few_ports;
  // Mostly unanswered, as scan_failed_ratio (QUIC clients of many servers see about half answered).
  bool few_udp = cc.scan_few_udp && silent >= cc.scan_few_udp && double(silent) >= cc.scan_failed_ratio * udp;
  bool few = few_tcp || few_udp;
  if (!e->scan.active && !few && (failed < std::min(cc.scan_dsts, cc.scan_ports) / 2 ||
                                  double(failed) < cc.scan_failed_ratio * double(ok + failed)))
    return;
  uint64_t dw[4] = {}, pw[4] = {};
  for (const SrcSlot& x : e->slot) {
    if (!live(x.epoch, now)) continue;
    for (int i = 0; i < 4; i++) { dw[i] |= x.dsts[i]; pw[i] |= x.ports[i]; }
  }
  Evidence ev{};
  ev.distinct_dsts = estimate(dw, 4);
  ev.distinct_ports = estimate(pw, 4);
  ev.failed_ratio = ok + failed ? float(failed) / float(ok + failed) : 0.f;
  ev.window_s = s.c.window_s;
  const Config& c = s.c;
  ev.attempts = rejected;
  bool hit = (ev.distinct_dsts >= float(c.scan_dsts) || ev.distinct_ports >= float(c.scan_ports)) &&
             ev.failed_ratio >= float(c.scan_failed_ratio) && failed >= std::min(c.scan_dsts, c.scan_ports) / 2;
  // Few ports: many (host, port) refused or reset by the prober, >= 3 ports per host (a browser's
  // connections go to one or two ports of each server; a client of a down service retries one port).
  // The estimates are exact to within rounding at these counts.
  // UDP: closed ports answer with ICMP (another flow) or not at all, so unanswered probes to
  // >= scan_few_udp (host, port) with >= 3 ports per host; a client of a silent service retries one port.
  float need = few_tcp ? float(c.scan_few_ports) : float(c.scan_few_udp);
  if (few_udp && few_tcp) need = float(std::min(c.scan_few_ports, c.scan_few_udp));
  if (few && ev.distinct_ports >= need - 0.5f && ev.distinct_ports >= 3.f * ev.distinct_dsts - 0.5f) hit = true;
  if (few) ev.attempts = std::max(rejected, silent);
  if (few_udp) ev.failed_ratio = std::max(ev.failed_ratio, float(silent) / float(udp));
  Entity ent{e->addr, e->last_dst, m.ip_ver, 0, m.proto, kScan};
  EpisodeCtx x{s, out, ctr, worker_};
  if (!e->scan.active && hit && s.allowed(kScan, m.src, m.dst, m.ip_ver, m.dport)) hit = false;
  step_episode(x, e->scan, ent, hit, fresh, probes, m, ev, s.window_ns);
  if (e->scan.active) note_open(e, src_, 0);
}

}  // namespace spectre::behave

namespace spectre::behave {

namespace {
float cv_of(const double* v, int n, double* mean_out) {
  double sum = 0, sq = 0;
  for (int i = 0; i < n; i++) { sum += v[i]; sq += v[i] * v[i]; }
  double mean = sum / n;
  double var = sq / n - mean * mean;
  if (mean_out) *mean_out = mean;
  return mean > 0 ? float(std::sqrt(var > 0 ? var : 0) / mean) : 0.f;
}
}  // namespace

// Brute force and beacon, per (source, destination, service).
void Engine::on_pair(const Settings& s, const Summary& m, Sink& out) {
  if (m.flags & kUnsolicited) return;
  Pair& key = *kpair_;
  std::memcpy(key.src, m.src, 16);
  std::memcpy(key.dst, m.dst, 16);
  key.dport = m.dport;
  key.proto = m.proto;
  key.ver = m.ip_ver;
  Pair* e = find(pair_, pair_sets_, key, cur_.pair, m.ts, out, s);
  const Config& c = s.c;
  EpisodeCtx x{s, out, ctr, worker_};
  Entity ent{e->src, e->dst, e->ver, e->dport, e->proto, kBruteForce};
  // Brute force: short established sessions to an auth port, or HTTP 401/403 answers.
  if (m.kind == kEnd) {
    uint32_t add = 0;
    uint64_t dur = m.last_ts - m.first_ts;
    if (m.proto == 6 && (m.flags & kEstablished) && s.is_auth(m.dport) &&
        dur <= uint64_t(c.brute_max_duration_s) * 1000000000ull)
      add = 1;
    if (m.http_deny) add = m.http_deny;
    e->sizes[e->nsize % kKeep] = uint32_t(std::min<uint64_t>(m.bytes[0] + m.bytes[1], 0xffffffffu));
    e->nsize = uint8_t(e->nsize == 255 ? 240 : e->nsize + 1);  // saturates, same slot order
    PairSlot* sl = add ? slot_at(e->slot, m.ts, s.slot_div) : nullptr;
    if (sl) {
      sl->attempts = uint16_t(std::min<uint32_t>(sl->attempts + add, 0xffff));
      uint32_t now = uint32_t(s.slot_div.div(e->last_ts) + 1);
      uint32_t attempts = 0;
      for (const PairSlot& y : e->slot)
        if (live(y.epoch, now)) attempts += y.attempts;
      Evidence ev{};
      ev.attempts = attempts;
      ev.window_s = c.window_s;
      bool hit = attempts >= c.brute_attempts;
      if (hit && !e->ep[0].active && s.allowed(kBruteForce, m.src, m.dst, m.ip_ver, m.dport)) hit = false;
      step_episode(x, e->ep[0], ent, hit, true, attempts, m, ev, s.window_ns);
      if (e->ep[0].active) note_open(e, pair_, 1);
    }
    return;
  }
  // Beacon: regular starts (and sizes) of answered connections between the
  // pair (a C2 channel is answered; unanswered repeats are scans or floods).
  if (m.kind != kAnswer || (m.flags & kRstByReceiver) || s.beacon_excluded(m.dport)) return;
  if (m.proto == 17 && !c.beacon_udp) return;
  const uint64_t t = m.first_ts;
  uint32_t n = e->nstart < kKeep ? e->nstart : kKeep;
  if (n == kKeep) {
    if (t <= e->starts[0]) return;  // older than everything kept
    std::memmove(e->starts, e->starts + 1, (kKeep - 1) * 8);
    n--;
  }
  uint32_t i = n;
  while (i && e->starts[i - 1] > t) { e->starts[i] = e->starts[i - 1]; i--; }  // late arrivals (other worker)
  e->starts[i] = t;
  e->nstart = uint8_t(n + 1);
  n++;
  if (n < c.beacon_min) return;
  double iv[kKeep];
  for (uint32_t k = 1; k < n; k++) iv[k - 1] = double(e->starts[k] - e->starts[k - 1]) * 1e-9;
  // Jitter-tolerant: the CV of the intervals without the largest and the
  // smallest (one missed or doubled beacon does not break the regularity).
  std::sort(iv, iv + n - 1);
  double mean = 0;
  float cv = cv_of(iv + 1, int(n) - 3, &mean);
  Evidence ev{};
  ev.intervals_cv = cv;
  ev.mean_interval_s = float(mean);
  ev.window_s = uint32_t(mean * n);
  uint32_t ns = std::min<uint32_t>(e->nsize, kKeep);
  double sz[kKeep];
  for (uint32_t k = 0; k < ns; k++) sz[k] = e->sizes[k];
  ev.size_cv = ns >= 4 ? cv_of(sz, int(ns), nullptr) : 0.f;
  bool hit = cv <= c.beacon_cv && mean >= c.beacon_min_interval_s && mean <= c.beacon_max_interval_s &&
             (ns < 4 || ev.size_cv <= c.beacon_size_cv) &&
             double(t - e->starts[n - 2]) * 1e-9 <= 3 * mean;  // still in rhythm
  ent.det = kBeacon;
  if (hit && !e->ep[1].active && s.allowed(kBeacon, m.src, m.dst, m.ip_ver, m.dport)) hit = false;
  if (e->ep[0].active) hit = false;  // a brute force's rapid, regular attempts are not a beacon
  step_episode(x, e->ep[1], ent, hit, true, n, m, ev, uint64_t(std::max(3 * mean, double(c.window_s)) * 1e9));
  if (e->ep[1].active) note_open(e, pair_, 1);
}

// Exfiltration: outbound bytes of the pair in the window against the source's baseline.
void Engine::on_exfil(const Settings& s, const Summary& m, Sink& out) {
  if (s.in_home(m.dst, m.ip_ver)) return;
  Src& skey = *ksrc_;
  std::memcpy(skey.addr, m.src, 16);
  skey.ver = m.ip_ver;
  const Src* se = find(src_, src_sets_, skey, cur_.src, m.ts, out, s);
  float baseline = se->baseline;
  Pair& key = *kpair_;
  std::memcpy(key.src, m.src, 16);
  std::memcpy(key.dst, m.dst, 16);
  key.ver = m.ip_ver;
  key.dport = 0;  // dport 0, proto 0: the whole pair
  key.proto = 0;
  Pair* e = find(pair_, pair_sets_, key, 0, m.ts, out, s);
  PairSlot* sl = slot_at(e->slot, m.ts, s.slot_div);
  if (!sl) return;
  sl->bytes_out += m.bytes[0];
  uint32_t now = uint32_t(s.slot_div.div(e->last_ts) + 1);
  uint64_t bytes = 0;
  for (const PairSlot& y : e->slot)
    if (live(y.epoch, now)) bytes += y.bytes_out;
  Evidence ev{};
  ev.bytes_out = bytes;
  ev.baseline_bytes = uint64_t(baseline);
  ev.window_s = s.c.window_s;
  bool hit = bytes >= s.c.exfil_min_bytes && double(bytes) >= s.c.exfil_factor * double(baseline);
  Entity ent{e->src, e->dst, e->ver, m.dport, m.proto, kExfil};
  EpisodeCtx x{s, out, ctr, worker_};
  if (hit && !e->ep[0].active && s.allowed(kExfil, m.src, m.dst, m.ip_ver, m.dport)) hit = false;
  step_episode(x, e->ep[0], ent, hit, true, 1, m, ev, s.window_ns);
  if (e->ep[0].active) note_open(e, pair_, 1);
}

// SYN flood and flood, per destination host.
void Engine::on_victim(const Settings& s, const Summary& m, Sink& out) {
  if (m.flags & kMidstream) return;
  bool syn = m.proto == 6 && (m.flags & kSynStart);
  bool unsol = !syn;  // TCP without SYN, UDP, ICMP: a flow the destination may never answer
  Victim& key = *kvic_;
  std::memcpy(key.addr, m.dst, 16);
  key.ver = m.ip_ver;
  key.dport = 0;
  key.proto = 0;
  Victim* e = find(vic_, vic_sets_, key, cur_.vic, m.ts, out, s);
  VicSlot* sl = slot_at(e->slot, m.ts, s.flood_slot_div);
  if (!sl) return;
  bool fresh = false;
  if (m.kind == kStart) {
    if (syn) sl->syn++; else sl->unsol++;
    uint64_t h = mix<16>(m.src, 11);
    sl->srcs[(h >> 6) & 1] |= 1ull << (h & 63);
    uint64_t hp = mix<2>(&m.dport, 13);
    sl->ports[(hp >> 6) & 1] |= 1ull << (hp & 63);
    std::memcpy(e->last_src, m.src, 16);
    if (!e->first_port) e->first_port = m.dport;
    else if (e->first_port != m.dport) e->multi_port = 1;
    fresh = true;
  } else if (m.kind == kAnswer) {
    if (syn && (m.flags & kEstablished)) sl->syn_ok++;
    else if (unsol && (m.flags & kAnswered)) sl->unsol_ans++;
    else return;
  } else {
    return;
  }
  uint32_t now = uint32_t(s.flood_slot_div.div(e->last_ts) + 1);
  uint64_t sw[2] = {}, pw[2] = {};
  int64_t half = 0, un = 0;
  for (const VicSlot& y : e->slot) {
    if (!live(y.epoch, now)) continue;
    half += int64_t(y.syn) - int64_t(y.syn_ok);
    un += int64_t(y.unsol) - int64_t(y.unsol_ans);
    sw[0] |= y.srcs[0];
    sw[1] |= y.srcs[1];
    pw[0] |= y.ports[0];
    pw[1] |= y.ports[1];
  }
  const Config& c = s.c;
  Evidence ev{};
  ev.window_s = c.flood_window_s;
  ev.half_open_per_s = float(double(half > 0 ? half : 0) / c.flood_window_s);
  ev.flows_per_s = float(double(un > 0 ? un : 0) / c.flood_window_s);
  // The estimates (a logarithm each, ~50 cycles) only where a rate passed
  // or an episode reports: most destinations see neither.
  bool syn_rate = syn && ev.half_open_per_s >= c.syn_half_open_per_s;
  bool un_rate = unsol && ev.flows_per_s >= c.flood_flows_per_s;
  if (syn_rate || un_rate || e->ep[0].active || e->ep[1].active) ev.sources = uint32_t(estimate(sw, 2) + 0.5f);
  uint16_t port = e->multi_port ? 0 : e->first_port;
  EpisodeCtx x{s, out, ctr, worker_};
  Entity ent{e->last_src, e->addr, e->ver, port, m.proto, kSynFlood};
  // Many sources, or many SYNs per port: a vertical scan of one host is not a flood.
  bool hit = syn_rate && (ev.sources >= c.flood_sources || double(half) >= 4.0 * estimate(pw, 2));
  if (hit && !e->ep[0].active && s.allowed(kSynFlood, m.src, m.dst, m.ip_ver, m.dport)) hit = false;
  if (syn || e->ep[0].active) step_episode(x, e->ep[0], ent, hit, fresh && syn, uint32_t(half > 0 ? half : 0), m, ev, s.flood_window_ns);
  ent.det = kFlood;
  hit = un_rate && ev.sources >= c.flood_sources;
  if (hit && !e->ep[1].active && s.allowed(kFlood, m.src, m.dst, m.ip_ver, m.dport)) hit = false;
  if (unsol || e->ep[1].active) step_episode(x, e->ep[1], ent, hit, fresh && unsol, uint32_t(un > 0 ? un : 0), m, ev, s.flood_window_ns);
  if (e->ep[0].active || e->ep[1].active) note_open(e, vic_, 2);
}

// Slow DoS, per destination service: connections open for min_duration with
// their request still incomplete (kPartial, sent once per flow while it is
// open: slowloris, slow POST, idle connections holding server slots), at a
// tiny to-server rate (an upload's body completes or reaches the body limit).
void Engine::on_slow(const Settings& s, const Summary& m, Sink& out) {
  const Config& c = s.c;
  uint64_t age = m.ts > m.first_ts ? m.ts - m.first_ts : 1;
  double rate = double(m.bytes[0]) / (double(age) * 1e-9);
  if (m.proto != 6 || !(m.flags & kEstablished) || m.http_req || rate > c.slow_max_rate) return;
  Victim& key = *kvic_;
  std::memcpy(key.addr, m.dst, 16);
  key.ver = m.ip_ver;
  key.dport = m.dport;
  key.proto = 6;
  Victim* e = find(vic_, vic_sets_, key, 0, m.ts, out, s);
  VicSlot* sl = slot_at(e->slot, m.ts, s.slot_div);
  if (!sl) return;
  sl->slow++;
  std::memcpy(e->last_src, m.src, 16);
  uint32_t now = uint32_t(s.slot_div.div(e->last_ts) + 1);
  uint32_t slow = 0;
  for (const VicSlot& y : e->slot)
    if (live(y.epoch, now)) slow += y.slow;
  Evidence ev{};
  ev.attempts = slow;
  ev.window_s = c.window_s;
  bool hit = slow >= c.slow_flows;
  if (hit && !e->ep[0].active && s.allowed(kSlowDos, m.src, m.dst, m.ip_ver, m.dport)) hit = false;
  EpisodeCtx x{s, out, ctr, worker_};
  Entity ent{e->last_src, e->addr, e->ver, e->dport, 6, kSlowDos};
  step_episode(x, e->ep[0], ent, hit, true, slow, m, ev, s.window_ns);
  if (e->ep[0].active) note_open(e, vic_, 2);
}

bool Engine::end_entry_episodes(const Settings& s, Sink& out, void* p, int table, uint64_t now, bool force) {
  EpisodeCtx x{s, out, ctr, worker_};
  if (table == 0) {
    Src& e = *static_cast<Src*>(p);
    end_episode(x, e.scan, {e.addr, e.last_dst, e.ver, 0, 0, kScan}, now, force);
    return e.scan.active;
  }
  if (table == 1) {
    Pair& e = *static_cast<Pair*>(p);
    end_episode(x, e.ep[0], {e.src, e.dst, e.ver, e.dport, e.proto, e.dport ? kBruteForce : kExfil}, now, force);
    end_episode(x, e.ep[1], {e.src, e.dst, e.ver, e.dport, e.proto, kBeacon}, now, force);
    return e.ep[0].active || e.ep[1].active;
  }
  Victim& e = *static_cast<Victim*>(p);
  uint16_t port = e.dport ? e.dport : e.multi_port ? 0 : e.first_port;
  end_episode(x, e.ep[0], {e.last_src, e.addr, e.ver, port, 0, e.dport ? kSlowDos : kSynFlood}, now, force);
  end_episode(x, e.ep[1], {e.last_src, e.addr, e.ver, port, 0, kFlood}, now, force);
  return e.ep[0].active || e.ep[1].active;
}

template <class E>
void Engine::note_open(E* e, E* table, int t) {
  if (e->listed) return;
  if (nopen_ == kMaxOpen) {
    open_overflow_ = true;
    return;
  }
  open_[nopen_++] = uint32_t(t) << 28 | uint32_t(e - table);
  e->listed = 1;
}

void* Engine::entry_at(uint32_t ref) {
  uint32_t i = ref & ((1u << 28) - 1);
  switch (ref >> 28) {
    case 0: return &src_[i];
    case 1: return &pair_[i];
    default: return &vic_[i];
  }
}

void Engine::sweep(const Settings& s, Sink& out, uint32_t budget, uint64_t now) {
  // One pass over the open episodes per 250 ms of event time: each examined
  // entry is a cache miss, and episodes end after >= 10 s idle anyway.
  constexpr uint64_t kSweepNs = 250'000'000;
  if (now < sweep_due_) return;
  for (uint32_t k = 0; k < budget; k++) {
    if (open_cursor_ >= nopen_) {  // pass complete
      open_cursor_ = 0;
      sweep_due_ = now + kSweepNs;
      return;
    }
    uint32_t ref = open_[open_cursor_];
    void* e = entry_at(ref);
    if (end_entry_episodes(s, out, e, int(ref >> 28), now, false)) {
      open_cursor_++;
      continue;
    }
    // Nothing open: unlist (the entry's `listed` is its second byte after the key).
    switch (ref >> 28) {
      case 0: static_cast<Src*>(e)->listed = 0; break;
      case 1: static_cast<Pair*>(e)->listed = 0; break;
      default: static_cast<Victim*>(e)->listed = 0; break;
    }
    open_[open_cursor_] = open_[--nopen_];
  }
}

void Engine::end_all(const Settings& s, Sink& out) {
  for (uint32_t k = 0; k < nopen_; k++) {
    uint32_t ref = open_[k];
    end_entry_episodes(s, out, entry_at(ref), int(ref >> 28), clock_, true);
  }
  nopen_ = 0;
  if (!open_overflow_) return;
  const uint64_t n[3] = {uint64_t(src_sets_) * 4, uint64_t(pair_sets_) * 4, uint64_t(vic_sets_) * 4};
  for (int t = 0; t < 3; t++)
    for (uint64_t i = 0; i < n[t]; i++) {
      void* e = t == 0 ? static_cast<void*>(&src_[i]) : t == 1 ? static_cast<void*>(&pair_[i]) : &vic_[i];
      bool used = t == 0 ? src_[i].used : t == 1 ? pair_[i].used : vic_[i].used;
      if (used) end_entry_episodes(s, out, e, t, clock_, true);
    }
}

}  // namespace spectre::behave
