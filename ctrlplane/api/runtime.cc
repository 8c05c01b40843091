#include "ctrlplane/api/runtime.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include <fmt/format.h>

#include "ctrlplane/api/params.h"

namespace spectre::api {

const char* api_usage() {
  return "analyst API and store:\n"
         "  --api ADDR:PORT    REST API (/api/v1, OpenAPI at /api/v1/openapi.json) and the console at /\n"
         "  --api-tokens FILE  bearer tokens with roles (tokens: [{name, role: viewer|analyst|admin, sha256|token}])\n"
         "  --api-cert PEM --api-key PEM   TLS\n"
         "  --api-rate N --api-burst N     per-token requests/s and burst (default 50, 100)\n"
         "  --api-max-body BYTES           413 above (default 1048576)\n"
         "  --api-q-scan-rows N            q= terms the index cannot narrow: rows a list page tests (default 50000)\n"
         "  --console DIR      static console (default: the checkout's console/dist or /usr/share/spectre/console)\n"
         "  --store FILE       SQLite store (default /var/lib/spectre/spectre.db when --api is given)\n"
         "  --store-max-days N --store-max-bytes N   retention (default: keep everything)\n"
         "  --store-flows none|alerted|all   ended flows kept in the store and sent on the flows stream (default none)\n"
         "  --store-flows-min-bytes N --store-flows-min-packets N   only flows at least this large\n"
         "  --store-flows-sample N   1 in N of the flows that pass the rest (default 1: all)\n"
         "  --stats-period MS  the stats stream channel's period (default 1000; 0: off)\n"
         "  --api-config FILE  a YAML file's api: section: flows: {store, min_bytes, min_packets, sample},\n"
         "                     stats_period_ms (the options above win)\n"
         "  --api-rules FILE|DIR   rule files (a directory: its *.rules) whose text /alerts/{id}/explain shows:\n"
         "                     give the data plane's (repeatable; re-read when they change)\n"
         "offline pcap analysis (POST /api/v1/detect):\n"
         "  --spectre-dp PATH  the spectre-dp the jobs run (default: next to spectre-cp; 'none': /detect off)\n"
         "  --detect-config FILE  its --config (rules, model, incidents: section; default: spectre-dp's own)\n"
         "  --detect-max-bytes N  upload limit, 413 above (default 67108864)\n"
         "  --detect-timeout S    a job's spectre-dp is killed after S seconds (default 600)\n";
}

int parse_api_option(int argc, char** argv, int& i, ApiCli& o, std::string& err) {
  std::string a = argv[i];
  static const char* const kOpts[] = {"--api", "--api-tokens", "--api-cert", "--api-key", "--api-rate", "--api-burst",
                                      "--api-max-body", "--console", "--store", "--store-max-days", "--store-max-bytes",
                                      "--spectre-dp", "--detect-config", "--detect-max-bytes", "--detect-timeout",
                                      "--store-flows", "--store-flows-min-bytes", "--store-flows-min-packets",
                                      "--store-flows-sample", "--stats-period", "--api-config", "--api-rules",
                                      "--api-q-scan-rows"};
  bool ours = false;
  for (const char* k : kOpts) ours |= a == k;
  if (!ours) return 0;
  if (i + 1 >= argc || !argv[i + 1][0]) { err = a + " needs a value"; return -1; }
  std::string v = argv[++i];
  uint64_t n = 0;
  auto num = [&](uint64_t& dst, uint64_t lo) {
    if (!parse_u64(v, n) || n < lo) { err = a + ": expected a number, got '" + v + "'"; return -1; }
    dst = n;
    return 1;
  };
  if (a == "--api") o.listen = v;
  else if (a == "--api-tokens") o.tokens = v;
  else if (a == "--api-cert") o.cert = v;
  else if (a == "--api-key") o.key = v;
  else if (a == "--console") o.console = v, o.console_set = true;
  else if (a == "--store") o.store = v;
  else if (a == "--spectre-dp") o.spectre_dp = v;
  else if (a == "--detect-config") o.detect_config = v;
  else if (a == "--detect-max-bytes") return num(o.detect_max_bytes, 1024);
  else if (a == "--detect-timeout") return num(o.detect_timeout, 1);
  else if (a == "--api-max-body") return num(o.max_body, 1024);
  else if (a == "--api-q-scan-rows") return num(o.q_scan_rows, 1);
  else if (a == "--store-max-days") return num(o.retain_days, 1);
  else if (a == "--store-max-bytes") return num(o.retain_bytes, 1 << 20);
  else if (a == "--api-config") o.config = v;
  else if (a == "--api-rules") o.rules.push_back(v);
  else if (a == "--store-flows") {
    if (!parse_flow_mode(v, o.flows.mode)) { err = a + ": expected none, alerted or all, got '" + v + "'"; return -1; }
    o.flows_set = true;
  }
  else if (a.rfind("--store-flows-", 0) == 0) {
    o.flows_set = true;
    if (a == "--store-flows-min-bytes") return num(o.flows.min_bytes, 0);
    if (a == "--store-flows-min-packets") return num(o.flows.min_packets, 0);
    return num(o.flows.sample, 1);
  }
  else if (a == "--stats-period") {
    o.stats_period_set = true;
    if (num(o.stats_period_ms, 0) < 0) return -1;
    if (o.stats_period_ms && o.stats_period_ms < 100) { err = a + ": expected 0 (off) or at least 100 ms"; return -1; }
  }
  else {
    uint64_t x = 0;
    if (num(x, 1) < 0) return -1;
    (a == "--api-rate" ? o.rate : o.burst) = double(x);
  }
  return 1;
}

bool ApiRuntime::open(const ApiCli& o, std::string& err) {
  if (o.listen.empty() && o.store.empty()) return true;
  store::SqliteOptions so;
  so.path = o.store.empty() ? "/var/lib/spectre/spectre.db" : o.store;
  if (o.store.empty()) mkdir("/var/lib/spectre", 0750);
  so.retention.max_age_ms = int64_t(o.retain_days) * 86400000;
  so.retention.max_bytes = o.retain_bytes;
  store = store::SqliteStore::open(so, err);
  if (!store) { err = "--store: " + err; return false; }
  io = std::make_unique<boost::asio::io_context>(1);
  ingest = std::make_unique<Ingest>(*store);
  ingest->set_flow_filter(o.flows);
  webhooks = std::make_unique<WebhookDispatcher>(*store);
  webhooks->reload();  // the webhooks registered over the API before this start
  ingest->set_webhooks(webhooks.get());
  stream::StreamOptions so_live;
  so_live.measure_latency = true;  // /metrics' spectre_stream_latency_seconds (a steady-clock read per publish and per write)
  live = std::make_unique<LiveStream>(*io, *ingest, so_live);
  live->attach();
  return true;
}

namespace {
bool is_dir(const std::string& p) {
  struct stat sb;
  return stat(p.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
}

std::string default_console(const char* exe) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  std::string p = n > 0 ? std::string(self, size_t(n)) : std::string(exe ? exe : "");
  // build/ctrlplane/spectre-cp -> <checkout>/console/dist
  for (int up = 0; up < 3 && p.rfind('/') != std::string::npos; up++) p = p.substr(0, p.rfind('/'));
  if (!p.empty() && is_dir(p + "/console/dist")) return p + "/console/dist";
  return is_dir("/usr/share/spectre/console") ? "/usr/share/spectre/console" : "";
}

// The spectre-dp of the jobs: --spectre-dp, else the one next to spectre-cp
// (installed), else the build tree's (build/ctrlplane/spectre-cp -> build/dataplane/spectre-dp).
std::string default_dp() {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "";
  std::string dir(self, size_t(n));
  dir = dir.substr(0, dir.rfind('/'));
  for (std::string c : {dir + "/spectre-dp", dir + "/../dataplane/spectre-dp"})
    if (access(c.c_str(), X_OK) == 0) return c;
  return "";
}
}  // namespace

bool ApiRuntime::start_detect(const ApiCli& o, std::string& err) {
  if (o.spectre_dp == "none") return true;
  DetectOptions d;
  d.dp = o.spectre_dp.empty() ? default_dp() : o.spectre_dp;
  if (d.dp.empty()) {
    std::fprintf(stderr, "spectre-cp: no spectre-dp next to spectre-cp (--spectre-dp PATH): /api/v1/detect answers 501\n");
    return true;
  }
  if (access(d.dp.c_str(), X_OK) != 0) { err = "--spectre-dp: " + d.dp + " is not an executable"; return false; }
  d.config = o.detect_config;
  d.max_bytes = o.detect_max_bytes;
  d.timeout_s = int(std::min<uint64_t>(o.detect_timeout, 86400));
  d.store = store.get();  // jobs and results survive a restart
  detect = DetectJobs::create(d, err);
  if (!detect) { err = "--detect-config: " + err; return false; }
  return true;
}

bool ApiRuntime::start(const ApiCli& o, const char* exe, std::function<std::string()> dataplane,
                       std::function<void(uint64_t, const std::string&)> incident_status, std::string& err) {
  if (o.listen.empty()) return true;
  size_t c = o.listen.rfind(':');
  uint64_t port = 0;
  ServerOptions so;
  if (c == std::string::npos || c == 0 || !parse_u64(o.listen.substr(c + 1), port) || port > 65535) {
    err = "--api: expected ADDR:PORT, got '" + o.listen + "'";
    return false;
  }
  so.address = o.listen.substr(0, c);
  if (so.address.size() > 2 && so.address.front() == '[') so.address = so.address.substr(1, so.address.size() - 2);
  so.port = uint16_t(port);
  so.cert = o.cert;
  so.key = o.key;
  so.max_body = o.max_body;
  TokenStore tokens;
  if (!o.tokens.empty() && !tokens.load_file(o.tokens, err)) { err = "--api-tokens: " + err; return false; }
  if (!tokens.size())
    std::fprintf(stderr, "spectre-cp: --api without --api-tokens: every request but /health and /openapi.json gets 401\n");
  so.detect_max_body = o.detect_max_bytes;
  if (!start_detect(o, err)) return false;
  ServiceOptions sv;
  sv.rate = o.rate;
  sv.burst = o.burst;
  sv.q_scan_rows = size_t(o.q_scan_rows);
  sv.console_dir = o.console_set ? o.console : default_console(exe);
  ServiceHooks h;
  h.dataplane = std::move(dataplane);
  h.incident_status = std::move(incident_status);
  h.ml = ml;
  rules = std::make_unique<RuleTexts>(o.rules);
  h.rules = rules.get();
  h.detect = detect.get();
  Ingest* in = ingest.get();
  h.rates = [in] { return in->rates(); };
  h.webhooks_changed = [w = webhooks.get()] { w->reload(); };
  h.siem_apply = siem_apply;
  h.siem_current = siem_current;
  service = std::make_unique<ApiService>(*store, std::move(tokens), sv, h);
  server = std::make_unique<ApiServer>(*service, so, *io);
  if (live) stream_hooks = live->hooks();
  server->set_stream_hooks(stream_hooks);
  if (live && o.stats_period_ms) {  // armed before the io_context's thread starts
    stats = std::make_unique<StatsFeed>(*io, *ingest, [l = live.get()](stream::StreamEvent&& e) { l->publish(std::move(e)); },
                                        std::chrono::milliseconds(o.stats_period_ms), stats_source);
    stats->start();
  }
  if (!server->start(err)) { err = "--api: " + err; return false; }
  std::fprintf(stderr, "spectre-cp: API on %s:%u (%s), store %s, console %s\n", so.address.c_str(), server->port(),
               server->tls() ? "https" : "http", o.store.empty() ? "/var/lib/spectre/spectre.db" : o.store.c_str(),
               sv.console_dir.empty() ? "(none)" : sv.console_dir.c_str());
  return true;
}

void ApiRuntime::apply_stored_siem() {
  if (!store || !siem_apply) return;
  auto s = store->setting("siem");
  J j = s ? J::parse(*s, nullptr, false) : J();
  if (!j.is_object()) return;  // never set: the command line's --syslog stays
  std::string t = j.value("target", ""), f = j.value("format", "json"), l = j.value("min_level", "medium"), err;
  if (siem_apply(t, f, l, err))
    std::fprintf(stderr, "spectre-cp: SIEM settings from the store: %s (%s, min level %s)\n",
                 t.empty() ? "off" : t.c_str(), f.c_str(), l.c_str());
  else
    std::fprintf(stderr, "spectre-cp: stored SIEM settings not applied (%s); --syslog options kept\n", err.c_str());
}

std::string ApiRuntime::prometheus() {
  if (!store) return {};
  std::string o;
  auto put = [&o](const char* name, const char* type, uint64_t v) {
    o += fmt::format("# TYPE {} {}\n{} {}\n", name, type, name, v);
  };
  const store::StoreStats s = store->stats();
  put("spectre_store_alerts", "gauge", s.alerts);
  put("spectre_store_incidents", "gauge", s.incidents);
  put("spectre_store_bytes", "gauge", s.bytes);
  put("spectre_store_queued", "gauge", s.queued);
  put("spectre_store_dropped_total", "counter", s.dropped);
  put("spectre_store_written_total", "counter", s.written);
  put("spectre_store_write_errors_total", "counter", s.write_errors);
  put("spectre_store_flows", "gauge", s.flows);
  put("spectre_store_flows_dropped_total", "counter", s.flows_dropped);
  if (ingest && ingest->flow_filter()) put("spectre_store_flows_seen_total", "counter", ingest->flow_filter()->seen());
  if (live) {
    const stream::StreamStats t = live->stats();
    put("spectre_stream_clients", "gauge", t.clients);
    put("spectre_stream_published_total", "counter", t.published);
    put("spectre_stream_sent_total", "counter", t.sent);
    put("spectre_stream_dropped_total", "counter", t.dropped + t.handoff_dropped);
    put("spectre_stream_gaps_total", "counter", t.gaps);
    put("spectre_stream_disconnects_total", "counter", t.disconnects);
    put("spectre_stream_replayed_total", "counter", t.replayed);
    o += stream::prometheus_histogram("spectre_stream_latency_seconds",
                                      "Stream hub delay from publish to the framed socket write, per live delivery.",
                                      live->latency());
  }
  return o;
}

void ApiRuntime::stop_server() {
  if (live) live->stop();
  if (server) server->stop();
  if (stats) stats->stop();  // the io_context's thread has stopped
  detect.reset();  // kills a running job's spectre-dp
}

void ApiRuntime::close_store() {
  if (webhooks) webhooks->stop();
  if (store) store->close();
}

}  // namespace spectre::api
