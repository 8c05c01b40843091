// Counters declared once. Each counter group lists its counters as an X-macro
// of entries X(field, "path", kind, "help") (the lists: counters.h beside each
// group's header; the full table: dataplane/core/counter_table.h). From one
// entry come the struct field (uint64_t field), the stats event key (path,
// dot-separated under "stats"), the WorkerStats.counters slot and the
// Prometheus name (prom_name(path)). No dependencies: spectre-cp includes it.
#pragma once
#include <cstdint>

namespace spectre {

// kCounter: summed over workers, a Prometheus counter; kGauge: summed, a
// gauge (flows active); kMax: the largest over workers, a gauge.
enum class CounterKind : uint8_t { kCounter, kGauge, kMax };

struct CounterDesc {
  const char* field;
  const char* path;
  CounterKind kind;
  const char* help;
};

}  // namespace spectre

// Use inside a struct: SPECTRE_DECODE_COUNTERS(SPECTRE_COUNTER_FIELD)
#define SPECTRE_COUNTER_FIELD(f, path, kind, help) uint64_t f;
#define SPECTRE_COUNTER_DESC(f, path, kind, help) ::spectre::CounterDesc{#f, path, ::spectre::CounterKind::kind, help},
