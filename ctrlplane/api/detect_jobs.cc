#include "ctrlplane/api/detect_jobs.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <yaml-cpp/yaml.h>

#include "ctrlplane/cortex/cortex.h"
#include "ctrlplane/cortex/eve_input.h"
#include "ctrlplane/store/eve_rows.h"
#include "dataplane/core/yaml_reader.h"

extern char** environ;

namespace spectre::api {

namespace fs = std::filesystem;

const char* detect_state_name(DetectJobs::State s) {
  switch (s) {
    case DetectJobs::State::kQueued: return "queued";
    case DetectJobs::State::kRunning: return "running";
    case DetectJobs::State::kDone: return "done";
    case DetectJobs::State::kFailed: return "failed";
  }
  return "failed";
}

namespace {
// The incidents: section of spectre-dp's configuration file, as spectre-dp reads it.
bool cortex_config(const std::string& path, cortex::Config& c, std::string& err) {
  if (path.empty() || path == "none") return true;
  YAML::Node root;
  if (!load_yaml_file(path, root, err)) return false;
  YAML::Node n = root.IsMap() ? root["incidents"] : YAML::Node();
  if (!n) return true;
  std::string dir = fs::path(path).parent_path().string();
  return cortex::parse_config(n, path, dir.empty() ? "." : dir, c, err);
}

std::string random_id() {
  std::random_device rd;
  uint64_t v = (uint64_t(rd()) << 32) ^ rd();
  char b[17];
  std::snprintf(b, sizeof b, "%016llx", (unsigned long long)v);
  return b;
}

// The last "[ 12.3%]" of spectre-dp's --progress output, as 0..1; -1: none.
double last_percent(const std::string& s) {
  size_t p = s.rfind("%]");
  if (p == std::string::npos) return -1;
  size_t b = s.rfind('[', p);
  if (b == std::string::npos) return -1;
  char* end = nullptr;
  double v = std::strtod(s.c_str() + b + 1, &end);
  if (end != s.c_str() + p || v < 0 || v > 100) return -1;
  return v / 100;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

DetectJobs::State state_of(const std::string& s) {
  return s == "done" ? DetectJobs::State::kDone : s == "failed" ? DetectJobs::State::kFailed
         : s == "running" ? DetectJobs::State::kRunning : DetectJobs::State::kQueued;
}

const char* const kInterrupted = "interrupted: spectre-cp stopped before the job finished";

std::string last_line(const std::string& s) {
  std::string t = s;
  for (char& c : t)
    if (c == '\r') c = '\n';
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}
}  // namespace

std::unique_ptr<DetectJobs> DetectJobs::create(DetectOptions o, std::string& err) {
  std::unique_ptr<DetectJobs> d(new DetectJobs);
  d->cx_ = std::make_unique<cortex::Config>();
  if (!cortex_config(o.config, *d->cx_, err)) return nullptr;
  d->cx_->response = cortex::ResponseConfig{};  // offline analysis never acts (no blocks, no SOAR posts)
  if (o.tmp_dir.empty()) o.tmp_dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  d->opt_ = std::move(o);
  d->restore();
  d->thr_ = std::thread([p = d.get()] { p->loop(); });
  return d;
}

DetectJobs::~DetectJobs() {
  {
    std::lock_guard g(mu_);
    stop_ = true;
    for (auto& j : queue_) {
      fs::remove_all(fs::path(j->pcap).parent_path());
      j->state = State::kFailed;
      j->error = kInterrupted;
      j->finished_ms = now_ms();
      persist(*j);
    }
    queue_.clear();
  }
  cv_.notify_all();
  if (int pid = child_.load()) kill(pid, SIGKILL);
  if (thr_.joinable()) thr_.join();
}

std::string DetectJobs::capture_error(std::string_view b) {
  if (b.size() < 4) return "body: not a pcap or pcapng file (" + std::to_string(b.size()) + " bytes)";
  uint32_t m;
  std::memcpy(&m, b.data(), 4);
  bool pcap = m == 0xa1b2c3d4 || m == 0xd4c3b2a1 || m == 0xa1b23c4d || m == 0x4d3cb2a1;  // us / ns, either order
  bool ng = m == 0x0a0d0d0a;  // section header block (same in either byte order)
  if (!pcap && !ng) return "body: not a pcap or pcapng file (bad magic)";
  if (b.size() < (pcap ? 24u : 28u)) return "body: truncated capture header";
  return "";
}

bool DetectJobs::submit(std::string_view body, std::string& id, int& status, std::string& err, const std::string& who) {
  if (!(err = capture_error(body)).empty()) { status = 400; return false; }
  if (body.size() > opt_.max_bytes) {
    status = 413;
    err = "capture over " + std::to_string(opt_.max_bytes) + " bytes";
    return false;
  }
  {
    std::lock_guard g(mu_);
    if (queue_.size() >= opt_.max_queued) {
      status = 503;
      err = "detect queue full (" + std::to_string(queue_.size()) + " jobs waiting): retry later";
      return false;
    }
  }
  std::string tmpl = opt_.tmp_dir + "/spectre-detect-XXXXXX";
  if (!mkdtemp(tmpl.data())) { status = 500; err = "temp directory: " + std::string(std::strerror(errno)); return false; }
  auto j = std::make_shared<Job>();
  j->pcap = tmpl + "/capture.pcap";
  j->size = body.size();
  {
    std::ofstream f(j->pcap, std::ios::binary);
    f.write(body.data(), std::streamsize(body.size()));
    if (!f.flush()) {
      fs::remove_all(tmpl);
      status = 500;
      err = "temp file not written (disk full?)";
      return false;
    }
  }
  std::lock_guard g(mu_);
  if (queue_.size() >= opt_.max_queued) {  // filled while the file was written
    fs::remove_all(tmpl);
    status = 503;
    err = "detect queue full: retry later";
    return false;
  }
  do j->id = std::to_string(j->seq = ++seq_) + "-" + random_id().substr(0, 8);
  while (jobs_.count(j->id));
  j->submitted_by = who;
  j->submitted_ms = now_ms();
  persist(*j);
  id = j->id;
  jobs_[id] = j;
  order_.push_back(id);
  queue_.push_back(j);
  trim();
  cv_.notify_one();
  return true;
}

// Keeps every queued/running job and the keep_jobs newest finished ones.
void DetectJobs::trim() {
  size_t finished = 0;
  for (auto& id : order_) finished += jobs_[id]->state >= State::kDone;
  for (auto it = order_.begin(); finished > opt_.keep_jobs && it != order_.end();) {
    if (jobs_[*it]->state < State::kDone) { ++it; continue; }
    if (opt_.store) opt_.store->delete_detect_job(*it);
    jobs_.erase(*it);
    it = order_.erase(it);
    finished--;
  }
}

bool DetectJobs::status(const std::string& id, nlohmann::json& out) {
  std::lock_guard g(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return false;
  const Job& j = *it->second;
  out = {{"job", j.id}, {"state", detect_state_name(j.state)}, {"progress", j.progress}, {"alerts", j.n_alerts},
         {"incidents", j.n_incidents}, {"bytes", j.size}, {"truncated", j.truncated},
         {"submitted", store::format_time(j.submitted_ms)}};
  if (!j.submitted_by.empty()) out["submitted_by"] = j.submitted_by;
  if (j.started_ms) out["started"] = store::format_time(j.started_ms);
  if (j.finished_ms) out["finished"] = store::format_time(j.finished_ms);
  if (j.state == State::kFailed) out["error"] = j.error;
  if (!j.warnings.empty()) out["warnings"] = j.warnings;
  return true;
}

bool DetectJobs::alerts(const std::string& id, std::vector<store::AlertRow>& out) {
  std::lock_guard g(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || !load_results(*it->second)) return false;
  out = it->second->alerts;
  return true;
}

bool DetectJobs::incidents(const std::string& id, std::vector<store::IncidentRow>& out) {
  std::lock_guard g(mu_);
  auto it = jobs_.find(id);
  if (it == jobs_.end() || !load_results(*it->second)) return false;
  out = it->second->incidents;
  return true;
}

void DetectJobs::loop() {
  for (;;) {
    std::shared_ptr<Job> j;
    {
      std::unique_lock g(mu_);
      cv_.wait(g, [&] { return stop_ || !queue_.empty(); });
      if (stop_) return;
      j = queue_.front();
      queue_.pop_front();
      j->state = State::kRunning;
      j->started_ms = now_ms();
      persist(*j);
    }
    run(j);
  }
}

void DetectJobs::run(const std::shared_ptr<Job>& j) {
  std::string dir = fs::path(j->pcap).parent_path().string(), eve = dir + "/eve.json", err;
  bool ok = run_dp(j, eve, err) && collect(j, eve, err);
  if (ok && stop_) ok = false, err = kInterrupted;  // collect() stopped early
  std::error_code ec;
  fs::remove_all(dir, ec);
  // Results first (this thread alone writes them; readers copy under mu_), then the state that points at them.
  if (ok && opt_.store) {
    store::Store::Numbered a, i;
    for (auto& x : j->alerts) a.emplace_back(x.id, x.eve);
    for (auto& x : j->incidents) i.emplace_back(i.size(), x.record);
    if (!opt_.store->save_detect_results(j->id, a, i))
      std::fprintf(stderr, "spectre-cp: detect job %s: results not stored (they answer until a restart)\n", j->id.c_str());
  }
  std::lock_guard g(mu_);
  j->state = ok ? State::kDone : State::kFailed;
  j->error = err;
  j->finished_ms = now_ms();
  if (ok) j->progress = 1;
  persist(*j);
  trim();
}

// spectre-dp -r FILE --eve EVE --progress --no-incidents [--config C]: its
// stderr is read for the progress line (bytes read of the file) and the
// error; killed after timeout_s.
bool DetectJobs::run_dp(const std::shared_ptr<Job>& j, const std::string& eve, std::string& err) {
  std::vector<std::string> args = {opt_.dp, "-r", j->pcap, "--eve", eve, "--progress", "--no-incidents"};
  if (!opt_.config.empty()) args.insert(args.end(), {"--config", opt_.config});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) { err = "pipe: " + std::string(std::strerror(errno)); return false; }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);  // not the API's sockets or the store's file
  pid_t pid = 0;
  int rc = posix_spawn(&pid, opt_.dp.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    err = "cannot run " + opt_.dp + ": " + std::strerror(rc);
    return false;
  }
  child_ = pid;
  if (stop_) kill(pid, SIGKILL);  // the destructor may have looked before child_ was set
  std::string tail;  // the last 4 KiB of stderr
  std::string line;  // the stderr line being read
  auto t0 = std::chrono::steady_clock::now();
  bool timed_out = false;
  std::chrono::steady_clock::time_point killed{};
  for (;;) {
    // Killed but stderr still open (a child of spectre-dp holds it): give up on EOF after 2 s.
    if ((timed_out || stop_) && killed.time_since_epoch().count() &&
        std::chrono::steady_clock::now() - killed > std::chrono::seconds(2))
      break;
    pollfd p{fds[0], POLLIN, 0};
    int n = poll(&p, 1, 250);
    if (n > 0) {
      char buf[4096];
      ssize_t r = read(fds[0], buf, sizeof buf);
      if (r <= 0) break;  // EOF: spectre-dp exited (or closed stderr)
      tail.append(buf, size_t(r));
      note_warnings(j, std::string_view(buf, size_t(r)), line);
      if (tail.size() > 4096) tail.erase(0, tail.size() - 4096);
      double pct = last_percent(tail);
      if (pct >= 0) {
        std::lock_guard g(mu_);
        j->progress = std::min(0.99, pct);  // 1 once the EVE lines are read too
      }
    }
    if (!timed_out && std::chrono::steady_clock::now() - t0 > std::chrono::seconds(opt_.timeout_s)) {
      kill(pid, SIGKILL);
      timed_out = true;
    }
    if ((timed_out || stop_) && !killed.time_since_epoch().count()) killed = std::chrono::steady_clock::now();
  }
  close(fds[0]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  child_ = 0;
  if (timed_out) { err = "spectre-dp timed out after " + std::to_string(opt_.timeout_s) + " s"; return false; }
  if (stop_) { err = kInterrupted; return false; }
  if (WIFSIGNALED(st)) { err = "spectre-dp killed by signal " + std::to_string(WTERMSIG(st)); return false; }
  if (WEXITSTATUS(st) != 0) {
    err = "spectre-dp exited " + std::to_string(WEXITSTATUS(st)) + ": " + last_line(tail);
    return false;
  }
  return true;
}

// spectre-dp exits 0 after a capture read error (the packets before it are
// analysed): its "read error" lines become the job's warnings, the temp path
// shown as "capture".
void DetectJobs::note_warnings(const std::shared_ptr<Job>& j, std::string_view chunk, std::string& line) {
  for (char c : chunk) {
    if (c != '\n' && c != '\r') {
      if (line.size() < 1024) line += c;
      continue;
    }
    if (line.find("read error") != std::string::npos) {
      size_t p = line.find(j->pcap);
      if (p != std::string::npos) line.replace(p, j->pcap.size(), "capture");
      if (line.rfind("spectre-dp: ", 0) == 0) line.erase(0, 12);
      std::lock_guard g(mu_);
      if (j->warnings.size() < 8) j->warnings.push_back(line);
    }
    line.clear();
  }
}

// The EVE file: alerts kept (up to max_items), every alert and flow line to
// the Cortex; its records give the incidents (the latest record of each).
bool DetectJobs::collect(const std::shared_ptr<Job>& j, const std::string& eve, std::string& err) {
  std::ifstream f(eve);
  if (!f) { err = "spectre-dp wrote no EVE file"; return false; }
  auto cx = cortex::Cortex::create(*cx_, err);
  if (!cx) { err = "incidents: " + err; return false; }
  std::vector<store::AlertRow> alerts;
  std::map<uint64_t, store::IncidentRow> incs;
  std::set<uint64_t> seen;
  uint64_t n_alerts = 0;
  size_t kept = 0;  // EVE bytes kept (alerts' objects, incidents' latest records)
  auto room = [&](size_t n, size_t more) { return n < opt_.max_items && kept + more <= opt_.max_job_bytes; };
  cx->set_sink([&](std::string_view line) {
    store::IncidentRow r;
    std::string e;
    if (!store::incident_from_eve(line, r, e)) return;
    seen.insert(r.id);
    auto it = incs.find(r.id);
    if (it != incs.end()) {
      kept = kept - it->second.record.size() + r.record.size();  // the latest record replaces the last
      it->second = std::move(r);
    } else if (room(incs.size(), r.record.size())) {
      kept += r.record.size();
      incs.emplace(r.id, std::move(r));
    }
  });
  cortex::EveDetection ed;
  std::string line, e;
  while (std::getline(f, line) && !stop_) {
    store::AlertRow a;
    if (line.find("\"event_type\":\"alert\"") != std::string::npos && store::alert_from_eve(line, a, e)) {
      a.id = ++n_alerts;  // the alert's ordinal in this job
      if (room(alerts.size(), a.eve.size())) {
        kept += a.eve.size();
        alerts.push_back(std::move(a));
      }
    }
    switch (cortex::detection_from_eve(line, ed, e)) {
      case cortex::EveParse::kBad:
      case cortex::EveParse::kSkip: break;
      case cortex::EveParse::kFlow:
        if (!cx->wants_flows()) break;
        [[fallthrough]];
      case cortex::EveParse::kDetection: cx->ingest(ed.d);
    }
  }
  cx->finish();
  std::lock_guard g(mu_);
  j->alerts = std::move(alerts);
  j->n_alerts = n_alerts;
  j->n_incidents = seen.size();
  for (auto& [id, r] : incs) j->incidents.push_back(std::move(r));
  j->truncated = j->n_alerts > j->alerts.size() || j->n_incidents > j->incidents.size();
  return true;
}

void DetectJobs::persist(const Job& j) {
  if (!opt_.store) return;
  store::DetectJobRow r;
  r.id = j.id;
  r.seq = j.seq;
  r.state = detect_state_name(j.state);
  r.progress = j.progress;
  r.submitted_by = j.submitted_by;
  r.submitted_ms = j.submitted_ms;
  r.started_ms = j.started_ms;
  r.finished_ms = j.finished_ms;
  r.bytes = j.size;
  r.alerts = j.n_alerts;
  r.incidents = j.n_incidents;
  r.truncated = j.truncated;
  r.error = j.error;
  r.warnings = j.warnings;
  if (!opt_.store->save_detect_job(r))
    std::fprintf(stderr, "spectre-cp: detect job %s: state not stored\n", j.id.c_str());
}

void DetectJobs::restore() {
  if (!opt_.store) return;
  std::lock_guard g(mu_);
  for (auto& r : opt_.store->detect_jobs()) {
    auto j = std::make_shared<Job>();
    j->id = r.id;
    j->seq = r.seq;
    j->state = state_of(r.state);
    j->progress = r.progress;
    j->submitted_by = r.submitted_by;
    j->submitted_ms = r.submitted_ms;
    j->started_ms = r.started_ms;
    j->finished_ms = r.finished_ms;
    j->size = r.bytes;
    j->n_alerts = r.alerts;
    j->n_incidents = r.incidents;
    j->truncated = r.truncated;
    j->error = r.error;
    j->warnings = r.warnings;
    j->results_here = false;
    if (j->state < State::kDone) {  // queued or running when the last spectre-cp stopped (or died)
      j->state = State::kFailed;
      j->error = kInterrupted;
      j->finished_ms = now_ms();
      persist(*j);
    }
    seq_ = std::max(seq_, j->seq);
    if (jobs_.emplace(j->id, j).second) order_.push_back(j->id);
  }
  trim();
}

bool DetectJobs::load_results(Job& j) {
  if (j.results_here) return true;
  store::Store::Numbered a, i;
  if (j.state == State::kDone && opt_.store &&
      !(opt_.store->detect_results(j.id, 0, a) && opt_.store->detect_results(j.id, 1, i)))
    return false;
  std::string e;
  for (auto& [ord, line] : a) {
    store::AlertRow r;
    if (!store::alert_from_eve(line, r, e)) continue;
    r.id = ord;
    j.alerts.push_back(std::move(r));
  }
  for (auto& [ord, line] : i) {
    store::IncidentRow r;
    if (store::incident_from_eve(line, r, e)) j.incidents.push_back(std::move(r));
  }
  j.results_here = true;
  return true;
}

}  // namespace spectre::api
