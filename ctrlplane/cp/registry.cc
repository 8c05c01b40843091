#include "ctrlplane/cp/registry.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iterator>

#include "ctrlplane/cp/json_out.h"
#include "ml/artifact.h"

namespace spectre::cp {

namespace {

constexpr uint64_t kMaxArtifactBytes = 1ull << 30;  // sanity bound on what we read into memory
constexpr int64_t kIndexVersion = 1;

std::string errno_str(const std::string& what) { return what + ": " + std::strerror(errno); }

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// Writes `data` to `path` via a unique temp file in the same directory, fsync, rename.
bool write_atomic(const std::string& dir, const std::string& path, const void* data, size_t n,
                  mode_t mode, std::string& err) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp = dir + "/.tmp." + std::to_string(getpid()) + "." + std::to_string(++counter);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) { err = errno_str("registry: cannot create " + tmp); return false; }
  const char* p = static_cast<const char*>(data);
  size_t left = n;
  while (left > 0) {
    ssize_t w = ::write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      err = errno_str("registry: write " + tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return false;
    }
    p += w;
    left -= size_t(w);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    err = errno_str("registry: fsync " + tmp);
    ::unlink(tmp.c_str());
    return false;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno_str("registry: rename to " + path);
    ::unlink(tmp.c_str());
    return false;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) { ::fsync(dfd); ::close(dfd); }
  return true;
}

// Exclusive lock on DIR/.lock for the lifetime of the object.
class DirLock {
 public:
  explicit DirLock(const std::string& dir) {
    fd_ = ::open((dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {}
    }
  }
  ~DirLock() { if (fd_ >= 0) ::close(fd_); }
  bool ok() const { return fd_ >= 0; }
 private:
  int fd_ = -1;
};

}  // namespace

std::string iso_time_utc(int64_t unix_s) {
  time_t t = time_t(unix_s);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool ModelRegistry::open(const std::string& dir, std::string& err) {
  std::lock_guard g(mu_);
  dir_ = dir;
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
  // Create the parents too (mkdir -p), each with mode 0750.
  for (size_t p = 1; p <= dir_.size(); p++) {
    if (p != dir_.size() && dir_[p] != '/') continue;
    std::string part = dir_.substr(0, p);
    if (::mkdir(part.c_str(), 0750) != 0 && errno != EEXIST) {
      err = errno_str("registry: cannot create " + part);
      return false;
    }
  }
  struct stat sb;
  if (::stat(dir_.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    err = "registry: " + dir_ + " is not a directory";
    return false;
  }
  State st;
  if (!read_index(st, err)) return false;
  st_ = std::move(st);
  return true;
}

bool ModelRegistry::refresh(std::string& err) {
  std::lock_guard g(mu_);
  State st;
  if (!read_index(st, err)) return false;
  st_ = std::move(st);
  return true;
}

bool ModelRegistry::read_index(State& st, std::string& err) const {
  st = State{};
  std::string path = dir_ + "/index.json";
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0 && errno == ENOENT) return true;  // empty registry
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    err = errno_str("registry: cannot read " + path);
    return false;
  }
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ml::json::Doc d;
  std::string perr;
  if (!d.parse(text, perr) || d.type(d.root()) != ml::json::Type::Object) {
    err = "registry: " + path + " is corrupt (" + (perr.empty() ? "not an object" : perr) +
          "); fix or move it away";
    return false;
  }
  int64_t ver = jget_int(d, 0, "version", -1);
  if (ver != kIndexVersion) {
    err = "registry: " + path + " has version " + std::to_string(ver) + ", expected " +
          std::to_string(kIndexVersion);
    return false;
  }
  uint32_t models = d.find(0, "models");
  if (models != ml::json::kNone && d.type(models) == ml::json::Type::Array) {
    for (uint32_t c = d.first(models); c != ml::json::kNone; c = d.next(c)) {
      if (d.type(c) != ml::json::Type::Object) continue;
      ModelEntry e;
      e.name = jget_str(d, c, "name");
      e.version = jget_str(d, c, "version");
      e.sha256 = jget_str(d, c, "sha256");
      e.kind = jget_str(d, c, "kind");
      e.loaded_at = jget_str(d, c, "loaded_at");
      e.loaded_at_unix = jget_int(d, c, "loaded_at_unix");
      e.who = jget_str(d, c, "who");
      e.source = jget_str(d, c, "source");
      if (!is_hex64(e.sha256)) {
        err = "registry: " + path + " holds an entry with a bad sha256";
        return false;
      }
      st.models.push_back(std::move(e));
    }
  }
  uint32_t hist = d.find(0, "history");
  if (hist != ml::json::kNone && d.type(hist) == ml::json::Type::Array) {
    for (uint32_t c = d.first(hist); c != ml::json::kNone; c = d.next(c)) {
      std::string s = d.type(c) == ml::json::Type::String ? d.str(c) : "";
      if (!find(st, s)) {
        err = "registry: " + path + ": history names an unknown model";
        return false;
      }
      st.history.push_back(s);
    }
  }
  st.shadow = jget_str(d, 0, "shadow");
  if (!st.shadow.empty() && !find(st, st.shadow)) st.shadow.clear();
  return true;
}

bool ModelRegistry::write_index(const State& st, std::string& err) const {
  JsonOut j;
  j.begin_obj().kv("version", kIndexVersion);
  j.kv("active", st.history.empty() ? std::string() : st.history.back());
  j.kv("shadow", st.shadow);
  j.key("history").begin_arr();
  for (const auto& h : st.history) j.str(h);
  j.end_arr();
  j.key("models").begin_arr();
  for (const auto& e : st.models) {
    j.begin_obj().kv("name", e.name).kv("version", e.version).kv("sha256", e.sha256)
        .kv("kind", e.kind).kv("loaded_at", e.loaded_at).kv("loaded_at_unix", e.loaded_at_unix)
        .kv("who", e.who).kv("source", e.source).kv("file", e.sha256 + ".spm").end_obj();
  }
  j.end_arr().end_obj();
  std::string text = j.take();
  text += '\n';
  return write_atomic(dir_, dir_ + "/index.json", text.data(), text.size(), 0640, err);
}

template <class F>
bool ModelRegistry::update(F&& f, std::string& err) {
  std::lock_guard g(mu_);
  DirLock lock(dir_);
  if (!lock.ok()) { err = errno_str("registry: cannot lock " + dir_ + "/.lock"); return false; }
  State st;
  if (!read_index(st, err)) return false;
  if (!f(st, err)) { st_ = std::move(st); return false; }
  if (!write_index(st, err)) return false;
  st_ = std::move(st);
  return true;
}

const ModelEntry* ModelRegistry::find(const State& st, const std::string& sha) {
  for (const auto& e : st.models)
    if (e.sha256 == sha) return &e;
  return nullptr;
}

bool ModelRegistry::validate(const std::string& file, const std::string& expected_schema,
                             ModelCandidate& out, std::string& err) {
  out = ModelCandidate{};
  // Read once and validate those bytes (ml::load_artifact, the body of
  // load_artifact_file), so the stored copy is exactly what was checked.
  struct stat sb;
  if (::stat(file.c_str(), &sb) != 0) { err = errno_str("cannot read " + file); return false; }
  if (!S_ISREG(sb.st_mode)) { err = file + ": not a regular file"; return false; }
  if (uint64_t(sb.st_size) > kMaxArtifactBytes) { err = file + ": larger than 1 GiB"; return false; }
  std::ifstream f(file, std::ios::binary);
  if (!f) { err = errno_str("cannot read " + file); return false; }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ml::LoadedModel m;
  std::string lerr;
  if (!ml::load_artifact(bytes, m, lerr)) {
    err = file + ": invalid model artifact: " + lerr;
    return false;
  }
  if (!expected_schema.empty() && m.feature_schema_hash != expected_schema) {
    err = file + ": feature schema mismatch: the artifact was trained on schema " +
          m.feature_schema_hash.substr(0, 16) + "..., the data plane computes " +
          expected_schema.substr(0, 16) + "... (spectre-ml schema); retrain on rows from --dump-features";
    return false;
  }
  out.source = file;
  size_t slash = file.find_last_of('/');
  std::string name = file.substr(slash == std::string::npos ? 0 : slash + 1);
  if (name.size() > 4 && name.compare(name.size() - 4, 4, ".spm") == 0) name.resize(name.size() - 4);
  out.entry.name = name;
  out.entry.sha256 = m.sha256;
  out.entry.version = m.sha256.substr(0, 12);
  for (const auto& [k, v] : m.metrics)  // same rule as the data plane (load_ml_model)
    if (k == "version") out.entry.version = std::to_string(int64_t(v));
  out.entry.kind = m.kind == ml::ModelKind::XGBoost ? "xgboost" : "iforest";
  out.entry.source = file;
  out.size = bytes.size();
  out.num_features = m.num_features;
  out.num_outputs = uint32_t(m.num_outputs());
  out.validation_rows = uint32_t(m.validation.size());
  out.bytes = std::move(bytes);
  return true;
}

std::string ModelRegistry::path_of(const std::string& sha256) const { return dir_ + "/" + sha256 + ".spm"; }

bool ModelRegistry::store(const ModelCandidate& c, std::string& stored_path, std::string& err) {
  if (!is_hex64(c.entry.sha256) || c.bytes.empty()) { err = "registry: not a validated artifact"; return false; }
  stored_path = path_of(c.entry.sha256);
  struct stat sb;
  if (::stat(stored_path.c_str(), &sb) == 0 && uint64_t(sb.st_size) == c.bytes.size()) return true;
  return write_atomic(dir_, stored_path, c.bytes.data(), c.bytes.size(), 0640, err);
}

void ModelRegistry::discard(const std::string& sha256) {
  if (!is_hex64(sha256)) return;
  std::lock_guard g(mu_);
  DirLock lock(dir_);
  State st;
  std::string err;
  if (!read_index(st, err) || find(st, sha256)) return;
  ::unlink(path_of(sha256).c_str());
}

bool ModelRegistry::activate(const ModelEntry& e, std::string& err) {
  return update([&](State& st, std::string&) {
    bool found = false;
    for (auto& m : st.models)
      if (m.sha256 == e.sha256) { m = e; found = true; }
    if (!found) st.models.push_back(e);
    if (st.history.empty() || st.history.back() != e.sha256) st.history.push_back(e.sha256);
    // Bound the history (a rollback chain longer than this is not useful).
    if (st.history.size() > 256) st.history.erase(st.history.begin());
    if (st.shadow == e.sha256) st.shadow.clear();
    return true;
  }, err);
}

bool ModelRegistry::previous(ModelEntry& out, std::string& err) const {
  std::lock_guard g(mu_);
  if (st_.history.empty()) { err = "no model has been loaded, nothing to roll back"; return false; }
  if (st_.history.size() < 2) { err = "no previous model version to roll back to"; return false; }
  const ModelEntry* e = find(st_, st_.history[st_.history.size() - 2]);
  if (!e) { err = "registry: previous version missing from the index"; return false; }
  out = *e;
  return true;
}

bool ModelRegistry::rollback(const std::string& expect_active, std::string& err) {
  return update([&](State& st, std::string& e) {
    if (st.history.size() < 2) { e = "no previous model version to roll back to"; return false; }
    if (st.history.back() != expect_active) { e = "the active model changed meanwhile; retry"; return false; }
    st.history.pop_back();
    return true;
  }, err);
}

bool ModelRegistry::add(const ModelEntry& e, std::string& err) {
  if (!is_hex64(e.sha256)) { err = "registry: bad sha256"; return false; }
  return update([&](State& st, std::string&) {
    if (!find(st, e.sha256)) st.models.push_back(e);
    return true;
  }, err);
}

bool ModelRegistry::set_shadow(const ModelEntry& e, std::string& err) {
  return update([&](State& st, std::string&) {
    if (!e.sha256.empty()) {
      bool found = false;
      for (auto& m : st.models) found |= m.sha256 == e.sha256;
      if (!found) st.models.push_back(e);
    }
    st.shadow = e.sha256;
    return true;
  }, err);
}

bool ModelRegistry::put_evaluation(const std::string& sha256, const std::string& json, std::string& err) {
  if (!is_hex64(sha256)) { err = "registry: bad sha256"; return false; }
  std::string text = json + "\n";
  return write_atomic(dir_, dir_ + "/" + sha256 + ".eval.json", text.data(), text.size(), 0640, err);
}

std::string ModelRegistry::evaluation(const std::string& sha256) const {
  if (!is_hex64(sha256)) return "";
  std::ifstream f(dir_ + "/" + sha256 + ".eval.json", std::ios::binary);
  if (!f) return "";
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::optional<ModelEntry> ModelRegistry::find_version(const std::string& v) const {
  std::lock_guard g(mu_);
  const ModelEntry* hit = nullptr;
  size_t hits = 0;
  for (const auto& e : st_.models) {
    const bool prefix = v.size() >= 8 && e.sha256.compare(0, v.size(), v) == 0;
    if (e.version == v || e.sha256 == v || prefix) {
      if (!hit || hit->sha256 != e.sha256) ++hits;
      hit = &e;
    }
  }
  return hits == 1 ? std::optional<ModelEntry>(*hit) : std::nullopt;
}

std::vector<ModelEntry> ModelRegistry::list() const { std::lock_guard g(mu_); return st_.models; }
std::vector<std::string> ModelRegistry::history() const { std::lock_guard g(mu_); return st_.history; }

std::optional<ModelEntry> ModelRegistry::active() const {
  std::lock_guard g(mu_);
  if (st_.history.empty()) return std::nullopt;
  const ModelEntry* e = find(st_, st_.history.back());
  return e ? std::optional<ModelEntry>(*e) : std::nullopt;
}

std::optional<ModelEntry> ModelRegistry::shadow() const {
  std::lock_guard g(mu_);
  const ModelEntry* e = st_.shadow.empty() ? nullptr : find(st_, st_.shadow);
  return e ? std::optional<ModelEntry>(*e) : std::nullopt;
}

}  // namespace spectre::cp
