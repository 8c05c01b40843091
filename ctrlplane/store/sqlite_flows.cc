// SqliteStore: flow records (list with filters and keyset cursor, replay by id).
#include "ctrlplane/store/eve_rows.h"
#include "ctrlplane/store/list_query.h"
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

}  // namespace

// The (ts, id) keyset of list_query.h. An address (else a port) on either side
// is the two-walk select over the (src_*, ts) and (dest_*, ts) indexes; the
// other filters are residual. Without either, the (ts) index.
void build_flow_query(const FlowQuery& q, std::string& sql, std::vector<Bind>& out) {
  Where w;
  add_ts_keyset(w, q.before_ts, q.before_id, q.from_ms, q.to_ms);
  add_cidr(w, q.cidr);
  bool by_ip = !q.ip.empty(), by_port = !by_ip && q.port >= 0;
  if (by_ip && q.port >= 0) w.add("(src_port = ? OR dest_port = ?)", {int64_t(q.port), int64_t(q.port)});
  if (!q.proto.empty()) w.add("proto = ?", {q.proto});
  if (!q.app_proto.empty()) w.add("app_proto = ?", {q.app_proto});
  if (q.min_bytes) w.add("bytes >= ?", {int64_t(q.min_bytes)});
  std::optional<Bind> key;
  if (by_ip) key = q.ip;
  if (by_port) key = int64_t(q.port);
  ts_desc_select(kFlowCols, std::move(w), q.limit, by_ip ? "src_ip" : "src_port", by_ip ? "dest_ip" : "dest_port", key,
                 sql, out);
}

bool SqliteStore::list_flows(const FlowQuery& q, std::vector<FlowRow>& out, std::string& err) {
  std::string sql;
  std::vector<Bind> b;
  build_flow_query(q, sql, b);
  std::lock_guard g(rmu_);
  return run_list(r_, sql, b, out, read_flow, err);
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
