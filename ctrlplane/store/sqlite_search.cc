// Free-text search (q=) through the FTS5 trigram indexes of schema version 5.
//
// A phrase query on a trigram index reads the doclist of every trigram of the
// term, and common trigrams ("sig", "re ") are in most rows: 0.5 s at 1 M
// rows; so is an AND with them. So the index only narrows, with the term's
// rare trigrams: each trigram is probed (at most kProbe rowids read), those
// in at most kProbe rows are ANDed (the kAnd rarest) into the MATCH
// expression, and the list query keeps the LIKE predicate as the exact test
// on those candidates (the semantics stay LIKE's: a substring,
// case-insensitive for ASCII). A term made only of common trigrams (or of
// 1-2 characters) takes the ordered walk with the residual, which stops at
// LIMIT: fast when the term is common too, a long walk when it is rare. So a
// caller that can continue (a list page, with a ListStop) gets it bounded:
// at most q_scan_rows (50,000) rows are tested (q_plan, the same code for
// alerts and incidents) and the page says where the scan stopped.
#include <algorithm>
#include <set>

#include "ctrlplane/store/list_query.h"
#include "ctrlplane/store/sqlite_store.h"

namespace spectre::store {

namespace {
constexpr size_t kProbe = 2000;   // a trigram in more rows is common (rowids read per probe)
constexpr size_t kMaxProbes = 12; // trigrams probed (spread over a long term)
constexpr size_t kAnd = 3;        // rarest trigrams ANDed

// Rows of `sql` (one bind) up to cap + 1.
size_t count_upto(Db& db, const std::string& sql, const std::string& bind, size_t cap) {
  Stmt s = db.prepare("SELECT count(*) FROM (" + sql + " LIMIT " + std::to_string(cap + 1) + ")");
  if (!s.ok()) return cap + 1;
  s.bind(1, bind);
  return s.step() ? size_t(s.i64(0)) : cap + 1;
}

// The term's trigrams (UTF-8 characters), each as an FTS5 phrase.
std::vector<std::string> trigrams(std::string_view q) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < q.size(); i++)
    if ((static_cast<unsigned char>(q[i]) & 0xC0) != 0x80) starts.push_back(i);
  starts.push_back(q.size());
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (size_t k = 0; k + 3 < starts.size(); k++) {
    std::string t = fts_phrase(q.substr(starts[k], starts[k + 3] - starts[k]));
    if (seen.insert(t).second) out.push_back(t);
  }
  if (out.size() > kMaxProbes) {  // spread the probes over the term
    std::vector<std::string> spread;
    for (size_t i = 0; i < kMaxProbes; i++) spread.push_back(out[i * (out.size() - 1) / (kMaxProbes - 1)]);
    out = std::move(spread);
  }
  return out;
}

// The MATCH expression of the term's rare trigrams (in at most kProbe rows
// each, the kAnd rarest ANDed), "" when every probed trigram is common: then
// the term is likely common too and the ordered walk finds LIMIT rows early.
std::string narrow(Db& db, const char* fts, std::string_view q, bool* absent = nullptr) {
  if (!fts_term(q)) return "";
  std::string probe = std::string("SELECT rowid FROM ") + fts + " WHERE " + fts + " MATCH ?";
  std::vector<std::pair<size_t, std::string>> rare;
  for (auto& t : trigrams(q)) {
    size_t n = count_upto(db, probe, t, kProbe);
    if (n == 0) {  // a trigram no row has: no row contains the term
      if (absent) *absent = true;
      return t;
    }
    if (n <= kProbe) rare.emplace_back(n, t);
  }
  std::stable_sort(rare.begin(), rare.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::string expr;
  for (size_t i = 0; i < rare.size() && i < kAnd; i++) expr += (i ? " AND " : "") + rare[i].second;
  return expr;
}
}  // namespace

bool fts_term(std::string_view q) {
  size_t chars = 0;
  for (unsigned char c : q) chars += (c & 0xC0) != 0x80;  // UTF-8 lead bytes
  return chars >= 3;
}

std::string fts_phrase(std::string_view q) {
  std::string p = "\"";
  for (char c : q) {
    if (c == '"') p += '"';
    p += c;
  }
  return p + "\"";
}

std::string alerts_q_match(Db& db, std::string_view q, bool* absent) {
  // The index is over the alerts' distinct texts (schema 6): the probes count texts,
  // the candidates are the alerts of the matching texts.
  bool none = false;
  std::string expr = narrow(db, "alert_texts_fts", q, &none);
  if (absent) *absent = none;
  if (expr.empty() || none) return expr;  // no text has the term: only its exact-address rows can match
  // The exact-address part of q= (src_ip or dest_ip equal to q) comes through their indexes.
  std::string t(q);
  size_t n = count_upto(db, "SELECT id FROM alerts WHERE text_id IN (SELECT rowid FROM alert_texts_fts WHERE "
                            "alert_texts_fts MATCH ?)", expr, kFtsMaxCandidates);
  if (n <= kFtsMaxCandidates) n += count_upto(db, "SELECT id FROM alerts WHERE src_ip = ?", t, kFtsMaxCandidates);
  if (n <= kFtsMaxCandidates) n += count_upto(db, "SELECT id FROM alerts WHERE dest_ip = ?", t, kFtsMaxCandidates);
  return n <= kFtsMaxCandidates ? expr : "";
}

std::string incidents_q_match(Db& db, std::string_view q) { return narrow(db, "incidents_fts", q); }

namespace {
// The plan shared by alerts and incidents: the index's candidates (match_expr)
// when it narrows; else, for a list page (`stop`), the bounded scan of the rows
// of the same query without q (the same builder: the same filters, cursor and
// order), at most q.q_scan_rows, testing q as the list query's residual does.
template <typename Query, typename Build>
bool q_plan(Db& db, Query& q, std::string match_expr, ListStop* stop, Build build, const char* cols,
            const std::function<bool(const Stmt&)>& match, std::string& err) {
  q.q_match = std::move(match_expr);
  if (!q.q_match.empty() || !stop) return true;
  Query in = q;
  in.q.clear();
  in.limit = std::max<size_t>(1, q.q_scan_rows);
  std::string sql;
  std::vector<Bind> b;
  build(in, sql, b, cols);  // only the columns the test reads
  return bounded_scan(db, sql, b, in.limit, q.limit, match, q.q_ids, *stop, err);
}
}  // namespace

bool alerts_q_plan(Db& db, AlertQuery& q, ListStop* stop, std::string& err) {
  bool absent = false;
  std::string expr = alerts_q_match(db, q.q, &absent);
  // No text contains the term (an address, typically): the matches are the rows
  // of that exact address, which the ip filter's two ordered walks give reading
  // LIMIT rows (the candidate plan fetched and sorted every row of the address:
  // 0.1-5 s on a cold 10 M store, docs/BENCH.md session 28).
  if (absent && (q.ip.empty() || q.ip == q.q)) {
    q.ip = q.q;
    q.q.clear();
    return true;
  }
  const std::string& t = q.q;
  auto match = [&t](const Stmt& s) {
    return like_contains(s.view(2), t) || like_contains(s.view(3), t) || s.view(4) == t || s.view(5) == t;
  };
  return q_plan(db, q, std::move(expr), stop, build_alert_query,
                "SELECT id, ts, signature, category, src_ip, dest_ip FROM alerts", match, err);
}

bool incidents_q_plan(Db& db, IncidentQuery& q, ListStop* stop, std::string& err) {
  const std::string& t = q.q;
  auto match = [&t](const Stmt& s) { return like_contains(s.view(2), t); };
  return q_plan(db, q, incidents_q_match(db, q.q), stop, build_incident_query, "SELECT id, 0 AS ts, record FROM incidents",
                match, err);
}

}  // namespace spectre::store
