// Compiled Hyperscan databases kept on disk (rules.cache_dir, --rules-cache), keyed by
// what they are compiled from, so a restart or reload with an unchanged rule set skips
// hs_compile: ET Open's ~100 databases take ~7 s to compile and ~0.2 s to load.
// Called by the thread that compiles a rule set (start-up, reload lane), never by workers.
#pragma once

#include <hs/hs.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace spectre {

struct HsCacheStats {
  uint32_t hits = 0, misses = 0;  // databases loaded / compiled (and stored)
  uint32_t errors = 0;            // unreadable, corrupt or unwritable files (compiled instead)
  uint32_t pruned = 0;            // files past the maximum age removed
  std::string first_error;        // the first error's text, for the start-up summary
};

// hs_compile_lit_multi through the cache in `dir` (empty: no cache). A cached file is
// used only when its checksum holds and Hyperscan accepts it (version, platform);
// otherwise the database is compiled and the file rewritten (atomically: temp + rename).
// A cache that cannot be read or written never fails the compile; it is counted.
hs_error_t hs_compile_lit_cached(const std::string& dir, const char* const* exprs, const unsigned* flags,
                                 const unsigned* ids, const size_t* lens, unsigned n, unsigned mode,
                                 hs_database_t** db, hs_compile_error_t** ce, HsCacheStats& st);

// Removes cached databases not used for `max_age_s` seconds (a hit refreshes the file's time).
void hs_cache_prune(const std::string& dir, int64_t max_age_s, HsCacheStats& st);

// The file a database with this key is stored in (tests).
std::string hs_cache_path(const std::string& dir, const char* const* exprs, const unsigned* flags,
                          const unsigned* ids, const size_t* lens, unsigned n, unsigned mode);

}  // namespace spectre
