// Reloads off the main lcore: JobLane ordering and shutdown, Reloader publishing.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "dataplane/core/reload.h"
#include "dataplane/core/rules_setup.h"

namespace spectre {
namespace {

// Polls until `pred` holds (jobs finish on helper threads); false after 10 s.
template <typename F>
bool poll_until(F poll, std::function<bool()> pred) {
  for (int i = 0; i < 10000; i++) {
    poll();
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

TEST(JobLane, RunsInOrderOneAtATimeAndFinishesOnThePollingThread) {
  JobLane lane;
  std::vector<int> order;
  std::atomic<int> running{0}, max_running{0};
  std::vector<std::thread::id> finish_threads;
  for (int i = 0; i < 5; i++)
    lane.push([&, i]() -> JobLane::Finish {
      int r = ++running;
      max_running = std::max(max_running.load(), r);
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      --running;
      return [&, i] {
        order.push_back(i);
        finish_threads.push_back(std::this_thread::get_id());
      };
    });
  EXPECT_TRUE(poll_until([&] { lane.poll(); }, [&] { return order.size() == 5; }));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(max_running.load(), 1);
  for (auto id : finish_threads) EXPECT_EQ(id, std::this_thread::get_id());
  EXPECT_FALSE(lane.busy());
}

TEST(JobLane, DrainFinishesTheRunningJobAndDropsTheQueued) {
  JobLane lane;
  std::atomic<bool> release{false};
  int finished = 0, dropped = 0;
  lane.push([&]() -> JobLane::Finish {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return [&] { finished++; };
  }, [&] { dropped++; });
  lane.push([&]() -> JobLane::Finish { return [&] { finished += 10; }; }, [&] { dropped += 10; });
  lane.poll();
  EXPECT_TRUE(lane.busy());
  EXPECT_EQ(lane.queued(), 1u);
  release = true;
  lane.drain();
  EXPECT_EQ(finished, 1);
  EXPECT_EQ(dropped, 10);
  EXPECT_FALSE(lane.busy());
}

std::string write_tmp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "reload_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

struct ReloadFixture : ::testing::Test {
  Config cfg;
  Options opt;
  IoCounters io;
  std::unique_ptr<SnapshotManager> snaps;
  std::unique_ptr<Reloader> rl;
  void start() {
    snaps = std::make_unique<SnapshotManager>(build_snapshot(cfg, 1), 1);
    rl = std::make_unique<Reloader>(*snaps, io, opt, cfg, 1);
  }
  bool wait(std::function<bool()> pred) { return poll_until([&] { rl->poll(); }, pred); }
};

TEST_F(ReloadFixture, ConfigReloadPublishesTheNewFileAndKeepsStartupSizes) {
  opt.config_path = write_tmp("a.yaml", "flow:\n  timeouts: {udp: 7}\n");
  cfg.max_flows = 4096;
  start();
  rl->config(false, 0);
  ASSERT_TRUE(wait([&] { return io.reloads.load() == 1; }));
  const Snapshot* s = snaps->current();
  EXPECT_EQ(s->generation, 2u);
  EXPECT_EQ(s->tmo_ns[kTmoUdp], 7000000000ull);
  EXPECT_EQ(s->cfg.max_flows, 4096u);  // fixed at start-up
  EXPECT_GT(rl->slowest_config_ms(), 0.0);
  unlink(opt.config_path.c_str());
}

TEST_F(ReloadFixture, BrokenConfigOrModelIsRefusedAndNothingPublished) {
  opt.config_path = write_tmp("b.yaml", "flow:\n  timeouts: {udp: nope}\n");
  start();
  rl->config(false, 0);
  ASSERT_TRUE(wait([&] { return io.reload_errors.load() == 1; }));
  EXPECT_EQ(snaps->current()->generation, 1u);
  // A config naming an unreadable model is refused as a whole.
  std::ofstream(opt.config_path) << "ml:\n  model: /nonexistent/model.spm\n";
  rl->config(false, 0);
  ASSERT_TRUE(wait([&] { return io.reload_errors.load() == 2; }));
  EXPECT_EQ(snaps->current()->generation, 1u);
  EXPECT_EQ(io.reloads.load(), 0u);
  // So is a corrupt model file given by command (answered; no control link here).
  std::string junk = write_tmp("junk.spm", "not a model");
  rl->model(7, junk, false);
  rl->drain();
  EXPECT_EQ(snaps->current()->generation, 1u);
  EXPECT_EQ(snaps->current()->ml.model, nullptr);
  unlink(junk.c_str());
  unlink(opt.config_path.c_str());
}

// The command line is a layer over the file: a SIGHUP re-read keeps it.
TEST_F(ReloadFixture, ConfigReloadKeepsCommandLineOverrides) {
  opt.config_path = write_tmp("o.yaml", "stream: {midstream: true}\nchecksum: none\nml: {points: [2]}\n"
                                        "vars: {address: {HOME_NET: \"[10.0.0.0/8]\"}}\n");
  std::string err;
  const char* argv[] = {"spectre-dp", "-r", "x.pcap", "--no-midstream", "-k", "all", "--score-points", "5,9",
                        "--home-net", "198.18.0.0/15"};
  ASSERT_TRUE(parse_cli(10, const_cast<char**>(argv), opt, err)) << err;
  opt.config_path = ::testing::TempDir() + "reload_" + std::to_string(getpid()) + "_o.yaml";
  cfg = *load_config(opt.config_path, err);
  apply_cli_overrides(cfg, opt);
  start();
  rl->config(false, 0);
  ASSERT_TRUE(wait([&] { return io.reloads.load() == 1; }));
  const Snapshot* s = snaps->current();
  EXPECT_FALSE(s->stream.midstream);
  EXPECT_TRUE(s->checksum_validate);
  EXPECT_EQ(s->ml.points[0], 5);
  EXPECT_EQ(s->ml.points[1], 9);
  EXPECT_EQ(s->ml.last_point, 9);  // later packets skip the point search
  EXPECT_EQ(s->home_net_text, "[198.18.0.0/15]");
  const uint8_t in[16] = {198, 19, 1, 2}, out[16] = {10, 1, 2, 3};
  EXPECT_TRUE(s->home_net.contains(in, 4));
  EXPECT_FALSE(s->home_net.contains(out, 4));
  unlink(opt.config_path.c_str());
}

TEST(Cli, HomeNetAndConfigNone) {
  auto parse = [](std::vector<const char*> a, Options& o, std::string& err) {
    a.insert(a.begin(), "spectre-dp");
    return parse_cli(int(a.size()), const_cast<char**>(a.data()), o, err);
  };
  Options o;
  std::string err;
  ASSERT_TRUE(parse({"-r", "x", "--home-net", "10.0.0.0/8,fd00::/8", "--config", "none"}, o, err)) << err;
  EXPECT_EQ(o.home_net, "[10.0.0.0/8,fd00::/8]");
  EXPECT_EQ(o.config_path, "none");
  for (const char* bad : {"", "foo", "10.0.0.0/33", "$HOME_NET", "10.0.0.0/8,,"}) {
    Options b;
    EXPECT_FALSE(parse({"-r", "x", "--home-net", bad}, b, err)) << bad;
    EXPECT_NE(err.find("--home-net"), std::string::npos) << err;
  }
  Config c;
  apply_cli_overrides(c, o);
  EXPECT_EQ(c.address_vars.at("HOME_NET"), "[10.0.0.0/8,fd00::/8]");
  // --rules-dir on the command line must exist, even over an optional one.
  Options r;
  ASSERT_TRUE(parse({"-r", "x", "--rules-dir", "/nonexistent"}, r, err));
  c.rules_dir_optional = true;
  apply_cli_overrides(c, r);
  EXPECT_FALSE(c.rules_dir_optional);
}

TEST_F(ReloadFixture, EverySignalIsOneReloadInOrder) {
  opt.config_path = write_tmp("c.yaml", "flow:\n  timeouts: {udp: 9}\n");
  start();
  for (int i = 0; i < 20; i++) rl->config(false, 0);
  ASSERT_TRUE(wait([&] { return io.reloads.load() == 20; }));
  EXPECT_EQ(snaps->current()->generation, 21u);
  unlink(opt.config_path.c_str());
}

TEST_F(ReloadFixture, RuleReloadsCoalesceWhileQueued) {
  cfg.rule_files = {write_tmp("r.rules", "alert tcp any any -> any 80 (msg:\"x\"; content:\"abc\"; sid:1;)\n")};
  start();
  std::string msg;
  EXPECT_TRUE(rl->rules(false, 0, {}, msg));  // starts at once
  EXPECT_TRUE(rl->rules(false, 0, {}, msg));  // queued
  EXPECT_TRUE(rl->rules(false, 0, {}, msg));  // coalesced into the queued one
  ASSERT_TRUE(wait([&] { return io.rule_reloads.load() == 2; }));
  rl->drain();
  EXPECT_EQ(io.rule_reloads.load(), 2u);
  EXPECT_EQ(rl->rules_generation(), 3u);
  ASSERT_NE(snaps->current()->rules, nullptr);
  // A control-plane reload of an unreadable file is refused at once.
  EXPECT_FALSE(rl->rules(true, 5, {"/nonexistent/x.rules"}, msg));
  EXPECT_NE(msg.find("cannot read rule file"), std::string::npos) << msg;
  unlink(cfg.rule_files[0].c_str());
}

// A rule set of which nothing loads: empty outcome without strict (no error,
// a summary), refused with strict. Part loading: the part, strict refuses.
TEST(LoadRuleset, NothingOrPartLoadsRunsUnlessStrict) {
  const std::string bad = write_tmp("bad.rules",
                                    "alert tcp any any -> any 80 (msg:\"x\"; lua:foo.lua; sid:1;)\n"
                                    "alert tcp any any -> any 80 (msg:\"y\"; content:\"a\"; sid:abc;)\n");
  const std::string part = write_tmp("part.rules",
                                     "alert tcp any any -> any 80 (msg:\"x\"; lua:foo.lua; sid:1;)\n"
                                     "alert tcp any any -> any 80 (msg:\"z\"; content:\"abc\"; sid:3;)\n");
  const std::string empty = write_tmp("empty.rules", "# nothing here\n");
  for (const std::string& f : {bad, empty}) {
    Config c;
    c.rule_files = {f};
    std::string err, summary;
    std::vector<std::string> msgs;
    EXPECT_EQ(load_ruleset(c, 1, err, summary, &msgs), nullptr);
    EXPECT_TRUE(err.empty()) << err;
    EXPECT_NE(summary.find("0 active"), std::string::npos) << summary;
    if (f == bad) {
      EXPECT_EQ(msgs.size(), 2u);  // one reason per rule not loaded
      EXPECT_NE(summary.find("1 skipped, 1 errors"), std::string::npos) << summary;
    }
    c.rules_strict = true;
    summary.clear();
    EXPECT_EQ(load_ruleset(c, 1, err, summary), nullptr);
    EXPECT_FALSE(err.empty());
  }
  Config c;
  c.rule_files = {part};
  std::string err, summary;
  auto rs = load_ruleset(c, 1, err, summary);
  ASSERT_NE(rs, nullptr) << err;
  EXPECT_EQ(ruleset_rule_count(*rs), 1u);
  c.rules_strict = true;
  EXPECT_EQ(load_ruleset(c, 1, err, summary), nullptr);
  EXPECT_NE(err.find("strict"), std::string::npos) << err;
  // An unreadable file stays fatal either way.
  c.rules_strict = false;
  c.rule_files = {"/nonexistent/x.rules"};
  err.clear();
  EXPECT_EQ(load_ruleset(c, 1, err, summary), nullptr);
  EXPECT_NE(err.find("cannot read"), std::string::npos) << err;
  for (const std::string& f : {bad, part, empty}) unlink(f.c_str());
}

// Reloads follow the start-up policy: nothing loads -> published as "no
// rules" (not strict) or refused with the running rules kept (strict).
TEST_F(ReloadFixture, RuleReloadOfNothingLoadingFollowsStrict) {
  const std::string f = write_tmp("r2.rules", "alert tcp any any -> any 80 (msg:\"x\"; content:\"abc\"; sid:1;)\n");
  cfg.rule_files = {f};
  start();
  std::string msg;
  ASSERT_TRUE(rl->rules(false, 0, {}, msg));
  ASSERT_TRUE(wait([&] { return io.rule_reloads.load() == 1; }));
  ASSERT_NE(snaps->current()->rules, nullptr);
  std::ofstream(f) << "alert tcp any any -> any 80 (msg:\"x\"; lua:foo.lua; sid:1;)\n";
  cfg.rules_strict = true;
  ASSERT_TRUE(rl->rules(false, 0, {}, msg));
  ASSERT_TRUE(wait([&] { return io.reload_errors.load() == 1; }));
  EXPECT_NE(snaps->current()->rules, nullptr);  // strict: the running rules stay
  cfg.rules_strict = false;
  ASSERT_TRUE(rl->rules(false, 0, {}, msg));
  ASSERT_TRUE(wait([&] { return io.rule_reloads.load() == 2; }));
  EXPECT_EQ(snaps->current()->rules, nullptr);  // not strict: runs without signatures
  EXPECT_EQ(io.reload_errors.load(), 1u);
  rl->drain();
  unlink(f.c_str());
}


// Alerts of `rs` on one UDP packet with payload "abc" from 10.0.0.1.
size_t alerts_on_abc(const CompiledRuleset* rs) {
  if (!rs) return 0;
  struct Sink : AlertSink {
    size_t n = 0;
    void alert(const RuleMeta&, const DetectPacket&) override { n++; }
  } sink;
  DetectCtx ctx(0);
  uint8_t src[16] = {10, 0, 0, 1}, dst[16] = {10, 0, 0, 2};
  DetectPacket p;
  p.src = src;
  p.dst = dst;
  p.proto = 17;
  p.sport = 1000;
  p.dport = 80;
  detect_payload(ctx, *rs, p, PayloadMode::kPacket, reinterpret_cast<const uint8_t*>("abc"), 3, sink);
  return sink.n;
}

// threshold.config is compiled into the rules; a SIGHUP re-reads it (through a
// queued rule reload), and so does SIGUSR2.
TEST_F(ReloadFixture, ThresholdFileIsReloadedOnSighupAndWithTheRules) {
  const std::string r = write_tmp("t.rules", "alert udp any any -> any 80 (msg:\"x\"; content:\"abc\"; sid:1;)\n");
  const std::string t = write_tmp("t.config", "suppress gen_id 1, sig_id 1\n");
  opt.config_path = write_tmp("t.yaml", "rules: {files: [" + r + "]}\nthreshold-file: " + t + "\n");
  std::string err, summary;
  cfg = *load_config(opt.config_path, err);
  start();
  auto first = load_ruleset(cfg, 1, err, summary);
  ASSERT_NE(first, nullptr) << err;
  EXPECT_EQ(alerts_on_abc(first.get()), 0u);  // suppressed
  std::ofstream(t) << "# nothing suppressed now\n";
  rl->config(false, 0);
  ASSERT_TRUE(wait([&] { return io.rule_reloads.load() == 1; }));
  EXPECT_EQ(alerts_on_abc(snaps->current()->rules.get()), 1u);
  std::ofstream(t) << "suppress gen_id 1, sig_id 1, track by_src, ip 10.0.0.0/8\n";
  std::string msg;
  ASSERT_TRUE(rl->rules(false, 0, {}, msg));
  ASSERT_TRUE(wait([&] { return io.rule_reloads.load() == 2; }));
  EXPECT_EQ(alerts_on_abc(snaps->current()->rules.get()), 0u);
  // An unreadable threshold file refuses the rule reload; the running rules stay.
  unlink(t.c_str());
  ASSERT_TRUE(rl->rules(false, 0, {}, msg));
  ASSERT_TRUE(wait([&] { return io.reload_errors.load() == 1; }));
  EXPECT_NE(snaps->current()->rules, nullptr);
  rl->drain();
  for (const std::string& f : {r, opt.config_path}) unlink(f.c_str());
}

TEST(Cli, ThresholdFileAndStreamSwitches) {
  auto parse = [](std::vector<const char*> a, Options& o, std::string& err) {
    a.insert(a.begin(), "spectre-dp");
    return parse_cli(int(a.size()), const_cast<char**>(a.data()), o, err);
  };
  Options o;
  std::string err;
  ASSERT_TRUE(parse({"-r", "x", "--threshold-file", "/t.config", "--no-midstream", "--async-oneside"}, o, err))
      << err;
  Config c;
  c.threshold_file = "/from-file.config";
  apply_cli_overrides(c, o);
  EXPECT_EQ(c.threshold_file, "/t.config");
  EXPECT_FALSE(c.midstream);
  EXPECT_TRUE(c.async_oneside);
  Options p;  // the opposite switches over a file that set them
  ASSERT_TRUE(parse({"-r", "x", "--midstream", "--no-async-oneside"}, p, err)) << err;
  apply_cli_overrides(c, p);
  EXPECT_TRUE(c.midstream);
  EXPECT_FALSE(c.async_oneside);
  Options n;  // nothing given: the file's values stay
  ASSERT_TRUE(parse({"-r", "x"}, n, err));
  c.midstream = false;
  apply_cli_overrides(c, n);
  EXPECT_FALSE(c.midstream);
  EXPECT_EQ(c.threshold_file, "/t.config");
  EXPECT_FALSE(parse({"-r", "x", "--threshold-file"}, n, err));
}

}  // namespace
}  // namespace spectre
