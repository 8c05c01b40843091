// spectre-cp: the control-plane daemon. Serves spectrectl on a unix socket,
// keeps the model registry and the audit log, and commands one data plane
// (spectre-dp instance) through a DataPlaneLink.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "ctrlplane/cp/controller.h"
#include "ctrlplane/cp/server.h"
#include "ml/feature_schema.h"

using namespace spectre::cp;

namespace {

void usage(FILE* f) {
  std::fprintf(f,
      "usage: spectre-cp [options]\n"
      "  --instance NAME   data-plane instance to attach to (default: default)\n"
      "  --socket PATH     control socket (default: /run/spectre/<instance>.sock)\n"
      "  --registry DIR    model registry (default: /var/lib/spectre/models)\n"
      "  --audit FILE      audit log (default: /var/log/spectre/audit.log)\n"
      "  --group NAME      socket mode 0660 and owned by this group (default: 0600)\n"
      "  --foreground      do not detach\n"
      "  --fake-dataplane  TESTS ONLY: an in-process fake data plane instead of spectre-dp\n"
      "                    (--fake-dataplane-down: the fake is not running)\n"
      "exit: 0 clean stop (SIGTERM/SIGINT), 1 start-up failure, 2 wrong use\n");
}

// Synthetic alerts for --fake-dataplane: a backlog of 6, then one every 300 ms.
void fake_alerts(AlertFeed& feed, const std::atomic<bool>& stop) {
  static const char* const kSig[3] = {"ET EXPLOIT fake high", "ET SCAN fake medium", "ET INFO fake low"};
  for (uint64_t k = 0; !stop; k++) {
    int sev = int(k % 3) + 1;
    char line[512];
    std::snprintf(line, sizeof line,
                  "{\"timestamp\":\"2025-01-01T00:00:%02u.000000+0000\",\"event_type\":\"alert\","
                  "\"src_ip\":\"198.18.10.%u\",\"src_port\":%u,\"dest_ip\":\"198.18.10.2\",\"dest_port\":80,"
                  "\"proto\":\"TCP\",\"alert\":{\"action\":\"allowed\",\"gid\":1,\"signature_id\":%u,\"rev\":1,"
                  "\"signature\":\"%s\",\"category\":\"test\",\"severity\":%d}}",
                  unsigned(k % 60), unsigned(10 + k % 200), unsigned(40000 + k % 20000), unsigned(1000 + sev),
                  kSig[sev - 1], sev);
    feed.publish(line);
    if (k >= 5)
      for (int i = 0; i < 6 && !stop; i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// The link to a real spectre-dp: the shared-memory channel (ctrlplane/shm_channel.*)
// plugs in here.
std::unique_ptr<DataPlaneLink> open_dataplane_link(const std::string& instance, std::string& err) {
  err = "the shared-memory link to spectre-dp instance '" + instance +
        "' is not part of this build yet (use --fake-dataplane for tests)";
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  std::string instance = "default", socket_path, registry = "/var/lib/spectre/models",
              audit_path = "/var/log/spectre/audit.log", group;
  bool foreground = false, fake = false, fake_down = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto val = [&](std::string& dst) {
      if (i + 1 >= argc || !argv[i + 1][0]) {
        std::fprintf(stderr, "spectre-cp: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      dst = argv[++i];
    };
    if (a == "--instance") val(instance);
    else if (a == "--socket") val(socket_path);
    else if (a == "--registry") val(registry);
    else if (a == "--audit") val(audit_path);
    else if (a == "--group") val(group);
    else if (a == "--foreground") foreground = true;
    else if (a == "--fake-dataplane") fake = true;
    else if (a == "--fake-dataplane-down") fake = fake_down = true;
    else if (a == "-h" || a == "--help") { usage(stdout); return 0; }
    else { std::fprintf(stderr, "spectre-cp: unknown option '%s'\n", a.c_str()); usage(stderr); return 2; }
  }
  if (instance.find('/') != std::string::npos || instance.empty() || instance[0] == '.') {
    std::fprintf(stderr, "spectre-cp: bad instance name '%s'\n", instance.c_str());
    return 2;
  }
  if (socket_path.empty()) socket_path = "/run/spectre/" + instance + ".sock";
  ServerOptions so;
  so.path = socket_path;
  std::string err;
  if (!group.empty() && !lookup_group(group, so.group, err)) {
    std::fprintf(stderr, "spectre-cp: %s\n", err.c_str());
    return 2;
  }

  // Detach before any thread exists; the parent exits with the child's start-up result.
  int ready[2] = {-1, -1};
  if (!foreground) {
    if (pipe(ready) != 0) { std::perror("spectre-cp: pipe"); return 1; }
    pid_t pid = fork();
    if (pid < 0) { std::perror("spectre-cp: fork"); return 1; }
    if (pid > 0) {
      ::close(ready[1]);
      char st = 1;
      ssize_t n = read(ready[0], &st, 1);
      return n == 1 ? st : 1;
    }
    ::close(ready[0]);
    setsid();
  }
  auto started = [&](char st) {
    if (ready[1] < 0) return;
    (void)!write(ready[1], &st, 1);
    ::close(ready[1]);
    ready[1] = -1;
    if (st == 0) {
      int null = open("/dev/null", O_RDWR);
      if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); if (null > 2) ::close(null); }
    }
  };

  // SIGTERM/SIGINT are taken by sigwait in the main thread; threads inherit the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<DataPlaneLink> link;
  FakeDataPlane* fake_dp = nullptr;
  if (fake) {
    auto f = std::make_unique<FakeDataPlane>(instance, spectre::ml::schema_hash());
    if (fake_down) f->set_alive(false);
    fake_dp = f.get();
    link = std::move(f);
  } else {
    link = open_dataplane_link(instance, err);
    if (!link) { std::fprintf(stderr, "spectre-cp: %s\n", err.c_str()); started(1); return 1; }
  }
  (void)fake_dp;
  ModelRegistry reg;
  if (!reg.open(registry, err)) { std::fprintf(stderr, "spectre-cp: %s\n", err.c_str()); started(1); return 1; }
  AuditLog audit;
  if (!audit.open(audit_path, err)) { std::fprintf(stderr, "spectre-cp: %s\n", err.c_str()); started(1); return 1; }
  AlertFeed feed;
  ControllerOptions co;
  co.instance = instance;
  co.socket_path = socket_path;
  co.registry_dir = registry;
  co.audit_path = audit_path;
  Controller ctl(*link, reg, audit, feed, co);
  ControlServer server(ctl);
  if (!server.listen(so, err)) { std::fprintf(stderr, "spectre-cp: %s\n", err.c_str()); started(1); return 1; }

  // The registry's active model survives restarts of either side.
  Reply sync = ctl.sync_active_model();
  std::fprintf(stderr, "spectre-cp: %s\n", sync.code == kExitOk ? sync.text.c_str() : sync.error.c_str());
  std::fprintf(stderr, "spectre-cp: instance %s, socket %s (mode %s), registry %s, audit %s%s\n", instance.c_str(),
               socket_path.c_str(), so.group == gid_t(-1) ? "0600" : "0660", registry.c_str(), audit_path.c_str(),
               fake ? ", FAKE data plane (tests only)" : "");

  std::atomic<bool> stop{false};
  std::thread gen;
  if (fake) gen = std::thread([&] { fake_alerts(feed, stop); });
  std::thread srv([&] { server.run(); });
  started(0);

  int sig = 0;
  sigwait(&sigs, &sig);
  std::fprintf(stderr, "spectre-cp: %s, stopping\n", strsignal(sig));
  stop = true;
  server.stop();
  feed.wake_all();
  srv.join();
  if (gen.joinable()) gen.join();
  server.close();
  return 0;
}
