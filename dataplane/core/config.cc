#include "dataplane/core/config.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <yaml-cpp/yaml.h>

#include "dataplane/core/yaml_reader.h"
#include "dataplane/intel/config.h"
#include "dataplane/yaramatch/compile.h"

#include <fmt/format.h>

namespace spectre {

namespace {
const char* const kTmoNames[kTmoClassCount] = {"tcp_new", "tcp_established", "tcp_closing",
                                                "tcp_closed", "udp", "icmp", "other"};

// Input paths relative to the configuration file's directory.
void resolve_inputs(Config& c, const std::string& path) {
  namespace fs = std::filesystem;
  c.source_path = path;
  fs::path dir = fs::path(path).parent_path();
  auto fix = [&](std::string& p) {
    if (!p.empty() && fs::path(p).is_relative()) p = (dir / p).lexically_normal().string();
  };
  for (auto& f : c.rule_files) fix(f);
  fix(c.rules_dir);
  fix(c.classification_file);
  fix(c.rules_data_dir);
  fix(c.rules_cache_dir);
  fix(c.threshold_file);
  fix(c.ml_model);
  for (auto& f : c.intel_feeds) fix(f.path);
  for (auto& f : c.yara.rules) fix(f);
}

}  // namespace

const char* timeout_class_name(uint8_t cls) { return cls < kTmoClassCount ? kTmoNames[cls] : "?"; }

std::optional<Config> load_config(const std::string& path, std::string& err) {
  Config c;
  std::string lerr;
  YamlReader L{path, lerr};
  YAML::Node root;
  if (!load_yaml_file(path, root, err, "cannot open configuration file")) return std::nullopt;
  if (root.IsNull()) {
    c.source_path = path;
    return c;
  }
  const uint32_t kMax = 1u << 30;
  // yaml_try: a type the loader did not expect
  bool ok = yaml_try(path, L.err, [&] {
  return L.each(root, "top level", [&](const std::string& k, const YAML::Node& v) {
    if (k == "flow")
      return L.each(v, "flow", [&](const std::string& fk, const YAML::Node& fv) {
        if (fk == "max_flows") return L.u32(fv, c.max_flows, 1, 1u << 27);
        if (fk == "expire_budget") return L.u32(fv, c.expire_budget, 1, kMax);
        if (fk == "timeouts")
          return L.each(fv, "flow.timeouts", [&](const std::string& tk, const YAML::Node& tv) {
            for (int i = 0; i < kTmoClassCount; i++)
              if (tk == kTmoNames[i]) return L.u32(tv, c.timeouts_s[i], 1, 4000000000u);
            return false;
          });
        return false;
      });
    if (k == "defrag")
      return L.each(v, "defrag", [&](const std::string& dk, const YAML::Node& dv) {
        if (dk == "max_datagrams") return L.u32(dv, c.defrag_max_datagrams, 64, 1u << 16);
        if (dk == "max_fragments") return L.u32(dv, c.defrag_max_frags, 2, 8192);
        if (dk == "timeout") return L.u32(dv, c.defrag_timeout_s, 1, 3600);
        return false;
      });
    if (k == "eve")
      return L.each(v, "eve", [&](const std::string& ek, const YAML::Node& ev) {
        if (ek == "filename") return L.str(ev, c.eve_path);
        if (ek == "stats_interval") return L.u32(ev, c.stats_interval_s, 1, 86400);
        if (ek == "app_events") return L.boolean(ev, c.eve_app_events);
        if (ek == "alert")
          return L.each(ev, "eve.alert", [&](const std::string& ak, const YAML::Node& av) {
            if (ak == "payload") return L.boolean(av, c.eve_alert_payload);
            if (ak == "packet") return L.boolean(av, c.eve_alert_packet);
            return false;
          });
        return false;
      });
    if (k == "dataplane")
      return L.each(v, "dataplane", [&](const std::string& dk, const YAML::Node& dv) {
        if (dk == "workers") return L.u32(dv, c.workers, 1, 128);
        if (dk == "burst") return L.u32(dv, c.burst, 1, 64);
        if (dk == "rx_ring_size") return L.u32(dv, c.rx_ring_size, 64, 1u << 20);
        if (dk == "event_ring_size") return L.u32(dv, c.event_ring_size, 64, 1u << 22);
        if (dk == "mbufs") return L.u32(dv, c.mbufs, 1023, 1u << 24);
        if (dk == "rx_desc") return L.u32(dv, c.rx_desc, 64, 16384);
        if (dk == "alert_ring_size") return L.u32(dv, c.alert_ring_size, 64, 1u << 20);
        return false;
      });
    if (k == "rules")
      return L.each(v, "rules", [&](const std::string& rk, const YAML::Node& rv) {
        if (rk == "files") return L.strs(rv, c.rule_files);
        if (rk == "dir") return L.str(rv, c.rules_dir);
        if (rk == "classification") return L.str(rv, c.classification_file);
        if (rk == "strict") return L.boolean(rv, c.rules_strict);
        if (rk == "dir_optional") return L.boolean(rv, c.rules_dir_optional);
        if (rk == "data_dir") return L.str(rv, c.rules_data_dir);
        if (rk == "cache_dir") return L.str(rv, c.rules_cache_dir);
        return false;
      });
    if (k == "vars")
      return L.each(v, "vars", [&](const std::string& vk, const YAML::Node& vv) {
        if (vk == "address") return L.str_map(vv, "vars.address", c.address_vars);
        if (vk == "port") return L.str_map(vv, "vars.port", c.port_vars);
        return false;
      });
    if (k == "stream")
      return L.each(v, "stream", [&](const std::string& sk, const YAML::Node& sv) {
        if (sk == "depth") return L.u32(sv, c.stream_depth, 0, 1u << 30);
        if (sk == "max_ooo_bytes") return L.u32(sv, c.stream_max_ooo, 0, 1u << 26);
        if (sk == "midstream") return L.boolean(sv, c.midstream);
        if (sk == "async_oneside" || sk == "async-oneside") return L.boolean(sv, c.async_oneside);
        if (sk == "sessions") return L.u32(sv, c.sessions, 16, 1u << 24);
        if (sk == "segment_chunks") return L.u32(sv, c.segment_chunks, 16, 1u << 24);
        return false;
      });
    if (k == "app_layer")
      return L.each(v, "app_layer", [&](const std::string& ak, const YAML::Node& av) {
        if (ak == "enabled") return L.boolean(av, c.app_layer);
        if (ak == "http_body_limit") return L.u32(av, c.http_body_limit, 0, 1u << 24);
        if (ak == "http_decompress_limit") return L.u32(av, c.http_decompress_limit, 0, 1u << 30);
        if (ak == "http_decompress_streams") return L.u32(av, c.http_decompress_streams, 0, 65534);
        if (ak == "file_hash_states") return L.u32(av, c.file_hash_states, 0, 65535);
        return false;
      });
    if (k == "fast")
      return L.each(v, "fast", [&](const std::string& fk, const YAML::Node& fv) {
        if (fk == "filename") return L.str(fv, c.fast_path);
        return false;
      });
    if (k == "ml")
      return L.each(v, "ml", [&](const std::string& mk, const YAML::Node& mv) {
        if (mk == "model") return L.str(mv, c.ml_model);
        if (mk == "dump_features") return L.str(mv, c.dump_features);
        if (mk == "hosts") return L.u32(mv, c.ml_hosts, 4, 1u << 26);
        if (mk == "host_window") return L.u32(mv, c.ml_host_window_s, 4, 86400);
        if (mk == "points") {
          if (!mv.IsSequence() || mv.size() > kMlPointsMax)
            return L.fail(mv, "ml.points: expected a list of at most 3 packet counts");
          c.ml_points.clear();
          for (const auto& e : mv) {
            uint32_t n = 0;
            if (!L.u32(e, n, 1, 65535)) return false;
            c.ml_points.push_back(n);
          }
          return true;
        }
        return false;
      });
    if (k == "control")
      return L.each(v, "control", [&](const std::string& ck, const YAML::Node& cv) {
        if (ck == "instance") return L.str(cv, c.control_instance);
        if (ck == "event_ring_kb") return L.u32(cv, c.control_event_ring_kb, 4, 1u << 18);
        if (ck == "group") return L.str(cv, c.control_group);
        return false;
      });
    if (k == "behaviour") return behave::parse_config(v, path, c.behave, L.err);
    if (k == "intel") return intel::parse_config(v, L, c.intel_feeds);
    if (k == "yara") return yara::parse_config(v, L, c.yara);
    if (k == "incidents")  // relative rule/table paths: against the file's directory
      return cortex::parse_config(v, path, std::filesystem::path(path).parent_path().string(), c.incidents, L.err);
    if (k == "threshold-file") return L.str(v, c.threshold_file);
    if (k == "exception-policy") {  // Suricata's master switch; this IDS honours auto = ignore only
      std::string m;
      if (!L.str(v, m)) return false;
      if (m == "auto" || m == "ignore") return true;
      if (m == "drop-packet" || m == "drop-flow" || m == "reject" || m == "bypass" || m == "pass-packet" ||
          m == "pass-flow")
        return L.fail(v, "exception-policy: " + m + " is not supported (this IDS honours auto and ignore: "
                         "at a memcap it keeps inspecting what it can and counts the loss)");
      return L.fail(v, "exception-policy: expected auto or ignore");
    }
    if (k == "checksum") {
      std::string m;
      if (!L.str(v, m)) return false;
      if (m == "none") c.checksum_validate = false;
      else if (m == "all") c.checksum_validate = true;
      else return L.fail(v, "checksum: expected none or all");
      return true;
    }
    return false;
  });
  });
  if (!ok) {
    err = L.err;
    return std::nullopt;
  }
  resolve_inputs(c, path);
  return c;
}

std::string find_default_config() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("SPECTRE_CONFIG"))
    return std::string(env) == "none" ? std::string() : std::string(env);
  std::error_code ec;
  if (fs::exists("/etc/spectre/spectre.yaml", ec)) return "/etc/spectre/spectre.yaml";
  // build/dataplane/spectre-dp -> config/spectre.yaml of the same checkout.
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path repo = exe.parent_path().parent_path().parent_path() / "config" / "spectre.yaml";
    if (fs::exists(repo, ec)) return repo.string();
  }
  return "";
}

}  // namespace spectre
