// The learning loop (see learning.h).
#include "ctrlplane/learn/learning.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "ml/artifact.h"
#include "ml/cli_util.h"
#include "ml/feedback.h"

namespace spectre::learn {

namespace {

using ojson = nlohmann::ordered_json;

constexpr int kGateRefused = 3;                 // spectre-ml gate: a gate failed
constexpr size_t kMaxRowsPerPoll = 200000;      // bounds one poll's memory (~50 features * 8 bytes each)
constexpr uint64_t kTailBytes = 8u << 20;       // a first read starts this far before the end (~10k rows)

LearnResult error(int status, const std::string& why) { return {status, ojson{{"error", why}}.dump()}; }

int64_t now_unix() { return int64_t(::time(nullptr)); }

ojson parse_or_null(const std::string& s) {
  if (s.empty()) return nullptr;
  ojson j = ojson::parse(s, nullptr, false);
  return j.is_discarded() ? ojson(nullptr) : j;
}

// Version, sha256, name, kind, loaded_at of an entry plus the artifact's classes and metrics.
ojson entry_obj(const cp::ModelRegistry& reg, const cp::ModelEntry& e) {
  ojson j{{"version", e.version}, {"sha256", e.sha256}, {"name", e.name}, {"kind", e.kind},
          {"loaded_at", e.loaded_at}, {"who", e.who}};
  ml::LoadedModel m;
  std::string err;
  if (ml::load_artifact_file(reg.path_of(e.sha256), m, err)) {
    j["classes"] = m.class_names;
    ojson mets = ojson::object();
    for (const auto& [k, v] : m.metrics) mets[k] = std::isfinite(v) ? ojson(v) : ojson(nullptr);
    j["metrics"] = mets;
    j["reference_rows"] = m.reference.rows;
  } else {
    j["classes"] = ojson::array();
    j["metrics"] = ojson::object();
    j["error"] = err;
  }
  return j;
}

}  // namespace

// The data plane appends to its rows file while a job runs and its last line
// may be half written: the job reads a copy of the complete lines.
bool snapshot_rows(const std::string& src, const std::string& dst, std::string& err) {
  std::ifstream in(src, std::ios::binary);
  if (!in) {
    err = "cannot read the rows file " + src;
    return false;
  }
  std::ofstream out(dst, std::ios::binary | std::ios::trunc);
  std::vector<char> buf(1 << 20);
  std::string carry;  // bytes after the last newline seen so far
  while (in) {
    in.read(buf.data(), std::streamsize(buf.size()));
    const size_t got = size_t(in.gcount());
    if (!got) break;
    const char* nl = static_cast<const char*>(memrchr(buf.data(), '\n', got));
    if (!nl) {
      carry.append(buf.data(), got);
      continue;
    }
    const size_t upto = size_t(nl - buf.data()) + 1;
    out.write(carry.data(), std::streamsize(carry.size()));
    out.write(buf.data(), std::streamsize(upto));
    carry.assign(buf.data() + upto, got - upto);
  }
  out.close();
  if (!out) {
    err = "cannot write " + dst;
    return false;
  }
  return true;
}

int run_child(const std::vector<std::string>& argv, const std::string& log, int timeout_s) {
  if (argv.empty()) return -1;
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return -1;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return -1;
  }
  if (pid == 0) {  // child: only async-signal-safe calls until exec
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fd);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int st = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      return -2;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

Learning::Learning(cp::ModelRegistry& reg, cp::AuditLog& audit, LearningOptions opt, RunCommand run)
    : reg_(reg), audit_(audit), opt_(std::move(opt)), run_(std::move(run)), drift_(opt_.drift) {}

Learning::~Learning() {
  if (worker_.joinable()) worker_.join();
  if (warm_.joinable()) warm_.join();
}

std::string Learning::work_dir() const { return opt_.work_dir.empty() ? reg_.dir() + "/learn" : opt_.work_dir; }

void Learning::audit(const std::string& actor, const std::string& cmd,
                     std::vector<std::pair<std::string, std::string>> args, bool ok, const std::string& msg,
                     const std::string& sha) {
  cp::AuditRecord a;
  a.peer.pid = ::getpid();
  a.peer.uid = ::getuid();
  a.peer.gid = ::getgid();
  args.insert(args.begin(), {"actor", actor});
  a.command = cmd;
  a.args = std::move(args);
  a.ok = ok;
  a.message = msg;
  a.model_sha256 = sha;
  audit_.record(a);
}

LearnResult Learning::status() {
  std::string err;
  reg_.refresh(err);
  const auto act = reg_.active();
  const auto sh = reg_.shadow();
  ojson j;
  j["active"] = act ? entry_obj(reg_, *act) : ojson(nullptr);
  j["shadow"] = sh ? entry_obj(reg_, *sh) : ojson(nullptr);
  j["versions"] = ojson::array();
  for (const auto& e : reg_.list()) {
    ojson v{{"version", e.version}, {"sha256", e.sha256}, {"name", e.name}, {"kind", e.kind},
            {"loaded_at", e.loaded_at}, {"active", act && act->sha256 == e.sha256},
            {"shadow", sh && sh->sha256 == e.sha256}};
    const ojson ev = parse_or_null(reg_.evaluation(e.sha256));
    v["evaluation"] = ev.is_object() ? ojson{{"passed", ev.value("passed", false)}, {"failed", ev.value("failed", ojson::array())},
                                             {"job", ev.value("job", "")}}
                                     : ojson(nullptr);
    j["versions"].push_back(v);
  }
  // Agreement of the shadow (else the newest evaluated candidate) with the
  // model active at its evaluation, on the hold-out flows.
  j["agreement"] = nullptr;
  std::string sha = sh ? sh->sha256 : "";
  if (sha.empty())
    for (const auto& e : reg_.list())
      if (!reg_.evaluation(e.sha256).empty()) sha = e.sha256;
  const ojson ev = parse_or_null(sha.empty() ? "" : reg_.evaluation(sha));
  if (ev.is_object() && !ev.value("agreement", ojson(nullptr)).is_null())
    j["agreement"] = {{"candidate", sha}, {"against", ev["active"].is_object() ? ev["active"].value("sha256", "") : ""},
                      {"holdout_flows", ev.value("agreement_flows", 0)}, {"holdout", ev["agreement"]},
                      {"source", "hold-out rows at evaluation"}};
  if (ojson live = sh ? shadow_live(sh->sha256) : ojson(nullptr); !live.is_null()) {
    if (!j["agreement"].is_object()) j["agreement"] = {{"candidate", sh->sha256}};
    j["agreement"]["live"] = std::move(live);
  }
  j["dataplane"] = run_ ? "attached" : "detached";
  std::lock_guard g(mu_);
  j["jobs"] = ojson::array();
  for (const auto& [id, job] : jobs_) j["jobs"].push_back(parse_or_null(job_json(*job)));
  return {200, j.dump()};
}

void Learning::sample_shadow() {
  std::string err;
  reg_.refresh(err);
  if (const auto sh = reg_.shadow()) shadow_live(sh->sha256);
}

// The data plane's shadow counters run since it started, across shadow models;
// the window is the change since the newest sample at least agreement_window_s
// old (the oldest kept), taken under the same shadow and without a restart.
ojson Learning::shadow_live(const std::string& sha) {
  ShadowSample s;
  if (!opt_.shadow_counters || !opt_.shadow_counters(s.scored, s.alerts, s.agree)) return nullptr;
  s.t_ms = opt_.clock_ms ? opt_.clock_ms()
                         : std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch()).count();
  std::lock_guard g(mu_);
  auto& q = shadow_samples_;
  if (sha != shadow_samples_sha_ || (!q.empty() && (s.scored < q.back().scored || s.alerts < q.back().alerts ||
                                                     s.agree < q.back().agree))) {
    q.clear();
    shadow_samples_sha_ = sha;
  }
  q.push_back(s);
  const int64_t start = s.t_ms - int64_t(opt_.agreement_window_s) * 1000;
  while (q.size() > 1 && q[1].t_ms <= start) q.pop_front();
  if (q.size() > 10000) q.erase(q.begin() + 1);  // status read in a tight loop: keep the base and the newest
  const ShadowSample& b = q.front();
  auto part = [](uint64_t scored, uint64_t alerts, uint64_t agree) {
    return ojson{{"scored", scored}, {"alerts", alerts}, {"agree", agree},
                 {"rate", scored ? ojson(double(agree) / double(scored)) : ojson(nullptr)}};
  };
  ojson w = part(s.scored - b.scored, s.alerts - b.alerts, s.agree - b.agree);
  w["seconds"] = opt_.agreement_window_s;
  w["covered_s"] = double(s.t_ms - b.t_ms) / 1000.0;  // < seconds: the history is younger than the window
  ojson c = part(s.scored, s.alerts, s.agree);
  c["since"] = "the data plane's start (every shadow model it ran)";
  return ojson{{"window", w}, {"cumulative", c}, {"source", "data plane shadow scoring (rows)"}};
}

void Learning::sync_drift_model() {
  std::string err;
  reg_.refresh(err);
  const auto act = reg_.active();
  std::string sha = act ? act->sha256 : "", path = act ? reg_.path_of(sha) : "", source = "registry";
  if (!act && opt_.dataplane_model) {  // no registry model yet: the one the data plane runs
    std::tie(sha, path) = opt_.dataplane_model();
    source = "data plane";
    if (path.empty() || path[0] != '/') sha.clear();  // a path relative to the data plane's directory: unknown here
  }
  if (sha == drift_sha_) return;
  drift_sha_ = sha;
  drift_path_ = path;
  drift_source_ = sha.empty() ? "" : source;
  rows_offset_ = 0;  // re-read the rows for the new model
  rows_cols_.clear();
  if (sha.empty()) {
    drift_.set_model(nullptr);
    return;
  }
  auto m = std::make_shared<ml::LoadedModel>();
  if (!ml::load_artifact_file(path, *m, err) || m->sha256 != sha) m.reset();  // replaced since it was loaded: none
  if (!m) drift_path_.clear();
  drift_.set_model(std::move(m));
}

size_t Learning::poll_rows() {
  std::lock_guard g(mu_);
  sync_drift_model();
  if (opt_.rows_csv.empty()) return 0;
  std::ifstream f(opt_.rows_csv, std::ios::binary);
  if (!f) return 0;
  f.seekg(0, std::ios::end);
  const uint64_t size = uint64_t(f.tellg());
  if (size < rows_offset_) rows_offset_ = 0, rows_cols_.clear();  // truncated or replaced
  f.seekg(std::streamoff(rows_offset_));
  std::string line;
  std::vector<double> x;
  size_t n = 0;
  double ts = 0;
  while (n < kMaxRowsPerPoll && std::getline(f, line)) {
    if (f.eof()) break;  // no newline yet: a row being written; read it next time
    rows_offset_ += line.size() + 1;
    const std::vector<std::string> cells = ml::cli::split(line, ',');
    if (rows_cols_.empty()) {  // header
      std::vector<std::string> names;
      std::string err;
      ml::LoadedModel probe;
      if (drift_path_.empty() || !ml::load_artifact_file(drift_path_, probe, err)) return n;
      if (!ml::cli::map_features(cells, probe.feature_names, rows_cols_, err)) return n;
      rows_ts_col_ = ml::cli::find_column(cells, "ts");
      if (size - rows_offset_ > kTailBytes) {  // a long history: only its end can be in the window
        rows_offset_ = size - kTailBytes;
        f.seekg(std::streamoff(rows_offset_));
        std::getline(f, line);  // the rest of a row cut by the jump
        rows_offset_ += line.size() + 1;
      }
      continue;
    }
    size_t want = 0;
    for (int c : rows_cols_) want = std::max(want, size_t(c) + 1);
    if (cells.size() < want) continue;  // a short row is skipped
    bool ok = true;
    for (int c : rows_cols_) {
      double v = 0;
      ok = ok && ml::cli::parse_number(cells[size_t(c)], v);
      x.push_back(v);
    }
    if (!ok) {
      x.resize(x.size() - rows_cols_.size());
      continue;
    }
    if (rows_ts_col_ >= 0 && size_t(rows_ts_col_) < cells.size()) ml::cli::parse_number(cells[size_t(rows_ts_col_)], ts);
    ++n;
  }
  if (n) drift_.add_rows(x, n, std::isfinite(ts) && ts > 0 ? ts : double(now_unix()));
  return n;
}

LearnResult Learning::drift_report() {
  poll_rows();
  if (opt_.rate_clock) drift_.tick(double(now_unix()));
  ojson j = ojson::parse(drift_.report_json());
  std::lock_guard g(mu_);
  j["model"] = drift_path_.empty() ? ojson(nullptr) : ojson{{"sha256", drift_sha_}, {"source", drift_source_}};
  return {200, j.dump()};
}

std::string Learning::drift_metrics() {
  poll_rows();
  if (opt_.rate_clock) drift_.tick(double(now_unix()));
  return drift_.prometheus();
}

LearnResult Learning::feedback_rates() {
  ml::FeedbackSet fb;
  std::string err;
  if (opt_.feedback_jsonl.empty()) return {200, ml::feedback_rates_json(fb)};
  if (!ml::read_feedback(opt_.feedback_jsonl, fb, err)) {
    struct stat sb;
    if (::stat(opt_.feedback_jsonl.c_str(), &sb) != 0) return {200, ml::feedback_rates_json(fb)};  // none yet
    return error(500, err);
  }
  return {200, ml::feedback_rates_json(fb)};
}

std::string Learning::job_json(const Job& j) const {
  ojson o{{"job", j.id}, {"state", j.state}, {"progress", j.progress}, {"actor", j.actor}};
  o["candidate"] = j.candidate_sha.empty() ? ojson(nullptr)
                                           : ojson{{"version", j.candidate_version}, {"sha256", j.candidate_sha}};
  o["gate"] = parse_or_null(j.gate_json);
  o["passed"] = j.passed;
  o["log"] = j.log;
  if (!j.error.empty()) o["error"] = j.error;
  return o.dump();
}

LearnResult Learning::start_retrain(const std::string& actor) {
  std::lock_guard g(mu_);
  if (running_ && running_->state != "done" && running_->state != "failed")
    return error(409, "retrain job " + running_->id + " is still running");
  if (opt_.spectre_ml.empty() || opt_.train_csvs.empty() || opt_.holdout_csvs.empty())
    return error(409, "retraining is not configured (spectre-ml, training rows and hold-out rows are needed)");
  if (worker_.joinable()) worker_.join();
  auto j = std::make_shared<Job>();
  j->id = "r" + std::to_string(now_unix()) + "-" + std::to_string(++job_seq_);
  j->actor = actor;
  j->log = work_dir() + "/" + j->id + ".log";
  jobs_[j->id] = j;
  running_ = j;
  audit(actor, "ml retrain", {{"job", j->id}}, true, "started", "");
  worker_ = std::thread([this, j] { run_job(j); });
  return {202, ojson{{"job", j->id}, {"state", "queued"}}.dump()};
}

bool Learning::retrain_step(Job& j, const std::string& active_path, std::string& cand, std::string& err) {
  cand = work_dir() + "/" + j.id + ".spm";
  struct stat sb;
  const bool copy = ::stat(opt_.rows_csv.c_str(), &sb) == 0;  // else spectre-ml says what is missing
  const std::string rows = copy ? work_dir() + "/" + j.id + ".rows.csv" : opt_.rows_csv;
  if (copy && !snapshot_rows(opt_.rows_csv, rows, err)) return false;
  std::vector<std::string> argv = {opt_.spectre_ml, "retrain", "--rows", rows, "--feedback",
                                   opt_.feedback_jsonl, "-o", cand, "--weight", std::to_string(opt_.feedback_weight),
                                   "--label", opt_.gates.label, "--benign", opt_.gates.benign};
  for (const auto& c : opt_.train_csvs) argv.insert(argv.end(), {"--csv", c});
  if (!active_path.empty()) argv.insert(argv.end(), {"--active", active_path});
  std::string calib;
  for (const auto& c : opt_.calibrate_csvs) calib += (calib.empty() ? "" : ",") + c;
  if (!calib.empty()) argv.insert(argv.end(), {"--calibrate", calib});
  argv.insert(argv.end(), opt_.train_args.begin(), opt_.train_args.end());
  int rc = run_child(argv, j.log, opt_.job_timeout_s);
  if (copy) ::unlink(rows.c_str());  // a copy: the candidate and the job log record what came of it
  if (rc != 0) {
    err = "spectre-ml retrain failed (exit " + std::to_string(rc) + "; log " + j.log + ")";
    return false;
  }
  {
    std::lock_guard g(mu_);  // status() reads the job under mu_
    j.progress = 0.6;
  }
  std::string tpr;
  for (const auto& [c, v] : opt_.gates.class_tpr) tpr += "," + c + "=" + std::to_string(v);
  const std::string gate_json = work_dir() + "/" + j.id + ".gate.json";
  argv = {opt_.spectre_ml, "gate", "--candidate", cand, "--json", gate_json,
          "--max-fpr", std::to_string(opt_.gates.max_benign_fpr), "--min-tpr", std::to_string(opt_.gates.min_tpr) + tpr,
          "--min-agreement", std::to_string(opt_.gates.min_agreement), "--label", opt_.gates.label,
          "--benign", opt_.gates.benign, "--phase", opt_.gates.phase};
  if (!opt_.gates.require_tpr) argv.push_back("--allow-no-tpr");
  for (const auto& c : opt_.holdout_csvs) argv.insert(argv.end(), {"--csv", c});
  if (!active_path.empty()) argv.insert(argv.end(), {"--active", active_path});
  rc = run_child(argv, j.log, opt_.job_timeout_s);
  if (rc != 0 && rc != kGateRefused) {
    err = "spectre-ml gate failed (exit " + std::to_string(rc) + "; log " + j.log + ")";
    return false;
  }
  std::ifstream gf(gate_json);
  const std::string report((std::istreambuf_iterator<char>(gf)), std::istreambuf_iterator<char>());
  const ojson gj = parse_or_null(report);
  if (!gj.is_object()) {
    err = "spectre-ml gate wrote no report";
    return false;
  }
  std::lock_guard g(mu_);
  j.gate_json = report;
  j.passed = rc == 0 && gj.value("passed", false);
  return true;
}

// Validates and stores the candidate, records its evaluation, and when it
// passed makes it the shadow model (scored beside the active one).
bool Learning::store_candidate(Job& j, const std::string& cand, std::string& err) {
  cp::ModelCandidate c;
  if (!cp::ModelRegistry::validate(cand, "", c, err)) return false;
  const auto act = reg_.active();
  if (act) {
    ml::LoadedModel a, n;
    if (ml::load_artifact_file(reg_.path_of(act->sha256), a, err) && ml::load_artifact_file(cand, n, err) &&
        a.feature_schema_hash != n.feature_schema_hash) {
      err = "the candidate's feature schema differs from the active model's";
      return false;
    }
  }
  std::string stored;
  if (!reg_.store(c, stored, err)) return false;
  {
    std::lock_guard g(mu_);
    j.candidate_sha = c.entry.sha256;
    j.candidate_version = c.entry.version;
  }
  ojson ev = parse_or_null(j.gate_json);
  ev["job"] = j.id;
  ev["evaluated_at"] = cp::iso_time_utc(now_unix());
  ev["holdout"] = opt_.holdout_csvs;
  if (!reg_.put_evaluation(c.entry.sha256, ev.dump(), err)) return false;
  std::string failed;
  for (const auto& f : ev.value("failed", ojson::array())) failed += (failed.empty() ? "" : ", ") + f.get<std::string>();
  audit(j.actor, "ml gate", {{"job", j.id}, {"candidate", c.entry.sha256}}, j.passed,
        j.passed ? "all gates passed" : "refused: gate(s) failed: " + failed, c.entry.sha256);
  cp::ModelEntry e = c.entry;
  e.name = "candidate-" + j.id;
  e.loaded_at_unix = now_unix();
  e.loaded_at = cp::iso_time_utc(e.loaded_at_unix);
  e.who = "learn job " + j.id + " for " + j.actor;
  if (!j.passed) return reg_.add(e, err);  // listed with its evaluation; not scored in shadow
  if (!reg_.add(e, err)) return false;
  if (run_) {
    cp::Request r;
    r.cmd = "model shadow";
    r.file = stored;
    const cp::Reply rep = run_(r);
    if (rep.code != cp::kExitOk) {
      err = "shadow: " + rep.error;
      return false;
    }
    return true;
  }
  if (!reg_.set_shadow(e, err)) return false;
  audit(j.actor, "ml shadow", {{"job", j.id}}, true, "candidate recorded as the shadow model (no data plane attached)",
        e.sha256);
  return true;
}

void Learning::run_job(std::shared_ptr<Job> j) {
  auto set = [&](const char* state, double p) {
    std::lock_guard g(mu_);
    j->state = state;
    j->progress = p;
  };
  set("running", 0.1);
  std::string err, cand;
  ::mkdir(work_dir().c_str(), 0750);
  reg_.refresh(err);
  err.clear();
  const auto act = reg_.active();
  const std::string active_path = act ? reg_.path_of(act->sha256) : "";
  bool ok = retrain_step(*j, active_path, cand, err);
  if (ok) {
    std::lock_guard c(change_mu_);  // serialises with promote / rollback / install
    ok = store_candidate(*j, cand, err);
  }
  std::lock_guard g(mu_);
  j->state = ok ? "done" : "failed";
  j->progress = 1;
  j->error = err;
  audit(j->actor, "ml retrain", {{"job", j->id}}, ok,
        ok ? (j->passed ? "candidate " + j->candidate_version + " passed the gates (shadow)"
                        : "candidate " + j->candidate_version + " refused by the gates")
           : err,
        j->candidate_sha);
}

LearnResult Learning::job(const std::string& id) {
  std::lock_guard g(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return error(404, "no retrain job " + id);
  return {200, job_json(*it->second)};
}

bool Learning::wait_job(const std::string& id, int timeout_ms) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    {
      std::lock_guard g(mu_);
      auto it = jobs_.find(id);
      if (it == jobs_.end()) return false;
      if (it->second->state == "done" || it->second->state == "failed") return true;
    }
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

LearnResult Learning::promote(const std::string& version, const std::string& actor) {
  std::lock_guard g(change_mu_);
  std::string err;
  reg_.refresh(err);
  auto refuse = [&](int st, const std::string& why, const std::string& sha) {
    audit(actor, "ml promote", {{"version", version}}, false, why, sha);
    return error(st, why);
  };
  if (version.empty()) return refuse(400, "promote: version missing", "");
  const auto e = reg_.find_version(version);
  if (!e) return refuse(404, "no model version '" + version + "' in the registry (or several match)", "");
  const auto act = reg_.active();
  if (act && act->sha256 == e->sha256) return refuse(409, "version " + version + " is already active", e->sha256);
  const ojson ev = parse_or_null(reg_.evaluation(e->sha256));
  if (!ev.is_object())
    return refuse(409, "version " + version + " has no evaluation: only candidates of a retrain job are promoted", e->sha256);
  if (!ev.value("passed", false)) {
    std::string why;
    for (const auto& c : ev.value("checks", ojson::array()))
      if (!c.value("passed", false))
        why += (why.empty() ? "" : "; ") + c.value("name", "") + " " +
               (c["value"].is_number() ? std::to_string(c["value"].get<double>()) : std::string("n/a")) +
               " (limit " + std::to_string(c.value("limit", 0.0)) + ")";
    return refuse(409, "refused: gate(s) failed: " + why, e->sha256);
  }
  if (act && ev["active"].is_object() && ev["active"].value("sha256", "") != act->sha256)
    return refuse(409, "version " + version + " was evaluated against another active model; retrain first", e->sha256);
  if (run_) {
    cp::Request r;
    r.cmd = "model load";
    r.file = reg_.path_of(e->sha256);
    const cp::Reply rep = run_(r);
    if (rep.code != cp::kExitOk) return refuse(rep.code == cp::kExitUnreachable ? 502 : 409, rep.error, e->sha256);
  } else {
    cp::ModelCandidate c;
    if (!cp::ModelRegistry::validate(reg_.path_of(e->sha256), "", c, err) || c.entry.sha256 != e->sha256)
      return refuse(500, "stored copy does not validate: " + err, e->sha256);
    cp::ModelEntry ne = *e;
    ne.loaded_at_unix = now_unix();
    ne.loaded_at = cp::iso_time_utc(ne.loaded_at_unix);
    ne.who = "promoted by " + actor;
    if (!reg_.activate(ne, err)) return refuse(500, err, e->sha256);
  }
  reg_.refresh(err);
  audit(actor, "ml promote", {{"version", version}}, true,
        "active: " + e->version + (act ? " (was " + act->version + ")" : ""), e->sha256);
  ojson out{{"active", {{"version", e->version}, {"sha256", e->sha256}}}};
  out["previous"] = act ? ojson{{"version", act->version}, {"sha256", act->sha256}} : ojson(nullptr);
  return {200, out.dump()};
}

LearnResult Learning::install(const std::string& path, const std::string& actor) {
  std::lock_guard g(change_mu_);
  std::string err;
  cp::ModelCandidate c;
  if (path.empty() || path[0] != '/') return error(400, "install: an absolute artifact path is needed");
  if (!cp::ModelRegistry::validate(path, "", c, err)) {
    audit(actor, "ml install", {{"file", path}}, false, err, "");
    return error(400, err);
  }
  if (run_) {
    cp::Request r;
    r.cmd = "model load";
    r.file = path;
    const cp::Reply rep = run_(r);
    if (rep.code != cp::kExitOk) {
      audit(actor, "ml install", {{"file", path}}, false, rep.error, c.entry.sha256);
      return error(rep.code == cp::kExitUnreachable ? 502 : 409, rep.error);
    }
  } else {
    std::string stored;
    cp::ModelEntry e = c.entry;
    e.loaded_at_unix = now_unix();
    e.loaded_at = cp::iso_time_utc(e.loaded_at_unix);
    e.who = "installed by " + actor;
    if (!reg_.store(c, stored, err) || !reg_.activate(e, err)) {
      audit(actor, "ml install", {{"file", path}}, false, err, c.entry.sha256);
      return error(500, err);
    }
  }
  audit(actor, "ml install", {{"file", path}}, true, "active: " + c.entry.version, c.entry.sha256);
  return {200, ojson{{"active", {{"version", c.entry.version}, {"sha256", c.entry.sha256}}}}.dump()};
}

LearnResult Learning::rollback(const std::string& actor) {
  std::lock_guard g(change_mu_);
  std::string err;
  reg_.refresh(err);
  const auto cur = reg_.active();
  cp::ModelEntry prev;
  if (!cur || !reg_.previous(prev, err)) {
    const std::string why = err.empty() ? "nothing to roll back" : err;
    audit(actor, "ml rollback", {}, false, why, "");
    return error(409, why);
  }
  if (run_) {
    cp::Request r;
    r.cmd = "model rollback";
    const cp::Reply rep = run_(r);
    if (rep.code != cp::kExitOk) {
      audit(actor, "ml rollback", {}, false, rep.error, prev.sha256);
      return error(rep.code == cp::kExitUnreachable ? 502 : 409, rep.error);
    }
  } else if (!reg_.rollback(cur->sha256, err)) {
    audit(actor, "ml rollback", {}, false, err, prev.sha256);
    return error(409, err);
  }
  audit(actor, "ml rollback", {}, true, "active: " + prev.version + " (was " + cur->version + ")", prev.sha256);
  ojson out{{"active", {{"version", prev.version}, {"sha256", prev.sha256}}},
            {"was", {{"version", cur->version}, {"sha256", cur->sha256}}}};
  return {200, out.dump()};
}

}  // namespace spectre::learn
