#include "ctrlplane/cortex/respond.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

extern char** environ;

namespace spectre::cortex {

uint64_t wall_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count());
}

Responder::~Responder() { stop(); }

bool Responder::start(std::string& err) {
  if (!cfg_.webhook.empty() && cfg_.webhook.rfind("http://", 0) != 0 && cfg_.webhook.rfind("https://", 0) != 0) {
    err = "incidents.response.webhook: expected an http:// or https:// URL, got '" + cfg_.webhook + "'";
    return false;
  }
  if (!cfg_.block_command.empty() && cfg_.block_command[0].empty()) {
    err = "incidents.response.block_command: the program is empty";
    return false;
  }
  if (!cfg_.audit_file.empty()) {
    audit_ = std::fopen(cfg_.audit_file.c_str(), "ae");
    if (!audit_) {
      err = fmt::format("incidents.response.audit: cannot open {}: {}", cfg_.audit_file, std::strerror(errno));
      return false;
    }
  }
  th_ = std::thread([this] { run(); });
  return true;
}

bool Responder::submit(Job j) {
  std::lock_guard g(mu_);
  if (q_.size() >= cfg_.queue_max || stop_ || !th_.joinable()) {
    dropped++;
    return false;
  }
  submitted++;
  q_.push_back(std::move(j));
  cv_.notify_one();
  return true;
}

std::vector<Responder::Done> Responder::take() {
  std::lock_guard g(mu_);
  std::vector<Done> out;
  out.swap(done_);
  ndone_.store(0, std::memory_order_release);
  return out;
}

void Responder::drain(uint32_t max_ms) {
  std::unique_lock g(mu_);
  idle_cv_.wait_for(g, std::chrono::milliseconds(max_ms), [&] { return q_.empty() && !busy_; });
}

void Responder::stop() {
  {
    std::lock_guard g(mu_);
    stop_ = true;
    cv_.notify_all();
  }
  if (th_.joinable()) th_.join();
  if (audit_) std::fclose(audit_), audit_ = nullptr;
}

void Responder::run() {
  std::unique_lock g(mu_);
  for (;;) {
    cv_.wait(g, [&] { return stop_ || !q_.empty(); });
    if (q_.empty()) break;  // stop_ and nothing left: what is queued still runs (bounded each)
    Job j = std::move(q_.front());
    q_.pop_front();
    busy_ = true;
    g.unlock();
    ActionRecord r;
    r.action = auto_action_name(j.action);
    r.target = j.target;
    r.result = j.action == AutoAction::kWebhook ? run_webhook(cfg_, j.body)
                                                : run_command(cfg_.block_command, j.target, cfg_.timeout_ms);
    r.time_ns = wall_ns();
    (r.result.rfind("ok", 0) == 0 ? ok : failed).fetch_add(1);
    audit(j, r);
    g.lock();
    busy_ = false;
    done_.push_back({j.incident, j.slot, std::move(r)});
    ndone_.store(done_.size(), std::memory_order_release);
    if (q_.empty()) idle_cv_.notify_all();
  }
  busy_ = false;
  idle_cv_.notify_all();
}

void Responder::audit(const Job& j, const ActionRecord& r) {
  if (!audit_) return;
  nlohmann::ordered_json o = {{"time_ns", r.time_ns}, {"incident_id", j.incident}, {"playbook", j.playbook},
                              {"action", r.action}, {"target", r.target}, {"result", r.result}};
  std::string line = o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::fwrite(line.data(), 1, line.size(), audit_);
  std::fflush(audit_);
}

std::string Responder::run_webhook(const ResponseConfig& c, const std::string& body) {
  if (!c.post) return "not run: no HTTP client in this process (webhook actions run in spectre-cp)";
  std::string err;
  long st = c.post(c.webhook, c.webhook_secret, c.timeout_ms, body, &err);
  if (st >= 200 && st <= 299) return fmt::format("ok (HTTP {})", st);
  if (st < 0) return "failed: " + (err.empty() ? std::string("transport error") : err);
  return fmt::format("failed: HTTP {}", st);
}

// posix_spawn (no shell: the address is one argv element whatever it holds),
// in its own process group so a timeout kills what it started too.
std::string Responder::run_command(const std::vector<std::string>& argv0, const std::string& address,
                                   uint32_t timeout_ms) {
  if (argv0.empty()) return "failed: no block_command configured";
  std::vector<std::string> args = argv0;
  bool placed = false;
  for (auto& a : args)
    for (size_t p; (p = a.find("{address}")) != std::string::npos; placed = true) a.replace(p, 9, address);
  if (!placed) args.push_back(address);
  std::vector<char*> av;
  for (auto& a : args) av.push_back(a.data());
  av.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_init(&at);
  posix_spawnattr_setpgroup(&at, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&at, &none);  // the caller blocks SIGTERM for sigwait; the child must not
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, av[0], &fa, &at, av.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return fmt::format("failed: cannot run {}: {}", args[0], std::strerror(rc));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int st = 0;
  for (;;) {
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) return fmt::format("failed: waitpid: {}", std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline) {
      kill(-pid, SIGKILL);
      waitpid(pid, &st, 0);
      return fmt::format("failed: timeout after {} ms (killed)", timeout_ms);
    }
    usleep(2000);
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st) == 0 ? "ok (exit 0)" : fmt::format("failed: exit {}", WEXITSTATUS(st));
  return fmt::format("failed: signal {}", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

}  // namespace spectre::cortex
