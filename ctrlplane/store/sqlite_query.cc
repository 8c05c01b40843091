// SqliteStore: list/detail queries, analyst updates and the aggregate reads.
#include <algorithm>
#include <unordered_map>

#include "ctrlplane/store/eve_rows.h"
#include "ctrlplane/store/list_query.h"
#include "ctrlplane/store/sqlite_store.h"

namespace spectre::store {

namespace {

const char* const kAlertCols =
    "SELECT id,ts,severity,gid,sid,rev,signature,category,src_ip,src_port,dest_ip,dest_port,proto,app_proto,status,"
    "assignee,classification,incident_id,tactics,techniques,eve FROM alerts";
const char* const kIncidentCols =
    "SELECT id,update_id,first_ms,last_ms,level,status,assignee,classification,event,score,confidence,attacker,victim,"
    "tactics,techniques,signatures,members_total,record FROM incidents";

AlertRow read_alert(const Stmt& s) {
  AlertRow a;
  a.id = uint64_t(s.i64(0));
  a.ts_ms = s.i64(1);
  a.severity = int(s.i64(2));
  a.gid = uint32_t(s.i64(3));
  a.sid = uint32_t(s.i64(4));
  a.rev = uint32_t(s.i64(5));
  a.signature = s.str(6);
  a.category = s.str(7);
  a.src_ip = s.str(8);
  a.src_port = uint16_t(s.i64(9));
  a.dest_ip = s.str(10);
  a.dest_port = uint16_t(s.i64(11));
  a.proto = s.str(12);
  a.app_proto = s.str(13);
  a.status = s.str(14);
  a.assignee = s.str(15);
  a.classification = s.str(16);
  a.incident_id = s.null(17) ? 0 : uint64_t(s.i64(17));
  a.tactics = split_list(s.str(18));
  a.techniques = split_list(s.str(19));
  a.eve = s.str(20);
  return a;
}

IncidentRow read_incident(const Stmt& s) {
  IncidentRow r;
  r.id = uint64_t(s.i64(0));
  r.update_id = uint64_t(s.i64(1));
  r.first_ms = s.i64(2);
  r.last_ms = s.i64(3);
  r.level = s.str(4);
  r.status = s.str(5);
  r.assignee = s.str(6);
  r.classification = s.str(7);
  r.event = s.str(8);
  r.score = s.dbl(9);
  r.confidence = s.dbl(10);
  r.attacker = s.str(11);
  r.victim = s.str(12);
  r.tactics = split_list(s.str(13));
  r.techniques = split_list(s.str(14));
  r.signatures = split_list(s.str(15));
  r.members_total = uint64_t(s.i64(16));
  r.record = s.str(17);
  return r;
}

}  // namespace

// The (ts, id) keyset of list_query.h. The (ts) index and the (sid, ts),
// (src_ip, ts), (dest_ip, ts) ones (each ending in the rowid) deliver rows in
// that order, so LIMIT stops the walk early; an address is the two-walk select.
void build_alert_query(const AlertQuery& q, std::string& sql, std::vector<Bind>& out, const char* cols) {
  Where w;
  add_ts_keyset(w, q.before_ts, q.before_id, q.from_ms, q.to_ms);
  if (q.max_severity) w.add("+severity <= ?", {int64_t(q.max_severity)});
  if (q.sig_none) w.add("0");  // no text contains it
  else if (!q.signature.empty() && q.sig_text_ids.empty()) w.add("signature LIKE ? ESCAPE '\\'", {like(q.signature)});
  if (q.sid) w.add("sid = ?", {int64_t(q.sid)});
  add_cidr(w, q.cidr);
  if (!q.category.empty()) w.add("category = ?", {q.category});
  if (!q.status.empty()) w.add("+status = ?", {q.status});
  if (!q.tactic.empty()) w.add("tactics LIKE ? ESCAPE '\\'", {like("," + q.tactic + ",")});
  if (!q.technique.empty()) w.add("techniques LIKE ? ESCAPE '\\'", {like("," + q.technique + ",")});
  if (!q.q.empty() && !q.q_match.empty())  // the index's candidates, then the exact test below
    w.add("id IN (SELECT id FROM alerts WHERE text_id IN (SELECT rowid FROM alert_texts_fts WHERE alert_texts_fts "
          "MATCH ?) UNION ALL SELECT id FROM alerts WHERE src_ip = ? UNION ALL SELECT id FROM alerts WHERE dest_ip = ?)",
          {q.q_match, q.q, q.q});
  else if (!q.q.empty() && !q.q_ids.empty())  // a bounded scan's matches (sqlite_search.cc)
    add_q_ids(w, q.q_ids);
  if (!q.q.empty())
    w.add("(signature LIKE ? ESCAPE '\\' OR category LIKE ? ESCAPE '\\' OR src_ip = ? OR dest_ip = ?)",
          {like(q.q), like(q.q), q.q, q.q});
  std::optional<Bind> key;
  if (!q.ip.empty()) key = q.ip;
  if (!q.sig_none && !q.sig_text_ids.empty()) {
    if (!key) return ts_desc_union(cols ? cols : kAlertCols, std::move(w), q.limit, "text_id", q.sig_text_ids, sql, out);
    std::string ids = "[";
    for (int64_t t : q.sig_text_ids) ids += (ids.size() > 1 ? "," : "") + std::to_string(t);
    w.add("text_id IN (SELECT value FROM json_each(?))", {ids + "]"});
  }
  ts_desc_select(cols ? cols : kAlertCols, std::move(w), q.limit, "src_ip", "dest_ip", key, sql, out);
}

// signature= (a substring): the few texts containing it, each walked in order on
// the (text_id, ts) index, stopping at LIMIT; a rare signature otherwise walked
// every row of the (ts) index. Many texts: the (ts) walk with the LIKE test,
// which finds a common term's rows early.
bool alerts_signature_plan(Db& db, AlertQuery& q, std::string& err) {
  q.sig_text_ids.clear();
  q.sig_none = false;
  Stmt s = db.prepare("SELECT id FROM alert_texts WHERE signature LIKE ? ESCAPE '\\' LIMIT ?");
  if (!s.ok()) { err = s.error(); return false; }
  s.bind(1, like(q.signature)).bind(2, int64_t(kSignatureWalks + 1));
  while (s.step()) q.sig_text_ids.push_back(s.i64(0));
  if (!s.error().empty()) { err = s.error(); return false; }
  q.sig_none = q.sig_text_ids.empty();
  if (q.sig_text_ids.size() > kSignatureWalks) q.sig_text_ids.clear();
  return true;
}

void build_incident_query(const IncidentQuery& q, std::string& sql, std::vector<Bind>& b, const char* cols) {
  Where w;
  if (q.before_id) w.add("id < ?", {int64_t(q.before_id)});
  if (q.from_ms != std::numeric_limits<int64_t>::min()) w.add("last_ms >= ?", {q.from_ms});
  if (q.to_ms != std::numeric_limits<int64_t>::max()) w.add("first_ms <= ?", {q.to_ms});
  if (!q.level.empty()) w.add("level = ?", {q.level});
  if (!q.status.empty()) w.add("status = ?", {q.status});
  if (!q.tactic.empty()) w.add("tactics LIKE ? ESCAPE '\\'", {like("," + q.tactic + ",")});
  if (!q.technique.empty()) w.add("techniques LIKE ? ESCAPE '\\'", {like("," + q.technique + ",")});
  if (!q.ip.empty()) w.add("(attacker = ? OR victim = ?)", {q.ip, q.ip});
  if (!q.q.empty() && !q.q_match.empty())  // the index's candidates, then the exact test below
    w.add("id IN (SELECT rowid FROM incidents_fts WHERE incidents_fts MATCH ?)", {q.q_match});
  else if (!q.q.empty() && !q.q_ids.empty())  // a bounded scan's matches (sqlite_search.cc)
    add_q_ids(w, q.q_ids);
  if (!q.q.empty()) w.add("(record LIKE ? ESCAPE '\\')", {like(q.q)});
  sql = std::string(cols ? cols : kIncidentCols) + w.sql + " ORDER BY id DESC LIMIT " + std::to_string(q.limit);
  b = std::move(w.b);
}

bool SqliteStore::list_alerts(const AlertQuery& q0, std::vector<AlertRow>& out, std::string& err, ListStop* stop) {
  std::string sql;
  std::vector<Bind> b;
  std::lock_guard g(rmu_);
  AlertQuery q = q0;
  if (!q.signature.empty() && !alerts_signature_plan(r_, q, err)) return false;
  if (!q.q.empty() && !alerts_q_plan(r_, q, stop, err)) return false;
  build_alert_query(q, sql, b);
  return run_list(r_, sql, b, out, read_alert, err);
}

std::optional<AlertRow> SqliteStore::get_alert(uint64_t id) {
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare(std::string(kAlertCols) + " WHERE id = ?");
  s.bind(1, int64_t(id));
  if (!s.step()) return std::nullopt;
  return read_alert(s);
}

bool SqliteStore::alerts_after(uint64_t after, size_t max, std::vector<AlertRow>& out) {
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare(std::string(kAlertCols) + " WHERE id > ? ORDER BY id LIMIT ?");
  s.bind(1, int64_t(after)).bind(2, int64_t(max));
  while (s.step()) out.push_back(read_alert(s));
  return s.error().empty();
}

uint64_t SqliteStore::min_alert_id() {
  std::lock_guard g(rmu_);
  return uint64_t(r_.scalar("SELECT min(id) FROM alerts"));
}

bool SqliteStore::list_incidents(const IncidentQuery& q0, std::vector<IncidentRow>& out, std::string& err,
                                 ListStop* stop) {
  std::string sql;
  std::vector<Bind> b;
  std::lock_guard g(rmu_);
  IncidentQuery q = q0;
  if (!q.q.empty() && !incidents_q_plan(r_, q, stop, err)) return false;
  build_incident_query(q, sql, b);
  return run_list(r_, sql, b, out, read_incident, err);
}

std::optional<IncidentRow> SqliteStore::get_incident(uint64_t id) {
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare(std::string(kIncidentCols) + " WHERE id = ?");
  s.bind(1, int64_t(id));
  if (!s.step()) return std::nullopt;
  return read_incident(s);
}

std::vector<IncidentUpdate> SqliteStore::incident_updates(uint64_t incident_id, size_t max) {
  std::vector<IncidentUpdate> v;
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare("SELECT id,incident_id,ts,event,level,record FROM incident_updates WHERE incident_id=? "
                      "ORDER BY id LIMIT ?");
  s.bind(1, int64_t(incident_id)).bind(2, int64_t(max));
  while (s.step()) v.push_back({uint64_t(s.i64(0)), uint64_t(s.i64(1)), s.i64(2), s.str(3), s.str(4), s.str(5)});
  return v;
}

bool SqliteStore::updates_after(uint64_t after, size_t max, std::vector<IncidentUpdate>& out) {
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare("SELECT id,incident_id,ts,event,level,record FROM incident_updates WHERE id > ? ORDER BY id LIMIT ?");
  s.bind(1, int64_t(after)).bind(2, int64_t(max));
  while (s.step()) out.push_back({uint64_t(s.i64(0)), uint64_t(s.i64(1)), s.i64(2), s.str(3), s.str(4), s.str(5)});
  return s.error().empty();
}

uint64_t SqliteStore::min_update_id() {
  std::lock_guard g(rmu_);
  return uint64_t(r_.scalar("SELECT min(id) FROM incident_updates"));
}

namespace {
// One transaction of per-id UPDATEs (10,000 ids: ~20 ms); ids not updated are missing.
uint64_t update_rows(Db& db, const char* table, const std::vector<uint64_t>& ids, const AnalystSet& s,
                     std::vector<uint64_t>& missing) {
  std::string sql = std::string("UPDATE ") + table + " SET status=coalesce(?,status),assignee=coalesce(?,assignee),"
                    "classification=coalesce(?,classification)";
  if (std::string_view(table) == "incidents" && s.status) sql += ",analyst_status=1";
  sql += " WHERE id=?";
  Stmt st = db.prepare(sql);
  uint64_t n = 0;
  db.exec("BEGIN IMMEDIATE");
  for (uint64_t id : ids) {
    st.reset();
    if (s.status) st.bind(1, *s.status);
    if (s.assignee) st.bind(2, *s.assignee);
    if (s.classification) st.bind(3, *s.classification);
    st.bind(4, int64_t(id));
    st.run();
    if (db.changes() > 0) n++;
    else missing.push_back(id);
  }
  db.exec("COMMIT");
  return n;
}
}  // namespace

uint64_t SqliteStore::update_alerts(const std::vector<uint64_t>& ids, const AnalystSet& s, std::vector<uint64_t>& missing) {
  std::lock_guard g(wmu_);
  return update_rows(w_, "alerts", ids, s, missing);
}

uint64_t SqliteStore::update_incidents(const std::vector<uint64_t>& ids, const AnalystSet& s,
                                       std::vector<uint64_t>& missing) {
  std::lock_guard g(wmu_);
  return update_rows(w_, "incidents", ids, s, missing);
}

namespace {
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The agg ranges covering hours [h0, h1]: daily rows for the whole days
// inside, hourly rows for the partial days at the edges.
struct AggRange {
  int dim;
  int64_t lo, hi;  // the hour column's bounds
};
std::vector<AggRange> agg_ranges(int dim, int64_t h0, int64_t h1, bool daily_ok) {
  int64_t d0 = floor_div(h0 + 23, 24), d1 = floor_div(h1 + 1, 24) - 1;  // whole days inside
  if (!daily_ok || d0 > d1) return {{dim, h0, h1}};
  std::vector<AggRange> v;
  if (h0 < d0 * 24) v.push_back({dim, h0, d0 * 24 - 1});
  v.push_back({dim + kDailyDim, d0 * 24, d1 * 24});
  if ((d1 + 1) * 24 <= h1) v.push_back({dim, (d1 + 1) * 24, h1});
  return v;
}
}  // namespace

// Reads the aggregate rows of the range from its primary key (daily rows
// when buckets are whole days), folds them into buckets and keeps the
// max_keys largest series.
std::vector<Series> SqliteStore::trends(Dim d, int64_t from_ms, int64_t to_ms, int64_t bucket_ms, size_t max_keys) {
  int64_t bh = std::max<int64_t>(1, bucket_ms / 3600000);
  int64_t h0 = floor_div(from_ms, 3600000), h1 = floor_div(to_ms, 3600000);
  int64_t b0 = floor_div(h0, bh), b1 = floor_div(h1, bh);
  std::unordered_map<std::string, std::vector<uint64_t>> by_key;
  {
    std::lock_guard g(rmu_);
    Stmt s = r_.prepare("SELECT hour,key,n FROM agg WHERE dim=? AND hour BETWEEN ? AND ?");
    for (auto& rg : agg_ranges(int(d), h0, h1, bh % 24 == 0)) {
      s.reset().bind(1, int64_t(rg.dim)).bind(2, rg.lo).bind(3, rg.hi);
      while (s.step()) {
        auto& v = by_key[s.str(1)];
        if (v.empty()) v.assign(size_t(b1 - b0 + 1), 0);
        v[size_t(floor_div(s.i64(0), bh) - b0)] += uint64_t(s.i64(2));
      }
    }
  }
  std::vector<std::pair<uint64_t, std::string>> order;
  for (auto& [k, v] : by_key) {
    uint64_t t = 0;
    for (auto x : v) t += x;
    order.emplace_back(t, k);
  }
  std::sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  if (order.size() > max_keys) order.resize(max_keys);
  std::vector<Series> out;
  for (auto& [t, k] : order) {
    Series s{k, {}};
    auto& v = by_key[k];
    for (size_t i = 0; i < v.size(); i++) s.points.push_back({(b0 + int64_t(i)) * bh * 3600000, v[i]});
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<KeyCount> SqliteStore::top(Dim d, int64_t from_ms, int64_t to_ms, size_t limit) {
  auto ranges = agg_ranges(int(d), floor_div(from_ms, 3600000), floor_div(to_ms, 3600000), true);
  std::vector<KeyCount> v;
  std::lock_guard g(rmu_);
  if (ranges.size() == 1) {  // one range: SQLite sorts and limits
    Stmt s = r_.prepare("SELECT key,sum(n) AS c FROM agg WHERE dim=? AND hour BETWEEN ? AND ? GROUP BY key "
                        "ORDER BY c DESC, key LIMIT ?");
    s.bind(1, int64_t(ranges[0].dim)).bind(2, ranges[0].lo).bind(3, ranges[0].hi).bind(4, int64_t(limit));
    while (s.step()) v.push_back({s.str(0), uint64_t(s.i64(1))});
    return v;
  }
  std::unordered_map<std::string, uint64_t> sum;
  Stmt s = r_.prepare("SELECT key,sum(n) FROM agg WHERE dim=? AND hour BETWEEN ? AND ? GROUP BY key");
  for (auto& rg : ranges) {
    s.reset().bind(1, int64_t(rg.dim)).bind(2, rg.lo).bind(3, rg.hi);
    while (s.step()) sum[s.str(0)] += uint64_t(s.i64(1));
  }
  for (auto& [k, n] : sum) v.push_back({k, n});
  std::sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.count != b.count ? a.count > b.count : a.key < b.key; });
  if (v.size() > limit) v.resize(limit);
  return v;
}

}  // namespace spectre::store
