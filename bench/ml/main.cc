// spectre-mlbench: ns per row of our XGBoost and isolation-forest scorers
// against libxgboost and scikit-learn on the same models and rows.
// Exit: 0 ok, 1 runtime error, 2 usage, 3 our scores disagree with the reference.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "bench/ml/mlbench.h"

using namespace spectre::mlbench;

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: spectre-mlbench [--quick] [--json FILE] [--reps N] [--ms MS] [--no-xgb]\n"
               "         [--no-default-threads] [--save-models DIR] [--iforest-json FILE | --iforest-py SCRIPT]\n"
               "  --quick             one timed model (100 trees, depth 6), short repetitions (smoke test)\n"
               "  --json FILE         write the JSON report to FILE\n"
               "  --reps N, --ms MS   repetitions per figure (median reported) and ms each\n"
               "  --no-xgb            skip the XGBoost comparison\n"
               "  --save-models DIR   write the trained models (XGBoost JSON) to DIR\n"
               "  --no-default-threads  skip libxgboost with its default thread count\n"
               "  --iforest-json FILE forest + rows + sklearn scores/timings from iforest_sklearn.py\n"
               "  --iforest-py SCRIPT run /usr/bin/python3 SCRIPT first (skipped if sklearn is missing)\n");
}

double tsc_ghz() {
  const double t0 = now_s();
  const uint64_t c0 = __rdtsc();
  while (now_s() - t0 < 0.05) {
  }
  return static_cast<double>(__rdtsc() - c0) / ((now_s() - t0) * 1e9);
}

std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  bool xgb = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) { usage(); std::exit(2); }
      return argv[++i];
    };
    if (a == "--quick") o.quick = true;
    else if (a == "--json") o.json_path = val();
    else if (a == "--reps") o.reps = std::atoi(val());
    else if (a == "--ms") o.seconds_per_rep = std::atof(val()) / 1e3;
    else if (a == "--no-xgb") xgb = false;
    else if (a == "--save-models") o.save_dir = val();
    else if (a == "--no-default-threads") o.xgb_default_threads = false;
    else if (a == "--iforest-json") o.iforest_json = val();
    else if (a == "--iforest-py") o.iforest_py = val();
    else if (a == "-h" || a == "--help") { usage(); return 0; }
    else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); usage(); return 2; }
  }
  if (o.reps < 1 || o.seconds_per_rep <= 0) { usage(); return 2; }
  if (o.quick) {
    o.reps = std::min(o.reps, 5);
    o.seconds_per_rep = std::min(o.seconds_per_rep, 0.01);
  }

  Report rep;
  rep.tsc_ghz = tsc_ghz();
  rep.cpu = cpu_model();
  const double t0 = now_s();
  if (xgb && !run_xgb(o, rep)) {
    print_table(rep);
    if (!o.json_path.empty()) write_json(rep, o, o.json_path);
    return 3;
  }

  std::string forest = o.iforest_json;
  std::string tmpdir;
  if (!o.iforest_py.empty()) {
    char tmpl[] = "/tmp/spectre_mlbench_XXXXXX";
    if (!mkdtemp(tmpl)) { std::perror("mkdtemp"); return 1; }
    tmpdir = tmpl;
    forest = tmpdir + "/iforest.json";
    const std::string cmd = "/usr/bin/python3 " + o.iforest_py + " --out " + forest + (o.quick ? " --quick" : "");
    std::fprintf(stderr, "[mlbench] %s\n", cmd.c_str());
    const int st = std::system(cmd.c_str());
    const int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (code == 3) {
      std::fprintf(stderr, "[mlbench] scikit-learn not available: isolation forest skipped\n");
      forest.clear();
    } else if (code != 0) {
      std::fprintf(stderr, "[mlbench] %s failed (status %d)\n", o.iforest_py.c_str(), code);
      return 1;
    }
  }
  bool if_ok = true;
  if (!forest.empty()) if_ok = run_iforest(o, forest, rep);
  if (!tmpdir.empty()) std::system(("rm -rf " + tmpdir).c_str());

  print_table(rep);
  std::printf("total %.1f s\n", now_s() - t0);
  if (!o.json_path.empty() && !write_json(rep, o, o.json_path)) {
    std::fprintf(stderr, "cannot write %s\n", o.json_path.c_str());
    return 1;
  }
  return rep.xgb_ok && if_ok ? 0 : 3;
}
