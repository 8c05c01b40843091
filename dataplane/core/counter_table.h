// Every counter list in one table (see counter_def.h), for the stats event,
// the WorkerStats.counters vector and spectre-cp's Prometheus export. No
// dependencies beyond the lists: spectre-cp includes it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "dataplane/app/counters.h"
#include "dataplane/behave/counters.h"
#include "dataplane/core/counter_def.h"
#include "dataplane/core/counters.h"
#include "dataplane/decode/counters.h"
#include "dataplane/detect/counters.h"
#include "dataplane/features/counters.h"
#include "dataplane/flow/counters.h"
#include "dataplane/intel/counters.h"
#include "dataplane/stream/counters.h"
#include "dataplane/yaramatch/counters.h"

// The per-worker groups in WorkerStats.counters order: G(list, member of
// spectre::Totals holding that group). Adding a group: one line here.
#define SPECTRE_WORKER_COUNTER_GROUPS(G) \
  G(SPECTRE_DECODE_COUNTERS, w.dec)      \
  G(SPECTRE_FLOW_COUNTERS, w.flow)       \
  G(SPECTRE_WORKER_COUNTERS, w)          \
  G(SPECTRE_DEFRAG_COUNTERS, frag)       \
  G(SPECTRE_STREAM_COUNTERS, stream)     \
  G(SPECTRE_INSPECT_COUNTERS, insp)      \
  G(SPECTRE_APP_COUNTERS, app)           \
  G(SPECTRE_DETECT_COUNTERS, det)        \
  G(SPECTRE_ML_COUNTERS, ml)             \
  G(SPECTRE_BEHAVE_COUNTERS, behave)     \
  G(SPECTRE_INTEL_COUNTERS, intel)       \
  G(SPECTRE_YARA_COUNTERS, yara)

namespace spectre {

#define SPECTRE_COUNTER_GROUP_DESC(list, member) list(SPECTRE_COUNTER_DESC)
inline constexpr CounterDesc kWorkerCounters[] = {SPECTRE_WORKER_COUNTER_GROUPS(SPECTRE_COUNTER_GROUP_DESC)};
#undef SPECTRE_COUNTER_GROUP_DESC
inline constexpr CounterDesc kIoCounters[] = {SPECTRE_IO_COUNTERS(SPECTRE_COUNTER_DESC)};
inline constexpr size_t kWorkerCounterCount = std::size(kWorkerCounters);
inline constexpr size_t kIoCounterCount = std::size(kIoCounters);

// FNV-1a over both tables' paths and kinds: WorkerStats.counters_layout. A
// reader built from other lists ignores the vectors instead of misreading them.
constexpr uint64_t counters_layout() {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](const CounterDesc& d) {
    for (const char* p = d.path; *p; p++) h = (h ^ uint8_t(*p)) * 1099511628211ull;
    h = (h ^ (uint8_t(d.kind) + 1u)) * 1099511628211ull;
  };
  for (const CounterDesc& d : kWorkerCounters) mix(d);
  for (const CounterDesc& d : kIoCounters) mix(d);
  return h;
}

// Index of `path` in kWorkerCounters, kWorkerCounterCount if absent (use in
// constant expressions: a path that is not listed fails to compile there).
constexpr size_t worker_counter_index(std::string_view path) {
  for (size_t i = 0; i < kWorkerCounterCount; i++)
    if (std::string_view(kWorkerCounters[i].path) == path) return i;
  return kWorkerCounterCount;
}
template <size_t N>
struct ListedCounter {
  static_assert(N < kWorkerCounterCount, "not a path of kWorkerCounters");
  static constexpr size_t index = N;
};
#define SPECTRE_COUNTER_INDEX(path) (::spectre::ListedCounter<::spectre::worker_counter_index(path)>::index)

// Prometheus name: "spectre_dp_" + path with '.' as '_', "_total" for kCounter
// (decoder.pkts: spectre_dp_decoder_pkts_total).
inline std::string prom_name(const CounterDesc& d) {
  std::string n = "spectre_dp_";
  for (const char* p = d.path; *p; p++) n += *p == '.' ? '_' : *p;
  if (d.kind == CounterKind::kCounter) n += "_total";
  return n;
}
inline const char* prom_type(const CounterDesc& d) { return d.kind == CounterKind::kCounter ? "counter" : "gauge"; }

}  // namespace spectre
