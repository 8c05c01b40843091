// EVE JSON file output with rotation, off the caller's thread: callers append
// whole lines to a memory buffer (a short mutex hold, no I/O); a writer thread
// flushes it every flush_ms (or at half the buffer), rotates and reopens.
//
// Rotation happens only between lines, so no line is split or lost across
// files. Numbered mode: eve.json -> eve.json.1 -> ... -> eve.json.<keep>
// (the oldest is deleted). Timestamped mode: eve.json -> eve.json.<YYYYmmdd-HHMMSS>
// (a -N suffix when taken), keeping the newest <keep> of those (0 = all).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "ctrlplane/export/event.h"

namespace spectre::exporter {

struct EveFileOptions {
  std::string path = "eve.json";
  uint64_t rotate_bytes = 0;    // rotate before a line would make the file exceed this; 0 = never
  uint32_t rotate_seconds = 0;  // rotate when the file is this old (checked at each flush); 0 = never
  uint32_t keep = 5;            // rotated files kept (numbered: 0 deletes at rotation; timestamped: 0 keeps all)
  bool timestamped = false;     // timestamped names instead of .1 .. .N
  size_t buffer_bytes = 4u << 20;  // pending data cap: lines beyond it are dropped and counted
  uint32_t flush_ms = 200;
  uint32_t file_mode = 0640;
};

struct EveFileStats {
  uint64_t lines = 0;          // lines written to files
  uint64_t bytes = 0;
  uint64_t dropped = 0;        // lines refused: buffer full or sink not open
  uint64_t rotations = 0;
  uint64_t reopens = 0;
  uint64_t write_errors = 0;   // failed write/open calls (the data is dropped, counted in dropped)
};

class EveFileSink {
 public:
  explicit EveFileSink(EveFileOptions opts);
  ~EveFileSink();  // close()
  EveFileSink(const EveFileSink&) = delete;
  EveFileSink& operator=(const EveFileSink&) = delete;

  // Opens (appends to) the file and starts the writer thread. false + *err on failure.
  bool open(std::string* err);
  // Queues one line; a '\n' is added when missing. Never does I/O. false when dropped.
  bool write_line(std::string_view line);
  bool write(const CpAlert& a);
  bool write(const CpFlow& f);
  // logrotate (SIGHUP): the writer closes and reopens `path` at its next
  // wake-up, which this call triggers. Not async-signal-safe: call it from
  // the daemon's loop after a signal handler set a flag.
  void reopen();
  // Writes everything queued so far and fsyncs nothing (waits for the writer).
  void flush();
  // Flushes and stops the writer; idempotent.
  void close();
  EveFileStats stats() const;
  const EveFileOptions& options() const { return opts_; }

 private:
  void run();
  bool open_file(std::string* err);
  void write_chunk(const std::string& data);
  void rotate();
  void prune_timestamped();

  EveFileOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // wakes the writer
  std::condition_variable done_cv_;  // flush() waits on it
  std::string pending_;              // guarded by mu_
  uint64_t pending_lines_ = 0;
  uint64_t flush_req_ = 0, flush_done_ = 0;
  bool stop_ = false, reopen_req_ = false, running_ = false;
  std::thread thread_;

  // Writer thread only.
  int fd_ = -1;
  uint64_t file_bytes_ = 0;
  uint64_t opened_ns_ = 0;  // steady clock
  std::string last_ts_;     // timestamped mode: the last name's second and its
  int ts_seq_ = 0;          // suffix, so names stay ordered after pruning

  std::atomic<uint64_t> lines_{0}, bytes_{0}, dropped_{0}, rotations_{0}, reopens_{0}, write_errors_{0};
};

}  // namespace spectre::exporter
