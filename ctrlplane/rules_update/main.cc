// spectre-rules: rule management like suricata-update (see options.cc for usage).
#include <curl/curl.h>

#include <cstdio>

#include "ctrlplane/rules_update/options.h"

int main(int argc, char** argv) {
  using namespace spectre::rules_update;
  UpdateOptions o;
  std::string err;
  const int rc = parse_args(argc, argv, o, err);
  if (rc == -1) {
    std::fputs(usage_text(), stdout);
    return 0;
  }
  if (rc != 0) {
    std::fprintf(stderr, "spectre-rules: %s\n%s", err.c_str(), usage_text());
    return rc;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  UpdateReport rep;
  const int code = run_update(o, rep);
  const std::string out = o.json ? report_json(o, rep) : report_text(o, rep);
  std::fputs(out.c_str(), code == 0 || o.json ? stdout : stderr);
  curl_global_cleanup();
  return code;
}
