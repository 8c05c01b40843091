// Free-text search (q=) through the FTS5 trigram indexes of schema version 4.
//
// A phrase query on a trigram index reads the doclist of every trigram of the
// term, and common trigrams ("sig", "re ") are in most rows: hundreds of ms
// at 1 M rows. So the index only narrows: each trigram of the term is probed
// (at most kProbe rowids read), the rarest ones are ANDed into the MATCH
// expression, and the list query keeps the LIKE predicate as the exact test
// on those candidates (the semantics stay LIKE's: a substring,
// case-insensitive for ASCII). When the candidates exceed
// kFtsMaxCandidates, the ordered walk with the residual is the faster plan
// (it stops at LIMIT) and q_match stays empty.
#include <algorithm>
#include <set>

#include "ctrlplane/store/sqlite_store.h"

namespace spectre::store {

namespace {
constexpr size_t kProbe = 500;    // rowids read per trigram to rank them
constexpr size_t kMaxProbes = 24; // trigrams probed (spread over a long term)
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

// "" when the term's candidates exceed kFtsMaxCandidates, else the MATCH
// expression: the rarest trigrams by a cheap probe (at most kProbe rowids
// each); when every trigram is common, the first, a middle and the last.
std::string narrow(Db& db, const char* fts, std::string_view q) {
  if (!fts_term(q)) return "";
  std::string probe = std::string("SELECT rowid FROM ") + fts + " WHERE " + fts + " MATCH ?";
  std::vector<std::string> tri = trigrams(q);
  std::vector<std::pair<size_t, size_t>> ranked;  // (count up to kProbe + 1, index in tri)
  for (size_t i = 0; i < tri.size(); i++) {
    size_t n = count_upto(db, probe, tri[i], kProbe);
    if (n == 0) return tri[i];  // a trigram no row has: no row contains the term
    ranked.emplace_back(n, i);
  }
  // Ties among the common ones: spread over the term (first, last, middle).
  size_t last = tri.size() - 1;
  auto spread = [&](size_t i) { return i == 0 ? 0 : i == last ? 1 : 2 + (i > last / 2 ? i - last / 2 : last / 2 - i); };
  std::stable_sort(ranked.begin(), ranked.end(), [&](auto& a, auto& b) {
    return a.first != b.first ? a.first < b.first : spread(a.second) < spread(b.second);
  });
  std::string expr;
  for (size_t i = 0; i < ranked.size() && i < kAnd; i++) expr += (i ? " AND " : "") + tri[ranked[i].second];
  return count_upto(db, probe, expr, kFtsMaxCandidates) <= kFtsMaxCandidates ? expr : "";
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

std::string alerts_q_match(Db& db, std::string_view q) {
  std::string expr = narrow(db, "alerts_fts", q);
  if (expr.empty()) return "";
  // The exact-address part of q= (src_ip or dest_ip equal to q) comes through their indexes.
  std::string t(q);
  size_t n = count_upto(db, "SELECT rowid FROM alerts_fts WHERE alerts_fts MATCH ?", expr, kFtsMaxCandidates);
  if (n <= kFtsMaxCandidates) n += count_upto(db, "SELECT id FROM alerts WHERE src_ip = ?", t, kFtsMaxCandidates);
  if (n <= kFtsMaxCandidates) n += count_upto(db, "SELECT id FROM alerts WHERE dest_ip = ?", t, kFtsMaxCandidates);
  return n <= kFtsMaxCandidates ? expr : "";
}

std::string incidents_q_match(Db& db, std::string_view q) { return narrow(db, "incidents_fts", q); }

}  // namespace spectre::store
