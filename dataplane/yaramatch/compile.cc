// YARA compilation (main thread or a reload helper, never a worker).
#include "dataplane/yaramatch/compile.h"

// libyara declares strlcpy/strlcat itself unless told they exist: DPDK's
// libbsd headers declare them too, with C linkage.
#define HAVE_STRLCPY 1
#define HAVE_STRLCAT 1
#include <yara.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <system_error>

#include <fmt/format.h>

namespace spectre::yara {

bool parse_config(const YAML::Node& v, YamlReader& L, Config& c) {
  return L.each(v, "yara", [&](const std::string& k, const YAML::Node& x) {
    if (k == "rules") return L.strs(x, c.rules);
    if (k == "max_file_size") return L.u32(x, c.max_file_size, 1, 1u << 30);
    if (k == "timeout") return L.u32(x, c.timeout_s, 1, 3600);
    if (k == "stream_bytes") {
      if (!L.u32(x, c.stream_bytes, 0, 1u << 24)) return false;
      return c.stream_bytes == 0 ||
             L.fail(x, "yara.stream_bytes: scanning stream directions is not implemented yet (only 0)");
    }
    return false;
  });
}

RuleSet::~RuleSet() {
  if (rules_) yr_rules_destroy(rules_);
}

namespace {
struct Lib {
  bool ok = yr_initialize() == ERROR_SUCCESS;
  ~Lib() {
    if (ok) yr_finalize();
  }
};
}  // namespace

bool init() {
  static Lib lib;  // thread-safe static initialisation: one yr_initialize
  return lib.ok;
}

namespace {

struct Diag {
  std::vector<std::string> errors, warnings;
};

void on_diag(int level, const char* file, int line, const YR_RULE*, const char* msg, void* u) {
  auto* d = static_cast<Diag*>(u);
  const char* f = file ? file : "?";
  if (level == YARA_ERROR_LEVEL_ERROR) d->errors.push_back(fmt::format("{}:{}: {}", f, line, msg));
  else d->warnings.push_back(fmt::format("{}:{}: warning: {}", f, line, msg));
}

// Files named, directories expanded (sorted); false with err on a missing path.
bool expand(const std::vector<std::string>& paths, std::vector<std::string>& out, std::string& err) {
  namespace fs = std::filesystem;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> in;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        const std::string ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".yar" || ext == ".yara")) in.push_back(e.path().string());
      }
      if (ec) {
        err = fmt::format("{}: cannot read the YARA rule directory: {}", p, ec.message());
        return false;
      }
      std::sort(in.begin(), in.end());
      out.insert(out.end(), in.begin(), in.end());
    } else {
      out.push_back(p);
    }
  }
  return true;
}

}  // namespace

std::shared_ptr<const RuleSet> compile(const std::vector<std::string>& paths, bool strict, std::string& err,
                                       std::vector<std::string>* warnings) {
  err.clear();
  if (!init()) {
    err = "libyara failed to initialise";
    return nullptr;
  }
  std::vector<std::string> files;
  if (!expand(paths, files, err)) return nullptr;
  YR_COMPILER* comp = nullptr;
  if (yr_compiler_create(&comp) != ERROR_SUCCESS) {
    err = "yr_compiler_create failed (out of memory)";
    return nullptr;
  }
  Diag diag;
  yr_compiler_set_callback(comp, on_diag, &diag);
  for (const auto& f : files) {
    FILE* fp = fopen(f.c_str(), "r");
    if (!fp) {
      err = fmt::format("{}: cannot open YARA rule file: {}", f, strerror(errno));
      yr_compiler_destroy(comp);
      return nullptr;
    }
    const std::string ns = std::filesystem::path(f).stem().string();
    // libyara refuses to compile more once a file had errors: stop at the first broken file.
    const int nerr = yr_compiler_add_file(comp, fp, ns.c_str(), f.c_str());
    fclose(fp);
    if (nerr) break;
  }
  if (warnings) *warnings = diag.warnings;
  if (!diag.errors.empty() || (strict && !diag.warnings.empty())) {
    const auto& v = diag.errors.empty() ? diag.warnings : diag.errors;
    for (size_t i = 0; i < v.size() && i < 3; i++) err += (i ? "; " : "") + v[i];
    if (v.size() > 3) err += fmt::format(" (and {} more)", v.size() - 3);
    if (diag.errors.empty()) err = "--strict: " + err;
    yr_compiler_destroy(comp);
    return nullptr;
  }
  YR_RULES* rules = nullptr;
  const int rc = yr_compiler_get_rules(comp, &rules);
  yr_compiler_destroy(comp);
  if (rc != ERROR_SUCCESS) {
    err = fmt::format("yr_compiler_get_rules failed (libyara error {})", rc);
    return nullptr;
  }
  uint32_t n = 0;
  const YR_RULE* r;
  yr_rules_foreach(rules, r) n++;
  if (!n) {
    yr_rules_destroy(rules);
    if (strict) err = fmt::format("--strict: no YARA rule in {} file(s)", files.size());
    return nullptr;
  }
  return std::make_shared<const RuleSet>(rules, n, uint32_t(files.size()));
}

std::string summary(const RuleSet& rs, const Config& c) {
  return fmt::format("yara: {} rule(s) from {} file(s); files scanned up to {} bytes (of what the app layer keeps)",
                     rs.count(), rs.files(), c.max_file_size);
}

}  // namespace spectre::yara
