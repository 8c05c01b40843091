// The list queries' shared parts (alerts, incidents: sqlite_query.cc; flows:
// sqlite_flows.cc): a WHERE with its binds, the (ts, id) descending keyset
// cursor, the two-walk select on a key of either side, the run, and the
// bounded q= scan of alerts and incidents (sqlite_search.cc).
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ctrlplane/store/sqlite_db.h"
#include "ctrlplane/store/store.h"

namespace spectre::store {

// LIKE pattern for a substring, with %, _ and \ escaped (ESCAPE '\').
std::string like(std::string_view s);

// A WHERE clause and its binds, in the order of its ?s.
struct Where {
  std::string sql;
  std::vector<Bind> b;
  Where& add(std::string_view cond, std::initializer_list<Bind> binds = {}) {
    sql += sql.empty() ? " WHERE " : " AND ";
    sql += cond;
    b.insert(b.end(), binds);
    return *this;
  }
};

// Newest first by event time, ties by id: (ts, id) descending is a total
// order, so keyset pages have no gap or duplicate. The cursor (rows after
// (before_ts, before_id); before_id 0: from the newest) is a range on ts plus
// a residual on id for the rows of the same millisecond; then [from, to].
void add_ts_keyset(Where& w, int64_t before_ts, uint64_t before_id, int64_t from_ms, int64_t to_ms);
// A v4 range on either side (src_num, dest_num), when given.
void add_cidr(Where& w, const std::optional<IpRange>& cidr);

// `cols` (a SELECT ... FROM t) with w, (ts, id) descending, LIMIT. With a key,
// rows whose src or dst column equals it: two ordered index walks (src, then
// dst without the rows already taken) merged by UNION ALL, each stopping at
// LIMIT; an OR would collect and sort every row of the key.
void ts_desc_select(const char* cols, Where w, size_t limit, const char* src, const char* dst,
                    const std::optional<Bind>& key, std::string& sql, std::vector<Bind>& binds);

// `cols` with w, (ts, id) descending, LIMIT, over rows whose `col` is one of
// `vals`: one ordered index walk per value (col, ts), merged by UNION ALL,
// each stopping at LIMIT; an IN list would collect and sort every row of the values.
void ts_desc_union(const char* cols, Where w, size_t limit, const char* col, const std::vector<int64_t>& vals,
                   std::string& sql, std::vector<Bind>& binds);

// LIKE's test of a substring: case-insensitive for ASCII, other bytes exact.
bool like_contains(std::string_view hay, std::string_view needle);

// A bounded q= scan's matches (BoundedScan::ids) as the list query's candidates.
void add_q_ids(Where& w, const std::string& ids);

// The bounded q= scan of a list page (a term the trigram index cannot narrow):
// runs `sql` (the list query without q, built with only the columns the test
// reads: the same filters, cursor and order; its first column the id, the
// second the cursor's time, 0 for a list ordered by id alone; LIMIT
// `max_rows`), and tests `match` on each row, stopping at `want` matches. `ids`: the matches as a
// JSON array (add_q_ids); `stop`: the rows tested, the last one, and whether
// the bound cut the scan before `want` matches.
bool bounded_scan(Db& db, const std::string& sql, const std::vector<Bind>& b, size_t max_rows,
                  size_t want, const std::function<bool(const Stmt&)>& match, std::string& ids, ListStop& stop,
                  std::string& err);

// Runs a list query: one read(stmt) a row appended to out.
template <typename Row, typename Read>
bool run_list(Db& db, const std::string& sql, const std::vector<Bind>& binds, std::vector<Row>& out, Read&& read,
              std::string& err) {
  Stmt s = db.prepare(sql);
  if (!s.ok()) { err = s.error(); return false; }
  s.bind_all(binds);
  while (s.step()) out.push_back(read(s));
  err = s.error();
  return err.empty();
}

}  // namespace spectre::store
