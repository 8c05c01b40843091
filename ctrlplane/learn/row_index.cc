// RowIndex (row_index.h): the rows file's (flow_id, phase) -> newest row offset.
#include "ctrlplane/learn/row_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace spectre::learn {

namespace {

constexpr size_t kChunk = 1u << 20;  // bytes read at a time when indexing or scanning

uint64_t key_hash(std::string_view k) {  // FNV-1a
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : k) h = (h ^ c) * 1099511628211ull;
  return h;
}

// A row's "flow_id,phase," (through its second comma); empty when it has fewer.
std::string_view row_key(std::string_view line) {
  size_t a = line.find(',');
  size_t b = a == std::string_view::npos ? a : line.find(',', a + 1);
  return b == std::string_view::npos ? std::string_view() : line.substr(0, b + 1);
}

bool read_at(int fd, uint64_t off, size_t n, std::string& buf) {
  buf.resize(n);
  ssize_t r = ::pread(fd, buf.data(), n, off_t(off));
  if (r < 0) return false;
  buf.resize(size_t(r));
  return true;
}

// Calls fn(offset, line) for each complete line of [from, to), from at a line start;
// returns the offset after the last complete line (a half-written one is left).
template <typename Fn>
uint64_t each_line(int fd, uint64_t from, uint64_t to, Fn&& fn) {
  std::string buf, chunk;
  uint64_t base = from, pos = from;
  while (pos < to) {
    if (!read_at(fd, pos, size_t(std::min<uint64_t>(kChunk, to - pos)), chunk) || chunk.empty()) break;
    pos += chunk.size();
    buf += chunk;
    size_t start = 0;
    for (const char* nl; (nl = static_cast<const char*>(std::memchr(buf.data() + start, '\n', buf.size() - start)));) {
      size_t e = size_t(nl - buf.data());
      fn(base + start, std::string_view(buf.data() + start, e - start));
      start = e + 1;
    }
    buf.erase(0, start);
    base += start;
  }
  return base;
}

// The complete line at off (without its newline).
bool line_at(int fd, uint64_t off, std::string& line) {
  line.clear();
  std::string chunk;
  for (uint64_t pos = off;; pos += chunk.size()) {
    if (!read_at(fd, pos, 4096, chunk) || chunk.empty()) return false;
    size_t nl = chunk.find('\n');
    line.append(chunk, 0, nl);
    if (nl != std::string::npos) return true;
  }
}

// The first line start at or after off (off itself when a row starts there).
uint64_t next_line_start(int fd, uint64_t off, uint64_t size) {
  std::string prev;
  if (off == 0 || !read_at(fd, off - 1, 1, prev) || prev == "\n") return off;
  std::string skipped;
  return line_at(fd, off, skipped) ? std::min(size, off + skipped.size() + 1) : size;
}

}  // namespace

void RowIndex::reset(uint64_t ino) {
  ino_ = ino;
  header_.clear();
  header_end_ = covered_from_ = end_ = 0;
  newest_.clear();
  order_.clear();
  st_.resets++;
}

void RowIndex::add(uint64_t key, uint64_t off) {
  newest_[key] = off;
  order_.emplace_back(key, off);
  st_.indexed++;
  while (order_.size() > max_) {
    auto [k, o] = order_.front();
    order_.pop_front();
    if (auto it = newest_.find(k); it != newest_.end() && it->second == o) newest_.erase(it);
    covered_from_ = std::max(covered_from_, order_.empty() ? end_ : order_.front().second);
  }
}

bool RowIndex::catch_up(int fd, uint64_t size, std::string& err) {
  if (header_end_ == 0) {
    if (!line_at(fd, 0, header_)) {
      err = "the rows file has no header yet";
      return false;
    }
    header_end_ = covered_from_ = end_ = header_.size() + 1;
  }
  if (size > end_ && size - end_ > tail_) {  // a jump: only the newest tail is worth indexing (a gap before it)
    end_ = next_line_start(fd, size - tail_, size);
    covered_from_ = end_;
  }
  end_ = each_line(fd, end_, size, [this](uint64_t off, std::string_view line) {
    if (std::string_view k = row_key(line); !k.empty()) add(key_hash(k), off);
  });
  return true;
}

namespace {
struct Closer {
  int fd;
  ~Closer() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

int RowIndex::open_at_size(const std::string& path, uint64_t& size, std::string& err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat sb {};
  if (fd < 0 || ::fstat(fd, &sb) != 0) {
    if (fd >= 0) ::close(fd);
    err = "no rows file " + path;
    return -1;
  }
  size = uint64_t(sb.st_size);
  if (uint64_t(sb.st_ino) != ino_ || size < end_) reset(uint64_t(sb.st_ino));
  return fd;
}

bool RowIndex::warm(const std::string& path, std::string& err) {
  std::lock_guard g(mu_);
  uint64_t size = 0;
  Closer closer{open_at_size(path, size, err)};
  if (closer.fd < 0) return false;
  const uint64_t before = st_.indexed;
  const bool ok = catch_up(closer.fd, size, err);
  st_.warms++;
  st_.warm_indexed += st_.indexed - before;
  return ok;
}

bool RowIndex::lookup(const std::string& path, std::string_view flow_id, std::string_view phase, Found& out,
                      std::string& err) {
  std::lock_guard g(mu_);
  uint64_t size = 0;
  Closer closer{open_at_size(path, size, err)};
  const int fd = closer.fd;
  if (fd < 0) return false;
  const uint64_t before = st_.indexed;
  const bool caught_up = catch_up(fd, size, err);
  st_.lookup_indexed += st_.indexed - before;
  if (!caught_up) return false;
  out.header = header_;
  out.from_index = false;
  const std::string key = std::string(flow_id) + "," + std::string(phase) + ",";
  bool collided = false;
  if (auto it = newest_.find(key_hash(key)); it != newest_.end()) {
    if (line_at(fd, it->second, out.line) && out.line.compare(0, key.size(), key) == 0) {
      out.from_index = true;
      st_.index_hits++;
      return true;
    }
    collided = true;  // another key's row (a hash collision): scan the whole window
  }
  // The bounded scan of the newest tail_ bytes, in the part the index does not cover.
  const uint64_t from = next_line_start(fd, std::max(header_end_, size > tail_ ? size - tail_ : 0), size);
  const uint64_t to = collided ? end_ : std::min(end_, covered_from_);
  out.line.clear();
  if (from < to) {
    st_.scans++;
    st_.scanned_bytes += to - from;
    each_line(fd, from, to, [&](uint64_t, std::string_view line) {
      if (line.compare(0, key.size(), key) == 0) out.line.assign(line);  // the last one wins
    });
  }
  if (out.line.empty()) {
    err = "flow " + std::string(flow_id) + " (" + std::string(phase) + ") is not among the newest dumped rows";
    return false;
  }
  return true;
}

RowIndex::Stats RowIndex::stats() {
  std::lock_guard g(mu_);
  Stats s = st_;
  s.entries = newest_.size();
  s.covered_from = covered_from_;
  s.end = end_;
  return s;
}

}  // namespace spectre::learn
