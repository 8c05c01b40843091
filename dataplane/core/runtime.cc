#include "dataplane/core/runtime.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>
#include <grp.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "dataplane/core/clock.h"
#include "dataplane/core/control.h"
#include "dataplane/core/reload.h"
#include "dataplane/core/rules_setup.h"
#include "dataplane/core/startup.h"
#include "dataplane/core/stats.h"
#include "dataplane/core/worker_loop.h"
#include "dataplane/events/eve.h"
#include "dataplane/events/writer.h"
#include "dataplane/io/eal.h"
#include "dataplane/io/pcap_reader.h"
#include "dataplane/io/port.h"
#include "ml/feature_schema.h"

namespace spectre {

namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_hup = 0;
volatile std::sig_atomic_t g_usr2 = 0;
void on_stop(int) { g_stop = 1; }
void on_hup(int) { g_hup = 1; }
void on_usr2(int) { g_usr2 = 1; }

uint64_t wall_ns() { return clock_ns(CLOCK_REALTIME); }
double mono_s() { return double(clock_ns(CLOCK_MONOTONIC)) * 1e-9; }

// Where a worker's packets come from.
struct RxPlan {
  rte_ring* ring = nullptr;                        // from reader / distributor
  std::vector<std::pair<uint16_t, uint16_t>> queues;  // (port, queue) polled directly
};

struct App final : ControlActions {
  Options opt;
  Config cfg;
  std::unique_ptr<behave::Bus> behave_bus;  // worker-to-worker mailboxes; outlives the workers
  std::unique_ptr<SnapshotManager> snaps;
  std::vector<std::unique_ptr<WorkerCtx>> workers;
  std::vector<WorkerCtx*> wptrs;
  std::vector<RxPlan> rx;
  IoCounters io;
  std::atomic<bool> input_done{false};
  uint64_t tsc_hz = 0, tsc0 = 0, wall0 = 0;
  double start_s = 0;
  std::unique_ptr<ControlLink> ctrl;   // null: no control plane channel
  std::unique_ptr<Reloader> reloader;  // after snaps; destroyed (joined) before them

  App() = default;
  App(const App&) = delete;
  App& operator=(const App&) = delete;
  ~App() {
    for (auto& r : rx) rte_ring_free(r.ring);
  }

  // Live packet time, once per worker loop: the system clock (vDSO, ~20 ns).
  // A TSC-derived clock drifted ~1.2% from it here (830 ms after 70 s), which
  // made alert times disagree with everything else on the host.
  static uint64_t live_now() { return clock_ns(CLOCK_REALTIME); }

  // Main lcore, once per loop: signals become queued reloads; finished ones are published.
  void poll_reloads() {
    if (g_hup) {
      g_hup = 0;
      reloader->config(false, 0);
    }
    if (g_usr2) {
      g_usr2 = 0;
      std::string unused;
      reloader->rules(false, 0, {}, unused);
    }
    reloader->poll();
  }

  // ControlActions (main thread).
  std::string status_json() override {
    const Snapshot* s = snaps->current();
    auto model = [](const MlModel* m) {
      if (!m) return std::string("null");
      return fmt::format("{{\"name\":\"{}\",\"version\":\"{}\",\"sha256\":\"{}\",\"path\":\"{}\"}}", m->name,
                         m->version, m->m.sha256, m->path);
    };
    return fmt::format("{{\"pid\":{},\"workers\":{},\"offline\":{},\"uptime_s\":{:.1f},"
                       "\"feature_schema_hash\":\"{}\",\"model\":{},\"shadow\":{},"
                       "\"rules\":{{\"loaded\":{},\"generation\":{}}},\"snapshot_generation\":{},"
                       "\"reloads\":{},\"rule_reloads\":{},\"reload_errors\":{}}}",
                       getpid(), workers.size(), opt.reads.empty() ? "false" : "true", mono_s() - start_s,
                       ml::schema_hash(), model(s->ml.model.get()), model(s->ml.shadow.get()),
                       s->rules ? ruleset_rule_count(*s->rules) : 0, reloader->rules_generation(), s->generation,
                       io.reloads.load(), io.rule_reloads.load(), io.reload_errors.load());
  }
  std::string stats_json() override {
    fmt::memory_buffer b;
    format_stats_event(b, collect(wptrs), io, wall_ns(), mono_s() - start_s);
    std::string j(b.data(), b.size());
    while (!j.empty() && j.back() == '\n') j.pop_back();
    return j;
  }
  void load_model(uint64_t id, const std::string& path, bool shadow) override {
    reloader->model(id, path, shadow);
  }
  void reload_config(uint64_t id) override { reloader->config(true, id); }
  bool start_rules_reload(uint64_t id, const std::vector<std::string>& files, std::string& msg) override {
    return reloader->rules(true, id, files, msg);
  }

  void housekeeping() {
    if (ctrl) ctrl->poll(*this);
    poll_reloads();
    snaps->reclaim();
    check_home_net();
  }

  // Warns once when the first ~1,000 flows have no endpoint in $HOME_NET.
  bool home_warned = false;
  void check_home_net() {
    if (home_warned) return;
    uint64_t checked = 0, matched = 0;
    for (const WorkerCtx* w : wptrs) {
      checked += __atomic_load_n(&w->ctr.home_checked, __ATOMIC_RELAXED);
      matched += __atomic_load_n(&w->ctr.home_matched, __ATOMIC_RELAXED);
    }
    if (matched) home_warned = true;  // nothing to say
    if (home_warned || checked < kHomeNetSample) return;
    home_warned = true;
    fmt::print(stderr, "spectre-dp: warning: none of the first {} flows has an endpoint in HOME_NET {}: "
               "rules toward $HOME_NET cannot fire (set --home-net CIDR[,CIDR] or vars.address.HOME_NET)\n",
               checked, snaps->current()->home_net_text);
  }
};

int worker_main(void* arg);

struct WorkerArg {
  App* app;
  uint16_t id;
};

int worker_main(void* varg) {
  auto* a = static_cast<WorkerArg*>(varg);
  App& app = *a->app;
  WorkerCtx& w = *app.workers[a->id];
  const RxPlan& rx = app.rx[a->id];
  const uint32_t burst = std::min<uint32_t>(app.cfg.burst, kMaxBurst);
  app.snaps->thread_online(w.id);
  PortRxSource src{rx.queues.data(), unsigned(rx.queues.size()), rx.ring};
  uint32_t idle = 0;
  const uint64_t ns_per_cyc_q32 = uint64_t((1e9 * 4294967296.0) / double(rte_get_tsc_hz()));
  for (;;) {
    const uint64_t loop_t0 = rte_rdtsc();
    app.snaps->quiescent(w.id);
    const Snapshot* s = app.snaps->current();
    uint64_t now = w.offline ? 0 : app.live_now();
    w.ctr.loops++;
    const uint32_t got = worker_poll_once(w, *s, src, burst, now);
    record_loop_time(w.ctr, rte_rdtsc() - loop_t0, ns_per_cyc_q32);
    if (got) { idle = 0; continue; }
    if (w.offline ? (app.input_done.load(std::memory_order_acquire) && (!rx.ring || rte_ring_empty(rx.ring)))
                  : g_stop)
      break;
    // Offline lcores may share CPUs with the reader: give the CPU away when idle.
    if (++idle > 256) sched_yield(); else rte_pause();
  }
  worker_flush(w);
  app.snaps->thread_offline(w.id);
  return 0;
}

// Sends batched mbufs to a worker ring; offline never drops, so it waits.
void ring_put_all(rte_ring* r, rte_mbuf** m, unsigned n) {
  unsigned done = 0;
  while (done < n) {
    done += rte_ring_sp_enqueue_burst(r, reinterpret_cast<void**>(m + done), n - done, nullptr);
    if (done < n) rte_pause();
  }
}

int run_offline_reader(App& app, rte_mempool* pool, rte_mempool* jumbo) {
  const uint32_t nw = uint32_t(app.workers.size());
  constexpr unsigned kBatch = 32;
  std::vector<std::array<rte_mbuf*, kBatch>> batch(nw);
  std::vector<unsigned> nb(nw, 0);
  auto flush_all = [&] {
    for (uint32_t i = 0; i < nw; i++)
      if (nb[i]) { ring_put_all(app.rx[i].ring, batch[i].data(), nb[i]); nb[i] = 0; }
  };
  bool progress = app.opt.progress == 1 || (app.opt.progress == -1 && isatty(2));
  uint64_t total_size = 0, done_size = 0;
  for (auto& f : app.opt.reads) {
    PcapReader r;
    std::string err;
    if (r.open(f, err)) total_size += r.size();
  }
  double last_prog = mono_s();
  uint64_t last_pkts = 0;
  const uint16_t room = uint16_t(rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM);
  const uint16_t jroom = uint16_t(rte_pktmbuf_data_room_size(jumbo) - RTE_PKTMBUF_HEADROOM);
  uint64_t pcap_cnt = 0;  // across files, as Suricata counts with several -r inputs
  uint16_t file_idx = 0;
  for (const auto& file : app.opt.reads) {
    file_idx++;
    PcapReader r;
    std::string err;
    if (!r.open(file, err)) {  // checked before start; may vanish meanwhile
      fmt::print(stderr, "spectre-dp: {}\n", err);
      app.io.input_errors++;
      continue;
    }
    const uint8_t* data;
    uint32_t caplen;
    uint64_t ts;
    int rc;
    uint64_t n = 0;
    while ((rc = r.next(&data, &caplen, &ts)) == 1) {
      rte_mempool* mp = caplen > room ? jumbo : pool;
      rte_mbuf* m;
      while (!(m = rte_pktmbuf_alloc(mp))) { flush_all(); rte_pause(); }
      uint32_t copy = caplen;
      if (copy > jroom) { copy = jroom; app.io.oversize++; }
      rte_memcpy(rte_pktmbuf_mtod(m, void*), data, copy);
      m->data_len = uint16_t(copy);
      m->pkt_len = copy;
      MbufMeta* meta = mbuf_meta(m);
      meta->ts_ns = ts;
      meta->caplen = caplen;
      meta->linktype = r.linktype();
      meta->pcap_cnt = ++pcap_cnt;
      meta->file_idx = file_idx;
      uint32_t wi = nw == 1 ? 0 : dispatch_hash(data, copy, r.linktype()) % nw;
      batch[wi][nb[wi]++] = m;
      if (nb[wi] == kBatch) { ring_put_all(app.rx[wi].ring, batch[wi].data(), kBatch); nb[wi] = 0; }
      app.io.read_pkts.store(app.io.read_pkts.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      if ((++n & 4095) == 0) {
        app.housekeeping();
        if (g_stop) break;
        if (progress) {
          double now = mono_s();
          if (now - last_prog >= 0.5) {
            uint64_t pk = app.io.read_pkts.load();
            double pct = total_size ? 100.0 * double(done_size + r.position()) / double(total_size) : 0;
            fmt::print(stderr, "\r[{:5.1f}%] {} packets, {:.2f} Mpps   ", pct, pk,
                       double(pk - last_pkts) / (now - last_prog) / 1e6);
            last_prog = now;
            last_pkts = pk;
          }
        }
      }
    }
    if (rc < 0) {
      app.io.input_errors++;
      fmt::print(stderr, "spectre-dp: {}: read error after {} packets: {}\n", file, n, r.error());
    }
    done_size += r.size();
    if (g_stop) break;
  }
  flush_all();
  if (progress) fmt::print(stderr, "\r{:60}\r", "");
  return 0;
}

namespace {
// Packets a full worker ring refused, held by the distributor (in order) while
// it stops reading the ports: the kernel's or NIC's ring then absorbs a worker
// preempted for a moment (4096 af_packet frames are 205 ms at 20 kpps) instead
// of the distributor dropping. With several workers, held at most kMaxHoldMs,
// then dropped and counted (dist_ring_full): one stuck worker must not stall
// the others' input. With one worker, held until passed on (the port counts drops).
struct Held {
  rte_mbuf* m[kMaxBurst];
  unsigned n = 0;
  uint64_t since = 0;
};
constexpr uint64_t kMaxHoldMs = 50;

// Tries to pass held packets on; true while some are still held.
bool flush_held(App& app, std::vector<Held>& held, uint64_t now, uint64_t max_hold) {
  bool blocked = false;
  for (size_t wi = 0; wi < held.size(); wi++) {
    Held& h = held[wi];
    if (!h.n) continue;
    unsigned sent = rte_ring_sp_enqueue_burst(app.rx[wi].ring, reinterpret_cast<void**>(h.m), h.n, nullptr);
    if (sent) std::memmove(h.m, h.m + sent, (h.n - sent) * sizeof(rte_mbuf*));
    h.n -= sent;
    if (h.n && now - h.since > max_hold) {
      app.io.dist_ring_full += h.n;
      rte_pktmbuf_free_bulk(h.m, h.n);
      h.n = 0;
    }
    blocked |= h.n != 0;
  }
  return blocked;
}
}  // namespace

int run_live_main(App& app, std::vector<PortPlan>& ports) {
  const uint32_t nw = uint32_t(app.workers.size());
  std::vector<uint16_t> dist;
  for (const PortPlan& p : ports)
    if (!p.rss) dist.push_back(p.port);
  rte_mbuf* mb[kMaxBurst];
  rte_mbuf* per[kMaxBurst];
  std::vector<Held> held(nw);
  uint64_t next_poll = 0;
  const uint64_t poll_every = app.tsc_hz / 10;
  const uint64_t max_hold = nw > 1 ? app.tsc_hz / 1000 * kMaxHoldMs : ~0ull;
  while (!g_stop) {
    uint64_t now = rte_rdtsc();
    bool blocked = flush_held(app, held, now, max_hold);
    for (size_t pi = 0; pi < dist.size() && !blocked; pi++) {
      uint16_t n = rte_eth_rx_burst(dist[pi], 0, mb, kMaxBurst);
      if (!n) continue;
      uint32_t dest[kMaxBurst];  // symmetric hash, once per packet
      for (uint16_t i = 0; i < n; i++)
        dest[i] = dispatch_hash(rte_pktmbuf_mtod(mb[i], const uint8_t*), rte_pktmbuf_data_len(mb[i]),
                                kLinkEthernet) % nw;
      for (uint32_t wi = 0; wi < nw; wi++) {  // stable partition, one ring burst per worker
        unsigned k = 0;
        for (uint16_t i = 0; i < n; i++)
          if (dest[i] == wi) per[k++] = mb[i];
        if (!k) continue;
        unsigned sent = rte_ring_sp_enqueue_burst(app.rx[wi].ring, reinterpret_cast<void**>(per), k, nullptr);
        if (sent < k) {  // held, not dropped; no port is read until it is passed on
          std::memcpy(held[wi].m, per + sent, (k - sent) * sizeof(rte_mbuf*));
          held[wi].n = k - sent;
          held[wi].since = now;
          blocked = true;
        }
      }
    }
    if (blocked) rte_pause();
    app.poll_reloads();  // per loop: SIGHUPs are not coalesced
    if (app.ctrl) app.ctrl->poll(app);  // commands within ~1 ms (an empty ring costs one load)
    if (now >= next_poll) {
      next_poll = now + poll_every;
      ports_poll_stats(ports, app.io);
      app.housekeeping();
    }
    if (dist.empty()) usleep(1000);
  }
  for (Held& h : held)
    if (h.n) {
      app.io.dist_ring_full += h.n;
      rte_pktmbuf_free_bulk(h.m, h.n);
      h.n = 0;
    }
  ports_poll_stats(ports, app.io);
  return 0;
}

// Start-up steps on the EAL's side. Each reports its own error on stderr; what
// one started is undone by its owner's destructor, in reverse order, when a
// later step fails (the EAL last: run_dataplane declares it first).

// Owns the EAL once started: rte_eal_cleanup() when it goes, after everything else.
struct EalStep {
  bool up = false;
  EalStep() = default;
  EalStep(const EalStep&) = delete;
  EalStep& operator=(const EalStep&) = delete;
  ~EalStep() {
    if (up) eal_stop();
  }
};

// Starts the EAL and settles the worker count: 0, or the exit code.
int start_eal(EalStep& eal, App& app) {
  const bool offline = !app.opt.reads.empty();
  std::string err;
  std::vector<std::string> args = app.opt.eal_args;
  if (args.empty() && offline) args = offline_eal_args(app.cfg.workers + 1);
  else args.insert(args.begin(), "spectre-dp");
  if (!eal_start(args, err)) {
    fmt::print(stderr, "spectre-dp: {}\n", err);
    return 1;
  }
  eal.up = true;
  uint32_t avail = rte_lcore_count() - 1;
  if (!offline)
    app.cfg.workers = app.opt.workers ? std::min<uint32_t>(uint32_t(app.opt.workers), avail) : avail;
  if (avail < app.cfg.workers || app.cfg.workers == 0) {
    fmt::print(stderr, "spectre-dp: {} worker(s) need {} lcores, EAL gave {} (use -l)\n",
               app.cfg.workers, app.cfg.workers + 1, avail + 1);
    return 2;
  }
  return 0;
}

void install_signal_handlers() {
  std::signal(SIGINT, on_stop);
  std::signal(SIGTERM, on_stop);
  std::signal(SIGHUP, on_hup);
  std::signal(SIGUSR2, on_usr2);
}

// The packet pools. Not freed one by one: rte_eal_cleanup() returns their memory,
// while rte_mempool_free() first zeroes it (36 MB of memset, 4k fresh page faults
// for the jumbo pool: a third of a short capture's run).
struct Pools {
  rte_mempool* pkts = nullptr;
  rte_mempool* jumbo = nullptr;
};

bool make_pools(const App& app, Pools& pools) {
  const bool offline = !app.opt.reads.empty();
  const uint32_t nw = app.cfg.workers;
  // Every RX descriptor of every queue holds an mbuf, plus rings and bursts in flight.
  // Offline the reader waits for a free mbuf and workers free theirs after each burst,
  // so a worker's input ring and one batch bound what is in flight; the pool is no
  // larger because creating it touches every mbuf (18k page faults, half the CPU time
  // of a 100-packet capture's run).
  unsigned nmbufs = offline ? std::min(app.cfg.mbufs + nw * 2048, nw * (app.cfg.rx_ring_size + 64) + 256)
                            : app.cfg.mbufs + nw * 2048 + rte_eth_dev_count_avail() * nw * app.cfg.rx_desc;
  std::string err;
  pools.pkts = make_pool("pkts", nmbufs, RTE_MBUF_DEFAULT_BUF_SIZE, err);
  pools.jumbo = pools.pkts ? make_pool("jumbo", 255, 65535, err) : nullptr;
  if (!pools.pkts || !pools.jumbo) {
    fmt::print(stderr, "spectre-dp: {}\n", err);
    return false;
  }
  return true;
}

// The first snapshot, its manager and the reloader that publishes the next ones.
void start_snapshots(App& app, Detection& det) {
  const uint32_t nw = app.cfg.workers;
  auto first = build_snapshot(app.cfg, 1);
  first->rules = std::move(det.ruleset);
  first->intel = std::move(det.iset);
  first->yara = std::move(det.yrs);
  set_model(*first, std::move(det.model));
  app.snaps = std::make_unique<SnapshotManager>(std::move(first), nw);
  app.reloader = std::make_unique<Reloader>(*app.snaps, app.io, app.opt, app.cfg, nw);
}

bool make_workers(App& app) {
  const bool offline = !app.opt.reads.empty();
  const uint32_t nw = app.cfg.workers;
  InspectConfig icfg;
  icfg.sessions = app.cfg.sessions;
  icfg.segment_chunks = app.cfg.segment_chunks;
  icfg.alert_ring = app.cfg.alert_ring_size;
  icfg.app.request_body_limit = icfg.app.response_body_limit = app.cfg.http_body_limit;
  icfg.app.decompress_limit = app.cfg.http_decompress_limit;
  icfg.app.decompress_streams = app.cfg.http_decompress_streams;
  icfg.app.file_hash_states = app.cfg.file_hash_states;
  DefragConfig dcfg{app.cfg.defrag_max_datagrams, uint16_t(app.cfg.defrag_max_frags),
                    uint64_t(app.cfg.defrag_timeout_s) * 1000000000ull};
  uint32_t per_worker = std::max<uint32_t>(1024, app.cfg.max_flows / nw);
  try {
    for (uint32_t i = 0; i < nw; i++) {
      app.workers.push_back(std::make_unique<WorkerCtx>(uint16_t(i), per_worker, dcfg, app.cfg.event_ring_size,
                                                        icfg, app.cfg.ml_hosts,
                                                        uint64_t(app.cfg.ml_host_window_s) * 1000000000ull));
      app.workers.back()->offline = offline;
      app.workers.back()->block_on_full = offline;
      app.wptrs.push_back(app.workers.back().get());
    }
    if (app.cfg.behave.enabled) {  // behaviour stage: tables and mailboxes sized at start
      if (nw > 1) app.behave_bus = std::make_unique<behave::Bus>(nw, app.cfg.behave.mailbox);
      behave::Sizes bs{app.cfg.behave.sources, app.cfg.behave.pairs, app.cfg.behave.victims};
      for (uint32_t k = 0; k < nw; k++)
        app.workers[k]->behave = std::make_unique<behave::Ctx>(uint16_t(k), bs, app.behave_bus.get());
    }
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "spectre-dp: out of memory for {} flows per worker\n", per_worker);
    return false;
  }
  return true;
}

// Incidents (ctrlplane/cortex/) are made on the writer thread from the records it drains.
bool make_incidents(const App& app, std::unique_ptr<IncidentHook>& incidents) {
  if (!app.cfg.incidents.enabled || (app.opt.reads.empty() && !app.cfg.incidents.configured)) return true;
  std::string err;
  incidents = IncidentHook::create(app.cfg.incidents, err);
  if (incidents) return true;
  fmt::print(stderr, "spectre-dp: incidents: {}\n", err);
  return false;
}

// Owns the started ports: stop() at the end of a run, or when a later step fails.
struct Ports {
  std::vector<PortPlan> plan;
  Ports() = default;
  Ports(const Ports&) = delete;
  Ports& operator=(const Ports&) = delete;
  ~Ports() { stop(); }
  void stop() {
    ports_stop(plan);
    plan.clear();
  }
};

// Live: starts the ports and gives RSS queues to the workers. Then every
// worker that is fed (offline, or by the software distributor) gets a ring.
bool start_ports_and_rings(App& app, rte_mempool* pool, Ports& ports) {
  const bool offline = !app.opt.reads.empty();
  const uint32_t nw = app.cfg.workers;
  app.rx.resize(nw);
  if (!offline) {
    std::string err;
    if (!ports_setup(nw, app.cfg.rx_desc, pool, ports.plan, err)) {
      fmt::print(stderr, "spectre-dp: {}\n", err);
      return false;
    }
    for (const PortPlan& p : ports.plan) {
      fmt::print(stderr, "spectre-dp: port {} ({}): {}\n", p.port, p.name,
                 p.rss ? fmt::format("{} RX queues, symmetric RSS", p.nb_rxq)
                       : std::string("1 RX queue, software distribution"));
      if (p.rss)
        for (uint32_t i = 0; i < nw; i++) app.rx[i].queues.push_back({p.port, uint16_t(i)});
    }
  }
  bool need_rings = offline;
  for (const PortPlan& p : ports.plan) need_rings |= !p.rss;
  if (need_rings)
    for (uint32_t i = 0; i < nw; i++) {
      app.rx[i].ring = rte_ring_create(fmt::format("wrk{}", i).c_str(), app.cfg.rx_ring_size, SOCKET_ID_ANY,
                                       RING_F_SP_ENQ | RING_F_SC_DEQ);
      if (!app.rx[i].ring) {
        fmt::print(stderr, "spectre-dp: cannot create worker ring {}\n", i);
        return false;
      }
    }
  return true;
}

// The shared-memory channel to spectre-cp, when control.instance is set.
bool open_control(App& app) {
  if (app.cfg.control_instance.empty()) return true;
  const uint32_t nw = app.cfg.workers;
  ControlConfig cc;
  cc.instance = app.cfg.control_instance;
  cc.event_ring_kb = app.cfg.control_event_ring_kb;
  if (!app.cfg.control_group.empty()) {
    const struct group* g = getgrnam(app.cfg.control_group.c_str());
    if (!g) {
      fmt::print(stderr, "spectre-dp: control.group: no group '{}'\n", app.cfg.control_group);
      return false;
    }
    cc.gid = g->gr_gid;
    cc.mode = 0660;
  }
  std::string err;
  app.ctrl = ControlLink::create(cc, nw, err);
  if (!app.ctrl) {
    fmt::print(stderr, "spectre-dp: control channel: {}\n", err);
    return false;
  }
  fmt::print(stderr, "spectre-dp: control channel {} for spectre-cp --instance {} ({} event rings)\n",
             app.ctrl->channel().object_name(), cc.instance, nw);
  app.reloader->set_control(app.ctrl.get());
  return true;
}

// The run: writer, workers, the reader or distributor until the input ends or
// a signal; then drain, stop and print the summary. Returns the exit code.
int run(App& app, const Pools& pools, Ports& ports, OutputFiles& out, std::unique_ptr<IncidentHook>& incidents) {
  const bool offline = !app.opt.reads.empty();
  const uint32_t nw = app.cfg.workers;
  app.start_s = mono_s();
  app.tsc_hz = rte_get_tsc_hz();
  app.tsc0 = rte_rdtsc();
  app.wall0 = wall_ns();
  FILE* eve = out.eve;
  FILE* fast = out.fast;
  FILE* features = out.features;
  EventWriter writer(app.wptrs, eve, [&](fmt::memory_buffer& b) {
    format_stats_event(b, collect(app.wptrs), app.io, wall_ns(), mono_s() - app.start_s);
  }, app.cfg.stats_interval_s, fast, features, app.ctrl.get(), incidents.get(), &app.io);
  writer.start();

  std::vector<WorkerArg> args(nw);
  uint32_t i = 0;
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) {
    if (i == nw) break;
    args[i] = {&app, uint16_t(i)};
    rte_eal_remote_launch(worker_main, &args[i], lc);
    i++;
  }
  int rc = offline ? run_offline_reader(app, pools.pkts, pools.jumbo) : run_live_main(app, ports.plan);
  app.input_done.store(true, std::memory_order_release);
  rte_eal_mp_wait_lcore();
  app.reloader->drain();
  app.check_home_net();
  double wall = mono_s() - app.start_s;
  writer.stop();
  app.housekeeping();  // answers commands that arrived at the end
  app.reloader->drain();
  out.close();
  app.snaps->wait_all();
  ports.stop();
  print_summary(stderr, collect(app.wptrs), app.io, wall);
  if (incidents && incidents->detections()) fmt::print(stderr, "{}", incidents->report());
  if (app.io.reloads.load())
    fmt::print(stderr, "  reloads: {} published, {} freed after grace period, slowest config/model load {:.2f} ms "
               "(off the main lcore)\n", app.snaps->published(), app.snaps->freed(),
               app.reloader->slowest_config_ms());
  return rc;
}

}  // namespace

// The start-up steps in order. A step that fails has said why; returning
// unwinds what the earlier ones started (ports, rings, workers, files, EAL).
int run_dataplane(const Options& opt) {
  EalStep eal;  // first: stopped after everything below is gone
  App app;
  app.opt = opt;
  Detection det;
  OutputFiles out;
  if (!load_configuration(app.opt, app.cfg) || !load_detection(app.cfg, app.io, det) ||
      !check_inputs(app.opt.reads) || !out.open_logs(app.cfg))
    return 1;
  if (int rc = start_eal(eal, app)) return rc;
  install_signal_handlers();
  if (!load_rules(app.cfg, app.opt, app.cfg.workers, det)) return 1;
  print_detection_line(app.cfg, det);
  Pools pools;
  if (!make_pools(app, pools)) return 1;
  start_snapshots(app, det);
  // Built before the ports start (~0.2 s of rule and table parsing and pools): a port
  // started earlier fills its ring while nothing polls it.
  std::unique_ptr<IncidentHook> incidents;
  if (!make_workers(app) || !make_incidents(app, incidents)) return 1;
  Ports ports;
  if (!start_ports_and_rings(app, pools.pkts, ports) || !open_control(app) || !out.open_eve(app.cfg.eve_path))
    return 1;
  return run(app, pools, ports, out, incidents);
}

}  // namespace spectre
