// Schema and migrations. user_version N means migrations 1..N ran; each
// migration runs in its own transaction. Version 1 was the first shipped
// layout (alerts with a few indexed columns, incidents' latest record);
// version 2 adds the analyst fields, incident update rows, feedback,
// comments, audit, evaluations, flows, webhooks, settings and the hourly
// aggregates, backfilled from the rows a version-1 file holds. Version 3
// (flows) makes the version-2 flows table queryable: the data plane's flow id,
// start time, alerted flag and numeric v4 addresses, and the indexes of
// /api/v1/flows. Version 4: the /detect jobs; version 5: the FTS5 indexes of
// the free-text search; version 6: the alerts' index over distinct texts.
#include "ctrlplane/store/sqlite_store.h"

#include <algorithm>
#include <string>

namespace spectre::store {

namespace {

const char* const kV1 = R"(
CREATE TABLE alerts(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, severity INTEGER NOT NULL,
  sid INTEGER NOT NULL, signature TEXT NOT NULL, src_ip TEXT NOT NULL, dest_ip TEXT NOT NULL, eve TEXT NOT NULL);
CREATE INDEX alerts_ts ON alerts(ts);
CREATE TABLE incidents(id INTEGER PRIMARY KEY, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,
  level TEXT NOT NULL, status TEXT NOT NULL, record TEXT NOT NULL);
)";

// Dims in agg: 0 severity, 1 category, 2 signature, 3 tactic, 4 src, 5 dest, 6 incident level;
// dim + 16: the same per UTC day (hour = the day's first hour), so day and
// week buckets and long tops read 24 times fewer rows.
const char* const kV2 = R"(
ALTER TABLE alerts ADD COLUMN gid INTEGER NOT NULL DEFAULT 1;
ALTER TABLE alerts ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN src_port INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN dest_port INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alerts ADD COLUMN proto TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN app_proto TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN status TEXT NOT NULL DEFAULT 'new';
ALTER TABLE alerts ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN classification TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN incident_id INTEGER;
ALTER TABLE alerts ADD COLUMN tactics TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN techniques TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN src_num INTEGER;
ALTER TABLE alerts ADD COLUMN dest_num INTEGER;
CREATE INDEX alerts_sid ON alerts(sid, ts);
CREATE INDEX alerts_src ON alerts(src_ip, ts);
CREATE INDEX alerts_dest ON alerts(dest_ip, ts);
ALTER TABLE incidents ADD COLUMN update_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN event TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN classification TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN analyst_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN score REAL NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN confidence REAL NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN attacker TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN victim TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN tactics TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN techniques TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN signatures TEXT NOT NULL DEFAULT '';
ALTER TABLE incidents ADD COLUMN members_total INTEGER NOT NULL DEFAULT 0;
CREATE INDEX incidents_last ON incidents(last_ms);
CREATE TABLE incident_updates(id INTEGER PRIMARY KEY, incident_id INTEGER NOT NULL, ts INTEGER NOT NULL,
  event TEXT NOT NULL, level TEXT NOT NULL, record TEXT NOT NULL);
CREATE INDEX updates_incident ON incident_updates(incident_id, id);
CREATE INDEX updates_ts ON incident_updates(ts);
INSERT INTO incident_updates(incident_id, ts, event, level, record)
  SELECT id, last_ms, 'migrated', level, record FROM incidents ORDER BY id;
UPDATE incidents SET update_id = (SELECT max(u.id) FROM incident_updates u WHERE u.incident_id = incidents.id);
CREATE TABLE feedback(id INTEGER PRIMARY KEY, target TEXT NOT NULL, target_id INTEGER NOT NULL,
  verdict TEXT NOT NULL, reason TEXT NOT NULL, note TEXT NOT NULL, author TEXT NOT NULL, ts INTEGER NOT NULL,
  sid INTEGER);
CREATE INDEX feedback_target ON feedback(target, target_id);
CREATE TABLE comments(id INTEGER PRIMARY KEY, target TEXT NOT NULL, target_id INTEGER NOT NULL,
  ts INTEGER NOT NULL, author TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX comments_target ON comments(target, target_id);
CREATE TABLE audit(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE evaluations(id INTEGER PRIMARY KEY, version TEXT NOT NULL, ts INTEGER NOT NULL, metrics TEXT NOT NULL);
CREATE TABLE flows(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, src_ip TEXT NOT NULL, dest_ip TEXT NOT NULL,
  src_port INTEGER NOT NULL, dest_port INTEGER NOT NULL, proto TEXT NOT NULL, app_proto TEXT NOT NULL,
  bytes INTEGER NOT NULL, pkts INTEGER NOT NULL, eve TEXT NOT NULL);
CREATE INDEX flows_ts ON flows(ts);
CREATE TABLE webhooks(id INTEGER PRIMARY KEY, url TEXT NOT NULL, secret TEXT NOT NULL, min_level TEXT NOT NULL,
  events TEXT NOT NULL);
CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE agg(dim INTEGER NOT NULL, hour INTEGER NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY(dim, hour, key)) WITHOUT ROWID;
INSERT INTO agg SELECT 0, ts / 3600000, severity, count(*) FROM alerts GROUP BY 2, 3;
INSERT INTO agg SELECT 2, ts / 3600000, signature, count(*) FROM alerts GROUP BY 2, 3;
INSERT INTO agg SELECT 4, ts / 3600000, src_ip, count(*) FROM alerts GROUP BY 2, 3;
INSERT INTO agg SELECT 5, ts / 3600000, dest_ip, count(*) FROM alerts GROUP BY 2, 3;
INSERT INTO agg SELECT 6, last_ms / 3600000, level, count(*) FROM incidents GROUP BY 2, 3;
INSERT INTO agg SELECT dim + 16, hour / 24 * 24, key, sum(n) FROM agg WHERE dim < 16 GROUP BY 1, 2, 3;
)";

// Version 3: flows. Rows a version-2 file may hold keep their columns; flow id and
// alerted come from their EVE, start_ts is their end time. Indexes end in
// ts (+ rowid) so address and port filters walk in list order, as alerts'.
const char* const kV3Flows = R"(
ALTER TABLE flows ADD COLUMN flow_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flows ADD COLUMN start_ts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flows ADD COLUMN alerted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE flows ADD COLUMN src_num INTEGER;
ALTER TABLE flows ADD COLUMN dest_num INTEGER;
UPDATE flows SET start_ts = ts, flow_id = coalesce(json_extract(eve, '$.flow_id'), 0),
  alerted = coalesce(json_extract(eve, '$.flow.alerted'), 0) WHERE json_valid(eve);
CREATE INDEX flows_src ON flows(src_ip, ts);
CREATE INDEX flows_dest ON flows(dest_ip, ts);
CREATE INDEX flows_sport ON flows(src_port, ts);
CREATE INDEX flows_dport ON flows(dest_port, ts);
)";

// Version 4: /detect jobs and their results (ctrlplane/api/detect_jobs.h), so
// that GET /detect/{job} answers after a restart. Self-contained.
const char* const kV4Jobs = R"(
CREATE TABLE detect_jobs(id TEXT PRIMARY KEY, seq INTEGER NOT NULL, state TEXT NOT NULL, progress REAL NOT NULL,
  submitted_by TEXT NOT NULL, submitted_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL,
  bytes INTEGER NOT NULL, alerts INTEGER NOT NULL, incidents INTEGER NOT NULL, truncated INTEGER NOT NULL,
  error TEXT NOT NULL, warnings TEXT NOT NULL);
CREATE TABLE detect_results(job TEXT NOT NULL, kind INTEGER NOT NULL, ord INTEGER NOT NULL, eve TEXT NOT NULL,
  PRIMARY KEY(job, kind, ord)) WITHOUT ROWID;
)";

// Version 5: free-text search (q=) through FTS5 trigram indexes: substring
// matching, case-insensitive for ASCII like LIKE, for terms of 3 characters
// or more (sqlite_search.cc). External-content tables over alerts
// (signature, category) and incidents (the record), kept by triggers (the
// writer's inserts, the incident upserts, retention's deletes); 'rebuild'
// indexes the rows already there. Self-contained.
const char* const kV5Fts = R"(
CREATE VIRTUAL TABLE alerts_fts USING fts5(signature, category, content='alerts', content_rowid='id',
  tokenize='trigram');
CREATE TRIGGER alerts_fts_ai AFTER INSERT ON alerts BEGIN
  INSERT INTO alerts_fts(rowid, signature, category) VALUES (new.id, new.signature, new.category);
END;
CREATE TRIGGER alerts_fts_ad AFTER DELETE ON alerts BEGIN
  INSERT INTO alerts_fts(alerts_fts, rowid, signature, category) VALUES ('delete', old.id, old.signature, old.category);
END;
CREATE TRIGGER alerts_fts_au AFTER UPDATE OF signature, category ON alerts BEGIN
  INSERT INTO alerts_fts(alerts_fts, rowid, signature, category) VALUES ('delete', old.id, old.signature, old.category);
  INSERT INTO alerts_fts(rowid, signature, category) VALUES (new.id, new.signature, new.category);
END;
INSERT INTO alerts_fts(alerts_fts) VALUES ('rebuild');
CREATE VIRTUAL TABLE incidents_fts USING fts5(record, content='incidents', content_rowid='id', tokenize='trigram');
CREATE TRIGGER incidents_fts_ai AFTER INSERT ON incidents BEGIN
  INSERT INTO incidents_fts(rowid, record) VALUES (new.id, new.record);
END;
CREATE TRIGGER incidents_fts_ad AFTER DELETE ON incidents BEGIN
  INSERT INTO incidents_fts(incidents_fts, rowid, record) VALUES ('delete', old.id, old.record);
END;
CREATE TRIGGER incidents_fts_au AFTER UPDATE OF record ON incidents BEGIN
  INSERT INTO incidents_fts(incidents_fts, rowid, record) VALUES ('delete', old.id, old.record);
  INSERT INTO incidents_fts(rowid, record) VALUES (new.id, new.record);
END;
INSERT INTO incidents_fts(incidents_fts) VALUES ('rebuild');
)";

// Version 6: the alerts' trigram index over their distinct (signature, category)
// texts instead of over every row: tokenizing each alert's text was ~70 % of
// the writer's time (docs/BENCH.md, session 28) and signatures repeat. The
// writer sets alerts.text_id (sqlite_store.cc); q= takes the alerts of the
// matching texts through (text_id, ts). Texts stay when retention deletes their
// alerts (a few bytes each). Rebuilds from the rows there: a full pass at migration.
const char* const kV6Texts = R"(
DROP TRIGGER alerts_fts_ai;
DROP TRIGGER alerts_fts_ad;
DROP TRIGGER alerts_fts_au;
DROP TABLE alerts_fts;
CREATE TABLE alert_texts(id INTEGER PRIMARY KEY, signature TEXT NOT NULL, category TEXT NOT NULL);
CREATE UNIQUE INDEX alert_texts_key ON alert_texts(signature, category);
CREATE VIRTUAL TABLE alert_texts_fts USING fts5(signature, category, content='alert_texts', content_rowid='id',
  tokenize='trigram');
CREATE TRIGGER alert_texts_fts_ai AFTER INSERT ON alert_texts BEGIN
  INSERT INTO alert_texts_fts(rowid, signature, category) VALUES (new.id, new.signature, new.category);
END;
CREATE TRIGGER alert_texts_fts_ad AFTER DELETE ON alert_texts BEGIN
  INSERT INTO alert_texts_fts(alert_texts_fts, rowid, signature, category) VALUES ('delete', old.id, old.signature, old.category);
END;
INSERT INTO alert_texts(signature, category) SELECT DISTINCT signature, category FROM alerts;
ALTER TABLE alerts ADD COLUMN text_id INTEGER;
UPDATE alerts SET text_id = (SELECT t.id FROM alert_texts t WHERE t.signature = alerts.signature AND t.category = alerts.category);
CREATE INDEX alerts_text ON alerts(text_id, ts);
CREATE TRIGGER alerts_text_au AFTER UPDATE OF signature, category ON alerts BEGIN
  INSERT OR IGNORE INTO alert_texts(signature, category) VALUES (new.signature, new.category);
  UPDATE alerts SET text_id = (SELECT id FROM alert_texts WHERE signature = new.signature AND category = new.category)
    WHERE id = new.id;
END;
)";

const char* const kMigrations[kSchemaVersion] = {kV1, kV2, kV3Flows, kV4Jobs, kV5Fts, kV6Texts};

}  // namespace

bool migrate(Db& db, std::string& err, int target) {
  int64_t v = db.scalar("PRAGMA user_version");
  if (v > kSchemaVersion) {
    err = "database schema version " + std::to_string(v) + " is newer than this build's (" +
          std::to_string(kSchemaVersion) + ")";
    return false;
  }
  for (; v < std::min(target, kSchemaVersion); v++) {
    std::string e;
    std::string sql = std::string("BEGIN IMMEDIATE;") + kMigrations[v] +
                      "PRAGMA user_version = " + std::to_string(v + 1) + ";COMMIT;";
    if (!db.exec(sql, &e)) {
      db.exec("ROLLBACK");
      err = "migration to schema version " + std::to_string(v + 1) + ": " + e;
      return false;
    }
  }
  return true;
}

}  // namespace spectre::store
