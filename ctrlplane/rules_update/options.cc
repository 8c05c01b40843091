#include "ctrlplane/rules_update/options.h"

#include <cstring>

namespace spectre::rules_update {

const char* usage_text() {
  return "usage: spectre-rules update --source SRC [--source SRC ...] [options]\n"
         "\n"
         "Merges rule sources into one file, DIR/spectre.rules, applies enable/disable/modify/drop\n"
         "files in suricata-update's formats, test-loads the result with spectre-dp's own loader and\n"
         "compiler, installs it atomically and tells the running data plane to reload.\n"
         "\n"
         "  --source SRC          a directory of *.rules, a .tar.gz/.tgz/.tar/.zip of rules, a .rules file,\n"
         "                        or an http(s) URL (downloaded to DIR/.cache); classification.config in a\n"
         "                        source is merged into DIR/classification.config\n"
         "  --output DIR          rule directory (default /var/lib/spectre/rules; created if missing)\n"
         "  --enable-conf F       rules to enable (commented-out rules of the sources included)\n"
         "  --disable-conf F      rules to disable (written commented out: '# alert ...')\n"
         "  --modify-conf F       <matcher> \"<from-regex>\" \"<to>\" lines\n"
         "  --drop-conf F         rules to convert to drop ('would drop' in this IDS)\n"
         "                        matchers: SID, GID:SID, lists A,B, ranges LO-HI, re:REGEX, group:NAME,\n"
         "                        filename:PATH, metadata: KEY VALUE, classtype:NAME, multi:M1;M2;, *\n"
         "  --config F            spectre-dp configuration whose vars, classification and rule files\n"
         "                        the test load uses (default: Suricata's default vars)\n"
         "  --strict              a rule that fails to load or compile fails the update\n"
         "  --no-test             install without the test load\n"
         "  --dry-run             do everything but install and reload\n"
         "  --force               install and reload even when nothing changed\n"
         "  --reload-command CMD  run CMD (with /bin/sh) after installing\n"
         "  --pid-file F          send SIGUSR2 to the pid in F (spectre-dp reloads its rules on it)\n"
         "  --instance NAME       run 'spectrectl --instance NAME rules reload' (through spectre-cp)\n"
         "  --no-reload           do not reload\n"
         "  --json                print the report as one JSON object\n"
         "\n"
         "Exit status: 0 ok (or nothing changed), 1 failed (nothing installed, or installed but the\n"
         "reload failed: the message says which), 2 wrong use.\n";
}

int parse_args(int argc, char** argv, UpdateOptions& o, std::string& err) {
  if (argc < 2) {
    err = "missing command";
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") return -1;
  if (cmd != "update") {
    err = "unknown command '" + cmd + "' (expected: update)";
    return 2;
  }
  int reloads = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto val = [&](std::string& dst) {
      if (i + 1 >= argc || argv[i + 1][0] == '\0') {
        err = a + " needs a value";
        return false;
      }
      dst = argv[++i];
      return true;
    };
    std::string v;
    if (a == "-h" || a == "--help") return -1;
    if (a == "--source") {
      if (!val(v)) return 2;
      o.sources.push_back(v);
    } else if (a == "--output" || a == "-o") {
      if (!val(o.output_dir)) return 2;
    } else if (a == "--enable-conf") {
      if (!val(o.enable_conf)) return 2;
    } else if (a == "--disable-conf") {
      if (!val(o.disable_conf)) return 2;
    } else if (a == "--modify-conf") {
      if (!val(o.modify_conf)) return 2;
    } else if (a == "--drop-conf") {
      if (!val(o.drop_conf)) return 2;
    } else if (a == "--config") {
      if (!val(o.config_file)) return 2;
    } else if (a == "--reload-command") {
      if (!val(o.reload_command)) return 2;
      ++reloads;
    } else if (a == "--pid-file") {
      if (!val(o.pid_file)) return 2;
      ++reloads;
    } else if (a == "--instance") {
      if (!val(o.instance)) return 2;
      if (o.instance.find('/') != std::string::npos) {
        err = "bad instance name '" + o.instance + "'";
        return 2;
      }
      ++reloads;
    } else if (a == "--no-reload") {
      o.reload = false;
    } else if (a == "--no-test") {
      o.test = false;
    } else if (a == "--dry-run") {
      o.dry_run = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--strict") {
      o.strict = true;
    } else if (a == "--force") {
      o.force = true;
    } else {
      err = "unknown option '" + a + "'";
      return 2;
    }
  }
  if (o.sources.empty()) {
    err = "no --source given";
    return 2;
  }
  if (reloads > 1) {
    err = "--reload-command, --pid-file and --instance are alternatives: give one";
    return 2;
  }
  return 0;
}

}  // namespace spectre::rules_update
