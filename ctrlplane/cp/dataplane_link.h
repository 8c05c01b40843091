// The control plane's view of one running data plane (spectre-dp), as an
// abstract link so the daemon and its tests do not depend on the transport.
// The shared-memory channel (ctrlplane/shm_channel.*) implements it for the
// real data plane; FakeDataPlane is an in-process stand-in for tests and for
// `spectre-cp --fake-dataplane`.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace spectre::cp {

enum class CommandType : uint8_t {
  Ping = 0,
  ModelLoad,     // path, model_*: map and publish the artifact (already validated by the cp)
  ModelShadow,   // path, model_*: score with it beside the active model, never alert
  RulesReload,   // files (empty: the configured rule files)
  ConfigReload,
  Stats,         // per-worker counters
  FlowsTop,      // top_n flows by bytes
};
const char* command_type_name(CommandType t);

struct Command {
  CommandType type = CommandType::Ping;
  uint64_t seq = 0;                // set by the link if 0
  std::string path;                // ModelLoad / ModelShadow: registry copy of the artifact
  std::string model_name, model_version, model_sha256;
  std::vector<std::string> files;  // RulesReload
  uint32_t top_n = 0;              // FlowsTop
};

struct WorkerStats {
  uint32_t worker = 0;
  uint64_t packets = 0, bytes = 0, drops = 0, flows_active = 0, alerts = 0, events_dropped = 0;
};

struct FlowEntry {
  std::string src, dst;  // printable addresses
  uint16_t sport = 0, dport = 0;
  uint8_t proto = 0;
  uint64_t packets = 0, bytes = 0;
  double age_s = 0;
  std::string app;       // app-layer protocol, may be empty
};

struct Response {
  uint64_t seq = 0;
  bool ok = false;
  std::string error;              // !ok: why
  std::string message;            // ok: short human summary from the data plane
  std::string ruleset_version;    // RulesReload
  uint64_t rules_loaded = 0, rules_failed = 0;
  std::vector<WorkerStats> workers;  // Stats
  bool shadow_stats = false;         // Stats: the data plane's ml.shadow counters (rows scored, alerts, agree)
  uint64_t shadow_scored = 0, shadow_alerts = 0, shadow_agree = 0;
  std::vector<FlowEntry> flows;      // FlowsTop, largest first
};

struct DataPlaneInfo {
  std::string instance;
  int64_t pid = 0;
  uint32_t workers = 0;
  std::string schema_hash;        // feature schema hash (ml::schema_hash() of the data plane)
  std::string model_name, model_version, model_sha256;  // active model; empty: none
  std::string model_path;         // the file the data plane loaded it from (same host)
  std::string shadow_sha256;      // shadow model; empty: none
  std::string ruleset_version;
  uint64_t uptime_s = 0;
};

// Called from several socket-client threads at once: implementations must be
// thread-safe (the controller serialises only the commands that change state).
class DataPlaneLink {
 public:
  virtual ~DataPlaneLink() = default;
  // Sends one command and waits up to `timeout` for its response. False when
  // the data plane is unreachable or did not answer in time (resp.error says
  // why); true with resp.ok false when the data plane refused the command.
  virtual bool send(const Command& cmd, Response& resp, std::chrono::milliseconds timeout) = 0;
  // The data plane is attached and its heartbeat is recent.
  virtual bool alive() = 0;
  // Last known identity and state (valid fields even when !alive(), then stale).
  virtual DataPlaneInfo info() = 0;
};

// In-process fake: accepts every command, keeps the model/ruleset state that
// info() reports, and synthesises counters and flows. Tests can make it dead
// or make it refuse the next commands.
class FakeDataPlane : public DataPlaneLink {
 public:
  FakeDataPlane(std::string instance, std::string schema_hash, uint32_t workers = 2);
  bool send(const Command& cmd, Response& resp, std::chrono::milliseconds timeout) override;
  bool alive() override;
  DataPlaneInfo info() override;

  void set_alive(bool a);
  void fail_next(std::string error);   // the next command is refused with this error
  std::vector<Command> received();     // every command accepted or refused, in order

 private:
  std::mutex mu_;
  DataPlaneInfo info_;
  bool alive_ = true;
  std::string fail_next_;
  uint64_t seq_ = 0, rules_serial_ = 0;
  std::vector<Command> log_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace spectre::cp
