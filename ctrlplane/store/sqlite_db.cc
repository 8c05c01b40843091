#include "ctrlplane/store/sqlite_db.h"

namespace spectre::store {

Stmt::Stmt(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v2(db, sql.data(), int(sql.size()), &st_, nullptr) != SQLITE_OK) {
    err_ = sqlite3_errmsg(db);
    st_ = nullptr;
  }
}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    if (st_) sqlite3_finalize(st_);
    st_ = o.st_;
    err_ = std::move(o.err_);
    o.st_ = nullptr;
  }
  return *this;
}

Stmt& Stmt::bind_v(int i, const Bind& b) {
  if (auto p = std::get_if<int64_t>(&b)) return bind(i, *p);
  if (auto p = std::get_if<double>(&b)) return bind(i, *p);
  return bind(i, std::string_view(std::get<std::string>(b)));
}

bool Stmt::step() {
  if (!st_) return false;
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) { err_.clear(); return false; }
  err_ = sqlite3_errmsg(sqlite3_db_handle(st_));
  return false;
}

bool Db::open(const std::string& path, bool create, std::string& err) {
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    err = db_ ? sqlite3_errmsg(db_) : "out of memory";
    close();
    return false;
  }
  sqlite3_busy_timeout(db_, 5000);
  return true;
}

void Db::close() {
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

bool Db::exec(std::string_view sql, std::string* err) {
  char* msg = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &msg) == SQLITE_OK) return true;
  if (err) *err = msg ? msg : "sqlite error";
  sqlite3_free(msg);
  return false;
}

int64_t Db::scalar(std::string_view sql, int64_t dflt) {
  Stmt s(db_, sql);
  if (s.step() && !s.null(0)) return s.i64(0);
  return dflt;
}

}  // namespace spectre::store
