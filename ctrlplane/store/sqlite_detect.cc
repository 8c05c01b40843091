// SqliteStore: the /detect jobs and their results (schema version 4), written
// through the writer connection like the analyst changes.
#include <nlohmann/json.hpp>

#include "ctrlplane/store/list_query.h"
#include "ctrlplane/store/sqlite_store.h"

namespace spectre::store {

bool SqliteStore::save_detect_job(const DetectJobRow& j) {
  std::lock_guard g(wmu_);
  Stmt s = w_.prepare(
      "INSERT OR REPLACE INTO detect_jobs(id,seq,state,progress,submitted_by,submitted_ms,started_ms,finished_ms,"
      "bytes,alerts,incidents,truncated,error,warnings) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  s.bind(1, j.id).bind(2, int64_t(j.seq)).bind(3, j.state).bind(4, j.progress).bind(5, j.submitted_by);
  s.bind(6, j.submitted_ms).bind(7, j.started_ms).bind(8, j.finished_ms).bind(9, int64_t(j.bytes));
  s.bind(10, int64_t(j.alerts)).bind(11, int64_t(j.incidents)).bind(12, int64_t(j.truncated)).bind(13, j.error);
  s.bind(14, nlohmann::json(j.warnings).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return s.run();
}

bool SqliteStore::save_detect_results(const std::string& id, const Numbered& alerts, const Numbered& incidents) {
  std::lock_guard g(wmu_);
  if (!w_.exec("BEGIN IMMEDIATE")) return false;
  Stmt del = w_.prepare("DELETE FROM detect_results WHERE job=?");
  bool ok = del.bind(1, id).run();
  Stmt ins = w_.prepare("INSERT INTO detect_results(job,kind,ord,eve) VALUES(?,?,?,?)");
  const Numbered* kinds[2] = {&alerts, &incidents};
  for (int k = 0; k < 2 && ok; k++)
    for (auto& [ord, text] : *kinds[k])
      if (!(ok = ins.reset().bind(1, id).bind(2, int64_t(k)).bind(3, int64_t(ord)).bind(4, text).run())) break;
  if (!ok) {
    w_.exec("ROLLBACK");
    return false;
  }
  return w_.exec("COMMIT");
}

namespace {
DetectJobRow read_detect_job(const Stmt& s) {
  DetectJobRow j;
  j.id = s.str(0);
  j.seq = uint64_t(s.i64(1));
  j.state = s.str(2);
  j.progress = s.dbl(3);
  j.submitted_by = s.str(4);
  j.submitted_ms = s.i64(5);
  j.started_ms = s.i64(6);
  j.finished_ms = s.i64(7);
  j.bytes = uint64_t(s.i64(8));
  j.alerts = uint64_t(s.i64(9));
  j.incidents = uint64_t(s.i64(10));
  j.truncated = s.i64(11) != 0;
  j.error = s.str(12);
  auto w = nlohmann::json::parse(s.str(13), nullptr, false);
  if (w.is_array())
    for (auto& x : w)
      if (x.is_string()) j.warnings.push_back(x.get<std::string>());
  return j;
}
}  // namespace

std::vector<DetectJobRow> SqliteStore::detect_jobs() {
  std::vector<DetectJobRow> v;
  std::string err;
  std::lock_guard g(rmu_);
  run_list(r_,
           "SELECT id,seq,state,progress,submitted_by,submitted_ms,started_ms,finished_ms,bytes,alerts,incidents,"
           "truncated,error,warnings FROM detect_jobs ORDER BY submitted_ms, seq",
           {}, v, read_detect_job, err);
  return v;
}

bool SqliteStore::detect_results(const std::string& id, int kind, Numbered& out) {
  std::string err;
  std::lock_guard g(rmu_);
  return run_list(r_, "SELECT ord, eve FROM detect_results WHERE job=? AND kind=? ORDER BY ord", {id, int64_t(kind)},
                  out, [](const Stmt& s) { return std::pair(uint64_t(s.i64(0)), s.str(1)); }, err);
}

bool SqliteStore::delete_detect_job(const std::string& id) {
  std::lock_guard g(wmu_);
  Stmt a = w_.prepare("DELETE FROM detect_results WHERE job=?");
  Stmt b = w_.prepare("DELETE FROM detect_jobs WHERE id=?");
  return a.bind(1, id).run() && b.bind(1, id).run();
}

}  // namespace spectre::store
