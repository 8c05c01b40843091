// Per-flow features (dataplane/features): byte_stats against the direct
// formula, feat_packet + feat_extract against a naive recomputation from a
// stored packet list, feat_app, and HostWindow against exact counts.
// Definitions where schemas/features.def is loose follow the C++ (see
// tests/e2e/test_features.py for the list): entropy of the first payload
// packet's first 64 bytes per direction, ack-only = flags&(S|F|R|A)==A
// without payload, population std, running active period counted.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <vector>

#include "dataplane/app/app.h"
#include "dataplane/features/scoring.h"
#include "dataplane/decode/packet.h"
#include "dataplane/features/flow_features.h"
#include "dataplane/features/host_window.h"
#include "dataplane/flow/flow.h"
#include "ml/feature_schema.h"

namespace spectre {
namespace {

using namespace ml;
constexpr uint64_t kMs = 1000000ull, kSec = 1000000000ull;
constexpr uint64_t kBase = 1700000000ull * kSec;

double direct_entropy(const uint8_t* d, size_t n) {
  if (!n) return 0;
  std::map<uint8_t, size_t> c;
  for (size_t i = 0; i < n; i++) c[d[i]]++;
  double e = 0;
  for (auto& [b, k] : c) e -= double(k) / n * std::log2(double(k) / n);
  return e;
}
double direct_printable(const uint8_t* d, size_t n) {
  if (!n) return 0;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += (d[i] >= 0x20 && d[i] <= 0x7e) || d[i] == 9 || d[i] == 10 || d[i] == 13;
  return double(k) / n;
}

TEST(FeatByteStats, RandomBuffersMatchDirectFormula) {
  std::mt19937 rng(11);
  for (int it = 0; it < 400; it++) {
    uint32_t n = rng() % 256;  // byte_stats counts in uint8_t: n <= 255
    int alphabet = 1 + int(rng() % 256);
    std::vector<uint8_t> b(n);
    for (auto& x : b) x = uint8_t(it % 3 == 0 ? 0x20 + rng() % 95 : rng() % alphabet);
    float e, p;
    byte_stats(b.data(), n, e, p);
    double we = direct_entropy(b.data(), n), wp = direct_printable(b.data(), n);
    EXPECT_NEAR(e, we, 1e-4 * we + 1e-6) << "n=" << n << " alphabet=" << alphabet;
    EXPECT_NEAR(p, wp, 1e-6) << "n=" << n;
  }
}

TEST(FeatByteStats, EdgeCases) {
  float e = -1, p = -1;
  byte_stats(nullptr, 0, e, p);
  EXPECT_EQ(e, 0);
  EXPECT_EQ(p, 0);
  uint8_t same[64];
  std::memset(same, 'A', sizeof same);
  byte_stats(same, 64, e, p);
  EXPECT_EQ(e, 0);
  EXPECT_EQ(p, 1);
  uint8_t all[255];
  for (int i = 0; i < 255; i++) all[i] = uint8_t(i);
  byte_stats(all, 255, e, p);
  EXPECT_NEAR(e, std::log2(255.0), 1e-5);
  EXPECT_NEAR(p, 98.0 / 255, 1e-6);  // 0x20..0x7e plus tab, LF, CR
  const uint8_t ctl[] = {0x00, 0x7f, 0x80, 0xff, 0x1f, '\t', '\n', '\r'};
  byte_stats(ctl, sizeof ctl, e, p);
  EXPECT_NEAR(p, 3.0 / 8, 1e-6);
  EXPECT_NEAR(e, 3.0, 1e-6);
}

// ---------------------------------------------------------- per-flow model

struct Pk {
  uint64_t ts;
  int dir;
  uint32_t flen;
  uint16_t hdr;
  std::vector<uint8_t> pay;
  uint8_t flags;
  uint16_t win;
};

using Row = std::array<double, kNumFeatures>;

double pstd(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double m = 0;
  for (double x : v) m += x;
  m /= double(v.size());
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}
double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

// Packet-derived features of ps (everything but the app, flow-flag and host ones).
Row naive(const std::vector<Pk>& ps, uint8_t proto) {
  Row r{};
  uint64_t first = ps.front().ts, last = 0;
  double n[2] = {0, 0}, by[2] = {0, 0}, pb[2] = {0, 0}, pp[2] = {0, 0}, hb[2] = {0, 0};
  std::vector<double> lens, gaps, dgaps[2];
  const Pk* prevd[2] = {nullptr, nullptr};
  const std::vector<uint8_t>* firstpay[2] = {nullptr, nullptr};
  double win[2] = {0, 0};
  bool haswin[2] = {false, false};
  double syn = 0, synack = 0, fin = 0, rst[2] = {0, 0}, psh = 0, acko = 0, urg = 0;
  std::vector<double> act, idle;
  uint64_t a0 = first;
  for (size_t i = 0; i < ps.size(); i++) {
    const Pk& p = ps[i];
    last = std::max(last, p.ts);
    int d = p.dir;
    n[d]++;
    by[d] += p.flen;
    pb[d] += double(p.pay.size());
    pp[d] += !p.pay.empty();
    hb[d] += p.hdr;
    lens.push_back(p.flen);
    if (i) {
      uint64_t g = p.ts - ps[i - 1].ts;
      gaps.push_back(double(g));
      if (g >= kSec) {
        act.push_back(double(ps[i - 1].ts - a0));
        idle.push_back(double(g));
        a0 = p.ts;
      }
    }
    if (prevd[d]) dgaps[d].push_back(double(p.ts - prevd[d]->ts));
    prevd[d] = &p;
    if (!p.pay.empty() && !firstpay[d]) firstpay[d] = &p.pay;
    if (proto == 6) {
      if (!haswin[d]) win[d] = p.win, haswin[d] = true;
      syn += (p.flags & kSyn) != 0;
      synack += (p.flags & kSyn) && (p.flags & kAck);
      fin += (p.flags & kFin) != 0;
      rst[d] += (p.flags & kRst) != 0;
      psh += (p.flags & kPsh) != 0;
      urg += (p.flags & kUrg) != 0;
      acko += (p.flags & (kSyn | kFin | kRst | kAck)) == kAck && p.pay.empty();
    }
  }
  act.push_back(double(ps.back().ts - a0));
  double dur = double(last - first) / 1e9;
  double tot = by[0] + by[1];
  r[kF_duration_s] = dur;
  r[kF_pkts_fwd] = n[0];
  r[kF_pkts_bwd] = n[1];
  r[kF_bytes_fwd] = by[0];
  r[kF_bytes_bwd] = by[1];
  r[kF_payload_bytes_fwd] = pb[0];
  r[kF_payload_bytes_bwd] = pb[1];
  r[kF_payload_pkts_fwd] = pp[0];
  r[kF_payload_pkts_bwd] = pp[1];
  r[kF_len_min] = *std::min_element(lens.begin(), lens.end());
  r[kF_len_max] = *std::max_element(lens.begin(), lens.end());
  r[kF_len_mean] = mean(lens);
  r[kF_len_std] = pstd(lens);
  r[kF_len_mean_fwd] = n[0] ? by[0] / n[0] : 0;
  r[kF_len_mean_bwd] = n[1] ? by[1] / n[1] : 0;
  r[kF_iat_min_ms] = gaps.empty() ? 0 : *std::min_element(gaps.begin(), gaps.end()) / 1e6;
  r[kF_iat_max_ms] = gaps.empty() ? 0 : *std::max_element(gaps.begin(), gaps.end()) / 1e6;
  r[kF_iat_mean_ms] = mean(gaps) / 1e6;
  r[kF_iat_std_ms] = pstd(gaps) / 1e6;
  r[kF_iat_mean_fwd_ms] = mean(dgaps[0]) / 1e6;
  r[kF_iat_mean_bwd_ms] = mean(dgaps[1]) / 1e6;
  r[kF_syn_cnt] = syn;
  r[kF_synack_cnt] = synack;
  r[kF_fin_cnt] = fin;
  r[kF_rst_fwd] = rst[0];
  r[kF_rst_bwd] = rst[1];
  r[kF_psh_cnt] = psh;
  r[kF_ack_only_cnt] = acko;
  r[kF_urg_cnt] = urg;
  r[kF_hdr_bytes_fwd] = hb[0];
  r[kF_hdr_bytes_bwd] = hb[1];
  r[kF_init_win_fwd] = win[0];
  r[kF_init_win_bwd] = win[1];
  double rate = std::max(dur, 1e-3);
  r[kF_bytes_per_s] = tot / rate;
  r[kF_pkts_per_s] = double(ps.size()) / rate;
  r[kF_down_up_ratio] = by[0] ? by[1] / by[0] : 0;
  r[kF_active_mean_ms] = mean(act) / 1e6;
  r[kF_active_max_ms] = *std::max_element(act.begin(), act.end()) / 1e6;
  r[kF_idle_mean_ms] = mean(idle) / 1e6;
  r[kF_idle_max_ms] = idle.empty() ? 0 : *std::max_element(idle.begin(), idle.end()) / 1e6;
  for (int d = 0; d < 2; d++) {
    const uint8_t* b = firstpay[d] ? firstpay[d]->data() : nullptr;
    size_t k = firstpay[d] ? std::min<size_t>(firstpay[d]->size(), 64) : 0;
    r[d ? kF_entropy_bwd : kF_entropy_fwd] = direct_entropy(b, k);
    r[d ? kF_printable_bwd : kF_printable_fwd] = direct_printable(b, k);
  }
  r[kF_ip_proto] = proto;
  return r;
}

// Feeds ps through feat_packet (and the Flow accounting the worker does).
struct Fed {
  Flow f{};
  FlowFeat ff{};
  std::vector<std::vector<uint8_t>> bufs;
};

void feed(Fed& s, const std::vector<Pk>& ps, uint8_t proto, size_t upto) {
  s.f = Flow{};
  s.f.key.proto = proto;
  s.f.key.ip_ver = 4;
  s.f.first_ts = s.f.last_ts = ps.front().ts;
  feat_reset(s.ff, ps.front().ts);
  s.bufs.assign(upto, {});
  for (size_t i = 0; i < upto; i++) {
    const Pk& p = ps[i];
    auto& b = s.bufs[i];
    b.assign(p.hdr, 0x45);
    b.insert(b.end(), p.pay.begin(), p.pay.end());
    PacketInfo pi;
    pi.l3 = b.data();
    pi.ts_ns = p.ts;
    pi.frame_len = p.flen;
    pi.payload_off = p.hdr;
    pi.payload_len = uint16_t(p.pay.size());
    pi.proto = proto;
    pi.tcp_flags = proto == 6 ? p.flags : 0;
    pi.tcp_win = proto == 6 ? p.win : 0;
    s.f.pkts[p.dir]++;
    s.f.bytes[p.dir] += p.flen;
    if (p.ts > s.f.last_ts) s.f.last_ts = p.ts;
    feat_packet(s.ff, pi, p.dir);
  }
}

std::vector<Pk> random_flow(std::mt19937& rng, uint8_t proto, size_t n) {
  std::vector<Pk> ps;
  uint64_t t = kBase + (rng() % 1000) * kMs;
  for (size_t i = 0; i < n; i++) {
    Pk p;
    if (i) {
      switch (rng() % 6) {
        case 0: break;                                  // same timestamp
        case 1: t += kSec; break;                       // exactly the idle threshold
        case 2: t += kSec - 1; break;                   // just below
        case 3: t += kSec + rng() % (3 * kSec); break;  // idle
        default: t += rng() % (50 * kMs); break;
      }
    }
    p.ts = t;
    p.dir = rng() % 3 == 0 ? 1 : 0;
    if (i == 0 && rng() % 2) p.dir = 1;  // flows whose first packet is bwd too
    p.hdr = uint16_t(proto == 6 ? 40 + 4 * (rng() % 6) : proto == 17 ? 28 : 48);
    size_t pl = rng() % 3 == 0 ? 0 : 1 + rng() % 200;
    p.pay.resize(pl);
    bool text = rng() % 2;
    for (auto& x : p.pay) x = uint8_t(text ? 0x20 + rng() % 100 : rng());
    p.flen = 14 + p.hdr + uint32_t(pl) + (rng() % 4 == 0 ? rng() % 6 : 0);  // some link padding
    p.flags = uint8_t(rng());
    p.win = uint16_t(rng());
    ps.push_back(std::move(p));
  }
  return ps;
}

void expect_row(const float* row, const Row& want, const char* what) {
  for (uint32_t k = 0; k < kNumFeatures; k++) {
    std::string nm = kFeatureNames[k];
    if (nm.rfind("host_", 0) == 0 || nm == "app_proto" || nm == "tcp_established" || nm == "server_port" ||
        nm.rfind("dns_", 0) == 0 || nm.rfind("http_", 0) == 0 || nm == "tls_sni_present")
      continue;
    double scale = k == kF_iat_std_ms ? want[kF_iat_max_ms] : k == kF_len_std ? want[kF_len_max] : 0;
    double tol = 1e-4 * std::fabs(want[k]) + 1e-6 * scale + 1e-9;
    EXPECT_NEAR(row[k], want[k], tol) << what << ": " << nm;
  }
}

TEST(FeatFlow, RandomSequencesMatchNaiveModel) {
  std::mt19937 rng(2024);
  for (int it = 0; it < 300; it++) {
    uint8_t proto = it % 3 == 0 ? 17 : it % 7 == 0 ? 1 : 6;
    size_t n = 1 + rng() % 40;
    std::vector<Pk> ps = random_flow(rng, proto, n);
    // Every prefix: scoring points read the state after any packet.
    for (size_t k = 1; k <= n; k += 1 + rng() % 5) {
      Fed s;
      feed(s, ps, proto, k);
      float row[kRowStride];
      feat_extract(s.f, s.ff, HostStats{}, row);
      std::vector<Pk> pre(ps.begin(), ps.begin() + long(k));
      std::string what = "iter " + std::to_string(it) + " proto " + std::to_string(proto) + " prefix " +
                         std::to_string(k) + "/" + std::to_string(n);
      expect_row(row, naive(pre, proto), what.c_str());
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(FeatFlow, PassThroughFieldsAndHostStats) {
  std::mt19937 rng(5);
  std::vector<Pk> ps = random_flow(rng, 6, 5);
  Fed s;
  feed(s, ps, 6, ps.size());
  s.f.key.lo_port = 40000;
  s.f.key.hi_port = 443;
  s.f.app_proto = 3;
  s.f.flags = kFlowEstablished;
  HostStats hs;
  hs.distinct_dsts = 3.5f;
  hs.distinct_dports = 7.25f;
  hs.conns = 12;
  hs.failed_ratio = 0.25f;
  float row[kRowStride];
  feat_extract(s.f, s.ff, hs, row);
  EXPECT_EQ(row[kF_server_port], 443);  // initiator is "lo": responder port is hi_port
  EXPECT_EQ(row[kF_app_proto], 3);
  EXPECT_EQ(row[kF_tcp_established], 1);
  EXPECT_EQ(row[kF_ip_proto], 6);
  EXPECT_EQ(row[kF_host_distinct_dsts], 3.5f);
  EXPECT_EQ(row[kF_host_distinct_dports], 7.25f);
  EXPECT_EQ(row[kF_host_conns], 12);
  EXPECT_EQ(row[kF_host_failed_ratio], 0.25f);
  s.f.flags = kFlowInitSwapped;  // initiator is "hi": responder port is lo_port
  feat_extract(s.f, s.ff, hs, row);
  EXPECT_EQ(row[kF_server_port], 40000);
  EXPECT_EQ(row[kF_tcp_established], 0);
  s.f.key.proto = 1;  // no ports
  feat_extract(s.f, s.ff, hs, row);
  EXPECT_EQ(row[kF_server_port], 0);
}

// The shipped model (ml/models/default.spm) learnt app_proto codes 0-4
// (unknown, http, dns, tls, failed); protocols detected later must reach it
// as the detector of that time saw their flows: failed once both directions
// sent 14 payload bytes (its probe rejected them), unknown before.
TEST(FeatFlow, AppProtoCodesFrozenForTheShippedModel) {
  std::mt19937 rng(9);
  std::vector<Pk> ps = random_flow(rng, 6, 5);
  Fed s;
  feed(s, ps, 6, ps.size());
  float row[kRowStride];
  const std::pair<rules::AppProto, float> want[] = {
      {rules::AppProto::kUnknown, 0}, {rules::AppProto::kHttp, 1}, {rules::AppProto::kDns, 2},
      {rules::AppProto::kTls, 3},     {rules::AppProto::kFailed, 4}, {rules::AppProto::kSmtp, -1},
      {rules::AppProto::kFtp, -1},    {rules::AppProto::kFtpData, -1}, {rules::AppProto::kSmb, -1},
      {rules::AppProto::kQuic, -1},   {rules::AppProto::kSip, -1},   {rules::AppProto::kSsh, -1},
      {rules::AppProto::kMqtt, -1},   {rules::AppProto::kKrb5, -1},
      {rules::AppProto::kDcerpc, -1}, {rules::AppProto::kHttp2, -1}};  // -1: a later protocol
  static_assert(std::size(want) == rules::kAppProtoCount, "every AppProto has its frozen code here");
  const uint64_t sizes[][2] = {{0, 0}, {13, 500}, {500, 13}, {14, 14}, {300, 900}};
  for (auto [ap, code] : want) {
    s.f.app_proto = uint8_t(ap);
    for (auto& sz : sizes) {
      s.ff.payload_bytes[0] = sz[0];
      s.ff.payload_bytes[1] = sz[1];
      feat_extract(s.f, s.ff, HostStats{}, row);
      float w = code >= 0 ? code : (sz[0] >= 14 && sz[1] >= 14 ? 4 : 0);
      EXPECT_EQ(row[kF_app_proto], w) << rules::app_proto_name(ap) << " " << sz[0] << "/" << sz[1];
      feat_extract(s.f, s.ff, HostStats{}, row, true);  // the flow's end row
      w = code >= 0 ? code : (sz[0] || sz[1] ? 4 : 0);
      EXPECT_EQ(row[kF_app_proto], w) << rules::app_proto_name(ap) << " at end " << sz[0] << "/" << sz[1];
    }
  }
  for (int v = rules::kAppProtoCount; v < 256; v++) {
    EXPECT_EQ(app_proto_feature(uint8_t(v), 0, 0, false, true), 0.0f) << v;
    EXPECT_EQ(app_proto_feature(uint8_t(v), 100, 100, false, true), 4.0f) << v;
    EXPECT_EQ(app_proto_feature(uint8_t(v), 100, 0, true, true), 4.0f) << v;
    EXPECT_EQ(app_proto_feature(uint8_t(v), 100, 100, true, false), 0.0f) << v;  // UDP (QUIC, SIP)
  }
}

TEST(FeatFlow, EntropyTakesFirstPayloadPacketOnly) {
  std::vector<Pk> ps(3);
  for (int i = 0; i < 3; i++) {
    ps[i].ts = kBase + uint64_t(i) * kMs;
    ps[i].dir = 0;
    ps[i].hdr = 40;
    ps[i].flags = kAck;
    ps[i].win = 100;
  }
  ps[0].pay.clear();                           // no payload: skipped
  ps[1].pay.assign(100, 'a');                  // first payload packet: 64 of its bytes
  for (int i = 32; i < 100; i++) ps[1].pay[size_t(i)] = uint8_t(i);
  ps[2].pay.assign(50, 0xff);                  // later packets do not change it
  for (auto& p : ps) p.flen = uint32_t(14 + p.hdr + p.pay.size());
  Fed s;
  feed(s, ps, 6, 3);
  float row[kRowStride];
  feat_extract(s.f, s.ff, HostStats{}, row);
  EXPECT_NEAR(row[kF_entropy_fwd], direct_entropy(ps[1].pay.data(), 64), 1e-5);
  EXPECT_NEAR(row[kF_printable_fwd], direct_printable(ps[1].pay.data(), 64), 1e-6);
  EXPECT_EQ(row[kF_entropy_bwd], 0);
}

// ---------------------------------------------------------------- feat_app

AppMeta meta(rules::AppProto p) {
  AppMeta m{};
  m.proto = p;
  return m;
}

TEST(FeatApp, HttpDnsTls) {
  FlowFeat ff;
  feat_reset(ff, kBase);
  Flow f{};
  f.key.proto = 6;
  float row[kRowStride];
  auto extract = [&] { feat_extract(f, ff, HostStats{}, row); };
  AppMeta m = meta(rules::AppProto::kHttp);
  std::strcpy(m.http_method, "POST");
  feat_app(ff, true, m);
  std::strcpy(m.http_method, "PATCH");
  feat_app(ff, true, m);
  m.http_status = 404;
  feat_app(ff, false, m);
  AppMeta none = meta(rules::AppProto::kHttp);  // a response without a status line
  feat_app(ff, false, none);
  extract();
  EXPECT_EQ(row[kF_http_requests], 2);
  EXPECT_EQ(row[kF_http_method], 5);  // other
  EXPECT_EQ(row[kF_http_status_class], 4);
  const char* methods[] = {"GET", "POST", "HEAD", "PUT"};
  for (int i = 0; i < 4; i++) {
    std::strcpy(m.http_method, methods[i]);
    feat_app(ff, true, m);
    extract();
    EXPECT_EQ(row[kF_http_method], i + 1) << methods[i];
  }
  EXPECT_EQ(row[kF_http_requests], 6);
  m.http_status = 200;
  feat_app(ff, false, m);
  extract();
  EXPECT_EQ(row[kF_http_status_class], 2);

  AppMeta d = meta(rules::AppProto::kDns);
  std::strcpy(d.dns_rrname, "a9x3kq7zt2.evil.example");
  feat_app(ff, true, d);
  extract();
  EXPECT_EQ(row[kF_dns_qname_len], 23);
  EXPECT_NEAR(row[kF_dns_label_entropy], direct_entropy(reinterpret_cast<const uint8_t*>("a9x3kq7zt2"), 10), 1e-5);
  AppMeta resp = meta(rules::AppProto::kDns);  // answers do not change the query features
  std::strcpy(resp.dns_rrname, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz.example");
  resp.dns_is_response = true;
  feat_app(ff, false, resp);
  extract();
  EXPECT_EQ(row[kF_dns_qname_len], 23);
  std::strcpy(d.dns_rrname, "nodots");
  feat_app(ff, true, d);
  extract();
  EXPECT_EQ(row[kF_dns_qname_len], 6);
  EXPECT_NEAR(row[kF_dns_label_entropy], direct_entropy(reinterpret_cast<const uint8_t*>("nodots"), 6), 1e-5);

  AppMeta t = meta(rules::AppProto::kTls);
  feat_app(ff, true, t);  // ClientHello without SNI
  extract();
  EXPECT_EQ(row[kF_tls_sni_present], 0);
  std::strcpy(t.tls_sni, "www.example.org");
  feat_app(ff, false, t);  // ServerHello side: not a ClientHello
  extract();
  EXPECT_EQ(row[kF_tls_sni_present], 0);
  feat_app(ff, true, t);
  extract();
  EXPECT_EQ(row[kF_tls_sni_present], 1);
}

// -------------------------------------------------------------- HostWindow

using Addr = std::array<uint8_t, 16>;
Addr addr(uint32_t v) {
  Addr a{};
  a[0] = uint8_t(v >> 24);
  a[1] = uint8_t(v >> 16);
  a[2] = uint8_t(v >> 8);
  a[3] = uint8_t(v);
  return a;
}
const double kLcOne = -128.0 * std::log(127.0 / 128.0);  // linear counting: one bit set

TEST(HostWindowFeat, DistinctEstimatesTrackExactCounts) {
  HostWindow hw(65536, 60 * kSec);
  std::mt19937 rng(77);
  uint32_t host = 1;
  for (int n : {1, 2, 3, 5, 10, 20, 40, 80}) {
    double sum_d = 0, sum_p = 0;
    const int hosts = 40;
    for (int h = 0; h < hosts; h++, host++) {
      Addr src = addr(0x0a000000 + host);
      std::set<uint32_t> dsts;
      std::set<uint16_t> ports;
      while (dsts.size() < size_t(n)) dsts.insert(0xc0a80000 + rng() % 60000);
      while (ports.size() < size_t(n)) ports.insert(uint16_t(1 + rng() % 65535));
      auto di = dsts.begin();
      auto pi = ports.begin();
      for (int k = 0; k < n; k++, ++di, ++pi) {
        Addr d = addr(*di);
        // Each pair twice: repeats must not count.
        hw.flow_started(src.data(), d.data(), *pi, kBase + uint64_t(k) * kMs);
        hw.flow_started(src.data(), d.data(), *pi, kBase + uint64_t(k) * kMs + 1);
      }
      HostStats s = hw.stats(src.data(), kBase + 100 * kMs);
      EXPECT_EQ(s.conns, 2 * n);
      if (n == 1) {
        EXPECT_NEAR(s.distinct_dsts, kLcOne, 1e-4);
        EXPECT_NEAR(s.distinct_dports, kLcOne, 1e-4);
      } else {
        // Single estimates: within 35% (+1) of the exact count (128-bit bitmap).
        EXPECT_NEAR(s.distinct_dsts, n, 0.35 * n + 1) << "n=" << n;
        EXPECT_NEAR(s.distinct_dports, n, 0.35 * n + 1) << "n=" << n;
      }
      sum_d += s.distinct_dsts;
      sum_p += s.distinct_dports;
    }
    // On average, linear counting is close to unbiased at these loads.
    EXPECT_NEAR(sum_d / hosts, n, 0.06 * n + 0.05) << "mean distinct dsts, n=" << n;
    EXPECT_NEAR(sum_p / hosts, n, 0.06 * n + 0.05) << "mean distinct ports, n=" << n;
  }
  EXPECT_EQ(hw.evictions(), 0u);
}

TEST(HostWindowFeat, SequentialPortScanEstimate) {
  // A port scan walks consecutive ports: linear counting needs a hash that
  // looks random on such input, or the estimate is biased.
  HostWindow hw(64, 60 * kSec);
  Addr src = addr(0x0a000001), dst = addr(0x0a000002);
  for (int n = 1; n <= 100; n++) {
    hw.flow_started(src.data(), dst.data(), uint16_t(1000 + n), kBase + uint64_t(n) * kMs);
    if (n % 10 == 0) {
      HostStats s = hw.stats(src.data(), kBase + uint64_t(n) * kMs);
      EXPECT_NEAR(s.distinct_dports, n, 0.15 * n) << "after " << n << " consecutive ports";
    }
  }
}

TEST(HostWindowFeat, UnknownHostIsZero) {
  HostWindow hw(16, 60 * kSec);
  Addr a = addr(1);
  HostStats s = hw.stats(a.data(), kBase);
  EXPECT_EQ(s.conns, 0);
  EXPECT_EQ(s.distinct_dsts, 0);
  EXPECT_EQ(s.distinct_dports, 0);
  EXPECT_EQ(s.failed_ratio, 0);
}

TEST(HostWindowFeat, WindowSlides) {
  // 60 s window in 15 s steps: a flow started at s is counted at t when
  // t - s < 45 s, never when t - s >= 60 s; exactly while t and s fall in
  // sub-windows (ts / 15 s) less than 4 apart.
  HostWindow hw(64, 60 * kSec);
  Addr src = addr(0x0a000001), dst = addr(0x0a000002);
  std::mt19937 rng(3);
  std::vector<uint64_t> starts;
  uint64_t t = kBase;
  for (int i = 0; i < 300; i++) {
    t += rng() % (2 * kSec);
    hw.flow_started(src.data(), dst.data(), 80, t);
    starts.push_back(t);
    uint64_t q = t + (rng() % 3 == 0 ? rng() % (70 * kSec) : 0);  // also look ahead
    HostStats s = hw.stats(src.data(), q);
    size_t lo = 0, hi = 0, exact = 0;
    for (uint64_t st : starts) {
      lo += q - st < 45 * kSec;
      hi += q - st < 60 * kSec;
      exact += q / (15 * kSec) - st / (15 * kSec) < 4;
    }
    ASSERT_GE(s.conns, float(lo)) << "i=" << i;
    ASSERT_LE(s.conns, float(hi)) << "i=" << i;
    ASSERT_EQ(s.conns, float(exact)) << "i=" << i;
  }
  // Long after the last flow: nothing left.
  HostStats s = hw.stats(src.data(), t + 60 * kSec);
  EXPECT_EQ(s.conns, 0);
  EXPECT_EQ(s.distinct_dsts, 0);
  EXPECT_EQ(s.distinct_dports, 0);
  // Boundary: started at the start of a sub-window, gone 60 s later, there 59.999 s later.
  HostWindow hw2(64, 60 * kSec);
  uint64_t s0 = (kBase / (15 * kSec) + 1) * 15 * kSec;
  hw2.flow_started(src.data(), dst.data(), 22, s0);
  EXPECT_EQ(hw2.stats(src.data(), s0 + 60 * kSec - 1).conns, 1);
  EXPECT_EQ(hw2.stats(src.data(), s0 + 60 * kSec).conns, 0);
}

TEST(HostWindowFeat, OutcomeRatio) {
  HostWindow hw(64, 60 * kSec);
  Addr src = addr(0x0a000009), dst = addr(0x0a00000a);
  for (int i = 0; i < 10; i++) {
    hw.flow_started(src.data(), dst.data(), uint16_t(1000 + i), kBase + uint64_t(i) * kMs);
    hw.flow_outcome(src.data(), i % 10 < 3, kBase + uint64_t(i) * kMs + 1);
  }
  HostStats s = hw.stats(src.data(), kBase + kSec);
  EXPECT_EQ(s.conns, 10);
  EXPECT_NEAR(s.failed_ratio, 0.3, 1e-6);
  // Flows without an outcome yet do not count in the ratio.
  for (int i = 0; i < 5; i++) hw.flow_started(src.data(), dst.data(), 2000, kBase + 2 * kSec);
  EXPECT_NEAR(hw.stats(src.data(), kBase + 2 * kSec).failed_ratio, 0.3, 1e-6);
  // Outcomes slide out with their sub-window.
  hw.flow_outcome(src.data(), false, kBase + 70 * kSec);
  EXPECT_EQ(hw.stats(src.data(), kBase + 70 * kSec).failed_ratio, 0);
  Addr other = addr(0x0b000001);
  hw.flow_outcome(other.data(), true, kBase);  // outcome for a host never seen starting
  EXPECT_EQ(hw.stats(other.data(), kBase).failed_ratio, 1);
}

TEST(HostWindowFeat, FullSetEvictsLeastRecentAndCounts) {
  HostWindow hw(4, 60 * kSec);  // one set of 4
  EXPECT_EQ(hw.capacity(), 4u);
  Addr dst = addr(0x0a0000fe);
  Addr h[5];
  for (int i = 0; i < 5; i++) h[i] = addr(0x0a000100 + uint32_t(i));
  for (int i = 0; i < 4; i++) hw.flow_started(h[i].data(), dst.data(), 80, kBase + uint64_t(i) * 15 * kSec);
  hw.flow_started(h[0].data(), dst.data(), 81, kBase + 50 * kSec);  // h0 seen again: now h1 is oldest
  EXPECT_EQ(hw.evictions(), 0u);
  hw.flow_started(h[4].data(), dst.data(), 80, kBase + 55 * kSec);
  EXPECT_EQ(hw.evictions(), 1u);
  uint64_t q = kBase + 55 * kSec;
  EXPECT_EQ(hw.stats(h[1].data(), q).conns, 0) << "h1 should have been evicted";
  EXPECT_EQ(hw.stats(h[0].data(), q).conns, 1);  // its first flow's sub-window slid out
  EXPECT_EQ(hw.stats(h[2].data(), q).conns, 1);
  EXPECT_EQ(hw.stats(h[3].data(), q).conns, 1);
  EXPECT_EQ(hw.stats(h[4].data(), q).conns, 1);
  HostWindow big(5, 60 * kSec);  // rounded up to a power of two
  EXPECT_EQ(big.capacity(), 8u);
}

TEST(HostWindowFeat, LateOutcomeKeepsNewerSubWindow) {
  // A flow's outcome may be recorded long after it started: an unanswered
  // flow gets it at its end (worker: ml_flow_end with the flow's last_ts),
  // e.g. when it times out 60 s later (tcp_new default). Recording it must
  // not erase the host's current figures.
  HostWindow hw(64, 60 * kSec);
  Addr src = addr(0x0a000001), d1 = addr(0x0a000002), d2 = addr(0x0a000003);
  uint64_t t1 = (kBase / (15 * kSec)) * 15 * kSec + kSec;  // early in a sub-window
  hw.flow_started(src.data(), d1.data(), 80, t1);           // never answered
  hw.flow_started(src.data(), d2.data(), 443, t1 + 60 * kSec);
  hw.flow_outcome(src.data(), true, t1);                    // the first flow ends (late)
  HostStats s = hw.stats(src.data(), t1 + 60 * kSec);
  EXPECT_EQ(s.conns, 1) << "the flow started at t1+60s is in the window";
  EXPECT_NEAR(s.distinct_dsts, kLcOne, 1e-4);
  EXPECT_NEAR(s.distinct_dports, kLcOne, 1e-4);
}

TEST(MlPoints, MaskAgreesWithThePointList) {
  MlSettings ms;
  for (uint64_t t = 0; t < 40; t++) EXPECT_EQ(ms.maybe_point(t), t == 4 || t == 16) << t;  // the defaults
  const uint32_t p[] = {1, 63, 200};
  ms.set_points(p, 3);
  EXPECT_EQ(ms.last_point, 200);
  for (uint64_t t = 0; t < 300; t++) {
    bool point = t == 1 || t == 63 || t == 200;
    if (point) EXPECT_TRUE(ms.maybe_point(t)) << t;
    if (t < 64 && !point) EXPECT_FALSE(ms.maybe_point(t)) << t;  // past 63 the list decides (ml_points)
    if (t > 200) EXPECT_FALSE(ms.maybe_point(t)) << t;
  }
  const uint32_t one[] = {8};
  ms.set_points(one, 1);
  EXPECT_EQ(ms.points[1], 0);
  EXPECT_EQ(ms.last_point, 8);
  EXPECT_TRUE(ms.maybe_point(8));
  EXPECT_FALSE(ms.maybe_point(4));
}

}  // namespace
}  // namespace spectre
