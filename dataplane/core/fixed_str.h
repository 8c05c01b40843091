// Truncating copies into fixed char arrays (AppMeta, AlertRecord): records
// handed between threads carry their text, never pointers to it.
#pragma once
#include <cstddef>
#include <cstring>
#include <string_view>

namespace spectre {

// Copies n bytes as a NUL-terminated string into dst[cap] (truncating).
inline void copy_str(char* dst, size_t cap, const void* src, size_t n) {
  if (n >= cap) n = cap - 1;
  if (n) std::memcpy(dst, src, n);
  dst[n] = 0;
}
template <size_t N>
inline void copy_str(char (&dst)[N], const void* src, size_t n) { copy_str(dst, N, src, n); }
template <size_t N>
inline void copy_str(char (&dst)[N], std::string_view s) { copy_str(dst, N, s.data(), s.size()); }

}  // namespace spectre
