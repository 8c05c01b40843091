#include "ctrlplane/cp/controller.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "ctrlplane/cp/json_out.h"

namespace spectre::cp {

namespace {

// The data-plane command that loads (or shadows) the stored artifact `path` of `e`.
Command model_command(CommandType t, const std::string& path, const ModelEntry& e) {
  Command cmd;
  cmd.type = t;
  cmd.path = path;
  cmd.model_name = e.name;
  cmd.model_version = e.version;
  cmd.model_sha256 = e.sha256;
  return cmd;
}

int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string short_sha(const std::string& s) { return s.substr(0, 12); }

void entry_json(JsonOut& j, const ModelEntry& e) {
  j.begin_obj().kv("name", e.name).kv("version", e.version).kv("sha256", e.sha256).kv("kind", e.kind)
      .kv("loaded_at", e.loaded_at).kv("loaded_at_unix", e.loaded_at_unix).kv("who", e.who)
      .kv("source", e.source).end_obj();
}

std::string describe(const ModelEntry& e) {
  return fmt::format("{} version {} (sha256 {})", e.name, e.version, short_sha(e.sha256));
}

const char* proto_name(uint8_t p) {
  switch (p) {
    case 1: return "ICMP";
    case 6: return "TCP";
    case 17: return "UDP";
    case 58: return "ICMPv6";
    default: return nullptr;
  }
}

std::string human_count(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e4) return fmt::format("{:.1f}k", v / 1e3);
  return fmt::format("{:.0f}", v);
}

Reply ok_reply(std::string result, std::string text) {
  Reply r;
  r.result = std::move(result);
  r.text = std::move(text);
  return r;
}

}  // namespace

Controller::Controller(DataPlaneLink& link, ModelRegistry& registry, AuditLog& audit, AlertFeed& alerts,
                       ControllerOptions opt)
    : link_(link), reg_(registry), audit_(audit), alerts_(alerts), opt_(std::move(opt)),
      start_(std::chrono::steady_clock::now()) {}

Reply Controller::handle(const Request& req, const Peer& peer) {
  Reply r;
  if (req.cmd == "model load") r = model_load(req, peer);
  else if (req.cmd == "model list") r = model_list(req);
  else if (req.cmd == "model rollback") r = model_rollback(req, peer);
  else if (req.cmd == "model shadow") r = model_shadow(req, peer);
  else if (req.cmd == "rules reload") r = rules_reload(req);
  else if (req.cmd == "config reload") r = config_reload(req);
  else if (req.cmd == "stats") r = stats(req);
  else if (req.cmd == "flows top") r = flows_top(req);
  else if (req.cmd == "alerts tail") r = alerts_tail(req);
  else if (req.cmd == "status") r = status(req);
  else if (req.cmd.rfind("incidents ", 0) == 0 && !opt_.incidents)
    r = failure(kExitFailed, "incidents are off in this spectre-cp (--no-incidents)");
  else if (req.cmd == "incidents list") r = opt_.incidents->list(req);
  else if (req.cmd == "incidents show") r = opt_.incidents->show(req);
  else if (req.cmd == "incidents set") r = opt_.incidents->set_status(req);
  else r = usage_error("unknown command '" + req.cmd + "'");
  AuditRecord a;
  a.peer = peer;
  a.command = req.cmd;
  a.args = request_args(req);
  a.ok = r.code == kExitOk;
  if (a.ok) {
    // Changes keep their one-line summary; reads (tables) just "ok".
    bool change = req.cmd.rfind("model ", 0) == 0 && req.cmd != "model list";
    change |= req.cmd == "rules reload" || req.cmd == "config reload" || req.cmd == "incidents set";
    a.message = change ? r.text.substr(0, std::min(r.text.find('\n'), size_t(300))) : "ok";
  } else {
    a.message = r.error;
  }
  a.model_sha256 = r.audit_model;
  if (!audit_.record(a)) std::fprintf(stderr, "spectre-cp: %s\n", audit_.last_error().c_str());
  return r;
}

Reply Controller::reject(const Peer& peer, std::string_view line, const std::string& why) {
  Reply r = usage_error("bad request: " + why);
  AuditRecord a;
  a.peer = peer;
  a.command = "(bad request)";
  a.args.emplace_back("line", std::string(line.substr(0, 200)));
  a.message = r.error;
  if (!audit_.record(a)) std::fprintf(stderr, "spectre-cp: %s\n", audit_.last_error().c_str());
  return r;
}

bool Controller::dp_send(const Command& c, Response& resp, std::chrono::milliseconds timeout, Reply& fail) {
  if (!link_.alive()) {
    fail = failure(kExitUnreachable, "data plane '" + opt_.instance + "' is not reachable");
    return false;
  }
  if (!link_.send(c, resp, timeout)) {
    fail = failure(kExitUnreachable, "data plane '" + opt_.instance + "' did not answer (" +
                                         command_type_name(c.type) + "): " + resp.error);
    return false;
  }
  if (!resp.ok) {
    fail = failure(kExitFailed, std::string("data plane refused ") + command_type_name(c.type) + ": " + resp.error);
    return false;
  }
  return true;
}

Reply Controller::model_load(const Request& r, const Peer& p) {
  if (r.file.empty()) return usage_error("model load: FILE missing");
  if (r.file[0] != '/') return usage_error("model load: FILE must be an absolute path");
  std::lock_guard g(change_mu_);
  if (!link_.alive()) return failure(kExitUnreachable, "data plane '" + opt_.instance + "' is not reachable; nothing changed");
  DataPlaneInfo info = link_.info();
  if (info.schema_hash.empty())
    return failure(kExitUnreachable, "data plane did not report its feature schema hash; nothing changed");
  ModelCandidate c;
  std::string err;
  if (!ModelRegistry::validate(r.file, info.schema_hash, c, err)) return failure(kExitFailed, err + "; nothing changed");
  std::string refresh_err;
  reg_.refresh(refresh_err);
  auto prev = reg_.active();
  std::string stored;
  if (!reg_.store(c, stored, err)) return failure(kExitFailed, err + "; nothing changed");
  Command cmd = model_command(CommandType::ModelLoad, stored, c.entry);
  Response resp;
  Reply fail;
  if (!dp_send(cmd, resp, opt_.model_timeout, fail)) {
    reg_.discard(c.entry.sha256);
    fail.error += "; nothing changed";
    fail.audit_model = c.entry.sha256;
    return fail;
  }
  ModelEntry e = c.entry;
  e.loaded_at_unix = now_unix();
  e.loaded_at = iso_time_utc(e.loaded_at_unix);
  e.who = p.describe();
  if (!reg_.activate(e, err))
    return failure(kExitFailed, "the data plane now runs " + describe(e) + " but the registry could not record it: " + err);
  JsonOut j;
  j.begin_obj().key("active");
  entry_json(j, e);
  j.kv("path", stored).kv("num_features", c.num_features).kv("num_outputs", c.num_outputs)
      .kv("validation_rows", c.validation_rows);
  if (prev) j.kv("previous", prev->sha256); else j.key("previous").null();
  j.kv("dataplane_message", resp.message).end_obj();
  std::string text = fmt::format("model {} is active ({} validation rows re-scored, {} features, {} outputs)",
                                 describe(e), c.validation_rows, c.num_features, c.num_outputs);
  if (prev && prev->sha256 != e.sha256) text += "\nprevious: " + describe(*prev) + " (model rollback returns to it)";
  Reply out = ok_reply(j.take(), text);
  out.audit_model = e.sha256;
  return out;
}

Reply Controller::model_list(const Request&) {
  std::string err;
  if (!reg_.refresh(err)) return failure(kExitFailed, err);
  auto models = reg_.list();
  auto act = reg_.active();
  auto sh = reg_.shadow();
  JsonOut j;
  j.begin_obj().kv("registry", reg_.dir()).key("models").begin_arr();
  std::string text = fmt::format("{:<7}{:<20}{:<14}{:<14}{:<22}{}\n", "ACTIVE", "NAME", "VERSION", "SHA256", "LOADED AT", "BY");
  for (const auto& e : models) {
    bool a = act && act->sha256 == e.sha256, s = sh && sh->sha256 == e.sha256;
    j.begin_obj().kv("name", e.name).kv("version", e.version).kv("sha256", e.sha256).kv("kind", e.kind)
        .kv("loaded_at", e.loaded_at).kv("loaded_at_unix", e.loaded_at_unix).kv("who", e.who)
        .kv("active", a).kv("shadow", s).end_obj();
    text += fmt::format("{:<7}{:<20}{:<14}{:<14}{:<22}{}\n", a ? "*" : s ? "shadow" : "", e.name, e.version,
                        short_sha(e.sha256), e.loaded_at, e.who);
  }
  j.end_arr().end_obj();
  if (models.empty()) text = "no models in the registry " + reg_.dir() + "\n";
  text.pop_back();
  return ok_reply(j.take(), text);
}

// Re-validates a stored copy and makes the data plane run it.
Reply Controller::activate_stored(const ModelEntry& e, const char* verb, std::string* sha_out) {
  if (!link_.alive()) return failure(kExitUnreachable, "data plane '" + opt_.instance + "' is not reachable; nothing changed");
  DataPlaneInfo info = link_.info();
  ModelCandidate c;
  std::string err;
  std::string path = reg_.path_of(e.sha256);
  if (!ModelRegistry::validate(path, info.schema_hash, c, err))
    return failure(kExitFailed, std::string("cannot ") + verb + " " + describe(e) + ": stored copy: " + err + "; nothing changed");
  if (c.entry.sha256 != e.sha256)
    return failure(kExitFailed, "stored copy " + path + " does not match its registry sha256; nothing changed");
  Command cmd = model_command(CommandType::ModelLoad, path, e);
  Response resp;
  Reply fail;
  if (!dp_send(cmd, resp, opt_.model_timeout, fail)) {
    fail.error += "; nothing changed";
    return fail;
  }
  if (sha_out) *sha_out = e.sha256;
  return Reply{};
}

Reply Controller::model_rollback(const Request&, const Peer&) {
  std::lock_guard g(change_mu_);
  std::string err;
  if (!reg_.refresh(err)) return failure(kExitFailed, err);
  auto cur = reg_.active();
  ModelEntry prev;
  if (!cur || !reg_.previous(prev, err)) return failure(kExitFailed, err.empty() ? "nothing to roll back" : err);
  Reply r = activate_stored(prev, "roll back to", nullptr);
  r.audit_model = prev.sha256;
  if (r.code != kExitOk) return r;
  if (!reg_.rollback(cur->sha256, err))
    return failure(kExitFailed, "the data plane now runs " + describe(prev) + " but the registry could not record it: " + err);
  JsonOut j;
  j.begin_obj().key("active");
  entry_json(j, prev);
  j.key("was");
  entry_json(j, *cur);
  j.end_obj();
  Reply out = ok_reply(j.take(), "rolled back to model " + describe(prev) + "\nwas: " + describe(*cur));
  out.audit_model = prev.sha256;
  return out;
}

Reply Controller::model_shadow(const Request& r, const Peer& p) {
  if (!r.clear && r.file.empty()) return usage_error("model shadow: FILE or --clear missing");
  if (!r.clear && r.file[0] != '/') return usage_error("model shadow: FILE must be an absolute path");
  std::lock_guard g(change_mu_);
  if (!link_.alive()) return failure(kExitUnreachable, "data plane '" + opt_.instance + "' is not reachable; nothing changed");
  std::string err;
  Command cmd;
  cmd.type = CommandType::ModelShadow;
  ModelCandidate c;
  std::string stored;
  if (!r.clear) {
    DataPlaneInfo info = link_.info();
    if (!ModelRegistry::validate(r.file, info.schema_hash, c, err)) return failure(kExitFailed, err + "; nothing changed");
    if (!reg_.store(c, stored, err)) return failure(kExitFailed, err + "; nothing changed");
    cmd = model_command(CommandType::ModelShadow, stored, c.entry);
  }
  Response resp;
  Reply fail;
  if (!dp_send(cmd, resp, opt_.model_timeout, fail)) {
    if (!r.clear) reg_.discard(c.entry.sha256);
    fail.error += "; nothing changed";
    return fail;
  }
  ModelEntry e = c.entry;
  if (!r.clear) {
    e.loaded_at_unix = now_unix();
    e.loaded_at = iso_time_utc(e.loaded_at_unix);
    e.who = p.describe();
  }
  if (!reg_.set_shadow(e, err)) return failure(kExitFailed, "registry: " + err);
  JsonOut j;
  j.begin_obj().key("shadow");
  if (r.clear) j.null(); else entry_json(j, e);
  j.kv("dataplane_message", resp.message).end_obj();
  Reply out = ok_reply(j.take(), r.clear ? std::string("shadow model cleared")
                                         : "shadow model " + describe(e) + " recorded (scored beside the active model, never alerts)");
  out.audit_model = e.sha256;
  return out;
}

Reply Controller::rules_reload(const Request& r) {
  for (const auto& f : r.files) {
    if (f.empty() || f[0] != '/') return usage_error("rules reload: '" + f + "' is not an absolute path");
    if (::access(f.c_str(), R_OK) != 0) return failure(kExitFailed, "rules reload: cannot read " + f + "; nothing changed");
  }
  std::lock_guard g(change_mu_);
  Command cmd;
  cmd.type = CommandType::RulesReload;
  cmd.files = r.files;
  Response resp;
  Reply fail;
  if (!dp_send(cmd, resp, opt_.model_timeout, fail)) {
    if (fail.code == kExitFailed) fail.error += "; the running rules stay";
    return fail;
  }
  JsonOut j;
  j.begin_obj().kv("ruleset_version", resp.ruleset_version).kv("rules_loaded", resp.rules_loaded)
      .kv("rules_failed", resp.rules_failed).key("files").begin_arr();
  for (const auto& f : r.files) j.str(f);
  j.end_arr().kv("dataplane_message", resp.message).end_obj();
  return ok_reply(j.take(), fmt::format("ruleset version {} active: {} rules loaded, {} failed{}", resp.ruleset_version,
                                        resp.rules_loaded, resp.rules_failed,
                                        r.files.empty() ? " (configured files)" : ""));
}

Reply Controller::config_reload(const Request&) {
  std::lock_guard g(change_mu_);
  Command cmd;
  cmd.type = CommandType::ConfigReload;
  Response resp;
  Reply fail;
  if (!dp_send(cmd, resp, opt_.dp_timeout, fail)) return fail;
  JsonOut j;
  j.begin_obj().kv("dataplane_message", resp.message).end_obj();
  return ok_reply(j.take(), "configuration reloaded" + (resp.message.empty() ? "" : ": " + resp.message));
}

Reply Controller::stats(const Request& r) {
  if (r.interval_ms < 0 || r.interval_ms > 60000) return usage_error("stats: interval must be 0..60000 ms");
  Command cmd;
  cmd.type = CommandType::Stats;
  Response a, b;
  Reply fail;
  if (!dp_send(cmd, a, opt_.dp_timeout, fail)) return fail;
  auto t0 = std::chrono::steady_clock::now();
  double dt = 0;
  if (r.interval_ms > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(r.interval_ms));
    if (!dp_send(cmd, b, opt_.dp_timeout, fail)) return fail;
    dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } else {
    b = a;
  }
  auto rate = [&](uint64_t x1, uint64_t x0) { return dt > 0 && x1 >= x0 ? double(x1 - x0) / dt : 0.0; };
  JsonOut j;
  j.begin_obj().kv("instance", opt_.instance).kv("interval_s", dt).key("workers").begin_arr();
  WorkerStats tot, tot0;
  std::string text = fmt::format("{:<7}{:>11}{:>10}{:>9}{:>9}{:>9}{:>14}{:>14}{:>10}{:>10}\n", "WORKER", "pkts/s",
                                 "Mbit/s", "drops/s", "alerts/s", "flows", "packets", "bytes", "drops", "alerts");
  for (const auto& w : b.workers) {
    WorkerStats w0 = w;
    for (const auto& x : a.workers)
      if (x.worker == w.worker) w0 = x;
    double pps = rate(w.packets, w0.packets), bps = 8 * rate(w.bytes, w0.bytes);
    double dps = rate(w.drops, w0.drops), aps = rate(w.alerts, w0.alerts);
    j.begin_obj().kv("worker", w.worker).kv("packets", w.packets).kv("bytes", w.bytes).kv("drops", w.drops)
        .kv("flows_active", w.flows_active).kv("alerts", w.alerts).kv("events_dropped", w.events_dropped);
    if (dt > 0) j.kv("pps", pps).kv("bps", bps).kv("drops_per_s", dps).kv("alerts_per_s", aps);
    j.end_obj();
    text += fmt::format("{:<7}{:>11}{:>10.1f}{:>9.0f}{:>9.0f}{:>9}{:>14}{:>14}{:>10}{:>10}\n", w.worker, human_count(pps),
                        bps / 1e6, dps, aps, w.flows_active, w.packets, w.bytes, w.drops, w.alerts);
    tot.packets += w.packets; tot.bytes += w.bytes; tot.drops += w.drops; tot.alerts += w.alerts;
    tot.flows_active += w.flows_active; tot.events_dropped += w.events_dropped;
    tot0.packets += w0.packets; tot0.bytes += w0.bytes; tot0.drops += w0.drops; tot0.alerts += w0.alerts;
  }
  j.end_arr().key("total").begin_obj().kv("packets", tot.packets).kv("bytes", tot.bytes).kv("drops", tot.drops)
      .kv("flows_active", tot.flows_active).kv("alerts", tot.alerts).kv("events_dropped", tot.events_dropped);
  double pps = rate(tot.packets, tot0.packets), bps = 8 * rate(tot.bytes, tot0.bytes);
  if (dt > 0) j.kv("pps", pps).kv("bps", bps).kv("drops_per_s", rate(tot.drops, tot0.drops)).kv("alerts_per_s", rate(tot.alerts, tot0.alerts));
  j.end_obj().end_obj();
  text += fmt::format("{:<7}{:>11}{:>10.1f}{:>9.0f}{:>9.0f}{:>9}{:>14}{:>14}{:>10}{:>10}", "total", human_count(pps),
                      bps / 1e6, rate(tot.drops, tot0.drops), rate(tot.alerts, tot0.alerts), tot.flows_active,
                      tot.packets, tot.bytes, tot.drops, tot.alerts);
  text += dt > 0 ? fmt::format("\nrates over {:.2f} s; events dropped: {}", dt, tot.events_dropped)
                 : fmt::format("\ncounters only (--interval 0); events dropped: {}", tot.events_dropped);
  std::string out = j.take();
  if (opt_.link_stats_json) {  // splice "channel":{...} into the object
    out.pop_back();
    out += ",\"channel\":" + opt_.link_stats_json() + "}";
  }
  if (opt_.link_stats_text) text += "\n" + opt_.link_stats_text();
  return ok_reply(std::move(out), text);
}

Reply Controller::flows_top(const Request& r) {
  if (r.n < 1 || r.n > 10000) return usage_error("flows top: N must be 1..10000");
  Command cmd;
  cmd.type = CommandType::FlowsTop;
  cmd.top_n = uint32_t(r.n);
  Response resp;
  Reply fail;
  if (!dp_send(cmd, resp, opt_.dp_timeout, fail)) return fail;
  auto flows = resp.flows;
  std::stable_sort(flows.begin(), flows.end(), [](const FlowEntry& x, const FlowEntry& y) { return x.bytes > y.bytes; });
  if (flows.size() > size_t(r.n)) flows.resize(size_t(r.n));
  JsonOut j;
  j.begin_obj().key("flows").begin_arr();
  std::string text = fmt::format("{:<4}{:<7}{:<46}{:<7}{:>10}{:>14}{:>9}\n", "#", "PROTO", "FLOW", "APP", "packets", "bytes", "age s");
  int k = 0;
  for (const auto& f : flows) {
    const char* pn = proto_name(f.proto);
    std::string proto = pn ? pn : std::to_string(f.proto);
    j.begin_obj().kv("src", f.src).kv("sport", uint32_t(f.sport)).kv("dst", f.dst).kv("dport", uint32_t(f.dport))
        .kv("proto", proto).kv("app", f.app).kv("packets", f.packets).kv("bytes", f.bytes).kv("age_s", f.age_s).end_obj();
    std::string flow = fmt::format("{}:{} -> {}:{}", f.src, f.sport, f.dst, f.dport);
    text += fmt::format("{:<4}{:<7}{:<46}{:<7}{:>10}{:>14}{:>9.1f}\n", ++k, proto, flow, f.app.empty() ? "-" : f.app,
                        f.packets, f.bytes, f.age_s);
  }
  j.end_arr();
  // The link may say what the table covers (the shm link: ended flows only).
  if (!resp.message.empty()) j.kv("scope", resp.message);
  j.end_obj();
  if (flows.empty()) text = resp.message.empty() ? "no active flows\n" : "no flows\n";
  if (!resp.message.empty()) text += "(" + resp.message + ")\n";
  text.pop_back();
  return ok_reply(j.take(), text);
}

Reply Controller::alerts_tail(const Request& r) {
  if (r.min_severity < 0 || r.min_severity > 4) return usage_error("alerts tail: min_severity must be 1..4");
  size_t n = r.n < 0 ? 20 : size_t(std::min<int64_t>(r.n, 100000));
  uint64_t upto = alerts_.last_seq();  // first, so follow neither repeats nor skips
  auto ev = alerts_.recent(n + 64, r.min_severity);
  ev.erase(std::remove_if(ev.begin(), ev.end(), [&](const AlertEvent& e) { return e.seq > upto; }), ev.end());
  if (ev.size() > n) ev.erase(ev.begin(), ev.end() - long(n));
  JsonOut j;
  j.begin_obj().key("alerts").begin_arr();
  std::string text;
  for (const auto& e : ev) {
    j.raw(e.eve);
    text += e.text + "\n";
  }
  j.end_arr().end_obj();
  if (!text.empty()) text.pop_back();
  else if (!r.follow) text = "no alerts";
  Reply out = ok_reply(j.take(), text);
  out.stream = r.follow;
  out.stream_after = upto;
  return out;
}

void Controller::follow_alerts(const Request& r, uint64_t after, const std::function<bool(const std::string&)>& emit,
                               const std::function<bool()>& keep_going) {
  while (keep_going()) {
    auto ev = alerts_.wait_after(after, r.min_severity, std::chrono::milliseconds(250));
    for (const auto& e : ev) {
      std::string line;
      if (r.json) {
        line = e.eve;
      } else {
        JsonOut j;
        j.begin_obj().kv("text", e.text).end_obj();
        line = j.take();
      }
      if (!emit(line)) return;
    }
  }
}

Reply Controller::status(const Request&) {
  bool alive = link_.alive();
  DataPlaneInfo i = link_.info();
  std::string err;
  reg_.refresh(err);
  auto act = reg_.active();
  auto sh = reg_.shadow();
  uint64_t up = uint64_t(std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start_).count());
  bool in_sync = act ? act->sha256 == i.model_sha256 : i.model_sha256.empty();
  JsonOut j;
  j.begin_obj().kv("instance", opt_.instance);
  j.key("control_plane").begin_obj().kv("pid", int64_t(getpid())).kv("uptime_s", up).kv("socket", opt_.socket_path)
      .kv("registry", opt_.registry_dir).kv("audit", opt_.audit_path).end_obj();
  j.key("data_plane").begin_obj().kv("alive", alive).kv("pid", i.pid).kv("workers", i.workers).kv("uptime_s", i.uptime_s)
      .kv("schema_hash", i.schema_hash).kv("ruleset_version", i.ruleset_version);
  j.key("model").begin_obj().kv("name", i.model_name).kv("version", i.model_version).kv("sha256", i.model_sha256).end_obj();
  j.kv("shadow_sha256", i.shadow_sha256).end_obj();
  j.key("registry_active");
  if (act) entry_json(j, *act); else j.null();
  j.key("registry_shadow");
  if (sh) entry_json(j, *sh); else j.null();
  j.kv("model_in_sync", in_sync);
  if (opt_.link_stats_json) j.key("channel").raw(opt_.link_stats_json());
  j.end_obj();

  std::string text = fmt::format("instance     {}\n", opt_.instance);
  text += fmt::format("spectre-cp   pid {}, up {} s, socket {}\n", getpid(), up, opt_.socket_path);
  if (alive)
    text += fmt::format("data plane   running, pid {}, {} workers, up {} s\n", i.pid, i.workers, i.uptime_s);
  else
    text += "data plane   NOT REACHABLE\n";
  if (i.model_sha256.empty()) text += "model        none\n";
  else text += fmt::format("model        {} version {} (sha256 {})\n", i.model_name, i.model_version, short_sha(i.model_sha256));
  if (act) text += fmt::format("registry     {} active, loaded {} by {}{}\n", describe(*act), act->loaded_at, act->who,
                               in_sync ? "" : " (NOT the data plane's model)");
  else text += "registry     no active model\n";
  text += fmt::format("shadow       {}\n", sh ? describe(*sh) : std::string("none"));
  text += fmt::format("ruleset      version {}\n", i.ruleset_version.empty() ? "-" : i.ruleset_version);
  text += fmt::format("schema       {}", i.schema_hash.empty() ? "-" : i.schema_hash);
  Reply out = ok_reply(j.take(), text);
  if (!alive) {
    out.code = kExitUnreachable;
    out.error = "data plane '" + opt_.instance + "' is not reachable";
  }
  return out;
}

Reply Controller::sync_active_model() {
  std::lock_guard g(change_mu_);
  Reply r;
  auto act = reg_.active();
  if (!act) { r.text = "registry has no active model"; return r; }
  if (!link_.alive()) return failure(kExitUnreachable, "data plane '" + opt_.instance + "' is not reachable");
  if (link_.info().model_sha256 == act->sha256) { r.text = "data plane already runs " + describe(*act); return r; }
  r = activate_stored(*act, "restore", nullptr);
  if (r.code == kExitOk) r.text = "restored active model " + describe(*act);
  AuditRecord a;
  a.peer.pid = getpid();
  a.peer.uid = geteuid();
  a.peer.gid = getegid();
  a.command = "model restore (start-up)";
  a.ok = r.code == kExitOk;
  a.message = a.ok ? r.text : r.error;
  a.model_sha256 = act->sha256;
  audit_.record(a);
  return r;
}

}  // namespace spectre::cp
