// Reflex's automatic actions (off unless incidents.response.enabled): a
// webhook POST of the incident to a SOAR, and a command that adds an
// address to a block list or nftables set. They run on the Responder's own
// thread, one at a time, each bounded in time, so the thread that ingests
// detections never waits on the network or a child process. Every action is
// audited (time, incident, action, target, result) in the audit file and on
// the incident (Cortex collects the results).
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ctrlplane/cortex/playbook.h"

namespace spectre::cortex {

// Wall-clock time in ns (action audit times; incident times are packet times).
uint64_t wall_ns();

struct ResponseConfig {
  bool enabled = false;                    // automatic actions run; else they are listed as "not run"
  std::string webhook;                     // SOAR URL (http:// or https://)
  std::string webhook_secret;              // HMAC-SHA256 header, as the webhook exporter
  // argv, run without a shell; an argument "{address}" (or containing it) gets
  // the address, else the address is appended as the last argument.
  std::vector<std::string> block_command;
  uint32_t timeout_ms = 5000;              // per action; a command past it is killed
  std::string audit_file;                  // JSON lines, appended; empty: none
  uint32_t max_targets = 8;                // addresses blocked per incident
  uint32_t queue_max = 256;                // pending actions; beyond: dropped and audited
  // The HTTP client, given by the process (spectre-cp: the webhook exporter's
  // curl code; the data plane links no HTTP client, so it leaves this empty
  // and webhook actions are recorded as not run). Returns the HTTP status or
  // -1 with *err. Called on the Responder's thread.
  using Poster = std::function<long(const std::string& url, const std::string& secret, uint32_t timeout_ms,
                                    const std::string& body, std::string* err)>;
  Poster post;
};

class Responder {
 public:
  explicit Responder(ResponseConfig c) : cfg_(std::move(c)) {}
  ~Responder();
  // Checks the configuration (an action a playbook names needs its target),
  // opens the audit file and starts the thread; "incidents.response: ..." errors.
  bool start(std::string& err);
  struct Job {
    uint64_t incident = 0;
    uint32_t slot = 0;                     // index of its ActionRecord on the incident
    AutoAction action = AutoAction::kWebhook;
    std::string target, body, playbook;
  };
  // Queues; false when the queue is full (the caller records it as dropped).
  bool submit(Job j);
  struct Done {
    uint64_t incident = 0;
    uint32_t slot = 0;
    ActionRecord rec;
  };
  std::vector<Done> take();                // finished since the last call
  bool has_done() const { return ndone_.load(std::memory_order_acquire) != 0; }
  void drain(uint32_t max_ms);             // waits for the queue to empty (end of input)
  void stop();
  const ResponseConfig& config() const { return cfg_; }
  uint64_t submitted = 0, dropped = 0;     // caller thread
  std::atomic<uint64_t> ok{0}, failed{0};

  // The block command for one address: "ok (exit 0)", "failed: exit N",
  // "failed: timeout after N ms (killed)", "failed: cannot run X: why".
  static std::string run_command(const std::vector<std::string>& argv, const std::string& address,
                                 uint32_t timeout_ms);
  static std::string run_webhook(const ResponseConfig& c, const std::string& body);

 private:
  void run();
  void audit(const Job& j, const ActionRecord& r);
  ResponseConfig cfg_;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<Job> q_;
  std::vector<Done> done_;
  std::atomic<size_t> ndone_{0};
  bool stop_ = false, busy_ = false;
  std::thread th_;
  FILE* audit_ = nullptr;
};

}  // namespace spectre::cortex
