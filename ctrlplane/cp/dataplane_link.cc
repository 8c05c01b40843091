#include "ctrlplane/cp/dataplane_link.h"

#include <unistd.h>

#include <algorithm>

namespace spectre::cp {

const char* command_type_name(CommandType t) {
  switch (t) {
    case CommandType::Ping: return "ping";
    case CommandType::ModelLoad: return "model-load";
    case CommandType::ModelShadow: return "model-shadow";
    case CommandType::RulesReload: return "rules-reload";
    case CommandType::ConfigReload: return "config-reload";
    case CommandType::Stats: return "stats";
    case CommandType::FlowsTop: return "flows-top";
  }
  return "?";
}

FakeDataPlane::FakeDataPlane(std::string instance, std::string schema_hash, uint32_t workers)
    : start_(std::chrono::steady_clock::now()) {
  info_.instance = std::move(instance);
  info_.pid = getpid();
  info_.workers = workers;
  info_.schema_hash = std::move(schema_hash);
  info_.ruleset_version = std::to_string(rules_serial_);
}

void FakeDataPlane::set_alive(bool a) { std::lock_guard g(mu_); alive_ = a; }
void FakeDataPlane::fail_next(std::string error) { std::lock_guard g(mu_); fail_next_ = std::move(error); }
std::vector<Command> FakeDataPlane::received() { std::lock_guard g(mu_); return log_; }
bool FakeDataPlane::alive() { std::lock_guard g(mu_); return alive_; }

DataPlaneInfo FakeDataPlane::info() {
  std::lock_guard g(mu_);
  DataPlaneInfo i = info_;
  i.uptime_s = uint64_t(std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::steady_clock::now() - start_).count());
  return i;
}

bool FakeDataPlane::send(const Command& cmd, Response& resp, std::chrono::milliseconds) {
  std::lock_guard g(mu_);
  resp = Response{};
  resp.seq = cmd.seq ? cmd.seq : ++seq_;
  if (!alive_) {
    resp.error = "data plane '" + info_.instance + "' is not running";
    return false;
  }
  log_.push_back(cmd);
  if (!fail_next_.empty()) {
    resp.error = std::move(fail_next_);
    fail_next_.clear();
    return true;
  }
  resp.ok = true;
  // Counters grow with time so that rates computed from two samples are > 0.
  uint64_t ms = uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start_).count());
  switch (cmd.type) {
    case CommandType::Ping: resp.message = "pong"; break;
    case CommandType::ModelLoad:
      info_.model_name = cmd.model_name;
      info_.model_version = cmd.model_version;
      info_.model_sha256 = cmd.model_sha256;
      if (info_.shadow_sha256 == cmd.model_sha256) info_.shadow_sha256.clear();
      resp.message = "model published";
      break;
    case CommandType::ModelShadow:
      info_.shadow_sha256 = cmd.model_sha256;
      resp.message = "shadow model recorded";
      break;
    case CommandType::RulesReload:
      info_.ruleset_version = std::to_string(++rules_serial_);
      resp.ruleset_version = info_.ruleset_version;
      resp.rules_loaded = 100 * std::max<size_t>(1, cmd.files.size());
      resp.message = "ruleset " + info_.ruleset_version + " published";
      break;
    case CommandType::ConfigReload: resp.message = "configuration published"; break;
    case CommandType::Stats:
      for (uint32_t w = 0; w < info_.workers; w++) {
        WorkerStats s;
        s.worker = w;
        s.packets = ms * (1000 + w * 10);
        s.bytes = s.packets * 700;
        s.drops = ms / 1000;
        s.flows_active = 5000 + w;
        s.alerts = ms / 100;
        resp.workers.push_back(s);
      }
      break;
    case CommandType::FlowsTop:
      for (uint32_t k = 0; k < std::min<uint32_t>(cmd.top_n, 50); k++) {
        FlowEntry f;
        f.src = "198.18.10." + std::to_string(10 + k);
        f.dst = "198.18.10.2";
        f.sport = uint16_t(40000 + k);
        f.dport = 443;
        f.proto = 6;
        f.bytes = (1000000 >> std::min(k, 19u)) + ms;
        f.packets = f.bytes / 1000 + 1;
        f.age_s = 1.5 * (k + 1);
        f.app = "tls";
        resp.flows.push_back(f);
      }
      break;
  }
  return true;
}

}  // namespace spectre::cp
