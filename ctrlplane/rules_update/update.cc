#include "ctrlplane/rules_update/update.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "ctrlplane/rules_update/sources.h"
#include "dataplane/core/config.h"
#include "dataplane/core/rules_setup.h"

namespace spectre::rules_update {

namespace fs = std::filesystem;

namespace {

std::string id_of(const RuleEntry& r) { return std::to_string(r.gid) + ":" + std::to_string(r.sid); }

bool read_all(const std::string& path, std::string& data) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  data = ss.str();
  return true;
}

// Writes `data` to `path` and fsyncs it (the rename that follows is then atomic and durable).
bool write_synced(const std::string& path, const std::string& data, std::string& err) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    err = path + ": cannot create: " + std::strerror(errno);
    return false;
  }
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = path + ": write failed: " + std::strerror(errno);
      ::close(fd);
      return false;
    }
    off += size_t(n);
  }
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) err = path + ": fsync failed: " + std::strerror(errno);
  return ok;
}

// Merges classification.config files: the first definition of a class wins,
// a different later one is noted. Returns "" when no source has one.
std::string merge_classification(const std::vector<SourceData>& srcs, std::vector<std::string>& notes) {
  std::map<std::string, std::string> seen;  // shortname -> line
  std::string out;
  for (const SourceData& s : srcs) {
    for (const SourceFile& f : s.classification) {
      std::istringstream in(f.data);
      for (std::string line; std::getline(in, line);) {
        const std::string t(trim(line));
        if (t.empty() || t[0] == '#' || t.find(':') == std::string::npos) continue;
        const std::string body(trim(std::string_view(t).substr(t.find(':') + 1)));
        const std::string name(trim(std::string_view(body).substr(0, body.find(','))));
        auto [it, fresh] = seen.emplace(name, t);
        if (fresh) out += t + "\n";
        else if (it->second != t)
          notes.push_back(s.spec + ": " + f.name + ": class '" + name + "' differs from the first one, kept: " +
                          it->second);
      }
    }
  }
  if (out.empty()) return {};
  return "# classification.config merged by spectre-rules\n" + out;
}

void count_result(const std::vector<RuleEntry>& rules, UpdateReport& rep) {
  rep.total = uint32_t(rules.size());
  for (const RuleEntry& r : rules) {
    ++(r.enabled ? rep.enabled : rep.disabled);
    SourceReport& s = rep.sources[r.source];
    ++(r.enabled ? s.enabled : s.disabled);
  }
}

bool load_policy(const UpdateOptions& o, Policy& p, std::string& err) {
  return (o.disable_conf.empty() || load_matcher_file(o.disable_conf, p.disable, err)) &&
         (o.enable_conf.empty() || load_matcher_file(o.enable_conf, p.enable, err)) &&
         (o.drop_conf.empty() || load_matcher_file(o.drop_conf, p.drop, err)) &&
         (o.modify_conf.empty() || load_modify_file(o.modify_conf, p.modify, err));
}

// The test spectre-dp's reload would do: its loader and compiler over the
// files it would read. Per-rule errors are reported, not fatal (unless strict).
bool test_load(const UpdateOptions& o, const std::string& rules_tmp, const std::string& cls,
               UpdateReport& rep) {
  Config cfg;
  if (!o.config_file.empty()) {
    std::string err;
    auto c = load_config(o.config_file, err);
    if (!c) {
      rep.error = "--config: " + err;
      return false;
    }
    cfg = *c;
  }
  cfg.rule_files.push_back(rules_tmp);
  cfg.rules_dir.clear();
  if (cfg.classification_file.empty()) cfg.classification_file = cls;
  cfg.rules_strict = o.strict;
  std::string err, summary;
  rep.tested = true;
  auto compiled = load_ruleset(cfg, 1, err, summary, &rep.test_messages);
  const std::string final_path = o.output_dir + "/" + kOutputName;
  auto fix = [&](std::string& s) {  // name the installed file, not the temporary one
    for (size_t p; (p = s.find(rules_tmp)) != std::string::npos;) s.replace(p, rules_tmp.size(), final_path);
  };
  for (std::string& m : rep.test_messages) fix(m);
  fix(summary);
  fix(err);
  while (!summary.empty() && summary.back() == '\n') summary.pop_back();
  rep.test_summary = summary;
  if (!compiled) {  // spectre-dp would run on it without signatures: not worth installing
    if (err.empty()) err = "no rule is active (every rule was skipped or rejected)";
    rep.error = "the merged rules do not load: " + err + " (nothing installed)";
    return false;
  }
  rep.active = uint32_t(ruleset_rule_count(*compiled));
  rep.test_ok = true;
  return true;
}

bool read_sources(const UpdateOptions& o, std::vector<SourceData>& srcs, std::vector<RuleEntry>& all,
                  UpdateReport& rep) {
  FetchOptions fo;
  fo.cache_dir = o.output_dir + "/.cache";
  for (const std::string& spec : o.sources) {
    SourceData sd;
    std::string err;
    if (!read_source(spec, fo, sd, err)) {
      rep.error = "source " + err + " (nothing installed)";
      return false;
    }
    SourceReport sr;
    sr.spec = spec;
    sr.kind = sd.kind;
    sr.files = uint32_t(sd.rules.size());
    for (const SourceFile& f : sd.rules) {
      TextStats st;
      auto rules = parse_rules_text(f.data, f.name, srcs.size(), st);
      sr.rules += st.rules;
      sr.unparsable += st.unparsable;
      for (std::string& p : st.problems) rep.warnings.push_back(spec + ": " + p);
      for (RuleEntry& r : rules) all.push_back(std::move(r));
    }
    if (sr.files == 0) rep.warnings.push_back(spec + ": no .rules files in this source");
    rep.sources.push_back(sr);
    srcs.push_back(std::move(sd));
  }
  return true;
}

// Writes the temporaries, tests them, renames them into place.
bool install(const UpdateOptions& o, const std::string& text, const std::string& cls_text, UpdateReport& rep) {
  const std::string tag = ".tmp-" + std::to_string(::getpid());
  const std::string rules_tmp = o.output_dir + "/." + kOutputName + tag;  // not *.rules: a reload never reads it
  const std::string cls_final = o.output_dir + "/" + kClassificationName;
  const std::string cls_tmp = cls_text.empty() ? std::string{} : o.output_dir + "/." + kClassificationName + tag;
  auto cleanup = [&] {
    ::unlink(rules_tmp.c_str());
    if (!cls_tmp.empty()) ::unlink(cls_tmp.c_str());
  };
  std::string err;
  if (!write_synced(rules_tmp, text, err) || (!cls_tmp.empty() && !write_synced(cls_tmp, cls_text, err))) {
    rep.error = err + " (nothing installed)";
    cleanup();
    return false;
  }
  std::error_code ec;
  const std::string cls_for_test = !cls_tmp.empty() ? cls_tmp : (fs::exists(cls_final, ec) ? cls_final : "");
  if (o.test && !test_load(o, rules_tmp, cls_for_test, rep)) {
    cleanup();
    return false;
  }
  if (o.dry_run) {
    cleanup();
    return true;
  }
  if ((!cls_tmp.empty() && std::rename(cls_tmp.c_str(), cls_final.c_str()) != 0) ||
      std::rename(rules_tmp.c_str(), rep.output_file.c_str()) != 0) {
    rep.error = rep.output_file + ": cannot install: " + std::strerror(errno);
    cleanup();
    return false;
  }
  const int dfd = ::open(o.output_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) ::fsync(dfd), ::close(dfd);
  rep.installed = true;
  return true;
}

}  // namespace

std::string render_rules(const std::vector<RuleEntry>& rules, size_t sources) {
  std::string out = "# spectre.rules: written by spectre-rules update from " + std::to_string(sources) +
                    " source(s). Do not edit: change enable.conf, disable.conf, modify.conf and run it again.\n";
  for (const RuleEntry& r : rules) out += format_rule(r) + "\n";
  return out;
}

void dedup_rules(std::vector<RuleEntry>& rules, const std::vector<std::string>& names,
                 std::vector<DuplicateReport>& dups) {
  std::map<std::pair<uint32_t, uint32_t>, size_t> where;
  std::vector<RuleEntry> out;
  out.reserve(rules.size());
  auto from = [&](const RuleEntry& r) { return names[r.source] + ": " + r.group; };
  for (RuleEntry& r : rules) {
    auto [it, fresh] = where.emplace(std::make_pair(r.gid, r.sid), out.size());
    if (fresh) {
      out.push_back(std::move(r));
      continue;
    }
    RuleEntry& kept = out[it->second];
    const bool replace = r.rev > kept.rev;
    DuplicateReport d{r.gid, r.sid, replace ? r.rev : kept.rev, replace ? kept.rev : r.rev,
                      replace ? from(r) : from(kept), replace ? from(kept) : from(r),
                      replace ? kept.source : r.source};
    dups.push_back(d);
    if (replace) kept = std::move(r);
  }
  rules = std::move(out);
}

void diff_rules(const std::vector<RuleEntry>& old_rules, const std::vector<RuleEntry>& new_rules,
                std::vector<std::string>& added, std::vector<std::string>& removed,
                std::vector<std::string>& modified) {
  std::map<std::pair<uint32_t, uint32_t>, const RuleEntry*> old_map, new_map;
  for (const RuleEntry& r : old_rules) old_map.emplace(std::make_pair(r.gid, r.sid), &r);
  for (const RuleEntry& r : new_rules) new_map.emplace(std::make_pair(r.gid, r.sid), &r);
  for (const RuleEntry& r : new_rules) {
    auto it = old_map.find({r.gid, r.sid});
    if (it == old_map.end()) added.push_back(id_of(r));
    else if (format_rule(*it->second) != format_rule(r)) modified.push_back(id_of(r));
  }
  for (const RuleEntry& r : old_rules)
    if (!new_map.count({r.gid, r.sid})) removed.push_back(id_of(r));
}

int run_update(const UpdateOptions& o, UpdateReport& rep) {
  rep.output_file = o.output_dir + "/" + kOutputName;
  Policy policy;
  if (!load_policy(o, policy, rep.error)) {
    rep.error += " (nothing installed)";
    return 1;
  }
  std::error_code ec;
  fs::create_directories(o.output_dir, ec);
  if (ec) {
    rep.error = o.output_dir + ": cannot create the rule directory: " + ec.message();
    return 1;
  }
  // One update at a time per rule directory (two would race on the rename and the diff).
  const std::string lock_path = o.output_dir + "/.spectre-rules.lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock < 0 || ::flock(lock, LOCK_EX | LOCK_NB) != 0) {
    rep.error = lock_path + ": " + (lock < 0 ? std::strerror(errno) : "another spectre-rules update is running") +
                " (nothing installed)";
    if (lock >= 0) ::close(lock);
    return 1;
  }
  struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }  // closing releases the flock
  } unlock{lock};
  std::vector<SourceData> srcs;
  std::vector<RuleEntry> rules;
  if (!read_sources(o, srcs, rules, rep)) return 1;
  std::vector<std::string> names;
  for (const SourceData& s : srcs) names.push_back(s.spec);
  dedup_rules(rules, names, rep.duplicates);
  for (const DuplicateReport& d : rep.duplicates) ++rep.sources[d.dropped_source].superseded;
  apply_policy(policy, rules, rep.policy);
  rep.flowbit_enabled = resolve_flowbits(rules);
  count_result(rules, rep);
  if (rep.enabled == 0) {
    rep.error = "no enabled rules in the result (nothing installed)";
    return 1;
  }
  const std::string text = render_rules(rules, srcs.size());
  const std::string cls_text = merge_classification(srcs, rep.classification_notes);
  std::string old_text, old_cls;
  rep.previous = read_all(rep.output_file, old_text);
  if (rep.previous) {
    TextStats st;
    diff_rules(parse_rules_text(old_text, rep.output_file, 0, st), rules, rep.added, rep.removed, rep.modified);
  } else {
    for (const RuleEntry& r : rules) rep.added.push_back(id_of(r));
  }
  const bool cls_same = cls_text.empty() ||
                        (read_all(o.output_dir + "/" + kClassificationName, old_cls) && old_cls == cls_text);
  rep.changed = !rep.previous || old_text != text || !cls_same;
  if (!rep.changed && !o.force) return 0;  // nothing to install or reload (as suricata-update)
  if (!install(o, text, cls_text, rep)) return 1;
  if (rep.installed && o.reload) reload_dataplane(o, rep);
  return rep.reload_ok ? 0 : 1;
}

}  // namespace spectre::rules_update
