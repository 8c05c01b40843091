// spectre-learn: the learning loop's operations from the command line, over a
// model registry directory and an audit log, with no data plane attached (the
// same calls spectre-cp's /api/v1/ml/* routes make). Prints the JSON body.
// Exit: 0 ok, 1 failed, 2 wrong use, 3 refused (a gate, or nothing to do).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "ctrlplane/learn/config.h"
#include "ctrlplane/learn/learning.h"
#include "ml/cli_util.h"

#include <nlohmann/json.hpp>

namespace {

const char* kHelp =
    "usage: spectre-learn --registry DIR --audit FILE [options] COMMAND\n"
    "  status | drift | metrics | feedback | retrain | promote VERSION | rollback | install /ABS/MODEL.spm\n"
    "options (after --config FILE, whose learning: section they override):\n"
    "  --config FILE          a YAML file with a learning: section (ctrlplane/learn/config.h)\n"
    "  --spectre-ml PATH      the spectre-ml binary (retrain)\n"
    "  --train CSV            labelled base rows (repeatable)\n"
    "  --rows CSV             stored live rows (--dump-features output): retrain input and drift window\n"
    "  --feedback JSONL       analyst verdicts (ml/feedback.h)\n"
    "  --holdout CSV          labelled hold-out rows, whole captures never trained on (repeatable)\n"
    "  --max-fpr F --min-tpr T|CLASS=T,.. --min-agreement F   gates (defaults 0.01, 0.5, 0.9)\n"
    "  --allow-no-tpr         pass the TPR gate when no hold-out flow has a class the model names\n"
    "  --weight N             feedback rows repeated N times (default 3)\n"
    "  --train-arg ARG        passed to spectre-ml retrain / train-xgb (repeatable)\n"
    "  --calibrate CSV        benign rows never trained on: keep the active guard, calibrate (repeatable)\n"
    "  --actor NAME           recorded in the audit log (default: cli)\n"
    "  --window N             drift window rows (default 2000); --min-rows N (default 200)\n"
    "  --alerts EVE.json      drift/metrics: feed the alert-rate detector with these alerts\n"
    "  --bucket-s S           alert-rate bucket (default 60 s)\n";

int usage(const std::string& m) {
  std::fprintf(stderr, "spectre-learn: %s\n%s", m.c_str(), kHelp);
  return 2;
}

// Unix time of an EVE timestamp ("2026-12-07T07:00:00.123456+0000"); 0 when it does not parse.
double eve_time(const std::string& ts) {
  struct tm tm{};
  const char* p = strptime(ts.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p) return 0;
  double t = double(timegm(&tm));
  if (*p == '.') {
    char* end = nullptr;
    t += std::strtod(p, &end);
    p = end;
  }
  if ((*p == '+' || *p == '-') && std::strlen(p) >= 5) {
    const int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[p[3] == ':' ? 4 : 3] - '0') * 10 + (p[p[3] == ':' ? 5 : 4] - '0');
    t -= (*p == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
  }
  return t;
}

// Feeds the alert-rate detector with the alerts of an EVE file (event_type alert);
// returns the number fed, -1 when the file cannot be read.
long feed_alerts(const std::string& path, spectre::ml::DriftMonitor& d) {
  std::ifstream f(path);
  if (!f) return -1;
  long n = 0;
  double last = 0;
  for (std::string line; std::getline(f, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object() || j.value("event_type", "") != "alert" || !j["timestamp"].is_string()) continue;
    const double t = eve_time(j["timestamp"].get<std::string>());
    if (t <= 0) continue;
    d.add_alert(t);
    last = std::max(last, t);
    ++n;
  }
  if (last > 0) d.tick(last);
  return n;
}

int emit(const spectre::learn::LearnResult& r) {
  std::printf("%s\n", r.body.c_str());
  if (r.status < 300) return 0;
  return r.status == 409 ? 3 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace spectre;
  learn::LearningOptions o;
  std::string registry, audit_path, actor = "cli", alerts;
  std::vector<std::string> cmd;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    static const std::vector<std::string> kWithValue = {
        "--config", "--registry", "--audit", "--spectre-ml", "--train", "--rows", "--feedback", "--holdout", "--train-arg",
        "--actor", "--calibrate", "--alerts", "--bucket-s", "--min-tpr", "--max-fpr", "--min-agreement", "--weight", "--window", "--min-rows"};
    for (const auto& k : kWithValue)
      if (a == k && i + 1 >= argc) return usage(a + " needs a value");
    auto val = [&]() -> std::string { return argv[++i]; };
    std::string v;
    double d;
    if (a == "-h" || a == "--help") { std::printf("%s", kHelp); return 0; }
    else if (a == "--allow-no-tpr") o.gates.require_tpr = false;
    else if (a == "--config") {
      std::string err;
      if (!learn::load_learning_config(val(), o, err)) {
        std::fprintf(stderr, "spectre-learn: %s\n", err.c_str());
        return 2;
      }
    } else if (a == "--registry") registry = val();
    else if (a == "--audit") audit_path = val();
    else if (a == "--spectre-ml") o.spectre_ml = val();
    else if (a == "--train") o.train_csvs.push_back(val());
    else if (a == "--rows") o.rows_csv = val();
    else if (a == "--feedback") o.feedback_jsonl = val();
    else if (a == "--holdout") o.holdout_csvs.push_back(val());
    else if (a == "--train-arg") o.train_args.push_back(val());
    else if (a == "--calibrate") o.calibrate_csvs.push_back(val());
    else if (a == "--alerts") alerts = val();
    else if (a == "--actor") actor = val();
    else if (a == "--min-tpr") {
      std::string err;
      if (!ml::parse_tpr_spec(val(), o.gates, err)) return usage(err);
    } else if (a == "--max-fpr" || a == "--min-agreement" || a == "--weight" || a == "--window" || a == "--min-rows" ||
               a == "--bucket-s") {
      v = val();
      if (!ml::cli::parse_number(v, d) || !(d >= 0)) return usage(a + " wants a number");
      if (a == "--max-fpr") o.gates.max_benign_fpr = d;
      else if (a == "--min-agreement") o.gates.min_agreement = d;
      else if (a == "--weight") o.feedback_weight = d;
      else if (a == "--window") o.drift.window_rows = size_t(d);
      else if (a == "--bucket-s") o.drift.bucket_s = std::max(1.0, d);
      else o.drift.min_rows = size_t(d);
    } else if (!a.empty() && a[0] == '-') return usage("unknown option " + a);
    else cmd.push_back(a);
  }
  if (registry.empty() || audit_path.empty() || cmd.empty()) return usage("--registry, --audit and a command are needed");
  cp::ModelRegistry reg;
  cp::AuditLog audit;
  std::string err;
  if (!reg.open(registry, err) || !audit.open(audit_path, err)) {
    std::fprintf(stderr, "spectre-learn: %s\n", err.c_str());
    return 1;
  }
  o.rate_clock = alerts.empty();
  learn::Learning l(reg, audit, o);
  if (!alerts.empty() && feed_alerts(alerts, l.drift()) < 0) {
    std::fprintf(stderr, "spectre-learn: cannot read %s\n", alerts.c_str());
    return 1;
  }
  const std::string& c = cmd[0];
  if (c == "status" && cmd.size() == 1) return emit(l.status());
  if (c == "drift" && cmd.size() == 1) return emit(l.drift_report());
  if (c == "metrics" && cmd.size() == 1) { std::printf("%s", l.drift_metrics().c_str()); return 0; }
  if (c == "feedback" && cmd.size() == 1) return emit(l.feedback_rates());
  if (c == "promote" && cmd.size() == 2) return emit(l.promote(cmd[1], actor));
  if (c == "rollback" && cmd.size() == 1) return emit(l.rollback(actor));
  if (c == "install" && cmd.size() == 2) return emit(l.install(cmd[1], actor));
  if (c == "retrain" && cmd.size() == 1) {
    learn::LearnResult r = l.start_retrain(actor);
    if (r.status != 202) return emit(r);
    const std::string id = nlohmann::json::parse(r.body)["job"];
    l.wait_job(id, o.job_timeout_s * 2 * 1000);
    r = l.job(id);
    const auto j = nlohmann::json::parse(r.body);
    std::printf("%s\n", r.body.c_str());
    if (j["state"] != "done") return 1;
    return j["passed"].get<bool>() ? 0 : 3;
  }
  return usage("unknown command or wrong arguments: " + c);
}
