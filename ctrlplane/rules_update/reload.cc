// Telling a running data plane to re-read its rules after an install:
// a command (--reload-command), SIGUSR2 to a pid (--pid-file; spectre-dp
// reloads its rule files on SIGUSR2), or spectrectl's "rules reload" through
// spectre-cp (--instance).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "ctrlplane/rules_update/update.h"

extern char** environ;

namespace spectre::rules_update {

namespace fs = std::filesystem;

namespace {

constexpr int kReloadTimeoutS = 60;  // a reload command that hangs is killed after this

// Runs argv, waits at most kReloadTimeoutS. Returns a description; ok on exit 0.
bool run_bounded(const std::vector<std::string>& argv, std::string& detail) {
  std::vector<char*> av;
  for (const std::string& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, av[0], nullptr, nullptr, av.data(), environ);
  if (rc != 0) {
    detail = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return false;
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(kReloadTimeoutS);
  int st = 0;
  while (true) {
    const pid_t w = ::waitpid(pid, &st, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) {
      detail = std::string("waitpid: ") + std::strerror(errno);
      return false;
    }
    if (std::chrono::steady_clock::now() > end) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      detail = "timed out after " + std::to_string(kReloadTimeoutS) + " s, killed";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    detail = "exit 0";
    return true;
  }
  detail = WIFEXITED(st) ? "exit " + std::to_string(WEXITSTATUS(st))
                         : "killed by signal " + std::to_string(WTERMSIG(st));
  return false;
}

bool signal_pid_file(const std::string& path, std::string& detail) {
  std::ifstream in(path);
  std::string s;
  if (!in || !(in >> s)) {
    detail = path + ": cannot read the pid file";
    return false;
  }
  int pid = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), pid);
  if (ec != std::errc() || p != s.data() + s.size() || pid <= 1) {
    detail = path + ": not a process id: '" + s + "'";
    return false;
  }
  std::string comm;
  std::ifstream(std::string("/proc/") + std::to_string(pid) + "/comm") >> comm;
  if (::kill(pid, SIGUSR2) != 0) {
    detail = "cannot signal pid " + std::to_string(pid) + " from " + path + ": " + std::strerror(errno);
    return false;
  }
  detail = "SIGUSR2 sent to pid " + std::to_string(pid) + (comm.empty() ? "" : " (" + comm + ")");
  return true;
}

// $SPECTRECTL, else spectrectl next to this program (installed: same directory;
// build tree: ../spectrectl), else the PATH.
std::string find_spectrectl() {
  if (const char* e = std::getenv("SPECTRECTL"); e && *e) return e;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const fs::path& c : {self.parent_path() / "spectrectl", self.parent_path().parent_path() / "spectrectl"})
      if (::access(c.c_str(), X_OK) == 0) return c.string();
  }
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest = path;
    while (!rest.empty()) {
      const size_t colon = rest.find(':');
      const fs::path c = fs::path(std::string(rest.substr(0, colon))) / "spectrectl";
      if (::access(c.c_str(), X_OK) == 0) return c.string();
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
  }
  return {};
}

}  // namespace

void reload_dataplane(const UpdateOptions& o, UpdateReport& rep) {
  std::string detail;
  if (!o.reload_command.empty()) {
    rep.reload_method = "command";
    rep.reload_ok = run_bounded({"/bin/sh", "-c", o.reload_command}, detail);
    detail = o.reload_command + ": " + detail;
  } else if (!o.pid_file.empty()) {
    rep.reload_method = "pid-file";
    rep.reload_ok = signal_pid_file(o.pid_file, detail);
  } else if (!o.instance.empty()) {
    rep.reload_method = "instance";
    const std::string ctl = find_spectrectl();
    if (ctl.empty()) {
      rep.reload_ok = false;
      detail = "spectrectl not found ($SPECTRECTL, next to spectre-rules, or the PATH)";
    } else {
      rep.reload_ok = run_bounded({ctl, "--instance", o.instance, "rules", "reload"}, detail);
      detail = ctl + " --instance " + o.instance + " rules reload: " + detail;
    }
  } else {
    rep.reload_method = "none";
    detail = "no reload requested (--reload-command, --pid-file or --instance); restart or signal the data plane";
  }
  rep.reload_detail = detail;
  if (!rep.reload_ok) rep.error = "rules installed, but the reload failed: " + detail;
}

}  // namespace spectre::rules_update
