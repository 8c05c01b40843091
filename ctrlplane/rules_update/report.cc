// The update report: human-readable (default) or one JSON object (--json).
#include <fmt/format.h>

#include "ctrlplane/cp/json_out.h"
#include "ctrlplane/rules_update/update.h"

namespace spectre::rules_update {

namespace {

constexpr size_t kListShown = 10;       // sids listed per change kind in the text report
constexpr size_t kMessagesShown = 50;  // loader messages in the text report (ET Open has ~2,000)

std::string sid_list(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < kListShown; ++i) s += (i ? " " : "") + v[i];
  if (v.size() > kListShown) s += fmt::format(" ... (+{})", v.size() - kListShown);
  return s;
}

void str_array(cp::JsonOut& j, std::string_view key, const std::vector<std::string>& v) {
  j.key(key).begin_arr();
  for (const std::string& s : v) j.str(s);
  j.end_arr();
}

}  // namespace

std::string report_text(const UpdateOptions& o, const UpdateReport& r) {
  std::string s;
  for (const SourceReport& src : r.sources)
    s += fmt::format("source {} ({}): {} files, {} rules; in the result {} enabled, {} disabled; {} superseded "
                     "duplicates, {} unparsable lines\n",
                     src.spec, src.kind, src.files, src.rules, src.enabled, src.disabled, src.superseded,
                     src.unparsable);
  for (size_t i = 0; i < r.warnings.size() && i < kMessagesShown; ++i) s += "warning: " + r.warnings[i] + "\n";
  if (r.warnings.size() > kMessagesShown)
    s += fmt::format("... {} more warnings (--json lists them all)\n", r.warnings.size() - kMessagesShown);
  for (const DuplicateReport& d : r.duplicates)
    s += fmt::format("duplicate sid {}:{}: kept rev {} from {}, dropped rev {} from {}\n", d.gid, d.sid, d.kept_rev,
                     d.kept_from, d.dropped_rev, d.dropped_from);
  const PolicyCounts& p = r.policy;
  if (!o.disable_conf.empty() || !o.enable_conf.empty() || !o.modify_conf.empty() || !o.drop_conf.empty())
    s += fmt::format("policy: {} disabled, {} enabled, {} converted to drop, {} modified, {} modifications refused\n",
                     p.disabled, p.enabled, p.dropped, p.modified, p.modify_invalid);
  for (const std::string& m : p.messages) s += "warning: " + m + "\n";
  if (!r.flowbit_enabled.empty())
    s += fmt::format("flowbits: {} disabled rules enabled with noalert (they set flowbits enabled rules test): {}\n",
                     r.flowbit_enabled.size(), sid_list(r.flowbit_enabled));
  for (const std::string& m : r.classification_notes) s += "warning: " + m + "\n";
  s += fmt::format("result: {} rules, {} enabled, {} disabled\n", r.total, r.enabled, r.disabled);
  s += fmt::format("changes against {}{}: {} added, {} removed, {} modified\n", r.output_file,
                   r.previous ? "" : " (none installed)", r.added.size(), r.removed.size(), r.modified.size());
  if (r.previous) {
    if (!r.added.empty()) s += "  added: " + sid_list(r.added) + "\n";
    if (!r.removed.empty()) s += "  removed: " + sid_list(r.removed) + "\n";
    if (!r.modified.empty()) s += "  modified: " + sid_list(r.modified) + "\n";
  }
  if (r.tested) {
    if (!r.test_summary.empty()) s += "test load: " + r.test_summary + "\n";
    for (size_t i = 0; i < r.test_messages.size() && i < kMessagesShown; ++i) s += "  " + r.test_messages[i] + "\n";
    if (r.test_messages.size() > kMessagesShown)
      s += fmt::format("  ... {} more messages (--json lists them all)\n", r.test_messages.size() - kMessagesShown);
    if (r.test_ok) s += fmt::format("test load: ok, {} rules active\n", r.active);
  }
  if (!r.error.empty()) {
    s += "error: " + r.error + "\n";
  } else if (!r.changed && !o.force) {
    s += "no changes: " + r.output_file + " is up to date (not rewritten, no reload)\n";
  } else if (o.dry_run) {
    s += "dry run: nothing installed\n";
  } else if (r.installed) {
    s += "installed " + r.output_file + "\n";
  }
  if (!r.reload_method.empty() && r.reload_ok) s += "reload (" + r.reload_method + "): " + r.reload_detail + "\n";
  return s;
}

std::string report_json(const UpdateOptions& o, const UpdateReport& r) {
  cp::JsonOut j;
  j.begin_obj();
  j.kv("ok", r.error.empty()).kv("output", r.output_file).kv("dry_run", o.dry_run);
  j.kv("changed", r.changed).kv("installed", r.installed);
  j.key("sources").begin_arr();
  for (const SourceReport& s : r.sources) {
    j.begin_obj().kv("source", s.spec).kv("kind", s.kind).kv("files", s.files).kv("rules", s.rules);
    j.kv("enabled", s.enabled).kv("disabled", s.disabled).kv("superseded", s.superseded);
    j.kv("unparsable", s.unparsable).end_obj();
  }
  j.end_arr();
  j.key("duplicates").begin_arr();
  for (const DuplicateReport& d : r.duplicates)
    j.begin_obj().kv("gid", d.gid).kv("sid", d.sid).kv("kept_rev", d.kept_rev).kv("kept_from", d.kept_from)
        .kv("dropped_rev", d.dropped_rev).kv("dropped_from", d.dropped_from).end_obj();
  j.end_arr();
  const PolicyCounts& p = r.policy;
  j.key("policy").begin_obj().kv("disabled", p.disabled).kv("enabled", p.enabled).kv("dropped", p.dropped);
  j.kv("modified", p.modified).kv("modify_refused", p.modify_invalid);
  str_array(j, "messages", p.messages);
  j.end_obj();
  str_array(j, "flowbit_enabled", r.flowbit_enabled);
  j.key("result").begin_obj().kv("rules", r.total).kv("enabled", r.enabled).kv("disabled", r.disabled).end_obj();
  j.key("changes").begin_obj().kv("previous", r.previous);
  str_array(j, "added", r.added);
  str_array(j, "removed", r.removed);
  str_array(j, "modified", r.modified);
  j.end_obj();
  j.key("test").begin_obj().kv("run", r.tested).kv("ok", r.test_ok).kv("active", r.active);
  j.kv("summary", r.test_summary);
  str_array(j, "messages", r.test_messages);
  j.end_obj();
  j.key("reload").begin_obj().kv("method", r.reload_method).kv("ok", r.reload_ok).kv("detail", r.reload_detail);
  j.end_obj();
  str_array(j, "warnings", r.warnings);
  str_array(j, "classification_notes", r.classification_notes);
  j.kv("error", r.error);
  j.end_obj();
  return j.take() + "\n";
}

}  // namespace spectre::rules_update
