// MetricsServer: /metrics fetched over HTTP and every line parsed as the
// Prometheus text format by an independent parser (families typed before
// samples, label escapes, cumulative histograms); /health 200/503; 404/405;
// garbage requests do not crash the server; AlertCounters.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ctrlplane/export/metrics_server.h"
#include "ml/json.h"
#include "tests/unit/ctrlplane/test_export_net.h"

using namespace spectre::exporter;
using namespace export_test;

namespace {

const std::string kNasty = "sig \"quoted\" back\\slash\nnewline {}=,";

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value;
};

// Parses the exposition text; adds a test failure for any malformed line.
std::vector<Sample> parse_prom(const std::string& text, std::map<std::string, std::string>* types) {
  static const std::regex help(R"(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$)");
  static const std::regex type(R"(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)");
  static const std::regex name_re(R"(^[a-zA-Z_:][a-zA-Z0-9_:]*)");
  std::vector<Sample> out;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  size_t p = 0;
  while (p < text.size()) {
    size_t e = text.find('\n', p);
    std::string line = text.substr(p, e - p);
    p = e + 1;
    std::smatch m;
    if (line.rfind("#", 0) == 0) {
      if (std::regex_match(line, m, type)) {
        EXPECT_EQ(types->count(m[1]), 0u) << "TYPE twice: " << line;
        (*types)[m[1]] = m[2];
      } else {
        EXPECT_TRUE(std::regex_match(line, m, help)) << line;
      }
      continue;
    }
    Sample s;
    if (!std::regex_search(line, m, name_re)) {
      ADD_FAILURE() << "bad sample line: " << line;
      return out;
    }
    s.name = m[0];
    size_t i = s.name.size();
    if (i < line.size() && line[i] == '{') {
      i++;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        EXPECT_NE(eq, std::string::npos) << line;
        if (eq == std::string::npos) return out;
        std::string k = line.substr(i, eq - i);
        EXPECT_TRUE(std::regex_match(k, std::regex("^[a-zA-Z_][a-zA-Z0-9_]*$"))) << k;
        EXPECT_EQ(line[eq + 1], '"') << line;
        std::string v;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; j++) {
          if (line[j] == '\\') {
            char c = line[++j];
            EXPECT_TRUE(c == '\\' || c == '"' || c == 'n') << line;
            v.push_back(c == 'n' ? '\n' : c);
          } else {
            v.push_back(line[j]);
          }
        }
        EXPECT_LT(j, line.size()) << line;
        s.labels[k] = v;
        i = j + 1;
        if (i < line.size() && line[i] == ',') i++;
      }
      i++;
    }
    EXPECT_EQ(line[i], ' ') << line;
    std::string val = line.substr(i + 1);
    if (val == "+Inf") s.value = INFINITY;
    else if (val == "-Inf") s.value = -INFINITY;
    else if (val == "NaN") s.value = NAN;
    else {
      size_t used = 0;
      s.value = std::stod(val, &used);
      EXPECT_EQ(used, val.size()) << line;
    }
    out.push_back(s);
  }
  return out;
}

std::string family_of(const std::string& n, const std::map<std::string, std::string>& types) {
  if (types.count(n)) return n;
  for (const char* suf : {"_bucket", "_sum", "_count"}) {
    std::string s(suf);
    if (n.size() > s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0) {
      std::string base = n.substr(0, n.size() - s.size());
      if (types.count(base) && types.at(base) == "histogram") return base;
    }
  }
  return "";
}

std::shared_ptr<MetricsSnapshot> snapshot(bool fresh) {
  auto s = std::make_shared<MetricsSnapshot>();
  s->instance = "dp0";
  s->dp_attached = true;
  s->heartbeat_steady_ns = fresh ? steady_now_ns() : steady_now_ns() - 60'000'000'000ull;
  s->model_name = "default";
  s->model_version = "2026.11.1";
  s->ruleset_version = "et-open-1234";
  s->stats.latency_bounds_s = {1e-6, 5e-6, 2.5e-5, 1e-4};
  for (uint32_t w = 0; w < 2; w++) {
    CpWorkerStats x;
    x.worker = w;
    x.packets = 1000 + w;
    x.bytes = 100000 + w;
    x.drops = w;
    x.flows = 50;
    x.alerts = 7;
    x.ring_used = 3;
    x.ring_capacity = 16384;
    x.ring_drops = 9;
    x.latency_counts = {10, 20, 5, 1, 2};  // last: above 100 us
    x.latency_sum_s = 0.000321;
    s->stats.workers.push_back(x);
  }
  AlertCounters c;
  CpAlert a;
  a.sid = 1;
  a.signature = kNasty;
  a.category = "Attempted \"Admin\"";
  c.add(a);
  c.add(a);
  a.sid = 2;
  a.signature = "other sig";
  a.ml = CpMl{"xgb", "1", 0.9, 0.5, "scan\\x", "end", {}};
  c.add(a);
  c.fill(*s);
  s->extra.push_back({"spectre_channel_gaps_total", "Sequence gaps.", "counter", {{"worker", "0"}}, 4});
  s->extra.push_back({"spectre_channel_gaps_total", "Sequence gaps.", "counter", {{"worker", "1"}}, 5});
  s->extra.push_back({"bad name-with.dots", "help with \\ and\nnewline", "gauge", {{"bad-label", "v"}}, 1.5});
  return s;
}

std::string get(uint16_t port, const std::string& path, const std::string& method = "GET") {
  return http_raw(port, method + " " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
}

}  // namespace

TEST(ExportMetrics, MetricsParseAsPrometheusText) {
  MetricsServerOptions o;
  o.port = 0;
  MetricsServer srv(o);
  std::string err;
  ASSERT_TRUE(srv.start(&err)) << err;
  ASSERT_NE(srv.port(), 0);
  srv.publish(snapshot(true));
  std::string resp = get(srv.port(), "/metrics?x=1");
  ASSERT_EQ(http_status(resp), 200) << resp;
  EXPECT_NE(resp.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  std::string body = http_body(resp);
  size_t cl = resp.find("Content-Length: ");
  ASSERT_NE(cl, std::string::npos);
  EXPECT_EQ(std::stoul(resp.substr(cl + 16)), body.size());
  std::map<std::string, std::string> types;
  auto samples = parse_prom(body, &types);
  ASSERT_FALSE(HasFailure()) << body;
  std::map<std::string, double> by_key;  // "name|k=v,..." -> value
  for (const auto& s : samples) {
    EXPECT_NE(family_of(s.name, types), "") << "sample without TYPE: " << s.name;
    std::string k = s.name + "|";
    for (const auto& [lk, lv] : s.labels) k += lk + "=" + lv + ",";
    EXPECT_EQ(by_key.count(k), 0u) << "duplicate series " << k;
    by_key[k] = s.value;
  }
  EXPECT_EQ(types["spectre_worker_packets_total"], "counter");
  EXPECT_EQ(types["spectre_ring_occupancy"], "gauge");
  EXPECT_EQ(types["spectre_model_latency_seconds"], "histogram");
  EXPECT_EQ(by_key["spectre_worker_packets_total|worker=1,"], 1001);
  EXPECT_EQ(by_key["spectre_worker_bytes_total|worker=0,"], 100000);
  EXPECT_EQ(by_key["spectre_ring_drops_total|worker=1,"], 9);
  EXPECT_EQ(by_key["spectre_ring_capacity|worker=0,"], 16384);
  EXPECT_EQ(by_key["spectre_alerts_by_signature_total|gid=1,sid=1,signature=" + kNasty + ","], 2);
  EXPECT_EQ(by_key["spectre_alerts_by_class_total|class=Attempted \"Admin\","], 3);
  EXPECT_EQ(by_key["spectre_ml_alerts_by_class_total|class=scan\\x,model=xgb,"], 1);
  EXPECT_EQ(by_key["spectre_dataplane_up|instance_name=dp0,"], 1);
  EXPECT_EQ(by_key["spectre_model_info|name=default,version=2026.11.1,"], 1);
  EXPECT_EQ(by_key["spectre_channel_gaps_total|worker=1,"], 5);
  EXPECT_EQ(by_key["bad_name_with_dots|bad_label=v,"], 1.5);
  // Histogram: cumulative, non-decreasing, +Inf equals _count.
  for (const char* w : {"0", "1"}) {
    double prev = -1, inf = -1;
    int buckets = 0;
    for (const auto& s : samples) {
      if (s.name != "spectre_model_latency_seconds_bucket" || s.labels.at("worker") != w) continue;
      EXPECT_GE(s.value, prev);
      prev = s.value;
      buckets++;
      if (s.labels.at("le") == "+Inf") inf = s.value;
    }
    EXPECT_EQ(buckets, 5);
    EXPECT_EQ(inf, 38);
    EXPECT_EQ(by_key[std::string("spectre_model_latency_seconds_count|worker=") + w + ","], 38);
    EXPECT_DOUBLE_EQ(by_key[std::string("spectre_model_latency_seconds_sum|worker=") + w + ","], 0.000321);
    EXPECT_EQ(by_key[std::string("spectre_model_latency_seconds_bucket|le=2.5e-05,worker=") + w + ","], 35);
  }
  // Nothing published yet renders a valid (smaller) exposition too.
  MetricsSnapshot empty;
  std::map<std::string, std::string> t2;
  parse_prom(render_prometheus(empty, steady_now_ns()), &t2);
  srv.stop();
}

TEST(ExportMetrics, HealthReflectsHeartbeat) {
  MetricsServerOptions o;
  o.port = 0;
  MetricsServer srv(o);
  ASSERT_TRUE(srv.start(nullptr));
  std::string r = get(srv.port(), "/health");
  EXPECT_EQ(http_status(r), 503);  // nothing published
  srv.publish(snapshot(true));
  r = get(srv.port(), "/health");
  ASSERT_EQ(http_status(r), 200) << r;
  EXPECT_NE(r.find("Content-Type: application/json"), std::string::npos);
  std::string body = http_body(r), err;
  spectre::ml::json::Doc d;
  ASSERT_TRUE(d.parse(body, err)) << err << body;
  EXPECT_EQ(d.str(d.find(0, "status")), "ok");
  uint32_t dp = d.find(0, "dataplane");
  EXPECT_EQ(d.raw(d.find(dp, "alive")), "true");
  double age = -1;
  ASSERT_TRUE(d.to_double(d.find(dp, "heartbeat_age_s"), age));
  EXPECT_GE(age, 0);
  EXPECT_LT(age, 5);
  EXPECT_EQ(d.str(d.find(d.find(0, "model"), "version")), "2026.11.1");
  EXPECT_EQ(d.str(d.find(d.find(0, "ruleset"), "version")), "et-open-1234");

  srv.publish(snapshot(false));  // heartbeat a minute old
  r = get(srv.port(), "/health");
  ASSERT_EQ(http_status(r), 503);
  body = http_body(r);  // the Doc points into it
  ASSERT_TRUE(d.parse(body, err)) << err;
  EXPECT_EQ(d.str(d.find(0, "status")), "unavailable");
  auto s = snapshot(true);
  s->dp_attached = false;
  srv.publish(s);
  EXPECT_EQ(http_status(get(srv.port(), "/health")), 503);
  srv.stop();
}

TEST(ExportMetrics, NotFoundMethodsAndHead) {
  MetricsServerOptions o;
  o.port = 0;
  MetricsServer srv(o);
  ASSERT_TRUE(srv.start(nullptr));
  srv.publish(snapshot(true));
  EXPECT_EQ(http_status(get(srv.port(), "/")), 404);
  EXPECT_EQ(http_status(get(srv.port(), "/metricsx")), 404);
  EXPECT_EQ(http_status(get(srv.port(), "/metrics", "POST")), 405);
  std::string h = get(srv.port(), "/metrics", "HEAD");
  EXPECT_EQ(http_status(h), 200);
  EXPECT_EQ(http_body(h), "");
  srv.stop();
}

TEST(ExportMetrics, GarbageRequestsDoNotCrash) {
  MetricsServerOptions o;
  o.port = 0;
  o.io_timeout_ms = 300;
  MetricsServer srv(o);
  ASSERT_TRUE(srv.start(nullptr));
  srv.publish(snapshot(true));
  std::mt19937 rng(42);
  std::vector<std::string> reqs = {"", "\r\n\r\n", "GET\r\n\r\n", "GET /metrics\r\n\r\n", "GET  HTTP/1.1\r\n\r\n",
                                   "GET /metrics HTTP/2 extra\r\n\r\n", std::string(20000, 'A'),
                                   "GET /metrics HTTP/1.1\r\nHost: " + std::string(10000, 'h'),
                                   std::string("GET /\0metrics HTTP/1.1\r\n\r\n", 26), "GET /health HTTP/1.1"};
  for (int i = 0; i < 30; i++) {
    std::string g(size_t(rng() % 3000), '\0');
    for (char& c : g) c = char(rng());
    reqs.push_back(g);
  }
  for (const auto& r : reqs) {
    std::string resp = http_raw(srv.port(), r, 2000);
    int st = http_status(resp);
    EXPECT_TRUE(resp.empty() || st == 400 || st == 404 || st == 405 || st == 200) << st;
  }
  EXPECT_EQ(http_status(http_raw(srv.port(), "GET /metrics\r\n\r\n")), 400);
  EXPECT_GT(srv.bad_requests(), 20u);
  // Parallel clients, one of them stalling: everyone is answered.
  int stall = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(srv.port());
  ASSERT_EQ(::connect(stall, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::vector<std::thread> th;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; i++)
    th.emplace_back([&] { ok += http_status(get(srv.port(), "/metrics")) == 200; });
  for (auto& t : th) t.join();
  ::close(stall);
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(http_status(get(srv.port(), "/health")), 200);
  srv.stop();
}

TEST(ExportMetrics, BadListenAddressAndPortInUse) {
  MetricsServerOptions o;
  o.address = "not-an-ip";
  MetricsServer a(o);
  std::string err;
  EXPECT_FALSE(a.start(&err));
  EXPECT_NE(err.find("not-an-ip"), std::string::npos);
  MetricsServerOptions p;
  p.port = 0;
  MetricsServer b(p);
  ASSERT_TRUE(b.start(nullptr));
  p.port = b.port();
  MetricsServer c(p);
  EXPECT_FALSE(c.start(&err));
  EXPECT_NE(err.find("cannot listen"), std::string::npos);
  MetricsServerOptions v6;
  v6.address = "::1";
  v6.port = 0;
  MetricsServer d(v6);
  if (d.start(&err)) d.stop();  // IPv6 loopback may be absent in a container
}

TEST(ExportMetrics, AlertCountersCapCardinality) {
  AlertCounters c(3);
  for (uint32_t i = 0; i < 10; i++) {
    CpAlert a;
    a.sid = i;
    a.signature = std::string("s").append(std::to_string(i));  // (GCC 12 -Wrestrict false positive with "s" + ...)
    a.category = std::string("c").append(std::to_string(i));
    c.add(a);
  }
  MetricsSnapshot s;
  c.fill(s);
  EXPECT_EQ(s.alerts_by_signature.size(), 4u);  // 3 + "other"
  uint64_t total = 0, other = 0;
  for (const auto& x : s.alerts_by_signature) {
    total += x.count;
    if (x.signature == "other") other = x.count;
  }
  EXPECT_EQ(total, 10u);
  EXPECT_EQ(other, 7u);
  EXPECT_EQ(s.alerts_by_class.size(), 4u);
}
