// spectrectl: the operator's command line for spectre-cp. Parses the command
// (ctrlplane/cp/commands.h), sends it as one JSON line on the control socket
// and prints the reply: human text by default, the JSON line with --json.
// Exit: 0 ok, 1 command failed, 2 wrong use, 3 spectre-cp or the data plane unreachable.
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "ctrlplane/cp/commands.h"

using namespace spectre::cp;

namespace {

volatile sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

void usage(FILE* f) {
  std::fprintf(f,
      "usage: spectrectl [--socket PATH | --instance NAME] [--json] [--timeout SEC] COMMAND [ARGS]\n"
      "  --socket PATH     spectre-cp's socket (default: /run/spectre/<instance>.sock)\n"
      "  --instance NAME   data-plane instance (default: default)\n"
      "  --json            machine-readable output (one JSON object per line)\n"
      "  --timeout SEC     wait at most SEC for a reply (default 60)\n"
      "commands:\n%s"
      "exit: 0 ok, 1 command failed, 2 wrong use, 3 spectre-cp or the data plane unreachable\n",
      commands_help().c_str());
}

std::string absolute(const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  char buf[PATH_MAX];
  if (realpath(p.c_str(), buf)) return buf;
  if (getcwd(buf, sizeof buf)) return std::string(buf) + "/" + p;  // the daemon reports it missing
  return p;
}

// Reads one line; false on EOF, error, timeout or Ctrl-C.
bool read_line(int fd, std::string& buf, std::string& line, int timeout_ms, bool& timed_out) {
  timed_out = false;
  char chunk[8192];
  while (true) {
    size_t nl = buf.find('\n');
    if (nl != std::string::npos) {
      line = buf.substr(0, nl);
      buf.erase(0, nl + 1);
      return true;
    }
    pollfd p{fd, POLLIN, 0};
    int n = ::poll(&p, 1, timeout_ms);
    if (g_interrupted) return false;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) { timed_out = true; return false; }
    if (n < 0) return false;
    ssize_t r = ::recv(fd, chunk, sizeof chunk, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf.append(chunk, size_t(r));
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path, instance = "default";
  bool json = false;
  int64_t timeout_s = 60;
  std::vector<std::string> words;
  bool opts_done = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    // Global options may appear anywhere before "--".
    if (!opts_done && a == "--") { opts_done = true; continue; }
    if (!opts_done && (a == "--socket" || a == "--instance" || a == "--timeout")) {
      if (i + 1 >= argc || !argv[i + 1][0]) {
        std::fprintf(stderr, "spectrectl: %s needs a value\n", a.c_str());
        return kExitUsage;
      }
      std::string v = argv[++i];
      if (a == "--socket") socket_path = v;
      else if (a == "--instance") instance = v;
      else {
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), timeout_s);
        if (ec != std::errc() || p != v.data() + v.size() || timeout_s < 1 || timeout_s > 86400) {
          std::fprintf(stderr, "spectrectl: --timeout wants 1..86400 seconds\n");
          return kExitUsage;
        }
      }
      continue;
    }
    if (!opts_done && a == "--json") { json = true; continue; }
    if (!opts_done && (a == "-h" || a == "--help")) { usage(stdout); return 0; }
    words.push_back(a);
  }
  if (words.empty()) { usage(stderr); return kExitUsage; }
  Request req;
  std::string err;
  if (!parse_command(words, req, err)) {
    std::fprintf(stderr, "spectrectl: %s\n", err.c_str());
    return kExitUsage;
  }
  req.json = json;
  if (!req.file.empty()) req.file = absolute(req.file);
  for (auto& f : req.files) f = absolute(f);
  if (instance.empty() || instance.find('/') != std::string::npos) {
    std::fprintf(stderr, "spectrectl: bad instance name '%s'\n", instance.c_str());
    return kExitUsage;
  }
  if (socket_path.empty()) socket_path = "/run/spectre/" + instance + ".sock";

  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_sigint;  // no SA_RESTART: poll returns EINTR
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "spectrectl: socket path too long: %s\n", socket_path.c_str());
    return kExitUsage;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::fprintf(stderr, "spectrectl: cannot reach spectre-cp at %s: %s (is spectre-cp running? see --socket)\n",
                 socket_path.c_str(), std::strerror(errno));
    return kExitUnreachable;
  }
  std::string line = request_to_json(req) + "\n";
  if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != ssize_t(line.size())) {
    std::fprintf(stderr, "spectrectl: cannot send to spectre-cp at %s: %s\n", socket_path.c_str(), std::strerror(errno));
    return kExitUnreachable;
  }
  std::string buf, reply_line;
  bool timed_out = false;
  if (!read_line(fd, buf, reply_line, int(timeout_s * 1000), timed_out)) {
    if (g_interrupted) return kExitOk;
    std::fprintf(stderr, "spectrectl: %s\n", timed_out ? "no reply from spectre-cp (timeout)" : "spectre-cp closed the connection");
    return kExitUnreachable;
  }
  Reply rep;
  if (!reply_from_json(reply_line, rep, err)) {
    std::fprintf(stderr, "spectrectl: bad reply from spectre-cp: %s\n", err.c_str());
    return kExitFailed;
  }
  if (json) {
    std::printf("%s\n", reply_line.c_str());
  } else if (!rep.text.empty()) {
    std::printf("%s\n", rep.text.c_str());
  }
  if (rep.code != kExitOk) std::fprintf(stderr, "spectrectl: %s\n", rep.error.c_str());
  std::fflush(stdout);
  int code = rep.code >= 0 && rep.code <= 3 ? rep.code : kExitFailed;
  if (rep.code != kExitOk || !rep.stream) return code;

  // alerts tail -f: one line per alert until Ctrl-C.
  while (true) {
    if (!read_line(fd, buf, line, -1, timed_out)) {
      if (g_interrupted) return kExitOk;
      std::fprintf(stderr, "spectrectl: spectre-cp closed the connection\n");
      return kExitUnreachable;
    }
    if (json) {
      std::printf("%s\n", line.c_str());
    } else {
      std::string text;
      std::printf("%s\n", stream_line_text(line, text) ? text.c_str() : line.c_str());
    }
    std::fflush(stdout);
  }
}
