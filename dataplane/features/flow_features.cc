#include "dataplane/features/flow_features.h"

#include <cmath>
#include <cstring>
#include <new>

#include <sys/mman.h>

#include "dataplane/app/app.h"
#include "dataplane/decode/packet.h"
#include "dataplane/features/host_window.h"
#include "dataplane/flow/flow.h"

namespace spectre {

namespace {

// c * log2(c) for c in [0, 256]: entropy = log2(n) - sum(c log2 c) / n.
struct ClogTable {
  double v[257];
  ClogTable() {
    v[0] = 0;
    for (int c = 1; c <= 256; c++) v[c] = c * std::log2(double(c));
  }
};
const ClogTable kClog;

constexpr TcpCntRow tcp_cnt_row(unsigned i) {
  const unsigned fl = i & 0xff, dir = (i >> 8) & 1;
  const bool empty = i >> 9;
  TcpCntRow r{};
  r.v[kCntSyn] = (fl & kSyn) != 0;
  r.v[kCntSynAck] = (fl & (kSyn | kAck)) == (kSyn | kAck);
  r.v[kCntFin] = (fl & kFin) != 0;
  r.v[dir ? kCntRstBwd : kCntRstFwd] = (fl & kRst) != 0;
  r.v[kCntPsh] = (fl & kPsh) != 0;
  r.v[kCntAckOnly] = (fl & (kSyn | kFin | kRst | kAck)) == kAck && empty;
  r.v[kCntUrg] = (fl & kUrg) != 0;
  return r;
}

}  // namespace

constexpr std::array<TcpCntRow, 1024> kTcpCntInc = [] {
  std::array<TcpCntRow, 1024> t{};
  for (unsigned i = 0; i < 1024; i++) t[i] = tcp_cnt_row(i);
  return t;
}();

namespace {

uint8_t method_code(const char* m) {
  if (!m[0]) return 0;
  if (!std::strcmp(m, "GET")) return 1;
  if (!std::strcmp(m, "POST")) return 2;
  if (!std::strcmp(m, "HEAD")) return 3;
  if (!std::strcmp(m, "PUT")) return 4;
  return 5;
}

inline float ms(double ns) { return float(ns / 1e6); }

}  // namespace

float app_proto_feature(uint8_t app_proto, uint64_t payload_fwd, uint64_t payload_bwd, bool ended, bool tcp) {
  using rules::AppProto;
  static_assert(uint8_t(AppProto::kUnknown) == 0 && uint8_t(AppProto::kHttp) == 1 &&
                    uint8_t(AppProto::kDns) == 2 && uint8_t(AppProto::kTls) == 3 &&
                    uint8_t(AppProto::kFailed) == 4,
                "the feature codes of the shipped model");
  if (app_proto <= uint8_t(AppProto::kFailed)) return float(app_proto);
  if (!tcp) return 0.0f;  // a later UDP protocol (QUIC, SIP...): no app state then
  constexpr uint64_t kDecided = 14;  // bytes the old probe needed to reject a direction (DNS-over-TCP's header)
  if (ended) return payload_fwd || payload_bwd ? 4.0f : 0.0f;  // its finish rejected undecided probes too
  return payload_fwd >= kDecided && payload_bwd >= kDecided ? 4.0f : 0.0f;
}

void byte_stats(const uint8_t* d, uint32_t n, float& entropy, float& printable) {
  if (n > 255) n = 255;  // uint8_t counts
  if (!n) {
    entropy = printable = 0;
    return;
  }
  uint8_t cnt[256];
  std::memset(cnt, 0, sizeof cnt);
  uint32_t pr = 0;
  for (uint32_t i = 0; i < n; i++) {
    cnt[d[i]]++;
    pr += (d[i] >= 0x20 && d[i] < 0x7f) || d[i] == '\t' || d[i] == '\r' || d[i] == '\n';
  }
  double s = 0;
  for (uint32_t i = 0; i < n; i++) {  // each distinct byte once: clear after use
    s += kClog.v[cnt[d[i]]];
    cnt[d[i]] = 0;
  }
  double e = std::log2(double(n)) - s / n;
  entropy = float(e < 0 ? 0 : e);
  printable = float(pr) / float(n);
}

void feat_reset(FlowFeat& ff, uint64_t ts_ns) {
  std::memset(&ff, 0, sizeof ff);
  ff.prev_ts = ts_ns;
  ff.active_start = ts_ns;
  ff.iat_min = ~0ull;
  ff.len_min = ~0u;
}

void feat_app(FlowFeat& ff, bool to_server, const AppMeta& m) {
  switch (m.proto) {
    case rules::AppProto::kHttp:
      if (to_server) {
        ff.http_requests++;
        ff.http_method = method_code(m.http_method);
      } else if (m.http_status) {
        ff.http_status_class = uint8_t(m.http_status / 100 < 10 ? m.http_status / 100 : 9);
      }
      break;
    case rules::AppProto::kDns:
      if (to_server && !m.dns_is_response) {
        size_t n = strnlen(m.dns_rrname, sizeof m.dns_rrname);
        ff.dns_qlen = uint16_t(n);
        const char* dot = static_cast<const char*>(std::memchr(m.dns_rrname, '.', n));
        uint32_t l = uint32_t(dot ? dot - m.dns_rrname : n);
        float pr;
        byte_stats(reinterpret_cast<const uint8_t*>(m.dns_rrname), l, ff.dns_label_entropy, pr);
      }
      break;
    case rules::AppProto::kTls:
      if (to_server && m.tls_sni[0]) ff.flags |= kFeatSni;
      break;
    default: break;
  }
}

void feat_extract(const Flow& f, const FlowFeat& ff, const HostStats& hs, float* row, bool ended) {
  using namespace ml;
  bool sw = f.flags & kFlowInitSwapped;
  uint64_t dur = f.last_ts > f.first_ts ? f.last_ts - f.first_ts : 0;
  double dur_s = double(dur) / 1e9;
  double rate_s = dur_s > 1e-3 ? dur_s : 1e-3;
  uint64_t pk = f.pkts[0] + f.pkts[1], by = f.bytes[0] + f.bytes[1];
  double mean = pk ? double(by) / double(pk) : 0;
  double var = pk ? double(ff.len_sq) / double(pk) - mean * mean : 0;
  double imean = ff.iat_n ? double(ff.iat_sum) / ff.iat_n : 0;
  double ivar = ff.iat_n ? ff.iat_sq / ff.iat_n - imean * imean : 0;
  // The running active period counts as one.
  uint64_t cur_act = ff.prev_ts - ff.active_start;
  double act_sum = ff.active_sum + double(cur_act);
  uint64_t act_max = cur_act > ff.active_max ? cur_act : ff.active_max;

  row[kF_duration_s] = float(dur_s);
  row[kF_pkts_fwd] = float(f.pkts[0]);
  row[kF_pkts_bwd] = float(f.pkts[1]);
  row[kF_bytes_fwd] = float(f.bytes[0]);
  row[kF_bytes_bwd] = float(f.bytes[1]);
  row[kF_payload_bytes_fwd] = float(ff.payload_bytes[0]);
  row[kF_payload_bytes_bwd] = float(ff.payload_bytes[1]);
  row[kF_payload_pkts_fwd] = float(ff.payload_pkts[0]);
  row[kF_payload_pkts_bwd] = float(ff.payload_pkts[1]);
  row[kF_len_min] = pk ? float(ff.len_min) : 0;
  row[kF_len_max] = float(ff.len_max);
  row[kF_len_mean] = float(mean);
  row[kF_len_std] = float(var > 0 ? std::sqrt(var) : 0);
  row[kF_len_mean_fwd] = f.pkts[0] ? float(double(f.bytes[0]) / f.pkts[0]) : 0;
  row[kF_len_mean_bwd] = f.pkts[1] ? float(double(f.bytes[1]) / f.pkts[1]) : 0;
  row[kF_iat_min_ms] = ff.iat_n ? ms(double(ff.iat_min)) : 0;
  row[kF_iat_max_ms] = ms(double(ff.iat_max));
  row[kF_iat_mean_ms] = ms(imean);
  row[kF_iat_std_ms] = ms(ivar > 0 ? std::sqrt(ivar) : 0);
  row[kF_iat_mean_fwd_ms] = ff.iat_dir_n[0] ? ms(double(ff.iat_dir_sum[0]) / ff.iat_dir_n[0]) : 0;
  row[kF_iat_mean_bwd_ms] = ff.iat_dir_n[1] ? ms(double(ff.iat_dir_sum[1]) / ff.iat_dir_n[1]) : 0;
  row[kF_syn_cnt] = ff.tcp_cnt[kCntSyn];
  row[kF_synack_cnt] = ff.tcp_cnt[kCntSynAck];
  row[kF_fin_cnt] = ff.tcp_cnt[kCntFin];
  row[kF_rst_fwd] = ff.tcp_cnt[kCntRstFwd];
  row[kF_rst_bwd] = ff.tcp_cnt[kCntRstBwd];
  row[kF_psh_cnt] = ff.tcp_cnt[kCntPsh];
  row[kF_ack_only_cnt] = ff.tcp_cnt[kCntAckOnly];
  row[kF_urg_cnt] = ff.tcp_cnt[kCntUrg];
  row[kF_hdr_bytes_fwd] = float(ff.hdr_bytes[0]);
  row[kF_hdr_bytes_bwd] = float(ff.hdr_bytes[1]);
  row[kF_init_win_fwd] = ff.init_win[0];
  row[kF_init_win_bwd] = ff.init_win[1];
  row[kF_bytes_per_s] = float(double(by) / rate_s);
  row[kF_pkts_per_s] = float(double(pk) / rate_s);
  row[kF_down_up_ratio] = f.bytes[0] ? float(double(f.bytes[1]) / double(f.bytes[0])) : 0;
  row[kF_active_mean_ms] = ms(act_sum / double(ff.active_n + 1));
  row[kF_active_max_ms] = ms(double(act_max));
  row[kF_idle_mean_ms] = ff.idle_n ? ms(ff.idle_sum / ff.idle_n) : 0;
  row[kF_idle_max_ms] = ms(double(ff.idle_max));
  row[kF_entropy_fwd] = ff.entropy[0];
  row[kF_printable_fwd] = ff.printable[0];
  row[kF_entropy_bwd] = ff.entropy[1];
  row[kF_printable_bwd] = ff.printable[1];
  row[kF_ip_proto] = f.key.proto;
  bool ports = f.key.proto == 6 || f.key.proto == 17 || f.key.proto == 132;
  row[kF_server_port] = ports ? float(sw ? f.key.lo_port : f.key.hi_port) : 0;
  row[kF_app_proto] = app_proto_feature(f.app_proto, ff.payload_bytes[0], ff.payload_bytes[1], ended,
                                        f.key.proto == 6);
  row[kF_tcp_established] = (f.flags & kFlowEstablished) ? 1 : 0;
  row[kF_dns_qname_len] = ff.dns_qlen;
  row[kF_dns_label_entropy] = ff.dns_label_entropy;
  row[kF_http_method] = ff.http_method;
  row[kF_http_status_class] = ff.http_status_class;
  row[kF_http_requests] = ff.http_requests;
  row[kF_tls_sni_present] = (ff.flags & kFeatSni) ? 1 : 0;
  row[kF_host_distinct_dsts] = hs.distinct_dsts;
  row[kF_host_distinct_dports] = hs.distinct_dports;
  row[kF_host_conns] = hs.conns;
  row[kF_host_failed_ratio] = hs.failed_ratio;
}

FeatureStore::FeatureStore(uint32_t max_flows) {
  map_bytes_ = (size_t(max_flows) + 1) * sizeof(FlowFeat);
  void* p = mmap(nullptr, map_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  base_ = static_cast<FlowFeat*>(p);
}

FeatureStore::~FeatureStore() {
  if (base_) munmap(base_, map_bytes_);
}

}  // namespace spectre
