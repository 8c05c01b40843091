#include "ctrlplane/store/list_query.h"

#include <algorithm>
#include <limits>

namespace spectre::store {

std::string like(std::string_view s) {
  std::string p = "%";
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  return p + "%";
}

void add_ts_keyset(Where& w, int64_t before_ts, uint64_t before_id, int64_t from_ms, int64_t to_ms) {
  if (before_id) w.add("ts <= ? AND (ts < ? OR id < ?)", {before_ts, before_ts, int64_t(before_id)});
  if (from_ms != std::numeric_limits<int64_t>::min()) w.add("ts >= ?", {from_ms});
  if (to_ms != std::numeric_limits<int64_t>::max()) w.add("ts <= ?", {to_ms});
}

void add_cidr(Where& w, const std::optional<IpRange>& cidr) {
  if (!cidr) return;
  int64_t lo = cidr->lo, hi = cidr->hi;
  w.add("(src_num BETWEEN ? AND ? OR dest_num BETWEEN ? AND ?)", {lo, hi, lo, hi});
}

void ts_desc_select(const char* cols, Where w, size_t limit, const char* src, const char* dst,
                    const std::optional<Bind>& key, std::string& sql, std::vector<Bind>& binds) {
  std::string order = " ORDER BY ts DESC, id DESC LIMIT " + std::to_string(limit);
  if (!key) {
    sql = std::string(cols) + w.sql + order;
    binds = std::move(w.b);
    return;
  }
  std::string rest = w.sql.empty() ? std::string() : " AND " + w.sql.substr(7);  // without " WHERE "
  sql = std::string("SELECT * FROM (") + cols + " WHERE " + src + " = ?" + rest + order +
        ") UNION ALL SELECT * FROM (" + cols + " WHERE " + dst + " = ? AND " + src + " != ?" + rest + order + ")" +
        order;
  binds.clear();
  binds.push_back(*key);
  binds.insert(binds.end(), w.b.begin(), w.b.end());
  binds.push_back(*key);
  binds.push_back(*key);
  binds.insert(binds.end(), w.b.begin(), w.b.end());
}

void ts_desc_union(const char* cols, Where w, size_t limit, const char* col, const std::vector<int64_t>& vals,
                   std::string& sql, std::vector<Bind>& binds) {
  const std::string order = " ORDER BY ts DESC, id DESC LIMIT " + std::to_string(limit);
  const std::string rest = w.sql.empty() ? std::string() : " AND " + w.sql.substr(7);  // without " WHERE "
  sql.clear();
  binds.clear();
  for (int64_t v : vals) {
    sql += (sql.empty() ? "SELECT * FROM (" : " UNION ALL SELECT * FROM (") + std::string(cols) + " WHERE " + col +
           " = ?" + rest + order + ")";
    binds.push_back(v);
    binds.insert(binds.end(), w.b.begin(), w.b.end());
  }
  sql += order;
}

bool like_contains(std::string_view hay, std::string_view needle) {
  auto low = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                     [&](char a, char b) { return low(a) == low(b); }) != hay.end();
}

void add_q_ids(Where& w, const std::string& ids) { w.add("id IN (SELECT value FROM json_each(?))", {ids}); }

bool bounded_scan(Db& db, const std::string& sql, const std::vector<Bind>& b, size_t max_rows,
                  size_t want, const std::function<bool(const Stmt&)>& match, std::string& ids, ListStop& stop,
                  std::string& err) {
  Stmt s = db.prepare(sql);
  if (!s.ok()) { err = s.error(); return false; }
  s.bind_all(b);
  ids = "[";
  size_t hits = 0;
  stop = ListStop{};
  while (hits < want && s.step()) {
    stop.scanned++;
    stop.id = uint64_t(s.i64(0)), stop.ts = s.i64(1);
    if (match(s)) ids += (hits++ ? "," : "") + std::to_string(stop.id);
  }
  if (!s.error().empty()) { err = s.error(); return false; }
  ids += "]";
  stop.cut = hits < want && stop.scanned == max_rows;
  return true;
}

}  // namespace spectre::store
