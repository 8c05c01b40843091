// Model registry: a directory holding every model version the control plane
// has loaded (artifact copies named <sha256>.spm) and index.json (entries,
// activation history, active and shadow choice). Every change re-reads the
// index under an exclusive flock on DIR/.lock, then writes a temp file,
// fsyncs and renames it, so concurrent writers (threads or processes) never
// lose each other's entries and a crash leaves the old or the new index.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace spectre::cp {

struct ModelEntry {
  std::string name;        // artifact file name without .spm (as the data plane names it)
  std::string version;     // metric "version" of the artifact, else the first 12 hex of sha256
  std::string sha256;      // hex of the artifact's trailer
  std::string kind;        // "xgboost" / "iforest"
  std::string loaded_at;   // ISO 8601 UTC of the last load
  int64_t loaded_at_unix = 0;
  std::string who;         // "uid=1000(alice) gid=1000 pid=4242"
  std::string source;      // path the operator gave
};

// An artifact that passed validation and is not stored yet.
struct ModelCandidate {
  std::string source;
  ModelEntry entry;        // loaded_at / who filled at activation
  uint64_t size = 0;
  uint32_t num_features = 0, num_outputs = 0, validation_rows = 0;
  std::vector<uint8_t> bytes;  // the validated content (stored as is: no re-read, no TOCTOU)
};

class ModelRegistry {
 public:
  // Creates DIR (mode 0750) when missing and reads DIR/index.json. A corrupt
  // index is an error (it is never overwritten silently).
  bool open(const std::string& dir, std::string& err);
  // Re-reads the index (another process may have changed it).
  bool refresh(std::string& err);

  // ml::load_artifact_file (sha256 trailer, flatbuffer structure, validation
  // rows re-scored) plus, when expected_schema is non-empty, equality of the
  // artifact's feature schema hash with it. Touches nothing on disk.
  static bool validate(const std::string& file, const std::string& expected_schema,
                       ModelCandidate& out, std::string& err);

  // Copies the artifact to DIR/<sha256>.spm (temp + rename; no-op if present).
  bool store(const ModelCandidate& c, std::string& stored_path, std::string& err);
  // Removes DIR/<sha256>.spm unless an index entry refers to it (undo of store).
  void discard(const std::string& sha256);

  // Adds or updates the entry and makes it active (appended to the history).
  bool activate(const ModelEntry& e, std::string& err);
  // The version before the active one in the activation history.
  bool previous(ModelEntry& out, std::string& err) const;
  // Makes the previous version active (drops the active one from the history).
  // `expect_active` guards against a concurrent change since previous().
  bool rollback(const std::string& expect_active, std::string& err);
  // Adds the entry (a stored artifact) to the index without activating it; no-op if present.
  bool add(const ModelEntry& e, std::string& err);
  // Records (or, with an empty sha256, clears) the shadow choice; adds the entry if new.
  bool set_shadow(const ModelEntry& e, std::string& err);

  // Evaluation record of a stored model (the learning loop's gate report, a
  // JSON object) in DIR/<sha256>.eval.json, written atomically; "" when none.
  bool put_evaluation(const std::string& sha256, const std::string& json, std::string& err);
  std::string evaluation(const std::string& sha256) const;
  // The entry whose version, full sha256 or sha256 prefix (>= 8 hex) is `v`;
  // several matches or none: nullopt.
  std::optional<ModelEntry> find_version(const std::string& v) const;

  std::vector<ModelEntry> list() const;  // in first-load order
  std::optional<ModelEntry> active() const;
  std::optional<ModelEntry> shadow() const;
  std::vector<std::string> history() const;  // sha256s, oldest first
  std::string path_of(const std::string& sha256) const;
  const std::string& dir() const { return dir_; }

 private:
  struct State {
    std::vector<ModelEntry> models;
    std::vector<std::string> history;
    std::string shadow;
  };
  bool read_index(State& st, std::string& err) const;
  bool write_index(const State& st, std::string& err) const;
  // Runs f on the freshly read state under the directory lock and writes it back if f returns true.
  template <class F> bool update(F&& f, std::string& err);
  static const ModelEntry* find(const State& st, const std::string& sha);

  std::string dir_;
  mutable std::mutex mu_;
  State st_;
};

// ISO 8601 UTC ("2025-01-31T12:00:00Z") of a unix time.
std::string iso_time_utc(int64_t unix_s);

}  // namespace spectre::cp
