// spectrectl command parsing, the request/reply JSON forms, and the action
// functions of spectre-cp against FakeDataPlane.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>

#include "ctrlplane/cp/controller.h"
#include "ctrlplane/cp/json_out.h"
#include "ml/feature_schema.h"
#include "ml/json.h"
#include "tests/unit/ctrlplane/test_cp_util.h"

using namespace spectre::cp;
namespace fs = std::filesystem;
namespace json = spectre::ml::json;

namespace {

Request parse_ok(std::vector<std::string> w) {
  Request r;
  std::string err;
  EXPECT_TRUE(parse_command(w, r, err)) << err;
  return r;
}

std::string parse_err(std::vector<std::string> w) {
  Request r;
  std::string err;
  EXPECT_FALSE(parse_command(w, r, err));
  return err;
}

}  // namespace

TEST(CpCommands, ParsesEveryCommand) {
  Request r = parse_ok({"model", "load", "x.spm"});
  EXPECT_EQ(r.cmd, "model load");
  EXPECT_EQ(r.file, "x.spm");
  EXPECT_EQ(parse_ok({"model", "list"}).cmd, "model list");
  EXPECT_EQ(parse_ok({"model", "rollback"}).cmd, "model rollback");
  r = parse_ok({"model", "shadow", "y.spm"});
  EXPECT_EQ(r.file, "y.spm");
  EXPECT_FALSE(r.clear);
  EXPECT_TRUE(parse_ok({"model", "shadow", "--clear"}).clear);
  EXPECT_TRUE(parse_ok({"rules", "reload"}).files.empty());
  EXPECT_EQ(parse_ok({"rules", "reload", "a.rules", "b.rules"}).files, (std::vector<std::string>{"a.rules", "b.rules"}));
  EXPECT_EQ(parse_ok({"config", "reload"}).cmd, "config reload");
  EXPECT_EQ(parse_ok({"stats"}).interval_ms, 1000);
  EXPECT_EQ(parse_ok({"stats", "--interval", "0"}).interval_ms, 0);
  EXPECT_EQ(parse_ok({"flows", "top", "7"}).n, 7);
  r = parse_ok({"alerts", "tail"});
  EXPECT_FALSE(r.follow);
  EXPECT_EQ(r.n, -1);
  EXPECT_EQ(r.min_severity, 0);
  r = parse_ok({"alerts", "tail", "-f", "--min-severity", "high", "-n", "5"});
  EXPECT_TRUE(r.follow);
  EXPECT_EQ(r.min_severity, 1);
  EXPECT_EQ(r.n, 5);
  EXPECT_EQ(parse_ok({"alerts", "tail", "--min-severity", "3"}).min_severity, 3);
  EXPECT_EQ(parse_ok({"status"}).cmd, "status");
  // Every command of the table parses with its minimal arguments.
  for (const auto& c : command_specs()) {
    std::vector<std::string> w;
    std::istringstream in(c.name);
    for (std::string x; in >> x;) w.push_back(x);
    if (w[0] == "model" && (w[1] == "load" || w[1] == "shadow")) w.push_back("f");
    if (w[0] == "flows") w.push_back("1");
    if (w[0] == "incidents" && w[1] != "list") w.push_back("1");
    if (w[0] == "incidents" && w[1] == "set") w.insert(w.end(), {"--status", "resolved"});
    EXPECT_EQ(parse_ok(w).cmd, c.name);
  }
}

TEST(CpCommands, Incidents) {
  Request r = parse_ok({"incidents", "list"});
  EXPECT_FALSE(r.all);
  r = parse_ok({"incidents", "list", "--all", "-n", "5"});
  EXPECT_TRUE(r.all);
  EXPECT_EQ(r.n, 5);
  EXPECT_EQ(parse_ok({"incidents", "show", "42"}).id, 42);
  r = parse_ok({"incidents", "set", "7", "--status", "false_positive"});
  EXPECT_EQ(r.id, 7);
  EXPECT_EQ(r.status, "false_positive");
  EXPECT_EQ(parse_err({"incidents", "show"}), "usage: incidents show ID");
  EXPECT_EQ(parse_err({"incidents", "show", "0"}), "usage: incidents show ID");
  EXPECT_EQ(parse_err({"incidents", "set", "7", "--status"}),
            "usage: incidents set ID --status new|investigating|resolved|false_positive");
  EXPECT_EQ(parse_err({"incidents", "set", "7", "--status", "closed"}),
            "incidents set: --status wants new, investigating, resolved or false_positive, not 'closed'");
  EXPECT_NE(parse_err({"incidents", "list", "--open"}).find("unexpected '--open'"), std::string::npos);
  Request back;
  std::string err;
  ASSERT_TRUE(request_from_json(request_to_json(r), back, err)) << err;
  EXPECT_EQ(back.id, 7);
  EXPECT_EQ(back.status, "false_positive");
  ASSERT_TRUE(request_from_json(request_to_json(parse_ok({"incidents", "list", "--all"})), back, err)) << err;
  EXPECT_TRUE(back.all);
  EXPECT_FALSE(request_from_json("{\"cmd\":\"incidents show\",\"id\":\"x\"}", back, err));
}

TEST(CpCommands, WrongUseNamesTheProblem) {
  EXPECT_NE(parse_err({}).find("no command"), std::string::npos);
  EXPECT_NE(parse_err({"bogus"}).find("unknown command 'bogus'"), std::string::npos);
  EXPECT_NE(parse_err({"model"}).find("sub-command"), std::string::npos);
  EXPECT_NE(parse_err({"model", "frob"}).find("unknown command 'model frob'"), std::string::npos);
  EXPECT_NE(parse_err({"model", "load"}).find("usage: model load FILE"), std::string::npos);
  EXPECT_NE(parse_err({"model", "load", "a", "b"}).find("usage"), std::string::npos);
  EXPECT_NE(parse_err({"model", "list", "x"}).find("unexpected argument 'x'"), std::string::npos);
  EXPECT_NE(parse_err({"status", "now"}).find("unexpected"), std::string::npos);
  EXPECT_NE(parse_err({"flows", "top"}).find("N"), std::string::npos);
  for (const char* bad : {"0", "-1", "x", "10001", "5x", ""}) parse_err({"flows", "top", bad});
  EXPECT_NE(parse_err({"alerts", "tail", "--min-severity", "urgent"}).find("urgent"), std::string::npos);
  parse_err({"alerts", "tail", "--min-severity"});
  parse_err({"alerts", "tail", "-n", "many"});
  parse_err({"alerts", "tail", "-x"});
  parse_err({"stats", "--interval", "-5"});
  parse_err({"stats", "5"});
  parse_err({"rules", "reload", "--all"});
}

TEST(CpCommands, RequestJsonRoundTrip) {
  std::vector<std::vector<std::string>> cases = {
      {"model", "load", "/a b/\"q\".spm"}, {"model", "shadow", "--clear"}, {"rules", "reload", "/r/1", "/r/2"},
      {"stats", "--interval", "250"},      {"flows", "top", "3"},           {"alerts", "tail", "-f", "--min-severity", "2", "-n", "9"},
      {"status"}};
  for (const auto& w : cases) {
    Request a = parse_ok(w), b;
    a.json = true;
    std::string err;
    ASSERT_TRUE(request_from_json(request_to_json(a), b, err)) << err;
    EXPECT_EQ(a.cmd, b.cmd);
    EXPECT_EQ(a.file, b.file);
    EXPECT_EQ(a.clear, b.clear);
    EXPECT_EQ(a.files, b.files);
    EXPECT_EQ(a.n, b.n);
    EXPECT_EQ(a.follow, b.follow);
    EXPECT_EQ(a.min_severity, b.min_severity);
    EXPECT_EQ(a.interval_ms, b.interval_ms);
    EXPECT_EQ(a.json, b.json);
  }
}

TEST(CpCommands, RequestJsonRefusesBadInput) {
  Request r;
  std::string err;
  for (const char* bad : {"", "nope", "[1]", "{}", "{\"cmd\":5}", "{\"cmd\":\"frob\"}",
                          "{\"cmd\":\"status\",\"json\":1}", "{\"cmd\":\"flows top\",\"n\":\"3\"}",
                          "{\"cmd\":\"flows top\",\"n\":1.5}", "{\"cmd\":\"rules reload\",\"files\":[1]}",
                          "{\"cmd\":\"alerts tail\",\"min_severity\":9}", "{\"cmd\":\"status\"} x"}) {
    EXPECT_FALSE(request_from_json(bad, r, err)) << bad;
    EXPECT_FALSE(err.empty());
  }
  EXPECT_FALSE(request_from_json(std::string(kMaxRequestLine + 1, ' '), r, err));
  EXPECT_TRUE(request_from_json("{\"cmd\":\"status\",\"future_field\":[1,{}]}", r, err)) << err;
}

TEST(CpCommands, ReplyJson) {
  Reply r = failure(kExitUnreachable, "gone");
  r.text = "t\n2";
  Reply back;
  std::string err;
  ASSERT_TRUE(reply_from_json(reply_to_json(r, true), back, err)) << err;
  EXPECT_EQ(back.code, 3);
  EXPECT_EQ(back.error, "gone");
  EXPECT_EQ(back.text, "t\n2");
  std::string no_text = reply_to_json(r, false);
  EXPECT_EQ(no_text.find("\"text\""), std::string::npos);
  Reply ok;
  ok.result = "{\"a\":[1,2]}";
  ok.stream = true;
  std::string line = reply_to_json(ok, false);
  json::Doc d;
  ASSERT_TRUE(d.parse(line, err)) << err;
  EXPECT_TRUE(jget_bool(d, 0, "ok"));
  EXPECT_TRUE(jget_bool(d, 0, "stream"));
  EXPECT_EQ(d.size(d.find(d.find(0, "result"), "a")), 2u);
  std::string text;
  EXPECT_TRUE(stream_line_text("{\"text\":\"x y\"}", text));
  EXPECT_EQ(text, "x y");
}

// ---- action functions against the fake data plane ----

namespace {

struct Rig {
  cp_test::TempDir tmp;
  FakeDataPlane dp{"t", spectre::ml::schema_hash()};
  ModelRegistry reg;
  AuditLog audit;
  AlertFeed feed;
  std::unique_ptr<Controller> ctl;
  Peer peer{123, 1000, 1000};
  Rig() {
    std::string err;
    EXPECT_TRUE(reg.open(tmp.path + "/reg", err)) << err;
    EXPECT_TRUE(audit.open(tmp.path + "/audit.log", err)) << err;
    ControllerOptions o;
    o.instance = "t";
    ctl = std::make_unique<Controller>(dp, reg, audit, feed, o);
  }
  Reply run(std::vector<std::string> w) {
    Request r;
    std::string err;
    EXPECT_TRUE(parse_command(w, r, err)) << err;
    return ctl->handle(r, peer);
  }
  size_t audit_lines() {
    std::string s = cp_test::slurp(tmp.path + "/audit.log");
    return size_t(std::count(s.begin(), s.end(), '\n'));
  }
  std::string index() { return cp_test::slurp(tmp.path + "/reg/index.json"); }
};

}  // namespace

TEST(CpController, ModelLoadListRollback) {
  Rig g;
  Reply r = g.run({"model", "load", cp_test::model_path()});
  ASSERT_EQ(r.code, kExitOk) << r.error;
  auto cmds = g.dp.received();
  ASSERT_EQ(cmds.size(), 1u);
  EXPECT_EQ(cmds[0].type, CommandType::ModelLoad);
  EXPECT_EQ(cmds[0].path, g.reg.path_of(cmds[0].model_sha256));  // the registry copy, not the operator's file
  EXPECT_EQ(g.dp.info().model_sha256, g.reg.active()->sha256);
  EXPECT_EQ(g.reg.active()->who, g.peer.describe());
  std::string v3 = cp_test::make_variant(g.tmp.path, 3);
  ASSERT_EQ(g.run({"model", "load", v3}).code, kExitOk);
  EXPECT_EQ(g.dp.info().model_version, "3");
  r = g.run({"model", "list"});
  ASSERT_EQ(r.code, kExitOk);
  json::Doc d;
  std::string err;
  ASSERT_TRUE(d.parse(r.result, err)) << err;
  uint32_t models = d.find(0, "models");
  ASSERT_EQ(d.size(models), 2u);
  uint32_t second = d.next(d.first(models));
  EXPECT_TRUE(jget_bool(d, second, "active"));
  EXPECT_FALSE(jget_bool(d, d.first(models), "active"));
  r = g.run({"model", "rollback"});
  ASSERT_EQ(r.code, kExitOk) << r.error;
  {
    spectre::ml::LoadedModel m;  // the shipped model's "version" metric
    std::string err;
    ASSERT_TRUE(spectre::ml::load_artifact_file(cp_test::model_path(), m, err)) << err;
    std::string version;
    for (const auto& [k, v] : m.metrics)
      if (k == "version") version = std::to_string(int64_t(v));
    EXPECT_EQ(g.dp.info().model_version, version);
  }
  EXPECT_EQ(g.dp.received().back().type, CommandType::ModelLoad);
  r = g.run({"model", "rollback"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.error.find("no previous"), std::string::npos);
  EXPECT_EQ(g.audit_lines(), 5u);
}

TEST(CpController, CorruptModelChangesNothing) {
  Rig g;
  ASSERT_EQ(g.run({"model", "load", cp_test::model_path()}).code, kExitOk);
  std::string index = g.index();
  std::string bytes = cp_test::slurp(cp_test::model_path());
  bytes[bytes.size() / 3] ^= 1;
  std::string bad = g.tmp.path + "/bad.spm";
  std::ofstream(bad, std::ios::binary) << bytes;
  Reply r = g.run({"model", "load", bad});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.error.find("checksum"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("nothing changed"), std::string::npos);
  EXPECT_EQ(g.dp.received().size(), 1u);  // nothing sent
  EXPECT_EQ(g.index(), index);
  EXPECT_EQ(g.run({"model", "shadow", bad}).code, kExitFailed);
  EXPECT_EQ(g.index(), index);
  EXPECT_EQ(g.run({"model", "load", g.tmp.path + "/missing.spm"}).code, kExitFailed);
}

TEST(CpController, SchemaMismatchRefusedBeforeSending) {
  cp_test::TempDir t;
  FakeDataPlane dp("t", std::string(64, 'f'));
  ModelRegistry reg;
  AuditLog audit;
  AlertFeed feed;
  std::string err;
  ASSERT_TRUE(reg.open(t.path + "/reg", err));
  ASSERT_TRUE(audit.open(t.path + "/a.log", err));
  Controller ctl(dp, reg, audit, feed, ControllerOptions{});
  Request r;
  r.cmd = "model load";
  r.file = cp_test::model_path();
  Reply rep = ctl.handle(r, Peer{});
  EXPECT_EQ(rep.code, kExitFailed);
  EXPECT_NE(rep.error.find("feature schema mismatch"), std::string::npos) << rep.error;
  EXPECT_TRUE(dp.received().empty());
  EXPECT_TRUE(reg.list().empty());
  EXPECT_FALSE(fs::exists(t.path + "/reg/index.json"));
}

TEST(CpController, DataPlaneDownOrRefusing) {
  Rig g;
  g.dp.set_alive(false);
  Reply r = g.run({"model", "load", cp_test::model_path()});
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_TRUE(g.reg.list().empty());
  for (auto w : std::vector<std::vector<std::string>>{{"stats"}, {"flows", "top", "3"}, {"config", "reload"}, {"rules", "reload"}})
    EXPECT_EQ(g.run(w).code, kExitUnreachable) << w[0];
  r = g.run({"status"});
  EXPECT_EQ(r.code, kExitUnreachable);
  EXPECT_NE(r.text.find("NOT REACHABLE"), std::string::npos);
  g.dp.set_alive(true);
  g.dp.fail_next("out of memory");
  r = g.run({"model", "load", cp_test::model_path()});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.error.find("out of memory"), std::string::npos);
  EXPECT_TRUE(g.reg.list().empty());
  // The copy stored for the refused load is gone again.
  size_t spm = 0;
  for (auto& f : fs::directory_iterator(g.tmp.path + "/reg")) spm += f.path().extension() == ".spm";
  EXPECT_EQ(spm, 0u);
  g.dp.fail_next("rules do not compile");
  r = g.run({"rules", "reload"});
  EXPECT_EQ(r.code, kExitFailed);
  EXPECT_NE(r.error.find("running rules stay"), std::string::npos);
}

TEST(CpController, ReadsAndReloads) {
  Rig g;
  Reply r = g.run({"stats", "--interval", "50"});
  ASSERT_EQ(r.code, kExitOk) << r.error;
  json::Doc d;
  std::string err;
  ASSERT_TRUE(d.parse(r.result, err)) << err;
  EXPECT_EQ(d.size(d.find(0, "workers")), 2u);
  double pps = 0;
  ASSERT_TRUE(d.to_double(d.find(d.find(0, "total"), "pps"), pps));
  EXPECT_GT(pps, 0);
  r = g.run({"flows", "top", "4"});
  ASSERT_TRUE(d.parse(r.result, err));
  uint32_t flows = d.find(0, "flows");
  ASSERT_EQ(d.size(flows), 4u);
  int64_t prev = INT64_MAX;
  for (uint32_t f = d.first(flows); f != json::kNone; f = d.next(f)) {
    EXPECT_LE(jget_int(d, f, "bytes"), prev);
    prev = jget_int(d, f, "bytes");
  }
  r = g.run({"rules", "reload", "relative.rules"});
  EXPECT_EQ(r.code, kExitUsage);
  r = g.run({"rules", "reload", g.tmp.path + "/none.rules"});
  EXPECT_EQ(r.code, kExitFailed);
  std::ofstream(g.tmp.path + "/a.rules") << "# empty\n";
  r = g.run({"rules", "reload", g.tmp.path + "/a.rules"});
  ASSERT_EQ(r.code, kExitOk) << r.error;
  EXPECT_EQ(g.dp.received().back().files, std::vector<std::string>{g.tmp.path + "/a.rules"});
  EXPECT_EQ(g.dp.info().ruleset_version, "1");
  EXPECT_EQ(g.run({"config", "reload"}).code, kExitOk);
  r = g.run({"status"});
  EXPECT_EQ(r.code, kExitOk);
  EXPECT_NE(r.text.find("ruleset      version 1"), std::string::npos) << r.text;
}

TEST(CpController, AlertsTailFiltersAndFollows) {
  Rig g;
  for (int i = 0; i < 10; i++)
    g.feed.publish("{\"event_type\":\"alert\",\"alert\":{\"signature_id\":" + std::to_string(i) +
                   ",\"severity\":" + std::to_string(1 + i % 3) + ",\"signature\":\"s\"}}\n");
  Reply r = g.run({"alerts", "tail", "-n", "3"});
  json::Doc d;
  std::string err;
  ASSERT_TRUE(d.parse(r.result, err)) << err;
  uint32_t a = d.find(0, "alerts");
  ASSERT_EQ(d.size(a), 3u);
  EXPECT_EQ(jget_int(d, d.find(d.first(a), "alert"), "signature_id"), 7);
  r = g.run({"alerts", "tail", "--min-severity", "high"});
  ASSERT_TRUE(d.parse(r.result, err));
  EXPECT_EQ(d.size(d.find(0, "alerts")), 4u);  // ids 0,3,6,9
  EXPECT_NE(r.text.find("[sev 1] [1:9:0] s"), std::string::npos) << r.text;
  Request req;
  ASSERT_TRUE(parse_command({"alerts", "tail", "-f", "--min-severity", "2"}, req, err));
  r = g.ctl->handle(req, g.peer);
  EXPECT_TRUE(r.stream);
  std::vector<std::string> got;
  std::thread pub([&] {
    for (int i = 10; i < 16; i++)
      g.feed.publish("{\"alert\":{\"signature_id\":" + std::to_string(i) + ",\"severity\":" + std::to_string(1 + i % 3) + "}}");
  });
  g.ctl->follow_alerts(req, r.stream_after, [&](const std::string& l) { got.push_back(l); return got.size() < 4; },
                       [] { return true; });
  pub.join();
  ASSERT_EQ(got.size(), 4u);  // 10, 12, 13, 15 (severity <= 2)
  std::string text;
  ASSERT_TRUE(stream_line_text(got[0], text));
  EXPECT_NE(text.find("[1:10:0]"), std::string::npos) << text;  // severity 2
  ASSERT_TRUE(stream_line_text(got[1], text));
  EXPECT_NE(text.find("[1:12:0]"), std::string::npos) << text;  // 11 has severity 3
}
