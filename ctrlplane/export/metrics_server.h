// Prometheus /metrics and /health over a tiny HTTP/1.1 server (own socket
// code, one thread, one connection at a time with an I/O timeout: this is a
// scrape endpoint, not a web server). The daemon builds a MetricsSnapshot and
// publish()es it (a shared_ptr swap under a mutex); requests render the
// latest one. Answers: GET/HEAD /metrics (text format 0.0.4), /health (JSON;
// 200 when the data plane's heartbeat is fresh, 503 otherwise), 404 for other
// paths, 405 for other methods, 400 for malformed requests. Connection: close.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "ctrlplane/export/event.h"

namespace spectre::exporter {

struct SignatureCount {
  uint32_t gid = 0, sid = 0;
  std::string signature;
  uint64_t count = 0;
};
struct ClassCount {
  std::string cls;  // the alert's category (classtype)
  uint64_t count = 0;
};
struct MlClassCount {
  std::string model, cls;
  uint64_t count = 0;
};
// Anything else the daemon wants to export (channel gaps, sink counters...).
struct ExtraMetric {
  std::string name, help;
  std::string type = "gauge";  // "counter" or "gauge"
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct MetricsSnapshot {
  CpStats stats;  // per-worker counters and latency histograms
  std::vector<SignatureCount> alerts_by_signature;
  std::vector<ClassCount> alerts_by_class;
  std::vector<MlClassCount> ml_alerts_by_class;
  std::string instance;           // data-plane instance name
  bool dp_attached = false;
  uint64_t heartbeat_steady_ns = 0;  // steady_clock time of the last heartbeat; 0 = none yet
  double heartbeat_max_age_s = 5;    // older -> not alive -> /health 503
  std::string model_name, model_version, ruleset_version;
  std::vector<ExtraMetric> extra;
};

// Counts alerts by signature, class and ML class for the snapshot. The number
// of distinct label sets is capped (Prometheus cardinality): past the cap new
// signatures count under gid 0 sid 0 signature "other".
class AlertCounters {
 public:
  explicit AlertCounters(size_t max_series = 5000) : max_series_(max_series) {}
  void add(const CpAlert& a);
  void fill(MetricsSnapshot& s) const;  // replaces the three alert vectors

 private:
  size_t max_series_;
  std::map<std::tuple<uint32_t, uint32_t, std::string>, uint64_t> sig_;
  std::map<std::string, uint64_t> cls_;
  std::map<std::pair<std::string, std::string>, uint64_t> ml_;
};

uint64_t steady_now_ns();
// Prometheus text exposition of a snapshot (now: steady clock, for the heartbeat age).
std::string render_prometheus(const MetricsSnapshot& s, uint64_t now_steady_ns);
// /health body; *http_status 200 (alive) or 503. s may be null (nothing published yet).
std::string render_health(const MetricsSnapshot* s, uint64_t now_steady_ns, int* http_status);
// Label value escaping: '\' -> \\, '"' -> \", newline -> \n.
void prom_escape_label(std::string& out, std::string_view v);

struct MetricsServerOptions {
  std::string address = "127.0.0.1";  // IPv4 or IPv6 literal
  uint16_t port = 9464;                // 0 = any free port (see port())
  uint32_t io_timeout_ms = 2000;
  size_t max_request = 8192;           // request head cap (bytes)
};

class MetricsServer {
 public:
  explicit MetricsServer(MetricsServerOptions opts);
  ~MetricsServer();  // stop()
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  bool start(std::string* err);
  void stop();
  uint16_t port() const { return port_; }  // the bound port
  void publish(std::shared_ptr<const MetricsSnapshot> s);
  std::shared_ptr<const MetricsSnapshot> current() const;
  // Text appended to every /metrics answer (families the snapshot does not
  // carry: drift, stream hub, store), rendered on the server's thread at each
  // scrape; f must be thread-safe. Any thread (under the snapshot's mutex).
  void set_extra_text(std::function<std::string()> f);
  uint64_t requests() const { return requests_.load(); }
  uint64_t bad_requests() const { return bad_requests_.load(); }

 private:
  void run();
  void handle(int fd);

  MetricsServerOptions opts_;
  mutable std::mutex mu_;
  std::shared_ptr<const MetricsSnapshot> snap_;
  std::function<std::string()> extra_text_;
  int listen_fd_ = -1, wake_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<uint64_t> requests_{0}, bad_requests_{0};
};

}  // namespace spectre::exporter
