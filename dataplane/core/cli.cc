#include "dataplane/core/cli.h"

#include <cctype>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "dataplane/intel/config.h"
#include "dataplane/rules/rule.h"

namespace spectre {

const char* usage_text() {
  return "usage:\n"
         "  spectre-dp -r FILE.pcap [-r FILE2 ...] [-S RULES ...] [--workers N] [--eve FILE] [--config FILE]\n"
         "  spectre-dp [EAL options] -- [--config FILE] [--eve FILE] [--workers N]\n"
         "options:\n"
         "  -r, --read FILE     read a pcap/pcapng capture (repeatable); offline mode\n"
         "  --workers N         worker cores (offline default 1; live: EAL lcores - 1)\n"
         "  --eve FILE          EVE JSON output file ('-' for stdout)\n"
         "  --config FILE       YAML configuration (SIGHUP re-reads it); 'none': built-in defaults.\n"
         "                      Without it: $SPECTRE_CONFIG, /etc/spectre/spectre.yaml, else the\n"
         "                      repository's config/spectre.yaml (shipped rules and default model)\n"
         "  --home-net CIDR[,CIDR]  the protected networks ($HOME_NET of the rules)\n"
         "  -S FILE             load exactly these rule files (repeatable), like Suricata's -S\n"
         "  --rules-dir DIR     load every *.rules file in DIR\n"
         "  --strict            any rule error, unsupported keyword or empty rule set is fatal\n"
         "                      (default: run with the rules that load, even none)\n"
         "  --rules-report FILE write every rule error and skip to FILE\n"
         "  --threshold-file FILE  Suricata threshold.config: suppress, threshold/event_filter,\n"
         "                      rate_filter (reloaded with the rules)\n"
         "  --rules-cache DIR|none  keep compiled pattern databases in DIR (rules.cache_dir): a restart\n"
         "                      or reload with unchanged rules skips their compile; 'none': off\n"
         "  --fast FILE         Suricata fast.log alert lines\n"
         "  -k none|all         checksum validation (default none: ignore bad checksums)\n"
         "  --midstream / --no-midstream  pick up TCP sessions whose handshake was not seen\n"
         "                      (stream.midstream, default on); off: no session, inspected per packet,\n"
         "                      never established (as Suricata)\n"
         "  --async-oneside / --no-async-oneside  a handshake seen from one side only\n"
         "                      establishes the session (stream.async_oneside, default off)\n"
         "  --model FILE.spm    score flows with this ML model (spectre-ml); --no-ml: none\n"
         "  --dump-features FILE.csv  one CSV row of per-flow features per scoring point\n"
         "  --score-points N,M  early ML scoring after N and M packets (default 4,16; 'none')\n"
         "  --intel PATH        threat-intel feed (repeatable): MISP feed directory, STIX 2.1 bundle (.json)\n"
         "                      or abuse.ch CSV (Feodo, SSLBL JA3/certificates, URLhaus); reloaded with SIGHUP\n"
         "  --yara FILE|DIR     YARA rules (repeatable; a directory: its *.yar, *.yara) scanned over every\n"
         "                      extracted file (yara: in the configuration); reloaded with SIGHUP\n"
         "  --incident-rules FILE  correlation rules for incidents (repeatable; default: the shipped set)\n"
         "  --assets FILE          asset file for incidents (addresses -> criticality, tags; allow-list)\n"
         "  --no-incidents      no correlation: no EVE incident records\n"
         "  --instance NAME     control-plane channel /dev/shm/spectre-NAME for spectre-cp (mode 0600)\n"
         "  --progress / --no-progress   progress line on stderr (default: if a terminal)\n"
         "  -h, --help          this help;  --version  print the version\n";
}

bool parse_cli(int argc, char** argv, Options& o, std::string& err) {
  std::vector<std::string> args(argv + 1, argv + argc);
  size_t sep = args.size();
  for (size_t i = 0; i < args.size(); i++)
    if (args[i] == "--") { sep = i; break; }
  std::vector<std::string> app;
  if (sep < args.size()) {
    o.eal_args.assign(args.begin(), args.begin() + long(sep));
    app.assign(args.begin() + long(sep) + 1, args.end());
  } else {
    bool ours = false;  // no "--": our options only, unless they look like EAL's
    for (auto& a : args)
      if (a == "-r" || a == "--read" || a == "-S" || a == "-h" || a == "--help" || a == "--version") ours = true;
    if (ours || args.empty()) app = args; else o.eal_args = args;
  }
  for (size_t i = 0; i < app.size(); i++) {
    const std::string& a = app[i];
    auto value = [&](const char* name) -> const std::string* {
      if (i + 1 >= app.size()) {
        err = fmt::format("option {} needs a value", name);
        return nullptr;
      }
      return &app[++i];
    };
    if (a == "-r" || a == "--read") {
      auto v = value(a.c_str()); if (!v) return false;
      o.reads.push_back(*v);
    } else if (a == "--workers") {
      auto v = value("--workers"); if (!v) return false;
      char* end = nullptr;
      long n = std::strtol(v->c_str(), &end, 10);
      if (!end || *end || n < 1 || n > 128) {
        err = fmt::format("--workers: expected 1..128, got '{}'", *v);
        return false;
      }
      o.workers = int(n);
    } else if (a == "--eve") {
      auto v = value("--eve"); if (!v) return false;
      o.eve_path = *v;
    } else if (a == "--config" || a == "-c") {
      auto v = value("--config"); if (!v) return false;
      o.config_path = *v;
    } else if (a == "--home-net") {
      auto v = value("--home-net"); if (!v) return false;
      std::string set = "[" + *v + "]";
      rules::IpSet parsed;
      std::string perr;
      if (v->empty() || v->find('$') != std::string::npos ||
          !rules::parse_address_set(set, rules::Vars::suricata_defaults(), parsed, perr)) {
        err = fmt::format("--home-net: expected addresses or CIDRs like 10.0.0.0/8,192.168.1.0/24, got '{}'{}{}",
                          *v, perr.empty() ? "" : ": ", perr);
        return false;
      }
      o.home_net = set;
    } else if (a == "-S") {
      auto v = value("-S"); if (!v) return false;
      o.rule_files.push_back(*v);
    } else if (a == "--rules-dir") {
      auto v = value("--rules-dir"); if (!v) return false;
      o.rules_dir = *v;
    } else if (a == "--fast") {
      auto v = value("--fast"); if (!v) return false;
      o.fast_path = *v;
    } else if (a == "--rules-report") {
      auto v = value("--rules-report"); if (!v) return false;
      o.rules_report = *v;
    } else if (a == "-k") {
      auto v = value("-k"); if (!v) return false;
      if (*v == "none") o.checksum = 0;
      else if (*v == "all") o.checksum = 1;
      else {
        err = fmt::format("-k: expected none or all, got '{}'", *v);
        return false;
      }
    } else if (a == "--model") {
      auto v = value("--model"); if (!v) return false;
      o.model_path = *v;
    } else if (a == "--dump-features") {
      auto v = value("--dump-features"); if (!v) return false;
      o.dump_features = *v;
    } else if (a == "--score-points") {
      auto v = value("--score-points"); if (!v) return false;
      o.score_points = *v;
      if (*v != "none") {
        size_t count = 0, pos = 0;
        while (pos <= v->size()) {
          size_t c = v->find(',', pos);
          std::string t = v->substr(pos, c == std::string::npos ? std::string::npos : c - pos);
          char* end = nullptr;
          long n = std::strtol(t.c_str(), &end, 10);
          if (t.empty() || !end || *end || n < 1 || n > 65535 || ++count > 3) {
            err = fmt::format("--score-points: expected up to 3 packet counts 1..65535 like 4,16 or 'none', got '{}'", *v);
            return false;
          }
          if (c == std::string::npos) break;
          pos = c + 1;
        }
      }
    } else if (a == "--instance") {
      auto v = value("--instance"); if (!v) return false;
      bool ok = !v->empty() && v->size() <= 64;
      for (char ch : *v) ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_');
      if (!ok) {
        err = fmt::format("--instance: expected 1-64 letters, digits, '-' or '_', got '{}'", *v);
        return false;
      }
      o.instance = *v;
    } else if (a == "--yara") {
      auto v = value("--yara"); if (!v) return false;
      o.yara.push_back(*v);
    } else if (a == "--intel") {
      auto v = value("--intel"); if (!v) return false;
      o.intel.push_back(*v);
    } else if (a == "--no-ml") {
      o.no_ml = true;
    } else if (a == "--no-incidents") {
      o.no_incidents = true;
    } else if (a == "--incident-rules") {
      auto v = value("--incident-rules"); if (!v) return false;
      o.incident_rules.push_back(*v);
    } else if (a == "--assets") {
      auto v = value("--assets"); if (!v) return false;
      o.assets = *v;
    } else if (a == "--threshold-file") {
      auto v = value("--threshold-file"); if (!v) return false;
      o.threshold_file = *v;
    } else if (a == "--rules-cache") {
      auto v = value("--rules-cache"); if (!v) return false;
      o.rules_cache = *v;
    } else if (a == "--strict") {
      o.strict = true;
    } else if (a == "--no-midstream" || a == "--midstream") {
      o.midstream = a == "--midstream";
      o.no_midstream = !o.midstream;
    } else if (a == "--async-oneside" || a == "--no-async-oneside") {
      o.async_oneside = a == "--async-oneside";
    } else if (a == "--progress") {
      o.progress = 1;
    } else if (a == "--no-progress") {
      o.progress = 0;
    } else if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "--version") {
      o.version = true;
    } else {
      err = fmt::format("unknown option '{}'", a);
      return false;
    }
  }
  return true;
}

void apply_cli_overrides(Config& c, const Options& o) {
  if (!o.eve_path.empty()) c.eve_path = o.eve_path;
  if (!o.fast_path.empty()) c.fast_path = o.fast_path;
  if (!o.rule_files.empty()) c.rule_files = o.rule_files;
  if (!o.rules_dir.empty()) {
    c.rules_dir = o.rules_dir;
    c.rules_dir_optional = false;  // named on the command line: must exist
  }
  if (o.strict) c.rules_strict = true;
  if (!o.threshold_file.empty()) c.threshold_file = o.threshold_file;
  if (!o.rules_cache.empty()) c.rules_cache_dir = o.rules_cache == "none" ? std::string() : o.rules_cache;
  if (o.checksum >= 0) c.checksum_validate = o.checksum == 1;
  if (o.midstream >= 0) c.midstream = o.midstream == 1;
  if (o.async_oneside >= 0) c.async_oneside = o.async_oneside == 1;
  if (!o.model_path.empty()) c.ml_model = o.model_path;
  if (o.no_ml) c.ml_model.clear();
  if (o.no_incidents) c.incidents.enabled = false;
  if (!o.incident_rules.empty()) {
    c.incidents.rule_files = o.incident_rules;
    c.incidents.configured = true;
  }
  if (!o.assets.empty()) {
    c.incidents.assets_file = o.assets;
    c.incidents.configured = true;
  }
  if (!o.instance.empty()) c.control_instance = o.instance;
  c.yara.rules.insert(c.yara.rules.end(), o.yara.begin(), o.yara.end());
  for (const auto& p : o.intel) {
    intel::FeedSpec f;
    f.path = p;
    f.name = intel::feed_name_for(p);
    c.intel_feeds.push_back(f);
  }
  if (!o.dump_features.empty()) c.dump_features = o.dump_features;
  if (!o.home_net.empty()) c.address_vars["HOME_NET"] = o.home_net;
  if (!o.reads.empty() && o.workers) c.workers = uint32_t(o.workers);
  if (!o.score_points.empty()) {
    c.ml_points.clear();
    if (o.score_points != "none")  // validated by parse_cli
      for (size_t pos = 0; pos <= o.score_points.size();) {
        size_t comma = o.score_points.find(',', pos);
        c.ml_points.push_back(uint32_t(std::strtoul(o.score_points.substr(pos, comma - pos).c_str(), nullptr, 10)));
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
  }
}

}  // namespace spectre
