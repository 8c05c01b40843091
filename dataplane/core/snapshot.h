// Immutable configuration snapshot, published by one pointer swap and freed
// after an rte_rcu_qsbr grace period.
//
// Threads: publish()/reclaim()/wait_all() on the control (main) thread only;
// current()/quiescent() on workers, once per loop iteration.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <rte_rcu_qsbr.h>

#include "dataplane/behave/config.h"
#include "dataplane/core/config.h"
#include "dataplane/detect/detect.h"
#include "dataplane/rules/rule.h"
#include "dataplane/features/scoring.h"
#include "dataplane/intel/intel.h"
#include "dataplane/stream/reassembly.h"

namespace spectre {

struct Snapshot {
  uint64_t generation = 0;
  uint64_t tmo_ns[kTmoClassCount] = {};
  uint64_t defrag_timeout_ns = 0;
  uint32_t expire_budget = 0;
  Config cfg;
  StreamConfig stream;
  bool app_layer = true;
  bool app_events = true;       // transaction logs to EVE
  bool alert_payload = false, alert_packet = false;  // copy bytes into alert records
  bool checksum_validate = false;
  std::shared_ptr<const CompiledRuleset> rules;  // null: no signature inspection
  MlSettings ml;
  rules::IpSet home_net;        // $HOME_NET as the rules see it (any: matches all)
  std::string home_net_text;    // as configured, for messages
  behave::Settings behave;      // behaviour detectors (dataplane/behave/)
  std::shared_ptr<const intel::IntelSet> intel;  // null: no threat-intel matching
  std::shared_ptr<const yara::RuleSet> yara;     // null: no YARA scanning (cfg.yara: its settings)
};

std::unique_ptr<Snapshot> build_snapshot(const Config& cfg, uint64_t generation);
// Sets the model (may be null); feature tracking follows (MlSettings::on).
inline void set_model(Snapshot& s, std::shared_ptr<const MlModel> m) { s.ml.model = std::move(m); }

class SnapshotManager {
 public:
  SnapshotManager(std::unique_ptr<Snapshot> first, uint32_t max_threads);
  ~SnapshotManager();

  // Worker side.
  void thread_online(uint32_t tid);
  void thread_offline(uint32_t tid);
  // Marks that `tid` holds no snapshot pointer from before this call.
  void quiescent(uint32_t tid) { rte_rcu_qsbr_quiescent(qs_, tid); }
  // acquire pairs with the release store in publish(): the snapshot's
  // contents are visible before its pointer.
  const Snapshot* current() const { return cur_.load(std::memory_order_acquire); }

  // Control side. Never blocks: the old snapshot is retired and freed by a
  // later reclaim() once every online worker has passed a quiescent point.
  void publish(std::unique_ptr<Snapshot> next);
  // Frees retired snapshots whose grace period has ended; returns how many remain.
  size_t reclaim();
  // Blocks until every retired snapshot is freed (shutdown, tests).
  void wait_all();
  uint64_t published() const { return published_; }
  uint64_t freed() const { return freed_; }

 private:
  struct Retired {
    const Snapshot* snap;
    uint64_t token;
  };
  std::atomic<const Snapshot*> cur_;
  rte_rcu_qsbr* qs_ = nullptr;
  std::vector<Retired> retired_;
  uint64_t published_ = 0, freed_ = 0;
};

}  // namespace spectre
