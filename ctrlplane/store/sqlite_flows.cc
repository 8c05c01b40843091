// SqliteStore: flow records (list with filters and keyset cursor, replay by id).
#include "ctrlplane/store/eve_rows.h"
#include "ctrlplane/store/sqlite_store.h"

namespace spectre::store {

namespace {

const char* const kFlowCols =
    "SELECT id,ts,start_ts,flow_id,src_ip,src_port,dest_ip,dest_port,proto,app_proto,bytes,pkts,alerted,eve FROM flows";

FlowRow read_flow(const Stmt& s) {
  FlowRow f;
  f.id = uint64_t(s.i64(0));
  f.ts_ms = s.i64(1);
  f.start_ms = s.i64(2);
  f.flow_id = uint64_t(s.i64(3));
  f.src_ip = s.str(4);
  f.src_port = uint16_t(s.i64(5));
  f.dest_ip = s.str(6);
  f.dest_port = uint16_t(s.i64(7));
  f.proto = s.str(8);
  f.app_proto = s.str(9);
  f.bytes = uint64_t(s.i64(10));
  f.pkts = uint64_t(s.i64(11));
  f.alerted = s.i64(12) != 0;
  f.eve = s.str(13);
  return f;
}

void add(std::string& where, const char* cond) {
  where += where.empty() ? " WHERE " : " AND ";
  where += cond;
}

}  // namespace

// The order and cursor of build_alert_query: (ts, id) descending. An address
// (else a port) on either side is two ordered walks of the (src_*, ts) and
// (dest_*, ts) indexes merged by UNION ALL, each stopping at LIMIT; the other
// filters are residual. Without either, the (ts) index.
void build_flow_query(const FlowQuery& q, std::string& sql, std::vector<Bind>& out) {
  std::string w;
  std::vector<Bind> b;
  if (q.before_id) {
    add(w, "ts <= ? AND (ts < ? OR id < ?)");
    b.emplace_back(q.before_ts), b.emplace_back(q.before_ts), b.emplace_back(int64_t(q.before_id));
  }
  if (q.from_ms != std::numeric_limits<int64_t>::min()) add(w, "ts >= ?"), b.emplace_back(q.from_ms);
  if (q.to_ms != std::numeric_limits<int64_t>::max()) add(w, "ts <= ?"), b.emplace_back(q.to_ms);
  if (q.cidr) {
    add(w, "(src_num BETWEEN ? AND ? OR dest_num BETWEEN ? AND ?)");
    for (int k = 0; k < 2; k++) b.emplace_back(int64_t(q.cidr->lo)), b.emplace_back(int64_t(q.cidr->hi));
  }
  bool by_ip = !q.ip.empty(), by_port = !by_ip && q.port >= 0;
  if (by_ip && q.port >= 0) {
    add(w, "(src_port = ? OR dest_port = ?)");
    b.emplace_back(int64_t(q.port)), b.emplace_back(int64_t(q.port));
  }
  if (!q.proto.empty()) add(w, "proto = ?"), b.emplace_back(q.proto);
  if (!q.app_proto.empty()) add(w, "app_proto = ?"), b.emplace_back(q.app_proto);
  if (q.min_bytes) add(w, "bytes >= ?"), b.emplace_back(int64_t(q.min_bytes));
  std::string order = " ORDER BY ts DESC, id DESC LIMIT " + std::to_string(q.limit);
  if (!by_ip && !by_port) {
    sql = std::string(kFlowCols) + w + order;
    out = std::move(b);
    return;
  }
  const char* src = by_ip ? "src_ip" : "src_port";
  const char* dst = by_ip ? "dest_ip" : "dest_port";
  Bind key = by_ip ? Bind(q.ip) : Bind(int64_t(q.port));
  std::string rest = w.empty() ? std::string() : " AND " + w.substr(7);  // without " WHERE "
  sql = std::string("SELECT * FROM (") + kFlowCols + " WHERE " + src + " = ?" + rest + order +
        ") UNION ALL SELECT * FROM (" + kFlowCols + " WHERE " + dst + " = ? AND " + src + " != ?" + rest + order +
        ")" + order;
  out.clear();
  out.push_back(key);
  out.insert(out.end(), b.begin(), b.end());
  out.push_back(key);
  out.push_back(key);
  out.insert(out.end(), b.begin(), b.end());
}

bool SqliteStore::list_flows(const FlowQuery& q, std::vector<FlowRow>& out, std::string& err) {
  std::string sql;
  std::vector<Bind> b;
  build_flow_query(q, sql, b);
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare(sql);
  if (!s.ok()) { err = s.error(); return false; }
  s.bind_all(b);
  while (s.step()) out.push_back(read_flow(s));
  err = s.error();
  return err.empty();
}

bool SqliteStore::flows_after(uint64_t after, size_t max, std::vector<FlowRow>& out) {
  std::lock_guard g(rmu_);
  Stmt s = r_.prepare(std::string(kFlowCols) + " WHERE id > ? ORDER BY id LIMIT ?");
  s.bind(1, int64_t(after)).bind(2, int64_t(max));
  while (s.step()) out.push_back(read_flow(s));
  return s.error().empty();
}

uint64_t SqliteStore::min_flow_id() {
  std::lock_guard g(rmu_);
  return uint64_t(r_.scalar("SELECT min(id) FROM flows"));
}

}  // namespace spectre::store
