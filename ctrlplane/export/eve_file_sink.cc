// EVE file writer thread: batching, size/time rotation, reopen.
#include "ctrlplane/export/eve_file_sink.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <vector>

namespace spectre::exporter {

namespace {
uint64_t steady_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}
bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}
}  // namespace

EveFileSink::EveFileSink(EveFileOptions opts) : opts_(std::move(opts)) {
  if (opts_.flush_ms == 0) opts_.flush_ms = 1;
  if (opts_.buffer_bytes < 4096) opts_.buffer_bytes = 4096;
}

EveFileSink::~EveFileSink() { close(); }

bool EveFileSink::open_file(std::string* err) {
  fd_ = ::open(opts_.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode_t(opts_.file_mode));
  if (fd_ < 0) {
    if (err) *err = "cannot open " + opts_.path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st;
  file_bytes_ = ::fstat(fd_, &st) == 0 ? uint64_t(st.st_size) : 0;
  opened_ns_ = steady_ns();
  return true;
}

bool EveFileSink::open(std::string* err) {
  std::lock_guard<std::mutex> g(mu_);
  if (running_) return true;
  if (!open_file(err)) return false;
  stop_ = false;
  running_ = true;
  thread_ = std::thread([this] { run(); });
  return true;
}

bool EveFileSink::write_line(std::string_view line) {
  bool nl = line.empty() || line.back() != '\n';
  size_t need = line.size() + (nl ? 1 : 0);
  std::lock_guard<std::mutex> g(mu_);
  if (!running_ || pending_.size() + need > opts_.buffer_bytes) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  size_t before = pending_.size();
  pending_.append(line);
  if (nl) pending_.push_back('\n');
  // Wake the writer early only when crossing half the cap (not per line).
  if (before < opts_.buffer_bytes / 2 && pending_.size() >= opts_.buffer_bytes / 2) cv_.notify_one();
  return true;
}

bool EveFileSink::write(const CpAlert& a) {
  std::string s;
  format_eve(s, a);
  return write_line(s);
}

bool EveFileSink::write(const CpFlow& f) {
  std::string s;
  format_eve(s, f);
  return write_line(s);
}

void EveFileSink::reopen() {
  std::lock_guard<std::mutex> g(mu_);
  reopen_req_ = true;
  cv_.notify_one();
}

void EveFileSink::flush() {
  std::unique_lock<std::mutex> lk(mu_);
  if (!running_) return;
  uint64_t req = ++flush_req_;
  cv_.notify_one();
  done_cv_.wait(lk, [&] { return flush_done_ >= req || !running_; });
}

void EveFileSink::close() {
  {
    std::lock_guard<std::mutex> g(mu_);
    if (!running_) return;
    stop_ = true;
    cv_.notify_one();
  }
  thread_.join();
  std::lock_guard<std::mutex> g(mu_);
  running_ = false;
  done_cv_.notify_all();
}

EveFileStats EveFileSink::stats() const {
  EveFileStats s;
  s.lines = lines_.load();
  s.bytes = bytes_.load();
  s.dropped = dropped_.load();
  s.rotations = rotations_.load();
  s.reopens = reopens_.load();
  s.write_errors = write_errors_.load();
  return s;
}

void EveFileSink::run() {
  std::string batch;
  for (;;) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, std::chrono::milliseconds(opts_.flush_ms), [&] {
      return stop_ || reopen_req_ || flush_req_ != flush_done_ || pending_.size() >= opts_.buffer_bytes / 2;
    });
    batch.swap(pending_);
    bool reopen = reopen_req_, stop = stop_;
    reopen_req_ = false;
    uint64_t req = flush_req_;
    lk.unlock();

    if (reopen) {
      if (fd_ >= 0) ::close(fd_);
      fd_ = -1;
      if (!open_file(nullptr)) write_errors_.fetch_add(1);
      reopens_.fetch_add(1);
    }
    if (opts_.rotate_seconds && file_bytes_ > 0 &&
        steady_ns() - opened_ns_ >= uint64_t(opts_.rotate_seconds) * 1000000000ull)
      rotate();
    if (!batch.empty()) write_chunk(batch);
    batch.clear();

    lk.lock();
    flush_done_ = req;
    done_cv_.notify_all();
    if (stop) break;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

// Writes whole lines, rotating before a line that would overflow the size cap.
void EveFileSink::write_chunk(const std::string& data) {
  if (fd_ < 0 && !open_file(nullptr)) write_errors_.fetch_add(1);
  size_t seg = 0, pos = 0, seg_lines = 0;
  auto emit = [&](size_t end) {
    const char* p = data.data() + seg;
    size_t n = end - seg;
    bool ok = fd_ >= 0;
    while (ok && n > 0) {
      ssize_t w = ::write(fd_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        ok = false;
        break;
      }
      p += w;
      n -= size_t(w);
      file_bytes_ += uint64_t(w);
    }
    if (ok) {
      lines_.fetch_add(seg_lines);
      bytes_.fetch_add(end - seg);
    } else if (seg_lines) {
      write_errors_.fetch_add(1);
      dropped_.fetch_add(seg_lines);
    }
    seg = end;
    seg_lines = 0;
  };
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    size_t end = nl == std::string::npos ? data.size() : nl + 1;
    if (opts_.rotate_bytes) {
      uint64_t in_file = file_bytes_ + (pos - seg);  // bytes the file will hold before this line
      if (in_file > 0 && in_file + (end - pos) > opts_.rotate_bytes) {
        emit(pos);
        rotate();
      }
    }
    seg_lines++;
    pos = end;
  }
  emit(pos);
}

void EveFileSink::rotate() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  const std::string& p = opts_.path;
  if (opts_.timestamped) {
    time_t now = time(nullptr);
    struct tm tm;
    gmtime_r(&now, &tm);
    char ts[32];
    strftime(ts, sizeof ts, "%Y%m%d-%H%M%S", &tm);
    // Same second as the last rotation: the next suffix (even if the pruner
    // deleted the earlier names), so names keep sorting by age.
    ts_seq_ = last_ts_ == ts ? ts_seq_ + 1 : 0;
    last_ts_ = ts;
    std::string name;
    for (;; ts_seq_++) {
      name = p + "." + ts;
      if (ts_seq_) name.append("-").append(std::to_string(ts_seq_));
      if (!exists(name)) break;
    }
    if (::rename(p.c_str(), name.c_str()) != 0) write_errors_.fetch_add(1);
    prune_timestamped();
  } else if (opts_.keep == 0) {
    ::unlink(p.c_str());
  } else {
    ::unlink((p + "." + std::to_string(opts_.keep)).c_str());
    for (uint32_t i = opts_.keep - 1; i >= 1; i--) {
      std::string from = p + "." + std::to_string(i);
      if (exists(from)) ::rename(from.c_str(), (p + "." + std::to_string(i + 1)).c_str());
    }
    if (::rename(p.c_str(), (p + ".1").c_str()) != 0) write_errors_.fetch_add(1);
  }
  rotations_.fetch_add(1);
  if (!open_file(nullptr)) write_errors_.fetch_add(1);
}

// Deletes the oldest timestamped files beyond `keep` (names sort by time).
void EveFileSink::prune_timestamped() {
  if (opts_.keep == 0) return;
  const std::string& p = opts_.path;
  size_t slash = p.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : p.substr(0, slash));
  std::string prefix = (slash == std::string::npos ? p : p.substr(slash + 1)) + ".";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    // <prefix>YYYYmmdd-HHMMSS[-N]
    if (n.size() >= prefix.size() + 15 && n.substr(0, prefix.size()) == prefix &&
        n[prefix.size() + 8] == '-' &&
        std::all_of(n.begin() + long(prefix.size()), n.begin() + long(prefix.size()) + 8,
                    [](char c) { return c >= '0' && c <= '9'; }))
      names.emplace_back(n);
  }
  ::closedir(d);
  // Sort by (timestamp, numeric suffix) so "-10" comes after "-9".
  auto key = [&](const std::string& n) {
    std::string ts = n.substr(prefix.size(), 15);
    long suf = n.size() > prefix.size() + 16 ? std::atol(n.c_str() + prefix.size() + 16) : 0;
    return std::make_pair(ts, suf);
  };
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) { return key(a) < key(b); });
  while (names.size() > opts_.keep) {
    ::unlink((dir + "/" + names.front()).c_str());
    names.erase(names.begin());
  }
}

}  // namespace spectre::exporter
