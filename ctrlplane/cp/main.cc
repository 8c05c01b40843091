// spectre-cp: the control-plane daemon. Serves spectrectl on a unix socket,
// keeps the model registry and the audit log, commands one data plane
// (spectre-dp --instance NAME) through its shared-memory channel
// (ShmDataPlaneLink) and exports its events (EVE file, syslog, webhook,
// Prometheus /metrics and /health).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <fstream>
#include <functional>
#include <thread>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "ctrlplane/api/runtime.h"
#include "ctrlplane/cp/controller.h"
#include "ctrlplane/cp/server.h"
#include "ctrlplane/cp/shm_link.h"
#include "ctrlplane/learn/api_port.h"
#include "ctrlplane/learn/config.h"
#include "ctrlplane/store/eve_rows.h"
#include "dataplane/core/yaml_reader.h"
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
      "outputs (while spectre-cp is attached the data plane writes no EVE file itself):\n"
      "  --eve FILE        EVE JSON lines (alerts, flows, app-layer, stats); SIGHUP reopens it\n"
      "  --eve-rotate-bytes N  --eve-rotate-seconds S  --eve-keep K (default 5)\n"
      "  --syslog udp://HOST:PORT | tcp://HOST:PORT | unix:PATH   RFC 5424 syslog\n"
      "  --syslog-format json|cef|leef (default json); with --api, PUT /api/v1/siem changes target, format\n"
      "                    and minimum level live, and settings stored that way win over these at start\n"
      "  --webhook URL     HTTP(S) POST of each alert  --webhook-secret S (HMAC-SHA256 header)\n"
      "  --webhook-ca FILE  PEM CA bundle for an https:// webhook (default: the system's)\n"
      "  --webhook-insecure  do not verify the https:// webhook's certificate\n"
      "  --metrics ADDR:PORT   Prometheus /metrics and /health (e.g. 127.0.0.1:9464)\n"
      "incidents (Cortex and Reflex run here on the data plane's alerts and flows; on by default):\n"
      "  --incidents-config FILE  a YAML file with an incidents: section (spectre.yaml's: rules, assets,\n"
      "                    playbooks, response, entity_risk...); default: the shipped rules and playbooks\n"
      "  --incident-min-level info|low|medium|high|critical  records sent to syslog and the webhook (medium)\n"
      "  --no-incidents    off\n"
      "model management over the API (/api/v1/ml/*):\n"
      "  --learn-config FILE  a YAML file with a learning: section (training and hold-out rows, gates, drift)\n"
      "  --fake-dataplane  TESTS ONLY: an in-process fake data plane instead of spectre-dp\n"
      "                    (--fake-dataplane-down: the fake is not running)\n"
      "  --fake-events FILE  TESTS ONLY, with --fake-dataplane: the EVE lines of FILE are the data plane's\n"
      "                    events (alerts tail, incidents, flows), then nothing more\n"
      "%s"
      "exit: 0 clean stop (SIGTERM/SIGINT), 1 start-up failure, 2 wrong use\n", spectre::api::api_usage());
}

namespace ex = spectre::exporter;

// --fake-dataplane: an alert line to the syslog sink, as the real link sends its alerts.
void fake_syslog(ex::SyslogSink* s, std::string_view line) {
  spectre::store::AlertRow a;
  std::string err;
  if (!s || !spectre::store::alert_from_eve(line, a, err)) return;
  ex::CpAlert c;
  c.ts_ns = uint64_t(a.ts_ms) * 1000000;
  c.src_ip = a.src_ip;
  c.dst_ip = a.dest_ip;
  c.src_port = a.src_port;
  c.dst_port = a.dest_port;
  c.proto = a.proto;
  c.app_proto = a.app_proto;
  c.gid = a.gid;
  c.sid = a.sid;
  c.rev = a.rev;
  c.signature = a.signature;
  c.category = a.category;
  c.severity = uint32_t(a.severity);
  c.eve_json = std::string(line);
  s->send(c);
}

// Synthetic alerts for --fake-dataplane: a backlog of 6, then one every 300 ms.
void fake_alerts(AlertFeed& feed, ex::SyslogSink* sys, const std::atomic<bool>& stop) {
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
    fake_syslog(sys, line);
    if (k >= 5)
      for (int i = 0; i < 6 && !stop; i++) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

struct OutputOptions {
  std::string incidents_config, incident_min_level = "medium", fake_events, learn_config;
  bool incidents = true;
  std::string eve, syslog, syslog_format = "json", webhook, webhook_secret, webhook_ca, metrics;
  bool webhook_insecure = false;
  uint64_t rotate_bytes = 0;
  uint32_t rotate_seconds = 0, keep = 5;
};

// The exporters, started before the link feeds them.
struct Outputs {
  std::unique_ptr<ex::EveFileSink> eve;
  std::unique_ptr<ex::SyslogSink> syslog;
  std::unique_ptr<ex::WebhookSink> webhook;
  std::unique_ptr<ex::MetricsServer> metrics;
  std::function<void(std::string_view)> record_tap;  // incident records to the analyst store
  void stop() {
    if (metrics) metrics->stop();
    if (webhook) webhook->stop();
    if (syslog) syslog->stop();
    if (eve) eve->close();
  }
};

// The live brain (ctrlplane/cp/incidents.h) feeding the same outputs.
std::unique_ptr<LiveIncidents> start_incidents(const OutputOptions& o, Outputs& out, std::string& err) {
  spectre::cortex::Config c;
  if (!o.incidents_config.empty()) {
    YAML::Node root;
    if (!spectre::load_yaml_file(o.incidents_config, root, err)) {
      err = "--incidents-config: " + err;
      return nullptr;
    }
    std::string dir = o.incidents_config.find('/') == std::string::npos
                          ? "." : o.incidents_config.substr(0, o.incidents_config.rfind('/'));
    YAML::Node n = root.IsMap() ? root["incidents"] : YAML::Node();
    if (!n) { err = "--incidents-config: " + o.incidents_config + " has no incidents: section"; return nullptr; }
    if (!spectre::cortex::parse_config(n, o.incidents_config, dir, c, err)) return nullptr;
  }
  IncidentOutputs io;
  io.eve = out.eve.get();
  io.syslog = out.syslog.get();
  io.webhook = out.webhook.get();
  io.record_tap = out.record_tap;
  bool lv = false;
  for (int k = 0; k < 5; k++)
    if (o.incident_min_level == spectre::cortex::risk_level_name(spectre::cortex::RiskLevel(k)))
      io.min_level = spectre::cortex::RiskLevel(k), lv = true;
  if (!lv) { err = "--incident-min-level: expected info, low, medium, high or critical"; return nullptr; }
  auto l = LiveIncidents::create(c, io, err);
  if (!l) err = "incidents: " + err;
  return l;
}

// --fake-events: the file's EVE lines as the data plane's events (alerts, and
// flows to the store's filter with --store-flows), then a metrics snapshot
// every 300 ms (the real link publishes its own).
void fake_events(const std::string& path, AlertFeed& feed, LiveIncidents* inc, ex::MetricsServer* metrics,
                 ex::SyslogSink* sys, spectre::api::Ingest* store_flows, const std::atomic<bool>& stop) {
  std::ifstream f(path);
  std::string line;
  while (!stop && std::getline(f, line)) {
    if (line.find("\"event_type\":\"alert\"") != std::string::npos) {
      feed.publish(line);
      fake_syslog(sys, line);
    }
    if (store_flows && line.find("\"event_type\":\"flow\"") != std::string::npos) store_flows->on_flow_eve(line);
    if (inc) inc->on_eve(line);
  }
  while (!stop) {
    if (metrics) {
      auto s = std::make_shared<ex::MetricsSnapshot>();
      s->instance = "fake";
      if (inc) inc->fill_metrics(*s);
      metrics->publish(std::move(s));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

bool parse_u64(const std::string& s, uint64_t& v) {
  char* end = nullptr;
  errno = 0;
  unsigned long long x = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || s[0] == '-' || errno || *end) return false;
  v = x;
  return true;
}

// "host:port" or "[v6]:port".
bool split_host_port(const std::string& s, std::string& host, uint16_t& port) {
  size_t c = s.rfind(':');
  if (c == std::string::npos || c == 0) return false;
  host = s.substr(0, c);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  uint64_t p = 0;
  if (!parse_u64(s.substr(c + 1), p) || p > 65535) return false;
  port = uint16_t(p);
  return !host.empty();
}

bool start_outputs(const OutputOptions& o, Outputs& out, std::string& err) {
  if (!o.eve.empty()) {
    ex::EveFileOptions eo;
    eo.path = o.eve;
    eo.rotate_bytes = o.rotate_bytes;
    eo.rotate_seconds = o.rotate_seconds;
    eo.keep = o.keep;
    out.eve = std::make_unique<ex::EveFileSink>(eo);
    if (!out.eve->open(&err)) { err = "--eve: " + err; return false; }
  }
  // Always there (idle without --syslog): PUT /api/v1/siem may start, change or stop it.
  ex::SyslogOptions so;
  if (!ex::parse_syslog_target(o.syslog, so, err)) { err = "--syslog: " + err; return false; }
  if (!ex::parse_syslog_format(o.syslog_format, so.format)) { err = "--syslog-format: expected json, cef or leef"; return false; }
  out.syslog = std::make_unique<ex::SyslogSink>(so);
  if (!out.syslog->start(&err)) { err = "--syslog: " + err; return false; }
  if (!o.webhook.empty()) {
    ex::WebhookOptions wo;
    wo.url = o.webhook;
    wo.secret = o.webhook_secret;
    wo.ca_file = o.webhook_ca;
    wo.verify_tls = !o.webhook_insecure;
    out.webhook = std::make_unique<ex::WebhookSink>(wo);
    if (!out.webhook->start(&err)) { err = "--webhook: " + err; return false; }
  }
  if (!o.metrics.empty()) {
    ex::MetricsServerOptions mo;
    if (!split_host_port(o.metrics, mo.address, mo.port)) { err = "--metrics: expected ADDR:PORT"; return false; }
    out.metrics = std::make_unique<ex::MetricsServer>(mo);
    if (!out.metrics->start(&err)) { err = "--metrics: " + err; return false; }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::string instance = "default", socket_path, registry = "/var/lib/spectre/models",
              audit_path = "/var/log/spectre/audit.log", group;
  bool foreground = false, fake = false, fake_down = false;
  OutputOptions outo;
  spectre::api::ApiCli apio;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    std::string aerr;
    if (int t = spectre::api::parse_api_option(argc, argv, i, apio, aerr); t != 0) {
      if (t < 0) { std::fprintf(stderr, "spectre-cp: %s\n", aerr.c_str()); return 2; }
      continue;
    }
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
    else if (a == "--eve") val(outo.eve);
    else if (a == "--syslog") val(outo.syslog);
    else if (a == "--syslog-format") val(outo.syslog_format);
    else if (a == "--webhook") val(outo.webhook);
    else if (a == "--webhook-secret") val(outo.webhook_secret);
    else if (a == "--webhook-ca") val(outo.webhook_ca);
    else if (a == "--webhook-insecure") outo.webhook_insecure = true;
    else if (a == "--metrics") val(outo.metrics);
    else if (a == "--incidents-config") val(outo.incidents_config);
    else if (a == "--incident-min-level") val(outo.incident_min_level);
    else if (a == "--no-incidents") outo.incidents = false;
    else if (a == "--fake-events") val(outo.fake_events);
    else if (a == "--learn-config") val(outo.learn_config);
    else if (a == "--eve-rotate-bytes" || a == "--eve-rotate-seconds" || a == "--eve-keep") {
      std::string v;
      val(v);
      uint64_t n = 0;
      if (!parse_u64(v, n) || (a != "--eve-rotate-bytes" && n > 0xffffffffull)) {
        std::fprintf(stderr, "spectre-cp: %s: expected a number, got '%s'\n", a.c_str(), v.c_str());
        return 2;
      }
      if (a == "--eve-rotate-bytes") outo.rotate_bytes = n;
      else if (a == "--eve-rotate-seconds") outo.rotate_seconds = uint32_t(n);
      else outo.keep = uint32_t(n);
    }
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
  if (!apio.config.empty() && !spectre::api::load_api_config(apio.config, apio, err)) {
    std::fprintf(stderr, "spectre-cp: --api-config: %s\n", err.c_str());
    return 2;
  }
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
  sigaddset(&sigs, SIGHUP);  // reopens the EVE file (logrotate)
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  AlertFeed feed;
  Outputs outputs;
  if (!start_outputs(outo, outputs, err)) {
    std::fprintf(stderr, "spectre-cp: %s\n", err.c_str());
    outputs.stop();
    started(1);
    return 1;
  }
  // The analyst store and its ingest, before any event flows (--api / --store).
  spectre::api::ApiRuntime api;
  std::atomic<spectre::ml::DriftMonitor*> drift_of{nullptr};  // alert-rate detector, set once the learning loop exists
  if (!api.open(apio, err)) {
    std::fprintf(stderr, "spectre-cp: %s\n", err.c_str());
    outputs.stop();
    started(1);
    return 1;
  }
  if (api.enabled()) {
    // SIEM settings: the stored ones (PUT /api/v1/siem of an earlier run) win over --syslog*.
    api.siem_apply = [s = outputs.syslog.get()](const std::string& t, const std::string& f, const std::string& l,
                                                std::string& e) { return ex::configure_syslog(*s, t, f, l, e); };
    api.siem_current = [s = outputs.syslog.get()] {
      std::string t, f, l;
      ex::syslog_settings(*s, t, f, l);
      return nlohmann::json{{"target", t}, {"format", f}, {"min_level", l}};
    };
    api.apply_stored_siem();
    feed.set_tap([in = api.ingest.get(), &drift_of](std::string_view l) {
      in->on_alert(l);
      if (auto* d = drift_of.load(std::memory_order_acquire)) d->add_alert(spectre::cortex::wall_ns() / 1e9);
    });
    outputs.record_tap = [in = api.ingest.get()](std::string_view l) { in->on_incident(l); };
  }
  std::unique_ptr<LiveIncidents> incidents;
  if (outo.incidents && !(incidents = start_incidents(outo, outputs, err))) {
    std::fprintf(stderr, "spectre-cp: %s\n", err.c_str());
    outputs.stop();
    started(1);
    return 1;
  }
  std::unique_ptr<DataPlaneLink> link;
  ShmDataPlaneLink* shm = nullptr;
  if (fake) {
    auto f = std::make_unique<FakeDataPlane>(instance, spectre::ml::schema_hash());
    if (fake_down) f->set_alive(false);
    link = std::move(f);
  } else {
    ShmLinkOptions lo;
    lo.instance = instance;
    ShmLinkSinks sinks{&feed, outputs.eve.get(), outputs.syslog.get(), outputs.webhook.get(), outputs.metrics.get(),
                       incidents.get()};
    if (api.enabled() && apio.flows.enabled())  // --store-flows: ended flows to the store and the flows channel
      sinks.flow_tap = [in = api.ingest.get()](const ex::CpFlow& f) { in->on_flow(f); };
    auto l = std::make_unique<ShmDataPlaneLink>(lo, sinks);
    shm = l.get();
    api.stats_source = [shm] {  // the stats channel: the workers' last counters
      WorkerTotals t = shm->worker_totals();
      spectre::api::DpSample d;
      d.attached = t.attached;
      d.workers = t.workers;
      d.ts_ns = t.ts_ns;
      d.packets = t.sum.packets;
      d.bytes = t.sum.bytes;
      d.drops = t.sum.drops;
      d.alerts = t.sum.alerts;
      d.flows_active = t.sum.flows_active;
      d.events_dropped = t.sum.events_dropped;
      return d;
    };
    link = std::move(l);
  }
  ModelRegistry reg;
  if (!reg.open(registry, err)) { std::fprintf(stderr, "spectre-cp: %s\n", err.c_str()); started(1); return 1; }
  AuditLog audit;
  if (!audit.open(audit_path, err)) { std::fprintf(stderr, "spectre-cp: %s\n", err.c_str()); started(1); return 1; }
  ControllerOptions co;
  co.instance = instance;
  co.socket_path = socket_path;
  co.registry_dir = registry;
  co.audit_path = audit_path;
  co.incidents = incidents.get();
  if (shm) {
    co.link_stats_json = [shm] { return shm->counters_json(); };
    co.link_stats_text = [shm] { return shm->counters_text(); };
  }
  Controller ctl(*link, reg, audit, feed, co);
  ControlServer server(ctl);
  if (!server.listen(so, err)) { std::fprintf(stderr, "spectre-cp: %s\n", err.c_str()); started(1); return 1; }
  auto dp_state = [l = link.get()] { return std::string(l->alive() ? "attached" : "detached"); };
  auto set_status = [inc = incidents.get()](uint64_t id, const std::string& status) {
    if (!inc) return;
    Request q;
    q.cmd = "incidents set";
    q.id = int64_t(id);
    q.status = status;
    inc->set_status(q);  // an incident the brain no longer keeps: nothing to do
  };
  spectre::learn::LearningOptions lopt;
  if (!outo.learn_config.empty() && !spectre::learn::load_learning_config(outo.learn_config, lopt, err)) {
    std::fprintf(stderr, "spectre-cp: --learn-config: %s\n", err.c_str());
    started(1);
    return 1;
  }
  if (lopt.feedback_jsonl.empty()) lopt.feedback_jsonl = registry + "/learn/feedback.jsonl";  // the store's verdicts, written at each retrain
  lopt.shadow_counters = [l = link.get()](uint64_t& scored, uint64_t& alerts, uint64_t& agree) {
    Command c;  // the data plane's ml.shadow counters: /ml/status agreement.live
    c.type = CommandType::Stats;
    Response r;
    if (!l->alive() || !l->send(c, r, std::chrono::milliseconds(500)) || !r.ok || !r.shadow_stats) return false;
    scored = r.shadow_scored, alerts = r.shadow_alerts, agree = r.shadow_agree;
    return true;
  };
  lopt.dataplane_model = [l = link.get()] {  // drift's model while the registry has none
    const DataPlaneInfo i = l->info();
    return std::make_pair(i.model_sha256, i.model_path);
  };
  spectre::learn::Learning learning(reg, audit, lopt, [&ctl](const Request& q) { return ctl.handle(q, Peer{}); });
  spectre::learn::LearningPort ml_port(learning, reg, lopt.feedback_jsonl);
  drift_of.store(&learning.drift(), std::memory_order_release);
  api.ml = &ml_port;
  if (!api.start(apio, argv[0], dp_state, set_status, err)) {
    std::fprintf(stderr, "spectre-cp: %s\n", err.c_str());
    started(1);
    return 1;
  }
  // Store, stream hub and drift families on /metrics; cleared before `learning` goes away.
  if (outputs.metrics)
    outputs.metrics->set_extra_text(
        [&api, &learning] { return api.prometheus() + learning.drift_metrics() + learning.explain_metrics(); });
  learning.start_warm();  // the first explain after a start finds its row indexed (off the request path)

  // The registry's active model survives restarts of either side: restored
  // at start (fake) or after every attach to the data plane (real link).
  auto sync = [&ctl] {
    Reply r = ctl.sync_active_model();
    std::fprintf(stderr, "spectre-cp: %s\n", r.code == kExitOk ? r.text.c_str() : r.error.c_str());
  };
  if (shm) {
    shm->set_on_attach(sync);
    shm->start();
    if (!shm->wait_attached(std::chrono::milliseconds(1500)))
      std::fprintf(stderr, "spectre-cp: data plane '%s' not there yet; retrying every 0.5 s\n", instance.c_str());
  } else {
    sync();
  }
  std::fprintf(stderr, "spectre-cp: instance %s, socket %s (mode %s), registry %s, audit %s%s\n", instance.c_str(),
               socket_path.c_str(), so.group == gid_t(-1) ? "0600" : "0660", registry.c_str(), audit_path.c_str(),
               fake ? ", FAKE data plane (tests only)" : "");

  std::atomic<bool> stop{false};
  std::thread gen;
  if (fake && !outo.fake_events.empty())
    gen = std::thread([&] {
      auto* flows = api.enabled() && apio.flows.enabled() ? api.ingest.get() : nullptr;  // --store-flows
      fake_events(outo.fake_events, feed, incidents.get(), outputs.metrics.get(), outputs.syslog.get(), flows, stop);
    });
  else if (fake)
    gen = std::thread([&] { fake_alerts(feed, outputs.syslog.get(), stop); });
  std::thread srv([&] { server.run(); });
  // Idle incidents close on wall time too when no traffic moves packet time (LiveIncidents::tick).
  std::thread clock([&] {
    for (uint64_t n = 1; !stop; n++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (incidents) incidents->tick(spectre::cortex::wall_ns());
      if (n % 300 == 0) learning.sample_shadow();  // every minute: /ml/status agreement.live.window
    }
  });
  started(0);

  int sig = 0;
  for (;;) {
    sigwait(&sigs, &sig);
    if (sig != SIGHUP) break;
    if (outputs.eve) outputs.eve->reopen();
  }
  std::fprintf(stderr, "spectre-cp: %s, stopping\n", strsignal(sig));
  stop = true;
  api.stop_server();
  server.stop();
  feed.wake_all();
  srv.join();
  if (gen.joinable()) gen.join();
  clock.join();
  server.close();
  if (shm) shm->stop();  // before the controller its callback uses goes away
  if (incidents) incidents->finish();  // the open incidents close (records to the outputs)
  api.close_store();                    // after the closing records: drains the queue
  if (outputs.metrics) outputs.metrics->set_extra_text({});
  outputs.stop();
  return 0;
}
