#include "ctrlplane/cp/audit.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "ctrlplane/cp/json_out.h"

namespace spectre::cp {

std::string Peer::describe() const {
  std::string s = "uid=" + std::to_string(uid);
  struct passwd pw, *res = nullptr;
  char buf[1024];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) s += std::string("(") + pw.pw_name + ")";
  s += " gid=" + std::to_string(gid) + " pid=" + std::to_string(pid);
  return s;
}

AuditLog::~AuditLog() { if (fd_ >= 0) ::close(fd_); }

bool AuditLog::open(const std::string& path, std::string& err) {
  std::lock_guard g(mu_);
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    std::string dir = path.substr(0, slash);
    for (size_t p = 1; p <= dir.size(); p++) {
      if (p != dir.size() && dir[p] != '/') continue;
      std::string part = dir.substr(0, p);
      if (::mkdir(part.c_str(), 0750) != 0 && errno != EEXIST) {
        err = "audit log: cannot create " + part + ": " + std::strerror(errno);
        return false;
      }
    }
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    err = "audit log: cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  path_ = path;
  return true;
}

std::string AuditLog::format(const AuditRecord& r, int64_t unix_ms) {
  time_t t = time_t(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char ts[48], full[64];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(full, sizeof full, "%s.%03dZ", ts, int(unix_ms % 1000));
  JsonOut j;
  j.begin_obj().kv("time", full).kv("uid", int64_t(r.peer.uid)).kv("gid", int64_t(r.peer.gid))
      .kv("pid", int64_t(r.peer.pid)).kv("command", r.command);
  j.key("args").begin_obj();
  for (const auto& [k, v] : r.args) j.kv(k, v);
  j.end_obj();
  j.kv("result", r.ok ? "ok" : "error").kv("message", r.message);
  if (!r.model_sha256.empty()) j.kv("model_sha256", r.model_sha256);
  j.end_obj();
  return j.take();
}

bool AuditLog::record(const AuditRecord& r) {
  int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  std::string line = format(r, ms);
  line += '\n';
  std::lock_guard g(mu_);
  if (fd_ < 0) { last_error_ = "audit log not open"; return false; }
  ssize_t w;
  do { w = ::write(fd_, line.data(), line.size()); } while (w < 0 && errno == EINTR);
  if (w != ssize_t(line.size())) {
    last_error_ = "audit log: write " + path_ + ": " + (w < 0 ? std::strerror(errno) : "short write");
    return false;
  }
  return true;
}

std::string AuditLog::last_error() { std::lock_guard g(mu_); return last_error_; }

}  // namespace spectre::cp
