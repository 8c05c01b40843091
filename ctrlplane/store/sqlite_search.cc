// Free-text search (q=) through the FTS5 trigram indexes of schema version 4.
// The trigram index answers "which rows contain this substring" without
// reading the rows; the list order (ts, id) then sorts those few rows. For a
// term that many rows contain, the ordered walk with a substring residual is
// faster (it stops at LIMIT), so the index is asked first how many rows
// contain the term, up to kFtsMaxCandidates + 1.
#include "ctrlplane/store/sqlite_store.h"

namespace spectre::store {

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

namespace {
// Rows of `sql` (one bind) up to cap + 1.
size_t count_upto(Db& db, const std::string& sql, const std::string& bind, size_t cap) {
  Stmt s = db.prepare("SELECT count(*) FROM (" + sql + " LIMIT " + std::to_string(cap + 1) + ")");
  if (!s.ok()) return cap + 1;
  s.bind(1, bind);
  return s.step() ? size_t(s.i64(0)) : cap + 1;
}
}  // namespace

bool alerts_q_selective(Db& db, std::string_view q) {
  if (!fts_term(q)) return false;
  std::string t(q);
  size_t n = count_upto(db, "SELECT rowid FROM alerts_fts WHERE alerts_fts MATCH ?", fts_phrase(q), kFtsMaxCandidates);
  // The exact-address part of q= (src_ip or dest_ip equal to q) through their indexes.
  if (n <= kFtsMaxCandidates) n += count_upto(db, "SELECT id FROM alerts WHERE src_ip = ?", t, kFtsMaxCandidates);
  if (n <= kFtsMaxCandidates) n += count_upto(db, "SELECT id FROM alerts WHERE dest_ip = ?", t, kFtsMaxCandidates);
  return n <= kFtsMaxCandidates;
}

bool incidents_q_selective(Db& db, std::string_view q) {
  if (!fts_term(q)) return false;
  return count_upto(db, "SELECT rowid FROM incidents_fts WHERE incidents_fts MATCH ?", fts_phrase(q),
                    kFtsMaxCandidates) <= kFtsMaxCandidates;
}

}  // namespace spectre::store
