#include "dataplane/core/snapshot.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace spectre {

static_assert(kMlPointsMax == kMaxScorePoints, "config and snapshot agree on the scoring points");

std::unique_ptr<Snapshot> build_snapshot(const Config& cfg, uint64_t generation) {
  auto s = std::make_unique<Snapshot>();
  s->generation = generation;
  s->cfg = cfg;
  for (int i = 0; i < kTmoClassCount; i++) s->tmo_ns[i] = uint64_t(cfg.timeouts_s[i]) * 1000000000ull;
  s->defrag_timeout_ns = uint64_t(cfg.defrag_timeout_s) * 1000000000ull;
  s->expire_budget = cfg.expire_budget;
  s->stream.depth = cfg.stream_depth;
  s->stream.max_ooo_bytes = cfg.stream_max_ooo;
  s->stream.midstream = cfg.midstream;
  s->stream.async_oneside = cfg.async_oneside;
  s->app_layer = cfg.app_layer;
  s->app_events = cfg.eve_app_events && !cfg.eve_path.empty();
  s->alert_payload = cfg.eve_alert_payload;
  s->alert_packet = cfg.eve_alert_packet;
  s->checksum_validate = cfg.checksum_validate;
  s->ml.set_points(cfg.ml_points.data(), cfg.ml_points.size());
  s->ml.dump = !cfg.dump_features.empty();
  rules::Vars vars = rules::Vars::suricata_defaults();
  for (const auto& [k, v] : cfg.address_vars) vars.address[k] = v;
  s->home_net_text = vars.address["HOME_NET"];
  std::string err;  // a bad HOME_NET is reported by the rule loader; keep "any" here
  bool home_ok = rules::parse_address_set("$HOME_NET", vars, s->home_net, err);
  if (!home_ok) s->home_net = rules::IpSet{};
  // Behaviour (exfiltration) uses HOME_NET only when the configuration sets it.
  behave::build_settings(cfg.behave, home_ok && cfg.address_vars.count("HOME_NET") ? &s->home_net : nullptr,
                         s->behave);
  return s;
}

SnapshotManager::SnapshotManager(std::unique_ptr<Snapshot> first, uint32_t max_threads)
    : cur_(first.release()) {
  size_t sz = rte_rcu_qsbr_get_memsize(max_threads);
  qs_ = static_cast<rte_rcu_qsbr*>(std::aligned_alloc(RTE_CACHE_LINE_SIZE, (sz + 63) & ~size_t(63)));
  if (!qs_ || rte_rcu_qsbr_init(qs_, max_threads) != 0) throw std::bad_alloc();
}

SnapshotManager::~SnapshotManager() {
  for (auto& r : retired_) delete r.snap;
  delete cur_.load();
  std::free(qs_);
}

void SnapshotManager::thread_online(uint32_t tid) {
  rte_rcu_qsbr_thread_register(qs_, tid);
  rte_rcu_qsbr_thread_online(qs_, tid);
}

void SnapshotManager::thread_offline(uint32_t tid) {
  rte_rcu_qsbr_thread_offline(qs_, tid);
  rte_rcu_qsbr_thread_unregister(qs_, tid);
}

void SnapshotManager::publish(std::unique_ptr<Snapshot> next) {
  const Snapshot* old = cur_.exchange(next.release(), std::memory_order_acq_rel);
  // The token is taken after the swap: a worker that reports quiescence
  // past it can no longer hold `old`.
  retired_.push_back({old, rte_rcu_qsbr_start(qs_)});
  published_++;
  reclaim();
}

size_t SnapshotManager::reclaim() {
  size_t keep = 0;
  for (auto& r : retired_) {
    if (rte_rcu_qsbr_check(qs_, r.token, false) == 1) {
      delete r.snap;
      freed_++;
    } else {
      retired_[keep++] = r;
    }
  }
  retired_.resize(keep);
  return keep;
}

void SnapshotManager::wait_all() {
  for (auto& r : retired_) {
    rte_rcu_qsbr_check(qs_, r.token, true);
    delete r.snap;
    freed_++;
  }
  retired_.clear();
}

}  // namespace spectre
