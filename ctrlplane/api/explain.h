// GET /api/v1/alerts/{id}/explain (handlers_alerts.cc routes it here).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "ctrlplane/api/http_types.h"
#include "ctrlplane/api/ml_port.h"
#include "ctrlplane/store/store.h"

namespace spectre::api {

// Rule text by (gid, sid), read from the rule files spectre-cp is pointed at
// (--api-rules FILE|DIR: the files the data plane loads; a directory's
// *.rules). Re-read when a file changed, checked at most every 5 s.
// Commented-out (disabled) rules are not taken. Thread-safe.
class RuleTexts {
 public:
  using Map = std::map<std::pair<uint32_t, uint32_t>, std::string>;
  explicit RuleTexts(std::vector<std::string> paths = {}) : paths_(std::move(paths)) {}
  // The rule's text; "" when no file has it. `why` says which files were read.
  std::string find(uint32_t gid, uint32_t sid, std::string& why);
  bool configured() const { return !paths_.empty(); }
  // The rules of one file's text (gid 1 unless the rule says; continuation lines joined).
  static void parse(const std::string& text, Map& out);

 private:
  std::string stamp() const;  // the files' names, sizes and mtimes
  std::vector<std::string> paths_;
  std::mutex mu_;
  Map map_;
  std::string stamp_;
  int64_t checked_ms_ = -1;
};

// ML alerts: the model's contribution of every feature (the learning loop
// recomputes them on the dumped row; without it, the alert's top features).
// Every alert: its rule identity and rule text (the EVE's alert.rule, else
// `rules`), the matched buffers the EVE carries (payload, app-layer objects),
// and the explanation of the incident it belongs to (Reflex). 404: no such alert.
Response explain_alert(store::Store& st, MlPort* ml, uint64_t id, RuleTexts* rules = nullptr);

}  // namespace spectre::api
