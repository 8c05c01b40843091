// YARA scanning on the workers: a YR_SCANNER per worker, created once per
// rule set (the first file after a reload), scanning the bytes of each file
// the app layer hands to inspection (kFileData) when the file is handed on.
//
// Threads: a worker's own Scanner and Ctx only. Memory: the Ctx's fixed
// fields; libyara's scanner allocates when created (once per rule set) and
// keeps its match lists in its own arenas (bench/micro/micro_yara.cc counts
// allocations per scan).
#pragma once
#include <cstdint>
#include <memory>

#include "dataplane/core/counter_def.h"
#include "dataplane/events/event.h"
#include "dataplane/yaramatch/compile.h"
#include "dataplane/yaramatch/counters.h"

typedef struct YR_SCAN_CONTEXT YR_SCAN_CONTEXT;  // libyara's YR_SCANNER
typedef struct YR_RULE YR_RULE;

namespace spectre {
struct BufferSet;
struct AppMeta;
struct Flow;
struct Snapshot;
struct WorkerCtx;
}  // namespace spectre

namespace spectre::yara {

struct Counters {
  SPECTRE_YARA_COUNTERS(SPECTRE_COUNTER_FIELD)  // dataplane/yaramatch/counters.h
};

class Scanner {
 public:
  Scanner() = default;
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;
  // Uses `rs` from now on: a new YR_SCANNER when the set changed (its
  // reference keeps the rules alive while the scanner lives). False: libyara
  // could not create one (counted in errors).
  bool bind(const std::shared_ptr<const RuleSet>& rs, uint32_t timeout_s);
  // Scans d[0, n) with the bound rules: the matching rules, their string
  // identifiers and first match offsets into `out` (cut to fit); rule(i) is
  // out.hit[i]'s rule until the next scan. Returns libyara's result code.
  int scan(const uint8_t* d, uint32_t n, YaraEventMeta& out);
  const YR_RULE* rule(uint32_t i) const { return i < 4 ? hit_rules_[i] : nullptr; }
  Counters ctr{};

 private:
  static int on_msg(void* ctx, int msg, void* data, void* user);
  YR_SCAN_CONTEXT* sc_ = nullptr;  // a YR_SCANNER
  std::shared_ptr<const RuleSet> rs_;
  YaraEventMeta* out_ = nullptr;
  const YR_RULE* hit_rules_[4] = {};
};

// The rule's tags as a JSON array and its meta as a JSON object, cut to
// fit (a cut value ends its container). No allocation.
void rule_tags_json(const YR_RULE* r, char* out, size_t cap);
void rule_meta_json(const YR_RULE* r, char* out, size_t cap);
// Stable sid of a rule: FNV-1a of "namespace:rule", 31 bits, never 0.
uint32_t rule_sid(const char* ns, const char* rule);

// Per worker: the scanner, the matches of the tx being inspected, and those
// of files whose bytes were handed on before their end record (HTTP bodies
// past the body limit, SMB and FTP files filling their kept part, multipart
// parts after the first), kept for that record.
struct Ctx {
  Scanner sc;
  YaraEventMeta cur{}, part{};  // the tx's first file, a later part of a multipart body
  struct Pending {
    uint64_t flow;
    uint8_t dir, used;
    YaraEventMeta m;
  };
  static constexpr uint32_t kPending = 32;  // a full ring overwrites the oldest
  Pending pend[kPending] = {};
  uint32_t pend_next = 0;
};

// Inspection's hook for an app-layer transaction direction (before it is
// logged): scans its files (kFileData, each part of a multi-buffer), writes
// one alert per matching rule and file, and returns the matches the tx's
// fileinfo record carries (null: none). Worker thread; `s.yara` set.
const YaraEventMeta* scan_tx(WorkerCtx& w, const Snapshot& s, Flow& f, bool to_server, const BufferSet& b,
                             const AppMeta& meta, uint64_t ts);
// A fileinfo record: carries `m` (x.yara, has_yara).
void attach_fileinfo(const YaraEventMeta& m, AlertRecord& a);

}  // namespace spectre::yara
