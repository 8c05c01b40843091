#include "ctrlplane/cp/commands.h"

#include <charconv>

#include "ctrlplane/cp/alerts.h"
#include "ctrlplane/cp/json_out.h"
#include "ctrlplane/cortex/incident.h"
#include "ml/json.h"

namespace spectre::cp {

const std::vector<CommandSpec>& command_specs() {
  static const std::vector<CommandSpec> specs = {
      {"model load", "FILE", "validate an artifact, store it in the registry and make it active"},
      {"model list", "", "registry versions (name, version, sha256, loaded at, active)"},
      {"model rollback", "", "re-activate the previously active version"},
      {"model shadow", "FILE | --clear", "score with FILE beside the active model (no alerts)"},
      {"rules reload", "[FILE...]", "reload the rule files (default: the configured ones)"},
      {"config reload", "", "re-read the data plane's configuration"},
      {"stats", "[--interval MS]", "per-worker counters and rates over MS (default 1000)"},
      {"flows top", "N", "the N largest recently ended flows by bytes (flow records)"},
      {"alerts tail", "[-n N] [-f] [--min-severity S]",
       "recent alerts; -f follows; S = 1..4 or high|medium|low|info (keeps severity <= S)"},
      {"status", "", "data plane liveness, workers, active model, ruleset"},
      {"incidents list", "[--all] [-n N]", "open incidents (--all: closed ones too), newest first"},
      {"incidents show", "ID", "one incident: entities, tactics, risk, explanation, response"},
      {"incidents set", "ID --status S", "S = new|investigating|resolved|false_positive (recorded in EVE)"},
  };
  return specs;
}

std::string commands_help() {
  std::string s;
  for (const auto& c : command_specs()) {
    std::string left = std::string(c.name) + (*c.usage ? " " : "") + c.usage;
    s += "  " + left;
    s += left.size() < 44 ? std::string(44 - left.size(), ' ') : std::string("\n") + std::string(46, ' ');
    s += c.help;
    s += '\n';
  }
  return s;
}

static bool parse_int(std::string_view s, int64_t lo, int64_t hi, int64_t& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v >= lo && v <= hi;
}

bool parse_command(const std::vector<std::string>& w, Request& r, std::string& err) {
  r = Request{};
  if (w.empty()) { err = "no command given"; return false; }
  // Two-word commands first.
  std::string name = w[0];
  size_t at = 1;
  for (const auto& c : command_specs()) {
    std::string_view cn = c.name;
    size_t sp = cn.find(' ');
    if (sp == std::string_view::npos) continue;
    if (cn.substr(0, sp) == w[0]) {
      if (w.size() < 2) { err = "'" + w[0] + "' needs a sub-command (see --help)"; return false; }
      name = w[0] + " " + w[1];
      at = 2;
      break;
    }
  }
  bool known = false;
  for (const auto& c : command_specs()) known |= name == c.name;
  if (!known) { err = "unknown command '" + name + "' (see --help)"; return false; }
  r.cmd = name;
  std::vector<std::string> a(w.begin() + long(at), w.end());
  auto extra = [&](size_t from) {
    if (a.size() <= from) return false;
    err = "'" + name + "': unexpected argument '" + a[from] + "'";
    return true;
  };
  if (name == "model load") {
    if (a.size() != 1 || a[0].empty()) { err = "usage: model load FILE"; return false; }
    r.file = a[0];
  } else if (name == "model shadow") {
    if (a.size() != 1 || a[0].empty()) { err = "usage: model shadow FILE | --clear"; return false; }
    if (a[0] == "--clear") r.clear = true; else r.file = a[0];
  } else if (name == "rules reload") {
    for (const auto& f : a) {
      if (f.empty() || (f[0] == '-' && f.size() > 1)) { err = "rules reload: bad file argument '" + f + "'"; return false; }
      r.files.push_back(f);
    }
  } else if (name == "flows top") {
    if (a.size() != 1 || !parse_int(a[0], 1, 10000, r.n)) {
      err = "usage: flows top N (N from 1 to 10000)";
      return false;
    }
  } else if (name == "stats") {
    for (size_t i = 0; i < a.size(); i++) {
      if (a[i] == "--interval" && i + 1 < a.size() && parse_int(a[i + 1], 0, 60000, r.interval_ms)) { i++; continue; }
      err = "usage: stats [--interval MS] (MS from 0 to 60000)";
      return false;
    }
  } else if (name == "incidents list") {
    for (size_t i = 0; i < a.size(); i++) {
      if (a[i] == "--all") { r.all = true; continue; }
      if (a[i] == "-n" && i + 1 < a.size() && parse_int(a[i + 1], 1, 100000, r.n)) { i++; continue; }
      err = "usage: incidents list [--all] [-n N]; unexpected '" + a[i] + "'";
      return false;
    }
  } else if (name == "incidents show" || name == "incidents set") {
    bool set = name == "incidents set";
    if (a.empty() || !parse_int(a[0], 1, INT64_MAX, r.id) ||
        (set && (a.size() != 3 || a[1] != "--status")) || (!set && a.size() != 1)) {
      err = set ? "usage: incidents set ID --status new|investigating|resolved|false_positive" : "usage: incidents show ID";
      return false;
    }
    if (set) {
      r.status = a[2];
      if (!cortex::valid_status(r.status)) {
        err = "incidents set: --status wants new, investigating, resolved or false_positive, not '" + r.status + "'";
        return false;
      }
    }
  } else if (name == "alerts tail") {
    for (size_t i = 0; i < a.size(); i++) {
      if (a[i] == "-f" || a[i] == "--follow") { r.follow = true; continue; }
      if ((a[i] == "-n" || a[i] == "--lines") && i + 1 < a.size()) {
        if (!parse_int(a[i + 1], 0, 100000, r.n)) { err = "alerts tail: -n wants 0..100000"; return false; }
        i++;
        continue;
      }
      if (a[i] == "--min-severity" && i + 1 < a.size()) {
        if (!parse_severity(a[i + 1], r.min_severity)) {
          err = "alerts tail: --min-severity wants 1..4 or high|medium|low|info, not '" + a[i + 1] + "'";
          return false;
        }
        i++;
        continue;
      }
      err = "usage: alerts tail [-n N] [-f] [--min-severity S]; unexpected '" + a[i] + "'";
      return false;
    }
  } else if (extra(0)) {
    return false;
  }
  return true;
}

std::string request_to_json(const Request& r) {
  JsonOut j;
  j.begin_obj().kv("cmd", r.cmd);
  if (!r.file.empty()) j.kv("file", r.file);
  if (r.clear) j.kv("clear", true);
  if (!r.files.empty()) {
    j.key("files").begin_arr();
    for (const auto& f : r.files) j.str(f);
    j.end_arr();
  }
  if (r.n >= 0) j.kv("n", r.n);
  if (r.follow) j.kv("follow", true);
  if (r.min_severity) j.kv("min_severity", r.min_severity);
  if (r.cmd == "stats") j.kv("interval_ms", r.interval_ms);
  if (r.id >= 0) j.kv("id", r.id);
  if (!r.status.empty()) j.kv("status", r.status);
  if (r.all) j.kv("all", true);
  j.kv("json", r.json);
  j.end_obj();
  return j.take();
}

bool request_from_json(std::string_view line, Request& r, std::string& err) {
  using ml::json::Type;
  r = Request{};
  if (line.size() > kMaxRequestLine) { err = "request longer than 64 KiB"; return false; }
  ml::json::Doc d;
  std::string perr;
  if (!d.parse(line, perr)) { err = "request is not JSON: " + perr; return false; }
  if (d.type(0) != Type::Object) { err = "request is not a JSON object"; return false; }
  auto typed = [&](const char* k, Type t) {
    uint32_t i = d.find(0, k);
    if (i == ml::json::kNone) return ml::json::kNone;
    if (d.type(i) != t) { err = std::string("request field '") + k + "' has the wrong type"; return ml::json::kNone - 1; }
    return i;
  };
  constexpr uint32_t kBad = ml::json::kNone - 1;
  uint32_t i;
  if ((i = typed("cmd", Type::String)) == kBad) return false;
  if (i == ml::json::kNone) { err = "request has no 'cmd'"; return false; }
  r.cmd = d.str(i);
  bool known = false;
  for (const auto& c : command_specs()) known |= r.cmd == c.name;
  if (!known) { err = "unknown command '" + r.cmd + "'"; return false; }
  if ((i = typed("file", Type::String)) == kBad) return false;
  if (i != ml::json::kNone) r.file = d.str(i);
  if ((i = typed("files", Type::Array)) == kBad) return false;
  if (i != ml::json::kNone) {
    for (uint32_t c = d.first(i); c != ml::json::kNone; c = d.next(c)) {
      if (d.type(c) != Type::String) { err = "request field 'files' must hold strings"; return false; }
      r.files.push_back(d.str(c));
    }
  }
  if ((i = typed("status", Type::String)) == kBad) return false;
  if (i != ml::json::kNone) r.status = d.str(i);
  for (auto [k, dst] : {std::pair{"clear", &r.clear}, std::pair{"follow", &r.follow}, std::pair{"json", &r.json},
                        std::pair{"all", &r.all}}) {
    if ((i = typed(k, Type::Bool)) == kBad) return false;
    if (i != ml::json::kNone) *dst = d.raw(i) == "true";
  }
  for (auto [k, dst] : {std::pair{"n", &r.n}, std::pair{"interval_ms", &r.interval_ms}, std::pair{"id", &r.id}}) {
    if ((i = typed(k, Type::Number)) == kBad) return false;
    if (i != ml::json::kNone && !d.to_int(i, *dst)) { err = std::string("request field '") + k + "' is not an integer"; return false; }
  }
  if ((i = typed("min_severity", Type::Number)) == kBad) return false;
  if (i != ml::json::kNone) {
    int64_t v = 0;
    if (!d.to_int(i, v) || v < 0 || v > 4) { err = "request field 'min_severity' must be 0..4"; return false; }
    r.min_severity = int(v);
  }
  return true;
}

std::vector<std::pair<std::string, std::string>> request_args(const Request& r) {
  std::vector<std::pair<std::string, std::string>> a;
  if (!r.file.empty()) a.emplace_back("file", r.file);
  if (r.clear) a.emplace_back("clear", "true");
  for (const auto& f : r.files) a.emplace_back("file", f);
  if (r.n >= 0) a.emplace_back("n", std::to_string(r.n));
  if (r.follow) a.emplace_back("follow", "true");
  if (r.min_severity) a.emplace_back("min_severity", std::to_string(r.min_severity));
  if (r.cmd == "stats") a.emplace_back("interval_ms", std::to_string(r.interval_ms));
  if (r.id >= 0) a.emplace_back("id", std::to_string(r.id));
  if (!r.status.empty()) a.emplace_back("status", r.status);
  if (r.all) a.emplace_back("all", "true");
  return a;
}

std::string reply_to_json(const Reply& r, bool with_text) {
  JsonOut j;
  j.begin_obj().kv("ok", r.code == kExitOk).kv("code", r.code);
  if (r.code != kExitOk) j.kv("error", r.error);
  if (!r.result.empty()) j.key("result").raw(r.result);
  if (r.stream) j.kv("stream", true);
  if (with_text) j.kv("text", r.text);
  j.end_obj();
  return j.take();
}

bool reply_from_json(std::string_view line, Reply& r, std::string& err) {
  r = Reply{};
  ml::json::Doc d;
  if (!d.parse(line, err) || d.type(0) != ml::json::Type::Object) {
    if (err.empty()) err = "reply is not a JSON object";
    return false;
  }
  uint32_t c = d.find(0, "code");
  int64_t code = 0;
  if (c == ml::json::kNone || !d.to_int(c, code)) { err = "reply has no 'code'"; return false; }
  r.code = int(code);
  r.error = jget_str(d, 0, "error");
  r.text = jget_str(d, 0, "text");
  r.stream = jget_bool(d, 0, "stream");
  return true;
}

bool stream_line_text(std::string_view line, std::string& text) {
  ml::json::Doc d;
  std::string err;
  if (!d.parse(line, err) || d.type(0) != ml::json::Type::Object) return false;
  uint32_t t = d.find(0, "text");
  if (t == ml::json::kNone || d.type(t) != ml::json::Type::String) return false;
  text = d.str(t);
  return true;
}

Reply usage_error(std::string msg) { return failure(kExitUsage, std::move(msg)); }

Reply failure(int code, std::string msg) {
  Reply r;
  r.code = code;
  r.error = std::move(msg);
  return r;
}

}  // namespace spectre::cp
