// The /detect jobs (detect_jobs.h) with a stand-in spectre-dp (a shell
// script): the capture magic check, a job's alerts and counts, the item cap,
// a failing and a hanging spectre-dp (error text, timeout), the bounded
// queue, the kept-jobs limit, and the routes' statuses over ApiService.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "ctrlplane/api/detect_jobs.h"
#include "ctrlplane/api/service.h"
#include "ctrlplane/store/sqlite_store.h"

using namespace spectre::api;
namespace fs = std::filesystem;

namespace {
// The stand-in: the capture's text after the header picks the behaviour.
const char* kFakeDp = R"(#!/bin/sh
while [ $# -gt 0 ]; do case "$1" in -r) pcap=$2; shift;; --eve) eve=$2; shift;; esac; shift; done
if grep -q FAILME "$pcap"; then echo "spectre-dp: $pcap: broken capture" >&2; exit 3; fi
if grep -q HANGME "$pcap"; then exec sleep 30; fi
if grep -q READERR "$pcap"; then echo "spectre-dp: $pcap: read error after 1 packets: bad record" >&2; fi
printf '\r[ 42.0%%] 10 packets, 0.00 Mpps   ' >&2
if grep -q SLOWME "$pcap"; then sleep 1; fi
for i in 1 2 3; do
  echo '{"timestamp":"2025-11-10T00:00:0'$i'.000000+0000","event_type":"alert","src_ip":"203.0.113.9","src_port":4000'$i',"dest_ip":"10.0.0.5","dest_port":22,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":700'$i',"rev":1,"signature":"FAKE sig '$i'","category":"Attempted Recon","severity":1}}' >> "$eve"
done
echo '{"timestamp":"2025-11-10T00:00:09.000000+0000","event_type":"stats"}' >> "$eve"
)";

struct Dir {
  std::string path;
  Dir() {
    char t[] = "/tmp/detect-unit-XXXXXX";
    path = mkdtemp(t);
    std::ofstream(path + "/fake-dp") << kFakeDp;
    chmod((path + "/fake-dp").c_str(), 0755);
  }
  ~Dir() { fs::remove_all(path); }
};

std::string capture(const std::string& text) {
  std::string b("\xd4\xc3\xb2\xa1\x02\x00\x04\x00", 8);
  b += std::string(16, '\0') + text;  // a pcap global header (24 bytes), then the marker
  return b;
}

std::unique_ptr<DetectJobs> jobs(const Dir& d, DetectOptions o = {}) {
  o.dp = d.path + "/fake-dp";
  o.tmp_dir = d.path;
  std::string err;
  auto j = DetectJobs::create(o, err);
  EXPECT_TRUE(j) << err;
  return j;
}

nlohmann::json wait_done(DetectJobs& j, const std::string& id) {
  nlohmann::json st;
  for (int i = 0; i < 200; i++) {
    EXPECT_TRUE(j.status(id, st));
    if (st["state"] == "done" || st["state"] == "failed") return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return st;
}
}  // namespace

TEST(DetectJobs, CaptureMagic) {
  EXPECT_EQ(DetectJobs::capture_error(capture("")), "");
  EXPECT_EQ(DetectJobs::capture_error(std::string("\xa1\xb2\xc3\xd4", 4) + std::string(20, '\0')), "");  // big-endian
  EXPECT_EQ(DetectJobs::capture_error(std::string("\x0a\x0d\x0d\x0a", 4) + std::string(24, '\0')), "");  // pcapng
  EXPECT_NE(DetectJobs::capture_error("GET / HTTP/1.1\r\n\r\n hello there, no capture"), "");
  EXPECT_NE(DetectJobs::capture_error(""), "");
  EXPECT_NE(DetectJobs::capture_error(std::string("\xd4\xc3\xb2\xa1", 4) + "short"), "");  // truncated header
}

TEST(DetectJobs, AlertsCountsCapAndFailures) {
  Dir d;
  DetectOptions o;
  o.max_items = 2;
  auto j = jobs(d, o);
  std::string id, err;
  int status = 0;
  ASSERT_TRUE(j->submit(capture("ok"), id, status, err)) << err;
  auto st = wait_done(*j, id);
  EXPECT_EQ(st["state"], "done") << st.dump();
  EXPECT_EQ(st["alerts"], 3);
  EXPECT_EQ(st["progress"], 1.0);
  EXPECT_EQ(st["truncated"], true);
  std::vector<spectre::store::AlertRow> rows;
  ASSERT_TRUE(j->alerts(id, rows));
  ASSERT_EQ(rows.size(), 2u);  // capped; the count goes on
  EXPECT_EQ(rows[0].id, 1u);
  EXPECT_EQ(rows[1].sid, 7002u);
  EXPECT_EQ(rows[1].signature, "FAKE sig 2");
  std::vector<spectre::store::IncidentRow> incs;
  EXPECT_TRUE(j->incidents(id, incs));
  EXPECT_EQ(st["incidents"], incs.size());
  {  // The byte cap: each fake alert's EVE object is ~250 bytes.
    DetectOptions small;
    small.max_job_bytes = 600;
    auto j2 = jobs(d, small);
    std::string id2;
    ASSERT_TRUE(j2->submit(capture("ok"), id2, status, err));
    EXPECT_EQ(wait_done(*j2, id2)["alerts"], 3);
    ASSERT_TRUE(j2->alerts(id2, rows));
    EXPECT_EQ(rows.size(), 2u);
  }
  // Progress from spectre-dp's progress line while it runs.
  ASSERT_TRUE(j->submit(capture("SLOWME"), id, status, err));
  for (int i = 0; i < 100 && j->status(id, st) && st["progress"] == 0.0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(st["state"], "running");
  EXPECT_DOUBLE_EQ(st["progress"].get<double>(), 0.42);
  EXPECT_EQ(wait_done(*j, id)["state"], "done");
  // A read error spectre-dp survives: done, with the warning (the temp path hidden).
  ASSERT_TRUE(j->submit(capture("READERR"), id, status, err));
  st = wait_done(*j, id);
  EXPECT_EQ(st["state"], "done");
  EXPECT_EQ(st["warnings"], nlohmann::json::array({"capture: read error after 1 packets: bad record"})) << st.dump();
  // A failing spectre-dp: failed, with its exit code and last stderr line.
  ASSERT_TRUE(j->submit(capture("FAILME"), id, status, err));
  st = wait_done(*j, id);
  EXPECT_EQ(st["state"], "failed");
  EXPECT_NE(st.value("error", "").find("exited 3: spectre-dp:"), std::string::npos) << st.dump();
  EXPECT_NE(st.value("error", "").find("broken capture"), std::string::npos) << st.dump();
  // Not a capture: 400 and nothing queued.
  EXPECT_FALSE(j->submit("not a capture at all, just text", id, status, err));
  EXPECT_EQ(status, 400);
  EXPECT_FALSE(j->status("no-such-job", st));
  // The temp files are gone once jobs finish.
  size_t left = 0;
  for (auto& e : fs::directory_iterator(d.path)) left += e.path().filename().string().rfind("spectre-detect-", 0) == 0;
  EXPECT_EQ(left, 0u);
}

TEST(DetectJobs, TimeoutQueueBoundAndKeptJobs) {
  Dir d;
  DetectOptions o;
  o.timeout_s = 1;
  o.max_queued = 1;
  o.keep_jobs = 2;
  auto j = jobs(d, o);
  std::string hang, queued, id, err;
  int status = 0;
  ASSERT_TRUE(j->submit(capture("HANGME"), hang, status, err));
  nlohmann::json st;
  for (int i = 0; i < 100 && j->status(hang, st) && st["state"] == "queued"; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(st["state"], "running");
  ASSERT_TRUE(j->submit(capture("ok"), queued, status, err));
  EXPECT_FALSE(j->submit(capture("ok"), id, status, err));  // one waiting already
  EXPECT_EQ(status, 503);
  EXPECT_NE(err.find("queue full"), std::string::npos);
  auto t0 = std::chrono::steady_clock::now();
  st = wait_done(*j, hang);
  EXPECT_EQ(st["state"], "failed");
  EXPECT_NE(st.value("error", "").find("timed out after 1 s"), std::string::npos) << st.dump();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(wait_done(*j, queued)["state"], "done");
  // Two more finished jobs: the oldest finished (the hung one) is dropped.
  for (int k = 0; k < 2; k++) {
    ASSERT_TRUE(j->submit(capture("ok"), id, status, err)) << err;
    wait_done(*j, id);
  }
  EXPECT_FALSE(j->status(hang, st));
  EXPECT_FALSE(j->status(queued, st));
  EXPECT_TRUE(j->status(id, st));
}

TEST(DetectJobs, DestructorKillsARunningJob) {
  Dir d;
  auto j = jobs(d);
  std::string id, err;
  int status = 0;
  ASSERT_TRUE(j->submit(capture("HANGME"), id, status, err));
  nlohmann::json st;
  for (int i = 0; i < 100 && j->status(id, st) && st["state"] == "queued"; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(st["state"], "running");  // else the destructor only drops a queued job and kills nothing
  auto t0 = std::chrono::steady_clock::now();
  j.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}

// With a store: a finished job (state, counts, submitter, alerts with their
// ordinals, incidents) answers from a new DetectJobs on the same store, and
// a job running when the first one went away comes back failed ("interrupted").
TEST(DetectJobs, PersistedAcrossRestart) {
  Dir d;
  std::string err, done_id, hang_id;
  int status = 0;
  spectre::store::SqliteOptions so;
  so.path = d.path + "/jobs.db";
  nlohmann::json st1;
  std::vector<spectre::store::AlertRow> a1;
  {
    auto store = spectre::store::SqliteStore::open(so, err);
    ASSERT_TRUE(store) << err;
    DetectOptions o;
    o.store = store.get();
    auto j = jobs(d, o);
    ASSERT_TRUE(j->submit(capture("x"), done_id, status, err, "analyst-1"));
    st1 = wait_done(*j, done_id);
    ASSERT_EQ(st1["state"], "done");
    ASSERT_TRUE(j->alerts(done_id, a1));
    ASSERT_TRUE(j->submit(capture("HANGME"), hang_id, status, err, "analyst-2"));
    nlohmann::json st;
    for (int i = 0; i < 100 && j->status(hang_id, st) && st["state"] == "queued"; i++)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(st["state"], "running");
    j.reset();  // spectre-cp stops with a job running
  }
  auto store = spectre::store::SqliteStore::open(so, err);
  ASSERT_TRUE(store) << err;
  DetectOptions o;
  o.store = store.get();
  auto j = jobs(d, o);
  nlohmann::json st;
  ASSERT_TRUE(j->status(done_id, st));
  EXPECT_EQ(st["state"], "done");
  EXPECT_EQ(st["alerts"], 3);
  EXPECT_EQ(st["alerts"], st1["alerts"]);
  EXPECT_EQ(st["incidents"], st1["incidents"]);
  EXPECT_EQ(st["submitted_by"], "analyst-1");
  EXPECT_EQ(st["submitted"], st1["submitted"]);
  EXPECT_TRUE(st.contains("finished"));
  std::vector<spectre::store::AlertRow> a2;
  ASSERT_TRUE(j->alerts(done_id, a2));
  ASSERT_EQ(a2.size(), a1.size());
  for (size_t i = 0; i < a1.size(); i++) {
    EXPECT_EQ(a2[i].id, a1[i].id);
    EXPECT_EQ(a2[i].sid, a1[i].sid);
    EXPECT_EQ(a2[i].eve, a1[i].eve);
  }
  std::vector<spectre::store::IncidentRow> inc;
  EXPECT_TRUE(j->incidents(done_id, inc));
  ASSERT_TRUE(j->status(hang_id, st));
  EXPECT_EQ(st["state"], "failed");
  EXPECT_NE(st["error"].get<std::string>().find("interrupted"), std::string::npos) << st.dump();
  EXPECT_EQ(st["submitted_by"], "analyst-2");
  // New jobs continue the sequence (ids start with it).
  std::string id3;
  ASSERT_TRUE(j->submit(capture("x"), id3, status, err));
  EXPECT_EQ(id3.substr(0, 2), "3-");
  // The kept-jobs trim deletes from the store too.
  j.reset();
  DetectOptions o2;
  o2.store = store.get();
  o2.keep_jobs = 1;
  j = jobs(d, o2);
  EXPECT_FALSE(j->status(done_id, st));
  EXPECT_EQ(store->detect_jobs().size(), 1u);
}

// spectre-cp killed (no clean stop): the store still says queued/running;
// the next start fails those jobs ("interrupted") and stores that.
TEST(DetectJobs, JobsOfAKilledRunAreFailedAtStart) {
  Dir d;
  std::string err;
  spectre::store::SqliteOptions so;
  so.path = d.path + "/killed.db";
  auto store = spectre::store::SqliteStore::open(so, err);
  ASSERT_TRUE(store) << err;
  for (const char* st : {"queued", "running"}) {
    spectre::store::DetectJobRow r;
    r.id = std::string(st) == "queued" ? "8-00000008" : "7-00000007";
    r.seq = std::string(st) == "queued" ? 8 : 7;
    r.state = st;
    r.submitted_ms = 1764547200000;
    ASSERT_TRUE(store->save_detect_job(r));
  }
  DetectOptions o;
  o.store = store.get();
  auto j = jobs(d, o);
  for (const char* id : {"7-00000007", "8-00000008"}) {
    nlohmann::json st;
    ASSERT_TRUE(j->status(id, st)) << id;
    EXPECT_EQ(st["state"], "failed");
    EXPECT_EQ(st["error"].get<std::string>().rfind("interrupted", 0), 0u) << st.dump();
    EXPECT_TRUE(st.contains("finished"));
  }
  for (auto& r : store->detect_jobs()) EXPECT_EQ(r.state, "failed") << r.id;
  std::vector<spectre::store::AlertRow> a;
  EXPECT_TRUE(j->alerts("7-00000007", a));  // no results: an empty list, not an error
  EXPECT_TRUE(a.empty());
  std::string id;
  int status = 0;
  ASSERT_TRUE(j->submit(capture("x"), id, status, err));
  EXPECT_EQ(id.substr(0, 2), "9-");
}

TEST(DetectJobs, Routes) {
  Dir d;
  auto j = jobs(d);
  std::string err;
  spectre::store::SqliteOptions so;
  so.path = d.path + "/s.db";
  auto store = spectre::store::SqliteStore::open(so, err);
  ASSERT_TRUE(store) << err;
  TokenStore tokens;
  std::ofstream(d.path + "/t.yaml") << "tokens:\n  - {name: v, role: viewer, token: viewer-token}\n"
                                       "  - {name: a, role: analyst, token: analyst-token}\n";
  ASSERT_TRUE(tokens.load_file(d.path + "/t.yaml", err)) << err;
  ServiceHooks h;
  h.detect = j.get();
  ApiService svc(*store, std::move(tokens), ServiceOptions{}, h);
  auto call = [&](const char* m, const std::string& path, const char* tok, std::string body = "",
                  const char* ct = "application/vnd.tcpdump.pcap") {
    Request r;
    r.method = m;
    r.path = path;
    r.headers["authorization"] = std::string("Bearer ") + tok;
    if (!body.empty()) r.headers["content-type"] = ct;
    r.body = std::move(body);
    return svc.handle(r);
  };
  EXPECT_EQ(call("POST", "/api/v1/detect", "viewer-token", capture("ok")).status, 403);
  EXPECT_EQ(call("POST", "/api/v1/detect", "analyst-token", "plain text, not a capture").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/detect", "analyst-token", capture("ok"), "text/plain").status, 415);
  EXPECT_EQ(call("GET", "/api/v1/detect/1-deadbeef", "viewer-token").status, 404);
  Response r = call("POST", "/api/v1/detect", "analyst-token", capture("ok"), "application/octet-stream");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = nlohmann::json::parse(r.body)["job"];
  EXPECT_EQ(wait_done(*j, id)["state"], "done");
  auto a = nlohmann::json::parse(call("GET", "/api/v1/detect/" + id + "/alerts", "viewer-token").body);
  ASSERT_EQ(a["items"].size(), 3u);
  EXPECT_EQ(a["items"][2]["sid"], 7003);
  EXPECT_EQ(a["items"][2]["eve"]["alert"]["signature"], "FAKE sig 3");
  EXPECT_EQ(call("GET", "/api/v1/detect/" + id + "/incidents", "viewer-token").status, 200);
  EXPECT_EQ(store->stats().alerts, 0u);  // nothing of the job in the live store
}
