#include "dataplane/rules/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dataplane/rules/classification.h"
#include "dataplane/rules/dataset_load.h"
#include "dataplane/rules/parse_internal.h"
#include "dataplane/rules/parser.h"

namespace spectre::rules {

namespace fs = std::filesystem;

std::string LoadReport::summary(size_t top) const {
  std::string s = "rules: " + std::to_string(loaded) + " loaded, " + std::to_string(skipped) +
                  " skipped (unsupported), " + std::to_string(errors) + " errors";
  if (duplicates) s += ", " + std::to_string(duplicates) + " duplicates";
  if (skip_reasons.empty() || top == 0) return s;
  std::vector<std::pair<std::string, uint32_t>> v(skip_reasons.begin(), skip_reasons.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  s += "; top skip reasons: ";
  for (size_t i = 0; i < v.size() && i < top; ++i) {
    if (i) s += ", ";
    s += v[i].first + " (" + std::to_string(v[i].second) + ")";
  }
  return s;
}

namespace {

// Per-load state kept across files: where each (gid, sid) lives, and the
// sets rules named so far (dataset & co).
struct DupIndex {
  std::map<std::pair<uint32_t, uint32_t>, size_t> where;
  detail::SetRegistry sets;
};

void add_rule(Rule&& r, RuleSet& out, LoadReport& rep, DupIndex& dups) {
  const std::string at = r.file + ":" + std::to_string(r.line) + ": ";
  if (!r.classtype.empty()) {
    auto it = out.classes.find(r.classtype);
    if (it != out.classes.end()) {
      if (r.priority == 0) r.priority = it->second.priority;
    } else if (!out.classes.empty()) {
      rep.messages.push_back(at + "unknown classtype '" + r.classtype + "' (priority 3)");
    }
  }
  if (r.priority == 0) r.priority = 3;
  const auto key = std::make_pair(r.gid, r.sid);
  auto [it, fresh] = dups.where.emplace(key, out.rules.size());
  if (fresh) {
    out.rules.push_back(std::move(r));
    return;
  }
  ++rep.duplicates;
  Rule& old = out.rules[it->second];
  const bool replace = r.rev > old.rev;
  rep.messages.push_back(at + "duplicate sid " + std::to_string(r.gid) + ":" + std::to_string(r.sid) +
                         " (also at " + old.file + ":" + std::to_string(old.line) + "); kept rev " +
                         std::to_string(replace ? r.rev : old.rev));
  if (replace) old = std::move(r);
}

void load_text(std::string_view text, const std::string& name, RuleSet& out, LoadReport& rep, DupIndex& dups) {
  for_each_rule_line(text, false, [&](std::string_view joined, uint32_t first) {
    if (joined[0] == '#') return;
    ++rep.rules_seen;
    Rule r;
    r.file = name;
    r.line = first;
    std::string err;
    bool unsupported = false;
    if (!parse_rule(joined, out.vars, r, err, unsupported)) {
      const std::string at = name + ":" + std::to_string(first) + ": ";
      if (unsupported) {
        ++rep.skipped;
        ++rep.skip_reasons[err];
        rep.messages.push_back(at + "skipped: " + err);
      } else {
        ++rep.errors;
        rep.messages.push_back(at + err);
      }
      return;
    }
    if (!r.datasets.empty()) {  // read the sets it names (refused, counted, when a set file is bad)
      std::string reason, msg;
      std::vector<std::string> notes;
      const bool ok = detail::resolve_sets(r, dups.sets, out, reason, msg, notes);
      rep.messages.insert(rep.messages.end(), notes.begin(), notes.end());
      if (!ok) {
        ++rep.skipped;
        ++rep.skip_reasons["dataset: " + reason];
        rep.messages.push_back(name + ":" + std::to_string(first) + ": skipped: " + msg);
        return;
      }
    }
    add_rule(std::move(r), out, rep, dups);
  });
}

bool read_file(const std::string& path, std::string& data) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  data = ss.str();
  return !in.bad();
}

}  // namespace

void load_rules_text(std::string_view text, const std::string& name, RuleSet& out, LoadReport& rep) {
  DupIndex dups;
  for (const Rule& r : out.rules)  // sets named by rules loaded before
    for (const DatasetUse& u : r.datasets)
      if (u.set >= 0)
        dups.sets.by_name.emplace(u.name, detail::SetRegistry::Def{u.set, u.type, u.cmd == DatasetUse::Cmd::kRep, "",
                                                                   r.file + ":" + std::to_string(r.line)});
  for (size_t i = 0; i < out.rules.size(); ++i)
    dups.where.emplace(std::make_pair(out.rules[i].gid, out.rules[i].sid), i);
  const size_t before = out.rules.size();
  load_text(text, name, out, rep, dups);
  rep.loaded += uint32_t(out.rules.size() - before);
}

bool load_rules(const LoadOptions& o, RuleSet& out, LoadReport& rep, std::string& err) {
  out = RuleSet{};
  out.vars = o.vars;
  rep = LoadReport{};
  std::vector<std::string> files = o.files;
  if (!o.rules_dir.empty()) {
    std::error_code ec;
    std::vector<std::string> found;
    for (fs::directory_iterator it(o.rules_dir, ec), end; !ec && it != end; it.increment(ec))
      if (it->path().extension() == ".rules" && !it->is_directory()) found.push_back(it->path().string());
    if (ec) {
      err = o.rules_dir + ": cannot read rules directory: " + ec.message();
      return false;
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  std::string cls = o.classification_file;
  if (cls.empty() && !files.empty()) {
    fs::path p = fs::path(files.front()).parent_path() / "classification.config";
    std::error_code ec;
    if (fs::exists(p, ec)) cls = p.string();
  }
  if (!cls.empty() && !load_classification(cls, out.classes, err)) return false;
  DupIndex dups;
  dups.sets.data_dir = o.data_dir;
  std::string data;
  for (const std::string& f : files) {
    if (!read_file(f, data)) {
      err = f + ": cannot read rules file";
      return false;
    }
    ++rep.files;
    load_text(data, f, out, rep, dups);
  }
  rep.loaded = uint32_t(out.rules.size());
  if (o.strict && (rep.skipped || rep.errors)) {
    for (const std::string& m : rep.messages) {
      if (m.find(": unknown classtype '") != std::string::npos || m.find(": duplicate sid ") != std::string::npos)
        continue;
      err = "strict: " + m;
      return false;
    }
  }
  return true;
}

}  // namespace spectre::rules
