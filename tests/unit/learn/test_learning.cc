// ctrlplane/learn: registry evaluation records, promotion gates (no
// evaluation, failed gates, stale evaluation, pass), rollback, audit lines,
// the data-plane path through RunCommand, the row tail of poll_rows, and
// refusals of unconfigured retraining.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ctrlplane/learn/config.h"
#include "ctrlplane/learn/learning.h"
#include "ml/drift.h"
#include "ml/feature_schema.h"
#include "tests/unit/ctrlplane/test_cp_util.h"

using namespace spectre;
using cp_test::TempDir;
using nlohmann::json;

namespace {

struct Fixture {
  TempDir tmp;
  cp::ModelRegistry reg;
  cp::AuditLog audit;
  Fixture() {
    std::string err;
    EXPECT_TRUE(reg.open(tmp.path + "/reg", err)) << err;
    EXPECT_TRUE(audit.open(tmp.path + "/audit.log", err)) << err;
  }
  std::vector<json> audit_lines() {
    std::vector<json> out;
    std::ifstream f(tmp.path + "/audit.log");
    for (std::string l; std::getline(f, l);) out.push_back(json::parse(l));
    return out;
  }
  // Stores a variant of default.spm in the registry (not active); its entry.
  cp::ModelEntry stored(int version) {
    const std::string file = cp_test::make_variant(tmp.path, version);
    cp::ModelCandidate c;
    std::string err, path;
    EXPECT_TRUE(cp::ModelRegistry::validate(file, "", c, err)) << err;
    EXPECT_TRUE(reg.store(c, path, err)) << err;
    EXPECT_TRUE(reg.add(c.entry, err)) << err;
    return c.entry;
  }
  std::string evaluation(bool passed, const std::string& active_sha) {
    json e{{"passed", passed},
           {"failed", passed ? json::array() : json{"tpr.scan"}},
           {"checks", {{{"name", "benign_fpr"}, {"value", 0.0}, {"limit", 0.01}, {"passed", true}},
                       {{"name", "tpr.scan"}, {"value", passed ? 0.9 : 0.1}, {"limit", 0.5}, {"passed", passed}}}},
           {"active", {{"sha256", active_sha}}},
           {"agreement", 0.95},
           {"agreement_flows", 100}};
    return e.dump();
  }
};

// default.spm installed in `l`, and loaded into `m` (feature names, reference).
void install_default(learn::Learning& l, spectre::ml::LoadedModel& m) {
  ASSERT_EQ(l.install(cp_test::model_path(), "admin").status, 200);
  std::string err;
  ASSERT_TRUE(spectre::ml::load_artifact_file(cp_test::model_path(), m, err)) << err;
}

// The header line of a rows file for `m`'s features.
void rows_header(std::ostream& rows, const spectre::ml::LoadedModel& m) {
  rows << "flow_id,phase,ts_start,ts,src_ip,src_port,dst_ip,dst_port,proto";
  for (const auto& name : m.feature_names) rows << "," << name;
  rows << "\n";
}

}  // namespace

TEST(LearnRegistry, EvaluationRecordsAndVersionLookup) {
  Fixture f;
  cp::ModelEntry a = f.stored(41), b = f.stored(42);
  std::string err;
  EXPECT_EQ(f.reg.evaluation(a.sha256), "");
  ASSERT_TRUE(f.reg.put_evaluation(a.sha256, "{\"passed\":true}", err)) << err;
  EXPECT_EQ(f.reg.evaluation(a.sha256), "{\"passed\":true}");
  EXPECT_FALSE(f.reg.put_evaluation("../etc", "{}", err));
  ASSERT_TRUE(f.reg.find_version("42"));
  EXPECT_EQ(f.reg.find_version("42")->sha256, b.sha256);
  EXPECT_EQ(f.reg.find_version(a.sha256.substr(0, 10))->sha256, a.sha256);
  EXPECT_FALSE(f.reg.find_version(a.sha256.substr(0, 4)));  // too short a prefix
  EXPECT_FALSE(f.reg.find_version("43"));
  EXPECT_FALSE(f.reg.active());  // add() activates nothing
  EXPECT_EQ(f.reg.list().size(), 2u);
}

TEST(Learning, PromoteOnlyThroughPassingEvaluationThenRollback) {
  Fixture f;
  learn::Learning l(f.reg, f.audit, {});
  const std::string v1 = cp_test::make_variant(f.tmp.path, 1);
  auto r = l.install(v1, "admin");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string v1_sha = json::parse(r.body)["active"]["sha256"];
  cp::ModelEntry v2 = f.stored(2);

  r = l.promote("2", "alice");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("no evaluation"), std::string::npos) << r.body;
  std::string err;
  ASSERT_TRUE(f.reg.put_evaluation(v2.sha256, f.evaluation(false, v1_sha), err));
  r = l.promote("2", "alice");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("refused: gate(s) failed: tpr.scan 0.1"), std::string::npos) << r.body;
  ASSERT_TRUE(f.reg.put_evaluation(v2.sha256, f.evaluation(true, std::string(64, 'a')), err));
  r = l.promote("2", "alice");
  EXPECT_EQ(r.status, 409);  // evaluated against another active model
  EXPECT_NE(r.body.find("another active model"), std::string::npos) << r.body;
  EXPECT_EQ(l.promote("7", "alice").status, 404);
  ASSERT_TRUE(f.reg.put_evaluation(v2.sha256, f.evaluation(true, v1_sha), err));
  r = l.promote("2", "alice");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(f.reg.active()->sha256, v2.sha256);
  EXPECT_EQ(json::parse(r.body)["previous"]["sha256"], v1_sha);
  EXPECT_EQ(l.promote("2", "alice").status, 409);  // already active

  auto st = json::parse(l.status().body);
  EXPECT_EQ(st["active"]["sha256"], v2.sha256);
  EXPECT_EQ(st["active"]["classes"].size(), 3u);
  EXPECT_TRUE(st["active"]["metrics"].contains("version"));
  EXPECT_EQ(st["versions"].size(), 2u);
  EXPECT_EQ(st["dataplane"], "detached");
  EXPECT_EQ(st["agreement"]["holdout"], 0.95);

  r = l.rollback("bob");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(f.reg.active()->sha256, v1_sha);
  EXPECT_EQ(l.rollback("bob").status, 409);  // nothing before v1

  size_t refused = 0, ok = 0;
  for (const json& a : f.audit_lines()) {
    if (a["command"] == "ml promote") (a["result"] == "ok" ? ok : refused)++;
    EXPECT_TRUE(a["args"].contains("actor"));
  }
  EXPECT_EQ(ok, 1u);
  EXPECT_EQ(refused, 5u);
}

TEST(Learning, DataPlanePathGoesThroughTheController) {
  Fixture f;
  std::vector<cp::Request> seen;
  int code = cp::kExitOk;
  learn::LearningOptions o;
  o.shadow_counters = [](uint64_t& scored, uint64_t& alerts, uint64_t& agree) {
    scored = 200, alerts = 3, agree = 190;
    return true;
  };
  learn::Learning l(f.reg, f.audit, o, [&](const cp::Request& r) {
    seen.push_back(r);
    cp::Reply rep;
    rep.code = code;
    if (code) rep.error = "data plane 'x' is not reachable";
    return rep;
  });
  cp::ModelEntry v1 = f.stored(1), v2 = f.stored(2);
  std::string err;
  ASSERT_TRUE(f.reg.activate(v1, err));
  ASSERT_TRUE(f.reg.put_evaluation(v2.sha256, f.evaluation(true, v1.sha256), err));
  auto r = l.promote(v2.sha256, "alice");
  EXPECT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].cmd, "model load");
  EXPECT_EQ(seen[0].file, f.reg.path_of(v2.sha256));
  // The controller (mocked) changed nothing in the registry; a refusal maps to 502.
  code = cp::kExitUnreachable;
  EXPECT_EQ(l.promote(v2.sha256, "alice").status, 502);
  EXPECT_EQ(json::parse(l.status().body)["dataplane"], "attached");
  // With a shadow, the data plane's live shadow figures are shown (cumulative; the window needs two samples).
  ASSERT_TRUE(f.reg.set_shadow(v1, err));
  auto st = json::parse(l.status().body);
  EXPECT_EQ(st["agreement"]["live"]["cumulative"]["scored"], 200);
  EXPECT_DOUBLE_EQ(st["agreement"]["live"]["cumulative"]["rate"].get<double>(), 0.95);
}

// agreement.live.window: the counters' change over the last hour, from samples;
// restarted by a new shadow or counters that went back (a data-plane restart).
TEST(Learning, LiveAgreementIsAWindowBesideTheCumulativeFigure) {
  Fixture f;
  uint64_t scored = 1000, alerts = 10, agree = 900;
  int64_t now = 0;
  learn::LearningOptions o;
  o.shadow_counters = [&](uint64_t& s, uint64_t& a, uint64_t& g) { s = scored, a = alerts, g = agree; return true; };
  o.clock_ms = [&] { return now; };
  learn::Learning l(f.reg, f.audit, o);
  cp::ModelEntry v1 = f.stored(1), v2 = f.stored(2);
  std::string err;
  ASSERT_TRUE(f.reg.set_shadow(v1, err));
  auto live = [&] { return json::parse(l.status().body)["agreement"]["live"]; };
  auto w = live()["window"];
  EXPECT_EQ(w["scored"], 0);
  EXPECT_TRUE(w["rate"].is_null());
  EXPECT_EQ(w["seconds"], 3600);
  now = 600000, scored = 1100, agree = 999, alerts = 12;  // +10 min: 100 rows, 99 agree
  l.sample_shadow();
  now = 4200000, scored = 1300, agree = 1149;             // +70 min: the window starts at the +10 min sample
  auto j = live();
  EXPECT_EQ(j["window"]["scored"], 200);
  EXPECT_EQ(j["window"]["agree"], 150);
  EXPECT_DOUBLE_EQ(j["window"]["rate"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(j["window"]["covered_s"].get<double>(), 3600.0);
  EXPECT_EQ(j["cumulative"]["scored"], 1300);
  EXPECT_DOUBLE_EQ(j["cumulative"]["rate"].get<double>(), 1149.0 / 1300.0);
  now += 60000, scored = 50, agree = 40;  // the data plane restarted: history starts over
  EXPECT_EQ(live()["window"]["scored"], 0);
  now += 60000, scored = 80, agree = 70;
  EXPECT_EQ(live()["window"]["scored"], 30);
  ASSERT_TRUE(f.reg.set_shadow(v2, err));  // another shadow: its own window
  now += 60000, scored = 100, agree = 90;
  EXPECT_EQ(live()["window"]["scored"], 0);
}

TEST(Learning, PollRowsTailsTheDumpFile) {
  Fixture f;
  // An active model with a reference built from rows of value 0..99 in every feature.
  spectre::ml::LoadedModel m;
  std::string err;
  ASSERT_TRUE(spectre::ml::load_artifact_file(cp_test::model_path(), m, err));
  const size_t nf = m.num_features, n = 400;
  std::vector<double> x;
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < nf; ++j) x.push_back(double(i % 100));
  std::string text = cp_test::slurp(cp_test::model_path());
  std::vector<uint8_t> bytes(text.begin(), text.end());
  ASSERT_TRUE(spectre::ml::attach_reference(bytes, x, n, "test", err)) << err;
  const std::string model = f.tmp.path + "/ref.spm";
  std::ofstream(model, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), long(bytes.size()));
  learn::LearningOptions o;
  o.rows_csv = f.tmp.path + "/rows.csv";
  o.drift.min_rows = 10;
  learn::Learning l(f.reg, f.audit, o);
  ASSERT_EQ(l.install(model, "admin").status, 200);
  std::ofstream rows(o.rows_csv);
  rows_header(rows, m);
  auto row = [&](int id, double v) {
    std::string s = std::to_string(id);
    s.append(",end,1.0,1700000000.5,10.0.0.1,1,10.0.0.2,2,6");
    const std::string cell = std::to_string(v);
    for (size_t j = 0; j < nf; ++j) s.append(1, ',').append(cell);
    return s;
  };
  for (int i = 0; i < 50; ++i) rows << row(i, 500 + i) << "\n";  // far above the reference
  rows << row(99, 1).substr(0, 20);                              // a row being written
  rows.flush();
  EXPECT_EQ(l.poll_rows(), 50u);
  EXPECT_EQ(l.poll_rows(), 0u);
  rows << row(99, 1).substr(20) << "\n" << "1,end,short\n";  // completed; a short row is skipped
  rows.flush();
  EXPECT_EQ(l.poll_rows(), 1u);
  auto d = json::parse(l.drift_report().body);
  EXPECT_EQ(d["window"]["rows"], 51);
  EXPECT_EQ(d["window"]["from"], "2023-11-14T22:13:20Z");
  ASSERT_EQ(d["features"].size(), nf);
  EXPECT_TRUE(d["features"][0]["drifted"].get<bool>());
  EXPECT_NE(l.drift_metrics().find("spectre_ml_feature_drifted{feature=\"" + m.feature_names[0] + "\"} 1"),
            std::string::npos);
  // Feedback rates without a feedback file: empty, not an error.
  auto fb = json::parse(l.feedback_rates().body);
  EXPECT_EQ(fb["rules"].size(), 0u);
  // Retraining needs its configuration.
  auto r = l.start_retrain("alice");
  EXPECT_EQ(r.status, 409);
  EXPECT_NE(r.body.find("not configured"), std::string::npos);
}

TEST(Learning, PollRowsStartsNearTheEndOfALongFile) {
  Fixture f;
  learn::LearningOptions o;
  o.rows_csv = f.tmp.path + "/rows.csv";
  learn::Learning l(f.reg, f.audit, o);
  spectre::ml::LoadedModel m;
  ASSERT_NO_FATAL_FAILURE(install_default(l, m));
  std::ofstream rows(o.rows_csv);
  rows_header(rows, m);
  const size_t total = 16000;  // ~10 MB: more than the 8 MB a first read looks at
  std::string cells;
  for (size_t j = 0; j < m.num_features; ++j) cells.append(",1234.567890");
  for (size_t i = 0; i < total; ++i)
    rows << i << ",end,1.0," << (1700000000 + i) << ".0,10.0.0.1,1,10.0.0.2,2,6" << cells << "\n";
  rows.close();
  const size_t n = l.poll_rows();
  EXPECT_GT(n, 5000u);
  EXPECT_LT(n, total);
  auto d = json::parse(l.drift_report().body);
  EXPECT_EQ(d["window"]["to"], "2023-11-15T02:39:59Z");  // the last row (1700000000 + 15999) is in
  EXPECT_EQ(d["reference"], m.reference.rows);          // default.spm carries its reference
  ASSERT_EQ(d["features"].size(), size_t(m.num_features));
  size_t drifted = 0;  // every row is the same constant: most features far from the reference
  for (const auto& x : d["features"]) drifted += x["drifted"].get<bool>();
  EXPECT_GT(drifted, size_t(m.num_features) / 2);
}

// GET /alerts/{id}/explain of an ML alert: the alerting model's contribution of every
// feature on the flow's dumped row (largest first), or 404 when the row or model is gone.
TEST(Learning, ExplainsAnAlertFromItsDumpedRow) {
  Fixture f;
  learn::LearningOptions o;
  o.rows_csv = f.tmp.path + "/rows.csv";
  learn::Learning l(f.reg, f.audit, o);
  spectre::ml::LoadedModel m;
  ASSERT_NO_FATAL_FAILURE(install_default(l, m));
  const std::string version = json::parse(l.status().body)["active"]["version"];
  {
    std::ofstream rows(o.rows_csv);
    rows_header(rows, m);
    for (int k = 0; k < 3; ++k) {  // flow 42 at k4 and end, then a half-written row of flow 43
      rows << (k < 2 ? "42," : "43,") << (k == 0 ? "k4" : "end") << ",1.0,1700000000.5,10.0.0.1,1,10.0.0.2,443,6";
      for (size_t j = 0; j < m.num_features; ++j) rows << "," << (j == 3 ? 50000.0 + k : double(j % 7));
      if (k < 2) rows << "\n";
    }
  }
  auto r = l.explain("42", "end", version, "c2_exfil");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  ASSERT_EQ(j["contributions"].size(), size_t(m.num_features));
  EXPECT_EQ(j["row"]["ts"], "1700000000.5");
  double prev = 1e300, sum = 0;
  for (const auto& c : j["contributions"]) {
    const double a = std::fabs(c["contribution"].get<double>());
    EXPECT_LE(a, prev);
    prev = a;
    sum += c["contribution"].get<double>();
    if (c["feature"] == m.feature_names[3]) EXPECT_EQ(c["value"], 50001.0);  // the end row, not k4
  }
  EXPECT_GT(sum * sum, 0.0);
  EXPECT_NE(j["method"].get<std::string>().find("c2_exfil"), std::string::npos);
  EXPECT_EQ(l.explain("43", "end", version, "c2_exfil").status, 404);  // half written
  EXPECT_EQ(l.explain("42", "k16", version, "c2_exfil").status, 404);
  EXPECT_EQ(l.explain("42", "end", "no-such-version", "c2_exfil").status, 404);
  EXPECT_EQ(l.explain("", "end", version, "c2_exfil").status, 400);
}

// spectre-cp warms explain at start (start_warm, its own thread): the first explain
// then finds its row already indexed (no row indexed inside the lookup, no scan), and
// /metrics says so.
TEST(Learning, FirstExplainAfterAWarmStartIsServedFromTheIndex) {
  Fixture f;
  learn::LearningOptions o;
  o.rows_csv = f.tmp.path + "/rows.csv";
  spectre::ml::LoadedModel m;
  std::string version;
  {
    learn::Learning setup(f.reg, f.audit, o);
    ASSERT_NO_FATAL_FAILURE(install_default(setup, m));
    version = json::parse(setup.status().body)["active"]["version"];
  }
  {
    std::ofstream rows(o.rows_csv);
    rows_header(rows, m);
    for (int flow = 1; flow <= 200; ++flow) {
      rows << flow << ",end,1.0,1700000000.5,10.0.0.1,1,10.0.0.2,443,6";
      for (size_t j = 0; j < m.num_features; ++j) rows << "," << double((flow + int(j)) % 11);
      rows << "\n";
    }
  }
  learn::Learning l(f.reg, f.audit, o);  // "a restart": a new Learning over the same registry and rows
  l.start_warm();
  for (int i = 0; i < 500 && l.row_index_stats().warms == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(l.row_index_stats().warms, 1u);
  EXPECT_EQ(l.row_index_stats().warm_indexed, 200u);
  auto r = l.explain("150", "end", version, "c2_exfil");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto st = l.row_index_stats();
  EXPECT_EQ(st.index_hits, 1u);
  EXPECT_EQ(st.lookup_indexed, 0u);
  EXPECT_EQ(st.scans, 0u);
  const std::string metrics = l.explain_metrics();
  EXPECT_NE(metrics.find("spectre_explain_rows_indexed_total{by=\"warm\"} 200\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("spectre_explain_rows_indexed_total{by=\"lookup\"} 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("spectre_explain_index_hits_total 1\n"), std::string::npos) << metrics;
  // Without the warm-up the first explain indexes the rows itself.
  learn::Learning cold(f.reg, f.audit, o);
  ASSERT_EQ(cold.explain("150", "end", version, "c2_exfil").status, 200);
  EXPECT_EQ(cold.row_index_stats().lookup_indexed, 200u);
  std::string err;
  learn::Learning none(f.reg, f.audit, {});
  EXPECT_FALSE(none.warm_explain(err));  // no rows file: nothing to warm
  none.start_warm();                     // and no thread
}

// A retrain reads a copy of the rows file without the line the data plane is still writing.
TEST(Learning, SnapshotRowsLeavesOutAHalfWrittenLastLine) {
  cp_test::TempDir tmp;
  const std::string src = tmp.path + "/rows.csv", dst = tmp.path + "/copy.csv";
  std::string big(3u << 20, 'x');  // lines across the 1 MiB read blocks
  {
    std::ofstream o(src);
    o << "h\n" << big << "\n1,2\n3,";
  }
  std::string err;
  ASSERT_TRUE(learn::snapshot_rows(src, dst, err)) << err;
  std::ifstream in(dst);
  const std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "h\n" + big + "\n1,2\n");
  EXPECT_FALSE(learn::snapshot_rows(tmp.path + "/missing.csv", dst, err));
}

// The shipped model carries drift reference distributions (ml/models/reference_default.sh):
// one per feature, in feature order, and one per output score, each over all reference rows.
TEST(Learning, ShippedModelCarriesAReferenceForEveryFeatureAndScore) {
  spectre::ml::LoadedModel m;
  std::string err;
  ASSERT_TRUE(spectre::ml::load_artifact_file(cp_test::model_path(), m, err)) << err;
  const auto& r = m.reference;
  ASSERT_TRUE(r.present()) << "run ml/models/reference_default.sh";
  EXPECT_GT(r.rows, 5000u);  // the benign rows of the reproducible training parts
  EXPECT_NE(r.source.find("reference-rows.csv"), std::string::npos) << r.source;
  ASSERT_EQ(r.features.size(), size_t(m.num_features));
  for (size_t j = 0; j < r.features.size(); ++j) {
    const auto& d = r.features[j];
    EXPECT_EQ(d.name, m.feature_names[j]);
    EXPECT_EQ(d.total(), r.rows) << d.name;
    EXPECT_EQ(d.counts.size(), d.edges.size() + 1) << d.name;
  }
  ASSERT_EQ(r.scores.size(), m.num_outputs());
  for (size_t g = 0; g < r.scores.size(); ++g) {
    EXPECT_EQ(r.scores[g].name, "score." + m.class_names[g]);
    EXPECT_EQ(r.scores[g].total(), r.rows);
    EXPECT_GE(r.scores[g].edges.size(), 1u) << r.scores[g].name;  // scores vary over benign rows
  }
}

// The retrain job with a stand-in for spectre-ml (a shell script): retrain
// copies $FAKE_MODEL to -o, gate writes a report and exits $FAKE_GATE_RC.
TEST(Learning, RetrainJobStatesWithAStandInSpectreMl) {
  Fixture f;
  const std::string script = f.tmp.path + "/fake-spectre-ml";
  {
    std::ofstream s(script);
    s << "#!/bin/sh\ncmd=$1; shift; out=; js=\n"
         "while [ $# -gt 0 ]; do case \"$1\" in -o) out=$2; shift;; --json) js=$2; shift;; esac; shift; done\n"
         "sleep 0.3\n"
         "if [ \"$cmd\" = retrain ]; then cp \"$FAKE_MODEL\" \"$out\"; exit $FAKE_RETRAIN_RC; fi\n"
         "p=true; [ \"$FAKE_GATE_RC\" = 0 ] || p=false\n"
         "echo \"{\\\"passed\\\":$p,\\\"failed\\\":[],\\\"checks\\\":[],\\\"active\\\":null,\\\"agreement\\\":0.97,"
         "\\\"agreement_flows\\\":10}\" > \"$js\"\nexit $FAKE_GATE_RC\n";
  }
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  learn::LearningOptions o;
  o.spectre_ml = script;
  o.train_csvs = {"/dev/null"};
  o.holdout_csvs = {"/dev/null"};
  o.rows_csv = f.tmp.path + "/rows.csv";
  o.feedback_jsonl = f.tmp.path + "/fb.jsonl";
  learn::Learning l(f.reg, f.audit, o);
  ASSERT_EQ(l.install(cp_test::make_variant(f.tmp.path, 1), "admin").status, 200);
  auto run = [&](const char* model, const char* retrain_rc, const char* gate_rc) {
    ::setenv("FAKE_MODEL", model, 1);
    ::setenv("FAKE_RETRAIN_RC", retrain_rc, 1);
    ::setenv("FAKE_GATE_RC", gate_rc, 1);
    auto r = l.start_retrain("alice");
    EXPECT_EQ(r.status, 202) << r.body;
    const std::string id = json::parse(r.body)["job"];
    EXPECT_EQ(l.start_retrain("bob").status, 409);  // one at a time
    for (int i = 0; i < 5; ++i) EXPECT_EQ(l.status().status, 200);  // readable while it runs
    EXPECT_TRUE(l.wait_job(id, 20000));
    return json::parse(l.job(id).body);
  };
  const std::string v2 = cp_test::make_variant(f.tmp.path, 2), v3 = cp_test::make_variant(f.tmp.path, 3);
  json j = run(v2.c_str(), "0", "3");  // refused by the gates
  EXPECT_EQ(j["state"], "done");
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_FALSE(f.reg.shadow());
  ASSERT_TRUE(f.reg.find_version("2"));  // listed, with its evaluation
  EXPECT_NE(f.reg.evaluation(f.reg.find_version("2")->sha256).find("\"passed\":false"), std::string::npos);
  j = run(v3.c_str(), "0", "0");  // passes: the shadow
  EXPECT_TRUE(j["passed"].get<bool>()) << j.dump();
  ASSERT_TRUE(f.reg.shadow());
  EXPECT_EQ(f.reg.shadow()->version, "3");
  EXPECT_EQ(json::parse(l.status().body)["agreement"]["holdout"], 0.97);
  j = run(v3.c_str(), "1", "0");  // retrain fails
  EXPECT_EQ(j["state"], "failed");
  EXPECT_NE(j["error"].get<std::string>().find("spectre-ml retrain failed (exit 1"), std::string::npos);
  EXPECT_EQ(l.job("nope").status, 404);
  EXPECT_EQ(l.promote("3", "alice").status, 200);
}

TEST(LearningConfig, ParsesTheSectionAndRefusesBadKeys) {
  learn::LearningOptions o;
  std::string err;
  YAML::Node n = YAML::Load(
      "spectre_ml: /usr/bin/spectre-ml\ntrain: [a.csv, b.csv]\nrows: r.csv\nfeedback: f.jsonl\nholdout: h.csv\n"
      "train_args: [--rounds, '20']\nfeedback_weight: 5\n"
      "gates: {max_benign_fpr: 0.001, min_tpr: 0.7, class_tpr: {c2_exfil: 0.9}, min_agreement: 0.95, require_tpr: false}\n"
      "drift: {window_rows: 500, min_rows: 100, bucket_s: 30}\n");
  ASSERT_TRUE(learn::parse_learning_config(n, o, err)) << err;
  EXPECT_EQ(o.train_csvs, (std::vector<std::string>{"a.csv", "b.csv"}));
  EXPECT_EQ(o.holdout_csvs, (std::vector<std::string>{"h.csv"}));
  EXPECT_EQ(o.train_args, (std::vector<std::string>{"--rounds", "20"}));
  EXPECT_EQ(o.feedback_weight, 5);
  EXPECT_EQ(o.gates.max_benign_fpr, 0.001);
  EXPECT_EQ(o.gates.class_tpr["c2_exfil"], 0.9);
  EXPECT_FALSE(o.gates.require_tpr);
  EXPECT_EQ(o.drift.window_rows, 500u);
  EXPECT_EQ(o.drift.bucket_s, 30);
  for (const char* bad : {"trian: [a.csv]", "gates: {max_fpr: 0.1}", "gates: {min_tpr: 1.5}", "drift: {window_rows: x}",
                          "train: {a: b}", "gates: {phase: start}", "feedback_weight: 0", "- a"}) {
    learn::LearningOptions d;
    EXPECT_FALSE(learn::parse_learning_config(YAML::Load(bad), d, err)) << bad;
    EXPECT_FALSE(err.empty());
  }
  learn::LearningOptions d;
  EXPECT_TRUE(learn::parse_learning_config(YAML::Node(), d, err));  // absent: defaults
  EXPECT_FALSE(learn::load_learning_config("/nonexistent.yaml", d, err));
}
