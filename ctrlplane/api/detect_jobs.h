// Offline pcap analysis for POST /api/v1/detect: an uploaded capture is
// written to a temp file and queued; one worker thread runs spectre-dp -r
// on it (the operator's --detect-config as its --config, no incidents of
// its own), reads the EVE alerts and runs the Cortex library over the EVE
// lines to build the incidents. The last keep_jobs jobs are kept, each with
// at most max_items alerts/incidents (the counts go on beyond); with a store,
// each job and, once done, its results are written there (older jobs deleted
// with the trim), so GET /detect/{job} answers after a restart: at create()
// the stored jobs come back (results read from the store when asked), and a
// job that was queued or running when spectre-cp stopped is failed
// ("interrupted").
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctrlplane/store/store.h"

namespace spectre::cortex { struct Config; }

namespace spectre::api {

struct DetectOptions {
  std::string dp;                  // spectre-dp binary
  std::string config;              // its --config ("" : spectre-dp's own default)
  std::string tmp_dir;             // captures and EVE files ("" : $TMPDIR or /tmp)
  uint64_t max_bytes = 64ull << 20;  // upload limit (the server answers 413 above)
  size_t max_queued = 4;           // waiting jobs; more: 503
  size_t keep_jobs = 16;           // finished jobs kept; the oldest finished goes first
  size_t max_items = 10000;        // alerts / incidents kept per job
  size_t max_job_bytes = 8 << 20;  // and their EVE text at most (16 jobs: 128 MiB at worst)
  int timeout_s = 600;             // spectre-dp is killed after this
  store::Store* store = nullptr;   // persistence (null: memory only)
};

class DetectJobs {
 public:
  enum class State { kQueued, kRunning, kDone, kFailed };
  // Null + err when the incidents: section of o.config is bad (checked at start, not per job).
  static std::unique_ptr<DetectJobs> create(DetectOptions o, std::string& err);
  ~DetectJobs();  // kills a running spectre-dp, drops the queue, removes the temp files
  // "" when `body` is a pcap or pcapng file, else the reason.
  static std::string capture_error(std::string_view body);
  // 202-style acceptance: true + id; false + status (400, 503, 500) and reason.
  bool submit(std::string_view body, std::string& id, int& status, std::string& err, const std::string& who = "");
  // The job's status object; false when unknown.
  bool status(const std::string& id, nlohmann::json& out);
  // The job's alerts / incidents in the API's shapes; false when unknown.
  bool alerts(const std::string& id, std::vector<store::AlertRow>& out);
  bool incidents(const std::string& id, std::vector<store::IncidentRow>& out);
  const DetectOptions& options() const { return opt_; }

 private:
  struct Job {
    std::string id, pcap, error, submitted_by;
    State state = State::kQueued;
    double progress = 0;
    uint64_t seq = 0, size = 0, n_alerts = 0, n_incidents = 0;
    int64_t submitted_ms = 0, started_ms = 0, finished_ms = 0;
    bool results_here = true;  // false: a stored job of an earlier run (results read from the store)
    bool truncated = false;
    std::vector<store::AlertRow> alerts;
    std::vector<store::IncidentRow> incidents;
    std::vector<std::string> warnings;  // spectre-dp's capture read errors (at most 8)
  };
  void loop();
  void run(const std::shared_ptr<Job>& j);
  bool run_dp(const std::shared_ptr<Job>& j, const std::string& eve, std::string& err);
  void note_warnings(const std::shared_ptr<Job>& j, std::string_view chunk, std::string& line);
  bool collect(const std::shared_ptr<Job>& j, const std::string& eve, std::string& err);
  void trim();  // with mu_ held
  void restore();  // create(): the stored jobs
  void persist(const Job& j);  // with mu_ held: the job's row
  bool load_results(Job& j);   // with mu_ held: a stored job's results
  DetectJobs() = default;
  DetectOptions opt_;
  std::unique_ptr<cortex::Config> cx_;  // the Cortex's configuration (automatic actions off)
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::deque<std::string> order_;  // ids, oldest first
  std::atomic<bool> stop_{false};
  std::atomic<int> child_{0};      // the running spectre-dp's pid (0: none)
  uint64_t seq_ = 0;
  std::thread thr_;
};

const char* detect_state_name(DetectJobs::State s);

}  // namespace spectre::api
