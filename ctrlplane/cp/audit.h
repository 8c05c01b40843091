// Audit log: one JSON line per command (and per model activation), appended
// with a single write(2) on an O_APPEND descriptor so concurrent writers never
// interleave lines. Mode 0600 when created.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace spectre::cp {

// Who sent a command: SO_PEERCRED of the socket peer (pid 0 = the daemon itself).
struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string describe() const;  // "uid=1000(alice) gid=1000 pid=4242"
};

struct AuditRecord {
  Peer peer;
  std::string command;                 // "model load"
  std::vector<std::pair<std::string, std::string>> args;  // in request order
  bool ok = false;
  std::string message;                 // error text or short result
  std::string model_sha256;            // model commands: the model concerned
};

class AuditLog {
 public:
  ~AuditLog();
  // Opens (creating the parent directory, mode 0750, and the file, 0600) for appending.
  bool open(const std::string& path, std::string& err);
  // Appends one line; false (and the reason in last_error()) when the write failed.
  bool record(const AuditRecord& r);
  // The line record() writes, without the newline (time given in unix ms).
  static std::string format(const AuditRecord& r, int64_t unix_ms);
  const std::string& path() const { return path_; }
  std::string last_error();

 private:
  std::mutex mu_;
  int fd_ = -1;
  std::string path_, last_error_;
};

}  // namespace spectre::cp
