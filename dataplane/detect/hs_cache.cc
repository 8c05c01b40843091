#include "dataplane/detect/hs_cache.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <vector>

namespace spectre {
namespace {

// File: magic (8) | SHA-256 of the payload (32) | hs_serialize_database output.
constexpr char kMagic[8] = {'S', 'P', 'H', 'S', 'D', 'B', '1', '\n'};
constexpr size_t kHead = sizeof(kMagic) + 32;

void note(HsCacheStats& st, const std::string& what) {
  if (st.errors++ == 0) st.first_error = what;
}

bool digest(const void* data, size_t n, uint8_t out[32]) {
  unsigned len = 0;
  return EVP_Digest(data, n, out, &len, EVP_sha256(), nullptr) == 1 && len == 32;
}

// SHA-256 over everything the database depends on: Hyperscan's version and target
// platform, the mode, and each pattern's bytes, flags and id in order.
std::string key_hex(const char* const* exprs, const unsigned* flags, const unsigned* ids, const size_t* lens,
                    unsigned n, unsigned mode) {
  std::vector<uint8_t> k;
  auto put = [&](const void* p, size_t len) {
    const auto* b = static_cast<const uint8_t*>(p);
    k.insert(k.end(), b, b + len);
  };
  const char* ver = hs_version();
  put(ver, std::strlen(ver) + 1);
  hs_platform_info_t plat{};
  hs_populate_platform(&plat);
  put(&plat.tune, sizeof plat.tune);
  put(&plat.cpu_features, sizeof plat.cpu_features);
  put(&mode, sizeof mode);
  put(&n, sizeof n);
  for (unsigned i = 0; i < n; i++) {
    uint64_t len = lens[i];
    put(&len, sizeof len);
    put(exprs[i], lens[i]);
    put(&flags[i], sizeof flags[i]);
    put(&ids[i], sizeof ids[i]);
  }
  uint8_t h[32];
  if (!digest(k.data(), k.size(), h)) return {};
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (uint8_t c : h) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

bool read_file(const std::string& path, std::vector<char>& buf) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat sb{};
  bool ok = fstat(fd, &sb) == 0 && sb.st_size >= 0;
  if (ok) {
    buf.resize(size_t(sb.st_size));
    size_t got = 0;
    while (got < buf.size()) {
      ssize_t r = ::read(fd, buf.data() + got, buf.size() - got);
      if (r <= 0) break;
      got += size_t(r);
    }
    ok = got == buf.size();
  }
  ::close(fd);
  return ok;
}

// The cached database, or nullptr (absent: silently; present but unusable: counted).
hs_database_t* load(const std::string& path, HsCacheStats& st) {
  std::vector<char> buf;
  if (!read_file(path, buf)) {
    if (errno != ENOENT) note(st, path + ": " + std::strerror(errno));
    return nullptr;
  }
  uint8_t h[32];
  if (buf.size() <= kHead || std::memcmp(buf.data(), kMagic, sizeof kMagic) != 0 ||
      !digest(buf.data() + kHead, buf.size() - kHead, h) || std::memcmp(h, buf.data() + sizeof kMagic, 32) != 0) {
    note(st, path + ": corrupt (checksum), recompiled");
    return nullptr;
  }
  hs_database_t* db = nullptr;
  if (hs_deserialize_database(buf.data() + kHead, buf.size() - kHead, &db) != HS_SUCCESS) {
    note(st, path + ": not loadable by this Hyperscan, recompiled");
    return nullptr;
  }
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);  // used now: not pruned
  return db;
}

void store(const std::string& dir, const std::string& path, const hs_database_t* db, HsCacheStats& st) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  char* bytes = nullptr;
  size_t len = 0;
  if (hs_serialize_database(db, &bytes, &len) != HS_SUCCESS) {
    note(st, "hyperscan: serialize failed");
    return;
  }
  uint8_t h[32];
  bool ok = digest(bytes, len, h);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ok ? ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
  if (fd >= 0) {
    ok = ::write(fd, kMagic, sizeof kMagic) == ssize_t(sizeof kMagic) && ::write(fd, h, 32) == 32 &&
         ::write(fd, bytes, len) == ssize_t(len);
    ok = ::close(fd) == 0 && ok;
    ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0;
    if (!ok) ::unlink(tmp.c_str());
  } else {
    ok = false;
  }
  if (!ok) note(st, dir + ": cannot write the rule cache (" + std::strerror(errno) + ")");
  std::free(bytes);  // hs_serialize_database allocates with the default (malloc) allocator
}

}  // namespace

std::string hs_cache_path(const std::string& dir, const char* const* exprs, const unsigned* flags,
                          const unsigned* ids, const size_t* lens, unsigned n, unsigned mode) {
  std::string k = key_hex(exprs, flags, ids, lens, n, mode);
  return k.empty() ? std::string() : dir + "/" + k + ".hsdb";
}

hs_error_t hs_compile_lit_cached(const std::string& dir, const char* const* exprs, const unsigned* flags,
                                 const unsigned* ids, const size_t* lens, unsigned n, unsigned mode,
                                 hs_database_t** db, hs_compile_error_t** ce, HsCacheStats& st) {
  std::string path = dir.empty() ? std::string() : hs_cache_path(dir, exprs, flags, ids, lens, n, mode);
  if (!path.empty()) {
    if ((*db = load(path, st))) {
      st.hits++;
      return HS_SUCCESS;
    }
  }
  hs_error_t e = hs_compile_lit_multi(exprs, flags, ids, lens, n, mode, nullptr, db, ce);
  if (e == HS_SUCCESS && !path.empty()) {
    st.misses++;
    store(dir, path, *db, st);
  }
  return e;
}

void hs_cache_prune(const std::string& dir, int64_t max_age_s, HsCacheStats& st) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != ".hsdb") continue;
    auto t = fs::last_write_time(p, ec);
    if (ec) continue;
    if (std::chrono::duration_cast<std::chrono::seconds>(now - t).count() > max_age_s && fs::remove(p, ec))
      st.pruned++;
  }
}

}  // namespace spectre
