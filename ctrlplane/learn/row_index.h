// Where the newest row of each (flow_id, phase) starts in the data plane's
// rows file (--dump-features CSV), learnt as the file grows, so that
// GET /alerts/{id}/explain of an ML alert reads one row instead of scanning
// the file's tail (learning.h: Learning::explain).
//
// Each lookup first indexes the complete rows appended since the last one
// (the first lookup, or a jump of more than `tail` bytes, starts `tail` bytes
// before the end: only the scan's window is worth indexing). A row found in
// the index is checked (its line must start with "flow_id,phase,"); a row the
// index lacks is searched by the bounded scan in the part of the newest
// `tail` bytes the index does not cover (after an eviction; none otherwise).
// A file that shrank or was replaced (another inode) is indexed afresh.
//
// Memory: at most max_entries rows (default 131,072, about 100 MiB of rows of
// the shipped model's ~800 bytes): a 64-bit key hash and an offset in a hash
// map and in a FIFO, about 56 bytes a row, 7 MiB in all; the oldest rows are
// forgotten first. Thread-safe (one mutex; lookups are short).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace spectre::learn {

class RowIndex {
 public:
  explicit RowIndex(size_t max_entries = 131072, uint64_t tail = 32u << 20) : max_(max_entries), tail_(tail) {}
  struct Found {
    std::string header, line;  // the file's header and the row (without its newline)
    bool from_index = false;   // false: the fallback scan found it
  };
  // The newest complete row of flow_id at phase; false + err when the file
  // cannot be read or no row is found (in the index or the scan's window).
  bool lookup(const std::string& path, std::string_view flow_id, std::string_view phase, Found& out, std::string& err);
  // Indexes what a lookup would (the newest `tail` bytes the first time, then
  // what was appended) without looking anything up: spectre-cp calls it at
  // start, off the request path, so the first explain finds its row indexed.
  bool warm(const std::string& path, std::string& err);
  struct Stats {
    uint64_t indexed = 0, index_hits = 0, scans = 0, scanned_bytes = 0, resets = 0;
    uint64_t warms = 0, warm_indexed = 0;  // warm() calls that read the file, the rows they indexed
    uint64_t lookup_indexed = 0;           // rows a lookup had to index before answering
    size_t entries = 0;
    uint64_t covered_from = 0, end = 0;  // rows in [covered_from, end) are all indexed
  };
  Stats stats();

 private:
  void reset(uint64_t ino);
  int open_at_size(const std::string& path, uint64_t& size, std::string& err);  // under mu_; resets a replaced file
  bool catch_up(int fd, uint64_t size, std::string& err);
  void add(uint64_t key, uint64_t off);

  std::mutex mu_;
  size_t max_;
  uint64_t tail_;
  uint64_t ino_ = 0, header_end_ = 0, covered_from_ = 0, end_ = 0;
  std::string header_;
  std::unordered_map<uint64_t, uint64_t> newest_;    // key hash -> offset of its newest row
  std::deque<std::pair<uint64_t, uint64_t>> order_;  // (key hash, offset), oldest first
  Stats st_;
};

}  // namespace spectre::learn
