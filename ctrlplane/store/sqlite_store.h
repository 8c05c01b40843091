// Store over an embedded SQLite database: WAL, schema versioned by
// PRAGMA user_version with forward migrations, one writer connection (the
// writer thread's batches and the API's analyst changes, under one mutex, so
// SQLite never answers BUSY) and one reader connection. Ingest goes through a
// bounded queue: a full queue drops and counts, never blocks.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <variant>

#include "ctrlplane/store/sqlite_db.h"
#include "ctrlplane/store/store.h"

namespace spectre::store {

constexpr int kSchemaVersion = 6;
constexpr int kFlowsSchemaVersion = 3;  // the migration that made flows queryable (schema.cc)
constexpr int kDailyDim = 16;  // agg dim + 16: per-day rows (schema.cc)

struct SqliteOptions {
  std::string path;
  size_t queue_capacity = 65536;  // rows waiting for the writer (~1 s of a busy sensor)
  size_t flow_queue_capacity = 16384;  // of those, flow rows at most (the rest stays for alerts)
  size_t batch = 16384;           // rows per transaction at most (a deep queue: fewer aggregate upserts a row)
  int flush_ms = 50;              // the writer commits at least this often when rows wait
  RetentionPolicy retention;      // applied by the writer every retention_every_s
  int retention_every_s = 60;
  bool synchronous_normal = true; // WAL + synchronous=NORMAL: durable up to the last checkpoint
};

// The WHERE/ORDER/LIMIT of a list query and its binds (exposed for tests).
// cols: "SELECT ... FROM table" instead of every column (the bounded q= scan reads only what it tests).
void build_alert_query(const AlertQuery& q, std::string& sql, std::vector<Bind>& binds, const char* cols = nullptr);
void build_incident_query(const IncidentQuery& q, std::string& sql, std::vector<Bind>& binds,
                          const char* cols = nullptr);
void build_flow_query(const FlowQuery& q, std::string& sql, std::vector<Bind>& binds);
// Free-text search (q=, sqlite_search.cc): for a term of 3+ characters the
// trigram index gives candidate rows (an FTS5 MATCH of the term's rare
// trigrams: at most 2,000 rows each); the list query takes those rows
// (q_match, plus the exact-address rows, at most kFtsMaxCandidates in all)
// and keeps the LIKE predicate as the exact test. Otherwise (every trigram
// common, or a short term) the ordered walk with the LIKE residual.
constexpr size_t kFtsMaxCandidates = 10000;
bool fts_term(std::string_view q);           // 3+ characters (the trigram index cannot answer fewer)
std::string fts_phrase(std::string_view q);  // q as one FTS5 phrase: quoted, quotes doubled
// The MATCH expression for q=, "" when the walk is the better plan.
// absent: set when no text has one of the term's trigrams (only exact-address rows can match).
std::string alerts_q_match(Db& db, std::string_view q, bool* absent = nullptr);
// q='s plan for list_alerts: q.q_match (the index narrows), else with `stop` a
// scan of at most q.q_scan_rows rows of the rest of the query, newest first, that
// stops at LIMIT matches: q.q_ids and *stop. Without `stop`, the whole walk.
bool alerts_q_plan(Db& db, AlertQuery& q, ListStop* stop, std::string& err);
// signature=: its texts (AlertQuery::sig_text_ids, sig_none) when at most kSignatureWalks.
constexpr size_t kSignatureWalks = 16;
bool alerts_signature_plan(Db& db, AlertQuery& q, std::string& err);
std::string incidents_q_match(Db& db, std::string_view q);
// The same plan for list_incidents (the scan tests the latest record).
bool incidents_q_plan(Db& db, IncidentQuery& q, ListStop* stop, std::string& err);
// Applies the migrations from the file's user_version to `target` (tests: an older layout).
bool migrate(Db& db, std::string& err, int target = kSchemaVersion);

class SqliteStore final : public Store {
 public:
  static std::unique_ptr<SqliteStore> open(const SqliteOptions& o, std::string& err);
  ~SqliteStore() override;
  void close();  // stops the writer after draining the queue

  uint64_t enqueue_alert(AlertRow a) override;
  uint64_t enqueue_incident(IncidentRow r) override;
  uint64_t enqueue_flow(FlowRow f) override;
  void flush() override;
  uint64_t max_alert_id() override;
  uint64_t max_update_id() override;

  bool list_alerts(const AlertQuery& q, std::vector<AlertRow>& out, std::string& err,
                   ListStop* stop = nullptr) override;
  std::optional<AlertRow> get_alert(uint64_t id) override;
  bool alerts_after(uint64_t after, size_t max, std::vector<AlertRow>& out) override;
  uint64_t min_alert_id() override;
  uint64_t update_alerts(const std::vector<uint64_t>& ids, const AnalystSet& s, std::vector<uint64_t>& missing) override;

  bool list_flows(const FlowQuery& q, std::vector<FlowRow>& out, std::string& err) override;
  bool flows_after(uint64_t after, size_t max, std::vector<FlowRow>& out) override;
  uint64_t min_flow_id() override;
  uint64_t max_flow_id() override;

  bool list_incidents(const IncidentQuery& q, std::vector<IncidentRow>& out, std::string& err,
                      ListStop* stop = nullptr) override;
  std::optional<IncidentRow> get_incident(uint64_t id) override;
  std::vector<IncidentUpdate> incident_updates(uint64_t incident_id, size_t max) override;
  bool updates_after(uint64_t after, size_t max, std::vector<IncidentUpdate>& out) override;
  uint64_t min_update_id() override;
  uint64_t update_incidents(const std::vector<uint64_t>& ids, const AnalystSet& s,
                            std::vector<uint64_t>& missing) override;
  std::map<std::string, uint64_t> open_incidents_by_level() override;

  bool add_comment(const std::string& target, uint64_t id, const Comment& c) override;
  std::vector<Comment> comments(const std::string& target, uint64_t id) override;
  uint64_t add_feedback(Feedback& f) override;
  std::vector<Feedback> feedback(const std::string& target, uint64_t id) override;
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> feedback_by_rule() override;
  std::vector<Feedback> feedback_all(size_t max) override;
  bool audit(const AuditEntry& e) override;
  std::vector<AuditEntry> audit_log(size_t limit) override;
  bool add_evaluation(const std::string& version, int64_t ts_ms, const std::string& metrics_json) override;
  std::vector<std::pair<std::string, std::string>> evaluations(size_t limit) override;

  uint64_t add_webhook(Webhook& w) override;
  std::vector<Webhook> webhooks() override;
  bool delete_webhook(uint64_t id) override;
  std::optional<std::string> setting(const std::string& key) override;
  bool set_setting(const std::string& key, const std::string& value) override;

  bool save_detect_job(const DetectJobRow& j) override;
  bool save_detect_results(const std::string& id, const Numbered& alerts, const Numbered& incidents) override;
  std::vector<DetectJobRow> detect_jobs() override;
  bool detect_results(const std::string& id, int kind, Numbered& out) override;
  bool delete_detect_job(const std::string& id) override;

  std::vector<Series> trends(Dim d, int64_t from_ms, int64_t to_ms, int64_t bucket_ms, size_t max_keys) override;
  std::vector<KeyCount> top(Dim d, int64_t from_ms, int64_t to_ms, size_t limit) override;

  uint64_t apply_retention(const RetentionPolicy& p, int64_t now_ms) override;
  StoreStats stats() override;

 private:
  using Item = std::variant<AlertRow, IncidentRow, FlowRow>;
  SqliteStore() = default;
  void writer_loop();
  void write_batch(std::vector<Item>& batch);
  uint64_t retention_locked(const RetentionPolicy& p, int64_t now_ms);  // with wmu_ held
  int64_t text_id(const AlertRow& a);  // alert_texts' id of (signature, category), added when new; wmu_ held
  bool push(Item it);

  SqliteOptions opt_;
  Db w_, r_;                 // writer and reader connections
  std::mutex wmu_, rmu_;     // one user per connection at a time
  std::mutex qmu_;
  std::condition_variable qcv_, done_cv_;
  std::deque<Item> q_;
  bool stop_ = false;
  uint64_t next_alert_ = 1, next_update_ = 1, next_flow_ = 1;  // under qmu_
  size_t queued_flows_ = 0;                                    // under qmu_
  uint64_t pushed_ = 0, committed_ = 0;         // under qmu_ (flush)
  std::atomic<uint64_t> dropped_{0}, flows_dropped_{0}, written_{0}, batches_{0}, write_errors_{0}, retention_deleted_{0};
  std::thread writer_;
  std::unordered_map<std::string, int64_t> text_ids_;  // signature \x1f category -> alert_texts.id (wmu_)
};

}  // namespace spectre::store
