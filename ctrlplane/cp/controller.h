// The command layer of spectre-cp: one action function per command, serving
// both the control socket and any in-process caller (tests). Every command is
// audited. Model and rule commands are serialised; reads run concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>

#include "ctrlplane/cp/alerts.h"
#include "ctrlplane/cp/audit.h"
#include "ctrlplane/cp/commands.h"
#include "ctrlplane/cp/dataplane_link.h"
#include "ctrlplane/cp/incidents.h"
#include "ctrlplane/cp/registry.h"

namespace spectre::cp {

struct ControllerOptions {
  std::string instance = "default";
  std::string socket_path, registry_dir, audit_path;  // shown by status
  std::chrono::milliseconds dp_timeout{5000};         // ordinary commands
  std::chrono::milliseconds model_timeout{30000};     // model load / shadow / rules reload
  // Optional, from the data-plane link (the shm link's channel counters):
  std::function<std::string()> link_stats_json;  // a JSON object: "channel" in stats and status --json
  std::function<std::string()> link_stats_text;  // appended to stats' human output
  LiveIncidents* incidents = nullptr;            // the live brain (incidents list|show|set); null: off
};

class Controller {
 public:
  Controller(DataPlaneLink& link, ModelRegistry& registry, AuditLog& audit, AlertFeed& alerts,
             ControllerOptions opt);

  // Validates and runs one request and writes its audit line.
  Reply handle(const Request& req, const Peer& peer);
  // A request line that did not parse: audited, answered with exit code 2.
  Reply reject(const Peer& peer, std::string_view line, const std::string& why);
  // After handle() returned stream = true: sends each new alert as one line
  // (see commands.h) until emit returns false or keep_going() turns false.
  void follow_alerts(const Request& req, uint64_t after,
                     const std::function<bool(const std::string&)>& emit,
                     const std::function<bool()>& keep_going);
  // Start-up: when the registry's active model differs from the data plane's,
  // re-validates the stored copy and loads it (audited as the daemon itself).
  Reply sync_active_model();

  // Action functions.
  Reply model_load(const Request& r, const Peer& p);
  Reply model_list(const Request& r);
  Reply model_rollback(const Request& r, const Peer& p);
  Reply model_shadow(const Request& r, const Peer& p);
  Reply rules_reload(const Request& r);
  Reply config_reload(const Request& r);
  Reply stats(const Request& r);
  Reply flows_top(const Request& r);
  Reply alerts_tail(const Request& r);
  Reply status(const Request& r);

 private:
  // Sends and maps transport failures to exit 3 and refusals to exit 1.
  bool dp_send(const Command& c, Response& resp, std::chrono::milliseconds timeout, Reply& fail);
  Reply activate_stored(const ModelEntry& e, const char* verb, std::string* sha_out);

  DataPlaneLink& link_;
  ModelRegistry& reg_;
  AuditLog& audit_;
  AlertFeed& alerts_;
  ControllerOptions opt_;
  std::mutex change_mu_;  // model / rules / config changes, one at a time
  std::chrono::steady_clock::time_point start_;
};

}  // namespace spectre::cp
