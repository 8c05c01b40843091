// The analyst store: alerts, incidents (latest record + analyst fields, one
// update row per record), feedback, comments, audit, model evaluations,
// optional flow records, webhooks/settings and hourly aggregates. One
// interface so a server database can replace the embedded SQLite one
// (sqlite_store.h). Ingest never blocks: enqueue_* hands rows to a writer
// thread through a bounded queue and a full queue drops and counts.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace spectre::store {

// Analyst fields settable by PATCH / bulk; unset members are left alone.
struct AnalystSet {
  std::optional<std::string> status, assignee, classification;
};

struct AlertRow {
  uint64_t id = 0;        // assigned by enqueue_alert (== the alerts stream seq)
  int64_t ts_ms = 0;      // event time (the EVE timestamp), unix ms
  int severity = 3;       // 1 (most severe) .. 4
  uint32_t gid = 1, sid = 0, rev = 0;
  std::string signature, category, src_ip, dest_ip, proto, app_proto;
  uint16_t src_port = 0, dest_port = 0;
  std::string status = "new", assignee, classification;
  uint64_t incident_id = 0;  // 0: none
  std::vector<std::string> tactics, techniques;
  std::string eve;           // the EVE object
};

struct IncidentRow {
  uint64_t id = 0;           // the incident id (Cortex's)
  uint64_t update_id = 0;    // the update row of this record (== the incidents stream seq)
  int64_t first_ms = 0, last_ms = 0;
  std::string level = "info", status = "new", assignee, classification, event;
  double score = 0, confidence = 0;
  std::string attacker, victim;
  std::vector<std::string> tactics, techniques, signatures;
  uint64_t members_total = 0;
  std::string record;        // the latest EVE incident object ({"timestamp",..,"incident":{..}})
};

struct IncidentUpdate {
  uint64_t id = 0, incident_id = 0;
  int64_t ts_ms = 0;
  std::string event, level, record;
};

// An ended flow (EVE "flow" record).
struct FlowRow {
  uint64_t id = 0;           // assigned by enqueue_flow (== the flows stream seq)
  int64_t ts_ms = 0;         // the flow's end (the EVE timestamp), unix ms
  int64_t start_ms = 0;
  uint64_t flow_id = 0;      // the data plane's
  std::string src_ip, dest_ip, proto, app_proto;
  uint16_t src_port = 0, dest_port = 0;
  uint64_t bytes = 0, pkts = 0;  // both directions
  bool alerted = false;
  std::string eve;           // the EVE object
};

struct Feedback {
  uint64_t id = 0;
  std::string target;        // "alert" | "incident"
  uint64_t target_id = 0;
  std::string verdict, reason, note, author;
  int64_t ts_ms = 0;
};

struct Comment {
  int64_t ts_ms = 0;
  std::string author, text;
};

struct AuditEntry {
  int64_t ts_ms = 0;
  std::string actor, action, target, detail;
};

struct Webhook {
  uint64_t id = 0;
  std::string url, secret, min_level = "medium";
  std::vector<std::string> events;  // "alert", "incident"
};

// A v4 CIDR as an inclusive numeric range; v6 addresses match by text only.
struct IpRange {
  uint32_t lo = 0, hi = 0;
};

struct AlertQuery {
  int64_t from_ms = std::numeric_limits<int64_t>::min(), to_ms = std::numeric_limits<int64_t>::max();
  int max_severity = 0;      // 0: any; else severity <= this
  std::string signature;     // substring
  uint32_t sid = 0;
  std::string ip;            // exact, src or dest
  std::optional<IpRange> cidr;
  std::string category, status, tactic, technique, q;
  std::string q_match;       // q's candidates: an FTS5 MATCH expression (the store sets it; "": walk)
  std::string q_ids;         // q's candidates: a JSON array of ids found by a bounded scan (the store sets it)
  size_t q_scan_rows = 50000;  // the bounded scan's rows (ListStop; the API keeps this default)
  // signature's texts (the store sets them, alerts_signature_plan): the
  // alert_texts ids whose signature contains it, when at most
  // kSignatureWalks (sqlite_store.h); sig_none: no text contains it.
  std::vector<int64_t> sig_text_ids;
  bool sig_none = false;
  // Cursor: rows after (before_ts, before_id) in (ts, id) descending order (before_id 0: from the newest).
  int64_t before_ts = 0;
  uint64_t before_id = 0;
  size_t limit = 100;
};

// Where a bounded q= scan stopped (list_alerts / list_incidents with a
// ListStop): a term the trigram index cannot narrow is tested on at most a
// fixed number of rows (q_scan_rows, 50,000); when that cut the scan before
// LIMIT matches, cut is set and (ts, id) is the last row tested (incidents: ts
// 0, they page by id): the next page goes on from it.
struct ListStop {
  bool cut = false;
  uint64_t scanned = 0;  // rows tested by the scan (0: the index narrowed, no scan)
  int64_t ts = 0;
  uint64_t id = 0;
};

// Flows, newest first by end time (ties by id), like AlertQuery.
struct FlowQuery {
  int64_t from_ms = std::numeric_limits<int64_t>::min(), to_ms = std::numeric_limits<int64_t>::max();
  std::string ip;            // exact, src or dest
  std::optional<IpRange> cidr;
  int port = -1;             // src or dest; -1: any
  std::string proto, app_proto;
  uint64_t min_bytes = 0;
  int64_t before_ts = 0;     // cursor, as AlertQuery's
  uint64_t before_id = 0;
  size_t limit = 100;
};

struct IncidentQuery {
  int64_t from_ms = std::numeric_limits<int64_t>::min(), to_ms = std::numeric_limits<int64_t>::max();
  std::string level, status, tactic, technique, ip, q;
  std::string q_match;       // q's candidates: an FTS5 MATCH expression (the store sets it; "": walk)
  std::string q_ids;         // q's candidates found by a bounded scan (the store sets it), as AlertQuery's
  size_t q_scan_rows = 50000;  // the bounded scan's rows (ListStop), as AlertQuery's
  uint64_t before_id = 0;    // cursor on the incident id
  size_t limit = 100;
};

// Aggregate dimensions kept per hour.
enum class Dim : uint8_t { kSeverity, kCategory, kSignature, kTactic, kSrc, kDest, kIncidentLevel };
const char* dim_name(Dim d);

struct Point {
  int64_t t_ms = 0;
  uint64_t count = 0;
};
struct Series {
  std::string key;
  std::vector<Point> points;
};
struct KeyCount {
  std::string key;
  uint64_t count = 0;
};

struct RetentionPolicy {
  int64_t max_age_ms = 0;    // 0: no age limit
  uint64_t max_bytes = 0;    // 0: no size limit (database file size)
};

struct StoreStats {
  uint64_t alerts = 0, incidents = 0, updates = 0, flows = 0;
  uint64_t bytes = 0;
  uint64_t queued = 0, dropped = 0, written = 0, batches = 0, write_errors = 0;
  uint64_t flows_dropped = 0;  // of dropped: flow rows (their share of the queue was full)
  uint64_t retention_deleted = 0;
};

// A /detect job (ctrlplane/api/detect_jobs.h) as stored: its results are the
// alerts' EVE objects and the incidents' latest records (detect_results).
struct DetectJobRow {
  std::string id, state = "queued", submitted_by, error;
  uint64_t seq = 0, bytes = 0, alerts = 0, incidents = 0;
  double progress = 0;
  int64_t submitted_ms = 0, started_ms = 0, finished_ms = 0;  // 0: not yet
  bool truncated = false;
  std::vector<std::string> warnings;
};

class Store {
 public:
  virtual ~Store() = default;

  // Ingest: never blocks. The id (alerts) / update id (incidents) assigned, 0 when dropped.
  virtual uint64_t enqueue_alert(AlertRow a) = 0;
  virtual uint64_t enqueue_incident(IncidentRow r) = 0;
  // The flow id (== the flows stream seq), 0 when dropped. Flows may hold only
  // part of the queue, so a flood of flows never crowds out alerts.
  virtual uint64_t enqueue_flow(FlowRow f) = 0;
  virtual void flush() = 0;  // returns once everything enqueued so far is committed
  virtual uint64_t max_alert_id() = 0;
  virtual uint64_t max_update_id() = 0;

  // Alerts (newest first by id).
  // With `stop`, a q= the index cannot narrow is a bounded scan (ListStop); without, the whole walk (exports).
  virtual bool list_alerts(const AlertQuery& q, std::vector<AlertRow>& out, std::string& err,
                           ListStop* stop = nullptr) = 0;
  virtual std::optional<AlertRow> get_alert(uint64_t id) = 0;
  virtual bool alerts_after(uint64_t after, size_t max, std::vector<AlertRow>& out) = 0;  // oldest first
  virtual uint64_t min_alert_id() = 0;
  // Sets analyst fields; ids not found go to `missing`. Returns rows updated.
  virtual uint64_t update_alerts(const std::vector<uint64_t>& ids, const AnalystSet& s,
                                 std::vector<uint64_t>& missing) = 0;

  // Flows (newest first by end time).
  virtual bool list_flows(const FlowQuery& q, std::vector<FlowRow>& out, std::string& err) = 0;
  virtual bool flows_after(uint64_t after, size_t max, std::vector<FlowRow>& out) = 0;  // oldest first
  virtual uint64_t min_flow_id() = 0;
  virtual uint64_t max_flow_id() = 0;

  // Incidents (newest first by id). `stop` as list_alerts' (ListStop: ts is 0, the cursor is the id).
  virtual bool list_incidents(const IncidentQuery& q, std::vector<IncidentRow>& out, std::string& err,
                              ListStop* stop = nullptr) = 0;
  virtual std::optional<IncidentRow> get_incident(uint64_t id) = 0;
  virtual std::vector<IncidentUpdate> incident_updates(uint64_t incident_id, size_t max) = 0;
  virtual bool updates_after(uint64_t after, size_t max, std::vector<IncidentUpdate>& out) = 0;  // oldest first
  virtual uint64_t min_update_id() = 0;
  virtual uint64_t update_incidents(const std::vector<uint64_t>& ids, const AnalystSet& s,
                                    std::vector<uint64_t>& missing) = 0;
  // Open incidents (not closed, not resolved or false_positive) by level.
  virtual std::map<std::string, uint64_t> open_incidents_by_level() = 0;

  // Analyst records. target: "alert" | "incident".
  virtual bool add_comment(const std::string& target, uint64_t id, const Comment& c) = 0;
  virtual std::vector<Comment> comments(const std::string& target, uint64_t id) = 0;
  virtual uint64_t add_feedback(Feedback& f) = 0;  // fills f.id
  virtual std::vector<Feedback> feedback(const std::string& target, uint64_t id) = 0;
  // Per-rule true/false positives from alert feedback: sid -> (tp, fp).
  virtual std::map<uint32_t, std::pair<uint64_t, uint64_t>> feedback_by_rule() = 0;
  // Every verdict (alerts and incidents), the newest `max`, oldest first (the learning loop's export).
  virtual std::vector<Feedback> feedback_all(size_t max) = 0;
  virtual bool audit(const AuditEntry& e) = 0;
  virtual std::vector<AuditEntry> audit_log(size_t limit) = 0;
  virtual bool add_evaluation(const std::string& version, int64_t ts_ms, const std::string& metrics_json) = 0;
  virtual std::vector<std::pair<std::string, std::string>> evaluations(size_t limit) = 0;  // (version, metrics)

  // Configuration kept in the store.
  virtual uint64_t add_webhook(Webhook& w) = 0;
  virtual std::vector<Webhook> webhooks() = 0;
  virtual bool delete_webhook(uint64_t id) = 0;
  virtual std::optional<std::string> setting(const std::string& key) = 0;
  virtual bool set_setting(const std::string& key, const std::string& value) = 0;

  // Offline analysis jobs (/detect), so that they answer after a restart.
  virtual bool save_detect_job(const DetectJobRow& j) = 0;  // insert or replace
  // The results in one transaction (replacing any): kind 0 alerts' EVE objects, 1 incidents' records,
  // each with its ordinal (an alert's id in the job).
  using Numbered = std::vector<std::pair<uint64_t, std::string>>;
  virtual bool save_detect_results(const std::string& id, const Numbered& alerts, const Numbered& incidents) = 0;
  virtual std::vector<DetectJobRow> detect_jobs() = 0;  // oldest first
  virtual bool detect_results(const std::string& id, int kind, Numbered& out) = 0;  // by ordinal
  virtual bool delete_detect_job(const std::string& id) = 0;  // and its results

  // Aggregates (hourly buckets; bucket_ms a multiple of an hour).
  virtual std::vector<Series> trends(Dim d, int64_t from_ms, int64_t to_ms, int64_t bucket_ms, size_t max_keys) = 0;
  virtual std::vector<KeyCount> top(Dim d, int64_t from_ms, int64_t to_ms, size_t limit) = 0;

  virtual uint64_t apply_retention(const RetentionPolicy& p, int64_t now_ms) = 0;  // rows deleted
  virtual StoreStats stats() = 0;
};

}  // namespace spectre::store
