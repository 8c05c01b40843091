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
  host_ = opts_.hostname;
  if (host_.empty()) {
    char h[256] = {0};
    if (gethostname(h, sizeof h - 1) == 0) host_ = h;
  }
  procid_ = std::to_string(getpid());
}

SyslogSink::~SyslogSink() { stop(); }

bool SyslogSink::start(std::string* err) {
  std::lock_guard<std::mutex> g(mu_);
  if (running_) return true;
  if (opts_.transport == SyslogTransport::kUnix) {
    sockaddr_un un{};
    if (opts_.unix_path.empty() || opts_.unix_path.size() >= sizeof un.sun_path) {
      if (err) *err = "syslog: bad unix socket path '" + opts_.unix_path + "'";
      return false;
    }
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, opts_.unix_path.data(), opts_.unix_path.size());
    std::memcpy(&addr_, &un, sizeof un);
    addr_len_ = socklen_t(sizeof un);
    family_ = AF_UNIX;
  } else {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = opts_.transport == SyslogTransport::kTcp ? SOCK_STREAM : SOCK_DGRAM;
    std::string port = std::to_string(opts_.port);
    int rc = getaddrinfo(opts_.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || !res) {
      if (err) *err = "syslog: cannot resolve '" + opts_.host + "': " + gai_strerror(rc);
      return false;
    }
    std::memcpy(&addr_, res->ai_addr, res->ai_addrlen);
    addr_len_ = res->ai_addrlen;
    family_ = res->ai_family;
    freeaddrinfo(res);
  }
  launch_locked([this] { run(); });
  return true;
}

std::string SyslogSink::build(const CpAlert& a) const {
  std::string m;
  format_rfc5424_header(m, opts_.facility, syslog_severity(a.severity), a.ts_ns, host_, opts_.app_name, procid_,
                        "alert");
  switch (opts_.format) {
    case SyslogFormat::kCef: format_cef(m, a, opts_.version); break;
    case SyslogFormat::kLeef: format_leef(m, a, opts_.version); break;
    case SyslogFormat::kJson:
      format_eve(m, a);
      m.pop_back();  // the line's '\n'
      break;
  }
  return m;
}

bool SyslogSink::send(const CpAlert& a) { return enqueue(build(a)); }

bool SyslogSink::send(const CpFlow& f) {
  if (opts_.format != SyslogFormat::kJson) {
    skipped_.fetch_add(1);
    return false;
  }
  std::string m;
  format_rfc5424_header(m, opts_.facility, 6, f.end_ns, host_, opts_.app_name, procid_, "flow");
  format_eve(m, f);
  m.pop_back();
  return enqueue(std::move(m));
}

bool SyslogSink::send_line(std::string_view line, uint64_t ts_ns, int severity, std::string_view msgid) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  std::string m;
  format_rfc5424_header(m, opts_.facility, severity, ts_ns, host_, opts_.app_name, procid_, msgid);
  m += line;
  return enqueue(std::move(m));
}

bool SyslogSink::enqueue(std::string msg) {
  if (msg.size() > opts_.max_message) {
    msg.resize(opts_.max_message);
    truncated_.fetch_add(1);
  }
  return enqueue_bounded(std::move(msg), opts_.queue_max);
}

void SyslogSink::close_sock() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool SyslogSink::connect_sock() {
  bool stream = opts_.transport == SyslogTransport::kTcp;
  int type = stream ? SOCK_STREAM : SOCK_DGRAM;
  for (int attempt = 0; attempt < 2; attempt++) {
    fd_ = ::socket(family_, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) return false;
    int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr_), addr_len_);
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
      unix_stream_ = family_ == AF_UNIX && type == SOCK_STREAM;
      if (type == SOCK_STREAM) reconnects_.fetch_add(1);
      return true;
    }
    int e = errno;
    close_sock();
    // A unix stream socket (e.g. some syslog daemons) refuses datagrams.
    if (family_ == AF_UNIX && type == SOCK_DGRAM && e == EPROTOTYPE) {
      type = SOCK_STREAM;
      continue;
    }
    return false;
  }
  return false;
}

bool SyslogSink::send_one(const std::string& msg) {
  bool tcp = opts_.transport == SyslogTransport::kTcp;
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
  std::string framed;
  const std::string* out = &msg;
  if (tcp) {
    frame_octet_counting(framed, msg);
    out = &framed;
  } else if (unix_stream_) {
    framed = msg + "\n";
    out = &framed;
  }
  const char* p = out->data();
  size_t n = out->size();
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

void SyslogSink::run() {
  uint32_t backoff_ms = 100;
  std::string msg;
  bool have = false;
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    if (!have) {
      cv_.wait(lk, [&] { return stop_ || !q_.empty(); });
      if (stop_) break;
      msg = std::move(q_.front());
      q_.pop_front();
      have = true;
    }
    lk.unlock();
    bool ok = send_one(msg) || (opts_.transport != SyslogTransport::kTcp && send_one(msg));
    lk.lock();
    if (ok) {
      have = false;
      backoff_ms = 100;
      continue;
    }
    if (opts_.transport != SyslogTransport::kTcp && !unix_stream_) {  // datagrams: no long retries
      dropped_.fetch_add(1);
      have = false;
    }
    // Stream down: keep the message and retry after a backoff (stop wakes us).
    cv_.wait_for(lk, std::chrono::milliseconds(backoff_ms), [&] { return stop_; });
    backoff_ms = std::min(backoff_ms * 2, std::max<uint32_t>(opts_.reconnect_max_ms, 100));
    if (stop_) break;
  }
  // Drain: one attempt per message within drain_ms; the rest is dropped.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.drain_ms);
  if (have) q_.push_front(std::move(msg));
  while (!q_.empty() && std::chrono::steady_clock::now() < deadline) {
    msg = std::move(q_.front());
    q_.pop_front();
    lk.unlock();
    bool ok = send_one(msg);
    lk.lock();
    if (!ok) dropped_.fetch_add(1);
  }
  drop_rest_locked();
  lk.unlock();
  close_sock();
}

void SyslogSink::stop() { stop_thread(); }

SyslogStats SyslogSink::stats() const {
  SyslogStats s;
  s.queued = queued_.load();
  s.sent = sent_.load();
  s.dropped = dropped_.load();
  s.send_errors = send_errors_.load();
  s.reconnects = reconnects_.load();
  s.truncated = truncated_.load();
  s.skipped = skipped_.load();
  return s;
}

}  // namespace spectre::exporter
