// Syslog sender thread: RFC 5424 over UDP, TCP or a unix socket.
#include "ctrlplane/export/syslog_sink.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <chrono>
#include <cstring>

#include "ctrlplane/export/siem_format.h"

namespace spectre::exporter {

SyslogSink::SyslogSink(SyslogOptions opts) : opts_(std::move(opts)) {
  if (opts_.queue_max == 0) opts_.queue_max = 1;
  retry_max_ms_ = opts_.reconnect_max_ms;
  drain_ms_ = opts_.drain_ms;
  host_ = opts_.hostname;
  if (host_.empty()) {
    char h[256] = {0};
    if (gethostname(h, sizeof h - 1) == 0) host_ = h;
  }
  procid_ = std::to_string(getpid());
}

SyslogSink::~SyslogSink() { stop(); }

bool parse_syslog_target(const std::string& t, SyslogOptions& o, std::string& err) {
  if (t.empty()) {
    o.enabled = false;
    return true;
  }
  if (t.rfind("udp://", 0) == 0 || t.rfind("tcp://", 0) == 0) {
    std::string hp = t.substr(6);
    size_t c = hp.rfind(':');
    if (c == std::string::npos || c == 0) { err = "expected HOST:PORT after " + t.substr(0, 6); return false; }
    std::string host = hp.substr(0, c), port = hp.substr(c + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty() || host.size() > 253 || host.find_first_of(" \t\r\n/[]@") != std::string::npos) {
      err = "bad host '" + host + "'";
      return false;
    }
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535) {
      err = "bad port '" + port + "': expected 1..65535";
      return false;
    }
    o.transport = t[0] == 'u' ? SyslogTransport::kUdp : SyslogTransport::kTcp;
    o.host = host;
    o.port = uint16_t(std::stoul(port));
  } else if (t.rfind("unix:", 0) == 0) {
    std::string path = t.substr(t.rfind("unix://", 0) == 0 ? 7 : 5);
    if (path.empty() || path.size() >= sizeof(sockaddr_un::sun_path)) { err = "unix:PATH needs a path (under 108 bytes)"; return false; }
    o.transport = SyslogTransport::kUnix;
    o.unix_path = path;
  } else {
    err = "expected udp://HOST:PORT, tcp://HOST:PORT or unix:PATH, got '" + t + "'";
    return false;
  }
  o.enabled = true;
  return true;
}

bool parse_syslog_format(const std::string& s, SyslogFormat& f) {
  if (s == "json") f = SyslogFormat::kJson;
  else if (s == "cef") f = SyslogFormat::kCef;
  else if (s == "leef") f = SyslogFormat::kLeef;
  else return false;
  return true;
}

namespace {
const char* const kLevelNames[] = {"info", "low", "medium", "high", "critical"};
}

int syslog_level_rank(std::string_view l) {
  for (int i = 0; i < 5; i++)
    if (l == kLevelNames[i]) return i;
  return -1;
}

void syslog_settings(SyslogSink& s, std::string& target, std::string& format, std::string& min_level) {
  SyslogOptions o = s.options();
  if (!o.enabled) {
    target.clear();
  } else if (o.transport == SyslogTransport::kUnix) {
    target = "unix:" + o.unix_path;
  } else {
    bool v6 = o.host.find(':') != std::string::npos;
    target = std::string(o.transport == SyslogTransport::kTcp ? "tcp://" : "udp://") + (v6 ? "[" : "") + o.host +
             (v6 ? "]" : "") + ":" + std::to_string(o.port);
  }
  format = o.format == SyslogFormat::kCef ? "cef" : o.format == SyslogFormat::kLeef ? "leef" : "json";
  min_level = kLevelNames[o.min_level >= 0 && o.min_level < 5 ? o.min_level : 0];
}

int alert_level_rank(uint32_t p) { return p == 1 ? 3 : p == 2 ? 2 : p == 3 ? 1 : 0; }

bool configure_syslog(SyslogSink& s, const std::string& target, const std::string& format,
                      const std::string& min_level, std::string& err) {
  SyslogOptions o = s.options();
  if (!parse_syslog_target(target, o, err)) { err = "target: " + err; return false; }
  if (!parse_syslog_format(format, o.format)) { err = "format: expected json, cef or leef"; return false; }
  if ((o.min_level = syslog_level_rank(min_level)) < 0) {
    err = "min_level: expected info, low, medium, high or critical";
    return false;
  }
  if (!s.reconfigure(o, &err)) { err = "target: " + err; return false; }
  return true;
}

bool SyslogSink::resolve(const SyslogOptions& o, Dest& d, std::string* err) {
  d.transport = o.transport;
  if (o.transport == SyslogTransport::kUnix) {
    sockaddr_un un{};
    if (o.unix_path.empty() || o.unix_path.size() >= sizeof un.sun_path) {
      if (err) *err = "syslog: bad unix socket path '" + o.unix_path + "'";
      return false;
    }
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, o.unix_path.data(), o.unix_path.size());
    std::memcpy(&d.addr, &un, sizeof un);
    d.len = socklen_t(sizeof un);
    d.family = AF_UNIX;
    return true;
  }
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = o.transport == SyslogTransport::kTcp ? SOCK_STREAM : SOCK_DGRAM;
  std::string port = std::to_string(o.port);
  int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || !res) {
    if (err) *err = "syslog: cannot resolve '" + o.host + "': " + gai_strerror(rc);
    return false;
  }
  std::memcpy(&d.addr, res->ai_addr, res->ai_addrlen);
  d.len = res->ai_addrlen;
  d.family = res->ai_family;
  freeaddrinfo(res);
  return true;
}

bool SyslogSink::start(std::string* err) {
  std::lock_guard<std::mutex> c(cfg_mu_);
  if (!opts_.enabled) return true;
  Dest d;
  if (!resolve(opts_, d, err)) return false;
  std::lock_guard<std::mutex> g(mu_);
  if (running_) return true;
  dests_[gen_] = d;
  cur_ = d;
  cur_gen_ = gen_;
  launch_locked([this] { run(); });
  return true;
}

bool SyslogSink::reconfigure(const SyslogOptions& next, std::string* err) {
  Dest d;
  if (next.enabled && !resolve(next, d, err)) return false;  // before any lock: a slow resolver stalls no sender
  std::lock_guard<std::mutex> c(cfg_mu_);
  if (shut_) {
    if (err) *err = "syslog: the exporter is stopping";
    return false;
  }
  opts_.transport = next.transport;
  opts_.host = next.host;
  opts_.port = next.port;
  opts_.unix_path = next.unix_path;
  opts_.format = next.format;
  opts_.min_level = next.min_level;
  opts_.enabled = next.enabled;
  reconfigured_.fetch_add(1);
  if (!next.enabled) return true;  // nothing is built from now on; what is queued still goes out
  gen_++;
  std::lock_guard<std::mutex> g(mu_);
  dests_[gen_] = d;
  if (!running_) {  // started off (or never started): the sender begins with this target
    cur_ = d;
    cur_gen_ = gen_;
    launch_locked([this] { run(); });
  }
  return true;
}

SyslogOptions SyslogSink::options() {
  std::lock_guard<std::mutex> c(cfg_mu_);
  return opts_;
}

bool SyslogSink::live_locked(int level_rank) {
  if (!opts_.enabled) return false;
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!running_ || stop_) return false;
  }
  if (level_rank < opts_.min_level) {
    filtered_.fetch_add(1);
    return false;
  }
  return true;
}

std::string SyslogSink::begin_locked(uint64_t ts_ns, int severity, std::string_view msgid) {
  std::string m(sizeof gen_, '\0');
  std::memcpy(m.data(), &gen_, sizeof gen_);
  format_rfc5424_header(m, opts_.facility, severity, ts_ns, host_, opts_.app_name, procid_, msgid);
  return m;
}

void SyslogSink::build_into(std::string& m, const CpAlert& a) {
  switch (opts_.format) {
    case SyslogFormat::kCef: format_cef(m, a, opts_.version); break;
    case SyslogFormat::kLeef: format_leef(m, a, opts_.version); break;
    case SyslogFormat::kJson:
      format_eve(m, a);
      m.pop_back();  // the line's '\n'
      break;
  }
}

std::string SyslogSink::build(const CpAlert& a) {
  std::lock_guard<std::mutex> c(cfg_mu_);
  std::string m = begin_locked(a.ts_ns, syslog_severity(a.severity), "alert");
  build_into(m, a);
  return m.substr(sizeof gen_);
}

bool SyslogSink::send(const CpAlert& a) {
  std::lock_guard<std::mutex> c(cfg_mu_);
  if (!live_locked(alert_level_rank(a.severity))) return false;
  std::string m = begin_locked(a.ts_ns, syslog_severity(a.severity), "alert");
  build_into(m, a);
  return enqueue_locked(std::move(m));
}

bool SyslogSink::wants_flows() {
  std::lock_guard<std::mutex> c(cfg_mu_);
  return opts_.enabled && opts_.format == SyslogFormat::kJson;
}

bool SyslogSink::send(const CpFlow& f) {
  std::lock_guard<std::mutex> c(cfg_mu_);
  if (opts_.format != SyslogFormat::kJson) {
    skipped_.fetch_add(1);
    return false;
  }
  if (!live_locked(0)) return false;  // flows have no level: sent at any min_level
  std::string m = begin_locked(f.end_ns, 6, "flow");
  format_eve(m, f);
  m.pop_back();
  return enqueue_locked(std::move(m));
}

bool SyslogSink::send_line(std::string_view line, uint64_t ts_ns, int severity, std::string_view msgid) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  std::lock_guard<std::mutex> c(cfg_mu_);
  if (!live_locked(4)) return false;
  std::string m = begin_locked(ts_ns, severity, msgid);
  m += line;
  return enqueue_locked(std::move(m));
}

bool SyslogSink::enqueue_locked(std::string msg) {
  if (msg.size() > opts_.max_message + sizeof gen_) {
    msg.resize(opts_.max_message + sizeof gen_);
    truncated_.fetch_add(1);
  }
  return enqueue_bounded(std::move(msg), opts_.queue_max);
}

void SyslogSink::close_sock() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool SyslogSink::connect_sock() {
  bool stream = cur_.transport == SyslogTransport::kTcp;
  int type = stream ? SOCK_STREAM : SOCK_DGRAM;
  for (int attempt = 0; attempt < 2; attempt++) {
    fd_ = ::socket(cur_.family, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return false;
    int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&cur_.addr), cur_.len);
    if (rc != 0 && errno == EINPROGRESS) {  // TCP: wait up to 2 s
      pollfd p{fd_, POLLOUT, 0};
      int soerr = 0;
      socklen_t sl = sizeof soerr;
      if (::poll(&p, 1, 2000) == 1 && getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) rc = 0;
    }
    if (rc == 0) {
      // Blocking sends with a timeout, so a stalled peer cannot hang us forever.
      int fl = fcntl(fd_, F_GETFL);
      fcntl(fd_, F_SETFL, fl & ~O_NONBLOCK);
      timeval tv{5, 0};
      setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      unix_stream_ = cur_.family == AF_UNIX && type == SOCK_STREAM;
      if (type == SOCK_STREAM) reconnects_.fetch_add(1);
      return true;
    }
    int e = errno;
    close_sock();
    // A unix stream socket (e.g. some syslog daemons) refuses datagrams.
    if (cur_.family == AF_UNIX && type == SOCK_DGRAM && e == EPROTOTYPE) {
      type = SOCK_STREAM;
      continue;
    }
    return false;
  }
  return false;
}

// msg: the 4-byte generation, then the RFC 5424 message.
bool SyslogSink::send_one(const std::string& msg) {
  bool tcp = cur_.transport == SyslogTransport::kTcp;
  if (fd_ >= 0 && (tcp || unix_stream_)) {
    // A peer that closed shows as readable with 0 bytes: reconnect first.
    char b;
    ssize_t r = ::recv(fd_, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) close_sock();
  }
  if (fd_ < 0 && !connect_sock()) {
    send_errors_.fetch_add(1);
    return false;
  }
  std::string_view body(msg);
  body.remove_prefix(std::min(body.size(), sizeof gen_));
  std::string framed;
  if (tcp) {
    frame_octet_counting(framed, body);
    body = framed;
  } else if (unix_stream_) {
    framed.append(body).push_back('\n');
    body = framed;
  }
  const char* p = body.data();
  size_t n = body.size();
  while (n > 0) {
    ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      send_errors_.fetch_add(1);
      close_sock();
      return false;
    }
    if (!tcp && !unix_stream_) break;  // datagram: all or nothing
    p += w;
    n -= size_t(w);
  }
  sent_.fetch_add(1);
  return true;
}

// mu_ held. Generations only grow along the queue: older targets are forgotten.
void SyslogSink::adopt(uint32_t gen) {
  auto it = dests_.find(gen);
  if (it == dests_.end()) return;
  cur_ = it->second;
  cur_gen_ = gen;
  dests_.erase(dests_.begin(), it);
  close_sock();
  unix_stream_ = false;
}

void SyslogSink::run() {
  uint32_t backoff_ms = 100;
  std::string msg;
  bool have = false;
  std::unique_lock<std::mutex> lk(mu_);
  auto gen_of = [this](const std::string& m) {
    uint32_t g = 0;
    if (m.size() >= sizeof g) std::memcpy(&g, m.data(), sizeof g);
    return g;
  };
  for (;;) {
    if (!have) {
      cv_.wait(lk, [&] { return stop_ || !q_.empty(); });
      if (stop_) break;
      msg = std::move(q_.front());
      q_.pop_front();
      have = true;
    }
    if (gen_of(msg) > cur_gen_) adopt(gen_of(msg));  // the first message built with newer settings
    bool stream = cur_.transport == SyslogTransport::kTcp;
    lk.unlock();
    bool ok = send_one(msg) || (!stream && send_one(msg));
    lk.lock();
    if (ok) {
      have = false;
      backoff_ms = 100;
      continue;
    }
    if (!dests_.empty() && dests_.rbegin()->first > cur_gen_) {
      // The old target fails and newer settings exist: the rest goes there.
      adopt(dests_.rbegin()->first);
      rerouted_.fetch_add(1);
      continue;
    }
    if (!stream && !unix_stream_) {  // datagrams: no long retries
      dropped_.fetch_add(1);
      have = false;
    }
    // Stream down: keep the message and retry after a backoff (stop wakes us).
    cv_.wait_for(lk, std::chrono::milliseconds(backoff_ms), [&] { return stop_; });
    backoff_ms = std::min(backoff_ms * 2, std::max<uint32_t>(retry_max_ms_, 100));
    if (stop_) break;
  }
  // Drain: one attempt per message within drain_ms; the rest is dropped.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(drain_ms_);
  if (have) q_.push_front(std::move(msg));
  while (!q_.empty() && std::chrono::steady_clock::now() < deadline) {
    msg = std::move(q_.front());
    q_.pop_front();
    if (gen_of(msg) > cur_gen_) adopt(gen_of(msg));
    lk.unlock();
    bool ok = send_one(msg);
    lk.lock();
    if (!ok) dropped_.fetch_add(1);
  }
  drop_rest_locked();
  lk.unlock();
  close_sock();
}

// After stop() the sink stays off: reconfigure() keeps the settings but starts nothing.
void SyslogSink::stop() {
  std::lock_guard<std::mutex> c(cfg_mu_);
  shut_ = true;
  stop_thread();
}

SyslogStats SyslogSink::stats() const {
  SyslogStats s;
  s.queued = queued_.load();
  s.sent = sent_.load();
  s.dropped = dropped_.load();
  s.send_errors = send_errors_.load();
  s.reconnects = reconnects_.load();
  s.truncated = truncated_.load();
  s.skipped = skipped_.load();
  s.filtered = filtered_.load();
  s.reconfigured = reconfigured_.load();
  s.rerouted = rerouted_.load();
  return s;
}

}  // namespace spectre::exporter
