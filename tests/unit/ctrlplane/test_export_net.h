// Loopback helpers for the exporter tests: UDP/TCP listeners, an HTTP client
// and a scripted HTTP server, each bound to 127.0.0.1 on a free port.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace export_test {

inline int bind_loopback(int type, uint16_t* port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return -1;
  socklen_t l = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
  *port = ntohs(a.sin_port);
  if (type == SOCK_STREAM) ::listen(fd, 16);
  return fd;
}

// Reads whatever arrives on fd within ms (until the peer closes or the time is up).
inline std::string read_for(int fd, int ms, size_t want = SIZE_MAX) {
  std::string s;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  char b[65536];
  while (s.size() < want) {
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count());
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left) != 1) break;
    ssize_t n = ::recv(fd, b, sizeof b, 0);
    if (n <= 0) break;
    s.append(b, size_t(n));
  }
  return s;
}

// One HTTP exchange with 127.0.0.1:port; returns the raw response.
inline std::string http_raw(uint16_t port, const std::string& request, int ms = 3000) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return "";
  }
  if (!request.empty()) (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  std::string r = read_for(fd, ms);
  ::close(fd);
  return r;
}

inline int http_status(const std::string& resp) {
  if (resp.rfind("HTTP/1.1 ", 0) != 0 || resp.size() < 12) return -1;
  return std::stoi(resp.substr(9, 3));
}

inline std::string http_body(const std::string& resp) {
  size_t p = resp.find("\r\n\r\n");
  return p == std::string::npos ? "" : resp.substr(p + 4);
}

struct HttpRequest {
  std::string method, target, body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string header(const std::string& n) const {
    for (const auto& [k, v] : headers)
      if (k == n) return v;
    return "";
  }
};

// A scripted HTTP server: answers each request with the next status of
// `statuses` (the last one repeats), after an optional delay.
class ScriptedHttpServer {
 public:
  ScriptedHttpServer(std::vector<int> statuses, int delay_ms = 0) : statuses_(std::move(statuses)), delay_ms_(delay_ms) {
    fd_ = bind_loopback(SOCK_STREAM, &port_);
    th_ = std::thread([this] { run(); });
  }
  ~ScriptedHttpServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    th_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::vector<HttpRequest> requests() {
    std::lock_guard<std::mutex> g(mu_);
    return reqs_;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      HttpRequest r;
      std::string data;
      size_t head_end = std::string::npos, clen = 0;
      auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
      char b[4096];
      while (std::chrono::steady_clock::now() < end) {
        if (head_end != std::string::npos && data.size() >= head_end + 4 + clen) break;
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 200) != 1) continue;
        ssize_t n = ::recv(c, b, sizeof b, 0);
        if (n <= 0) break;
        data.append(b, size_t(n));
        if (head_end == std::string::npos && (head_end = data.find("\r\n\r\n")) != std::string::npos) {
          size_t pos = data.find("\r\n");
          std::string line = data.substr(0, pos);
          r.method = line.substr(0, line.find(' '));
          r.target = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
          while (pos < head_end) {
            size_t e = data.find("\r\n", pos + 2);
            std::string h = data.substr(pos + 2, e - pos - 2);
            size_t colon = h.find(':');
            if (colon != std::string::npos) {
              std::string k = h.substr(0, colon), v = h.substr(colon + 1);
              for (char& ch : k) ch = char(tolower(ch));
              while (!v.empty() && v[0] == ' ') v.erase(0, 1);
              r.headers.emplace_back(k, v);
              if (k == "content-length") clen = std::stoul(v);
            }
            pos = e;
          }
        }
      }
      if (head_end != std::string::npos) r.body = data.substr(head_end + 4);
      int st;
      {
        std::lock_guard<std::mutex> g(mu_);
        st = statuses_[std::min(reqs_.size(), statuses_.size() - 1)];
        reqs_.push_back(r);
      }
      if (delay_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
      std::string resp = "HTTP/1.1 " + std::to_string(st) + " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      (void)!::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  std::vector<int> statuses_;
  int delay_ms_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<HttpRequest> reqs_;
  std::thread th_;
};

}  // namespace export_test
