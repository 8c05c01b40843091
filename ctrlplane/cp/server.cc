#include "ctrlplane/cp/server.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace spectre::cp {

namespace {

bool write_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += size_t(w);
  }
  return true;
}

bool mkdirs(const std::string& dir, gid_t group) {
  for (size_t p = 1; p <= dir.size(); p++) {
    if (p != dir.size() && dir[p] != '/') continue;
    std::string part = dir.substr(0, p);
    if (::mkdir(part.c_str(), 0750) == 0) {
      if (group != gid_t(-1) && p == dir.size()) (void)!::chown(part.c_str(), uid_t(-1), group);
    } else if (errno != EEXIST) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool lookup_group(const std::string& name, gid_t& gid, std::string& err) {
  struct group gr, *res = nullptr;
  char buf[4096];
  if (getgrnam_r(name.c_str(), &gr, buf, sizeof buf, &res) == 0 && res) {
    gid = gr.gr_gid;
    return true;
  }
  unsigned v = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (!name.empty() && ec == std::errc() && p == name.data() + name.size()) {
    gid = gid_t(v);
    return true;
  }
  err = "unknown group '" + name + "'";
  return false;
}

bool ControlServer::peer_of(int fd, Peer& p) {
  struct ucred uc;
  socklen_t len = sizeof uc;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) return false;
  p.pid = uc.pid;
  p.uid = uc.uid;
  p.gid = uc.gid;
  return true;
}

ControlServer::~ControlServer() {
  stop();
  reap(true);
  close();
  for (int& f : wake_)
    if (f >= 0) { ::close(f); f = -1; }
}

bool ControlServer::listen(const ServerOptions& o, std::string& err) {
  opt_ = o;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (o.path.empty() || o.path.size() >= sizeof sa.sun_path) {
    err = "socket path '" + o.path + "' is empty or longer than " + std::to_string(sizeof sa.sun_path - 1) + " bytes";
    return false;
  }
  std::memcpy(sa.sun_path, o.path.c_str(), o.path.size() + 1);
  size_t slash = o.path.find_last_of('/');
  if (slash != std::string::npos && slash > 0 && !mkdirs(o.path.substr(0, slash), o.group)) {
    err = "cannot create the directory of " + o.path + ": " + std::strerror(errno);
    return false;
  }
  struct stat sb;
  if (::lstat(o.path.c_str(), &sb) == 0) {
    if (!S_ISSOCK(sb.st_mode)) { err = o.path + " exists and is not a socket"; return false; }
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    if (probe >= 0) ::close(probe);
    if (live) { err = "another spectre-cp is listening on " + o.path; return false; }
    ::unlink(o.path.c_str());  // stale, left by a killed daemon
  }
  lfd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd_ < 0) { err = std::string("socket: ") + std::strerror(errno); return false; }
  // No window in which the socket exists with a wider mode than asked.
  mode_t old = ::umask(0177);
  int rc = ::bind(lfd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int e = errno;
  ::umask(old);
  if (rc != 0) { err = "bind " + o.path + ": " + std::strerror(e); return false; }
  if (o.group != gid_t(-1)) {
    if (::chown(o.path.c_str(), uid_t(-1), o.group) != 0 || ::chmod(o.path.c_str(), 0660) != 0) {
      err = "cannot give " + o.path + " to group " + std::to_string(o.group) + ": " + std::strerror(errno);
      ::unlink(o.path.c_str());
      return false;
    }
  }
  if (::stat(o.path.c_str(), &sb) == 0) { ino_ = sb.st_ino; dev_ = sb.st_dev; }
  if (::listen(lfd_, 64) != 0) { err = std::string("listen: ") + std::strerror(errno); return false; }
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) { err = std::string("pipe: ") + std::strerror(errno); return false; }
  return true;
}

void ControlServer::stop() {
  stop_ = true;
  if (wake_[1] >= 0) (void)!::write(wake_[1], "x", 1);
  std::lock_guard g(mu_);
  for (auto& c : clients_)
    if (!c->done) ::shutdown(c->fd, SHUT_RDWR);
}

void ControlServer::close() {
  if (lfd_ < 0) return;
  ::close(lfd_);
  lfd_ = -1;
  struct stat sb;
  if (::stat(opt_.path.c_str(), &sb) == 0 && sb.st_ino == ino_ && sb.st_dev == dev_) ::unlink(opt_.path.c_str());
}

void ControlServer::reap(bool all) {
  std::list<std::unique_ptr<Client>> done;
  {
    std::lock_guard g(mu_);
    for (auto it = clients_.begin(); it != clients_.end();) {
      if (all || (*it)->done) { done.push_back(std::move(*it)); it = clients_.erase(it); }
      else ++it;
    }
  }
  for (auto& c : done) {
    if (c->th.joinable()) c->th.join();
    ::close(c->fd);
  }
}

void ControlServer::run() {
  while (!stop_) {
    pollfd p[2] = {{lfd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int n = ::poll(p, 2, 1000);
    reap(false);
    if (n <= 0 || stop_) continue;
    if (!(p[0].revents & POLLIN)) continue;
    int fd = ::accept4(lfd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{10, 0};  // a client that stops reading must not hold a thread forever
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::lock_guard g(mu_);
    if (clients_.size() >= opt_.max_clients) {
      write_all(fd, reply_to_json(failure(kExitFailed, "spectre-cp: too many clients, retry later"), true) + "\n");
      ::close(fd);
      continue;
    }
    auto c = std::make_unique<Client>();
    c->fd = fd;
    Client* raw = c.get();
    clients_.push_back(std::move(c));
    raw->th = std::thread([this, raw] { serve(raw); });
  }
  std::lock_guard g(mu_);
  for (auto& c : clients_) ::shutdown(c->fd, SHUT_RDWR);
}

void ControlServer::serve(Client* c) {
  int fd = c->fd;
  Peer peer;
  if (!peer_of(fd, peer)) peer = Peer{};
  std::string buf;
  char chunk[4096];
  bool open = true;
  while (open && !stop_) {
    size_t nl;
    while ((nl = buf.find('\n')) == std::string::npos) {
      if (buf.size() > kMaxRequestLine) {
        write_all(fd, reply_to_json(usage_error("request line longer than 64 KiB"), true) + "\n");
        open = false;
        break;
      }
      pollfd p{fd, POLLIN, 0};
      int n = ::poll(&p, 1, 500);
      if (stop_) { open = false; break; }
      if (n <= 0) continue;
      ssize_t r = ::recv(fd, chunk, sizeof chunk, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) { open = false; break; }
      buf.append(chunk, size_t(r));
    }
    if (!open) break;
    std::string line = buf.substr(0, nl);
    buf.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    Request req;
    std::string err;
    Reply rep;
    if (!request_from_json(line, req, err)) {
      rep = ctl_.reject(peer, line, err);
      req.json = false;
    } else {
      rep = ctl_.handle(req, peer);
    }
    if (!write_all(fd, reply_to_json(rep, !req.json) + "\n")) break;
    if (rep.code == kExitOk && rep.stream) {
      auto alive = [&] {
        if (stop_) return false;
        pollfd p{fd, POLLRDHUP, 0};
        return !(::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)));
      };
      ctl_.follow_alerts(req, rep.stream_after, [&](const std::string& l) { return write_all(fd, l + "\n"); }, alive);
      break;  // a follow ends the connection
    }
  }
  c->done = true;
}

}  // namespace spectre::cp
