// spectre-cp's API pieces in one place: the command-line options, the store
// and ingest (opened before events flow) and the HTTP server (started once
// the data-plane link exists). main.cc owns one ApiRuntime.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ctrlplane/api/detect_jobs.h"
#include "ctrlplane/api/explain.h"
#include "ctrlplane/api/ingest.h"
#include "ctrlplane/api/live_stream.h"
#include "ctrlplane/api/server.h"
#include "ctrlplane/api/service.h"
#include "ctrlplane/api/stats_feed.h"
#include "ctrlplane/store/sqlite_store.h"

namespace spectre::api {

struct ApiCli {
  std::string listen;        // --api ADDR:PORT ("" : no API server)
  std::string store;         // --store FILE (default /var/lib/spectre/spectre.db with --api)
  std::string cert, key, tokens, console;
  double rate = 50, burst = 100;
  uint64_t max_body = 1 << 20;
  uint64_t q_scan_rows = 50000;  // --api-q-scan-rows N: q='s bounded scan per list page (ServiceOptions)
  uint64_t retain_days = 0, retain_bytes = 0;
  bool console_set = false;
  // Offline pcap analysis (/api/v1/detect).
  std::string spectre_dp;    // --spectre-dp PATH (default: next to spectre-cp, or the build tree's; "none": off)
  std::string detect_config; // --detect-config FILE: spectre-dp's --config for the jobs
  uint64_t detect_max_bytes = 64ull << 20, detect_timeout = 600;
  FlowFilterOptions flows;   // --store-flows none|alerted|all, -min-bytes, -min-packets, -sample
  uint64_t stats_period_ms = 1000;  // --stats-period MS: the stats stream channel (0: off)
  std::string config;        // --api-config FILE: its api: section (flows, stats_period_ms)
  std::vector<std::string> rules;  // --api-rules FILE|DIR (repeatable): rule text for /alerts/{id}/explain
  bool flows_set = false, stats_period_set = false;  // given on the command line: the file does not change them
};

// The api: section of a YAML file into o (api_config.cc); what the command line set stays.
bool load_api_config(const std::string& path, ApiCli& o, std::string& err);
// Takes argv[i] (and its value) when it is an API option: 1 taken, 0 not ours, -1 bad value (err says).
int parse_api_option(int argc, char** argv, int& i, ApiCli& o, std::string& err);
const char* api_usage();

// open() builds the store, the ingest and the live stream hub on *io (the
// ingest publishes to it from the first event); start() hands the hub's
// sessions to the server (/api/v1/stream, /api/v1/stream/sse).
struct ApiRuntime {
  std::unique_ptr<boost::asio::io_context> io;  // the API server's (and the stream hub's) io_context
  StreamHooks stream_hooks;
  std::unique_ptr<store::SqliteStore> store;
  std::unique_ptr<WebhookDispatcher> webhooks;
  std::unique_ptr<LiveStream> live;  // before ingest: destroyed after it
  std::unique_ptr<Ingest> ingest;
  std::unique_ptr<StatsFeed> stats;    // after ingest and live: destroyed before them
  StatsFeed::Source stats_source;      // set before start(): the data plane's counters (none: "detached")
  std::unique_ptr<DetectJobs> detect;  // before service: destroyed after it
  std::unique_ptr<RuleTexts> rules;    // before service: destroyed after it
  std::unique_ptr<ApiService> service;
  std::unique_ptr<ApiServer> server;
  MlPort* ml = nullptr;  // set before start(): /ml/* model management (else those routes answer 503)
  // Set before start(): applies SIEM settings to the running syslog exporter (ServiceHooks::siem_apply).
  std::function<bool(const std::string&, const std::string&, const std::string&, std::string&)> siem_apply;
  // The settings a PUT /siem stored in an earlier run, onto the exporter (after open(), before events flow).
  void apply_stored_siem();
  std::function<nlohmann::json()> siem_current;  // set before start(): ServiceHooks::siem_current
  bool enabled() const { return bool(store); }
  // Opens the store and the ingest (when --api or --store was given).
  bool open(const ApiCli& o, std::string& err);
  // Starts the HTTP server (when --api was given). exe: argv[0], for the checkout's console/dist.
  bool start(const ApiCli& o, const char* exe, std::function<std::string()> dataplane,
             std::function<void(uint64_t, const std::string&)> incident_status, std::string& err);
  // Prometheus lines of the store and the stream hub (appended to /metrics). Any thread.
  std::string prometheus();
  bool start_detect(const ApiCli& o, std::string& err);  // the /detect jobs (when a spectre-dp is found)
  void stop_server();
  void close_store();
};

}  // namespace spectre::api
