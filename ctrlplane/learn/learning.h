// The learning loop of spectre-cp (issue 14): model status, drift of live
// feature rows against the active model's reference distributions, analyst
// feedback rates, retraining from stored rows + feedback labels into a
// candidate that must pass configured gates on hold-out rows, shadow scoring,
// promotion and rollback. Every change is audited.
//
// Narrow interface for the REST routes: each call returns the HTTP status and
// the JSON body of the contract's /api/v1/ml/* answers (errors {"error":".."}).
// Thread-safe; a retrain runs on its own thread (child processes spectre-ml
// retrain and spectre-ml gate), one at a time.
//
// Live rows: the data plane's --dump-features CSV (one row per flow scoring
// point, written by its event writer thread: no per-packet cost, one ring
// record per scored row); poll_rows() reads what was appended since the last
// call. Alerts for the rate detector: drift().add_alert(ts) from alert ingest.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctrlplane/cp/audit.h"
#include "ctrlplane/cp/commands.h"
#include "ctrlplane/cp/registry.h"
#include "ctrlplane/learn/row_index.h"
#include "ml/drift.h"
#include "ml/gate.h"

namespace spectre::ml {
struct LoadedModel;
}

namespace spectre::learn {

struct LearnResult {
  int status = 200;  // HTTP status: 200, 202 (job started), 404, 409 (refused), 500, 502 (data plane)
  std::string body;  // JSON
};

struct LearningOptions {
  std::string spectre_ml;                 // the spectre-ml binary
  std::vector<std::string> train_csvs;    // labelled base rows (spectre-ml label output)
  std::string rows_csv;                   // stored live rows (--dump-features CSV)
  std::string feedback_jsonl;             // analyst verdicts (ml/feedback.h format)
  std::vector<std::string> holdout_csvs;  // labelled rows of whole captures training never saw
  std::vector<std::string> train_args;    // extra spectre-ml retrain/train-xgb options
  // Benign rows training never saw: the candidate gets the active model's
  // guard and is calibrated on them (spectre-ml retrain --calibrate); empty: not.
  std::vector<std::string> calibrate_csvs;
  ml::GateConfig gates;
  double feedback_weight = 3;
  std::string work_dir;                   // candidates and job logs; empty: <registry>/learn
  ml::DriftOptions drift;
  int job_timeout_s = 1800;               // a retrain or gate child running longer is killed
  bool rate_clock = true;                 // reports close alert-rate buckets up to now (false: offline alerts)
  // Live shadow figures of the data plane (stats ml.shadow: rows scored by the
  // shadow, its alerts, rows where it agreed with the active model's alert
  // decision); empty or false: not shown.
  std::function<bool(uint64_t& scored, uint64_t& alerts, uint64_t& agree)> shadow_counters;
  // agreement.live.window: the counters' change over the last this many seconds
  // (from samples: sample_shadow()); the cumulative figure is shown beside it.
  int agreement_window_s = 3600;
  std::function<int64_t()> clock_ms;     // the samples' clock (tests); empty: steady clock
  // {sha256, path} of the model the attached data plane runs: drift compares
  // with it while the registry has no active model (a data plane started with
  // its configured model, e.g. the shipped one). Empty or "": not used.
  std::function<std::pair<std::string, std::string>()> dataplane_model;
};

class Learning {
 public:
  // Runs a control command ("model load" FILE, "model shadow" FILE, "model
  // rollback") through spectre-cp's Controller (data plane, registry, audit).
  // Empty: no data plane attached; the registry alone changes (audited here).
  using RunCommand = std::function<cp::Reply(const cp::Request&)>;

  Learning(cp::ModelRegistry& reg, cp::AuditLog& audit, LearningOptions opt, RunCommand run = {});
  ~Learning();  // waits for a running retrain
  Learning(const Learning&) = delete;
  Learning& operator=(const Learning&) = delete;

  LearnResult status();                                  // GET /ml/status
  LearnResult drift_report();                            // GET /ml/drift
  std::string drift_metrics();                           // Prometheus lines for /metrics
  LearnResult feedback_rates();                          // GET /ml/feedback
  LearnResult start_retrain(const std::string& actor);   // POST /ml/retrain -> 202 {"job"}
  LearnResult job(const std::string& id);                // the job's state
  bool wait_job(const std::string& id, int timeout_ms);  // true when it finished
  LearnResult promote(const std::string& version, const std::string& actor);  // POST /ml/promote
  LearnResult rollback(const std::string& actor);                             // POST /ml/rollback
  // Stores and activates an operator's artifact without gates (the first
  // model, or a model made elsewhere); audited as "ml install".
  LearnResult install(const std::string& path, const std::string& actor);

  // GET /alerts/{id}/explain of an ML alert: every feature's contribution (largest
  // |contribution| first) of model `version` (registry, else the data plane's model)
  // for output `cls` on the newest dumped row of flow_id at phase; 404 when the
  // model or the row is not kept (explain.cc).
  LearnResult explain(const std::string& flow_id, const std::string& phase, const std::string& version,
                      const std::string& cls);
  RowIndex::Stats row_index_stats() { return row_index_.stats(); }
  // Prepares the first explain after a start: indexes the rows file's tail and
  // loads the active model explain would load (explain.cc). warm_explain() does it
  // now; start_warm() on a thread of its own (joined by the destructor), so that
  // neither spectre-cp's start nor its API waits for it. False + err: nothing to warm
  // or the file/model could not be read (explain then does the work itself).
  bool warm_explain(std::string& err);
  void start_warm();
  // explain's row index in Prometheus text (rows indexed at warm-up vs inside a
  // lookup, index hits, fallback scans) for /metrics.
  std::string explain_metrics();

  // Samples the data plane's shadow counters for agreement.live.window (status()
  // does too; spectre-cp calls it every minute). History restarts when the
  // shadow changes or the counters go back (a data-plane restart).
  void sample_shadow();

  // Reads rows appended to opt.rows_csv since the last call into the drift
  // monitor (the whole file the first time; a truncated file starts over).
  size_t poll_rows();
  ml::DriftMonitor& drift() { return drift_; }

 private:
  struct Job {
    std::string id, state = "queued", error, actor, candidate_sha, candidate_version, log;
    double progress = 0;
    std::string gate_json;  // gate report
    bool passed = false;
  };
  void run_job(std::shared_ptr<Job> j);
  bool retrain_step(Job& j, const std::string& active_path, std::string& cand, std::string& err);
  bool store_candidate(Job& j, const std::string& cand, std::string& err);
  void audit(const std::string& actor, const std::string& cmd, std::vector<std::pair<std::string, std::string>> args,
             bool ok, const std::string& msg, const std::string& sha);
  std::string job_json(const Job& j) const;
  void sync_drift_model();  // loads the active model for drift when it changed
  // explain's model: loaded once while the file keeps its size and mtime (explain.cc).
  std::shared_ptr<const ml::LoadedModel> explain_model(const std::string& path, std::string& err);
  struct ShadowSample {
    int64_t t_ms = 0;
    uint64_t scored = 0, alerts = 0, agree = 0;
  };
  // Samples the counters of shadow `sha` into the history; the live object
  // ({window, cumulative}) or null when there are no counters.
  nlohmann::ordered_json shadow_live(const std::string& sha);
  std::string work_dir() const;

  cp::ModelRegistry& reg_;
  cp::AuditLog& audit_;
  LearningOptions opt_;
  RunCommand run_;
  ml::DriftMonitor drift_;
  std::mutex change_mu_;  // registry changes (install, promote, rollback, a job's candidate), one at a time
  std::mutex mu_;         // jobs_ and their fields, drift model / row tail state (never held across a child or a data-plane call)
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::shared_ptr<Job> running_;
  std::thread worker_;
  std::thread warm_;  // start_warm()
  std::string drift_sha_, drift_path_, drift_source_;  // the model drift compares with, and where it came from
  uint64_t rows_offset_ = 0;
  RowIndex row_index_;  // explain's rows by (flow_id, phase); its own lock
  std::mutex explain_mu_;  // the last model explain loaded (one kept)
  std::string explain_key_;
  std::shared_ptr<const ml::LoadedModel> explain_model_;
  std::vector<int> rows_cols_;
  int rows_ts_col_ = -1;
  uint64_t job_seq_ = 0;
  std::deque<ShadowSample> shadow_samples_;  // under mu_: oldest is the window's base
  std::string shadow_samples_sha_;
};

// Copies the complete lines of src to dst (a half-written last line is left out).
bool snapshot_rows(const std::string& src, const std::string& dst, std::string& err);

// Runs argv with stdout+stderr appended to log; exit status, -1 when it could
// not start, -2 when it ran past timeout_s and was killed.
int run_child(const std::vector<std::string>& argv, const std::string& log, int timeout_s);

}  // namespace spectre::learn
