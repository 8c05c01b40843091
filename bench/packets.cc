// Builds each worker's source: mempools per frame-size class, mbufs holding
// synthetic Ethernet/IPv4/UDP|TCP frames (or a capture's packets), MbufMeta,
// and an SP/SC rte_ring pre-filled with every mbuf.
//
// Synthetic flows: global flow f has client 198.18.x.y (f & 0xffff) and port
// 10000 + (f >> 16), so (client, sport) is unique per flow; the server is in
// 198.19.0.0/16 and the service port one of eight. Worker w owns the flow range
// [w*F/n, (w+1)*F/n). Logical packet j of a worker belongs to flow j % Fw and is
// its (j / Fw)-th packet; direction alternates with (k + f) & 1, so with two or
// more packets per flow both directions of every flow are present, and with
// one packet per flow half the flows are seen from the server side only.
// The ring order is a seeded shuffle of the logical packets (no locality
// between consecutive packets); the first warm-up pass uses a second, different
// shuffle so that flow-table indices (assigned in creation order) are
// uncorrelated with the measured replay order.
#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>
#include <random>
#include <unordered_set>

#include <fmt/format.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "bench/bench.h"
#include "dataplane/decode/decode.h"
#include "dataplane/io/eal.h"
#include "dataplane/io/pcap_reader.h"

namespace spectre::bench {

namespace {

constexpr uint32_t kMinMbufsPerWorker = 4096;   // about a NIC RX ring's worth
constexpr uint32_t kMaxRoom = 65535 - RTE_PKTMBUF_HEADROOM;
constexpr uint16_t kServicePorts[8] = {80, 443, 53, 8080, 22, 123, 25, 3389};

// Data room (without headroom) for a stored frame length.
uint32_t room_for(uint32_t len, bool exact) {
  if (exact) return std::min<uint32_t>((std::max<uint32_t>(len, 64) + 63) & ~63u, kMaxRoom);
  uint32_t r = 64;
  while (r < len && r < 32768) r <<= 1;
  return r < len ? kMaxRoom : r;
}

uint64_t pool_bytes(uint64_t n, uint32_t room) {
  // mempool object header + rte_mbuf + priv + headroom + room, cache-aligned,
  // plus the pool's ring and per-lcore caches.
  uint64_t obj = 64 + ((sizeof(rte_mbuf) + kMbufPrivSize + RTE_PKTMBUF_HEADROOM + room + 63) & ~63ull);
  uint64_t ring = 8 * uint64_t(rte_align64pow2(n + 1)) + 4096;
  return n * obj + ring + (2u << 20);
}

uint64_t ring_bytes(uint64_t n) { return 8 * uint64_t(rte_align64pow2(n + 1)) + 4096; }

// Worker of each capture packet: the dataplane's own dispatch rule.
std::vector<uint32_t> pcap_assign(const PcapData& pc, uint32_t nw) {
  std::vector<uint32_t> a(pc.pkts.size(), 0);
  if (nw > 1)
    for (size_t i = 0; i < pc.pkts.size(); i++)
      a[i] = dispatch_hash(pc.bytes.data() + pc.pkts[i].off, pc.pkts[i].stored, pc.linktype) % nw;
  return a;
}

uint16_t csum_fold(uint32_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return uint16_t(~s);
}
uint32_t csum_add(uint32_t s, const uint8_t* p, uint32_t n) {
  for (uint32_t i = 0; i + 1 < n; i += 2) s += uint32_t(p[i] << 8 | p[i + 1]);
  if (n & 1) s += uint32_t(p[n - 1] << 8);
  return s;
}
void put16(uint8_t* p, uint16_t v) { p[0] = uint8_t(v >> 8); p[1] = uint8_t(v); }
void put32(uint8_t* p, uint32_t v) { put16(p, uint16_t(v >> 16)); put16(p + 2, uint16_t(v)); }

struct FlowDesc {
  uint8_t cli[4], srv[4];
  uint16_t sport, dport;
  uint8_t proto;
};

FlowDesc describe(uint64_t f, Proto proto) {
  FlowDesc d;
  d.cli[0] = 198; d.cli[1] = 18; d.cli[2] = uint8_t(f >> 8); d.cli[3] = uint8_t(f);
  uint32_t s = uint32_t((f * 2654435761ull) >> 7);
  d.srv[0] = 198; d.srv[1] = 19; d.srv[2] = uint8_t(s >> 8); d.srv[3] = uint8_t(s);
  d.sport = uint16_t(10000 + (f >> 16));
  d.dport = kServicePorts[(f >> 1) & 7];
  d.proto = proto == Proto::kUdp ? 17 : proto == Proto::kTcp ? 6 : ((f & 1) ? 6 : 17);
  return d;
}

// Writes an Ethernet/IPv4/{UDP,TCP} frame of `len` bytes (no FCS).
void write_frame(uint8_t* p, uint32_t len, const FlowDesc& fd, int dir, uint32_t k) {
  std::memset(p, 0, len);
  static const uint8_t kCliMac[6] = {0x02, 0, 0, 0, 0, 0x01};
  static const uint8_t kSrvMac[6] = {0x02, 0, 0, 0, 0, 0x02};
  std::memcpy(p, dir ? kCliMac : kSrvMac, 6);
  std::memcpy(p + 6, dir ? kSrvMac : kCliMac, 6);
  put16(p + 12, 0x0800);
  uint8_t* ip = p + 14;
  uint32_t iplen = len - 14;
  ip[0] = 0x45;
  put16(ip + 2, uint16_t(iplen));
  put16(ip + 4, uint16_t(k * 7 + dir));
  put16(ip + 6, 0x4000);  // DF
  ip[8] = 64;
  ip[9] = fd.proto;
  std::memcpy(ip + 12, dir ? fd.srv : fd.cli, 4);
  std::memcpy(ip + 16, dir ? fd.cli : fd.srv, 4);
  put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
  uint8_t* l4 = ip + 20;
  uint32_t l4len = iplen - 20;
  put16(l4, dir ? fd.dport : fd.sport);
  put16(l4 + 2, dir ? fd.sport : fd.dport);
  uint32_t hl;
  if (fd.proto == 6) {
    put32(l4 + 4, 1000u + k * 1460u);
    put32(l4 + 8, 5000u + k * 1460u);
    l4[12] = 5 << 4;
    l4[13] = 0x18;  // PSH|ACK: mid-stream, no SYN/FIN/RST so no flow ever ends
    put16(l4 + 14, 65535);
    hl = 20;
  } else {
    put16(l4 + 4, uint16_t(l4len));
    hl = 8;
  }
  for (uint32_t i = hl; i < l4len; i++) l4[i] = uint8_t(i);
  uint32_t ps = csum_add(0, ip + 12, 8) + fd.proto + l4len;
  uint16_t c = csum_fold(csum_add(ps, l4, l4len));
  put16(l4 + (fd.proto == 6 ? 16 : 6), fd.proto == 17 && c == 0 ? 0xffff : c);
}

struct FlowKeyHash {
  size_t operator()(const FlowKey& k) const { return flow_hash(k); }
};

bool make_ring(WorkerSlot& w, int run, std::string& err) {
  uint32_t n = uint32_t(w.ring_order.size());
  std::string name = fmt::format("bq{}w{}", run, w.id);
  w.ring = rte_ring_create(name.c_str(), n, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ | RING_F_EXACT_SZ);
  if (!w.ring) {
    err = fmt::format("cannot create ring '{}' for {} mbufs: {}", name, n, rte_strerror(rte_errno));
    return false;
  }
  if (rte_ring_sp_enqueue_bulk(w.ring, reinterpret_cast<void* const*>(w.ring_order.data()), n, nullptr) != n) {
    err = fmt::format("ring '{}' refused {} mbufs", name, n);
    return false;
  }
  return true;
}

// One pool per data-room class, each sized to its exact mbuf count.
bool make_pools(WorkerSlot& w, int run, const std::map<uint32_t, uint64_t>& classes,
                std::map<uint32_t, rte_mempool*>& by_room, std::string& err) {
  for (auto [room, n] : classes) {
    std::string name = fmt::format("bp{}w{}r{}", run, w.id, room);
    rte_mempool* mp = make_pool(name.c_str(), unsigned(n), uint16_t(RTE_PKTMBUF_HEADROOM + room), err);
    if (!mp) return false;
    w.pools.push_back(mp);
    by_room[room] = mp;
  }
  return true;
}

rte_mbuf* alloc_in(rte_mempool* mp, std::string& err) {
  rte_mbuf* m = rte_pktmbuf_alloc(mp);
  if (!m) err = fmt::format("mempool '{}' ran out of mbufs while building", mp->name);
  return m;
}

void set_meta(rte_mbuf* m, uint32_t stored, uint32_t caplen, uint16_t linktype, uint64_t pos,
              const uint64_t* ts = nullptr) {
  m->data_len = uint16_t(stored);
  m->pkt_len = stored;
  MbufMeta* meta = mbuf_meta(m);
  meta->ts_ns = ts ? *ts : kTsBase + pos * kTsStep;  // slot clock: a 1M-packet pass spans 1 s
  meta->caplen = caplen;
  meta->linktype = linktype;
  meta->file_idx = 0;
}

bool build_synthetic(const BuildParams& bp, WorkerSlot& w, uint32_t nw, std::string& err) {
  const uint64_t F = bp.spec.flows;
  const uint64_t f0 = w.id * F / nw, f1 = (w.id + 1) * F / nw, fw = f1 - f0;
  const uint64_t m = mbufs_per_worker(bp.spec, bp.pkts_per_flow, w.id, nullptr);
  const std::vector<uint32_t>& pat = profile_pattern(bp.spec.profile);
  std::mt19937_64 rng(bp.seed + 7919 * w.id + 104729ull * uint64_t(bp.run_index));
  std::vector<uint32_t> perm(m);
  std::iota(perm.begin(), perm.end(), 0u);
  std::shuffle(perm.begin(), perm.end(), rng);

  std::map<uint32_t, uint64_t> classes;
  for (uint64_t p = 0; p < m; p++) classes[room_for(pat[p % pat.size()] - kFcs, true)]++;
  std::map<uint32_t, rte_mempool*> by_room;
  if (!make_pools(w, bp.run_index, classes, by_room, err)) return false;

  w.ring_order.resize(m);
  w.frame_bytes = 0;
  for (uint64_t p = 0; p < m; p++) {
    uint32_t size = pat[p % pat.size()];
    uint32_t len = size - kFcs;
    rte_mbuf* mb = alloc_in(by_room[room_for(len, true)], err);
    if (!mb) return false;
    uint64_t j = perm[p];
    uint64_t f = f0 + j % fw;
    uint32_t k = uint32_t(j / fw);
    write_frame(rte_pktmbuf_mtod(mb, uint8_t*), len, describe(f, bp.proto), int((k + f) & 1), k);
    set_meta(mb, len, len, kLinkEthernet, p);
    w.ring_order[p] = mb;
    w.frame_bytes += size;
  }
  w.flows = fw;
  w.warm_order = w.ring_order;
  std::shuffle(w.warm_order.begin(), w.warm_order.end(), rng);
  return make_ring(w, bp.run_index, err);
}

bool build_pcap(const BuildParams& bp, WorkerSlot& w, const std::vector<uint32_t>& assign,
                std::string& err) {
  const PcapData& pc = *bp.pcap;
  std::map<uint32_t, uint64_t> classes;
  uint64_t n = 0;
  for (size_t i = 0; i < pc.pkts.size(); i++)
    if (assign[i] == w.id) {
      classes[room_for(pc.pkts[i].stored, false)]++;
      n++;
    }
  if (n == 0) {
    err = fmt::format("worker {} gets no packets: the capture's address pairs do not spread over {} "
                      "workers (dispatch is by address pair); use fewer workers",
                      w.id, bp.spec.workers);
    return false;
  }
  std::map<uint32_t, rte_mempool*> by_room;
  if (!make_pools(w, bp.run_index, classes, by_room, err)) return false;
  std::unordered_set<FlowKey, FlowKeyHash> keys;
  DecodeCounters dc{};
  w.ring_order.clear();
  w.ring_order.reserve(n);
  w.clock_step = pc.clock_step;
  const uint64_t first_ts = pc.pkts.empty() ? 0 : pc.pkts.front().ts_ns;
  w.frame_bytes = 0;
  for (size_t i = 0; i < pc.pkts.size(); i++) {
    if (assign[i] != w.id) continue;
    const PcapPacket& pk = pc.pkts[i];
    const uint8_t* data = pc.bytes.data() + pk.off;
    rte_mbuf* mb = alloc_in(by_room[room_for(pk.stored, false)], err);
    if (!mb) return false;
    std::memcpy(rte_pktmbuf_mtod(mb, uint8_t*), data, pk.stored);
    // Capture clock: time since the capture's first packet, from kTsBase.
    uint64_t ts = kTsBase + (pk.ts_ns > first_ts ? pk.ts_ns - first_ts : 0);
    set_meta(mb, pk.stored, pk.caplen, pc.linktype, w.ring_order.size(), pc.clock_step ? &ts : nullptr);
    w.ring_order.push_back(mb);
    w.frame_bytes += pk.caplen + kFcs;
    PacketInfo pi;
    if (decode_frame(data, pk.stored, pc.linktype, pi, dc) == DecodeStatus::kOk) keys.insert(pi.key);
  }
  w.flows = keys.size();
  w.warm_order = w.ring_order;  // capture order: TCP state machines see the real sequence
  return make_ring(w, bp.run_index, err);
}

}  // namespace

const std::vector<uint32_t>& profile_pattern(const std::string& profile) {
  static const std::vector<uint32_t> k64 = {64};
  // 7:4:1, interleaved so that sizes mix within every burst.
  static const std::vector<uint32_t> kImix = {64, 594, 64, 64, 594, 64, 1518, 64, 594, 64, 64, 594};
  return profile == "imix" ? kImix : k64;
}

uint32_t effective_ppf(const RunSpec& spec, uint32_t pkts_per_flow) {
  if (pkts_per_flow) return pkts_per_flow;
  return spec.flows >= 1000000 ? 1 : 2;
}

uint64_t mbufs_per_worker(const RunSpec& spec, uint32_t pkts_per_flow, uint32_t worker,
                          const PcapData* pcap) {
  if (pcap) {
    std::vector<uint32_t> a = pcap_assign(*pcap, spec.workers);
    return uint64_t(std::count(a.begin(), a.end(), worker));
  }
  uint64_t fw = (worker + 1) * spec.flows / spec.workers - worker * spec.flows / spec.workers;
  return std::max<uint64_t>(fw * effective_ppf(spec, pkts_per_flow), kMinMbufsPerWorker);
}

uint64_t run_memory_bytes(const RunSpec& spec, uint32_t pkts_per_flow, const PcapData* pcap) {
  uint64_t total = 0;
  if (pcap) {
    std::vector<uint32_t> a = pcap_assign(*pcap, spec.workers);
    for (uint32_t w = 0; w < spec.workers; w++) {
      std::map<uint32_t, uint64_t> classes;
      uint64_t n = 0;
      for (size_t i = 0; i < a.size(); i++)
        if (a[i] == w) { classes[room_for(pcap->pkts[i].stored, false)]++; n++; }
      for (auto [room, c] : classes) total += pool_bytes(c, room);
      total += ring_bytes(n);
    }
    return total;
  }
  const std::vector<uint32_t>& pat = profile_pattern(spec.profile);
  for (uint32_t w = 0; w < spec.workers; w++) {
    uint64_t m = mbufs_per_worker(spec, pkts_per_flow, w, nullptr);
    std::map<uint32_t, uint64_t> classes;
    for (size_t i = 0; i < pat.size(); i++)
      classes[room_for(pat[i] - kFcs, true)] += m / pat.size() + (i < m % pat.size() ? 1 : 0);
    for (auto [room, c] : classes) total += pool_bytes(c, room);
    total += ring_bytes(m);
  }
  return total;
}

bool load_pcap(const std::string& path, PcapData& out, std::string& err) {
  PcapReader r;
  if (!r.open(path, err)) return false;
  out.path = path;
  out.linktype = r.linktype();
  const uint8_t* data;
  uint32_t caplen;
  uint64_t ts;
  int rc;
  while ((rc = r.next(&data, &caplen, &ts)) == 1) {
    if (out.pkts.size() >= (1u << 26) || out.bytes.size() + caplen > (uint64_t(1) << 32) - 1) {
      err = fmt::format("{}: capture too large to hold in memory (stopped at {} packets)", path,
                        out.pkts.size());
      return false;
    }
    if (r.linktype() != out.linktype) {
      err = fmt::format("{}: mixed link types are not supported", path);
      return false;
    }
    PcapPacket p;
    p.off = uint32_t(out.bytes.size());
    p.caplen = caplen;
    p.stored = std::min<uint32_t>(caplen, kMaxRoom);
    p.ts_ns = ts;
    if (p.stored < caplen) out.oversize++;
    out.bytes.insert(out.bytes.end(), data, data + p.stored);
    out.pkts.push_back(p);
  }
  if (rc < 0) {
    out.read_error = true;
    if (out.pkts.empty()) {
      err = fmt::format("{}: read error: {}", path, r.error());
      return false;
    }
    fmt::print(stderr, "spectre-bench: warning: {}: read error after {} packets ({}); using those\n",
               path, out.pkts.size(), r.error());
  }
  if (out.pkts.empty()) {
    err = fmt::format("{}: capture holds no packets", path);
    return false;
  }
  return true;
}

bool build_sources(const BuildParams& bp, std::vector<WorkerSlot>& ws, std::string& err) {
  const uint32_t nw = uint32_t(ws.size());
  std::vector<uint32_t> assign;
  if (bp.pcap) assign = pcap_assign(*bp.pcap, nw);
  for (WorkerSlot& w : ws) {
    bool ok = bp.pcap ? build_pcap(bp, w, assign, err) : build_synthetic(bp, w, nw, err);
    if (!ok) return false;
  }
  return true;
}

bool build_wire(std::vector<WorkerSlot>& ws, int run_index, std::string& err) {
  for (WorkerSlot& w : ws) {
    size_t total = 0;
    for (rte_mbuf* m : w.ring_order) total += (rte_pktmbuf_data_len(m) + 63u) & ~63u;
    w.wire_bytes.assign(total, 0);
    w.wire.clear();
    size_t off = 0;
    for (rte_mbuf* m : w.ring_order) {
      uint32_t len = rte_pktmbuf_data_len(m);
      std::memcpy(w.wire_bytes.data() + off, rte_pktmbuf_mtod(m, const void*), len);
      w.wire.push_back({uint32_t(off), len, *mbuf_meta(m)});
      off += (len + 63u) & ~63u;  // each frame starts on a cache line, as DMA writes it
    }
    std::string name = fmt::format("rx{}_{}", run_index, w.id);
    // 4095: a large RX descriptor ring plus the bursts in flight.
    w.rx_pool = make_pool(name.c_str(), 4095, RTE_MBUF_DEFAULT_BUF_SIZE, err);
    if (!w.rx_pool) return false;
    w.wire_pos = 0;
  }
  return true;
}

void free_sources(std::vector<WorkerSlot>& ws) {
  for (WorkerSlot& w : ws) {
    rte_mempool_free(w.rx_pool);
    w.rx_pool = nullptr;
    w.wire.clear();
    w.wire_bytes.clear();
    w.ctx.reset();
    if (!w.ring_order.empty())
      rte_pktmbuf_free_bulk(w.ring_order.data(), unsigned(w.ring_order.size()));
    w.ring_order.clear();
    w.warm_order.clear();
    rte_ring_free(w.ring);
    w.ring = nullptr;
    for (rte_mempool* mp : w.pools) rte_mempool_free(mp);
    w.pools.clear();
  }
}

}  // namespace spectre::bench
