// Prometheus rendering, /health and the tiny HTTP server.
#include "ctrlplane/export/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

#include "dataplane/core/counter_table.h"

namespace spectre::exporter {

uint64_t steady_now_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

void AlertCounters::add(const CpAlert& a) {
  auto key = std::make_tuple(a.gid, a.sid, a.signature);
  auto it = sig_.find(key);
  if (it != sig_.end()) it->second++;
  else if (sig_.size() < max_series_) sig_.emplace(key, 1);
  else sig_[std::make_tuple(0u, 0u, std::string("other"))]++;
  auto c = cls_.find(a.category);
  if (c != cls_.end()) c->second++;
  else cls_[cls_.size() < max_series_ ? a.category : std::string("other")]++;
  if (a.ml) {
    auto mk = std::make_pair(a.ml->model, a.ml->cls);
    auto m = ml_.find(mk);
    if (m != ml_.end()) m->second++;
    else ml_[ml_.size() < max_series_ ? mk : std::make_pair(std::string("other"), std::string("other"))]++;
  }
}

void AlertCounters::fill(MetricsSnapshot& s) const {
  s.alerts_by_signature.clear();
  for (const auto& [k, n] : sig_) s.alerts_by_signature.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), n});
  s.alerts_by_class.clear();
  for (const auto& [k, n] : cls_) s.alerts_by_class.push_back({k, n});
  s.ml_alerts_by_class.clear();
  for (const auto& [k, n] : ml_) s.ml_alerts_by_class.push_back({k.first, k.second, n});
}

void prom_escape_label(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out.push_back(c);
  }
}

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Metric and label names must match [a-zA-Z_:][a-zA-Z0-9_:]* (labels: no ':').
std::string sanitize_name(std::string_view n, bool label) {
  std::string s;
  for (size_t i = 0; i < n.size(); i++) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':') ||
              (i > 0 && c >= '0' && c <= '9');
    s.push_back(ok ? c : '_');
  }
  if (s.empty()) s = "_";
  return s;
}

void put_double(std::string& out, double v) {
  if (std::isnan(v)) out += "NaN";
  else if (std::isinf(v)) out += v > 0 ? "+Inf" : "-Inf";
  else fmt::format_to(std::back_inserter(out), "{}", v);
}

struct Writer {
  std::string out;
  void family(std::string_view name, std::string_view help, std::string_view type) {
    out += "# HELP ";
    out += name;
    out.push_back(' ');
    for (char c : help) {  // HELP escaping: '\' and newline
      if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else out.push_back(c);
    }
    out += "\n# TYPE ";
    out += name;
    out.push_back(' ');
    out += type;
    out.push_back('\n');
  }
  void sample(std::string_view name, const Labels& labels, double v) {
    out += name;
    if (!labels.empty()) {
      out.push_back('{');
      for (size_t i = 0; i < labels.size(); i++) {
        if (i) out.push_back(',');
        out += labels[i].first;
        out += "=\"";
        prom_escape_label(out, labels[i].second);
        out.push_back('"');
      }
      out.push_back('}');
    }
    out.push_back(' ');
    put_double(out, v);
    out.push_back('\n');
  }
};

std::string u(uint64_t v) { return std::to_string(v); }

double heartbeat_age_s(const MetricsSnapshot& s, uint64_t now) {
  if (!s.heartbeat_steady_ns) return INFINITY;
  return now > s.heartbeat_steady_ns ? double(now - s.heartbeat_steady_ns) / 1e9 : 0.0;
}

bool alive(const MetricsSnapshot& s, uint64_t now) {
  return s.dp_attached && heartbeat_age_s(s, now) <= s.heartbeat_max_age_s;
}

// Every counter of the data plane's lists (dataplane/core/counter_table.h),
// named by prom_name(): per worker with a worker label, then the main thread's.
void write_listed_counters(Writer& w, const CpStats& st) {
  bool any = false;
  for (const CpWorkerStats& x : st.workers) any |= x.counters.size() == kWorkerCounterCount;
  for (size_t i = 0; any && i < kWorkerCounterCount; i++) {
    std::string name = prom_name(kWorkerCounters[i]);
    w.family(name, kWorkerCounters[i].help, prom_type(kWorkerCounters[i]));
    for (const CpWorkerStats& x : st.workers)
      if (x.counters.size() == kWorkerCounterCount) w.sample(name, {{"worker", u(x.worker)}}, double(x.counters[i]));
  }
  if (st.io_counters.size() != kIoCounterCount) return;
  for (size_t i = 0; i < kIoCounterCount; i++) {
    std::string name = prom_name(kIoCounters[i]);
    w.family(name, kIoCounters[i].help, prom_type(kIoCounters[i]));
    w.sample(name, {}, double(st.io_counters[i]));
  }
}

}  // namespace

std::string render_prometheus(const MetricsSnapshot& s, uint64_t now) {
  Writer w;
  const auto& ws = s.stats.workers;
  struct Counter { const char* name; const char* help; uint64_t CpWorkerStats::*f; const char* type; };
  static const Counter kCounters[] = {
      {"spectre_worker_packets_total", "Packets received by the worker.", &CpWorkerStats::packets, "counter"},
      {"spectre_worker_bytes_total", "Bytes received by the worker (whole frames).", &CpWorkerStats::bytes, "counter"},
      {"spectre_worker_drops_total", "Packets dropped by the worker or its NIC queue.", &CpWorkerStats::drops,
       "counter"},
      {"spectre_worker_flows_total", "Flows created by the worker.", &CpWorkerStats::flows, "counter"},
      {"spectre_worker_alerts_total", "Alerts raised by the worker.", &CpWorkerStats::alerts, "counter"},
      {"spectre_ring_occupancy", "Events waiting in the worker's ring to the control plane.",
       &CpWorkerStats::ring_used, "gauge"},
      {"spectre_ring_capacity", "Capacity of the worker's event ring.", &CpWorkerStats::ring_capacity, "gauge"},
      {"spectre_ring_drops_total", "Events dropped because the worker's ring was full.", &CpWorkerStats::ring_drops,
       "counter"},
  };
  for (const Counter& c : kCounters) {
    if (ws.empty()) continue;
    w.family(c.name, c.help, c.type);
    for (const CpWorkerStats& x : ws) w.sample(c.name, {{"worker", u(x.worker)}}, double(x.*c.f));
  }
  write_listed_counters(w, s.stats);
  if (!s.alerts_by_signature.empty()) {
    w.family("spectre_alerts_by_signature_total", "Alerts by signature.", "counter");
    for (const auto& a : s.alerts_by_signature)
      w.sample("spectre_alerts_by_signature_total",
               {{"gid", u(a.gid)}, {"sid", u(a.sid)}, {"signature", a.signature}}, double(a.count));
  }
  if (!s.alerts_by_class.empty()) {
    w.family("spectre_alerts_by_class_total", "Alerts by class (rule classtype / category).", "counter");
    for (const auto& a : s.alerts_by_class) w.sample("spectre_alerts_by_class_total", {{"class", a.cls}}, double(a.count));
  }
  if (!s.ml_alerts_by_class.empty()) {
    w.family("spectre_ml_alerts_by_class_total", "ML alerts by model and predicted class.", "counter");
    for (const auto& a : s.ml_alerts_by_class)
      w.sample("spectre_ml_alerts_by_class_total", {{"model", a.model}, {"class", a.cls}}, double(a.count));
  }
  // Histogram: cumulative buckets, +Inf equal to _count.
  const auto& bounds = s.stats.latency_bounds_s;
  bool hist = false;
  for (const CpWorkerStats& x : ws) hist |= !x.latency_counts.empty();
  if (hist) {
    const char* h = "spectre_model_latency_seconds";
    w.family(h, "ML model scoring latency per call.", "histogram");
    for (const CpWorkerStats& x : ws) {
      if (x.latency_counts.empty()) continue;
      uint64_t cum = 0;
      std::string wk = u(x.worker);
      for (size_t i = 0; i < bounds.size(); i++) {
        if (i < x.latency_counts.size()) cum += x.latency_counts[i];
        std::string le;
        put_double(le, bounds[i]);
        w.sample("spectre_model_latency_seconds_bucket", {{"worker", wk}, {"le", le}}, double(cum));
      }
      for (size_t i = bounds.size(); i < x.latency_counts.size(); i++) cum += x.latency_counts[i];
      w.sample("spectre_model_latency_seconds_bucket", {{"worker", wk}, {"le", "+Inf"}}, double(cum));
      w.sample("spectre_model_latency_seconds_sum", {{"worker", wk}}, x.latency_sum_s);
      w.sample("spectre_model_latency_seconds_count", {{"worker", wk}}, double(cum));
    }
  }
  w.family("spectre_dataplane_up", "1 when the data plane is attached and its heartbeat is fresh.", "gauge");
  w.sample("spectre_dataplane_up", {{"instance_name", s.instance}}, alive(s, now) ? 1 : 0);
  double age = heartbeat_age_s(s, now);
  if (std::isfinite(age)) {
    w.family("spectre_dataplane_heartbeat_age_seconds", "Seconds since the last data-plane heartbeat.", "gauge");
    w.sample("spectre_dataplane_heartbeat_age_seconds", {}, age);
  }
  w.family("spectre_model_info", "The active model (value 1).", "gauge");
  w.sample("spectre_model_info", {{"name", s.model_name}, {"version", s.model_version}}, 1);
  w.family("spectre_ruleset_info", "The active ruleset (value 1).", "gauge");
  w.sample("spectre_ruleset_info", {{"version", s.ruleset_version}}, 1);
  // Extra metrics: one family per distinct name, in first-seen order.
  std::vector<std::string> done;
  for (size_t i = 0; i < s.extra.size(); i++) {
    std::string name = sanitize_name(s.extra[i].name, false);
    bool seen = false;
    for (const auto& d : done) seen |= d == name;
    if (seen) continue;
    done.push_back(name);
    w.family(name, s.extra[i].help, s.extra[i].type == "counter" ? "counter" : "gauge");
    for (size_t j = i; j < s.extra.size(); j++) {
      if (sanitize_name(s.extra[j].name, false) != name) continue;
      Labels l;
      for (const auto& [k, v] : s.extra[j].labels) l.emplace_back(sanitize_name(k, true), v);
      w.sample(name, l, s.extra[j].value);
    }
  }
  return std::move(w.out);
}

std::string render_health(const MetricsSnapshot* s, uint64_t now, int* http_status) {
  std::string o;
  if (!s) {
    *http_status = 503;
    return "{\"status\":\"unavailable\",\"dataplane\":{\"attached\":false,\"alive\":false}}\n";
  }
  bool ok = alive(*s, now);
  *http_status = ok ? 200 : 503;
  auto str = [&](std::string_view v) {
    o.push_back('"');
    put_json_str(o, v);
    o.push_back('"');
  };
  o += ok ? "{\"status\":\"ok\"" : "{\"status\":\"unavailable\"";
  o += ",\"dataplane\":{\"instance\":";
  str(s->instance);
  o += s->dp_attached ? ",\"attached\":true" : ",\"attached\":false";
  o += ok ? ",\"alive\":true" : ",\"alive\":false";
  o += ",\"heartbeat_age_s\":";
  put_json_double(o, heartbeat_age_s(*s, now));
  o += ",\"workers\":" + u(s->stats.workers.size());
  o += "},\"model\":{\"name\":";
  str(s->model_name);
  o += ",\"version\":";
  str(s->model_version);
  o += "},\"ruleset\":{\"version\":";
  str(s->ruleset_version);
  o += "}}\n";
  return o;
}

MetricsServer::MetricsServer(MetricsServerOptions opts) : opts_(std::move(opts)) {}

MetricsServer::~MetricsServer() { stop(); }

bool MetricsServer::start(std::string* err) {
  if (listen_fd_ >= 0) return true;
  sockaddr_storage ss{};
  socklen_t len = 0;
  int fam = AF_INET;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, opts_.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(opts_.port);
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, opts_.address.c_str(), &v6->sin6_addr) == 1) {
    fam = AF_INET6;
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(opts_.port);
    len = sizeof *v6;
  } else {
    if (err) *err = "metrics: bad listen address '" + opts_.address + "' (an IPv4 or IPv6 literal)";
    return false;
  }
  int fd = ::socket(fam, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 16) != 0) {
    if (err) *err = fmt::format("metrics: cannot listen on {}:{}: {}", opts_.address, opts_.port, std::strerror(errno));
    if (fd >= 0) ::close(fd);
    return false;
  }
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  port_ = ntohs(fam == AF_INET ? v4->sin_port : v6->sin6_port);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  listen_fd_ = fd;
  thread_ = std::thread([this] { run(); });
  return true;
}

void MetricsServer::stop() {
  if (listen_fd_ < 0) return;
  uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) {}
  thread_.join();
  ::close(listen_fd_);
  ::close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

void MetricsServer::publish(std::shared_ptr<const MetricsSnapshot> s) {
  std::lock_guard<std::mutex> g(mu_);
  snap_ = std::move(s);
}

void MetricsServer::set_extra_text(std::function<std::string()> f) {
  std::lock_guard g(mu_);
  extra_text_ = std::move(f);
}

std::shared_ptr<const MetricsSnapshot> MetricsServer::current() const {
  std::lock_guard<std::mutex> g(mu_);
  return snap_;
}

void MetricsServer::run() {
  for (;;) {
    pollfd p[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    if (!(p[0].revents & POLLIN)) continue;
    int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    handle(c);
    ::close(c);
  }
}

namespace {
void send_all(int fd, const std::string& s) {
  const char* p = s.data();
  size_t n = s.size();
  while (n > 0) {
    ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= size_t(w);
  }
}

void respond(int fd, int code, std::string_view ctype, const std::string& body, bool head) {
  const char* reason = code == 200 ? "OK" : code == 400 ? "Bad Request" : code == 404 ? "Not Found"
                     : code == 405 ? "Method Not Allowed" : code == 503 ? "Service Unavailable" : "Error";
  std::string r = fmt::format("HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
                              code, reason, ctype, body.size());
  if (code == 405) r += "Allow: GET, HEAD\r\n";
  r += "\r\n";
  if (!head) r += body;
  send_all(fd, r);
}
}  // namespace

void MetricsServer::handle(int fd) {
  timeval tv{long(opts_.io_timeout_ms / 1000), long(opts_.io_timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string req;
  char buf[2048];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.io_timeout_ms);
  while (req.find("\r\n\r\n") == std::string::npos && req.find("\n\n") == std::string::npos) {
    if (req.size() >= opts_.max_request || std::chrono::steady_clock::now() > deadline) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    req.append(buf, size_t(n));
  }
  requests_.fetch_add(1);
  // Request line: METHOD SP TARGET SP HTTP/1.x
  size_t eol = req.find('\n');
  std::string_view line(req.data(), eol == std::string::npos ? 0 : eol);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t s1 = line.find(' '), s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
  if (eol == std::string::npos || s1 == std::string_view::npos || s2 == std::string_view::npos ||
      line.substr(s2 + 1).rfind("HTTP/1.", 0) != 0 || line.find(' ', s2 + 1) != std::string_view::npos) {
    bad_requests_.fetch_add(1);
    return respond(fd, 400, "text/plain", "bad request\n", false);
  }
  std::string_view method = line.substr(0, s1), target = line.substr(s1 + 1, s2 - s1 - 1);
  if (size_t q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  bool head = method == "HEAD";
  if (method != "GET" && !head) return respond(fd, 405, "text/plain", "method not allowed\n", false);
  auto snap = current();
  uint64_t now = steady_now_ns();
  if (target == "/metrics") {
    MetricsSnapshot empty;
    std::string body = render_prometheus(snap ? *snap : empty, now);
    std::function<std::string()> extra;
    {
      std::lock_guard g(mu_);
      extra = extra_text_;
    }
    if (extra) body += extra();
    return respond(fd, 200, "text/plain; version=0.0.4; charset=utf-8", body, head);
  }
  if (target == "/health") {
    int code = 503;
    std::string body = render_health(snap.get(), now, &code);
    return respond(fd, code, "application/json", body, head);
  }
  respond(fd, 404, "text/plain", "not found\n", head);
}

}  // namespace spectre::exporter
