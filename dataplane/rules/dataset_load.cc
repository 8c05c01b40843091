#include "dataplane/rules/dataset_load.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace spectre::rules::detail {

namespace fs = std::filesystem;

namespace {

std::string resolve(const std::string& base_dir, const std::string& f) {
  fs::path p(f);
  if (p.is_absolute() || base_dir.empty()) return p.lexically_normal().string();
  return (fs::path(base_dir) / p).lexically_normal().string();
}

// 0: read; 1: does not exist; 2: other error (in `why`).
int read_text(const std::string& path, std::string& data, std::string& why) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return why = "no such file", 1;
  if (fs::is_directory(path, ec)) return why = "is a directory", 2;
  std::ifstream in(path, std::ios::binary);
  if (!in) return why = "cannot open", 2;
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return why = "read error", 2;
  data = ss.str();
  return 0;
}

struct Failure {
  std::string reason, msg;
};

// Builds the set of `u` (file at `path`, "" none). False with f set.
bool build(const DatasetUse& u, const std::string& path, bool missing_ok, std::shared_ptr<DataSet>& set,
           Failure& f, std::vector<std::string>& notes, const std::string& at) {
  const bool rep = u.cmd == DatasetUse::Cmd::kRep;
  set = std::make_shared<DataSet>(u.name, u.type, rep);
  const std::string who = std::string(rep ? "datarep" : "dataset") + " '" + u.name + "'";
  if (!path.empty()) {
    std::string data, why;
    const int r = read_text(path, data, why);
    if (r == 1 && missing_ok) {
      notes.push_back(at + who + ": state file " + path + " does not exist yet: the set starts empty");
    } else if (r != 0) {
      f = {"set file unreadable", who + ": cannot read " + path + ": " + why};
      return false;
    } else {
      SetLoadStats st;
      parse_set_text(data, u.format, *set, st);
      if (st.bad) {
        f = {"set file malformed", who + ": " + path + ":" + std::to_string(st.first_bad_line) + ": " + st.first_bad +
                                       " (" + std::to_string(st.bad) + " malformed line(s) of " +
                                       std::to_string(st.lines) + ")"};
        return false;
      }
    }
  }
  if (u.memcap && set->memory() > u.memcap) {
    f = {"set over its memcap", who + ": needs " + std::to_string(set->memory()) + " bytes, over its memcap of " +
                                    std::to_string(u.memcap)};
    return false;
  }
  if (!u.save.empty())
    notes.push_back(at + "warning: " + who + ": '" + (u.state ? "state " : "save ") + u.save +
                    "' is not written at exit (not supported); values added by dataset:set are kept per "
                    "worker and lost at exit or reload");
  return true;
}

}  // namespace

bool resolve_sets(Rule& r, SetRegistry& reg, RuleSet& out, std::string& reason, std::string& msg,
                  std::vector<std::string>& notes) {
  const std::string rule_dir = fs::path(r.file).parent_path().string();
  const std::string at = r.file + ":" + std::to_string(r.line) + ": ";
  for (DatasetUse& u : r.datasets) {
    const bool rep = u.cmd == DatasetUse::Cmd::kRep;
    const char* kw = u.format == SetFormat::kHashList ? "file hash list" : rep ? "datarep" : "dataset";
    std::string path;
    bool missing_ok = false;
    if (u.state) path = resolve(reg.data_dir.empty() ? rule_dir : reg.data_dir, u.load), missing_ok = true;
    else if (!u.load.empty()) path = resolve(rule_dir, u.load);
    if (u.format == SetFormat::kHashList) u.name = u.name.substr(0, u.name.find(':') + 1) + path;
    auto it = reg.by_name.find(u.name);
    if (it != reg.by_name.end()) {  // defined by an earlier rule: must agree
      const SetRegistry::Def& d = it->second;
      std::string clash;
      if (d.rep != rep) clash = std::string("used as a ") + (d.rep ? "datarep" : "dataset");
      else if (u.has_type && u.type != d.type) clash = std::string("has type ") + set_type_name(d.type);
      else if (!path.empty() && path != d.load) clash = "loads " + (d.load.empty() ? "nothing" : d.load);
      if (!clash.empty()) {
        reason = "set defined differently by another rule";
        msg = std::string(kw) + " '" + u.name + "' " + clash + " at " + d.where;
        return false;
      }
      u.type = d.type;
      u.set = d.idx;
      continue;
    }
    if (!u.has_type) {
      reason = "set without a type";
      msg = std::string(kw) + " '" + u.name + "': 'type' is needed where a set is first named";
      return false;
    }
    std::shared_ptr<DataSet> set;
    Failure f;
    if (!build(u, path, missing_ok, set, f, notes, at)) {
      reason = f.reason;
      msg = f.msg;
      return false;
    }
    u.set = int32_t(out.datasets.size());
    out.datasets.push_back(std::move(set));
    reg.by_name.emplace(u.name, SetRegistry::Def{u.set, u.type, rep, path, r.file + ":" + std::to_string(r.line)});
  }
  return true;
}

}  // namespace spectre::rules::detail
