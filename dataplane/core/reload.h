// Reloads off the main lcore. Re-reading the config, loading and self-testing
// a model (1-10 ms here, more under sanitizers) and compiling rules (seconds
// for ET Open) run on helper threads. The main lcore, which also distributes
// the packets of single-queue ports, only queues requests and publishes
// finished results (one snapshot pointer swap): a stall there would overflow
// the port's receive ring (512 frames on af_packet: 25 ms at 20 kpps).
//
// Threads: every public member on the main lcore; job bodies on helpers.
#pragma once
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dataplane/core/cli.h"
#include "dataplane/core/config.h"
#include "dataplane/core/snapshot.h"
#include "dataplane/core/stats.h"

namespace spectre {

class ControlLink;

// Queued jobs run one at a time, in order, each on a fresh helper thread. A
// job returns the step that publishes its result; poll() runs that step.
class JobLane {
 public:
  using Finish = std::function<void()>;  // main lcore
  using Work = std::function<Finish()>;  // helper thread
  using Drop = std::function<void()>;    // main lcore: queued, never run (shutdown)
  JobLane() = default;
  JobLane(const JobLane&) = delete;
  JobLane& operator=(const JobLane&) = delete;
  ~JobLane();

  void push(Work w, Drop d = {});
  // Publishes a finished job and starts the next. wait: join the running one first.
  void poll(bool wait = false);
  // Shutdown: finishes the running job, drops the queued ones.
  void drain();
  size_t queued() const { return queue_.size(); }
  bool busy() const { return th_.joinable(); }

 private:
  struct Item {
    Work work;
    Drop drop;
  };
  std::deque<Item> queue_;
  std::thread th_;                 // joinable while a job runs or awaits poll()
  std::atomic<bool> done_{false};  // release by the helper after setting finish_
  Finish finish_;
};

class Reloader {
 public:
  Reloader(SnapshotManager& snaps, IoCounters& io, const Options& opt, Config& cfg, uint32_t workers)
      : snaps_(snaps), io_(io), opt_(opt), cfg_(cfg), workers_(workers) {}
  void set_control(ControlLink* c) { ctrl_ = c; }

  // SIGHUP (ctl false) or `config reload`: re-reads the config file and its model.
  void config(bool ctl, uint64_t id);
  // `model load|rollback|shadow FILE`; shadow with an empty path clears the shadow.
  void model(uint64_t id, const std::string& path, bool shadow);
  // SIGUSR2 (ctl false; coalesced into a queued reload) or `rules reload
  // [FILES]`. False with `msg`: refused now, nothing queued.
  bool rules(bool ctl, uint64_t id, const std::vector<std::string>& files, std::string& msg);

  void poll() {
    cfg_lane_.poll();
    rules_lane_.poll();
  }
  void drain() {
    cfg_lane_.drain();
    rules_lane_.drain();
  }
  uint64_t rules_generation() const { return rules_generation_; }
  double slowest_config_ms() const { return double(slowest_cfg_ns_) * 1e-6; }

 private:
  void respond(bool ctl, uint64_t id, bool ok, const std::string& msg);
  JobLane::Finish refuse_config(bool ctl, uint64_t id, const std::string& err);
  void publish(std::unique_ptr<Snapshot> next);  // next generation
  JobLane::Drop dropper(bool ctl, uint64_t id);

  SnapshotManager& snaps_;
  IoCounters& io_;
  const Options& opt_;
  Config& cfg_;  // the start-up config; `rules reload FILES` changes its rule files
  uint32_t workers_;
  ControlLink* ctrl_ = nullptr;
  uint64_t rules_generation_ = 1;
  uint64_t slowest_cfg_ns_ = 0;  // config reload or model load, on its helper
  uint32_t ctl_rules_ = 0;       // control-plane rule reloads queued or running
  // Last: destroyed (joined) first.
  JobLane cfg_lane_, rules_lane_;
};

}  // namespace spectre
