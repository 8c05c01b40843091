// Per-flow feature state (schemas/features.def), updated in O(1) per packet
// without allocation, and its extraction into one float row.
// Worker thread only. Stored beside the flow table (FeatureStore), indexed
// like the flows, so Flow stays two cache lines.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include <emmintrin.h>

#include "dataplane/decode/packet.h"
#include "ml/feature_schema.h"

namespace spectre {

struct AppMeta;
struct Flow;
struct HostStats;
struct PacketInfo;

constexpr uint64_t kIdleGapNs = 1000000000ull;  // a gap >= 1 s ends an active period
constexpr uint32_t kEntropyBytes = 64;          // payload bytes per direction for entropy
constexpr uint32_t kRowStride = 64;             // floats per feature row (>= kNumFeatures)
static_assert(ml::kNumFeatures <= kRowStride);

enum FeatFlags : uint8_t {
  kFeatWin0 = 1, kFeatWin1 = 2,          // initial window recorded per direction
  kFeatPay0 = 4, kFeatPay1 = 8,          // entropy taken per direction
  kFeatOutcome = 16,                     // host outcome counted
  kFeatSni = 32,
  kFeatMlAlerted = 64,                   // one ML alert per flow: later points are not scored
};

// TCP flag counters of a flow, one u16 lane each: a packet adds the 16-byte
// row of kTcpCntInc for its flags, direction and emptiness (one SSE2 add in
// place of eight compare-and-add sequences, ~25 instructions per packet).
enum TcpCnt : uint8_t { kCntSyn, kCntSynAck, kCntFin, kCntRstFwd, kCntRstBwd, kCntPsh, kCntAckOnly, kCntUrg, kTcpCnts };
struct TcpCntRow {
  alignas(16) uint16_t v[kTcpCnts];
};
// Index: tcp flags | direction << 8 | (no payload) << 9. 16 KB, of which the
// few flag combinations real traffic uses stay cached.
extern const std::array<TcpCntRow, 1024> kTcpCntInc;

struct alignas(64) FlowFeat {
  // Bytes 0-148, lines 0-2: written by every packet, prefetched a burst ahead
  // by the worker (a line not prefetched was a miss per packet, ~10 cycles).
  // Sums of integers are integers: exact, and no int-to-double conversion per
  // packet (the doubles they replaced were exact below 2^53 too).
  uint64_t prev_ts;            // last packet, either direction
  uint64_t last_ts[2];         // last packet per direction (0: none yet)
  uint64_t iat_min, iat_max;   // ns
  uint64_t iat_sum;            // ns
  double iat_sq;               // ns^2 (overflows 64 bits past 4.3 s gaps)
  uint64_t iat_dir_sum[2];     // ns
  uint64_t len_sq;             // bytes^2
  uint64_t payload_bytes[2];
  uint32_t payload_pkts[2];
  uint32_t hdr_bytes[2];
  uint32_t iat_n, iat_dir_n[2];
  uint32_t len_min, len_max;
  uint16_t tcp_cnt[kTcpCnts];  // TcpCnt; u16 counters wrap as before
  uint8_t flags;               // FeatFlags
  // Rare: a first packet per direction, an idle gap, an app transaction.
  uint8_t http_method, http_status_class;
  uint16_t init_win[2];
  uint16_t http_requests;
  uint16_t dns_qlen;
  uint64_t active_start;
  double active_sum, idle_sum; // ns
  uint64_t active_max, idle_max;
  uint32_t active_n, idle_n;
  float entropy[2], printable[2];
  float dns_label_entropy;
};
static_assert(sizeof(FlowFeat) == 256, "4 cache lines");
static_assert(offsetof(FlowFeat, flags) < 192, "per-packet fields in the first 3 lines (the prefetched ones)");

// Shannon entropy (bits per symbol) and printable-ASCII ratio of d[0..n).
void byte_stats(const uint8_t* d, uint32_t n, float& entropy, float& printable);

// New flow: zero the state. First packet handled by feat_packet as usual.
void feat_reset(FlowFeat& ff, uint64_t ts_ns);
// One packet of the flow (after the flow stage counted it), `dir` 0: fwd.
// ~30 cycles plus entropy once per direction (~150 cycles). Inline: it runs
// for every packet of every tracked flow (a call cost its register saves).
inline void feat_packet(FlowFeat& ff, const PacketInfo& p, int dir);
// A completed app-layer transaction direction (HTTP request/response, DNS
// query, TLS hello).
void feat_app(FlowFeat& ff, bool to_server, const AppMeta& m);
// The app_proto feature: a frozen code per rules::AppProto, the values the
// shipped model was trained with (0 unknown, 1 http, 2 dns, 3 tls, 4 failed).
// Protocols detected later (smtp, ftp, ftp-data, smb, ssh, ...) get what the
// detector of that time said of their flows: each direction's first 14
// payload bytes matched none of its protocols, so such a flow was failed (4)
// once both directions had sent that much, unknown (0) before; at the flow's
// end (`ended`) failed when either side sent anything. Over UDP (`tcp`
// false) it opened app state for DNS only: 0. A new code needs a new model.
float app_proto_feature(uint8_t app_proto, uint64_t payload_fwd, uint64_t payload_bwd, bool ended, bool tcp);
// Fills row[0..kNumFeatures) as of `now_ns` (the flow's last packet).
// `ended`: the row of the flow's end (app_proto: see app_proto_feature).
void feat_extract(const Flow& f, const FlowFeat& ff, const HostStats& hs, float* row, bool ended = false);

// Lazily committed array of FlowFeat, one per flow-table index.
class FeatureStore {
 public:
  explicit FeatureStore(uint32_t max_flows);
  ~FeatureStore();
  FeatureStore(const FeatureStore&) = delete;
  FeatureStore& operator=(const FeatureStore&) = delete;
  FlowFeat& at(uint32_t idx) { return base_[idx]; }

 private:
  FlowFeat* base_ = nullptr;
  size_t map_bytes_ = 0;
};

inline void feat_packet(FlowFeat& ff, const PacketInfo& p, int dir) {
  uint64_t ts = p.ts_ns;
  if (ff.last_ts[0] | ff.last_ts[1]) {  // not the first packet
    uint64_t gap = ts > ff.prev_ts ? ts - ff.prev_ts : 0;
    ff.iat_n++;
    ff.iat_sum += gap;
    ff.iat_sq += double(gap) * double(gap);
    if (gap < ff.iat_min) ff.iat_min = gap;
    if (gap > ff.iat_max) ff.iat_max = gap;
    if (gap >= kIdleGapNs) {
      uint64_t act = ff.prev_ts - ff.active_start;
      ff.active_sum += double(act);
      ff.active_n++;
      if (act > ff.active_max) ff.active_max = act;
      ff.idle_sum += double(gap);
      ff.idle_n++;
      if (gap > ff.idle_max) ff.idle_max = gap;
      ff.active_start = ts;
    }
  }
  if (ff.last_ts[dir]) {
    uint64_t g = ts > ff.last_ts[dir] ? ts - ff.last_ts[dir] : 0;
    ff.iat_dir_sum[dir] += g;
    ff.iat_dir_n[dir]++;
  }
  ff.last_ts[dir] = ts;
  if (ts > ff.prev_ts) ff.prev_ts = ts;

  uint32_t len = p.frame_len;
  if (len < ff.len_min) ff.len_min = len;
  if (len > ff.len_max) ff.len_max = len;
  ff.len_sq += uint64_t(len) * len;
  ff.hdr_bytes[dir] += p.payload_off;
  if (p.payload_len) {
    ff.payload_bytes[dir] += p.payload_len;
    ff.payload_pkts[dir]++;
    uint8_t pay = dir ? kFeatPay1 : kFeatPay0;
    if (!(ff.flags & pay)) {
      ff.flags |= pay;
      uint32_t n = p.payload_len < kEntropyBytes ? p.payload_len : kEntropyBytes;
      byte_stats(p.l3 + p.payload_off, n, ff.entropy[dir], ff.printable[dir]);
    }
  }
  if (p.proto == 6) {
    uint8_t win = dir ? kFeatWin1 : kFeatWin0;
    if (!(ff.flags & win)) {
      ff.flags |= win;
      ff.init_win[dir] = p.tcp_win;
    }
    const TcpCntRow& inc = kTcpCntInc[p.tcp_flags | unsigned(dir) << 8 | unsigned(p.payload_len == 0) << 9];
    __m128i* c = reinterpret_cast<__m128i*>(ff.tcp_cnt);
    _mm_storeu_si128(c, _mm_add_epi16(_mm_loadu_si128(c), _mm_load_si128(reinterpret_cast<const __m128i*>(inc.v))));
  }
}

}  // namespace spectre
