// Decode stage of the worker (core/stages.h): decode, defrag, tunnel roots.
#include <new>

#include <rte_prefetch.h>

#include "dataplane/core/stages.h"

namespace spectre {

namespace {

constexpr int kPrefetchAhead = 4;
// Offline sweep period in packets: about one per burst, as live sweeps once per loop.
constexpr uint32_t kSweepEvery = 32;

// A tunnel's outer packet: its own inspection (header rules), as Suricata's
// tunnel root packet. One branch for packets that are not tunnelled.
inline void tunnel_outer(WorkerCtx& w, const Snapshot& s, const PacketInfo& p, rte_mbuf* mb) {
  if (!p.outer_l3 || !s.rules) return;
  w.cur_pcap_cnt = w.offline ? mbuf_meta(mb)->pcap_cnt : 0;
  w.cur_pkt_src = kPktSrcWire;
  inspect_tunnel_outer(w, s, p);
  w.cur_pcap_cnt = 0;
  w.cur_pkt_src = kPktSrcNone;
}

}  // namespace

void decode_stage(WorkerCtx& w, const Snapshot& s, Burst& b, uint64_t now_ns) {
  rte_mbuf** const m = b.m;
  const int n = b.n;
  PacketInfo* pi = b.pi();
  b.nheld = 0;
  for (int i = 0; i < n; i++) {
    rte_prefetch0(m[i]);
    rte_prefetch0(rte_mbuf_to_priv(m[i]));
  }
  for (int i = 0; i < n && i < kPrefetchAhead; i++) rte_prefetch0(rte_pktmbuf_mtod(m[i], void*));
  for (int i = 0; i < n; i++) {
    if (i + kPrefetchAhead < n) {
      rte_prefetch0(rte_pktmbuf_mtod(m[i + kPrefetchAhead], void*));
      rte_prefetch0(rte_mbuf_to_priv(m[i + kPrefetchAhead]));
    }
    rte_mbuf* mb = m[i];
    PacketInfo& p = *new (&pi[i]) PacketInfo;
    uint16_t linktype = kLinkEthernet;
    b.sweep[i] = b.epoch[i] = false;
    if (w.offline) {
      const MbufMeta* meta = mbuf_meta(mb);
      p.ts_ns = meta->ts_ns;
      linktype = meta->linktype;
      if (meta->file_idx != w.file_idx) {
        w.file_idx = meta->file_idx;
        if (p.ts_ns < w.last_pkt_ns) {  // starts before the last input's last packet
          b.epoch[i] = true;
          b.epoch_end[i] = w.last_pkt_ns;
          w.defrag.expire(UINT64_MAX);
        }
      }
      if (++w.sweep_pkts == kSweepEvery) {
        w.sweep_pkts = 0;
        b.sweep[i] = true;
        if (w.defrag.in_flight()) w.defrag.expire(p.ts_ns);
      }
    } else {
      p.ts_ns = now_ns;
    }
    uint32_t data_len = rte_pktmbuf_data_len(mb);
    p.frame_len = w.offline ? mbuf_meta(mb)->caplen : data_len;
    w.ctr.dec.pkts++;
    w.ctr.dec.bytes += p.frame_len;
    if (p.ts_ns > w.clock_ns) w.clock_ns = p.ts_ns;
    w.last_pkt_ns = p.ts_ns;
    DecodeStatus st = decode_frame(rte_pktmbuf_mtod(mb, const uint8_t*), data_len, linktype, p, w.ctr.dec);
    tunnel_outer(w, s, p, mb);
    if (st == DecodeStatus::kFragment) {
      if (s.rules) {  // each fragment is also a packet (header-only rules), as Suricata
        w.cur_pcap_cnt = w.offline ? mbuf_meta(mb)->pcap_cnt : 0;
        w.cur_pkt_src = kPktSrcWire;
        inspect_fragment(w, s, p);
        w.cur_pcap_cnt = 0;
        w.cur_pkt_src = kPktSrcNone;
      }
      Defrag::Done d;
      st = DecodeStatus::kNotIp;
      if (w.defrag.add(p, p.ts_ns, p.frame_len, d)) {
        b.held[b.nheld++] = d.slot;
        PacketInfo whole;
        whole.vlan_count = p.vlan_count;
        whole.vlan[0] = p.vlan[0];
        whole.vlan[1] = p.vlan[1];
        whole.ts_ns = p.ts_ns;
        whole.frame_len = d.frame_bytes;
        whole.reassembled = true;
        st = decode_ip(d.l3, d.len, d.ethertype, whole, w.ctr.dec);
        p = whole;
        tunnel_outer(w, s, p, mb);  // a tunnel in a reassembled datagram
      }
    }
    b.ok[i] = st == DecodeStatus::kOk;
    if (st == DecodeStatus::kMalformed && s.rules) {
      w.cur_pcap_cnt = w.offline ? mbuf_meta(mb)->pcap_cnt : 0;
      w.cur_pkt_src = kPktSrcWire;
      inspect_malformed(w, s, p, rte_pktmbuf_mtod(mb, const uint8_t*), data_len);
      w.cur_pcap_cnt = 0;
      w.cur_pkt_src = kPktSrcNone;
    }
    if (b.ok[i]) w.flows.prefetch_buckets(p.hash);
  }
}

}  // namespace spectre
