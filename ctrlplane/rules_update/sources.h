// Rule sources: a directory of *.rules, a .tar.gz/.tgz/.tar archive (read
// with libarchive, nothing extracted to disk), a single .rules file, or an
// http(s) URL downloaded with libcurl into a cache directory.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace spectre::rules_update {

struct SourceFile {
  std::string name;  // path inside the source ("rules/emerging-dos.rules"), or the local path
  std::string data;
};

struct SourceData {
  std::string spec;                       // as given on the command line
  std::string kind;                       // "directory", "archive", "file", "url"
  std::vector<SourceFile> rules;          // *.rules files, sorted by name
  std::vector<SourceFile> classification; // classification.config files
};

// Limits on what one source may hold (a broken or hostile archive is refused,
// never read without bound).
constexpr uint64_t kMaxSourceBytes = 1ull << 30;   // 1 GiB of rule text per source
constexpr uint32_t kMaxArchiveEntries = 100000;

struct FetchOptions {
  std::string cache_dir;          // where URLs are downloaded to
  long connect_timeout_s = 15;
  long timeout_s = 300;
};

// Reads one source. False with `err` naming the source and the problem.
bool read_source(const std::string& spec, const FetchOptions& fo, SourceData& out, std::string& err);

// Reads an archive file (any format and compression libarchive knows).
bool read_archive(const std::string& path, SourceData& out, std::string& err);

bool is_url(const std::string& spec);
// Whole file into `data` (conf files, local rule files); false with "path: cannot read".
bool read_text(const std::string& path, std::string& data, std::string& err);

}  // namespace spectre::rules_update
