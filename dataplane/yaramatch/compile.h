// YARA rules (libyara 4.2): the `yara:` configuration, compiling rule files
// into one YR_RULES off the workers (main thread at start, a reload helper
// on SIGHUP), held by the snapshot like the signature rules.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/core/yaml_reader.h"

typedef struct YR_RULES YR_RULES;

namespace spectre::yara {

constexpr uint32_t kGid = 9300;  // alert gid (ML 9000, behaviour 9100, intel 9200); sid: hash of ns:rule

struct Config {
  std::vector<std::string> rules;     // files or directories (their *.yar / *.yara, not recursive)
  uint32_t max_file_size = 1u << 20;  // bytes of a file scanned at most (of those the app layer kept)
  uint32_t stream_bytes = 0;          // stream directions: not scanned yet, only 0 is accepted
  uint32_t timeout_s = 1;             // per scan (libyara's timeout; counted, the file's matches so far kept)
};

// yara: {rules: [FILE|DIR...], max_file_size: N, stream_bytes: 0, timeout: S}
bool parse_config(const YAML::Node& v, YamlReader& L, Config& c);

// A compiled set. Rules of each file are in their own namespace: the file's
// name without its extension. Freed when the last snapshot (or worker
// scanner) holding it lets go.
class RuleSet {
 public:
  RuleSet(YR_RULES* r, uint32_t count, uint32_t files) : rules_(r), count_(count), files_(files) {}
  ~RuleSet();
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;
  YR_RULES* rules() const { return rules_; }
  uint32_t count() const { return count_; }
  uint32_t files() const { return files_; }

 private:
  YR_RULES* rules_;
  uint32_t count_, files_;
};

// libyara's process-wide set-up, once (any thread); torn down at exit.
bool init();

// Compiles every file named (a directory: its *.yar and *.yara in name
// order). Any compile error refuses the whole set: null with `err`
// "FILE:LINE: message" (the first errors, "; "-joined). A missing or
// unreadable file is an error too. Warnings go to `warnings` ("FILE:LINE:
// warning: ..."); `strict`: a warning or a set without rules is an error.
// No rules and not strict: null, `err` empty.
std::shared_ptr<const RuleSet> compile(const std::vector<std::string>& paths, bool strict, std::string& err,
                                       std::vector<std::string>* warnings = nullptr);
std::string summary(const RuleSet& rs, const Config& c);

}  // namespace spectre::yara
