// Thin RAII over the SQLite C API: a connection and prepared statements
// with positional binds. Errors come back as false + message, never throw.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace spectre::store {

using Bind = std::variant<int64_t, double, std::string>;

class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt() { if (st_) sqlite3_finalize(st_); }
  Stmt(Stmt&& o) noexcept : st_(o.st_), err_(std::move(o.err_)) { o.st_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return st_ != nullptr; }
  const std::string& error() const { return err_; }

  Stmt& reset() { sqlite3_reset(st_); sqlite3_clear_bindings(st_); return *this; }
  Stmt& bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); return *this; }
  Stmt& bind(int i, double v) { sqlite3_bind_double(st_, i, v); return *this; }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(st_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_null(int i) { sqlite3_bind_null(st_, i); return *this; }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind_v(int i, const Bind& b);
  void bind_all(const std::vector<Bind>& b) { for (size_t i = 0; i < b.size(); i++) bind_v(int(i + 1), b[i]); }
  // SQLITE_ROW: true; SQLITE_DONE or an error: false (error() says which).
  bool step();
  bool run() { step(); return err_.empty(); }  // a statement without rows
  int64_t i64(int c) const { return sqlite3_column_int64(st_, c); }
  double dbl(int c) const { return sqlite3_column_double(st_, c); }
  bool null(int c) const { return sqlite3_column_type(st_, c) == SQLITE_NULL; }
  std::string str(int c) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(st_, c));
    return p ? std::string(p, size_t(sqlite3_column_bytes(st_, c))) : std::string();
  }
  // The column's text without a copy: valid until the next step() or reset().
  std::string_view view(int c) const {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(st_, c));
    return p ? std::string_view(p, size_t(sqlite3_column_bytes(st_, c))) : std::string_view();
  }

 private:
  sqlite3_stmt* st_ = nullptr;
  std::string err_;
};

class Db {
 public:
  ~Db() { close(); }
  bool open(const std::string& path, bool create, std::string& err);
  void close();
  bool exec(std::string_view sql, std::string* err = nullptr);
  Stmt prepare(std::string_view sql) { return Stmt(db_, sql); }
  int64_t scalar(std::string_view sql, int64_t dflt = 0);
  sqlite3* raw() { return db_; }
  int64_t changes() { return sqlite3_changes64(db_); }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace spectre::store
