// SqliteStore: analyst records, audit, evaluations, configuration, retention, stats.
#include "ctrlplane/store/eve_rows.h"
#include "ctrlplane/store/sqlite_store.h"

namespace spectre::store {

bool SqliteStore::add_comment(const std::string& target, uint64_t id, const Comment& c) {
  std::lock_guard g(wmu_);
  Stmt s = w_.prepare("INSERT INTO comments(target,target_id,ts,author,text) VALUES(?,?,?,?,?)");
  s.bind(1, target).bind(2, int64_t(id)).bind(3, c.ts_ms).bind(4, c.author).bind(5, c.text);
  return s.run();
}

std::vector<Comment> SqliteStore::comments(const std::string& target, uint64_t id) {
  std::vector<Comment> v;
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare("SELECT ts,author,text FROM comments WHERE target=? AND target_id=? ORDER BY id");
  s.bind(1, target).bind(2, int64_t(id));
  while (s.step()) v.push_back({s.i64(0), s.str(1), s.str(2)});
  return v;
}

uint64_t SqliteStore::add_feedback(Feedback& f) {
  std::lock_guard g(wmu_);
  Stmt s = w_.prepare("INSERT INTO feedback(target,target_id,verdict,reason,note,author,ts,sid) "
                      "VALUES(?,?,?,?,?,?,?,(SELECT sid FROM alerts WHERE ?1='alert' AND id=?2))");
  s.bind(1, f.target).bind(2, int64_t(f.target_id)).bind(3, f.verdict).bind(4, f.reason).bind(5, f.note)
      .bind(6, f.author).bind(7, f.ts_ms);
  if (!s.run()) return 0;
  f.id = uint64_t(sqlite3_last_insert_rowid(w_.raw()));
  return f.id;
}

std::vector<Feedback> SqliteStore::feedback(const std::string& target, uint64_t id) {
  std::vector<Feedback> v;
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare("SELECT id,verdict,reason,note,author,ts FROM feedback WHERE target=? AND target_id=? ORDER BY id");
  s.bind(1, target).bind(2, int64_t(id));
  while (s.step()) v.push_back({uint64_t(s.i64(0)), target, id, s.str(1), s.str(2), s.str(3), s.str(4), s.i64(5)});
  return v;
}

std::map<uint32_t, std::pair<uint64_t, uint64_t>> SqliteStore::feedback_by_rule() {
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> m;
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare("SELECT sid, sum(verdict='true_positive'), sum(verdict='false_positive') FROM feedback "
                      "WHERE target='alert' AND sid IS NOT NULL GROUP BY sid");
  while (s.step()) m[uint32_t(s.i64(0))] = {uint64_t(s.i64(1)), uint64_t(s.i64(2))};
  return m;
}

std::vector<Feedback> SqliteStore::feedback_all(size_t max) {
  std::vector<Feedback> v;
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare("SELECT id,target,target_id,verdict,reason,note,author,ts FROM "
                      "(SELECT * FROM feedback ORDER BY id DESC LIMIT ?) ORDER BY id");
  s.bind(1, int64_t(max));
  while (s.step())
    v.push_back({uint64_t(s.i64(0)), s.str(1), uint64_t(s.i64(2)), s.str(3), s.str(4), s.str(5), s.str(6), s.i64(7)});
  return v;
}

bool SqliteStore::audit(const AuditEntry& e) {
  std::lock_guard g(wmu_);
  Stmt s = w_.prepare("INSERT INTO audit(ts,actor,action,target,detail) VALUES(?,?,?,?,?)");
  s.bind(1, e.ts_ms).bind(2, e.actor).bind(3, e.action).bind(4, e.target).bind(5, e.detail);
  return s.run();
}

std::vector<AuditEntry> SqliteStore::audit_log(size_t limit) {
  std::vector<AuditEntry> v;
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare("SELECT ts,actor,action,target,detail FROM audit ORDER BY id DESC LIMIT ?");
  s.bind(1, int64_t(limit));
  while (s.step()) v.push_back({s.i64(0), s.str(1), s.str(2), s.str(3), s.str(4)});
  return v;
}

bool SqliteStore::add_evaluation(const std::string& version, int64_t ts_ms, const std::string& metrics_json) {
  std::lock_guard g(wmu_);
  Stmt s = w_.prepare("INSERT INTO evaluations(version,ts,metrics) VALUES(?,?,?)");
  s.bind(1, version).bind(2, ts_ms).bind(3, metrics_json);
  return s.run();
}

std::vector<std::pair<std::string, std::string>> SqliteStore::evaluations(size_t limit) {
  std::vector<std::pair<std::string, std::string>> v;
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare("SELECT version,metrics FROM evaluations ORDER BY id DESC LIMIT ?");
  s.bind(1, int64_t(limit));
  while (s.step()) v.emplace_back(s.str(0), s.str(1));
  return v;
}

uint64_t SqliteStore::add_webhook(Webhook& w) {
  std::lock_guard g(wmu_);
  Stmt s = w_.prepare("INSERT INTO webhooks(url,secret,min_level,events) VALUES(?,?,?,?)");
  s.bind(1, w.url).bind(2, w.secret).bind(3, w.min_level).bind(4, join_list(w.events));
  if (!s.run()) return 0;
  w.id = uint64_t(sqlite3_last_insert_rowid(w_.raw()));
  return w.id;
}

std::vector<Webhook> SqliteStore::webhooks() {
  std::vector<Webhook> v;
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare("SELECT id,url,secret,min_level,events FROM webhooks ORDER BY id");
  while (s.step()) v.push_back({uint64_t(s.i64(0)), s.str(1), s.str(2), s.str(3), split_list(s.str(4))});
  return v;
}

bool SqliteStore::delete_webhook(uint64_t id) {
  std::lock_guard g(wmu_);
  Stmt s = w_.prepare("DELETE FROM webhooks WHERE id=?");
  s.bind(1, int64_t(id));
  return s.run() && w_.changes() > 0;
}

std::optional<std::string> SqliteStore::setting(const std::string& key) {
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare("SELECT value FROM settings WHERE key=?");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  return s.str(0);
}

bool SqliteStore::set_setting(const std::string& key, const std::string& value) {
  std::lock_guard g(wmu_);
  Stmt s = w_.prepare("INSERT INTO settings(key,value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  s.bind(1, key).bind(2, value);
  return s.run();
}

uint64_t SqliteStore::apply_retention(const RetentionPolicy& p, int64_t now_ms) {
  std::lock_guard g(wmu_);
  uint64_t n = retention_locked(p, now_ms);
  retention_deleted_ += n;
  return n;
}

// Age: rows older than now - max_age (aggregates by hour too). Size: the
// used pages (page_count - freelist) above max_bytes delete the oldest tenth
// of the alerts and update rows per round (freed pages are reused, the file
// does not shrink), at most 20 rounds a call.
uint64_t SqliteStore::retention_locked(const RetentionPolicy& p, int64_t now_ms) {
  uint64_t n = 0;
  if (p.max_age_ms > 0) {
    int64_t cut = now_ms - p.max_age_ms;
    const char* const del[] = {"DELETE FROM alerts WHERE ts < ?", "DELETE FROM incident_updates WHERE ts < ?",
                               "DELETE FROM incidents WHERE last_ms < ?", "DELETE FROM flows WHERE ts < ?"};
    w_.exec("BEGIN IMMEDIATE");
    for (const char* sql : del) {
      Stmt s = w_.prepare(sql);
      s.bind(1, cut);
      if (s.run()) n += uint64_t(w_.changes());
    }
    // Hourly rows before the cut's hour; daily rows of days that ended before it.
    Stmt a = w_.prepare("DELETE FROM agg WHERE (dim < 16 AND hour < ?1) OR (dim >= 16 AND hour + 24 <= ?1)");
    a.bind(1, cut / 3600000);
    a.run();
    w_.exec("COMMIT");
  }
  for (int round = 0; p.max_bytes && round < 20; round++) {
    int64_t used = (w_.scalar("PRAGMA page_count") - w_.scalar("PRAGMA freelist_count")) * w_.scalar("PRAGMA page_size");
    if (used <= int64_t(p.max_bytes)) break;
    int64_t lo = w_.scalar("SELECT min(id) FROM alerts"), hi = w_.scalar("SELECT max(id) FROM alerts");
    int64_t ulo = w_.scalar("SELECT min(id) FROM incident_updates"), uhi = w_.scalar("SELECT max(id) FROM incident_updates");
    int64_t flo = w_.scalar("SELECT min(id) FROM flows"), fhi = w_.scalar("SELECT max(id) FROM flows");
    if (hi - lo <= 0 && uhi - ulo <= 0 && fhi - flo <= 0) break;
    w_.exec("BEGIN IMMEDIATE");
    auto chunk = [&](const char* sql, int64_t a, int64_t b) {
      Stmt s = w_.prepare(sql);
      s.bind(1, a + std::max<int64_t>(1, (b - a + 1) / 10));
      if (s.run()) n += uint64_t(w_.changes());
    };
    chunk("DELETE FROM alerts WHERE id < ?", lo, hi);
    chunk("DELETE FROM incident_updates WHERE id < ?", ulo, uhi);
    chunk("DELETE FROM flows WHERE id < ?", flo, fhi);
    w_.exec("COMMIT");
  }
  return n;
}

std::map<std::string, uint64_t> SqliteStore::open_incidents_by_level() {
  std::map<std::string, uint64_t> m;
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare("SELECT level, count(*) FROM incidents WHERE event != 'closed' AND "
                      "status NOT IN ('resolved','false_positive') GROUP BY level");
  while (s.step()) m[s.str(0)] = uint64_t(s.i64(1));
  return m;
}

StoreStats SqliteStore::stats() {
  StoreStats s;
  {
    std::lock_guard g(rmu_);
    // max-min+1 rather than count(*): O(1) on the rowid b-tree (deletes only take the oldest).
    auto span = [&](const char* t) {
      int64_t lo = r_.scalar(std::string("SELECT min(id) FROM ") + t), hi = r_.scalar(std::string("SELECT max(id) FROM ") + t);
      return hi >= lo && hi > 0 ? uint64_t(hi - lo + 1) : 0;
    };
    s.alerts = span("alerts");
    s.updates = span("incident_updates");
    s.flows = span("flows");
    s.incidents = uint64_t(r_.scalar("SELECT count(*) FROM incidents"));
    s.bytes = uint64_t(r_.scalar("PRAGMA page_count") * r_.scalar("PRAGMA page_size"));
  }
  {
    std::lock_guard g(qmu_);
    s.queued = q_.size();
  }
  s.dropped = dropped_;
  s.flows_dropped = flows_dropped_;
  s.written = written_;
  s.batches = batches_;
  s.write_errors = write_errors_;
  s.retention_deleted = retention_deleted_;
  return s;
}

}  // namespace spectre::store
