#include "ctrlplane/rules_update/sources.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

namespace spectre::rules_update {

namespace fs = std::filesystem;

bool read_text(const std::string& path, std::string& data, std::string& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = path + ": cannot read";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  data = ss.str();
  return true;
}

namespace {

bool ends_with(const std::string& s, std::string_view suf) {
  return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

std::string base(const std::string& p) { return fs::path(p).filename().string(); }

bool is_archive_name(const std::string& p) {
  return ends_with(p, ".tar.gz") || ends_with(p, ".tgz") || ends_with(p, ".tar") || ends_with(p, ".tar.bz2") ||
         ends_with(p, ".tar.xz") || ends_with(p, ".zip");
}

bool read_file(const std::string& path, std::string& data, std::string& err) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!ec && size > kMaxSourceBytes) {
    err = path + ": larger than " + std::to_string(kMaxSourceBytes >> 20) + " MiB";
    return false;
  }
  return read_text(path, data, err);
}

void sort_files(std::vector<SourceFile>& v) {
  std::sort(v.begin(), v.end(), [](const SourceFile& a, const SourceFile& b) { return a.name < b.name; });
}

bool read_directory(const std::string& dir, SourceData& out, std::string& err) {
  std::error_code ec;
  uint64_t total = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string p = it->path().string();
    const bool rules = it->path().extension() == ".rules";
    if ((!rules && it->path().filename() != "classification.config") || !it->is_regular_file()) continue;
    SourceFile f{p, {}};
    if (!read_file(p, f.data, err)) return false;
    if ((total += f.data.size()) > kMaxSourceBytes) {
      err = dir + ": more than " + std::to_string(kMaxSourceBytes >> 20) + " MiB of rules";
      return false;
    }
    (rules ? out.rules : out.classification).push_back(std::move(f));
  }
  if (ec) {
    err = dir + ": cannot read directory: " + ec.message();
    return false;
  }
  sort_files(out.rules);
  return true;
}

size_t write_cb(char* p, size_t sz, size_t n, void* f) { return std::fwrite(p, sz, n, static_cast<FILE*>(f)); }

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Downloads `url` to `dest` (via a temporary file renamed into place).
bool download(const std::string& url, const FetchOptions& fo, const std::string& dest, std::string& err) {
  const std::string tmp = dest + ".part-" + std::to_string(::getpid());
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) {
    err = tmp + ": cannot create the download file";
    return false;
  }
  CURL* c = curl_easy_init();
  char ebuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, fo.connect_timeout_s);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, fo.timeout_s);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(kMaxSourceBytes));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "spectre-rules");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(c);
  curl_easy_cleanup(c);
  const bool wrote = std::fclose(f) == 0;
  if (rc != CURLE_OK || !wrote) {
    err = url + ": download failed: " + (rc != CURLE_OK ? (ebuf[0] ? ebuf : curl_easy_strerror(rc)) : "write error");
    ::unlink(tmp.c_str());
    return false;
  }
  if (std::rename(tmp.c_str(), dest.c_str()) != 0) {
    err = dest + ": cannot store the download";
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace

bool is_url(const std::string& spec) { return spec.rfind("http://", 0) == 0 || spec.rfind("https://", 0) == 0; }

bool read_archive(const std::string& path, SourceData& out, std::string& err) {
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
    err = path + ": cannot open archive: " + archive_error_string(a.get());
    return false;
  }
  uint64_t total = 0;
  uint32_t entries = 0;
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    if (++entries > kMaxArchiveEntries) {
      err = path + ": more than " + std::to_string(kMaxArchiveEntries) + " archive entries";
      return false;
    }
    const char* pn = archive_entry_pathname(e);
    const std::string name = pn ? pn : "";
    const bool rules = ends_with(name, ".rules");
    if (archive_entry_filetype(e) != AE_IFREG || (!rules && base(name) != "classification.config")) continue;
    SourceFile f{name, {}};
    char buf[1 << 16];
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) {
      if ((total += uint64_t(n)) > kMaxSourceBytes) {
        err = path + ": more than " + std::to_string(kMaxSourceBytes >> 20) + " MiB of rules";
        return false;
      }
      f.data.append(buf, size_t(n));
    }
    if (n < 0) {
      err = path + ": " + name + ": " + archive_error_string(a.get());
      return false;
    }
    (rules ? out.rules : out.classification).push_back(std::move(f));
  }
  if (rc != ARCHIVE_EOF) {
    err = path + ": damaged or not an archive: " + archive_error_string(a.get());
    return false;
  }
  sort_files(out.rules);
  return true;
}

bool read_source(const std::string& spec, const FetchOptions& fo, SourceData& out, std::string& err) {
  out = SourceData{};
  out.spec = spec;
  std::string path = spec;
  if (is_url(spec)) {
    out.kind = "url";
    std::error_code ec;
    fs::create_directories(fo.cache_dir, ec);
    if (ec) {
      err = fo.cache_dir + ": cannot create the download cache: " + ec.message();
      return false;
    }
    std::string name = base(spec.substr(0, spec.find_first_of("?#")));
    for (char& c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(spec)));
    path = fo.cache_dir + "/" + hex + "-" + (name.empty() ? "download" : name);
    if (!download(spec, fo, path, err)) return false;
    if (ends_with(name, ".rules")) {
      out.rules.push_back({name, {}});
      return read_file(path, out.rules.back().data, err);
    }
    return read_archive(path, out, err);
  }
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) {
    err = spec + ": no such file or directory";
    return false;
  }
  if (fs::is_directory(st)) {
    out.kind = "directory";
    return read_directory(path, out, err);
  }
  if (is_archive_name(path)) {
    out.kind = "archive";
    return read_archive(path, out, err);
  }
  if (ends_with(path, ".rules")) {
    out.kind = "file";
    out.rules.push_back({path, {}});
    return read_file(path, out.rules.back().data, err);
  }
  err = spec + ": not a directory, .rules file, archive (.tar.gz, .tgz, .tar, .zip) or http(s) URL";
  return false;
}

}  // namespace spectre::rules_update
